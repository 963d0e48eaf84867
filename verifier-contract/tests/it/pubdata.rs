//! `PubdataBinding.sol` against `zkroll_engine::pubdata`: the same point and value for random
//! batches, a changed byte never goes unnoticed, malformed pubdata reverts with its error, and
//! the gas it costs per transaction.

use revm::primitives::Address;
use zkroll_engine::pubdata::{self, word_bytes};
use zkroll_engine::tx::Tx;
use zkroll_engine::workload::Workload;
use zkroll_engine::Fr as EngineFr;
use zkroll_verifier_contract::evm::{Chain, Receipt};
use zkroll_verifier_contract::solc::Solc;
use zkroll_verifier_contract::{selector, PUBDATA_BINDING_SOL};

fn harness() -> (Chain, Address) {
    let dir =
        std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into());
    let source = std::fs::read_to_string(format!("{dir}/tests/contracts/PubdataHarness.sol"))
        .expect("harness source");
    let compiled = Solc::default()
        .compile(
            &[
                ("PubdataBinding.sol", PUBDATA_BINDING_SOL),
                ("BabyJubjub.sol", zkroll_verifier_contract::BABY_JUBJUB_SOL),
                ("PubdataHarness.sol", &source),
            ],
            true,
            "PubdataHarness.sol",
            "PubdataHarness",
        )
        .expect("solc");
    let mut chain = Chain::new(true);
    let receipt = chain.deploy(compiled.creation).expect("deploy");
    let address = receipt.created.expect("created");
    (chain, address)
}

fn uint(x: usize) -> [u8; 32] {
    let mut out = [0u8; 32];
    out[24..].copy_from_slice(&(x as u64).to_be_bytes());
    out
}

/// `bind(bytes,uint256,uint256[2][])` calldata.
fn calldata(bytes: &[u8], commitment: &EngineFr, keys: &[(EngineFr, EngineFr)]) -> Vec<u8> {
    let padded = bytes.len().div_ceil(32) * 32;
    let mut out = selector("bind(bytes,uint256,uint256[2][])").to_vec();
    out.extend_from_slice(&uint(0x60));
    out.extend_from_slice(&word_bytes(commitment));
    out.extend_from_slice(&uint(0x60 + 32 + padded));
    out.extend_from_slice(&uint(bytes.len()));
    out.extend_from_slice(bytes);
    out.resize(out.len() + padded - bytes.len(), 0);
    out.extend_from_slice(&uint(keys.len()));
    for (x, y) in keys {
        out.extend_from_slice(&word_bytes(x));
        out.extend_from_slice(&word_bytes(y));
    }
    out
}

struct Batch {
    bytes: Vec<u8>,
    keys: Vec<(EngineFr, EngineFr)>,
    words: Vec<[EngineFr; 4]>,
}

fn batch(txs: &[Tx]) -> Batch {
    let mut bytes = Vec::new();
    let mut keys = Vec::new();
    for tx in txs {
        tx.write_pubdata(&mut bytes);
        if let Tx::Deposit(d) = tx {
            keys.push((d.public_key.0.x, d.public_key.0.y));
        }
    }
    let words = txs.iter().filter_map(pubdata::tx_words).collect();
    Batch { bytes, keys, words }
}

fn call(chain: &mut Chain, at: Address, b: &Batch, commitment: &EngineFr) -> Receipt {
    chain
        .call(at, calldata(&b.bytes, commitment, &b.keys))
        .expect("call")
}

fn output_words(receipt: &Receipt) -> Vec<[u8; 32]> {
    assert!(receipt.success, "reverted: {:?}", receipt.failure);
    receipt
        .output
        .chunks(32)
        .map(|c| c.try_into().expect("32 bytes"))
        .collect()
}

fn revert_selector(receipt: &Receipt) -> [u8; 4] {
    assert!(!receipt.success, "expected a revert");
    receipt.output[..4].try_into().expect("an error selector")
}

