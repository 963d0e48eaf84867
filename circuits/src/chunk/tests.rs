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
    let w = witness(&f, 6); // 4 transactions, the fee settlement, 1 no-op
    assert_eq!(w.slots[4].tx_type, 4);
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
    rejected_for_slot(w, 0, rule);
}

/// Rejected, and the report names `rule` of slot `slot` among the failures.
fn rejected_for_slot(w: &ChunkWitness, slot: usize, rule: &str) {
    let failures = rejected(w);
    let prefix = format!("slot {slot} ");
    assert!(
        failures
            .iter()
            .any(|f| f.starts_with(&prefix) && f.contains(rule)),
        "no failure names {rule:?}: {failures:?}"
    );
}

fn rejected_with(w: &ChunkWitness, instances: [zkroll_engine::Fr; CHUNK_PUBLIC_INPUTS]) {
    assert!(
        mock_prove(K, w, Some(instances)).is_err(),
        "wrong public input accepted"
    );
}

/// A transfer paying a fee of 3, alone in its chunk (the batch's fee settlement follows in
/// the next one).
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
            ],
        )
    };
    assert_eq!(
        after(1),
        w.new_root,
        "the replay helper agrees with the engine"
    );
    let [old, _, c0, c, p0, p, z, e0, e] = w.public_inputs();
    rejected_with(&w, [old, after(0), c0, c, p0, p, z, e0, e]);
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
    let [old, new, c0, c, p0, p, z, e0, e] = w.public_inputs();
    rejected_with(
        &w,
        [
            old + zkroll_engine::Fr::from(1u64),
            new,
            c0,
            c,
            p0,
            p,
            z,
            e0,
            e,
        ],
    );
}

#[test]
fn wrong_new_root() {
    let (_f, w) = transfer_slot();
    let [old, new, c0, c, p0, p, z, e0, e] = w.public_inputs();
    rejected_with(
        &w,
        [
            old,
            new + zkroll_engine::Fr::from(1u64),
            c0,
            c,
            p0,
            p,
            z,
            e0,
            e,
        ],
    );
}

#[test]
fn tampered_commitment() {
    let (_f, w) = transfer_slot();
    let [old, new, c0, c, p0, p, z, e0, e] = w.public_inputs();
    rejected_with(
        &w,
        [
            old,
            new,
            c0,
            c + zkroll_engine::Fr::from(1u64),
            p0,
            p,
            z,
            e0,
            e,
        ],
    );
}

#[test]
fn tampered_commitment_before() {
    // The chunk continues the batch's chain from its public input: another starting value
    // (a reordered or dropped earlier chunk) changes the result it must match.
    let (_f, w) = transfer_slot();
    let [old, new, c0, c, p0, p, z, e0, e] = w.public_inputs();
    rejected_with(
        &w,
        [
            old,
            new,
            c0 + zkroll_engine::Fr::from(1u64),
            c,
            p0,
            p,
            z,
            e0,
            e,
        ],
    );
    let mut other = w.clone();
    other.commitment_in += zkroll_engine::Fr::from(1u64);
    assert!(mock_prove(K, &other, None).is_ok(), "any start chains");
    assert_ne!(other.tx_commitment(), c);
}

#[test]
fn fee_not_collected() {
    // The transfer's fee of 3 must join the pending fees: a chunk claiming it leaves them at 0
    // (a fee the operator never receives, or one credited elsewhere) does not verify, nor one
    // claiming more.
    let (_f, w) = transfer_slot();
    let [old, new, c0, c, p0, p, z, e0, e] = w.public_inputs();
    assert_eq!(p, zkroll_engine::Fr::from(3u64));
    let zero = zkroll_engine::Fr::from(0u64);
    rejected_with(&w, [old, new, c0, c, p0, zero, z, e0, e]);
    rejected_with(
        &w,
        [
            old,
            new,
            c0,
            c,
            p0,
            p + zkroll_engine::Fr::from(1u64),
            z,
            e0,
            e,
        ],
    );
}

#[test]
fn pending_fees_chain_from_the_public_input() {
    // Fees pending before the chunk come from its public input: another start gives another
    // end (a dropped or reordered earlier chunk cannot keep the chain).
    let (_f, w) = transfer_slot();
    let [old, new, c0, c, p0, p, z, e0, e] = w.public_inputs();
    rejected_with(
        &w,
        [
            old,
            new,
            c0,
            c,
            p0 + zkroll_engine::Fr::from(1u64),
            p,
            z,
            e0,
            e,
        ],
    );
    let mut other = w.clone();
    other.pending_in = 10;
    mock_prove(K, &other, None).expect("any start chains");
    assert_eq!(other.public_inputs()[5], zkroll_engine::Fr::from(13u64));
}

