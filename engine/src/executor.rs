//! Batch execution: applies transactions to the state, rejects the ones that break a rule
//! (they change nothing and the batch goes on), and produces the execution trace. A batch in
//! which no transaction is accepted is not recorded ([`EngineError::NothingAccepted`]): L1
//! refuses an empty batch, so it would stop every later batch from being submitted.
//!
//! Signatures are verified ahead of time on all cores (a key never changes once set, so the
//! key each transaction must be signed by is known before execution); the state updates then
//! run in order over an in-memory overlay of the database, committed in one atomic write.

use std::collections::HashMap;

use rayon::prelude::*;
use serde::Serialize;

use crate::account::Account;
use crate::eddsa::{PublicKey, Signature, SignatureError};
use crate::error::{EngineError, TxError};
use crate::field::Fr;
use crate::rules::{self, SignatureCheck};
use crate::smt;
use crate::store::{StateChanges, StateDb, WithdrawalRecord};
use crate::trace::{BatchHeader, BatchTrace, LeafUpdate, TxStep, TRACE_VERSION};
use crate::tx::{FeeSettlement, L1Deposit, Tx};

/// A rejected transaction: its position in the submitted batch and the rule it broke.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    /// Index in the submitted list.
    pub index: usize,
    /// Transaction type.
    pub kind: &'static str,
    /// The rule broken.
    pub error: TxError,
}

/// The result of executing one batch.
#[derive(Debug, Clone)]
pub struct BatchOutcome {
    /// Number of the committed batch.
    pub batch_number: u64,
    /// The execution trace.
    pub trace: BatchTrace,
    /// Positions (in the submitted list) of the accepted transactions, one per trace step
    /// (the trace's last step, the fee settlement, if the batch paid fees, has none). With
    /// [`execute_batch_with_l1`], the list is the L1 deposits followed by the transactions.
    pub accepted: Vec<usize>,
    /// L1 queue entries the batch consumed (its first steps), with [`execute_batch_with_l1`].
    pub l1_deposits: usize,
    /// Rejected transactions.
    pub rejected: Vec<Rejection>,
    /// Withdrawals recorded for L1.
    pub withdrawals: Vec<WithdrawalRecord>,
}

/// Signature verdicts computed ahead of time, by transaction position.
struct Precomputed {
    verdicts: Vec<Option<(PublicKey, Result<(), SignatureError>)>>,
    current: std::cell::Cell<usize>,
}

impl SignatureCheck for Precomputed {
    fn check(
        &self,
        key: &PublicKey,
        message: Fr,
        signature: &Signature,
    ) -> Result<(), SignatureError> {
        match &self.verdicts[self.current.get()] {
            Some((checked_key, verdict)) if checked_key == key => *verdict,
            _ => key.verify(message, signature),
        }
    }
}

/// Accounts as the batch has left them so far (read through to the database).
struct Accounts<'a> {
    db: &'a StateDb,
    cache: HashMap<u32, Option<Account>>,
}

impl Accounts<'_> {
    fn get(&mut self, index: u32) -> Result<Option<Account>, EngineError> {
        if let Some(a) = self.cache.get(&index) {
            return Ok(*a);
        }
        let a = self.db.account(index)?;
        self.cache.insert(index, a);
        Ok(a)
    }
}

/// For each signed transaction, the key it must be signed by: the stored key of the sender,
/// or the key of the deposit earlier in the batch that creates the sender's account.
fn expected_signers(db: &StateDb, txs: &[Tx]) -> Result<Vec<Option<PublicKey>>, EngineError> {
    let config = db.config();
    let mut known: HashMap<u32, Option<PublicKey>> = HashMap::new();
    let key_of = |known: &mut HashMap<u32, Option<PublicKey>>, index: u32| {
        if let Some(k) = known.get(&index) {
            return Ok::<_, EngineError>(*k);
        }
        let k = db.account(index)?.map(|a| a.public_key);
        known.insert(index, k);
        Ok(k)
    };
    let mut out = Vec::with_capacity(txs.len());
    for tx in txs {
        out.push(match tx {
            Tx::Deposit(d) => {
                let in_range = (d.account as u64) < config.capacity();
                if in_range
                    && key_of(&mut known, d.account)?.is_none()
                    && rules::is_usable_key(&d.public_key)
                {
                    // If this deposit turns out to be rejected, the key is wrong for later
                    // transactions; `Precomputed` then sees a different key and re-verifies.
                    known.insert(d.account, Some(d.public_key));
                }
                None
            }
            Tx::Transfer(t) => key_of(&mut known, t.from)?,
            Tx::Withdraw(w) => key_of(&mut known, w.from)?,
            Tx::SettleFees(_) => None,
        });
    }
    Ok(out)
}

