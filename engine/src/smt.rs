//! The sparse Merkle tree of accounts: pure functions over Poseidon, independent of storage.
//!
//! Levels count from the leaves: level 0 holds leaf values, level `depth` the root. An empty
//! leaf is `0`; an empty subtree of height `h` hashes to [`empty_hashes`]`()[h]`. A path lists
//! siblings from the leaf level upward; bit `i` of the leaf index (least significant first)
//! says whether the node at level `i` is a right child.

use std::collections::{HashMap, HashSet};
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

/// The parent of `node` and `sibling`, where `node_index` is `node`'s index in its level.
#[inline]
pub fn parent(node: Fr, sibling: Fr, node_index: u32) -> Fr {
    if node_index & 1 == 0 {
        poseidon::hash2(node, sibling)
    } else {
        poseidon::hash2(sibling, node)
    }
}

/// The root obtained by hashing `leaf` at `index` up through `siblings`.
pub fn root_from_path(leaf: Fr, index: u32, siblings: &[Fr]) -> Fr {
    siblings
        .iter()
        .enumerate()
        .fold(leaf, |node, (level, sibling)| {
            parent(node, *sibling, index >> level)
        })
}

/// The nodes on the path of `index` after setting its leaf to `leaf`: `out[l]` is the node at
/// level `l` (`out[0] = leaf`, `out[depth]` = the new root).
pub fn path_nodes(leaf: Fr, index: u32, siblings: &[Fr]) -> Vec<Fr> {
    let mut nodes = Vec::with_capacity(siblings.len() + 1);
    nodes.push(leaf);
    for (level, sibling) in siblings.iter().enumerate() {
        nodes.push(parent(nodes[level], *sibling, index >> level));
    }
    nodes
}

/// What applying a sequence of leaf writes did to the tree.
#[derive(Debug, Default)]
pub struct TreeUpdates {
    /// For each write, the siblings of its leaf at that moment (leaf level first).
    pub siblings: Vec<Vec<Fr>>,
    /// For each group of writes (a transaction), the root right after it.
    pub roots: Vec<Fr>,
    /// Final value of every node written, keyed by (level, node index).
    pub nodes: HashMap<(u8, u32), Fr>,
}

/// A node source: the tree as it was before the writes.
pub type NodeSource<'a, E> = &'a (dyn Fn(u8, u32) -> Result<Fr, E> + Sync);

/// Nodes of one band of levels: written ones, and ones read from the source (cached).
struct Band<'a, E> {
    written: HashMap<(u8, u32), Fr>,
    read_cache: HashMap<(u8, u32), Fr>,
    read: NodeSource<'a, E>,
}

impl<'a, E> Band<'a, E> {
    fn new(read: NodeSource<'a, E>) -> Self {
        Self {
            written: HashMap::new(),
            read_cache: HashMap::new(),
            read,
        }
    }

    fn get(&mut self, level: u8, index: u32) -> Result<Fr, E> {
        if let Some(v) = self.written.get(&(level, index)) {
            return Ok(*v);
        }
        if let Some(v) = self.read_cache.get(&(level, index)) {
            return Ok(*v);
        }
        let v = (self.read)(level, index)?;
        self.read_cache.insert((level, index), v);
        Ok(v)
    }
}

/// The lower levels `0..split`: every write's path is hashed right away.
fn climb_lower<E>(
    band: &mut Band<'_, E>,
    split: u8,
    leaf_index: u32,
    leaf: Fr,
    siblings: &mut Vec<Fr>,
) -> Result<Fr, E> {
    let mut node = leaf;
    band.written.insert((0, leaf_index), node);
    for level in 0..split {
        let index = leaf_index >> level;
        let sibling = band.get(level, index ^ 1)?;
        siblings.push(sibling);
        node = parent(node, sibling, index);
        band.written.insert((level + 1, index >> 1), node);
    }
    Ok(node)
}

