//! Bucket accumulation with affine additions that share one field inversion per batch.
//!
//! The points of a block are counting-sorted by bucket (copied, negated for a negative
//! digit), so each bucket's points lie side by side. Each round then adds neighbours
//! pairwise in every bucket at once, halving the points; a batch of up to [`BATCH`]
//! additions computes its slopes' denominators, inverts their product once (Montgomery's
//! trick) and finishes the additions: about 6 multiplications per addition instead of about
//! 11 for a mixed Jacobian addition. The rounds need no conflict handling (unlike a
//! scheduler that adds points to buckets in input order), and the in-place layout keeps
//! memory at one point per entry.

use std::ops::Range;

use halo2_proofs::halo2curves::bn256::{Fq, Fr, G1Affine, G1};
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::halo2curves::group::prime::PrimeCurveAffine;
use halo2_proofs::halo2curves::group::Group;

/// Additions sharing one inversion.
pub const BATCH: usize = 1024;

/// Points per block (at least the number of buckets): 1 MiB of affine points.
pub const BLOCK: usize = 1 << 14;

const COPY: u32 = u32::MAX;

#[derive(Clone, Copy)]
struct Item {
    a: u32,
    /// Second operand, or [`COPY`] for an odd point carried to the next round.
    b: u32,
    bucket: u32,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Double,
    /// `a + b` is the point at infinity: dropped.
    Vanish,
}

/// Field arithmetic of the batch additions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arith {
    /// halo2curves' `Fq`, one addition at a time.
    Scalar,
    /// AVX-512 IFMA, eight additions at a time ([`crate::ifma`]); only where the CPU has it.
    Ifma,
}

impl Arith {
    /// The fastest this CPU supports.
    pub fn detect() -> Self {
        if crate::ifma::available() {
            Arith::Ifma
        } else {
            Arith::Scalar
        }
    }
}

impl Default for Arith {
    fn default() -> Self {
        Self::detect()
    }
}

/// The batch additions' own state: which arithmetic, and the vector path's buffers.
#[derive(Default)]
struct Adder {
    arith: Arith,
    kinds: Vec<crate::ifma::Kind>,
    buffers: crate::ifma::Buffers,
}

/// Reusable memory of a bucket pass (one per thread).
#[derive(Default)]
pub struct Scratch {
    adder: Adder,
    offsets: Vec<u32>,
    lens: Vec<u32>,
    work: Vec<G1Affine>,
    items: Vec<Item>,
    ops: Vec<Op>,
    dens: Vec<Fq>,
    prefix: Vec<Fq>,
    /// Operands of the pending batch, read once.
    left: Vec<G1Affine>,
    right: Vec<G1Affine>,
    /// Results of a batch (`None`: the point at infinity).
    sums: Vec<Option<G1Affine>>,
    /// Accumulators a merge batch writes.
    targets: Vec<u32>,
    next: Vec<u32>,
    /// Odd points of the pending batch, carried unchanged.
    copies: Vec<G1Affine>,
}

impl Scratch {
    /// Scratch memory whose batch additions use `arith` (falling back to the scalar code
    /// where this CPU lacks it).
    pub fn with_arith(arith: Arith) -> Self {
        Self {
            adder: Adder {
                arith,
                ..Adder::default()
            },
            ..Self::default()
        }
    }
}

#[inline]
fn signed(points: &[G1Affine], i: usize, negative: bool) -> G1Affine {
    let p = points[i];
    if negative {
        G1Affine { x: p.x, y: -p.y }
    } else {
        p
    }
}

/// Sums of a bucket set over `range` of buckets: bucket `b` holds the points whose digit has
/// magnitude `b + 1` (negated for a negative digit). Returns `(Σ_b (b - range.start + 1) B_b,
/// Σ_b B_b)`, from which the caller gets `Σ_b (b + 1) B_b` by adding `range.start` times the
/// second.
///
/// `digits[i]` is the digit of `points[i]` ([`crate::digits`] encoding); `points` must not
/// hold the point at infinity.
pub fn bucket_sums(
    points: &[G1Affine],
    digits: &[u32],
    range: Range<usize>,
    scratch: &mut Scratch,
) -> (G1, G1) {
    bucket_sums_over(std::iter::once((points, digits)), range, scratch)
}

