//! `zkroll l1`: the rollup's contracts on an Ethereum node over JSON-RPC (a devnet node or any
//! chain): deploy them from a state, queue deposits, read the queue into the engine, submit a
//! proven batch, claim withdrawals, switch to exodus mode, refund deposits and exit.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use zkroll_circuits::field::to_circuit;
use zkroll_engine::exit::ExitClaim;
use zkroll_engine::field::to_hex;
use zkroll_engine::tx::L1Address;
use zkroll_engine::StateDb;
use zkroll_prover::proof_file::{ProofFile, ProofSubject};
use zkroll_verifier_contract::node::{CreationCodes, Deployment, Node};
use zkroll_verifier_contract::{
    address_word, call_data, deposit_calldata, exit_calldata, poseidon, submit_batch_calldata,
    word, RollupDeployment, ACTIVATE_EXODUS, DEFAULT_EXODUS_DELAY, GWEI, POSEIDON_WIDTHS,
    REFUND_DEPOSIT, WITHDRAW,
};

use crate::execute::L1DepositsFile;
use crate::files::{read_json, write_json};
use crate::output::outln;
use crate::wallet::WalletFile;

/// The node and the key every `zkroll l1` command takes.
#[derive(Args)]
pub struct NodeArgs {
    /// JSON-RPC URL of the L1 node.
    #[arg(long, env = "ZKROLL_L1_RPC", default_value = "http://127.0.0.1:8545")]
    rpc: String,
    /// secp256k1 private key (64 hex digits) of the L1 account that sends the transaction
    /// (read from the environment rather than the command line where others can see it).
    #[arg(long, env = "ZKROLL_L1_KEY", hide_env_values = true)]
    l1_key: Option<String>,
}

/// The deployed rollup a command acts on: the node, the key and the deployment file.
#[derive(Args)]
pub struct RollupArgs {
    #[command(flatten)]
    node: NodeArgs,
    /// Deployment file written by `zkroll l1 deploy`.
    #[arg(long)]
    deployment: PathBuf,
}

#[derive(Subcommand)]
pub enum L1Command {
    /// Deploy the verifier, the Poseidon contracts and Rollup at the state's root, with its
    /// accounts' keys and its supply (sent from the L1 key's account).
    Deploy {
        #[command(flatten)]
        node: NodeArgs,
        /// Data directory whose state the rollup starts from.
        #[arg(long)]
        data_dir: PathBuf,
        /// Directory written by `zkroll gen-verifier` (Verifier.bin, Rollup.bin,
        /// PoseidonT3.bin, PoseidonT5.bin, PoseidonT6.bin).
        #[arg(long)]
        contracts: PathBuf,
        /// Blocks a queued deposit may wait before exodus mode can be switched on.
        #[arg(long, default_value_t = DEFAULT_EXODUS_DELAY)]
        exodus_delay: u64,
        /// Where to write the deployment (addresses, chain id, block).
        #[arg(long)]
        out: PathBuf,
    },
    /// Queue deposits on L1 (the ETH sent from the L1 key's account): one, or every deposit
    /// of an L1 deposits file (`zkroll gen-txs`'s l1-deposits.json).
    Deposit {
        #[command(flatten)]
        rollup: RollupArgs,
        /// L1 deposits file: queue each of its deposits, in order.
        #[arg(long, conflicts_with_all = ["account", "wallet", "gwei"])]
        file: Option<PathBuf>,
        /// L2 account credited.
        #[arg(long, required_unless_present = "file")]
        account: Option<u32>,
        /// Wallet file of the L2 key the account is (or will be) under.
        #[arg(long, required_unless_present = "file")]
        wallet: Option<PathBuf>,
        /// Amount in gwei.
        #[arg(long, required_unless_present = "file")]
        gwei: Option<u64>,
    },
    /// Write the deposits queued on L1 that the state has not consumed yet, as an L1 deposits
    /// file for `zkroll execute --l1-deposits`.
    Sync {
        #[command(flatten)]
        rollup: RollupArgs,
        /// Data directory (its count of consumed deposits is where the file starts).
        #[arg(long)]
        data_dir: PathBuf,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Submit a batch: its final proof (with the pubdata it carries) to Rollup.submitBatch.
    Submit {
        #[command(flatten)]
        rollup: RollupArgs,
        /// The batch's final proof (`zkroll aggregate`'s final.json).
        #[arg(long)]
        proof: PathBuf,
    },
    /// Claim what the L1 key's account can withdraw (withdrawals, refunds, exits).
    Withdraw {
        #[command(flatten)]
        rollup: RollupArgs,
    },
    /// Switch the rollup to exodus mode (a queued deposit waited past the deadline).
    Exodus {
        #[command(flatten)]
        rollup: RollupArgs,
    },
    /// In exodus mode, credit a queued deposit back to its depositor.
    Refund {
        #[command(flatten)]
        rollup: RollupArgs,
        /// Queue index of the deposit.
        #[arg(long)]
        index: u64,
    },
    /// In exodus mode, exit an account with its balance in the last verified root, credited
    /// to an L1 address its L2 key signs for.
    Exit {
        #[command(flatten)]
        rollup: RollupArgs,
        /// Data directory holding the last verified state.
        #[arg(long)]
        data_dir: PathBuf,
        /// The account.
        #[arg(long)]
        account: u32,
        /// Wallet file of the account's L2 key.
        #[arg(long)]
        wallet: PathBuf,
        /// L1 address credited.
        #[arg(long)]
        recipient: L1Address,
    },
    /// Print the rollup's state on L1 (root, batches, queue, exodus) and an address's claim.
    Status {
        #[command(flatten)]
        rollup: RollupArgs,
        /// Also print what this address can withdraw.
        #[arg(long)]
        address: Option<L1Address>,
    },
}

/// Runs `future` to completion on a runtime of this thread.
fn block_on<T>(future: impl Future<Output = Result<T>>) -> Result<T> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(future)
}

