//! Merkle paths in the Poseidon gate's columns: a link gate chains one level's hash into the
//! next level's input, and [`PathTable`] records the paths the chips ask for and lays them out.
//!
//! A path from `leaf` up `n` levels takes `1 + 38 n` rows ([`rows::path_rows`]):
//!
//! | row            | x0     | x1       | x2       | h0        | h1    | h2 |
//! |----------------|--------|----------|----------|-----------|-------|----|
//! | link, level 0  | leaf   | 0        | 0        | sibling 0 | bit 0 | 0  |
//! | 37 round rows  | `Poseidon(left, right)`, see [`super::poseidon`]      |||||
//! | link, level 1  | node 1 | (state)  | (state)  | sibling 1 | bit 1 | 0  |
//! | ...            |        |          |          |           |       |    |
//! | end            | root   | (state)  | (state)  | 0         | 0     | 0  |
//!
//! Link gate, on a row holding `node`, `sibling` and `bit`: `bit * (1 - bit) = 0`, and the
//! next row is the state `[0, left, right]` with `left = node + bit * (sibling - node)` and
//! `left + right = node + sibling` (so `(left, right)` is `(node, sibling)` or its swap).
//! The leaf, each sibling and bit, and the root are copied from and to halo2-base cells
//! (the columns of `x0`, `h0` and `h1` have equality enabled).

use std::sync::{Arc, Mutex};

use halo2_base::halo2_proofs::circuit::{Cell, Region, Value};
use halo2_base::halo2_proofs::halo2curves::ff::Field;
use halo2_base::halo2_proofs::plonk::{ConstraintSystem, Error, Expression, Selector};
use halo2_base::halo2_proofs::poly::Rotation;
use halo2_base::virtual_region::copy_constraints::SharedCopyConstraintManager;
use halo2_base::{AssignedValue, Context, ContextCell};

use super::poseidon::{Columns, RoundSelectors};
use super::rows::{self, Level, RowKind};
use crate::Fr;

/// Creates the link gate over `columns`.
pub fn configure(meta: &mut ConstraintSystem<Fr>, columns: &Columns) -> Selector {
    let q_link = meta.selector();
    let [x0, x1, x2, h0, h1, _] = columns.advice;
    meta.create_gate("merkle level link", |meta| {
        let q = meta.query_selector(q_link);
        let node = meta.query_advice(x0, Rotation::cur());
        let sibling = meta.query_advice(h0, Rotation::cur());
        let bit = meta.query_advice(h1, Rotation::cur());
        let [capacity, left, right] = [x0, x1, x2].map(|c| meta.query_advice(c, Rotation::next()));
        let one = Expression::Constant(Fr::ONE);
        vec![
            q.clone() * bit.clone() * (one - bit.clone()),
            q.clone() * capacity,
            q.clone() * (left.clone() - node.clone() - bit * (sibling.clone() - node.clone())),
            q * (left + right - node - sibling),
        ]
    });
    q_link
}

/// The gate region's configuration: its columns and selectors.
#[derive(Debug, Clone, Copy)]
pub struct GateConfig {
    /// The columns.
    pub columns: Columns,
    /// The round gates' selectors.
    pub rounds: RoundSelectors,
    /// The link gate's selector.
    pub link: Selector,
}

impl GateConfig {
    /// Allocates the columns and creates every gate of the region.
    pub fn configure(meta: &mut ConstraintSystem<Fr>) -> Self {
        let columns = Columns {
            advice: std::array::from_fn(|_| meta.advice_column()),
            fixed: std::array::from_fn(|_| meta.fixed_column()),
        };
        // Cells copied to or from halo2-base: x0 (leaf, root), h0 (siblings), h1 (bits).
        for c in [columns.advice[0], columns.advice[3], columns.advice[4]] {
            meta.enable_equality(c);
        }
        let rounds = super::poseidon::configure(meta, &columns);
        let link = configure(meta, &columns);
        Self {
            columns,
            rounds,
            link,
        }
    }
}

/// One recorded path: its inputs and the halo2-base cells standing for its region cells.
#[derive(Debug, Clone)]
struct PathJob {
    leaf: Fr,
    levels: Vec<Level>,
    /// Placeholders (external cells) for the leaf, each level's sibling and bit, the root.
    leaf_cell: ContextCell,
    level_cells: Vec<(ContextCell, ContextCell)>,
    root_cell: ContextCell,
    /// Where halo2-base's main context stood when the path was recorded.
    offset: usize,
}

/// Where one path sits in the region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathPlace {
    /// First row.
    pub start: usize,
    /// One past the last row.
    pub end: usize,
    /// halo2-base's main-context offset when the path was recorded (names its rule).
    pub offset: usize,
}

/// The Merkle paths (and lone `Poseidon(2)` hashes) a circuit asks for, laid out in the gate
/// region when the circuit is synthesized. Clones share the same table.
#[derive(Debug, Clone, Default)]
pub struct PathTable {
    jobs: Arc<Mutex<Vec<PathJob>>>,
    /// Tests only: `(row, advice column, value)` written over one cell at layout.
    #[cfg(test)]
    pub(crate) tamper: Arc<Mutex<Option<(usize, usize, Fr)>>>,
}

fn external(copy: &SharedCopyConstraintManager<Fr>, value: Fr) -> AssignedValue<Fr> {
    copy.lock()
        .unwrap_or_else(|e| e.into_inner())
        .mock_external_assigned(value)
}

