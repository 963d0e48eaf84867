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

use ark_ff::Field;

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

fn permute<const T: usize>(state: &mut [Fr; T], p: &PoseidonParams) {
    let mut mds = [[Fr::from(0u64); T]; T];
    for (row, src) in mds.iter_mut().zip(&p.mds) {
        row.copy_from_slice(src);
    }
    for (r, constants) in p.round_constants.chunks_exact(T).enumerate() {
        for (cell, c) in state.iter_mut().zip(constants) {
            *cell += c;
        }
        if p.is_full_round(r) {
            for cell in state.iter_mut() {
                *cell = pow5(*cell);
            }
        } else {
            state[0] = pow5(state[0]);
        }
        // One Montgomery reduction per output cell instead of one per product.
        let current = *state;
        for (out, row) in state.iter_mut().zip(&mds) {
            *out = Fr::sum_of_products(row, &current);
        }
    }
}

fn hash_width<const T: usize>(inputs: &[Fr]) -> Fr {
    let mut state = [Fr::from(0u64); T];
    state[1..].copy_from_slice(inputs);
    permute(&mut state, params(T));
    state[0]
}

/// circomlib's `poseidon(inputs)` for 1..=16 inputs.
///
/// # Panics
/// If `inputs` is empty or longer than 16: input counts are fixed by the protocol.
pub fn hash(inputs: &[Fr]) -> Fr {
    match inputs.len() {
        1 => hash_width::<2>(inputs),
        2 => hash_width::<3>(inputs),
        3 => hash_width::<4>(inputs),
        4 => hash_width::<5>(inputs),
        5 => hash_width::<6>(inputs),
        6 => hash_width::<7>(inputs),
        n => {
            let width = n + 1;
            let p = params(width);
            let mut state = vec![Fr::from(0u64); width];
            state[1..].copy_from_slice(inputs);
            for r in 0..p.rounds() {
                for (j, cell) in state.iter_mut().enumerate() {
                    *cell += p.round_constants[r * width + j];
                }
                if p.is_full_round(r) {
                    state.iter_mut().for_each(|c| *c = pow5(*c));
                } else {
                    state[0] = pow5(state[0]);
                }
                state = p
                    .mds
                    .iter()
                    .map(|row| row.iter().zip(&state).map(|(m, s)| *m * s).sum())
                    .collect();
            }
            state[0]
        }
    }
}

/// Poseidon of two elements: the Merkle node hash.
pub fn hash2(left: Fr, right: Fr) -> Fr {
    hash_width::<3>(&[left, right])
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
    fn generic_path_matches_specialised() {
        let inputs: Vec<Fr> = (1..=6u64).map(Fr::from).collect();
        let p = params(7);
        let mut state = vec![Fr::from(0u64)];
        state.extend_from_slice(&inputs);
        for r in 0..p.rounds() {
            for (j, cell) in state.iter_mut().enumerate() {
                *cell += p.round_constants[r * 7 + j];
            }
            if p.is_full_round(r) {
                state.iter_mut().for_each(|c| *c = pow5(*c));
            } else {
                state[0] = pow5(state[0]);
            }
            state = p
                .mds
                .iter()
                .map(|row| row.iter().zip(&state).map(|(m, s)| *m * s).sum())
                .collect();
        }
        assert_eq!(hash(&inputs), state[0]);
        // A width only the generic path serves (8 inputs), against poseidon-lite's poseidon8([1..8]).
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
