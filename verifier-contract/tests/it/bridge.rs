//! Rollup.sol's bridge in revm: deposits only from the L1 queue, withdrawals credited from
//! accepted batches and claimed once, the escape hatch. The bookkeeping is tested behind the
//! stand-in verifiers (see `main.rs`); the CLI's end-to-end test runs it with a real proof.

use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use revm::primitives::{Address, U256};
use zkroll_circuits::field::to_circuit;
use zkroll_engine::account::Account;
use zkroll_engine::babyjubjub::{subgroup_order, Point};
use zkroll_engine::eddsa::{PrivateKey, PublicKey};
use zkroll_engine::exit::{exit_message, ExitClaim};
use zkroll_engine::rules::is_usable_key;
use zkroll_engine::store::{Genesis, GenesisAccount, StateDb};
use zkroll_engine::tx::L1Address;
use zkroll_engine::tx::{Deposit, Tx};
use zkroll_engine::ChainConfig;
use zkroll_verifier_contract::evm::Receipt;
use zkroll_verifier_contract::solc::Solc;
use zkroll_verifier_contract::{
    address_word, call_data, exit_calldata, submit_batch_calldata_with_keys, word,
    RollupDeployment, ACTIVATE_EXODUS, GWEI, L1, REFUND_DEPOSIT, ROLLUP_SOL,
};

use crate::{contracts, instances, reverted_with};

fn key(seed: u8) -> PublicKey {
    PrivateKey::from_bytes([seed; 32]).public_key()
}

fn xy(key: &PublicKey) -> (Fr, Fr) {
    (to_circuit(&key.0.x), to_circuit(&key.0.y))
}

fn deposit_record(account: u32, key: PublicKey, amount: u64) -> Vec<u8> {
    let mut out = Vec::new();
    Tx::Deposit(Deposit {
        account,
        public_key: key,
        amount,
    })
    .write_pubdata(&mut out);
    out
}

fn withdraw_record(from: u32, recipient: Address, amount: u64, fee: u32) -> Vec<u8> {
    let mut out = vec![3];
    out.extend_from_slice(&from.to_be_bytes());
    out.extend_from_slice(recipient.as_slice());
    out.extend_from_slice(&amount.to_be_bytes()[1..]);
    out.extend_from_slice(&fee.to_be_bytes());
    out
}

/// One transfer (account 1 to 2): a batch that touches no queue entry.
const TRANSFER: [u8; 20] = [2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 1];

const OPERATOR_SEED: u8 = 200;
const USER: Address = Address::with_last_byte(0xa1);

/// Tree depth 6, exodus after `delay` blocks, `supply` gwei at genesis held by the operator
/// (account 0).
fn deployment(delay: u64, supply: u64) -> RollupDeployment {
    let (x, y) = xy(&key(OPERATOR_SEED));
    RollupDeployment {
        exodus_delay: delay,
        genesis_supply: supply,
        genesis_keys: vec![(0, x, y)],
        ..RollupDeployment::at(Fr::from(5), 6)
    }
}

fn deploy(delay: u64, supply: u64) -> L1 {
    L1::deploy(&contracts(true), &deployment(delay, supply)).expect("deploy")
}

fn gwei(n: u64) -> U256 {
    U256::from(n) * U256::from(GWEI)
}

/// `submitBatch` from root `old` to `old + 1` with `pubdata` and the deposits' keys.
fn submit(l1: &mut L1, old: u64, pubdata: &[u8], keys: &[PublicKey]) -> Receipt {
    let keys: Vec<(Fr, Fr)> = keys.iter().map(xy).collect();
    let data = submit_batch_calldata_with_keys(&instances(old, old + 1, 77), pubdata, &keys, &[1]);
    l1.chain.call(l1.rollup, data).expect("call")
}

fn deposit(l1: &mut L1, account: u32, key: &PublicKey, amount: u64) -> Receipt {
    let (x, y) = xy(key);
    l1.deposit(USER, account, &x, &y, amount).expect("call")
}

fn read_u64(l1: &mut L1, getter: &str) -> u64 {
    let w = l1.read(getter).expect("read");
    u64::from_be_bytes(w[24..].try_into().expect("8 bytes"))
}

fn call(l1: &mut L1, from: Address, signature: &str, args: &[[u8; 32]]) -> Receipt {
    l1.chain
        .call_from(from, l1.rollup, U256::ZERO, call_data(signature, args))
        .expect("call")
}

