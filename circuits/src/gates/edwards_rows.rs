//! The native side of the Edwards gates ([`super::edwards`]): Baby Jubjub arithmetic in the
//! circuit field and the cell values of every row of a scalar multiplication.
//!
//! A scalar multiplication is a list of [`Step`]s, least significant bit first. Step `i`
//! adds `bit_i * B_i` to an accumulator starting at the identity, where `B_i` is
//! `2^i * Base8` (fixed base, a constant of the row) or the variable base doubled `i` times;
//! and adds `bit_i * weight_i` to a running sum starting at 0, which ties the bits to the
//! scalar they spell.

use std::sync::OnceLock;

use halo2_base::halo2_proofs::halo2curves::ff::Field;

use super::rows::{Row, RowKind, ADVICE, FIXED};
use crate::field::to_circuit;
use crate::Fr;

/// An affine point `(x, y)` in circomlib coordinates.
pub type Point = (Fr, Fr);

/// The curve's `a`.
pub fn curve_a() -> Fr {
    Fr::from(zkroll_engine::babyjubjub::A)
}

/// The curve's `d`.
pub fn curve_d() -> Fr {
    Fr::from(zkroll_engine::babyjubjub::D)
}

/// The identity `(0, 1)`.
pub const IDENTITY: Point = (Fr::ZERO, Fr::ONE);

/// The complete twisted Edwards addition. A vanishing denominator (only possible off the
/// curve) gives 0 for that coordinate; the gates then refuse the row.
pub fn add(p: Point, q: Point) -> Point {
    let (x1, y1) = p;
    let (x2, y2) = q;
    let t = curve_d() * x1 * x2 * y1 * y2;
    let inv = |v: Fr| Option::<Fr>::from(v.invert()).unwrap_or(Fr::ZERO);
    (
        (x1 * y2 + y1 * x2) * inv(Fr::ONE + t),
        (y1 * y2 - curve_a() * x1 * x2) * inv(Fr::ONE - t),
    )
}

/// `2^i * Base8` for `i = 0..256`, in circuit coordinates.
pub fn base8_powers() -> &'static [Point] {
    static POWERS: OnceLock<Vec<Point>> = OnceLock::new();
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

/// One bit of a scalar multiplication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// The bit (a witness).
    pub bit: bool,
    /// What the bit adds to the running sum when set (a constant of the row).
    pub weight: Fr,
    /// The bit is constrained to 0 (variable base only: doublings without an addition, e.g.
    /// the cofactor).
    pub zero: bool,
}

/// `bit ? p : identity`.
fn chosen(bit: bool, p: Point) -> Point {
    if bit {
        p
    } else {
        IDENTITY
    }
}

fn bit_value(bit: bool) -> Fr {
    if bit {
        Fr::ONE
    } else {
        Fr::ZERO
    }
}

/// Rows of `steps` (at most 256) times `Base8`, one per step, then the end row; the product
/// and the running sum at each step's row and at the end.
///
/// Step row: `acc.x acc.y bit p q sum` with `p = acc.x * Q.x`, `q = acc.y * Q.y`,
/// `Q = bit ? 2^i Base8 : identity`; fixed `B.x B.y weight 0`. End row: `acc.x acc.y - - - sum`.
pub fn fixed_base(steps: &[Step]) -> (Vec<Row>, Point, Vec<Fr>) {
    let powers = base8_powers();
    let mut rows = Vec::with_capacity(steps.len() + 1);
    let mut sums = Vec::with_capacity(steps.len() + 1);
    let (mut acc, mut sum) = (IDENTITY, Fr::ZERO);
    for (step, base) in steps.iter().zip(powers) {
        let q = chosen(step.bit, *base);
        rows.push(Row {
            kind: RowKind::FixedBaseStep,
            advice: [
                acc.0,
                acc.1,
                bit_value(step.bit),
                acc.0 * q.0,
                acc.1 * q.1,
                sum,
            ],
            fixed: [base.0, base.1, step.weight, Fr::ZERO],
        });
        sums.push(sum);
        acc = add(acc, q);
        if step.bit {
            sum += step.weight;
        }
    }
    rows.push(end_row(RowKind::FixedBaseEnd, acc, IDENTITY, sum));
    sums.push(sum);
    (rows, acc, sums)
}

