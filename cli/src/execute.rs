//! `zkroll execute`: apply a batch of transactions and write its execution trace.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use serde::{Deserialize, Serialize};
use zkroll_engine::field::to_hex;
use zkroll_engine::{execute_batch_with_l1, EngineError, L1Deposit, Tx};

use crate::files::{read_json, write_atomic};
use crate::output::outln;
use crate::state::open;

/// A batch file: `{"transactions": [...]}`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchFile {
    /// Transactions in order.
    pub transactions: Vec<Tx>,
}

/// L1's deposit queue as exported from the rollup contract: `{"deposits": [...]}`, each
/// entry `{"index", "account", "public_key", "amount"}` in queue order.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct L1DepositsFile {
    /// Queue entries in order (the whole queue, or from any entry not yet consumed).
    pub deposits: Vec<L1Deposit>,
}

/// Trace encodings.
#[derive(Clone, Copy, ValueEnum)]
pub enum TraceFormat {
    /// Readable JSON.
    Json,
    /// Compact binary (ZKRT).
    Bin,
}

#[derive(Args)]
pub struct ExecuteArgs {
    /// Data directory holding the state.
    #[arg(long)]
    data_dir: PathBuf,
    /// Batch file: {"transactions": [...]}, L2 transactions only (no deposit).
    #[arg(long)]
    txs: PathBuf,
    /// L1's deposit queue (`{"deposits": [...]}`): the batch starts with every entry the
    /// state has not consumed yet. Deposits come only from here: L1 refuses a batch whose
    /// deposits are not its queue's next entries.
    #[arg(long)]
    l1_deposits: Option<PathBuf>,
    /// Where to write the trace (default: <data-dir>/traces/batch-<n>.<json|bin>).
    #[arg(long)]
    trace: Option<PathBuf>,
    /// Trace encoding.
    #[arg(long, value_enum, default_value = "json")]
    format: TraceFormat,
    /// Print a JSON report instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(args: ExecuteArgs) -> Result<ExitCode> {
    let batch: BatchFile = read_json(&args.txs)?;
    let queue = match &args.l1_deposits {
        Some(path) => read_json::<L1DepositsFile>(path)?.deposits,
        None => Vec::new(),
    };
    let mut db = open(&args.data_dir)?;
    let started = Instant::now();
    let outcome = match execute_batch_with_l1(&mut db, &queue, &batch.transactions) {
        Ok(outcome) => outcome,
        // Nothing is recorded: the rejections on stdout as for any batch, then the error.
        Err(EngineError::NothingAccepted {
            submitted,
            rejected,
        }) => {
            if args.json {
                let report = serde_json::json!({
                    "batch": null,
                    "accepted": 0,
                    "rejected": rejected,
                });
                outln!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                for r in &rejected {
                    outln!("  rejected tx {} ({}): {}", r.index, r.kind, r.error);
                }
            }
            let error = EngineError::NothingAccepted {
                submitted,
                rejected,
            };
            return Err(anyhow::Error::new(error).context(format!("{}", args.txs.display())));
        }
        Err(error @ EngineError::DepositNotFromL1 { .. }) => {
            return Err(anyhow::Error::new(error).context(format!("{}", args.txs.display())))
        }
        Err(error @ EngineError::L1QueueGap { .. }) => {
            let file = args.l1_deposits.as_deref().unwrap_or(args.txs.as_path());
            return Err(anyhow::Error::new(error).context(format!("{}", file.display())));
        }
        Err(error) => {
            return Err(error).with_context(|| format!("--data-dir {}", args.data_dir.display()))
        }
    };
    let elapsed = started.elapsed();
    let (bytes, ext) = match args.format {
        TraceFormat::Json => (outcome.trace.to_json().into_bytes(), "json"),
        TraceFormat::Bin => (outcome.trace.to_binary(), "bin"),
    };
    let trace_path = args.trace.unwrap_or_else(|| {
        args.data_dir
            .join("traces")
            .join(format!("batch-{}.{ext}", outcome.batch_number))
    });
    // The trace is also stored in the database with the state (same atomic write), so a
    // crash here loses nothing: `zkroll trace export` writes it again.
    write_atomic(&trace_path, &bytes)?;
    let header = &outcome.trace.header;
    if args.json {
        let report = serde_json::json!({
            "batch": outcome.batch_number,
            "accepted": outcome.accepted.len(),
            "l1_deposits": outcome.l1_deposits,
            "rejected": outcome.rejected,
            "old_root": to_hex(&header.old_root),
            "new_root": to_hex(&header.new_root),
            "pubdata_bytes": header.pubdata.len(),
            "withdrawals": outcome.withdrawals.len(),
            "trace": trace_path,
            "seconds": elapsed.as_secs_f64(),
        });
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        outln!(
            "batch {}: {} accepted ({} of them L1 deposits), {} rejected in {:.3} s ({:.0} tx/s)",
            outcome.batch_number,
            outcome.accepted.len(),
            outcome.l1_deposits,
            outcome.rejected.len(),
            elapsed.as_secs_f64(),
            (outcome.accepted.len() + outcome.rejected.len()) as f64
                / elapsed.as_secs_f64().max(1e-9)
        );
        for r in &outcome.rejected {
            outln!("  rejected tx {} ({}): {}", r.index, r.kind, r.error);
        }
        outln!("old root {}", to_hex(&header.old_root));
        outln!("new root {}", to_hex(&header.new_root));
        outln!(
            "trace    {} ({} bytes, {} pubdata bytes, {} withdrawals)",
            trace_path.display(),
            bytes.len(),
            header.pubdata.len(),
            outcome.withdrawals.len()
        );
    }
    Ok(ExitCode::SUCCESS)
}