fn uint(x: u64) -> [u8; 32] {
    word(&Fr::from(x))
}

#[test]
fn deposits_are_checked_when_queued() {
    let mut l1 = deploy(100, 0);
    let a = key(1);
    let (ax, ay) = xy(&a);
    let raw = |l1: &mut L1, value: U256, account: u64, x: [u8; 32], y: [u8; 32]| {
        l1.chain.fund(USER, value).expect("fund");
        let data = call_data(zkroll_verifier_contract::DEPOSIT, &[x, y, uint(account)]);
        l1.chain
            .call_from(USER, l1.rollup, value, data)
            .expect("call")
    };
    let not_gwei = raw(&mut l1, gwei(1) + U256::from(1), 1, word(&ax), word(&ay));
    assert!(
        reverted_with(&not_gwei, "NotWholeGwei(uint256)"),
        "{not_gwei:?}"
    );
    let zero = raw(&mut l1, U256::ZERO, 1, word(&ax), word(&ay));
    assert!(reverted_with(&zero, "BadDepositAmount(uint256)"));
    let too_much = raw(&mut l1, gwei(1 << 56), 1, word(&ax), word(&ay));
    assert!(reverted_with(&too_much, "BadDepositAmount(uint256)"));
    let outside = deposit(&mut l1, 64, &a, 10);
    assert!(reverted_with(&outside, "AccountOutOfRange(uint256)"));
    let off_curve = raw(&mut l1, gwei(10), 1, uint(1), uint(2));
    assert!(reverted_with(&off_curve, "UnusableKey(uint256,uint256)"));
    let identity = raw(&mut l1, gwei(10), 1, uint(0), uint(1));
    assert!(reverted_with(&identity, "UnusableKey(uint256,uint256)"));
    // x + r: the same point mod r, not canonical.
    let wide_x = (U256::from_be_bytes(word(&ax)) + super::modulus()).to_be_bytes::<32>();
    let aliased = raw(&mut l1, gwei(10), 1, wide_x, word(&ay));
    assert!(reverted_with(&aliased, "UnusableKey(uint256,uint256)"));
    // The operator's genesis account has another key.
    let to_operator = deposit(&mut l1, 0, &a, 10);
    assert!(reverted_with(&to_operator, "AccountKeyMismatch(uint256)"));
    assert_eq!(
        read_u64(&mut l1, "depositTail()"),
        0,
        "a refused deposit was queued"
    );
    assert_eq!(l1.chain.balance(l1.rollup).expect("balance"), U256::ZERO);

    let first = deposit(&mut l1, 1, &a, 10);
    assert!(first.success, "{first:?}");
    let second = deposit(&mut l1, 1, &a, 15);
    assert!(second.success, "{second:?}");
    eprintln!(
        "Rollup.deposit: {} gas (new account), {} gas (existing account)",
        first.gas_used, second.gas_used
    );
    // Account 1 now has key a on L1; another key there is refused, the operator's own is not.
    let other = deposit(&mut l1, 1, &key(2), 10);
    assert!(reverted_with(&other, "AccountKeyMismatch(uint256)"));
    assert!(deposit(&mut l1, 0, &key(OPERATOR_SEED), 1).success);
    assert_eq!(read_u64(&mut l1, "depositTail()"), 3);
    assert_eq!(read_u64(&mut l1, "totalSupply()"), 26);
    assert_eq!(l1.chain.balance(l1.rollup).expect("balance"), gwei(26));

    // The gwei ever brought to L2 stay below 2^64: no L2 balance can overflow.
    let near = u64::MAX - 20;
    let mut full = deploy(100, near);
    assert_eq!(
        full.chain.balance(full.rollup).expect("balance"),
        gwei(near)
    );
    let over = deposit(&mut full, 1, &a, 21);
    assert!(reverted_with(&over, "SupplyLimit(uint256)"), "{over:?}");
    assert!(deposit(&mut full, 1, &a, 20).success);
    assert_eq!(read_u64(&mut full, "totalSupply()"), u64::MAX);
    // And the genesis supply must be sent with the deployment.
    let mut unbacked = deployment(100, 7);
    unbacked.genesis_supply = 7;
    let mut chain = zkroll_verifier_contract::evm::Chain::new(true);
    let verifier = chain
        .deploy(contracts(true).verifier.creation)
        .expect("tx")
        .created
        .expect("verifier");
    let creation = crate::rollup_creation(&unbacked, verifier);
    let receipt = chain.deploy(creation).expect("tx");
    assert!(reverted_with(
        &receipt,
        "GenesisSupplyUnbacked(uint256,uint256)"
    ));
}

