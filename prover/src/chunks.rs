//! Proving a batch trace chunk by chunk, each proof written to its own file as soon as it is
//! done (atomically); proofs already on disk and valid are kept, so an interrupted run
//! loses nothing that finished.

use std::path::{Path, PathBuf};

use halo2_base::halo2_proofs::halo2curves::bn256::Bn256;
use halo2_base::halo2_proofs::poly::commitment::Params;
use halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use zkroll_circuits::chunk::ChunkWitness;
use zkroll_circuits::proof::{self, ChunkKeys};
use zkroll_engine::BatchTrace;

use zkroll_msm::kzg::MsmParams;

use crate::keys::{params_id, CIRCUIT_VERSION};
use crate::proof_file::{trace_id, ProofFile, ProofFormat, ProofSubject, PROOF_FILE_VERSION};

/// Why a chunk could not be proven.
#[derive(Debug, thiserror::Error)]
pub enum ChunkProofError {
    /// The chunk could not be cut from the trace.
    #[error("chunk {index}: {source}")]
    Witness {
        /// Chunk number.
        index: usize,
        /// Cause.
        #[source]
        source: zkroll_circuits::chunk::ChunkError,
    },
    /// halo2 failed.
    #[error("chunk {index}: {source}")]
    Prove {
        /// Chunk number.
        index: usize,
        /// Cause.
        #[source]
        source: proof::ProofError,
    },
    /// Writing the proof file failed.
    #[error("{path}: {source}")]
    Write {
        /// File.
        path: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
}

/// Number of chunks of `chunk_size` slots in `trace` (at least one).
pub fn chunk_count(trace: &BatchTrace, chunk_size: usize) -> usize {
    trace.steps.len().div_ceil(chunk_size).max(1)
}

/// The directory of the proofs of the trace `trace_id` cut into chunks of `chunk_size`
/// slots: `<data-dir>/proofs/<trace id>-chunk<size>`. The chunk size is in the name because
/// proofs of one trace cut two ways are two different trees (their `chunk-1` differ).
pub fn proofs_dir(data_dir: &Path, trace_id: &str, chunk_size: usize) -> PathBuf {
    data_dir
        .join("proofs")
        .join(format!("{trace_id}-chunk{chunk_size}"))
}

/// The proof file path of chunk `index` of `trace` cut into chunks of `chunk_size` slots
/// under `data_dir`, in `format`.
pub fn proof_path(
    data_dir: &Path,
    trace: &BatchTrace,
    chunk_size: usize,
    index: usize,
    format: ProofFormat,
) -> PathBuf {
    proofs_dir(data_dir, &trace_id(trace), chunk_size)
        .join(format!("chunk-{index}.{}", format.extension()))
}

/// Whether a valid proof of chunk `index` is already on disk.
pub fn existing_proof_is_valid(
    params: &ParamsKZG<Bn256>,
    keys: &ChunkKeys,
    trace: &BatchTrace,
    chunk_size: usize,
    index: usize,
    path: &Path,
) -> bool {
    let Ok(bytes) = std::fs::read(path) else {
        return false;
    };
    let Ok(file) = ProofFile::decode(&bytes) else {
        return false;
    };
    let Ok(witness) = ChunkWitness::from_trace(trace, index * chunk_size, chunk_size) else {
        return false;
    };
    file.chunk_instances() == Some(witness.public_inputs())
        && file.vk_hash == proof::vk_hash(keys.vk())
        && proof::verify(params, keys.vk(), &file.proof, &witness.public_inputs()).is_ok()
}

/// The pubdata of steps `start .. start + chunk_size` of `trace`.
pub fn chunk_pubdata(trace: &BatchTrace, start: usize, chunk_size: usize) -> Vec<u8> {
    let mut out = Vec::new();
    for step in trace.steps.iter().skip(start).take(chunk_size) {
        step.tx.write_pubdata(&mut out);
    }
    out
}

/// Proves chunk `index` (commitments on `params`' MSM backend) and writes its proof file in `format`; returns the path.
pub fn prove_chunk(
    data_dir: &Path,
    format: ProofFormat,
    params: &MsmParams,
    keys: &ChunkKeys,
    trace: &BatchTrace,
    chunk_size: usize,
    index: usize,
) -> Result<PathBuf, ChunkProofError> {
    let start = index * chunk_size;
    let witness = ChunkWitness::from_trace(trace, start, chunk_size)
        .map_err(|source| ChunkProofError::Witness { index, source })?;
    let bytes = proof::prove(params, keys, &witness)
        .map_err(|source| ChunkProofError::Prove { index, source })?;
    let file = ProofFile {
        version: PROOF_FILE_VERSION,
        zkroll_version: env!("CARGO_PKG_VERSION").into(),
        circuit_version: CIRCUIT_VERSION,
        chunk_size,
        config: trace.header.config,
        k: params.kzg().k(),
        params_id: params_id(params.kzg()),
        vk_hash: proof::vk_hash(keys.vk()),
        trace_id: trace_id(trace),
        subject: ProofSubject::Chunk { index, start },
        public_inputs: witness.public_inputs().to_vec(),
        pubdata: chunk_pubdata(trace, start, chunk_size),
        proof: bytes,
    };
    let path = proof_path(data_dir, trace, chunk_size, index, format);
    crate::fs::write_atomic(&path, &format.encode(&file)).map_err(|source| {
        ChunkProofError::Write {
            path: path.display().to_string(),
            source,
        }
    })?;
    Ok(path)
}
