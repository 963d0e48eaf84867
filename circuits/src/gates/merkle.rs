//! Merkle paths in the Poseidon gate's columns: a link gate chains one level's hash into the
//! next level's input.
//!
//! A path from `leaf` up `n` levels takes `1 + 32 n` rows ([`rows::path_rows`]):
//!
//! | row            | x0     | x1       | x2       | h0        | h1    | h2 |
//! |----------------|--------|----------|----------|-----------|-------|----|
//! | link, level 0  | leaf   | 0        | 0        | sibling 0 | bit 0 | 0  |
//! | 31 round rows  | `Poseidon(left, right)`, see [`super::poseidon`]      |||||
//! | link, level 1  | node 1 | (state)  | (state)  | sibling 1 | bit 1 | 0  |
//! | ...            |        |          |          |           |       |    |
//! | end            | root   | (state)  | (state)  | 0         | 0     | 0  |
//!
//! Link gate, on a row holding `node`, `sibling` and `bit`: `bit * (1 - bit) = 0`, and the
//! next row is the state `[0, left, right]` with `left = node + bit * (sibling - node)` and
//! `left + right = node + sibling` (so `(left, right)` is `(node, sibling)` or its swap).
//! The leaf, each sibling and bit, and the root are copied from and to halo2-base cells
//! (the columns of `x0`, `h0` and `h1` have equality enabled); [`super::table`] records the
//! paths and lays them out.

use halo2_base::halo2_proofs::halo2curves::ff::Field;
use halo2_base::halo2_proofs::plonk::{ConstraintSystem, Expression, Selector};
use halo2_base::halo2_proofs::poly::Rotation;

use super::poseidon::Columns;
use crate::Fr;

/// Creates the link gate over `columns`.
pub fn configure(meta: &mut ConstraintSystem<Fr>, columns: &Columns) -> Selector {
    let q_link = meta.selector();
    let [x0, x1, x2, h0, h1, _] = columns.advice;
    meta.create_gate("merkle level link", |meta| {
        let q = meta.query_selector(q_link);
        let node = meta.query_advice(x0, Rotation::cur());
        let sibling = meta.query_advice(h0, Rotation::cur());
        let bit = meta.query_advice(h1, Rotation::cur());
        let [capacity, left, right] = [x0, x1, x2].map(|c| meta.query_advice(c, Rotation::next()));
        let one = Expression::Constant(Fr::ONE);
        vec![
            q.clone() * bit.clone() * (one - bit.clone()),
            q.clone() * capacity,
            q.clone() * (left.clone() - node.clone() - bit * (sibling.clone() - node.clone())),
            q * (left + right - node - sibling),
        ]
    });
    q_link
}
