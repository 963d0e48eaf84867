use crate::gates::testing;

use super::*;
use crate::field::to_circuit;

/// Every `poseidon-lite` vector (1 to 6 inputs), computed in the circuit (in halo2-base's
/// gate, and in the custom gates for 2, 4 and 5 inputs) and constrained to the expected
/// output.
#[test]
fn chip_matches_poseidon_lite() {
    let cases = testing::poseidon_lite_cases();
    testing::check(16, true, |ctx, gate, paths| {
        let chip = PoseidonChip::new(gate, paths);
        for (values, output) in &cases {
            let inputs: Vec<_> = values.iter().map(|v| ctx.load_witness(*v)).collect();
            let base = chip.hash_in_base_gate(ctx, &inputs);
            let out = chip.hash(ctx, &inputs);
            assert_eq!(*base.value(), *out.value());
            ctx.constrain_equal(&base, &out);
            assert_eq!(*out.value(), *output, "inputs {values:?}");
            let expected = ctx.load_constant(*output);
            ctx.constrain_equal(&out, &expected);
        }
    });
}

/// A wrong claimed output is rejected by the constraints.
#[test]
fn wrong_output_is_rejected() {
    testing::check(12, false, |ctx, gate, paths| {
        let chip = PoseidonChip::new(gate, paths);
        let a = ctx.load_witness(Fr::from(1u64));
        let b = ctx.load_witness(Fr::from(2u64));
        let out = chip.hash2(ctx, a, b);
        let native = zkroll_engine::poseidon::hash2(1u64.into(), 2u64.into());
        let wrong = ctx.load_constant(to_circuit(&native) + Fr::from(1u64));
        ctx.constrain_equal(&out, &wrong);
    });
}

/// Cells per hash, for the circuit statistics: halo2-base's gate against the custom gates
/// (the cells assigned in their region), for each width the circuits use.
#[test]
fn cells_per_hash() {
    testing::check(14, true, |ctx, gate, paths| {
        let chip = PoseidonChip::new(gate, paths);
        let a = ctx.load_witness(Fr::from(3u64));
        for (inputs, most) in [(2, 250), (4, 340), (5, 390)] {
            let before = ctx.advice.len();
            chip.hash_in_base_gate(ctx, &vec![a; inputs]);
            let cells = ctx.advice.len() - before;
            assert!(
                cells > 900 * inputs && cells < 1500 * inputs,
                "{cells} cells per {inputs}-input hash"
            );
            let before = ctx.advice.len() + paths.cells();
            chip.hash(ctx, &vec![a; inputs]);
            let gated = ctx.advice.len() + paths.cells() - before;
            assert!(
                gated < most,
                "{gated} cells per {inputs}-input hash in the gates"
            );
        }
    });
}
