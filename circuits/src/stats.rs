//! Circuit statistics for researchers and for memory planning: rows, columns, cells per slot
//! and per primitive, and estimates of the proving key size and of peak proving memory.

use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::gates::circuit::CircuitBuilderStage;
use halo2_base::gates::{GateInstructions, RangeInstructions};
use serde::Serialize;
use zkroll_engine::ChainConfig;

use crate::chunk::{self, ChunkWitness};
use crate::eddsa::{AssignedSignature, EddsaChip};
use crate::gates::table::JobShape;
use crate::gates::{GateTable, GatedCircuit};
use crate::merkle::MerkleChip;
use crate::poseidon::PoseidonChip;
use crate::Fr;

/// Rows kept free for blinding factors.
pub const UNUSABLE_ROWS: usize = 9;

/// Largest number of advice columns the automatic choice of `k` accepts.
pub const MAX_AUTO_ADVICE_COLUMNS: usize = 24;

/// Statistics of one chunk circuit configuration.
#[derive(Debug, Clone, Serialize)]
pub struct ChunkStats {
    /// Transaction slots.
    pub chunk_size: usize,
    /// Account tree depth.
    pub depth: u8,
    /// log2 of the rows.
    pub k: u32,
    /// Advice columns of halo2-base's gate.
    pub advice_columns: usize,
    /// Advice columns of the custom gates (Poseidon rounds, Merkle links, Edwards steps).
    pub gate_advice_columns: usize,
    /// Advice columns feeding the range lookup.
    pub lookup_advice_columns: usize,
    /// Fixed columns.
    pub fixed_columns: usize,
    /// Bits of the range lookup table.
    pub lookup_bits: usize,
    /// Total advice cells of halo2-base's gate.
    pub advice_cells: usize,
    /// Rows of the custom gates' region (each row is [`rows::ADVICE`] columns wide).
    pub gate_rows: usize,
    /// Advice cells assigned in the custom gates' region (cells no gate reads are left
    /// unassigned: a little below `gate_rows` times the columns).
    pub gate_cells: usize,
    /// Cells copied into the lookup columns.
    pub lookup_cells: usize,
    /// Advice cells of one slot, halo2-base's and the custom gates' (assigned cells); every
    /// slot costs the same, whatever its type (deposit, transfer,
    /// withdraw or no-op), since the circuit's shape cannot depend on the witness.
    pub cells_per_slot: usize,
    /// Of which in the custom gates' region.
    pub gate_cells_per_slot: usize,
    /// Advice cells per primitive (halo2-base's plus the region's).
    pub primitives: Vec<(String, usize)>,
    /// One slot's advice cells by what they check (their sum is `cells_per_slot`): the
    /// custom gates' Merkle paths, the signature's scalar multiplications and the Poseidon
    /// hashes of leaves, transactions and commitments, then halo2-base's cells (range checks
    /// and the rules' arithmetic).
    pub slot_cells: Vec<(String, usize)>,
    /// Estimated proving key size in bytes.
    pub estimated_pk_bytes: u64,
    /// Estimated peak memory of one proof in bytes.
    pub estimated_peak_bytes: u64,
}

