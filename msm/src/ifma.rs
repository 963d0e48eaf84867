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
//! the scale; only `x3 = λ^2 - x1 - x2` needs `s·λ^2 = λ·(λ·s)`, one multiplication by the
//! constant `s` (whose integer is `2^256 mod p`). Seven vector multiplications per addition
//! in all, the batch inversion included.
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
use halo2_proofs::halo2curves::ff::{Field, PrimeField};
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
        })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
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

fn canonical(x: Fq) -> [u64; 4] {
    let repr = x.to_repr();
    let mut out = [0u64; 4];
    for (limb, b) in out.iter_mut().zip(repr.as_ref().chunks_exact(8)) {
        let mut word = [0u8; 8];
        word.copy_from_slice(b);
        *limb = u64::from_le_bytes(word);
    }
    out
}

/// Constants in 52-bit limbs, from halo2curves' field.
struct Constants {
    p: [u64; 5],
    p2: [u64; 5],
    /// `-p^-1 mod 2^52`.
    pinv: u64,
    /// The integer of 1 under `φ`: `2^260 mod p`.
    one: [u64; 5],
    /// The integer of `s = 2^-4` under `φ`: `2^256 mod p`.
    s: [u64; 5],
}

impl Constants {
    fn new() -> Self {
        let mut p = canonical(-Fq::ONE);
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
            one: split(canonical(two.pow_vartime([260]))),
            s: split(canonical(two.pow_vartime([256]))),
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
    y2: Vec<Soa>,
    num: Vec<Soa>,
    den: Vec<Soa>,
    prefix: Vec<Soa>,
    /// Lanes whose slope's numerator and denominator come from the scalar side.
    patches: Vec<(usize, [u64; 5], [u64; 5])>,
}

fn put(soa: &mut [Soa], t: usize, limbs: [u64; 5]) {
    for (j, l) in limbs.into_iter().enumerate() {
        soa[t / LANES].0[j][t % LANES] = l;
    }
}

fn get(soa: &[Soa], t: usize) -> [u64; 5] {
    std::array::from_fn(|j| soa[t / LANES].0[j][t % LANES])
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
        &mut b.y2,
        &mut b.num,
        &mut b.den,
        &mut b.prefix,
    ] {
        if v.len() < vectors {
            v.resize(vectors, Soa::default());
        }
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
        put(&mut b.x1, t, split(raw(&a.x)));
        put(&mut b.y1, t, split(raw(&a.y)));
        put(&mut b.x2, t, split(raw(&c.x)));
        put(&mut b.y2, t, split(raw(&c.y)));
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
    // target features `vector::run` is compiled for.
    unsafe {
        vector::run(b, k, vectors)
    };
    sums.clear();
    for (t, kind) in kinds.iter().enumerate() {
        sums.push(match kind {
            Kind::Vanish => None,
            _ => Some(G1Affine {
                x: from_raw(join(get(&b.x1, t))),
                y: from_raw(join(get(&b.y1, t))),
            }),
        });
    }
}

#[cfg(target_arch = "x86_64")]
mod vector {
    use std::arch::x86_64::*;

    use super::{from_raw, join, put, raw, split, Buffers, Constants, Soa, LANES, M52};
    use halo2_proofs::halo2curves::bn256::Fq;
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

    /// The vector part of `super::batch_add`: slopes, one batch inversion, results written
    /// over `x1`/`y1`.
    #[target_feature(enable = "avx512f,avx512ifma")]
    pub(super) fn run(b: &mut Buffers, k: &Constants, vectors: usize) {
        let p = splat(k.p);
        let p2 = splat(k.p2);
        let pinv = _mm512_set1_epi64(k.pinv as i64);
        // Numerators and denominators of the chords (both s-scaled, below 2p).
        for i in 0..vectors {
            let num = add_sub(&load(&b.y2[i]), &p, &load(&b.y1[i]), None);
            let den = add_sub(&load(&b.x2[i]), &p, &load(&b.x1[i]), None);
            store(&mut b.num[i], num);
            store(&mut b.den[i], den);
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
        // halo2curves' integer of (element with integer V)^-1 times 2^8.
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
            * Fq::from(256);
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
        // x3 = s·λ^2 - x1 - x2 and y3 = λ(x1 - x3) - y1, s-scaled, reduced below p.
        let s = splat(k.s);
        for i in 0..vectors {
            let x1 = load(&b.x1[i]);
            let lambda = mul(&load(&b.num[i]), &load(&b.den[i]), &p, pinv);
            let lambda_s = mul(&lambda, &s, &p, pinv);
            let square = mul(&lambda, &lambda_s, &p, pinv);
            let x3 = reduce(&add_sub(&square, &p2, &x1, Some(&load(&b.x2[i]))), &p, &p2);
            let diff = add_sub(&x1, &p, &x3, None);
            let y = mul(&lambda, &diff, &p, pinv);
            let y3 = reduce(&add_sub(&y, &p, &load(&b.y1[i]), None), &p, &p2);
            store(&mut b.x1[i], x3);
            store(&mut b.y1[i], y3);
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
