//! The native side of the wide Poseidon gates ([`super::poseidon_wide`]): circomlib's
//! `Poseidon(4)` (width 5, the account leaf) and `Poseidon(5)` (width 6, the signature
//! challenge and the transaction commitment), their constants in the circuit field and the
//! cell values of every row, computed from the engine's parameters
//! ([`zkroll_engine::poseidon::params`]).
//!
//! A round's work is a block of two rows (12 advice cells, 8 fixed cells), so a state of up to
//! six cells and its helpers fit: a full round per block, or two partial rounds per block.
//! The partial rounds' constants are moved forward so that each partial round adds a single
//! constant, to cell 0 (the others pass through the MDS linearly and are added to the first
//! full round after the partial ones): the function is unchanged, and a block of two partial
//! rounds reads two fixed cells.

use std::sync::OnceLock;

use halo2_base::halo2_proofs::halo2curves::ff::Field;

use super::rows::{Row, RowKind, ADVICE, FIXED};
use crate::field::to_circuit;
use crate::Fr;

/// State widths with gates: `Poseidon(4)` and `Poseidon(5)`.
pub const WIDE: [usize; 2] = [5, 6];

/// Rows of one round block.
pub const BLOCK_ROWS: usize = 2;

/// Where cell `p` of a block sits: `(row in the block, advice column)`.
pub fn advice_place(p: usize) -> (usize, usize) {
    (p / ADVICE, p % ADVICE)
}

/// Where fixed cell `j` of a block sits: `(row in the block, fixed column)`.
pub fn fixed_place(j: usize) -> (usize, usize) {
    (j / FIXED, j % FIXED)
}

/// circomlib's constants for one width, with the partial rounds' constants moved forward.
#[derive(Debug, Clone)]
pub struct WideConstants {
    /// State width `t`.
    pub width: usize,
    /// `mds[i][j]` multiplies cell `j` into cell `i`.
    pub mds: Vec<Vec<Fr>>,
    /// Constants of the full rounds, in order (half before the partial rounds, half after).
    pub full: Vec<Vec<Fr>>,
    /// The one constant (added to cell 0) of each partial round.
    pub partial: Vec<Fr>,
}

impl WideConstants {
    /// The constants for `width` (5 or 6), converted once.
    ///
    /// # Panics
    /// If `width` has no gates: widths are fixed by the circuit's shape.
    pub fn get(width: usize) -> &'static WideConstants {
        static CONSTANTS: [OnceLock<WideConstants>; 2] = [OnceLock::new(), OnceLock::new()];
        let slot = WIDE
            .iter()
            .position(|w| *w == width)
            .unwrap_or_else(|| panic!("no Poseidon gates of width {width}"));
        CONSTANTS[slot].get_or_init(|| Self::new(width))
    }

    fn new(width: usize) -> Self {
        let p = zkroll_engine::poseidon::params(width);
        let mds: Vec<Vec<Fr>> = p
            .mds
            .iter()
            .map(|row| row.iter().map(to_circuit).collect())
            .collect();
        let rounds: Vec<Vec<Fr>> = p
            .round_constants
            .chunks(width)
            .map(|c| c.iter().map(to_circuit).collect())
            .collect();
        let half = p.full_rounds / 2;
        let mut full: Vec<Vec<Fr>> = rounds[..half].to_vec();
        let mut partial = Vec::with_capacity(p.partial_rounds);
        // The part of the true state the stored one lacks: constants of cells 1.. pushed
        // through the MDS.
        let mut carry = vec![Fr::ZERO; width];
        for c in &rounds[half..half + p.partial_rounds] {
            let folded: Vec<Fr> = c.iter().zip(&carry).map(|(c, k)| *c + k).collect();
            partial.push(folded[0]);
            let mut linear = folded;
            linear[0] = Fr::ZERO;
            carry = mix(&mds, &linear);
        }
        let mut after = rounds[half + p.partial_rounds..].to_vec();
        for (c, k) in after[0].iter_mut().zip(&carry) {
            *c += k;
        }
        full.extend(after);
        Self {
            width,
            mds,
            full,
            partial,
        }
    }

    /// Rows one permutation takes, without the row holding its output.
    pub fn permutation_rows(&self) -> usize {
        BLOCK_ROWS * (self.full.len() + self.partial.len() / 2)
    }
}

fn pow5(x: Fr) -> (Fr, Fr) {
    let square = x.square();
    (square, square.square() * x)
}

fn mix(m: &[Vec<Fr>], y: &[Fr]) -> Vec<Fr> {
    m.iter()
        .map(|row| row.iter().zip(y).map(|(m, y)| *m * y).sum())
        .collect()
}

