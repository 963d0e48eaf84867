//! Poseidon over the BN254 scalar field, compatible with circomlib (`poseidon-lite`,
//! `circomlibjs`): x^5 S-box, 8 full rounds, the partial round counts of
//! [`PARTIAL_ROUNDS`], state `[0, inputs...]`, output `state[0]`.
//!
//! The parameters ([`PoseidonParams`]) are the single source of truth for the engine and for
//! the circuit crate, which builds its Poseidon chip from [`params`]. They are generated with
//! the reference Grain LFSR (see [`grain`](self) and `docs/protocol.md`) and checked against
//! the constants shipped by `poseidon-lite`.

mod grain;

use std::sync::OnceLock;

use ark_ff::{Field, Zero};

use crate::field::Fr;

/// Full rounds for every width (half before and half after the partial rounds).
pub const FULL_ROUNDS: usize = 8;

/// Partial rounds for widths `t = 2..=17` (index `t - 2`), as circomlib uses them.
pub const PARTIAL_ROUNDS: [usize; 16] = [
    56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68,
];

/// Largest number of inputs one hash takes (`t = 17`).
pub const MAX_INPUTS: usize = 16;

/// The parameters of one Poseidon instance of width `t`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoseidonParams {
    /// State width `t` (inputs + 1).
    pub width: usize,
    /// Full rounds (S-box on every cell).
    pub full_rounds: usize,
    /// Partial rounds (S-box on cell 0 only).
    pub partial_rounds: usize,
    /// Round constants, `(full_rounds + partial_rounds) * width`, round-major: the constant
    /// added to cell `j` in round `r` is `round_constants[r * width + j]`.
    pub round_constants: Vec<Fr>,
    /// MDS matrix, `mds[i][j]` multiplies input cell `j` into output cell `i`.
    pub mds: Vec<Vec<Fr>>,
}

impl PoseidonParams {
    /// Total rounds.
    pub fn rounds(&self) -> usize {
        self.full_rounds + self.partial_rounds
    }

    /// Whether round `r` is a full round.
    pub fn is_full_round(&self, r: usize) -> bool {
        r < self.full_rounds / 2 || r >= self.full_rounds / 2 + self.partial_rounds
    }
}

/// The parameters for width `t` (2..=17), generated on first use and cached.
///
/// # Panics
/// If `t` is outside `2..=17`: widths are fixed by the protocol, never taken from input.
pub fn params(width: usize) -> &'static PoseidonParams {
    static CACHE: [OnceLock<PoseidonParams>; MAX_INPUTS] = [const { OnceLock::new() }; MAX_INPUTS];
    assert!(
        (2..=MAX_INPUTS + 1).contains(&width),
        "Poseidon width {width} outside 2..=17"
    );
    CACHE[width - 2].get_or_init(|| {
        let partial_rounds = PARTIAL_ROUNDS[width - 2];
        let (round_constants, mds) = grain::generate(width, FULL_ROUNDS, partial_rounds);
        PoseidonParams {
            width,
            full_rounds: FULL_ROUNDS,
            partial_rounds,
            round_constants,
            mds,
        }
    })
}

#[inline(always)]
fn pow5(x: Fr) -> Fr {
    let x2 = x.square();
    x2.square() * x
}

/// The reference permutation, round by round as the specification states it.
fn permute_reference(state: &mut [Fr], p: &PoseidonParams) {
    let width = p.width;
    for r in 0..p.rounds() {
        for (j, cell) in state.iter_mut().enumerate() {
            *cell += p.round_constants[r * width + j];
        }
        if p.is_full_round(r) {
            state.iter_mut().for_each(|c| *c = pow5(*c));
        } else {
            state[0] = pow5(state[0]);
        }
        let current = state.to_vec();
        for (out, row) in state.iter_mut().zip(&p.mds) {
            *out = row.iter().zip(&current).map(|(m, s)| *m * s).sum();
        }
    }
}

