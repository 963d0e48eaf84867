//! One test per rule of the state transition: the engine rejects the breaking transaction with
//! its typed error, reports its index, leaves the state root unchanged, and goes on with the
//! rest of the batch.

use zkroll_engine::account::{MAX_AMOUNT, MAX_FEE};
use zkroll_engine::babyjubjub::Point;
use zkroll_engine::eddsa::{PrivateKey, PublicKey, SignatureError};
use zkroll_engine::field::Fr;
use zkroll_engine::store::GenesisAccount;
use zkroll_engine::tx::{Deposit, FeeSettlement, Transfer, Tx, Withdraw};
use zkroll_engine::TxError;

use crate::common::{account, funded_state, funded_state_with, run, run_rejected};

/// Executes `[bad]` and then `[valid, bad, valid]`: the bad transaction is rejected with
/// `expected` and changes nothing, the valid ones around it go through.
fn assert_rejected(
    users: u32,
    edit: impl FnOnce(&zkroll_engine::workload::Workload, &mut Vec<GenesisAccount>),
    make_bad: impl Fn(&mut zkroll_engine::workload::Workload) -> Tx,
    expected: impl Fn(&TxError) -> bool,
) {
    let (_dir, mut db, mut w) = funded_state_with(users, edit);
    let root = db.root();
    let bad = make_bad(&mut w);
    // Alone, it leaves a batch with nothing accepted: refused, nothing recorded.
    let rejected = run_rejected(&mut db, std::slice::from_ref(&bad));
    assert_eq!(rejected.len(), 1, "not rejected: {bad:?}");
    let error = &rejected[0].error;
    assert!(expected(error), "wrong error: {error:?}");
    assert_eq!(rejected[0].index, 0);
    assert_eq!(db.root(), root, "rejected tx changed the root");

    // The batch goes on around it (deposits to an account no test rule involves).
    let deposit = |amount| {
        Tx::Deposit(Deposit {
            account: 999,
            public_key: w.operator.public_key,
            amount,
        })
    };
    let (before, after) = (deposit(5), deposit(6));
    let outcome = run(&mut db, &[before, bad, after]);
    assert_eq!(outcome.accepted, vec![0, 2]);
    assert_eq!(outcome.rejected.len(), 1);
    assert_eq!(outcome.rejected[0].index, 1);
    assert!(expected(&outcome.rejected[0].error));
}

fn no_edit(_: &zkroll_engine::workload::Workload, _: &mut Vec<GenesisAccount>) {}

fn transfer(w: &mut zkroll_engine::workload::Workload, amount: u64, fee: u64) -> Transfer {
    match w.transfer(0, 1, amount, fee) {
        Tx::Transfer(t) => t,
        _ => unreachable!(),
    }
}

fn resign(w: &zkroll_engine::workload::Workload, user: usize, t: &mut Transfer) {
    t.signature = w.wallets[user].key.sign(t.message(w.config.chain_id));
}

#[test]
fn signature_by_another_key() {
    assert_rejected(
        3,
        no_edit,
        |w| {
            let mut t = transfer(w, 10, 1);
            resign(w, 2, &mut t);
            Tx::Transfer(t)
        },
        |e| {
            matches!(
                e,
                TxError::BadSignature {
                    reason: SignatureError::Mismatch
                }
            )
        },
    );
}

#[test]
fn field_changed_after_signing() {
    assert_rejected(
        3,
        no_edit,
        |w| {
            let mut t = transfer(w, 10, 1);
            t.fee = 0;
            Tx::Transfer(t)
        },
        |e| matches!(e, TxError::BadSignature { .. }),
    );
}

#[test]
fn signature_for_another_chain() {
    assert_rejected(
        3,
        no_edit,
        |w| {
            let mut t = transfer(w, 10, 1);
            t.signature = w.wallets[0].key.sign(t.message(w.config.chain_id + 1));
            Tx::Transfer(t)
        },
        |e| matches!(e, TxError::BadSignature { .. }),
    );
}

#[test]
fn signature_point_off_curve() {
    assert_rejected(
        3,
        no_edit,
        |w| {
            let mut t = transfer(w, 10, 1);
            t.signature.r8.y += Fr::from(1u64);
            Tx::Transfer(t)
        },
        |e| {
            matches!(
                e,
                TxError::BadSignature {
                    reason: SignatureError::R8NotOnCurve
                }
            )
        },
    );
}

