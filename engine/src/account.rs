//! Accounts and their leaf encoding.
//!
//! Leaf of an account = `Poseidon(pubkey.x, pubkey.y, balance, nonce)` (4 inputs, width 5); the
//! leaf of an empty slot is `0`.

use serde::{Deserialize, Serialize};

use crate::eddsa::PublicKey;
use crate::field::Fr;
use crate::poseidon;

/// Bits of an account balance: balances are `< 2^64`.
pub const BALANCE_BITS: u32 = 64;
/// Bits of a transfer, withdrawal or deposit amount: amounts are `< 2^56`.
pub const AMOUNT_BITS: u32 = 56;
/// Bits of a fee: fees are `< 2^32`.
pub const FEE_BITS: u32 = 32;
/// Bits of a nonce: nonces are `< 2^32`, so an account can send `2^32 - 1` transactions.
pub const NONCE_BITS: u32 = 32;

/// The largest amount a transaction may carry.
pub const MAX_AMOUNT: u64 = (1 << AMOUNT_BITS) - 1;
/// The largest fee a transaction may carry.
pub const MAX_FEE: u64 = (1 << FEE_BITS) - 1;

/// An account: its key, balance and nonce (the number of transactions it has sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Account {
    /// The EdDSA key that signs for this account; set by the deposit that created it.
    pub public_key: PublicKey,
    /// Balance in rollup units.
    pub balance: u64,
    /// Next expected nonce.
    pub nonce: u32,
}

impl Account {
    /// The leaf value of this account.
    pub fn leaf(&self) -> Fr {
        poseidon::hash(&[
            self.public_key.0.x,
            self.public_key.0.y,
            Fr::from(self.balance),
            Fr::from(self.nonce),
        ])
    }
}

/// The leaf value of an optional account (`0` when empty).
pub fn leaf_of(account: Option<&Account>) -> Fr {
    account.map_or(Fr::from(0u64), Account::leaf)
}
