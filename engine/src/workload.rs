//! Deterministic random workloads: funded accounts with their keys and a stream of valid
//! signed transactions (optionally salted with invalid ones). Used by the demo, the tests and
//! the benchmarks.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha20Rng;

use crate::account::Account;
use crate::eddsa::{PrivateKey, PublicKey};
use crate::rules::ChainConfig;
use crate::store::{Genesis, GenesisAccount};
use crate::tx::{Deposit, L1Address, L1Deposit, Transfer, Tx, Withdraw};

/// A key pair and what the workload knows of its account.
#[derive(Debug, Clone)]
pub struct Wallet {
    /// Account index.
    pub index: u32,
    /// Private key.
    pub key: PrivateKey,
    /// Public key.
    pub public_key: PublicKey,
    /// Expected balance.
    pub balance: u64,
    /// Next nonce.
    pub nonce: u32,
    /// Whether the account exists yet.
    pub exists: bool,
}

/// A generator of valid transactions that tracks the state it implies.
#[derive(Debug)]
pub struct Workload {
    rng: ChaCha20Rng,
    /// Chain parameters.
    pub config: ChainConfig,
    /// The operator's key.
    pub operator: Wallet,
    /// User wallets, account indices `1..=n` (the operator is account 0).
    pub wallets: Vec<Wallet>,
    /// The L1 address every withdrawal pays (a random one per withdrawal when `None`): an
    /// address whose L1 key the demo holds, so that it can claim them.
    pub withdraw_to: Option<L1Address>,
}

