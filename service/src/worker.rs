//! The worker: takes jobs from the queue one at a time, proves their chunks side by side (as
//! many at once as memory and cores allow, as `zkroll prove` does), then aggregates them
//! (`zkroll aggregate`'s tree, one proof at a time), recording progress in the store after
//! every proof.
//!
//! Resuming is the same code as starting: a chunk or layer proof already on disk and valid
//! is kept, so a job taken up again after a crash, a shutdown or a restart only makes the
//! proofs it lacks. Cancellation and shutdown are checked before every proof.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

use zkroll_aggregator::batch::{aggregate_with, AggregateError, Event, NodeRequest, RemoteNodes};
use zkroll_aggregator::TreePlan;
use zkroll_circuits::proof::ChunkKeys;
use zkroll_circuits::stats::chunk_stats;
use zkroll_engine::{BatchTrace, StateDb};
use zkroll_msm::kzg::MsmParams;
use zkroll_prover::memory::{self, ProofMemory};
use zkroll_prover::proof_file::trace_id;
use zkroll_prover::{chunks, keys, srs};

use crate::metrics::{Metrics, Stage};
use crate::store::{now, ChunkProgress, Job, JobSource, JobState, JobStore, LayerProgress};
use crate::{Config, ServiceError};

/// What the HTTP side and the worker share.
pub struct Shared {
    /// Settings.
    pub config: Config,
    /// Jobs.
    pub store: JobStore,
    /// The chain proven: the state's configuration, or the one configured.
    pub chain: zkroll_engine::ChainConfig,
    /// The rollup state, when the data directory holds one (for transaction submissions).
    pub state: Option<Mutex<StateDb>>,
    /// Ids of queued jobs, in order.
    pub queue: Mutex<VecDeque<u64>>,
    wake: Condvar,
    shutdown: AtomicBool,
    /// The job being proven (0: none).
    running: AtomicU64,
    cancel_running: AtomicBool,
    /// Counters for `/metrics`.
    pub metrics: Metrics,
    /// The bearer token of mutating requests.
    pub token: String,
    /// The MSM backend, in words.
    pub msm: String,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("data_dir", &self.config.data_dir)
            .finish()
    }
}

impl Shared {
    /// Opens the store and the state, creates jobs for batches of the state that have none,
    /// and queues every unfinished job (running ones first: they were interrupted).
    pub fn open(config: Config) -> Result<Self, ServiceError> {
        let service_dir = config.data_dir.join("service");
        std::fs::create_dir_all(&service_dir).map_err(|source| ServiceError::Io {
            what: format!("creating {}", service_dir.display()),
            source,
        })?;
        let store = JobStore::open(&service_dir.join("jobs"))?;
        let token_path = config
            .token_file
            .clone()
            .unwrap_or_else(|| service_dir.join("token"));
        let token = crate::load_or_create_token(&token_path)?;
        let state = if config.data_dir.join("CURRENT").exists() {
            let db = StateDb::open(&config.data_dir).map_err(|source| ServiceError::State {
                path: config.data_dir.display().to_string(),
                source,
            })?;
            Some(db)
        } else {
            None
        };
        let chain = match (&state, config.chain) {
            (Some(db), Some(flags)) if flags != db.config() => {
                return Err(ServiceError::Chain(format!(
                    "--chain-id/--operator/--depth say {flags:?}, the state in {} is {:?}",
                    config.data_dir.display(),
                    db.config()
                )))
            }
            (Some(db), _) => db.config(),
            (None, Some(flags)) => flags,
            (None, None) => {
                return Err(ServiceError::Chain(format!(
                    "{} holds no rollup state (zkroll state init): give --chain-id, --operator \
                     and --depth of the chain this service proves",
                    config.data_dir.display()
                )))
            }
        };
        if let Some(db) = &state {
            recover_state_batches(&store, db, config.chunk_size)?;
        }
        let mut jobs: Vec<Job> = store
            .list()?
            .into_iter()
            .filter(|j| !j.state.is_final())
            .collect();
        jobs.sort_by_key(|j| (j.state != JobState::Running, j.id));
        let queue = jobs.iter().map(|j| j.id).collect();
        let msm = config.tree.msm.describe();
        Ok(Self {
            config,
            chain,
            store,
            state: state.map(Mutex::new),
            queue: Mutex::new(queue),
            wake: Condvar::new(),
            shutdown: AtomicBool::new(false),
            running: AtomicU64::new(0),
            cancel_running: AtomicBool::new(false),
            metrics: Metrics::default(),
            token,
            msm,
        })
    }

