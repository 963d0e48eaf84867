//! circomlib's Poseidon as a halo2-base chip.
//!
//! The constants are the engine's ([`zkroll_engine::poseidon::optimized`]): the chip evaluates
//! the same optimized round structure the engine's native hash uses, so both compute exactly
//! circomlib's function (tested against the engine and against `poseidon-lite`'s vectors).
//!
//! Layout and constraints, per permutation of width `t`, all in halo2-base's single advice
//! gate `a + b * c = d`:
//! - full round: per cell, `y = x + c`, then `y^2`, `y^4`, `y^5` (4 gates), then the MDS as
//!   `t` inner products with constant coefficients;
//! - partial round: the same S-box on cell 0 only, then the sparse layer: one inner product
//!   for cell 0 and `s_i + w_i * x_0` (1 gate) for each other cell.
//!
//! Every output is constrained from the inputs: there is no free witness in the chip.
//!
//! The widths the circuits use do not take halo2-base's gate: `Poseidon(2)`
//! ([`PoseidonChip::hash2`], the Merkle node hash and the signed message), `Poseidon(4)` (the
//! account leaf) and `Poseidon(5)` (the signature challenge, the transaction commitment) are
//! recorded in the circuit's [`GateTable`] and computed by the custom gates of
//! [`crate::gates`] (~230, ~330 and ~370 cells instead of ~2,560, ~4,160 and ~4,980).
//! [`PoseidonChip::hash_in_base_gate`] keeps the halo2-base layout for the other widths.

use halo2_base::gates::{GateChip, GateInstructions};
use halo2_base::{AssignedValue, Context, QuantumCell::Constant};

use crate::field::to_circuit;
use crate::gates::wide_rows::WIDE;
use crate::gates::GateTable;
use crate::Fr;

/// One width's constants, converted to the circuit field once.
#[derive(Debug, Clone)]
struct Rounds {
    width: usize,
    mds: Vec<Vec<Fr>>,
    first_constants: Vec<Vec<Fr>>,
    pre_sparse: Vec<Vec<Fr>>,
    partial_constants: Vec<Fr>,
    sparse_rows: Vec<Vec<Fr>>,
    sparse_columns: Vec<Vec<Fr>>,
    last_constants: Vec<Vec<Fr>>,
}

impl Rounds {
    fn new(width: usize) -> Self {
        let o = zkroll_engine::poseidon::optimized(width);
        let vec = |v: &[zkroll_engine::Fr]| v.iter().map(to_circuit).collect::<Vec<_>>();
        let mat = |m: &[Vec<zkroll_engine::Fr>]| m.iter().map(|r| vec(r)).collect::<Vec<_>>();
        Self {
            width,
            mds: mat(&o.mds),
            first_constants: mat(&o.first_constants),
            pre_sparse: mat(&o.pre_sparse),
            partial_constants: vec(&o.partial_constants),
            sparse_rows: o.sparse.iter().map(|s| vec(&s.row)).collect(),
            sparse_columns: o.sparse.iter().map(|s| vec(&s.column)).collect(),
            last_constants: mat(&o.last_constants),
        }
    }
}

/// circomlib Poseidon over `halo2-base`'s gate, for 1 to 6 inputs.
#[derive(Debug, Clone)]
pub struct PoseidonChip<'a> {
    gate: &'a GateChip<Fr>,
    table: &'a GateTable,
    rounds: Vec<Rounds>,
}

/// Largest number of inputs the chip hashes (width 7).
pub const MAX_CHIP_INPUTS: usize = 6;

impl<'a> PoseidonChip<'a> {
    /// A chip over `gate`, with the constants of every width it supports, recording its
    /// `Poseidon(2)` hashes in `table` (the circuit's gate region).
    pub fn new(gate: &'a GateChip<Fr>, table: &'a GateTable) -> Self {
        Self {
            gate,
            table,
            rounds: (2..=MAX_CHIP_INPUTS + 1).map(Rounds::new).collect(),
        }
    }