/// `Rollup.isUsableKey` decides as the engine's `is_usable_key` on points of the prime
/// subgroup, points with a torsion component, the small-order points themselves and points
/// off the curve.
#[test]
fn usable_keys_match_the_engine() {
    let mut l1 = deploy(100, 0);
    let order = subgroup_order().0;
    let mut points: Vec<Point> = (1..=6).map(|s| key(s).0).collect();
    for y in 0u8..40 {
        let mut packed = [0u8; 32];
        packed[0] = y;
        if let Some(p) = Point::unpack(&packed) {
            points.push(p);
            // l * p is p's component in the small subgroup (order 1, 2, 4 or 8).
            if let Some(t) = p.mul_limbs(&order) {
                points.push(t);
            }
        }
        packed[31] = 0x80;
        if let Some(p) = Point::unpack(&packed) {
            points.push(p);
        }
    }
    let off = Point {
        x: points[0].x,
        y: points[1].y,
    };
    points.push(off);
    let (mut usable, mut unusable) = (0, 0);
    for p in &points {
        let expected = is_usable_key(&PublicKey(*p));
        let data = call_data(
            "isUsableKey(uint256,uint256)",
            &[word(&to_circuit(&p.x)), word(&to_circuit(&p.y))],
        );
        let r = l1.chain.call(l1.rollup, data).expect("call");
        assert!(r.success);
        assert_eq!(r.output[31] == 1, expected, "{p:?}");
        if expected {
            usable += 1;
        } else {
            unusable += 1;
        }
    }
    // Both answers occur, the small-order points among the unusable ones.
    assert!(
        usable > 10 && unusable >= 4,
        "{usable} usable, {unusable} not"
    );
}

#[test]
fn batch_deposits_come_from_the_queue() {
    let (a, b) = (key(1), key(2));
    let dep_a = deposit_record(1, a, 100);
    let dep_b = deposit_record(2, b, 50);

    // Not queued at all: the operator minting.
    let mut l1 = deploy(100, 0);
    let minted = submit(&mut l1, 5, &dep_a, &[a]);
    assert!(
        reverted_with(&minted, "DepositNotQueued(uint256,uint256)"),
        "{minted:?}"
    );
    // Queued with another amount, another account, another key.
    for (account, k, amount) in [(1, a, 99), (3, a, 100), (1, b, 100)] {
        let mut l1 = deploy(100, 0);
        assert!(deposit(&mut l1, account, &k, amount).success);
        let r = submit(&mut l1, 5, &dep_a, &[a]);
        assert!(
            reverted_with(&r, "DepositMismatch(uint256,uint256)"),
            "{r:?}"
        );
        assert_eq!(read_u64(&mut l1, "batchNumber()"), 0);
    }
    // Out of order, or skipping the first entry.
    assert!(deposit(&mut l1, 1, &a, 100).success);
    assert!(deposit(&mut l1, 2, &b, 50).success);
    let swapped = [dep_b.clone(), dep_a.clone()].concat();
    let r = submit(&mut l1, 5, &swapped, &[b, a]);
    assert!(
        reverted_with(&r, "DepositMismatch(uint256,uint256)"),
        "{r:?}"
    );
    let r = submit(&mut l1, 5, &dep_b, &[b]);
    assert!(
        reverted_with(&r, "DepositMismatch(uint256,uint256)"),
        "{r:?}"
    );
    // In order, with a transfer between: accepted, both consumed.
    let good = [dep_a.clone(), TRANSFER.to_vec(), dep_b.clone()].concat();
    let r = submit(&mut l1, 5, &good, &[a, b]);
    assert!(r.success, "{r:?}");
    assert_eq!(read_u64(&mut l1, "depositHead()"), 2);
    // A consumed deposit cannot be consumed again.
    let again = submit(&mut l1, 6, &dep_a, &[a]);
    assert!(
        reverted_with(&again, "DepositNotQueued(uint256,uint256)"),
        "{again:?}"
    );
    // A prefix of the queue is enough while nothing is overdue.
    assert!(deposit(&mut l1, 1, &a, 7).success);
    assert!(deposit(&mut l1, 1, &a, 8).success);
    let r = submit(&mut l1, 6, &deposit_record(1, a, 7), &[a]);
    assert!(r.success, "{r:?}");
    assert_eq!(read_u64(&mut l1, "depositHead()"), 3);
}

