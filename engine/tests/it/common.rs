//! Helpers shared by the engine's integration tests.

use tempfile::TempDir;
use zkroll_engine::account::Account;
use zkroll_engine::store::GenesisAccount;
use zkroll_engine::workload::Workload;
use zkroll_engine::{execute_batch, BatchOutcome, EngineError, Rejection, StateDb, Tx};

/// A fresh state in a temporary directory with `users` funded accounts (indices 1..=users,
/// balance 1,000,000 each; the operator is account 0) and the workload that knows their keys.
pub fn funded_state(users: u32) -> (TempDir, StateDb, Workload) {
    funded_state_with(users, |_, _| {})
}

/// Like [`funded_state`], letting the caller edit the genesis accounts first.
pub fn funded_state_with(
    users: u32,
    edit: impl FnOnce(&Workload, &mut Vec<GenesisAccount>),
) -> (TempDir, StateDb, Workload) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut workload = Workload::new(42, users, 1, 24);
    let mut genesis = workload.funded_genesis(1_000_000);
    edit(&workload, &mut genesis.accounts);
    let db = StateDb::init(&dir.path().join("state"), &genesis).expect("genesis");
    (dir, db, workload)
}

/// Executes and returns the outcome, checking the trace natively too.
pub fn run(db: &mut StateDb, txs: &[Tx]) -> BatchOutcome {
    let outcome = execute_batch(db, txs).expect("execution");
    outcome
        .trace
        .check()
        .expect("trace of an executed batch checks");
    outcome
}

/// Executes a batch in which no transaction may be accepted: the engine refuses it with
/// [`EngineError::NothingAccepted`] and records nothing (same root, same batch count).
/// Returns the rejections.
pub fn run_rejected(db: &mut StateDb, txs: &[Tx]) -> Vec<Rejection> {
    let (root, batches) = (db.root(), db.batch_count());
    let rejected = match execute_batch(db, txs) {
        Err(EngineError::NothingAccepted {
            submitted,
            rejected,
        }) => {
            assert_eq!(submitted, txs.len());
            rejected
        }
        other => panic!("batch of rejected transactions not refused: {other:?}"),
    };
    assert_eq!(db.root(), root, "a refused batch changed the root");
    assert_eq!(db.batch_count(), batches, "a refused batch was recorded");
    rejected
}

/// An account with the given key, balance and nonce.
pub fn account(workload: &Workload, user: usize, balance: u64, nonce: u32) -> GenesisAccount {
    GenesisAccount {
        index: workload.wallets[user].index,
        account: Account {
            public_key: workload.wallets[user].public_key,
            balance,
            nonce,
        },
    }
}
