//! Real KZG proofs of the chunk circuit (SHPLONK, Poseidon transcript as snark-verifier
//! reads it, so the aggregation circuit can verify chunk proofs): key generation, proving
//! and native verification, with halo2's errors wrapped with the circuit and `k`.
//! The prover crate builds parameter files, key caching and parallel proving on top of this.

use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::gates::circuit::{BaseCircuitParams, CircuitBuilderStage};
use halo2_base::gates::flex_gate::MultiPhaseThreadBreakPoints;
use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, G1Affine};
use halo2_base::halo2_proofs::plonk::{
    keygen_pk, keygen_vk, verify_proof, ProvingKey, VerifyingKey,
};
use halo2_base::halo2_proofs::poly::commitment::{Params, ParamsProver};
use halo2_base::halo2_proofs::poly::kzg::commitment::{KZGCommitmentScheme, ParamsKZG};
use halo2_base::halo2_proofs::poly::kzg::multiopen::VerifierSHPLONK;
use halo2_base::halo2_proofs::poly::kzg::strategy::SingleStrategy;
use rand::rngs::OsRng;
use snark_verifier_sdk::halo2::{PoseidonTranscript, POSEIDON_SPEC};
use snark_verifier_sdk::NativeLoader;
use zkroll_msm::kzg::MsmParams;

use crate::chunk::{self, ChunkWitness};
use crate::field::to_circuit;
use crate::Fr;

/// A halo2 failure, with the circuit it concerns.
#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    /// Key generation failed.
    #[error("keygen of the chunk circuit at k={k}: {source}")]
    Keygen {
        /// Rows exponent.
        k: u32,
        /// halo2's error.
        #[source]
        source: halo2_base::halo2_proofs::plonk::Error,
    },
    /// Proving failed (for example a witness that does not satisfy the circuit).
    #[error("proving the chunk circuit at k={k}: {source}")]
    Prove {
        /// Rows exponent.
        k: u32,
        /// halo2's error.
        #[source]
        source: halo2_base::halo2_proofs::plonk::Error,
    },
    /// The proof does not verify.
    #[error("chunk proof does not verify: {0}")]
    Verify(#[source] halo2_base::halo2_proofs::plonk::Error),
}

/// What proving a chunk needs besides the witness: the proving key and the circuit's shape
/// fixed at key generation.
pub struct ChunkKeys {
    /// Proving key (holds the verifying key).
    pub pk: ProvingKey<G1Affine>,
    /// Columns and lookup bits chosen at key generation.
    pub config: BaseCircuitParams,
    /// Where the advice cells wrap between columns.
    pub break_points: MultiPhaseThreadBreakPoints,
}

impl ChunkKeys {
    /// The verifying key.
    pub fn vk(&self) -> &VerifyingKey<G1Affine> {
        self.pk.get_vk()
    }
}

/// A hash of the verifying key (halo2's transcript representation), as hex.
pub fn vk_hash(vk: &VerifyingKey<G1Affine>) -> String {
    zkroll_engine::field::to_hex(&crate::field::to_engine(&vk.transcript_repr()))
}

/// Generates the keys of the chunk circuit shaped like `shape` (any witness of the same
/// chunk size and chain configuration: the layout does not depend on the values).
pub fn keygen(params: &ParamsKZG<Bn256>, shape: &ChunkWitness) -> Result<ChunkKeys, ProofError> {
    let k = params.k();
    let circuit = chunk::build(CircuitBuilderStage::Keygen, k, shape);
    let vk = keygen_vk(params, &circuit).map_err(|source| ProofError::Keygen { k, source })?;
    let pk = keygen_pk(params, vk, &circuit).map_err(|source| ProofError::Keygen { k, source })?;
    Ok(ChunkKeys {
        pk,
        config: circuit.builder.config_params.clone(),
        break_points: circuit.builder.break_points(),
    })
}

/// Proves `witness` with the commitments on `params`' MSM backend; returns the proof bytes
/// (public inputs: [`ChunkWitness::public_inputs`]).
pub fn prove(
    params: &MsmParams,
    keys: &ChunkKeys,
    witness: &ChunkWitness,
) -> Result<Vec<u8>, ProofError> {
    let k = params.kzg().k();
    let mut circuit = chunk::ChunkCircuit::new(BaseCircuitBuilder::prover(
        keys.config.clone(),
        keys.break_points.clone(),
    ));
    chunk::synthesize(&mut circuit, witness);
    let instances: Vec<Fr> = witness.public_inputs().iter().map(to_circuit).collect();
    let mut transcript =
        PoseidonTranscript::<NativeLoader, Vec<u8>>::from_spec(vec![], POSEIDON_SPEC.clone());
    zkroll_msm::kzg::create_proof(
        params,
        &keys.pk,
        &[circuit],
        &[&[&instances]],
        OsRng,
        &mut transcript,
    )
    .map_err(|source| ProofError::Prove { k, source })?;
    Ok(transcript.finalize())
}

/// Verifies a chunk proof against its public inputs.
pub fn verify(
    params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    proof: &[u8],
    public_inputs: &[zkroll_engine::Fr; crate::chunk::CHUNK_PUBLIC_INPUTS],
) -> Result<(), ProofError> {
    let instances: Vec<Fr> = public_inputs.iter().map(to_circuit).collect();
    let mut transcript =
        PoseidonTranscript::<NativeLoader, &[u8]>::from_spec(proof, POSEIDON_SPEC.clone());
    verify_proof::<KZGCommitmentScheme<Bn256>, VerifierSHPLONK<'_, Bn256>, _, _, _>(
        params.verifier_params(),
        vk,
        SingleStrategy::new(params),
        &[&[&instances]],
        &mut transcript,
    )
    .map_err(ProofError::Verify)
}

/// Development parameters for tests: a fixed toxic waste, so never for production.
pub fn unsafe_test_params(k: u32) -> ParamsKZG<Bn256> {
    use rand::SeedableRng;
    ParamsKZG::<Bn256>::setup(k, rand_chacha::ChaCha20Rng::seed_from_u64(42))
}
