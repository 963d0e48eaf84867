//! Execution traces: what the circuits need to re-check a batch without the database.
//!
//! A [`BatchTrace`] holds a header (chain config, old and new root, transaction count,
//! pubdata) and one [`TxStep`] per accepted transaction: the transaction with its signature,
//! the leaf updates it makes (account before, Merkle siblings at that moment) and the root
//! after it. [`BatchTrace::check`] re-verifies all of it natively. Two encodings: JSON
//! (readable) and a compact binary form (`ZKRT` magic, version, postcard body).

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::account::{leaf_of, Account};
use crate::error::TraceError;
use crate::field::{self, Fr};
use crate::rules::{self, ChainConfig, VerifyNow};
use crate::smt;
use crate::tx::Tx;

/// Version of the trace format this engine writes and reads.
pub const TRACE_VERSION: u32 = 1;

/// Magic bytes that open a binary trace.
pub const BINARY_MAGIC: &[u8; 4] = b"ZKRT";

/// Batch-level data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchHeader {
    /// Chain parameters the batch was executed under.
    pub config: ChainConfig,
    /// State root before the batch.
    #[serde(with = "field::serde_field")]
    pub old_root: Fr,
    /// State root after the batch.
    #[serde(with = "field::serde_field")]
    pub new_root: Fr,
    /// Number of transactions (steps).
    pub tx_count: u32,
    /// Concatenated pubdata of the transactions, as L1 receives it.
    #[serde(with = "crate::field::serde_hex_bytes")]
    pub pubdata: Vec<u8>,
}

/// One leaf update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeafUpdate {
    /// Account index.
    pub index: u32,
    /// The account before the update (`None`: empty slot).
    pub before: Option<Account>,
    /// Merkle siblings at the moment of the update, leaf level first (`depth` of them).
    #[serde(with = "field::serde_field_vec")]
    pub siblings: Vec<Fr>,
}

/// One accepted transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TxStep {
    /// The transaction, with its signature.
    pub tx: Tx,
    /// Its leaf updates, in order: deposit `[account]`, transfer `[from, to, operator]`,
    /// withdraw `[from, operator]`.
    pub updates: Vec<LeafUpdate>,
    /// State root after the transaction.
    #[serde(with = "field::serde_field")]
    pub root_after: Fr,
}

/// The execution trace of one batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchTrace {
    /// Format version ([`TRACE_VERSION`]).
    pub version: u32,
    /// Batch header.
    pub header: BatchHeader,
    /// Accepted transactions, in execution order.
    pub steps: Vec<TxStep>,
}

/// Why trace bytes do not decode.
#[derive(Debug, thiserror::Error)]
pub enum TraceDecodeError {
    /// Malformed JSON or a field of the wrong shape.
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    /// Malformed binary body.
    #[error("binary trace: {0}")]
    Binary(#[from] postcard::Error),
    /// Neither JSON nor a binary trace.
    #[error("not a zkroll trace (no JSON object, no ZKRT magic)")]
    UnknownFormat,
    /// A binary trace of another version.
    #[error("binary trace version {0} is not supported (expected {TRACE_VERSION})")]
    Version(u32),
}

impl BatchTrace {
    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Compact binary form: `ZKRT`, version (u32 LE), postcard body.
    pub fn to_binary(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.steps.len() * 2600);
        out.extend_from_slice(BINARY_MAGIC);
        out.extend_from_slice(&TRACE_VERSION.to_le_bytes());
        // Serialising plain data into a Vec cannot fail.
        out.extend_from_slice(&postcard::to_stdvec(self).unwrap_or_default());
        out
    }

    /// Decodes either encoding (binary when the bytes start with the magic).
    pub fn decode(bytes: &[u8]) -> Result<Self, TraceDecodeError> {
        if let Some(rest) = bytes.strip_prefix(BINARY_MAGIC) {
            let version = rest
                .get(..4)
                .map(|v| u32::from_le_bytes([v[0], v[1], v[2], v[3]]))
                .ok_or(TraceDecodeError::Binary(
                    postcard::Error::DeserializeUnexpectedEnd,
                ))?;
            if version != TRACE_VERSION {
                return Err(TraceDecodeError::Version(version));
            }
            let (trace, rest) = postcard::take_from_bytes::<Self>(&rest[4..])?;
            if !rest.is_empty() {
                return Err(TraceDecodeError::Binary(
                    postcard::Error::DeserializeBadEncoding,
                ));
            }
            return Ok(trace);
        }
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
        if first != Some(&b'{') {
            return Err(TraceDecodeError::UnknownFormat);
        }
        Ok(serde_json::from_slice(bytes)?)
    }