#[test]
fn nonce_too_high_and_replay() {
    assert_rejected(
        3,
        no_edit,
        |w| {
            let mut t = transfer(w, 10, 1);
            t.nonce = 5;
            resign(w, 0, &mut t);
            Tx::Transfer(t)
        },
        |e| {
            matches!(
                e,
                TxError::BadNonce {
                    expected: 0,
                    found: 5
                }
            )
        },
    );
    // Replaying an accepted transfer: its nonce is now stale.
    let (_dir, mut db, mut w) = funded_state(3);
    let t = w.transfer(0, 1, 10, 1);
    let first = run(&mut db, std::slice::from_ref(&t));
    assert_eq!(first.accepted.len(), 1);
    let root = db.root();
    let replay = run_rejected(&mut db, &[t]);
    assert!(matches!(
        replay[0].error,
        TxError::BadNonce {
            expected: 1,
            found: 0
        }
    ));
    assert_eq!(db.root(), root);
}

#[test]
fn nonce_exhausted() {
    assert_rejected(
        3,
        |w, accounts| accounts[0] = account(w, 0, 1_000_000, u32::MAX),
        |w| {
            let mut t = transfer(w, 10, 1);
            t.nonce = u32::MAX;
            resign(w, 0, &mut t);
            Tx::Transfer(t)
        },
        |e| matches!(e, TxError::NonceOverflow { account: 1 }),
    );
}

#[test]
fn insufficient_balance_for_amount_plus_fee() {
    assert_rejected(
        3,
        no_edit,
        |w| {
            // Balance 1,000,000: amount alone fits, amount + fee does not.
            let mut t = transfer(w, 10, 1);
            t.amount = 999_999;
            t.fee = 2;
            resign(w, 0, &mut t);
            Tx::Transfer(t)
        },
        |e| {
            matches!(
                e,
                TxError::InsufficientBalance {
                    balance: 1_000_000,
                    needed: 1_000_001
                }
            )
        },
    );
}

#[test]
fn withdrawal_beyond_balance() {
    assert_rejected(
        3,
        no_edit,
        |w| {
            let Tx::Withdraw(mut x) = w.withdraw(1, 10, 0) else {
                unreachable!()
            };
            x.amount = 1_000_001;
            x.signature = w.wallets[1].key.sign(x.message(w.config.chain_id));
            Tx::Withdraw(x)
        },
        |e| matches!(e, TxError::InsufficientBalance { .. }),
    );
}

#[test]
fn amount_wider_than_its_bits() {
    assert_rejected(
        3,
        |w, accounts| accounts[0] = account(w, 0, u64::MAX / 2, 0),
        |w| {
            let mut t = transfer(w, 10, 1);
            t.amount = MAX_AMOUNT + 1;
            resign(w, 0, &mut t);
            Tx::Transfer(t)
        },
        |e| matches!(e, TxError::AmountTooLarge { .. }),
    );
}

#[test]
fn fee_wider_than_its_bits() {
    assert_rejected(
        3,
        |w, accounts| accounts[0] = account(w, 0, u64::MAX / 2, 0),
        |w| {
            let mut t = transfer(w, 10, 1);
            t.fee = MAX_FEE + 1;
            resign(w, 0, &mut t);
            Tx::Transfer(t)
        },
        |e| matches!(e, TxError::FeeTooLarge { .. }),
    );
}

#[test]
fn recipient_balance_would_overflow() {
    assert_rejected(
        3,
        |w, accounts| accounts[1] = account(w, 1, u64::MAX - 5, 0),
        |w| Tx::Transfer(transfer(w, 10, 1)),
        |e| matches!(e, TxError::BalanceOverflow { account: 2, .. }),
    );
}

#[test]
fn deposit_would_overflow() {
    assert_rejected(
        3,
        |w, accounts| accounts[2] = account(w, 2, u64::MAX - 5, 0),
        |w| w.deposit(2, 6),
        |e| matches!(e, TxError::BalanceOverflow { account: 3, .. }),
    );
}

