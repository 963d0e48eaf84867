//! Versioned proof files: the proof with everything needed to check it and to know what it
//! proves. Two encodings: JSON (readable) and binary (`ZKRP`, version, postcard body).
//! Decoding never panics, whatever the bytes.

use serde::{Deserialize, Serialize};
use zkroll_engine::field::serde_field_vec;
use zkroll_engine::{ChainConfig, Fr};

/// Version of the proof file format.
pub const PROOF_FILE_VERSION: u32 = 1;

/// Magic bytes of the binary encoding.
pub const BINARY_MAGIC: &[u8; 4] = b"ZKRP";

/// A chunk proof and its context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProofFile {
    /// Format version ([`PROOF_FILE_VERSION`]).
    pub version: u32,
    /// zkroll version that wrote it.
    pub zkroll_version: String,
    /// Circuit version ([`crate::keys::CIRCUIT_VERSION`]).
    pub circuit_version: u32,
    /// Transaction slots of the chunk circuit.
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
    /// Chunk number in the batch.
    pub chunk_index: usize,
    /// First trace step of the chunk.
    pub start: usize,
    /// Public inputs: old root, new root, transaction commitment.
    #[serde(with = "serde_field_vec")]
    pub public_inputs: Vec<Fr>,
    /// The proof (SHPLONK, Blake2b transcript).
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

    /// The public inputs as the circuit orders them; `None` unless there are exactly three.
    pub fn instances(&self) -> Option<[Fr; 3]> {
        self.public_inputs.clone().try_into().ok()
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
            chunk_index: 0,
            start: 0,
            public_inputs: vec![Fr::from(1u64), Fr::from(2u64), Fr::from(3u64)],
            proof: vec![9; 100],
        }
    }

    #[test]
    fn both_encodings_round_trip() {
        let f = sample();
        assert_eq!(ProofFile::decode(f.to_json().as_bytes()).expect("json"), f);
        assert_eq!(ProofFile::decode(&f.to_binary()).expect("binary"), f);
        let mut other = f.to_binary();
        other[4] = 2;
        assert!(matches!(
            ProofFile::decode(&other),
            Err(ProofFileError::Version(2))
        ));
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
