//! `zkroll worker`: a prover process taking tasks from NATS JetStream (`zkroll_service::farm`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;

use crate::prove::MsmArg;

#[derive(Args)]
pub struct WorkerArgs {
    /// The NATS server (JetStream enabled), e.g. nats://127.0.0.1:4222.
    #[arg(long)]
    nats: String,
    /// Data directory: parameters (params/), keys (keys/, generated there when missing), and
    /// the proofs this worker makes (proofs/).
    #[arg(long)]
    data_dir: PathBuf,
    /// Tasks proven at once.
    #[arg(long, default_value_t = 1)]
    jobs: usize,
    /// Memory this worker has for a task, in GiB (default: this machine's memory). Tasks are
    /// published by memory class (predicted memory rounded up to a power of two MiB): the
    /// worker takes only those of the classes that fit.
    #[arg(long, value_name = "GIB")]
    memory_limit: Option<f64>,
    /// This worker's name in results and logs (default: host name and process id).
    #[arg(long)]
    name: Option<String>,
    /// Seconds a task may go without a heartbeat before it is delivered again (used when this
    /// worker creates the consumer: the first to connect sets it).
    #[arg(long, default_value_t = 30)]
    ack_wait: u64,
    /// Deliveries of a failing task before it goes to the dead-letter stream (as --ack-wait).
    #[arg(long, default_value_t = 3)]
    max_deliver: i64,
    /// MSM backend of the commitments.
    #[arg(long, value_enum, default_value_t = MsmArg::Cpu)]
    msm: MsmArg,
}

pub fn run(args: WorkerArgs) -> Result<ExitCode> {
    if args.jobs == 0 {
        anyhow::bail!("--jobs 0: must be at least 1");
    }
    if args.ack_wait < 3 {
        anyhow::bail!("--ack-wait {}: must be at least 3 seconds", args.ack_wait);
    }
    if args.max_deliver < 1 {
        anyhow::bail!("--max-deliver {}: must be at least 1", args.max_deliver);
    }
    let memory_limit = match args.memory_limit {
        Some(gib) if gib.is_finite() && gib > 0.0 => Some((gib * f64::from(1u32 << 30)) as u64),
        Some(gib) => anyhow::bail!("--memory-limit {gib}: must be a positive number of GiB"),
        None => None,
    };
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("--data-dir {}", args.data_dir.display()))?;
    let name = args.name.unwrap_or_else(|| {
        let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
        format!("{}-{}", host.trim(), std::process::id())
    });
    let config = zkroll_service::farm::FarmConfig {
        nats: args.nats,
        data_dir: args.data_dir,
        jobs: args.jobs,
        memory_limit,
        name,
        bus: zkroll_service::bus::BusConfig {
            ack_wait: Duration::from_secs(args.ack_wait),
            max_deliver: args.max_deliver,
        },
        msm: args.msm.into(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("async runtime")?;
    let stop = Arc::new(AtomicBool::new(false));
    let finished = runtime.block_on(async {
        let signal_stop = Arc::clone(&stop);
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("zkroll worker: stopping after the tasks in progress");
                signal_stop.store(true, Ordering::SeqCst);
            }
        });
        zkroll_service::farm::run(config, stop).await
    })?;
    eprintln!("zkroll worker: {finished} tasks finished");
    Ok(ExitCode::SUCCESS)
}
