//! The account state in RocksDB: accounts, the non-empty nodes of the sparse Merkle tree,
//! the chain configuration, and per batch its trace and withdrawals.
//!
//! Every batch is committed with one synced `WriteBatch`, so a crash at any moment leaves the
//! state of the last committed batch: never a half-applied one.
//!
//! Keys: `m/config`, `m/root`, `m/batches`, `m/l1_deposits` (metadata; the last, L1 queue
//! entries consumed, absent until a batch consumes one); `a/<index u32 BE>` (accounts);
//! `n/<level u8><node index u32 BE>` (tree nodes that differ from the empty subtree);
//! `t/<batch u64 BE>` (binary trace); `w/<batch u64 BE><seq u32 BE>` (withdrawals).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rocksdb::{Options, WriteBatch, WriteOptions, DB};
use serde::{Deserialize, Serialize};

use crate::account::Account;
use crate::eddsa::PublicKey;
use crate::error::EngineError;
use crate::field::{self, Fr};
use crate::rules::{self, ChainConfig};
use crate::smt;
use crate::tx::L1Address;

const KEY_CONFIG: &[u8] = b"m/config";
const KEY_ROOT: &[u8] = b"m/root";
const KEY_BATCHES: &[u8] = b"m/batches";
const KEY_L1_DEPOSITS: &[u8] = b"m/l1_deposits";

fn account_key(index: u32) -> [u8; 6] {
    let mut k = [b'a', b'/', 0, 0, 0, 0];
    k[2..].copy_from_slice(&index.to_be_bytes());
    k
}

fn node_key(level: u8, index: u32) -> [u8; 7] {
    let mut k = [b'n', b'/', level, 0, 0, 0, 0];
    k[3..].copy_from_slice(&index.to_be_bytes());
    k
}

fn trace_key(batch: u64) -> [u8; 10] {
    let mut k = [0u8; 10];
    k[..2].copy_from_slice(b"t/");
    k[2..].copy_from_slice(&batch.to_be_bytes());
    k
}

fn withdrawal_key(batch: u64, seq: u32) -> [u8; 14] {
    let mut k = [0u8; 14];
    k[..2].copy_from_slice(b"w/");
    k[2..10].copy_from_slice(&batch.to_be_bytes());
    k[10..].copy_from_slice(&seq.to_be_bytes());
    k
}

/// A withdrawal recorded for L1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WithdrawalRecord {
    /// Account debited.
    pub account: u32,
    /// L1 address that may claim it.
    pub recipient: L1Address,
    /// Amount.
    pub amount: u64,
}

/// An account placed at genesis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisAccount {
    /// Index in the tree.
    pub index: u32,
    /// The account.
    #[serde(flatten)]
    pub account: Account,
}

/// The initial state: configuration, operator key, and optional pre-funded accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Genesis {
    /// Chain parameters.
    pub config: ChainConfig,
    /// Key of the operator account (created at `config.operator` with balance 0 unless listed).
    pub operator_key: PublicKey,
    /// Pre-funded accounts.
    #[serde(default)]
    pub accounts: Vec<GenesisAccount>,
}

/// Everything a batch changes, applied in one atomic write.
#[derive(Debug, Default)]
pub struct StateChanges {
    /// Accounts written.
    pub accounts: HashMap<u32, Account>,
    /// Tree nodes written, keyed by (level, node index).
    pub nodes: HashMap<(u8, u32), Fr>,
    /// The new root.
    pub root: Fr,
    /// The batch's binary trace.
    pub trace: Vec<u8>,
    /// The batch's withdrawals.
    pub withdrawals: Vec<WithdrawalRecord>,
    /// L1 queue entries consumed after the batch, when it takes its deposits from L1.
    pub l1_deposits: Option<u64>,
}

/// The state database in a data directory.
pub struct StateDb {
    db: DB,
    path: PathBuf,
    config: ChainConfig,
    root: Fr,
    batches: u64,
    l1_deposits: u64,
}

impl std::fmt::Debug for StateDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StateDb")
            .field("path", &self.path)
            .field("root", &field::to_hex(&self.root))
            .field("batches", &self.batches)
            .finish()
    }
}

impl StateDb {
    fn db_err(&self, source: rocksdb::Error) -> EngineError {
        EngineError::Db {
            path: self.path.display().to_string(),
            source,
        }
    }

    fn corrupt(&self, key: &[u8], detail: impl std::fmt::Display) -> EngineError {
        EngineError::Corrupt {
            path: self.path.display().to_string(),
            key: String::from_utf8_lossy(key).into_owned(),
            detail: detail.to_string(),
        }
    }