/// One partial round's linear layer after factoring: the sparse matrix
/// `[[row[0], row[1..]], [column[1..], I]]` (`column[0]` is unused).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SparseRound {
    /// First row of the matrix.
    pub row: Vec<Fr>,
    /// First column; entry 0 is unused (it is `row[0]`).
    pub column: Vec<Fr>,
}

/// The permutation rearranged for speed (the "optimized" form of the Poseidon paper,
/// appendix B), derived from [`PoseidonParams`] and equal to it on every input (tested):
/// partial-round constants are folded into one scalar per round, and every partial round's
/// MDS is factored into a sparse matrix times a dense block pushed into the round before,
/// down to the last full round of the first half. The circuit crate builds its Poseidon chip
/// from this form too.
///
/// Evaluation: for each first-half full round `r`, add `first_constants[r]`, S-box every
/// cell, multiply by `mds` (by `pre_sparse` in the last one); for each partial round `j`,
/// add `partial_constants[j]` to cell 0, S-box cell 0, multiply by `sparse[j]`; for each
/// second-half full round, add `last_constants[r]`, S-box every cell, multiply by `mds`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptimizedRounds {
    /// State width `t`.
    pub width: usize,
    /// The MDS matrix (full rounds).
    pub mds: Vec<Vec<Fr>>,
    /// Constants of the first-half full rounds.
    pub first_constants: Vec<Vec<Fr>>,
    /// Linear layer of the last first-half full round (absorbs the dense blocks).
    pub pre_sparse: Vec<Vec<Fr>>,
    /// One constant per partial round, added to cell 0 before its S-box.
    pub partial_constants: Vec<Fr>,
    /// Sparse linear layer of each partial round.
    pub sparse: Vec<SparseRound>,
    /// Constants of the second-half full rounds (the first absorbs the folded remainders).
    pub last_constants: Vec<Vec<Fr>>,
}

fn mat_vec_dyn(m: &[Vec<Fr>], v: &[Fr]) -> Vec<Fr> {
    m.iter()
        .map(|row| row.iter().zip(v).map(|(a, b)| *a * b).sum())
        .collect()
}

/// Inverse of a small matrix by Gauss-Jordan elimination; `None` when singular.
fn invert(matrix: &[Vec<Fr>]) -> Option<Vec<Vec<Fr>>> {
    let n = matrix.len();
    let mut a: Vec<Vec<Fr>> = matrix.to_vec();
    let mut inv: Vec<Vec<Fr>> = (0..n)
        .map(|i| (0..n).map(|j| Fr::from((i == j) as u64)).collect())
        .collect();
    for col in 0..n {
        let pivot = (col..n).find(|r| !a[*r][col].is_zero())?;
        a.swap(col, pivot);
        inv.swap(col, pivot);
        let scale = a[col][col].inverse()?;
        for j in 0..n {
            a[col][j] *= scale;
            inv[col][j] *= scale;
        }
        for r in 0..n {
            if r != col && !a[r][col].is_zero() {
                let factor = a[r][col];
                for j in 0..n {
                    let (ac, ic) = (a[col][j], inv[col][j]);
                    a[r][j] -= factor * ac;
                    inv[r][j] -= factor * ic;
                }
            }
        }
    }
    Some(inv)
}

