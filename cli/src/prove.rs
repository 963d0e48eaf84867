//! `zkroll prove`: prove a batch trace chunk by chunk, resuming where a run stopped.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use zkroll_circuits::stats::chunk_stats;
use zkroll_msm::kzg::MsmParams;
use zkroll_prover::memory::{self, ProofMemory};
use zkroll_prover::proof_file::ProofFormat;
use zkroll_prover::{chunks, keys, srs};
use zkroll_service::bus::TaskResult;

use crate::output::outln;
use crate::progress::Heartbeat;
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
    /// Encoding of the proof files written: `json` (`chunk-<i>.json`) or `binary`
    /// (`chunk-<i>.zkrp`, about a third of the size).
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
    /// Multi-scalar multiplication backend of the commitments: `cpu` (zkroll's engine),
    /// `halo2curves` (halo2's own `msm_best`), `gpu` (OpenCL; the CPU engine with a warning
    /// when no device can be used) or `auto` (a GPU when there is one, for large MSMs). The
    /// proofs are the same either way.
    #[arg(long, value_enum, default_value_t = MsmArg::Cpu)]
    msm: MsmArg,
    /// Memory for the CPU engine's fixed-base tables (shifted copies of the parameters'
    /// points, built once per run: 320 MiB and ~3.5 s at k=17; since the plain MSM's
    /// speed-ups they gain nothing measurable there, docs/benchmarks.md), in MiB; they are
    /// left out when they need more. 0 turns them off.
    #[arg(long, value_name = "MIB", default_value_t = 1024)]
    msm_tables_mib: usize,
    /// Have `zkroll worker` processes prove the chunks, through this NATS server (JetStream):
    /// the chunks without a valid proof on disk are published as tasks, and their proofs are
    /// downloaded and checked here. A run stopped and started again publishes only what is
    /// missing and reads the results already made.
    #[arg(long, value_name = "URL")]
    nats: Option<String>,
}

/// MSM backend on the command line.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum MsmArg {
    Cpu,
    Halo2curves,
    Gpu,
    Auto,
}

impl From<MsmArg> for zkroll_msm::Backend {
    fn from(m: MsmArg) -> Self {
        match m {
            MsmArg::Cpu => zkroll_msm::Backend::Cpu,
            MsmArg::Halo2curves => zkroll_msm::Backend::Halo2Curves,
            MsmArg::Gpu => zkroll_msm::Backend::Gpu,
            MsmArg::Auto => zkroll_msm::Backend::Auto,
        }
    }
}

/// Proof file encoding on the command line.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum Format {
    Json,
    Binary,
}

