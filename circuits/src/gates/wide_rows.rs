//! The native side of the block gates ([`super::poseidon_wide`]): circomlib's `Poseidon(4)`
//! (width 5, the account leaf) and `Poseidon(5)` (width 6, the signature challenge and the
//! transaction commitment) whole, and the partial rounds of `Poseidon(2)` (width 3); their
//! constants in the circuit field and the cell values of every row, computed from the
//! engine's parameters ([`zkroll_engine::poseidon::params`]).
//!
//! A block is two rows (12 advice cells, 8 fixed cells): a full round of a wide state, or
//! several partial rounds of any of the three widths ([`partial_rounds_per_block`]). The
//! partial rounds' constants are moved forward so that each partial round adds a single
//! constant, to cell 0 (the others pass through the MDS linearly and are added to the first
//! full round after the partial ones): the function is unchanged, and a block of `k` partial
//! rounds reads `k` fixed cells.

use std::sync::OnceLock;

use halo2_base::halo2_proofs::halo2curves::ff::Field;

use super::rows::{Row, RowKind, ADVICE, FIXED};
use crate::field::to_circuit;
use crate::Fr;

/// State widths whose whole permutation is laid out in blocks: `Poseidon(4)` and `Poseidon(5)`.
pub const WIDE: [usize; 2] = [5, 6];

/// Widths with a partial-round block gate: `Poseidon(2)`, `Poseidon(4)`, `Poseidon(5)`.
pub const BLOCK_WIDTHS: [usize; 3] = [3, 5, 6];

/// Rows of one block.
pub const BLOCK_ROWS: usize = 2;

/// Partial rounds in one block of width `t`: as many as the block's cells hold (the state, the
/// first S-box input's square, then `v`, `v^2` per further round).
pub fn partial_rounds_per_block(t: usize) -> usize {
    (BLOCK_ROWS * ADVICE - t - 1) / 2 + 1
}

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
    /// The constants for `width` (3, 5 or 6), converted once.
    ///
    /// # Panics
    /// If `width` has no gates: widths are fixed by the circuit's shape.
    pub fn get(width: usize) -> &'static WideConstants {
        static CONSTANTS: [OnceLock<WideConstants>; 3] =
            [OnceLock::new(), OnceLock::new(), OnceLock::new()];
        let slot = BLOCK_WIDTHS
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

    /// Rows one wide permutation takes, without the row holding its output.
    pub fn permutation_rows(&self) -> usize {
        let per_block = partial_rounds_per_block(self.width);
        BLOCK_ROWS * (self.full.len() + self.partial.len() / per_block)
    }
}

/// `(x^2, x^5)`: the stored square and the S-box output.
pub(super) fn pow5(x: Fr) -> (Fr, Fr) {
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
            kind: RowKind::BlockHelpers(helpers),
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

/// Partial rounds with constants `ks` (one per round, on cell 0) applied to `x`, as the block
/// gate lays them out: the block's two rows, and the state after the rounds.
pub fn partial_block(x: &[Fr], ks: &[Fr]) -> ([Row; BLOCK_ROWS], Vec<Fr>) {
    let t = x.len();
    let m = &WideConstants::get(t).mds;
    let (h, mut u) = pow5(x[0] + ks[0]);
    let mut cells: Vec<Fr> = x.iter().copied().chain([h]).collect();
    let mut state = x.to_vec();
    for k in &ks[1..] {
        state[0] = u;
        state = mix(m, &state);
        let v = state[0] + k;
        let (hv, w) = pow5(v);
        cells.extend([v, hv]);
        u = w;
    }
    state[0] = u;
    (block(RowKind::PartialBlock(t), &cells, ks), mix(m, &state))
}

/// The rows of one wide permutation of `state` (width 5 or 6; the first row holds `state`,
/// the last the state after the permutation), and that state.
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
    for ks in k.partial.chunks(partial_rounds_per_block(t)) {
        let (block_rows, next) = partial_block(&x, ks);
        rows.extend(block_rows);
        x = next;
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

/// Assigned cells of one permutation of width `t` (the cells [`super::rows::is_read`] keeps),
/// counted once per width.
pub fn permutation_cells(t: usize) -> usize {
    static CELLS: [OnceLock<usize>; 2] = [OnceLock::new(), OnceLock::new()];
    let slot = WIDE
        .iter()
        .position(|w| *w == t)
        .unwrap_or_else(|| panic!("no Poseidon gates of width {t}"));
    *CELLS[slot].get_or_init(|| {
        let (rows, _) = permutation(&vec![Fr::ZERO; t]);
        rows.iter()
            .map(|r| {
                (0..ADVICE)
                    .filter(|c| super::rows::is_read(r.kind, false, *c))
                    .count()
            })
            .sum()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::to_engine;

    #[test]
    fn rows_compute_circomlib_poseidon() {
        assert_eq!(BLOCK_WIDTHS.map(partial_rounds_per_block), [5, 4, 3]);
        for t in WIDE {
            let k = WideConstants::get(t);
            assert_eq!((k.full.len(), k.partial.len()), (8, 60));
            assert_eq!(k.partial.len() % partial_rounds_per_block(t), 0);
            for seed in [0u64, 1, u64::MAX] {
                let inputs: Vec<Fr> = (0..t as u64 - 1)
                    .map(|i| Fr::from(seed.wrapping_add(i)))
                    .collect();
                let state: Vec<Fr> = [Fr::ZERO].into_iter().chain(inputs.clone()).collect();
                let (rows, out) = permutation(&state);
                assert_eq!(rows.len(), permutation_rows(t));
                assert_eq!(rows.len(), if t == 5 { 47 } else { 57 });
                let engine: Vec<_> = inputs.iter().map(to_engine).collect();
                let expected = zkroll_engine::poseidon::hash(&engine);
                assert_eq!(to_engine(&out[0]), expected, "width {t}");
                assert_eq!(rows.last().map(|r| r.advice[0]), Some(out[0]));
            }
        }
    }
}
