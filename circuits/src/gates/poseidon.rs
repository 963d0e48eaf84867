//! circomlib's `Poseidon(2)` (width 3: 8 full rounds, 57 partial rounds, `x^5`) as custom
//! gates in six advice columns beside halo2-base's: a full round per row, eleven blocks of five
//! partial rounds ([`super::poseidon_wide`], two rows each), and the last two partial rounds in
//! one row: 31 rows per permutation.
//!
//! Columns `x0 x1 x2` hold the state entering the row's round(s), `h0 h1 h2` helper cells;
//! fixed columns `A B C D` the round constants, with the partial rounds' constants moved to
//! cell 0 ([`super::wide_rows::WideConstants`]). With `y_j = x_j + c_j`:
//!
//! | row kind        | x0 x1 x2 | h0      | h1          | h2          | A B C D               |
//! |-----------------|----------|---------|-------------|-------------|-----------------------|
//! | full round      | state    | `y0^2`  | `y1^2`      | `y2^2`      | `c0 c1 c2 -`          |
//! | 2 partial rounds| state    | `y0^2`  | `v`         | `v^2`       | `k_r k_{r+1} - -`     |
//!
//! - full round: `h_j = y_j^2` and `x_i(next) = sum_j M[i][j] * h_j^2 * y_j`;
//! - two partial rounds `r, r+1`: `y0 = x0 + k_r`, `h0 = y0^2`, `u = h0^2 * y0` (round `r`'s
//!   S-box); `z = M (u, x1, x2)`, `v = z0 + k_{r+1}` is cell 0 entering round `r+1`'s S-box,
//!   `h2 = v^2`, `w = h2^2 * v`, and `x(next) = M (w, z1, z2)`.
//!
//! Every constraint has degree at most 4 (selector included): the S-box is split through the
//! stored square, so the gates do not enlarge halo2-base's extended evaluation domain.
//! Every cell of a row is bound by the row's constraints to the previous row's cells: there is
//! no free witness inside a permutation.

use halo2_base::halo2_proofs::halo2curves::ff::Field;
use halo2_base::halo2_proofs::plonk::{
    Advice, Column, ConstraintSystem, Expression, Fixed, Selector,
};
use halo2_base::halo2_proofs::poly::Rotation;

use super::rows::{Constants, ADVICE, FIXED, WIDTH};
use super::{constant, gated};
use crate::Fr;

/// The gate's columns (shared with the Merkle link gate, [`super::merkle`]).
#[derive(Debug, Clone, Copy)]
pub struct Columns {
    /// `x0 x1 x2 h0 h1 h2`.
    pub advice: [Column<Advice>; ADVICE],
    /// `A B C D`.
    pub fixed: [Column<Fixed>; FIXED],
}

/// The round selectors.
#[derive(Debug, Clone, Copy)]
pub struct RoundSelectors {
    /// Full round.
    pub full: Selector,
    /// Two partial rounds.
    pub double_partial: Selector,
}

/// Creates the two round gates over `columns` (the blocks of partial rounds are
/// [`super::poseidon_wide`]'s).
pub fn configure(meta: &mut ConstraintSystem<Fr>, columns: &Columns) -> RoundSelectors {
    let k = Constants::get();
    let m = k.mds;
    let selectors = RoundSelectors {
        full: meta.selector(),
        double_partial: meta.selector(),
    };
    let [x0, x1, x2, h0, h1, h2] = columns.advice;
    let [fa, fb, fc, _] = columns.fixed;

    meta.create_gate("poseidon full round", |meta| {
        let q = meta.query_selector(selectors.full);
        let x = [x0, x1, x2].map(|c| meta.query_advice(c, Rotation::cur()));
        let next = [x0, x1, x2].map(|c| meta.query_advice(c, Rotation::next()));
        let h = [h0, h1, h2].map(|c| meta.query_advice(c, Rotation::cur()));
        let c = [fa, fb, fc].map(|c| meta.query_fixed(c, Rotation::cur()));
        let y: [Expression<Fr>; WIDTH] = std::array::from_fn(|j| x[j].clone() + c[j].clone());
        let boxed: [Expression<Fr>; WIDTH] =
            std::array::from_fn(|j| h[j].clone() * h[j].clone() * y[j].clone());
        let squares = (0..WIDTH).map(|j| h[j].clone() - y[j].clone() * y[j].clone());
        let rounds = (0..WIDTH).map(|i| {
            let mixed = (0..WIDTH)
                .map(|j| constant(m[i][j]) * boxed[j].clone())
                .reduce(|a, b| a + b)
                .unwrap_or_else(|| constant(Fr::ZERO));
            next[i].clone() - mixed
        });
        gated(q, squares.chain(rounds))
    });

    meta.create_gate("poseidon two partial rounds", |meta| {
        let q = meta.query_selector(selectors.double_partial);
        let x = [x0, x1, x2].map(|c| meta.query_advice(c, Rotation::cur()));
        let next = [x0, x1, x2].map(|c| meta.query_advice(c, Rotation::next()));
        let [h, v, hv] = [h0, h1, h2].map(|c| meta.query_advice(c, Rotation::cur()));
        let [k0, k1] = [fa, fb].map(|c| meta.query_fixed(c, Rotation::cur()));
        let y0 = x[0].clone() + k0;
        let u = h.clone() * h.clone() * y0.clone();
        let z = |j: usize| {
            constant(m[j][0]) * u.clone()
                + constant(m[j][1]) * x[1].clone()
                + constant(m[j][2]) * x[2].clone()
        };
        let w = hv.clone() * hv.clone() * v.clone();
        let (z1, z2) = (z(1), z(2));
        let mut constraints = vec![
            h - y0.clone() * y0,
            v.clone() - (z(0) + k1),
            hv - v.clone() * v,
        ];
        for i in 0..WIDTH {
            constraints.push(
                next[i].clone()
                    - (constant(m[i][0]) * w.clone()
                        + constant(m[i][1]) * z1.clone()
                        + constant(m[i][2]) * z2.clone()),
            );
        }
        gated(q, constraints)
    });

    selectors
}
