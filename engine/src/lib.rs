//! # zkroll-engine
//!
//! The state-transition engine of the zkroll payments rollup: the first stage of the pipeline
//! `engine -> circuits -> prover -> aggregator -> verifier-contract`.
//!
//! It executes batches of [`tx::Tx`] (deposits, transfers, withdrawals) against the account
//! state, a Poseidon sparse Merkle tree stored in RocksDB ([`store::StateDb`]), and emits a
//! [`trace::BatchTrace`]: everything a circuit needs to re-check each transaction without the
//! database. The cryptographic primitives ([`poseidon`], [`eddsa`] over [`babyjubjub`]) are
//! defined here once and reused by the circuit crate, so the engine and the circuits cannot
//! disagree about what a hash or a signature is.

pub mod account;
pub mod babyjubjub;
pub mod blake512;
pub mod eddsa;
pub mod error;
pub mod executor;
pub mod exit;
pub mod field;
pub mod poseidon;
pub mod pubdata;
pub mod rules;
pub mod smt;
pub mod store;
pub mod trace;
pub mod tx;

pub use error::{EngineError, PubdataError, TraceError, TxError};
pub use executor::{execute_batch, execute_batch_with_l1, BatchOutcome, Rejection};
pub use field::Fr;
pub use rules::ChainConfig;
pub use store::{Genesis, StateDb};
pub use trace::BatchTrace;
pub use tx::{L1Deposit, Tx};
pub mod workload;