#[test]
fn an_overdue_deposit_stops_batches_then_exodus_refunds_it() {
    let a = key(1);
    let mut l1 = deploy(10, 0);
    assert!(deposit(&mut l1, 1, &a, 100).success); // consumed below
    assert!(deposit(&mut l1, 1, &a, 40).success); // left waiting
    let queued_at = l1.chain.block_number();
    let r = submit(&mut l1, 5, &deposit_record(1, a, 100), &[a]);
    assert!(r.success, "{r:?}");
    // Within the delay: batches need not take it, exodus cannot start.
    l1.chain.advance_blocks(10);
    let early = call(&mut l1, USER, ACTIVATE_EXODUS, &[]);
    assert!(reverted_with(&early, "NoOverdueDeposit()"), "{early:?}");
    assert!(submit(&mut l1, 6, &TRANSFER, &[]).success);
    // Past it: a batch that leaves it waiting is refused.
    l1.chain.advance_blocks(1);
    assert_eq!(l1.chain.block_number(), queued_at + 11);
    let skipping = submit(&mut l1, 7, &TRANSFER, &[]);
    assert!(
        reverted_with(&skipping, "DepositOverdue(uint256,uint256)"),
        "{skipping:?}"
    );
    // Anyone switches to exodus mode; then no batch, no deposit.
    let on = call(&mut l1, Address::with_last_byte(0xee), ACTIVATE_EXODUS, &[]);
    assert!(on.success, "{on:?}");
    eprintln!("Rollup.activateExodus: {} gas", on.gas_used);
    let batch = submit(&mut l1, 7, &deposit_record(1, a, 40), &[a]);
    assert!(reverted_with(&batch, "ExodusMode()"), "{batch:?}");
    assert!(reverted_with(&deposit(&mut l1, 1, &a, 5), "ExodusMode()"));
    assert!(reverted_with(
        &call(&mut l1, USER, ACTIVATE_EXODUS, &[]),
        "ExodusMode()"
    ));
    // The waiting deposit is refunded once; the consumed one and unqueued ones are not.
    for index in [0, 2] {
        let r = call(&mut l1, USER, REFUND_DEPOSIT, &[uint(index)]);
        assert!(
            reverted_with(&r, "NotRefundable(uint256)"),
            "{index}: {r:?}"
        );
    }
    let refund = call(
        &mut l1,
        Address::with_last_byte(0xee),
        REFUND_DEPOSIT,
        &[uint(1)],
    );
    assert!(refund.success, "{refund:?}");
    eprintln!("Rollup.refundDeposit: {} gas", refund.gas_used);
    let twice = call(&mut l1, USER, REFUND_DEPOSIT, &[uint(1)]);
    assert!(reverted_with(&twice, "NotRefundable(uint256)"));
    assert_eq!(l1.pending_withdrawal(USER).expect("read"), gwei(40));
    let before = l1.chain.balance(USER).expect("balance");
    assert!(l1.withdraw(USER).expect("call").success);
    assert_eq!(l1.chain.balance(USER).expect("balance"), before + gwei(40));
    // The consumed deposit's ETH stays locked for L2, for its account's exit.
    assert_eq!(l1.chain.balance(l1.rollup).expect("balance"), gwei(100));
}

/// A rollup whose genesis state is `accounts` (index, key seed, balance, nonce) in a tree of
/// `depth`, deployed with the real Poseidon contracts; the state database beside it.
fn deploy_state(
    dir: &std::path::Path,
    depth: u8,
    accounts: &[(u32, u8, u64, u32)],
) -> (L1, StateDb) {
    let genesis = Genesis {
        config: ChainConfig {
            chain_id: 1,
            depth,
            operator: 0,
        },
        operator_key: key(OPERATOR_SEED),
        accounts: accounts
            .iter()
            .map(|&(index, seed, balance, nonce)| GenesisAccount {
                index,
                account: Account {
                    public_key: key(seed),
                    balance,
                    nonce,
                },
            })
            .collect(),
    };
    let db = StateDb::init(dir, &genesis).expect("state");
    let mut genesis_keys = vec![(0, xy(&key(OPERATOR_SEED)).0, xy(&key(OPERATOR_SEED)).1)];
    for &(index, seed, _, _) in accounts {
        let (x, y) = xy(&key(seed));
        genesis_keys.push((index, x, y));
    }
    let deployment = RollupDeployment {
        exodus_delay: 10,
        genesis_supply: accounts.iter().map(|a| a.2).sum(),
        genesis_keys,
        ..RollupDeployment::at(to_circuit(&db.root()), depth)
    };
    let l1 = L1::deploy(&contracts(true), &deployment).expect("deploy");
    (l1, db)
}