/// Advice cells of each primitive, measured by laying each one out alone: halo2-base's
/// cells plus the cells assigned in the custom gates' region.
pub fn primitive_costs(depth: u8) -> Vec<(String, usize)> {
    let mut builder = BaseCircuitBuilder::<Fr>::from_stage(CircuitBuilderStage::Keygen).use_k(18);
    builder.set_lookup_bits(chunk::LOOKUP_BITS);
    let range = builder.range_chip();
    let table = GateTable::new();
    let poseidon = PoseidonChip::new(&range.gate, &table);
    let merkle = MerkleChip::new(&poseidon);
    let eddsa = EddsaChip::new(&poseidon, &range);
    let ctx = builder.main(0);
    let x = ctx.load_witness(Fr::from(3u64));
    let mut out = Vec::new();
    let mut measure = |name: String,
                       ctx: &mut halo2_base::Context<Fr>,
                       f: &mut dyn FnMut(&mut halo2_base::Context<Fr>)| {
        let before = ctx.advice.len() + table.cells();
        f(ctx);
        out.push((name, ctx.advice.len() + table.cells() - before));
    };
    measure(
        "Poseidon, 2 inputs (custom gates)".into(),
        ctx,
        &mut |ctx| {
            poseidon.hash2(ctx, x, x);
        },
    );
    measure(
        "Poseidon, 2 inputs (halo2-base gate)".into(),
        ctx,
        &mut |ctx| {
            poseidon.hash_in_base_gate(ctx, &[x, x]);
        },
    );
    measure(
        "Poseidon, 4 inputs (leaf, custom gates)".into(),
        ctx,
        &mut |ctx| {
            poseidon.hash(ctx, &[x, x, x, x]);
        },
    );
    measure(
        "Poseidon, 5 inputs (challenge, commitment; gates)".into(),
        ctx,
        &mut |ctx| {
            poseidon.hash(ctx, &[x, x, x, x, x]);
        },
    );
    measure(
        "Merkle level (link + node hash, custom gates)".into(),
        ctx,
        &mut |ctx| {
            let bit = ctx.load_witness(Fr::from(1u64));
            let path = merkle.path(ctx, bit, vec![x]);
            merkle.root(ctx, x, &path);
        },
    );
    measure(
        format!("Merkle update, depth {depth} (verify old + compute new)"),
        ctx,
        &mut |ctx| {
            let index = ctx.load_witness(Fr::from(0u64));
            let siblings = vec![x; depth as usize];
            let path = merkle.path(ctx, index, siblings);
            merkle.update(ctx, x, x, x, &path);
        },
    );
    measure(
        "EdDSA-Poseidon signature verification".into(),
        ctx,
        &mut |ctx| {
            let curve = eddsa.curve();
            let point = curve.load(ctx, Fr::from(0u64), Fr::from(1u64));
            let s = ctx.load_zero();
            let enabled = ctx.load_zero();
            eddsa.verify(ctx, enabled, x, &point, &AssignedSignature { r8: point, s });
        },
    );
    measure("range check, 64 bits".into(), ctx, &mut |ctx| {
        range.range_check(ctx, x, 64);
    });
    let _ = range.gate.add(ctx, x, x);
    out
}

/// Counts of a laid-out chunk.
struct Layout {
    advice: usize,
    lookup: usize,
    constants: usize,
    gate_rows: usize,
    gate_cells: usize,
    /// halo2-base cells of slot 0.
    slot0: usize,
    /// The gate region's cells by category ([`SLOT_CATEGORIES`]' first three).
    gate_by_category: [usize; 3],
}

/// The categories of [`ChunkStats::slot_cells`], in order.
pub const SLOT_CATEGORIES: [&str; 4] = [
    "Merkle paths (custom gates)",
    "signature: scalar multiplications (custom gates)",
    "Poseidon hashes (custom gates)",
    "range checks and rule arithmetic (halo2-base)",
];

fn category(shape: JobShape) -> usize {
    match shape {
        JobShape::Path(_) => 0,
        JobShape::FixedBase(_) | JobShape::VariableBase(_) => 1,
        JobShape::Hash(_) => 2,
    }
}

fn measure(slots: usize, config: ChainConfig) -> Layout {
    let witness = ChunkWitness::padding(slots, config);
    let mut circuit = GatedCircuit::new(
        BaseCircuitBuilder::<Fr>::from_stage(CircuitBuilderStage::Keygen).use_k(18),
    );
    let sections = chunk::synthesize(&mut circuit, &witness);
    let stats = circuit.builder.statistics();
    let mut gate_by_category = [0; 3];
    for (shape, cells) in circuit.table.job_cells() {
        gate_by_category[category(shape)] += cells;
    }
    Layout {
        gate_by_category,
        advice: stats.gate.total_advice_per_phase.iter().sum(),
        lookup: stats.total_lookup_advice_per_phase.iter().sum(),
        constants: stats.gate.total_fixed,
        gate_rows: circuit.table.rows(),
        gate_cells: circuit.table.cells(),
        slot0: sections
            .iter()
            .filter(|s| s.slot == 0)
            .map(|s| s.end - s.start)
            .sum(),
    }
}

