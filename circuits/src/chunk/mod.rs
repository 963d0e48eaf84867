//! The chunk circuit: a fixed number of transaction slots cut from a batch trace, proving
//! that applying them to the public old root under the protocol rules gives the public new
//! root, and that they are the transactions the public commitment names.
//!
//! Public inputs (one instance column, in order): old root, new root, the batch's
//! transaction commitment before the chunk and after it ([`ChunkWitness::tx_commitment`]),
//! the fees pending (collected, not yet credited to the operator) before and after it.
//! Chunks continue one commitment chain and one pending-fee count, so consecutive chunks link
//! by roots, commitments and pending fees, and the batch's commitment is the same however it
//! is cut; aggregation requires no fees pending at either end of a batch. The chain
//! configuration (chain id, tree depth, operator index) and the slot count are constants of
//! the circuit.

mod constraints;
pub mod witness;

use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::gates::circuit::CircuitBuilderStage;
use halo2_base::gates::RangeChip;
use halo2_base::halo2_proofs::dev::{FailureLocation, MockProver, VerifyFailure};
use halo2_base::halo2_proofs::plonk::Any;

use crate::eddsa::EddsaChip;
use crate::field::to_circuit;
use crate::gates::GatedCircuit;
use crate::merkle::MerkleChip;
use crate::poseidon::PoseidonChip;
use crate::Fr;
use constraints::{SlotChips, SlotState};
pub use witness::{
    batch_binding, batch_commitment, chain_commitment, chain_evaluation, ChunkError, ChunkWitness,
    SlotWitness, UpdateWitness, CHUNK_PUBLIC_INPUTS,
};

/// Bits of the range-check lookup table.
pub const LOOKUP_BITS: usize = 8;

/// Which rule of which slot a range of advice cells (in layout order) constrains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// Slot index in the chunk.
    pub slot: usize,
    /// The rule, in words.
    pub rule: &'static str,
    /// First advice cell (offset in the main context).
    pub start: usize,
    /// One past the last.
    pub end: usize,
}

/// The chunk circuit: halo2-base's cells and the Poseidon/Merkle gate region.
pub type ChunkCircuit = GatedCircuit;

/// Lays out the whole chunk in `circuit` and registers the public inputs. Returns where
/// each slot's rules sit in the layout (halo2-base's main context; the gate region's jobs
/// are named through [`crate::gates::JobPlace::offset`]).
pub fn synthesize(circuit: &mut ChunkCircuit, witness: &ChunkWitness) -> Vec<Section> {
    let builder = &mut circuit.builder;
    builder.set_lookup_bits(LOOKUP_BITS);
    builder.set_instance_columns(1);
    let range: RangeChip<Fr> = builder.range_chip();
    let poseidon = PoseidonChip::new(&range.gate, &circuit.table);
    let merkle = MerkleChip::new(&poseidon);
    let eddsa = EddsaChip::new(&poseidon, &range);
    let chips = SlotChips {
        range: &range,
        poseidon: &poseidon,
        merkle: &merkle,
        eddsa: &eddsa,
    };
    let ctx = builder.main(0);
    let old_root = ctx.load_witness(to_circuit(&witness.old_root));
    let commitment_in = ctx.load_witness(to_circuit(&witness.commitment_in));
    let pending_in = ctx.load_witness(Fr::from(witness.pending_in));
    let point = ctx.load_witness(to_circuit(&witness.point));
    let evaluation_in = ctx.load_witness(to_circuit(&witness.evaluation_in));
    let mut state = SlotState {
        root: old_root,
        commitment: commitment_in,
        pending: pending_in,
        point,
        evaluation: evaluation_in,
    };
    let mut sections = Vec::new();
    for (i, slot) in witness.slots.iter().enumerate() {
        let mut marks = Vec::new();
        state = chips.slot(ctx, &witness.config, slot, state, &mut marks);
        let end = ctx.advice.len();
        for (k, (start, rule)) in marks.iter().enumerate() {
            let stop = marks.get(k + 1).map_or(end, |m| m.0);
            sections.push(Section {
                slot: i,
                rule,
                start: *start,
                end: stop,
            });
        }
    }
    builder.assigned_instances = vec![vec![
        old_root,
        state.root,
        commitment_in,
        state.commitment,
        pending_in,
        state.pending,
        point,
        evaluation_in,
        state.evaluation,
    ]];
    sections
}

