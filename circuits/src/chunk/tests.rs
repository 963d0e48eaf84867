//! The chunk circuit against engine traces: valid batches satisfy it; every rule broken in the
//! witness (or a wrong public input) makes `MockProver` fail.

use super::*;
use zkroll_engine::account::Account;
use zkroll_engine::store::GenesisAccount;
use zkroll_engine::tx::Tx;
use zkroll_engine::workload::Workload;
use zkroll_engine::{execute_batch, BatchTrace, StateDb};

/// Small tree so MockProver stays fast; the constraints are the same at depth 24.
const DEPTH: u8 = 6;
const K: u32 = 17;

struct Fixture {
    _dir: tempfile::TempDir,
    trace: BatchTrace,
    /// The workload as it was before the batch (keys, genesis balances).
    workload: Workload,
    genesis: Vec<GenesisAccount>,
}

/// A funded state (users 1..=4, operator 0), edited, and the batch `txs` executed on it.
fn fixture(
    edit: impl FnOnce(&Workload, &mut Vec<GenesisAccount>),
    txs: impl FnOnce(&mut Workload) -> Vec<Tx>,
) -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut w = Workload::new(11, 4, 7, DEPTH);
    let mut genesis = w.funded_genesis(1_000_000);
    edit(&w, &mut genesis.accounts);
    let mut db = StateDb::init(&dir.path().join("s"), &genesis).expect("genesis");
    let txs = txs(&mut w);
    let outcome = execute_batch(&mut db, &txs).expect("execute");
    assert!(outcome.rejected.is_empty(), "{:?}", outcome.rejected);
    let mut accounts = genesis.accounts;
    if !accounts.iter().any(|g| g.index == 0) {
        accounts.push(GenesisAccount {
            index: 0,
            account: Account {
                public_key: genesis.operator_key,
                balance: 0,
                nonce: 0,
            },
        });
    }
    Fixture {
        _dir: dir,
        trace: outcome.trace,
        workload: Workload::new(11, 4, 7, DEPTH),
        genesis: accounts,
    }
}

fn mixed() -> Fixture {
    fixture(
        |_, _| {},
        |w| {
            let mut fresh = Workload::new(3, 1, 7, DEPTH);
            fresh.wallets[0].index = 40;
            vec![
                w.transfer(0, 1, 500, 3),
                fresh.deposit(0, 70),
                w.withdraw(2, 100, 1),
                w.deposit(3, 9),
            ]
        },
    )
}

fn witness(f: &Fixture, chunk: usize) -> ChunkWitness {
    ChunkWitness::from_trace(&f.trace, 0, chunk).expect("chunk")
}

fn two_pow(k: u32) -> zkroll_engine::Fr {
    (0..k).fold(zkroll_engine::Fr::from(1u64), |acc, _| acc + acc)
}

/// Signs slot 0 again, by user `user`, over the message the circuit computes from the
/// slot's fields as they are (no masking: a field wider than its bits spills into the next
/// one), so that a test breaks exactly one rule and not the signature.
fn resign(f: &Fixture, w: &mut ChunkWitness, user: usize) {
    let chain_id = w.config.chain_id;
    let slot = &mut w.slots[0];
    let fr = |v: u64| zkroll_engine::Fr::from(v);
    let w0 = fr(slot.tx_type as u64)
        + fr(chain_id as u64) * two_pow(8)
        + fr(slot.a as u64) * two_pow(40)
        + fr(slot.nonce as u64) * two_pow(72)
        + fr(slot.fee) * two_pow(104)
        + fr(slot.amount) * two_pow(136);
    let w1 = if slot.tx_type == 2 {
        fr(slot.b as u64)
    } else {
        slot.recipient
    };
    let sig = f.workload.wallets[user]
        .key
        .sign(zkroll_engine::poseidon::hash2(w0, w1));
    slot.r8 = sig.r8;
    slot.s = zkroll_engine::field::from_bytes_le(&zkroll_engine::field::to_bytes_le(&sig.s))
        .expect("s < p");
}