    /// Wakes the worker for a newly queued job.
    pub fn notify(&self) {
        self.wake.notify_all();
    }

    /// Stops taking jobs; the running one stops before its next proof.
    pub fn shut_down(&self) {
        self.shutdown.store(true, Ordering::SeqCst);
        self.wake.notify_all();
    }

    /// The job being proven, if any.
    pub fn running(&self) -> Option<u64> {
        match self.running.load(Ordering::SeqCst) {
            0 => None,
            id => Some(id),
        }
    }

    /// Asks the running job `id` to stop before its next proof (the store records the
    /// request too).
    pub fn cancel_running(&self, id: u64) {
        if self.running() == Some(id) {
            self.cancel_running.store(true, Ordering::SeqCst);
        }
    }

    /// Unfinished jobs: queued and running.
    pub fn unfinished(&self, queue: &VecDeque<u64>) -> usize {
        queue.len() + usize::from(self.running().is_some())
    }
}

/// A job for every batch of the state committed after the last one the store knows of
/// (a submission the service crashed before recording, or `zkroll execute` while it was
/// down). On the first start the existing batches are taken as they are.
fn recover_state_batches(
    store: &JobStore,
    db: &StateDb,
    chunk_size: usize,
) -> Result<(), ServiceError> {
    let Some(known) = store.state_batches()? else {
        return store.set_state_batches(db.batch_count());
    };
    for batch in known..db.batch_count() {
        let state_err = |source| ServiceError::State {
            path: db.path().display().to_string(),
            source,
        };
        let Some(bytes) = db.trace_bytes(batch).map_err(state_err)? else {
            continue;
        };
        let trace = BatchTrace::decode(&bytes).map_err(|e| ServiceError::Store {
            path: db.path().display().to_string(),
            detail: format!("trace of batch {batch}: {e}"),
        })?;
        let job = store.insert(&trace.to_binary(), Some(batch + 1), |id| {
            new_job(id, JobSource::StateBatch { batch }, &trace, chunk_size)
        })?;
        eprintln!(
            "zkroll serve: batch {batch} of the state had no job: job {}",
            job.id
        );
    }
    Ok(())
}

/// A queued job for `trace`.
pub fn new_job(id: u64, source: JobSource, trace: &BatchTrace, chunk_size: usize) -> Job {
    Job {
        id,
        state: JobState::Queued,
        source,
        trace_id: trace_id(trace),
        chunk_size,
        steps: trace.steps.len(),
        submitted_at: now(),
        started_at: None,
        finished_at: None,
        attempts: 0,
        chunks: vec![ChunkProgress::Pending; chunks::chunk_count(trace, chunk_size)],
        padding_chunks: 0,
        padding_done: 0,
        layers: Vec::new(),
        final_proof: None,
        error: None,
        cancel_requested: false,
        l1_tx: None,
        l1_error: None,
    }
}

/// How a job's run ended.
enum Finish {
    Done(PathBuf),
    Cancelled,
    /// Shutdown: the job stays running in the store and resumes after the restart.
    Interrupted,
}

/// Chunk parameters (with the MSM backend and fixed-base tables) and keys, kept from one
/// job to the next while the chunk circuit stays the same.
#[derive(Default)]
struct Prepared {
    params: Option<(u32, Arc<MsmParams>)>,
    keys: Option<(String, Arc<ChunkKeys>)>,
}

