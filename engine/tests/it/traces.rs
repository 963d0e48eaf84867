//! Traces: executed batches always check; every single-field mutation of a trace is rejected;
//! both encodings round-trip.

use proptest::prelude::*;
use serde_json::Value;
use zkroll_engine::{BatchTrace, Tx};

use crate::common::{funded_state, run};

/// Paths to every scalar in a JSON value (object keys and array indices).
fn leaves(value: &Value, path: &mut Vec<PathPart>, out: &mut Vec<Vec<PathPart>>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                path.push(PathPart::Key(k.clone()));
                leaves(v, path, out);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                path.push(PathPart::Index(i));
                leaves(v, path, out);
                path.pop();
            }
        }
        _ => out.push(path.clone()),
    }
}

#[derive(Debug, Clone)]
enum PathPart {
    Key(String),
    Index(usize),
}

fn get_mut<'a>(value: &'a mut Value, path: &[PathPart]) -> &'a mut Value {
    path.iter().fold(value, |v, part| match part {
        PathPart::Key(k) => &mut v[k.as_str()],
        PathPart::Index(i) => &mut v[*i],
    })
}

/// Changes one scalar: numbers +1, hex strings have their last digit changed, booleans
/// flipped. Returns false for a null (nothing to change in place).
fn mutate(leaf: &mut Value) -> bool {
    match leaf {
        Value::Number(n) => {
            let v = n.as_u64().unwrap_or(0);
            *leaf = Value::from(if v == u64::MAX { v - 1 } else { v + 1 });
        }
        Value::String(s) => {
            let last = s.pop().unwrap_or('0');
            let digit = last.to_digit(16).unwrap_or(0);
            s.push(std::char::from_digit((digit + 1) % 16, 16).unwrap_or('0'));
        }
        Value::Bool(b) => *b = !*b,
        Value::Null => return false,
        _ => unreachable!("leaves are scalars"),
    }
    true
}

/// Whether the mutated JSON either fails to decode or fails the check.
fn rejected(value: &Value) -> bool {
    let bytes = serde_json::to_vec(value).expect("json");
    match BatchTrace::decode(&bytes) {
        Err(_) => true,
        Ok(trace) => trace.check().is_err(),
    }
}

/// A batch mixing every transaction type, a new account, a self-transfer and a withdrawal.
fn mixed_trace() -> BatchTrace {
    let (_dir, mut db, mut w) = funded_state(4);
    let mut txs = vec![
        w.transfer(0, 1, 100, 3),
        w.deposit(2, 50),
        w.withdraw(1, 20, 1),
        w.transfer(3, 3, 5, 0),
    ];
    let mut fresh = zkroll_engine::workload::Workload::new(9, 1, 1, 24);
    fresh.wallets[0].index = 40;
    txs.push(fresh.deposit(0, 1_000));
    txs.push(w.transfer(2, 0, 7, 2));
    let outcome = run(&mut db, &txs);
    assert_eq!(outcome.accepted.len(), txs.len(), "{:?}", outcome.rejected);
    outcome.trace
}

#[test]
fn every_single_field_mutation_is_rejected() {
    let trace = mixed_trace();
    let original: Value = serde_json::from_str(&trace.to_json()).expect("json");
    let mut paths = Vec::new();
    leaves(&original, &mut Vec::new(), &mut paths);
    assert!(paths.len() > 300, "only {} leaves", paths.len());
    let mut mutated_count = 0;
    for path in &paths {
        let mut value = original.clone();
        if !mutate(get_mut(&mut value, path)) {
            continue;
        }
        mutated_count += 1;
        assert!(rejected(&value), "mutation at {path:?} was accepted");
    }
    // Emptying an account that existed ("before": null) is rejected too.
    for (s, step) in trace.steps.iter().enumerate() {
        for (u, update) in step.updates.iter().enumerate() {
            if update.before.is_some() {
                let mut value = original.clone();
                value["steps"][s]["updates"][u]["before"] = Value::Null;
                assert!(
                    rejected(&value),
                    "step {s} update {u}: before -> null accepted"
                );
            }
        }
    }
    assert!(mutated_count > 300);
    assert!(
        matches!(trace.steps.last().map(|s| &s.tx), Some(Tx::SettleFees(_))),
        "the batch's fees are settled by its last step"
    );
}

