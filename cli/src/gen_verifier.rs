//! `zkroll gen-verifier`: the L1 contracts for a chain configuration: the Solidity verifier
//! of the final aggregation proof (its keys generated or loaded, layer by layer) and
//! Rollup.sol, compiled; with `--report`, their sizes and the gas of verifying a final proof.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use zkroll_aggregator::batch::{self, Event};
use zkroll_circuits::proof::vk_hash;
use zkroll_circuits::stats::chunk_stats;
use zkroll_engine::ChainConfig;
use zkroll_prover::proof_file::ProofFile;
use zkroll_verifier_contract::{poseidon, rollup_sources, POSEIDON_WIDTHS};

use crate::aggregate::TreeArgs;
use crate::output::outln;
use crate::prove::Format;

#[derive(Args)]
pub struct GenVerifierArgs {
    /// Data directory (parameters, key cache).
    #[arg(long)]
    data_dir: PathBuf,
    /// Output directory: Verifier.sol, Rollup.sol, their bytecode (hex), verifier.json (and
    /// gas.json with `--report --proof`).
    #[arg(long)]
    out: PathBuf,
    /// Transaction slots per chunk.
    #[arg(long, default_value_t = 8)]
    chunk_size: usize,
    /// Account tree depth.
    #[arg(long, default_value_t = zkroll_engine::smt::DEFAULT_DEPTH)]
    depth: u8,
    /// Chain id.
    #[arg(long, default_value_t = 1)]
    chain_id: u32,
    /// Operator account index.
    #[arg(long, default_value_t = 0)]
    operator: u32,
    /// Rows exponent of the chunk circuit (default: as `zkroll info` chooses).
    #[arg(long)]
    k: Option<u32>,
    #[command(flatten)]
    tree: TreeArgs,
    /// Print sizes and, with --proof, the gas of verifying it and submitting its batch (also
    /// written to gas.json: each call's total, base, calldata, ecPairing, ecMul, ecAdd and
    /// the rest of the execution).
    #[arg(long)]
    report: bool,
    /// A final proof file to measure gas with (`--report`).
    #[arg(long)]
    proof: Option<PathBuf>,
    /// Accept the development parameters (`zkroll setup --k`): their secret is public, so
    /// anyone can forge proofs the generated verifier accepts. For tests and demos only.
    #[arg(long)]
    allow_unsafe_dev_params: bool,
}

/// Refuses development parameters among those of `ks` unless allowed (then warns): a
/// verifier made from them accepts forged proofs.
fn check_params(data_dir: &std::path::Path, ks: &[u32], allow: bool) -> Result<bool> {
    let mut dev = Vec::new();
    for &k in ks {
        if zkroll_prover::srs::file_is_dev(data_dir, k).context("--data-dir")? && !dev.contains(&k)
        {
            dev.push(k);
        }
    }
    if dev.is_empty() {
        return Ok(false);
    }
    let ks: Vec<String> = dev.iter().map(|k| format!("k={k}")).collect();
    if !allow {
        anyhow::bail!(
            "{}/params: the parameters for {} are the UNSAFE development ones (public secret: \
             anyone can forge proofs a verifier made from them accepts); import a ceremony's \
             with `zkroll setup --import`, or pass --allow-unsafe-dev-params for a test \
             deployment",
            data_dir.display(),
            ks.join(", ")
        );
    }
    eprintln!(
        "WARNING: UNSAFE development parameters ({}): the verifier accepts forged proofs; for \
         tests and demos only",
        ks.join(", ")
    );
    Ok(true)
}

