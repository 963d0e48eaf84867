//! A batch's pubdata as L1 reads it ([`parse`]), the four words each transaction contributes
//! to the transaction commitment ([`tx_words`], [`Record::words`]), and the **pubdata
//! binding**: a random evaluation that lets L1 check, from calldata, that the pubdata it
//! holds is the one the proof was made for (docs/protocol.md, "Pubdata binding").
//!
//! The proof commits to the batch's words through the Poseidon chain `commitment`. L1 cannot
//! afford Poseidon per transaction, so it checks the words another way: it hashes the
//! commitment and the pubdata bytes with keccak256 into a point `z` ([`evaluation_point`]),
//! evaluates the polynomial whose coefficients are the words it derives from those bytes at
//! `z` ([`evaluate`], Horner from a leading 1), and hands `z` and the value to the verifier as
//! public inputs; the circuits evaluate the words they prove at the same `z`. If L1's words
//! differed from the proven ones, the two polynomials (degree at most `4n + 1`) would differ
//! and agree at `z` with probability at most `(4n + 1) / r`, and `z` cannot be steered: it is
//! fixed by the commitment (which fixes the proven words) and by L1's bytes, of which L1's words
//! are a function (a deposit's key words are the one point its packed key packs). This is the
//! "proof of equivalence" EIP-4844 rollups use between a blob and their own commitment, with L1
//! evaluating the polynomial itself (a `mulmod` and an `addmod` per word).

use ark_ff::{BigInteger, PrimeField};
use sha3::{Digest, Keccak256};

use crate::babyjubjub::Point;
use crate::error::PubdataError;
use crate::field::Fr;
use crate::tx::{
    Tx, DEPOSIT_PUBDATA_LEN, TRANSFER_PUBDATA_LEN, TX_TYPE_DEPOSIT, TX_TYPE_TRANSFER,
    TX_TYPE_WITHDRAW, WITHDRAW_PUBDATA_LEN,
};

/// One transaction's pubdata, as L1 reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// `0x01 · account · packed key · amount`.
    Deposit {
        /// Account credited.
        account: u32,
        /// circomlib-packed public key (y little-endian, sign of x in the top bit).
        packed_key: [u8; 32],
        /// Amount credited.
        amount: u64,
    },
    /// `0x02 · from · to · amount · fee`.
    Transfer {
        /// Sender.
        from: u32,
        /// Recipient.
        to: u32,
        /// Amount moved.
        amount: u64,
        /// Fee.
        fee: u64,
    },
    /// `0x03 · from · recipient · amount · fee`.
    Withdraw {
        /// Account debited.
        from: u32,
        /// L1 recipient.
        recipient: [u8; 20],
        /// Amount withdrawn.
        amount: u64,
        /// Fee.
        fee: u64,
    },
}

/// `type | a << 8 | b << 40 | fee << 72 | amount << 104` (amount < 2^56, so below 2^160).
fn first_word(tx_type: u8, a: u32, b: u32, fee: u64, amount: u64) -> Fr {
    let low = tx_type as u128 | (a as u128) << 8 | (b as u128) << 40;
    // fee occupies bits 72..104 and amount 104..160: split across the two 64-bit limbs above.
    let fee_amount = fee as u128 | (amount as u128) << 32;
    let limbs = [
        low as u64,
        (low >> 64) as u64 | (fee_amount << 8) as u64,
        (fee_amount >> 56) as u64,
        0,
    ];
    Fr::from(ark_ff::BigInt::new(limbs))
}

fn address_word(bytes: &[u8; 20]) -> Fr {
    Fr::from_be_bytes_mod_order(bytes)
}

impl Record {
    /// The record's four words in the transaction commitment: the first word, the
    /// withdrawal's recipient, the deposit's key x and y (0 where a type has none).
    pub fn words(&self, offset: usize) -> Result<[Fr; 4], PubdataError> {
        let zero = Fr::from(0u64);
        Ok(match self {
            Record::Deposit {
                account,
                packed_key,
                amount,
            } => {
                let key = Point::unpack(packed_key).ok_or(PubdataError::BadKey { offset })?;
                [
                    first_word(TX_TYPE_DEPOSIT, *account, 0, 0, *amount),
                    zero,
                    key.x,
                    key.y,
                ]
            }
            Record::Transfer {
                from,
                to,
                amount,
                fee,
            } => [
                first_word(TX_TYPE_TRANSFER, *from, *to, *fee, *amount),
                zero,
                zero,
                zero,
            ],
            Record::Withdraw {
                from,
                recipient,
                amount,
                fee,
            } => [
                first_word(TX_TYPE_WITHDRAW, *from, 0, *fee, *amount),
                address_word(recipient),
                zero,
                zero,
            ],
        })
    }
}

