//! Errors of the engine: why a transaction is rejected ([`TxError`]), why a trace does not
//! check ([`TraceError`]), and failures of the engine itself ([`EngineError`]).

use crate::account::{AMOUNT_BITS, FEE_BITS};
use crate::eddsa::SignatureError;

/// Why a transaction was rejected. A rejected transaction changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum TxError {
    /// The amount does not fit its bit width.
    #[error("amount {amount} does not fit {AMOUNT_BITS} bits")]
    AmountTooLarge {
        /// The amount given.
        amount: u64,
    },
    /// The fee does not fit its bit width.
    #[error("fee {fee} does not fit {FEE_BITS} bits")]
    FeeTooLarge {
        /// The fee given.
        fee: u64,
    },
    /// The account index is outside the tree.
    #[error("account {account} is outside a tree of depth {depth}")]
    AccountOutOfRange {
        /// Index given.
        account: u32,
        /// Tree depth.
        depth: u8,
    },
    /// The account does not exist.
    #[error("account {account} does not exist")]
    UnknownAccount {
        /// Index given.
        account: u32,
    },
    /// The signature does not verify against the sender's key.
    #[error("bad signature: {reason}")]
    BadSignature {
        /// What failed.
        #[serde(serialize_with = "as_display")]
        reason: SignatureError,
    },
    /// The nonce is not the account's next nonce.
    #[error("nonce {found} given, account expects {expected}")]
    BadNonce {
        /// The account's nonce.
        expected: u32,
        /// The nonce in the transaction.
        found: u32,
    },
    /// The sender's nonce cannot be incremented.
    #[error("nonce of account {account} is exhausted")]
    NonceOverflow {
        /// Sender.
        account: u32,
    },
    /// The sender cannot pay amount + fee.
    #[error("balance {balance} is below amount + fee = {needed}")]
    InsufficientBalance {
        /// Sender's balance.
        balance: u64,
        /// Amount plus fee.
        needed: u128,
    },
    /// Crediting the account would overflow its balance.
    #[error("crediting {credit} to account {account} (balance {balance}) overflows 64 bits")]
    BalanceOverflow {
        /// Account credited.
        account: u32,
        /// Its balance.
        balance: u64,
        /// Amount credited.
        credit: u64,
    },
    /// The operator's balance could not take this fee (or credit) on top of the fees the
    /// batch already owes it: the settlement at the end of the batch would overflow 64 bits.
    #[error("fee {fee} with {pending} fees pending overflows the operator's balance {balance}")]
    OperatorBalanceOverflow {
        /// Operator's balance.
        balance: u64,
        /// Fees collected by the batch so far, not yet settled.
        pending: u64,
        /// Fee (or amount credited to the operator).
        fee: u64,
    },
    /// The batch's pending fees would not fit an amount (`< 2^56`), which the settlement
    /// credits them as.
    #[error("fee {fee} with {pending} fees pending exceeds {AMOUNT_BITS} bits")]
    PendingFeesTooLarge {
        /// Fees collected by the batch so far.
        pending: u64,
        /// Fee.
        fee: u64,
    },
    /// A fee settlement among the submitted transactions: the engine makes them.
    #[error("a fee settlement cannot be submitted: the engine settles a batch's fees itself")]
    SettlementSubmitted,
    /// A fee settlement that does not credit exactly the fees pending.
    #[error("fee settlement of {amount}, but {pending} fees are pending")]
    SettlementMismatch {
        /// Fees pending.
        pending: u64,
        /// Amount of the settlement.
        amount: u64,
    },
    /// A deposit names an existing account with a different key.
    #[error("deposit key differs from the key of existing account {account}")]
    DepositKeyMismatch {
        /// Account index.
        account: u32,
    },
    /// A deposit would create an account with a key off the curve or of small order.
    #[error("deposit to new account {account} carries an unusable public key")]
    InvalidPublicKey {
        /// Account index.
        account: u32,
    },
    /// A deposit of 0: it would change no leaf, and a batch of such deposits would leave
    /// the root unchanged (replayable on L1).
    #[error("deposit of 0 to account {account}")]
    ZeroDeposit {
        /// Account index.
        account: u32,
    },
}

fn as_display<S: serde::Serializer>(v: &SignatureError, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// Why a trace fails [`crate::trace::BatchTrace::check`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TraceError {
    /// Unsupported format version.
    #[error("trace version {found} is not supported (expected {expected})")]
    Version {
        /// Supported version.
        expected: u32,
        /// Version in the file.
        found: u32,
    },
    /// The header's configuration is unusable.
    #[error("header: {0}")]
    Header(String),
    /// A transaction breaks a rule.
    #[error("step {step}: transaction rejected: {error}")]
    Rule {
        /// Index of the step in the trace.
        step: usize,
        /// The rule broken.
        error: TxError,
    },
    /// The updates recorded for a step are not the ones its transaction makes.
    #[error("step {step}: {detail}")]
    Updates {
        /// Index of the step.
        step: usize,
        /// What differs.
        detail: String,
    },
    /// A Merkle path does not lead to the expected root.
    #[error("step {step}, update {update}: the path of account {account} does not match the root")]
    Path {
        /// Index of the step.
        step: usize,
        /// Index of the update within the step.
        update: usize,
        /// Account index.
        account: u32,
    },
    /// A recorded root differs from the recomputed one.
    #[error("step {step}: root after is {found}, recomputed {expected}")]
    Root {
        /// Index of the step.
        step: usize,
        /// Recomputed root.
        expected: String,
        /// Root in the trace.
        found: String,
    },
    /// The trace ends with fees collected but not credited to the operator.
    #[error("the batch ends with {pending} fees not settled (a fee settlement step must end it)")]
    UnsettledFees {
        /// Fees pending after the last step.
        pending: u64,
    },
    /// The header disagrees with the steps.
    #[error("header {field}: {detail}")]
    HeaderMismatch {
        /// The header field.
        field: &'static str,
        /// What differs.
        detail: String,
    },
}