#[test]
fn the_contract_binds_pubdata_as_the_engine_does() {
    let (mut chain, at) = harness();
    for (seed, count) in [(1u64, 1usize), (2, 7), (3, 40)] {
        let mut workload = Workload::new(seed, 16, 7, 24);
        let b = batch(&workload.random_batch(count));
        assert!(!b.keys.is_empty(), "the batch has deposits");
        let commitment = EngineFr::from(seed * 1_000_003);
        let expected = pubdata::binding(commitment, &b.bytes, &b.words);
        // The engine's words parsed back from the bytes are the transactions' words.
        assert_eq!(pubdata::pubdata_words(&b.bytes).expect("parses"), b.words);
        let out = output_words(&call(&mut chain, at, &b, &commitment));
        assert_eq!(out[0], word_bytes(&expected.point), "z, seed {seed}");
        assert_eq!(out[1], word_bytes(&expected.value), "value, seed {seed}");
        assert_eq!(out[2], uint(b.words.len()));
        assert_eq!(out[3], uint(b.keys.len()));
    }
}

#[test]
fn every_changed_byte_changes_the_binding_or_reverts() {
    let (mut chain, at) = harness();
    let mut workload = Workload::new(9, 6, 7, 24);
    let b = batch(&workload.random_batch(6));
    let commitment = EngineFr::from(42u64);
    let honest = output_words(&call(&mut chain, at, &b, &commitment));
    let mut reverted = 0;
    for i in 0..b.bytes.len() {
        let mut changed = Batch {
            bytes: b.bytes.clone(),
            keys: b.keys.clone(),
            words: Vec::new(),
        };
        changed.bytes[i] ^= 0x01;
        let receipt = call(&mut chain, at, &changed, &commitment);
        if receipt.success {
            let out = output_words(&receipt);
            assert_ne!(out[..2], honest[..2], "byte {i} changed nothing");
        } else {
            reverted += 1;
        }
    }
    // Type bytes and deposit keys revert; every other byte moves the point and the value.
    assert!(
        reverted > 0 && reverted < b.bytes.len(),
        "{reverted} of {}",
        b.bytes.len()
    );
}

#[test]
fn malformed_pubdata_reverts_with_its_error() {
    let (mut chain, at) = harness();
    let mut workload = Workload::new(5, 4, 7, 24);
    let txs = workload.random_batch(3);
    let b = batch(&txs);
    let commitment = EngineFr::from(1u64);
    let with = |bytes: Vec<u8>, keys: Vec<(EngineFr, EngineFr)>| Batch {
        bytes,
        keys,
        words: Vec::new(),
    };
    let mut unknown = b.bytes.clone();
    unknown.push(4);
    let r = call(&mut chain, at, &with(unknown, b.keys.clone()), &commitment);
    assert_eq!(
        revert_selector(&r),
        selector("UnknownRecord(uint256,uint256)")
    );
    let mut cut = b.bytes.clone();
    cut.pop();
    let r = call(&mut chain, at, &with(cut, b.keys.clone()), &commitment);
    assert_eq!(revert_selector(&r), selector("TruncatedRecord(uint256)"));
    let r = call(
        &mut chain,
        at,
        &with(b.bytes.clone(), Vec::new()),
        &commitment,
    );
    assert_eq!(revert_selector(&r), selector("DepositKeyMissing(uint256)"));
    let mut wrong = b.keys.clone();
    wrong[0].0 = -wrong[0].0;
    let r = call(&mut chain, at, &with(b.bytes.clone(), wrong), &commitment);
    assert_eq!(revert_selector(&r), selector("DepositKeyMismatch(uint256)"));
    // The record's y and sign, but an x off the curve.
    let mut off_curve = b.keys.clone();
    off_curve[0].0 += EngineFr::from(1u64);
    let r = call(
        &mut chain,
        at,
        &with(b.bytes.clone(), off_curve),
        &commitment,
    );
    assert_eq!(revert_selector(&r), selector("DepositKeyMismatch(uint256)"));
}

#[test]
fn gas_per_transaction() {
    let (mut chain, at) = harness();
    let mut workload = Workload::new(11, 64, 7, 24);
    let _ = workload.random_batch(64);
    let commitment = EngineFr::from(3u64);
    for n in [8usize, 64, 256] {
        let b = batch(&workload.random_transfers(n));
        let receipt = call(&mut chain, at, &b, &commitment);
        assert!(receipt.success);
        let execution = receipt.gas_used - 21_000 - receipt.calldata_gas;

        println!(
            "pubdata binding, {n} transfers: execution {execution} gas ({} per transfer), \
             calldata {} gas ({} bytes)",
            execution / n as u64,
            receipt.calldata_gas,
            receipt.calldata_bytes
        );
    }
}