/// The commitment words of an executed transaction (`None` for a fee settlement, which has
/// no pubdata and is not committed).
pub fn tx_words(tx: &Tx) -> Option<[Fr; 4]> {
    let zero = Fr::from(0u64);
    match tx {
        Tx::Deposit(d) => Some([
            first_word(TX_TYPE_DEPOSIT, d.account, 0, 0, d.amount),
            zero,
            d.public_key.0.x,
            d.public_key.0.y,
        ]),
        Tx::Transfer(t) => Some([
            first_word(TX_TYPE_TRANSFER, t.from, t.to, t.fee, t.amount),
            zero,
            zero,
            zero,
        ]),
        Tx::Withdraw(w) => Some([
            first_word(TX_TYPE_WITHDRAW, w.from, 0, w.fee, w.amount),
            w.recipient.to_field(),
            zero,
            zero,
        ]),
        Tx::SettleFees(_) => None,
    }
}

fn be_u64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |acc, b| acc << 8 | *b as u64)
}

/// Splits a batch's pubdata into its records (docs/protocol.md, "Pubdata").
pub fn parse(bytes: &[u8]) -> Result<Vec<Record>, PubdataError> {
    let mut records = Vec::new();
    let mut offset = 0;
    while offset < bytes.len() {
        let tx_type = bytes[offset];
        let len = match tx_type {
            TX_TYPE_DEPOSIT => DEPOSIT_PUBDATA_LEN,
            TX_TYPE_TRANSFER => TRANSFER_PUBDATA_LEN,
            TX_TYPE_WITHDRAW => WITHDRAW_PUBDATA_LEN,
            byte => return Err(PubdataError::UnknownType { offset, byte }),
        };
        let Some(r) = bytes.get(offset..offset + len) else {
            return Err(PubdataError::Truncated {
                offset,
                need: len,
                left: bytes.len() - offset,
            });
        };
        let u32_at = |i: usize| be_u64(&r[i..i + 4]) as u32;
        records.push(match tx_type {
            TX_TYPE_DEPOSIT => Record::Deposit {
                account: u32_at(1),
                packed_key: r[5..37].try_into().expect("32 bytes"),
                amount: be_u64(&r[37..44]),
            },
            TX_TYPE_TRANSFER => Record::Transfer {
                from: u32_at(1),
                to: u32_at(5),
                amount: be_u64(&r[9..16]),
                fee: be_u64(&r[16..20]),
            },
            _ => Record::Withdraw {
                from: u32_at(1),
                recipient: r[5..25].try_into().expect("20 bytes"),
                amount: be_u64(&r[25..32]),
                fee: be_u64(&r[32..36]),
            },
        });
        offset += len;
    }
    Ok(records)
}

/// The words of every record of `bytes`, in order.
pub fn pubdata_words(bytes: &[u8]) -> Result<Vec<[Fr; 4]>, PubdataError> {
    let mut offset = 0;
    parse(bytes)?
        .iter()
        .map(|record| {
            let words = record.words(offset);
            offset += match record {
                Record::Deposit { .. } => DEPOSIT_PUBDATA_LEN,
                Record::Transfer { .. } => TRANSFER_PUBDATA_LEN,
                Record::Withdraw { .. } => WITHDRAW_PUBDATA_LEN,
            };
            words
        })
        .collect()
}

/// A field element as a 32-byte big-endian word (the EVM's encoding).
pub fn word_bytes(x: &Fr) -> [u8; 32] {
    let bytes = x.into_bigint().to_bytes_be();
    bytes.try_into().expect("32 bytes")
}

/// `keccak256(commitment · pubdata) mod r`, the commitment a 32-byte big-endian word followed
/// by the pubdata bytes as L1 receives them: the point at which L1 and the circuits evaluate
/// the batch's words.
pub fn evaluation_point(commitment: Fr, pubdata: &[u8]) -> Fr {
    let mut hasher = Keccak256::new();
    hasher.update(word_bytes(&commitment));
    hasher.update(pubdata);
    Fr::from_be_bytes_mod_order(&hasher.finalize())
}

/// Continues the evaluation `acc` over `words` at `z` (Horner: `acc = acc * z + w`).
pub fn continue_evaluation(acc: Fr, z: Fr, words: &[[Fr; 4]]) -> Fr {
    words.iter().flatten().fold(acc, |acc, w| acc * z + w)
}

/// The polynomial `z^(4n) + w_1 z^(4n-1) + ... + w_4n` at `z`: Horner from a leading 1, so
/// the value also fixes the number of words (leading zero words would otherwise vanish).
pub fn evaluate(z: Fr, words: &[[Fr; 4]]) -> Fr {
    continue_evaluation(Fr::from(1u64), z, words)
}

/// What the final proof exposes about the pubdata: the point and the value there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Binding {
    /// The evaluation point `z`.
    pub point: Fr,
    /// The words' polynomial at `z`.
    pub value: Fr,
}

