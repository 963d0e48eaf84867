//! Transactions, the message each signed transaction signs, and their pubdata encoding.
//!
//! The signed message of a transfer or withdrawal is `Poseidon(w0, w1)` with
//! `w0 = type | chain_id << 8 | from << 40 | nonce << 72 | fee << 104 | amount << 136`
//! (192 bits) and `w1 = to` for a transfer, the 160-bit L1 recipient (big-endian) for a
//! withdrawal. Pubdata is what L1 receives for each transaction, big-endian fixed widths:
//!
//! | type | bytes | layout |
//! |---|---|---|
//! | deposit  | 44 | `0x01` account(4) packed_pubkey(32) amount(7) |
//! | transfer | 20 | `0x02` from(4) to(4) amount(7) fee(4) |
//! | withdraw | 36 | `0x03` from(4) recipient(20) amount(7) fee(4) |

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::eddsa::{PublicKey, Signature};
use crate::field::Fr;
use crate::poseidon;

/// Type tag of a no-op (circuit padding slot; never in a trace).
pub const TX_TYPE_NOOP: u8 = 0;
/// Type tag of a deposit.
pub const TX_TYPE_DEPOSIT: u8 = 1;
/// Type tag of a transfer.
pub const TX_TYPE_TRANSFER: u8 = 2;
/// Type tag of a withdrawal.
pub const TX_TYPE_WITHDRAW: u8 = 3;
/// Type tag of a fee settlement (engine-made, the last step of a batch that collected fees).
pub const TX_TYPE_SETTLE_FEES: u8 = 4;

/// Pubdata bytes of a deposit.
pub const DEPOSIT_PUBDATA_LEN: usize = 44;
/// Pubdata bytes of a transfer.
pub const TRANSFER_PUBDATA_LEN: usize = 20;
/// Pubdata bytes of a withdrawal.
pub const WITHDRAW_PUBDATA_LEN: usize = 36;

/// An Ethereum address that receives a withdrawal on L1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct L1Address(pub [u8; 20]);

impl L1Address {
    /// The address as a field element (big-endian integer, 160 bits).
    pub fn to_field(&self) -> Fr {
        let mut limbs = [0u64; 4];
        for (i, byte) in self.0.iter().rev().enumerate() {
            limbs[i / 8] |= (*byte as u64) << ((i % 8) * 8);
        }
        Fr::from(ark_ff::BigInt::new(limbs))
    }
}

impl std::str::FromStr for L1Address {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let digits = s
            .strip_prefix("0x")
            .ok_or_else(|| format!("address {s:?} must start with 0x"))?;
        let bytes = hex::decode(digits).map_err(|e| format!("address {s:?}: {e}"))?;
        let bytes: [u8; 20] = bytes
            .try_into()
            .map_err(|_| format!("address {s:?} must be 20 bytes"))?;
        Ok(Self(bytes))
    }
}

impl std::fmt::Display for L1Address {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl Serialize for L1Address {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&self.to_string())
        } else {
            self.0.serialize(s)
        }
    }
}

impl<'de> Deserialize<'de> for L1Address {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            String::deserialize(d)?
                .parse()
                .map_err(serde::de::Error::custom)
        } else {
            Ok(Self(<[u8; 20]>::deserialize(d)?))
        }
    }
}

/// A deposit from the L1 priority queue: credits `account`, creating it with `public_key`
/// when the slot is empty. Unsigned: L1 authorised it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deposit {
    /// Account index credited.
    pub account: u32,
    /// Key of the account (must equal the existing key when the account exists).
    pub public_key: PublicKey,
    /// Amount credited (`< 2^56`).
    pub amount: u64,
}

/// An entry of L1's deposit queue (`Rollup.deposit`, event `DepositQueued`): the only
/// source of deposits of a batch executed with [`crate::execute_batch_with_l1`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct L1Deposit {
    /// Position in L1's queue (from 0).
    pub index: u64,
    /// Account index credited.
    pub account: u32,
    /// Key of the account.
    pub public_key: PublicKey,
    /// Amount credited, in gwei.
    pub amount: u64,
}

impl L1Deposit {
    /// The deposit transaction it becomes in a batch.
    pub fn to_tx(&self) -> Tx {
        Tx::Deposit(Deposit {
            account: self.account,
            public_key: self.public_key,
            amount: self.amount,
        })
    }
}

/// A signed transfer between two existing accounts; the fee goes to the operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    /// Sender account index.
    pub from: u32,
    /// Recipient account index.
    pub to: u32,
    /// Amount moved (`< 2^56`).
    pub amount: u64,
    /// Fee paid to the operator (`< 2^32`).
    pub fee: u64,
    /// Sender's nonce.
    pub nonce: u32,
    /// Sender's signature of [`Transfer::message`].
    pub signature: Signature,
}

