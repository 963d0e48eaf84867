//! The task bus of distributed proving: NATS JetStream.
//!
//! Where it sits: between a coordinator that cuts a batch into proving tasks and the
//! `zkroll worker` processes (on this machine or others) that prove them ([`crate::farm`]).
//! Nothing here is a protocol of our own: the tasks are JSON messages on a JetStream
//! **work-queue stream** ([`TASK_STREAM`]), published by memory class (the memory a task is
//! predicted to need, rounded up to a power of two: subject `zkroll.task.m<MiB>.<kind>.<job>`)
//! and taken through one durable pull consumer per class ([`WORKERS`]`-m<MiB>`) that every
//! worker with that much memory shares, with explicit acks, `+WPI` progress acks while a proof runs (so a
//! live task is not redelivered after the ack wait) and at most `max_deliver` deliveries.
//! Inputs and outputs (traces, proof files) are objects of a JetStream **object store**
//! ([`BLOB_BUCKET`]), named after what they are made from (a trace by its id, a chunk proof by
//! its trace, chunk size and index), so a task redelivered after its proof was uploaded finds
//! it and does not prove it again. Results go to [`RESULT_STREAM`] (`zkroll.result.<job>`),
//! tasks that keep failing to [`DEAD_STREAM`] (`zkroll.dead.<job>`) with the reason.
//!
//! Main types: [`Bus`], [`BusConfig`], [`Task`], [`TaskResult`], [`DeadLetter`].

use std::time::Duration;

use async_nats::jetstream::{self, consumer, object_store, stream};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt;

/// The work-queue stream of tasks (subjects `zkroll.task.>`).
pub const TASK_STREAM: &str = "ZKROLL_TASKS";
/// The stream of results (subjects `zkroll.result.<job>`).
pub const RESULT_STREAM: &str = "ZKROLL_RESULTS";
/// The dead-letter stream (subjects `zkroll.dead.<job>`).
pub const DEAD_STREAM: &str = "ZKROLL_DEAD";
/// The durable pull consumers workers take tasks from: `workers-m<MiB>`, one per memory class.
pub const WORKERS: &str = "workers";
/// The smallest memory class, MiB.
pub const MIN_CLASS_MIB: u64 = 256;

/// The memory class of a task predicted to need `bytes`: that many MiB rounded up to a power
/// of two, at least [`MIN_CLASS_MIB`]. A worker takes the tasks of the classes that fit in its
/// memory.
pub fn memory_class(bytes: u64) -> u64 {
    bytes
        .div_ceil(1 << 20)
        .max(MIN_CLASS_MIB)
        .checked_next_power_of_two()
        .unwrap_or(u64::MAX)
}
/// The object store of traces and proof files.
pub const BLOB_BUCKET: &str = "zkroll-blobs";
/// How long the server drops a task published again with the same message id.
pub const TASK_DEDUP_WINDOW: Duration = Duration::from_secs(3600);

/// What can go wrong on the bus.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The server could not be reached.
    #[error("NATS at {url}: {reason}")]
    Connect {
        /// The URL given.
        url: String,
        /// Why.
        reason: String,
    },
    /// A JetStream request failed.
    #[error("JetStream: {what}: {reason}")]
    JetStream {
        /// What was being done.
        what: String,
        /// Why.
        reason: String,
    },
    /// A message that is not what it should be.
    #[error("message on {subject}: {reason}")]
    Decode {
        /// Its subject.
        subject: String,
        /// Why.
        reason: String,
    },
}

fn js_err(what: impl Into<String>) -> impl FnOnce(&dyn std::fmt::Display) -> BusError {
    let what = what.into();
    move |e| BusError::JetStream {
        what,
        reason: e.to_string(),
    }
}

/// Settings of the streams and the consumer, fixed by whoever creates them first (the
/// server keeps them; later connections use what is there).
#[derive(Debug, Clone, Copy)]
pub struct BusConfig {
    /// How long a delivered task may go without an ack or a progress ack before it is
    /// delivered again (workers send progress every third of it while they prove).
    pub ack_wait: Duration,
    /// Deliveries of a task before it goes to the dead-letter stream.
    pub max_deliver: i64,
}