    /// Opens RocksDB in `path` (creating it when `create`), with the metadata not read yet.
    fn open_raw(path: &Path, create: bool, config: ChainConfig) -> Result<Self, EngineError> {
        let mut opts = Options::default();
        opts.create_if_missing(create);
        opts.set_compression_type(rocksdb::DBCompressionType::Lz4);
        let db = DB::open(&opts, path).map_err(|source| EngineError::Db {
            path: path.display().to_string(),
            source,
        })?;
        Ok(Self {
            db,
            path: path.to_path_buf(),
            config,
            root: smt::empty_hashes()[config.depth as usize],
            batches: 0,
            l1_deposits: 0,
        })
    }

    /// Creates the genesis state in `path`, which must not already hold one.
    pub fn init(path: &Path, genesis: &Genesis) -> Result<Self, EngineError> {
        let config = genesis.config;
        config.validate().map_err(EngineError::Genesis)?;
        let mut accounts: HashMap<u32, Account> = HashMap::new();
        accounts.insert(
            config.operator,
            Account {
                public_key: genesis.operator_key,
                balance: 0,
                nonce: 0,
            },
        );
        for entry in &genesis.accounts {
            accounts.insert(entry.index, entry.account);
        }
        for (index, account) in &accounts {
            if (*index as u64) >= config.capacity() {
                return Err(EngineError::Genesis(format!(
                    "account {index} outside a tree of depth {}",
                    config.depth
                )));
            }
            if !rules::is_usable_key(&account.public_key) {
                return Err(EngineError::Genesis(format!(
                    "account {index}: public key off the curve or of small order"
                )));
            }
        }
        if path.join("CURRENT").exists() {
            return Err(EngineError::AlreadyInitialised(path.display().to_string()));
        }
        let mut state = Self::open_raw(path, true, config)?;
        if state
            .db
            .get(KEY_CONFIG)
            .map_err(|e| state.db_err(e))?
            .is_some()
        {
            return Err(EngineError::AlreadyInitialised(path.display().to_string()));
        }
        let nodes = build_tree(config.depth, &accounts);
        let root = nodes
            .get(&(config.depth, 0))
            .copied()
            .unwrap_or(smt::empty_hashes()[config.depth as usize]);
        let mut batch = WriteBatch::default();
        let config_bytes =
            postcard::to_stdvec(&config).map_err(|e| EngineError::Genesis(e.to_string()))?;
        batch.put(KEY_CONFIG, config_bytes);
        state.stage(
            &mut batch,
            &StateChanges {
                accounts,
                nodes,
                root,
                ..Default::default()
            },
        )?;
        batch.put(KEY_BATCHES, 0u64.to_be_bytes());
        state.write(batch)?;
        state.root = root;
        Ok(state)
    }

    /// Opens the state in `path`.
    pub fn open(path: &Path) -> Result<Self, EngineError> {
        if !path.join("CURRENT").exists() {
            return Err(EngineError::NotInitialised(path.display().to_string()));
        }
        // The configuration is read from the database right below.
        let placeholder = ChainConfig {
            chain_id: 0,
            depth: 1,
            operator: 0,
        };
        let mut state = Self::open_raw(path, false, placeholder)?;
        let config_bytes = state
            .db
            .get(KEY_CONFIG)
            .map_err(|e| state.db_err(e))?
            .ok_or_else(|| EngineError::NotInitialised(path.display().to_string()))?;
        state.config =
            postcard::from_bytes(&config_bytes).map_err(|e| state.corrupt(KEY_CONFIG, e))?;
        let root = state.get_fixed::<32>(KEY_ROOT)?;
        state.root = field::from_bytes_le(&root)
            .ok_or_else(|| state.corrupt(KEY_ROOT, "not a field element"))?;
        state.batches = u64::from_be_bytes(state.get_fixed::<8>(KEY_BATCHES)?);
        if state
            .db
            .get(KEY_L1_DEPOSITS)
            .map_err(|e| state.db_err(e))?
            .is_some()
        {
            state.l1_deposits = u64::from_be_bytes(state.get_fixed::<8>(KEY_L1_DEPOSITS)?);
        }
        Ok(state)
    }

