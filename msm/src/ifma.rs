//! Batch-affine point addition on AVX-512 IFMA: eight additions at a time, one per 64-bit
//! lane, field elements as five 52-bit limbs multiplied with `vpmadd52{lo,hi}uq`.
//!
//! Representation. halo2curves keeps an element `a` of Fq as the integer `aR mod p`
//! (`R = 2^256`). The vector multiplication is Montgomery's with `R' = 2^260`: it maps
//! integers `X, Y` to `X·Y·2^-260`, an exact multiplication of the values `φ(X) = X·2^-260`.
//! Read through `φ`, halo2curves' integer for `a` is `a·2^-4`: every input arrives scaled by
//! `s = 2^-4`, and the results must leave scaled by `s` too (then their integers are
//! halo2curves' integers, with no conversion either way). The slope `λ = (y2 - y1)/(x2 - x1)`
//! is a ratio of two `s`-scaled values, so it comes out unscaled; `y3 = λ(x1 - x3) - y1` keeps
//! the scale; only `x3 = λ^2 - x1 - x2` needs `s·λ^2`. So the batch inversion's lane
//! inverses are taken times `2^-2` (free: they come from the scalar side), giving
//! `μ = λ/4` for every slope: `μ^2 = s·λ^2`, and `y3 = μ·4(x1 - x3) - y1` (the 4 by two
//! additions). Six vector multiplications per addition in all, the batch inversion
//! included.
//!
//! Points move between halo2curves' `G1Affine` (eight 64-bit words: x then y, each the
//! little-endian limbs of its integer) and the vector limbs by loading eight points as eight
//! vectors and transposing them; that layout is checked once at run time against the
//! points' raw encoding, and the vector path is not used if it differs.
//!
//! Bounds. Limbs are below 2^52 between operations (the multiplier reads only 52 bits);
//! values are kept below `2p` after a multiplication and below `4p` after an addition or
//! subtraction (`p < 2^254`, so `4p · 4p < 2^260 · p` and a product lands below `2p`), and
//! are fully reduced below `p` before they leave.
//!
//! The AVX-512 instructions run only after [`available`] has seen the CPU support them; the
//! caller falls back to the scalar code otherwise.
#![allow(unsafe_code)]

use halo2_proofs::halo2curves::bn256::{Fq, G1Affine};
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::halo2curves::serde::SerdeObject;

const M52: u64 = (1 << 52) - 1;
/// Additions per vector.
pub const LANES: usize = 8;

/// Five 52-bit limbs of eight elements: `limbs[j][lane]`.
#[derive(Clone, Copy, Default)]
#[repr(C, align(64))]
struct Soa([[u64; LANES]; 5]);

