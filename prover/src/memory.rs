//! Memory planning for proving: what the machine has, how many proofs fit side by side, and
//! the peak resident memory actually used (to compare with the prediction).
//!
//! Linux only (`/proc`); elsewhere the readings are `None` and the planner assumes
//! unlimited memory.

/// Total and available memory of the machine, in bytes, from `/proc/meminfo`.
pub fn machine_memory() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    Some((
        kib_field(&text, "MemTotal:")?,
        kib_field(&text, "MemAvailable:")?,
    ))
}

/// Peak resident set size of this process so far (`VmHWM`), in bytes.
pub fn peak_rss() -> Option<u64> {
    kib_field(
        &std::fs::read_to_string("/proc/self/status").ok()?,
        "VmHWM:",
    )
}

/// Resident set size of this process now (`VmRSS`), in bytes.
pub fn current_rss() -> Option<u64> {
    kib_field(
        &std::fs::read_to_string("/proc/self/status").ok()?,
        "VmRSS:",
    )
}

/// Resets the peak resident set size to the current one (Linux >= 4.0), so that a later
/// [`peak_rss`] measures one phase. Returns whether the kernel accepted it.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn kib_field(text: &str, name: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(name))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Predicted memory of proofs run side by side in one process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProofMemory {
    /// Peak of one proof, proving key included (`ChunkStats::estimated_peak_bytes`).
    pub peak: u64,
    /// The proving key (`ChunkStats::estimated_pk_bytes`), shared by all proofs in the process.
    pub shared: u64,
}

impl ProofMemory {
    /// Predicted peak of the process running `jobs` proofs at once: the shared key once,
    /// the rest of a proof's working memory once per job.
    pub fn peak_with(self, jobs: usize) -> u64 {
        self.shared + self.peak.saturating_sub(self.shared) * jobs.max(1) as u64
    }

    /// How many proofs to run at once: the most whose predicted peak fits in 90% of
    /// `available`, at most `cores` and `chunks`, at least one.
    pub fn jobs(self, available: u64, cores: usize, chunks: usize) -> usize {
        let budget = (available as f64 * 0.9) as u64;
        let by_memory = (1..=cores.min(chunks).max(1))
            .take_while(|&jobs| self.peak_with(jobs) <= budget)
            .last()
            .unwrap_or(1);
        by_memory.max(1)
    }
}

/// Runs `f` for every index in `0..count`, at most `jobs` at a time (each on a thread of its
/// own taking the next index), and returns the results in index order.
///
/// The calls run outside any rayon pool, so the parallel code inside a proof (halo2's FFTs,
/// MSMs and quotient evaluation) uses rayon's global pool, i.e. every core. Running the
/// proofs as the items of a pool of `jobs` threads instead confines that parallel code to the
/// pool: with one proof at a time, a proof ran on one core (measured: a 160-slot chunk at
/// k = 20 spent 95% of its samples in one thread and took 245 s on this 2-core machine).
pub fn run_side_by_side<R: Send>(
    jobs: usize,
    count: usize,
    f: impl Fn(usize) -> R + Sync,
) -> Vec<R> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    let next = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<R>>> = (0..count).map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, count.max(1)) {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(slot) = results.get(index) else {
                    break;
                };
                let value = f(index);
                *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(value);
            });
        }
    });
    // Every index was taken by a thread that stored its result (a panicking call ends the
    // scope with that panic before this point).
    results
        .into_iter()
        .filter_map(|slot| slot.into_inner().unwrap_or_else(|e| e.into_inner()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_share_the_key_and_respect_memory_cores_and_chunks() {
        let m = ProofMemory {
            peak: 10 << 30,
            shared: 4 << 30,
        };
        assert_eq!(m.peak_with(1), 10 << 30);
        assert_eq!(m.peak_with(2), 16 << 30);
        // 24 GiB, budget 21.6 GiB: two fit (16 GiB), three do not (22 GiB).
        assert_eq!(m.jobs(24 << 30, 8, 100), 2);
        assert_eq!(m.jobs(24 << 30, 1, 100), 1);
        assert_eq!(m.jobs(24 << 30, 8, 1), 1);
        // Not even one fits: still one (the caller refuses or forces).
        assert_eq!(m.jobs(1 << 30, 8, 100), 1);
    }

    #[test]
    fn readings_on_linux() {
        if cfg!(target_os = "linux") {
            let (total, available) = machine_memory().expect("meminfo");
            assert!(total >= available && available > 0);
            let before = peak_rss().expect("VmHWM");
            let block = vec![1u8; 64 << 20];
            assert!(peak_rss().expect("VmHWM") >= before);
            drop(block);
        }
    }

    #[test]
    fn side_by_side_keeps_the_order_and_leaves_the_global_pool_to_each_call() {
        let global = rayon::current_num_threads();
        for jobs in [1, 2, 5] {
            let out = run_side_by_side(jobs, 7, |i| (i * 10, rayon::current_num_threads()));
            let indices: Vec<usize> = out.iter().map(|(i, _)| *i).collect();
            assert_eq!(indices, vec![0, 10, 20, 30, 40, 50, 60]);
            // Inside a call, parallel code sees the global pool, not `jobs` threads.
            assert!(out.iter().all(|(_, threads)| *threads == global), "{out:?}");
        }
        assert!(run_side_by_side(2, 0, |i| i).is_empty());
    }
}
