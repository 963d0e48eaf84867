//! # zkroll-verifier-contract
//!
//! The last stage of the pipeline `engine -> circuits -> prover -> aggregator ->
//! verifier-contract`: what L1 runs.
//!
//! - [`verifier_solidity`]: the Solidity verifier snark-verifier generates from the final
//!   aggregation circuit's verifying key (it checks the proof and the KZG accumulator's
//!   pairing).
//! - `contracts/Rollup.sol`: the rollup contract ([`ROLLUP_SOL`]): state root, batch number,
//!   `submitBatch` through the verifier.
//! - [`solc`]: compilation with solcjs from npm (pinned, offline).
//! - [`evm`]: an in-process EVM (revm) to deploy and call them and measure gas.
//! - [`L1`]: both contracts deployed on such a chain, with the calls encoded.

pub mod evm;
pub mod solc;

use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_base::halo2_proofs::halo2curves::ff::PrimeField;
use halo2_base::halo2_proofs::plonk::VerifyingKey;
use halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use revm::primitives::{keccak256, Address};
use snark_verifier_sdk::evm::gen_evm_verifier_sol_code;
use snark_verifier_sdk::halo2::aggregation::AggregationCircuit;
use snark_verifier_sdk::SHPLONK;

use crate::evm::{Chain, EvmError, Receipt};
use crate::solc::{Compiled, Solc, SolcError};

/// Source of `contracts/Rollup.sol`.
pub const ROLLUP_SOL: &str = include_str!("../contracts/Rollup.sol");

/// EIP-170: the largest runtime code mainnet accepts.
pub const MAX_RUNTIME_BYTES: usize = 24_576;

/// The Solidity verifier of proofs of `vk` with `num_instances` public inputs, the first 12
/// being a KZG accumulator (snark-verifier's EVM loader; SHPLONK, Keccak transcript).
pub fn verifier_solidity(
    params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    num_instances: usize,
) -> String {
    gen_evm_verifier_sol_code::<AggregationCircuit, SHPLONK>(params, vk, vec![num_instances])
}

/// Both contracts compiled.
#[derive(Debug, Clone)]
pub struct Contracts {
    /// The generated verifier.
    pub verifier: Compiled,
    /// Rollup.sol.
    pub rollup: Compiled,
}

/// Compiles the verifier source and Rollup.sol.
pub fn compile(solc: &Solc, verifier_source: &str) -> Result<Contracts, SolcError> {
    let verifier = solc.compile(
        &[("Verifier.sol", verifier_source)],
        false,
        "Verifier.sol",
        "Halo2Verifier",
    )?;
    let rollup = solc.compile(&[("Rollup.sol", ROLLUP_SOL)], true, "Rollup.sol", "Rollup")?;
    Ok(Contracts { verifier, rollup })
}

/// A field element as a 32-byte big-endian EVM word.
pub fn word(x: &Fr) -> [u8; 32] {
    let mut out = x.to_repr();
    out.reverse();
    out
}

/// The verifier's calldata: public inputs as words, then the proof.
pub fn verifier_calldata(instances: &[Fr], proof: &[u8]) -> Vec<u8> {
    let mut out: Vec<u8> = instances.iter().flat_map(word).collect();
    out.extend_from_slice(proof);
    out
}

/// `Rollup.submitBatch(uint256[12],uint256,uint256,uint256,bytes)` calldata for a final
/// proof with public inputs `instances` (accumulator, old root, new root, commitment).
pub fn submit_batch_calldata(instances: &[Fr], proof: &[u8]) -> Vec<u8> {
    let selector = keccak256(b"submitBatch(uint256[12],uint256,uint256,uint256,bytes)");
    let mut out = selector[..4].to_vec();
    for x in instances.iter().take(15) {
        out.extend_from_slice(&word(x));
    }
    // Head: 12 + 3 static words and the offset of `proof`; then its length and padded bytes.
    out.extend_from_slice(&uint(16 * 32));
    out.extend_from_slice(&uint(proof.len() as u64));
    out.extend_from_slice(proof);
    out.resize(out.len() + (32 - proof.len() % 32) % 32, 0);
    out
}

fn uint(x: u64) -> [u8; 32] {
    let mut out = [0u8; 32];
    out[24..].copy_from_slice(&x.to_be_bytes());
    out
}

/// Why the contracts could not be used.
#[derive(Debug, thiserror::Error)]
pub enum L1Error {
    /// Invalid transaction.
    #[error(transparent)]
    Evm(#[from] EvmError),
    /// A deployment failed.
    #[error("deploying {contract}: {reason}")]
    Deploy {
        /// Which contract.
        contract: &'static str,
        /// Why.
        reason: String,
    },
}

/// The verifier and the rollup contract deployed on an in-process chain.
pub struct L1 {
    /// The chain.
    pub chain: Chain,
    /// Verifier address.
    pub verifier: Address,
    /// Rollup address.
    pub rollup: Address,
    /// Deployment receipts: verifier, rollup.
    pub deployments: [Receipt; 2],
}

impl L1 {
    /// Deploys both contracts on a fresh chain with mainnet limits (EIP-170 included), the
    /// rollup starting at `genesis_root`.
    pub fn deploy(contracts: &Contracts, genesis_root: &Fr) -> Result<Self, L1Error> {
        let mut chain = Chain::new(true);
        let deployed = |receipt: Receipt, contract: &'static str| match receipt.created {
            Some(address) if receipt.success => Ok((address, receipt)),
            _ => Err(L1Error::Deploy {
                contract,
                reason: receipt.failure.unwrap_or_else(|| "no address".into()),
            }),
        };
        let (verifier, verifier_receipt) = deployed(
            chain.deploy(contracts.verifier.creation.clone())?,
            "verifier",
        )?;
        let mut creation = contracts.rollup.creation.clone();
        let mut address_word = [0u8; 32];
        address_word[12..].copy_from_slice(verifier.as_slice());
        creation.extend_from_slice(&address_word);
        creation.extend_from_slice(&word(genesis_root));
        let (rollup, rollup_receipt) = deployed(chain.deploy(creation)?, "Rollup")?;
        Ok(Self {
            chain,
            verifier,
            rollup,
            deployments: [verifier_receipt, rollup_receipt],
        })
    }

    /// Calls the verifier directly with a proof.
    pub fn verify(&mut self, instances: &[Fr], proof: &[u8]) -> Result<Receipt, L1Error> {
        Ok(self
            .chain
            .call(self.verifier, verifier_calldata(instances, proof))?)
    }

    /// Submits a batch to the rollup contract.
    pub fn submit_batch(&mut self, instances: &[Fr], proof: &[u8]) -> Result<Receipt, L1Error> {
        Ok(self
            .chain
            .call(self.rollup, submit_batch_calldata(instances, proof))?)
    }

    /// Reads a `uint256` getter of the rollup contract (`stateRoot()`, `batchNumber()`).
    pub fn read(&mut self, getter: &str) -> Result<[u8; 32], L1Error> {
        let selector = keccak256(getter.as_bytes());
        let receipt = self.chain.call(self.rollup, selector[..4].to_vec())?;
        let mut out = [0u8; 32];
        if receipt.success && receipt.output.len() == 32 {
            out.copy_from_slice(&receipt.output);
        }
        Ok(out)
    }
}