/// Queues a deposit and lets it wait past the delay, then switches to exodus mode.
fn start_exodus(l1: &mut L1) {
    assert!(deposit(l1, 9, &key(9), 25).success);
    l1.chain.advance_blocks(11);
    let on = call(l1, USER, ACTIVATE_EXODUS, &[]);
    assert!(on.success, "{on:?}");
}

fn exit_claim(l1: &L1, db: &StateDb, account: u32, seed: u8, to: Address) -> ExitClaim {
    let rollup = L1Address(l1.rollup.into_array());
    let secret = PrivateKey::from_bytes([seed; 32]);
    ExitClaim::prepare(
        db,
        account,
        &secret,
        L1Address(to.into_array()),
        l1.chain.chain_id(),
        &rollup,
    )
    .expect("claim")
}

/// Exodus exits: each account takes its balance in the last verified root out once, to the
/// address its key signed for; every altered claim is refused with its reason; and once all
/// accounts have exited and the queued deposit is refunded, the contract holds nothing.
#[test]
fn exits_pay_each_account_once_from_the_verified_root() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (alice, bob) = (1u32, 37u32);
    let (mut l1, db) = deploy_state(dir.path(), 6, &[(alice, 1, 1000, 3), (bob, 2, 250, 0)]);
    let (ra, rb) = (Address::with_last_byte(0xc1), Address::with_last_byte(0xc2));
    let claim = exit_claim(&l1, &db, alice, 1, ra);
    let exit = |l1: &mut L1, claim: &ExitClaim| l1.exit(USER, claim).expect("call");

    let early = exit(&mut l1, &claim);
    assert!(reverted_with(&early, "NotExodusMode()"), "{early:?}");
    start_exodus(&mut l1);

    let refused =
        |what: &str, claim: ExitClaim, error: &str| (what.to_string(), claim, error.to_string());
    let mut richer = claim.clone();
    richer.leaf.balance += 1;
    let mut older = claim.clone();
    older.leaf.nonce -= 1;
    let mut moved = claim.clone();
    moved.siblings[3] += zkroll_engine::Fr::from(1u64);
    let mut short = claim.clone();
    short.siblings.pop();
    let mut redirected = claim.clone();
    redirected.recipient = L1Address(rb.into_array());
    // Bob's key signs Alice's exit.
    let mut forged = claim.clone();
    forged.signature = PrivateKey::from_bytes([2; 32]).sign(exit_message(
        l1.chain.chain_id(),
        &L1Address(l1.rollup.into_array()),
        alice,
        &claim.recipient,
    ));
    // Alice's key, for another rollup contract.
    let mut replayed = claim.clone();
    replayed.signature = PrivateKey::from_bytes([1; 32]).sign(exit_message(
        l1.chain.chain_id(),
        &L1Address([0x77; 20]),
        alice,
        &claim.recipient,
    ));
    let mut elsewhere = claim.clone();
    elsewhere.account = alice + 64;
    for (what, bad, error) in [
        refused("a wrong balance", richer, "NotInStateRoot(uint256,uint256)"),
        refused("a wrong nonce", older, "NotInStateRoot(uint256,uint256)"),
        refused(
            "a sibling changed",
            moved,
            "NotInStateRoot(uint256,uint256)",
        ),
        refused("a short path", short, "WrongPathLength(uint256,uint256)"),
        refused("another recipient", redirected, "BadExitSignature(uint256)"),
        refused(
            "another key's signature",
            forged,
            "BadExitSignature(uint256)",
        ),
        refused(
            "another contract's signature",
            replayed,
            "BadExitSignature(uint256)",
        ),
        refused(
            "an account outside the tree",
            elsewhere,
            "AccountOutOfRange(uint256)",
        ),
    ] {
        let r = exit(&mut l1, &bad);
        assert!(reverted_with(&r, &error), "{what}: {r:?}");
    }
    // The balance plus r: the same leaf hash (Poseidon takes its inputs mod r), so only the
    // range check stands between it and a payout of r gwei.
    let mut aliased = exit_calldata(&claim);
    let at = 4 + 3 * 32;
    let balance = U256::from_be_slice(&aliased[at..at + 32]) + super::modulus();
    aliased[at..at + 32].copy_from_slice(&balance.to_be_bytes::<32>());
    let r = l1
        .chain
        .call_from(USER, l1.rollup, U256::ZERO, aliased)
        .expect("call");
    assert!(reverted_with(&r, "NotAnAccountLeaf(uint256)"), "{r:?}");
    assert_eq!(l1.pending_withdrawal(ra).expect("read"), U256::ZERO);

    let done = exit(&mut l1, &claim);
    assert!(done.success, "{done:?}");
    eprintln!(
        "Rollup.exit at depth 6: {} gas ({} calldata bytes)",
        done.gas_used, done.calldata_bytes
    );
    assert_eq!(l1.pending_withdrawal(ra).expect("read"), gwei(1000));
    let again = exit(&mut l1, &claim);
    assert!(reverted_with(&again, "AlreadyExited(uint256)"), "{again:?}");
    let to_bob = exit_claim(&l1, &db, alice, 1, rb);
    let elsewhere = exit(&mut l1, &to_bob);
    assert!(reverted_with(&elsewhere, "AlreadyExited(uint256)"));

    // Everyone else leaves: Bob, the operator (balance 0), the queued deposit's refund.
    for (account, seed) in [(bob, 2), (0, OPERATOR_SEED)] {
        let claim = exit_claim(&l1, &db, account, seed, rb);
        assert!(exit(&mut l1, &claim).success, "account {account}");
    }
    assert!(call(&mut l1, USER, REFUND_DEPOSIT, &[uint(0)]).success);
    for who in [ra, rb, USER] {
        let r = l1.withdraw(who).expect("call");
        assert!(r.success, "{who}: {r:?}");
    }
    assert_eq!(l1.chain.balance(ra).expect("balance"), gwei(1000));
    assert_eq!(l1.chain.balance(rb).expect("balance"), gwei(250));
    assert_eq!(l1.chain.balance(l1.rollup).expect("balance"), U256::ZERO);
}