#[test]
fn pubdata_evaluation_is_constrained() {
    // The evaluation after the chunk continues the one before at the point over the slot's
    // commitment words: another end, another start or another point does not verify.
    let (_f, w) = transfer_slot();
    let [old, new, c0, c, p0, p, z, e0, e] = w.public_inputs();
    let one = zkroll_engine::Fr::from(1u64);
    rejected_with(&w, [old, new, c0, c, p0, p, z, e0, e + one]);
    rejected_with(&w, [old, new, c0, c, p0, p, z, e0 + one, e]);
    rejected_with(&w, [old, new, c0, c, p0, p, z + one, e0, e]);
    // The value the engine computes for the batch's words is the one proven.
    assert_eq!(
        e,
        zkroll_engine::pubdata::continue_evaluation(e0, z, &[w.slots[0].commitment_words()])
    );
    // The start comes from the public input (chunks chain through it).
    let mut other = w.clone();
    other.evaluation_in = e0 + one;
    mock_prove(K, &other, None).expect("any start chains");
}

/// The batch of a transfer (fee 3) and a withdrawal (fee 1) in one chunk of 3: the third slot
/// settles the 4 pending fees.
fn settled() -> (Fixture, ChunkWitness) {
    let f = fixture(
        |_, _| {},
        |w| vec![w.transfer(0, 1, 500, 3), w.withdraw(2, 100, 1)],
    );
    let w = witness(&f, 3);
    assert_eq!(w.slots[2].tx_type, 4, "the engine settles the batch's fees");
    assert_eq!(w.slots[2].amount, 4);
    assert_eq!(w.public_inputs()[5], zkroll_engine::Fr::from(0u64));
    (f, w)
}

#[test]
fn settlement_of_more_than_the_pending_fees() {
    // The operator credited 5 for 4 collected: the root is recomputed for the larger credit,
    // so only the settlement rule stands in the way.
    let (f, mut w) = settled();
    let operator = genesis_account(&f, 0);
    mock_prove(K, &w, None).expect("untampered");
    w.slots[2].amount = 5;
    let credited = Account {
        balance: operator.balance + 5,
        ..operator
    };
    w.new_root =
        zkroll_engine::smt::root_from_path(credited.leaf(), 0, &w.slots[2].updates[0].siblings);
    rejected_for_slot(&w, 2, "fee settlement");
}

/// The accounts after the first `steps` steps of the fixture's batch (replayed natively).
fn accounts_after(f: &Fixture, steps: usize) -> std::collections::HashMap<u32, Account> {
    let mut accounts: std::collections::HashMap<u32, Account> =
        f.genesis.iter().map(|g| (g.index, g.account)).collect();
    let mut pending = 0;
    for step in &f.trace.steps[..steps] {
        let config = f.trace.header.config;
        let planned = zkroll_engine::rules::plan(
            &config,
            &step.tx,
            &mut |i| accounts.get(&i).copied(),
            &zkroll_engine::rules::VerifyNow,
            pending,
        )
        .expect("a valid step");
        for u in planned {
            accounts.insert(u.index, u.after);
        }
        pending = zkroll_engine::rules::pending_after(pending, &step.tx);
    }
    accounts
}

#[test]
fn settlement_to_another_account() {
    // The 4 fees credited to user 3 (index 4) instead of the operator: its account and its
    // path at that moment in the settlement's update, the new root recomputed for it, so
    // only the operator-index rule stands in the way.
    let (f, mut w) = settled();
    let accounts = accounts_after(&f, 2);
    let nodes = zkroll_engine::store::build_tree(DEPTH, &accounts);
    let empty = zkroll_engine::smt::empty_hashes();
    let siblings: Vec<_> = (0..DEPTH)
        .map(|level| {
            nodes
                .get(&(level, (4u32 >> level) ^ 1))
                .copied()
                .unwrap_or(empty[level as usize])
        })
        .collect();
    let user = accounts[&4];
    assert_eq!(
        zkroll_engine::smt::root_from_path(user.leaf(), 4, &siblings),
        f.trace.steps[1].root_after,
        "the path is the one at the settlement's moment"
    );
    let credited = Account {
        balance: user.balance + 4,
        ..user
    };
    w.slots[2].a = 4;
    w.slots[2].updates[0] = UpdateWitness {
        index: 4,
        before: Some(user),
        siblings: siblings.clone(),
    };
    w.new_root = zkroll_engine::smt::root_from_path(credited.leaf(), 4, &siblings);
    rejected_for_slot(&w, 2, "fee settlement");
}

#[test]
fn settlement_fields_are_zero() {
    // A settlement carries only its amount: anything else would be unbound by the pubdata.
    let (_f, base) = settled();
    for (what, edit) in [
        (
            "b = 1",
            (|s: &mut SlotWitness| s.b = 1) as fn(&mut SlotWitness),
        ),
        ("fee = 2", |s| s.fee = 2),
        ("recipient 0xaa", |s| {
            s.recipient = zkroll_engine::Fr::from(0xaau64)
        }),
    ] {
        let mut w = base.clone();
        edit(&mut w.slots[2]);
        eprintln!("{what}");
        rejected_for_slot(&w, 2, "unused fields");
    }
}

