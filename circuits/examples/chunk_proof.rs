//! Measures one real chunk proof end to end: `cargo run --release -p zkroll-circuits
//! --example chunk_proof -- <chunk size> <k> [depth]` (run it under `/usr/bin/time -v` for
//! the peak RSS). Uses development parameters generated on the spot (unsafe toxic waste).

use std::time::Instant;

use zkroll_circuits::chunk::ChunkWitness;
use zkroll_circuits::proof;
use zkroll_engine::workload::Workload;
use zkroll_engine::{execute_batch, StateDb};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let chunk: usize = args.get(1).map_or(Ok(4), |a| a.parse())?;
    let k: u32 = args.get(2).map_or(Ok(18), |a| a.parse())?;
    let depth: u8 = args.get(3).map_or(Ok(24), |a| a.parse())?;

    let dir = tempfile::tempdir()?;
    let mut w = Workload::new(1, 64, 1, depth);
    let mut db = StateDb::init(&dir.path().join("s"), &w.funded_genesis(1 << 40))?;
    let txs = w.random_transfers(chunk);
    let trace = execute_batch(&mut db, &txs)?.trace;
    let witness = ChunkWitness::from_trace(&trace, 0, chunk)?;

    let t = Instant::now();
    let params = proof::unsafe_test_params(k);
    println!("params k={k}: {:.1} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let keys = proof::keygen(&params, &witness)?;
    println!(
        "keygen: {:.1} s ({} advice columns, vk {})",
        t.elapsed().as_secs_f64(),
        keys.config.num_advice_per_phase.iter().sum::<usize>(),
        proof::vk_hash(keys.vk())
    );
    let t = Instant::now();
    let prover = zkroll_msm::Backend::Cpu.params(std::sync::Arc::new(params.clone()))?;
    let bytes = proof::prove(&prover, &keys, &witness)?;
    let prove_s = t.elapsed().as_secs_f64();
    println!(
        "prove: {prove_s:.1} s for {chunk} transfers ({:.2} transfers/s), proof {} bytes",
        chunk as f64 / prove_s,
        bytes.len()
    );
    let t = Instant::now();
    proof::verify(&params, keys.vk(), &bytes, &witness.public_inputs())?;
    println!("verify: {:.3} s", t.elapsed().as_secs_f64());
    Ok(())
}