/// An exit at the default depth (24), for its gas.
#[test]
fn exit_gas_at_depth_24() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut l1, db) = deploy_state(dir.path(), 24, &[(123_456, 1, 10, 0)]);
    start_exodus(&mut l1);
    let to = Address::with_last_byte(0xc1);
    let claim = exit_claim(&l1, &db, 123_456, 1, to);
    let r = l1.exit(USER, &claim).expect("call");
    assert!(r.success, "{r:?}");
    eprintln!(
        "Rollup.exit at depth 24: {} gas ({} calldata bytes, {} gas of calldata)",
        r.gas_used, r.calldata_bytes, r.calldata_gas
    );
    assert_eq!(l1.pending_withdrawal(to).expect("read"), gwei(10));
    // L1::deploy enforces EIP-170; the size, for the docs.
    eprintln!(
        "Rollup runtime: {} bytes",
        contracts(true).rollup.runtime.len()
    );
}

#[test]
fn withdrawals_are_credited_and_claimed_once() {
    let (r1, r2) = (Address::with_last_byte(0xb1), Address::with_last_byte(0xb2));
    let batch = [
        withdraw_record(1, r1, 300, 1),
        withdraw_record(2, r2, 200, 1),
        withdraw_record(1, r1, 100, 1),
    ]
    .concat();
    // A refused batch credits nothing.
    let mut refused = L1::deploy(&contracts(false), &deployment(100, 1_000)).expect("deploy");
    assert!(!submit(&mut refused, 5, &batch, &[]).success);
    assert_eq!(refused.pending_withdrawal(r1).expect("read"), U256::ZERO);

    let mut l1 = deploy(100, 1_000);
    let r = submit(&mut l1, 5, &batch, &[]);
    assert!(r.success, "{r:?}");
    assert_eq!(l1.pending_withdrawal(r1).expect("read"), gwei(400));
    assert_eq!(l1.pending_withdrawal(r2).expect("read"), gwei(200));
    let claim = l1.withdraw(r1).expect("call");
    assert!(claim.success, "{claim:?}");
    eprintln!("Rollup.withdraw: {} gas", claim.gas_used);
    assert_eq!(l1.chain.balance(r1).expect("balance"), gwei(400));
    let twice = l1.withdraw(r1).expect("call");
    assert!(
        reverted_with(&twice, "NothingToWithdraw(address)"),
        "{twice:?}"
    );
    assert!(l1.withdraw(r2).expect("call").success);
    // L1 balances add up: what left the contract is what was withdrawn.
    assert_eq!(l1.chain.balance(r1).expect("balance"), gwei(400));
    assert_eq!(l1.chain.balance(r2).expect("balance"), gwei(200));
    assert_eq!(l1.chain.balance(l1.rollup).expect("balance"), gwei(400));
    let nobody = l1.withdraw(Address::with_last_byte(0xb3)).expect("call");
    assert!(reverted_with(&nobody, "NothingToWithdraw(address)"));
}