/// Statistics of the chunk circuit with `chunk_size` slots; `k` is chosen as the smallest
/// that needs at most [`MAX_AUTO_ADVICE_COLUMNS`] halo2-base advice columns and whose rows
/// hold the custom gates' region, unless given.
///
/// Every slot has the same shape, so the counts are exact linear extrapolations from laying
/// out one and two slots: cheap for any chunk size (laying out thousands of slots would need
/// tens of GiB). Columns follow halo2-base's rule: cells divided by the usable rows.
pub fn chunk_stats(chunk_size: usize, config: ChainConfig, k: Option<u32>) -> ChunkStats {
    let one = measure(1, config);
    let two = measure(2, config);
    let extrapolate = |one: usize, two: usize| {
        let per_slot = two.saturating_sub(one);
        one.saturating_sub(per_slot) + per_slot * chunk_size
    };
    let advice_cells = extrapolate(one.advice, two.advice);
    let lookup_cells = extrapolate(one.lookup, two.lookup);
    let gate_rows = extrapolate(one.gate_rows, two.gate_rows);
    let gate_cells = extrapolate(one.gate_cells, two.gate_cells);
    let gate_cells_per_slot = two.gate_cells - one.gate_cells;
    // Constants are shared between slots: their count hardly grows.
    let constants = one.constants.max(two.constants);
    let rows = |k: u32| (1usize << k) - UNUSABLE_ROWS;
    let k = k.unwrap_or_else(|| {
        (10..=27)
            .find(|k| {
                advice_cells.div_ceil(rows(*k)) <= MAX_AUTO_ADVICE_COLUMNS && gate_rows <= rows(*k)
            })
            .unwrap_or(27)
    });
    let advice_columns = advice_cells.div_ceil(rows(k)).max(1);
    let lookup_advice_columns = lookup_cells.div_ceil(rows(k));
    let fixed_columns = constants.div_ceil(rows(k)).max(1);
    let (pk, peak) = estimate_memory(
        k,
        advice_columns + lookup_advice_columns + GatedCircuit::GATE_ADVICE_COLUMNS,
        fixed_columns + GatedCircuit::GATE_FIXED_COLUMNS,
    );
    ChunkStats {
        chunk_size,
        depth: config.depth,
        k,
        advice_columns,
        gate_advice_columns: GatedCircuit::GATE_ADVICE_COLUMNS,
        lookup_advice_columns,
        fixed_columns,
        lookup_bits: chunk::LOOKUP_BITS,
        advice_cells,
        gate_rows,
        gate_cells,
        lookup_cells,
        cells_per_slot: one.slot0 + gate_cells_per_slot,
        gate_cells_per_slot,
        primitives: primitive_costs(config.depth),
        slot_cells: SLOT_CATEGORIES
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let cells = match i {
                    3 => one.slot0,
                    _ => two.gate_by_category[i] - one.gate_by_category[i],
                };
                (name.to_string(), cells)
            })
            .collect(),
        estimated_pk_bytes: pk,
        estimated_peak_bytes: peak,
    }
}

