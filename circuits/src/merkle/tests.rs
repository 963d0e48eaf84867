use crate::gates::testing;

use super::*;
use crate::field::to_circuit;
use zkroll_engine::smt;

const DEPTH: usize = 8;

/// A tree with a few leaves; returns (leaf index, leaf, siblings, root) for `index`.
fn tree(index: u32) -> (zkroll_engine::Fr, Vec<zkroll_engine::Fr>, zkroll_engine::Fr) {
    use std::collections::HashMap;
    let leaves: HashMap<u32, zkroll_engine::Fr> = [(3u32, 11u64), (4, 12), (200, 13), (index, 99)]
        .into_iter()
        .map(|(i, v)| (i, zkroll_engine::Fr::from(v)))
        .collect();
    let empty = smt::empty_hashes();
    let mut level: HashMap<u32, zkroll_engine::Fr> = leaves.clone();
    let mut siblings = Vec::new();
    for (l, empty_l) in empty.iter().enumerate().take(DEPTH) {
        let sib = (index >> l) ^ 1;
        siblings.push(*level.get(&sib).unwrap_or(empty_l));
        let mut parents = HashMap::new();
        for (&i, _) in level.iter() {
            let p = i >> 1;
            if parents.contains_key(&p) {
                continue;
            }
            let left = *level.get(&(p << 1)).unwrap_or(empty_l);
            let right = *level.get(&((p << 1) | 1)).unwrap_or(empty_l);
            parents.insert(p, zkroll_engine::poseidon::hash2(left, right));
        }
        level = parents;
    }
    let root = level[&0];
    (leaves[&index], siblings, root)
}

fn run(index: u32, tamper: impl FnOnce(&mut u32, &mut Vec<Fr>, &mut Fr), expect_ok: bool) {
    let (leaf, siblings, root) = tree(index);
    let new_leaf = zkroll_engine::Fr::from(777u64);
    let new_root = smt::root_from_path(new_leaf, index, &siblings);
    let mut witness_index = index;
    let mut witness_siblings: Vec<Fr> = siblings.iter().map(to_circuit).collect();
    let mut witness_leaf = to_circuit(&leaf);
    tamper(&mut witness_index, &mut witness_siblings, &mut witness_leaf);
    testing::check(14, expect_ok, |ctx, gate, paths| {
        let poseidon = PoseidonChip::new(gate, paths);
        let chip = MerkleChip::new(&poseidon);
        let index = ctx.load_witness(Fr::from(witness_index as u64));
        let siblings = ctx.assign_witnesses(witness_siblings);
        let path = chip.path(ctx, index, siblings);
        let old_root = ctx.load_constant(to_circuit(&root));
        let old_leaf = ctx.load_witness(witness_leaf);
        let new_leaf = ctx.load_witness(to_circuit(&new_leaf));
        let computed = chip.update(ctx, old_root, old_leaf, new_leaf, &path);
        let expected = ctx.load_constant(to_circuit(&new_root));
        ctx.constrain_equal(&computed, &expected);
    });
}

#[test]
fn update_matches_the_engine() {
    for index in [0u32, 5, 128, 255] {
        run(index, |_, _, _| {}, true);
    }
}

#[test]
fn wrong_sibling_is_rejected() {
    run(5, |_, s, _| s[3] += Fr::from(1u64), false);
}

#[test]
fn wrong_leaf_is_rejected() {
    run(5, |_, _, leaf| *leaf += Fr::from(1u64), false);
}

#[test]
fn wrong_index_is_rejected() {
    // Another leaf's position: the path no longer leads to the root.
    run(5, |i, _, _| *i = 4, false);
    // An index beyond the tree: the bits cannot recompose it.
    run(5, |i, _, _| *i = 5 + (1 << DEPTH), false);
}