/// The worker thread.
#[derive(Debug)]
pub struct WorkerHandle {
    /// Gets a message when the worker has stopped taking jobs (it then drops its handles).
    pub stopped: mpsc::Receiver<()>,
    /// The thread.
    pub thread: std::thread::JoinHandle<()>,
}

/// Starts the worker thread.
pub fn start(shared: Arc<Shared>) -> WorkerHandle {
    let (tx, stopped) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        let mut prepared = Prepared::default();
        while let Some(id) = next_job(&shared) {
            // `next_job` marked it running.
            shared.cancel_running.store(false, Ordering::SeqCst);
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                run_job(&shared, id, &mut prepared)
            }))
            .unwrap_or_else(|panic| {
                let what = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "unknown".into());
                Err(format!("internal error (panic): {what}"))
            });
            record(&shared, id, outcome);
            shared.running.store(0, Ordering::SeqCst);
        }
        drop(prepared);
        drop(shared);
        let _ = tx.send(());
    });
    WorkerHandle { stopped, thread }
}

fn next_job(shared: &Shared) -> Option<u64> {
    let mut queue = shared.queue.lock().ok()?;
    loop {
        if shared.shutdown.load(Ordering::SeqCst) {
            return None;
        }
        if let Some(id) = queue.pop_front() {
            // Marked running while the queue is locked, so that capacity counts it.
            shared.running.store(id, Ordering::SeqCst);
            return Some(id);
        }
        queue = shared.wake.wait(queue).ok()?;
    }
}

fn record(shared: &Shared, id: u64, outcome: Result<Finish, String>) {
    let result = shared.store.update(id, |job| match &outcome {
        Ok(Finish::Done(path)) => {
            job.state = JobState::Done;
            job.final_proof = Some(path.display().to_string());
            job.finished_at = Some(now());
        }
        Ok(Finish::Cancelled) => {
            job.state = JobState::Cancelled;
            job.finished_at = Some(now());
        }
        Ok(Finish::Interrupted) => {}
        Err(e) => {
            job.state = JobState::Failed;
            job.error = Some(e.clone());
            job.finished_at = Some(now());
        }
    });
    match (&outcome, result) {
        (Ok(Finish::Done(path)), Ok(_)) => {
            eprintln!("zkroll serve: job {id} done: {}", path.display());
            if let Some(l1) = &shared.config.l1_submit {
                submit_to_l1(shared, id, l1, path);
            }
        }
        (Ok(Finish::Cancelled), Ok(_)) => eprintln!("zkroll serve: job {id} cancelled"),
        (Ok(Finish::Interrupted), Ok(_)) => {
            eprintln!("zkroll serve: job {id} interrupted by shutdown; resumes after restart")
        }
        (Err(e), Ok(_)) => eprintln!("zkroll serve: job {id} failed: {e}"),
        (_, Err(e)) => eprintln!("zkroll serve: job {id}: recording its end: {e}"),
    }
}

fn update(shared: &Shared, id: u64, change: impl FnOnce(&mut Job)) -> Result<Job, String> {
    shared
        .store
        .update(id, change)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("job {id} vanished from the store"))
}