/// [`bucket_sums`] with one bucket set shared by several (points, digits) parts: the
/// fixed-base tables put every window's shifted points into the same buckets.
pub fn bucket_sums_over<'a>(
    parts: impl IntoIterator<Item = (&'a [G1Affine], &'a [u32])>,
    range: Range<usize>,
    scratch: &mut Scratch,
) -> (G1, G1) {
    let buckets = range.len();
    let lo = range.start as u32;
    let hi = range.end as u32;
    // Points are taken in blocks whose points stay in cache while they are sorted and
    // reduced; each block leaves at most one point per bucket, added into the window's
    // bucket accumulators (distinct buckets: no conflicts within a batch).
    let block = BLOCK.max(buckets);
    let mut acc = vec![G1Affine::identity(); buckets];
    let mut filled = vec![false; buckets];
    let mut any = false;
    for (points, digits) in parts {
        debug_assert_eq!(points.len(), digits.len());
        for start in (0..points.len()).step_by(block) {
            let end = (start + block).min(points.len());
            // Small scalars (common in witness columns) leave the high windows empty: skip
            // the bucket passes for a block with nothing in range.
            if !digits[start..end]
                .iter()
                .any(|&d| d >> 1 > lo && d >> 1 <= hi)
            {
                continue;
            }
            any = true;
            reduce_block(&points[start..end], &digits[start..end], lo, hi, scratch);
            merge(scratch, &mut acc, &mut filled);
        }
    }

    if !any {
        return (G1::identity(), G1::identity());
    }
    weighted_sums(&acc, &filled, scratch)
}

/// Segments summed side by side in [`weighted_sums`] (at most one batch per step).
const SEGMENTS: usize = 512;

/// `(Σ_b (b+1)·acc[b], Σ_b acc[b])` over the filled buckets.
///
/// Running sums are a chain of additions, one bucket after the other. Cut into [`SEGMENTS`]
/// segments, the chains run side by side: each step adds one bucket of every segment into
/// that segment's running sum, then the running sums into the segments' weighted sums, as
/// two batch-affine additions across the segments (the vector path where there is one)
/// instead of two Jacobian additions per bucket. The segments are combined at the end
/// (`Σ_s weighted_s + s·len·running_s`). Few buckets: the plain Jacobian chain.
fn weighted_sums(acc: &[G1Affine], filled: &[bool], scratch: &mut Scratch) -> (G1, G1) {
    let buckets = acc.len();
    let len = buckets.div_ceil(SEGMENTS.min(buckets.max(1)));
    if len < 4 {
        return weighted_sums_sequential(acc, filled);
    }
    let segments = buckets.div_ceil(len);
    let mut running = vec![G1Affine::identity(); segments];
    let mut running_filled = vec![false; segments];
    let mut weighted = vec![G1Affine::identity(); segments];
    let mut weighted_filled = vec![false; segments];
    for k in (0..len).rev() {
        for s in 0..segments {
            let b = s * len + k;
            if b < buckets && filled[b] {
                add_into(scratch, &mut running, &mut running_filled, s, acc[b]);
            }
        }
        merge_flush(scratch, &mut running, &mut running_filled);
        for s in 0..segments {
            if running_filled[s] {
                add_into(scratch, &mut weighted, &mut weighted_filled, s, running[s]);
            }
        }
        merge_flush(scratch, &mut weighted, &mut weighted_filled);
    }
    // Segment s starts at bucket s·len: its buckets weigh s·len more than within it.
    let mut total = G1::identity();
    let mut sum = G1::identity();
    let mut by_index = G1::identity();
    for s in (0..segments).rev() {
        if weighted_filled[s] {
            total += weighted[s];
        }
        if running_filled[s] {
            sum += running[s];
        }
        by_index += sum;
    }
    // by_index = Σ_s (s+1)·running_s.
    let offsets = (by_index - sum) * Fr::from(len as u64);
    (total + offsets, sum)
}

/// [`weighted_sums`] as one chain of Jacobian additions from the top bucket down.
fn weighted_sums_sequential(acc: &[G1Affine], filled: &[bool]) -> (G1, G1) {
    let mut running = G1::identity();
    let mut weighted = G1::identity();
    let mut started = false;
    for b in (0..acc.len()).rev() {
        if filled[b] {
            running += acc[b];
            started = true;
        }
        if started {
            weighted += running;
        }
    }
    (weighted, running)
}

/// `2^times · points[i]` for every point (finite points; BN254 G1 has no point of order 2,
/// so a doubling never reaches infinity), by batch-affine doublings.
pub fn double_all(points: &[G1Affine], times: usize, scratch: &mut Scratch) -> Vec<G1Affine> {
    let mut out = points.to_vec();
    let Scratch {
        adder,
        ops,
        dens,
        prefix,
        sums,
        ..
    } = scratch;
    for chunk in out.chunks_mut(BATCH) {
        for _ in 0..times {
            batch_add(adder, chunk, chunk, ops, dens, prefix, sums);
            for (p, s) in chunk.iter_mut().zip(sums.iter()) {
                // Never `None`: doubling a finite point of odd order stays finite.
                *p = s.unwrap_or(*p);
            }
        }
    }
    out
}

