//! The gate region: its columns and gates ([`GateConfig`]), and [`GateTable`], which records
//! the work the chips ask for during witness generation (Merkle paths, lone `Poseidon(2)`
//! hashes, `Poseidon(4)` and `Poseidon(5)` hashes, scalar multiplications) and lays it out at
//! synthesis, one job after another from row 0.
//!
//! A job's inputs and outputs are halo2-base cells: the table hands out placeholders from
//! halo2-base's copy manager (external cells), constrains them equal to the chip's cells, and
//! at layout registers the region cells that stand for them, so halo2-base imposes the copy
//! constraints with its own. Every advice column of the region has equality enabled.

use std::sync::{Arc, Mutex};

use halo2_base::halo2_proofs::circuit::{Cell, Region, Value};
use halo2_base::halo2_proofs::halo2curves::ff::Field;
use halo2_base::halo2_proofs::plonk::{ConstraintSystem, Error, Selector};
use halo2_base::virtual_region::copy_constraints::SharedCopyConstraintManager;
use halo2_base::{AssignedValue, Context, ContextCell};

use super::edwards::MulSelectors;
use super::edwards_rows::{self, Point, Step};
use super::poseidon::{Columns, RoundSelectors};
use super::poseidon_wide::BlockSelectors;
use super::rows::{self, Level, Row, RowKind};
use super::wide_rows::{self, WIDE};
use crate::Fr;

/// The gate region's configuration: its columns and selectors.
#[derive(Debug, Clone, Copy)]
pub struct GateConfig {
    /// The columns.
    pub columns: Columns,
    /// The round gates' selectors.
    pub rounds: RoundSelectors,
    /// The Merkle link gate's selector.
    pub link: Selector,
    /// The scalar multiplication gates' selectors.
    pub mul: MulSelectors,
    /// The block gates' selectors (wide full rounds, blocks of partial rounds).
    pub blocks: BlockSelectors,
}

impl GateConfig {
    /// Allocates the columns and creates every gate of the region.
    pub fn configure(meta: &mut ConstraintSystem<Fr>) -> Self {
        let columns = Columns {
            advice: std::array::from_fn(|_| meta.advice_column()),
            fixed: std::array::from_fn(|_| meta.fixed_column()),
        };
        // Cells copied to or from halo2-base: x0 (leaf, root, product x, wide hash output),
        // x1 (product y), h0 (siblings, base x), h1 (bits of paths, base y), h2 (scalar
        // sums), and every column for a wide hash's input state.
        for column in columns.advice {
            meta.enable_equality(column);
        }
        let rounds = super::poseidon::configure(meta, &columns);
        let link = super::merkle::configure(meta, &columns);
        let mul = super::edwards::configure(meta, &columns);
        let blocks = super::poseidon_wide::configure(meta, &columns);
        Self {
            columns,
            rounds,
            link,
            mul,
            blocks,
        }
    }

    fn selector(&self, kind: RowKind) -> Option<Selector> {
        match kind {
            RowKind::Full => Some(self.rounds.full),
            RowKind::DoublePartial => Some(self.rounds.double_partial),
            RowKind::Link => Some(self.link),
            RowKind::FixedBaseStep => Some(self.mul.fixed_base),
            RowKind::VariableBaseStep => Some(self.mul.variable_base),
            RowKind::WideFull(t) => self.blocks.full(t),
            RowKind::PartialBlock(t) => self.blocks.partial(t),
            RowKind::End
            | RowKind::FixedBaseEnd
            | RowKind::VariableBaseHelpers
            | RowKind::VariableBaseEnd
            | RowKind::BlockHelpers(_)
            | RowKind::WideEnd(_) => None,
        }
    }
}

/// What a job computes.
#[derive(Debug, Clone)]
enum Work {
    /// A Merkle path from `leaf` up `levels`.
    Path { leaf: Fr, levels: Vec<Level> },
    /// `steps` times `Base8`.
    FixedBase { steps: Vec<Step> },
    /// `steps` times `base`.
    VariableBase { base: Point, steps: Vec<Step> },
    /// `Poseidon(inputs)`, 4 or 5 inputs.
    Hash { inputs: Vec<Fr> },
}

