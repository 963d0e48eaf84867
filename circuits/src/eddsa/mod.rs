//! EdDSA-Poseidon over Baby Jubjub as halo2-base chips (native side:
//! [`zkroll_engine::eddsa`] and [`zkroll_engine::babyjubjub`]).
//!
//! [`BabyJubjubChip`]: points in circomlib coordinates over the native field, with the
//! complete twisted Edwards addition `x3 = (x1 y2 + y1 x2) / (1 + d x1 x2 y1 y2)`,
//! `y3 = (y1 y2 - a x1 x2) / (1 - d x1 x2 y1 y2)` (each quotient a witness `q` constrained by
//! `q * den = num`; the denominators never vanish on the curve), on-curve checks, and
//! double-and-add scalar multiplication over constrained bits.
//!
//! [`EddsaChip::verify`] constrains exactly what `@zk-kit/eddsa-poseidon`'s `verifySignature`
//! checks: `R8` and `A` on the curve, `S < l` (S's bits compared with the subgroup order),
//! `hm = Poseidon(R8.x, R8.y, A.x, A.y, m)` decomposed into its canonical bits (compared with
//! the field modulus, so there is one decomposition), and `S * Base8 = R8 + hm * (8 * A)`.

use halo2_base::gates::{GateChip, GateInstructions};
use halo2_base::{AssignedValue, Context, QuantumCell::Constant};
use std::sync::OnceLock;

use crate::field::to_circuit;
use crate::poseidon::PoseidonChip;
use crate::Fr;

/// An assigned point (not constrained to the curve by itself; see
/// [`BabyJubjubChip::assert_on_curve`]).
#[derive(Debug, Clone, Copy)]
pub struct AssignedPoint {
    /// x coordinate.
    pub x: AssignedValue<Fr>,
    /// y coordinate.
    pub y: AssignedValue<Fr>,
}

/// Baby Jubjub arithmetic chip.
#[derive(Debug, Clone)]
pub struct BabyJubjubChip<'a> {
    gate: &'a GateChip<Fr>,
}

fn curve_a() -> Fr {
    Fr::from(zkroll_engine::babyjubjub::A)
}

fn curve_d() -> Fr {
    Fr::from(zkroll_engine::babyjubjub::D)
}

/// `2^i * Base8` for `i = 0..256`, in circuit coordinates.
fn base8_powers() -> &'static [(Fr, Fr)] {
    static POWERS: OnceLock<Vec<(Fr, Fr)>> = OnceLock::new();
    POWERS.get_or_init(|| {
        let mut p = zkroll_engine::babyjubjub::Point::base8();
        (0..256)
            .map(|_| {
                let out = (to_circuit(&p.x), to_circuit(&p.y));
                p = p.add(&p).unwrap_or(p);
                out
            })
            .collect()
    })
}

/// Little-endian 64-bit limbs as bits, least significant first.
fn constant_bits(limbs: &[u64; 4], count: usize) -> Vec<bool> {
    (0..count)
        .map(|i| (limbs[i / 64] >> (i % 64)) & 1 == 1)
        .collect()
}

impl<'a> BabyJubjubChip<'a> {
    /// A chip over `gate`.
    pub fn new(gate: &'a GateChip<Fr>) -> Self {
        Self { gate }
    }

    /// Assigns a point as witnesses.
    pub fn load(&self, ctx: &mut Context<Fr>, x: Fr, y: Fr) -> AssignedPoint {
        AssignedPoint {
            x: ctx.load_witness(x),
            y: ctx.load_witness(y),
        }
    }

    /// Both sides of the curve equation `a x^2 + y^2 = 1 + d x^2 y^2`.
    fn curve_sides(
        &self,
        ctx: &mut Context<Fr>,
        p: &AssignedPoint,
    ) -> (AssignedValue<Fr>, AssignedValue<Fr>) {
        let g = self.gate;
        let x2 = g.mul(ctx, p.x, p.x);
        let y2 = g.mul(ctx, p.y, p.y);
        let lhs = g.mul_add(ctx, x2, Constant(curve_a()), y2);
        let x2y2 = g.mul(ctx, x2, y2);
        let rhs = g.mul_add(ctx, x2y2, Constant(curve_d()), Constant(Fr::from(1u64)));
        (lhs, rhs)
    }

    /// Constrains `p` to the curve.
    pub fn assert_on_curve(&self, ctx: &mut Context<Fr>, p: &AssignedPoint) {
        let (lhs, rhs) = self.curve_sides(ctx, p);
        ctx.constrain_equal(&lhs, &rhs);
    }

