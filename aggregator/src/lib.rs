//! # zkroll-aggregator
//!
//! The fourth stage of the pipeline `engine -> circuits -> prover -> aggregator ->
//! verifier-contract`: recursive aggregation of a batch's chunk proofs into one proof.
//!
//! - [`plan`]: the tree: [`plan::Shape::fan_in`] proofs per node, chunk count padded with
//!   no-op chunks to a power of the fan-in, Poseidon-transcript layers, then the final node
//!   with a Keccak transcript for the EVM: a one-proof wrapper over the top node, or the top
//!   node itself ([`plan::Shape::wrap`]).
//! - [`circuit`]: the node circuit (the inner proofs verified by [`fold`], plus the rules
//!   linking consecutive proofs: roots and transaction commitments continue each other), its
//!   keys, proving and native verification, including the pairing check of the KZG
//!   accumulator.
//! - [`fold`]: snark-verifier's in-circuit verifier over a chip that defers the fixed-base
//!   MSM of each inner proof's verifying key and settles them in one MSM per node.
//! - [`keys`]: the on-disk cache of node keys.
//! - [`batch`]: aggregating the chunk proofs of a batch on disk into the final proof, with
//!   resume.

pub mod batch;
pub mod circuit;
pub mod fold;
pub mod keys;
pub mod plan;

pub use circuit::{AggregationError, Inner, Link, NodeCircuit, NodeKeys, NodeKind};
pub use plan::{Shape, TreePlan, FAN_IN};