/// Rows of `steps` times `base`, two per step, then the end row; the product and the
/// running sum at each step's first row and at the end.
///
/// Step rows: `acc.x acc.y bit B.x B.y sum` (fixed `0 0 weight zero`), then
/// `p q pb qb - -` with `p = acc.x * Q.x`, `q = acc.y * Q.y` (`Q = bit ? B : identity`),
/// `pb = B.x^2`, `qb = B.y^2`. End row: `acc.x acc.y - B.x B.y sum`.
pub fn variable_base(base: Point, steps: &[Step]) -> (Vec<Row>, Point, Vec<Fr>) {
    let mut rows = Vec::with_capacity(2 * steps.len() + 1);
    let mut sums = Vec::with_capacity(steps.len() + 1);
    let (mut acc, mut b, mut sum) = (IDENTITY, base, Fr::ZERO);
    for step in steps {
        let q = chosen(step.bit, b);
        rows.push(Row {
            kind: RowKind::VariableBaseStep,
            advice: [acc.0, acc.1, bit_value(step.bit), b.0, b.1, sum],
            fixed: [Fr::ZERO, Fr::ZERO, step.weight, bit_value(step.zero)],
        });
        rows.push(Row {
            kind: RowKind::VariableBaseHelpers,
            advice: [
                acc.0 * q.0,
                acc.1 * q.1,
                b.0.square(),
                b.1.square(),
                Fr::ZERO,
                Fr::ZERO,
            ],
            fixed: [Fr::ZERO; FIXED],
        });
        sums.push(sum);
        acc = add(acc, q);
        b = add(b, b);
        if step.bit {
            sum += step.weight;
        }
    }
    rows.push(end_row(RowKind::VariableBaseEnd, acc, b, sum));
    sums.push(sum);
    (rows, acc, sums)
}

fn end_row(kind: RowKind, acc: Point, base: Point, sum: Fr) -> Row {
    let mut advice = [Fr::ZERO; ADVICE];
    advice[0] = acc.0;
    advice[1] = acc.1;
    advice[3] = base.0;
    advice[4] = base.1;
    advice[5] = sum;
    Row {
        kind,
        advice,
        fixed: [Fr::ZERO; FIXED],
    }
}

/// Rows of a fixed-base multiplication of `steps` steps.
pub fn fixed_base_rows(steps: usize) -> usize {
    steps + 1
}

/// Rows of a variable-base multiplication of `steps` steps.
pub fn variable_base_rows(steps: usize) -> usize {
    2 * steps + 1
}

/// Row (from the multiplication's first) holding the running sum before step `step`
/// (`step = steps`: the end row).
pub fn sum_row(variable: bool, step: usize) -> usize {
    if variable {
        2 * step
    } else {
        step
    }
}

/// The steps of a scalar's low `bits` bits, each weighted `2^i`.
pub fn binary_steps(scalar: &Fr, bits: usize) -> Vec<Step> {
    integer_steps(&scalar.to_bytes(), bits)
}

/// The steps of the low `bits` bits of a little-endian 256-bit integer, each weighted `2^i`.
pub fn integer_steps(repr: &[u8; 32], bits: usize) -> Vec<Step> {
    let mut weight = Fr::ONE;
    (0..bits)
        .map(|i| {
            let step = Step {
                bit: (repr[i / 8] >> (i % 8)) & 1 == 1,
                weight,
                zero: false,
            };
            weight = weight.double();
            step
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use zkroll_engine::babyjubjub::Point as EnginePoint;

    fn engine(p: &EnginePoint) -> Point {
        (to_circuit(&p.x), to_circuit(&p.y))
    }

    #[test]
    fn addition_matches_the_engine() {
        let b = EnginePoint::base8();
        let b2 = b.add(&b).expect("on the curve");
        let b3 = b2.add(&b).expect("on the curve");
        assert_eq!(add(engine(&b), engine(&b)), engine(&b2));
        assert_eq!(add(engine(&b2), engine(&b)), engine(&b3));
        assert_eq!(add(IDENTITY, engine(&b3)), engine(&b3));
    }

    #[test]
    fn multiplications_match_the_engine() {
        let scalar = Fr::from(0xdead_beef_u64) * Fr::from(0x1234_5678_9abc_u64);
        let bytes = scalar.to_bytes();
        let limbs: [u64; 4] = std::array::from_fn(|i| {
            u64::from_le_bytes(bytes[8 * i..8 * i + 8].try_into().expect("8 bytes"))
        });
        let expected = engine(&zkroll_engine::babyjubjub::mul_base8(&limbs));
        let steps = binary_steps(&scalar, 252);
        let (rows, product, sums) = fixed_base(&steps);
        assert_eq!(rows.len(), fixed_base_rows(252));
        assert_eq!(product, expected);
        assert_eq!(sums.last(), Some(&scalar));
        let (rows, product, sums) = variable_base(engine(&EnginePoint::base8()), &steps);
        assert_eq!(rows.len(), variable_base_rows(252));
        assert_eq!(product, expected);
        assert_eq!(sums.last(), Some(&scalar));
    }
}