impl OptimizedRounds {
    fn new(p: &PoseidonParams) -> Self {
        let t = p.width;
        let zero = Fr::from(0u64);
        let half = p.full_rounds / 2;
        let rp = p.partial_rounds;
        let constants = |r: usize| p.round_constants[r * t..(r + 1) * t].to_vec();
        let mds = p.mds.clone();

        // Constants: in a partial round only cell 0 meets the S-box, so the rest of the
        // round's constant can pass through it and the MDS into the next round's constant.
        let mut carry = vec![zero; t];
        let mut partial_constants = Vec::with_capacity(rp);
        for j in 0..rp {
            let mut c = constants(half + j);
            for (ci, k) in c.iter_mut().zip(&carry) {
                *ci += k;
            }
            partial_constants.push(c[0]);
            c[0] = zero;
            carry = mat_vec_dyn(&mds, &c);
        }
        let mut last_constants: Vec<Vec<Fr>> = (half + rp..p.rounds()).map(constants).collect();
        for (ci, k) in last_constants[0].iter_mut().zip(&carry) {
            *ci += k;
        }

        // Matrices, from the last partial round back: A = M'' * diag(1, B), and diag(1, B)
        // commutes with the partial S-box, so it joins the previous round's matrix.
        let mut a = mds.clone();
        let mut sparse = vec![
            SparseRound {
                row: vec![zero; t],
                column: vec![zero; t],
            };
            rp
        ];
        for layer in sparse.iter_mut().rev() {
            let hat: Vec<Vec<Fr>> = (1..t).map(|i| a[i][1..].to_vec()).collect();
            // A Cauchy matrix's minors are invertible; the tests compare with the reference.
            let hat_inv = invert(&hat).unwrap_or_default();
            layer.row[0] = a[0][0];
            for k in 1..t {
                layer.row[k] = (1..t).map(|i| a[0][i] * hat_inv[i - 1][k - 1]).sum();
                layer.column[k] = a[k][0];
            }
            let mut next = mds.clone();
            for i in 1..t {
                for k in 0..t {
                    next[i][k] = (1..t).map(|l| hat[i - 1][l - 1] * mds[l][k]).sum();
                }
            }
            a = next;
        }
        Self {
            width: t,
            mds,
            first_constants: (0..half).map(constants).collect(),
            pre_sparse: a,
            partial_constants,
            sparse,
            last_constants,
        }
    }
}

/// The optimized form of width `t` (2..=17), derived on first use and cached.
pub fn optimized(width: usize) -> &'static OptimizedRounds {
    static CACHE: [OnceLock<OptimizedRounds>; MAX_INPUTS] = [const { OnceLock::new() }; MAX_INPUTS];
    let p = params(width);
    CACHE[width - 2].get_or_init(|| OptimizedRounds::new(p))
}

/// [`OptimizedRounds`] in fixed-size arrays, for the native hash.
#[derive(Debug, Clone)]
struct FastPermutation<const T: usize> {
    mds: [[Fr; T]; T],
    first_constants: Vec<[Fr; T]>,
    pre_sparse: [[Fr; T]; T],
    partial_constants: Vec<Fr>,
    sparse: Vec<([Fr; T], [Fr; T])>,
    last_constants: Vec<[Fr; T]>,
}

fn mat_vec<const T: usize>(m: &[[Fr; T]; T], v: &[Fr; T]) -> [Fr; T] {
    let mut out = [Fr::from(0u64); T];
    for (o, row) in out.iter_mut().zip(m) {
        *o = Fr::sum_of_products(row, v);
    }
    out
}

fn array<const T: usize>(v: &[Fr]) -> [Fr; T] {
    let mut out = [Fr::from(0u64); T];
    out.copy_from_slice(v);
    out
}

fn matrix<const T: usize>(m: &[Vec<Fr>]) -> [[Fr; T]; T] {
    let mut out = [[Fr::from(0u64); T]; T];
    for (row, src) in out.iter_mut().zip(m) {
        row.copy_from_slice(src);
    }
    out
}

impl<const T: usize> FastPermutation<T> {
    fn new(o: &OptimizedRounds) -> Self {
        assert_eq!(o.width, T);
        Self {
            mds: matrix(&o.mds),
            first_constants: o.first_constants.iter().map(|c| array(c)).collect(),
            pre_sparse: matrix(&o.pre_sparse),
            partial_constants: o.partial_constants.clone(),
            sparse: o
                .sparse
                .iter()
                .map(|l| (array(&l.row), array(&l.column)))
                .collect(),
            last_constants: o.last_constants.iter().map(|c| array(c)).collect(),
        }
    }

