//! zkroll's prover service: a long-lived process a sequencer feeds with batches.
//!
//! Where it sits: on top of the whole pipeline. A submission (a batch trace, or transactions
//! it executes against the rollup state in the data directory) becomes a job in the
//! [`store`] (RocksDB, synced writes); the [`worker`] proves its chunks (side by side, as many
//! as memory allows, or through `zkroll worker` processes on a NATS JetStream [`bus`], see
//! [`farm`]), aggregates them into the final proof, and records progress after every proof. Proofs are files under `<data-dir>/proofs/<trace id>`, and a proof already there
//! and valid is kept, so a crash or a restart loses at most the proofs in progress. The
//! [`api`] serves submissions, status, cancellation, the final proof and its L1 calldata
//! over HTTP (axum), with bearer-token auth on mutations, a bounded queue (429 when full)
//! and Prometheus [`metrics`].
//!
//! Main types: [`Config`], [`serve`], [`store::Job`], [`store::JobStore`].

pub mod api;
pub mod bus;
pub mod farm;
pub mod metrics;
pub mod store;
pub mod worker;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use zkroll_aggregator::batch::Settings;

/// How the service runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Data directory: parameters, keys, proofs, the rollup state (when initialised), and
    /// `service/` (the job store and the token file).
    pub data_dir: PathBuf,
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Bearer token file (`None`: `<data-dir>/service/token`, created on first start).
    pub token_file: Option<PathBuf>,
    /// Most unfinished (queued or running) jobs; more submissions get 429.
    pub queue_capacity: usize,
    /// Largest request body, bytes.
    pub max_body_bytes: usize,
    /// Transaction slots per chunk, unless a submission says otherwise.
    pub chunk_size: usize,
    /// Aggregation tree, proof encoding, memory budget and MSM backend.
    pub tree: Settings,
    /// Memory for the MSM fixed-base tables of the chunk parameters (0: none).
    pub msm_tables_bytes: usize,
    /// Most chunk proofs at once (`None`: as many as memory and cores allow).
    pub chunk_jobs: Option<usize>,
    /// How long a shutdown waits for the proofs in progress before exiting (they are
    /// redone after the restart).
    pub shutdown_grace: Duration,
    /// The chain this service proves, when the data directory holds no state (with a state,
    /// the state's configuration, which this must then equal). Traces of another chain are
    /// refused.
    pub chain: Option<zkroll_engine::ChainConfig>,
    /// Serve calldata of proofs made with the development parameters (public secret: a
    /// verifier made from them accepts forged proofs). For tests and demos only.
    pub allow_unsafe_dev_params: bool,
    /// L1's deposit queue as exported from the rollup contract (`{"deposits": [...]}`),
    /// read at each submission of transactions: the batch starts with the entries the state
    /// has not consumed. `None`: batches without deposits (deposits come only from L1).
    pub l1_deposits: Option<PathBuf>,
    /// Submit each finished batch to the rollup contract on an L1 node (`None`: its calldata
    /// is served, not sent).
    pub l1_submit: Option<L1Submit>,
    /// Have the chunk proofs made by `zkroll worker` processes through NATS JetStream
    /// (`None`: proven in this process).
    pub nats: Option<Nats>,
}

/// The task bus the service publishes chunk tasks on ([`farm::collect_chunk_proofs`]).
#[derive(Debug, Clone)]
pub struct Nats {
    /// The NATS server's URL.
    pub url: String,
    /// Stream and consumer settings, when the service is the first to connect.
    pub bus: bus::BusConfig,
}

/// Where and as whom the service submits finished batches.
#[derive(Clone)]
pub struct L1Submit {
    /// The node's JSON-RPC URL.
    pub rpc: String,
    /// The operator's L1 key (hex secp256k1 private key).
    pub key: String,
    /// The rollup's deployment (`zkroll l1 deploy`).
    pub deployment: zkroll_verifier_contract::node::Deployment,
}

impl std::fmt::Debug for L1Submit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("L1Submit")
            .field("rpc", &self.rpc)
            .field("deployment", &self.deployment)
            .finish_non_exhaustive()
    }
}

/// Why the service cannot start or a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The job store.
    #[error("job store {path}: {detail}")]
    Store {
        /// Store directory.
        path: String,
        /// What went wrong.
        detail: String,
    },
    /// The token file.
    #[error("token file {path}: {detail}")]
    Token {
        /// The file.
        path: String,
        /// What is wrong.
        detail: String,
    },
    /// No chain configuration, or one that contradicts the state's.
    #[error("{0}")]
    Chain(String),
    /// The rollup state in the data directory.
    #[error("rollup state in {path}: {source}")]
    State {
        /// The data directory.
        path: String,
        /// Cause.
        #[source]
        source: zkroll_engine::EngineError,
    },
    /// Listening or serving.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
}

/// Reads the bearer token from `path`, or creates the file with a random token (readable by
/// the owner only) when there is none.
pub fn load_or_create_token(path: &Path) -> Result<String, ServiceError> {
    let err = |detail: String| ServiceError::Token {
        path: path.display().to_string(),
        detail,
    };
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let token = text.trim().to_string();
            if token.is_empty() || token.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(err("empty, or not one line without spaces".into()));
            }
            Ok(token)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            use rand::RngCore;
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let mut bytes = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut bytes);
            let token = hex::encode(bytes);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
            }
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(|e| err(e.to_string()))?;
            file.write_all(format!("{token}\n").as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(|e| err(e.to_string()))?;
            Ok(token)
        }
        Err(e) => Err(err(e.to_string())),
    }
}

/// Runs the service until SIGTERM or SIGINT: opens the store, resumes unfinished jobs,
/// serves the API, then stops taking requests and jobs and waits up to
/// [`Config::shutdown_grace`] for the proofs in progress.
pub fn serve(config: Config) -> Result<(), ServiceError> {
    let shared = Arc::new(worker::Shared::open(config)?);
    let worker = worker::start(Arc::clone(&shared));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|source| ServiceError::Io {
            what: "starting the HTTP runtime".into(),
            source,
        })?;
    let served = runtime.block_on(api::run(Arc::clone(&shared)));
    shared.shut_down();
    let grace = shared.config.shutdown_grace;
    let stopped = worker.stopped.recv_timeout(grace).is_ok();
    // Requests are finished; their tasks (and the router's handle on `shared`) go now.
    runtime.shutdown_timeout(Duration::from_secs(1));
    if stopped {
        // The databases must be closed before the process exits: RocksDB aborts when a
        // database is dropped on one thread while its static state is torn down by the
        // exit on another.
        if worker.thread.join().is_err() {
            eprintln!("zkroll serve: the worker thread panicked while stopping");
        }
        drop(shared);
        eprintln!("zkroll serve: worker stopped; exiting");
    } else {
        // The worker is inside a proof and still holds the store: leave the databases open
        // (never dropped, so nothing races with the exit; the store's writes are synced).
        std::mem::forget(shared);
        eprintln!(
            "zkroll serve: proofs still in progress after {} s; exiting (they are redone \
             after the restart)",
            grace.as_secs()
        );
    }
    served
}