impl Default for BusConfig {
    fn default() -> Self {
        Self {
            ack_wait: Duration::from_secs(30),
            max_deliver: 3,
        }
    }
}

/// A chunk proof to make: chunk `index` of the trace stored as [`Task::trace_blob`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkTask {
    /// The coordinator's job.
    pub job: u64,
    /// The trace's id (`zkroll_prover::proof_file::trace_id`).
    pub trace_id: String,
    /// Slots per chunk.
    pub chunk_size: usize,
    /// The chunk.
    pub index: usize,
    /// Memory its proof is predicted to need, bytes.
    #[serde(default)]
    pub memory: u64,
}

/// The aggregation tree a node task belongs to (fixed per deployment: the L1 verifier
/// depends on it), as `zkroll aggregate`'s flags give it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeSpec {
    /// Chunks per batch the tree is built for.
    pub capacity: usize,
    /// Proofs per node.
    pub fan_in: usize,
    /// A one-proof final node over the top node.
    pub wrap: bool,
    /// Rows exponent of the Poseidon layers.
    pub layer_k: u32,
    /// Rows exponent of the final layer.
    pub final_k: u32,
}

impl TreeSpec {
    /// The tree of `settings`.
    pub fn of(settings: &zkroll_aggregator::batch::Settings) -> Self {
        Self {
            capacity: settings.capacity,
            fan_in: settings.shape.fan_in,
            wrap: settings.shape.wrap,
            layer_k: settings.layer_k,
            final_k: settings.final_k,
        }
    }

    /// Aggregation settings for this tree, writing JSON proof files.
    pub fn settings(
        &self,
        memory_budget: Option<u64>,
        msm: zkroll_msm::Backend,
    ) -> zkroll_aggregator::batch::Settings {
        zkroll_aggregator::batch::Settings {
            capacity: self.capacity,
            shape: zkroll_aggregator::Shape {
                fan_in: self.fan_in,
                wrap: self.wrap,
            },
            layer_k: self.layer_k,
            final_k: self.final_k,
            format: zkroll_prover::proof_file::ProofFormat::Json,
            memory_budget,
            msm,
        }
    }

    /// In object names: `c<capacity>f<fan-in><wrap|top>k<layer k>-<final k>`.
    pub fn id(&self) -> String {
        format!(
            "c{}f{}{}k{}-{}",
            self.capacity,
            self.fan_in,
            if self.wrap { "wrap" } else { "top" },
            self.layer_k,
            self.final_k
        )
    }
}

/// An input of a node task: a proof file in the object store, and the name the node's
/// prover reads it under (`chunk-<i>.json`, `layer<L>-<i>.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInput {
    /// The object.
    pub blob: String,
    /// The file name.
    pub file: String,
}

/// An aggregation node's proof to make from the proofs below it (its inputs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeTask {
    /// The coordinator's job.
    pub job: u64,
    /// The trace's id.
    pub trace_id: String,
    /// Slots per chunk.
    pub chunk_size: usize,
    /// The tree.
    pub tree: TreeSpec,
    /// Layer (`layers + 1` is the final one).
    pub layer: u32,
    /// Node.
    pub index: usize,
    /// The proofs it aggregates, in order.
    pub inputs: Vec<NodeInput>,
    /// The name of the file it writes (`layer<L>-<i>.json`, `final.json`).
    pub output: String,
    /// Memory its proof is predicted to need, bytes.
    #[serde(default)]
    pub memory: u64,
}

/// The object name of the proof file `file` (`chunk-<i>.json`, `layer<L>-<i>.json`,
/// `final.json`) of the batch `trace_id` in chunks of `chunk_size`, aggregated in `tree`:
/// named after what it proves, so a proof made once is found by any worker.
pub fn proof_object(trace_id: &str, chunk_size: usize, tree: &TreeSpec, file: &str) -> String {
    let stem = file.strip_suffix(".json").unwrap_or(file);
    match stem.strip_prefix("chunk-") {
        Some(index) => format!("proof-{trace_id}-chunk{chunk_size}-{index}"),
        None => format!("proof-{trace_id}-chunk{chunk_size}-{}-{stem}", tree.id()),
    }
}