/// Builds the circuit for `witness` at `k` rows (mock/keygen shape computed from it).
pub fn build(stage: CircuitBuilderStage, k: u32, witness: &ChunkWitness) -> ChunkCircuit {
    let mut circuit = GatedCircuit::new(BaseCircuitBuilder::from_stage(stage).use_k(k as usize));
    let _ = synthesize(&mut circuit, witness);
    circuit
        .builder
        .calculate_params(Some(crate::stats::UNUSABLE_ROWS));
    circuit
}

/// Names of the public inputs, in instance order.
pub const PUBLIC_INPUTS: [&str; CHUNK_PUBLIC_INPUTS] = [
    "old root",
    "new root",
    "transaction commitment before",
    "transaction commitment after",
    "fees pending before",
    "fees pending after",
    "pubdata binding point",
    "pubdata evaluation before",
    "pubdata evaluation after",
];

/// Runs halo2's `MockProver` on the chunk with its public inputs as the verifier computes
/// them (`instances`, or the witness's own when `None`). On failure, returns one line per
/// slot and rule that a failing constraint belongs to ("slot 2 (transfer, batch step 17):
/// signature"), then halo2's first failure.
pub fn mock_prove(
    k: u32,
    witness: &ChunkWitness,
    instances: Option<[zkroll_engine::Fr; CHUNK_PUBLIC_INPUTS]>,
) -> Result<(), Vec<String>> {
    let mut circuit = GatedCircuit::new(
        BaseCircuitBuilder::from_stage(CircuitBuilderStage::Mock).use_k(k as usize),
    );
    let sections = synthesize(&mut circuit, witness);
    circuit
        .builder
        .calculate_params(Some(crate::stats::UNUSABLE_ROWS));
    let instances = instances.unwrap_or_else(|| witness.public_inputs());
    let instance: Vec<Fr> = instances.iter().map(to_circuit).collect();
    let prover = MockProver::run(k, &circuit, vec![instance]).map_err(|e| vec![e.to_string()])?;
    let builder = &circuit.builder;
    let places = circuit.table.places();
    let Err(failures) = prover.verify() else {
        return Ok(());
    };
    // Main-context cell i sits in gate column c at row i - start(c), where each column
    // starts where the previous one broke (halo2-base's layout).
    let breaks = builder.break_points();
    let mut column_starts = vec![0usize];
    for b in breaks.first().map(Vec::as_slice).unwrap_or_default() {
        let last = *column_starts.last().unwrap_or(&0);
        column_starts.push(last + b);
    }
    let gate_columns = builder
        .config_params
        .num_advice_per_phase
        .first()
        .copied()
        .unwrap_or(0);
    let slot_rule = |o: usize| -> Option<String> {
        let s = sections.iter().rev().find(|s| s.start <= o)?;
        let kind = match witness.slots.get(s.slot)?.tx_type {
            1 => "deposit",
            2 => "transfer",
            3 => "withdraw",
            4 => "fee settlement",
            _ => "no-op",
        };
        Some(format!(
            "slot {} ({kind}, batch step {}): {}",
            s.slot,
            witness.start + s.slot,
            s.rule
        ))
    };
    // A row of the gate region names the rule its job was recorded for.
    let gate_row = |row: usize| -> Option<String> {
        let place = places.iter().find(|p| p.start <= row && row < p.end)?;
        slot_rule(place.offset)
    };
    let region_columns = (gate_columns
        + builder
            .config_params
            .num_lookup_advice_per_phase
            .first()
            .copied()
            .unwrap_or(0))..;
    let mut named: Vec<String> = Vec::new();
    for failure in &failures {
        let line = match failure {
            VerifyFailure::Permutation {
                column,
                location: FailureLocation::OutsideRegion { row },
            } => match column.column_type() {
                Any::Instance => PUBLIC_INPUTS
                    .get(*row)
                    .map(|name| format!("public input {row} ({name}) does not match the chunk")),
                Any::Advice(_) if column.index() < gate_columns => column_starts
                    .get(column.index())
                    .and_then(|start| slot_rule(start + row)),
                Any::Advice(_) if region_columns.contains(&column.index()) => gate_row(*row),
                _ => None,
            },
            VerifyFailure::ConstraintNotSatisfied { location, .. } => match location {
                FailureLocation::InRegion { offset, .. } => gate_row(*offset),
                FailureLocation::OutsideRegion { row } => gate_row(*row),
            },
            _ => None,
        };
        if let Some(line) = line {
            if !named.contains(&line) {
                named.push(line);
            }
        }
    }
    named.push(format!(
        "{} failing constraints; first: {}",
        failures.len(),
        failures[0]
    ));
    Err(named)
}

#[cfg(test)]
mod tests;
