//! `zkroll setup`: KZG parameters in the data directory.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::Args;
use zkroll_prover::srs;

use crate::output::outln;

#[derive(Args)]
pub struct SetupArgs {
    /// Data directory (parameters go to <data-dir>/params/).
    #[arg(long)]
    data_dir: PathBuf,
    /// Size 2^k: generate UNSAFE development parameters (the secret is public), or with
    /// --import, downsize the imported ones to it.
    #[arg(long, required_unless_present = "import")]
    k: Option<u32>,
    /// Import parameters from a ceremony, in halo2's KZG format (as published for the
    /// Perpetual Powers of Tau): checked (generators, pairing check on random powers), then
    /// downsized to --k if given.
    #[arg(long)]
    import: Option<PathBuf>,
}

pub fn run(args: SetupArgs) -> Result<ExitCode> {
    if let Some(k) = args.k {
        if k == 0 || k > srs::MAX_K {
            bail!("--k {k}: must be 1..={}", srs::MAX_K);
        }
    }
    if let Some(source) = &args.import {
        use halo2_base::halo2_proofs::poly::commitment::Params;
        let started = Instant::now();
        let mut file = std::fs::File::open(source)
            .with_context(|| format!("{}: cannot read", source.display()))?;
        let params = srs::import(&mut file, args.k)
            .with_context(|| format!("--import {}", source.display()))?;
        let path = args
            .data_dir
            .join("params")
            .join(srs::file_name(params.k()));
        srs::write_atomic(&params, &path)
            .with_context(|| format!("{}: cannot write", path.display()))?;
        outln!(
            "imported {} (checked), wrote k={} to {} in {:.1} s",
            source.display(),
            params.k(),
            path.display(),
            started.elapsed().as_secs_f64()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let k = args.k.unwrap_or_default();
    let path = args.data_dir.join("params").join(srs::dev_file_name(k));
    eprintln!(
        "generating UNSAFE development parameters k={k} (public secret: never use them in production)"
    );
    let started = Instant::now();
    let params = srs::dev_setup(k);
    let generated = started.elapsed();
    srs::write_atomic(&params, &path)
        .with_context(|| format!("{}: cannot write", path.display()))?;
    outln!(
        "wrote {} in {:.1} s (generation {:.1} s)",
        path.display(),
        started.elapsed().as_secs_f64(),
        generated.as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}
