//! circomlib's `Poseidon(4)` (width 5) and `Poseidon(5)` (width 6) as custom gates, a full
//! round or two partial rounds per block of two rows, in the six advice columns of the
//! `Poseidon(2)` gates ([`super::poseidon`]).
//!
//! A block's twelve advice cells are numbered row by row (`p = 6 * row + column`), its eight
//! fixed cells likewise over the four fixed columns; the state entering the block is cells
//! `0..t` and the state leaving it is the first `t` cells of the row after the block. With
//! `y_j = x_j + c_j`:
//!
//! | block (2 rows)   | cells `0..t` | then                    | fixed              |
//! |------------------|--------------|-------------------------|--------------------|
//! | full round       | state `x`    | `h_0 .. h_{t-1}`        | `c_0 .. c_{t-1}`   |
//! | 2 partial rounds | state `x`    | `h`, `v`, `hv`          | `k_r`, `k_{r+1}`   |
//!
//! Width 5, full round:                    Width 6, two partial rounds:
//!
//! | row | x0 | x1 | x2 | h0 | h1 | h2 |     | row | x0 | x1 | x2 | h0 | h1 | h2 |
//! |-----|----|----|----|----|----|----|     |-----|----|----|----|----|----|----|
//! | 0   | x0 | x1 | x2 | x3 | x4 | h_0|     | 0   | x0 | x1 | x2 | x3 | x4 | x5 |
//! | 1   | h_1| h_2| h_3| h_4| -  | -  |     | 1   | h  | v  | hv | -  | -  | -  |
//!
//! - full round: `h_j = y_j^2` and `x_i(next) = sum_j M[i][j] * h_j^2 * y_j`;
//! - two partial rounds: `h = (x_0 + k_r)^2`, `u = h^2 (x_0 + k_r)` (round `r`'s S-box),
//!   `z = M (u, x_1, .., x_{t-1})`, `v = z_0 + k_{r+1}`, `hv = v^2`, `w = hv^2 v`, and
//!   `x(next) = M (w, z_1, .., z_{t-1})`. Each partial round adds one constant, to cell 0: the
//!   native side ([`super::wide_rows`]) moves the other constants forward through the MDS
//!   into the first full round after the partial rounds.
//!
//! Every constraint has degree at most 4 with its selector, and the gates read rows 0 to 2 of
//! a block: the circuit's degree and blinding rows are those of halo2-base's configuration.

use halo2_base::halo2_proofs::plonk::{ConstraintSystem, Expression, Selector, VirtualCells};
use halo2_base::halo2_proofs::poly::Rotation;

use super::poseidon::Columns;
use super::wide_rows::{advice_place, fixed_place, WideConstants, BLOCK_ROWS, WIDE};
use super::{constant, gated};
use crate::Fr;

/// The selectors of one width's gates.
#[derive(Debug, Clone, Copy)]
pub struct WideSelectors {
    /// A full round.
    pub full: Selector,
    /// Two partial rounds.
    pub partial: Selector,
}

/// Each width's selectors, in the order of [`WIDE`].
pub type WideConfig = [WideSelectors; 2];

/// Reads a block's cells from `columns`.
struct Block<'m, 'v> {
    meta: &'m mut VirtualCells<'v, Fr>,
    columns: Columns,
}

impl Block<'_, '_> {
    fn cell(&mut self, p: usize) -> Expression<Fr> {
        let (row, column) = advice_place(p);
        self.meta
            .query_advice(self.columns.advice[column], Rotation(row as i32))
    }

    fn next(&mut self, j: usize) -> Expression<Fr> {
        self.meta
            .query_advice(self.columns.advice[j], Rotation(BLOCK_ROWS as i32))
    }

    fn fixed(&mut self, j: usize) -> Expression<Fr> {
        let (row, column) = fixed_place(j);
        self.meta
            .query_fixed(self.columns.fixed[column], Rotation(row as i32))
    }
}

/// `sum_j m[j] * e[j]`.
fn dot(m: &[Fr], e: &[Expression<Fr>]) -> Expression<Fr> {
    m.iter()
        .zip(e)
        .map(|(m, e)| constant(*m) * e.clone())
        .reduce(|a, b| a + b)
        .unwrap_or_else(|| constant(Fr::from(0u64)))
}

/// Creates both widths' gates over `columns`.
pub fn configure(meta: &mut ConstraintSystem<Fr>, columns: &Columns) -> WideConfig {
    WIDE.map(|t| configure_width(meta, columns, t))
}

fn configure_width(meta: &mut ConstraintSystem<Fr>, columns: &Columns, t: usize) -> WideSelectors {
    let k = WideConstants::get(t);
    let selectors = WideSelectors {
        full: meta.selector(),
        partial: meta.selector(),
    };

    meta.create_gate(format!("poseidon width {t} full round"), |meta| {
        let q = meta.query_selector(selectors.full);
        let mut b = Block {
            meta,
            columns: *columns,
        };
        let y: Vec<_> = (0..t).map(|j| b.cell(j) + b.fixed(j)).collect();
        let h: Vec<_> = (0..t).map(|j| b.cell(t + j)).collect();
        let next: Vec<_> = (0..t).map(|j| b.next(j)).collect();
        let boxed: Vec<_> = (0..t)
            .map(|j| h[j].clone() * h[j].clone() * y[j].clone())
            .collect();
        let squares = (0..t).map(|j| h[j].clone() - y[j].clone() * y[j].clone());
        let rounds: Vec<_> = (0..t)
            .map(|i| next[i].clone() - dot(&k.mds[i], &boxed))
            .collect();
        gated(q, squares.chain(rounds))
    });

    meta.create_gate(format!("poseidon width {t} two partial rounds"), |meta| {
        let q = meta.query_selector(selectors.partial);
        let mut b = Block {
            meta,
            columns: *columns,
        };
        let x: Vec<_> = (0..t).map(|j| b.cell(j)).collect();
        let (h, v, hv) = (b.cell(t), b.cell(t + 1), b.cell(t + 2));
        let next: Vec<_> = (0..t).map(|j| b.next(j)).collect();
        let y0 = x[0].clone() + b.fixed(0);
        let u = h.clone() * h.clone() * y0.clone();
        let mut first = x.clone();
        first[0] = u;
        let z: Vec<_> = (0..t).map(|i| dot(&k.mds[i], &first)).collect();
        let w = hv.clone() * hv.clone() * v.clone();
        let mut second = z.clone();
        second[0] = w;
        let mut constraints = vec![
            h - y0.clone() * y0,
            v.clone() - (z[0].clone() + b.fixed(1)),
            hv - v.clone() * v,
        ];
        constraints.extend((0..t).map(|i| next[i].clone() - dot(&k.mds[i], &second)));
        gated(q, constraints)
    });

    selectors
}
