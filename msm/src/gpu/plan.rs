//! The host's half of a GPU MSM: which points go to which bucket, cut into tasks of
//! bounded length, and the final reduction of the device's per-segment sums.
//!
//! Buckets are grouped window by window (`window * buckets_per_window + bucket`, bucket `k`
//! holding digit `k + 1`). A bucket's entries are split into tasks of at most [`TASK_LEN`]
//! points, so a bucket that many scalars share (witness columns are full of ones and small
//! numbers) is summed by many work-items instead of one.

use halo2_proofs::halo2curves::bn256::{Fq, Fr, G1Affine, G1};
use halo2_proofs::halo2curves::ff::PrimeField;
use halo2_proofs::halo2curves::group::prime::PrimeCurveAffine;
use halo2_proofs::halo2curves::group::Group;
use halo2_proofs::halo2curves::CurveAffine;
use rayon::prelude::*;

use super::opencl::AFFINE_LIMBS;
use super::GpuError;
use crate::digits::{recode_all, windows};

/// Most points one work-item adds into a bucket.
pub const TASK_LEN: usize = 128;
/// Buckets per running-sum segment (one work-item each).
pub const SEGMENT_LEN: usize = 32;

/// Window width for `n` points on the device: wide enough that the buckets of all windows
/// give tens of thousands of work-items at 2^20 points, never more than 2^13 buckets each.
pub fn window_bits(n: usize) -> usize {
    let log2 = n.max(1).ilog2() as usize;
    log2.saturating_sub(7).clamp(3, 14)
}

/// One MSM laid out for the kernels.
#[derive(Debug)]
pub struct Plan {
    /// Window width in bits.
    pub c: usize,
    /// Windows.
    pub windows: usize,
    /// Buckets per window, `2^(c-1)`.
    pub buckets_per_window: usize,
    /// Buckets per segment of the running sums.
    pub segment_len: usize,
    /// `point << 1 | negative`, grouped by bucket.
    pub entries: Vec<u32>,
    /// Per task: its first entry.
    pub task_start: Vec<u32>,
    /// Per task: how many entries.
    pub task_len: Vec<u32>,
    /// Per bucket `b`: its tasks are `bucket_tasks[b]..bucket_tasks[b + 1]`.
    pub bucket_tasks: Vec<u32>,
}

impl Plan {
    /// Lays out `scalars` (one per point) with windows of `c` bits.
    pub fn new(scalars: &[Fr], c: usize) -> Result<Self, GpuError> {
        let n = scalars.len();
        let w = windows(c);
        let per_window = 1usize << (c - 1);
        let too_large = |what| GpuError::TooLarge {
            what,
            bytes: (n * w * 4) as u64,
            limit: u64::from(u32::MAX),
        };
        if n >= 1 << 31 || n.checked_mul(w).is_none_or(|e| e > u32::MAX as usize) {
            return Err(too_large("bucket entries"));
        }
        let digits = recode_all(scalars, c);
        // Per window: a counting sort of the points by bucket.
        let per_window_entries: Vec<(Vec<u32>, Vec<u32>)> = digits
            .par_chunks(n.max(1))
            .take(w)
            .map(|window| {
                let mut counts = vec![0u32; per_window + 1];
                for &d in window {
                    if d != 0 {
                        counts[(d >> 1) as usize] += 1;
                    }
                }
                // counts[m] for digit magnitude m (1..=per_window) -> start offsets.
                let mut starts = vec![0u32; per_window + 1];
                let mut acc = 0u32;
                for m in 1..=per_window {
                    starts[m] = acc;
                    acc += counts[m];
                }
                let mut entries = vec![0u32; acc as usize];
                let mut next = starts.clone();
                for (i, &d) in window.iter().enumerate() {
                    if d != 0 {
                        let m = (d >> 1) as usize;
                        entries[next[m] as usize] = (i as u32) << 1 | (d & 1);
                        next[m] += 1;
                    }
                }
                (entries, counts)
            })
            .collect();

        let total: usize = per_window_entries.iter().map(|(e, _)| e.len()).sum();
        let mut entries = Vec::with_capacity(total);
        let mut task_start = Vec::new();
        let mut task_len = Vec::new();
        let mut bucket_tasks = Vec::with_capacity(w * per_window + 1);
        bucket_tasks.push(0u32);
        for (window_entries, counts) in &per_window_entries {
            let mut offset = entries.len();
            entries.extend_from_slice(window_entries);
            for &count in &counts[1..] {
                let mut left = count as usize;
                while left > 0 {
                    let len = left.min(TASK_LEN);
                    task_start.push(offset as u32);
                    task_len.push(len as u32);
                    offset += len;
                    left -= len;
                }
                bucket_tasks.push(task_start.len() as u32);
            }
        }
        Ok(Self {
            c,
            windows: w,
            buckets_per_window: per_window,
            segment_len: per_window.min(SEGMENT_LEN),
            entries,
            task_start,
            task_len,
            bucket_tasks,
        })
    }

    /// Buckets over all windows.
    pub fn bucket_count(&self) -> usize {
        self.windows * self.buckets_per_window
    }

    /// Running-sum segments over all windows.
    pub fn segment_count(&self) -> usize {
        self.bucket_count() / self.segment_len
    }

