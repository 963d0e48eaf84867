//! The L1 contracts on an Ethereum node, over JSON-RPC with alloy: what `zkroll l1` and the
//! prover service use to deploy the rollup, queue deposits, read the queue back, submit
//! batches, claim withdrawals and exit. [`crate::L1`] is the same on an in-process revm chain
//! (tests and gas figures); this is the real thing, on a devnet node or any chain.
//!
//! Calldata is encoded by the crate's functions (`submit_batch_calldata`, `deposit_calldata`,
//! `exit_calldata`), shared with the revm path; a transaction L1 refuses is reported with the
//! contract's custom error decoded ([`crate::decode_revert`]).

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, Bytes, B256, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{Filter, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use serde::{Deserialize, Serialize};

use zkroll_engine::babyjubjub::Point;
use zkroll_engine::eddsa::PublicKey;
use zkroll_engine::L1Deposit;

use crate::{call_data, decode_revert, RollupDeployment};

/// Why the node could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The RPC URL does not parse.
    #[error("{url}: not an RPC URL: {reason}")]
    BadUrl {
        /// The URL given.
        url: String,
        /// Why.
        reason: String,
    },
    /// The L1 key is not a secp256k1 private key.
    #[error("the L1 key is not a secp256k1 private key (64 hex digits)")]
    BadKey,
    /// A transaction was asked of a node connected without a key.
    #[error("{0}: no L1 key given (--l1-key or ZKROLL_L1_KEY)")]
    NoKey(String),
    /// The node did not answer, or answered an error other than a revert.
    #[error("{what}: {reason}")]
    Rpc {
        /// What was asked.
        what: String,
        /// The node's error.
        reason: String,
    },
    /// The contract refused the call.
    #[error("{what} refused by L1: {reason}")]
    Reverted {
        /// What was sent.
        what: String,
        /// The contract's error, decoded when it is one of the rollup's.
        reason: String,
    },
    /// The node's answer is not what the contract emits.
    #[error("{0}")]
    Malformed(String),
    /// The node is on another chain than the deployment.
    #[error("the node at {url} is chain {node}, the rollup is deployed on chain {deployed}")]
    WrongChain {
        /// The RPC URL.
        url: String,
        /// The node's chain id.
        node: u64,
        /// The deployment's chain id.
        deployed: u64,
    },
}

/// A transaction the node mined.
#[derive(Debug, Clone, Serialize)]
pub struct Mined {
    /// Transaction hash.
    pub hash: B256,
    /// Gas used.
    pub gas_used: u64,
    /// Block it was mined in.
    pub block: u64,
    /// The contract it created, if any.
    pub created: Option<Address>,
}

/// Where the contracts of a rollup live on a chain: what `zkroll l1 deploy` writes and the
/// other `zkroll l1` commands read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deployment {
    /// The chain's id.
    pub chain_id: u64,
    /// The rollup contract.
    pub rollup: Address,
    /// The proof verifier.
    pub verifier: Address,
    /// The Poseidon contracts ([`crate::POSEIDON_WIDTHS`]).
    pub poseidon: [Address; 3],
    /// The block the rollup was created in (where its event logs start).
    pub block: u64,
}

/// The creation codes `zkroll gen-verifier` writes (`*.bin`).
#[derive(Debug, Clone)]
pub struct CreationCodes {
    /// The verifier.
    pub verifier: Vec<u8>,
    /// Rollup.sol (without constructor arguments).
    pub rollup: Vec<u8>,
    /// The Poseidon contracts ([`crate::POSEIDON_WIDTHS`]).
    pub poseidon: [Vec<u8>; 3],
}

/// `DepositQueued(uint256 indexed index, uint256 indexed account, uint256 x, uint256 y,
/// uint256 amount, address depositor)`.
pub const DEPOSIT_QUEUED: &str = "DepositQueued(uint256,uint256,uint256,uint256,uint256,address)";

/// A node, with a key to send transactions from (or read-only).
pub struct Node {
    provider: DynProvider,
    sender: Option<Address>,
    chain_id: u64,
}

fn rpc(what: &str, e: impl std::fmt::Display) -> NodeError {
    NodeError::Rpc {
        what: what.to_string(),
        reason: e.to_string(),
    }
}