    /// Re-verifies the whole trace without a database: every transaction obeys the rules
    /// (signature, nonce, balance, widths, existence), every Merkle path leads to the root of
    /// its moment, the recorded roots chain from `old_root` to `new_root`, and the header's
    /// count and pubdata are those of the steps. Steps are checked in parallel.
    pub fn check(&self) -> Result<(), TraceError> {
        if self.version != TRACE_VERSION {
            return Err(TraceError::Version {
                expected: TRACE_VERSION,
                found: self.version,
            });
        }
        let h = &self.header;
        h.config.validate().map_err(TraceError::Header)?;
        if h.tx_count as usize != self.steps.len() {
            return Err(TraceError::HeaderMismatch {
                field: "tx_count",
                detail: format!(
                    "{} but the trace has {} steps",
                    h.tx_count,
                    self.steps.len()
                ),
            });
        }
        let roots_before: Vec<Fr> = std::iter::once(h.old_root)
            .chain(self.steps.iter().map(|s| s.root_after))
            .collect();
        self.steps
            .par_iter()
            .enumerate()
            .try_for_each(|(i, step)| check_step(&h.config, i, step, roots_before[i]))?;
        let last = roots_before.last().copied().unwrap_or(h.old_root);
        if last != h.new_root {
            return Err(TraceError::HeaderMismatch {
                field: "new_root",
                detail: format!(
                    "{} but the last step ends at {}",
                    field::to_hex(&h.new_root),
                    field::to_hex(&last)
                ),
            });
        }
        let mut pubdata = Vec::with_capacity(h.pubdata.len());
        for step in &self.steps {
            step.tx.write_pubdata(&mut pubdata);
        }
        if pubdata != h.pubdata {
            let at = pubdata
                .iter()
                .zip(&h.pubdata)
                .position(|(a, b)| a != b)
                .unwrap_or(pubdata.len().min(h.pubdata.len()));
            return Err(TraceError::HeaderMismatch {
                field: "pubdata",
                detail: format!(
                    "differs from the transactions' encoding at byte {at} ({} bytes expected, {} given)",
                    pubdata.len(),
                    h.pubdata.len()
                ),
            });
        }
        Ok(())
    }
}

/// Checks one step against the root before it.
fn check_step(
    config: &ChainConfig,
    i: usize,
    step: &TxStep,
    root_before: Fr,
) -> Result<(), TraceError> {
    // The rules see each account as the trace's first update of it records it; `plan` then
    // derives every later "before" itself, which is compared with the trace below.
    let mut lookup = |index: u32| -> Option<Account> {
        step.updates
            .iter()
            .find(|u| u.index == index)
            .and_then(|u| u.before)
    };
    let planned = rules::plan(config, &step.tx, &mut lookup, &VerifyNow)
        .map_err(|error| TraceError::Rule { step: i, error })?;
    if planned.len() != step.updates.len() {
        return Err(TraceError::Updates {
            step: i,
            detail: format!(
                "{} updates recorded, the {} makes {}",
                step.updates.len(),
                step.tx.kind(),
                planned.len()
            ),
        });
    }
    let mut root = root_before;
    for (k, (recorded, expected)) in step.updates.iter().zip(&planned).enumerate() {
        if recorded.index != expected.index {
            return Err(TraceError::Updates {
                step: i,
                detail: format!(
                    "update {k} is of account {}, expected {}",
                    recorded.index, expected.index
                ),
            });
        }
        if recorded.before != expected.before {
            return Err(TraceError::Updates {
                step: i,
                detail: format!(
                    "update {k}: recorded account {} before differs from the state",
                    recorded.index
                ),
            });
        }
        if recorded.siblings.len() != config.depth as usize {
            return Err(TraceError::Updates {
                step: i,
                detail: format!(
                    "update {k}: {} siblings for a tree of depth {}",
                    recorded.siblings.len(),
                    config.depth
                ),
            });
        }
        if smt::root_from_path(
            leaf_of(recorded.before.as_ref()),
            recorded.index,
            &recorded.siblings,
        ) != root
        {
            return Err(TraceError::Path {
                step: i,
                update: k,
                account: recorded.index,
            });
        }
        root = smt::root_from_path(expected.after.leaf(), recorded.index, &recorded.siblings);
    }
    if root != step.root_after {
        return Err(TraceError::Root {
            step: i,
            expected: field::to_hex(&root),
            found: field::to_hex(&step.root_after),
        });
    }
    Ok(())
}
