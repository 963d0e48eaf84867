//! Exits in exodus mode: what an account holder gives L1 to take its balance out of the last
//! verified state when the operator has stopped (`Rollup.exit`, docs/protocol.md "Exodus").
//!
//! An [`ExitClaim`] is the account's leaf `(key, balance, nonce)`, its Merkle path in the
//! state tree, the L1 address to pay, and the account key's EdDSA-Poseidon signature on
//! [`exit_message`]. L1 recomputes the leaf and the path up to its `stateRoot`, checks the
//! signature, and credits the balance to the recipient once per account.

use serde::{Deserialize, Serialize};

use crate::account::Account;
use crate::eddsa::{PrivateKey, PublicKey, Signature, SignatureError};
use crate::error::EngineError;
use crate::field::{self, Fr};
use crate::poseidon;
use crate::smt;
use crate::store::StateDb;
use crate::tx::L1Address;

/// The first input of an exit message, `"exit"` in ASCII: an exit message is a width-6
/// Poseidon hash starting with it, which no transaction message (a width-3 hash) can equal.
pub const EXIT_DOMAIN: u64 = 0x6578_6974;

/// The field element an account key signs to authorise its exit from the rollup contract
/// `rollup` on the L1 chain `l1_chain_id`, paid to `recipient`:
/// `Poseidon(EXIT_DOMAIN, l1_chain_id, rollup, account, recipient)` (addresses as 160-bit
/// integers). Binding the chain and the contract keeps a signature from being replayed on
/// another deployment.
pub fn exit_message(
    l1_chain_id: u64,
    rollup: &L1Address,
    account: u32,
    recipient: &L1Address,
) -> Fr {
    poseidon::hash(&[
        Fr::from(EXIT_DOMAIN),
        Fr::from(l1_chain_id),
        rollup.to_field(),
        Fr::from(account),
        recipient.to_field(),
    ])
}

/// Everything `Rollup.exit` takes for one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExitClaim {
    /// The account's index.
    pub account: u32,
    /// Its leaf: key, balance and nonce in the state the claim was made from.
    #[serde(flatten)]
    pub leaf: Account,
    /// The Merkle siblings of the leaf, from the leaf level up.
    #[serde(with = "field::serde_field_vec")]
    pub siblings: Vec<Fr>,
    /// Who is paid on L1.
    pub recipient: L1Address,
    /// The account key's signature on [`exit_message`].
    pub signature: Signature,
}

impl ExitClaim {
    /// The claim for `account` in `db`'s current state, signed with `key` for `recipient` on
    /// the rollup contract `rollup` of L1 chain `l1_chain_id`. Its [`root`](Self::root) is
    /// `db`'s root: L1 accepts it only if that is the last verified root.
    pub fn prepare(
        db: &StateDb,
        account: u32,
        key: &PrivateKey,
        recipient: L1Address,
        l1_chain_id: u64,
        rollup: &L1Address,
    ) -> Result<Self, EngineError> {
        let depth = db.config().depth;
        if u64::from(account) >> depth != 0 {
            return Err(EngineError::NoAccountToExit { account });
        }
        let leaf = db
            .account(account)?
            .ok_or(EngineError::NoAccountToExit { account })?;
        if key.public_key() != leaf.public_key {
            return Err(EngineError::NotTheAccountKey { account });
        }
        let message = exit_message(l1_chain_id, rollup, account, &recipient);
        Ok(Self {
            account,
            leaf,
            siblings: db.siblings(account)?,
            recipient,
            signature: key.sign(message),
        })
    }

    /// The root the leaf and the path hash to.
    pub fn root(&self) -> Fr {
        smt::root_from_path(self.leaf.leaf(), self.account, &self.siblings)
    }

    /// Whether the signature authorises this exit on `rollup` of chain `l1_chain_id` (what
    /// L1 checks besides the path).
    pub fn verify_signature(
        &self,
        l1_chain_id: u64,
        rollup: &L1Address,
    ) -> Result<(), SignatureError> {
        let message = exit_message(l1_chain_id, rollup, self.account, &self.recipient);
        PublicKey::verify(&self.leaf.public_key, message, &self.signature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Genesis, GenesisAccount};

    #[test]
    fn a_claim_hashes_to_the_state_root_and_is_signed_for_its_recipient() {
        let dir = tempfile::tempdir().expect("tempdir");
        let owner = PrivateKey::from_bytes([7; 32]);
        let account = |key: &PrivateKey, balance, nonce| Account {
            public_key: key.public_key(),
            balance,
            nonce,
        };
        let genesis = Genesis {
            config: crate::ChainConfig {
                chain_id: 9,
                depth: 8,
                operator: 0,
            },
            operator_key: PrivateKey::from_bytes([6; 32]).public_key(),
            accounts: vec![
                GenesisAccount {
                    index: 3,
                    account: account(&owner, 1000, 2),
                },
                GenesisAccount {
                    index: 200,
                    account: account(&PrivateKey::from_bytes([8; 32]), 5, 0),
                },
            ],
        };
        let db = StateDb::init(dir.path(), &genesis).expect("init");
        let rollup = L1Address([0x11; 20]);
        let to = L1Address([0x22; 20]);
        let claim = ExitClaim::prepare(&db, 3, &owner, to, 1337, &rollup).expect("claim");
        assert_eq!(claim.root(), db.root());
        assert_eq!(claim.leaf.balance, 1000);
        assert_eq!(claim.verify_signature(1337, &rollup), Ok(()));
        assert!(claim.verify_signature(1, &rollup).is_err(), "another chain");
        assert!(
            claim.verify_signature(1337, &to).is_err(),
            "another contract"
        );
        let mut redirected = claim.clone();
        redirected.recipient = L1Address([0x33; 20]);
        assert!(redirected.verify_signature(1337, &rollup).is_err());
        let mut richer = claim.clone();
        richer.leaf.balance += 1;
        assert_ne!(richer.root(), db.root());
        let json = serde_json::to_string(&claim).expect("json");
        assert_eq!(
            serde_json::from_str::<ExitClaim>(&json).expect("parse"),
            claim
        );

        assert!(matches!(
            ExitClaim::prepare(&db, 4, &owner, to, 1337, &rollup),
            Err(EngineError::NoAccountToExit { account: 4 })
        ));
        assert!(matches!(
            ExitClaim::prepare(&db, 200, &owner, to, 1337, &rollup),
            Err(EngineError::NotTheAccountKey { account: 200 })
        ));
        assert!(matches!(
            ExitClaim::prepare(&db, 256, &owner, to, 1337, &rollup),
            Err(EngineError::NoAccountToExit { account: 256 })
        ));
    }
}
