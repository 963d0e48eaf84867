//! Gate-level tests: the custom Poseidon equals the engine's and poseidon-lite's, a Merkle path
//! in the gates equals the engine's, and MockProver rejects a changed cell of the region.

use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::gates::GateChip;
use halo2_base::halo2_proofs::dev::VerifyFailure;
use halo2_base::halo2_proofs::halo2curves::ff::Field;
use halo2_base::{AssignedValue, Context};
use proptest::prelude::*;

use super::testing::{self, run};
use super::*;
use super::{edwards_rows, rows, wide_rows};
use crate::field::{to_circuit, to_engine};
use crate::poseidon::PoseidonChip;

/// `Poseidon(a, b)` in the gates, constrained to equal `expected`.
fn hash_is(
    ctx: &mut Context<Fr>,
    gate: &GateChip<Fr>,
    paths: &GateTable,
    a: Fr,
    b: Fr,
    expected: Fr,
) {
    let chip = PoseidonChip::new(gate, paths);
    let a = ctx.load_witness(a);
    let b = ctx.load_witness(b);
    let out = chip.hash2(ctx, a, b);
    let expected = ctx.load_constant(expected);
    ctx.constrain_equal(&out, &expected);
}

fn engine_hash(a: Fr, b: Fr) -> Fr {
    to_circuit(&zkroll_engine::poseidon::hash2(
        to_engine(&a),
        to_engine(&b),
    ))
}

/// Every 2-input `poseidon-lite` vector of the engine's test file.
#[test]
fn gate_matches_poseidon_lite_vectors() {
    let mut seen = 0;
    for (inputs, out) in testing::poseidon_lite_cases() {
        let [a, b] = inputs[..] else {
            continue;
        };
        assert_eq!(
            run(8, None, |ctx, gate, paths| hash_is(
                ctx, gate, paths, a, b, out
            )),
            Ok(())
        );
        let wrong = run(8, None, |ctx, gate, paths| {
            hash_is(ctx, gate, paths, a, b, out + Fr::ONE)
        });
        assert!(wrong.is_err());
        seen += 1;
    }
    assert!(seen >= 3, "only {seen} vectors");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn gate_equals_the_engine_for_random_inputs(a in any::<[u64; 4]>(), b in any::<[u64; 4]>()) {
        let to_fr = |limbs: [u64; 4]| {
            limbs.iter().fold(Fr::ZERO, |acc, l| acc * Fr::from(1u64 << 32) * Fr::from(1u64 << 32) + Fr::from(*l))
        };
        let (a, b) = (to_fr(a), to_fr(b));
        let expected = engine_hash(a, b);
        let verdict = run(8, None, |ctx, gate, paths| hash_is(ctx, gate, paths, a, b, expected));
        prop_assert_eq!(verdict, Ok(()));
    }
}

/// A path of `bits.len()` levels from `leaf`, its root constrained to the engine's.
fn path_is(
    ctx: &mut Context<Fr>,
    paths: &GateTable,
    leaf: Fr,
    levels: &[(Fr, Fr)],
    expected_root: Fr,
) -> AssignedValue<Fr> {
    let leaf = ctx.load_witness(leaf);
    let cells: Vec<_> = levels
        .iter()
        .map(|(b, s)| (ctx.load_witness(*b), ctx.load_witness(*s)))
        .collect();
    let root = paths.path(ctx, leaf, &cells);
    let expected = ctx.load_constant(expected_root);
    ctx.constrain_equal(&root, &expected);
    root
}

fn engine_root(leaf: Fr, levels: &[(bool, Fr)]) -> Fr {
    levels.iter().fold(leaf, |node, (bit, sibling)| {
        if *bit {
            engine_hash(*sibling, node)
        } else {
            engine_hash(node, *sibling)
        }
    })
}

#[test]
fn a_path_in_the_gates_equals_the_engine() {
    let leaf = Fr::from(42u64);
    let levels = [
        (true, Fr::from(7u64)),
        (false, Fr::from(8u64)),
        (true, Fr::from(9u64)),
    ];
    let root = engine_root(leaf, &levels);
    let as_fr: Vec<_> = levels
        .iter()
        .map(|(b, s)| (Fr::from(u64::from(*b)), *s))
        .collect();
    assert_eq!(
        run(9, None, |ctx, _, paths| {
            path_is(ctx, paths, leaf, &as_fr, root);
        }),
        Ok(())
    );
    // The root of another leaf is refused.
    assert!(run(9, None, |ctx, _, paths| {
        path_is(ctx, paths, leaf + Fr::ONE, &as_fr, root);
    })
    .is_err());
}

