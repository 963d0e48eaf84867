use crate::gates::testing;

use super::*;
use crate::field::to_circuit;
use zkroll_engine::babyjubjub::Point;
use zkroll_engine::eddsa::{PrivateKey, Signature};

struct Case {
    message: zkroll_engine::Fr,
    key: Point,
    r8: Point,
    s: Fr,
    enabled: bool,
}

fn signed() -> Case {
    let key = PrivateKey::from_bytes([5; 32]);
    let message = zkroll_engine::Fr::from(424242u64);
    let Signature { r8, s } = key.sign(message);
    let s = to_circuit(
        &zkroll_engine::field::from_bytes_le(&zkroll_engine::field::to_bytes_le(&s))
            .unwrap_or_default(),
    );
    Case {
        message,
        key: key.public_key().0,
        r8,
        s,
        enabled: true,
    }
}

fn run(case: Case, expect_ok: bool) {
    let verdict = testing::run_range(13, None, |ctx, range, table| {
        let gate = &range.gate;
        let poseidon = PoseidonChip::new(gate, table);
        let chip = EddsaChip::new(&poseidon, range);
        let curve = chip.curve();
        let key = curve.load(ctx, to_circuit(&case.key.x), to_circuit(&case.key.y));
        let r8 = curve.load(ctx, to_circuit(&case.r8.x), to_circuit(&case.r8.y));
        let s = ctx.load_witness(case.s);
        let message = ctx.load_witness(to_circuit(&case.message));
        let enabled = ctx.load_witness(Fr::from(case.enabled as u64));
        gate.assert_bit(ctx, enabled);
        chip.verify(ctx, enabled, message, &key, &AssignedSignature { r8, s });
    });
    assert_eq!(verdict.is_ok(), expect_ok, "{verdict:?}");
}

#[test]
fn valid_signature_verifies() {
    run(signed(), true);
}

#[test]
fn wrong_message_is_rejected() {
    let mut case = signed();
    case.message += zkroll_engine::Fr::from(1u64);
    run(case, false);
}

#[test]
fn signature_by_another_key_is_rejected() {
    let mut case = signed();
    case.key = PrivateKey::from_bytes([6; 32]).public_key().0;
    run(case, false);
}

#[test]
fn s_plus_subgroup_order_is_rejected() {
    // The same point equation holds for S + l; only the range check on S rejects it.
    let mut case = signed();
    let l = zkroll_engine::babyjubjub::subgroup_order();
    case.s += to_circuit(&zkroll_engine::Fr::from(l));
    run(case, false);
}

#[test]
fn point_off_the_curve_is_rejected() {
    let mut case = signed();
    case.r8.y += zkroll_engine::Fr::from(1u64);
    run(case, false);
}

#[test]
fn disabled_check_accepts_padding() {
    // Padding slots: identity points, S = 0, enabled = 0.
    run(
        Case {
            message: zkroll_engine::Fr::from(0u64),
            key: Point::identity(),
            r8: Point::identity(),
            s: Fr::from(0u64),
            enabled: false,
        },
        true,
    );
    // A bad signature is not checked when disabled, but enabling it fails.
    let mut case = signed();
    case.message += zkroll_engine::Fr::from(1u64);
    case.enabled = false;
    run(case, true);
}

/// zk-kit's cofactor case: a signature made for `A + T` (`T` of order 2) verifies, as it
/// does natively.
#[test]
fn key_with_small_order_component_matches_native() {
    let vectors = crate::gates::testing::engine_vectors("eddsa.json");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(vectors).expect("vectors")).expect("json");
    let parse = |s: &serde_json::Value| {
        zkroll_engine::field::fr_from_str(s.as_str().expect("string")).expect("field")
    };
    for case in v["signatures"].as_array().expect("array") {
        let label = case["label"].as_str().expect("label");
        if !label.contains("order-2") || !label.starts_with("made") {
            continue;
        }
        let s: Fr = match zkroll_engine::field::parse_field::<zkroll_engine::Fr>(
            case["s"].as_str().expect("s"),
        ) {
            Ok(s) => to_circuit(&s),
            Err(_) => continue,
        };
        let c = Case {
            message: parse(&case["message"]),
            key: Point {
                x: parse(&case["public_key"][0]),
                y: parse(&case["public_key"][1]),
            },
            r8: Point {
                x: parse(&case["r8"][0]),
                y: parse(&case["r8"][1]),
            },
            s,
            enabled: true,
        };
        run(c, case["valid"].as_bool().expect("bool"));
    }
}

/// The identity point the chunk circuit uses (padding keys, the "no key" case of deposits)
/// is made of constants: changing one of its cells fails. A point loaded as witnesses,
/// `load(0, 1)`, can be changed freely; its safety would rest on every use being gated.
#[test]
fn identity_cells_are_constants() {
    let tamper = |constant: bool, expect_ok: bool| {
        let verdict = testing::run_range(10, None, |ctx, range, table| {
            let poseidon = PoseidonChip::new(&range.gate, table);
            let chip = EddsaChip::new(&poseidon, range);
            let curve = chip.curve();
            let p = if constant {
                curve.identity(ctx)
            } else {
                curve.load(ctx, Fr::from(0u64), Fr::from(1u64))
            };
            for cell in [p.x.cell, p.y.cell] {
                let offset = cell.expect("assigned cell").offset;
                ctx.advice[offset] =
                    halo2_base::halo2_proofs::plonk::Assigned::Trivial(Fr::from(5u64));
            }
        });
        assert_eq!(verdict.is_ok(), expect_ok, "{verdict:?}");
    };
    tamper(false, true);
    tamper(true, false);
}

/// `repr + (p - 1) + 1`: the same residue as `repr`, as a 256-bit integer.
fn plus_modulus(repr: [u8; 32]) -> [u8; 32] {
    use halo2_base::halo2_proofs::halo2curves::ff::Field;
    let p_minus_one = (-Fr::ONE).to_bytes();
    let mut out = [0u8; 32];
    let mut carry = 1u16;
    for i in 0..32 {
        let v = repr[i] as u16 + p_minus_one[i] as u16 + carry;
        out[i] = v as u8;
        carry = v >> 8;
    }
    out
}

/// hm enters the multiplication by its bits: the bits of `hm + p` (same residue, below
/// 2^254 for a small hm) satisfy `hm = lo + hi 2^128` in the field, and only the comparison
/// with the modulus refuses them.
#[test]
fn challenge_bits_must_be_canonical() {
    let hm = Fr::from(5u64);
    let run = |repr: [u8; 32]| {
        testing::run_range(11, None, |ctx, range, table| {
            let poseidon = PoseidonChip::new(&range.gate, table);
            let chip = EddsaChip::new(&poseidon, range);
            let base = Point::base8();
            let key = chip
                .curve()
                .load(ctx, to_circuit(&base.x), to_circuit(&base.y));
            let product = table.variable_base_mul(
                ctx,
                (key.x, key.y),
                challenge_steps(&repr),
                &[COFACTOR_STEPS + HM_LOW_BITS],
            );
            let hm = ctx.load_witness(hm);
            chip.bind_challenge(ctx, hm, product.sums[0], product.sums[1]);
        })
    };
    assert!(run(hm.to_bytes()).is_ok());
    let other = plus_modulus(hm.to_bytes());
    assert!(other[31] < 0x40, "hm + p < 2^254");
    assert!(run(other).is_err(), "non-canonical bits accepted");
}