impl From<Format> for ProofFormat {
    fn from(f: Format) -> Self {
        match f {
            Format::Json => ProofFormat::Json,
            Format::Binary => ProofFormat::Binary,
        }
    }
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
    let backend = zkroll_msm::Backend::from(args.msm);
    let tables_budget = args.msm_tables_mib.saturating_mul(1 << 20);
    // Shared by every proof of the run, like the proving key.
    let tables = match MsmParams::fixed_bases_bytes_for(k) {
        bytes if backend == zkroll_msm::Backend::Cpu && bytes <= tables_budget => bytes as u64,
        _ => 0,
    };
    let estimate = stats.estimated_peak_bytes + tables;
    let per_proof = ProofMemory {
        peak: estimate,
        shared: stats.estimated_pk_bytes + tables,
    };
    let format = ProofFormat::from(args.format);
    let (total, available) = memory::machine_memory().unwrap_or((u64::MAX, u64::MAX));
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
        .unwrap_or_else(|| {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            per_proof.jobs(available, cores, count)
        })
        .max(1);
    let predicted = per_proof.peak_with(jobs.min(count));
    eprintln!(
        "chunk circuit: {} slots, k={k}; {count} chunks; predicted {:.1} GiB and {:.0} s per \
         proof; {jobs} at once, {:.1} GiB in all ({:.1} GiB available)",
        args.chunk_size,
        gib(estimate),
        seconds_per_proof(
            k,
            stats.advice_columns + stats.gate_advice_columns + stats.lookup_advice_columns,
        ) * jobs as f64,
        gib(predicted),
        gib(available)
    );
    let params = srs::load(&args.data_dir, k).context("--data-dir")?;
    let mut params = backend
        .params(std::sync::Arc::new(params))
        .context("--msm: preparing the parameters")?;
    eprintln!("MSM backend: {}", backend.describe());
    if tables > 0 {
        let t = Instant::now();
        params = params.with_fixed_bases(tables_budget);
        eprintln!(
            "MSM fixed-base tables: {:.0} MiB, built in {:.1} s",
            params.fixed_bases_bytes() as f64 / (1u64 << 20) as f64,
            t.elapsed().as_secs_f64()
        );
    }
    let started = Instant::now();
    let beat = (!args.json).then(|| {
        let label = format!("chunk circuit keys (k={k}): loading, or generating when not cached");
        Heartbeat::start(Arc::new(move || label.clone()))
    });
    let (keys, source) =
        keys::load_or_generate(&args.data_dir, params.kzg(), args.chunk_size, config)
            .context("chunk circuit keys")?;
    drop(beat);
    eprintln!(
        "keys {:?} in {:.1} s; vk {}",
        source,
        started.elapsed().as_secs_f64(),
        zkroll_circuits::proof::vk_hash(keys.vk())
    );
    if let Some(url) = &args.nats {
        return prove_on_bus(url, &args, &trace, &params, &keys, count, started);
    }
    let bar = if args.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(count as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} chunks {elapsed_precise} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    // Without a terminal the bar is not drawn: a line a minute says how far the proofs are.
    let beat = (!args.json && !std::io::stderr().is_terminal()).then(|| {
        let bar = bar.clone();
        Heartbeat::start(Arc::new(move || {
            format!("chunk proofs: {}/{count} done", bar.position())
        }))
    });
    let event = |value: serde_json::Value| {
        if args.json {
            outln!("{value}");
        }
    };
    // Up to `jobs` proofs side by side, each using every core (not a pool of `jobs` threads).
    let results: Vec<Result<bool>> = memory::run_side_by_side(
        jobs,
        count,
        |index| -> Result<bool> {
            let path = chunks::proof_path(&args.data_dir, &trace, args.chunk_size, index, format);
            if chunks::existing_proof_is_valid(
                params.kzg(),
                &keys,
                &trace,
                args.chunk_size,
                index,
                &path,
            ) {
                event(serde_json::json!({"event": "chunk_kept", "chunk": index, "path": path}));
                bar.inc(1);
                return Ok(false);
            }
            event(serde_json::json!({"event": "chunk_started", "chunk": index}));
            let t = Instant::now();
            let path = chunks::prove_chunk(
                &args.data_dir,
                format,
                &params,
                &keys,
                &trace,
                args.chunk_size,
                index,
            )?;
            let seconds = t.elapsed().as_secs_f64();
            event(
                serde_json::json!({"event": "chunk_proven", "chunk": index, "seconds": seconds, "path": path}),
            );
            if !args.json {
                // Printed even without a terminal (where the bar is hidden).
                bar.suspend(|| {
                    eprintln!(
                        "chunk {index}: proven in {seconds:.1} s -> {}",
                        path.display()
                    )
                });
            }
            bar.inc(1);
            Ok(true)
        },
    );
    let mut proven = 0;
    let mut kept = 0;
    for r in results {
        if r? {
            proven += 1;
        } else {
            kept += 1;
        }
    }
    drop(beat);
    bar.finish_and_clear();
    let measured = memory::peak_rss();
    event(
        serde_json::json!({"event": "done", "chunks": count, "proven": proven, "kept": kept,
        "seconds": started.elapsed().as_secs_f64(), "jobs": jobs,
        "predicted_peak_bytes": predicted, "peak_rss_bytes": measured}),
    );
    if args.json {
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(measured) = measured {
        eprintln!(
            "peak RSS {:.2} GiB (predicted {:.2} GiB for {jobs} at once: measured/predicted {:.2})",
            gib(measured),
            gib(predicted),
            measured as f64 / predicted as f64
        );
    }
    outln!(
        "{count} chunks: {proven} proven, {kept} already on disk, in {:.1} s; proofs in {}",
        started.elapsed().as_secs_f64(),
        chunks::proof_path(&args.data_dir, &trace, args.chunk_size, 0, format)
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    );
    Ok(ExitCode::SUCCESS)
}

/// `zkroll prove --nats`: the chunks without a valid proof on disk proven by workers
/// (`zkroll_service::farm::collect_chunk_proofs`). The job number is the trace's: a run
/// started again (after a crash or a kill) takes the results already on the bus first.
fn prove_on_bus(
    url: &str,
    args: &ProveArgs,
    trace: &zkroll_engine::BatchTrace,
    params: &MsmParams,
    keys: &zkroll_circuits::proof::ChunkKeys,
    count: usize,
    started: Instant,
) -> Result<ExitCode> {
    use zkroll_service::bus::BusConfig;
    use zkroll_service::farm::{collect_chunk_proofs, ChunkJob};

    if ProofFormat::from(args.format) != ProofFormat::Json {
        anyhow::bail!("--nats: workers write JSON proof files; use --format json");
    }
    let chunk_size = args.chunk_size;
    let path_of =
        |index| chunks::proof_path(&args.data_dir, trace, chunk_size, index, ProofFormat::Json);
    let valid = |index| {
        chunks::existing_proof_is_valid(
            params.kzg(),
            keys,
            trace,
            chunk_size,
            index,
            &path_of(index),
        )
    };
    let missing: Vec<usize> = (0..count).filter(|&i| !valid(i)).collect();
    let job = zkroll_service::farm::bus_job(&zkroll_prover::proof_file::trace_id(trace));
    // Writes a worker's proof where `zkroll prove` would have, and checks it.
    let mut keep = |index: usize, result: &TaskResult, bytes: &[u8]| -> Result<(), String> {
        let path = path_of(index);
        zkroll_service::farm::keep_chunk_proof(&path, bytes, result, || valid(index))
            .map_err(|e| format!("chunk {index}: {e}"))?;
        eprintln!(
            "chunk {index}: {} by {} ({:.1} s) -> {}",
            if result.reused {
                "found proven"
            } else {
                "proven"
            },
            result.worker,
            result.seconds,
            path.display()
        );
        Ok(())
    };
    let on_disk = count - missing.len();
    let mut published = |published: usize, found: usize| {
        eprintln!(
            "job {job}: {published} chunk tasks published on {url} ({on_disk} proofs already \
             on disk, {found} found on the bus); waiting for workers (zkroll worker --nats {url})"
        );
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("async runtime")?;
    let collected = runtime.block_on(async {
        let bus = zkroll_service::farm::connect(url, BusConfig::default())
            .await
            .context("--nats")?;
        let chunks = ChunkJob {
            job,
            trace,
            chunk_size,
            missing: &missing,
        };
        collect_chunk_proofs(&bus, chunks, &mut keep, &mut published, &|| false)
            .await
            .context("--nats")
    })?;
    let proven: usize = collected.by_worker.values().sum();
    let workers: Vec<String> = collected
        .by_worker
        .iter()
        .map(|(w, n)| format!("{w}: {n}"))
        .collect();
    let workers = if workers.is_empty() {
        String::new()
    } else {
        format!(" ({})", workers.join(", "))
    };
    outln!(
        "{count} chunks: {proven} proven by workers{workers}, {} already on disk, in {:.1} s; proofs in {}",
        count - proven,
        started.elapsed().as_secs_f64(),
        path_of(0)
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default()
    );
    Ok(ExitCode::SUCCESS)
}

/// Predicted seconds of one chunk proof on this project's reference machine (2 cores), when it
/// has the cores to itself (proofs running side by side share them). The prover's work follows
/// the committed area, rows times advice columns, and a row costs more at large k (likely the
/// FFTs and MSMs leaving the caches). Measured with chunk circuit v8 (8 advice columns): 12.3 us per row and
/// column up to k = 18 (3.16 s at k = 15, 12.89 s at k = 17, 26.6 s at k = 18), 16.9 us at
/// k = 21 (283.3 s); v7 at k = 20: 18.9 us.
fn seconds_per_proof(k: u32, advice_columns: usize) -> f64 {
    let per_row_and_column = match k {
        0..=18 => 12.3e-6,
        19 => 15.0e-6,
        _ => 17.5e-6,
    };
    (1u64 << k) as f64 * advice_columns as f64 * per_row_and_column
}
