//! The sparse Merkle tree of accounts: pure functions over Poseidon, independent of storage.
//!
//! Levels count from the leaves: level 0 holds leaf values, level `depth` the root. An empty
//! leaf is `0`; an empty subtree of height `h` hashes to [`empty_hashes`]`()[h]`. A path lists
//! siblings from the leaf level upward; bit `i` of the leaf index (least significant first)
//! says whether the node at level `i` is a right child.

use std::sync::OnceLock;

use crate::field::Fr;
use crate::poseidon;

/// Deepest tree supported: account indices are `u32`.
pub const MAX_DEPTH: usize = 32;

/// Default tree depth at genesis.
pub const DEFAULT_DEPTH: u8 = 24;

/// `empty[h]`: the root of an empty subtree of height `h`, for `h = 0..=32`.
pub fn empty_hashes() -> &'static [Fr; MAX_DEPTH + 1] {
    static EMPTY: OnceLock<[Fr; MAX_DEPTH + 1]> = OnceLock::new();
    EMPTY.get_or_init(|| {
        let mut empty = [Fr::from(0u64); MAX_DEPTH + 1];
        for h in 1..=MAX_DEPTH {
            empty[h] = poseidon::hash2(empty[h - 1], empty[h - 1]);
        }
        empty
    })
}

/// The root obtained by hashing `leaf` at `index` up through `siblings`.
pub fn root_from_path(leaf: Fr, index: u32, siblings: &[Fr]) -> Fr {
    let mut node = leaf;
    for (level, sibling) in siblings.iter().enumerate() {
        node = if (index >> level) & 1 == 0 {
            poseidon::hash2(node, *sibling)
        } else {
            poseidon::hash2(*sibling, node)
        };
    }
    node
}

/// The nodes on the path of `index` after setting its leaf to `leaf`: `out[l]` is the node at
/// level `l` (`out[0] = leaf`, `out[depth]` = the new root).
pub fn path_nodes(leaf: Fr, index: u32, siblings: &[Fr]) -> Vec<Fr> {
    let mut nodes = Vec::with_capacity(siblings.len() + 1);
    nodes.push(leaf);
    let mut node = leaf;
    for (level, sibling) in siblings.iter().enumerate() {
        node = if (index >> level) & 1 == 0 {
            poseidon::hash2(node, *sibling)
        } else {
            poseidon::hash2(*sibling, node)
        };
        nodes.push(node);
    }
    nodes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_tree_root_is_consistent() {
        let e = empty_hashes();
        let siblings: Vec<Fr> = e[..4].to_vec();
        assert_eq!(root_from_path(Fr::from(0u64), 5, &siblings), e[4]);
        let nodes = path_nodes(Fr::from(0u64), 9, &siblings);
        assert_eq!(nodes, e[..5].to_vec());
    }

    #[test]
    fn index_bits_choose_the_side() {
        let s = vec![Fr::from(11u64)];
        let leaf = Fr::from(3u64);
        assert_eq!(root_from_path(leaf, 0, &s), poseidon::hash2(leaf, s[0]));
        assert_eq!(root_from_path(leaf, 1, &s), poseidon::hash2(s[0], leaf));
    }
}
