//! Versioned proof files: the proof with everything needed to check it and to know what it
//! proves. Two encodings: JSON (readable) and binary (`ZKRP`, version, postcard body).
//! Decoding never panics, whatever the bytes.

use serde::{Deserialize, Serialize};
use zkroll_circuits::chunk::CHUNK_PUBLIC_INPUTS;
use zkroll_engine::field::serde_field_vec;
use zkroll_engine::{ChainConfig, Fr};

/// Version of the proof file format.
pub const PROOF_FILE_VERSION: u32 = 3;

/// Magic bytes of the binary encoding.
pub const BINARY_MAGIC: &[u8; 4] = b"ZKRP";

/// What a proof proves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProofSubject {
    /// One chunk of a batch (chunk circuit; public inputs: `zkroll_circuits::chunk::PUBLIC_INPUTS`).
    Chunk {
        /// Chunk number in the batch.
        index: usize,
        /// First trace step of the chunk.
        start: usize,
    },
    /// Consecutive chunks of a batch, aggregated (aggregation circuit; public inputs: the
    /// 12 limbs of the KZG accumulator, then the link of the span, see
    /// `zkroll_aggregator::circuit`).
    Aggregation {
        /// Layer in the aggregation tree (1: aggregates chunk proofs).
        layer: u32,
        /// Node number in its layer.
        index: usize,
        /// First chunk covered.
        first_chunk: usize,
        /// Number of chunks covered.
        chunks: usize,
        /// Whether the transcript is Keccak (the final proof, for the EVM) rather than
        /// Poseidon (a proof a further layer aggregates).
        evm: bool,
    },
}

/// A proof and its context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofFile {
    /// Format version ([`PROOF_FILE_VERSION`]).
    pub version: u32,
    /// zkroll version that wrote it.
    pub zkroll_version: String,
    /// Circuit version ([`crate::keys::CIRCUIT_VERSION`]).
    pub circuit_version: u32,
    /// What it proves.
    pub subject: ProofSubject,
    /// Transaction slots of the chunk circuit (of the chunks aggregated, for aggregation).
    pub chunk_size: usize,
    /// Chain configuration (constants of the circuit).
    pub config: ChainConfig,
    /// Rows exponent.
    pub k: u32,
    /// Parameters the proof was made with ([`crate::keys::params_id`]).
    pub params_id: String,
    /// Hash of the verifying key.
    pub vk_hash: String,
    /// The batch trace it belongs to (see [`trace_id`]).
    pub trace_id: String,
    /// Public inputs, in instance order (see [`ProofSubject`]).
    #[serde(with = "serde_field_vec")]
    pub public_inputs: Vec<Fr>,
    /// Pubdata of the transactions the proof covers (docs/protocol.md, "Pubdata"): a chunk's
    /// own, the concatenation of its chunks' for an aggregation proof. With a final proof,
    /// what L1 receives (`Rollup.submitBatch`), bound to the proof by its last two public
    /// inputs.
    #[serde(with = "zkroll_engine::field::serde_hex_bytes")]
    pub pubdata: Vec<u8>,
    /// The proof (SHPLONK; Poseidon transcript, Keccak for a final EVM proof).
    #[serde(with = "zkroll_engine::field::serde_hex_bytes")]
    pub proof: Vec<u8>,
}

/// Why proof file bytes do not decode.
#[derive(Debug, thiserror::Error)]
pub enum ProofFileError {
    /// Malformed JSON or a field of the wrong shape.
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    /// Malformed binary body.
    #[error("binary proof file: {0}")]
    Binary(#[from] postcard::Error),
    /// Neither encoding.
    #[error("not a zkroll proof file (no JSON object, no ZKRP magic)")]
    UnknownFormat,
    /// Another format version.
    #[error("proof file version {0} is not supported (expected {PROOF_FILE_VERSION})")]
    Version(u32),
}

/// Identifies a batch trace by its roots and pubdata: `Poseidon(old_root, new_root,
/// Poseidon-chain of the pubdata in 31-byte words)` as hex.
pub fn trace_id(trace: &zkroll_engine::BatchTrace) -> String {
    use zkroll_engine::poseidon::hash;
    let data = trace.header.pubdata.chunks(31).fold(
        Fr::from(trace.header.pubdata.len() as u64),
        |acc, chunk| {
            let mut bytes = [0u8; 32];
            bytes[..chunk.len()].copy_from_slice(chunk);
            hash(&[
                acc,
                zkroll_engine::field::from_bytes_le(&bytes).unwrap_or_default(),
            ])
        },
    );
    zkroll_engine::field::to_hex(&hash(&[trace.header.old_root, trace.header.new_root, data]))
}

/// How a proof file is encoded on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProofFormat {
    /// Pretty JSON (`.json`), readable, about 2.7x the binary size.
    #[default]
    Json,
    /// `ZKRP` magic, version, postcard body (`.zkrp`).
    Binary,
}

