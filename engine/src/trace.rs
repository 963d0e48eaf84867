//! Execution traces: what the circuits need to re-check a batch without the database.
//!
//! A [`BatchTrace`] holds a header (chain config, old and new root, transaction count,
//! pubdata) and one [`TxStep`] per accepted transaction: the transaction with its signature,
//! the leaf updates it makes (account before, Merkle siblings at that moment) and the root
//! after it; a batch that collected fees ends with a fee settlement step crediting them to
//! the operator. [`BatchTrace::check`] re-verifies all of it natively. Two encodings: JSON
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
/// Version 2: fees are settled once per batch (transfers and withdrawals make no operator
/// update; a fee settlement step ends a batch that collected fees). Version 1 traces are
/// refused.
pub const TRACE_VERSION: u32 = 2;

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
    /// Number of steps (accepted transactions and the fee settlement, if any).
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
    /// Its leaf updates, in order: deposit `[account]`, transfer `[from, to]`, withdraw
    /// `[from]`, fee settlement `[operator]`.
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
    /// (signature, nonce, balance, widths, existence, fee settlement of exactly the pending
    /// fees), every Merkle path leads to the root of its moment, the recorded roots chain
    /// from `old_root` to `new_root`, the batch ends with no fees pending, and the header's
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
        // Fees pending before each step.
        let mut pending = Vec::with_capacity(self.steps.len() + 1);
        pending.push(0u64);
        for step in &self.steps {
            pending.push(rules::pending_after(pending[pending.len() - 1], &step.tx));
        }
        let unsettled = pending[pending.len() - 1];
        if unsettled != 0 {
            return Err(TraceError::UnsettledFees { pending: unsettled });
        }
        // The fee rules read the operator's account, which a step that does not update it
        // does not record: it is the account the next step updating the operator records
        // (the settlement, in a batch with fees), as no step in between changes it.
        let operator = h.config.operator;
        let mut operator_before = vec![None; self.steps.len() + 1];
        for (i, step) in self.steps.iter().enumerate().rev() {
            operator_before[i] = match step.updates.iter().find(|u| u.index == operator) {
                Some(u) => u.before,
                None => operator_before[i + 1],
            };
        }
        self.steps
            .par_iter()
            .enumerate()
            .try_for_each(|(i, step)| {
                let moment = StepMoment {
                    root_before: roots_before[i],
                    pending: pending[i],
                    operator: operator_before[i],
                };
                check_step(&h.config, i, step, moment)
            })?;
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

/// The state a step starts from, as far as its checks need it.
struct StepMoment {
    root_before: Fr,
    /// Fees pending before the step.
    pending: u64,
    /// The operator's account before the step (`None`: no later step records it).
    operator: Option<Account>,
}

/// Checks one step against the state before it.
fn check_step(
    config: &ChainConfig,
    i: usize,
    step: &TxStep,
    moment: StepMoment,
) -> Result<(), TraceError> {
    // The rules see each account as the trace's first update of it records it (the
    // operator, when the step does not update it, as a later step records it); `plan` then
    // derives every later "before" itself, which is compared with the trace below.
    let mut lookup = |index: u32| -> Option<Account> {
        match step.updates.iter().find(|u| u.index == index) {
            Some(u) => u.before,
            None if index == config.operator => moment.operator,
            None => None,
        }
    };
    let (root_before, pending) = (moment.root_before, moment.pending);
    let planned = rules::plan(config, &step.tx, &mut lookup, &VerifyNow, pending)
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
