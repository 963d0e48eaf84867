//! Baby Jubjub, in the coordinates circomlib and `@zk-kit/baby-jubjub` use:
//! `168700 x^2 + y^2 = 1 + 168696 x^2 y^2` over the BN254 scalar field.
//!
//! Arithmetic is arkworks' (`ark-ed-on-bn254`), whose model of the same curve has `a = 1`:
//! the isomorphism `(x, y) -> (x * sqrt(168700), y)` maps circomlib points onto arkworks points
//! and preserves the group law, so sums and multiples agree exactly (checked against zk-kit's
//! vectors in the tests). Points here always carry circomlib coordinates.

use std::sync::OnceLock;

use ark_ec::{twisted_edwards::TECurveConfig, AffineRepr, CurveGroup};
use ark_ed_on_bn254::{EdwardsAffine, EdwardsConfig, EdwardsProjective};
use ark_ff::{BigInt, Field, PrimeField, Zero};
use serde::{Deserialize, Serialize};

use crate::field::{self, Fr};

/// Scalar field of the prime-order subgroup (order `l`, see [`subgroup_order`]).
pub type Scalar = ark_ed_on_bn254::Fr;

/// circomlib's `a`.
pub const A: u64 = 168700;
/// circomlib's `d`.
pub const D: u64 = 168696;

/// A point in circomlib coordinates. Not necessarily on the curve: check with
/// [`Point::is_on_curve`] before trusting one that came from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Point {
    /// x coordinate.
    #[serde(with = "field::serde_field")]
    pub x: Fr,
    /// y coordinate.
    #[serde(with = "field::serde_field")]
    pub y: Fr,
}

/// `sqrt(168700)` and its inverse: the scale between circomlib's and arkworks' x coordinates.
fn scale() -> &'static (Fr, Fr) {
    static SCALE: OnceLock<(Fr, Fr)> = OnceLock::new();
    SCALE.get_or_init(|| {
        // arkworks' model has d' = d / a; the scale is a square root of a.
        debug_assert_eq!(
            EdwardsConfig::COEFF_D * Fr::from(A),
            Fr::from(D),
            "arkworks Baby Jubjub is not circomlib's curve scaled"
        );
        let s = Fr::from(A).sqrt().unwrap_or_default();
        (s, s.inverse().unwrap_or_default())
    })
}

impl Point {
    /// The identity `(0, 1)`.
    pub const fn identity() -> Self {
        Self {
            x: ark_ff::MontFp!("0"),
            y: ark_ff::MontFp!("1"),
        }
    }

    /// circomlib's `Base8`, generator of the prime-order subgroup.
    pub fn base8() -> Self {
        Self {
            x: ark_ff::MontFp!(
                "5299619240641551281634865583518297030282874472190772894086521144482721001553"
            ),
            y: ark_ff::MontFp!(
                "16950150798460657717958625567821834550301663161624707787222815936182638968203"
            ),
        }
    }

    /// Whether `168700 x^2 + y^2 = 1 + 168696 x^2 y^2`.
    pub fn is_on_curve(&self) -> bool {
        let x2 = self.x.square();
        let y2 = self.y.square();
        Fr::from(A) * x2 + y2 == Fr::from(1u64) + Fr::from(D) * x2 * y2
    }

    /// The arkworks point; `None` when `self` is not on the curve.
    pub fn to_ark(&self) -> Option<EdwardsAffine> {
        let p = EdwardsAffine::new_unchecked(self.x * scale().0, self.y);
        p.is_on_curve().then_some(p)
    }

    /// The circomlib coordinates of an arkworks point.
    pub fn from_ark(p: &EdwardsAffine) -> Self {
        if p.is_zero() {
            return Self::identity();
        }
        Self {
            x: p.x * scale().1,
            y: p.y,
        }
    }

    /// `self + other` (the twisted Edwards law is complete on Baby Jubjub).
    /// `None` when either point is off the curve.
    pub fn add(&self, other: &Self) -> Option<Self> {
        let sum = self.to_ark()? + other.to_ark()?;
        Some(Self::from_ark(&sum.into_affine()))
    }

    /// `scalar * self` for an arbitrary little-endian multi-limb integer (not reduced modulo
    /// the subgroup order: keys may have a small-order component, and verification must
    /// multiply exactly as zk-kit does). `None` when `self` is off the curve.
    pub fn mul_limbs(&self, limbs: &[u64]) -> Option<Self> {
        let p = self.to_ark()?;
        Some(Self::from_ark(&p.mul_bigint(limbs).into_affine()))
    }

