//! The rules of the state transition, as pure functions shared by the executor (which reads
//! accounts from the database) and the trace checker (which reads them from the trace), so
//! the two cannot drift apart.

use crate::account::{Account, MAX_AMOUNT, MAX_FEE};
use crate::eddsa::{PublicKey, Signature, SignatureError};
use crate::error::TxError;
use crate::field::Fr;
use crate::tx::Tx;

/// Rollup parameters fixed at genesis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainConfig {
    /// Domain separator in every signed message: a signature for one chain is void on another.
    pub chain_id: u32,
    /// Depth of the account tree (`1..=32`); indices are `< 2^depth`.
    pub depth: u8,
    /// Account that receives every fee.
    pub operator: u32,
}

impl ChainConfig {
    /// Number of account slots.
    pub fn capacity(&self) -> u64 {
        1u64 << self.depth.min(32)
    }

    /// Checks the depth is `1..=32` and the operator is inside the tree (an index beyond it
    /// would alias another account in a Merkle path, whose index bits stop at `depth`).
    pub fn validate(&self) -> Result<(), String> {
        if self.depth == 0 || self.depth as usize > crate::smt::MAX_DEPTH {
            return Err(format!(
                "depth {} outside 1..={}",
                self.depth,
                crate::smt::MAX_DEPTH
            ));
        }
        if self.operator as u64 >= self.capacity() {
            return Err(format!(
                "operator account {} outside a tree of depth {}",
                self.operator, self.depth
            ));
        }
        Ok(())
    }

    fn check_index(&self, account: u32) -> Result<(), TxError> {
        if (account as u64) < self.capacity() {
            Ok(())
        } else {
            Err(TxError::AccountOutOfRange {
                account,
                depth: self.depth,
            })
        }
    }
}

/// One leaf change a transaction makes, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedUpdate {
    /// Account index.
    pub index: u32,
    /// The account before this update (after earlier updates of the same transaction).
    pub before: Option<Account>,
    /// The account after it.
    pub after: Account,
}

/// Verifies a signature; the executor passes one that consults signatures it checked ahead
/// of time in parallel, the trace checker one that verifies directly.
pub trait SignatureCheck {
    /// Whether `signature` by `key` on `message` is valid.
    fn check(
        &self,
        key: &PublicKey,
        message: Fr,
        signature: &Signature,
    ) -> Result<(), SignatureError>;
}

/// Verifies every signature as it comes.
pub struct VerifyNow;

impl SignatureCheck for VerifyNow {
    fn check(
        &self,
        key: &PublicKey,
        message: Fr,
        signature: &Signature,
    ) -> Result<(), SignatureError> {
        key.verify(message, signature)
    }
}

/// Accounts read so far by one transaction, with its own pending updates applied.
struct View<'a, F: FnMut(u32) -> Option<Account>> {
    lookup: &'a mut F,
    local: Vec<(u32, Option<Account>)>,
}

impl<F: FnMut(u32) -> Option<Account>> View<'_, F> {
    fn get(&mut self, index: u32) -> Option<Account> {
        if let Some((_, acc)) = self.local.iter().rev().find(|(i, _)| *i == index) {
            return *acc;
        }
        let acc = (self.lookup)(index);
        self.local.push((index, acc));
        acc
    }

    fn set(&mut self, updates: &mut Vec<PlannedUpdate>, index: u32, after: Account) {
        let before = self.get(index);
        self.local.push((index, Some(after)));
        updates.push(PlannedUpdate {
            index,
            before,
            after,
        });
    }
}

fn check_amount(amount: u64) -> Result<(), TxError> {
    if amount > MAX_AMOUNT {
        return Err(TxError::AmountTooLarge { amount });
    }
    Ok(())
}

fn check_fee(fee: u64) -> Result<(), TxError> {
    if fee > MAX_FEE {
        return Err(TxError::FeeTooLarge { fee });
    }
    Ok(())
}