/// Sorts a block's points by bucket into `scratch.work` and reduces each bucket to at most
/// one point (`scratch.lens[b]` is then 0 or 1, the point at `scratch.work[scratch.offsets[b]]`).
fn reduce_block(points: &[G1Affine], digits: &[u32], lo: u32, hi: u32, scratch: &mut Scratch) {
    let buckets = (hi - lo) as usize;
    let in_range = |d: u32| {
        let m = d >> 1;
        m > lo && m <= hi
    };
    // Counting sort of the points by bucket.
    scratch.lens.clear();
    scratch.lens.resize(buckets, 0);
    for &d in digits {
        if in_range(d) {
            scratch.lens[((d >> 1) - lo - 1) as usize] += 1;
        }
    }
    scratch.offsets.clear();
    let mut total = 0u32;
    for &len in &scratch.lens {
        scratch.offsets.push(total);
        total += len;
    }
    // Grown, never cleared: every work slot is written before it is read.
    if scratch.work.len() < total as usize {
        scratch.work.resize(total as usize, G1Affine::identity());
    }
    scratch.next.clear();
    scratch.next.extend_from_slice(&scratch.offsets);
    // The points themselves are moved, not their indices: the points are read in order
    // and written scattered (stores, which do not stall), where sorting indices made every
    // later read of an operand a scattered load (most of the time of the passes after it).
    for (i, &d) in digits.iter().enumerate() {
        if in_range(d) {
            let b = ((d >> 1) - lo - 1) as usize;
            scratch.work[scratch.next[b] as usize] = signed(points, i, d & 1 == 1);
            scratch.next[b] += 1;
        }
    }
    while scratch.lens.iter().any(|&l| l > 1) {
        round(scratch);
    }
}

/// Adds each bucket's point left by [`reduce_block`] into the accumulators.
fn merge(scratch: &mut Scratch, acc: &mut [G1Affine], filled: &mut [bool]) {
    scratch.targets.clear();
    for b in 0..scratch.lens.len() {
        if scratch.lens[b] != 1 {
            continue;
        }
        let p = scratch.work[scratch.offsets[b] as usize];
        add_into(scratch, acc, filled, b, p);
    }
    merge_flush(scratch, acc, filled);
}

/// `acc[target] += p`: the first point of an empty accumulator is stored, later ones are
/// queued for a batch addition (flushed every [`BATCH`]; the caller flushes the rest).
fn add_into(
    scratch: &mut Scratch,
    acc: &mut [G1Affine],
    filled: &mut [bool],
    target: usize,
    p: G1Affine,
) {
    if !filled[target] {
        acc[target] = p;
        filled[target] = true;
        return;
    }
    scratch.left.push(acc[target]);
    scratch.right.push(p);
    scratch.targets.push(target as u32);
    if scratch.targets.len() == BATCH {
        merge_flush(scratch, acc, filled);
    }
}

fn merge_flush(scratch: &mut Scratch, acc: &mut [G1Affine], filled: &mut [bool]) {
    if scratch.targets.is_empty() {
        return;
    }
    let Scratch {
        adder,
        left,
        right,
        ops,
        dens,
        prefix,
        targets,
        sums,
        ..
    } = scratch;
    batch_add(adder, left, right, ops, dens, prefix, sums);
    for (&b, sum) in targets.iter().zip(sums.iter()) {
        match sum {
            Some(p) => acc[b as usize] = *p,
            None => filled[b as usize] = false,
        }
    }
    left.clear();
    right.clear();
    targets.clear();
}

/// One round: every bucket with two or more points adds its points pairwise into the front
/// of its segment of `work`.
fn round(scratch: &mut Scratch) {
    scratch.items.clear();
    for b in 0..scratch.lens.len() {
        let len = scratch.lens[b];
        if len == 0 || len == 1 {
            continue;
        }
        scratch.lens[b] = 0;
        let off = scratch.offsets[b];
        for k in 0..len / 2 {
            scratch.items.push(Item {
                a: off + 2 * k,
                b: off + 2 * k + 1,
                bucket: b as u32,
            });
            if scratch.items.len() == BATCH {
                flush(scratch);
            }
        }
        if len % 2 == 1 {
            scratch.items.push(Item {
                a: off + len - 1,
                b: COPY,
                bucket: b as u32,
            });
            if scratch.items.len() == BATCH {
                flush(scratch);
            }
        }
    }
    flush(scratch);
}