/// A task on the bus.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    /// A chunk proof.
    Chunk(ChunkTask),
    /// An aggregation node's proof.
    Node(NodeTask),
}

impl Task {
    /// The job it belongs to.
    pub fn job(&self) -> u64 {
        match self {
            Task::Chunk(t) => t.job,
            Task::Node(t) => t.job,
        }
    }

    /// The object holding the input trace (of a chunk task).
    pub fn trace_blob(&self) -> String {
        let trace_id = match self {
            Task::Chunk(t) => &t.trace_id,
            Task::Node(t) => &t.trace_id,
        };
        format!("trace-{trace_id}")
    }

    /// The object its proof is stored as: named after what it proves, so that any worker
    /// (or a redelivery) finds a proof already made.
    pub fn proof_blob(&self) -> String {
        match self {
            Task::Chunk(t) => format!("proof-{}-chunk{}-{}", t.trace_id, t.chunk_size, t.index),
            Task::Node(t) => proof_object(&t.trace_id, t.chunk_size, &t.tree, &t.output),
        }
    }

    /// Memory its proof is predicted to need, bytes.
    pub fn memory(&self) -> u64 {
        match self {
            Task::Chunk(t) => t.memory,
            Task::Node(t) => t.memory,
        }
    }

    /// The subject it is published on: `zkroll.task.m<memory class>.<chunk|node>.<job>`.
    pub fn subject(&self) -> String {
        let class = memory_class(self.memory());
        match self {
            Task::Chunk(t) => format!("zkroll.task.m{class}.chunk.{}", t.job),
            Task::Node(t) => format!("zkroll.task.m{class}.node.{}", t.job),
        }
    }

    /// In words, for logs.
    pub fn describe(&self) -> String {
        match self {
            Task::Chunk(t) => format!(
                "chunk {} of job {} (trace {}, {} slots a chunk)",
                t.index, t.job, t.trace_id, t.chunk_size
            ),
            Task::Node(t) => format!(
                "layer {} node {} of job {} (trace {}, tree {})",
                t.layer,
                t.index,
                t.job,
                t.trace_id,
                t.tree.id()
            ),
        }
    }
}

/// A finished task.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TaskResult {
    /// The task.
    pub task: Task,
    /// The object holding the proof file.
    pub proof_blob: String,
    /// The worker that made it (or found it made).
    pub worker: String,
    /// Seconds the proof took (0 when it was found made).
    pub seconds: f64,
    /// The proof was already in the store (a redelivered task finished elsewhere).
    pub reused: bool,
}

/// A task given up after its last delivery failed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The task (`None`: the message did not decode as one).
    pub task: Option<Task>,
    /// The message as received, when it did not decode.
    pub raw: Option<String>,
    /// Why the last delivery failed.
    pub reason: String,
    /// Deliveries made.
    pub deliveries: i64,
    /// The worker that gave up.
    pub worker: String,
}

/// A connection to the bus, its streams, consumer and object store set up.
#[derive(Clone)]
pub struct Bus {
    js: jetstream::Context,
    blobs: object_store::ObjectStore,
    config: BusConfig,
}

impl std::fmt::Debug for Bus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bus").field("config", &self.config).finish()
    }
}

