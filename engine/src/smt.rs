//! The sparse Merkle tree of accounts: pure functions over Poseidon, independent of storage.
//!
//! Levels count from the leaves: level 0 holds leaf values, level `depth` the root. An empty
//! leaf is `0`; an empty subtree of height `h` hashes to [`empty_hashes`]`()[h]`. A path lists
//! siblings from the leaf level upward; bit `i` of the leaf index (least significant first)
//! says whether the node at level `i` is a right child.

use std::collections::HashMap;
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

/// What applying a sequence of leaf writes did to the tree.
#[derive(Debug, Default)]
pub struct TreeUpdates {
    /// For each write, the siblings of its leaf at that moment (leaf level first).
    pub siblings: Vec<Vec<Fr>>,
    /// For each write, the root right after it.
    pub roots: Vec<Fr>,
    /// Final value of every node written, keyed by (level, node index).
    pub nodes: HashMap<(u8, u32), Fr>,
}

/// One stage of the pipeline: owns the levels `lo..hi` of every path.
struct Stage<'a, E> {
    lo: u8,
    hi: u8,
    nodes: HashMap<(u8, u32), Fr>,
    read: &'a (dyn Fn(u8, u32) -> Result<Fr, E> + Sync),
}

impl<E> Stage<'_, E> {
    fn node(&self, level: u8, index: u32) -> Result<Fr, E> {
        match self.nodes.get(&(level, index)) {
            Some(v) => Ok(*v),
            None => (self.read)(level, index),
        }
    }

    /// Hashes `node` (the value at level `lo` of leaf `leaf_index`) up to level `hi`,
    /// recording the siblings used and writing the new nodes.
    fn climb(&mut self, leaf_index: u32, mut node: Fr, siblings: &mut Vec<Fr>) -> Result<Fr, E> {
        self.nodes.insert((self.lo, leaf_index >> self.lo), node);
        for level in self.lo..self.hi {
            let index = leaf_index >> level;
            let sibling = self.node(level, index ^ 1)?;
            siblings.push(sibling);
            node = if index & 1 == 0 {
                poseidon::hash2(node, sibling)
            } else {
                poseidon::hash2(sibling, node)
            };
            self.nodes.insert((level + 1, index >> 1), node);
        }
        Ok(node)
    }
}

/// Applies `writes` (leaf index, new leaf value) in order to a tree of `depth` whose current
/// nodes `read` returns, and reports the siblings and root of every write.
///
/// The work is pipelined over two threads: the first owns the lower levels of every path
/// (and the leaf hashing done by the caller's `leaf` function), the second the upper ones,
/// consuming the first's outputs in order. The result is exactly that of applying the writes
/// one after another.
pub fn apply_writes<L, E>(
    depth: u8,
    writes: &[(u32, L)],
    leaf: impl Fn(&L) -> Fr + Sync,
    read: &(dyn Fn(u8, u32) -> Result<Fr, E> + Sync),
) -> Result<TreeUpdates, E>
where
    L: Sync,
    E: Send,
{
    // The leaf hash costs about three node hashes: balance the two stages around it.
    let split = (depth.saturating_sub(3) / 2).min(depth);
    let mut lower = Stage {
        lo: 0,
        hi: split,
        nodes: HashMap::new(),
        read,
    };
    let mut upper = Stage {
        lo: split,
        hi: depth,
        nodes: HashMap::new(),
        read,
    };
    let (tx, rx) = std::sync::mpsc::channel::<(Fr, Vec<Fr>)>();
    let (lower_result, upper_result) = std::thread::scope(|scope| {
        let lower_stage = &mut lower;
        let leaf = &leaf;
        let producer = scope.spawn(move || -> Result<(), E> {
            for (index, value) in writes {
                let mut siblings = Vec::with_capacity(depth as usize);
                let node = lower_stage.climb(*index, leaf(value), &mut siblings)?;
                if tx.send((node, siblings)).is_err() {
                    break; // the upper stage failed and stopped listening
                }
            }
            Ok(())
        });
        let mut out = TreeUpdates {
            siblings: Vec::with_capacity(writes.len()),
            roots: Vec::with_capacity(writes.len()),
            nodes: HashMap::new(),
        };
        let consumer = (|| -> Result<(), E> {
            for (index, _) in writes {
                let Ok((node, mut siblings)) = rx.recv() else {
                    break; // the lower stage failed; its error is reported below
                };
                let root = upper.climb(*index, node, &mut siblings)?;
                out.siblings.push(siblings);
                out.roots.push(root);
            }
            Ok(())
        })();
        drop(rx);
        let produced = producer
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (produced, consumer.map(|()| out))
    });
    lower_result?;
    let mut out = upper_result?;
    out.nodes = lower.nodes;
    out.nodes.extend(upper.nodes);
    Ok(out)
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
    fn pipelined_writes_equal_sequential_ones() {
        for depth in [1u8, 3, 4, 8, 24] {
            let writes: Vec<(u32, u64)> = [(0u32, 5u64), (1, 6), (0, 7), (3, 8), (2, 9), (1, 1)]
                .into_iter()
                .map(|(i, v)| (i % (1 << depth.min(31)), v))
                .collect();
            let empty = empty_hashes();
            let read = |level: u8, _: u32| -> Result<Fr, ()> { Ok(empty[level as usize]) };
            let out = apply_writes(depth, &writes, |v| Fr::from(*v), &read).expect("no error");
            // Sequential reference.
            let mut nodes: HashMap<(u8, u32), Fr> = HashMap::new();
            for (k, (index, value)) in writes.iter().enumerate() {
                let siblings: Vec<Fr> = (0..depth)
                    .map(|l| {
                        *nodes
                            .get(&(l, (index >> l) ^ 1))
                            .unwrap_or(&empty[l as usize])
                    })
                    .collect();
                assert_eq!(out.siblings[k], siblings, "depth {depth} write {k}");
                let path = path_nodes(Fr::from(*value), *index, &siblings);
                for (l, v) in path.iter().enumerate() {
                    nodes.insert((l as u8, index >> l), *v);
                }
                assert_eq!(out.roots[k], path[depth as usize]);
            }
            assert_eq!(out.nodes, nodes);
        }
    }

    #[test]
    fn pipeline_reports_read_errors() {
        let read = |level: u8, _: u32| -> Result<Fr, String> {
            if level == 5 {
                Err("disk on fire".into())
            } else {
                Ok(Fr::from(0u64))
            }
        };
        let writes = vec![(3u32, 1u64); 4];
        let err = apply_writes(24, &writes, |v| Fr::from(*v), &read).expect_err("must fail");
        assert_eq!(err, "disk on fire");
        let err = apply_writes(24, &writes, |v| Fr::from(*v), &|l: u8, _: u32| -> Result<Fr, String> {
            if l == 20 { Err("upper".into()) } else { Ok(Fr::from(0u64)) }
        })
        .expect_err("must fail");
        assert_eq!(err, "upper");
    }

    #[test]
    fn index_bits_choose_the_side() {
        let s = vec![Fr::from(11u64)];
        let leaf = Fr::from(3u64);
        assert_eq!(root_from_path(leaf, 0, &s), poseidon::hash2(leaf, s[0]));
        assert_eq!(root_from_path(leaf, 1, &s), poseidon::hash2(s[0], leaf));
    }
}