/// The root of the genesis accounts after `changes` (index, account).
fn root_after(f: &Fixture, changes: &[(u32, Account)]) -> zkroll_engine::Fr {
    let mut accounts: std::collections::HashMap<u32, Account> =
        f.genesis.iter().map(|g| (g.index, g.account)).collect();
    for (i, a) in changes {
        accounts.insert(*i, *a);
    }
    let nodes = zkroll_engine::store::build_tree(DEPTH, &accounts);
    nodes[&(DEPTH, 0)]
}

fn genesis_account(f: &Fixture, index: u32) -> Account {
    f.genesis
        .iter()
        .find(|g| g.index == index)
        .expect("genesis account")
        .account
}

#[test]
fn valid_chunk_with_every_type_and_padding_is_satisfied() {
    let f = mixed();
    let w = witness(&f, 5); // 4 transactions + 1 no-op
    assert_eq!(w.new_root, f.trace.header.new_root);
    mock_prove(K, &w, None).expect("valid chunk");
}

fn rejected(w: &ChunkWitness) -> Vec<String> {
    match mock_prove(K, w, None) {
        Ok(()) => panic!("tampered witness accepted"),
        Err(failures) => {
            eprintln!("{failures:?}");
            failures
        }
    }
}

/// Rejected, and the report names `rule` of slot 0 among the failures.
fn rejected_for(w: &ChunkWitness, rule: &str) {
    let failures = rejected(w);
    assert!(
        failures
            .iter()
            .any(|f| f.starts_with("slot 0") && f.contains(rule)),
        "no failure names {rule:?}: {failures:?}"
    );
}

fn rejected_with(w: &ChunkWitness, instances: [zkroll_engine::Fr; 4]) {
    assert!(
        mock_prove(K, w, Some(instances)).is_err(),
        "wrong public input accepted"
    );
}

fn transfer_slot() -> (Fixture, ChunkWitness) {
    let f = fixture(|_, _| {}, |w| vec![w.transfer(0, 1, 500, 3)]);
    let w = witness(&f, 1);
    (f, w)
}

#[test]
fn bad_signature() {
    let (_f, mut w) = transfer_slot();
    w.slots[0].s += zkroll_engine::Fr::from(1u64);
    rejected_for(&w, "signature");
}

#[test]
fn signature_by_another_key() {
    // User 2 signs user 1's transfer.
    let (f, mut w) = transfer_slot();
    resign(&f, &mut w, 1);
    rejected_for(&w, "signature");
}

#[test]
fn resigned_witness_is_still_valid() {
    // The control for the tests below: re-signing alone changes nothing.
    let (f, mut w) = transfer_slot();
    resign(&f, &mut w, 0);
    mock_prove(K, &w, None).expect("re-signed valid witness");
}

#[test]
fn wrong_nonce() {
    // A validly signed transfer with nonce 1 while the account's is 0.
    let (f, mut w) = transfer_slot();
    w.slots[0].nonce = 1;
    resign(&f, &mut w, 0);
    rejected_for(&w, "nonce");
}

#[test]
fn nonce_not_incremented() {
    // A chunk claiming the transfer left the sender's nonce at 0.
    let (f, w) = transfer_slot();
    let (sender, recipient) = (genesis_account(&f, 1), genesis_account(&f, 2));
    let operator = genesis_account(&f, 0);
    let after = |nonce| {
        root_after(
            &f,
            &[
                (
                    1,
                    Account {
                        balance: sender.balance - 503,
                        nonce,
                        ..sender
                    },
                ),
                (
                    2,
                    Account {
                        balance: recipient.balance + 500,
                        ..recipient
                    },
                ),
                (
                    0,
                    Account {
                        balance: operator.balance + 3,
                        ..operator
                    },
                ),
            ],
        )
    };
    assert_eq!(
        after(1),
        w.new_root,
        "the replay helper agrees with the engine"
    );
    let [old, _, c0, c] = w.public_inputs();
    rejected_with(&w, [old, after(0), c0, c]);
}

