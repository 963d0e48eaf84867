//! `zkroll serve`: the prover service (HTTP API, persistent job queue, crash-safe resume).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;

use crate::aggregate::TreeArgs;
use crate::prove::Format;

#[derive(Args)]
pub struct ServeArgs {
    /// Data directory: parameters, keys, proofs, the rollup state (for transaction
    /// submissions), and service/ (job store, token file).
    #[arg(long)]
    data_dir: PathBuf,
    /// Address to listen on (port 0: any free port; the address is printed on stdout).
    /// Reads are open on a loopback address and need the token elsewhere.
    #[arg(long, default_value = "127.0.0.1:8547")]
    listen: SocketAddr,
    /// Bearer token file for mutating requests (default: <data-dir>/service/token, created
    /// with a random token on first start).
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// Most unfinished (queued or running) jobs; further submissions get 429.
    #[arg(long, default_value_t = 64)]
    queue_capacity: usize,
    /// Largest request body, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 64)]
    max_body_mib: usize,
    /// Transaction slots per chunk, unless a submission gives `chunk_size`.
    #[arg(long, default_value_t = 8)]
    chunk_size: usize,
    /// Most chunk proofs at once (default: as many as memory and cores allow).
    #[arg(long)]
    jobs: Option<usize>,
    /// Memory for the MSM fixed-base tables of the chunk parameters, in MiB (0: none).
    #[arg(long, value_name = "MIB", default_value_t = 1024)]
    msm_tables_mib: usize,
    /// Seconds a shutdown (SIGTERM, SIGINT) waits for proofs in progress before exiting;
    /// unfinished jobs resume on the next start either way.
    #[arg(long, default_value_t = 60)]
    shutdown_grace: u64,
    #[command(flatten)]
    tree: TreeArgs,
    /// Encoding of the proof files written.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
    /// Chain id of the chain this service proves (needed without a state in --data-dir;
    /// with one, must equal its configuration). Traces of another chain are refused.
    #[arg(long, requires_all = ["operator", "depth"])]
    chain_id: Option<u32>,
    /// Operator account index of that chain (with --chain-id).
    #[arg(long, requires_all = ["chain_id", "depth"])]
    operator: Option<u32>,
    /// Account tree depth of that chain (with --chain-id).
    #[arg(long, requires_all = ["chain_id", "operator"])]
    depth: Option<u8>,
    /// Serve calldata of proofs made with the development parameters (`zkroll setup --k`:
    /// public secret, a verifier made from them accepts forged proofs). Tests and demos only.
    #[arg(long)]
    allow_unsafe_dev_params: bool,
    /// L1's deposit queue export (`{"deposits": [...]}`, as `zkroll execute --l1-deposits`),
    /// read at each submission of transactions: each batch starts with the entries not
    /// consumed yet.
    #[arg(long)]
    l1_deposits: Option<std::path::PathBuf>,
    /// Submit each finished batch to the rollup of this deployment file (`zkroll l1 deploy`)
    /// on the node at --l1-rpc, from the account of --l1-key.
    #[arg(long, requires = "l1_key")]
    l1_deployment: Option<std::path::PathBuf>,
    /// JSON-RPC URL of the L1 node.
    #[arg(long, env = "ZKROLL_L1_RPC", default_value = "http://127.0.0.1:8545")]
    l1_rpc: String,
    /// The operator's L1 key (64 hex digits; from the environment rather than the command line).
    #[arg(long, env = "ZKROLL_L1_KEY", hide_env_values = true)]
    l1_key: Option<String>,
    /// Have the chunk proofs made by `zkroll worker` processes through this NATS server
    /// (JetStream enabled, e.g. nats://127.0.0.1:4222); this process checks each proof and
    /// aggregates. Without it, everything is proven here.
    #[arg(long)]
    nats: Option<String>,
    /// With --nats: seconds a task may go without a worker's heartbeat before it is delivered
    /// again (used when this process creates the consumer: the first to connect sets it).
    #[arg(long, default_value_t = 30, requires = "nats")]
    ack_wait: u64,
    /// With --nats: deliveries of a failing task before it is a dead letter (as --ack-wait);
    /// a dead letter fails its job with the reason.
    #[arg(long, default_value_t = 3, requires = "nats")]
    max_deliver: i64,
}

pub fn run(args: ServeArgs) -> Result<ExitCode> {
    if args.queue_capacity == 0 {
        anyhow::bail!("--queue-capacity 0: must be at least 1");
    }
    if args.chunk_size == 0 || args.chunk_size > 4096 {
        anyhow::bail!("--chunk-size {}: must be 1..=4096", args.chunk_size);
    }
    if args.max_body_mib == 0 {
        anyhow::bail!("--max-body-mib 0: must be at least 1");
    }
    let chain = match (args.chain_id, args.operator, args.depth) {
        (Some(chain_id), Some(operator), Some(depth)) => {
            let chain = zkroll_engine::ChainConfig {
                chain_id,
                operator,
                depth,
            };
            chain
                .validate()
                .map_err(|e| anyhow::anyhow!("chain configuration: {e}"))?;
            Some(chain)
        }
        _ => None,
    };
    if args.ack_wait < 3 {
        anyhow::bail!("--ack-wait {}: must be at least 3 seconds", args.ack_wait);
    }
    if args.max_deliver < 1 {
        anyhow::bail!("--max-deliver {}: must be at least 1", args.max_deliver);
    }
    if args.nats.is_some() && !matches!(args.format, Format::Json) {
        anyhow::bail!("--nats: workers write JSON proof files; use --format json");
    }
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("--data-dir {}", args.data_dir.display()))?;
    let config = zkroll_service::Config {
        data_dir: args.data_dir,
        listen: args.listen,
        token_file: args.token_file,
        queue_capacity: args.queue_capacity,
        max_body_bytes: args.max_body_mib.saturating_mul(1 << 20),
        chunk_size: args.chunk_size,
        tree: args.tree.settings(args.format)?,
        msm_tables_bytes: args.msm_tables_mib.saturating_mul(1 << 20),
        chunk_jobs: args.jobs.map(|j| j.max(1)),
        shutdown_grace: Duration::from_secs(args.shutdown_grace),
        chain,
        allow_unsafe_dev_params: args.allow_unsafe_dev_params,
        l1_deposits: args.l1_deposits,
        l1_submit: match (args.l1_deployment, args.l1_key) {
            (Some(path), Some(key)) => Some(zkroll_service::L1Submit {
                rpc: args.l1_rpc,
                key,
                deployment: crate::files::read_json(&path)?,
            }),
            _ => None,
        },
        nats: args.nats.map(|url| zkroll_service::Nats {
            url,
            bus: zkroll_service::bus::BusConfig {
                ack_wait: Duration::from_secs(args.ack_wait),
                max_deliver: args.max_deliver,
            },
        }),
    };
    zkroll_service::serve(config)?;
    Ok(ExitCode::SUCCESS)
}
