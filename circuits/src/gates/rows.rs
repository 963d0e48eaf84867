//! The native side of the Poseidon and Merkle gates: the constants in the circuit field and
//! the cell values of every row, computed from the engine's Poseidon parameters
//! ([`zkroll_engine::poseidon::params`]), so the gates and the engine hash the same way.
//!
//! The rows follow the textbook round structure (add the round constants, S-box `x^5` on every
//! cell in a full round and on cell 0 in a partial round, multiply by the MDS matrix), with the
//! partial rounds' constants moved to cell 0 ([`super::wide_rows::WideConstants`]): a full
//! round per row, five partial rounds per block of two rows ([`super::wide_rows`]) and the
//! last two in one row; the layout is documented in [`super::poseidon`].

use std::sync::OnceLock;

use halo2_base::halo2_proofs::halo2curves::ff::Field;

use super::wide_rows::{partial_block, partial_rounds_per_block, pow5, WideConstants, BLOCK_ROWS};
use crate::field::to_circuit;
use crate::Fr;

/// State width of the gated permutation: circomlib's `Poseidon(2)`, the Merkle node hash.
pub const WIDTH: usize = 3;

/// Advice columns of the gate: the state, then three helper cells.
pub const ADVICE: usize = 2 * WIDTH;

/// Fixed columns of the gates (round constants).
pub const FIXED: usize = 4;

/// What a row of the gate region computes towards the next row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    /// A full round: the S-box on every cell.
    Full,
    /// Two partial rounds.
    DoublePartial,
    /// A Merkle level's input: the node, its sibling and the index bit, and the next row the
    /// state `[0, left, right]` they make.
    Link,
    /// No gate: the last row of a path (its root).
    End,
    /// A step of a fixed-base scalar multiplication ([`super::edwards`]).
    FixedBaseStep,
    /// No gate: the product and the sum after a fixed-base multiplication.
    FixedBaseEnd,
    /// A step of a variable-base scalar multiplication (this row and the next).
    VariableBaseStep,
    /// No gate: the helper cells of the step above.
    VariableBaseHelpers,
    /// No gate: the product, the last doubled base and the sum after a variable-base
    /// multiplication.
    VariableBaseEnd,
    /// A full round of a wide permutation of this width ([`super::poseidon_wide`]), over this
    /// row and the next.
    WideFull(usize),
    /// Partial rounds of a permutation of this width, over this row and the next
    /// ([`super::wide_rows::partial_rounds_per_block`]).
    PartialBlock(usize),
    /// No gate: the second row of a block, this many cells used (from column 0).
    BlockHelpers(usize),
    /// No gate: the state (this wide) after a wide permutation.
    WideEnd(usize),
}

/// One row's cells: the advice values and the fixed values the gate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    /// Which gate is on.
    pub kind: RowKind,
    /// Advice cells, in column order.
    pub advice: [Fr; ADVICE],
    /// Fixed cells, in column order.
    pub fixed: [Fr; FIXED],
}

/// circomlib's width-3 Poseidon constants in the circuit field.
#[derive(Debug, Clone)]
pub struct Constants {
    /// `mds[i][j]` multiplies cell `j` into cell `i`.
    pub mds: [[Fr; WIDTH]; WIDTH],
    /// Full rounds before the partial ones (and after them).
    pub half_full: usize,
    /// Partial rounds.
    pub partial: usize,
}

impl Constants {
    /// The constants, converted once.
    pub fn get() -> &'static Constants {
        static CONSTANTS: OnceLock<Constants> = OnceLock::new();
        CONSTANTS.get_or_init(|| {
            let p = zkroll_engine::poseidon::params(WIDTH);
            let mut mds = [[Fr::ZERO; WIDTH]; WIDTH];
            for (i, row) in p.mds.iter().enumerate() {
                for (j, m) in row.iter().enumerate() {
                    mds[i][j] = to_circuit(m);
                }
            }
            Constants {
                mds,
                half_full: p.full_rounds / 2,
                partial: p.partial_rounds,
            }
        })
    }

    /// Rows one permutation takes (without the row holding its output): a row per full
    /// round, a block per five partial rounds, a row for the last two.
    pub fn permutation_rows(&self) -> usize {
        let per_block = partial_rounds_per_block(WIDTH);
        2 * self.half_full
            + BLOCK_ROWS * (self.partial / per_block)
            + usize::from(!self.partial.is_multiple_of(per_block))
    }
}