#[test]
fn operator_balance_would_overflow() {
    assert_rejected(
        3,
        |w, accounts| {
            accounts.push(GenesisAccount {
                index: 0,
                account: zkroll_engine::account::Account {
                    public_key: w.operator.public_key,
                    balance: u64::MAX - 1,
                    nonce: 0,
                },
            })
        },
        |w| Tx::Transfer(transfer(w, 10, 2)),
        |e| matches!(e, TxError::OperatorBalanceOverflow { fee: 2, .. }),
    );
}

#[test]
fn unknown_sender() {
    assert_rejected(
        3,
        no_edit,
        |w| {
            let mut t = transfer(w, 10, 1);
            t.from = 77;
            resign(w, 0, &mut t);
            Tx::Transfer(t)
        },
        |e| matches!(e, TxError::UnknownAccount { account: 77 }),
    );
}

#[test]
fn unknown_recipient() {
    assert_rejected(
        3,
        no_edit,
        |w| {
            let mut t = transfer(w, 10, 1);
            t.to = 77;
            resign(w, 0, &mut t);
            Tx::Transfer(t)
        },
        |e| matches!(e, TxError::UnknownAccount { account: 77 }),
    );
}

#[test]
fn account_outside_the_tree() {
    assert_rejected(
        3,
        no_edit,
        |w| {
            let mut t = transfer(w, 10, 1);
            t.to = 1 << 24;
            resign(w, 0, &mut t);
            Tx::Transfer(t)
        },
        |e| {
            matches!(
                e,
                TxError::AccountOutOfRange {
                    account: 16777216,
                    depth: 24
                }
            )
        },
    );
}

#[test]
fn deposit_with_another_key_to_existing_account() {
    assert_rejected(
        3,
        no_edit,
        |w| {
            let Tx::Deposit(mut d) = w.deposit(0, 5) else {
                unreachable!()
            };
            d.public_key = w.wallets[1].public_key;
            Tx::Deposit(d)
        },
        |e| matches!(e, TxError::DepositKeyMismatch { account: 1 }),
    );
}

#[test]
fn deposit_creating_account_with_unusable_key() {
    for key in [
        // Off the curve.
        PublicKey(Point {
            x: Fr::from(1u64),
            y: Fr::from(1u64),
        }),
        // The identity: of small order, anyone could sign for it.
        PublicKey(Point::identity()),
    ] {
        assert_rejected(
            3,
            no_edit,
            move |_| {
                Tx::Deposit(Deposit {
                    account: 100,
                    public_key: key,
                    amount: 5,
                })
            },
            |e| matches!(e, TxError::InvalidPublicKey { account: 100 }),
        );
    }
}

#[test]
fn deposit_amount_wider_than_its_bits() {
    assert_rejected(
        3,
        no_edit,
        |w| {
            let Tx::Deposit(mut d) = w.deposit(0, 5) else {
                unreachable!()
            };
            d.amount = MAX_AMOUNT + 1;
            Tx::Deposit(d)
        },
        |e| matches!(e, TxError::AmountTooLarge { .. }),
    );
}

#[test]
fn withdrawal_recipient_is_signed() {
    assert_rejected(
        3,
        no_edit,
        |w| {
            let Tx::Withdraw(mut x) = w.withdraw(0, 10, 1) else {
                unreachable!()
            };
            x.recipient.0[0] ^= 0xff;
            Tx::Withdraw(x)
        },
        |e| matches!(e, TxError::BadSignature { .. }),
    );
}