#[test]
fn noop_slot_that_changes_state() {
    let f = mixed();
    let mut w = witness(&f, 6);
    // Claim the padding slot is where the chunk's fee settlement happens: the public new
    // root no longer follows, since a no-op cannot move the root.
    w.slots[5] = w.slots[4].clone();
    w.slots[5].tx_type = 0;
    w.slots[4] = SlotWitness::noop(DEPTH);
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
fn slot_words_are_the_engines_pubdata_words() {
    // The circuit's commitment words (and so the evaluation it proves) are the words the
    // engine, and L1 from the pubdata bytes, derive for each transaction.
    let f = mixed();
    let depth = f.trace.header.config.depth;
    let mut from_slots = Vec::new();
    for (i, step) in f.trace.steps.iter().enumerate() {
        let slot = SlotWitness::from_step(step, depth, i).expect("slot");
        let words = zkroll_engine::pubdata::tx_words(&step.tx);
        if let Some(words) = words {
            assert_eq!(slot.commitment_words(), words, "step {i}");
            from_slots.push(words);
        }
    }
    assert_eq!(
        zkroll_engine::pubdata::pubdata_words(&f.trace.header.pubdata).expect("pubdata"),
        from_slots
    );
}

#[test]
fn chunk_size_and_start_from_the_trace() {
    let f = mixed();
    // Steps: transfer (fee 3), deposit, withdraw (fee 1), deposit, settlement of 4.
    let chunks: Vec<ChunkWitness> = [0, 2, 4]
        .map(|start| ChunkWitness::from_trace(&f.trace, start, 2).expect("chunk"))
        .into();
    for pair in chunks.windows(2) {
        let [before, after] = [pair[0].public_inputs(), pair[1].public_inputs()];
        assert_eq!(before[1], after[0], "roots chain");
        assert_eq!(before[3], after[2], "commitments chain");
        assert_eq!(before[5], after[4], "pending fees chain");
        assert_eq!(before[6], after[6], "one pubdata binding point");
        assert_eq!(before[8], after[7], "pubdata evaluations chain");
    }
    // The last chunk ends with the batch's binding, as the engine computes it from the words.
    let fr = zkroll_engine::Fr::from;
    let binding = batch_binding(&f.trace).expect("binding");
    assert_eq!(chunks[2].public_inputs()[6], binding.point);
    assert_eq!(chunks[2].public_inputs()[8], binding.value);
    assert_eq!(chunks[0].evaluation_in, fr(1));
    let pending: Vec<_> = chunks.iter().map(|c| c.public_inputs()[5]).collect();
    assert_eq!(pending, [fr(3), fr(4), fr(0)]);
    assert_eq!(chunks[0].commitment_in, fr(0));
    assert_eq!(chunks[2].new_root, f.trace.header.new_root);
    for chunk in &chunks {
        mock_prove(K, chunk, None).expect("chunk");
    }
    assert!(ChunkWitness::from_trace(&f.trace, 9, 2).is_err());
    // A padding chunk after the batch keeps root, commitment and (no) pending fees.
    let idle = ChunkWitness::idle(
        f.trace.header.config,
        2,
        f.trace.steps.len(),
        chunks[2].new_root,
        chunks[2].tx_commitment(),
        binding,
    );
    mock_prove(K, &idle, None).expect("idle chunk");
    let idle_inputs = idle.public_inputs();
    assert_eq!(idle_inputs[2], idle_inputs[3]);
    assert_eq!([idle_inputs[4], idle_inputs[5]], [fr(0), fr(0)]);
    assert_eq!(
        [idle_inputs[6], idle_inputs[7], idle_inputs[8]],
        [binding.point, binding.value, binding.value]
    );
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
        let mut pending = 0;
        while start < trace.steps.len() {
            let chunk = ChunkWitness::from_trace(&trace, start, 3).expect("chunk");
            proptest::prop_assert_eq!(chunk.old_root, root);
            proptest::prop_assert_eq!(chunk.commitment_in, commitment);
            proptest::prop_assert_eq!(chunk.pending_in, pending);
            if let Err(failures) = mock_prove(K, &chunk, None) {
                proptest::prop_assert!(false, "chunk at {}: {:?}", start, failures);
            }
            root = chunk.new_root;
            commitment = chunk.tx_commitment();
            pending = chunk.pending_out();
            start += 3;
        }
        proptest::prop_assert_eq!(root, trace.header.new_root);
        proptest::prop_assert_eq!(pending, 0, "the batch settles its fees");
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
    // Slots: 0 transfer, 1 deposit (new account 40), 2 withdraw, 3 deposit, 4 settlement.
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