/// Proves job `id` from where it stands.
fn run_job(shared: &Shared, id: u64, prepared: &mut Prepared) -> Result<Finish, String> {
    let job = update(shared, id, |job| {
        job.state = JobState::Running;
        job.attempts += 1;
        job.started_at.get_or_insert_with(now);
    })?;
    if job.cancel_requested {
        return Ok(Finish::Cancelled);
    }
    let stop = || -> Option<Finish> {
        if shared.cancel_running.load(Ordering::SeqCst) {
            Some(Finish::Cancelled)
        } else if shared.shutdown.load(Ordering::SeqCst) {
            Some(Finish::Interrupted)
        } else {
            None
        }
    };
    let bytes = shared
        .store
        .trace(id)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("job {id}: trace missing from the store"))?;
    let trace = BatchTrace::decode(&bytes).map_err(|e| format!("job {id}: trace: {e}"))?;
    let data_dir = &shared.config.data_dir;

    // Chunk proofs.
    let chunk_started = Instant::now();
    let config = trace.header.config;
    let stats = chunk_stats(job.chunk_size, config, None);
    let k = stats.k;
    let params = match &prepared.params {
        Some((pk, p)) if *pk == k => Arc::clone(p),
        _ => {
            prepared.params = None;
            let kzg = srs::load(data_dir, k).map_err(|e| format!("chunk parameters: {e}"))?;
            let params = shared
                .config
                .tree
                .msm
                .params(Arc::new(kzg))
                .map_err(|e| format!("parameters for the MSM backend: {e}"))?
                .with_fixed_bases(if shared.config.nats.is_some() {
                    // Workers make the proofs: only their verification happens here.
                    0
                } else {
                    shared.config.msm_tables_bytes
                });
            let params = Arc::new(params);
            prepared.params = Some((k, Arc::clone(&params)));
            params
        }
    };
    let key_id = format!("{}/{k}/{config:?}", job.chunk_size);
    let chunk_keys = match &prepared.keys {
        Some((kid, keys)) if *kid == key_id => Arc::clone(keys),
        _ => {
            prepared.keys = None;
            let (keys, _) = keys::load_or_generate(data_dir, params.kzg(), job.chunk_size, config)
                .map_err(|e| format!("chunk circuit keys: {e}"))?;
            let keys = Arc::new(keys);
            prepared.keys = Some((key_id, Arc::clone(&keys)));
            keys
        }
    };
    let proving = ChunkProving {
        shared,
        id,
        job: &job,
        trace: &trace,
        params: &params,
        keys: &chunk_keys,
        stop: &stop,
    };
    let stopped = match &shared.config.nats {
        Some(nats) => proving.on_bus(nats)?,
        None => proving.here(stats.estimated_peak_bytes, stats.estimated_pk_bytes)?,
    };
    shared
        .metrics
        .phase(Stage::Chunk, chunk_started.elapsed().as_secs_f64());
    if let Some(finish) = stopped {
        return Ok(finish);
    }
    drop(chunk_keys);
    // The aggregation proofs need the memory more than the next job needs these keys.
    prepared.keys = None;

    // Aggregation.
    let aggregation_started = Instant::now();
    let proofs_dir = chunks::proofs_dir(data_dir, &job.trace_id, job.chunk_size);
    let shape = shared.config.tree.shape;
    let on = |event: Event| {
        let change: Box<dyn FnOnce(&mut Job)> = match event {
            Event::ChunksVerified {
                chunks,
                padding,
                layers,
            } => Box::new(move |j: &mut Job| {
                let plan = TreePlan::new(chunks + padding, shape);
                j.padding_chunks = padding;
                j.padding_done = 0;
                j.layers = (1..=layers + 1)
                    .map(|layer| LayerProgress {
                        layer,
                        nodes: plan.nodes(layer),
                        proven: 0,
                        kept: 0,
                        seconds: None,
                        peak_rss_bytes: None,
                    })
                    .collect();
            }),
            Event::Kept { layer: 0, .. } => Box::new(|j: &mut Job| j.padding_done += 1),
            Event::Kept { layer, .. } => Box::new(move |j: &mut Job| {
                if let Some(l) = j.layers.iter_mut().find(|l| l.layer == layer) {
                    l.kept += 1;
                }
            }),
            Event::Proven { layer, seconds, .. } => {
                shared.metrics.proof(Stage::Aggregation, seconds);
                Box::new(move |j: &mut Job| {
                    if layer == 0 {
                        j.padding_done += 1;
                    } else if let Some(l) = j.layers.iter_mut().find(|l| l.layer == layer) {
                        l.proven += 1;
                    }
                })
            }
            Event::LayerDone {
                layer,
                seconds,
                peak_rss,
            } => Box::new(move |j: &mut Job| {
                if let Some(l) = j.layers.iter_mut().find(|l| l.layer == layer) {
                    l.seconds = Some(seconds);
                    l.peak_rss_bytes = peak_rss;
                }
            }),
            Event::KeysStarted {
                layer,
                k,
                cached: false,
                estimated_seconds,
            } => {
                eprintln!(
                    "zkroll serve: job {id}: layer {layer} keys not cached: generating them \
                     (k={k}; ~{:.0} min on the 2-core reference machine, once)",
                    estimated_seconds / 60.0
                );
                return;
            }
            Event::KeysStarted { .. } | Event::ProofStarted { .. } | Event::Keys { .. } => return,
        };
        if let Err(e) = update(shared, id, change) {
            eprintln!("zkroll serve: job {id}: recording progress: {e}");
        }
    };
    let stop_asked = || stop().is_some();
    let remote = shared.config.nats.as_ref().map(|nats| {
        let bus_job = crate::farm::bus_job(&job.trace_id);
        let tree = crate::bus::TreeSpec::of(&shared.config.tree);
        let (trace_id, chunk_size) = (job.trace_id.as_str(), job.chunk_size);
        move |requests: &[NodeRequest]| -> Result<Vec<f64>, AggregateError> {
            let layer = requests.first().map_or(0, |r| r.layer);
            let failed = |reason: String| AggregateError::Remote { layer, reason };
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| failed(format!("async runtime: {e}")))?;
            let mut published = |count: usize, found: usize| {
                eprintln!(
                    "zkroll serve: job {id}: layer {layer}: {count} node tasks published on {} \
                     ({found} results found there)",
                    nats.url
                );
            };
            let nodes = crate::farm::NodeJob {
                job: bus_job,
                trace_id,
                chunk_size,
                tree,
                requests,
            };
            runtime
                .block_on(async {
                    let bus = crate::farm::connect(&nats.url, nats.bus).await?;
                    crate::farm::collect_node_proofs(&bus, nodes, &mut published, &stop_asked).await
                })
                .map_err(|e| match e {
                    crate::farm::CollectError::Stopped => AggregateError::Stopped {
                        layer,
                        index: requests.first().map_or(0, |r| r.index),
                    },
                    e => failed(format!("node proofs on the bus {}: {e}", nats.url)),
                })
        }
    });
    let result = aggregate_with(
        data_dir,
        &proofs_dir,
        &shared.config.tree,
        &on,
        &stop_asked,
        remote.as_ref().map(|r| r as &RemoteNodes<'_>),
    );
    shared.metrics.phase(
        Stage::Aggregation,
        aggregation_started.elapsed().as_secs_f64(),
    );
    match result {
        Ok(path) => Ok(Finish::Done(path)),
        Err(AggregateError::Stopped { .. }) => Ok(stop().unwrap_or(Finish::Interrupted)),
        Err(e) => Err(format!("aggregation: {e}")),
    }
}