    /// The chain configuration of the state in `path`, read without taking the database's
    /// lock (RocksDB read-only mode): works while another process (the service) has the
    /// state open. The configuration never changes after genesis.
    pub fn read_config(path: &Path) -> Result<ChainConfig, EngineError> {
        if !path.join("CURRENT").exists() {
            return Err(EngineError::NotInitialised(path.display().to_string()));
        }
        let db_err = |source| EngineError::Db {
            path: path.display().to_string(),
            source,
        };
        let db = DB::open_for_read_only(&Options::default(), path, false).map_err(db_err)?;
        let bytes = db
            .get(KEY_CONFIG)
            .map_err(db_err)?
            .ok_or_else(|| EngineError::NotInitialised(path.display().to_string()))?;
        postcard::from_bytes(&bytes).map_err(|e| EngineError::Corrupt {
            path: path.display().to_string(),
            key: String::from_utf8_lossy(KEY_CONFIG).into_owned(),
            detail: e.to_string(),
        })
    }

    fn get_fixed<const N: usize>(&self, key: &[u8]) -> Result<[u8; N], EngineError> {
        let bytes = self
            .db
            .get(key)
            .map_err(|e| self.db_err(e))?
            .ok_or_else(|| self.corrupt(key, "missing"))?;
        bytes
            .as_slice()
            .try_into()
            .map_err(|_| self.corrupt(key, format!("{} bytes, expected {N}", bytes.len())))
    }

    /// The data directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Chain parameters.
    pub fn config(&self) -> ChainConfig {
        self.config
    }

    /// Current state root.
    pub fn root(&self) -> Fr {
        self.root
    }

    /// L1 deposit queue entries consumed by the committed batches (the next batch's first
    /// L1 deposit must be this entry).
    pub fn l1_deposits(&self) -> u64 {
        self.l1_deposits
    }

    /// Number of committed batches (the next batch gets this number).
    pub fn batch_count(&self) -> u64 {
        self.batches
    }

    /// The account at `index`, if any.
    pub fn account(&self, index: u32) -> Result<Option<Account>, EngineError> {
        let key = account_key(index);
        match self.db.get_pinned(key).map_err(|e| self.db_err(e))? {
            None => Ok(None),
            Some(bytes) => postcard::from_bytes(&bytes)
                .map(Some)
                .map_err(|e| self.corrupt(&key, e)),
        }
    }

    /// The tree node at (`level`, `index`), or the empty-subtree hash when none is stored.
    pub fn node(&self, level: u8, index: u32) -> Result<Fr, EngineError> {
        let key = node_key(level, index);
        match self.db.get_pinned(key).map_err(|e| self.db_err(e))? {
            None => Ok(smt::empty_hashes()[level as usize]),
            Some(bytes) => {
                let arr: [u8; 32] = bytes
                    .as_ref()
                    .try_into()
                    .map_err(|_| self.corrupt(&key, "node is not 32 bytes"))?;
                field::from_bytes_le(&arr)
                    .ok_or_else(|| self.corrupt(&key, "node is not a field element"))
            }
        }
    }

    /// The Merkle siblings of leaf `index`, from the leaf level up.
    pub fn siblings(&self, index: u32) -> Result<Vec<Fr>, EngineError> {
        (0..self.config.depth)
            .map(|level| self.node(level, (index >> level) ^ 1))
            .collect()
    }

    /// The binary trace of committed batch `batch`.
    pub fn trace_bytes(&self, batch: u64) -> Result<Option<Vec<u8>>, EngineError> {
        self.db.get(trace_key(batch)).map_err(|e| self.db_err(e))
    }

    /// Withdrawals recorded by committed batch `batch`.
    pub fn withdrawals(&self, batch: u64) -> Result<Vec<WithdrawalRecord>, EngineError> {
        let prefix = &withdrawal_key(batch, 0)[..10];
        let mut out = Vec::new();
        for item in self.db.prefix_iterator(prefix) {
            let (key, value) = item.map_err(|e| self.db_err(e))?;
            if !key.starts_with(prefix) {
                break;
            }
            out.push(postcard::from_bytes(&value).map_err(|e| self.corrupt(&key, e))?);
        }
        Ok(out)
    }

    fn stage(&self, batch: &mut WriteBatch, changes: &StateChanges) -> Result<(), EngineError> {
        let empty = smt::empty_hashes();
        for (index, account) in &changes.accounts {
            let bytes =
                postcard::to_stdvec(account).map_err(|e| self.corrupt(&account_key(*index), e))?;
            batch.put(account_key(*index), bytes);
        }
        for ((level, index), value) in &changes.nodes {
            if *value == empty[*level as usize] {
                batch.delete(node_key(*level, *index));
            } else {
                batch.put(node_key(*level, *index), field::to_bytes_le(value));
            }
        }
        batch.put(KEY_ROOT, field::to_bytes_le(&changes.root));
        Ok(())
    }