#[test]
fn a_bit_that_is_not_a_bit_is_refused() {
    // bit = 2 laid out consistently (left = node + 2 (sibling - node)): only the link gate's
    // boolean constraint stands in the way.
    let leaf = Fr::from(3u64);
    let sibling = Fr::from(10u64);
    let bit = Fr::from(2u64);
    let left = leaf + bit * (sibling - leaf);
    let right = leaf + sibling - left;
    let root = engine_hash(left, right);
    let verdict = run(8, None, |ctx, _, paths| {
        path_is(ctx, paths, leaf, &[(bit, sibling)], root);
    });
    let failures = verdict.expect_err("a bit of 2 was accepted");
    assert!(
        failures
            .iter()
            .any(|f| format!("{f:?}").contains("merkle level link")),
        "{failures:?}"
    );
}

#[test]
fn a_swapped_sibling_is_refused() {
    // The first permutation row holds (0, left, right); swap them against bit 0.
    let leaf = Fr::from(3u64);
    let sibling = Fr::from(10u64);
    let (rows, _) = rows::path(leaf, &[(Fr::ZERO, sibling)]);
    assert_eq!(rows[1].advice[1], leaf);
    let verdict = run(8, Some((1, 1, sibling)), |ctx, _, paths| {
        let leaf = ctx.load_witness(leaf);
        let bit = ctx.load_zero();
        let sibling = ctx.load_witness(sibling);
        paths.path(ctx, leaf, &[(bit, sibling)]);
    });
    assert!(verdict.is_err());
}

/// Changes each assigned cell of `rows` (laid out from row 0) by +1 in turn, asserts that
/// `verdict` of the tampered layout is a failure, and returns how many cells were changed.
fn each_changed_cell_is_refused(
    rows: &[rows::Row],
    what: &str,
    verdict: impl Fn((usize, usize, Fr)) -> Result<(), Vec<VerifyFailure>>,
) -> usize {
    let mut checked = 0;
    for (r, row) in rows.iter().enumerate() {
        for c in (0..rows::ADVICE).filter(|c| rows::is_read(row.kind, r == 0, *c)) {
            assert!(
                verdict((r, c, row.advice[c] + Fr::ONE)).is_err(),
                "{what}: row {r} ({:?}) column {c} changed: accepted",
                row.kind
            );
            checked += 1;
        }
    }
    checked
}

#[test]
fn changing_any_cell_of_a_hash_is_refused() {
    let (a, b) = (Fr::from(1u64), Fr::from(2u64));
    let expected = engine_hash(a, b);
    let (rows, _) = rows::path(a, &[(Fr::ZERO, b)]);
    assert_eq!(rows.len(), rows::path_rows(1));
    let checked = each_changed_cell_is_refused(&rows, "hash", |tamper| {
        run(8, Some(tamper), |ctx, gate, paths| {
            hash_is(ctx, gate, paths, a, b, expected)
        })
    });
    // 8 full-round rows and the last double partial row of 6 cells, 11 blocks of five partial
    // rounds of 12, the link row's leaf, sibling and bit, the root row's state: every
    // assigned cell.
    assert_eq!(checked, 9 * 6 + 11 * 12 + 3 + 3);
    assert_eq!(checked, rows::path_cells(1));
}

/// `Poseidon(inputs)` (4 or 5 inputs) in the wide gates, constrained to equal `expected`.
fn wide_hash_is(ctx: &mut Context<Fr>, table: &GateTable, inputs: &[Fr], expected: Fr) {
    let cells: Vec<_> = inputs.iter().map(|v| ctx.load_witness(*v)).collect();
    let out = table.hash(ctx, &cells);
    let expected = ctx.load_constant(expected);
    ctx.constrain_equal(&out, &expected);
}

