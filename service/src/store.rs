//! The job store: jobs, their traces and their progress in RocksDB, every change one synced
//! write, so a crash (kill -9, power loss) at any moment leaves each job as it was after its
//! last completed change.
//!
//! Keys: `job/<id>` (the [`Job`] as JSON), `trace/<id>` (the batch trace, binary encoding),
//! `meta/next_id`, `meta/state_batches` (how many batches of the rollup state have a job).

use std::path::Path;
use std::sync::Mutex;

use rocksdb::{Options, WriteBatch, WriteOptions, DB};
use serde::{Deserialize, Serialize};

use crate::ServiceError;

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Accepted, waiting for the worker.
    Queued,
    /// Being proven (also after a restart, until the worker takes it up again).
    Running,
    /// The final proof is on disk.
    Done,
    /// Stopped by an error (in `error`).
    Failed,
    /// Cancelled on request.
    Cancelled,
}

impl JobState {
    /// Every state, in the order metrics list them.
    pub const ALL: [JobState; 5] = [
        JobState::Queued,
        JobState::Running,
        JobState::Done,
        JobState::Failed,
        JobState::Cancelled,
    ];

    /// Whether the job will not change any more.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobState::Done | JobState::Failed | JobState::Cancelled
        )
    }

    /// The name used in the API and metrics.
    pub fn name(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }
}

/// What a job was submitted as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum JobSource {
    /// A batch trace.
    Trace,
    /// Transactions, executed against the service's rollup state as batch `batch`.
    Transactions {
        /// Batch number in the state.
        batch: u64,
        /// Transactions accepted.
        accepted: usize,
        /// Transactions rejected (not in the batch).
        rejected: usize,
    },
    /// A batch of the rollup state that had no job when the service started (executed by
    /// `zkroll execute`, or by a submission the service crashed before recording).
    StateBatch {
        /// Batch number in the state.
        batch: u64,
    },
}

/// One chunk proof's progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ChunkProgress {
    /// Not started.
    Pending,
    /// Being proven.
    Proving,
    /// Published on the task bus, waiting for a worker's proof (`zkroll serve --nats`).
    OnBus,
    /// Proven by this job.
    Proven {
        /// Seconds it took.
        seconds: f64,
        /// The `zkroll worker` that made it (`None`: this process).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        worker: Option<String>,
    },
    /// A valid proof was already on disk (an earlier run, or another job of the same trace).
    Kept,
}

/// One aggregation layer's progress (layer `layers + 1` is the final one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerProgress {
    /// Layer number (1: aggregates the chunk proofs).
    pub layer: u32,
    /// Proofs in the layer.
    pub nodes: usize,
    /// Proofs made by this job.
    pub proven: usize,
    /// Proofs already on disk and kept.
    pub kept: usize,
    /// Seconds the layer took in this job's last run, keys included (when finished).
    #[serde(default)]
    pub seconds: Option<f64>,
    /// Peak resident memory of the service during the layer, bytes (when finished, Linux).
    #[serde(default)]
    pub peak_rss_bytes: Option<u64>,
}

/// A proving job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// Job number (1, 2, ...).
    pub id: u64,
    /// State.
    pub state: JobState,
    /// What was submitted.
    pub source: JobSource,
    /// The trace's id (its proofs are in `<data-dir>/proofs/<trace_id>`).
    pub trace_id: String,
    /// Transaction slots per chunk.
    pub chunk_size: usize,
    /// Transactions in the batch.
    pub steps: usize,
    /// Unix seconds of submission, first start, end.
    pub submitted_at: u64,
    /// Unix seconds the worker first took the job up.
    pub started_at: Option<u64>,
    /// Unix seconds the job reached a final state.
    pub finished_at: Option<u64>,
    /// Times the worker took the job up (more than one after a restart).
    pub attempts: u32,
    /// Chunk proofs, in order.
    pub chunks: Vec<ChunkProgress>,
    /// Padding chunk proofs the aggregation tree adds (made during aggregation).
    pub padding_chunks: usize,
    /// Padding chunk proofs made or kept so far.
    pub padding_done: usize,
    /// Aggregation layers, bottom-up (filled when aggregation starts).
    pub layers: Vec<LayerProgress>,
    /// The final proof file, when done.
    pub final_proof: Option<String>,
    /// Why the job failed.
    pub error: Option<String>,
    /// Cancellation was asked for (the worker stops at the next proof boundary).
    pub cancel_requested: bool,
    /// The `submitBatch` transaction that put the batch on L1, when the service submits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub l1_tx: Option<String>,
    /// Why the batch, proven, is not on L1 (the job stays done: its proof is valid).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub l1_error: Option<String>,
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