async fn connect(node: &NodeArgs) -> Result<Node> {
    Ok(Node::connect(&node.rpc, node.l1_key.as_deref()).await?)
}

/// Connects and checks the deployment file is for this chain.
async fn connect_to(rollup: &RollupArgs) -> Result<(Node, Deployment)> {
    let (node, path) = (&rollup.node, &rollup.deployment);
    let deployment: Deployment = read_json(path)?;
    let l1 = Node::connect_to(&node.rpc, node.l1_key.as_deref(), &deployment)
        .await
        .with_context(|| path.display().to_string())?;
    Ok((l1, deployment))
}

fn read_bin(dir: &Path, name: &str) -> Result<Vec<u8>> {
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("{}: cannot read (run zkroll gen-verifier)", path.display()))?;
    hex::decode(text.trim().trim_start_matches("0x"))
        .with_context(|| format!("{}: not hex creation code", path.display()))
}

fn address(a: &L1Address) -> zkroll_verifier_contract::evm::Address {
    zkroll_verifier_contract::evm::Address::from(a.0)
}

pub fn run(cmd: L1Command) -> Result<ExitCode> {
    block_on(async move {
        match cmd {
            L1Command::Deploy {
                node,
                data_dir,
                contracts,
                exodus_delay,
                out,
            } => deploy(&node, &data_dir, &contracts, exodus_delay, &out).await,
            L1Command::Deposit {
                rollup,
                file,
                account,
                wallet,
                gwei,
            } => {
                let (l1, d) = connect_to(&rollup).await?;
                let deposits = match (file, account, wallet, gwei) {
                    (Some(file), ..) => {
                        let f: L1DepositsFile = read_json(&file)?;
                        f.deposits
                            .into_iter()
                            .map(|d| (d.account, d.public_key, d.amount))
                            .collect()
                    }
                    (None, Some(account), Some(wallet), Some(gwei)) => {
                        let file: WalletFile = read_json(&wallet)?;
                        vec![(account, file.public_key, gwei)]
                    }
                    _ => bail!("give --file, or --account, --wallet and --gwei"),
                };
                for (account, key, gwei) in deposits {
                    let x = to_circuit(&key.0.x);
                    let y = to_circuit(&key.0.y);
                    let value = zkroll_verifier_contract::evm::U256::from(gwei)
                        * zkroll_verifier_contract::evm::U256::from(GWEI);
                    let what = format!("deposit of {gwei} gwei to account {account}");
                    let mined = l1
                        .send(
                            &what,
                            Some(d.rollup),
                            value,
                            deposit_calldata(account, &x, &y),
                        )
                        .await?;
                    outln!("queued {what}: {} gas, tx {}", mined.gas_used, mined.hash);
                }
                Ok(ExitCode::SUCCESS)
            }
            L1Command::Sync {
                rollup,
                data_dir,
                out,
            } => {
                let (l1, d) = connect_to(&rollup).await?;
                let consumed = StateDb::open(&data_dir)?.l1_deposits();
                let deposits = l1.queued_deposits(&d, consumed).await?;
                outln!(
                    "{} deposits queued on L1 from entry {consumed} (the state has consumed {consumed}): {}",
                    deposits.len(),
                    out.display()
                );
                write_json(&out, &L1DepositsFile { deposits })?;
                Ok(ExitCode::SUCCESS)
            }
            L1Command::Submit { rollup, proof } => {
                let (l1, d) = connect_to(&rollup).await?;
                let name = proof.display().to_string();
                let bytes =
                    std::fs::read(&proof).with_context(|| format!("{name}: cannot read"))?;
                let file = ProofFile::decode(&bytes)
                    .with_context(|| format!("{name}: invalid proof file"))?;
                if !matches!(file.subject, ProofSubject::Aggregation { evm: true, .. }) {
                    bail!("{name}: not a final proof (zkroll aggregate's final.json)");
                }
                let instances: Vec<_> = file.public_inputs.iter().map(to_circuit).collect();
                let data = submit_batch_calldata(&instances, &file.pubdata, &file.proof)
                    .with_context(|| format!("{name}: field pubdata"))?;
                let calldata_bytes = data.len();
                let mined = l1
                    .send(
                        &format!("batch {name}"),
                        Some(d.rollup),
                        Default::default(),
                        data,
                    )
                    .await?;
                let root = l1.read(d.rollup, "stateRoot()", &[]).await?;
                let batches = l1.read(d.rollup, "batchNumber()", &[]).await?;
                outln!(
                    "batch accepted on L1 (chain {}): submitBatch {} gas, {calldata_bytes} calldata bytes, tx {}; batch number {batches}, state root 0x{root:064x}",
                    d.chain_id,
                    mined.gas_used,
                    mined.hash
                );
                Ok(ExitCode::SUCCESS)
            }
            L1Command::Withdraw { rollup } => {
                let (l1, d) = connect_to(&rollup).await?;
                let who = l1.sender().context("withdraw: no L1 key given")?;
                let claim = l1
                    .read(d.rollup, "pendingWithdrawal(address)", &[address_word(who)])
                    .await?;
                let mined = l1
                    .send(
                        &format!("withdrawal of {claim} wei to {who}"),
                        Some(d.rollup),
                        Default::default(),
                        call_data(WITHDRAW, &[]),
                    )
                    .await?;
                outln!(
                    "withdrew {claim} wei to {who}: {} gas, tx {}",
                    mined.gas_used,
                    mined.hash
                );
                Ok(ExitCode::SUCCESS)
            }
            L1Command::Exodus { rollup } => {
                let (l1, d) = connect_to(&rollup).await?;
                let mined = l1
                    .send(
                        "activateExodus",
                        Some(d.rollup),
                        Default::default(),
                        call_data(ACTIVATE_EXODUS, &[]),
                    )
                    .await?;
                outln!("exodus mode on: {} gas, tx {}", mined.gas_used, mined.hash);
                Ok(ExitCode::SUCCESS)
            }
            L1Command::Refund { rollup, index } => {
                let (l1, d) = connect_to(&rollup).await?;
                let what = format!("refund of deposit {index}");
                let data = call_data(REFUND_DEPOSIT, &[zkroll_verifier_contract::uint(index)]);
                let mined = l1
                    .send(&what, Some(d.rollup), Default::default(), data)
                    .await?;
                outln!("{what}: {} gas, tx {}", mined.gas_used, mined.hash);
                Ok(ExitCode::SUCCESS)
            }
            L1Command::Exit {
                rollup,
                data_dir,
                account,
                wallet,
                recipient,
            } => {
                let (l1, d) = connect_to(&rollup).await?;
                let (key, _) = WalletFile::load(&wallet)?;
                let db = StateDb::open(&data_dir)?;
                let verified = l1.read(d.rollup, "stateRoot()", &[]).await?;
                let root = word(&to_circuit(&db.root()));
                if verified.to_be_bytes::<32>() != root {
                    bail!(
                        "{}: the state's root {} is not L1's verified root 0x{verified:064x}: an exit takes the balance of the last verified state",
                        data_dir.display(),
                        to_hex(&db.root())
                    );
                }
                let rollup = L1Address(d.rollup.into_array());
                let claim = ExitClaim::prepare(&db, account, &key, recipient, d.chain_id, &rollup)?;
                let what = format!(
                    "exit of account {account} ({} gwei to {recipient})",
                    claim.leaf.balance
                );
                let mined = l1
                    .send(
                        &what,
                        Some(d.rollup),
                        Default::default(),
                        exit_calldata(&claim),
                    )
                    .await?;
                outln!("{what}: {} gas, tx {}", mined.gas_used, mined.hash);
                Ok(ExitCode::SUCCESS)
            }
            L1Command::Status {
                rollup,
                address: who,
            } => {
                let (l1, d) = connect_to(&rollup).await?;
                let mut status = serde_json::json!({ "chain_id": d.chain_id, "rollup": d.rollup });
                for (field, getter) in [
                    ("state_root", "stateRoot()"),
                    ("batch_number", "batchNumber()"),
                    ("deposit_head", "depositHead()"),
                    ("deposit_tail", "depositTail()"),
                    ("exodus", "exodus()"),
                ] {
                    let value = l1.read(d.rollup, getter, &[]).await?;
                    status[field] = if field == "state_root" {
                        format!("0x{value:064x}").into()
                    } else {
                        value.to_string().into()
                    };
                }
                if let Some(who) = who {
                    let args = [address_word(address(&who))];
                    let claim = l1
                        .read(d.rollup, "pendingWithdrawal(address)", &args)
                        .await?;
                    status["pending_withdrawal_wei"] = claim.to_string().into();
                    status["balance_wei"] = l1.balance(address(&who)).await?.to_string().into();
                }
                outln!("{}", serde_json::to_string_pretty(&status)?);
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}

async fn deploy(
    node: &NodeArgs,
    data_dir: &Path,
    contracts: &Path,
    exodus_delay: u64,
    out: &Path,
) -> Result<ExitCode> {
    let db = StateDb::open(data_dir)?;
    if db.l1_deposits() != 0 {
        bail!(
            "{}: this state has consumed {} deposits of another L1 queue; a new rollup contract's queue starts at 0",
            data_dir.display(),
            db.l1_deposits()
        );
    }
    let accounts = db.accounts()?;
    let supply: u64 = accounts.iter().map(|(_, a)| a.balance).sum();
    let deployment = RollupDeployment {
        genesis_root: to_circuit(&db.root()),
        depth: db.config().depth,
        exodus_delay,
        genesis_supply: supply,
        genesis_keys: accounts
            .iter()
            .map(|(i, a)| {
                (
                    *i,
                    to_circuit(&a.public_key.0.x),
                    to_circuit(&a.public_key.0.y),
                )
            })
            .collect(),
    };
    let poseidon = POSEIDON_WIDTHS.map(|w| format!("{}.bin", poseidon::contract_name(w)));
    let codes = CreationCodes {
        verifier: read_bin(contracts, "Verifier.bin")?,
        rollup: read_bin(contracts, "Rollup.bin")?,
        poseidon: [
            read_bin(contracts, &poseidon[0])?,
            read_bin(contracts, &poseidon[1])?,
            read_bin(contracts, &poseidon[2])?,
        ],
    };
    let l1 = connect(node).await?;
    let deployed = l1.deploy(&codes, &deployment).await?;
    write_json(out, &deployed)?;
    outln!(
        "Rollup deployed at {} on chain {} (block {}): root {}, {} accounts, {supply} gwei locked; deployment written to {}",
        deployed.rollup,
        deployed.chain_id,
        deployed.block,
        to_hex(&db.root()),
        accounts.len(),
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}