/// Finishes the pending additions of a round and writes each result at the front of its
/// bucket's segment (in place: a result is written at or before the positions of the
/// operands still to be read, and the operands were read first).
fn flush(scratch: &mut Scratch) {
    let Scratch {
        adder,
        offsets,
        lens,
        work,
        items,
        ops,
        dens,
        prefix,
        left,
        right,
        sums,
        copies,
        ..
    } = scratch;
    if items.is_empty() {
        return;
    }
    left.clear();
    right.clear();
    copies.clear();
    // Operands first (all reads before any write); an odd point carried to the next round
    // is copied, not added.
    for item in items.iter() {
        let a = work[item.a as usize];
        if item.b == COPY {
            copies.push(a);
        } else {
            left.push(a);
            right.push(work[item.b as usize]);
        }
    }
    batch_add(adder, left, right, ops, dens, prefix, sums);
    let mut sum = sums.iter();
    let mut copy = copies.iter();
    for item in items.iter() {
        let result = if item.b == COPY {
            copy.next().copied()
        } else {
            sum.next().copied().flatten()
        };
        if let Some(p) = result {
            let b = item.bucket as usize;
            work[(offsets[b] + lens[b]) as usize] = p;
            lens[b] += 1;
        }
    }
    items.clear();
    left.clear();
    right.clear();
}

/// `sums[t] = left[t] + right[t]` for every `t` (`None` for the point at infinity), with one
/// field inversion for the whole batch (Montgomery's trick); eight at a time with AVX-512
/// IFMA when `adder` says so.
fn batch_add(
    adder: &mut Adder,
    left: &[G1Affine],
    right: &[G1Affine],
    ops: &mut Vec<Op>,
    dens: &mut Vec<Fq>,
    prefix: &mut Vec<Fq>,
    sums: &mut Vec<Option<G1Affine>>,
) {
    if adder.arith == Arith::Ifma && crate::ifma::available() {
        crate::ifma::batch_add(left, right, &mut adder.kinds, &mut adder.buffers, sums);
        return;
    }
    ops.clear();
    dens.clear();
    prefix.clear();
    sums.clear();
    let mut acc = Fq::ONE;
    for (a, b) in left.iter().zip(right) {
        let (op, den) = if a.x != b.x {
            (Op::Add, b.x - a.x)
        } else if a.y == b.y && !bool::from(a.y.is_zero()) {
            (Op::Double, a.y.double())
        } else {
            (Op::Vanish, Fq::ONE)
        };
        ops.push(op);
        prefix.push(acc);
        if op != Op::Vanish {
            acc *= den;
        }
        dens.push(den);
    }
    // The product of non-zero field elements is non-zero: the inverse exists.
    let mut inv = acc.invert().unwrap_or(Fq::ZERO);
    for t in (0..left.len()).rev() {
        if ops[t] != Op::Vanish {
            let d = dens[t];
            dens[t] = inv * prefix[t];
            inv *= d;
        }
    }
    for (t, (a, b)) in left.iter().zip(right).enumerate() {
        sums.push(match ops[t] {
            Op::Vanish => None,
            Op::Add => {
                let lambda = (b.y - a.y) * dens[t];
                let x = lambda * lambda - a.x - b.x;
                let y = lambda * (a.x - x) - a.y;
                Some(G1Affine { x, y })
            }
            Op::Double => {
                let xx = a.x.square();
                let lambda = (xx.double() + xx) * dens[t];
                let x = lambda * lambda - a.x.double();
                let y = lambda * (a.x - x) - a.y;
                Some(G1Affine { x, y })
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use halo2_proofs::halo2curves::group::Curve;
    use rand::SeedableRng;

    #[test]
    fn side_by_side_running_sums_equal_the_chain() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(4);
        let g = G1::generator();
        for (buckets, arith) in [
            (3000, Arith::detect()),
            (3000, Arith::Scalar),
            (16384, Arith::detect()),
            (2047, Arith::Scalar),
        ] {
            let mut acc: Vec<G1Affine> = (0..buckets)
                .map(|_| (g * Fr::random(&mut rng)).to_affine())
                .collect();
            let filled: Vec<bool> = (0..buckets)
                .map(|b| b % 7 != 3 && b < buckets - 5)
                .collect();
            // Opposite points inside one segment, and equal ones: sums vanish and double.
            acc[12] = -acc[13];
            acc[20] = acc[21];
            let mut scratch = Scratch::with_arith(arith);
            let (w, r) = weighted_sums(&acc, &filled, &mut scratch);
            let (w0, r0) = weighted_sums_sequential(&acc, &filled);
            assert_eq!(
                (w.to_affine(), r.to_affine()),
                (w0.to_affine(), r0.to_affine()),
                "{buckets} {arith:?}"
            );
        }
        // Nothing filled.
        let acc = vec![G1Affine::identity(); 4096];
        let (w, r) = weighted_sums(&acc, &vec![false; 4096], &mut Scratch::default());
        assert_eq!((w, r), (G1::identity(), G1::identity()));
    }
}
