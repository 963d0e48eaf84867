//! Custom gates beside halo2-base's single `a + b * c = d` gate, and the circuit that holds both.
//!
//! - [`poseidon`]: circomlib's `Poseidon(2)` as round gates (a full round per row, the partial
//!   rounds in blocks; six advice columns, 31 rows per hash);
//! - [`poseidon_wide`]: block gates over two rows: a full round of `Poseidon(4)` or
//!   `Poseidon(5)`, and several partial rounds of any of the three widths (47 and 57 rows per
//!   `Poseidon(4)` and `Poseidon(5)`);
//! - [`merkle`]: the link gate chaining Merkle levels in the same columns;
//! - [`edwards`]: Baby Jubjub scalar multiplication, one bit per step (fixed base `Base8`
//!   and variable base), in the same columns;
//! - [`rows`], [`wide_rows`] and [`edwards_rows`]: the native side (constants and every row's
//!   values);
//! - [`table`]: [`GateTable`], which records the work the chips ask for during witness
//!   generation and lays it out.
//!
//! [`GatedCircuit`] is halo2-base's [`BaseCircuitBuilder`] plus the gate region. Chips record
//! a path or a multiplication and get its outputs back as ordinary halo2-base cells
//! (placeholders from halo2-base's copy manager); at synthesis the region is laid out first and
//! its cells are registered for the placeholders, then halo2-base lays out its own cells and
//! imposes every copy constraint, between its cells and the region's included.

pub mod edwards;
pub mod edwards_rows;
pub mod merkle;
pub mod poseidon;
pub mod poseidon_wide;
pub mod rows;
pub mod table;
pub mod wide_rows;

use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::gates::circuit::{BaseCircuitParams, BaseConfig};
use halo2_base::halo2_proofs::circuit::{Layouter, SimpleFloorPlanner};
use halo2_base::halo2_proofs::halo2curves::ff::Field;
use halo2_base::halo2_proofs::plonk::{Circuit, ConstraintSystem, Error, Expression};

pub use table::{GateConfig, GateTable, JobPlace, JobShape, Product};

use crate::Fr;

/// A constant as a gate expression.
pub(crate) fn constant(v: Fr) -> Expression<Fr> {
    Expression::Constant(v)
}

/// `bit (1 - bit)`: zero exactly when `bit` is 0 or 1.
pub(crate) fn boolean(bit: Expression<Fr>) -> Expression<Fr> {
    bit.clone() * (constant(Fr::ONE) - bit)
}

/// Each constraint multiplied by the gate's selector.
pub(crate) fn gated(
    selector: Expression<Fr>,
    constraints: impl IntoIterator<Item = Expression<Fr>>,
) -> Vec<Expression<Fr>> {
    constraints
        .into_iter()
        .map(|e| selector.clone() * e)
        .collect()
}

/// halo2-base's builder and the custom gates' region, as one circuit.
pub struct GatedCircuit {
    /// halo2-base's cells.
    pub builder: BaseCircuitBuilder<Fr>,
    /// The work laid out in the gate region.
    pub table: GateTable,
}

/// The circuit's configuration: halo2-base's and the gate region's.
#[derive(Debug, Clone)]
pub struct GatedConfig {
    /// halo2-base's columns.
    pub base: BaseConfig<Fr>,
    /// The gate region's columns and selectors.
    pub gates: GateConfig,
}

impl GatedCircuit {
    /// A circuit around `builder`, with an empty gate region.
    pub fn new(builder: BaseCircuitBuilder<Fr>) -> Self {
        Self {
            builder,
            table: GateTable::new(),
        }
    }

    /// Advice columns the gate region adds.
    pub const GATE_ADVICE_COLUMNS: usize = rows::ADVICE;

    /// Fixed columns the gate region adds (constants and its ten selectors: halo2-axiom's
    /// keygen does not compress selectors).
    pub const GATE_FIXED_COLUMNS: usize = rows::FIXED + 10;
}

impl Circuit<Fr> for GatedCircuit {
    type Config = GatedConfig;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = BaseCircuitParams;

    fn params(&self) -> Self::Params {
        self.builder.config_params.clone()
    }

    fn without_witnesses(&self) -> Self {
        // As halo2-base's builder: keys are made from a circuit with its witness (the layout
        // does not depend on the values).
        unimplemented!("GatedCircuit is always built with a witness")
    }

    fn configure_with_params(
        meta: &mut ConstraintSystem<Fr>,
        params: Self::Params,
    ) -> Self::Config {
        let k = params.k;
        let mut base = BaseConfig::configure(meta, params);
        let gates = GateConfig::configure(meta);
        // The gates query at most three rows per column (halo2-base's gate four), which keeps
        // halo2's blinding rows as they were; set them again in case a later change adds
        // queries.
        base.set_usable_rows((1usize << k) - meta.minimum_rows());
        GatedConfig { base, gates }
    }