fn context_cell(v: &AssignedValue<Fr>) -> ContextCell {
    // Values made by `mock_external_assigned` always carry their cell.
    v.cell.unwrap_or(ContextCell::new("", 0, 0))
}

impl PathTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    fn jobs(&self) -> std::sync::MutexGuard<'_, Vec<PathJob>> {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records the path from `leaf` up `levels` (index bit, sibling per level, from the leaf
    /// up) and returns its root as a cell halo2-base can use. The leaf, bits and siblings are
    /// copy-constrained to the region's cells, and so is the returned root.
    pub fn path(
        &self,
        ctx: &mut Context<Fr>,
        leaf: AssignedValue<Fr>,
        levels: &[(AssignedValue<Fr>, AssignedValue<Fr>)],
    ) -> AssignedValue<Fr> {
        let values: Vec<Level> = levels
            .iter()
            .map(|(b, s)| (*b.value(), *s.value()))
            .collect();
        let (_, root) = rows::path(*leaf.value(), &values);
        let copy = ctx.copy_manager.clone();
        let leaf_cell = external(&copy, *leaf.value());
        ctx.constrain_equal(&leaf, &leaf_cell);
        let mut level_cells = Vec::with_capacity(levels.len());
        for (bit, sibling) in levels {
            let s = external(&copy, *sibling.value());
            let b = external(&copy, *bit.value());
            ctx.constrain_equal(sibling, &s);
            ctx.constrain_equal(bit, &b);
            level_cells.push((context_cell(&s), context_cell(&b)));
        }
        let root_cell = external(&copy, root);
        self.jobs().push(PathJob {
            leaf: *leaf.value(),
            levels: values,
            leaf_cell: context_cell(&leaf_cell),
            level_cells,
            root_cell: context_cell(&root_cell),
            offset: ctx.advice.len(),
        });
        root_cell
    }

    /// Rows the recorded paths take.
    pub fn rows(&self) -> usize {
        self.jobs()
            .iter()
            .map(|j| rows::path_rows(j.levels.len()))
            .sum()
    }

    /// Advice cells the recorded paths assign.
    pub fn cells(&self) -> usize {
        self.jobs()
            .iter()
            .map(|j| rows::path_cells(j.levels.len()))
            .sum()
    }

    /// Where each recorded path sits, in order.
    pub fn places(&self) -> Vec<PathPlace> {
        let mut start = 0;
        self.jobs()
            .iter()
            .map(|j| {
                let end = start + rows::path_rows(j.levels.len());
                let place = PathPlace {
                    start,
                    end,
                    offset: j.offset,
                };
                start = end;
                place
            })
            .collect()
    }

    /// The shape of the table (levels of each path, in order), for fingerprints.
    pub fn shape(&self) -> Vec<usize> {
        self.jobs().iter().map(|j| j.levels.len()).collect()
    }

    /// Lays out every recorded path from row 0, enables the gates and registers the region's
    /// cells for the placeholders in `copy`. Fails when the paths need more than
    /// `usable_rows` rows.
    pub fn assign(
        &self,
        config: &GateConfig,
        region: &mut Region<'_, Fr>,
        copy: &SharedCopyConstraintManager<Fr>,
        usable_rows: usize,
        k: u32,
    ) -> Result<(), Error> {
        if self.rows() > usable_rows {
            return Err(Error::NotEnoughRowsAvailable { current_k: k });
        }
        let jobs = self.jobs();
        let mut registered: Vec<(ContextCell, Cell)> = Vec::new();
        let mut offset = 0;
        for job in jobs.iter() {
            let (rows, _) = rows::path(job.leaf, &job.levels);
            let mut links = job.level_cells.iter();
            for (i, row) in rows.iter().enumerate() {
                let at = offset + i;
                let mut cells = Vec::with_capacity(row.advice.len());
                #[allow(unused_mut)]
                let mut advice = row.advice;
                #[cfg(test)]
                if let Some((r, c, v)) = *self.tamper.lock().unwrap_or_else(|e| e.into_inner()) {
                    if r == at {
                        advice[c] = v;
                    }
                }
                for (c, (column, value)) in config.columns.advice.iter().zip(advice).enumerate() {
                    if rows::is_read(row.kind, i == 0, c) {
                        cells.push(Some(
                            region
                                .assign_advice(*column, at, Value::known(value))
                                .cell(),
                        ));
                    } else {
                        cells.push(None);
                    }
                }
                for (column, value) in config.columns.fixed.iter().zip(row.fixed) {
                    region.assign_fixed(*column, at, value);
                }
                let selector = match row.kind {
                    RowKind::Full => Some(config.rounds.full),
                    RowKind::DoublePartial => Some(config.rounds.double_partial),
                    RowKind::SinglePartial => Some(config.rounds.single_partial),
                    RowKind::Link => Some(config.link),
                    RowKind::End => None,
                };
                if let Some(selector) = selector {
                    selector.enable(region, at)?;
                }
                let mut register = |placeholder: ContextCell, column: usize| {
                    if let Some(cell) = cells[column] {
                        registered.push((placeholder, cell));
                    }
                };
                if i == 0 {
                    register(job.leaf_cell, 0);
                }
                if row.kind == RowKind::Link {
                    if let Some((sibling, bit)) = links.next() {
                        register(*sibling, 3);
                        register(*bit, 4);
                    }
                }
                if row.kind == RowKind::End {
                    register(job.root_cell, 0);
                }
            }
            offset += rows.len();
        }
        let mut copy = copy.lock().unwrap_or_else(|e| e.into_inner());
        copy.assigned_advices.extend(registered);
        Ok(())
    }
}
