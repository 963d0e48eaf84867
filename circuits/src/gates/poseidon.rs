//! circomlib's `Poseidon(2)` (width 3: 8 full rounds, 57 partial rounds, `x^5`) as custom
//! gates, one round or two partial rounds per row, in six advice columns beside halo2-base's.
//!
//! Columns `x0 x1 x2` hold the state entering the row's round(s), `h0 h1 h2` helper cells;
//! fixed columns `A B C D` the round constants. With `y_j = x_j + c_j`:
//!
//! | row kind        | x0 x1 x2 | h0      | h1          | h2          | A B C D               |
//! |-----------------|----------|---------|-------------|-------------|-----------------------|
//! | full round      | state    | `y0^2`  | `y1^2`      | `y2^2`      | `c0 c1 c2 -`          |
//! | 2 partial rounds| state    | `y0^2`  | `v`         | `v^2`       | `c0 e0 e1 e2`         |
//! | 1 partial round | state    | `y0^2`  | -           | -           | `c0 c1 c2 -`          |
//!
//! - full round: `h_j = y_j^2` and `x_i(next) = sum_j M[i][j] * h_j^2 * y_j`;
//! - two partial rounds `r, r+1`: `h0 = y0^2`, `u = h0^2 * y0` (round `r`'s S-box);
//!   `v = M[0][0] u + M[0][1] x1 + M[0][2] x2 + e0` is cell 0 entering round `r+1` after its
//!   constant, `h2 = v^2`, `w = h2^2 * v`; with `z_j = M[j][0] u + M[j][1] x1 + M[j][2] x2 + e_j`
//!   (`j = 1, 2`): `x_i(next) = M[i][0] w + M[i][1] z1 + M[i][2] z2`. The fixed `e_j` are
//!   round `r`'s constants on cells 1 and 2 through the MDS plus round `r+1`'s constant on
//!   cell `j` ([`super::rows`]);
//! - one partial round: `h0 = y0^2` and `x_i(next) = M[i][0] h0^2 y0 + M[i][1] y1 + M[i][2] y2`.
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
    /// One partial round.
    pub single_partial: Selector,
}

/// Creates the three round gates over `columns`.
pub fn configure(meta: &mut ConstraintSystem<Fr>, columns: &Columns) -> RoundSelectors {
    let k = Constants::get();
    let m = k.mds;
    let selectors = RoundSelectors {
        full: meta.selector(),
        double_partial: meta.selector(),
        single_partial: meta.selector(),
    };
    let [x0, x1, x2, h0, h1, h2] = columns.advice;
    let [fa, fb, fc, fd] = columns.fixed;

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
        let [c0, e0, e1, e2] = [fa, fb, fc, fd].map(|c| meta.query_fixed(c, Rotation::cur()));
        let y0 = x[0].clone() + c0;
        let u = h.clone() * h.clone() * y0.clone();
        let linear = |j: usize, e: Expression<Fr>| {
            constant(m[j][0]) * u.clone()
                + constant(m[j][1]) * x[1].clone()
                + constant(m[j][2]) * x[2].clone()
                + e
        };
        let w = hv.clone() * hv.clone() * v.clone();
        let z1 = linear(1, e1);
        let z2 = linear(2, e2);
        let mut constraints = vec![
            h - y0.clone() * y0,
            v.clone() - linear(0, e0),
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

    meta.create_gate("poseidon partial round", |meta| {
        let q = meta.query_selector(selectors.single_partial);
        let x = [x0, x1, x2].map(|c| meta.query_advice(c, Rotation::cur()));
        let next = [x0, x1, x2].map(|c| meta.query_advice(c, Rotation::next()));
        let h = meta.query_advice(h0, Rotation::cur());
        let c = [fa, fb, fc].map(|c| meta.query_fixed(c, Rotation::cur()));
        let y: [Expression<Fr>; WIDTH] = std::array::from_fn(|j| x[j].clone() + c[j].clone());
        let u = h.clone() * h.clone() * y[0].clone();
        let mut constraints = vec![h - y[0].clone() * y[0].clone()];
        for i in 0..WIDTH {
            constraints.push(
                next[i].clone()
                    - (constant(m[i][0]) * u.clone()
                        + constant(m[i][1]) * y[1].clone()
                        + constant(m[i][2]) * y[2].clone()),
            );
        }
        gated(q, constraints)
    });

    selectors
}
