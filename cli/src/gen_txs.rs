//! `zkroll gen-txs`: a genesis, wallets and a batch of random signed transactions.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;
use zkroll_engine::workload::Workload;

use crate::execute::{BatchFile, L1DepositsFile};
use crate::files::write_json;
use crate::output::outln;
use crate::wallet::WalletFile;

#[derive(Args)]
pub struct GenTxsArgs {
    /// Output directory: genesis.json, operator.json, wallets/, txs.json.
    #[arg(long)]
    out: PathBuf,
    /// Number of user accounts (indices 1..=N; the operator is 0).
    #[arg(long, default_value_t = 32)]
    accounts: u32,
    /// Number of transactions.
    #[arg(long, default_value_t = 300)]
    count: usize,
    /// Number of deliberately invalid transactions appended (each must be rejected).
    #[arg(long, default_value_t = 0)]
    invalid: usize,
    /// Seed of the generator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Chain id.
    #[arg(long, default_value_t = 1)]
    chain_id: u32,
    /// Depth of the account tree.
    #[arg(long, default_value_t = zkroll_engine::smt::DEFAULT_DEPTH)]
    depth: u8,
    /// L1 address every withdrawal pays (random ones otherwise).
    #[arg(long)]
    withdraw_to: Option<zkroll_engine::tx::L1Address>,
}

pub fn run(args: GenTxsArgs) -> Result<ExitCode> {
    let mut workload = Workload::new(args.seed, args.accounts, args.chain_id, args.depth);
    workload.withdraw_to = args.withdraw_to;
    let genesis = workload.genesis();
    let mut txs = workload.random_batch(args.count);
    // Appended after the valid ones, so that each breaks exactly the rule it is made for.
    for k in 0..args.invalid {
        txs.push(workload.invalid_tx(k));
    }
    write_json(&args.out.join("genesis.json"), &genesis)?;
    write_json(
        &args.out.join("operator.json"),
        &WalletFile::new(&workload.operator.key),
    )?;
    for w in &workload.wallets {
        write_json(
            &args.out.join("wallets").join(format!("{}.json", w.index)),
            &WalletFile::new(&w.key),
        )?;
    }
    // Deposits are queued on L1 by their users (`l1-deposits.json`, as `zkroll l1 sync`
    // exports the contract's queue); the rest goes to the operator (`txs.json`).
    let (deposits, txs) = zkroll_engine::workload::split_l1_deposits(txs, 0);
    let (queued, sent) = (deposits.len(), txs.len());
    write_json(
        &args.out.join("l1-deposits.json"),
        &L1DepositsFile { deposits },
    )?;
    write_json(&args.out.join("txs.json"), &BatchFile { transactions: txs })?;
    outln!(
        "wrote {queued} L1 deposits (l1-deposits.json) and {sent} L2 transactions ({} invalid; \
         txs.json) for {} accounts to {}",
        args.invalid,
        args.accounts,
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
