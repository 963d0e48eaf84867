//! # zkroll-verifier-contract
//!
//! The last stage of the pipeline `engine -> circuits -> prover -> aggregator ->
//! verifier-contract`: what L1 runs.
//!
//! - [`verifier_solidity`]: the Solidity verifier snark-verifier generates from the final
//!   aggregation circuit's verifying key (it checks the proof and the KZG accumulator's
//!   pairing).
//! - `contracts/Rollup.sol`: the rollup contract ([`ROLLUP_SOL`]): state root, batch number,
//!   `submitBatch` through the verifier, the L1 -> L2 deposit queue, withdrawals, exodus mode
//!   and exits (with `BabyJubjub.sol`, `EddsaPoseidon.sol` and the generated Poseidon
//!   contracts).
//! - [`solc`]: compilation with solcjs from npm (pinned, offline).
//! - [`evm`]: an in-process EVM (revm) to deploy and call them and measure gas.
//! - [`poseidon`]: circomlib's Poseidon as a Solidity contract generated from the engine's
//!   parameters (for checking state-tree paths on L1).
//! - [`L1`]: the contracts deployed on such a chain, with the calls encoded.
//! - [`node`]: the same contracts on an Ethereum node over JSON-RPC (alloy).

pub mod evm;
pub mod node;
pub mod poseidon;
pub mod solc;

use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_base::halo2_proofs::halo2curves::ff::PrimeField;
use halo2_base::halo2_proofs::plonk::VerifyingKey;
use halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use revm::primitives::{keccak256, Address, U256};
use snark_verifier_sdk::evm::gen_evm_verifier_sol_code;
use snark_verifier_sdk::halo2::aggregation::AggregationCircuit;
use snark_verifier_sdk::SHPLONK;

use zkroll_aggregator::circuit::ACCUMULATOR_LIMBS;
use zkroll_circuits::field::to_circuit;
use zkroll_engine::exit::ExitClaim;
use zkroll_engine::pubdata;
use zkroll_engine::PubdataError;

use crate::evm::{Chain, EvmError, Receipt};
use crate::solc::{Compiled, Solc, SolcError};

/// Source of `contracts/Rollup.sol`.
pub const ROLLUP_SOL: &str = include_str!("../contracts/Rollup.sol");

/// Source of `contracts/PubdataBinding.sol`: L1's side of the pubdata binding
/// (`zkroll_engine::pubdata`).
pub const PUBDATA_BINDING_SOL: &str = include_str!("../contracts/PubdataBinding.sol");

/// Source of `contracts/EddsaPoseidon.sol`: EdDSA-Poseidon verification on Baby Jubjub (the
/// engine's `PublicKey::verify`), with the generated `PoseidonT6` ([`poseidon`]).
pub const EDDSA_POSEIDON_SOL: &str = include_str!("../contracts/EddsaPoseidon.sol");

/// Source of `contracts/BabyJubjub.sol`: the curve of keys and signatures on L1 (usable keys,
/// point arithmetic).
pub const BABY_JUBJUB_SOL: &str = include_str!("../contracts/BabyJubjub.sol");

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

/// The widths of the Poseidon contracts the rollup calls: 3 (tree nodes), 5 (leaves),
/// 6 (EdDSA challenges and exit messages), in the constructor's order.
pub const POSEIDON_WIDTHS: [usize; 3] = [3, 5, 6];

/// The L1 contracts compiled.
#[derive(Debug, Clone)]
pub struct Contracts {
    /// The generated verifier.
    pub verifier: Compiled,
    /// Rollup.sol.
    pub rollup: Compiled,
    /// `PoseidonT3`, `PoseidonT5`, `PoseidonT6` ([`POSEIDON_WIDTHS`]).
    pub poseidon: [Compiled; 3],
}

/// Rollup.sol and the libraries it imports, as solc sources.
pub fn rollup_sources() -> [(&'static str, &'static str); 4] {
    [
        ("Rollup.sol", ROLLUP_SOL),
        ("PubdataBinding.sol", PUBDATA_BINDING_SOL),
        ("EddsaPoseidon.sol", EDDSA_POSEIDON_SOL),
        ("BabyJubjub.sol", BABY_JUBJUB_SOL),
    ]
}

/// Compiles Rollup.sol.
pub fn compile_rollup(solc: &Solc) -> Result<Compiled, SolcError> {
    solc.compile(&rollup_sources(), true, "Rollup.sol", "Rollup")
}