impl Workload {
    /// `users` wallets with keys derived from `seed`; none of them exists yet.
    pub fn new(seed: u64, users: u32, chain_id: u32, depth: u8) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let mut wallet = |index: u32| {
            let key = PrivateKey::from_bytes(rng.gen());
            Wallet {
                index,
                public_key: key.public_key(),
                key,
                balance: 0,
                nonce: 0,
                exists: false,
            }
        };
        let mut operator = wallet(0);
        operator.exists = true;
        let wallets = (1..=users).map(&mut wallet).collect();
        Self {
            rng,
            config: ChainConfig {
                chain_id,
                depth,
                operator: 0,
            },
            operator,
            wallets,
            withdraw_to: None,
        }
    }

    /// Genesis with only the operator account.
    pub fn genesis(&self) -> Genesis {
        Genesis {
            config: self.config,
            operator_key: self.operator.public_key,
            accounts: vec![],
        }
    }

    /// Genesis where every user already exists with `balance`.
    pub fn funded_genesis(&mut self, balance: u64) -> Genesis {
        let accounts = self
            .wallets
            .iter_mut()
            .map(|w| {
                w.exists = true;
                w.balance = balance;
                GenesisAccount {
                    index: w.index,
                    account: Account {
                        public_key: w.public_key,
                        balance,
                        nonce: 0,
                    },
                }
            })
            .collect();
        Genesis {
            accounts,
            ..self.genesis()
        }
    }

    /// A deposit of `amount` to user `i` (creating the account if needed).
    pub fn deposit(&mut self, i: usize, amount: u64) -> Tx {
        let w = &mut self.wallets[i];
        w.exists = true;
        w.balance += amount;
        Tx::Deposit(Deposit {
            account: w.index,
            public_key: w.public_key,
            amount,
        })
    }

    /// A signed transfer from user `from` to user `to`.
    pub fn transfer(&mut self, from: usize, to: usize, amount: u64, fee: u64) -> Tx {
        let chain_id = self.config.chain_id;
        let (index_to, sender) = (self.wallets[to].index, &mut self.wallets[from]);
        let mut t = Transfer {
            from: sender.index,
            to: index_to,
            amount,
            fee,
            nonce: sender.nonce,
            signature: crate::eddsa::Signature {
                r8: crate::babyjubjub::Point::identity(),
                s: Default::default(),
            },
        };
        t.signature = sender.key.sign(t.message(chain_id));
        sender.nonce += 1;
        sender.balance -= amount + fee;
        self.wallets[to].balance += amount;
        self.operator.balance += fee;
        Tx::Transfer(t)
    }

    /// A signed withdrawal from user `from`.
    pub fn withdraw(&mut self, from: usize, amount: u64, fee: u64) -> Tx {
        let chain_id = self.config.chain_id;
        // Drawn either way, so the rest of the workload does not depend on `withdraw_to`.
        let random = L1Address(self.rng.gen());
        let recipient = self.withdraw_to.unwrap_or(random);
        let sender = &mut self.wallets[from];
        let mut w = Withdraw {
            from: sender.index,
            amount,
            fee,
            nonce: sender.nonce,
            recipient,
            signature: crate::eddsa::Signature {
                r8: crate::babyjubjub::Point::identity(),
                s: Default::default(),
            },
        };
        w.signature = sender.key.sign(w.message(chain_id));
        sender.nonce += 1;
        sender.balance -= amount + fee;
        self.operator.balance += fee;
        Tx::Withdraw(w)
    }

    /// `count` random valid transactions: deposits to users that do not exist yet come first
    /// when needed, then ~85% transfers, ~10% withdrawals, ~5% deposits.
    pub fn random_batch(&mut self, count: usize) -> Vec<Tx> {
        let mut txs = Vec::with_capacity(count);
        while txs.len() < count {
            let i = self.rng.gen_range(0..self.wallets.len());
            if !self.wallets[i].exists || self.wallets[i].balance < 1_000 {
                let amount = self.rng.gen_range(10_000..1_000_000);
                txs.push(self.deposit(i, amount));
                continue;
            }
            let roll: u32 = self.rng.gen_range(0..100);
            let balance = self.wallets[i].balance;
            let fee = self.rng.gen_range(0..10);
            let amount = self.rng.gen_range(1..=(balance - fee) / 4);
            if roll < 85 {
                let mut j = self.rng.gen_range(0..self.wallets.len());
                if !self.wallets[j].exists {
                    j = i;
                }
                txs.push(self.transfer(i, j, amount, fee));
            } else if roll < 95 {
                txs.push(self.withdraw(i, amount, fee));
            } else {
                let amount = self.rng.gen_range(1..100_000);
                txs.push(self.deposit(i, amount));
            }
        }
        txs
    }

    /// `count` random transfers between existing users (amounts and fees small enough that
    /// funded accounts never run dry).
    pub fn random_transfers(&mut self, count: usize) -> Vec<Tx> {
        let live: Vec<usize> = (0..self.wallets.len())
            .filter(|i| self.wallets[*i].exists)
            .collect();
        (0..count)
            .map(|_| {
                let from = live[self.rng.gen_range(0..live.len())];
                let to = live[self.rng.gen_range(0..live.len())];
                let fee = self.rng.gen_range(0..10);
                let amount = self.rng.gen_range(1..1_000);
                self.transfer(from, to, amount, fee)
            })
            .collect()
    }

    /// A transaction that breaks a rule, valid in every other respect at the end of the
    /// stream generated so far: `kind % 4` picks a bad nonce, a bad signature, an overspend or
    /// an unknown recipient. The workload's view of the state is left unchanged.
    pub fn invalid_tx(&mut self, kind: usize) -> Tx {
        let i = self
            .wallets
            .iter()
            .position(|w| w.exists)
            .unwrap_or_default();
        let snapshot = (self.wallets[i].clone(), self.operator.balance);
        let balance = self.wallets[i].balance;
        let tx = match kind % 4 {
            0 => {
                self.wallets[i].nonce += 7;
                self.transfer(i, i, 1, 0)
            }
            1 => {
                let Tx::Transfer(mut t) = self.transfer(i, i, 1, 0) else {
                    unreachable!("transfer builds a transfer")
                };
                t.amount += 1;
                Tx::Transfer(t)
            }
            2 => {
                self.wallets[i].balance = u64::MAX / 2;
                self.transfer(
                    i,
                    i,
                    balance.saturating_add(1).min(crate::account::MAX_AMOUNT),
                    0,
                )
            }
            _ => {
                let Tx::Transfer(mut t) = self.transfer(i, i, 1, 0) else {
                    unreachable!("transfer builds a transfer")
                };
                t.to = (1u32 << self.config.depth) - 1;
                t.signature = self.wallets[i].key.sign(t.message(self.config.chain_id));
                Tx::Transfer(t)
            }
        };
        self.wallets[i] = snapshot.0;
        self.operator.balance = snapshot.1;
        tx
    }
}

/// Splits `txs` into what its users queue on L1 (the deposits, as queue entries numbered from
/// `first_index`, in order) and what they send the operator (the rest, in order). Executed
/// with [`crate::execute_batch_with_l1`], the deposits come first: moving a deposit earlier
/// only credits an account sooner, so every transaction valid in `txs` stays valid.
pub fn split_l1_deposits(txs: Vec<Tx>, first_index: u64) -> (Vec<L1Deposit>, Vec<Tx>) {
    let mut queue = Vec::new();
    let mut rest = Vec::with_capacity(txs.len());
    for tx in txs {
        match tx {
            Tx::Deposit(d) => queue.push(L1Deposit {
                index: first_index + queue.len() as u64,
                account: d.account,
                public_key: d.public_key,
                amount: d.amount,
            }),
            other => rest.push(other),
        }
    }
    (queue, rest)
}
