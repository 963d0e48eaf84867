//! `zkroll state`: create, inspect and check the state in a data directory.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Subcommand;
use zkroll_engine::field::to_hex;
use zkroll_engine::smt::DEFAULT_DEPTH;
use zkroll_engine::store::Genesis;
use zkroll_engine::{ChainConfig, StateDb};

use crate::files::read_json;
use crate::output::outln;
use crate::wallet::WalletFile;

#[derive(Subcommand)]
pub enum StateCommand {
    /// Create the genesis state in a data directory.
    Init {
        /// Data directory (created).
        #[arg(long)]
        data_dir: PathBuf,
        /// Genesis file (config, operator key, pre-funded accounts); excludes the flags below.
        #[arg(long, conflicts_with_all = ["operator_key", "chain_id", "depth", "operator"])]
        genesis: Option<PathBuf>,
        /// Wallet file of the operator, whose account receives the fees.
        #[arg(long, required_unless_present = "genesis")]
        operator_key: Option<PathBuf>,
        /// Chain id (signature domain).
        #[arg(long)]
        chain_id: Option<u32>,
        /// Depth of the account tree.
        #[arg(long)]
        depth: Option<u8>,
        /// Operator account index.
        #[arg(long)]
        operator: Option<u32>,
    },
    /// Print the root, batch count and accounts (or one account).
    Show {
        /// Data directory.
        #[arg(long)]
        data_dir: PathBuf,
        /// Show only this account (an error if it does not exist).
        #[arg(long)]
        account: Option<u32>,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Recompute the tree from the stored accounts and compare it with the stored nodes.
    Check {
        /// Data directory.
        #[arg(long)]
        data_dir: PathBuf,
    },
}

/// Opens the state with the data directory named in errors.
pub fn open(data_dir: &std::path::Path) -> Result<StateDb> {
    StateDb::open(data_dir).with_context(|| format!("--data-dir {}", data_dir.display()))
}

pub fn run(cmd: StateCommand) -> Result<ExitCode> {
    match cmd {
        StateCommand::Init {
            data_dir,
            genesis,
            operator_key,
            chain_id,
            depth,
            operator,
        } => {
            let genesis: Genesis = match (genesis, operator_key) {
                (Some(path), _) => read_json(&path)?,
                (None, Some(key_path)) => {
                    let (_, public_key) = WalletFile::load(&key_path)?;
                    Genesis {
                        config: ChainConfig {
                            chain_id: chain_id.unwrap_or(1),
                            depth: depth.unwrap_or(DEFAULT_DEPTH),
                            operator: operator.unwrap_or(0),
                        },
                        operator_key: public_key,
                        accounts: vec![],
                    }
                }
                (None, None) => anyhow::bail!("--operator-key or --genesis is required"),
            };
            let db = StateDb::init(&data_dir, &genesis)
                .with_context(|| format!("--data-dir {}", data_dir.display()))?;
            let c = db.config();
            outln!(
                "initialised {}: chain id {}, depth {}, operator account {}, root {}",
                data_dir.display(),
                c.chain_id,
                c.depth,
                c.operator,
                to_hex(&db.root())
            );
        }
        StateCommand::Show {
            data_dir,
            account: Some(index),
            json,
        } => {
            let db = open(&data_dir)?;
            let account = db.account(index)?.with_context(|| {
                format!(
                    "--account {index}: no such account in {}",
                    data_dir.display()
                )
            })?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&account)?);
            } else {
                outln!(
                    "account {index}: balance {}, nonce {}, public key x={} y={}",
                    account.balance,
                    account.nonce,
                    to_hex(&account.public_key.0.x),
                    to_hex(&account.public_key.0.y)
                );
            }
        }
        StateCommand::Show {
            data_dir,
            account: None,
            json,
        } => {
            let db = open(&data_dir)?;
            let accounts = db.accounts()?;
            if json {
                let value = serde_json::json!({
                    "root": to_hex(&db.root()),
                    "batches": db.batch_count(),
                    "config": db.config(),
                    "accounts": accounts.iter().map(|(i, a)| serde_json::json!({
                        "index": i, "balance": a.balance, "nonce": a.nonce, "public_key": a.public_key,
                    })).collect::<Vec<_>>(),
                });
                outln!("{}", serde_json::to_string_pretty(&value)?);
            } else {
                let c = db.config();
                outln!("root      {}", to_hex(&db.root()));
                outln!("batches   {}", db.batch_count());
                outln!(
                    "config    chain id {}, depth {}, operator {}",
                    c.chain_id,
                    c.depth,
                    c.operator
                );
                outln!("accounts  {}", accounts.len());
                for (i, a) in accounts.iter().take(20) {
                    outln!("  #{i:<8} balance {:>20}  nonce {}", a.balance, a.nonce);
                }
                if accounts.len() > 20 {
                    outln!("  ... {} more (use --json)", accounts.len() - 20);
                }
            }
        }
        StateCommand::Check { data_dir } => {
            let db = open(&data_dir)?;
            db.check_integrity()
                .with_context(|| format!("--data-dir {}", data_dir.display()))?;
            outln!(
                "state OK: {} accounts, root {}",
                db.accounts()?.len(),
                to_hex(&db.root())
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