pub fn run(args: GenVerifierArgs) -> Result<ExitCode> {
    let config = ChainConfig {
        chain_id: args.chain_id,
        depth: args.depth,
        operator: args.operator,
    };
    config
        .validate()
        .map_err(|e| anyhow::anyhow!("chain configuration: {e}"))?;
    if args.chunk_size == 0 || args.chunk_size > 4096 {
        anyhow::bail!("--chunk-size {}: must be 1..=4096", args.chunk_size);
    }
    let settings = args.tree.settings(Format::Json)?;
    let chunk_k = chunk_stats(args.chunk_size, config, args.k).k;
    let unsafe_params = check_params(
        &args.data_dir,
        &[chunk_k, settings.layer_k, settings.final_k],
        args.allow_unsafe_dev_params,
    )?;
    let on = |event: Event| {
        if let Event::Keys {
            layer,
            source,
            seconds,
            ..
        } = event
        {
            eprintln!("layer {layer} keys {source:?} in {seconds:.1} s");
        }
    };
    let (params, keys) = batch::final_keys(
        &args.data_dir,
        args.chunk_size,
        config,
        chunk_k,
        &settings,
        &on,
    )?;
    let vk = keys.pk.get_vk();
    let (source, contracts) = crate::evm_report::contracts(&params, vk, keys.kind.num_instances())?;
    let out = &args.out;
    let write = |name: &str, bytes: &[u8]| -> Result<()> {
        let path = out.join(name);
        zkroll_prover::fs::write_atomic(&path, bytes)
            .with_context(|| format!("{}: cannot write", path.display()))
    };
    write("Verifier.sol", source.as_bytes())?;
    for (name, source) in rollup_sources() {
        write(name, source.as_bytes())?;
    }
    write(
        "Verifier.bin",
        hex::encode(&contracts.verifier.creation).as_bytes(),
    )?;
    write(
        "Rollup.bin",
        hex::encode(&contracts.rollup.creation).as_bytes(),
    )?;
    for (width, compiled) in POSEIDON_WIDTHS.iter().zip(&contracts.poseidon) {
        let name = poseidon::contract_name(*width);
        write(
            &format!("{name}.sol"),
            poseidon::solidity(*width).as_bytes(),
        )?;
        write(
            &format!("{name}.bin"),
            hex::encode(&compiled.creation).as_bytes(),
        )?;
    }
    let summary = serde_json::json!({
        "vk_hash": vk_hash(vk),
        "public_inputs": keys.kind.num_instances(),
        "chunk_size": args.chunk_size,
        "config": config,
        "capacity": settings.capacity,
        "fan_in": settings.shape.fan_in,
        "final_node": if settings.shape.wrap { "wrap" } else { "top" },
        "layer_k": settings.layer_k,
        "final_k": settings.final_k,
        "verifier_runtime_bytes": contracts.verifier.runtime.len(),
        "verifier_creation_bytes": contracts.verifier.creation.len(),
        "rollup_runtime_bytes": contracts.rollup.runtime.len(),
        "unsafe_dev_params": unsafe_params,
    });
    write(
        "verifier.json",
        serde_json::to_string_pretty(&summary)?.as_bytes(),
    )?;
    if args.report {
        crate::evm_report::print_sizes(&contracts);
        if let Some(path) = &args.proof {
            let bytes =
                std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
            let file = ProofFile::decode(&bytes)
                .with_context(|| format!("{}: invalid proof file", path.display()))?;
            if file.vk_hash != vk_hash(vk) {
                anyhow::bail!(
                    "{}: proof of verifying key {}, these contracts verify {}",
                    path.display(),
                    file.vk_hash,
                    vk_hash(vk)
                );
            }
            let instances = file.circuit_instances();
            let outcome = crate::evm_report::run(
                &contracts,
                config.depth,
                &instances,
                &file.pubdata,
                &file.proof,
            )?;
            outcome.print();
            write(
                "gas.json",
                serde_json::to_string_pretty(&outcome.gas_json())?.as_bytes(),
            )?;
        }
    }
    outln!(
        "contracts in {} (verifier of vk {})",
        out.display(),
        vk_hash(vk)
    );
    Ok(ExitCode::SUCCESS)
}