fn recipients(l1: &mut L1, contract: &str) -> Address {
    let dir =
        std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into());
    let source = std::fs::read_to_string(format!("{dir}/tests/contracts/Recipients.sol"))
        .expect("Recipients.sol");
    let compiled = Solc::default()
        .compile(
            &[("Recipients.sol", &source)],
            true,
            "Recipients.sol",
            contract,
        )
        .expect("solc");
    let mut creation = compiled.creation;
    creation.extend_from_slice(&address_word(l1.rollup));
    let r = l1.chain.deploy(creation).expect("deploy");
    assert!(r.success, "{r:?}");
    r.created.expect("address")
}

#[test]
fn a_reentrant_recipient_cannot_drain_the_contract() {
    let mut l1 = deploy(100, 1_000);
    let attacker = recipients(&mut l1, "Reentrant");
    let other = Address::with_last_byte(0xb2);
    let batch = [
        withdraw_record(1, attacker, 100, 0),
        withdraw_record(2, other, 500, 0),
    ]
    .concat();
    assert!(submit(&mut l1, 5, &batch, &[]).success);
    let attack = l1
        .chain
        .call_from(USER, attacker, U256::ZERO, call_data("attack()", &[]))
        .expect("call");
    assert!(attack.success, "{attack:?}");
    let read = |l1: &mut L1, getter: &str| {
        let r = l1
            .chain
            .call(attacker, call_data(getter, &[]))
            .expect("call");
        U256::from_be_bytes::<32>(r.output.try_into().expect("a word"))
    };
    // It re-entered, every re-entry failed, it was paid once.
    assert_eq!(read(&mut l1, "attempts()"), U256::from(1));
    assert_eq!(read(&mut l1, "reentries()"), U256::ZERO);
    assert_eq!(read(&mut l1, "received()"), gwei(100));
    assert_eq!(l1.chain.balance(attacker).expect("balance"), gwei(100));
    assert_eq!(l1.chain.balance(l1.rollup).expect("balance"), gwei(900));
    assert_eq!(l1.pending_withdrawal(other).expect("read"), gwei(500));

    // A recipient that refuses the payment keeps its claim.
    let refusing = recipients(&mut l1, "Refusing");
    assert!(submit(&mut l1, 6, &withdraw_record(3, refusing, 50, 0), &[]).success);
    let claim = |l1: &mut L1| {
        l1.chain
            .call_from(USER, refusing, U256::ZERO, call_data("claim()", &[]))
            .expect("call")
    };
    assert!(!claim(&mut l1).success);
    assert_eq!(l1.pending_withdrawal(refusing).expect("read"), gwei(50));
    let accept = call_data("setAccept(bool)", &[uint(1)]);
    assert!(l1.chain.call(refusing, accept).expect("call").success);
    assert!(claim(&mut l1).success);
    assert_eq!(l1.chain.balance(refusing).expect("balance"), gwei(50));
    assert_eq!(l1.pending_withdrawal(refusing).expect("read"), U256::ZERO);
}

/// The ABI the tests and the CLI encode is the contract's: every function and error named
/// here is declared in Rollup.sol.
#[test]
fn encoded_signatures_are_declared() {
    for name in [
        "function deposit(uint256 x, uint256 y, uint256 account)",
        "function withdraw()",
        "function activateExodus()",
        "function refundDeposit(uint256 index)",
    ] {
        assert!(ROLLUP_SOL.contains(name), "{name}");
    }
}

