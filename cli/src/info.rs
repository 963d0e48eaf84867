//! `zkroll info`: statistics of the chunk circuit for a chunk size.

use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::Args;
use zkroll_circuits::stats::chunk_stats;
use zkroll_engine::ChainConfig;

use crate::output::outln;

#[derive(Args)]
pub struct InfoArgs {
    /// Transaction slots per chunk.
    #[arg(long, default_value_t = 8)]
    chunk_size: usize,
    /// Account tree depth.
    #[arg(long, default_value_t = zkroll_engine::smt::DEFAULT_DEPTH)]
    depth: u8,
    /// Rows exponent (default: the smallest k needing at most 24 advice columns).
    #[arg(long)]
    k: Option<u32>,
    /// Machine-readable output.
    #[arg(long)]
    json: bool,
}

fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / (1u64 << 20) as f64)
}

pub fn run(args: InfoArgs) -> Result<ExitCode> {
    let config = ChainConfig {
        chain_id: 1,
        depth: args.depth,
        operator: 0,
    };
    config
        .validate()
        .map_err(|e| anyhow::anyhow!("--depth: {e}"))?;
    if args.chunk_size == 0 || args.chunk_size > 4096 {
        bail!("--chunk-size {}: must be 1..=4096", args.chunk_size);
    }
    if let Some(k) = args.k {
        if !(10..=27).contains(&k) {
            bail!("--k {k}: must be 10..=27");
        }
    }
    let s = chunk_stats(args.chunk_size, config, args.k);
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&s)?);
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "chunk circuit: {} slots, tree depth {}",
        s.chunk_size,
        s.depth
    );
    outln!("  k                      {} ({} rows)", s.k, 1u64 << s.k);
    outln!(
        "  advice columns         {} (halo2-base's gate)",
        s.advice_columns
    );
    outln!(
        "  custom gate columns    {} advice (Poseidon rounds, Merkle links, Edwards scalar multiplication), {} rows used",
        s.gate_advice_columns,
        s.gate_rows
    );
    outln!(
        "  lookup advice columns  {} (table of 2^{})",
        s.lookup_advice_columns,
        s.lookup_bits
    );
    outln!("  fixed columns          {}", s.fixed_columns);
    outln!(
        "  advice cells           {} (halo2-base's gate)",
        s.advice_cells
    );
    outln!("  lookup cells           {}", s.lookup_cells);
    outln!(
        "  cells per slot         {} (every transaction type, fee settlement and no-op alike; {} in the custom gates)",
        s.cells_per_slot,
        s.gate_cells_per_slot
    );
    outln!("  one slot by what its cells check:");
    for (name, cells) in &s.slot_cells {
        outln!("    {name:<48} {cells:>9}");
    }
    outln!("  per primitive:");
    for (name, cells) in &s.primitives {
        outln!("    {name:<48} {cells:>9}");
    }
    outln!("  estimated proving key  {}", mib(s.estimated_pk_bytes));
    outln!(
        "  estimated peak memory  {} per proof",
        mib(s.estimated_peak_bytes)
    );
    Ok(ExitCode::SUCCESS)
}