/// Credits `amount` to `account`. The operator's balance must also leave room for the fees
/// the batch still owes it (`pending`), so that the settlement cannot overflow.
fn credit(
    config: &ChainConfig,
    pending: u64,
    account: u32,
    acc: Account,
    amount: u64,
) -> Result<Account, TxError> {
    let balance = acc
        .balance
        .checked_add(amount)
        .ok_or(TxError::BalanceOverflow {
            account,
            balance: acc.balance,
            credit: amount,
        })?;
    if account == config.operator && balance.checked_add(pending).is_none() {
        return Err(TxError::OperatorBalanceOverflow {
            balance: acc.balance,
            pending,
            fee: amount,
        });
    }
    Ok(Account { balance, ..acc })
}

/// What a signed transaction takes from its sender.
struct Debit<'a> {
    from: u32,
    amount: u64,
    fee: u64,
    nonce: u32,
    message: Fr,
    signature: &'a Signature,
}

/// Debits `amount + fee` from the sender and bumps its nonce, after the signature and nonce
/// checks. Returns the sender's account after the debit.
fn debit_sender<F: FnMut(u32) -> Option<Account>>(
    view: &mut View<'_, F>,
    debit: Debit<'_>,
    sigs: &dyn SignatureCheck,
) -> Result<Account, TxError> {
    let Debit {
        from,
        amount,
        fee,
        nonce,
        message,
        signature,
    } = debit;
    let sender = view
        .get(from)
        .ok_or(TxError::UnknownAccount { account: from })?;
    sigs.check(&sender.public_key, message, signature)
        .map_err(|reason| TxError::BadSignature { reason })?;
    if nonce != sender.nonce {
        return Err(TxError::BadNonce {
            expected: sender.nonce,
            found: nonce,
        });
    }
    let next_nonce = sender
        .nonce
        .checked_add(1)
        .ok_or(TxError::NonceOverflow { account: from })?;
    let needed = amount as u128 + fee as u128;
    if (sender.balance as u128) < needed {
        return Err(TxError::InsufficientBalance {
            balance: sender.balance,
            needed,
        });
    }
    Ok(Account {
        balance: sender.balance - needed as u64,
        nonce: next_nonce,
        ..sender
    })
}

/// The fees the batch owes the operator after `tx`, given `pending` before it (for an
/// accepted `tx`): fees accumulate, a settlement credits them all. (Saturating: only a
/// transaction the rules refuse could carry a fee that overflows.)
pub fn pending_after(pending: u64, tx: &Tx) -> u64 {
    match tx {
        Tx::SettleFees(_) => 0,
        _ => pending.saturating_add(tx.fee()),
    }
}

