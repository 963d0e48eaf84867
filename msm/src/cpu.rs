//! The CPU backend: Pippenger's bucket method over signed digits, with batch-affine bucket
//! accumulation ([`crate::buckets`]) and rayon over (window, point range) tasks.

use halo2_proofs::halo2curves::bn256::{Fr, G1Affine, G1};
use halo2_proofs::halo2curves::group::Group;
use rayon::prelude::*;

use crate::buckets::{bucket_sums, Arith, Scratch};
use crate::digits::{recode_all, windows};

/// Relative cost of one bucket in the final running sums (two Jacobian additions) against
/// one batch-affine addition of a point into a bucket, per arithmetic: the vector additions
/// are about three times cheaper, the running sums (scalar) are not. Measured at 2^18 and
/// 2^20 points (docs/benchmarks.md): the widths these give (13 and 15 with IFMA, 14 and 16
/// without) were the fastest of those tried.
pub(crate) fn bucket_cost(arith: Arith) -> usize {
    match arith {
        Arith::Scalar => 4,
        Arith::Ifma => 12,
    }
}

/// Window width with the least predicted work for `n` points: `n` additions per window plus
/// the running sums over `2^(c-1)` buckets per window.
pub fn window_bits(n: usize, arith: Arith) -> usize {
    let cost = bucket_cost(arith);
    (1..=20)
        .min_by_key(|&c| windows(c) * (n + cost * (1usize << (c - 1))))
        .unwrap_or(1)
}

/// `Σ scalars[i] · bases[i]` with the fastest arithmetic this CPU has. The slices have
/// equal lengths (checked by the caller).
pub fn msm(scalars: &[Fr], bases: &[G1Affine]) -> G1 {
    msm_with(scalars, bases, Arith::detect())
}

/// [`msm`] with the batch additions' arithmetic chosen (for tests and benchmarks; `Ifma`
/// falls back to `Scalar` on a CPU without it).
pub fn msm_with(scalars: &[Fr], bases: &[G1Affine], arith: Arith) -> G1 {
    debug_assert_eq!(scalars.len(), bases.len());
    if let Some((s, b)) = crate::finite_terms(scalars, bases) {
        return msm_with(&s, &b, arith);
    }
    let n = bases.len();
    if n == 0 {
        return G1::identity();
    }
    let arith = if arith == Arith::Ifma && !crate::ifma::available() {
        Arith::Scalar
    } else {
        arith
    };
    let c = window_bits(n, arith);
    let w = windows(c);
    let digits = recode_all(scalars, c);
    // Enough tasks to keep every thread busy: split the points when windows are few.
    let threads = rayon::current_num_threads().max(1);
    let parts = (2 * threads).div_ceil(w).min(n.div_ceil(1 << 12)).max(1);
    let part_len = n.div_ceil(parts);
    let tasks: Vec<(usize, usize, usize)> = (0..w)
        .flat_map(|j| (0..parts).map(move |p| (j, p * part_len, ((p + 1) * part_len).min(n))))
        .filter(|(_, lo, hi)| lo < hi)
        .collect();
    let buckets = 1usize << (c - 1);
    let sums: Vec<(usize, G1)> = tasks
        .into_par_iter()
        .map_init(
            || Scratch::with_arith(arith),
            |scratch, (j, lo, hi)| {
                let (sum, _) = bucket_sums(
                    &bases[lo..hi],
                    &digits[j * n + lo..j * n + hi],
                    0..buckets,
                    scratch,
                );
                (j, sum)
            },
        )
        .collect();
    let mut by_window = vec![G1::identity(); w];
    for (j, s) in sums {
        by_window[j] += s;
    }
    let mut acc = G1::identity();
    for s in by_window.iter().rev() {
        for _ in 0..c {
            acc = acc.double();
        }
        acc += s;
    }
    acc
}