/// Executes `txs` against `db` and commits the result as one batch.
///
/// Fails with [`EngineError::NothingAccepted`], committing nothing, when no transaction is
/// accepted (none given, or every one rejected).
///
/// Deposits are taken from `txs` as given: for tests and benchmarks of the rules. A rollup
/// whose batches L1 accepts takes its deposits from L1's queue: [`execute_batch_with_l1`].
pub fn execute_batch(db: &mut StateDb, txs: &[Tx]) -> Result<BatchOutcome, EngineError> {
    execute(db, txs, None)
}

/// Executes a batch whose deposits come from L1's deposit queue: first every entry of `queue`
/// the state has not consumed yet, in queue order (entries already consumed are skipped, so
/// `queue` may be the whole exported queue), then the L2 transactions `txs`, which must hold
/// no deposit. L1 accepts a batch only if its deposits are the queue's next entries, so the
/// operator cannot credit what was not locked on L1.
///
/// Fails, committing nothing, with [`EngineError::DepositNotFromL1`] for a deposit in `txs`,
/// [`EngineError::L1QueueGap`] when `queue` skips an entry, [`EngineError::L1DepositRejected`]
/// when the rules refuse a queued deposit (L1's checks mirror the rules, so it would be a
/// disagreement between them), and as [`execute_batch`] otherwise. The outcome's rejections
/// are positions in `txs`.
pub fn execute_batch_with_l1(
    db: &mut StateDb,
    queue: &[L1Deposit],
    txs: &[Tx],
) -> Result<BatchOutcome, EngineError> {
    if let Some(index) = txs.iter().position(|tx| matches!(tx, Tx::Deposit(_))) {
        return Err(EngineError::DepositNotFromL1 { index });
    }
    let consumed = db.l1_deposits();
    let mut all = Vec::with_capacity(queue.len() + txs.len());
    for d in queue.iter().filter(|d| d.index >= consumed) {
        let expected = consumed + all.len() as u64;
        if d.index != expected {
            return Err(EngineError::L1QueueGap {
                expected,
                found: d.index,
            });
        }
        all.push(d.to_tx());
    }
    let count = all.len();
    all.extend_from_slice(txs);
    let mut outcome = execute(db, &all, Some((consumed, count)))?;
    // The queued deposits are never rejected (checked above): rejections are in `txs`.
    for r in &mut outcome.rejected {
        r.index -= count;
    }
    Ok(outcome)
}