/// A job's chunk proofs to make, here or by workers on the bus.
struct ChunkProving<'a> {
    shared: &'a Shared,
    id: u64,
    job: &'a Job,
    trace: &'a BatchTrace,
    params: &'a Arc<MsmParams>,
    keys: &'a Arc<ChunkKeys>,
    stop: &'a (dyn Fn() -> Option<Finish> + Sync),
}

impl ChunkProving<'_> {
    fn path(&self, index: usize) -> PathBuf {
        let format = self.shared.config.tree.format;
        chunks::proof_path(
            &self.shared.config.data_dir,
            self.trace,
            self.job.chunk_size,
            index,
            format,
        )
    }

    /// Whether chunk `index` has a valid proof on disk.
    fn valid(&self, index: usize) -> bool {
        chunks::existing_proof_is_valid(
            self.params.kzg(),
            self.keys,
            self.trace,
            self.job.chunk_size,
            index,
            &self.path(index),
        )
    }

    /// Proves the chunks without a valid proof on disk in this process: up to as many side by
    /// side as memory and cores allow, each using every core (not a pool of threads). A stop
    /// is seen before each proof; the proofs in progress finish first.
    fn here(&self, peak: u64, shared_bytes: u64) -> Result<Option<Finish>, String> {
        let (shared, id) = (self.shared, self.id);
        let tables = self.params.fixed_bases_bytes() as u64;
        let per_proof = ProofMemory {
            peak: peak + tables,
            shared: shared_bytes + tables,
        };
        let count = self.job.chunks.len();
        let (_, available) = memory::machine_memory().unwrap_or((u64::MAX, u64::MAX));
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let jobs = shared
            .config
            .chunk_jobs
            .unwrap_or_else(|| per_proof.jobs(available, cores, count))
            .max(1);
        let results: Vec<Result<Option<Finish>, String>> =
            memory::run_side_by_side(jobs, count, |index| {
                if let Some(finish) = (self.stop)() {
                    return Ok(Some(finish));
                }
                if self.valid(index) {
                    update(shared, id, |j| j.chunks[index] = ChunkProgress::Kept)?;
                    return Ok(None);
                }
                update(shared, id, |j| j.chunks[index] = ChunkProgress::Proving)?;
                let t = Instant::now();
                chunks::prove_chunk(
                    &shared.config.data_dir,
                    shared.config.tree.format,
                    self.params,
                    self.keys,
                    self.trace,
                    self.job.chunk_size,
                    index,
                )
                .map_err(|e| format!("chunk {index}: {e}"))?;
                let seconds = t.elapsed().as_secs_f64();
                shared.metrics.proof(Stage::Chunk, seconds);
                update(shared, id, |j| {
                    j.chunks[index] = ChunkProgress::Proven {
                        seconds,
                        worker: None,
                    }
                })?;
                Ok(None)
            });
        // Chunks not started stay pending; every proof in progress finished before
        // `run_side_by_side` returned.
        let mut stopped = None;
        for r in results {
            if let Some(finish) = r? {
                stopped = Some(finish);
            }
        }
        Ok(stopped)
    }

    /// Has the chunks without a valid proof on disk proven by `zkroll worker` processes
    /// ([`crate::farm::collect_chunk_proofs`]): each worker's proof is written where this
    /// process would have written it and checked before it counts. A dead letter fails the
    /// job with its reason (the next job is taken up as usual); a stop is seen every round.
    fn on_bus(&self, nats: &crate::Nats) -> Result<Option<Finish>, String> {
        use crate::farm::{self, ChunkJob, CollectError};

        let (shared, id) = (self.shared, self.id);
        if shared.config.tree.format != zkroll_prover::proof_file::ProofFormat::Json {
            return Err("--nats: workers write JSON proof files; serve with --format json".into());
        }
        let mut missing = Vec::new();
        for index in 0..self.job.chunks.len() {
            if self.valid(index) {
                update(shared, id, |j| j.chunks[index] = ChunkProgress::Kept)?;
            } else {
                missing.push(index);
            }
        }
        if missing.is_empty() {
            return Ok(None);
        }
        let bus_job = farm::bus_job(&self.job.trace_id);
        let mut keep = |index: usize, result: &crate::bus::TaskResult, bytes: &[u8]| {
            farm::keep_chunk_proof(&self.path(index), bytes, result, || self.valid(index))
                .map_err(|e| format!("chunk {index}: {e}"))?;
            if !result.reused {
                shared.metrics.proof(Stage::Chunk, result.seconds);
            }
            update(shared, id, |j| {
                j.chunks[index] = ChunkProgress::Proven {
                    seconds: result.seconds,
                    worker: Some(result.worker.clone()),
                }
            })?;
            eprintln!(
                "zkroll serve: job {id}: chunk {index} proven by {} ({:.1} s)",
                result.worker, result.seconds
            );
            Ok(())
        };
        let mut published = |published: usize, found: usize| {
            eprintln!(
                "zkroll serve: job {id}: {published} chunk tasks published on {} as bus job \
                 {bus_job} ({found} results found there)",
                nats.url
            );
            let on_bus: Vec<usize> = missing.clone();
            if let Err(e) = update(shared, id, |j| {
                for &index in &on_bus {
                    if matches!(j.chunks[index], ChunkProgress::Pending) {
                        j.chunks[index] = ChunkProgress::OnBus;
                    }
                }
            }) {
                eprintln!("zkroll serve: job {id}: recording progress: {e}");
            }
        };
        let stop = || (self.stop)().is_some();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("async runtime: {e}"))?;
        let collected = runtime.block_on(async {
            let bus = farm::connect(&nats.url, nats.bus).await?;
            let chunks = ChunkJob {
                job: bus_job,
                trace: self.trace,
                chunk_size: self.job.chunk_size,
                missing: &missing,
            };
            farm::collect_chunk_proofs(&bus, chunks, &mut keep, &mut published, &stop).await
        });
        match collected {
            Ok(_) => Ok(None),
            Err(CollectError::Stopped) => Ok(Some((self.stop)().unwrap_or(Finish::Interrupted))),
            Err(e) => Err(format!("chunk proofs on the bus {}: {e}", nats.url)),
        }
    }
}

