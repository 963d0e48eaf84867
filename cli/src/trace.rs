//! `zkroll trace`: check a trace without the database, convert it, export a stored one.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Subcommand;
use zkroll_engine::field::to_hex;
use zkroll_engine::BatchTrace;

use crate::execute::TraceFormat;
use crate::files::write_atomic;
use crate::output::outln;
use crate::state::open;

#[derive(Subcommand)]
pub enum TraceCommand {
    /// Re-verify a trace natively (signatures, rules, Merkle paths, roots, pubdata).
    Check {
        /// Trace file (JSON or binary).
        file: PathBuf,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Write the trace of a committed batch from the database.
    Export {
        /// Data directory.
        #[arg(long)]
        data_dir: PathBuf,
        /// Batch number.
        #[arg(long)]
        batch: u64,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
        /// Encoding.
        #[arg(long, value_enum, default_value = "json")]
        format: TraceFormat,
    },
}

/// Reads and decodes a trace file (either encoding).
pub fn load(path: &Path) -> Result<BatchTrace> {
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    BatchTrace::decode(&bytes).with_context(|| format!("{}: invalid trace", path.display()))
}

pub fn run(cmd: TraceCommand) -> Result<ExitCode> {
    match cmd {
        TraceCommand::Check { file, json } => {
            let trace = load(&file)?;
            let started = Instant::now();
            let result = trace.check();
            let seconds = started.elapsed().as_secs_f64();
            let h = &trace.header;
            if json {
                let report = serde_json::json!({
                    "file": file,
                    "valid": result.is_ok(),
                    "error": result.as_ref().err().map(|e| e.to_string()),
                    "tx_count": h.tx_count,
                    "old_root": to_hex(&h.old_root),
                    "new_root": to_hex(&h.new_root),
                    "seconds": seconds,
                });
                outln!("{}", serde_json::to_string_pretty(&report)?);
                return Ok(if result.is_ok() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                });
            }
            result.with_context(|| format!("{}: trace does not check", file.display()))?;
            let settlements = trace
                .steps
                .iter()
                .filter(|s| matches!(s.tx, zkroll_engine::Tx::SettleFees(_)))
                .count();
            outln!(
                "trace OK: {} steps ({} transactions, {settlements} fee settlement), root {} -> {} ({:.3} s)",
                h.tx_count,
                trace.steps.len() - settlements,
                to_hex(&h.old_root),
                to_hex(&h.new_root),
                seconds
            );
        }
        TraceCommand::Export {
            data_dir,
            batch,
            out,
            format,
        } => {
            let db = open(&data_dir)?;
            let bytes = db.trace_bytes(batch)?.with_context(|| {
                format!("--batch {batch}: no such batch in {}", data_dir.display())
            })?;
            let trace = BatchTrace::decode(&bytes)
                .with_context(|| format!("stored trace of batch {batch}"))?;
            let bytes = match format {
                TraceFormat::Json => trace.to_json().into_bytes(),
                TraceFormat::Bin => bytes,
            };
            write_atomic(&out, &bytes)?;
            outln!("wrote {}", out.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}