const NEXT_ID: &[u8] = b"meta/next_id";
const STATE_BATCHES: &[u8] = b"meta/state_batches";

fn job_key(id: u64) -> Vec<u8> {
    format!("job/{id:020}").into_bytes()
}

fn trace_key(id: u64) -> Vec<u8> {
    format!("trace/{id:020}").into_bytes()
}

/// Jobs in RocksDB.
pub struct JobStore {
    db: DB,
    path: String,
    /// Serialises read-modify-write of job records and id allocation.
    lock: Mutex<()>,
}

impl std::fmt::Debug for JobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobStore")
            .field("path", &self.path)
            .finish()
    }
}

impl JobStore {
    /// Opens (or creates) the store at `path`.
    pub fn open(path: &Path) -> Result<Self, ServiceError> {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        let db = DB::open(&opts, path).map_err(|e| ServiceError::Store {
            path: path.display().to_string(),
            detail: e.to_string(),
        })?;
        Ok(Self {
            db,
            path: path.display().to_string(),
            lock: Mutex::new(()),
        })
    }

    fn err(&self, detail: impl std::fmt::Display) -> ServiceError {
        ServiceError::Store {
            path: self.path.clone(),
            detail: detail.to_string(),
        }
    }

    fn write(&self, batch: WriteBatch) -> Result<(), ServiceError> {
        let mut opts = WriteOptions::default();
        opts.set_sync(true);
        self.db.write_opt(batch, &opts).map_err(|e| self.err(e))
    }

    fn get_u64(&self, key: &[u8]) -> Result<Option<u64>, ServiceError> {
        match self.db.get(key).map_err(|e| self.err(e))? {
            None => Ok(None),
            Some(v) => {
                let bytes: [u8; 8] = v.as_slice().try_into().map_err(|_| {
                    self.err(format!("{}: not a u64", String::from_utf8_lossy(key)))
                })?;
                Ok(Some(u64::from_be_bytes(bytes)))
            }
        }
    }

    /// Batches of the rollup state that have a job (`None` before the first start with a
    /// state).
    pub fn state_batches(&self) -> Result<Option<u64>, ServiceError> {
        self.get_u64(STATE_BATCHES)
    }

    /// Records that the first `count` batches of the state have a job (or predate the
    /// service).
    pub fn set_state_batches(&self, count: u64) -> Result<(), ServiceError> {
        let mut batch = WriteBatch::default();
        batch.put(STATE_BATCHES, count.to_be_bytes());
        self.write(batch)
    }

    /// Stores a new job and its trace in one synced write (with the state batch count when
    /// the job is one of the state's batches); `make` gets the new id. Returns the job.
    pub fn insert(
        &self,
        trace: &[u8],
        state_batches: Option<u64>,
        make: impl FnOnce(u64) -> Job,
    ) -> Result<Job, ServiceError> {
        let _guard = self.lock.lock().map_err(|_| self.err("lock poisoned"))?;
        let id = self.get_u64(NEXT_ID)?.unwrap_or(1);
        let job = make(id);
        let mut batch = WriteBatch::default();
        batch.put(
            job_key(id),
            serde_json::to_vec(&job).map_err(|e| self.err(e))?,
        );
        batch.put(trace_key(id), trace);
        batch.put(NEXT_ID, (id + 1).to_be_bytes());
        if let Some(count) = state_batches {
            batch.put(STATE_BATCHES, count.to_be_bytes());
        }
        self.write(batch)?;
        Ok(job)
    }

