//! `zkroll prove`: prove a batch trace chunk by chunk, resuming where a run stopped.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use zkroll_circuits::stats::chunk_stats;
use zkroll_prover::{chunks, keys, srs};

use crate::trace::load;

#[derive(Args)]
pub struct ProveArgs {
    /// Data directory (parameters, key cache, proofs/).
    #[arg(long)]
    data_dir: PathBuf,
    /// Batch trace (JSON or binary).
    #[arg(long)]
    trace: PathBuf,
    /// Transaction slots per chunk.
    #[arg(long, default_value_t = 8)]
    chunk_size: usize,
    /// Rows exponent (default: as `zkroll info` chooses for the chunk size).
    #[arg(long)]
    k: Option<u32>,
}

pub fn run(args: ProveArgs) -> Result<ExitCode> {
    if args.chunk_size == 0 || args.chunk_size > 4096 {
        anyhow::bail!("--chunk-size {}: must be 1..=4096", args.chunk_size);
    }
    let trace = load(&args.trace)?;
    trace
        .check()
        .with_context(|| format!("{}: trace does not check", args.trace.display()))?;
    let config = trace.header.config;
    let stats = chunk_stats(args.chunk_size, config, args.k);
    let k = stats.k;
    eprintln!(
        "chunk circuit: {} slots, k={k}, estimated peak memory {:.1} GiB per proof",
        args.chunk_size,
        stats.estimated_peak_bytes as f64 / (1u64 << 30) as f64
    );
    let params = srs::load(&args.data_dir, k).context("--data-dir")?;
    let started = Instant::now();
    let (keys, source) = keys::load_or_generate(&args.data_dir, &params, args.chunk_size, config)
        .context("chunk circuit keys")?;
    eprintln!(
        "keys {:?} in {:.1} s; vk {}",
        source,
        started.elapsed().as_secs_f64(),
        zkroll_circuits::proof::vk_hash(keys.vk())
    );
    let count = chunks::chunk_count(&trace, args.chunk_size);
    let bar = ProgressBar::new(count as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} chunks {elapsed_precise} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let (mut proven, mut kept) = (0, 0);
    for index in 0..count {
        let path = chunks::proof_path(&args.data_dir, &trace, index);
        if chunks::existing_proof_is_valid(&params, &keys, &trace, args.chunk_size, index, &path) {
            kept += 1;
            bar.set_message(format!("chunk {index} already proven"));
        } else {
            bar.set_message(format!("proving chunk {index}"));
            let t = Instant::now();
            let path = chunks::prove_chunk(
                &args.data_dir,
                &params,
                &keys,
                &trace,
                args.chunk_size,
                index,
            )?;
            // Printed even without a terminal (where the bar is hidden).
            bar.suspend(|| {
                eprintln!(
                    "chunk {index}: proven in {:.1} s -> {}",
                    t.elapsed().as_secs_f64(),
                    path.display()
                )
            });
            proven += 1;
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    println!(
        "{count} chunks: {proven} proven, {kept} already on disk, in {:.1} s; proofs in {}",
        started.elapsed().as_secs_f64(),
        chunks::proof_path(&args.data_dir, &trace, 0)
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    );
    Ok(ExitCode::SUCCESS)
}