fn engine_wide_hash(inputs: &[Fr]) -> Fr {
    let inputs: Vec<_> = inputs.iter().map(to_engine).collect();
    to_circuit(&zkroll_engine::poseidon::hash(&inputs))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// The wide gates compute the engine's `Poseidon(4)` and `Poseidon(5)` for random inputs,
    /// and an output one off is refused.
    #[test]
    fn wide_gates_equal_the_engine_for_random_inputs(
        limbs in proptest::collection::vec(any::<[u64; 4]>(), 5),
        five in any::<bool>(),
    ) {
        let inputs: Vec<Fr> = limbs
            .iter()
            .take(if five { 5 } else { 4 })
            .map(|l| Fr::from_raw([l[0], l[1], l[2], l[3] >> 3]))
            .collect();
        let expected = engine_wide_hash(&inputs);
        let verdict = run(8, None, |ctx, _, table| wide_hash_is(ctx, table, &inputs, expected));
        prop_assert_eq!(verdict, Ok(()));
        let wrong = run(8, None, |ctx, _, table| {
            wide_hash_is(ctx, table, &inputs, expected + Fr::ONE)
        });
        prop_assert!(wrong.is_err(), "a wrong output accepted");
    }
}

/// Every `poseidon-lite` vector with 4 or 5 inputs, in the wide gates.
#[test]
fn wide_gates_match_poseidon_lite_vectors() {
    let mut seen = [0, 0];
    for (inputs, out) in testing::poseidon_lite_cases() {
        if !(4..=5).contains(&inputs.len()) {
            continue;
        }
        assert_eq!(
            run(8, None, |ctx, _, table| wide_hash_is(
                ctx, table, &inputs, out
            )),
            Ok(())
        );
        seen[inputs.len() - 4] += 1;
    }
    assert!(seen.iter().all(|n| *n >= 1), "vectors per width {seen:?}");
}

/// Changing any one assigned cell of a wide hash (a state cell, a square, a partial round's
/// `v` or `hv`, the output) makes MockProver fail, for both widths.
#[test]
fn changing_any_cell_of_a_wide_hash_is_refused() {
    for t in wide_rows::WIDE {
        let inputs: Vec<Fr> = (1..t as u64).map(|i| Fr::from(i * 7)).collect();
        let expected = engine_wide_hash(&inputs);
        let state: Vec<Fr> = std::iter::once(Fr::ZERO).chain(inputs.clone()).collect();
        let (rows, _) = wide_rows::permutation(&state);
        let checked = each_changed_cell_is_refused(&rows, &format!("width {t}"), |tamper| {
            run(8, Some(tamper), |ctx, _, table| {
                wide_hash_is(ctx, table, &inputs, expected)
            })
        });
        assert_eq!(checked, wide_rows::permutation_cells(t));
        // 8 full rounds of 2t cells; blocks of n partial rounds of t + 2n - 1 cells (the
        // state, h, then v and hv per further round); the output.
        let n = wide_rows::partial_rounds_per_block(t);
        assert_eq!(checked, 8 * 2 * t + (60 / n) * (t + 2 * n - 1) + t);
        let table = GateTable::new();
        let mut builder = BaseCircuitBuilder::<Fr>::new(false);
        let ctx = builder.main(0);
        wide_hash_is(ctx, &table, &inputs, expected);
        assert_eq!(table.cells(), checked);
        assert_eq!(table.rows(), 2 * 8 + 2 * 60 / n + 1);
    }
}

/// The gates' constraints (degree 4 with their selector) keep the circuit's degree, hence
/// the extended evaluation domain, and the blinding rows of halo2-base's chunk configuration.
#[test]
fn the_gates_keep_the_degree_and_the_blinding_rows() {
    use halo2_base::gates::circuit::{BaseCircuitParams, BaseConfig};
    use halo2_base::halo2_proofs::plonk::{Circuit, ConstraintSystem};
    let params = BaseCircuitParams {
        k: 12,
        num_advice_per_phase: vec![2],
        num_fixed: 1,
        num_lookup_advice_per_phase: vec![1],
        lookup_bits: Some(8),
        num_instance_columns: 1,
    };
    let mut base = ConstraintSystem::<Fr>::default();
    let _ = BaseConfig::configure(&mut base, params.clone());
    let mut gated = ConstraintSystem::<Fr>::default();
    let _ = GatedCircuit::configure_with_params(&mut gated, params);
    assert_eq!(gated.degree(), base.degree());
    assert_eq!(gated.minimum_rows(), base.minimum_rows());
}

