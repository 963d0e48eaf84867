//! `zkroll verify`: check a proof file natively, against the deployment: the chain
//! configuration of the data directory's state (or `--chain-id`, `--operator`, `--depth`),
//! never the one the file claims. Exit 0: valid; 1: invalid proof, or a proof for another
//! chain configuration; 2: the input cannot be used (unreadable, truncated, wrong version,
//! missing parameters, vk mismatch), with a one-line reason. Prints which parameters the
//! proof was made with, and "UNSAFE" when they are the development ones.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use zkroll_circuits::proof;
use zkroll_engine::{ChainConfig, StateDb};
use zkroll_prover::keys::{self, CIRCUIT_VERSION};
use zkroll_prover::proof_file::{ProofFile, ProofSubject};
use zkroll_prover::srs;

use crate::output::outln;

#[derive(Args)]
pub struct VerifyArgs {
    /// Proof file (JSON or binary).
    file: PathBuf,
    /// Data directory holding the parameters and the key cache.
    #[arg(long)]
    data_dir: PathBuf,
    /// For a final proof: also deploy the generated verifier and Rollup.sol in an
    /// in-process EVM, submit the batch, and print the gas.
    #[arg(long)]
    evm: bool,
    /// Chain id of the deployment (default: the data directory's state).
    #[arg(long)]
    chain_id: Option<u32>,
    /// Operator account index of the deployment (default: the data directory's state).
    #[arg(long)]
    operator: Option<u32>,
    /// Account tree depth of the deployment (default: the data directory's state).
    #[arg(long)]
    depth: Option<u8>,
}

/// The chain configuration proofs must be for: the data directory's state, each field
/// replaced by its flag when given; all three flags without a state.
fn deployment(args: &VerifyArgs) -> Result<ChainConfig, String> {
    let from_state = StateDb::read_config(&args.data_dir);
    let config = match (from_state, args.chain_id, args.operator, args.depth) {
        (Ok(c), chain_id, operator, depth) => ChainConfig {
            chain_id: chain_id.unwrap_or(c.chain_id),
            operator: operator.unwrap_or(c.operator),
            depth: depth.unwrap_or(c.depth),
        },
        (Err(_), Some(chain_id), Some(operator), Some(depth)) => ChainConfig {
            chain_id,
            operator,
            depth,
        },
        (Err(e), ..) => {
            return Err(format!(
                "--data-dir: {e}; without a state, give the deployment's --chain-id, \
                 --operator and --depth"
            ))
        }
    };
    config
        .validate()
        .map_err(|e| format!("chain configuration: {e}"))?;
    Ok(config)
}

/// Exit 1: a valid-looking proof, but not for this deployment.
fn foreign(name: &str, claim: &str, config: &ChainConfig) -> anyhow::Result<ExitCode> {
    eprintln!(
        "error: {name}: a proof for {claim}, this deployment is chain {} (operator {}, depth {})",
        config.chain_id, config.operator, config.depth
    );
    Ok(ExitCode::from(1))
}

fn describe(config: &ChainConfig) -> String {
    format!(
        "chain {} (operator {}, depth {})",
        config.chain_id, config.operator, config.depth
    )
}