#[test]
fn insufficient_balance() {
    // Signed, within widths, but amount + fee = 1,000,001 exceeds the balance of 1,000,000.
    let (f, mut w) = transfer_slot();
    w.slots[0].amount = 999_998;
    resign(&f, &mut w, 0);
    rejected_for(&w, "balance");
}

fn rich_sender_transfer() -> (Fixture, ChunkWitness) {
    let f = fixture(
        |w, accounts| {
            accounts[0] = GenesisAccount {
                index: w.wallets[0].index,
                account: Account {
                    public_key: w.wallets[0].public_key,
                    balance: u64::MAX / 2,
                    nonce: 0,
                },
            }
        },
        |w| vec![w.transfer(0, 1, 500, 3)],
    );
    let w = witness(&f, 1);
    (f, w)
}

#[test]
fn amount_overflowing_its_bits() {
    // A signed amount of 2^56 + 500 from a sender who could pay it: only the width check
    // stands in the way.
    let (f, mut w) = rich_sender_transfer();
    w.slots[0].amount += 1 << 56;
    resign(&f, &mut w, 0);
    rejected_for(&w, "field widths");
}

#[test]
fn fee_overflowing_its_bits() {
    // fee + 2^32 with amount - 1 packs into the very message that was signed: the signature
    // stays valid, and only the fee's range check rejects it.
    let (_f, mut w) = rich_sender_transfer();
    w.slots[0].fee += 1 << 32;
    w.slots[0].amount -= 1;
    rejected_for(&w, "field widths");
}

#[test]
fn recipient_balance_wrap() {
    // The recipient holds 2^64 - 100 and receives 500 in a validly signed transfer: its
    // balance would wrap.
    let f = fixture(
        |w, accounts| {
            accounts[1] = GenesisAccount {
                index: w.wallets[1].index,
                account: Account {
                    public_key: w.wallets[1].public_key,
                    balance: u64::MAX - 100,
                    nonce: 0,
                },
            }
        },
        |w| vec![w.transfer(0, 1, 50, 0)],
    );
    let mut w = witness(&f, 1);
    w.slots[0].amount = 500;
    resign(&f, &mut w, 0);
    rejected_for(&w, "recipient");
}

#[test]
fn wrong_merkle_sibling() {
    let (_f, mut w) = transfer_slot();
    w.slots[0].updates[1].siblings[2] += zkroll_engine::Fr::from(1u64);
    rejected_for(&w, "recipient");
}

#[test]
fn wrong_leaf() {
    let (_f, mut w) = transfer_slot();
    if let Some(a) = &mut w.slots[0].updates[1].before {
        a.balance += 1_000;
    }
    rejected_for(&w, "recipient");
}

#[test]
fn wrong_index() {
    // A deposit is unsigned, so only the path binds its account index: move it by one.
    let f = fixture(|_, _| {}, |w| vec![w.deposit(0, 50)]);
    let mut w = witness(&f, 1);
    w.slots[0].a ^= 1;
    w.slots[0].updates[0].index ^= 1;
    rejected(&w);
    // An index beyond the tree cannot be decomposed into `depth` bits.
    let mut w = witness(&f, 1);
    w.slots[0].a += 1 << DEPTH;
    rejected_for(&w, "index bits");
}

#[test]
fn wrong_old_root() {
    let (_f, w) = transfer_slot();
    let [old, new, c0, c] = w.public_inputs();
    rejected_with(&w, [old + zkroll_engine::Fr::from(1u64), new, c0, c]);
}

#[test]
fn wrong_new_root() {
    let (_f, w) = transfer_slot();
    let [old, new, c0, c] = w.public_inputs();
    rejected_with(&w, [old, new + zkroll_engine::Fr::from(1u64), c0, c]);
}

#[test]
fn tampered_commitment() {
    let (_f, w) = transfer_slot();
    let [old, new, c0, c] = w.public_inputs();
    rejected_with(&w, [old, new, c0, c + zkroll_engine::Fr::from(1u64)]);
}

