//! The L1 side shared by `zkroll gen-verifier` and `zkroll verify --evm`: the verifier
//! generated for the final aggregation keys, both contracts compiled with solcjs, deployed
//! on an in-process EVM, a batch submitted, and the gas reported.

use anyhow::{Context, Result};
use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_base::halo2_proofs::plonk::VerifyingKey;
use halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use zkroll_aggregator::circuit::ACCUMULATOR_LIMBS;
use zkroll_verifier_contract::evm::Receipt;
use zkroll_verifier_contract::solc::Solc;
use zkroll_verifier_contract::{compile, verifier_solidity, Contracts, L1, MAX_RUNTIME_BYTES};

/// The verifier's Solidity and both contracts compiled.
pub fn contracts(
    params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    num_instances: usize,
) -> Result<(String, Contracts)> {
    let source = verifier_solidity(params, vk, num_instances);
    let contracts = compile(&Solc::default(), &source).context("compiling the contracts")?;
    Ok((source, contracts))
}

/// Sizes of both contracts, one line each, with the EIP-170 verdict.
pub fn print_sizes(contracts: &Contracts) {
    for (name, c) in [
        ("Verifier", &contracts.verifier),
        ("Rollup", &contracts.rollup),
    ] {
        let verdict = if c.runtime.len() <= MAX_RUNTIME_BYTES {
            "deployable"
        } else {
            "OVER the EIP-170 limit"
        };
        eprintln!(
            "{name}: runtime {} bytes ({verdict}: limit {MAX_RUNTIME_BYTES}), creation {} bytes",
            c.runtime.len(),
            c.creation.len()
        );
    }
}

/// What the EVM did with a final proof.
pub struct EvmOutcome {
    /// The verifier called directly.
    pub verify: Receipt,
    /// `Rollup.submitBatch`.
    pub submit: Receipt,
    /// `Rollup.stateRoot()` after the submission.
    pub root_after: [u8; 32],
    /// `Rollup.batchNumber()` after the submission.
    pub batch_number: [u8; 32],
}

/// Deploys both contracts (the rollup at the proof's old root), calls the verifier, then
/// submits the batch (its `pubdata` and the proof) to the rollup.
pub fn run(
    contracts: &Contracts,
    instances: &[Fr],
    pubdata: &[u8],
    proof: &[u8],
) -> Result<EvmOutcome> {
    let old_root = instances
        .get(ACCUMULATOR_LIMBS)
        .context("the proof has no old root among its public inputs")?;
    let mut l1 = L1::deploy(contracts, old_root)?;
    let verify = l1.verify(instances, proof)?;
    let submit = l1.submit_batch(instances, pubdata, proof)?;
    let root_after = l1.read("stateRoot()")?;
    let batch_number = l1.read("batchNumber()")?;
    Ok(EvmOutcome {
        verify,
        submit,
        root_after,
        batch_number,
    })
}

/// Gas of a call split into the 21,000 base, calldata, the BN254 precompiles and the rest.
pub fn print_gas(what: &str, r: &Receipt) {
    let p = &r.profile;
    let rest = r
        .gas_used
        .saturating_sub(21_000 + r.calldata_gas + p.precompiles());
    eprintln!(
        "{what}: {} gas = 21,000 base + {} calldata ({} bytes) + {} ecPairing ({} calls) + {} \
         ecMul ({} calls) + {} ecAdd ({} calls) + {rest} execution",
        r.gas_used,
        r.calldata_gas,
        r.calldata_bytes,
        p.ec_pairing.gas,
        p.ec_pairing.calls,
        p.ec_mul.gas,
        p.ec_mul.calls,
        p.ec_add.gas,
        p.ec_add.calls,
    );
}
