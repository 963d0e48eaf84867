//! `zkroll`: the command-line interface of the zkroll rollup prover.
//!
//! A thin layer of clap subcommands over the workspace crates, one module per subcommand.
//! Every failure is reported as one line on stderr with a non-zero exit status; a reader of
//! stdout that goes away (`zkroll ... | head -1`) ends the output quietly ([`output`]).

mod aggregate;
mod evm_report;
mod execute;
mod files;
mod gen_txs;
mod gen_verifier;
mod info;
mod l1;
mod output;
mod progress;
mod prove;
mod serve;
mod setup;
mod state;
mod trace;
mod verify;
mod wallet;
mod worker;

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

/// zkroll: a zero-knowledge validity rollup prover.
#[derive(Parser)]
#[command(name = "zkroll", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Key pairs and signing.
    #[command(subcommand)]
    Wallet(wallet::WalletCommand),
    /// The rollup state in a data directory.
    #[command(subcommand)]
    State(state::StateCommand),
    /// Execute a batch of transactions and write its trace.
    Execute(execute::ExecuteArgs),
    /// Execution traces.
    #[command(subcommand)]
    Trace(trace::TraceCommand),
    /// Generate wallets and random signed transactions for a fresh state (demo, benchmarks).
    GenTxs(gen_txs::GenTxsArgs),
    /// Statistics of the chunk circuit: rows, columns, cells per slot and primitive, memory.
    Info(info::InfoArgs),
    /// Generate KZG parameters (development, UNSAFE) into the data directory.
    Setup(setup::SetupArgs),
    /// Prove a batch trace chunk by chunk (resumes: valid proofs on disk are kept).
    Prove(prove::ProveArgs),
    /// Check a proof file: exit 0 valid, 1 invalid proof, 2 unusable input.
    Verify(verify::VerifyArgs),
    /// Aggregate a batch's chunk proofs into one final proof for L1 (resumes).
    Aggregate(aggregate::AggregateArgs),
    /// Run the prover service: HTTP API, persistent job queue, crash-safe resume.
    Serve(serve::ServeArgs),
    /// Prove tasks from NATS JetStream (distributed proving; the coordinator publishes them).
    Worker(worker::WorkerArgs),
    /// Generate the L1 contracts (Solidity verifier and Rollup.sol) and report their size
    /// and gas.
    GenVerifier(gen_verifier::GenVerifierArgs),
    /// The rollup's contracts on an Ethereum node (JSON-RPC): deploy, deposit, sync the
    /// deposit queue, submit batches, withdraw, exodus, refunds and exits.
    #[command(subcommand)]
    L1(l1::L1Command),
}

/// Exit status for failures of the command (bad input, invalid data).
const EXIT_FAILURE: u8 = 1;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Wallet(cmd) => wallet::run(cmd),
        Command::State(cmd) => state::run(cmd),
        Command::Execute(args) => execute::run(args),
        Command::Trace(cmd) => trace::run(cmd),
        Command::GenTxs(args) => gen_txs::run(args),
        Command::Info(args) => info::run(args),
        Command::Setup(args) => setup::run(args),
        Command::Prove(args) => prove::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Aggregate(args) => aggregate::run(args),
        Command::GenVerifier(args) => gen_verifier::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Worker(args) => worker::run(args),
        Command::L1(cmd) => l1::run(cmd),
    };
    // A reader that went away (`| head`) is not a failure; any other write error is.
    let result = result.and_then(|code| {
        output::finish().context("writing to standard output")?;
        Ok(code)
    });
    match result {
        Ok(code) => code,
        Err(error) => {
            // One line: the context chain joined, no backtrace.
            let message = format!("{error:#}").replace('\n', " ");
            eprintln!("error: {message}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}
