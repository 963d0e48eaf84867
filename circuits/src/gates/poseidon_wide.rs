//! Block gates, over two rows of the six advice columns of [`super::poseidon`]: a full round
//! of circomlib's `Poseidon(4)` (width 5) or `Poseidon(5)` (width 6), and several partial
//! rounds of those or of `Poseidon(2)` (width 3; five, four and three rounds per block for
//! widths 3, 5 and 6: [`super::wide_rows::partial_rounds_per_block`]).
//!
//! A block's twelve advice cells are numbered row by row (`p = 6 * row + column`), its eight
//! fixed cells likewise over the four fixed columns; the state entering the block is cells
//! `0..t` and the state leaving it is the first `t` cells of the row after the block. With
//! `y_j = x_j + c_j`:
//!
//! | block (2 rows)     | cells `0..t` | then                                | fixed            |
//! |--------------------|--------------|-------------------------------------|------------------|
//! | full round         | state `x`    | `h_0 .. h_{t-1}`                    | `c_0 .. c_{t-1}` |
//! | `n` partial rounds | state `x`    | `h`, then `v_i`, `hv_i` (`i < n`)   | `k_0 .. k_{n-1}` |
//!
//! Width 5, full round:                    Width 3, five partial rounds:
//!
//! | row | x0 | x1 | x2 | h0 | h1 | h2 |     | row | x0 | x1  | x2  | h0  | h1  | h2  |
//! |-----|----|----|----|----|----|----|     |-----|----|-----|-----|-----|-----|-----|
//! | 0   | x0 | x1 | x2 | x3 | x4 | h_0|     | 0   | x0 | x1  | x2  | h   | v_1 | hv_1|
//! | 1   | h_1| h_2| h_3| h_4| -  | -  |     | 1   | v_2| hv_2| v_3 | hv_3| v_4 | hv_4|
//!
//! - full round: `h_j = y_j^2` and `x_i(next) = sum_j M[i][j] * h_j^2 * y_j`;
//! - `n` partial rounds: `h = (x_0 + k_0)^2`, `u_0 = h^2 (x_0 + k_0)` (the first S-box); then
//!   for `i = 1..n`: `z = M (u_{i-1}, rest)` where `rest` is `x_1..` at first and `z_1..`
//!   after, `v_i = z_0 + k_i`, `hv_i = v_i^2`, `u_i = hv_i^2 v_i`; and
//!   `x(next) = M (u_{n-1}, rest)`. Each partial round adds one constant, to cell 0: the
//!   native side ([`super::wide_rows`]) moves the other constants forward through the MDS
//!   into the first full round after the partial rounds. Every state inside the block is
//!   linear in `x_1..` and the S-box outputs `u_i`: the gate writes each as one flat sum over
//!   them (coefficients computed from the MDS at configuration), never as a cell.
//!
//! Every constraint has degree at most 4 with its selector, and the gates read rows 0 to 2 of
//! a block: the circuit's degree and blinding rows are those of halo2-base's configuration.

use halo2_base::halo2_proofs::plonk::{ConstraintSystem, Expression, Selector, VirtualCells};
use halo2_base::halo2_proofs::poly::Rotation;

use super::poseidon::Columns;
use super::wide_rows::{
    advice_place, fixed_place, partial_rounds_per_block, WideConstants, BLOCK_ROWS, BLOCK_WIDTHS,
    WIDE,
};
use super::{constant, gated};
use crate::Fr;

/// The block gates' selectors.
#[derive(Debug, Clone, Copy)]
pub struct BlockSelectors {
    /// A full round, per width of [`WIDE`].
    pub full: [Selector; 2],
    /// A block of partial rounds, per width of [`BLOCK_WIDTHS`].
    pub partial: [Selector; 3],
}

impl BlockSelectors {
    /// The full-round selector of width `t`.
    pub fn full(&self, t: usize) -> Option<Selector> {
        WIDE.iter().position(|w| *w == t).map(|i| self.full[i])
    }

