//! `zkroll worker`: a prover process that takes tasks from the [`crate::bus`] and proves them
//! (chunk proofs, and aggregation nodes from their input proofs), and the coordinators' side
//! ([`collect_chunk_proofs`], [`collect_node_proofs`]).
//!
//! A worker pulls one task at a time per free slot (`--jobs`) from the shared durable
//! consumers of the memory classes it fits (the largest first), so tasks spread over however
//! many workers there are, a busy worker takes no more than it can start, and a small machine
//! never takes a task it has no memory for. While a proof runs it sends a progress ack every third of the ack
//! wait: a live task is never redelivered, a task whose worker died is, once the ack wait
//! passes after its last heartbeat. Before proving, a worker looks for the task's proof in
//! the object store (a redelivered task may have been finished and uploaded by a worker that
//! died before acking): a valid one is reused, not proven again. A failed task is given back
//! (`NAK`, retried after a second) until its last delivery, then written to the dead-letter
//! stream with the reason and terminated. Parameters and keys come from the worker's own data
//! directory (keys are deterministic: a worker without them generates them once, or copies
//! `<data-dir>/keys` from another machine).
//!
//! Main types: [`FarmConfig`], [`run`], [`ChunkJob`], [`NodeJob`], [`CollectError`].

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::jetstream::{message::Acker, AckKind};
use futures::StreamExt;
use tokio::sync::Semaphore;
use zkroll_circuits::proof::ChunkKeys;
use zkroll_circuits::stats::chunk_stats;
use zkroll_engine::BatchTrace;
use zkroll_msm::kzg::MsmParams;
use zkroll_msm::Backend;
use zkroll_prover::proof_file::ProofFormat;
use zkroll_prover::{chunks, keys, srs};

use zkroll_aggregator::batch::{prove_one_node, Event, NodeRequest};

use crate::bus::{
    proof_object, Bus, BusConfig, BusError, ChunkTask, DeadLetter, NodeInput, NodeTask, Task,
    TaskResult, TreeSpec, MIN_CLASS_MIB,
};

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct FarmConfig {
    /// The NATS server.
    pub nats: String,
    /// Parameters, keys, and the proofs it makes (`<data-dir>/proofs`).
    pub data_dir: PathBuf,
    /// Tasks proven at once.
    pub jobs: usize,
    /// Memory this worker has for a task, bytes (`None`: the machine's): it takes tasks of the
    /// memory classes that fit ([`crate::bus::memory_class`]), and an aggregation layer
    /// predicted to need more is refused.
    pub memory_limit: Option<u64>,
    /// The name in results and logs.
    pub name: String,
    /// Stream settings, when this worker is the first to connect.
    pub bus: BusConfig,
    /// MSM backend of the proofs' commitments.
    pub msm: Backend,
}

/// Chunk parameters and keys, kept from one task to the next while the circuit is the same.
#[derive(Default)]
struct Prepared {
    params: Option<(u32, Arc<MsmParams>)>,
    keys: Option<(String, Arc<ChunkKeys>)>,
}

/// The consumer of one memory class, with its settings.
struct ClassConsumer {
    class: u64,
    consumer: async_nats::jetstream::consumer::PullConsumer,
    ack_wait: Duration,
    /// Deliveries after which a failed task is dead.
    max_deliver: i64,
}

struct Worker {
    config: FarmConfig,
    bus: Bus,
    prepared: Mutex<Prepared>,
    /// The last trace downloaded (tasks of one batch follow each other).
    trace: Mutex<Option<(String, Arc<BatchTrace>)>>,
}

