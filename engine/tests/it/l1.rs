//! Deposits from L1's queue: executed first and in queue order, each exactly once across
//! batches (the position is stored with the state), never from the L2 transaction list, and
//! a queued deposit the rules refuse stops the batch with nothing recorded.

use zkroll_engine::tx::{Deposit, L1Deposit, Tx};
use zkroll_engine::workload::{split_l1_deposits, Workload};
use zkroll_engine::{execute_batch_with_l1, EngineError, StateDb, TxError};

use crate::common::funded_state;

fn entry(index: u64, w: &Workload, user: usize, amount: u64) -> L1Deposit {
    L1Deposit {
        index,
        account: w.wallets[user].index,
        public_key: w.wallets[user].public_key,
        amount,
    }
}

#[test]
fn queued_deposits_come_first_once_and_in_order() {
    let (dir, mut db, mut w) = funded_state(3);
    let queue = vec![entry(0, &w, 0, 10), entry(1, &w, 1, 20)];
    let transfer = w.transfer(0, 2, 5, 1);
    let outcome =
        execute_batch_with_l1(&mut db, &queue, std::slice::from_ref(&transfer)).expect("batch");
    assert_eq!(outcome.l1_deposits, 2);
    assert_eq!(outcome.accepted, vec![0, 1, 2]);
    let kinds: Vec<&str> = outcome.trace.steps.iter().map(|s| s.tx.kind()).collect();
    assert_eq!(kinds[..3], ["deposit", "deposit", "transfer"]);
    assert_eq!(db.l1_deposits(), 2);
    let balance = |db: &StateDb, i: u32| db.account(i).expect("read").expect("exists").balance;
    assert_eq!(balance(&db, w.wallets[1].index), 1_000_020);

    // The whole queue again with one new entry: only the new one is executed; the position
    // survives reopening the state.
    drop(db);
    let mut db = StateDb::open(&dir.path().join("state")).expect("reopen");
    assert_eq!(db.l1_deposits(), 2);
    let longer = [queue.clone(), vec![entry(2, &w, 1, 7)]].concat();
    let outcome = execute_batch_with_l1(&mut db, &longer, &[]).expect("batch");
    assert_eq!(outcome.l1_deposits, 1);
    assert_eq!(balance(&db, w.wallets[1].index), 1_000_027);
    assert_eq!(db.l1_deposits(), 3);
    // Nothing new queued and no transaction: an empty batch, refused.
    let root = db.root();
    assert!(matches!(
        execute_batch_with_l1(&mut db, &longer, &[]),
        Err(EngineError::NothingAccepted { .. })
    ));
    assert_eq!((db.root(), db.l1_deposits()), (root, 3));
}

#[test]
fn deposits_outside_the_queue_and_gaps_are_refused() {
    let (_dir, mut db, w) = funded_state(2);
    let root = db.root();
    let minted = Tx::Deposit(Deposit {
        account: w.wallets[0].index,
        public_key: w.wallets[0].public_key,
        amount: 1_000,
    });
    assert!(matches!(
        execute_batch_with_l1(&mut db, &[], &[minted]),
        Err(EngineError::DepositNotFromL1 { index: 0 })
    ));
    let gap = [entry(0, &w, 0, 1), entry(2, &w, 0, 1)];
    assert!(matches!(
        execute_batch_with_l1(&mut db, &gap, &[]),
        Err(EngineError::L1QueueGap {
            expected: 1,
            found: 2
        })
    ));
    let late = [entry(1, &w, 0, 1)];
    assert!(matches!(
        execute_batch_with_l1(&mut db, &late, &[]),
        Err(EngineError::L1QueueGap {
            expected: 0,
            found: 1
        })
    ));
    assert_eq!(
        (db.root(), db.batch_count(), db.l1_deposits()),
        (root, 0, 0)
    );
}

#[test]
fn a_queued_deposit_the_rules_refuse_stops_the_batch() {
    let (_dir, mut db, mut w) = funded_state(2);
    let root = db.root();
    // Account of user 0 under user 1's key: L1 refuses this (AccountKeyMismatch); if it got
    // queued anyway, the engine must not skip it silently.
    let mut wrong = entry(0, &w, 0, 5);
    wrong.public_key = w.wallets[1].public_key;
    let transfer = w.transfer(0, 1, 5, 0);
    match execute_batch_with_l1(&mut db, &[wrong], &[transfer]) {
        Err(EngineError::L1DepositRejected {
            queue_index: 0,
            error: TxError::DepositKeyMismatch { .. },
        }) => {}
        other => panic!("not refused: {other:?}"),
    }
    assert_eq!(
        (db.root(), db.batch_count(), db.l1_deposits()),
        (root, 0, 0)
    );
}

#[test]
fn a_workload_split_executes_as_the_mixed_list() {
    // The workload's random batch with its deposits moved to L1's queue: every transaction
    // is still accepted.
    let dir = tempfile::tempdir().expect("temp dir");
    let mut w = Workload::new(5, 6, 1, 24);
    let db_path = dir.path().join("state");
    let mut db = StateDb::init(&db_path, &w.genesis()).expect("genesis");
    let txs = w.random_batch(60);
    let (queue, rest) = split_l1_deposits(txs.clone(), 0);
    assert!(!queue.is_empty() && !rest.is_empty());
    let outcome = execute_batch_with_l1(&mut db, &queue, &rest).expect("batch");
    assert_eq!(outcome.rejected, vec![], "split made a transaction invalid");
    assert_eq!(outcome.accepted.len(), txs.len());
}