/// The parameters line: their id, and a warning when they are the development ones.
fn print_params(
    name: &str,
    params: &halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG<
        halo2_base::halo2_proofs::halo2curves::bn256::Bn256,
    >,
) {
    let id = keys::params_id(params);
    if srs::is_dev(params) {
        outln!(
            "{name}: parameters {id}: UNSAFE development parameters (public secret: anyone can \
             forge proofs with them)"
        );
    } else {
        outln!("{name}: parameters {id}");
    }
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
    let config = match deployment(&args) {
        Ok(c) => c,
        Err(e) => return unusable(e),
    };
    if file.config != config {
        return foreign(&name, &describe(&file.config), &config);
    }
    let (index, start) = match file.subject {
        ProofSubject::Chunk { index, start } if !args.evm => (index, start),
        ProofSubject::Chunk { .. } => {
            return unusable(format!(
                "{name}: a chunk proof; --evm verifies final proofs"
            ))
        }
        ProofSubject::Aggregation { evm, .. } => {
            return verify_aggregation(&args, &name, &file, evm, &config);
        }
    };
    let Some(instances) = file.chunk_instances() else {
        return unusable(format!(
            "{name}: {} public inputs, expected 4",
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
    print_params(&name, &params);
    let keys = match keys::load_or_generate(&args.data_dir, &params, file.chunk_size, config) {
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
            outln!(
                "{name}: valid proof of chunk {} (trace {}, steps from {})",
                index,
                file.trace_id,
                start
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {name}: invalid proof: {e}");
            Ok(ExitCode::from(1))
        }
    }
}

/// An aggregation proof: its cached verifying key, the proof and the accumulator's pairing
/// check; with `--evm`, the contracts too.
fn verify_aggregation(
    args: &VerifyArgs,
    name: &str,
    file: &ProofFile,
    evm: bool,
    config: &ChainConfig,
) -> anyhow::Result<ExitCode> {
    use zkroll_aggregator::circuit;
    if args.evm && !evm {
        return unusable(format!(
            "{name}: an intermediate aggregation proof (Poseidon transcript); --evm verifies \
             final proofs"
        ));
    }
    let (vk, kind) = match zkroll_aggregator::keys::find_vk(&args.data_dir, &file.vk_hash) {
        Ok(Some(found)) => found,
        Ok(None) => {
            return unusable(format!(
                "{name}: no aggregation key with verifying key {} in {} (run zkroll aggregate \
                 or gen-verifier there)",
                file.vk_hash,
                args.data_dir.display()
            ))
        }
        Err(e) => return unusable(format!("aggregation keys: {e}")),
    };
    if kind.last != evm || file.public_inputs.len() != kind.num_instances() {
        return unusable(format!(
            "{name}: {} public inputs for a {} proof, expected {}",
            file.public_inputs.len(),
            if evm { "final" } else { "layer" },
            kind.num_instances()
        ));
    }
    // The key must aggregate chunk proofs of this deployment: follow the cached nodes down
    // to the chunk key, whose configuration is the deployment's.
    let below = match zkroll_aggregator::keys::chunk_vk_hash_below(&args.data_dir, &file.vk_hash)
        .and_then(|chunk_vk| match chunk_vk {
            Some(h) => keys::cached_chunk_key(&args.data_dir, &h),
            None => Ok(None),
        }) {
        Ok(Some(found)) => found,
        Ok(None) => {
            return unusable(format!(
                "{name}: the chunk key under verifying key {} is not in {} (run zkroll \
                 aggregate or gen-verifier there)",
                file.vk_hash,
                args.data_dir.display()
            ))
        }
        Err(e) => return unusable(format!("keys: {e}")),
    };
    if below.1 != *config || below.0 != file.chunk_size {
        return foreign(
            name,
            &format!(
                "{} with chunks of {} slots (its verifying key's)",
                describe(&below.1),
                below.0
            ),
            config,
        );
    }
    let params = match srs::load(&args.data_dir, file.k) {
        Ok(p) => p,
        Err(e) => return unusable(format!("--data-dir: {e}")),
    };
    print_params(name, &params);
    let instances = file.circuit_instances();
    if let Err(e) = circuit::verify(&params, &vk, &instances, &file.proof, evm, true) {
        eprintln!("error: {name}: invalid proof: {e}");
        return Ok(ExitCode::from(1));
    }
    outln!(
        "{name}: valid {} proof (trace {}, native verifier)",
        if evm { "final" } else { "aggregation" },
        file.trace_id
    );
    if !args.evm {
        return Ok(ExitCode::SUCCESS);
    }
    let (_, contracts) = crate::evm_report::contracts(&params, &vk, kind.num_instances())?;
    crate::evm_report::print_sizes(&contracts);
    let outcome = crate::evm_report::run(
        &contracts,
        config.depth,
        &instances,
        &file.pubdata,
        &file.proof,
    )
    .with_context(|| format!("{name}: cannot submit it to the EVM"))?;
    outcome.print();
    if !outcome.verify.success || !outcome.submit.success {
        let why = outcome
            .submit
            .failure
            .or(outcome.verify.failure)
            .unwrap_or_default();
        eprintln!("error: {name}: rejected on the EVM: {why}");
        return Ok(ExitCode::from(1));
    }
    outln!(
        "{name}: accepted on the EVM: Rollup.stateRoot = 0x{}, batch {} ({} gas)",
        hex::encode(outcome.root_after),
        u64::from_be_bytes(outcome.batch_number[24..].try_into().unwrap_or_default()),
        outcome.submit.gas_used
    );
    Ok(ExitCode::SUCCESS)
}
