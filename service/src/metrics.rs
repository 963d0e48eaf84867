//! Counters of the service, rendered in the Prometheus text format for `/metrics`.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::store::{Job, JobState};

/// A float kept in an atomic (bits of an `f64`).
#[derive(Debug, Default)]
struct AtomicF64(AtomicU64);

impl AtomicF64 {
    fn add(&self, x: f64) {
        let _ = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
                Some((f64::from_bits(bits) + x).to_bits())
            });
    }

    fn get(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }
}

/// What the service counts since it started.
#[derive(Debug, Default)]
pub struct Metrics {
    chunk_proofs: AtomicU64,
    chunk_proof_seconds: AtomicF64,
    chunk_phase_seconds: AtomicF64,
    aggregation_proofs: AtomicU64,
    aggregation_proof_seconds: AtomicF64,
    aggregation_phase_seconds: AtomicF64,
    rejected_full: AtomicU64,
}

/// A proving stage.
#[derive(Debug, Clone, Copy)]
pub enum Stage {
    /// Chunk proofs.
    Chunk,
    /// Aggregation proofs (padding chunks included), and key generation of the layers.
    Aggregation,
}

impl Metrics {
    /// One proof of `stage` made in `seconds`.
    pub fn proof(&self, stage: Stage, seconds: f64) {
        match stage {
            Stage::Chunk => {
                self.chunk_proofs.fetch_add(1, Ordering::Relaxed);
                self.chunk_proof_seconds.add(seconds);
            }
            Stage::Aggregation => {
                self.aggregation_proofs.fetch_add(1, Ordering::Relaxed);
                self.aggregation_proof_seconds.add(seconds);
            }
        }
    }

    /// Wall-clock seconds a job spent in `stage` (proofs of a chunk phase run side by side).
    pub fn phase(&self, stage: Stage, seconds: f64) {
        match stage {
            Stage::Chunk => self.chunk_phase_seconds.add(seconds),
            Stage::Aggregation => self.aggregation_phase_seconds.add(seconds),
        }
    }

    /// A submission refused because the queue was full.
    pub fn rejected_full(&self) {
        self.rejected_full.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text of these counters and of `jobs` (all jobs in the store).
    pub fn render(&self, jobs: &[Job], msm_backend: &str, queue_capacity: usize) -> String {
        let mut out = String::new();
        let mut family = |name: &str, kind: &str, help: &str| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        };
        family("zkroll_jobs", "gauge", "Jobs in the store by state.");
        let mut lines = String::new();
        for state in JobState::ALL {
            let n = jobs.iter().filter(|j| j.state == state).count();
            let _ = writeln!(lines, "zkroll_jobs{{state=\"{}\"}} {n}", state.name());
        }
        out.push_str(&lines);
        let chunk_proofs = self.chunk_proofs.load(Ordering::Relaxed);
        let aggregation_proofs = self.aggregation_proofs.load(Ordering::Relaxed);
        let chunk_phase = self.chunk_phase_seconds.get();
        let mut body = String::new();
        let _ = writeln!(
            body,
            "# HELP zkroll_proving_seconds_total Seconds spent in proofs, by stage (proofs run \
             side by side add up).\n# TYPE zkroll_proving_seconds_total counter\n\
             zkroll_proving_seconds_total{{stage=\"chunk\"}} {}\n\
             zkroll_proving_seconds_total{{stage=\"aggregation\"}} {}",
            self.chunk_proof_seconds.get(),
            self.aggregation_proof_seconds.get()
        );
        let _ = writeln!(
            body,
            "# HELP zkroll_stage_wall_seconds_total Wall-clock seconds jobs spent in each stage.\n\
             # TYPE zkroll_stage_wall_seconds_total counter\n\
             zkroll_stage_wall_seconds_total{{stage=\"chunk\"}} {chunk_phase}\n\
             zkroll_stage_wall_seconds_total{{stage=\"aggregation\"}} {}",
            self.aggregation_phase_seconds.get()
        );
        let _ = writeln!(
            body,
            "# HELP zkroll_proofs_total Proofs made, by stage.\n# TYPE zkroll_proofs_total counter\n\
             zkroll_proofs_total{{stage=\"chunk\"}} {chunk_proofs}\n\
             zkroll_proofs_total{{stage=\"aggregation\"}} {aggregation_proofs}"
        );
        let rate = if chunk_phase > 0.0 {
            chunk_proofs as f64 / chunk_phase
        } else {
            0.0
        };
        let _ = writeln!(
            body,
            "# HELP zkroll_chunk_proofs_per_second Chunk proofs per wall-clock second of chunk \
             proving since start.\n# TYPE zkroll_chunk_proofs_per_second gauge\n\
             zkroll_chunk_proofs_per_second {rate}"
        );
        let peak = zkroll_prover::memory::peak_rss().unwrap_or(0);
        let resident = zkroll_prover::memory::current_rss().unwrap_or(0);
        let _ = writeln!(
            body,
            "# HELP zkroll_peak_memory_bytes Peak resident memory of the service process.\n\
             # TYPE zkroll_peak_memory_bytes gauge\nzkroll_peak_memory_bytes {peak}\n\
             # HELP zkroll_resident_memory_bytes Resident memory of the service process now.\n\
             # TYPE zkroll_resident_memory_bytes gauge\nzkroll_resident_memory_bytes {resident}"
        );
        let _ = writeln!(
            body,
            "# HELP zkroll_msm_backend The MSM backend proofs use (value 1).\n\
             # TYPE zkroll_msm_backend gauge\nzkroll_msm_backend{{backend=\"{}\"}} 1",
            msm_backend.replace(['\\', '"', '\n'], " ")
        );
        let _ = writeln!(
            body,
            "# HELP zkroll_queue_capacity Most unfinished jobs accepted at once.\n\
             # TYPE zkroll_queue_capacity gauge\nzkroll_queue_capacity {queue_capacity}\n\
             # HELP zkroll_submissions_rejected_total Submissions refused with 429 (queue full).\n\
             # TYPE zkroll_submissions_rejected_total counter\n\
             zkroll_submissions_rejected_total {}",
            self.rejected_full.load(Ordering::Relaxed)
        );
        out.push_str(&body);
        out
    }
}
