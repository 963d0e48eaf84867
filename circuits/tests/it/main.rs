//! Real KZG proofs of the chunk circuit: proof, native verification, tampering, keygen
//! determinism and the pinned verifying key. One binary, as the style guide asks.

use zkroll_circuits::chunk::ChunkWitness;
use zkroll_circuits::proof;
use zkroll_engine::workload::Workload;
use zkroll_engine::{execute_batch, BatchTrace, StateDb};

/// Small enough for CI, the same constraints as production sizes.
const DEPTH: u8 = 6;
const CHUNK: usize = 2;
const K: u32 = 16;

fn trace() -> BatchTrace {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut w = Workload::new(11, 4, 7, DEPTH);
    let mut db =
        StateDb::init(&dir.path().join("s"), &w.funded_genesis(1_000_000)).expect("genesis");
    let txs = vec![w.transfer(0, 1, 500, 3), w.withdraw(2, 100, 1)];
    let outcome = execute_batch(&mut db, &txs).expect("execute");
    assert!(outcome.rejected.is_empty());
    outcome.trace
}

#[test]
fn real_proof_verifies_and_tampering_is_rejected() {
    let trace = trace();
    let witness = ChunkWitness::from_trace(&trace, 0, CHUNK).expect("chunk");
    let params = proof::unsafe_test_params(K);
    let keys = proof::keygen(&params, &witness).expect("keygen");
    // Committed through zkroll's MSM engine, verified by the standard KZG verifier.
    let prover = zkroll_msm::Backend::Cpu
        .params(std::sync::Arc::new(params.clone()))
        .expect("params");
    let bytes = proof::prove(&prover, &keys, &witness).expect("prove");
    let public = witness.public_inputs();
    proof::verify(&params, keys.vk(), &bytes, &public).expect("valid proof verifies");
    eprintln!("chunk proof: {} bytes", bytes.len());

    // A flipped byte anywhere in the proof, a truncated proof, a wrong public input.
    for at in [0, bytes.len() / 2, bytes.len() - 1] {
        let mut tampered = bytes.clone();
        tampered[at] ^= 1;
        assert!(
            proof::verify(&params, keys.vk(), &tampered, &public).is_err(),
            "byte {at}"
        );
    }
    assert!(proof::verify(&params, keys.vk(), &bytes[..bytes.len() - 32], &public).is_err());
    for i in 0..3 {
        let mut wrong = public;
        wrong[i] += zkroll_engine::Fr::from(1u64);
        assert!(
            proof::verify(&params, keys.vk(), &bytes, &wrong).is_err(),
            "public input {i}"
        );
    }
    // A witness that breaks a rule yields no valid proof.
    let mut bad = witness.clone();
    bad.slots[0].amount += 1;
    if let Ok(b) = proof::prove(&prover, &keys, &bad) {
        assert!(proof::verify(&params, keys.vk(), &b, &bad.public_inputs()).is_err());
    }
}

/// The verifying key depends only on the circuit's shape: keygen twice (with different
/// witnesses) gives the same key, and its hash is pinned. After an intended circuit change,
/// run `ZKROLL_BLESS_VK=1 cargo test --release -p zkroll-circuits vk` and commit
/// `circuits/tests/vk-pins.json`.
#[test]
fn vk_is_deterministic_and_pinned() {
    let trace = trace();
    let witness = ChunkWitness::from_trace(&trace, 0, CHUNK).expect("chunk");
    let mut padding = witness.clone();
    for slot in &mut padding.slots {
        *slot = zkroll_circuits::chunk::SlotWitness::noop(DEPTH);
    }
    let params = proof::unsafe_test_params(K);
    let first = proof::vk_hash(proof::keygen(&params, &witness).expect("keygen").vk());
    let second = proof::vk_hash(proof::keygen(&params, &padding).expect("keygen").vk());
    assert_eq!(first, second, "the verifying key depends on the witness");

    let key = format!("chunk{CHUNK}-depth{DEPTH}-chain7-operator0-k{K}");
    // At run time first, as the vector files (a reused binary keeps its build's paths).
    let dir =
        std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into());
    let path = format!("{dir}/tests/vk-pins.json");
    let mut pins: std::collections::BTreeMap<String, String> = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    if std::env::var_os("ZKROLL_BLESS_VK").is_some() {
        pins.insert(key, first);
        let text = serde_json::to_string_pretty(&pins).expect("json") + "\n";
        std::fs::write(&path, text).expect("write pins");
        return;
    }
    assert_eq!(
        pins.get(&key),
        Some(&first),
        "verifying key of {key} changed; if intended, re-bless (see this test's doc)"
    );
}