    /// The partial-round block selector of width `t`.
    pub fn partial(&self, t: usize) -> Option<Selector> {
        BLOCK_WIDTHS
            .iter()
            .position(|w| *w == t)
            .map(|i| self.partial[i])
    }
}

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

/// Creates the block gates over `columns`.
pub fn configure(meta: &mut ConstraintSystem<Fr>, columns: &Columns) -> BlockSelectors {
    BlockSelectors {
        full: WIDE.map(|t| configure_full(meta, columns, t)),
        partial: BLOCK_WIDTHS.map(|t| configure_partial(meta, columns, t)),
    }
}

fn configure_full(meta: &mut ConstraintSystem<Fr>, columns: &Columns, t: usize) -> Selector {
    let k = WideConstants::get(t);
    let selector = meta.selector();
    meta.create_gate(format!("poseidon width {t} full round"), |meta| {
        let q = meta.query_selector(selector);
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
    selector
}

/// The linear forms `m * forms` (each form a coefficient vector over the same basis).
fn mix_forms(m: &[Vec<Fr>], forms: &[Vec<Fr>]) -> Vec<Vec<Fr>> {
    m.iter()
        .map(|row| {
            let mut out = vec![Fr::from(0u64); forms[0].len()];
            for (coefficient, form) in row.iter().zip(forms) {
                for (o, f) in out.iter_mut().zip(form) {
                    *o += *coefficient * f;
                }
            }
            out
        })
        .collect()
}

/// `sum_c form[c] * basis[c]`, leaving out zero coefficients and multiplications by one.
fn apply_form(form: &[Fr], basis: &[Expression<Fr>]) -> Expression<Fr> {
    let (zero, one) = (Fr::from(0u64), Fr::from(1u64));
    form.iter()
        .zip(basis)
        .filter(|(c, _)| **c != zero)
        .map(|(c, e)| {
            if *c == one {
                e.clone()
            } else {
                constant(*c) * e.clone()
            }
        })
        .reduce(|a, b| a + b)
        .unwrap_or_else(|| constant(zero))
}

fn configure_partial(meta: &mut ConstraintSystem<Fr>, columns: &Columns, t: usize) -> Selector {
    let k = WideConstants::get(t);
    let n = partial_rounds_per_block(t);
    let selector = meta.selector();
    meta.create_gate(format!("poseidon width {t} {n} partial rounds"), |meta| {
        let q = meta.query_selector(selector);
        let mut b = Block {
            meta,
            columns: *columns,
        };
        // Every state inside the block is linear in `x_1 .. x_{t-1}` and the S-box outputs
        // `u_0 .. u_{n-1}`: each is one flat sum over that basis (coefficients from the MDS),
        // not nested products, so the expressions stay small (MockProver evaluates them as
        // trees).
        let h = b.cell(t);
        let y0 = b.cell(0) + b.fixed(0);
        let mut basis: Vec<_> = (1..t).map(|j| b.cell(j)).collect();
        basis.push(h.clone() * h.clone() * y0.clone());
        let mut constraints = vec![h - y0.clone() * y0];
        let dim = t - 1 + n;
        let unit = |i: usize| {
            let mut v = vec![Fr::from(0u64); dim];
            v[i] = Fr::from(1u64);
            v
        };
        let mut forms: Vec<Vec<Fr>> = std::iter::once(unit(t - 1))
            .chain((0..t - 1).map(unit))
            .collect();
        for i in 1..n {
            forms = mix_forms(&k.mds, &forms);
            let (v, hv) = (b.cell(t + 2 * i - 1), b.cell(t + 2 * i));
            constraints.push(v.clone() - (apply_form(&forms[0], &basis) + b.fixed(i)));
            constraints.push(hv.clone() - v.clone() * v.clone());
            basis.push(hv.clone() * hv * v);
            forms[0] = unit(t - 1 + i);
        }
        let forms = mix_forms(&k.mds, &forms);
        constraints.extend((0..t).map(|r| b.next(r) - apply_form(&forms[r], &basis)));
        gated(q, constraints)
    });
    selector
}