    /// The MSM from the device's per-segment pairs (`acc`, `running`), each an affine point
    /// of [`AFFINE_LIMBS`] canonical limbs. Every point is checked to be on the curve: a
    /// device that computes garbage gives an error, never a wrong result.
    pub fn combine(&self, out: &[u32]) -> Result<G1, GpuError> {
        let expected = self.segment_count() * 2 * AFFINE_LIMBS;
        if out.len() != expected {
            return Err(GpuError::BadOutput("wrong number of segment sums"));
        }
        let points: Vec<G1Affine> = out
            .par_chunks(AFFINE_LIMBS)
            .map(decode_affine)
            .collect::<Result<_, _>>()?;
        let segments = self.buckets_per_window / self.segment_len;
        let mut total = G1::identity();
        for w in (0..self.windows).rev() {
            for _ in 0..self.c {
                total = total.double();
            }
            // Window sum = Σ_s (acc_s + s·L·running_s); Σ_s s·running_s by a running sum.
            let mut accs = G1::identity();
            let mut running = G1::identity();
            let mut weighted = G1::identity();
            for s in (0..segments).rev() {
                let pair = 2 * (w * segments + s);
                accs += points[pair];
                running += points[pair + 1];
                weighted += running;
            }
            let mut shifted = weighted - running;
            for _ in 0..self.segment_len.trailing_zeros() {
                shifted = shifted.double();
            }
            total += accs + shifted;
        }
        Ok(total)
    }
}

fn fq_from_limbs(limbs: &[u32]) -> Option<Fq> {
    let mut repr = <Fq as PrimeField>::Repr::default();
    for (chunk, limb) in repr.as_mut().chunks_exact_mut(4).zip(limbs) {
        chunk.copy_from_slice(&limb.to_le_bytes());
    }
    Option::from(Fq::from_repr(repr))
}

/// A device point (`x` then `y`, canonical limbs; `(0, 0)` for infinity) checked to lie on
/// the curve.
fn decode_affine(limbs: &[u32]) -> Result<G1Affine, GpuError> {
    if limbs.iter().all(|&l| l == 0) {
        return Ok(G1Affine::identity());
    }
    let x = fq_from_limbs(&limbs[..8]).ok_or(GpuError::BadOutput("coordinate not below p"))?;
    let y = fq_from_limbs(&limbs[8..16]).ok_or(GpuError::BadOutput("coordinate not below p"))?;
    Option::from(G1Affine::from_xy(x, y)).ok_or(GpuError::BadOutput("point not on the curve"))
}

/// The canonical limbs of a finite affine point, as the kernels read it.
pub fn encode_affine(p: &G1Affine, out: &mut [u32]) {
    for (coord, dst) in [p.x, p.y].iter().zip(out.chunks_exact_mut(8)) {
        let repr = coord.to_repr();
        for (limb, bytes) in dst.iter_mut().zip(repr.as_ref().chunks_exact(4)) {
            *limb = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        }
    }
}

/// Encodes many points in parallel.
pub fn encode_points(points: &[G1Affine]) -> Vec<u32> {
    let mut out = vec![0u32; points.len() * AFFINE_LIMBS];
    out.par_chunks_mut(AFFINE_LIMBS)
        .zip(points.par_iter())
        .for_each(|(dst, p)| encode_affine(p, dst));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use halo2_proofs::halo2curves::ff::Field;
    use halo2_proofs::halo2curves::group::Curve;
    use rand::SeedableRng;

    #[test]
    fn entries_cover_every_nonzero_digit_once_and_tasks_are_bounded() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut scalars: Vec<Fr> = (0..1000).map(|_| Fr::random(&mut rng)).collect();
        // Many equal small scalars: one bucket gets far more than TASK_LEN entries.
        scalars.extend(std::iter::repeat_n(Fr::one(), 3 * TASK_LEN + 5));
        scalars.extend(std::iter::repeat_n(Fr::zero(), 10));
        let c = 6;
        let plan = Plan::new(&scalars, c).expect("plan");
        let digits = recode_all(&scalars, c);
        assert_eq!(
            plan.entries.len(),
            digits.iter().filter(|&&d| d != 0).count()
        );
        assert_eq!(plan.bucket_tasks.len(), plan.bucket_count() + 1);
        assert!(plan
            .task_len
            .iter()
            .all(|&l| l >= 1 && l as usize <= TASK_LEN));
        // Each bucket's tasks cover exactly the entries whose digit is that bucket's.
        let n = scalars.len();
        for b in 0..plan.bucket_count() {
            let (w, k) = (b / plan.buckets_per_window, b % plan.buckets_per_window);
            let tasks = plan.bucket_tasks[b] as usize..plan.bucket_tasks[b + 1] as usize;
            let mut got: Vec<u32> = tasks
                .flat_map(|t| {
                    let s = plan.task_start[t] as usize;
                    plan.entries[s..s + plan.task_len[t] as usize].to_vec()
                })
                .collect();
            let mut want: Vec<u32> = (0..n)
                .filter(|&i| digits[w * n + i] >> 1 == (k + 1) as u32)
                .map(|i| (i as u32) << 1 | (digits[w * n + i] & 1))
                .collect();
            got.sort_unstable();
            want.sort_unstable();
            assert_eq!(got, want, "bucket {b}");
        }
    }

    #[test]
    fn points_round_trip_through_the_device_encoding() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(8);
        let p = (G1::generator() * Fr::random(&mut rng)).to_affine();
        let mut limbs = [0u32; AFFINE_LIMBS];
        encode_affine(&p, &mut limbs);
        assert_eq!(decode_affine(&limbs).expect("decode"), p);
        assert_eq!(
            decode_affine(&[0; AFFINE_LIMBS]).expect("infinity"),
            G1Affine::identity()
        );
        limbs[3] ^= 1;
        assert!(
            decode_affine(&limbs).is_err(),
            "a corrupted point is rejected"
        );
    }

    #[test]
    fn window_bits_stay_in_range() {
        assert_eq!(window_bits(0), 3);
        assert_eq!(window_bits(1), 3);
        assert_eq!(window_bits(1 << 20), 13);
        assert_eq!(window_bits(1 << 22), 14);
        assert_eq!(window_bits(1 << 26), 14);
    }
}
