//! `zkroll verify`: check a proof file natively. Exit 0: valid; 1: invalid proof; 2: the
//! input cannot be used (unreadable, truncated, wrong version, missing parameters, vk
//! mismatch), with a one-line reason.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use zkroll_circuits::proof;
use zkroll_prover::keys::{self, CIRCUIT_VERSION};
use zkroll_prover::proof_file::ProofFile;
use zkroll_prover::srs;

#[derive(Args)]
pub struct VerifyArgs {
    /// Proof file (JSON or binary).
    file: PathBuf,
    /// Data directory holding the parameters and the key cache.
    #[arg(long)]
    data_dir: PathBuf,
}

fn unusable(message: String) -> anyhow::Result<ExitCode> {
    eprintln!("error: {}", message.replace('\n', " "));
    Ok(ExitCode::from(2))
}

pub fn run(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let name = args.file.display().to_string();
    let bytes = match std::fs::read(&args.file) {
        Ok(b) => b,
        Err(e) => return unusable(format!("{name}: cannot read: {e}")),
    };
    let file = match ProofFile::decode(&bytes) {
        Ok(f) => f,
        Err(e) => return unusable(format!("{name}: invalid proof file: {e}")),
    };
    if file.circuit_version != CIRCUIT_VERSION {
        return unusable(format!(
            "{name}: circuit version {} (this zkroll proves version {CIRCUIT_VERSION})",
            file.circuit_version
        ));
    }
    let Some(instances) = file.instances() else {
        return unusable(format!(
            "{name}: {} public inputs, expected 3",
            file.public_inputs.len()
        ));
    };
    if file.config.validate().is_err() || file.chunk_size == 0 || file.chunk_size > 4096 {
        return unusable(format!("{name}: unusable circuit configuration"));
    }
    let params = match srs::load(&args.data_dir, file.k) {
        Ok(p) => p,
        Err(e) => return unusable(format!("--data-dir: {e}")),
    };
    if keys::params_id(&params) != file.params_id {
        return unusable(format!(
            "{name}: made with parameters {}, the data directory has {}",
            file.params_id,
            keys::params_id(&params)
        ));
    }
    let keys = match keys::load_or_generate(&args.data_dir, &params, file.chunk_size, file.config) {
        Ok((k, _)) => k,
        Err(e) => return unusable(format!("chunk circuit keys: {e}")),
    };
    let vk_hash = proof::vk_hash(keys.vk());
    if vk_hash != file.vk_hash {
        return unusable(format!(
            "{name}: verifying key mismatch (file {}, this circuit {vk_hash})",
            file.vk_hash
        ));
    }
    match proof::verify(&params, keys.vk(), &file.proof, &instances) {
        Ok(()) => {
            println!(
                "{name}: valid proof of chunk {} (trace {}, steps from {})",
                file.chunk_index, file.trace_id, file.start
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {name}: invalid proof: {e}");
            Ok(ExitCode::from(1))
        }
    }
}