/// Compiles the Poseidon contracts of [`POSEIDON_WIDTHS`].
pub fn compile_poseidon(solc: &Solc) -> Result<[Compiled; 3], SolcError> {
    let compile = |width: usize| {
        let name = poseidon::contract_name(width);
        let file = format!("{name}.sol");
        solc.compile(&[(&file, &poseidon::solidity(width))], true, &file, &name)
    };
    Ok([compile(3)?, compile(5)?, compile(6)?])
}

/// Compiles the verifier source, Rollup.sol and the Poseidon contracts.
pub fn compile(solc: &Solc, verifier_source: &str) -> Result<Contracts, SolcError> {
    let verifier = solc.compile(
        &[("Verifier.sol", verifier_source)],
        false,
        "Verifier.sol",
        "Halo2Verifier",
    )?;
    Ok(Contracts {
        verifier,
        rollup: compile_rollup(solc)?,
        poseidon: compile_poseidon(solc)?,
    })
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

/// A revert's data as the rollup contract's custom error with its arguments
/// (`DepositMismatch(0, 3)`), from the error declarations of Rollup.sol and its libraries;
/// the raw bytes when it is none of them.
pub fn decode_revert(data: &[u8]) -> String {
    let Some(found) = data.get(..4) else {
        return format!("reverted without an error (0x{})", hex::encode(data));
    };
    let declared = rollup_sources().into_iter().flat_map(|(_, source)| {
        source.lines().filter_map(|line| {
            let declaration = line.trim().strip_prefix("error ")?.strip_suffix(");")?;
            let (name, params) = declaration.split_once('(')?;
            let types: Vec<&str> = params
                .split(',')
                .filter_map(|p| p.split_whitespace().next())
                .collect();
            Some((name.to_string(), types))
        })
    });
    for (name, types) in declared {
        if selector(&format!("{name}({})", types.join(","))) != found {
            continue;
        }
        let args: Vec<String> = data[4..]
            .chunks(32)
            .zip(&types)
            .map(|(word, ty)| {
                let value = U256::from_be_slice(word);
                if *ty == "address" {
                    format!("{}", Address::from_word(value.to_be_bytes::<32>().into()))
                } else {
                    value.to_string()
                }
            })
            .collect();
        return format!("{name}({})", args.join(", "));
    }
    format!("reverted with 0x{}", hex::encode(data))
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

/// An unsigned integer as an ABI word.
pub fn uint(x: u64) -> [u8; 32] {
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
    /// A call the caller needed was refused.
    #[error("{what}: {reason}")]
    Refused {
        /// What was refused.
        what: String,
        /// The revert, in words.
        reason: String,
    },
    /// A deployment failed.
    #[error("deploying {contract}: {reason}")]
    Deploy {
        /// Which contract.
        contract: &'static str,
        /// Why.
        reason: String,
    },
}

/// Wei per L2 unit: L2 amounts are gwei.
pub const GWEI: u64 = 1_000_000_000;

/// `Rollup.deposit`.
pub const DEPOSIT: &str = "deposit(uint256,uint256,uint256)";
/// `Rollup.withdraw`.
pub const WITHDRAW: &str = "withdraw()";
/// `Rollup.activateExodus`.
pub const ACTIVATE_EXODUS: &str = "activateExodus()";
/// `Rollup.refundDeposit`.
pub const REFUND_DEPOSIT: &str = "refundDeposit(uint256)";

/// The default `exodusDelay`: about a day of 12-second blocks.
pub const DEFAULT_EXODUS_DELAY: u64 = 7_200;

/// The rollup contract's constructor arguments.
#[derive(Debug, Clone)]
pub struct RollupDeployment {
    /// The state root to start from.
    pub genesis_root: Fr,
    /// The state tree's depth.
    pub depth: u8,
    /// Blocks a queued deposit may wait before exodus mode can be activated.
    pub exodus_delay: u64,
    /// Gwei held by the genesis accounts (sent with the deployment).
    pub genesis_supply: u64,
    /// `(account, x, y)` of each genesis account's key.
    pub genesis_keys: Vec<(u32, Fr, Fr)>,
}

impl RollupDeployment {
    /// A rollup starting at `root` in a tree of `depth`, with no genesis account known to L1
    /// and no genesis supply (what `zkroll verify --evm` deploys to check one batch).
    pub fn at(root: Fr, depth: u8) -> Self {
        Self {
            genesis_root: root,
            depth,
            exodus_delay: DEFAULT_EXODUS_DELAY,
            genesis_supply: 0,
            genesis_keys: Vec::new(),
        }
    }

    /// The ABI-encoded constructor arguments for a verifier at `verifier` and the Poseidon
    /// contracts at `poseidon` ([`POSEIDON_WIDTHS`]).
    pub fn constructor_args(&self, verifier: Address, poseidon: [Address; 3]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&address_word(verifier));
        out.extend_from_slice(&word(&self.genesis_root));
        out.extend_from_slice(&uint(self.depth.into()));
        out.extend_from_slice(&uint(self.exodus_delay));
        out.extend_from_slice(&uint(self.genesis_supply));
        // The dynamic array `genesisKeys`: its offset after the nine head words (the static
        // `address[3]` sits in the head).
        out.extend_from_slice(&uint(9 * 32));
        for address in poseidon {
            out.extend_from_slice(&address_word(address));
        }
        out.extend_from_slice(&uint(self.genesis_keys.len() as u64));
        for (account, x, y) in &self.genesis_keys {
            out.extend_from_slice(&uint((*account).into()));
            out.extend_from_slice(&word(x));
            out.extend_from_slice(&word(y));
        }
        out
    }
}

/// An address as an ABI word.
pub fn address_word(address: Address) -> [u8; 32] {
    let mut out = [0u8; 32];
    out[12..].copy_from_slice(address.as_slice());
    out
}

/// Calldata of `signature` with static arguments `args` (one word each).
pub fn call_data(signature: &str, args: &[[u8; 32]]) -> Vec<u8> {
    let mut out = selector(signature).to_vec();
    for a in args {
        out.extend_from_slice(a);
    }
    out
}

/// `Rollup.deposit` calldata: `gwei` (sent as value) to `account` under key `(x, y)`.
pub fn deposit_calldata(account: u32, x: &Fr, y: &Fr) -> Vec<u8> {
    call_data(DEPOSIT, &[word(x), word(y), uint(account.into())])
}

/// `Rollup.exit`.
pub const EXIT: &str = "exit(uint256,uint256[4],uint256[],address,uint256[3])";

/// `Rollup.exit` calldata for `claim`.
pub fn exit_calldata(claim: &ExitClaim) -> Vec<u8> {
    let leaf = &claim.leaf;
    let mut out = selector(EXIT).to_vec();
    out.extend_from_slice(&uint(claim.account.into()));
    out.extend_from_slice(&word(&to_circuit(&leaf.public_key.0.x)));
    out.extend_from_slice(&word(&to_circuit(&leaf.public_key.0.y)));
    out.extend_from_slice(&uint(leaf.balance));
    out.extend_from_slice(&uint(leaf.nonce.into()));
    // `siblings` is dynamic: its offset after the ten head words.
    out.extend_from_slice(&uint(10 * 32));
    out.extend_from_slice(&address_word(Address::from(claim.recipient.0)));
    let signature = &claim.signature;
    out.extend_from_slice(&word(&to_circuit(&signature.r8.x)));
    out.extend_from_slice(&word(&to_circuit(&signature.r8.y)));
    out.extend_from_slice(&scalar_word(&signature.s));
    out.extend_from_slice(&uint(claim.siblings.len() as u64));
    for sibling in &claim.siblings {
        out.extend_from_slice(&word(&to_circuit(sibling)));
    }
    out
}

/// A Baby Jubjub scalar as a 32-byte big-endian word.
fn scalar_word(s: &zkroll_engine::babyjubjub::Scalar) -> [u8; 32] {
    let mut out = zkroll_engine::field::to_bytes_le(s);
    out.reverse();
    out
}

/// A deposit of `pubdata`: account, key and amount (gwei).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueuedDeposit {
    /// L2 account.
    pub account: u32,
    /// Key x.
    pub x: Fr,
    /// Key y.
    pub y: Fr,
    /// Gwei.
    pub amount: u64,
}