    /// A bit that is 1 when `p` is on the curve.
    pub fn is_on_curve(&self, ctx: &mut Context<Fr>, p: &AssignedPoint) -> AssignedValue<Fr> {
        let (lhs, rhs) = self.curve_sides(ctx, p);
        self.gate.is_equal(ctx, lhs, rhs)
    }

    /// Completes an addition from the four cross products.
    fn finish_add(
        &self,
        ctx: &mut Context<Fr>,
        x1y2: AssignedValue<Fr>,
        y1x2: AssignedValue<Fr>,
        x1x2: AssignedValue<Fr>,
        y1y2: AssignedValue<Fr>,
    ) -> AssignedPoint {
        let g = self.gate;
        let tau = g.mul(ctx, x1x2, y1y2);
        let dtau = g.mul(ctx, tau, Constant(curve_d()));
        let num_x = g.add(ctx, x1y2, y1x2);
        let den_x = g.add(ctx, dtau, Constant(Fr::from(1u64)));
        let num_y = g.mul_add(ctx, x1x2, Constant(-curve_a()), y1y2);
        let den_y = g.sub(ctx, Constant(Fr::from(1u64)), dtau);
        AssignedPoint {
            x: g.div_unsafe(ctx, num_x, den_x),
            y: g.div_unsafe(ctx, num_y, den_y),
        }
    }

    /// `p + q`.
    pub fn add(
        &self,
        ctx: &mut Context<Fr>,
        p: &AssignedPoint,
        q: &AssignedPoint,
    ) -> AssignedPoint {
        let g = self.gate;
        let x1y2 = g.mul(ctx, p.x, q.y);
        let y1x2 = g.mul(ctx, p.y, q.x);
        let x1x2 = g.mul(ctx, p.x, q.x);
        let y1y2 = g.mul(ctx, p.y, q.y);
        self.finish_add(ctx, x1y2, y1x2, x1x2, y1y2)
    }

    /// `p + (qx, qy)` for a constant point.
    pub fn add_constant(
        &self,
        ctx: &mut Context<Fr>,
        p: &AssignedPoint,
        q: (Fr, Fr),
    ) -> AssignedPoint {
        let g = self.gate;
        let x1y2 = g.mul(ctx, p.x, Constant(q.1));
        let y1x2 = g.mul(ctx, p.y, Constant(q.0));
        let x1x2 = g.mul(ctx, p.x, Constant(q.0));
        let y1y2 = g.mul(ctx, p.y, Constant(q.1));
        self.finish_add(ctx, x1y2, y1x2, x1x2, y1y2)
    }

    /// `bit ? p : q`.
    pub fn select(
        &self,
        ctx: &mut Context<Fr>,
        bit: AssignedValue<Fr>,
        p: &AssignedPoint,
        q: &AssignedPoint,
    ) -> AssignedPoint {
        AssignedPoint {
            x: self.gate.select(ctx, p.x, q.x, bit),
            y: self.gate.select(ctx, p.y, q.y, bit),
        }
    }

    /// The identity `(0, 1)` as constants (cells fixed by copy constraints).
    pub fn identity(&self, ctx: &mut Context<Fr>) -> AssignedPoint {
        AssignedPoint {
            x: ctx.load_zero(),
            y: ctx.load_constant(Fr::from(1u64)),
        }
    }

    /// `k * p` for `k` given by constrained bits, least significant first.
    pub fn mul_bits(
        &self,
        ctx: &mut Context<Fr>,
        p: &AssignedPoint,
        bits: &[AssignedValue<Fr>],
    ) -> AssignedPoint {
        let mut acc = self.identity(ctx);
        let mut base = *p;
        for (i, bit) in bits.iter().enumerate() {
            let sum = self.add(ctx, &acc, &base);
            acc = self.select(ctx, *bit, &sum, &acc);
            if i + 1 < bits.len() {
                base = self.add(ctx, &base, &base);
            }
        }
        acc
    }

    /// `k * Base8` for `k` given by constrained bits (at most 256), with constant multiples.
    pub fn mul_base8_bits(
        &self,
        ctx: &mut Context<Fr>,
        bits: &[AssignedValue<Fr>],
    ) -> AssignedPoint {
        let mut acc = self.identity(ctx);
        for (bit, power) in bits.iter().zip(base8_powers()) {
            let sum = self.add_constant(ctx, &acc, *power);
            acc = self.select(ctx, *bit, &sum, &acc);
        }
        acc
    }

    /// `8 * p`.
    pub fn mul_by_cofactor(&self, ctx: &mut Context<Fr>, p: &AssignedPoint) -> AssignedPoint {
        let p2 = self.add(ctx, p, p);
        let p4 = self.add(ctx, &p2, &p2);
        self.add(ctx, &p4, &p4)
    }