fn wide_state(inputs: &[Fr]) -> Vec<Fr> {
    std::iter::once(Fr::ZERO)
        .chain(inputs.iter().copied())
        .collect()
}

impl Work {
    fn rows(&self) -> Vec<Row> {
        match self {
            Work::Path { leaf, levels } => rows::path(*leaf, levels).0,
            Work::FixedBase { steps } => edwards_rows::fixed_base(steps).0,
            Work::VariableBase { base, steps } => edwards_rows::variable_base(*base, steps).0,
            Work::Hash { inputs } => wide_rows::permutation(&wide_state(inputs)).0,
        }
    }

    fn row_count(&self) -> usize {
        match self {
            Work::Path { levels, .. } => rows::path_rows(levels.len()),
            Work::FixedBase { steps } => edwards_rows::fixed_base_rows(steps.len()),
            Work::VariableBase { steps, .. } => edwards_rows::variable_base_rows(steps.len()),
            Work::Hash { inputs } => wide_rows::permutation_rows(inputs.len() + 1),
        }
    }

    /// Assigned cells ([`rows::is_read`]): every cell of a step row but a helper row's two
    /// spare ones, and the end row's product, sum (and base).
    fn cells(&self) -> usize {
        match self {
            Work::Path { levels, .. } => rows::path_cells(levels.len()),
            Work::FixedBase { steps } => 6 * steps.len() + 3,
            Work::VariableBase { steps, .. } => 10 * steps.len() + 5,
            Work::Hash { inputs } => wide_rows::permutation_cells(inputs.len() + 1),
        }
    }

    fn shape(&self) -> JobShape {
        match self {
            Work::Path { levels, .. } => JobShape::Path(levels.len()),
            Work::FixedBase { steps } => JobShape::FixedBase(steps.len()),
            Work::VariableBase { steps, .. } => JobShape::VariableBase(steps.len()),
            Work::Hash { inputs } => JobShape::Hash(inputs.len()),
        }
    }
}

/// A job's kind and length, for fingerprints of the layout (the fixed columns of a scalar
/// multiplication depend on its steps' weights and zero flags, which the chips derive from
/// the kind and length alone).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobShape {
    /// A path of this many levels.
    Path(usize),
    /// A fixed-base multiplication of this many steps.
    FixedBase(usize),
    /// A variable-base multiplication of this many steps.
    VariableBase(usize),
    /// A wide hash of this many inputs.
    Hash(usize),
}

/// A region cell that stands for a halo2-base placeholder.
#[derive(Debug, Clone, Copy)]
struct Link {
    /// Row from the job's first.
    row: usize,
    column: usize,
    placeholder: ContextCell,
}

#[derive(Debug, Clone)]
struct Job {
    work: Work,
    links: Vec<Link>,
    /// Where halo2-base's main context stood when the job was recorded.
    offset: usize,
}

/// Where one job sits in the region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobPlace {
    /// First row.
    pub start: usize,
    /// One past the last row.
    pub end: usize,
    /// halo2-base's main-context offset when the job was recorded (names its rule).
    pub offset: usize,
}

/// The product of a scalar multiplication and its running sums, as halo2-base cells.
#[derive(Debug, Clone)]
pub struct Product {
    /// The product's x.
    pub x: AssignedValue<Fr>,
    /// The product's y.
    pub y: AssignedValue<Fr>,
    /// The running sum before each tapped step, in the order asked, then after the last step.
    pub sums: Vec<AssignedValue<Fr>>,
}

/// The work a circuit asks of the gate region, laid out when the circuit is synthesized.
/// Clones share the same table.
#[derive(Debug, Clone, Default)]
pub struct GateTable {
    jobs: Arc<Mutex<Vec<Job>>>,
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

/// The links of a job being recorded.
struct Links<'c> {
    copy: SharedCopyConstraintManager<Fr>,
    links: Vec<Link>,
    ctx: &'c mut Context<Fr>,
}

impl<'c> Links<'c> {
    fn new(ctx: &'c mut Context<Fr>) -> Self {
        Self {
            copy: ctx.copy_manager.clone(),
            links: Vec::new(),
            ctx,
        }
    }

