//! `zkroll wallet`: key pairs (compatible with `@zk-kit/eddsa-poseidon`) and signing.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use zkroll_engine::eddsa::{PrivateKey, PublicKey, Signature};
use zkroll_engine::tx::{L1Address, Transfer, Tx, Withdraw};

use crate::files::{read_json, write_json};
use crate::output::outln;

#[derive(Subcommand)]
pub enum WalletCommand {
    /// Create a key pair and write it to a file.
    New {
        /// Output file (JSON; holds the private key).
        #[arg(long)]
        out: PathBuf,
        /// Private key as 64 hex digits instead of a random one.
        #[arg(long)]
        private_key: Option<String>,
    },
    /// Sign an unsigned transfer or withdrawal.
    Sign {
        /// Wallet file written by `wallet new`.
        #[arg(long)]
        key: PathBuf,
        /// Unsigned transaction JSON: {"transfer": {from, to, amount, fee, nonce}} or
        /// {"withdraw": {from, amount, fee, nonce, recipient}}.
        #[arg(long)]
        tx: PathBuf,
        /// Chain id the signature is for.
        #[arg(long, default_value_t = 1)]
        chain_id: u32,
        /// Output file for the signed transaction (stdout if absent).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// A wallet file.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WalletFile {
    /// Private key, 64 hex digits (the bytes zk-kit's `derivePublicKey` takes).
    pub private_key: String,
    /// Public key.
    pub public_key: PublicKey,
}

impl WalletFile {
    pub fn new(key: &PrivateKey) -> Self {
        Self {
            private_key: hex::encode(key.to_bytes()),
            public_key: key.public_key(),
        }
    }

    /// Loads a wallet file and checks the public key matches the private key.
    pub fn load(path: &std::path::Path) -> Result<(PrivateKey, PublicKey)> {
        let file: WalletFile = read_json(path)?;
        let key = parse_private_key(&file.private_key)
            .with_context(|| format!("{}: field private_key", path.display()))?;
        if key.public_key() != file.public_key {
            bail!(
                "{}: field public_key does not belong to private_key",
                path.display()
            );
        }
        Ok((key, file.public_key))
    }
}

fn parse_private_key(text: &str) -> Result<PrivateKey> {
    let bytes = hex::decode(text.trim_start_matches("0x")).context("not hex")?;
    let bytes: [u8; 32] = bytes
        .try_into()
        .map_err(|b: Vec<u8>| anyhow::anyhow!("{} bytes, expected 32", b.len()))?;
    Ok(PrivateKey::from_bytes(bytes))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UnsignedTransfer {
    from: u32,
    to: u32,
    amount: u64,
    fee: u64,
    nonce: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UnsignedWithdraw {
    from: u32,
    amount: u64,
    fee: u64,
    nonce: u32,
    recipient: L1Address,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum UnsignedTx {
    Transfer(UnsignedTransfer),
    Withdraw(UnsignedWithdraw),
}

fn placeholder_signature() -> Signature {
    Signature {
        r8: zkroll_engine::babyjubjub::Point::identity(),
        s: Default::default(),
    }
}

pub fn run(cmd: WalletCommand) -> Result<ExitCode> {
    match cmd {
        WalletCommand::New { out, private_key } => {
            let key = match private_key {
                Some(text) => parse_private_key(&text).context("--private-key")?,
                None => {
                    let mut bytes = [0u8; 32];
                    rand::rngs::OsRng.fill_bytes(&mut bytes);
                    PrivateKey::from_bytes(bytes)
                }
            };
            let file = WalletFile::new(&key);
            write_json(&out, &file)?;
            outln!(
                "wrote {} (public key x={} y={})",
                out.display(),
                zkroll_engine::field::to_hex(&file.public_key.0.x),
                zkroll_engine::field::to_hex(&file.public_key.0.y)
            );
        }
        WalletCommand::Sign {
            key,
            tx,
            chain_id,
            out,
        } => {
            let (private_key, public_key) = WalletFile::load(&key)?;
            let unsigned: UnsignedTx = read_json(&tx)?;
            let signed = match unsigned {
                UnsignedTx::Transfer(u) => {
                    let mut t = Transfer {
                        from: u.from,
                        to: u.to,
                        amount: u.amount,
                        fee: u.fee,
                        nonce: u.nonce,
                        signature: placeholder_signature(),
                    };
                    t.signature = private_key.sign(t.message(chain_id));
                    debug_assert!(public_key.verify(t.message(chain_id), &t.signature).is_ok());
                    Tx::Transfer(t)
                }
                UnsignedTx::Withdraw(u) => {
                    let mut w = Withdraw {
                        from: u.from,
                        amount: u.amount,
                        fee: u.fee,
                        nonce: u.nonce,
                        recipient: u.recipient,
                        signature: placeholder_signature(),
                    };
                    w.signature = private_key.sign(w.message(chain_id));
                    Tx::Withdraw(w)
                }
            };
            match out {
                Some(path) => {
                    write_json(&path, &signed)?;
                    outln!("wrote {}", path.display());
                }
                None => outln!("{}", serde_json::to_string_pretty(&signed)?),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