    /// A bit that is 1 when `p` is the identity `(0, 1)`.
    pub fn is_identity(&self, ctx: &mut Context<Fr>, p: &AssignedPoint) -> AssignedValue<Fr> {
        let x_zero = self.gate.is_zero(ctx, p.x);
        let y_one = self.gate.is_equal(ctx, p.y, Constant(Fr::from(1u64)));
        self.gate.and(ctx, x_zero, y_one)
    }

    /// Constrains `bits` (least significant first, at most 256) to encode an integer
    /// `< bound`.
    pub fn assert_bits_below(
        &self,
        ctx: &mut Context<Fr>,
        bits: &[AssignedValue<Fr>],
        bound: &[u64; 4],
    ) {
        assert!(bits.len() <= 256, "at most 256 bits");
        let bound_bits = constant_bits(bound, 256);
        if bound_bits[bits.len()..].iter().any(|b| *b) {
            return; // every value of this width is below the bound
        }
        let g = self.gate;
        // From the most significant bit: `less` = already below, `equal` = equal so far.
        let mut less = ctx.load_zero();
        let mut equal = ctx.load_constant(Fr::from(1u64));
        for (bit, bound_bit) in bits.iter().zip(&bound_bits).rev() {
            let not_bit = g.not(ctx, *bit);
            if *bound_bit {
                let newly_below = g.and(ctx, equal, not_bit);
                less = g.or(ctx, less, newly_below);
                equal = g.and(ctx, equal, *bit);
            } else {
                equal = g.and(ctx, equal, not_bit);
            }
        }
        g.assert_is_const(ctx, &less, &Fr::from(1u64));
    }
}

/// An assigned signature.
#[derive(Debug, Clone, Copy)]
pub struct AssignedSignature {
    /// `R8`.
    pub r8: AssignedPoint,
    /// `S`.
    pub s: AssignedValue<Fr>,
}

/// EdDSA-Poseidon verification chip.
#[derive(Debug, Clone)]
pub struct EddsaChip<'a> {
    curve: BabyJubjubChip<'a>,
    poseidon: &'a PoseidonChip<'a>,
}

/// Bits of `S` (`l < 2^252`).
const S_BITS: usize = 252;
/// Bits of the challenge `hm` (`p < 2^254`).
const HM_BITS: usize = 254;

impl<'a> EddsaChip<'a> {
    /// A chip hashing with `poseidon`.
    pub fn new(poseidon: &'a PoseidonChip<'a>) -> Self {
        Self {
            curve: BabyJubjubChip::new(poseidon.gate()),
            poseidon,
        }
    }

    /// The curve chip.
    pub fn curve(&self) -> &BabyJubjubChip<'a> {
        &self.curve
    }

    /// Constrains: if `enabled` is 1, `signature` is a valid signature of `message` by `key`
    /// (exactly zk-kit's rule). `enabled` must be a constrained bit. Whatever `enabled`, the
    /// points must be on the curve and `S < l` (padding slots use the identity and `S = 0`).
    pub fn verify(
        &self,
        ctx: &mut Context<Fr>,
        enabled: AssignedValue<Fr>,
        message: AssignedValue<Fr>,
        key: &AssignedPoint,
        signature: &AssignedSignature,
    ) {
        let c = &self.curve;
        let g = c.gate;
        c.assert_on_curve(ctx, &signature.r8);
        c.assert_on_curve(ctx, key);
        let s_bits = g.num_to_bits(ctx, signature.s, S_BITS);
        c.assert_bits_below(ctx, &s_bits, &zkroll_engine::babyjubjub::subgroup_order().0);
        let hm = self.poseidon.hash(
            ctx,
            &[signature.r8.x, signature.r8.y, key.x, key.y, message],
        );
        let hm_bits = g.num_to_bits(ctx, hm, HM_BITS);
        let modulus = zkroll_engine::field::parse_u256(
            "0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001",
        )
        .unwrap_or_default();
        c.assert_bits_below(ctx, &hm_bits, &modulus);
        let left = c.mul_base8_bits(ctx, &s_bits);
        let key8 = c.mul_by_cofactor(ctx, key);
        let hm_key8 = c.mul_bits(ctx, &key8, &hm_bits);
        let right = c.add(ctx, &signature.r8, &hm_key8);
        for (l, r) in [(left.x, right.x), (left.y, right.y)] {
            let diff = g.sub(ctx, l, r);
            let gated = g.mul(ctx, diff, enabled);
            g.assert_is_const(ctx, &gated, &Fr::from(0u64));
        }
    }
}

#[cfg(test)]
mod tests;