impl ProofFormat {
    /// File name extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            ProofFormat::Json => "json",
            ProofFormat::Binary => "zkrp",
        }
    }

    /// Encodes `file` in this format.
    pub fn encode(self, file: &ProofFile) -> Vec<u8> {
        match self {
            ProofFormat::Json => file.to_json().into_bytes(),
            ProofFormat::Binary => file.to_binary(),
        }
    }
}

impl ProofFile {
    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Binary: magic, version (u32 LE), postcard body.
    pub fn to_binary(&self) -> Vec<u8> {
        let mut out = BINARY_MAGIC.to_vec();
        out.extend_from_slice(&PROOF_FILE_VERSION.to_le_bytes());
        out.extend_from_slice(&postcard::to_stdvec(self).unwrap_or_default());
        out
    }

    /// Decodes either encoding; checks the version.
    pub fn decode(bytes: &[u8]) -> Result<Self, ProofFileError> {
        let file: Self = if let Some(rest) = bytes.strip_prefix(BINARY_MAGIC) {
            let version = rest
                .get(..4)
                .map(|v| u32::from_le_bytes([v[0], v[1], v[2], v[3]]))
                .ok_or(ProofFileError::Binary(
                    postcard::Error::DeserializeUnexpectedEnd,
                ))?;
            if version != PROOF_FILE_VERSION {
                return Err(ProofFileError::Version(version));
            }
            let (file, rest) = postcard::take_from_bytes::<Self>(&rest[4..])?;
            if !rest.is_empty() {
                return Err(ProofFileError::Binary(
                    postcard::Error::DeserializeBadEncoding,
                ));
            }
            file
        } else if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
            serde_json::from_slice(bytes)?
        } else {
            return Err(ProofFileError::UnknownFormat);
        };
        if file.version != PROOF_FILE_VERSION {
            return Err(ProofFileError::Version(file.version));
        }
        Ok(file)
    }

    /// The chunk circuit's public inputs; `None` unless this is a chunk proof with exactly
    /// as many as the chunk circuit has.
    pub fn chunk_instances(&self) -> Option<[Fr; CHUNK_PUBLIC_INPUTS]> {
        match self.subject {
            ProofSubject::Chunk { .. } => self.public_inputs.clone().try_into().ok(),
            ProofSubject::Aggregation { .. } => None,
        }
    }

    /// The public inputs as circuit field elements (what verifiers and calldata take).
    pub fn circuit_instances(&self) -> Vec<halo2_base::halo2_proofs::halo2curves::bn256::Fr> {
        self.public_inputs
            .iter()
            .map(zkroll_circuits::field::to_circuit)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> ProofFile {
        ProofFile {
            version: PROOF_FILE_VERSION,
            zkroll_version: "0.1.0".into(),
            circuit_version: 1,
            subject: ProofSubject::Chunk { index: 0, start: 0 },
            chunk_size: 2,
            config: ChainConfig {
                chain_id: 7,
                depth: 6,
                operator: 0,
            },
            k: 16,
            params_id: "k16-00".into(),
            vk_hash: "0x01".into(),
            trace_id: "0x02".into(),
            public_inputs: vec![
                Fr::from(1u64),
                Fr::from(2u64),
                Fr::from(3u64),
                Fr::from(4u64),
            ],
            pubdata: vec![2, 0, 0, 0, 1],
            proof: vec![9; 100],
        }
    }

    #[test]
    fn both_encodings_round_trip() {
        let f = sample();
        assert_eq!(ProofFile::decode(f.to_json().as_bytes()).expect("json"), f);
        assert_eq!(ProofFile::decode(&f.to_binary()).expect("binary"), f);
        let mut other = f.to_binary();
        other[4] = 1;
        assert!(matches!(
            ProofFile::decode(&other),
            Err(ProofFileError::Version(1))
        ));
        let aggregated = ProofFile {
            subject: ProofSubject::Aggregation {
                layer: 2,
                index: 0,
                first_chunk: 0,
                chunks: 4,
                evm: true,
            },
            ..f
        };
        assert_eq!(
            ProofFile::decode(&aggregated.to_binary()).expect("binary"),
            aggregated
        );
        assert_eq!(aggregated.chunk_instances(), None);
    }

    proptest! {
        /// Random bytes, and truncations and byte flips of valid files, decode to an error
        /// or a file: never a panic.
        #[test]
        fn decoding_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300), cut in any::<prop::sample::Index>(), flip in any::<prop::sample::Index>()) {
            let _ = ProofFile::decode(&bytes);
            for valid in [sample().to_binary(), sample().to_json().into_bytes()] {
                let _ = ProofFile::decode(&valid[..cut.index(valid.len())]);
                let mut flipped = valid.clone();
                let at = flip.index(flipped.len());
                flipped[at] ^= 0x5a;
                let _ = ProofFile::decode(&flipped);
            }
        }
    }
}
