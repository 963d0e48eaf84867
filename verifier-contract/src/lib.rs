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

use zkroll_aggregator::circuit::ACCUMULATOR_LIMBS;
use zkroll_circuits::field::to_circuit;
use zkroll_engine::pubdata;
use zkroll_engine::PubdataError;

use crate::evm::{Chain, EvmError, Receipt};
use crate::solc::{Compiled, Solc, SolcError};

/// Source of `contracts/Rollup.sol`.
pub const ROLLUP_SOL: &str = include_str!("../contracts/Rollup.sol");

/// Source of `contracts/PubdataBinding.sol`: L1's side of the pubdata binding
/// (`zkroll_engine::pubdata`).
pub const PUBDATA_BINDING_SOL: &str = include_str!("../contracts/PubdataBinding.sol");

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

/// Rollup.sol and the library it imports, as solc sources.
pub fn rollup_sources() -> [(&'static str, &'static str); 2] {
    [
        ("Rollup.sol", ROLLUP_SOL),
        ("PubdataBinding.sol", PUBDATA_BINDING_SOL),
    ]
}

/// Compiles the verifier source and Rollup.sol.
pub fn compile(solc: &Solc, verifier_source: &str) -> Result<Contracts, SolcError> {
    let verifier = solc.compile(
        &[("Verifier.sol", verifier_source)],
        false,
        "Verifier.sol",
        "Halo2Verifier",
    )?;
    let rollup = solc.compile(&rollup_sources(), true, "Rollup.sol", "Rollup")?;
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

/// The 4-byte selector of a function or custom error (`"InvalidProof()"`): what a call
/// starts with, and what a revert with that error returns first.
pub fn selector(signature: &str) -> [u8; 4] {
    let hash = keccak256(signature.as_bytes());
    [hash[0], hash[1], hash[2], hash[3]]
}

/// The signature of `Rollup.submitBatch`.
pub const SUBMIT_BATCH: &str =
    "submitBatch(uint256[12],uint256,uint256,uint256,bytes,uint256[2][],bytes)";

/// Each deposit's public key `(x, y)` in `pubdata`, in order (what `submitBatch` takes beside
/// the packed keys of the records).
pub fn deposit_keys(pubdata: &[u8]) -> Result<Vec<(Fr, Fr)>, PubdataError> {
    let records = pubdata::parse(pubdata)?;
    let words = pubdata::pubdata_words(pubdata)?;
    Ok(records
        .iter()
        .zip(words)
        .filter(|(record, _)| matches!(record, pubdata::Record::Deposit { .. }))
        .map(|(_, w)| (to_circuit(&w[2]), to_circuit(&w[3])))
        .collect())
}

/// `Rollup.submitBatch` calldata for a final proof with public inputs `instances`
/// (accumulator, old root, new root, commitment; the binding's point and value that follow
/// are L1's to compute), the batch's `pubdata` and the deposits' keys taken from it.
pub fn submit_batch_calldata(
    instances: &[Fr],
    pubdata: &[u8],
    proof: &[u8],
) -> Result<Vec<u8>, PubdataError> {
    Ok(submit_batch_calldata_with_keys(
        instances,
        pubdata,
        &deposit_keys(pubdata)?,
        proof,
    ))
}

/// As [`submit_batch_calldata`], with the deposit keys given (tests give wrong ones).
pub fn submit_batch_calldata_with_keys(
    instances: &[Fr],
    pubdata: &[u8],
    keys: &[(Fr, Fr)],
    proof: &[u8],
) -> Vec<u8> {
    let mut out = selector(SUBMIT_BATCH).to_vec();
    for x in instances.iter().take(ACCUMULATOR_LIMBS + 3) {
        out.extend_from_slice(&word(x));
    }
    // Head: 12 + 3 static words and the offsets of `pubdata`, `depositKeys` and `proof`;
    // then each one's length and contents (bytes padded to words).
    let padded = |n: usize| n.div_ceil(32) * 32;
    let head = (ACCUMULATOR_LIMBS + 3 + 3) * 32;
    let pubdata_at = head;
    let keys_at = pubdata_at + 32 + padded(pubdata.len());
    let proof_at = keys_at + 32 + 64 * keys.len();
    for offset in [pubdata_at, keys_at, proof_at] {
        out.extend_from_slice(&uint(offset as u64));
    }
    let bytes = |data: &[u8], out: &mut Vec<u8>| {
        out.extend_from_slice(&uint(data.len() as u64));
        out.extend_from_slice(data);
        out.resize(out.len() + padded(data.len()) - data.len(), 0);
    };
    bytes(pubdata, &mut out);
    out.extend_from_slice(&uint(keys.len() as u64));
    for (x, y) in keys {
        out.extend_from_slice(&word(x));
        out.extend_from_slice(&word(y));
    }
    bytes(proof, &mut out);
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
    /// The batch's pubdata cannot be read.
    #[error("pubdata: {0}")]
    Pubdata(#[from] PubdataError),
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

    /// Submits a batch (its final proof's public inputs, its pubdata, the proof) to the
    /// rollup contract.
    pub fn submit_batch(
        &mut self,
        instances: &[Fr],
        pubdata: &[u8],
        proof: &[u8],
    ) -> Result<Receipt, L1Error> {
        let data = submit_batch_calldata(instances, pubdata, proof)?;
        Ok(self.chain.call(self.rollup, data)?)
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