/// A signed withdrawal: debits `from` and records `amount` for `recipient` on L1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Withdraw {
    /// Account index debited.
    pub from: u32,
    /// Amount withdrawn (`< 2^56`).
    pub amount: u64,
    /// Fee paid to the operator (`< 2^32`).
    pub fee: u64,
    /// Sender's nonce.
    pub nonce: u32,
    /// L1 address that can claim the funds.
    pub recipient: L1Address,
    /// Sender's signature of [`Withdraw::message`].
    pub signature: Signature,
}

/// The fees a batch collected, credited to the operator in one leaf update. Made by the
/// engine as the batch's last step, never submitted (the executor rejects one that is); no
/// pubdata: L1 can sum the fees of the batch's transfers and withdrawals itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeeSettlement {
    /// The fees collected since the batch started (or since the previous settlement).
    pub amount: u64,
}

/// A rollup transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tx {
    /// L1 deposit.
    Deposit(Deposit),
    /// L2 transfer.
    Transfer(Transfer),
    /// Withdrawal to L1.
    Withdraw(Withdraw),
    /// The operator's fees, credited once per batch (only in traces).
    SettleFees(FeeSettlement),
}

/// `type | chain_id << 8 | from << 40 | nonce << 72 | fee << 104 | amount << 136`.
fn packed_header(tx_type: u8, chain_id: u32, from: u32, nonce: u32, fee: u64, amount: u64) -> Fr {
    // Widths are checked by the engine's rules; masking keeps the packing injective even for
    // out-of-range values handed to this function.
    let fields = [
        (tx_type as u64, 0, 8),
        (chain_id as u64, 8, 32),
        (from as u64, 40, 32),
        (nonce as u64, 72, 32),
        (fee & crate::account::MAX_FEE, 104, 32),
        (amount & crate::account::MAX_AMOUNT, 136, 56),
    ];
    let mut limbs = [0u64; 4];
    for (value, offset, width) in fields {
        let wide = (value as u128) << (offset % 64);
        limbs[offset / 64] |= wide as u64;
        if offset % 64 + width > 64 {
            limbs[offset / 64 + 1] |= (wide >> 64) as u64;
        }
    }
    Fr::from(ark_ff::BigInt::new(limbs))
}

impl Transfer {
    /// The field element the sender signs.
    pub fn message(&self, chain_id: u32) -> Fr {
        let w0 = packed_header(
            TX_TYPE_TRANSFER,
            chain_id,
            self.from,
            self.nonce,
            self.fee,
            self.amount,
        );
        poseidon::hash2(w0, Fr::from(self.to))
    }
}

impl Withdraw {
    /// The field element the sender signs.
    pub fn message(&self, chain_id: u32) -> Fr {
        let w0 = packed_header(
            TX_TYPE_WITHDRAW,
            chain_id,
            self.from,
            self.nonce,
            self.fee,
            self.amount,
        );
        poseidon::hash2(w0, self.recipient.to_field())
    }
}

fn amount_bytes(amount: u64) -> [u8; 7] {
    let be = amount.to_be_bytes();
    let mut out = [0u8; 7];
    out.copy_from_slice(&be[1..]);
    out
}

fn fee_bytes(fee: u64) -> [u8; 4] {
    (fee as u32).to_be_bytes()
}

impl Tx {
    /// The type tag.
    pub fn tx_type(&self) -> u8 {
        match self {
            Tx::Deposit(_) => TX_TYPE_DEPOSIT,
            Tx::Transfer(_) => TX_TYPE_TRANSFER,
            Tx::Withdraw(_) => TX_TYPE_WITHDRAW,
            Tx::SettleFees(_) => TX_TYPE_SETTLE_FEES,
        }
    }

    /// The fee this transaction pays (0 for deposits and settlements).
    pub fn fee(&self) -> u64 {
        match self {
            Tx::Transfer(t) => t.fee,
            Tx::Withdraw(w) => w.fee,
            Tx::Deposit(_) | Tx::SettleFees(_) => 0,
        }
    }

