//! Engine throughput: executing batches of signed transfers against a RocksDB state on disk
//! (signature checks, rule checks, three Merkle updates per transfer, one synced commit).
#![allow(missing_docs)] // criterion_group! generates undocumented functions

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use zkroll_engine::workload::Workload;
use zkroll_engine::{execute_batch, StateDb, Tx};

const ACCOUNTS: u32 = 1_000;

fn setup(batch: usize, seed: u64) -> (tempfile::TempDir, StateDb, Vec<Tx>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut workload = Workload::new(seed, ACCOUNTS, 1, 24);
    let db = StateDb::init(&dir.path().join("state"), &workload.funded_genesis(1 << 40))
        .expect("genesis");
    let txs = workload.random_transfers(batch);
    (dir, db, txs)
}

fn execute(c: &mut Criterion) {
    let mut group = c.benchmark_group("execute");
    group.sample_size(10);
    for batch in [1_000usize, 4_000] {
        group.throughput(Throughput::Elements(batch as u64));
        let mut seed = 0;
        group.bench_function(format!("transfers/{batch}"), |b| {
            b.iter_batched(
                || {
                    seed += 1;
                    setup(batch, seed)
                },
                |(dir, mut db, txs)| {
                    let outcome = execute_batch(&mut db, &txs).expect("execute");
                    assert_eq!(outcome.accepted.len(), txs.len());
                    (dir, db)
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, execute);
criterion_main!(benches);