/// The binding of a batch with transaction commitment `commitment`, pubdata `pubdata`, and
/// `words` the words of its records (as [`pubdata_words`] parses them from `pubdata`, or the
/// transactions' [`tx_words`]).
pub fn binding(commitment: Fr, pubdata: &[u8], words: &[[Fr; 4]]) -> Binding {
    let point = evaluation_point(commitment, pubdata);
    Binding {
        point,
        value: evaluate(point, words),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eddsa::PublicKey;
    use crate::tx::{Deposit, L1Address, Transfer, Withdraw};
    use ark_ff::Field;

    fn sig() -> crate::eddsa::Signature {
        crate::eddsa::Signature {
            r8: Point::base8(),
            s: Default::default(),
        }
    }

    fn sample() -> Vec<Tx> {
        let key = PublicKey(crate::babyjubjub::mul_base8(&[12345, 0, 0, 0]));
        vec![
            Tx::Deposit(Deposit {
                account: 7,
                public_key: key,
                amount: (1 << 56) - 1,
            }),
            Tx::Transfer(Transfer {
                from: 7,
                to: u32::MAX,
                amount: 5,
                fee: u32::MAX as u64,
                nonce: 0,
                signature: sig(),
            }),
            Tx::Withdraw(Withdraw {
                from: 7,
                amount: 3,
                fee: 1,
                nonce: 1,
                recipient: L1Address([0xab; 20]),
                signature: sig(),
            }),
        ]
    }

    #[test]
    fn parsed_words_equal_the_transactions_words() {
        let txs = sample();
        let mut bytes = Vec::new();
        for tx in &txs {
            tx.write_pubdata(&mut bytes);
        }
        let from_txs: Vec<[Fr; 4]> = txs.iter().filter_map(tx_words).collect();
        assert_eq!(pubdata_words(&bytes).expect("parses"), from_txs);
    }

    #[test]
    fn first_word_packs_every_field_at_its_shift() {
        let (a, b, fee, amount) = (
            0x0102_0304u32,
            0x0506_0708u32,
            0x090a_0b0cu64,
            (1u64 << 56) - 3,
        );
        let two = Fr::from(2u64);
        let expected = Fr::from(3u64)
            + Fr::from(a as u64) * two.pow([8])
            + Fr::from(b as u64) * two.pow([40])
            + Fr::from(fee) * two.pow([72])
            + Fr::from(amount) * two.pow([104]);
        assert_eq!(first_word(3, a, b, fee, amount), expected);
    }

    #[test]
    fn malformed_pubdata_is_an_error_naming_the_offset() {
        let mut bytes = Vec::new();
        sample()[1].write_pubdata(&mut bytes);
        let whole = bytes.len();
        bytes.push(9);
        assert_eq!(
            parse(&bytes),
            Err(PubdataError::UnknownType {
                offset: whole,
                byte: 9
            })
        );
        bytes.pop();
        bytes.pop();
        assert_eq!(
            parse(&bytes),
            Err(PubdataError::Truncated {
                offset: 0,
                need: TRANSFER_PUBDATA_LEN,
                left: TRANSFER_PUBDATA_LEN - 1
            })
        );
        let mut deposit = Vec::new();
        sample()[0].write_pubdata(&mut deposit);
        // y >= r after the sign bit is cleared: not a key.
        let mut bad = deposit.clone();
        bad[5..37].copy_from_slice(&[0xff; 32]);
        assert_eq!(pubdata_words(&bad), Err(PubdataError::BadKey { offset: 0 }));
    }

    #[test]
    fn the_evaluation_changes_with_any_byte_word_and_with_the_count() {
        let txs = sample();
        let words: Vec<[Fr; 4]> = txs.iter().filter_map(tx_words).collect();
        let mut bytes = Vec::new();
        for tx in &txs {
            tx.write_pubdata(&mut bytes);
        }
        let c = Fr::from(77u64);
        let b = binding(c, &bytes, &words);
        assert_eq!(b.value, evaluate(b.point, &words));
        for i in 0..bytes.len() {
            let mut other = bytes.clone();
            other[i] ^= 1;
            assert_ne!(evaluation_point(c, &other), b.point, "byte {i}");
        }
        for i in 0..words.len() {
            for j in 0..4 {
                let mut other = words.clone();
                other[i][j] += Fr::from(1u64);
                assert_ne!(evaluate(b.point, &other), b.value, "word {i}.{j}");
            }
        }
        // A leading all-zero transaction is not invisible.
        let mut longer = vec![[Fr::from(0u64); 4]];
        longer.extend(words.iter().copied());
        assert_ne!(evaluate(b.point, &longer), b.value);
        // Another commitment moves the point.
        assert_ne!(evaluation_point(Fr::from(78u64), &bytes), b.point);
        // Chunk by chunk is the same as at once.
        let (head, tail) = words.split_at(1);
        let acc = continue_evaluation(Fr::from(1u64), b.point, head);
        assert_eq!(continue_evaluation(acc, b.point, tail), b.value);
    }
}
