//! `zkroll worker`: a prover process that takes tasks from the [`crate::bus`] and proves them.
//!
//! A worker pulls one task at a time per free slot (`--jobs`) from the shared durable
//! consumer, so tasks spread over however many workers there are and a busy worker takes no
//! more than it can start. While a proof runs it sends a progress ack every third of the ack
//! wait: a live task is never redelivered, a task whose worker died is, once the ack wait
//! passes after its last heartbeat. Before proving, a worker looks for the task's proof in
//! the object store (a redelivered task may have been finished and uploaded by a worker that
//! died before acking): a valid one is reused, not proven again. A failed task is given back
//! (`NAK`, retried after a second) until its last delivery, then written to the dead-letter
//! stream with the reason and terminated. Parameters and keys come from the worker's own data
//! directory (keys are deterministic: a worker without them generates them once, or copies
//! `<data-dir>/keys` from another machine).
//!
//! Main types: [`FarmConfig`], [`run`].

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

use crate::bus::{Bus, BusConfig, BusError, ChunkTask, DeadLetter, Task, TaskResult};

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct FarmConfig {
    /// The NATS server.
    pub nats: String,
    /// Parameters, keys, and the proofs it makes (`<data-dir>/proofs`).
    pub data_dir: PathBuf,
    /// Tasks proven at once.
    pub jobs: usize,
    /// Memory a task may need, bytes: a task predicted to need more is given back for a
    /// worker with more memory (`None`: no limit).
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

struct Worker {
    config: FarmConfig,
    bus: Bus,
    /// Deliveries after which a failed task is dead (the consumer's setting).
    max_deliver: i64,
    ack_wait: Duration,
    prepared: Mutex<Prepared>,
    /// The last trace downloaded (tasks of one batch follow each other).
    trace: Mutex<Option<(String, Arc<BatchTrace>)>>,
}

/// Proves tasks until `stop` is set (the tasks in progress are finished first); returns the
/// number of tasks it finished.
pub async fn run(config: FarmConfig, stop: Arc<AtomicBool>) -> Result<u64, BusError> {
    let bus = Bus::connect(&config.nats, config.bus).await?;
    let mut consumer = bus.workers().await?;
    let info = consumer
        .info()
        .await
        .map_err(|e| BusError::JetStream {
            what: "consumer info".into(),
            reason: e.to_string(),
        })?
        .config
        .clone();
    let worker = Arc::new(Worker {
        max_deliver: if info.max_deliver > 0 {
            info.max_deliver
        } else {
            i64::MAX
        },
        ack_wait: info.ack_wait,
        config,
        bus,
        prepared: Mutex::new(Prepared::default()),
        trace: Mutex::new(None),
    });
    let jobs = worker.config.jobs.max(1);
    let slots = Arc::new(Semaphore::new(jobs));
    let finished = Arc::new(std::sync::atomic::AtomicU64::new(0));
    eprintln!(
        "zkroll worker {}: taking tasks from {} ({} at once; ack wait {:?}, {} deliveries)",
        worker.config.name, worker.config.nats, jobs, worker.ack_wait, worker.max_deliver
    );
    while !stop.load(Ordering::SeqCst) {
        let Ok(permit) = Arc::clone(&slots).acquire_owned().await else {
            break;
        };
        let mut batch = match consumer
            .fetch()
            .max_messages(1)
            .expires(Duration::from_secs(1))
            .messages()
            .await
        {
            Ok(batch) => batch,
            Err(e) => {
                eprintln!("zkroll worker {}: fetching: {e}", worker.config.name);
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let Some(message) = batch.next().await else {
            continue;
        };
        let message = match message {
            Ok(message) => message,
            Err(e) => {
                eprintln!("zkroll worker {}: fetching: {e}", worker.config.name);
                continue;
            }
        };
        let worker = Arc::clone(&worker);
        let finished = Arc::clone(&finished);
        tokio::spawn(async move {
            if worker.handle(message).await {
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
    /// Handles one delivery; whether the task was finished (proven or found proven).
    async fn handle(self: &Arc<Self>, message: async_nats::jetstream::Message) -> bool {
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
            let every = self.ack_wait / 3;
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
            Err(reason) if delivered >= self.max_deliver => {
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
        let Task::Chunk(chunk) = task;
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
        if !reused {
            retried(|| self.bus.put_blob(&proof_blob, &bytes))
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

/// The coordinator's side for chunk proofs: stores `trace` in the object store and publishes
/// a task for each chunk of `indices` (chunks of `chunk_size` slots) under job `job`; a task
/// that already has dead letters (`dead`) is published as a new attempt. Returns the tasks.
pub async fn publish_chunk_tasks(
    bus: &Bus,
    job: u64,
    trace: &BatchTrace,
    chunk_size: usize,
    indices: &[usize],
    dead: &[DeadLetter],
) -> Result<Vec<Task>, BusError> {
    let trace_id = zkroll_prover::proof_file::trace_id(trace);
    let tasks: Vec<Task> = indices
        .iter()
        .map(|&index| {
            Task::Chunk(ChunkTask {
                job,
                trace_id: trace_id.clone(),
                chunk_size,
                index,
            })
        })
        .collect();
    if let Some(first) = tasks.first() {
        bus.put_blob(&first.trace_blob(), &trace.to_binary())
            .await?;
    }
    for task in &tasks {
        let attempt = dead
            .iter()
            .filter(|d| d.task.as_ref() == Some(task))
            .count();
        bus.publish_task(task, attempt).await?;
    }
    Ok(tasks)
}

/// Why a coordinator stopped waiting for chunk proofs.
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
    /// Chunks whose results were already on the bus (an earlier run of the job).
    pub found: usize,
    /// Proofs taken, by worker.
    pub by_worker: std::collections::BTreeMap<String, usize>,
}

/// The coordinator's side for chunk proofs. Takes the results of `chunks.job` already on the
/// bus (a coordinator started again), publishes the missing chunks still without one (the
/// server drops a task still queued under the same message id), then waits for their
/// results. Each result's proof is downloaded and handed to `keep(index, result, bytes)`,
/// which writes and checks it (an error refuses it and ends the wait). `published(count,
/// found)` is called once the tasks are out; `stop` is asked between rounds. Bus errors are
/// retried for a minute.
pub async fn collect_chunk_proofs(
    bus: &Bus,
    chunks: ChunkJob<'_>,
    keep: &mut KeepProof<'_>,
    published: &mut (dyn FnMut(usize, usize) + Send),
    stop: &(dyn Fn() -> bool + Sync),
) -> Result<Collected, CollectError> {
    let trace_id = zkroll_prover::proof_file::trace_id(chunks.trace);
    let mut done: std::collections::BTreeMap<usize, String> = Default::default();
    let dead_before =
        retried(|| bus.dead_letters(chunks.job, usize::MAX, Duration::from_millis(200))).await?;
    let earlier = retried(|| bus.results(chunks.job, usize::MAX, Duration::from_secs(1))).await?;
    take(bus, &chunks, &trace_id, earlier, keep, &mut done).await?;
    let found = done.len();
    let publish: Vec<usize> = chunks
        .missing
        .iter()
        .copied()
        .filter(|i| !done.contains_key(i))
        .collect();
    retried(|| {
        publish_chunk_tasks(
            bus,
            chunks.job,
            chunks.trace,
            chunks.chunk_size,
            &publish,
            &dead_before,
        )
    })
    .await?;
    published(publish.len(), found);
    while done.len() < chunks.missing.len() {
        if stop() {
            return Err(CollectError::Stopped);
        }
        let results =
            retried(|| bus.results(chunks.job, usize::MAX, Duration::from_secs(2))).await?;
        take(bus, &chunks, &trace_id, results, keep, &mut done).await?;
        let dead = retried(|| bus.dead_letters(chunks.job, usize::MAX, Duration::from_millis(200)))
            .await?;
        if let Some(d) = dead.get(dead_before.len()) {
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

/// Downloads and keeps the proof of each result for a chunk of `chunks` not taken yet.
async fn take(
    bus: &Bus,
    chunks: &ChunkJob<'_>,
    trace_id: &str,
    results: Vec<TaskResult>,
    keep: &mut KeepProof<'_>,
    done: &mut std::collections::BTreeMap<usize, String>,
) -> Result<(), CollectError> {
    for result in results {
        let Task::Chunk(task) = &result.task;
        if task.trace_id != trace_id
            || task.chunk_size != chunks.chunk_size
            || !chunks.missing.contains(&task.index)
            || done.contains_key(&task.index)
        {
            continue;
        }
        let Some(bytes) = retried(|| bus.get_blob(&result.proof_blob)).await? else {
            continue;
        };
        keep(task.index, &result, &bytes).map_err(CollectError::Refused)?;
        done.insert(task.index, result.worker.clone());
    }
    Ok(())
}