/// `steps` times `Base8` (fixed) or times `Base8` loaded as a variable base, with the product
/// and the final running sum constrained to `expected` and `sum`.
fn mul_is(
    ctx: &mut Context<Fr>,
    table: &GateTable,
    variable: bool,
    steps: Vec<edwards_rows::Step>,
    expected: edwards_rows::Point,
    sum: Fr,
) {
    let product = if variable {
        let base = edwards_rows::base8_powers()[0];
        let x = ctx.load_witness(base.0);
        let y = ctx.load_witness(base.1);
        table.variable_base_mul(ctx, (x, y), steps, &[])
    } else {
        table.fixed_base_mul(ctx, steps, &[])
    };
    for (cell, value) in [
        (product.x, expected.0),
        (product.y, expected.1),
        (product.sums[0], sum),
    ] {
        let value = ctx.load_constant(value);
        ctx.constrain_equal(&cell, &value);
    }
}

fn engine_mul_base8(scalar: &Fr) -> edwards_rows::Point {
    let bytes = scalar.to_bytes();
    let limbs: [u64; 4] =
        std::array::from_fn(|i| u64::from_le_bytes(bytes[8 * i..8 * i + 8].try_into().expect("8")));
    let p = zkroll_engine::babyjubjub::mul_base8(&limbs);
    (to_circuit(&p.x), to_circuit(&p.y))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]
    /// Both multiplication gates compute the engine's `scalar * Base8` for random 252-bit
    /// scalars, and a product one off is refused.
    #[test]
    fn multiplication_gates_equal_the_engine(limbs in any::<[u64; 4]>(), variable in any::<bool>()) {
        let limbs = [limbs[0], limbs[1], limbs[2], limbs[3] >> 4];
        let scalar = Fr::from_raw(limbs);
        let expected = engine_mul_base8(&scalar);
        let steps = || edwards_rows::binary_steps(&scalar, 252);
        let right = run(10, None, |ctx, _, table| {
            mul_is(ctx, table, variable, steps(), expected, scalar)
        });
        prop_assert!(right.is_ok(), "refused: {:?}", right);
        let wrong = (expected.0 + Fr::ONE, expected.1);
        let wrong = run(10, None, |ctx, _, table| {
            mul_is(ctx, table, variable, steps(), wrong, scalar)
        });
        prop_assert!(wrong.is_err(), "a wrong product accepted");
    }
}

/// Changing any one assigned cell of a scalar multiplication (a bit, a helper product, an
/// accumulator, i.e. an addition with a wrong output, a doubled base, a running sum) makes
/// MockProver fail, for both gates; the variable one with a doubling-only step, whose bit
/// set to 1 is refused too.
#[test]
fn changing_any_cell_of_a_scalar_multiplication_is_refused() {
    let scalar = Fr::from(11u64);
    for variable in [false, true] {
        let mut steps = edwards_rows::binary_steps(&scalar, 4);
        let mut expected = engine_mul_base8(&scalar);
        if variable {
            steps.insert(
                0,
                edwards_rows::Step {
                    bit: false,
                    weight: Fr::ZERO,
                    zero: true,
                },
            );
            expected = engine_mul_base8(&Fr::from(22u64));
        }
        let rows = if variable {
            edwards_rows::variable_base(edwards_rows::base8_powers()[0], &steps).0
        } else {
            edwards_rows::fixed_base(&steps).0
        };
        assert!(run(8, None, |ctx, _, table| {
            mul_is(ctx, table, variable, steps.clone(), expected, scalar)
        })
        .is_ok());
        let what = if variable {
            "variable base"
        } else {
            "fixed base"
        };
        let checked = each_changed_cell_is_refused(&rows, what, |tamper| {
            run(8, Some(tamper), |ctx, _, table| {
                mul_is(ctx, table, variable, steps.clone(), expected, scalar)
            })
        });
        let cells = if variable { 10 * 5 + 5 } else { 6 * 4 + 3 };
        assert_eq!(checked, cells);
        let table = GateTable::new();
        let mut builder = BaseCircuitBuilder::<Fr>::new(false);
        let ctx = builder.main(0);
        mul_is(ctx, &table, variable, steps.clone(), expected, scalar);
        assert_eq!(table.cells(), cells);
    }
}