/// `l1`: the queue entries consumed before the batch and how many of `txs`' first
/// transactions are L1 deposits (each must be accepted).
fn execute(
    db: &mut StateDb,
    txs: &[Tx],
    l1: Option<(u64, usize)>,
) -> Result<BatchOutcome, EngineError> {
    let (consumed, l1_count) = l1.unwrap_or((0, 0));
    let (outcome, changes) = {
        let config = db.config();
        let signers = expected_signers(db, txs)?;
        let verdicts: Vec<_> = txs
            .par_iter()
            .zip(signers.par_iter())
            .map(|(tx, signer)| {
                let key = (*signer)?;
                let verdict = match tx {
                    Tx::Transfer(t) => key.verify(t.message(config.chain_id), &t.signature),
                    Tx::Withdraw(w) => key.verify(w.message(config.chain_id), &w.signature),
                    Tx::Deposit(_) | Tx::SettleFees(_) => return None,
                };
                Some((key, verdict))
            })
            .collect();
        let sigs = Precomputed {
            verdicts,
            current: std::cell::Cell::new(0),
        };

        // Rules, in order, over the accounts only: which transactions are accepted and which
        // leaf writes they make. No hashing yet.
        let mut accounts = Accounts {
            db,
            cache: HashMap::new(),
        };
        let mut writes: Vec<(u32, Account)> = Vec::new();
        let mut befores: Vec<Option<Account>> = Vec::new();
        let mut accepted = Vec::new();
        let mut step_ends = Vec::new();
        let mut rejected = Vec::new();
        // Fees collected and not yet credited: the settlement step credits them at the end.
        let mut pending = 0u64;
        let plan = |accounts: &mut Accounts<'_>, tx: &Tx, pending: u64| {
            let mut lookup_error = None;
            let planned = {
                let mut lookup = |i: u32| match accounts.get(i) {
                    Ok(a) => a,
                    Err(e) => {
                        lookup_error = Some(e);
                        None
                    }
                };
                rules::plan(&config, tx, &mut lookup, &sigs, pending)
            };
            match lookup_error {
                Some(e) => Err(e),
                None => Ok(planned),
            }
        };
        let mut record = |accounts: &mut Accounts<'_>, planned: Vec<rules::PlannedUpdate>| {
            for u in planned {
                accounts.cache.insert(u.index, Some(u.after));
                writes.push((u.index, u.after));
                befores.push(u.before);
            }
            step_ends.push(writes.len());
        };
        for (index, tx) in txs.iter().enumerate() {
            sigs.current.set(index);
            let planned = match tx {
                Tx::SettleFees(_) => Err(TxError::SettlementSubmitted),
                _ => plan(&mut accounts, tx, pending)?,
            };
            match planned {
                Err(error) => rejected.push(Rejection {
                    index,
                    kind: tx.kind(),
                    error,
                }),
                Ok(planned) => {
                    record(&mut accounts, planned);
                    pending = rules::pending_after(pending, tx);
                    accepted.push(index);
                }
            }
        }

        if let Some(r) = rejected.iter().find(|r| r.index < l1_count) {
            return Err(EngineError::L1DepositRejected {
                queue_index: consumed + r.index as u64,
                error: r.error.clone(),
            });
        }
        if accepted.is_empty() {
            return Err(EngineError::NothingAccepted {
                submitted: txs.len(),
                rejected,
            });
        }
        // Every accepted step's tx, then the settlement of the batch's fees if it has any.
        let mut step_txs: Vec<Tx> = accepted.iter().map(|&i| txs[i].clone()).collect();
        if pending > 0 {
            let settlement = Tx::SettleFees(FeeSettlement { amount: pending });
            // The rules kept the operator's balance plus the pending fees below 2^64 and the
            // operator in the tree, so this cannot be refused.
            let planned =
                plan(&mut accounts, &settlement, pending)?.map_err(EngineError::Settlement)?;
            record(&mut accounts, planned);
            step_txs.push(settlement);
        }

        // The tree: every write's siblings and the root after it, pipelined over two threads.
        let leaves: Vec<(u32, Fr)> = writes
            .par_iter()
            .map(|(index, account)| (*index, account.leaf()))
            .collect();
        let read = |level: u8, index: u32| db.node(level, index);
        let tree = smt::apply_writes(config.depth, &leaves, &step_ends, &read)?;

        let old_root = db.root();
        let mut steps = Vec::with_capacity(accepted.len());
        let mut withdrawals = Vec::new();
        let mut pubdata = Vec::new();
        let mut siblings = tree.siblings.into_iter();
        let mut start = 0;
        for (tx, &end) in step_txs.into_iter().zip(&step_ends) {
            if let Tx::Withdraw(w) = &tx {
                withdrawals.push(WithdrawalRecord {
                    account: w.from,
                    recipient: w.recipient,
                    amount: w.amount,
                });
            }
            tx.write_pubdata(&mut pubdata);
            let updates = (start..end)
                .map(|k| LeafUpdate {
                    index: writes[k].0,
                    before: befores[k],
                    siblings: siblings.next().unwrap_or_default(),
                })
                .collect();
            steps.push(TxStep {
                tx,
                updates,
                root_after: tree.roots[steps.len()],
            });
            start = end;
        }
        let new_root = tree.roots.last().copied().unwrap_or(old_root);
        let trace = BatchTrace {
            version: TRACE_VERSION,
            header: BatchHeader {
                config,
                old_root,
                new_root,
                tx_count: steps.len() as u32,
                pubdata,
            },
            steps,
        };
        let changes = StateChanges {
            accounts: writes.iter().copied().collect(),
            nodes: tree.nodes,
            root: new_root,
            trace: trace.to_binary(),
            withdrawals: withdrawals.clone(),
            l1_deposits: l1.map(|_| consumed + l1_count as u64),
        };
        (
            BatchOutcome {
                batch_number: 0,
                trace,
                accepted,
                rejected,
                withdrawals,
                l1_deposits: l1_count,
            },
            changes,
        )
    };
    let batch_number = db.commit_batch(changes)?;
    Ok(BatchOutcome {
        batch_number,
        ..outcome
    })
}