/// The deposits of `pubdata`, in order: what must be queued on L1 before the batch.
pub fn batch_deposits(pubdata: &[u8]) -> Result<Vec<QueuedDeposit>, PubdataError> {
    let records = pubdata::parse(pubdata)?;
    let keys = deposit_keys(pubdata)?;
    Ok(records
        .iter()
        .filter_map(|record| match record {
            pubdata::Record::Deposit {
                account, amount, ..
            } => Some((*account, *amount)),
            _ => None,
        })
        .zip(keys)
        .map(|((account, amount), (x, y))| QueuedDeposit {
            account,
            x,
            y,
            amount,
        })
        .collect())
}

/// The verifier and the rollup contract deployed on an in-process chain.
pub struct L1 {
    /// The chain.
    pub chain: Chain,
    /// Verifier address.
    pub verifier: Address,
    /// Rollup address.
    pub rollup: Address,
    /// The Poseidon contracts' addresses ([`POSEIDON_WIDTHS`]).
    pub poseidon: [Address; 3],
    /// Deployment receipts: verifier, rollup.
    pub deployments: [Receipt; 2],
}

impl L1 {
    /// Deploys both contracts on a fresh chain with mainnet limits (EIP-170 included), the
    /// rollup with `deployment`'s arguments (its genesis supply sent by the deployer).
    pub fn deploy(contracts: &Contracts, deployment: &RollupDeployment) -> Result<Self, L1Error> {
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
        let mut poseidon = [Address::ZERO; 3];
        for (address, compiled) in poseidon.iter_mut().zip(&contracts.poseidon) {
            *address = deployed(chain.deploy(compiled.creation.clone())?, "Poseidon")?.0;
        }
        let mut creation = contracts.rollup.creation.clone();
        creation.extend_from_slice(&deployment.constructor_args(verifier, poseidon));
        let value = U256::from(deployment.genesis_supply) * U256::from(GWEI);
        chain.fund(Chain::DEFAULT_SENDER, value)?;
        let (rollup, rollup_receipt) = deployed(
            chain.deploy_from(Chain::DEFAULT_SENDER, value, creation)?,
            "Rollup",
        )?;
        Ok(Self {
            chain,
            verifier,
            rollup,
            poseidon,
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

    /// `from` deposits `gwei` to `account` under key `(x, y)` (`from` is given the ETH first).
    pub fn deposit(
        &mut self,
        from: Address,
        account: u32,
        x: &Fr,
        y: &Fr,
        gwei: u64,
    ) -> Result<Receipt, L1Error> {
        let value = U256::from(gwei) * U256::from(GWEI);
        let balance = self.chain.balance(from)?;
        self.chain.fund(from, balance + value)?;
        Ok(self
            .chain
            .call_from(from, self.rollup, value, deposit_calldata(account, x, y))?)
    }

    /// Queues on L1, from `from`, the deposits of `pubdata` in order (what an operator's
    /// users do before the batch that consumes them); the receipts, each checked.
    pub fn queue_deposits(
        &mut self,
        from: Address,
        pubdata: &[u8],
    ) -> Result<Vec<Receipt>, L1Error> {
        let mut receipts = Vec::new();
        for (i, d) in batch_deposits(pubdata)?.iter().enumerate() {
            let receipt = self.deposit(from, d.account, &d.x, &d.y, d.amount)?;
            if !receipt.success {
                return Err(L1Error::Refused {
                    what: format!("deposit {i} of the batch (account {})", d.account),
                    reason: receipt.failure.unwrap_or_default(),
                });
            }
            receipts.push(receipt);
        }
        Ok(receipts)
    }

    /// `from` sends `claim`'s exit (exodus mode).
    pub fn exit(&mut self, from: Address, claim: &ExitClaim) -> Result<Receipt, L1Error> {
        Ok(self
            .chain
            .call_from(from, self.rollup, U256::ZERO, exit_calldata(claim))?)
    }

    /// `from` claims what it can withdraw.
    pub fn withdraw(&mut self, from: Address) -> Result<Receipt, L1Error> {
        Ok(self
            .chain
            .call_from(from, self.rollup, U256::ZERO, call_data(WITHDRAW, &[]))?)
    }

    /// Reads a `uint256` getter of the rollup contract (`stateRoot()`, `batchNumber()`).
    pub fn read(&mut self, getter: &str) -> Result<[u8; 32], L1Error> {
        self.read_with(getter, &[])
    }

    /// Reads a getter with static arguments (`pendingWithdrawal(address)`); zero when the
    /// call fails.
    pub fn read_with(&mut self, getter: &str, args: &[[u8; 32]]) -> Result<[u8; 32], L1Error> {
        let receipt = self.chain.call(self.rollup, call_data(getter, args))?;
        let mut out = [0u8; 32];
        if receipt.success && receipt.output.len() == 32 {
            out.copy_from_slice(&receipt.output);
        }
        Ok(out)
    }

    /// What `recipient` can withdraw, in wei.
    pub fn pending_withdrawal(&mut self, recipient: Address) -> Result<U256, L1Error> {
        let w = self.read_with("pendingWithdrawal(address)", &[address_word(recipient)])?;
        Ok(U256::from_be_bytes(w))
    }
}