/// The upper levels `split..=depth`, evaluated lazily: a write marks its ancestors dirty and
/// a dirty node is hashed only when needed (as a later write's sibling, or for the root at
/// the end of its transaction). Writes of one transaction usually share their upper path,
/// which is then hashed once per transaction instead of once per write.
struct UpperBand<'a, E> {
    band: Band<'a, E>,
    dirty: HashSet<(u8, u32)>,
    split: u8,
    depth: u8,
}

impl<E> UpperBand<'_, E> {
    fn set(&mut self, leaf_index: u32, value: Fr) {
        self.band
            .written
            .insert((self.split, leaf_index >> self.split), value);
        for level in self.split + 1..=self.depth {
            self.dirty.insert((level, leaf_index >> level));
        }
    }

    fn get(&mut self, level: u8, index: u32) -> Result<Fr, E> {
        if !self.dirty.remove(&(level, index)) {
            return self.band.get(level, index);
        }
        let left = self.get(level - 1, index << 1)?;
        let right = self.get(level - 1, (index << 1) | 1)?;
        let node = poseidon::hash2(left, right);
        self.band.written.insert((level, index), node);
        Ok(node)
    }
}

/// Applies `writes` (leaf index, new leaf value), in order and grouped into transactions
/// (`group_ends[g]` is one past the last write of group `g`), to a tree of `depth` whose
/// current nodes `read` returns. Reports each write's siblings at its moment and each
/// group's root.
///
/// Two threads share the work: one hashes the lower levels of every write's path, the other
/// consumes those results in order and evaluates the upper levels lazily. The split level
/// balances the two from the spread of the indices. The result equals applying the writes
/// one after another (tested against that).
pub fn apply_writes<E: Send>(
    depth: u8,
    writes: &[(u32, Fr)],
    group_ends: &[usize],
    read: NodeSource<'_, E>,
) -> Result<TreeUpdates, E> {
    let split = split_level(depth, writes, group_ends.len());
    let mut lower = Band::new(read);
    let mut upper = UpperBand {
        band: Band::new(read),
        dirty: HashSet::new(),
        split,
        depth,
    };
    let (tx, rx) = std::sync::mpsc::channel::<(Fr, Vec<Fr>)>();
    let (lower_result, upper_result) = std::thread::scope(|scope| {
        let lower = &mut lower;
        let producer = scope.spawn(move || -> Result<(), E> {
            for (index, leaf) in writes {
                let mut siblings = Vec::with_capacity(depth as usize);
                let node = climb_lower(lower, split, *index, *leaf, &mut siblings)?;
                if tx.send((node, siblings)).is_err() {
                    break; // the upper band failed and stopped listening
                }
            }
            Ok(())
        });
        let mut out = TreeUpdates {
            siblings: Vec::with_capacity(writes.len()),
            roots: Vec::with_capacity(group_ends.len()),
            nodes: HashMap::new(),
        };
        let consumer = (|| -> Result<(), E> {
            let mut group = 0;
            for (k, (index, _)) in writes.iter().enumerate() {
                let Ok((node, mut siblings)) = rx.recv() else {
                    return Ok(()); // the lower band failed; its error is reported below
                };
                for level in split..depth {
                    siblings.push(upper.get(level, (index >> level) ^ 1)?);
                }
                upper.set(*index, node);
                out.siblings.push(siblings);
                while group < group_ends.len() && group_ends[group] == k + 1 {
                    out.roots.push(upper.get(depth, 0)?);
                    group += 1;
                }
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
    // Resolve what is still dirty (writes after the last group end, if any).
    for level in split + 1..=depth {
        let pending: Vec<u32> = upper
            .dirty
            .iter()
            .filter(|(l, _)| *l == level)
            .map(|(_, i)| *i)
            .collect();
        for index in pending {
            upper.get(level, index)?;
        }
    }
    out.nodes = lower.written;
    out.nodes.extend(upper.band.written);
    Ok(out)
}

/// Where the eager lower band ends: each write costs `split` hashes below it, and the lazy
/// upper band costs about `(spread - split)` per write plus `(depth - spread)` per
/// transaction, where `spread` is the bit length of the largest index written.
fn split_level(depth: u8, writes: &[(u32, Fr)], groups: usize) -> u8 {
    let max_index = writes.iter().map(|(i, _)| *i).max().unwrap_or(0);
    let spread = (32 - max_index.leading_zeros()).min(depth as u32) as f64;
    let per_group = writes.len() as f64 / groups.max(1) as f64;
    let split = spread / 2.0 + (depth as f64 - spread) / (2.0 * per_group.max(1.0));
    (split.round() as u8).min(depth)
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

    type Reference = (Vec<Vec<Fr>>, Vec<Fr>, HashMap<(u8, u32), Fr>);

    /// Applies writes one by one with full path recomputation: the reference.
    fn sequential(depth: u8, writes: &[(u32, Fr)], group_ends: &[usize]) -> Reference {
        let empty = empty_hashes();
        let mut nodes: HashMap<(u8, u32), Fr> = HashMap::new();
        let (mut all_siblings, mut roots) = (Vec::new(), Vec::new());
        for (k, (index, value)) in writes.iter().enumerate() {
            let siblings: Vec<Fr> = (0..depth)
                .map(|l| {
                    *nodes
                        .get(&(l, (index >> l) ^ 1))
                        .unwrap_or(&empty[l as usize])
                })
                .collect();
            let path = path_nodes(*value, *index, &siblings);
            for (l, v) in path.iter().enumerate() {
                nodes.insert((l as u8, index >> l), *v);
            }
            all_siblings.push(siblings);
            if group_ends.contains(&(k + 1)) {
                roots.push(path[depth as usize]);
            }
        }
        (all_siblings, roots, nodes)
    }

    #[test]
    fn pipelined_writes_equal_sequential_ones() {
        let mut seed = 1u64;
        let mut next = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            seed >> 33
        };
        for depth in [1u8, 2, 3, 4, 8, 16, 24] {
            for spread in [1u32, 4, 10, 20] {
                let mask = (1u64 << spread.min(depth as u32)) - 1;
                let writes: Vec<(u32, Fr)> = (0..40)
                    .map(|_| ((next() & mask) as u32, Fr::from(next())))
                    .collect();
                // Groups of 1 to 3 writes, like transactions.
                let mut group_ends = Vec::new();
                let mut end = 0;
                while end < writes.len() {
                    end = (end + 1 + (next() % 3) as usize).min(writes.len());
                    group_ends.push(end);
                }
                let empty = empty_hashes();
                let read = |level: u8, _: u32| -> Result<Fr, ()> { Ok(empty[level as usize]) };
                let out = apply_writes(depth, &writes, &group_ends, &read).expect("no error");
                let (siblings, roots, nodes) = sequential(depth, &writes, &group_ends);
                assert_eq!(out.siblings, siblings, "depth {depth} spread {spread}");
                assert_eq!(out.roots, roots, "depth {depth} spread {spread}");
                assert_eq!(out.nodes, nodes, "depth {depth} spread {spread}");
            }
        }
    }

    #[test]
    fn pipeline_reports_read_errors() {
        let writes = vec![(3u32, Fr::from(1u64)); 4];
        for bad_level in [0u8, 1, 5, 20, 23] {
            let read = move |level: u8, _: u32| -> Result<Fr, String> {
                if level == bad_level {
                    Err(format!("disk on fire at {level}"))
                } else {
                    Ok(Fr::from(0u64))
                }
            };
            let err = apply_writes(24, &writes, &[2, 4], &read).expect_err("must fail");
            assert_eq!(err, format!("disk on fire at {bad_level}"));
        }
    }

    #[test]
    fn index_bits_choose_the_side() {
        let s = vec![Fr::from(11u64)];
        let leaf = Fr::from(3u64);
        assert_eq!(root_from_path(leaf, 0, &s), poseidon::hash2(leaf, s[0]));
        assert_eq!(root_from_path(leaf, 1, &s), poseidon::hash2(s[0], leaf));
    }
}