/// Checks `tx` against the state seen through `lookup`, with `pending` fees collected by the
/// batch and not yet settled, and returns the leaf updates it makes, in order: deposit
/// `[account]`, transfer `[from, to]`, withdraw `[from]`, fee settlement `[operator]`. Fees
/// are not credited here: they add to the pending fees ([`pending_after`]), which the
/// batch's settlement credits to the operator in one update. On error nothing is to be
/// changed.
pub fn plan<F: FnMut(u32) -> Option<Account>>(
    config: &ChainConfig,
    tx: &Tx,
    lookup: &mut F,
    sigs: &dyn SignatureCheck,
    pending: u64,
) -> Result<Vec<PlannedUpdate>, TxError> {
    let mut view = View {
        lookup,
        local: Vec::with_capacity(2),
    };
    let mut updates = Vec::with_capacity(2);
    match tx {
        Tx::Deposit(d) => {
            check_amount(d.amount)?;
            if d.amount == 0 {
                return Err(TxError::ZeroDeposit { account: d.account });
            }
            config.check_index(d.account)?;
            let after = match view.get(d.account) {
                None => {
                    if !is_usable_key(&d.public_key) {
                        return Err(TxError::InvalidPublicKey { account: d.account });
                    }
                    Account {
                        public_key: d.public_key,
                        balance: d.amount,
                        nonce: 0,
                    }
                }
                Some(existing) => {
                    if existing.public_key != d.public_key {
                        return Err(TxError::DepositKeyMismatch { account: d.account });
                    }
                    credit(config, pending, d.account, existing, d.amount)?
                }
            };
            view.set(&mut updates, d.account, after);
        }
        Tx::Transfer(t) => {
            check_amount(t.amount)?;
            check_fee(t.fee)?;
            config.check_index(t.from)?;
            config.check_index(t.to)?;
            if view.get(t.to).is_none() {
                return Err(TxError::UnknownAccount { account: t.to });
            }
            let debit = Debit {
                from: t.from,
                amount: t.amount,
                fee: t.fee,
                nonce: t.nonce,
                message: t.message(config.chain_id),
                signature: &t.signature,
            };
            let sender = debit_sender(&mut view, debit, sigs)?;
            view.set(&mut updates, t.from, sender);
            let recipient = view
                .get(t.to)
                .ok_or(TxError::UnknownAccount { account: t.to })?;
            let recipient = credit(config, pending, t.to, recipient, t.amount)?;
            view.set(&mut updates, t.to, recipient);
            reserve_fee(config, &mut view, pending, t.fee)?;
        }
        Tx::Withdraw(w) => {
            check_amount(w.amount)?;
            check_fee(w.fee)?;
            config.check_index(w.from)?;
            let debit = Debit {
                from: w.from,
                amount: w.amount,
                fee: w.fee,
                nonce: w.nonce,
                message: w.message(config.chain_id),
                signature: &w.signature,
            };
            let sender = debit_sender(&mut view, debit, sigs)?;
            view.set(&mut updates, w.from, sender);
            reserve_fee(config, &mut view, pending, w.fee)?;
        }
        Tx::SettleFees(s) => {
            if s.amount != pending {
                return Err(TxError::SettlementMismatch {
                    pending,
                    amount: s.amount,
                });
            }
            let operator = view.get(config.operator).ok_or(TxError::UnknownAccount {
                account: config.operator,
            })?;
            let after = credit(config, 0, config.operator, operator, s.amount).map_err(|_| {
                TxError::OperatorBalanceOverflow {
                    balance: operator.balance,
                    pending,
                    fee: 0,
                }
            })?;
            view.set(&mut updates, config.operator, after);
        }
    }
    Ok(updates)
}

/// Checks a fee can join the batch's pending fees: the operator exists, the pending fees
/// stay an amount, and the operator's balance (after this transaction's own updates) can
/// take them all at the settlement. A fee of 0 changes nothing and needs none of it.
fn reserve_fee<F: FnMut(u32) -> Option<Account>>(
    config: &ChainConfig,
    view: &mut View<'_, F>,
    pending: u64,
    fee: u64,
) -> Result<(), TxError> {
    if fee == 0 {
        return Ok(());
    }
    let operator = view.get(config.operator).ok_or(TxError::UnknownAccount {
        account: config.operator,
    })?;
    let owed = pending
        .checked_add(fee)
        .filter(|owed| *owed <= MAX_AMOUNT)
        .ok_or(TxError::PendingFeesTooLarge { pending, fee })?;
    if operator.balance.checked_add(owed).is_none() {
        return Err(TxError::OperatorBalanceOverflow {
            balance: operator.balance,
            pending,
            fee,
        });
    }
    Ok(())
}

/// A key that can own an account: on the curve and not of small order (a small-order key
/// would let anyone sign for the account, since verification multiplies the key by 8).
pub fn is_usable_key(key: &PublicKey) -> bool {
    key.0.is_on_curve()
        && key
            .0
            .mul_limbs(&[8])
            .is_some_and(|p| p != crate::babyjubjub::Point::identity())
}