#[test]
fn new_account_can_spend_in_the_same_batch() {
    let (_dir, mut db, mut w) = funded_state(2);
    let fresh = PrivateKey::from_bytes([9; 32]);
    let deposit = Tx::Deposit(Deposit {
        account: 500,
        public_key: fresh.public_key(),
        amount: 1000,
    });
    let mut t = Transfer {
        from: 500,
        to: 1,
        amount: 100,
        fee: 3,
        nonce: 0,
        signature: w.wallets[0].key.sign(Fr::from(0u64)),
    };
    t.signature = fresh.sign(t.message(1));
    let withdraw = {
        let mut x = Withdraw {
            from: 500,
            amount: 800,
            fee: 1,
            nonce: 1,
            recipient: "0x00000000000000000000000000000000000000aa"
                .parse()
                .expect("address"),
            signature: t.signature,
        };
        x.signature = fresh.sign(x.message(1));
        x
    };
    let self_transfer = w.transfer(0, 0, 10, 2);
    let outcome = run(
        &mut db,
        &[
            deposit,
            Tx::Transfer(t),
            Tx::Withdraw(withdraw),
            self_transfer,
        ],
    );
    assert!(outcome.rejected.is_empty(), "{:?}", outcome.rejected);
    let acc = db.account(500).expect("db").expect("created");
    assert_eq!((acc.balance, acc.nonce), (1000 - 103 - 801, 2));
    let operator = db.account(0).expect("db").expect("operator");
    assert_eq!(operator.balance, 3 + 1 + 2);
    let user = db.account(1).expect("db").expect("user");
    assert_eq!((user.balance, user.nonce), (1_000_000 + 100 - 2, 1));
    assert_eq!(db.withdrawals(0).expect("db").len(), 1);
    db.check_integrity().expect("consistent state");
}

/// No transaction accepted (none given, or every one rejected): the engine records no batch,
/// since L1 refuses an empty one and it would block every later batch; the error says why
/// in one line. The next batch with an accepted transaction takes the number.
#[test]
fn a_batch_with_nothing_accepted_is_not_recorded() {
    let (_dir, mut db, mut w) = funded_state(2);
    assert!(run_rejected(&mut db, &[]).is_empty());
    let stale: Vec<Tx> = (0..3)
        .map(|_| {
            let mut t = transfer(&mut w, 10, 1);
            t.nonce = 7;
            resign(&w, 0, &mut t);
            Tx::Transfer(t)
        })
        .collect();
    let rejected = run_rejected(&mut db, &stale);
    assert_eq!(rejected.len(), 3);
    let message = zkroll_engine::execute_batch(&mut db, &stale)
        .expect_err("refused")
        .to_string();
    for needle in [
        "no transaction accepted (3 submitted",
        "tx 0 (transfer): nonce 7 given",
        "and 2 more rejected",
        "nothing recorded",
    ] {
        assert!(message.contains(needle), "{message:?} lacks {needle:?}");
    }
    assert_eq!(message.lines().count(), 1);
    w.wallets[0].nonce = 0;
    let fresh = w.transfer(0, 1, 10, 1);
    assert_eq!(run(&mut db, &[fresh]).batch_number, 0);
}

/// A deposit of 0 changes no leaf when the account exists: a batch of such deposits would
/// keep the root and could be replayed on L1. Refused whether or not the account exists.
#[test]
fn deposit_of_zero() {
    assert_rejected(
        3,
        no_edit,
        |w| {
            Tx::Deposit(Deposit {
                account: w.wallets[0].index,
                public_key: w.wallets[0].public_key,
                amount: 0,
            })
        },
        |e| matches!(e, TxError::ZeroDeposit { .. }),
    );
    assert_rejected(
        3,
        no_edit,
        |w| {
            Tx::Deposit(Deposit {
                account: 500,
                public_key: w.wallets[1].public_key,
                amount: 0,
            })
        },
        |e| matches!(e, TxError::ZeroDeposit { account: 500 }),
    );
}

/// A transfer from user `from` to account `to` (any index, the operator's too), signed.
fn transfer_to(w: &zkroll_engine::workload::Workload, from: usize, to: u32, fee: u64) -> Tx {
    let mut t = Transfer {
        from: w.wallets[from].index,
        to,
        amount: 5,
        fee,
        nonce: 0,
        signature: w.wallets[from].key.sign(Fr::from(0u64)),
    };
    t.signature = w.wallets[from].key.sign(t.message(w.config.chain_id));
    Tx::Transfer(t)
}