/// Proves tasks until `stop` is set (the tasks in progress are finished first); returns the
/// number of tasks it finished.
pub async fn run(config: FarmConfig, stop: Arc<AtomicBool>) -> Result<u64, BusError> {
    let bus = Bus::connect(&config.nats, config.bus).await?;
    // The classes this worker has memory for, largest first (only big machines can take
    // those); their consumers are created with this worker's settings when missing.
    let memory = config.memory_limit.unwrap_or_else(|| {
        zkroll_prover::memory::machine_memory().map_or(64 << 30, |(total, _)| total)
    });
    let mut consumers = Vec::new();
    let mut class = MIN_CLASS_MIB;
    while class.saturating_mul(1 << 20) <= memory {
        let consumer = bus.class_consumer(class).await?;
        let info = consumer.cached_info().config.clone();
        consumers.push(ClassConsumer {
            class,
            consumer,
            ack_wait: info.ack_wait,
            max_deliver: if info.max_deliver > 0 {
                info.max_deliver
            } else {
                i64::MAX
            },
        });
        class *= 2;
    }
    consumers.reverse();
    let worker = Arc::new(Worker {
        config,
        bus,
        prepared: Mutex::new(Prepared::default()),
        trace: Mutex::new(None),
    });
    let jobs = worker.config.jobs.max(1);
    let slots = Arc::new(Semaphore::new(jobs));
    let finished = Arc::new(std::sync::atomic::AtomicU64::new(0));
    eprintln!(
        "zkroll worker {}: taking tasks from {} ({} at once; {})",
        worker.config.name,
        worker.config.nats,
        jobs,
        match (consumers.first(), consumers.last()) {
            (Some(big), Some(small)) => format!(
                "memory classes {} to {} MiB of {:.1} GiB; ack wait {:?}, {} deliveries",
                small.class,
                big.class,
                memory as f64 / f64::from(1 << 30),
                big.ack_wait,
                big.max_deliver
            ),
            _ => format!(
                "no memory class fits in {:.2} GiB: it will take nothing",
                memory as f64 / f64::from(1 << 30)
            ),
        }
    );
    // Each class is asked in turn, about a second a round when there is nothing to do.
    let wait =
        Duration::from_millis(1000 / consumers.len().max(1) as u64).max(Duration::from_millis(100));
    while !stop.load(Ordering::SeqCst) {
        let Ok(permit) = Arc::clone(&slots).acquire_owned().await else {
            break;
        };
        if consumers.is_empty() {
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        let mut taken = None;
        for class in &consumers {
            let mut batch = match class
                .consumer
                .fetch()
                .max_messages(1)
                .expires(wait)
                .messages()
                .await
            {
                Ok(batch) => batch,
                Err(e) => {
                    eprintln!("zkroll worker {}: fetching: {e}", worker.config.name);
                    tokio::time::sleep(wait).await;
                    continue;
                }
            };
            match batch.next().await {
                Some(Ok(message)) => {
                    taken = Some((message, class.ack_wait, class.max_deliver));
                    break;
                }
                Some(Err(e)) => eprintln!("zkroll worker {}: fetching: {e}", worker.config.name),
                None => {}
            }
        }
        let Some((message, ack_wait, max_deliver)) = taken else {
            continue;
        };
        let worker = Arc::clone(&worker);
        let finished = Arc::clone(&finished);
        tokio::spawn(async move {
            if worker.handle(message, ack_wait, max_deliver).await {
                finished.fetch_add(1, Ordering::SeqCst);
            }
            drop(permit);
        });
    }
    // Wait for the tasks in progress.
    let _ = slots.acquire_many(jobs as u32).await;
    Ok(finished.load(Ordering::SeqCst))
}

impl Worker {
    /// Handles one delivery from a consumer with `ack_wait` and `max_deliver`; whether the
    /// task was finished (proven or found proven).
    async fn handle(
        self: &Arc<Self>,
        message: async_nats::jetstream::Message,
        ack_wait: Duration,
        max_deliver: i64,
    ) -> bool {
        let delivered = message.info().map_or(1, |i| i.delivered);
        let (message, acker) = message.split();
        let acker = Arc::new(acker);
        let name = &self.config.name;
        let task: Task = match serde_json::from_slice(&message.payload) {
            Ok(task) => task,
            Err(e) => {
                // A message that is not a task never will be: dead at once.
                let dead = DeadLetter {
                    task: None,
                    raw: Some(String::from_utf8_lossy(&message.payload).into_owned()),
                    reason: format!("not a task: {e}"),
                    deliveries: delivered,
                    worker: name.clone(),
                };
                self.give_up(&acker, dead).await;
                return false;
            }
        };
        let heartbeat = {
            let acker = Arc::clone(&acker);
            let every = ack_wait / 3;
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    let _ = acker.ack_with(AckKind::Progress).await;
                }
            })
        };
        let outcome = self.finish(&task).await;
        heartbeat.abort();
        match outcome {
            Ok(result) => {
                if let Err(e) = retried(|| self.bus.publish_result(&result)).await {
                    eprintln!("zkroll worker {name}: {}: {e}", task.describe());
                    let _ = acker
                        .ack_with(AckKind::Nak(Some(Duration::from_secs(1))))
                        .await;
                    return false;
                }
                if let Err(e) = acker.double_ack().await {
                    // The result is published; a redelivery finds the proof and reuses it.
                    eprintln!("zkroll worker {name}: acking {}: {e}", task.describe());
                }
                true
            }
            Err(reason) if delivered >= max_deliver => {
                eprintln!(
                    "zkroll worker {name}: {} failed on its last delivery ({delivered}): {reason}",
                    task.describe()
                );
                let dead = DeadLetter {
                    task: Some(task),
                    raw: None,
                    reason,
                    deliveries: delivered,
                    worker: name.clone(),
                };
                self.give_up(&acker, dead).await;
                false
            }
            Err(reason) => {
                eprintln!(
                    "zkroll worker {name}: {} failed (delivery {delivered}), given back: {reason}",
                    task.describe()
                );
                let _ = acker
                    .ack_with(AckKind::Nak(Some(Duration::from_secs(1))))
                    .await;
                false
            }
        }
    }

    async fn give_up(&self, acker: &Acker, dead: DeadLetter) {
        if let Err(e) = self.bus.publish_dead(&dead).await {
            eprintln!("zkroll worker {}: dead letter: {e}", self.config.name);
            let _ = acker
                .ack_with(AckKind::Nak(Some(Duration::from_secs(1))))
                .await;
            return;
        }
        let _ = acker.ack_with(AckKind::Term).await;
    }

    /// The task's result: its proof found in the store, or made and uploaded.
    async fn finish(self: &Arc<Self>, task: &Task) -> Result<TaskResult, String> {
        let chunk = match task {
            Task::Chunk(chunk) => chunk,
            Task::Node(node) => return self.finish_node(task, node).await,
        };
        let trace = self.trace(&task.trace_blob()).await?;
        let proof_blob = task.proof_blob();
        let stored = retried(|| self.bus.get_blob(&proof_blob))
            .await
            .map_err(|e| e.to_string())?;
        let worker = Arc::clone(self);
        let chunk = chunk.clone();
        let started = Instant::now();
        let (bytes, reused) =
            tokio::task::spawn_blocking(move || worker.prove_chunk(&trace, &chunk, stored))
                .await
                .map_err(|e| format!("the proving thread: {e}"))??;
        self.result(task, proof_blob, &bytes, reused, started).await
    }

    /// A node task's result: its inputs downloaded into a directory of the tree's, the proof
    /// found in the store (and valid) or made there ([`prove_one_node`]) and uploaded.
    async fn finish_node(
        self: &Arc<Self>,
        task: &Task,
        node: &NodeTask,
    ) -> Result<TaskResult, String> {
        let dir = chunks::proofs_dir(&self.config.data_dir, &node.trace_id, node.chunk_size)
            .join(format!("nodes-{}", node.tree.id()));
        let safe = |file: &str| {
            !file.is_empty()
                && !file.contains('/')
                && !file.starts_with('.')
                && file.ends_with(".json")
        };
        if !node.inputs.iter().all(|i| safe(&i.file)) || !safe(&node.output) {
            return Err(format!(
                "{}: file names not of a proofs directory",
                task.describe()
            ));
        }
        for input in &node.inputs {
            let bytes = retried(|| self.bus.get_blob(&input.blob))
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("input {} is not in the object store", input.blob))?;
            write_file(&dir.join(&input.file), &bytes)?;
        }
        let proof_blob = task.proof_blob();
        let output = dir.join(&node.output);
        if let Some(bytes) = retried(|| self.bus.get_blob(&proof_blob))
            .await
            .map_err(|e| e.to_string())?
        {
            // Kept by the prover below if it is a valid proof of this node.
            write_file(&output, &bytes)?;
        }
        let settings = node
            .tree
            .settings(self.config.memory_limit, self.config.msm);
        let (data_dir, at) = (self.config.data_dir.clone(), (node.layer, node.index));
        let started = Instant::now();
        eprintln!(
            "zkroll worker {}: proving layer {} node {} of job {}",
            self.config.name, node.layer, node.index, node.job
        );
        let reused = tokio::task::spawn_blocking(move || {
            let kept = AtomicBool::new(false);
            let on = |event: Event| {
                if matches!(event, Event::Kept { .. }) {
                    kept.store(true, Ordering::SeqCst);
                }
            };
            prove_one_node(&data_dir, &dir, &settings, at, &on)
                .map(|_| kept.load(Ordering::SeqCst))
                .map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| format!("the proving thread: {e}"))??;
        let bytes = std::fs::read(&output).map_err(|e| format!("{}: {e}", output.display()))?;
        self.result(task, proof_blob, &bytes, reused, started).await
    }

    /// The result of `task` whose proof is `bytes`: uploaded as `proof_blob` unless it was
    /// found there (`reused`), and logged.
    async fn result(
        &self,
        task: &Task,
        proof_blob: String,
        bytes: &[u8],
        reused: bool,
        started: Instant,
    ) -> Result<TaskResult, String> {
        if !reused {
            retried(|| self.bus.put_blob(&proof_blob, bytes))
                .await
                .map_err(|e| e.to_string())?;
        }
        let seconds = if reused {
            0.0
        } else {
            started.elapsed().as_secs_f64()
        };
        eprintln!(
            "zkroll worker {}: {} {} ({seconds:.1} s)",
            self.config.name,
            task.describe(),
            if reused {
                "was proven already"
            } else {
                "proven"
            }
        );
        Ok(TaskResult {
            task: task.clone(),
            proof_blob,
            worker: self.config.name.clone(),
            seconds,
            reused,
        })
    }

    /// The trace stored as `name`: the last one again, or downloaded.
    async fn trace(&self, name: &str) -> Result<Arc<BatchTrace>, String> {
        if let Ok(last) = self.trace.lock() {
            if let Some((last_name, trace)) = last.as_ref() {
                if last_name == name {
                    return Ok(Arc::clone(trace));
                }
            }
        }
        let bytes = retried(|| self.bus.get_blob(name))
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("trace {name} is not in the object store"))?;
        let trace = Arc::new(BatchTrace::decode(&bytes).map_err(|e| format!("{name}: {e}"))?);
        if let Ok(mut last) = self.trace.lock() {
            *last = Some((name.to_string(), Arc::clone(&trace)));
        }
        Ok(trace)
    }

    /// Chunk `task.index`'s proof file: `stored` (the object store's) if it is a valid
    /// proof of it, else a new one. Blocking.
    fn prove_chunk(
        &self,
        trace: &BatchTrace,
        task: &ChunkTask,
        stored: Option<Vec<u8>>,
    ) -> Result<(Vec<u8>, bool), String> {
        let data_dir = &self.config.data_dir;
        let config = trace.header.config;
        let stats = chunk_stats(task.chunk_size, config, None);
        if let Some(limit) = self.config.memory_limit {
            if stats.estimated_peak_bytes > limit {
                return Err(format!(
                    "needs ~{:.1} GiB, over this worker's --memory-limit ({:.1} GiB)",
                    stats.estimated_peak_bytes as f64 / f64::from(1 << 30),
                    limit as f64 / f64::from(1 << 30)
                ));
            }
        }
        let (params, keys) = self.prepare(stats.k, task.chunk_size, config)?;
        let format = ProofFormat::Json;
        let path = chunks::proof_path(data_dir, trace, task.chunk_size, task.index, format);
        if let Some(bytes) = stored {
            write_file(&path, &bytes)?;
            if chunks::existing_proof_is_valid(
                params.kzg(),
                &keys,
                trace,
                task.chunk_size,
                task.index,
                &path,
            ) {
                return Ok((bytes, true));
            }
        }
        eprintln!(
            "zkroll worker {}: proving chunk {} of job {}",
            self.config.name, task.index, task.job
        );
        let path = chunks::prove_chunk(
            data_dir,
            format,
            &params,
            &keys,
            trace,
            task.chunk_size,
            task.index,
        )
        .map_err(|e| format!("chunk {}: {e}", task.index))?;
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok((bytes, false))
    }

    fn prepare(
        &self,
        k: u32,
        chunk_size: usize,
        config: zkroll_engine::ChainConfig,
    ) -> Result<(Arc<MsmParams>, Arc<ChunkKeys>), String> {
        let mut prepared = self
            .prepared
            .lock()
            .map_err(|_| "a proving thread panicked".to_string())?;
        let data_dir = &self.config.data_dir;
        let params = match &prepared.params {
            Some((pk, p)) if *pk == k => Arc::clone(p),
            _ => {
                prepared.keys = None;
                let kzg = srs::load(data_dir, k).map_err(|e| format!("chunk parameters: {e}"))?;
                let params = Arc::new(
                    self.config
                        .msm
                        .params(Arc::new(kzg))
                        .map_err(|e| format!("parameters for the MSM backend: {e}"))?,
                );
                prepared.params = Some((k, Arc::clone(&params)));
                params
            }
        };
        let key_id = format!("{chunk_size}/{k}/{config:?}");
        let keys = match &prepared.keys {
            Some((id, keys)) if *id == key_id => Arc::clone(keys),
            _ => {
                let (keys, _) = keys::load_or_generate(data_dir, params.kzg(), chunk_size, config)
                    .map_err(|e| format!("chunk circuit keys: {e}"))?;
                let keys = Arc::new(keys);
                prepared.keys = Some((key_id, Arc::clone(&keys)));
                keys
            }
        };
        Ok((params, keys))
    }
}

