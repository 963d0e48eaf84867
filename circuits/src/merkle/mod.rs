//! Sparse Merkle paths as a halo2-base chip (native side: [`zkroll_engine::smt`]).
//!
//! Constraints: the account index is decomposed into `depth` bits (each constrained to be
//! 0 or 1, and their weighted sum constrained to equal the index, which also proves
//! `index < 2^depth`). The path itself is hashed in the custom gates ([`crate::gates::merkle`]):
//! at each level the bit (copied into the gate region, and constrained boolean there too)
//! selects which of (node, sibling) is the left input of the Poseidon node hash. An update
//! proves the old leaf under the old root and computes the new root from the new leaf with
//! the same siblings and bits.

use halo2_base::gates::{GateChip, GateInstructions};
use halo2_base::{AssignedValue, Context};

use crate::poseidon::PoseidonChip;
use crate::Fr;

/// A leaf's position and siblings, assigned once and shared by the reads and writes of one
/// update.
#[derive(Debug, Clone)]
pub struct AssignedPath {
    /// Index bits, least significant first (`depth` of them).
    pub bits: Vec<AssignedValue<Fr>>,
    /// Siblings from the leaf level up.
    pub siblings: Vec<AssignedValue<Fr>>,
}

/// Merkle path chip over a [`PoseidonChip`].
#[derive(Debug, Clone)]
pub struct MerkleChip<'a> {
    poseidon: &'a PoseidonChip<'a>,
}

impl<'a> MerkleChip<'a> {
    /// A chip hashing with `poseidon`.
    pub fn new(poseidon: &'a PoseidonChip<'a>) -> Self {
        Self { poseidon }
    }

    fn gate(&self) -> &GateChip<Fr> {
        self.poseidon.gate()
    }

    /// Constrains `index` to `siblings.len()` bits and pairs them with the siblings.
    pub fn path(
        &self,
        ctx: &mut Context<Fr>,
        index: AssignedValue<Fr>,
        siblings: Vec<AssignedValue<Fr>>,
    ) -> AssignedPath {
        let bits = self.gate().num_to_bits(ctx, index, siblings.len());
        AssignedPath { bits, siblings }
    }

    /// The root above `leaf` along `path`.
    pub fn root(
        &self,
        ctx: &mut Context<Fr>,
        leaf: AssignedValue<Fr>,
        path: &AssignedPath,
    ) -> AssignedValue<Fr> {
        let levels: Vec<_> = path
            .bits
            .iter()
            .copied()
            .zip(path.siblings.iter().copied())
            .collect();
        self.poseidon.table().path(ctx, leaf, &levels)
    }

    /// Proves `old_leaf` sits under `old_root` at `path`, and returns the root after
    /// replacing it with `new_leaf`.
    pub fn update(
        &self,
        ctx: &mut Context<Fr>,
        old_root: AssignedValue<Fr>,
        old_leaf: AssignedValue<Fr>,
        new_leaf: AssignedValue<Fr>,
        path: &AssignedPath,
    ) -> AssignedValue<Fr> {
        let computed = self.root(ctx, old_leaf, path);
        ctx.constrain_equal(&computed, &old_root);
        self.root(ctx, new_leaf, path)
    }
}

#[cfg(test)]
mod tests;