#[test]
fn tampered_commitment_before() {
    // The chunk continues the batch's chain from its public input: another starting value
    // (a reordered or dropped earlier chunk) changes the result it must match.
    let (_f, w) = transfer_slot();
    let [old, new, c0, c] = w.public_inputs();
    rejected_with(&w, [old, new, c0 + zkroll_engine::Fr::from(1u64), c]);
    let mut other = w.clone();
    other.commitment_in += zkroll_engine::Fr::from(1u64);
    assert!(mock_prove(K, &other, None).is_ok(), "any start chains");
    assert_ne!(other.tx_commitment(), c);
}

#[test]
fn fee_not_paid_to_operator() {
    // The operator's index is a circuit constant: crediting the fee to another account (here
    // the recipient's leaf and path put in the operator's update) cannot match the root.
    let (_f, mut w) = transfer_slot();
    w.slots[0].updates[2] = w.slots[0].updates[1].clone();
    rejected_for(&w, "operator fee");
}

#[test]
fn noop_slot_that_changes_state() {
    let f = mixed();
    let mut w = witness(&f, 5);
    // Claim the padding slot is where the chunk's last transaction happens: the public new
    // root no longer follows, since a no-op cannot move the root.
    w.slots[4] = w.slots[3].clone();
    w.slots[4].tx_type = 0;
    w.slots[3] = SlotWitness::noop(DEPTH);
    rejected(&w);
}

#[test]
fn deposit_changing_an_existing_key() {
    let f = fixture(|_, _| {}, |w| vec![w.deposit(0, 50)]);
    let mut w = witness(&f, 1);
    w.slots[0].public_key = zkroll_engine::eddsa::PrivateKey::from_bytes([2; 32])
        .public_key()
        .0;
    rejected_for(&w, "deposit key rules");
}

#[test]
fn deposit_creating_with_a_small_order_key() {
    // The engine would refuse it; force it into the witness with the root it would give.
    let f = fixture(
        |_, _| {},
        |_| {
            let mut fresh = Workload::new(3, 1, 7, DEPTH);
            fresh.wallets[0].index = 40;
            vec![fresh.deposit(0, 70)]
        },
    );
    let mut w = witness(&f, 1);
    let identity = zkroll_engine::babyjubjub::Point::identity();
    w.slots[0].public_key = identity;
    let created = Account {
        public_key: zkroll_engine::eddsa::PublicKey(identity),
        balance: 70,
        nonce: 0,
    };
    w.new_root =
        zkroll_engine::smt::root_from_path(created.leaf(), 40, &w.slots[0].updates[0].siblings);
    rejected_for(&w, "deposit key rules");
}

#[test]
fn chunk_size_and_start_from_the_trace() {
    let f = mixed();
    let first = ChunkWitness::from_trace(&f.trace, 0, 2).expect("chunk 0");
    let second = ChunkWitness::from_trace(&f.trace, 2, 2).expect("chunk 1");
    assert_eq!(first.new_root, second.old_root);
    assert_eq!(first.tx_commitment(), second.commitment_in);
    assert_eq!(first.commitment_in, zkroll_engine::Fr::from(0u64));
    assert_eq!(second.new_root, f.trace.header.new_root);
    mock_prove(K, &first, None).expect("chunk 0");
    mock_prove(K, &second, None).expect("chunk 1");
    assert!(ChunkWitness::from_trace(&f.trace, 9, 2).is_err());
    // A padding chunk after the batch keeps root and commitment.
    let idle = ChunkWitness::idle(
        f.trace.header.config,
        2,
        f.trace.steps.len(),
        second.new_root,
        second.tx_commitment(),
    );
    mock_prove(K, &idle, None).expect("idle chunk");
    assert_eq!(idle.public_inputs()[2], idle.public_inputs()[3]);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 3, ..Default::default() })]

    /// Random valid batches from the engine, cut into chunks of 3, always satisfy the circuit
    /// with the public inputs computed from the trace.
    #[test]
    fn random_engine_batches_satisfy_the_circuit(seed in 0u64..1_000_000, count in 2usize..6) {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut w = Workload::new(seed, 5, 7, DEPTH);
        let genesis = w.funded_genesis(1_000_000);
        let mut db = StateDb::init(&dir.path().join("s"), &genesis).expect("genesis");
        let txs = w.random_batch(count);
        let outcome = execute_batch(&mut db, &txs).expect("execute");
        proptest::prop_assert!(outcome.rejected.is_empty());
        let trace = outcome.trace;
        let mut start = 0;
        let mut root = trace.header.old_root;
        let mut commitment = zkroll_engine::Fr::from(0u64);
        while start < trace.steps.len() {
            let chunk = ChunkWitness::from_trace(&trace, start, 3).expect("chunk");
            proptest::prop_assert_eq!(chunk.old_root, root);
            proptest::prop_assert_eq!(chunk.commitment_in, commitment);
            if let Err(failures) = mock_prove(K, &chunk, None) {
                proptest::prop_assert!(false, "chunk at {}: {:?}", start, failures);
            }
            root = chunk.new_root;
            commitment = chunk.tx_commitment();
            start += 3;
        }
        proptest::prop_assert_eq!(root, trace.header.new_root);
        // The chained commitment is the batch's, as if it were one chunk.
        proptest::prop_assert_eq!(commitment, batch_commitment(&trace).expect("batch"));
        let whole = ChunkWitness::from_trace(&trace, 0, trace.steps.len()).expect("whole");
        proptest::prop_assert_eq!(whole.tx_commitment(), commitment);
    }
}