/// The job number on the bus of a batch: the first 60 bits of its trace id. Every
/// coordinator (`zkroll prove --nats`, `zkroll serve --nats`) gives a trace the same number,
/// so a coordinator started again, or another one proving the same trace, takes the results
/// already on the bus.
pub fn bus_job(trace_id: &str) -> u64 {
    let hex = trace_id.trim_start_matches("0x");
    u64::from_str_radix(hex.get(..15).unwrap_or(hex), 16).unwrap_or(0)
}

/// [`Bus::connect`], tried again every second for up to a minute (a server starting or
/// restarting), then its last error.
pub async fn connect(url: &str, config: BusConfig) -> Result<Bus, BusError> {
    retried(|| Bus::connect(url, config)).await
}

/// Writes a worker's proof of a chunk to `path` (atomically, where `zkroll prove` would
/// have) and checks it with `valid`; a proof that does not verify is removed and refused,
/// with the reason naming the object and the worker.
pub fn keep_chunk_proof(
    path: &std::path::Path,
    bytes: &[u8],
    result: &TaskResult,
    valid: impl FnOnce() -> bool,
) -> Result<(), String> {
    zkroll_prover::fs::write_atomic(path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    if valid() {
        return Ok(());
    }
    if let Err(e) = std::fs::remove_file(path) {
        eprintln!("removing {}: {e}", path.display());
    }
    Err(format!(
        "the proof {} from worker {} does not verify",
        result.proof_blob, result.worker
    ))
}

/// `op` again after each failure for up to a minute (a server restarting, a connection
/// being made again), then its last error.
async fn retried<T, F, Fut>(mut op: F) -> Result<T, BusError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, BusError>>,
{
    let mut attempts = 0;
    loop {
        match op().await {
            Ok(value) => return Ok(value),
            Err(e) if attempts >= 60 => return Err(e),
            Err(_) => {
                attempts += 1;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

fn write_file(path: &std::path::Path, bytes: &[u8]) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// Why a coordinator stopped waiting for proofs.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// The bus kept failing for a minute.
    #[error(transparent)]
    Bus(#[from] BusError),
    /// A task was given up by a worker.
    #[error("{task}: given up after {deliveries} deliveries (worker {worker}): {reason}")]
    Dead {
        /// The task, in words.
        task: String,
        /// Deliveries made.
        deliveries: i64,
        /// The worker that gave up.
        worker: String,
        /// Why its last delivery failed.
        reason: String,
    },
    /// The coordinator refused a proof (it does not verify, or could not be written).
    #[error("{0}")]
    Refused(String),
    /// The caller asked to stop.
    #[error("stopped")]
    Stopped,
}

/// What a coordinator does with a worker's proof of chunk `index`: writes and checks it
/// (`Err`: refused, with the reason).
pub type KeepProof<'a> = dyn FnMut(usize, &TaskResult, &[u8]) -> Result<(), String> + Send + 'a;

/// A batch's chunk proofs to have made by workers.
#[derive(Debug, Clone, Copy)]
pub struct ChunkJob<'a> {
    /// The job number on the bus.
    pub job: u64,
    /// The batch.
    pub trace: &'a BatchTrace,
    /// Slots per chunk.
    pub chunk_size: usize,
    /// The chunks to prove (those without a valid proof where the coordinator keeps them).
    pub missing: &'a [usize],
}

/// What [`collect_chunk_proofs`] did.
#[derive(Debug, Clone, Default)]
pub struct Collected {
    /// Tasks published by this call.
    pub published: usize,
    /// Tasks whose results were already on the bus (an earlier run of the job).
    pub found: usize,
    /// Proofs taken, by worker.
    pub by_worker: std::collections::BTreeMap<String, usize>,
}

/// The coordinator's side for chunk proofs. Takes the results of `chunks.job` already on the
/// bus (a coordinator started again), stores the trace and publishes the missing chunks still
/// without one (the server drops a task still queued under the same message id), then waits
/// for their results. Each result's proof is downloaded and handed to `keep(index, result,
/// bytes)`, which writes and checks it (an error refuses it and ends the wait).
/// `published(count, found)` is called once the tasks are out; `stop` is asked between
/// rounds. Bus errors are retried for a minute.
pub async fn collect_chunk_proofs(
    bus: &Bus,
    chunks: ChunkJob<'_>,
    keep: &mut KeepProof<'_>,
    published: &mut (dyn FnMut(usize, usize) + Send),
    stop: &(dyn Fn() -> bool + Sync),
) -> Result<Collected, CollectError> {
    let trace_id = zkroll_prover::proof_file::trace_id(chunks.trace);
    let memory =
        chunk_stats(chunks.chunk_size, chunks.trace.header.config, None).estimated_peak_bytes;
    let tasks: Vec<Task> = chunks
        .missing
        .iter()
        .map(|&index| {
            Task::Chunk(ChunkTask {
                job: chunks.job,
                trace_id: trace_id.clone(),
                chunk_size: chunks.chunk_size,
                index,
                memory,
            })
        })
        .collect();
    let trace = || match tasks.first() {
        Some(first) => vec![(first.trace_blob(), chunks.trace.to_binary())],
        None => Vec::new(),
    };
    let mut keep_task =
        |at: usize, result: &TaskResult, bytes: &[u8]| keep(chunks.missing[at], result, bytes);
    collect(
        bus,
        chunks.job,
        &tasks,
        &trace,
        &mut keep_task,
        published,
        stop,
    )
    .await
}

/// A batch's aggregation nodes of one layer to have made by workers.
#[derive(Debug, Clone, Copy)]
pub struct NodeJob<'a> {
    /// The job number on the bus.
    pub job: u64,
    /// The trace's id.
    pub trace_id: &'a str,
    /// Slots per chunk.
    pub chunk_size: usize,
    /// The tree.
    pub tree: TreeSpec,
    /// The nodes, as the aggregator asks for them.
    pub requests: &'a [NodeRequest],
}

/// The coordinator's side for aggregation nodes (the [`zkroll_aggregator::batch::RemoteNodes`]
/// of a coordinator): stores each node's inputs from the coordinator's files, publishes a
/// task per node, and writes each result's proof to its request's output (the aggregator
/// checks it). Returns the seconds each took (0 for one found made). As
/// [`collect_chunk_proofs`] otherwise.
pub async fn collect_node_proofs(
    bus: &Bus,
    nodes: NodeJob<'_>,
    published: &mut (dyn FnMut(usize, usize) + Send),
    stop: &(dyn Fn() -> bool + Sync),
) -> Result<Vec<f64>, CollectError> {
    let name = |path: &std::path::Path| {
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let tasks: Vec<Task> = nodes
        .requests
        .iter()
        .map(|r| {
            Task::Node(NodeTask {
                job: nodes.job,
                trace_id: nodes.trace_id.to_string(),
                chunk_size: nodes.chunk_size,
                tree: nodes.tree,
                layer: r.layer,
                index: r.index,
                inputs: r
                    .inputs
                    .iter()
                    .map(|path| NodeInput {
                        blob: proof_object(
                            nodes.trace_id,
                            nodes.chunk_size,
                            &nodes.tree,
                            &name(path),
                        ),
                        file: name(path),
                    })
                    .collect(),
                output: name(&r.output),
                memory: r.memory,
            })
        })
        .collect();
    // The inputs, from the coordinator's files (a chunk proof is there already when a worker
    // made it; storing it again is harmless and covers proofs made elsewhere).
    let mut inputs = Vec::new();
    for (request, task) in nodes.requests.iter().zip(&tasks) {
        let Task::Node(node) = task else { continue };
        for (path, input) in request.inputs.iter().zip(&node.inputs) {
            let bytes = std::fs::read(path)
                .map_err(|e| CollectError::Refused(format!("{}: {e}", path.display())))?;
            inputs.push((input.blob.clone(), bytes));
        }
    }
    // Proof files of a few KB: cloned when the tasks are published.
    let uploads = || inputs.clone();
    let mut seconds = vec![0.0; tasks.len()];
    let mut keep = |at: usize, result: &TaskResult, bytes: &[u8]| {
        let path = &nodes.requests[at].output;
        zkroll_prover::fs::write_atomic(path, bytes)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        seconds[at] = result.seconds;
        Ok(())
    };
    collect(bus, nodes.job, &tasks, &uploads, &mut keep, published, stop).await?;
    Ok(seconds)
}

/// The coordinator's loop: takes the results of `tasks` already on the bus, stores `uploads()`
/// and publishes the tasks still without one (as new attempts of those with dead letters),
/// then waits for the rest. `keep(position in tasks, result, proof)` takes each proof once.
async fn collect(
    bus: &Bus,
    job: u64,
    tasks: &[Task],
    uploads: &(dyn Fn() -> Vec<(String, Vec<u8>)> + Sync),
    keep: &mut KeepProof<'_>,
    published: &mut (dyn FnMut(usize, usize) + Send),
    stop: &(dyn Fn() -> bool + Sync),
) -> Result<Collected, CollectError> {
    let mut done: std::collections::BTreeMap<usize, String> = Default::default();
    let dead_before =
        retried(|| bus.dead_letters(job, usize::MAX, Duration::from_millis(200))).await?;
    let earlier = retried(|| bus.results(job, usize::MAX, Duration::from_secs(1))).await?;
    take(bus, tasks, earlier, keep, &mut done).await?;
    let found = done.len();
    let publish: Vec<&Task> = tasks
        .iter()
        .enumerate()
        .filter(|(at, _)| !done.contains_key(at))
        .map(|(_, task)| task)
        .collect();
    if !publish.is_empty() {
        for (name, bytes) in uploads() {
            retried(|| bus.put_blob(&name, &bytes)).await?;
        }
    }
    for task in &publish {
        let attempt = dead_before
            .iter()
            .filter(|d| d.task.as_ref() == Some(*task))
            .count();
        retried(|| bus.publish_task(task, attempt)).await?;
    }
    published(publish.len(), found);
    while done.len() < tasks.len() {
        if stop() {
            return Err(CollectError::Stopped);
        }
        let results = retried(|| bus.results(job, usize::MAX, Duration::from_secs(2))).await?;
        take(bus, tasks, results, keep, &mut done).await?;
        let dead =
            retried(|| bus.dead_letters(job, usize::MAX, Duration::from_millis(200))).await?;
        let fatal = dead
            .iter()
            .skip(dead_before.len())
            .find(|d| d.task.as_ref().is_none_or(|t| tasks.contains(t)));
        if let Some(d) = fatal {
            return Err(CollectError::Dead {
                task: d.task.as_ref().map_or("a task".into(), Task::describe),
                deliveries: d.deliveries,
                worker: d.worker.clone(),
                reason: d.reason.clone(),
            });
        }
    }
    let mut by_worker = std::collections::BTreeMap::new();
    for worker in done.into_values() {
        *by_worker.entry(worker).or_default() += 1;
    }
    Ok(Collected {
        published: publish.len(),
        found,
        by_worker,
    })
}

/// Downloads and keeps the proof of each result for a task of `tasks` not taken yet.
async fn take(
    bus: &Bus,
    tasks: &[Task],
    results: Vec<TaskResult>,
    keep: &mut KeepProof<'_>,
    done: &mut std::collections::BTreeMap<usize, String>,
) -> Result<(), CollectError> {
    for result in results {
        let Some(at) = tasks.iter().position(|t| *t == result.task) else {
            continue;
        };
        if done.contains_key(&at) {
            continue;
        }
        let Some(bytes) = retried(|| bus.get_blob(&result.proof_blob)).await? else {
            continue;
        };
        keep(at, &result, &bytes).map_err(CollectError::Refused)?;
        done.insert(at, result.worker.clone());
    }
    Ok(())
}
