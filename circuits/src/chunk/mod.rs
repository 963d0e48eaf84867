//! The chunk circuit: a fixed number of transaction slots cut from a batch trace, proving
//! that applying them to the public old root under the protocol rules gives the public new
//! root, and that they are the transactions the public commitment names.
//!
//! Public inputs (one instance column, in order): old root, new root, transaction
//! commitment ([`ChunkWitness::tx_commitment`]). The chain configuration (chain id, tree
//! depth, operator index) and the slot count are constants of the circuit.

mod constraints;
pub mod witness;

use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::gates::circuit::CircuitBuilderStage;
use halo2_base::gates::RangeChip;
use halo2_base::halo2_proofs::dev::MockProver;

use crate::eddsa::EddsaChip;
use crate::field::to_circuit;
use crate::merkle::MerkleChip;
use crate::poseidon::PoseidonChip;
use crate::Fr;
use constraints::SlotChips;
pub use witness::{ChunkError, ChunkWitness, SlotWitness, UpdateWitness};

/// Bits of the range-check lookup table.
pub const LOOKUP_BITS: usize = 8;

/// Lays out the whole chunk in `builder` and registers the public inputs.
pub fn synthesize(builder: &mut BaseCircuitBuilder<Fr>, witness: &ChunkWitness) {
    builder.set_lookup_bits(LOOKUP_BITS);
    builder.set_instance_columns(1);
    let range: RangeChip<Fr> = builder.range_chip();
    let poseidon = PoseidonChip::new(&range.gate);
    let merkle = MerkleChip::new(&poseidon);
    let eddsa = EddsaChip::new(&poseidon);
    let chips = SlotChips {
        range: &range,
        poseidon: &poseidon,
        merkle: &merkle,
        eddsa: &eddsa,
    };
    let ctx = builder.main(0);
    let old_root = ctx.load_witness(to_circuit(&witness.old_root));
    let mut root = old_root;
    let mut commitment = ctx.load_zero();
    for slot in &witness.slots {
        (root, commitment) = chips.slot(ctx, &witness.config, slot, root, commitment);
    }
    builder.assigned_instances = vec![vec![old_root, root, commitment]];
}

/// Builds the circuit for `witness` at `k` rows (mock/keygen shape computed from it).
pub fn build(stage: CircuitBuilderStage, k: u32, witness: &ChunkWitness) -> BaseCircuitBuilder<Fr> {
    let mut builder = BaseCircuitBuilder::from_stage(stage).use_k(k as usize);
    synthesize(&mut builder, witness);
    builder.calculate_params(Some(9));
    builder
}

/// Runs halo2's `MockProver` on the chunk with its public inputs as the verifier computes
/// them (`instances`, or the witness's own when `None`). Returns the failures, in words.
pub fn mock_prove(
    k: u32,
    witness: &ChunkWitness,
    instances: Option<[zkroll_engine::Fr; 3]>,
) -> Result<(), Vec<String>> {
    let builder = build(CircuitBuilderStage::Mock, k, witness);
    let instances = instances.unwrap_or_else(|| witness.public_inputs());
    let instance: Vec<Fr> = instances.iter().map(to_circuit).collect();
    let prover = MockProver::run(k, &builder, vec![instance]).map_err(|e| vec![e.to_string()])?;
    prover
        .verify()
        .map_err(|failures| failures.iter().map(|f| f.to_string()).collect())
}

#[cfg(test)]
mod tests;
