//! Custom gates beside halo2-base's single `a + b * c = d` gate, and the circuit that holds both.
//!
//! - [`poseidon`]: circomlib's `Poseidon(2)` as round gates (one full round or two partial
//!   rounds per row, six advice columns, ~38 rows per hash);
//! - [`merkle`]: the link gate chaining Merkle levels in the same columns, and [`PathTable`],
//!   which records the paths the chips ask for during witness generation and lays them out;
//! - [`rows`]: the native side (constants and every row's values).
//!
//! [`GatedCircuit`] is halo2-base's [`BaseCircuitBuilder`] plus the gate region. Chips record
//! a path and get its root back as an ordinary halo2-base cell (a placeholder from halo2-base's
//! copy manager); at synthesis the region is laid out first and its cells are registered for
//! the placeholders, then halo2-base lays out its own cells and imposes every copy constraint,
//! between its cells and the region's included.

pub mod merkle;
pub mod poseidon;
pub mod rows;

use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::gates::circuit::{BaseCircuitParams, BaseConfig};
use halo2_base::halo2_proofs::circuit::{Layouter, SimpleFloorPlanner};
use halo2_base::halo2_proofs::plonk::{Circuit, ConstraintSystem, Error};

pub use merkle::{GateConfig, PathPlace, PathTable};

use crate::Fr;

/// halo2-base's builder and the custom gates' region, as one circuit.
pub struct GatedCircuit {
    /// halo2-base's cells.
    pub builder: BaseCircuitBuilder<Fr>,
    /// The paths laid out in the gate region.
    pub paths: PathTable,
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
            paths: PathTable::new(),
        }
    }

    /// Advice columns the gate region adds.
    pub const GATE_ADVICE_COLUMNS: usize = rows::ADVICE;

    /// Fixed columns the gate region adds (constants and selectors).
    pub const GATE_FIXED_COLUMNS: usize = rows::FIXED + 4;
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
        // The gates query two rows per column, which keeps halo2's blinding rows as they
        // were; set them again in case a later change adds queries.
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
            || "poseidon and merkle gates",
            |mut region| {
                self.paths
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
    use halo2_base::gates::GateChip;
    use halo2_base::halo2_proofs::dev::{MockProver, VerifyFailure};
    use halo2_base::Context;

    use super::{GatedCircuit, PathTable};
    use crate::Fr;

    /// Runs `f` in a gated circuit of `2^k` rows (halo2-base's gate, no lookups), with one
    /// region cell overwritten when `tamper` is set (`(row, advice column, value)`), and
    /// returns MockProver's verdict.
    pub fn run(
        k: u32,
        tamper: Option<(usize, usize, Fr)>,
        f: impl FnOnce(&mut Context<Fr>, &GateChip<Fr>, &PathTable),
    ) -> Result<(), Vec<VerifyFailure>> {
        let mut circuit = GatedCircuit::new(
            BaseCircuitBuilder::from_stage(CircuitBuilderStage::Mock).use_k(k as usize),
        );
        *circuit
            .paths
            .tamper
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = tamper;
        let gate = GateChip::default();
        f(circuit.builder.main(0), &gate, &circuit.paths);
        circuit.builder.calculate_params(Some(9));
        MockProver::run(k, &circuit, vec![])
            .expect("synthesis")
            .verify()
    }

    /// As [`run`] without tampering; panics unless the verdict is `expect_ok`.
    pub fn check(
        k: u32,
        expect_ok: bool,
        f: impl FnOnce(&mut Context<Fr>, &GateChip<Fr>, &PathTable),
    ) {
        let verdict = run(k, None, f);
        assert_eq!(verdict.is_ok(), expect_ok, "{verdict:?}");
    }
}

#[cfg(test)]
mod tests;