/// Fees are not credited transaction by transaction: they add up over the batch, and one
/// settlement step the engine appends credits them to the operator. A batch without fees
/// has none.
#[test]
fn fees_are_settled_once_at_the_end_of_the_batch() {
    let (_dir, mut db, mut w) = funded_state(3);
    let operator = db.account(0).expect("db").expect("operator").balance;
    let txs = [
        w.transfer(0, 1, 100, 3),
        w.withdraw(1, 20, 4),
        w.deposit(2, 10),
        w.transfer(2, 0, 7, 0),
    ];
    let outcome = run(&mut db, &txs);
    assert_eq!(outcome.accepted, vec![0, 1, 2, 3]);
    let steps = &outcome.trace.steps;
    assert_eq!(steps.len(), 5);
    let updates: Vec<usize> = steps.iter().map(|s| s.updates.len()).collect();
    assert_eq!(updates, [2, 1, 1, 2, 1]);
    assert_eq!(steps[4].tx, Tx::SettleFees(FeeSettlement { amount: 7 }));
    assert_eq!(steps[4].updates[0].index, 0);
    assert_eq!(outcome.trace.header.tx_count, 5);
    assert_eq!(
        db.account(0).expect("db").expect("operator").balance,
        operator + 7
    );
    // No settlement pubdata: L1 sees only the four transactions.
    let pubdata_len: usize = [20, 36, 44, 20].iter().sum();
    assert_eq!(outcome.trace.header.pubdata.len(), pubdata_len);

    let outcome = run(&mut db, &[w.transfer(0, 1, 5, 0), w.deposit(1, 3)]);
    assert_eq!(outcome.trace.steps.len(), 2, "no fees, no settlement");
}

#[test]
fn a_submitted_settlement_is_rejected() {
    assert_rejected(
        3,
        no_edit,
        |_| Tx::SettleFees(FeeSettlement { amount: 5 }),
        |e| matches!(e, TxError::SettlementSubmitted),
    );
}

/// The operator's balance must take every fee the batch owes it: a fee, or a credit to the
/// operator's own account, that would make the settlement overflow is refused, and the
/// settlement credits exactly what was collected.
#[test]
fn operator_balance_leaves_room_for_pending_fees() {
    let (_dir, mut db, w) = funded_state_with(4, |w, accounts| {
        accounts.push(GenesisAccount {
            index: 0,
            account: zkroll_engine::account::Account {
                public_key: w.operator.public_key,
                balance: u64::MAX - 10,
                nonce: 0,
            },
        })
    });
    let txs = [
        transfer_to(&w, 0, 2, 6),
        transfer_to(&w, 1, 2, 5),
        transfer_to(&w, 2, 0, 0),
        transfer_to(&w, 3, 2, 4),
    ];
    let outcome = run(&mut db, &txs);
    assert_eq!(outcome.accepted, vec![0, 3]);
    let errors: Vec<&TxError> = outcome.rejected.iter().map(|r| &r.error).collect();
    assert!(
        matches!(
            errors[..],
            [
                TxError::OperatorBalanceOverflow {
                    pending: 6,
                    fee: 5,
                    ..
                },
                TxError::OperatorBalanceOverflow {
                    pending: 6,
                    fee: 5,
                    ..
                }
            ]
        ),
        "{errors:?}"
    );
    assert_eq!(
        db.account(0).expect("db").expect("operator").balance,
        u64::MAX
    );
}

/// The pending fees are credited as one amount, so they stay below 2^56.
#[test]
fn pending_fees_stay_an_amount() {
    let (_dir, db, mut w) = funded_state(2);
    let config = db.config();
    let tx = w.transfer(0, 1, 10, 5);
    let plan = |pending| {
        zkroll_engine::rules::plan(
            &config,
            &tx,
            &mut |i| db.account(i).expect("db"),
            &zkroll_engine::rules::VerifyNow,
            pending,
        )
    };
    assert!(matches!(
        plan(MAX_AMOUNT - 4),
        Err(TxError::PendingFeesTooLarge { pending, fee: 5 }) if pending == MAX_AMOUNT - 4
    ));
    assert_eq!(plan(MAX_AMOUNT - 5).expect("fits").len(), 2);
    // A settlement credits exactly the pending fees.
    let settle = |amount, pending| {
        zkroll_engine::rules::plan(
            &config,
            &Tx::SettleFees(FeeSettlement { amount }),
            &mut |i| db.account(i).expect("db"),
            &zkroll_engine::rules::VerifyNow,
            pending,
        )
    };
    assert!(matches!(
        settle(8, 7),
        Err(TxError::SettlementMismatch {
            pending: 7,
            amount: 8
        })
    ));
    assert_eq!(settle(7, 7).expect("settles")[0].index, config.operator);
}