#[test]
fn deposit_of_zero() {
    // A deposit of 0 to an existing account changes no leaf: a batch of them would keep the
    // root and be replayable on L1. The engine refuses it; forced into the witness (root
    // unchanged, commitment recomputed by the witness), the circuit must too.
    let f = fixture(|_, _| {}, |w| vec![w.deposit(0, 50)]);
    let mut w = witness(&f, 1);
    w.slots[0].amount = 0;
    w.new_root = w.old_root;
    rejected_for(&w, "deposit amount");
}

/// Fields a transaction type does not use must be 0 in the commitment (docs/protocol.md):
/// otherwise a prover could publish a commitment nobody can recompute from the pubdata.
/// Each tampered witness below recomputes its own public commitment, so only the
/// zero-field rule can refuse it.
#[test]
fn unused_fields_are_zero() {
    let f = mixed();
    let base = witness(&f, 5);
    // Slots: 0 transfer, 1 deposit (new account 40), 2 withdraw, 3 deposit.
    let mut cases: Vec<(&str, ChunkWitness)> = Vec::new();
    let mut w = base.clone();
    w.slots[2].b = 1;
    cases.push(("withdraw b = 1", w));
    let mut w = base.clone();
    w.slots[0].public_key = zkroll_engine::babyjubjub::Point {
        x: zkroll_engine::Fr::from(5u64),
        y: zkroll_engine::Fr::from(7u64),
    };
    cases.push(("transfer key (5, 7)", w));
    let mut w = base.clone();
    w.slots[3].fee = 9;
    cases.push(("deposit fee = 9", w));
    let mut w = base.clone();
    w.slots[0].recipient = zkroll_engine::Fr::from(0xaau64);
    cases.push(("transfer recipient 0xaa", w));
    let mut w = base.clone();
    w.slots[1].recipient = zkroll_engine::Fr::from(0xaau64);
    cases.push(("deposit recipient 0xaa", w));
    let mut w = base.clone();
    w.slots[1].b = 2;
    cases.push(("deposit b = 2", w));
    let mut w = base.clone();
    w.slots[2].public_key = zkroll_engine::babyjubjub::Point {
        x: zkroll_engine::Fr::from(5u64),
        y: zkroll_engine::Fr::from(7u64),
    };
    cases.push(("withdraw key (5, 7)", w));
    for (what, w) in cases {
        let Err(failures) = mock_prove(K, &w, None) else {
            panic!("{what}: accepted");
        };
        assert!(
            failures.iter().any(|f| f.contains("unused fields")),
            "{what}: {failures:?}"
        );
    }
    mock_prove(K, &base, None).expect("untampered");
}