fn mix(m: &[[Fr; WIDTH]; WIDTH], y: [Fr; WIDTH]) -> [Fr; WIDTH] {
    std::array::from_fn(|i| (0..WIDTH).map(|j| m[i][j] * y[j]).sum())
}

/// The rows of one permutation of `state` (the first holds `state`), and the state after it.
///
/// # Panics
/// If the partial rounds left after the blocks are not two (circomlib's 57 are 11 blocks of
/// five and two).
pub fn permutation(state: [Fr; WIDTH]) -> (Vec<Row>, [Fr; WIDTH]) {
    let k = Constants::get();
    let pushed = WideConstants::get(WIDTH);
    let mut rows = Vec::with_capacity(k.permutation_rows());
    let mut x = state;
    let full = |x: [Fr; WIDTH], c: &[Fr], rows: &mut Vec<Row>| {
        let y: [Fr; WIDTH] = std::array::from_fn(|j| x[j] + c[j]);
        let boxed: [(Fr, Fr); WIDTH] = std::array::from_fn(|j| pow5(y[j]));
        rows.push(Row {
            kind: RowKind::Full,
            advice: [x[0], x[1], x[2], boxed[0].0, boxed[1].0, boxed[2].0],
            fixed: [c[0], c[1], c[2], Fr::ZERO],
        });
        mix(&k.mds, boxed.map(|b| b.1))
    };
    let (before, after) = pushed.full.split_at(k.half_full);
    for c in before {
        x = full(x, c, &mut rows);
    }
    for ks in pushed.partial.chunks(partial_rounds_per_block(WIDTH)) {
        if let [k0, k1] = ks {
            // The last two: one row (`e_j` of the gate: round `r + 1`'s constants, which the
            // moved constants reduce to `k1` on cell 0).
            let (h, u) = pow5(x[0] + k0);
            let mid = mix(&k.mds, [u, x[1], x[2]]);
            let v = mid[0] + k1;
            let (hv, w) = pow5(v);
            rows.push(Row {
                kind: RowKind::DoublePartial,
                advice: [x[0], x[1], x[2], h, v, hv],
                fixed: [*k0, *k1, Fr::ZERO, Fr::ZERO],
            });
            x = mix(&k.mds, [w, mid[1], mid[2]]);
        } else {
            assert_eq!(
                ks.len(),
                partial_rounds_per_block(WIDTH),
                "partial rounds left"
            );
            let (block_rows, next) = partial_block(&x, ks);
            rows.extend(block_rows);
            x = [next[0], next[1], next[2]];
        }
    }
    for c in after {
        x = full(x, c, &mut rows);
    }
    (rows, x)
}

/// One Merkle level's inputs: the index bit (1 when the node is the right child) and the
/// sibling. The bit is a field element: a witness that is not 0 or 1 is laid out as it is, for
/// the link gate to refuse.
pub type Level = (Fr, Fr);