    fn permute(&self, state: &mut [Fr; T]) {
        let half = self.first_constants.len();
        for (r, c) in self.first_constants.iter().enumerate() {
            for (cell, k) in state.iter_mut().zip(c) {
                *cell = pow5(*cell + k);
            }
            let layer = if r + 1 == half {
                &self.pre_sparse
            } else {
                &self.mds
            };
            *state = mat_vec(layer, state);
        }
        for (k, (row, column)) in self.partial_constants.iter().zip(&self.sparse) {
            let x0 = pow5(state[0] + k);
            state[0] = x0;
            let first = Fr::sum_of_products(row, state);
            for (cell, w) in state.iter_mut().zip(column).skip(1) {
                *cell += *w * x0;
            }
            state[0] = first;
        }
        for c in &self.last_constants {
            for (cell, k) in state.iter_mut().zip(c) {
                *cell = pow5(*cell + k);
            }
            *state = mat_vec(&self.mds, state);
        }
    }
}

macro_rules! fast_permutation {
    ($t:literal) => {{
        static FAST: OnceLock<FastPermutation<$t>> = OnceLock::new();
        FAST.get_or_init(|| FastPermutation::new(optimized($t)))
    }};
}

fn hash_width<const T: usize>(inputs: &[Fr], fast: &FastPermutation<T>) -> Fr {
    let mut state = [Fr::from(0u64); T];
    state[1..].copy_from_slice(inputs);
    fast.permute(&mut state);
    state[0]
}

/// circomlib's `poseidon(inputs)` for 1..=16 inputs.
///
/// # Panics
/// If `inputs` is empty or longer than 16: input counts are fixed by the protocol.
pub fn hash(inputs: &[Fr]) -> Fr {
    match inputs.len() {
        1 => hash_width(inputs, fast_permutation!(2)),
        2 => hash_width(inputs, fast_permutation!(3)),
        3 => hash_width(inputs, fast_permutation!(4)),
        4 => hash_width(inputs, fast_permutation!(5)),
        5 => hash_width(inputs, fast_permutation!(6)),
        6 => hash_width(inputs, fast_permutation!(7)),
        n => {
            let mut state = vec![Fr::from(0u64); n + 1];
            state[1..].copy_from_slice(inputs);
            permute_reference(&mut state, params(n + 1));
            state[0]
        }
    }
}

/// Poseidon of two elements: the Merkle node hash.
pub fn hash2(left: Fr, right: Fr) -> Fr {
    hash_width(&[left, right], fast_permutation!(3))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::fr_from_str;

    #[test]
    fn known_value_of_one_two() {
        let out = hash2(Fr::from(1u64), Fr::from(2u64));
        assert_eq!(
            crate::field::to_hex(&out),
            "0x115cc0f5e7d690413df64c6b9662e9cf2a3617f2743245519e19607a4417189a"
        );
    }

    #[test]
    fn fast_permutation_equals_the_reference() {
        let mut x = Fr::from(7u64);
        for n in 1..=6usize {
            for trial in 0..5u64 {
                let inputs: Vec<Fr> = (0..n)
                    .map(|i| {
                        x = x.square() + Fr::from(i as u64 + trial);
                        if trial == 0 {
                            -Fr::from(1u64)
                        } else {
                            x
                        }
                    })
                    .collect();
                let mut state = vec![Fr::from(0u64)];
                state.extend_from_slice(&inputs);
                permute_reference(&mut state, params(n + 1));
                assert_eq!(hash(&inputs), state[0], "{n} inputs, trial {trial}");
            }
        }
    }

    #[test]
    fn wide_inputs_use_the_reference() {
        // poseidon-lite's poseidon8([1..8]).
        let eight: Vec<Fr> = (1..=8u64).map(Fr::from).collect();
        assert_eq!(
            hash(&eight),
            fr_from_str(
                "18604317144381847857886385684060986177838410221561136253933256952257712543953"
            )
            .expect("constant")
        );
    }
}
