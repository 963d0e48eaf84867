//! # zkroll-circuits
//!
//! The halo2 circuits of zkroll (KZG on BN254, built with halo2-lib's `halo2-base`): the second
//! stage of the pipeline `engine -> circuits -> prover -> aggregator -> verifier-contract`.
//!
//! Each chip is split in two: the constraints live here, the native computation is the
//! engine's (`zkroll_engine::poseidon`, `zkroll_engine::smt`), so the circuit and the engine
//! cannot disagree about what a hash or a Merkle path is. Chips so far:
//!
//! - [`poseidon::PoseidonChip`]: circomlib's Poseidon, built from the engine's constants;
//! - [`merkle::MerkleChip`]: sparse Merkle paths (verify a leaf, update it), with the index
//!   bits constrained to be bits and to recompose the account index.
//!
//! The chunk circuit (transaction gadgets, EdDSA, public inputs) is still to come.

pub mod chunk;
pub mod eddsa;
pub mod field;
pub mod gates;
pub mod merkle;
pub mod poseidon;
pub mod proof;
pub mod stats;

/// The circuits' native field: BN254's scalar field as halo2 represents it.
pub use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
