//! Baby Jubjub scalar multiplication as custom gates, one bit per step, in the Poseidon gate's
//! six advice and four fixed columns (native side: [`super::edwards_rows`]).
//!
//! Both gates add `Q = bit ? B : (0, 1)` to an accumulator with the complete twisted Edwards
//! addition, written without division: with `p = acc.x Q.x` and `q = acc.y Q.y` stored,
//! `acc'.x (1 + d p q) = acc.x Q.y + acc.y Q.x` and `acc'.y (1 - d p q) = q - a p`, where
//! `Q.x = bit B.x` and `Q.y = 1 + bit (B.y - 1)`. The denominators never vanish for points on
//! the curve (`d` is not a square), so the next accumulator is the sum. Each step also adds
//! `bit * weight` (fixed) to a running sum that ties the bits to the scalar.
//!
//! Fixed base (`S * Base8`), one row per step, `B = 2^i Base8` in the fixed columns:
//!
//! | row    | x0      | x1      | x2    | h0  | h1  | h2    | A       | B       | C        | D |
//! |--------|---------|---------|-------|-----|-----|-------|---------|---------|----------|---|
//! | step i | `acc.x` | `acc.y` | `bit` | `p` | `q` | `sum` | `B.x`   | `B.y`   | `weight` | - |
//! | next   | `acc'.x`| `acc'.y`|       |     |     | `sum'`|         |         |          |   |
//!
//! Variable base (`hm * 8A`), two rows per step; the base doubles every step:
//!
//! | row    | x0      | x1      | x2    | h0      | h1      | h2     | C        | D      |
//! |--------|---------|---------|-------|---------|---------|--------|----------|--------|
//! | step i | `acc.x` | `acc.y` | `bit` | `B.x`   | `B.y`   | `sum`  | `weight` | `zero` |
//! | +1     | `p`     | `q`     | `pb`  | `qb`    | -       | -      |          |        |
//! | +2     | `acc'.x`| `acc'.y`|       | `B'.x`  | `B'.y`  | `sum'` |          |        |
//!
//! with `pb = B.x^2`, `qb = B.y^2`, `B'.x (1 + d pb qb) = 2 B.x B.y`,
//! `B'.y (1 - d pb qb) = qb - a pb`, and `zero * bit = 0` (fixed `zero` = 1 on steps that
//! only double, such as the cofactor's three).
//!
//! Every bit is constrained boolean. Every constraint has degree at most 4 with its selector,
//! so the gates keep halo2-base's extended domain; the variable-base gate reads rotations 0, 1
//! and 2 (halo2-base's own gate reads 0 to 3, so the blinding rows are unchanged).

use halo2_base::halo2_proofs::halo2curves::ff::Field;
use halo2_base::halo2_proofs::plonk::{ConstraintSystem, Expression, Selector};
use halo2_base::halo2_proofs::poly::Rotation;

use super::edwards_rows::{curve_a, curve_d};
use super::poseidon::Columns;
use super::{boolean, constant, gated};
use crate::Fr;

/// The scalar multiplication selectors.
#[derive(Debug, Clone, Copy)]
pub struct MulSelectors {
    /// A fixed-base step.
    pub fixed_base: Selector,
    /// A variable-base step.
    pub variable_base: Selector,
}

/// The constraints of `acc' = acc + (bit ? (bx, by) : identity)` with stored `p`, `q`.
#[allow(clippy::too_many_arguments)]
fn conditional_add(
    acc: [Expression<Fr>; 2],
    next: [Expression<Fr>; 2],
    bit: Expression<Fr>,
    bx: Expression<Fr>,
    by: Expression<Fr>,
    p: Expression<Fr>,
    q: Expression<Fr>,
) -> Vec<Expression<Fr>> {
    let one = constant(Fr::ONE);
    let [x, y] = acc;
    let [x_next, y_next] = next;
    let qx = bit.clone() * bx;
    let qy = one.clone() + bit * (by - one.clone());
    let dpq = constant(curve_d()) * p.clone() * q.clone();
    vec![
        p.clone() - x.clone() * qx.clone(),
        q.clone() - y.clone() * qy.clone(),
        x_next * (one.clone() + dpq.clone()) - (x * qy + y * qx),
        y_next * (one - dpq) - (q - constant(curve_a()) * p),
    ]
}

/// Creates the two scalar multiplication gates over `columns`.
pub fn configure(meta: &mut ConstraintSystem<Fr>, columns: &Columns) -> MulSelectors {
    let selectors = MulSelectors {
        fixed_base: meta.selector(),
        variable_base: meta.selector(),
    };
    let [x0, x1, x2, h0, h1, h2] = columns.advice;
    let [fa, fb, fc, fd] = columns.fixed;

    meta.create_gate("edwards fixed-base step", |meta| {
        let s = meta.query_selector(selectors.fixed_base);
        let [x, y, bit, p, q, sum] =
            [x0, x1, x2, h0, h1, h2].map(|c| meta.query_advice(c, Rotation::cur()));
        let [x_next, y_next, sum_next] =
            [x0, x1, h2].map(|c| meta.query_advice(c, Rotation::next()));
        let [bx, by, weight] = [fa, fb, fc].map(|c| meta.query_fixed(c, Rotation::cur()));
        let mut constraints = vec![boolean(bit.clone()), sum_next - sum - bit.clone() * weight];
        constraints.extend(conditional_add([x, y], [x_next, y_next], bit, bx, by, p, q));
        gated(s, constraints)
    });

    meta.create_gate("edwards variable-base step", |meta| {
        let s = meta.query_selector(selectors.variable_base);
        let [x, y, bit, bx, by, sum] =
            [x0, x1, x2, h0, h1, h2].map(|c| meta.query_advice(c, Rotation::cur()));
        let [p, q, pb, qb] = [x0, x1, x2, h0].map(|c| meta.query_advice(c, Rotation::next()));
        let [x_next, y_next, bx_next, by_next, sum_next] =
            [x0, x1, h0, h1, h2].map(|c| meta.query_advice(c, Rotation(2)));
        let [weight, zero] = [fc, fd].map(|c| meta.query_fixed(c, Rotation::cur()));
        let one = constant(Fr::ONE);
        let dpq = constant(curve_d()) * pb.clone() * qb.clone();
        let mut constraints = vec![
            boolean(bit.clone()),
            zero * bit.clone(),
            sum_next - sum - bit.clone() * weight,
            pb.clone() - bx.clone() * bx.clone(),
            qb.clone() - by.clone() * by.clone(),
            bx_next * (one.clone() + dpq.clone())
                - constant(Fr::from(2u64)) * bx.clone() * by.clone(),
            by_next * (one - dpq) - (qb - constant(curve_a()) * pb),
        ];
        constraints.extend(conditional_add([x, y], [x_next, y_next], bit, bx, by, p, q));
        gated(s, constraints)
    });

    selectors
}