    /// The region cell at `(row, column)` equals `value`.
    fn input(&mut self, row: usize, column: usize, value: &AssignedValue<Fr>) {
        let placeholder = external(&self.copy, *value.value());
        self.ctx.constrain_equal(value, &placeholder);
        self.links.push(Link {
            row,
            column,
            placeholder: context_cell(&placeholder),
        });
    }

    /// The region cell at `(row, column)`, holding `value`, as a halo2-base cell.
    fn output(&mut self, row: usize, column: usize, value: Fr) -> AssignedValue<Fr> {
        let placeholder = external(&self.copy, value);
        self.links.push(Link {
            row,
            column,
            placeholder: context_cell(&placeholder),
        });
        placeholder
    }
}

impl GateTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    fn jobs(&self) -> std::sync::MutexGuard<'_, Vec<Job>> {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn push(&self, work: Work, links: Vec<Link>, offset: usize) {
        self.jobs().push(Job {
            work,
            links,
            offset,
        });
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
        let level_rows = rows::Constants::get().permutation_rows() + 1;
        let mut links = Links::new(ctx);
        links.input(0, 0, &leaf);
        for (j, (bit, sibling)) in levels.iter().enumerate() {
            links.input(j * level_rows, 3, sibling);
            links.input(j * level_rows, 4, bit);
        }
        let root_cell = links.output(levels.len() * level_rows, 0, root);
        let (links, offset) = (links.links, ctx.advice.len());
        self.push(
            Work::Path {
                leaf: *leaf.value(),
                levels: values,
            },
            links,
            offset,
        );
        root_cell
    }

    /// Records `Poseidon(inputs)` (4 or 5 inputs: widths 5 and 6) and returns its output as a
    /// cell halo2-base can use. The inputs are copy-constrained to the first row's state,
    /// the capacity cell to a halo2-base zero, and the output to the returned cell.
    ///
    /// # Panics
    /// If the width has no gates: input counts are fixed by the circuit's shape.
    pub fn hash(&self, ctx: &mut Context<Fr>, inputs: &[AssignedValue<Fr>]) -> AssignedValue<Fr> {
        let t = inputs.len() + 1;
        assert!(WIDE.contains(&t), "no Poseidon gates of width {t}");
        let values: Vec<Fr> = inputs.iter().map(|v| *v.value()).collect();
        let (_, out) = wide_rows::permutation(&wide_state(&values));
        let zero = ctx.load_zero();
        let mut links = Links::new(ctx);
        links.input(0, 0, &zero);
        for (j, input) in inputs.iter().enumerate() {
            links.input(0, j + 1, input);
        }
        let output = links.output(wide_rows::permutation_rows(t) - 1, 0, out[0]);
        let (links, offset) = (links.links, ctx.advice.len());
        self.push(Work::Hash { inputs: values }, links, offset);
        output
    }

    /// Records `steps` (at most 256) times `Base8` and returns the product and the running
    /// sum before each step of `taps` and after the last. The accumulator and the sum start
    /// at the identity and 0 (copied from halo2-base constants).
    pub fn fixed_base_mul(
        &self,
        ctx: &mut Context<Fr>,
        steps: Vec<Step>,
        taps: &[usize],
    ) -> Product {
        assert!(steps.len() <= 256, "at most 256 fixed-base steps");
        let (_, product, sums) = edwards_rows::fixed_base(&steps);
        let product = self.record_mul(ctx, None, &steps, taps, product, &sums);
        self.push(Work::FixedBase { steps }, product.1, product.2);
        product.0
    }

    /// Records `steps` times `base` (a point on the curve) and returns the product and the
    /// running sums as [`GateTable::fixed_base_mul`] does.
    pub fn variable_base_mul(
        &self,
        ctx: &mut Context<Fr>,
        base: (AssignedValue<Fr>, AssignedValue<Fr>),
        steps: Vec<Step>,
        taps: &[usize],
    ) -> Product {
        let point = (*base.0.value(), *base.1.value());
        let (_, product, sums) = edwards_rows::variable_base(point, &steps);
        let product = self.record_mul(ctx, Some(base), &steps, taps, product, &sums);
        self.push(
            Work::VariableBase { base: point, steps },
            product.1,
            product.2,
        );
        product.0
    }

    fn record_mul(
        &self,
        ctx: &mut Context<Fr>,
        base: Option<(AssignedValue<Fr>, AssignedValue<Fr>)>,
        steps: &[Step],
        taps: &[usize],
        product: Point,
        sums: &[Fr],
    ) -> (Product, Vec<Link>, usize) {
        let variable = base.is_some();
        let zero = ctx.load_zero();
        let one = ctx.load_constant(Fr::ONE);
        let mut links = Links::new(ctx);
        links.input(0, 0, &zero);
        links.input(0, 1, &one);
        links.input(0, 5, &zero);
        if let Some((x, y)) = base {
            links.input(0, 3, &x);
            links.input(0, 4, &y);
        }
        let end = edwards_rows::sum_row(variable, steps.len());
        let x = links.output(end, 0, product.0);
        let y = links.output(end, 1, product.1);
        let mut out = Vec::with_capacity(taps.len() + 1);
        for &t in taps.iter().chain([steps.len()].iter()) {
            let sum = sums.get(t).copied().unwrap_or(Fr::ZERO);
            out.push(links.output(edwards_rows::sum_row(variable, t), 5, sum));
        }
        let (links, offset) = (links.links, ctx.advice.len());
        (Product { x, y, sums: out }, links, offset)
    }

    /// Rows the recorded jobs take.
    pub fn rows(&self) -> usize {
        self.jobs().iter().map(|j| j.work.row_count()).sum()
    }

    /// Advice cells the recorded jobs assign.
    pub fn cells(&self) -> usize {
        self.jobs().iter().map(|j| j.work.cells()).sum()
    }

    /// Each recorded job's shape and the advice cells it assigns, in order.
    pub fn job_cells(&self) -> Vec<(JobShape, usize)> {
        self.jobs()
            .iter()
            .map(|j| (j.work.shape(), j.work.cells()))
            .collect()
    }

    /// Where each recorded job sits, in order.
    pub fn places(&self) -> Vec<JobPlace> {
        let mut start = 0;
        self.jobs()
            .iter()
            .map(|j| {
                let end = start + j.work.row_count();
                let place = JobPlace {
                    start,
                    end,
                    offset: j.offset,
                };
                start = end;
                place
            })
            .collect()
    }

    /// The shape of the table (each job's kind and length, in order), for fingerprints.
    pub fn shape(&self) -> Vec<JobShape> {
        self.jobs().iter().map(|j| j.work.shape()).collect()
    }

    /// Lays out every recorded job from row 0, enables the gates and registers the region's
    /// cells for the placeholders in `copy`. Fails when the jobs need more than
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
        #[cfg(test)]
        let tamper = *self.tamper.lock().unwrap_or_else(|e| e.into_inner());
        let jobs = self.jobs();
        let mut registered: Vec<(ContextCell, Cell)> = Vec::new();
        let mut offset = 0;
        for job in jobs.iter() {
            let rows = job.work.rows();
            let mut cells: Vec<[Option<Cell>; rows::ADVICE]> = Vec::with_capacity(rows.len());
            for (i, row) in rows.iter().enumerate() {
                let at = offset + i;
                #[allow(unused_mut)]
                let mut advice = row.advice;
                #[cfg(test)]
                if let Some((r, c, v)) = tamper {
                    if r == at {
                        advice[c] = v;
                    }
                }
                let mut row_cells = [None; rows::ADVICE];
                for (c, (column, value)) in config.columns.advice.iter().zip(advice).enumerate() {
                    if rows::is_read(row.kind, i == 0, c) {
                        row_cells[c] = Some(
                            region
                                .assign_advice(*column, at, Value::known(value))
                                .cell(),
                        );
                    }
                }
                cells.push(row_cells);
                for (column, value) in config.columns.fixed.iter().zip(row.fixed) {
                    region.assign_fixed(*column, at, value);
                }
                if let Some(selector) = config.selector(row.kind) {
                    selector.enable(region, at)?;
                }
            }
            for link in &job.links {
                if let Some(cell) = cells.get(link.row).and_then(|r| r[link.column]) {
                    registered.push((link.placeholder, cell));
                }
            }
            offset += rows.len();
        }
        let mut copy = copy.lock().unwrap_or_else(|e| e.into_inner());
        copy.assigned_advices.extend(registered);
        Ok(())
    }
}