    fn write(&self, batch: WriteBatch) -> Result<(), EngineError> {
        let mut opts = WriteOptions::default();
        opts.set_sync(true);
        self.db.write_opt(batch, &opts).map_err(|e| self.db_err(e))
    }

    /// Commits one batch atomically (accounts, nodes, root, trace, withdrawals, counter).
    pub fn commit_batch(&mut self, changes: StateChanges) -> Result<u64, EngineError> {
        let number = self.batches;
        let mut batch = WriteBatch::default();
        self.stage(&mut batch, &changes)?;
        batch.put(trace_key(number), &changes.trace);
        for (seq, w) in changes.withdrawals.iter().enumerate() {
            let key = withdrawal_key(number, seq as u32);
            let bytes = postcard::to_stdvec(w).map_err(|e| self.corrupt(&key, e))?;
            batch.put(key, bytes);
        }
        batch.put(KEY_BATCHES, (number + 1).to_be_bytes());
        if let Some(consumed) = changes.l1_deposits {
            batch.put(KEY_L1_DEPOSITS, consumed.to_be_bytes());
        }
        self.write(batch)?;
        self.root = changes.root;
        self.batches = number + 1;
        if let Some(consumed) = changes.l1_deposits {
            self.l1_deposits = consumed;
        }
        Ok(number)
    }

    /// All accounts, in index order.
    pub fn accounts(&self) -> Result<Vec<(u32, Account)>, EngineError> {
        let mut out = Vec::new();
        for item in self.db.prefix_iterator(b"a/") {
            let (key, value) = item.map_err(|e| self.db_err(e))?;
            if !key.starts_with(b"a/") {
                break;
            }
            let index: [u8; 4] = key[2..]
                .try_into()
                .map_err(|_| self.corrupt(&key, "bad account key"))?;
            let account = postcard::from_bytes(&value).map_err(|e| self.corrupt(&key, e))?;
            out.push((u32::from_be_bytes(index), account));
        }
        Ok(out)
    }

    /// Recomputes the tree from the stored accounts and compares it with the stored root and
    /// every stored node: detects any damage to the state.
    pub fn check_integrity(&self) -> Result<(), EngineError> {
        let accounts: HashMap<u32, Account> = self.accounts()?.into_iter().collect();
        let nodes = build_tree(self.config.depth, &accounts);
        let root = nodes
            .get(&(self.config.depth, 0))
            .copied()
            .unwrap_or(smt::empty_hashes()[self.config.depth as usize]);
        if root != self.root {
            return Err(self.corrupt(
                KEY_ROOT,
                format!(
                    "stored root {} but accounts hash to {}",
                    field::to_hex(&self.root),
                    field::to_hex(&root)
                ),
            ));
        }
        for ((level, index), value) in &nodes {
            if self.node(*level, *index)? != *value {
                return Err(self.corrupt(
                    &node_key(*level, *index),
                    "node differs from the recomputed tree",
                ));
            }
        }
        Ok(())
    }
}

/// All non-empty nodes of the tree holding `accounts` (level 0 = leaves).
pub fn build_tree(depth: u8, accounts: &HashMap<u32, Account>) -> HashMap<(u8, u32), Fr> {
    let empty = smt::empty_hashes();
    let mut nodes: HashMap<(u8, u32), Fr> = HashMap::new();
    let mut level_nodes: Vec<(u32, Fr)> = accounts.iter().map(|(i, a)| (*i, a.leaf())).collect();
    level_nodes.sort_unstable_by_key(|(i, _)| *i);
    for level in 0..depth {
        let mut parents: Vec<(u32, Fr)> = Vec::with_capacity(level_nodes.len() / 2 + 1);
        let mut i = 0;
        while i < level_nodes.len() {
            let (index, value) = level_nodes[i];
            nodes.insert((level, index), value);
            let sibling_index = index ^ 1;
            let (left, right, step) = if index & 1 == 0 {
                match level_nodes.get(i + 1) {
                    Some((j, v)) if *j == sibling_index => {
                        nodes.insert((level, *j), *v);
                        (value, *v, 2)
                    }
                    _ => (value, empty[level as usize], 1),
                }
            } else {
                (empty[level as usize], value, 1)
            };
            parents.push((index >> 1, crate::poseidon::hash2(left, right)));
            i += step;
        }
        level_nodes = parents;
    }
    for (index, value) in level_nodes {
        nodes.insert((depth, index), value);
    }
    nodes
}