/// Rough sizes, from halo2's data layout: the proving key holds, for every fixed column and
/// every column in the permutation (advice, fixed, one instance), the values, the coefficients
/// and the extended-domain evaluations (4x for halo2-base's degree); the prover additionally
/// holds each advice column in the same three forms, the permutation and lookup products, and
/// the quotient on the extended domain.
pub fn estimate_memory(k: u32, advice: usize, fixed: usize) -> (u64, u64) {
    const EXTENSION: u64 = 4;
    let n = 1u64 << k;
    let column = 32 * n * (2 + EXTENSION);
    let permutation = (advice + fixed + 1) as u64;
    let pk = column * (fixed as u64 + permutation) + 32 * n * 4;
    let witness = column * advice as u64;
    let products = column * (permutation.div_ceil(3) + 2);
    let quotient = 32 * n * EXTENSION * 2;
    (pk, pk + witness + products + quotient)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(depth: u8) -> ChainConfig {
        ChainConfig {
            chain_id: 1,
            depth,
            operator: 0,
        }
    }

    #[test]
    fn cells_grow_linearly_with_slots_and_depth() {
        let one = chunk_stats(1, config(8), None);
        let three = chunk_stats(3, config(8), None);
        assert_eq!(one.cells_per_slot, three.cells_per_slot);
        // The extrapolation equals a real layout of three slots.
        let l = measure(3, config(8));
        assert_eq!(
            (three.advice_cells, three.lookup_cells, three.gate_rows),
            (l.advice, l.lookup, l.gate_rows)
        );
        // Three slots cost three times one slot, up to the public-input cells.
        assert!(
            (three.advice_cells + three.gate_cells).abs_diff(3 * one.cells_per_slot) < 16,
            "{} + {} vs 3 x {}",
            three.advice_cells,
            three.gate_cells,
            one.cells_per_slot
        );
        // The slot's cells by category add up, and a deeper tree costs Merkle cells (and the
        // index bit's few halo2-base cells), not signature or hash cells.
        let sum: usize = one.slot_cells.iter().map(|(_, c)| c).sum();
        assert_eq!(sum, one.cells_per_slot, "{:?}", one.slot_cells);
        assert!(
            one.slot_cells.iter().all(|(_, c)| *c > 0),
            "{:?}",
            one.slot_cells
        );
        let deeper = chunk_stats(1, config(9), None);
        let level = deeper.cells_per_slot - one.cells_per_slot;
        assert_eq!(
            (deeper.slot_cells[1].1, deeper.slot_cells[2].1),
            (one.slot_cells[1].1, one.slot_cells[2].1)
        );
        let merkle = deeper.slot_cells[0].1 - one.slot_cells[0].1;
        assert!(
            merkle <= level && merkle * 20 >= level * 19,
            "{:?} vs {:?}",
            deeper.slot_cells,
            one.slot_cells
        );
        // One more level: two updates, each hashing two paths one node higher.
        let merkle_level = one
            .primitives
            .iter()
            .find(|(n, _)| n.starts_with("Merkle level"))
            .map(|(_, c)| *c)
            .expect("measured");
        assert!(
            level.abs_diff(4 * merkle_level) < 64,
            "{level} vs {merkle_level}"
        );
    }

    #[test]
    fn automatic_k_respects_the_column_budget() {
        let s = chunk_stats(4, config(24), None);
        assert!(s.advice_columns <= MAX_AUTO_ADVICE_COLUMNS);
        assert!(s.gate_rows <= (1 << s.k) - UNUSABLE_ROWS);
        // One k less breaks the column budget or leaves too few rows for the gate region.
        let smaller = chunk_stats(4, config(24), Some(s.k - 1));
        assert!(
            smaller.advice_columns > MAX_AUTO_ADVICE_COLUMNS
                || smaller.gate_rows > (1 << smaller.k) - UNUSABLE_ROWS
        );
        assert!(s.estimated_peak_bytes > s.estimated_pk_bytes);
        // The columns agree with halo2-base's own choice for a real layout.
        let real = chunk::build(
            CircuitBuilderStage::Keygen,
            s.k,
            &ChunkWitness::padding(4, config(24)),
        );
        assert_eq!(
            real.builder.config_params.num_advice_per_phase[0],
            s.advice_columns
        );
        assert_eq!(real.table.rows(), s.gate_rows);
        assert_eq!(
            real.builder.config_params.num_lookup_advice_per_phase[0],
            s.lookup_advice_columns
        );
        // Huge chunks are estimated without laying them out.
        let huge = chunk_stats(4096, config(24), None);
        let cells = |n: usize| {
            let s = chunk_stats(n, config(24), None);
            s.advice_cells + s.gate_cells
        };
        let step = cells(2) - cells(1);
        assert!(
            step.abs_diff(s.cells_per_slot) <= 2,
            "{step} vs {}",
            s.cells_per_slot
        );
        assert_eq!(
            huge.advice_cells + huge.gate_cells,
            s.advice_cells + s.gate_cells + step * (4096 - 4)
        );
    }
}