impl Bus {
    /// Connects to the NATS server at `url` and creates what is missing (streams, consumer,
    /// bucket) with `config`.
    pub async fn connect(url: &str, config: BusConfig) -> Result<Self, BusError> {
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(Duration::from_secs(5))
            .connect(url)
            .await
            .map_err(|e| BusError::Connect {
                url: url.to_string(),
                reason: e.to_string(),
            })?;
        let js = jetstream::new(client);
        for (name, subjects, retention) in [
            (
                TASK_STREAM,
                "zkroll.task.>",
                stream::RetentionPolicy::WorkQueue,
            ),
            (
                RESULT_STREAM,
                "zkroll.result.>",
                stream::RetentionPolicy::Limits,
            ),
            (
                DEAD_STREAM,
                "zkroll.dead.>",
                stream::RetentionPolicy::Limits,
            ),
        ] {
            js.get_or_create_stream(stream::Config {
                name: name.to_string(),
                subjects: vec![subjects.to_string()],
                retention,
                storage: stream::StorageType::File,
                // A task published again by a coordinator that restarted is dropped by the
                // server (same message id) for this long.
                duplicate_window: TASK_DEDUP_WINDOW,
                ..Default::default()
            })
            .await
            .map_err(|e| js_err(format!("stream {name}"))(&e))?;
        }
        let blobs = match js.get_object_store(BLOB_BUCKET).await {
            Ok(store) => store,
            Err(_) => js
                .create_object_store(object_store::Config {
                    bucket: BLOB_BUCKET.to_string(),
                    storage: stream::StorageType::File,
                    ..Default::default()
                })
                .await
                .map_err(|e| js_err(format!("object store {BLOB_BUCKET}"))(&e))?,
        };
        Ok(Self { js, blobs, config })
    }

    /// The settings this connection asked for.
    pub fn config(&self) -> BusConfig {
        self.config
    }