/// The two rows of a block holding `cells` (at most 12) and `fixed` (at most 8).
fn block(kind: RowKind, cells: &[Fr], fixed: &[Fr]) -> [Row; BLOCK_ROWS] {
    let helpers = cells.len().saturating_sub(ADVICE);
    let mut rows = [
        Row {
            kind,
            advice: [Fr::ZERO; ADVICE],
            fixed: [Fr::ZERO; FIXED],
        },
        Row {
            kind: RowKind::WideHelpers(helpers),
            advice: [Fr::ZERO; ADVICE],
            fixed: [Fr::ZERO; FIXED],
        },
    ];
    for (p, v) in cells.iter().enumerate() {
        let (r, c) = advice_place(p);
        rows[r].advice[c] = *v;
    }
    for (j, v) in fixed.iter().enumerate() {
        let (r, c) = fixed_place(j);
        rows[r].fixed[c] = *v;
    }
    rows
}

/// The rows of one permutation of `state` (width 5 or 6; the first row holds `state`, the
/// last the state after the permutation), and that state.
pub fn permutation(state: &[Fr]) -> (Vec<Row>, Vec<Fr>) {
    let t = state.len();
    let k = WideConstants::get(t);
    let mut rows = Vec::with_capacity(k.permutation_rows() + 1);
    let mut x = state.to_vec();
    let half = k.full.len() / 2;
    let full = |x: &[Fr], c: &[Fr], rows: &mut Vec<Row>| {
        let y: Vec<Fr> = x.iter().zip(c).map(|(x, c)| *x + c).collect();
        let boxed: Vec<(Fr, Fr)> = y.iter().map(|y| pow5(*y)).collect();
        let cells: Vec<Fr> = x.iter().copied().chain(boxed.iter().map(|b| b.0)).collect();
        rows.extend(block(RowKind::WideFull(t), &cells, c));
        mix(&k.mds, &boxed.iter().map(|b| b.1).collect::<Vec<_>>())
    };
    for c in &k.full[..half] {
        x = full(&x, c, &mut rows);
    }
    for pair in k.partial.chunks(2) {
        let (h, u) = pow5(x[0] + pair[0]);
        let mut mid = x.clone();
        mid[0] = u;
        let mid = mix(&k.mds, &mid);
        let v = mid[0] + pair[1];
        let (hv, w) = pow5(v);
        let cells: Vec<Fr> = x.iter().copied().chain([h, v, hv]).collect();
        rows.extend(block(RowKind::WidePartial(t), &cells, pair));
        let mut next = mid;
        next[0] = w;
        x = mix(&k.mds, &next);
    }
    for c in &k.full[half..] {
        x = full(&x, c, &mut rows);
    }
    let mut end = [Fr::ZERO; ADVICE];
    end[..t].copy_from_slice(&x);
    rows.push(Row {
        kind: RowKind::WideEnd(t),
        advice: end,
        fixed: [Fr::ZERO; FIXED],
    });
    (rows, x)
}

/// Rows of one permutation of width `t`, its output row included.
pub fn permutation_rows(t: usize) -> usize {
    WideConstants::get(t).permutation_rows() + 1
}

/// Assigned cells of one permutation of width `t` (the cells [`super::rows::is_read`] keeps).
pub fn permutation_cells(t: usize) -> usize {
    let (rows, _) = permutation(&vec![Fr::ZERO; t]);
    rows.iter()
        .map(|r| {
            (0..ADVICE)
                .filter(|c| super::rows::is_read(r.kind, false, *c))
                .count()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::to_engine;

    #[test]
    fn rows_compute_circomlib_poseidon() {
        for t in WIDE {
            let k = WideConstants::get(t);
            assert_eq!((k.full.len(), k.partial.len()), (8, 60));
            for seed in [0u64, 1, u64::MAX] {
                let inputs: Vec<Fr> = (0..t as u64 - 1)
                    .map(|i| Fr::from(seed.wrapping_add(i)))
                    .collect();
                let state: Vec<Fr> = [Fr::ZERO].into_iter().chain(inputs.clone()).collect();
                let (rows, out) = permutation(&state);
                assert_eq!(rows.len(), permutation_rows(t));
                assert_eq!(rows.len(), 77);
                let engine: Vec<_> = inputs.iter().map(to_engine).collect();
                let expected = zkroll_engine::poseidon::hash(&engine);
                assert_eq!(to_engine(&out[0]), expected, "width {t}");
                assert_eq!(rows.last().map(|r| r.advice[0]), Some(out[0]));
            }
        }
    }
}
