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
    /// Prove even when one chunk proof is predicted to need more memory than the machine has.
    #[arg(long)]
    force: bool,
    /// Most chunk proofs at once (default: as many as memory and cores allow).
    #[arg(long)]
    jobs: Option<usize>,
    /// Progress as JSON lines on stdout (one event per line) instead of a bar.
    #[arg(long)]
    json: bool,
}

/// Memory of the machine from /proc/meminfo: (total, available), in bytes.
fn memory() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let field = |name: &str| -> Option<u64> {
        let line = text.lines().find(|l| l.starts_with(name))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    };
    Some((field("MemTotal:")?, field("MemAvailable:")?))
}

/// How many chunk proofs to run at once: limited by available memory (with a 10% margin),
/// by the cores, and by the number of chunks.
fn concurrency(estimate: u64, available: u64, chunks: usize) -> usize {
    let by_memory = ((available as f64 * 0.9) / estimate.max(1) as f64) as usize;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    by_memory.min(cores).min(chunks).max(1)
}

fn gib(bytes: u64) -> f64 {
    bytes as f64 / (1u64 << 30) as f64
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
    let estimate = stats.estimated_peak_bytes;
    let (total, available) = memory().unwrap_or((u64::MAX, u64::MAX));
    if estimate > total && !args.force {
        anyhow::bail!(
            "--chunk-size {}: one chunk proof is predicted to need {:.1} GiB, more than this \
             machine's {:.1} GiB; use a smaller chunk size or --force",
            args.chunk_size,
            gib(estimate),
            gib(total)
        );
    }
    let count = chunks::chunk_count(&trace, args.chunk_size);
    let jobs = args
        .jobs
        .unwrap_or_else(|| concurrency(estimate, available, count))
        .max(1);
    eprintln!(
        "chunk circuit: {} slots, k={k}; {count} chunks; predicted {:.1} GiB and {:.0} s per \
         proof; {jobs} at once ({:.1} GiB available)",
        args.chunk_size,
        gib(estimate),
        // Measured here: 16.5 s per million advice cells for one proof on 2 cores (25.1 M
        // cells in 414 s); proofs running side by side share the cores.
        stats.advice_cells as f64 / 1e6 * 16.5 * jobs as f64,
        gib(available)
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
    let bar = if args.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(count as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} chunks {elapsed_precise} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let event = |value: serde_json::Value| {
        if args.json {
            println!("{value}");
        }
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .context("starting the proving threads")?;
    let results: Vec<Result<bool>> = pool.install(|| {
        use rayon::prelude::*;
        (0..count)
            .into_par_iter()
            .map(|index| -> Result<bool> {
                let path = chunks::proof_path(&args.data_dir, &trace, index);
                if chunks::existing_proof_is_valid(&params, &keys, &trace, args.chunk_size, index, &path) {
                    event(serde_json::json!({"event": "chunk_kept", "chunk": index, "path": path}));
                    bar.inc(1);
                    return Ok(false);
                }
                event(serde_json::json!({"event": "chunk_started", "chunk": index}));
                let t = Instant::now();
                let path =
                    chunks::prove_chunk(&args.data_dir, &params, &keys, &trace, args.chunk_size, index)?;
                let seconds = t.elapsed().as_secs_f64();
                event(serde_json::json!({"event": "chunk_proven", "chunk": index, "seconds": seconds, "path": path}));
                if !args.json {
                    // Printed even without a terminal (where the bar is hidden).
                    bar.suspend(|| {
                        eprintln!("chunk {index}: proven in {seconds:.1} s -> {}", path.display())
                    });
                }
                bar.inc(1);
                Ok(true)
            })
            .collect()
    });
    let mut proven = 0;
    let mut kept = 0;
    for r in results {
        if r? {
            proven += 1;
        } else {
            kept += 1;
        }
    }
    bar.finish_and_clear();
    event(
        serde_json::json!({"event": "done", "chunks": count, "proven": proven, "kept": kept,
        "seconds": started.elapsed().as_secs_f64()}),
    );
    if args.json {
        return Ok(ExitCode::SUCCESS);
    }
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