/// The rows of a path from `leaf` up `levels`, and the root: a link row per level, each
/// followed by the permutation of `[0, left, right]`; the row after the last permutation
/// holds the root. `Poseidon(a, b)` alone is the path from `a` with one level `(0, b)`.
pub fn path(leaf: Fr, levels: &[Level]) -> (Vec<Row>, Fr) {
    let mut rows = Vec::with_capacity(1 + levels.len() * (Constants::get().permutation_rows() + 1));
    let mut state = [leaf, Fr::ZERO, Fr::ZERO];
    for &(bit, sibling) in levels {
        let node = state[0];
        rows.push(Row {
            kind: RowKind::Link,
            advice: [node, state[1], state[2], sibling, bit, Fr::ZERO],
            fixed: [Fr::ZERO; FIXED],
        });
        // What the link gate constrains: a swap when the bit is 1.
        let left = node + bit * (sibling - node);
        let right = node + sibling - left;
        let (permutation_rows, out) = permutation([Fr::ZERO, left, right]);
        rows.extend(permutation_rows);
        state = out;
    }
    rows.push(Row {
        kind: RowKind::End,
        advice: [state[0], state[1], state[2], Fr::ZERO, Fr::ZERO, Fr::ZERO],
        fixed: [Fr::ZERO; FIXED],
    });
    (rows, state[0])
}

/// Rows of a path with `levels` levels.
pub fn path_rows(levels: usize) -> usize {
    1 + levels * (Constants::get().permutation_rows() + 1)
}

/// Whether some gate reads cell `column` of a row of `kind` (`first`: the first row of its
/// path). The others are left unassigned: the first link row's `x1 x2` (no state before the
/// leaf), `h2` of link rows, `h0 h1 h2` of the end row; in scalar multiplications `h1 h2` of
/// a helper row, `x2 h0 h1` of a fixed-base end row and `x2` of a variable-base end row; in
/// blocks the unused cells of the second row, and those of a wide permutation's output row.
pub fn is_read(kind: RowKind, first: bool, column: usize) -> bool {
    match kind {
        RowKind::BlockHelpers(used) | RowKind::WideEnd(used) => column < used,
        RowKind::Link => column != 5 && !(first && (column == 1 || column == 2)),
        RowKind::End => column < 3,
        RowKind::VariableBaseHelpers => column < 4,
        RowKind::FixedBaseEnd => column < 2 || column == 5,
        RowKind::VariableBaseEnd => column != 2,
        RowKind::Full
        | RowKind::DoublePartial
        | RowKind::FixedBaseStep
        | RowKind::VariableBaseStep
        | RowKind::WideFull(_)
        | RowKind::PartialBlock(_) => true,
    }
}

/// Assigned cells of a path with `levels` levels (the cells [`is_read`] keeps).
pub fn path_cells(levels: usize) -> usize {
    let (rows, _) = path(Fr::ZERO, &vec![(Fr::ZERO, Fr::ZERO); levels]);
    rows.iter()
        .enumerate()
        .map(|(i, r)| (0..ADVICE).filter(|c| is_read(r.kind, i == 0, *c)).count())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::to_engine;

    #[test]
    fn rows_compute_circomlib_poseidon() {
        let k = Constants::get();
        assert_eq!((k.half_full, k.partial), (4, 57));
        assert_eq!(k.permutation_rows(), 31);
        for (a, b) in [(0u64, 0u64), (1, 2), (u64::MAX, 7)] {
            let (a, b) = (Fr::from(a), Fr::from(b));
            let (rows, out) = permutation([Fr::ZERO, a, b]);
            assert_eq!(rows.len(), 31);
            let expected = zkroll_engine::poseidon::hash2(to_engine(&a), to_engine(&b));
            assert_eq!(to_engine(&out[0]), expected);
        }
    }

    #[test]
    fn a_path_hashes_up_the_levels() {
        let leaf = Fr::from(5u64);
        let levels = [(Fr::ONE, Fr::from(9u64)), (Fr::ZERO, Fr::from(11u64))];
        let (rows, root) = path(leaf, &levels);
        assert_eq!(rows.len(), path_rows(2));
        let h = zkroll_engine::poseidon::hash2;
        let e = |v: u64| zkroll_engine::Fr::from(v);
        let expected = h(h(e(9), e(5)), e(11));
        assert_eq!(to_engine(&root), expected);
        assert_eq!(rows.last().map(|r| r.advice[0]), Some(root));
    }
}