/// An operator index beyond the tree would alias an account in the Merkle paths (index bits
/// stop at the depth): a trace claiming one is rejected even when its paths verify.
#[test]
fn operator_outside_the_tree_is_rejected() {
    let mut trace = mixed_trace();
    let depth = trace.header.config.depth;
    trace.header.config.operator += 1 << depth;
    for step in &mut trace.steps {
        for update in &mut step.updates {
            if update.index == 0 {
                update.index = trace.header.config.operator;
            }
        }
    }
    let err = trace.check().expect_err("must be rejected");
    assert!(err.to_string().contains("outside a tree"), "{err}");
}

#[test]
fn encodings_round_trip_and_binary_is_compact() {
    let trace = mixed_trace();
    let json = trace.to_json();
    let binary = trace.to_binary();
    assert_eq!(BatchTrace::decode(json.as_bytes()).expect("json"), trace);
    assert_eq!(BatchTrace::decode(&binary).expect("binary"), trace);
    assert!(
        binary.len() * 2 < json.len(),
        "{} vs {}",
        binary.len(),
        json.len()
    );
    // Truncations and garbage are errors, never panics.
    for cut in [0, 3, 4, 8, binary.len() / 2, binary.len() - 1] {
        assert!(BatchTrace::decode(&binary[..cut]).is_err(), "cut at {cut}");
    }
    assert!(BatchTrace::decode(b"not a trace").is_err());
    let mut wrong_version = binary.clone();
    wrong_version[4] = 9;
    assert!(BatchTrace::decode(&wrong_version).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Random valid batches from the engine always check, and random single-field mutations
    /// of them never do.
    #[test]
    fn random_batches_check_and_mutations_fail(seed in any::<u64>(), count in 1usize..24, picks in proptest::collection::vec(any::<prop::sample::Index>(), 16)) {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut w = zkroll_engine::workload::Workload::new(seed, 6, 3, 16);
        let mut db = zkroll_engine::StateDb::init(&dir.path().join("s"), &w.funded_genesis(500_000)).expect("genesis");
        let mut txs = w.random_batch(count);
        // At least one fee-paying signed transaction, so the chain id and operator in the
        // header are bound by the batch (a deposit-only batch is valid under any of them).
        txs.push(w.transfer(0, 1, 1, 1));
        let outcome = run(&mut db, &txs);
        prop_assert!(outcome.rejected.is_empty(), "{:?}", outcome.rejected);
        let original: Value = serde_json::from_str(&outcome.trace.to_json()).expect("json");
        let mut paths = Vec::new();
        leaves(&original, &mut Vec::new(), &mut paths);
        for pick in picks {
            let path = pick.get(&paths);
            let mut value = original.clone();
            if mutate(get_mut(&mut value, path)) {
                prop_assert!(rejected(&value), "mutation at {:?} accepted", path);
            }
        }
    }
}

/// The fee settlement is checked like any step: it must credit exactly the fees pending,
/// and a batch must not end with fees pending.
#[test]
fn settlement_is_checked() {
    let trace = mixed_trace();
    let last = trace.steps.len() - 1;
    assert_eq!(
        trace.steps[last].tx,
        Tx::SettleFees(zkroll_engine::tx::FeeSettlement { amount: 6 })
    );
    let mut more = trace.clone();
    more.steps[last].tx = Tx::SettleFees(zkroll_engine::tx::FeeSettlement { amount: 7 });
    assert!(matches!(
        more.check(),
        Err(zkroll_engine::TraceError::Rule {
            error: zkroll_engine::TxError::SettlementMismatch {
                pending: 6,
                amount: 7
            },
            ..
        })
    ));
    // Without the settlement (count and new root made to agree): fees left pending.
    let mut unsettled = trace.clone();
    unsettled.steps.pop();
    unsettled.header.tx_count -= 1;
    unsettled.header.new_root = unsettled.steps[last - 1].root_after;
    assert!(matches!(
        unsettled.check(),
        Err(zkroll_engine::TraceError::UnsettledFees { pending: 6 })
    ));
}

/// Traces of version 1 (fees credited per transaction) are refused with a message that
/// says so, in both encodings.
#[test]
fn version_1_traces_are_refused() {
    let trace = mixed_trace();
    let mut old = trace.clone();
    old.version = 1;
    let err = old.check().expect_err("version 1");
    assert_eq!(
        err.to_string(),
        "trace version 1 is not supported (expected 2)"
    );
    let mut binary = trace.to_binary();
    binary[4..8].copy_from_slice(&1u32.to_le_bytes());
    let err = BatchTrace::decode(&binary).expect_err("version 1");
    assert_eq!(
        err.to_string(),
        "binary trace version 1 is not supported (expected 2)"
    );
}
