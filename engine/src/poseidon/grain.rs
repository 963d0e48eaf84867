//! The Grain LFSR of the Poseidon reference implementation (`generate_parameters_grain.sage`,
//! Grassi et al.), which produced circomlib's Poseidon round constants and MDS matrices.
//!
//! Parameters are regenerated here from first principles instead of being pasted in, and the
//! tests check every constant against the ones `poseidon-lite` ships.

use ark_ff::{BigInt, BigInteger, Field, PrimeField};

use crate::field::Fr;

/// Bit width of the BN254 scalar field, as the reference script is invoked (`n = 254`).
const FIELD_BITS: usize = 254;

/// The 80-bit Grain LFSR state, seeded with the instance parameters.
struct Grain {
    bits: std::collections::VecDeque<bool>,
}

impl Grain {
    /// Seeds the register: field type (2 bits, 1 = prime field), S-box (4 bits, 0 = x^alpha),
    /// field size (12), width t (12), full rounds (10), partial rounds (10), then 30 ones;
    /// the first 160 output bits are discarded.
    fn new(width: usize, full_rounds: usize, partial_rounds: usize) -> Self {
        let mut bits = std::collections::VecDeque::with_capacity(80);
        let mut push = |value: usize, len: usize| {
            for i in (0..len).rev() {
                bits.push_back((value >> i) & 1 == 1);
            }
        };
        push(1, 2);
        push(0, 4);
        push(FIELD_BITS, 12);
        push(width, 12);
        push(full_rounds, 10);
        push(partial_rounds, 10);
        push((1 << 30) - 1, 30);
        let mut grain = Self { bits };
        for _ in 0..160 {
            grain.step();
        }
        grain
    }

    fn step(&mut self) -> bool {
        let b = &self.bits;
        let new_bit = b[62] ^ b[51] ^ b[38] ^ b[23] ^ b[13] ^ b[0];
        self.bits.pop_front();
        self.bits.push_back(new_bit);
        new_bit
    }

    /// Self-shrinking output: bits are drawn in pairs; the second is output when the first is 1.
    fn next_bit(&mut self) -> bool {
        loop {
            let first = self.step();
            let second = self.step();
            if first {
                return second;
            }
        }
    }

    /// `FIELD_BITS` output bits, most significant first, as little-endian limbs.
    fn next_integer(&mut self) -> BigInt<4> {
        let mut limbs = [0u64; 4];
        for i in (0..FIELD_BITS).rev() {
            if self.next_bit() {
                limbs[i / 64] |= 1 << (i % 64);
            }
        }
        BigInt::new(limbs)
    }

    /// A field element by rejection sampling (how the script draws round constants).
    fn next_field_rejecting(&mut self) -> Fr {
        loop {
            if let Some(value) = Fr::from_bigint(self.next_integer()) {
                return value;
            }
        }
    }

    /// A field element reduced modulo p (how the script draws the MDS points: `F(bits)`).
    fn next_field_reducing(&mut self) -> Fr {
        let limbs = self.next_integer();
        Fr::from_bigint(limbs).unwrap_or_else(|| {
            // 254 random bits are below 2p, so one subtraction of p reduces them.
            let mut reduced = limbs;
            reduced.sub_with_borrow(&Fr::MODULUS);
            Fr::from_bigint(reduced).unwrap_or_default()
        })
    }
}

/// Round constants (`(full + partial) * width`, round-major) and the Cauchy MDS matrix
/// `M[i][j] = 1 / (x_i + y_j)` for one Poseidon instance.
pub(crate) fn generate(
    width: usize,
    full_rounds: usize,
    partial_rounds: usize,
) -> (Vec<Fr>, Vec<Vec<Fr>>) {
    let mut grain = Grain::new(width, full_rounds, partial_rounds);
    let constants = (0..(full_rounds + partial_rounds) * width)
        .map(|_| grain.next_field_rejecting())
        .collect();
    loop {
        let points: Vec<Fr> = (0..2 * width)
            .map(|_| grain.next_field_reducing())
            .collect();
        let distinct = (0..points.len()).all(|i| (0..i).all(|j| points[i] != points[j]));
        if !distinct {
            continue;
        }
        let (xs, ys) = points.split_at(width);
        let mds: Option<Vec<Vec<Fr>>> = xs
            .iter()
            .map(|x| ys.iter().map(|y| (*x + y).inverse()).collect())
            .collect();
        if let Some(mds) = mds {
            return (constants, mds);
        }
    }
}
