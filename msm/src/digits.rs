//! Signed-digit recoding of scalars: each scalar `s < 2^254` becomes `W` digits
//! `d_j ∈ [-2^(c-1), 2^(c-1)]` with `s = Σ d_j 2^(cj)`, so a window needs `2^(c-1)` buckets
//! (a negative digit adds the negated point) instead of `2^c - 1`.
//!
//! A digit is stored as a `u32`: 0 for zero, otherwise `magnitude << 1 | negative`.

use halo2_proofs::halo2curves::bn256::Fr;
use halo2_proofs::halo2curves::ff::PrimeField;
use rayon::prelude::*;

/// Bits of the largest BN254 scalar (`r < 2^254`).
pub const SCALAR_BITS: usize = 254;

/// Windows of `c` bits needed for signed digits of 254-bit scalars: one spare bit above the
/// top so the last carry never overflows (`c * W >= 255`).
pub fn windows(c: usize) -> usize {
    (SCALAR_BITS + 1).div_ceil(c)
}

/// The canonical little-endian limbs of a scalar.
pub fn limbs(s: &Fr) -> [u64; 4] {
    let repr = s.to_repr();
    let bytes: &[u8] = repr.as_ref();
    let mut out = [0u64; 4];
    for (limb, chunk) in out.iter_mut().zip(bytes.chunks_exact(8)) {
        let mut b = [0u8; 8];
        b.copy_from_slice(chunk);
        *limb = u64::from_le_bytes(b);
    }
    out
}

/// Bits `[start, start + c)` of `limbs` (`c <= 32`).
fn window_bits(limbs: &[u64; 4], start: usize, c: usize) -> u32 {
    let limb = start / 64;
    if limb >= 4 {
        return 0;
    }
    let shift = start % 64;
    let mut v = limbs[limb] >> shift;
    if shift + c > 64 && limb + 1 < 4 {
        v |= limbs[limb + 1] << (64 - shift);
    }
    (v & ((1u64 << c) - 1)) as u32
}

/// Writes the `windows(c)` signed digits of `limbs` through `put(window, digit)`.
pub fn recode(limbs: &[u64; 4], c: usize, mut put: impl FnMut(usize, u32)) {
    let half = 1u32 << (c - 1);
    let full = 1u64 << c;
    let mut carry = 0u32;
    for w in 0..windows(c) {
        let v = window_bits(limbs, w * c, c) + carry;
        let digit = if v > half {
            carry = 1;
            let magnitude = (full - u64::from(v)) as u32;
            if magnitude == 0 {
                0
            } else {
                magnitude << 1 | 1
            }
        } else {
            carry = 0;
            v << 1
        };
        put(w, digit);
    }
    debug_assert_eq!(carry, 0, "scalar wider than 254 bits");
}

/// Scalars recoded per task in [`recode_all`]: each task writes `windows(c)` runs of this
/// many digits (a few KiB each, sequential).
const RECODE_CHUNK: usize = 1024;

/// The digits of every scalar, window-major: `digits[w * n + i]` is digit `w` of scalar `i`.
pub fn recode_all(scalars: &[Fr], c: usize) -> Vec<u32> {
    let n = scalars.len();
    let w = windows(c);
    let mut by_window = vec![0u32; n * w];
    if n == 0 {
        return by_window;
    }
    // Written window-major directly: a task recodes a run of scalars into that run's place
    // in every window. (Recoding scalar-major and transposing read the whole digit array
    // once per window with a stride: ~14% of an MSM of 2^20 points.)
    let mut runs: Vec<Vec<&mut [u32]>> = (0..n.div_ceil(RECODE_CHUNK))
        .map(|_| Vec::with_capacity(w))
        .collect();
    for window in by_window.chunks_mut(n) {
        for (run, part) in runs.iter_mut().zip(window.chunks_mut(RECODE_CHUNK)) {
            run.push(part);
        }
    }
    runs.into_par_iter()
        .zip(scalars.par_chunks(RECODE_CHUNK))
        .for_each(|(mut run, chunk)| {
            for (i, s) in chunk.iter().enumerate() {
                recode(&limbs(s), c, |j, d| run[j][i] = d);
            }
        });
    by_window
}

/// The value a digit stands for, for tests: `(magnitude, negative)`.
pub fn decode(digit: u32) -> (u32, bool) {
    (digit >> 1, digit & 1 == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use halo2_proofs::halo2curves::ff::Field;
    use rand::SeedableRng;

    /// Σ d_j 2^(cj) as a field element.
    fn value(digits: &[u32], c: usize) -> Fr {
        let radix = Fr::from(2u64).pow_vartime([c as u64]);
        digits.iter().rev().fold(Fr::ZERO, |acc, &d| {
            let (m, neg) = decode(d);
            let m = Fr::from(u64::from(m));
            acc * radix + if neg { -m } else { m }
        })
    }

    #[test]
    fn digits_recompose_the_scalar_and_stay_in_range() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let edge = [
            Fr::ZERO,
            Fr::ONE,
            -Fr::ONE,
            -Fr::from(2),
            Fr::from(u64::MAX),
        ];
        let scalars: Vec<Fr> = edge
            .into_iter()
            .chain((0..200).map(|_| Fr::random(&mut rng)))
            .collect();
        for c in 1..=20 {
            let half = 1u32 << (c - 1);
            for s in &scalars {
                let mut digits = vec![0u32; windows(c)];
                recode(&limbs(s), c, |j, d| digits[j] = d);
                assert!(digits.iter().all(|&d| decode(d).0 <= half), "c={c}");
                assert_eq!(value(&digits, c), *s, "c={c}");
            }
        }
    }

    #[test]
    fn window_major_layout() {
        let scalars = [Fr::from(5), Fr::from(1 << 20), -Fr::ONE];
        let c = 4;
        let all = recode_all(&scalars, c);
        for (i, s) in scalars.iter().enumerate() {
            let mut digits = vec![0u32; windows(c)];
            recode(&limbs(s), c, |j, d| digits[j] = d);
            for (j, d) in digits.iter().enumerate() {
                assert_eq!(all[j * scalars.len() + i], *d);
            }
        }
    }
}