    /// The job `id`.
    pub fn get(&self, id: u64) -> Result<Option<Job>, ServiceError> {
        match self.db.get(job_key(id)).map_err(|e| self.err(e))? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| self.err(format!("job {id}: {e}"))),
        }
    }

    /// The trace of job `id` (binary encoding).
    pub fn trace(&self, id: u64) -> Result<Option<Vec<u8>>, ServiceError> {
        self.db.get(trace_key(id)).map_err(|e| self.err(e))
    }

    /// Changes job `id` with `change` and writes it back (synced); returns the new record,
    /// or `None` when there is no such job.
    pub fn update(
        &self,
        id: u64,
        change: impl FnOnce(&mut Job),
    ) -> Result<Option<Job>, ServiceError> {
        let _guard = self.lock.lock().map_err(|_| self.err("lock poisoned"))?;
        let Some(mut job) = self.get(id)? else {
            return Ok(None);
        };
        change(&mut job);
        let mut batch = WriteBatch::default();
        batch.put(
            job_key(id),
            serde_json::to_vec(&job).map_err(|e| self.err(e))?,
        );
        self.write(batch)?;
        Ok(Some(job))
    }

    /// Every job, oldest first.
    pub fn list(&self) -> Result<Vec<Job>, ServiceError> {
        let mut jobs = Vec::new();
        for item in self.db.prefix_iterator(b"job/") {
            let (key, value) = item.map_err(|e| self.err(e))?;
            if !key.starts_with(b"job/") {
                break;
            }
            jobs.push(
                serde_json::from_slice(&value)
                    .map_err(|e| self.err(format!("{}: {e}", String::from_utf8_lossy(&key))))?,
            );
        }
        Ok(jobs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: u64) -> Job {
        Job {
            id,
            state: JobState::Queued,
            source: JobSource::Trace,
            trace_id: "t".into(),
            chunk_size: 1,
            steps: 2,
            submitted_at: now(),
            started_at: None,
            finished_at: None,
            attempts: 0,
            chunks: vec![ChunkProgress::Pending; 2],
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

    #[test]
    fn jobs_survive_reopening_with_their_traces_and_updates() {
        let dir = tempfile::tempdir().expect("dir");
        {
            let store = JobStore::open(dir.path()).expect("open");
            assert_eq!(store.state_batches().expect("meta"), None);
            let a = store.insert(b"trace a", None, job).expect("insert");
            let b = store.insert(b"trace b", Some(3), job).expect("insert");
            assert_eq!((a.id, b.id), (1, 2));
            store
                .update(1, |j| {
                    j.state = JobState::Running;
                    j.chunks[0] = ChunkProgress::Proven {
                        seconds: 1.5,
                        worker: Some("w1".into()),
                    };
                })
                .expect("update");
            assert!(store.update(9, |_| {}).expect("update").is_none());
        }
        let store = JobStore::open(dir.path()).expect("reopen");
        let jobs = store.list().expect("list");
        assert_eq!(jobs.len(), 2);
        assert_eq!(jobs[0].state, JobState::Running);
        assert_eq!(
            jobs[0].chunks[0],
            ChunkProgress::Proven {
                seconds: 1.5,
                worker: Some("w1".into()),
            }
        );
        assert_eq!(
            store.trace(2).expect("trace").as_deref(),
            Some(&b"trace b"[..])
        );
        assert_eq!(store.state_batches().expect("meta"), Some(3));
        // Ids keep counting after a restart.
        assert_eq!(store.insert(b"c", None, job).expect("insert").id, 3);
    }
}