/// `submitBatch`'s gas by batch size and kind of transaction, behind the accepting stand-in
/// verifier with a proof of the default final proof's length (1,984 bytes: aggregation v4, 2
/// advice columns at k = 22): everything L1 pays but the verifier's own execution (constant:
/// `zkroll gen-verifier --report`). Each measured batch is the rollup's second (the first one's
/// batch counter write from zero is not the steady state). Transfers are random ones between
/// existing accounts; deposits are queued first, withdrawals go to distinct recipients. With
/// `ZKROLL_REPORT_GAS=<file>` the rows are also written there as JSON (scripts/report.sh).
#[test]
fn submit_batch_gas_by_batch_size() {
    use zkroll_engine::workload::Workload;
    const PROOF_BYTES: usize = 1_984;
    // The default final proof's verifier: 374,623 gas as a transaction, less 21,000 and its
    // 2,528 calldata bytes (37,232 gas): `zkroll gen-verifier --report` on 4 chunk proofs
    // (docs/benchmarks.md, "Aggregation v4").
    const VERIFIER_EXECUTION: u64 = 316_391;
    let proof: Vec<u8> = (0..PROOF_BYTES).map(|i| (i % 251 + 1) as u8).collect();
    let mut traffic = Workload::new(11, 64, 7, 24);
    let _ = traffic.random_batch(64);
    let mut rows = Vec::new();
    let mut measured = Vec::new();
    for (kind, n) in [
        ("transfer", 8),
        ("transfer", 64),
        ("transfer", 256),
        ("deposit", 256),
        ("withdraw", 256),
    ] {
        let mut l1 = deploy(100, 1 << 40);
        let w = Workload::new(3, 8, 1, 6);
        let mut pubdata = Vec::new();
        let mut keys = Vec::new();
        match kind {
            "transfer" => {
                for tx in traffic.random_transfers(n) {
                    tx.write_pubdata(&mut pubdata);
                }
            }
            "deposit" => {
                for i in 0..n {
                    let user = &w.wallets[i % w.wallets.len()];
                    let (account, k) = (user.index, user.public_key);
                    assert!(deposit(&mut l1, account, &k, 1_000 + i as u64).success);
                    pubdata.extend(deposit_record(account, k, 1_000 + i as u64));
                    keys.push(k);
                }
            }
            _ => {
                for i in 0..n {
                    let mut to = [0u8; 20];
                    to[..8].copy_from_slice(&(i as u64 + 1).to_be_bytes());
                    pubdata.extend(withdraw_record(1, Address::from(to), 10, 1));
                }
            }
        }
        assert!(
            submit(&mut l1, 5, &TRANSFER, &[]).success,
            "the first batch"
        );
        let keys: Vec<(Fr, Fr)> = keys.iter().map(xy).collect();
        let data = submit_batch_calldata_with_keys(&instances(6, 7, 77), &pubdata, &keys, &proof);
        let r = l1.chain.call(l1.rollup, data).expect("call");
        assert!(r.success, "{kind} x {n}: {r:?}");
        // Without the floor: what the batch pays once the verifier's execution is added.
        let standard = 21_000 + r.calldata_gas + r.profile.frame;
        let estimated = standard + VERIFIER_EXECUTION;
        rows.push((kind, n, standard));
        measured.push(serde_json::json!({
            "kind": kind, "count": n, "base": 21_000, "calldata": r.calldata_gas,
            "calldata_bytes": r.calldata_bytes, "execution": r.profile.frame,
        }));
        eprintln!(
            "submitBatch, {n} x {kind}, stand-in verifier: {standard} gas (execution {}, \
             calldata {} gas, {} bytes; charged {} with EIP-7623's floor); with the verifier: \
             {estimated} gas, {} per tx",
            r.profile.frame,
            r.calldata_gas,
            r.calldata_bytes,
            r.gas_used,
            estimated / n as u64,
        );
    }
    // What one more transfer costs (calldata, the binding's pass): measured 530 (1,067 when
    // the binding wrote four words per record to memory and settled in a second pass).
    let marginal = (rows[2].2 - rows[1].2) / (rows[2].1 - rows[1].1) as u64;
    eprintln!("submitBatch: {marginal} gas per additional transfer (64 -> 256)");
    // For scripts/report.sh: the rows as JSON.
    if let Some(path) = std::env::var_os("ZKROLL_REPORT_GAS") {
        let rows = serde_json::json!({ "proof_bytes": PROOF_BYTES, "batches": measured });
        std::fs::write(&path, rows.to_string()).expect("ZKROLL_REPORT_GAS: write");
    }
    assert!(marginal <= 650, "{marginal} gas per additional transfer");
}