/// Submits job `id`'s final proof to the rollup contract and records the transaction or why
/// it is not on L1. Batches go to L1 in the order they were proven, from this one thread.
fn submit_to_l1(shared: &Shared, id: u64, l1: &crate::L1Submit, path: &std::path::Path) {
    let outcome = l1_transaction(l1, path, shared.config.allow_unsafe_dev_params);
    match &outcome {
        Ok(tx) => eprintln!("zkroll serve: job {id} on L1: {tx}"),
        Err(e) => eprintln!("zkroll serve: job {id} not on L1: {e}"),
    }
    let recorded = shared.store.update(id, |job| match &outcome {
        Ok(tx) => job.l1_tx = Some(tx.clone()),
        Err(e) => job.l1_error = Some(e.clone()),
    });
    if let Err(e) = recorded {
        eprintln!("zkroll serve: job {id}: recording its L1 submission: {e}");
    }
}

fn l1_transaction(
    l1: &crate::L1Submit,
    path: &std::path::Path,
    allow_unsafe: bool,
) -> Result<String, String> {
    let name = path.display();
    let bytes = std::fs::read(path).map_err(|e| format!("{name}: {e}"))?;
    let file =
        zkroll_prover::proof_file::ProofFile::decode(&bytes).map_err(|e| format!("{name}: {e}"))?;
    if zkroll_prover::srs::is_dev_id(&file.params_id) && !allow_unsafe {
        return Err(format!(
            "{name}: made with the UNSAFE development parameters: not submitted \
             (serve with --allow-unsafe-dev-params for a test chain)"
        ));
    }
    let data = zkroll_verifier_contract::submit_batch_calldata(
        &file.circuit_instances(),
        &file.pubdata,
        &file.proof,
    )
    .map_err(|e| format!("{name}: pubdata: {e}"))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("async runtime: {e}"))?;
    runtime.block_on(async {
        let node = zkroll_verifier_contract::node::Node::connect_to(
            &l1.rpc,
            Some(&l1.key),
            &l1.deployment,
        )
        .await
        .map_err(|e| e.to_string())?;
        let mined = node
            .send(
                "submitBatch",
                Some(l1.deployment.rollup),
                Default::default(),
                data,
            )
            .await
            .map_err(|e| e.to_string())?;
        Ok(format!(
            "{} (block {}, {} gas)",
            mined.hash, mined.block, mined.gas_used
        ))
    })
}
