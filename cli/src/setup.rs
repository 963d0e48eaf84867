//! `zkroll setup`: KZG parameters in the data directory.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use zkroll_prover::srs;

#[derive(Args)]
pub struct SetupArgs {
    /// Data directory (parameters go to <data-dir>/params/).
    #[arg(long)]
    data_dir: PathBuf,
    /// Generate UNSAFE development parameters of size 2^k (the secret is public).
    #[arg(long)]
    k: u32,
}

pub fn run(args: SetupArgs) -> Result<ExitCode> {
    if args.k == 0 || args.k > srs::MAX_K {
        bail!("--k {}: must be 1..={}", args.k, srs::MAX_K);
    }
    let path = args
        .data_dir
        .join("params")
        .join(srs::dev_file_name(args.k));
    eprintln!(
        "generating UNSAFE development parameters k={} (public secret: never use them in production)",
        args.k
    );
    let started = Instant::now();
    let params = srs::dev_setup(args.k);
    let generated = started.elapsed();
    srs::write_atomic(&params, &path)
        .with_context(|| format!("{}: cannot write", path.display()))?;
    println!(
        "wrote {} in {:.1} s (generation {:.1} s)",
        path.display(),
        started.elapsed().as_secs_f64(),
        generated.as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
