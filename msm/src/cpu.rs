//! The CPU backend: Pippenger's bucket method over signed digits, with batch-affine bucket
//! accumulation ([`crate::buckets`]) and rayon over (window, point range) tasks.

use halo2_proofs::halo2curves::bn256::{Fr, G1Affine, G1};
use halo2_proofs::halo2curves::group::Group;
use rayon::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::buckets::{bucket_sums, Arith, Scratch};
use crate::digits::{recode_all, windows};

/// Relative cost of one bucket in the running sums (two batch-affine additions, side by
/// side across segments) against one point's pass through a window (sort, about one
/// batch-affine addition), with either arithmetic: both use the same additions.
const BUCKET_COST: usize = 3;

/// The widest window: 2^14 buckets, whose accumulators (1 MiB) stay in a core's L2 beside a
/// block of points; c = 16 was slower at every size measured (2^18 to 2^22).
const MAX_WINDOW_BITS: usize = 15;

/// Window width with the least predicted work for `n` points: `n` additions per window plus
/// the running sums over `2^(c-1)` buckets per window, at most [`MAX_WINDOW_BITS`]. The
/// constants are fitted to widths measured with both arithmetics from 2^10 to 2^22 points
/// (docs/benchmarks.md): the model picks the fastest width or one within ~10% of it.
pub fn window_bits(n: usize) -> usize {
    (1..=MAX_WINDOW_BITS)
        .min_by_key(|&c| windows(c) * (n + BUCKET_COST * (1usize << (c - 1))))
        .unwrap_or(1)
}

/// Points a task takes at the least: below this, splitting a window costs more (its own
/// running sums) than the idle thread it saves.
const MIN_TASK_POINTS: usize = 1 << 12;

/// The (window, first point, end point) tasks of an MSM of `n` points over `w` windows on
/// `threads` threads, largest first. Whole windows while every thread has one; the
/// windows left over (`w mod threads`) are split into one part per thread, so that the
/// work divides evenly (17 windows on 2 threads: 16 whole, then 2 + 2 halves, instead of
/// one thread running 9 windows while the other, done with 8, waits). With fewer windows
/// than `2·threads`, every window is split into enough parts to give each thread two.
pub fn plan_tasks(n: usize, w: usize, threads: usize) -> Vec<(usize, usize, usize)> {
    let threads = threads.max(1);
    let split_parts = |parts: usize| parts.min(n.div_ceil(MIN_TASK_POINTS)).max(1);
    let (whole, parts) = if w < 2 * threads {
        (0, split_parts((2 * threads).div_ceil(w.max(1))))
    } else {
        (w - w % threads, split_parts(threads))
    };
    let mut tasks: Vec<(usize, usize, usize)> = (0..whole).map(|j| (j, 0, n)).collect();
    let part_len = n.div_ceil(parts);
    for j in whole..w {
        for p in 0..parts {
            let (lo, hi) = (p * part_len, ((p + 1) * part_len).min(n));
            if lo < hi {
                tasks.push((j, lo, hi));
            }
        }
    }
    tasks
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
    let c = window_bits(n);
    let w = windows(c);
    let digits = recode_all(scalars, c);
    let threads = rayon::current_num_threads().max(1);
    let tasks = plan_tasks(n, w, threads);
    let buckets = 1usize << (c - 1);
    // Each thread takes the next task until none is left: the list runs from the largest
    // tasks to the smallest, so the threads end together (rayon's splitting of a task
    // list hands out fixed halves and would leave one thread a whole window longer).
    let next = AtomicUsize::new(0);
    let sums: Vec<(usize, G1)> = (0..threads.min(tasks.len()))
        .into_par_iter()
        .flat_map_iter(|_| {
            let mut scratch = Scratch::with_arith(arith);
            let mut done = Vec::new();
            loop {
                let t = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(j, lo, hi)) = tasks.get(t) else {
                    break;
                };
                let (sum, _) = bucket_sums(
                    &bases[lo..hi],
                    &digits[j * n + lo..j * n + hi],
                    0..buckets,
                    &mut scratch,
                );
                done.push((j, sum));
            }
            done
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every (window, point) pair is in exactly one task, and the threads' shares of the
    /// work (in points) differ by less than one part.
    #[test]
    fn tasks_cover_every_window_once_and_balance_the_threads() {
        for (n, w, threads) in [
            (1 << 20, 17, 2),
            (1 << 20, 16, 2),
            (1 << 16, 19, 4),
            (1000, 26, 2),
            (1 << 14, 3, 8),
            (5, 1, 1),
            (1 << 20, 17, 1),
        ] {
            let tasks = plan_tasks(n, w, threads);
            let mut covered = vec![vec![0u8; n]; w];
            for &(j, lo, hi) in &tasks {
                for c in &mut covered[j][lo..hi] {
                    *c += 1;
                }
            }
            assert!(
                covered.iter().flatten().all(|&c| c == 1),
                "{n} {w} {threads}"
            );
            let sizes: Vec<usize> = tasks.iter().map(|(_, lo, hi)| hi - lo).collect();
            assert!(sizes.windows(2).all(|s| s[0] >= s[1]), "largest first");
            // Greedy: each task to the least loaded thread, as the threads take them.
            let mut load = vec![0usize; threads];
            for s in &sizes {
                let least = (0..threads).min_by_key(|&t| load[t]).unwrap_or(0);
                load[least] += s;
            }
            let spread = load.iter().max().unwrap_or(&0) - load.iter().min().unwrap_or(&0);
            if n >= (1 << 12) * threads {
                assert!(spread < n, "{n} {w} {threads}: {load:?}");
            }
        }
        assert_eq!(plan_tasks(1 << 20, 17, 2).len(), 18);
        assert_eq!(plan_tasks(1 << 20, 16, 2).len(), 16);
    }

    /// The widths measured fastest (or within ~10%) on the reference machine.
    #[test]
    fn window_widths_follow_the_measurements() {
        let widths: Vec<usize> = [10, 12, 14, 16, 17, 18, 20, 22]
            .iter()
            .map(|&log| window_bits(1 << log))
            .collect();
        assert_eq!(widths, [7, 9, 10, 13, 13, 15, 15, 15]);
    }
}