    /// The pull consumer of memory class `class` (MiB), created with this connection's
    /// settings if missing.
    pub async fn class_consumer(&self, class: u64) -> Result<consumer::PullConsumer, BusError> {
        let name = format!("{WORKERS}-m{class}");
        let stream = self
            .js
            .get_stream(TASK_STREAM)
            .await
            .map_err(|e| js_err(format!("stream {TASK_STREAM}"))(&e))?;
        stream
            .get_or_create_consumer(
                &name,
                consumer::pull::Config {
                    durable_name: Some(name.clone()),
                    filter_subject: format!("zkroll.task.m{class}.>"),
                    ack_policy: consumer::AckPolicy::Explicit,
                    ack_wait: self.config.ack_wait,
                    max_deliver: self.config.max_deliver,
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| js_err(format!("consumer {name}"))(&e))
    }

    /// The memory classes (MiB) that have a consumer: those tasks were published for.
    pub async fn classes(&self) -> Result<Vec<u64>, BusError> {
        let stream = self
            .js
            .get_stream(TASK_STREAM)
            .await
            .map_err(|e| js_err(format!("stream {TASK_STREAM}"))(&e))?;
        let mut names = stream.consumer_names();
        let mut classes = Vec::new();
        while let Some(name) = names.next().await {
            let name = name.map_err(|e| js_err("listing consumers")(&e))?;
            let class = name
                .strip_prefix(WORKERS)
                .and_then(|rest| rest.strip_prefix("-m"))
                .and_then(|mib| mib.parse().ok());
            if let Some(class) = class {
                classes.push(class);
            }
        }
        classes.sort_unstable();
        Ok(classes)
    }

    /// Publishes `task` (waits for the server's ack: the task is stored). `attempt` (the dead
    /// letters it already has) is part of its message id: the server drops the same task
    /// published again within [`TASK_DEDUP_WINDOW`], but not a retry of a dead one.
    pub async fn publish_task(&self, task: &Task, attempt: usize) -> Result<(), BusError> {
        // Its class's consumer first: the workers find the class by its consumer.
        self.class_consumer(memory_class(task.memory())).await?;
        let subject = task.subject();
        let failed = |e: &dyn std::fmt::Display| js_err(format!("publishing on {subject}"))(e);
        let payload = serde_json::to_vec(task).map_err(|e| failed(&e))?;
        let id = format!("{}#{attempt}", task.proof_blob());
        self.js
            .send_publish(
                subject.clone(),
                jetstream::message::PublishMessage::build()
                    .payload(payload.into())
                    .message_id(id),
            )
            .await
            .map_err(|e| failed(&e))?
            .await
            .map_err(|e| failed(&e))?;
        Ok(())
    }

    /// Publishes a result.
    pub async fn publish_result(&self, result: &TaskResult) -> Result<(), BusError> {
        self.publish(format!("zkroll.result.{}", result.task.job()), result)
            .await
    }

    /// Publishes a dead letter (job 0 when the task did not decode).
    pub async fn publish_dead(&self, dead: &DeadLetter) -> Result<(), BusError> {
        let job = dead.task.as_ref().map_or(0, Task::job);
        self.publish(format!("zkroll.dead.{job}"), dead).await
    }

    async fn publish(&self, subject: String, value: &impl Serialize) -> Result<(), BusError> {
        let payload = serde_json::to_vec(value).map_err(|e| js_err("encoding")(&e))?;
        self.js
            .publish(subject.clone(), payload.into())
            .await
            .map_err(|e| js_err(format!("publishing on {subject}"))(&e))?
            .await
            .map_err(|e| js_err(format!("publishing on {subject}"))(&e))?;
        Ok(())
    }

    /// Stores `bytes` as object `name` (replacing it).
    pub async fn put_blob(&self, name: &str, bytes: &[u8]) -> Result<(), BusError> {
        let mut reader = bytes;
        self.blobs
            .put(name, &mut reader)
            .await
            .map_err(|e| js_err(format!("storing {name}"))(&e))?;
        Ok(())
    }

    /// Object `name`, if stored.
    pub async fn get_blob(&self, name: &str) -> Result<Option<Vec<u8>>, BusError> {
        let mut object = match self.blobs.get(name).await {
            Ok(object) => object,
            Err(e) if e.kind() == object_store::GetErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(js_err(format!("reading {name}"))(&e)),
        };
        let mut bytes = Vec::new();
        object
            .read_to_end(&mut bytes)
            .await
            .map_err(|e| js_err(format!("reading {name}"))(&e))?;
        Ok(Some(bytes))
    }

    /// The results of job `job`, read from the start of the result stream until `enough`
    /// have been read or `wait` has passed (an ordered consumer: nothing is consumed, so a
    /// coordinator that restarts reads them again).
    pub async fn results(
        &self,
        job: u64,
        enough: usize,
        wait: Duration,
    ) -> Result<Vec<TaskResult>, BusError> {
        self.read(RESULT_STREAM, format!("zkroll.result.{job}"), enough, wait)
            .await
    }

    /// The dead letters of job `job` (as [`Bus::results`]).
    pub async fn dead_letters(
        &self,
        job: u64,
        enough: usize,
        wait: Duration,
    ) -> Result<Vec<DeadLetter>, BusError> {
        self.read(DEAD_STREAM, format!("zkroll.dead.{job}"), enough, wait)
            .await
    }

    async fn read<T: serde::de::DeserializeOwned>(
        &self,
        stream_name: &str,
        subject: String,
        enough: usize,
        wait: Duration,
    ) -> Result<Vec<T>, BusError> {
        let failed = |e: &dyn std::fmt::Display| js_err(format!("reading {subject}"))(e);
        let stream = self
            .js
            .get_stream(stream_name)
            .await
            .map_err(|e| failed(&e))?;
        let consumer = stream
            .create_consumer(consumer::pull::OrderedConfig {
                filter_subject: subject.clone(),
                ..Default::default()
            })
            .await
            .map_err(|e| failed(&e))?;
        let mut messages = consumer.messages().await.map_err(|e| failed(&e))?;
        let mut out = Vec::new();
        let deadline = tokio::time::Instant::now() + wait;
        while out.len() < enough {
            let Ok(Some(message)) = tokio::time::timeout_at(deadline, messages.next()).await else {
                break;
            };
            let message = message.map_err(|e| failed(&e))?;
            let value = serde_json::from_slice(&message.payload).map_err(|e| BusError::Decode {
                subject: subject.clone(),
                reason: e.to_string(),
            })?;
            out.push(value);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_classes_round_up_to_powers_of_two_from_256_mib() {
        assert_eq!(memory_class(0), 256);
        assert_eq!(memory_class(256 << 20), 256);
        assert_eq!(memory_class((256 << 20) + 1), 512);
        assert_eq!(memory_class(13 << 30), 16 << 10);
        assert_eq!(memory_class(u64::MAX), 1 << 44);
        let task = Task::Chunk(ChunkTask {
            job: 7,
            trace_id: "0xab".into(),
            chunk_size: 4,
            index: 1,
            memory: 600 << 20,
        });
        assert_eq!(task.subject(), "zkroll.task.m1024.chunk.7");
    }
}