impl Node {
    /// Connects to the node at `url` for the rollup of `deployment`, refusing a node on
    /// another chain ([`NodeError::WrongChain`]); sends from `key` as [`Node::connect`].
    pub async fn connect_to(
        url: &str,
        key: Option<&str>,
        deployment: &Deployment,
    ) -> Result<Self, NodeError> {
        let node = Self::connect(url, key).await?;
        if node.chain_id() != deployment.chain_id {
            return Err(NodeError::WrongChain {
                url: url.to_string(),
                node: node.chain_id(),
                deployed: deployment.chain_id,
            });
        }
        Ok(node)
    }

    /// Connects to the node at `url`, sending from the account of `key` (hex secp256k1
    /// private key) when given (see [`Node::connect_to`] for a deployed rollup).
    pub async fn connect(url: &str, key: Option<&str>) -> Result<Self, NodeError> {
        let parsed: alloy::transports::http::reqwest::Url =
            url.parse().map_err(|e| NodeError::BadUrl {
                url: url.to_string(),
                reason: format!("{e}"),
            })?;
        let (provider, sender) = match key {
            Some(key) => {
                let signer: PrivateKeySigner = key
                    .trim()
                    .trim_start_matches("0x")
                    .parse()
                    .map_err(|_| NodeError::BadKey)?;
                let sender = signer.address();
                let provider = ProviderBuilder::new()
                    .wallet(signer)
                    .connect_http(parsed)
                    .erased();
                (provider, Some(sender))
            }
            None => (ProviderBuilder::new().connect_http(parsed).erased(), None),
        };
        let chain_id = provider
            .get_chain_id()
            .await
            .map_err(|e| rpc(&format!("{url}: eth_chainId"), e))?;
        Ok(Self {
            provider,
            sender,
            chain_id,
        })
    }

    /// The chain's id.
    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The account transactions are sent from.
    pub fn sender(&self) -> Option<Address> {
        self.sender
    }

    /// Sends a transaction (`to: None` creates a contract) and waits for it to be mined.
    /// A transaction the contract refuses is not sent: its gas estimate reverts, and the
    /// error says why.
    pub async fn send(
        &self,
        what: &str,
        to: Option<Address>,
        value: U256,
        data: Vec<u8>,
    ) -> Result<Mined, NodeError> {
        let from = self.sender.ok_or_else(|| NodeError::NoKey(what.into()))?;
        let mut tx = TransactionRequest::default()
            .with_from(from)
            .with_value(value)
            .with_input(Bytes::from(data));
        match to {
            Some(to) => tx.set_to(to),
            None => tx.set_create(),
        }
        let pending = self
            .provider
            .send_transaction(tx)
            .await
            .map_err(|e| refusal(what, e))?;
        let receipt = pending.get_receipt().await.map_err(|e| rpc(what, e))?;
        if !receipt.status() {
            return Err(NodeError::Reverted {
                what: what.into(),
                reason: format!("transaction {} reverted", receipt.transaction_hash),
            });
        }
        Ok(Mined {
            hash: receipt.transaction_hash,
            gas_used: receipt.gas_used,
            block: receipt.block_number.unwrap_or_default(),
            created: receipt.contract_address,
        })
    }

    /// Calls `to` without a transaction (`eth_call`).
    pub async fn call(&self, what: &str, to: Address, data: Vec<u8>) -> Result<Vec<u8>, NodeError> {
        let tx = TransactionRequest::default()
            .with_to(to)
            .with_input(Bytes::from(data));
        let out = self.provider.call(tx).await.map_err(|e| refusal(what, e))?;
        Ok(out.to_vec())
    }

    /// A `uint256` getter of `to` (`"stateRoot()"`, `"pendingWithdrawal(address)"`).
    pub async fn read(
        &self,
        to: Address,
        getter: &str,
        args: &[[u8; 32]],
    ) -> Result<U256, NodeError> {
        let out = self.call(getter, to, call_data(getter, args)).await?;
        if out.len() != 32 {
            return Err(NodeError::Malformed(format!(
                "{getter} at {to}: {} bytes returned, not one word (is it the rollup contract?)",
                out.len()
            )));
        }
        Ok(U256::from_be_slice(&out))
    }

    /// `address`'s balance in wei.
    pub async fn balance(&self, address: Address) -> Result<U256, NodeError> {
        self.provider
            .get_balance(address)
            .await
            .map_err(|e| rpc("eth_getBalance", e))
    }