    /// The gate chip this chip builds on.
    pub fn gate(&self) -> &'a GateChip<Fr> {
        self.gate
    }

    /// The gate region's table.
    pub fn table(&self) -> &'a GateTable {
        self.table
    }

    fn pow5_after_add(
        &self,
        ctx: &mut Context<Fr>,
        x: AssignedValue<Fr>,
        c: Fr,
    ) -> AssignedValue<Fr> {
        let y = self.gate.add(ctx, x, Constant(c));
        let y2 = self.gate.mul(ctx, y, y);
        let y4 = self.gate.mul(ctx, y2, y2);
        self.gate.mul(ctx, y4, y)
    }

    fn mix(
        &self,
        ctx: &mut Context<Fr>,
        state: &[AssignedValue<Fr>],
        matrix: &[Vec<Fr>],
    ) -> Vec<AssignedValue<Fr>> {
        matrix
            .iter()
            .map(|row| {
                self.gate.inner_product(
                    ctx,
                    state.iter().copied(),
                    row.iter().map(|m| Constant(*m)),
                )
            })
            .collect()
    }

    /// `Poseidon(inputs)` exactly as circomlib computes it: in the custom gates for 2, 4 and
    /// 5 inputs, in halo2-base's gate for the others.
    ///
    /// # Panics
    /// If `inputs` is empty or longer than [`MAX_CHIP_INPUTS`]: input counts are fixed by the
    /// circuit's shape, never by a witness.
    pub fn hash(&self, ctx: &mut Context<Fr>, inputs: &[AssignedValue<Fr>]) -> AssignedValue<Fr> {
        match inputs {
            [left, right] => self.hash2(ctx, *left, *right),
            _ if WIDE.contains(&(inputs.len() + 1)) => self.table.hash(ctx, inputs),
            _ => self.hash_in_base_gate(ctx, inputs),
        }
    }

    /// `Poseidon(inputs)` constrained in halo2-base's gate alone (the layout above), for any
    /// width the chip supports.
    ///
    /// # Panics
    /// As [`Self::hash`].
    pub fn hash_in_base_gate(
        &self,
        ctx: &mut Context<Fr>,
        inputs: &[AssignedValue<Fr>],
    ) -> AssignedValue<Fr> {
        assert!(
            (1..=MAX_CHIP_INPUTS).contains(&inputs.len()),
            "Poseidon chip takes 1..={MAX_CHIP_INPUTS} inputs, got {}",
            inputs.len()
        );
        let r = &self.rounds[inputs.len() - 1];
        debug_assert_eq!(r.width, inputs.len() + 1);
        let mut state = Vec::with_capacity(r.width);
        state.push(ctx.load_zero());
        state.extend_from_slice(inputs);

        let half = r.first_constants.len();
        for (round, constants) in r.first_constants.iter().enumerate() {
            let boxed: Vec<_> = state
                .iter()
                .zip(constants)
                .map(|(x, c)| self.pow5_after_add(ctx, *x, *c))
                .collect();
            let matrix = if round + 1 == half {
                &r.pre_sparse
            } else {
                &r.mds
            };
            state = self.mix(ctx, &boxed, matrix);
        }
        for ((k, row), column) in r
            .partial_constants
            .iter()
            .zip(&r.sparse_rows)
            .zip(&r.sparse_columns)
        {
            state[0] = self.pow5_after_add(ctx, state[0], *k);
            let x0 = state[0];
            let first = self.gate.inner_product(
                ctx,
                state.iter().copied(),
                row.iter().map(|m| Constant(*m)),
            );
            for (cell, w) in state.iter_mut().zip(column).skip(1) {
                *cell = self.gate.mul_add(ctx, x0, Constant(*w), *cell);
            }
            state[0] = first;
        }
        for constants in &r.last_constants {
            let boxed: Vec<_> = state
                .iter()
                .zip(constants)
                .map(|(x, c)| self.pow5_after_add(ctx, *x, *c))
                .collect();
            state = self.mix(ctx, &boxed, &r.mds);
        }
        state[0]
    }

    /// `Poseidon(left, right)` in the custom gates: a one-level path from `left` whose
    /// sibling is `right` (index bit 0).
    pub fn hash2(
        &self,
        ctx: &mut Context<Fr>,
        left: AssignedValue<Fr>,
        right: AssignedValue<Fr>,
    ) -> AssignedValue<Fr> {
        let zero = ctx.load_zero();
        self.table.path(ctx, left, &[(zero, right)])
    }
}

#[cfg(test)]
mod tests;