    /// circomlib's `packPoint`: y little-endian, the top bit set when x is "negative"
    /// (greater than `(p - 1) / 2`).
    pub fn pack(&self) -> [u8; 32] {
        let mut bytes = field::to_bytes_le(&self.y);
        if self.x.into_bigint() > Fr::MODULUS_MINUS_ONE_DIV_TWO {
            bytes[31] |= 0x80;
        }
        bytes
    }

    /// Inverse of [`Point::pack`]; `None` when y is not canonical or no x exists.
    pub fn unpack(bytes: &[u8; 32]) -> Option<Self> {
        let mut y_bytes = *bytes;
        let negative = y_bytes[31] & 0x80 != 0;
        y_bytes[31] &= 0x7f;
        let y: Fr = field::from_bytes_le(&y_bytes)?;
        let y2 = y.square();
        let x2 = (Fr::from(1u64) - y2) * (Fr::from(A) - Fr::from(D) * y2).inverse()?;
        let mut x = x2.sqrt()?;
        if (x.into_bigint() > Fr::MODULUS_MINUS_ONE_DIV_TWO) != negative {
            x = -x;
        }
        if negative && x.is_zero() {
            return None;
        }
        Some(Self { x, y })
    }
}

/// The order `l` of the prime-order subgroup generated by [`Point::base8`].
pub fn subgroup_order() -> BigInt<4> {
    Scalar::MODULUS
}

/// Fixed-base table for `Base8`: `TABLE[i][j] = j * 16^i * Base8`, 4-bit windows.
fn base8_table() -> &'static [[EdwardsAffine; 16]; 64] {
    static TABLE: OnceLock<Box<[[EdwardsAffine; 16]; 64]>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut table = Box::new([[EdwardsAffine::zero(); 16]; 64]);
        let mut base: EdwardsProjective =
            Point::base8().to_ark().map(Into::into).unwrap_or_default();
        for row in table.iter_mut() {
            let mut acc = EdwardsProjective::zero();
            let mut points = [EdwardsProjective::zero(); 16];
            for entry in points.iter_mut().skip(1) {
                acc += base;
                *entry = acc;
            }
            let affine = EdwardsProjective::normalize_batch(&points);
            row.copy_from_slice(&affine);
            base = acc + base; // 16 * base
        }
        table
    })
}

/// `scalar * Base8` for a 256-bit little-endian integer, with a precomputed table.
pub fn mul_base8(limbs: &[u64; 4]) -> Point {
    Point::from_ark(&mul_base8_projective(limbs).into_affine())
}

/// [`mul_base8`] without the conversion to affine coordinates.
pub fn mul_base8_projective(limbs: &[u64; 4]) -> EdwardsProjective {
    let table = base8_table();
    let mut acc = EdwardsProjective::zero();
    for (i, row) in table.iter().enumerate() {
        let nibble = (limbs[i / 16] >> ((i % 16) * 4)) & 0xf;
        if nibble != 0 {
            acc += row[nibble as usize];
        }
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base8_is_on_both_models_and_has_subgroup_order() {
        let b = Point::base8();
        assert!(b.is_on_curve());
        let ark = b.to_ark().expect("on curve");
        assert!(ark.is_in_correct_subgroup_assuming_on_curve());
        assert!(ark.mul_bigint(Scalar::MODULUS).is_zero());
    }

    #[test]
    fn off_curve_point_is_refused() {
        let mut b = Point::base8();
        b.y += Fr::from(1u64);
        assert!(!b.is_on_curve());
        assert!(b.to_ark().is_none());
        assert!(b.add(&Point::base8()).is_none());
    }

    #[test]
    fn fixed_base_matches_generic_multiplication() {
        let k = [
            0x0123_4567_89ab_cdef,
            0xfedc_ba98_7654_3210,
            7,
            0x0fff_ffff_ffff_ffff,
        ];
        assert_eq!(
            mul_base8(&k),
            Point::base8().mul_limbs(&k).expect("on curve")
        );
        assert_eq!(mul_base8(&[0; 4]), Point::identity());
    }

    #[test]
    fn pack_round_trips() {
        let p = mul_base8(&[12345, 0, 0, 0]);
        let neg = Point { x: -p.x, y: p.y };
        for q in [p, neg, Point::base8()] {
            assert_eq!(Point::unpack(&q.pack()), Some(q));
        }
    }
}