/// Failures of the engine itself (storage, configuration, encoding).
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// RocksDB failed.
    #[error("state database {path}: {source}")]
    Db {
        /// Data directory.
        path: String,
        /// The RocksDB error.
        #[source]
        source: rocksdb::Error,
    },
    /// The data directory holds no state.
    #[error("no state in {0}: run `zkroll state init` first")]
    NotInitialised(String),
    /// The data directory already holds a state.
    #[error("{0} already holds a state")]
    AlreadyInitialised(String),
    /// Stored bytes do not decode: the database is not a zkroll state or is damaged.
    #[error("state database {path}: corrupt record {key}: {detail}")]
    Corrupt {
        /// Data directory.
        path: String,
        /// Record key.
        key: String,
        /// What is wrong.
        detail: String,
    },
    /// The genesis description is unusable.
    #[error("genesis: {0}")]
    Genesis(String),
    /// The rules refused the settlement of the batch's fees, which they should have made
    /// impossible (a bug: reported, nothing recorded).
    #[error("the batch's fee settlement was refused: {0}")]
    Settlement(TxError),
    /// No transaction of the batch was accepted: nothing is recorded (L1 refuses an empty
    /// batch, and a recorded one would block every batch after it).
    #[error(
        "no transaction accepted ({submitted} submitted{}), nothing recorded: L1 refuses an empty batch",
        first_rejection(rejected)
    )]
    NothingAccepted {
        /// How many transactions were submitted.
        submitted: usize,
        /// Why each was rejected, in order.
        rejected: Vec<crate::executor::Rejection>,
    },
    /// An exit was asked for an account the state does not hold.
    #[error("account {account} does not exist in the state: it has nothing to exit with")]
    NoAccountToExit {
        /// Index given.
        account: u32,
    },
    /// The key given is not the account's: it cannot authorise the account's exit.
    #[error("the key given is not account {account}'s key: it cannot authorise its exit")]
    NotTheAccountKey {
        /// Index given.
        account: u32,
    },
    /// An L2 transaction list holds a deposit: deposits come only from L1's queue.
    #[error(
        "transaction {index} is a deposit: deposits come only from the L1 queue (Rollup.deposit), \
         L1 refuses a batch with any other"
    )]
    DepositNotFromL1 {
        /// Its position in the list.
        index: usize,
    },
    /// The L1 queue export skips an entry: entries must follow the last one consumed.
    #[error(
        "L1 deposit queue: entry {found} where entry {expected} was expected (missing entries)"
    )]
    L1QueueGap {
        /// The next entry the state has not consumed.
        expected: u64,
        /// The entry found in its place.
        found: u64,
    },
    /// A deposit L1 queued is refused by the rules: L1 should have refused it (its checks
    /// mirror the rules), so the state and the contract disagree; nothing recorded.
    #[error("L1 deposit {queue_index} is refused by the rules ({error}): the contract should not have queued it, nothing recorded")]
    L1DepositRejected {
        /// The entry's index in L1's queue.
        queue_index: u64,
        /// Why the rules refuse it.
        error: TxError,
    },
}

/// `"; tx 0 (transfer): bad nonce ... (and 2 more)"` for the one-line message.
fn first_rejection(rejected: &[crate::executor::Rejection]) -> String {
    match rejected {
        [] => String::new(),
        [first, rest @ ..] => {
            let more = if rest.is_empty() {
                String::new()
            } else {
                format!(" (and {} more rejected)", rest.len())
            };
            format!(
                "; tx {} ({}): {}{more}",
                first.index, first.kind, first.error
            )
        }
    }
}

/// Why a batch's pubdata (the bytes L1 receives) cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PubdataError {
    /// A record starts with a byte that is no transaction type with pubdata.
    #[error("pubdata byte {offset}: unknown transaction type {byte}")]
    UnknownType {
        /// Where the record starts.
        offset: usize,
        /// The byte found.
        byte: u8,
    },
    /// The bytes end inside a record.
    #[error("pubdata byte {offset}: a record of {need} bytes, {left} left")]
    Truncated {
        /// Where the record starts.
        offset: usize,
        /// The record's length.
        need: usize,
        /// Bytes left from `offset`.
        left: usize,
    },
    /// A deposit's packed key is no point of the curve.
    #[error("pubdata byte {offset}: the deposit's packed key is no curve point")]
    BadKey {
        /// Where the record starts.
        offset: usize,
    },
}