/// Whether this CPU has AVX-512 F and IFMA (checked once).
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static HAS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *HAS.get_or_init(|| {
            std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512ifma")
                && layout_matches()
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Whether a `G1Affine` in memory is the eight words `x`'s integer limbs then `y`'s (what
/// the vector loads and stores assume), checked on a point.
fn layout_matches() -> bool {
    use halo2_proofs::halo2curves::group::Curve;
    const _: () = assert!(std::mem::size_of::<G1Affine>() == 64);
    let p = (G1Affine::generator() * halo2_proofs::halo2curves::bn256::Fr::from(5)).to_affine();
    let words = words_of(&p);
    let (x, y) = (raw(&p.x), raw(&p.y));
    words[..4] == x && words[4..] == y
}

/// The eight 64-bit words of a point's memory.
fn words_of(p: &G1Affine) -> [u64; 8] {
    // SAFETY: `G1Affine` is 64 bytes (asserted above) of two `Fq`, each four `u64`, with no
    // padding, and at least 8-byte aligned; every byte is initialised and any bit pattern is
    // a valid `[u64; 8]`. The read is unaligned-tolerant regardless.
    unsafe { std::ptr::read_unaligned((p as *const G1Affine).cast::<[u64; 8]>()) }
}

/// How an addition of the batch is done.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    /// Distinct x: the chord.
    Add,
    /// Equal points: the tangent.
    Double,
    /// `P + (-P)`: the point at infinity.
    Vanish,
}

/// The 52-bit limbs of a 256-bit integer below 2^260.
fn split(x: [u64; 4]) -> [u64; 5] {
    [
        x[0] & M52,
        (x[0] >> 52 | x[1] << 12) & M52,
        (x[1] >> 40 | x[2] << 24) & M52,
        (x[2] >> 28 | x[3] << 36) & M52,
        x[3] >> 16,
    ]
}

/// The 64-bit limbs of normalised 52-bit limbs of a value below 2^256.
fn join(l: [u64; 5]) -> [u64; 4] {
    [
        l[0] | l[1] << 52,
        l[1] >> 12 | l[2] << 40,
        l[2] >> 24 | l[3] << 28,
        l[3] >> 36 | l[4] << 16,
    ]
}

/// halo2curves' integer for `f` (its Montgomery form), read through its raw encoding.
fn raw(f: &Fq) -> [u64; 4] {
    let mut bytes = [0u8; 32];
    // Writing 32 bytes into a 32-byte slice cannot fail.
    let _ = f.write_raw(&mut &mut bytes[..]);
    let mut out = [0u64; 4];
    for (limb, b) in out.iter_mut().zip(bytes.chunks_exact(8)) {
        let mut word = [0u8; 8];
        word.copy_from_slice(b);
        *limb = u64::from_le_bytes(word);
    }
    out
}

/// The element whose halo2curves integer is `x` (`x < p`).
fn from_raw(x: [u64; 4]) -> Fq {
    let mut bytes = [0u8; 32];
    for (b, limb) in bytes.chunks_exact_mut(8).zip(x) {
        b.copy_from_slice(&limb.to_le_bytes());
    }
    Fq::from_raw_bytes_unchecked(&bytes)
}

/// Constants in 52-bit limbs, from halo2curves' field.
struct Constants {
    p: [u64; 5],
    p2: [u64; 5],
    /// `-p^-1 mod 2^52`.
    pinv: u64,
    /// The integer of 1 under `φ`: `2^260 mod p`.
    one: [u64; 5],
}

impl Constants {
    fn new() -> Self {
        let mut p = crate::fq_canonical(-Fq::ONE);
        p[0] += 1; // p - 1 is even: no carry.
        let p52 = split(p);
        let mut p2 = [0u64; 4];
        let mut carry = 0u64;
        for (d, s) in p2.iter_mut().zip(p) {
            *d = s << 1 | carry;
            carry = s >> 63;
        }
        let mut inv = 1u64;
        for _ in 0..6 {
            inv = inv.wrapping_mul(2u64.wrapping_sub(p52[0].wrapping_mul(inv)));
        }
        let two = Fq::from(2);
        Self {
            p: p52,
            p2: split(p2),
            pinv: inv.wrapping_neg() & M52,
            one: split(crate::fq_canonical(two.pow_vartime([260]))),
        }
    }

    fn get() -> &'static Self {
        static C: std::sync::OnceLock<Constants> = std::sync::OnceLock::new();
        C.get_or_init(Self::new)
    }
}

/// Reusable buffers of [`batch_add`].
#[derive(Default)]
pub struct Buffers {
    x1: Vec<Soa>,
    y1: Vec<Soa>,
    x2: Vec<Soa>,
    num: Vec<Soa>,
    den: Vec<Soa>,
    prefix: Vec<Soa>,
    /// The results, eight per vector (the last vector's tail unused).
    out: Vec<G1Affine>,
    /// Lanes whose slope's numerator and denominator come from the scalar side.
    patches: Vec<(usize, [u64; 5], [u64; 5])>,
}

fn put(soa: &mut [Soa], t: usize, limbs: [u64; 5]) {
    for (j, l) in limbs.into_iter().enumerate() {
        soa[t / LANES].0[j][t % LANES] = l;
    }
}

/// `sums[t] = left[t] + right[t]` (`None` for the point at infinity), as the scalar
/// `batch_add` does. Only call when [`available`] is true.
pub fn batch_add(
    left: &[G1Affine],
    right: &[G1Affine],
    kinds: &mut Vec<Kind>,
    buffers: &mut Buffers,
    sums: &mut Vec<Option<G1Affine>>,
) {
    assert!(
        available(),
        "AVX-512 IFMA batch addition on a CPU without it"
    );
    assert_eq!(left.len(), right.len());
    let k = Constants::get();
    let m = left.len();
    let vectors = m.div_ceil(LANES);
    let b = buffers;
    // Grown, never cleared: every lane that is read is written first, and the lanes past
    // the end get a harmless denominator below (their results are not read).
    for v in [
        &mut b.x1,
        &mut b.y1,
        &mut b.x2,
        &mut b.num,
        &mut b.den,
        &mut b.prefix,
    ] {
        if v.len() < vectors {
            v.resize(vectors, Soa::default());
        }
    }
    if b.out.len() < vectors * LANES {
        b.out.resize(
            vectors * LANES,
            G1Affine {
                x: Fq::ZERO,
                y: Fq::ZERO,
            },
        );
    }
    b.patches.clear();
    kinds.clear();
    let zero = [0u64; 5];
    for (t, (a, c)) in left.iter().zip(right).enumerate() {
        let kind = if a.x != c.x {
            Kind::Add
        } else if a.y == c.y && !bool::from(a.y.is_zero()) {
            Kind::Double
        } else {
            Kind::Vanish
        };
        kinds.push(kind);
        match kind {
            Kind::Add => {}
            // 3x^2 / 2y, both s-scaled like the chord's differences (halo2curves' integers).
            Kind::Double => {
                let xx = a.x.square();
                b.patches.push((
                    t,
                    split(raw(&(xx.double() + xx))),
                    split(raw(&a.y.double())),
                ));
            }
            Kind::Vanish => b.patches.push((t, zero, k.one)),
        }
    }
    // Lanes past the end: a harmless denominator of one.
    for t in m..vectors * LANES {
        b.patches.push((t, zero, k.one));
    }
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `available()` (asserted above) has seen AVX-512 F and IFMA on this CPU, the
    // target features `vector::run` is compiled for, and the point layout its loads and
    // stores assume.
    unsafe {
        vector::run(left, right, b, k, vectors)
    };
    sums.clear();
    sums.extend(kinds.iter().zip(&b.out).map(|(kind, p)| match kind {
        Kind::Vanish => None,
        _ => Some(*p),
    }));
}

#[cfg(target_arch = "x86_64")]
mod vector {
    use std::arch::x86_64::*;

    use super::{from_raw, join, put, raw, split, Buffers, Constants, Soa, LANES, M52};
    use halo2_proofs::halo2curves::bn256::{Fq, G1Affine};
    use halo2_proofs::halo2curves::ff::Field;

    type V = [__m512i; 5];

    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn load(s: &Soa) -> V {
        // SAFETY: `Soa` is 5 x 8 u64 (5 x 64 bytes); each row is read whole.
        std::array::from_fn(|j| unsafe { _mm512_loadu_si512(s.0[j].as_ptr().cast()) })
    }

    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn store(s: &mut Soa, v: V) {
        for (row, x) in s.0.iter_mut().zip(v) {
            // SAFETY: each row of `Soa` is 8 u64 = 64 bytes, written whole.
            unsafe { _mm512_storeu_si512(row.as_mut_ptr().cast(), x) };
        }
    }

    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn splat(l: [u64; 5]) -> V {
        l.map(|x| _mm512_set1_epi64(x as i64))
    }

    /// The transpose of an 8 x 8 matrix of 64-bit words (`rows[i]` lane `j` becomes
    /// `out[j]` lane `i`).
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    pub(super) fn transpose(r: [__m512i; 8]) -> [__m512i; 8] {
        let idx = |v: [i64; 8]| _mm512_set_epi64(v[7], v[6], v[5], v[4], v[3], v[2], v[1], v[0]);
        // Pairs of rows: words 0,2,4,6 and 1,3,5,7 interleaved.
        let t: [__m512i; 8] = std::array::from_fn(|i| {
            let (a, b) = (r[i & !1], r[i | 1]);
            if i % 2 == 0 {
                _mm512_unpacklo_epi64(a, b)
            } else {
                _mm512_unpackhi_epi64(a, b)
            }
        });
        // t[0] = r0w0 r1w0 r0w2 r1w2 r0w4 r1w4 r0w6 r1w6, t[1] the odd words; t[2], t[3] for
        // rows 2, 3; and so on. Quads of rows: words (0, 4), (2, 6), (1, 5), (3, 7).
        let lo = idx([0, 1, 8, 9, 4, 5, 12, 13]);
        let hi = idx([2, 3, 10, 11, 6, 7, 14, 15]);
        let u = [
            _mm512_permutex2var_epi64(t[0], lo, t[2]),
            _mm512_permutex2var_epi64(t[0], hi, t[2]),
            _mm512_permutex2var_epi64(t[1], lo, t[3]),
            _mm512_permutex2var_epi64(t[1], hi, t[3]),
            _mm512_permutex2var_epi64(t[4], lo, t[6]),
            _mm512_permutex2var_epi64(t[4], hi, t[6]),
            _mm512_permutex2var_epi64(t[5], lo, t[7]),
            _mm512_permutex2var_epi64(t[5], hi, t[7]),
        ];
        // u[0] = rows 0-3 word 0 | rows 0-3 word 4; u[1]: words 2 | 6; u[2]: 1 | 5; u[3]:
        // 3 | 7; u[4..8] the same for rows 4-7.
        let first = idx([0, 1, 2, 3, 8, 9, 10, 11]);
        let second = idx([4, 5, 6, 7, 12, 13, 14, 15]);
        let pick = |a: usize, second_half: bool| {
            let i = if second_half { second } else { first };
            _mm512_permutex2var_epi64(u[a], i, u[a + 4])
        };
        [
            pick(0, false),
            pick(2, false),
            pick(1, false),
            pick(3, false),
            pick(0, true),
            pick(2, true),
            pick(1, true),
            pick(3, true),
        ]
    }

    /// The 52-bit limbs of four 64-bit limbs, lane by lane.
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn split_v(c: &[__m512i]) -> V {
        let m = _mm512_set1_epi64(M52 as i64);
        let or_and = |a: __m512i, b: __m512i| _mm512_and_si512(_mm512_or_si512(a, b), m);
        [
            _mm512_and_si512(c[0], m),
            or_and(_mm512_srli_epi64(c[0], 52), _mm512_slli_epi64(c[1], 12)),
            or_and(_mm512_srli_epi64(c[1], 40), _mm512_slli_epi64(c[2], 24)),
            or_and(_mm512_srli_epi64(c[2], 28), _mm512_slli_epi64(c[3], 36)),
            _mm512_srli_epi64(c[3], 16),
        ]
    }

    /// The 64-bit limbs of normalised 52-bit limbs, lane by lane.
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn join_v(l: &V) -> [__m512i; 4] {
        [
            _mm512_or_si512(l[0], _mm512_slli_epi64(l[1], 52)),
            _mm512_or_si512(_mm512_srli_epi64(l[1], 12), _mm512_slli_epi64(l[2], 40)),
            _mm512_or_si512(_mm512_srli_epi64(l[2], 24), _mm512_slli_epi64(l[3], 28)),
            _mm512_or_si512(_mm512_srli_epi64(l[3], 36), _mm512_slli_epi64(l[4], 16)),
        ]
    }

    /// Eight points from `points[at..]` (fewer at the end: the rest of the lanes get the
    /// last point again) as (x, y) limbs.
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn load_points(points: &[G1Affine], at: usize) -> (V, V) {
        let last = points.len() - 1;
        let rows: [__m512i; 8] = std::array::from_fn(|i| {
            let p: *const G1Affine = &points[(at + i).min(last)];
            // SAFETY: a `G1Affine` is 64 bytes of initialised plain data (layout checked by
            // `available()`); an unaligned 64-byte load of it stays inside it.
            unsafe { _mm512_loadu_si512(p.cast()) }
        });
        let c = transpose(rows);
        (split_v(&c[..4]), split_v(&c[4..]))
    }

    /// Writes eight points (x, y limbs, fully reduced) to `out[at..at + 8]`.
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn store_points(out: &mut [G1Affine], at: usize, x: &V, y: &V) {
        let (jx, jy) = (join_v(x), join_v(y));
        let rows = transpose([jx[0], jx[1], jx[2], jx[3], jy[0], jy[1], jy[2], jy[3]]);
        for (i, row) in rows.into_iter().enumerate() {
            let p: *mut G1Affine = &mut out[at + i];
            // SAFETY: `out[at + i]` is a 64-byte `G1Affine` (layout checked by
            // `available()`); the store writes exactly it, with two integers below p (the
            // coordinates' valid range), so it stays a valid point encoding.
            unsafe { _mm512_storeu_si512(p.cast(), row) };
        }
    }

    /// Montgomery multiplication `a·b·2^-260 mod p` (below 2p for inputs below 4p).
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn mul(a: &V, b: &V, p: &V, pinv: __m512i) -> V {
        let z = _mm512_setzero_si512();
        let mut t = [z; 6];
        for bi in b {
            for j in 0..5 {
                t[j] = _mm512_madd52lo_epu64(t[j], a[j], *bi);
                t[j + 1] = _mm512_madd52hi_epu64(t[j + 1], a[j], *bi);
            }
            let m = _mm512_madd52lo_epu64(z, t[0], pinv);
            for j in 0..5 {
                t[j] = _mm512_madd52lo_epu64(t[j], m, p[j]);
                t[j + 1] = _mm512_madd52hi_epu64(t[j + 1], m, p[j]);
            }
            // The low limb is now a multiple of 2^52: shift by one limb.
            let carry = _mm512_srli_epi64(t[0], 52);
            t = [_mm512_add_epi64(t[1], carry), t[2], t[3], t[4], t[5], z];
        }
        normalize([t[0], t[1], t[2], t[3], t[4]])
    }

    /// Carries propagated so every limb but the top one is below 2^52 (signed limbs allowed
    /// on the way; the value is non-negative).
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn normalize(mut t: V) -> V {
        let mask = _mm512_set1_epi64(M52 as i64);
        for j in 0..4 {
            let carry = _mm512_srai_epi64(t[j], 52);
            t[j] = _mm512_and_si512(t[j], mask);
            t[j + 1] = _mm512_add_epi64(t[j + 1], carry);
        }
        t
    }

    /// `a + c - b - d` limb by limb, normalised (`c` an offset that keeps it non-negative).
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn add_sub(a: &V, c: &V, b: &V, d: Option<&V>) -> V {
        let mut t: V =
            std::array::from_fn(|j| _mm512_sub_epi64(_mm512_add_epi64(a[j], c[j]), b[j]));
        if let Some(d) = d {
            for j in 0..5 {
                t[j] = _mm512_sub_epi64(t[j], d[j]);
            }
        }
        normalize(t)
    }

    /// `4a`, normalised.
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn times4(a: &V) -> V {
        normalize(a.map(|x| _mm512_slli_epi64(x, 2)))
    }

    /// `x - c` where that is non-negative, else `x`.
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn cond_sub(x: &V, c: &V) -> V {
        let t = normalize(std::array::from_fn(|j| _mm512_sub_epi64(x[j], c[j])));
        let negative = _mm512_cmplt_epi64_mask(t[4], _mm512_setzero_si512());
        std::array::from_fn(|j| _mm512_mask_blend_epi64(negative, t[j], x[j]))
    }

    /// Fully reduced (below p) from below 4p.
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn reduce(x: &V, p: &V, p2: &V) -> V {
        cond_sub(&cond_sub(x, p2), p)
    }

    /// The vector part of `super::batch_add`: slopes, one batch inversion, results into
    /// `b.out`.
    #[target_feature(enable = "avx512f,avx512ifma")]
    pub(super) fn run(
        left: &[G1Affine],
        right: &[G1Affine],
        b: &mut Buffers,
        k: &Constants,
        vectors: usize,
    ) {
        let p = splat(k.p);
        let p2 = splat(k.p2);
        let pinv = _mm512_set1_epi64(k.pinv as i64);
        // Operands, and the chords' numerators and denominators (s-scaled, below 2p).
        for i in 0..vectors {
            let (x1, y1) = load_points(left, i * LANES);
            let (x2, y2) = load_points(right, i * LANES);
            store(&mut b.num[i], add_sub(&y2, &p, &y1, None));
            store(&mut b.den[i], add_sub(&x2, &p, &x1, None));
            store(&mut b.x1[i], x1);
            store(&mut b.y1[i], y1);
            store(&mut b.x2[i], x2);
        }
        for &(t, num, den) in &b.patches {
            put(&mut b.num, t, num);
            put(&mut b.den, t, den);
        }
        // Montgomery's trick, one chain per lane.
        let mut acc = splat(k.one);
        for i in 0..vectors {
            store(&mut b.prefix[i], acc);
            acc = mul(&acc, &load(&b.den[i]), &p, pinv);
        }
        // Invert the eight lane products on the scalar side (one inversion for all): the
        // lane integer V has value V·2^-260; its inverse's integer is 2^520/V, that is
        // halo2curves' integer of (element with integer V)^-1 times 2^8; times 2^-2 more
        // for μ = λ/4: 2^6.
        let mut lanes = Soa::default();
        store(&mut lanes, reduce(&acc, &p, &p2));
        let elements: [Fq; LANES] =
            std::array::from_fn(|l| from_raw(join(std::array::from_fn(|j| lanes.0[j][l]))));
        let mut below = [Fq::ONE; LANES];
        for l in 1..LANES {
            below[l] = below[l - 1] * elements[l - 1];
        }
        // The lane products are products of non-zero denominators: non-zero.
        let mut total = (below[LANES - 1] * elements[LANES - 1])
            .invert()
            .unwrap_or(Fq::ZERO)
            * Fq::from(64);
        let mut inverses = Soa::default();
        for l in (0..LANES).rev() {
            let limbs = split(raw(&(total * below[l])));
            for (j, limb) in limbs.into_iter().enumerate() {
                inverses.0[j][l] = limb;
            }
            total *= elements[l];
        }
        let mut inv = load(&inverses);
        for i in (0..vectors).rev() {
            let den = load(&b.den[i]);
            store(&mut b.den[i], mul(&inv, &load(&b.prefix[i]), &p, pinv));
            inv = mul(&inv, &den, &p, pinv);
        }
        // μ = λ/4; x3 = μ^2 - x1 - x2 (= s·λ^2 - ...), y3 = μ·4(x1 - x3) - y1, reduced.
        for i in 0..vectors {
            let x1 = load(&b.x1[i]);
            let mu = mul(&load(&b.num[i]), &load(&b.den[i]), &p, pinv);
            let square = mul(&mu, &mu, &p, pinv);
            let x3 = reduce(&add_sub(&square, &p2, &x1, Some(&load(&b.x2[i]))), &p, &p2);
            let diff = times4(&add_sub(&x1, &p, &x3, None));
            let y = mul(&mu, &diff, &p, pinv);
            let y3 = reduce(&add_sub(&y, &p, &load(&b.y1[i]), None), &p, &p2);
            store_points(&mut b.out, i * LANES, &x3, &y3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use halo2_proofs::halo2curves::bn256::{Fr, G1};
    use halo2_proofs::halo2curves::group::{Curve, Group};
    use rand::SeedableRng;

    #[test]
    fn limbs_round_trip() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        for _ in 0..100 {
            let f = Fq::random(&mut rng);
            assert_eq!(from_raw(join(split(raw(&f)))), f);
        }
        let k = Constants::new();
        assert_eq!(k.p[0].wrapping_mul(k.pinv) & M52, M52);
    }

    #[test]
    fn the_layout_check_holds_and_transpose_transposes() {
        if !available() {
            eprintln!("SKIPPED: this CPU has no AVX-512 IFMA (the scalar path is used)");
            return;
        }
        assert!(layout_matches());
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::*;
            let m: [[u64; 8]; 8] =
                std::array::from_fn(|i| std::array::from_fn(|j| (i * 8 + j) as u64));
            // SAFETY: AVX-512 F is present (`available()`); each load and store is of one
            // 64-byte row of `m` or `out`.
            unsafe {
                let rows: [__m512i; 8] =
                    std::array::from_fn(|i| _mm512_loadu_si512(m[i].as_ptr().cast()));
                let t = vector::transpose(rows);
                let mut out = [[0u64; 8]; 8];
                for (row, v) in out.iter_mut().zip(t) {
                    _mm512_storeu_si512(row.as_mut_ptr().cast(), v);
                }
                for i in 0..8 {
                    for j in 0..8 {
                        assert_eq!(out[j][i], m[i][j]);
                    }
                }
            }
        }
    }

    #[test]
    fn matches_projective_addition_with_doublings_and_cancellations() {
        if !available() {
            eprintln!("SKIPPED: this CPU has no AVX-512 IFMA (the scalar path is used)");
            return;
        }
        let mut rng = rand::rngs::StdRng::seed_from_u64(2);
        let g = G1::generator();
        for m in [1usize, 2, 7, 8, 9, 100, 1024] {
            let left: Vec<G1Affine> = (0..m)
                .map(|_| (g * Fr::random(&mut rng)).to_affine())
                .collect();
            let mut right: Vec<G1Affine> = (0..m)
                .map(|_| (g * Fr::random(&mut rng)).to_affine())
                .collect();
            // Some doublings and some P + (-P).
            for t in (0..m).step_by(5) {
                right[t] = left[t];
            }
            for t in (3..m).step_by(7) {
                right[t] = -left[t];
            }
            let (mut kinds, mut buffers, mut sums) = (Vec::new(), Buffers::default(), Vec::new());
            batch_add(&left, &right, &mut kinds, &mut buffers, &mut sums);
            for t in 0..m {
                let want = G1::from(left[t]) + right[t];
                match sums[t] {
                    Some(p) => assert_eq!(p, want.to_affine(), "m={m} t={t}"),
                    None => assert!(bool::from(want.is_identity()), "m={m} t={t}"),
                }
            }
        }
    }
}
