//! Chunk proving: time and throughput (transfers/s) of one chunk proof per chunk size at the
//! production tree depth (24), and two chunk proofs run side by side against one after the
//! other (at the smallest size). Keys and parameters are made once per size, outside the measurement; the peak
//! resident memory of each size's proofs is printed next to the prediction `zkroll prove`
//! plans with.
//!
//! Each size is proven with both MSM backends (`msm=cpu`, zkroll's engine, and
//! `msm=halo2curves`, halo2's `msm_best`): the end-to-end effect of the engine.
//!
//! `ZKROLL_BENCH_CHUNK_SIZES` (default `1,2,4`) picks the sizes: each sample is a full
//! proof (circuit v8 on 2 cores: a size costs what its k costs, and 7, 31, 62 slots fill k =
//! 15, 17, 18: ~3.2 s, ~13 s, ~27 s; 500 slots at k = 21 ~283 s with keygen ~165 s), so
//! larger sizes are for long runs.
#![allow(missing_docs)] // criterion_group! generates undocumented functions

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use zkroll_circuits::chunk::ChunkWitness;
use zkroll_circuits::proof;
use zkroll_circuits::stats::chunk_stats;
use zkroll_engine::workload::Workload;
use zkroll_engine::{execute_batch, BatchTrace, StateDb};
use zkroll_msm::Backend;
use zkroll_prover::memory::{self, ProofMemory};
use zkroll_prover::srs;

const DEPTH: u8 = 24;

fn sizes() -> Vec<usize> {
    std::env::var("ZKROLL_BENCH_CHUNK_SIZES")
        .unwrap_or_else(|_| "1,2,4".into())
        .split(',')
        .map(|s| s.trim().parse().expect("ZKROLL_BENCH_CHUNK_SIZES: sizes"))
        .collect()
}

/// A trace of `count` transfers between 64 funded accounts.
fn trace(count: usize) -> BatchTrace {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut workload = Workload::new(7, 64, 1, DEPTH);
    let mut db = StateDb::init(&dir.path().join("state"), &workload.funded_genesis(1 << 40))
        .expect("genesis");
    let txs = workload.random_transfers(count);
    let outcome = execute_batch(&mut db, &txs).expect("execute");
    assert_eq!(outcome.accepted.len(), count);
    outcome.trace
}

fn gib(bytes: u64) -> f64 {
    bytes as f64 / (1u64 << 30) as f64
}

fn chunk_proving(c: &mut Criterion) {
    let mut sizes = sizes();
    sizes.sort_unstable();
    let largest = sizes.iter().copied().max().unwrap_or(1);
    let trace = trace(2 * largest);
    let config = trace.header.config;
    for &size in &sizes {
        let stats = chunk_stats(size, config, None);
        let params = srs::dev_setup(stats.k);
        let keys = proof::keygen(&params, &ChunkWitness::padding(size, config)).expect("keygen");
        let chunks: Vec<ChunkWitness> = (0..2)
            .map(|i| ChunkWitness::from_trace(&trace, i * size, size).expect("chunk"))
            .collect();
        let shared = std::sync::Arc::new(params);
        let cpu = Backend::Cpu.params(shared.clone()).expect("params");
        let halo2curves = Backend::Halo2Curves.params(shared.clone()).expect("params");
        let tables_start = std::time::Instant::now();
        let tabled = Backend::Cpu
            .params(shared)
            .expect("params")
            .with_fixed_bases(usize::MAX);
        eprintln!(
            "k={}: fixed-base tables {:.0} MiB, built in {:.2} s",
            stats.k,
            tabled.fixed_bases_bytes() as f64 / (1u64 << 20) as f64,
            tables_start.elapsed().as_secs_f64()
        );
        let prove = |w: &ChunkWitness| proof::prove(&cpu, &keys, w).expect("prove");

        let mut group = c.benchmark_group(format!("chunk_prove/k{}", stats.k));
        group.sample_size(10);
        group.throughput(Throughput::Elements(size as u64));
        memory::reset_peak_rss();
        group.bench_function(format!("{size}_transfers/msm=cpu"), |b| {
            b.iter(|| prove(&chunks[0]))
        });
        let one = memory::peak_rss().unwrap_or(0);
        group.bench_function(format!("{size}_transfers/msm=cpu+tables"), |b| {
            b.iter(|| proof::prove(&tabled, &keys, &chunks[0]).expect("prove"))
        });
        group.bench_function(format!("{size}_transfers/msm=halo2curves"), |b| {
            b.iter(|| proof::prove(&halo2curves, &keys, &chunks[0]).expect("prove"))
        });
        group.finish();

        if size != sizes[0] {
            eprintln!(
                "chunk size {size} (k={}, {} advice columns): peak RSS one proof {:.2} GiB \
                 (predicted {:.2})",
                stats.k,
                stats.advice_columns,
                gib(one),
                gib(stats.estimated_peak_bytes)
            );
            continue;
        }
        let mut group = c.benchmark_group(format!("two_chunks/{size}_transfers"));
        group.sample_size(10);
        group.throughput(Throughput::Elements(2 * size as u64));
        group.bench_function("sequential", |b| {
            b.iter(|| (prove(&chunks[0]), prove(&chunks[1])))
        });
        memory::reset_peak_rss();
        group.bench_function("parallel", |b| {
            b.iter(|| rayon::join(|| prove(&chunks[0]), || prove(&chunks[1])))
        });
        let two = memory::peak_rss().unwrap_or(0);
        group.finish();

        let plan = ProofMemory {
            peak: stats.estimated_peak_bytes,
            shared: stats.estimated_pk_bytes,
        };
        eprintln!(
            "chunk size {size} (k={}, {} advice columns): peak RSS one proof {:.2} GiB \
             (predicted {:.2}), two at once {:.2} GiB (predicted {:.2})",
            stats.k,
            stats.advice_columns,
            gib(one),
            gib(plan.peak_with(1)),
            gib(two),
            gib(plan.peak_with(2)),
        );
    }
}

criterion_group!(benches, chunk_proving);
criterion_main!(benches);