    fn configure(_: &mut ConstraintSystem<Fr>) -> Self::Config {
        unreachable!("GatedCircuit is configured with its parameters")
    }

    fn synthesize(
        &self,
        config: Self::Config,
        mut layouter: impl Layouter<Fr>,
    ) -> Result<(), Error> {
        let k = self.builder.config_params.k as u32;
        let usable_rows = config.base.gate().max_rows;
        let copy = self.builder.core().copy_manager.clone();
        layouter.assign_region(
            || "poseidon, merkle and edwards gates",
            |mut region| {
                self.table
                    .assign(&config.gates, &mut region, &copy, usable_rows, k)
            },
        )?;
        self.builder.synthesize(config.base, layouter)
    }
}

/// MockProver runs of small gated circuits, for the chips' tests.
#[cfg(test)]
pub(crate) mod testing {
    use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
    use halo2_base::gates::circuit::CircuitBuilderStage;
    use halo2_base::gates::{GateChip, RangeChip};
    use halo2_base::halo2_proofs::dev::{MockProver, VerifyFailure};
    use halo2_base::Context;

    use super::{GateTable, GatedCircuit};
    use crate::Fr;

    /// Runs `f` in a gated circuit of `2^k` rows (halo2-base's gate, no lookups), with one
    /// region cell overwritten when `tamper` is set (`(row, advice column, value)`), and
    /// returns MockProver's verdict.
    pub fn run(
        k: u32,
        tamper: Option<(usize, usize, Fr)>,
        f: impl FnOnce(&mut Context<Fr>, &GateChip<Fr>, &GateTable),
    ) -> Result<(), Vec<VerifyFailure>> {
        run_with(k, None, tamper, |ctx, range, table| {
            f(ctx, &range.gate, table)
        })
    }

    /// As [`run`], with halo2-base's range chip over an 8-bit lookup table (`k >= 9`).
    pub fn run_range(
        k: u32,
        tamper: Option<(usize, usize, Fr)>,
        f: impl FnOnce(&mut Context<Fr>, &RangeChip<Fr>, &GateTable),
    ) -> Result<(), Vec<VerifyFailure>> {
        run_with(k, Some(8), tamper, f)
    }

    fn run_with(
        k: u32,
        lookup_bits: Option<usize>,
        tamper: Option<(usize, usize, Fr)>,
        f: impl FnOnce(&mut Context<Fr>, &RangeChip<Fr>, &GateTable),
    ) -> Result<(), Vec<VerifyFailure>> {
        let mut circuit = GatedCircuit::new(
            BaseCircuitBuilder::from_stage(CircuitBuilderStage::Mock).use_k(k as usize),
        );
        *circuit
            .table
            .tamper
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = tamper;
        let range = match lookup_bits {
            Some(bits) => {
                circuit.builder.set_lookup_bits(bits);
                circuit.builder.range_chip()
            }
            // A range chip whose lookups are never used: only its gate is handed out.
            None => RangeChip::new(8, circuit.builder.lookup_manager().clone()),
        };
        f(circuit.builder.main(0), &range, &circuit.table);
        circuit.builder.calculate_params(Some(9));
        MockProver::run(k, &circuit, vec![])
            .expect("synthesis")
            .verify()
    }

    /// A file of the engine's test vectors. The crate directory is read at run time first:
    /// a test binary reused from a build in another checkout (a shared target directory)
    /// would otherwise read that checkout's files.
    pub fn engine_vectors(name: &str) -> String {
        let dir = std::env::var("CARGO_MANIFEST_DIR")
            .unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into());
        format!("{dir}/../engine/tests/vectors/{name}")
    }

    /// Every case of the engine's `poseidon-lite` vectors: the inputs and the expected output,
    /// in the circuit field.
    pub fn poseidon_lite_cases() -> Vec<(Vec<Fr>, Fr)> {
        let text = std::fs::read_to_string(engine_vectors("poseidon.json")).expect("vectors file");
        let vectors: serde_json::Value = serde_json::from_str(&text).expect("vectors JSON");
        let parse = |v: &serde_json::Value| {
            crate::field::to_circuit(
                &zkroll_engine::field::fr_from_str(v.as_str().expect("string"))
                    .expect("field element"),
            )
        };
        vectors["cases"]
            .as_array()
            .expect("cases")
            .iter()
            .map(|case| {
                let inputs = case["inputs"].as_array().expect("inputs");
                (inputs.iter().map(parse).collect(), parse(&case["output"]))
            })
            .collect()
    }

    /// As [`run`] without tampering; panics unless the verdict is `expect_ok`.
    pub fn check(
        k: u32,
        expect_ok: bool,
        f: impl FnOnce(&mut Context<Fr>, &GateChip<Fr>, &GateTable),
    ) {
        let verdict = run(k, None, f);
        assert_eq!(verdict.is_ok(), expect_ok, "{verdict:?}");
    }
}

#[cfg(test)]
mod tests;