    /// A short name for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Tx::Deposit(_) => "deposit",
            Tx::Transfer(_) => "transfer",
            Tx::Withdraw(_) => "withdraw",
            Tx::SettleFees(_) => "fee settlement",
        }
    }

    /// Appends this transaction's pubdata (see the module docs) to `out`; a fee settlement
    /// has none. Only meaningful for a transaction whose fields are within their widths.
    pub fn write_pubdata(&self, out: &mut Vec<u8>) {
        if let Tx::SettleFees(_) = self {
            return;
        }
        out.push(self.tx_type());
        match self {
            Tx::Deposit(d) => {
                out.extend_from_slice(&d.account.to_be_bytes());
                out.extend_from_slice(&d.public_key.0.pack());
                out.extend_from_slice(&amount_bytes(d.amount));
            }
            Tx::Transfer(t) => {
                out.extend_from_slice(&t.from.to_be_bytes());
                out.extend_from_slice(&t.to.to_be_bytes());
                out.extend_from_slice(&amount_bytes(t.amount));
                out.extend_from_slice(&fee_bytes(t.fee));
            }
            Tx::Withdraw(w) => {
                out.extend_from_slice(&w.from.to_be_bytes());
                out.extend_from_slice(&w.recipient.0);
                out.extend_from_slice(&amount_bytes(w.amount));
                out.extend_from_slice(&fee_bytes(w.fee));
            }
            Tx::SettleFees(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::babyjubjub::Point;

    fn sig() -> Signature {
        Signature {
            r8: Point::base8(),
            s: Default::default(),
        }
    }

    #[test]
    fn pubdata_lengths() {
        let pk = PublicKey(Point::base8());
        let cases = [
            (
                Tx::Deposit(Deposit {
                    account: 1,
                    public_key: pk,
                    amount: 5,
                }),
                DEPOSIT_PUBDATA_LEN,
            ),
            (
                Tx::Transfer(Transfer {
                    from: 1,
                    to: 2,
                    amount: 3,
                    fee: 4,
                    nonce: 0,
                    signature: sig(),
                }),
                TRANSFER_PUBDATA_LEN,
            ),
            (
                Tx::Withdraw(Withdraw {
                    from: 1,
                    amount: 3,
                    fee: 4,
                    nonce: 0,
                    recipient: L1Address([9; 20]),
                    signature: sig(),
                }),
                WITHDRAW_PUBDATA_LEN,
            ),
        ];
        for (tx, len) in cases {
            let mut out = Vec::new();
            tx.write_pubdata(&mut out);
            assert_eq!(out.len(), len, "{}", tx.kind());
        }
    }

    #[test]
    fn header_packing_places_every_field() {
        // 2^136 * amount + 2^104 * fee + 2^72 * nonce + 2^40 * from + 2^8 * chain + type.
        let two = |k: u32| (0..k).fold(Fr::from(1u64), |acc, _| acc + acc);
        let expected = two(136) * Fr::from(crate::account::MAX_AMOUNT)
            + two(104) * Fr::from(crate::account::MAX_FEE)
            + two(72) * Fr::from(u32::MAX)
            + two(40) * Fr::from(7u64)
            + two(8) * Fr::from(9u64)
            + Fr::from(3u64);
        assert_eq!(
            packed_header(
                3,
                9,
                7,
                u32::MAX,
                crate::account::MAX_FEE,
                crate::account::MAX_AMOUNT
            ),
            expected
        );
    }

    #[test]
    fn messages_bind_every_field() {
        let base = Transfer {
            from: 1,
            to: 2,
            amount: 3,
            fee: 4,
            nonce: 5,
            signature: sig(),
        };
        let m = base.message(7);
        assert_ne!(m, base.message(8));
        for changed in [
            Transfer {
                from: 9,
                ..base.clone()
            },
            Transfer {
                to: 9,
                ..base.clone()
            },
            Transfer {
                amount: 9,
                ..base.clone()
            },
            Transfer {
                fee: 9,
                ..base.clone()
            },
            Transfer {
                nonce: 9,
                ..base.clone()
            },
        ] {
            assert_ne!(changed.message(7), m);
        }
        let w = Withdraw {
            from: 1,
            amount: 3,
            fee: 4,
            nonce: 5,
            recipient: L1Address([1; 20]),
            signature: sig(),
        };
        let mut w2 = w.clone();
        w2.recipient.0[19] ^= 1;
        assert_ne!(w.message(7), w2.message(7));
    }

    #[test]
    fn json_shape() {
        let json = r#"{"transfer":{"from":1,"to":2,"amount":3,"fee":4,"nonce":0,
            "signature":{"r8":{"x":"0x0","y":"0x1"},"s":"0x0"}}}"#;
        let tx: Tx = serde_json::from_str(json).expect("parses");
        assert_eq!(tx.kind(), "transfer");
        let bad = json.replace("\"fee\"", "\"fees\"");
        assert!(serde_json::from_str::<Tx>(&bad).is_err());
    }
}
