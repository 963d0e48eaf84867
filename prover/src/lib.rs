//! # zkroll-prover
//!
//! The third stage of the pipeline `engine -> circuits -> prover -> aggregator ->
//! verifier-contract`: KZG parameters, keys and proving. So far: [`srs`], a parallel
//! generator of development parameters (`zkroll setup`) that produces exactly what halo2's
//! `ParamsKZG::setup` would for the same secret, an order of magnitude faster, and the import
//! of ceremony parameters; [`keys`], the on-disk cache of chunk-circuit proving keys;
//! [`chunks`], proving a trace chunk by chunk with resume; [`proof_file`], the versioned
//! proof files; [`memory`], planning how many proofs run at once.

pub mod chunks;
pub mod fs;
pub mod keys;
pub mod memory;
pub mod proof_file;
pub mod srs;
