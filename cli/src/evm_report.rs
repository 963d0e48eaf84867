//! The L1 side shared by `zkroll gen-verifier` and `zkroll verify --evm`: the verifier
//! generated for the final aggregation keys, both contracts compiled with solcjs, deployed
//! on an in-process EVM, a batch submitted, and the gas reported.

use anyhow::{Context, Result};
use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_base::halo2_proofs::plonk::VerifyingKey;
use halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use zkroll_aggregator::circuit::ACCUMULATOR_LIMBS;
use zkroll_verifier_contract::evm::{Address, Receipt, U256};
use zkroll_verifier_contract::solc::Solc;
use zkroll_verifier_contract::{
    compile, poseidon, verifier_solidity, Contracts, RollupDeployment, L1, MAX_RUNTIME_BYTES,
    POSEIDON_WIDTHS,
};

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
    let poseidon = POSEIDON_WIDTHS.map(poseidon::contract_name);
    let named = [
        ("Verifier", &contracts.verifier),
        ("Rollup", &contracts.rollup),
    ]
    .into_iter()
    .chain(poseidon.iter().map(String::as_str).zip(&contracts.poseidon));
    for (name, c) in named {
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
    /// `Rollup.deposit` of each of the batch's deposits, queued before it.
    pub deposits: Vec<Receipt>,
    /// The verifier called directly.
    pub verify: Receipt,
    /// `Rollup.submitBatch`.
    pub submit: Receipt,
    /// `Rollup.stateRoot()` after the submission.
    pub root_after: [u8; 32],
    /// `Rollup.batchNumber()` after the submission.
    pub batch_number: [u8; 32],
    /// Each withdrawal recipient of the batch claiming on L1 after it (`Rollup.withdraw`):
    /// address, wei received, receipt.
    pub claims: Vec<(Address, U256, Receipt)>,
}

impl EvmOutcome {
    /// On stderr: the deposits queued, the gas of the verifier and of `submitBatch`, the
    /// withdrawals claimed.
    pub fn print(&self) {
        print_deposits(&self.deposits);
        print_gas("verifier", &self.verify);
        print_gas("Rollup.submitBatch", &self.submit);
        print_claims(&self.claims);
    }
}

/// Deploys both contracts (the rollup at the proof's old root, in a tree of `depth`), queues
/// the batch's deposits on L1 as its users would (L1 accepts a batch's deposits only from
/// its queue), calls the verifier, then submits the batch (its `pubdata` and the proof).
pub fn run(
    contracts: &Contracts,
    depth: u8,
    instances: &[Fr],
    pubdata: &[u8],
    proof: &[u8],
) -> Result<EvmOutcome> {
    let old_root = instances
        .get(ACCUMULATOR_LIMBS)
        .context("the proof has no old root among its public inputs")?;
    let mut l1 = L1::deploy(contracts, &RollupDeployment::at(*old_root, depth))?;
    let depositor = revm_address(0xd0);
    let deposits = l1.queue_deposits(depositor, pubdata)?;
    let verify = l1.verify(instances, proof)?;
    let submit = l1.submit_batch(instances, pubdata, proof)?;
    let root_after = l1.read("stateRoot()")?;
    let batch_number = l1.read("batchNumber()")?;
    let mut claims = Vec::new();
    if submit.success {
        for recipient in withdrawal_recipients(pubdata)? {
            let before = l1.chain.balance(recipient)?;
            let receipt = l1.withdraw(recipient)?;
            let received = l1.chain.balance(recipient)?.saturating_sub(before);
            claims.push((recipient, received, receipt));
        }
    }
    Ok(EvmOutcome {
        claims,
        deposits,
        verify,
        submit,
        root_after,
        batch_number,
    })
}

impl EvmOutcome {
    /// The gas of the verifier and of `submitBatch`, split as [`print_gas`] does, for
    /// machine readers (`gen-verifier --report` writes it as `gas.json`).
    pub fn gas_json(&self) -> serde_json::Value {
        serde_json::json!({
            "verifier": gas_split(&self.verify),
            "submit_batch": gas_split(&self.submit),
        })
    }
}

/// Gas not spent on the 21,000 base, calldata or the BN254 precompiles.
fn execution_gas(r: &Receipt) -> u64 {
    r.gas_used
        .saturating_sub(21_000 + r.calldata_gas + r.profile.precompiles())
}

/// A receipt's gas split, as JSON.
fn gas_split(r: &Receipt) -> serde_json::Value {
    let p = &r.profile;
    serde_json::json!({
        "total": r.gas_used,
        "base": 21_000,
        "calldata": r.calldata_gas,
        "calldata_bytes": r.calldata_bytes,
        "ec_pairing": p.ec_pairing.gas,
        "ec_pairing_calls": p.ec_pairing.calls,
        "ec_mul": p.ec_mul.gas,
        "ec_mul_calls": p.ec_mul.calls,
        "ec_add": p.ec_add.gas,
        "ec_add_calls": p.ec_add.calls,
        "execution": execution_gas(r),
        "success": r.success,
    })
}

/// Gas of a call split into the 21,000 base, calldata, the BN254 precompiles and the rest.
pub fn print_gas(what: &str, r: &Receipt) {
    let p = &r.profile;
    let rest = execution_gas(r);
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

/// A test address `0x00..00<b>`.
fn revm_address(b: u8) -> Address {
    Address::with_last_byte(b)
}

/// The distinct L1 recipients of the withdrawals in `pubdata`, in first-seen order.
fn withdrawal_recipients(pubdata: &[u8]) -> Result<Vec<Address>> {
    let mut out: Vec<Address> = Vec::new();
    for record in zkroll_engine::pubdata::parse(pubdata).context("the proof's pubdata")? {
        if let zkroll_engine::pubdata::Record::Withdraw { recipient, .. } = record {
            let address = Address::from(recipient);
            if !out.contains(&address) {
                out.push(address);
            }
        }
    }
    Ok(out)
}

/// One line per withdrawal claimed after the batch.
fn print_claims(claims: &[(Address, U256, Receipt)]) {
    for (recipient, wei, receipt) in claims {
        let gwei = *wei / U256::from(zkroll_verifier_contract::GWEI);
        match &receipt.failure {
            None => eprintln!(
                "Rollup.withdraw: {recipient} claimed {gwei} gwei ({} gas)",
                receipt.gas_used
            ),
            Some(why) => eprintln!("Rollup.withdraw: {recipient} could not claim: {why}"),
        }
    }
}

/// One line for the deposits queued before the batch: count and gas of each.
fn print_deposits(deposits: &[Receipt]) {
    if deposits.is_empty() {
        return;
    }
    let gas: Vec<String> = deposits.iter().map(|r| r.gas_used.to_string()).collect();
    eprintln!(
        "Rollup.deposit: {} deposits of the batch queued on L1 first ({} gas)",
        deposits.len(),
        gas.join(", ")
    );
}