    /// Deploys the verifier, the Poseidon contracts and the rollup with `deployment`'s
    /// arguments (its genesis supply sent from the key's account).
    pub async fn deploy(
        &self,
        codes: &CreationCodes,
        deployment: &RollupDeployment,
    ) -> Result<Deployment, NodeError> {
        let create = |what: &'static str, code: Vec<u8>, value: U256| async move {
            let mined = self.send(what, None, value, code).await?;
            mined
                .created
                .map(|a| (a, mined.block))
                .ok_or_else(|| NodeError::Malformed(format!("{what}: no contract address")))
        };
        let (verifier, _) =
            create("deploying the verifier", codes.verifier.clone(), U256::ZERO).await?;
        let mut poseidon = [Address::ZERO; 3];
        for (address, code) in poseidon.iter_mut().zip(&codes.poseidon) {
            *address = create("deploying a Poseidon contract", code.clone(), U256::ZERO)
                .await?
                .0;
        }
        let mut creation = codes.rollup.clone();
        creation.extend_from_slice(&deployment.constructor_args(verifier, poseidon));
        let value = U256::from(deployment.genesis_supply) * U256::from(crate::GWEI);
        let (rollup, block) = create("deploying Rollup", creation, value).await?;
        Ok(Deployment {
            chain_id: self.chain_id,
            rollup,
            verifier,
            poseidon,
            block,
        })
    }

    /// The deposits queued on `deployment`'s rollup from queue index `from` on, in order,
    /// read from its `DepositQueued` events: what the engine executes next.
    pub async fn queued_deposits(
        &self,
        deployment: &Deployment,
        from: u64,
    ) -> Result<Vec<L1Deposit>, NodeError> {
        let filter = Filter::new()
            .address(deployment.rollup)
            .event(DEPOSIT_QUEUED)
            .from_block(deployment.block);
        let logs = self
            .provider
            .get_logs(&filter)
            .await
            .map_err(|e| rpc("eth_getLogs (DepositQueued)", e))?;
        let mut out = Vec::new();
        for log in logs {
            let topics = log.topics();
            let data = log.data().data.as_ref();
            if topics.len() != 3 || data.len() != 4 * 32 {
                return Err(NodeError::Malformed(format!(
                    "a DepositQueued event with {} topics and {} data bytes",
                    topics.len(),
                    data.len()
                )));
            }
            let index = word_u64(topics[1].as_slice(), "deposit index")?;
            if index < from {
                continue;
            }
            let expected = from + out.len() as u64;
            if index != expected {
                return Err(NodeError::Malformed(format!(
                    "DepositQueued events skip from queue entry {expected} to {index}"
                )));
            }
            let account = word_u64(topics[2].as_slice(), "deposit account")?;
            let coordinate = |i: usize| {
                let mut le: [u8; 32] = data[i * 32..(i + 1) * 32]
                    .try_into()
                    .map_err(|_| NodeError::Malformed("short word".into()))?;
                le.reverse();
                zkroll_engine::field::from_bytes_le(&le).ok_or_else(|| {
                    NodeError::Malformed(format!("deposit {index}: a key coordinate >= r"))
                })
            };
            out.push(L1Deposit {
                index,
                account: u32::try_from(account).map_err(|_| {
                    NodeError::Malformed(format!("deposit {index}: account {account}"))
                })?,
                public_key: PublicKey(Point {
                    x: coordinate(0)?,
                    y: coordinate(1)?,
                }),
                amount: word_u64(&data[64..96], "deposit amount")?,
            });
        }
        Ok(out)
    }
}

/// A 32-byte big-endian word that must fit 64 bits.
fn word_u64(word: &[u8], what: &str) -> Result<u64, NodeError> {
    let value = U256::from_be_slice(word);
    u64::try_from(value)
        .map_err(|_| NodeError::Malformed(format!("{what} {value} exceeds 64 bits")))
}

/// A send or call error: the contract's revert decoded when the node returned its data.
fn refusal(what: &str, e: alloy::transports::TransportError) -> NodeError {
    match e
        .as_error_resp()
        .and_then(|payload| payload.as_revert_data())
    {
        Some(data) => NodeError::Reverted {
            what: what.into(),
            reason: decode_revert(&data),
        },
        None => rpc(what, e),
    }
}
