//! Bucket accumulation with affine additions that share one field inversion per batch.
//!
//! The entries of a bucket set (a point and its signed digit) are counting-sorted by bucket,
//! so each bucket's points lie side by side. Each round then adds neighbours pairwise in
//! every bucket at once, halving the points; a batch of up to [`BATCH`] additions computes
//! its slopes' denominators, inverts their product once (Montgomery's trick) and finishes
//! the additions: about 6 multiplications per addition instead of about 11 for a mixed
//! Jacobian addition. The rounds need no conflict handling (unlike a scheduler that adds
//! points to buckets in input order), and the in-place layout keeps memory at one point
//! per entry.

use std::ops::Range;

use halo2_proofs::halo2curves::bn256::{Fq, G1Affine, G1};
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::halo2curves::group::prime::PrimeCurveAffine;
use halo2_proofs::halo2curves::group::Group;

/// Additions sharing one inversion.
pub const BATCH: usize = 1024;

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
    Copy,
}

/// Reusable memory of a bucket pass (one per thread).
#[derive(Default)]
pub struct Scratch {
    offsets: Vec<u32>,
    lens: Vec<u32>,
    entries: Vec<u32>,
    work: Vec<G1Affine>,
    items: Vec<Item>,
    ops: Vec<Op>,
    dens: Vec<Fq>,
    prefix: Vec<Fq>,
}

/// Where the operands of a round come from.
#[derive(Clone, Copy)]
enum Source<'a> {
    /// The sorted entries, `index << 1 | negative` into the points (first round).
    Entries(&'a [u32], &'a [G1Affine]),
    /// The previous round's sums, in place.
    Work,
}

#[inline]
fn signed(points: &[G1Affine], entry: u32) -> G1Affine {
    let p = points[(entry >> 1) as usize];
    if entry & 1 == 1 {
        G1Affine { x: p.x, y: -p.y }
    } else {
        p
    }
}

#[inline]
fn operand(source: Source<'_>, work: &[G1Affine], position: u32) -> G1Affine {
    match source {
        Source::Entries(entries, points) => signed(points, entries[position as usize]),
        Source::Work => work[position as usize],
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
    debug_assert_eq!(points.len(), digits.len());
    let buckets = range.len();
    let lo = range.start as u32;
    let hi = range.end as u32;
    let in_range = |d: u32| {
        let m = d >> 1;
        m > lo && m <= hi
    };
    // Counting sort of the entries by bucket.
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
    scratch.entries.clear();
    scratch.entries.resize(total as usize, 0);
    {
        let mut next = scratch.offsets.clone();
        for (i, &d) in digits.iter().enumerate() {
            if in_range(d) {
                let b = ((d >> 1) - lo - 1) as usize;
                scratch.entries[next[b] as usize] = (i as u32) << 1 | (d & 1);
                next[b] += 1;
            }
        }
    }
    scratch.work.clear();
    scratch.work.resize(total as usize, G1Affine::identity());

    let entries = std::mem::take(&mut scratch.entries);
    round(scratch, Source::Entries(&entries, points), true);
    scratch.entries = entries;
    while scratch.lens.iter().any(|&l| l > 1) {
        round(scratch, Source::Work, false);
    }

    // Σ (b+1) B_b by running sums from the top bucket down.
    let mut running = G1::identity();
    let mut weighted = G1::identity();
    let mut started = false;
    for b in (0..buckets).rev() {
        if scratch.lens[b] == 1 {
            running += scratch.work[scratch.offsets[b] as usize];
            started = true;
        }
        if started {
            weighted += running;
        }
    }
    (weighted, running)
}

/// One round: every bucket with two or more points (all buckets in the first round) adds
/// its points pairwise into the front of its segment of `work`.
fn round(scratch: &mut Scratch, source: Source<'_>, first: bool) {
    scratch.items.clear();
    for b in 0..scratch.lens.len() {
        let len = scratch.lens[b];
        if len == 0 || (!first && len == 1) {
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
                flush(scratch, source);
            }
        }
        if len % 2 == 1 {
            scratch.items.push(Item {
                a: off + len - 1,
                b: COPY,
                bucket: b as u32,
            });
            if scratch.items.len() == BATCH {
                flush(scratch, source);
            }
        }
    }
    flush(scratch, source);
}

/// Finishes the pending additions: denominators, one inversion, results in order (in place:
/// a result is written at or before the positions of the operands still to be read).
fn flush(scratch: &mut Scratch, source: Source<'_>) {
    let Scratch {
        offsets,
        lens,
        work,
        items,
        ops,
        dens,
        prefix,
        ..
    } = scratch;
    if items.is_empty() {
        return;
    }
    ops.clear();
    dens.clear();
    prefix.clear();
    let mut acc = Fq::ONE;
    for item in items.iter() {
        let (op, den) = if item.b == COPY {
            (Op::Copy, Fq::ONE)
        } else {
            let a = operand(source, work, item.a);
            let b = operand(source, work, item.b);
            if a.x != b.x {
                (Op::Add, b.x - a.x)
            } else if a.y == b.y && !bool::from(a.y.is_zero()) {
                (Op::Double, a.y.double())
            } else {
                (Op::Vanish, Fq::ONE)
            }
        };
        ops.push(op);
        prefix.push(acc);
        if op == Op::Add || op == Op::Double {
            acc *= den;
        }
        dens.push(den);
    }
    // The product of non-zero field elements is non-zero: the inverse exists.
    let mut inv = acc.invert().unwrap_or(Fq::ZERO);
    for t in (0..items.len()).rev() {
        if ops[t] == Op::Add || ops[t] == Op::Double {
            let d = dens[t];
            dens[t] = inv * prefix[t];
            inv *= d;
        }
    }
    for (t, item) in items.iter().enumerate() {
        let a = operand(source, work, item.a);
        let sum = match ops[t] {
            Op::Copy => Some(a),
            Op::Vanish => None,
            Op::Add => {
                let b = operand(source, work, item.b);
                let lambda = (b.y - a.y) * dens[t];
                let x = lambda.square() - a.x - b.x;
                let y = lambda * (a.x - x) - a.y;
                Some(G1Affine { x, y })
            }
            Op::Double => {
                let xx = a.x.square();
                let lambda = (xx.double() + xx) * dens[t];
                let x = lambda.square() - a.x.double();
                let y = lambda * (a.x - x) - a.y;
                Some(G1Affine { x, y })
            }
        };
        if let Some(p) = sum {
            let b = item.bucket as usize;
            work[(offsets[b] + lens[b]) as usize] = p;
            lens[b] += 1;
        }
    }
    items.clear();
}
