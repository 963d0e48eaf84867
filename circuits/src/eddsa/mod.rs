//! EdDSA-Poseidon over Baby Jubjub as halo2-base chips (native side:
//! [`zkroll_engine::eddsa`] and [`zkroll_engine::babyjubjub`]).
//!
//! [`BabyJubjubChip`]: points in circomlib coordinates over the native field, with the
//! complete twisted Edwards addition `x3 = (x1 y2 + y1 x2) / (1 + d x1 x2 y1 y2)`,
//! `y3 = (y1 y2 - a x1 x2) / (1 - d x1 x2 y1 y2)` (each quotient a witness `q` constrained by
//! `q * den = num`; the denominators never vanish on the curve) and on-curve checks.
//!
//! [`EddsaChip::verify`] constrains exactly what `@zk-kit/eddsa-poseidon`'s `verifySignature`
//! checks: `R8` and `A` on the curve, `S < l`, `hm = Poseidon(R8.x, R8.y, A.x, A.y, m)` taken
//! by its canonical bits, and `S * Base8 = R8 + hm * (8 * A)`. The two scalar
//! multiplications run in the custom gates of [`crate::gates::edwards`], one bit per step:
//! - `S * Base8`: 252 steps whose running sum is copied to `S` (so `S < 2^252`), and
//!   `l - 1 - S` range-checked to 252 bits (so `S < l`);
//! - `hm * 8A`: three doubling-only steps (the cofactor), then hm's 254 bits; the running sum
//!   is tapped after the low 128 bits (`lo`) and at the end (`lo + hi`), `hm = lo + hi 2^128`
//!   is constrained, and `(hi, lo) < (p_hi, p_lo)` (the field modulus), so the bits are hm's
//!   canonical ones.

use halo2_base::gates::{GateChip, GateInstructions, RangeChip, RangeInstructions};
use halo2_base::halo2_proofs::halo2curves::ff::{Field, PrimeField};
use halo2_base::{AssignedValue, Context, QuantumCell::Constant};

use crate::field::{to_circuit, two_pow};
use crate::gates::edwards_rows::{binary_steps, curve_a, curve_d, integer_steps, Step};
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
    range: &'a RangeChip<Fr>,
}

/// Bits of `S` (`l < 2^252`).
const S_BITS: usize = 252;
/// Bits of the challenge `hm` (`p < 2^254`).
const HM_BITS: usize = 254;
/// hm's low bits, tapped apart from the high ones.
const HM_LOW_BITS: usize = 128;
/// Doubling-only steps before hm's bits: the cofactor 8.
const COFACTOR_STEPS: usize = 3;

/// The field modulus `p` as `(p >> 128, p mod 2^128)`.
fn modulus_halves() -> (Fr, Fr) {
    // p - 1 is the largest element; its halves plus one at the bottom are p's.
    let top = -Fr::ONE;
    let bytes = top.to_repr();
    let half = |range: std::ops::Range<usize>| {
        let mut b = [0u8; 32];
        b[..16].copy_from_slice(&bytes[range]);
        Fr::from_repr(b).unwrap_or(Fr::ZERO)
    };
    (half(16..32), half(0..16) + Fr::ONE)
}

impl<'a> EddsaChip<'a> {
    /// A chip hashing with `poseidon` (its scalar multiplications go to the same gate
    /// region) and range-checking with `range`.
    pub fn new(poseidon: &'a PoseidonChip<'a>, range: &'a RangeChip<Fr>) -> Self {
        Self {
            curve: BabyJubjubChip::new(poseidon.gate()),
            poseidon,
            range,
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
        let table = self.poseidon.table();
        c.assert_on_curve(ctx, &signature.r8);
        c.assert_on_curve(ctx, key);

        // S * Base8, with S < 2^252 from the bits and S < l from the range check.
        let left = table.fixed_base_mul(ctx, binary_steps(signature.s.value(), S_BITS), &[]);
        ctx.constrain_equal(&left.sums[0], &signature.s);
        let l = to_circuit(&zkroll_engine::Fr::from(
            zkroll_engine::babyjubjub::subgroup_order(),
        ));
        let gap = g.sub(ctx, Constant(l - Fr::ONE), signature.s);
        self.range.range_check(ctx, gap, S_BITS);

        // hm * 8A: the cofactor's doublings, then hm's bits, low half weighted 2^j and high
        // half 2^(j - 128), so the sum tapped after the low half is `lo` and the last `lo + hi`.
        let hm = self.poseidon.hash(
            ctx,
            &[signature.r8.x, signature.r8.y, key.x, key.y, message],
        );
        let product = table.variable_base_mul(
            ctx,
            (key.x, key.y),
            challenge_steps(&hm.value().to_bytes()),
            &[COFACTOR_STEPS + HM_LOW_BITS],
        );
        self.bind_challenge(ctx, hm, product.sums[0], product.sums[1]);
        let hm_key8 = AssignedPoint {
            x: product.x,
            y: product.y,
        };
        let right = c.add(ctx, &signature.r8, &hm_key8);
        for (l, r) in [(left.x, right.x), (left.y, right.y)] {
            let diff = g.sub(ctx, l, r);
            let gated = g.mul(ctx, diff, enabled);
            g.assert_is_const(ctx, &gated, &Fr::from(0u64));
        }
    }

    /// Constrains the bits of a multiplication by [`challenge_steps`] to be `hm`'s canonical
    /// bits, given its running sum after the low bits (`lo`) and at the end (`lo + hi`):
    /// `hm = lo + hi 2^128` and `(hi, lo) < (p_hi, p_lo)`.
    fn bind_challenge(
        &self,
        ctx: &mut Context<Fr>,
        hm: AssignedValue<Fr>,
        lo: AssignedValue<Fr>,
        total: AssignedValue<Fr>,
    ) {
        let g = self.curve.gate;
        let hi = g.sub(ctx, total, lo);
        let recomposed = g.mul_add(ctx, hi, Constant(two_pow(HM_LOW_BITS as u32)), lo);
        ctx.constrain_equal(&recomposed, &hm);
        // hi <= p_hi, and lo < p_lo when hi = p_hi.
        let (p_hi, p_lo) = modulus_halves();
        let hi_gap = g.sub(ctx, Constant(p_hi), hi);
        self.range.range_check(ctx, hi_gap, HM_BITS - HM_LOW_BITS);
        let top = g.is_equal(ctx, hi, Constant(p_hi));
        let lo_gap = g.sub(ctx, Constant(p_lo - Fr::ONE), lo);
        let lo_gap = g.mul(ctx, lo_gap, top);
        self.range.range_check(ctx, lo_gap, HM_LOW_BITS);
    }
}

/// The steps of `hm * 8A` for the challenge given as a little-endian integer (`< 2^254`):
/// the cofactor's three doubling-only steps, then its 254 bits, the low 128 weighted `2^j`
/// and the high ones `2^(j - 128)`, so the sum before step `3 + 128` is `lo` and the last is
/// `lo + hi`.
fn challenge_steps(repr: &[u8; 32]) -> Vec<Step> {
    let doublings = (0..COFACTOR_STEPS).map(|_| Step {
        bit: false,
        weight: Fr::ZERO,
        zero: true,
    });
    let bits = integer_steps(repr, HM_BITS)
        .into_iter()
        .enumerate()
        .map(|(j, step)| Step {
            weight: if j < HM_LOW_BITS {
                step.weight
            } else {
                two_pow((j - HM_LOW_BITS) as u32)
            },
            ..step
        });
    doublings.chain(bits).collect()
}

#[cfg(test)]
mod tests;
