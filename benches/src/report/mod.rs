//! The benchmark report researchers read at a glance: `scripts/report.sh` runs the benchmarks
//! and commands that measure zkroll, [`collect`] gathers their machine-readable output into
//! one [`Report`] (JSON, with the machine it ran on), and [`render`] draws the plots
//! ([`plot`], PNG through plotters) and writes `report.md` with a data table under each plot
//! and the command that reproduces it.
//!
//! Every section is optional: a run that skipped one (or a `--quick` run with reduced sizes)
//! says so in the report instead of inventing figures.

pub mod collect;
pub mod markdown;
pub mod plot;

use std::path::Path;

use serde::{Deserialize, Serialize};

/// Everything one report run measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The machine and the code the figures come from.
    pub machine: Machine,
    /// Made by `scripts/report.sh --quick` (reduced sizes).
    pub quick: bool,
    /// MSM time by size and engine.
    pub msm: Option<MsmSection>,
    /// Chunk proofs by chunk size.
    pub chunks: Option<ChunkSection>,
    /// Advice cells per primitive and per slot.
    pub cells: Option<CellSection>,
    /// Aggregation layers by batch size.
    pub aggregation: Option<AggregationSection>,
    /// L1 gas by batch size.
    pub gas: Option<GasSection>,
    /// The other criterion benchmarks (engine execution, primitives, chunk proving), as
    /// tables. Reports written before this section existed read as `None`.
    #[serde(default)]
    pub criterion: Option<CriterionSection>,
}

/// The machine and the code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// CPU model name.
    pub cpu: String,
    /// The CPU flags that matter to the field arithmetic (ADX, BMI2, AVX2, AVX-512 IFMA...).
    pub flags: Vec<String>,
    /// Logical cores.
    pub cores: usize,
    /// Memory, bytes.
    pub memory_bytes: u64,
    /// Operating system (kernel release).
    pub os: String,
    /// Git commit of the code measured (`-dirty` when the tree had changes).
    pub commit: String,
    /// When the run started (UTC, ISO 8601).
    pub date: String,
}

/// A section's reproduction: the command, and whether the figures are measured or modelled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// The command(s) that reproduce the figures.
    pub command: String,
    /// Seconds the section took in this run.
    pub seconds: Option<f64>,
}

/// MSM on BN254 G1: criterion's mean time per size and engine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MsmSection {
    /// How it was made.
    pub provenance: Provenance,
    /// One row per engine and size.
    pub rows: Vec<MsmRow>,
}

/// One criterion measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MsmRow {
    /// The engine (criterion's function id: `zkroll cpu`, `halo2curves msm_best`, `arkworks`...).
    pub engine: String,
    /// log2 of the points.
    pub log: u32,
    /// Mean seconds per MSM.
    pub seconds: f64,
}

/// Chunk proofs: one `zkroll prove --json` run per chunk size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkSection {
    /// How it was made.
    pub provenance: Provenance,
    /// One row per chunk size.
    pub rows: Vec<ChunkRow>,
}

/// Proofs of one chunk size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkRow {
    /// Transaction slots per chunk.
    pub chunk_size: usize,
    /// Rows exponent of the circuit.
    pub k: u32,
    /// Proofs made.
    pub proofs: usize,
    /// Mean seconds of one proof (keys loaded).
    pub seconds_per_proof: f64,
    /// Peak resident memory of the run, bytes.
    pub peak_rss_bytes: Option<u64>,
    /// The prover's prediction of that peak, bytes.
    pub predicted_peak_bytes: Option<u64>,
}

impl ChunkRow {
    /// Slots (transfers) proven per second by one proof at a time.
    pub fn transfers_per_second(&self) -> f64 {
        self.chunk_size as f64 / self.seconds_per_proof
    }
}

/// Advice cells: `zkroll info --json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellSection {
    /// How it was made.
    pub provenance: Provenance,
    /// Cells of each primitive laid out alone (at the first depth of `slots`).
    pub primitives: Vec<(String, usize)>,
    /// One slot's cells by category, per account tree depth.
    pub slots: Vec<SlotCells>,
}

/// One slot's cells at one tree depth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlotCells {
    /// Account tree depth.
    pub depth: u8,
    /// Cells by category (Merkle, signature, hashes, range).
    pub cells: Vec<(String, usize)>,
}

/// Aggregation: one `zkroll aggregate --json` run per batch size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AggregationSection {
    /// How it was made.
    pub provenance: Provenance,
    /// One entry per batch size.
    pub batches: Vec<AggregationRun>,
}

/// The layers of one batch's aggregation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AggregationRun {
    /// Chunk proofs aggregated.
    pub chunks: usize,
    /// Layers, bottom-up (the last is the final EVM proof).
    pub layers: Vec<LayerRow>,
}

/// One aggregation layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerRow {
    /// Layer number (1 aggregates the chunk proofs).
    pub layer: u32,
    /// Proofs made in the layer.
    pub proofs: usize,
    /// Seconds of the layer, its key generation or loading included.
    pub seconds: f64,
    /// Whether its keys were generated in this run (not loaded from the cache).
    pub keys_generated: bool,
    /// Peak resident memory of the process when the layer ended, bytes.
    pub peak_rss_bytes: Option<u64>,
}

/// L1 gas: the final proof's verifier and `submitBatch` measured in revm
/// (`zkroll gen-verifier --report`), and `submitBatch` behind an accepting stand-in verifier
/// for batches of 8 to 256 transactions; a batch's total is modelled as the stand-in's plus
/// the verifier's own work.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GasSection {
    /// How it was made.
    pub provenance: Provenance,
    /// The verifier called directly with the report's final proof.
    pub verifier: GasSplit,
    /// `Rollup.submitBatch` of the report's final proof.
    pub submit_batch: GasSplit,
    /// Proof length of the stand-in measurements, bytes.
    pub stand_in_proof_bytes: usize,
    /// `submitBatch` behind the stand-in verifier.
    pub batches: Vec<BatchGas>,
}

/// A call's gas, split.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GasSplit {
    /// All of it.
    pub total: u64,
    /// The transaction base (21,000).
    pub base: u64,
    /// Calldata.
    pub calldata: u64,
    /// Calldata bytes.
    pub calldata_bytes: u64,
    /// The ecPairing precompile.
    pub ec_pairing: u64,
    /// The ecMul precompile.
    pub ec_mul: u64,
    /// The ecAdd precompile.
    pub ec_add: u64,
    /// Everything else.
    pub execution: u64,
}

/// `submitBatch` of one batch behind the stand-in verifier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchGas {
    /// `transfer`, `deposit` or `withdraw`.
    pub kind: String,
    /// Transactions in the batch.
    pub count: usize,
    /// The transaction base.
    pub base: u64,
    /// Calldata (the stand-in proof's bytes included).
    pub calldata: u64,
    /// Calldata bytes.
    pub calldata_bytes: u64,
    /// `Rollup`'s own execution.
    pub execution: u64,
}

impl BatchGas {
    /// `8 transfers`, `256 withdrawals`.
    pub fn label(&self) -> String {
        let plural = match self.kind.as_str() {
            "withdraw" => "withdrawals".to_string(),
            kind => format!("{kind}s"),
        };
        format!("{} {plural}", self.count)
    }
}

/// The criterion benchmarks other than `msm`: one table per benchmark target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CriterionSection {
    /// How it was made.
    pub provenance: Provenance,
    /// One entry per benchmark target (`execute`, `primitives`, `prove`), in the order run.
    pub benches: Vec<CriterionBench>,
}

/// One benchmark target's measurements.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CriterionBench {
    /// The target's name under `benches/benches/`.
    pub name: String,
    /// Its measurements, by id (numbers in ids compared as numbers).
    pub rows: Vec<CriterionRow>,
    /// What the target printed beside criterion's output (the prove bench's peak RSS lines).
    pub notes: Vec<String>,
}

/// One criterion measurement.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CriterionRow {
    /// Criterion's full id (`execute/transfers/1000`).
    pub id: String,
    /// Mean seconds per iteration.
    pub mean: f64,
    /// The 95% confidence interval of the mean, seconds.
    pub interval: (f64, f64),
    /// Elements one iteration processes (transfers, slots), when the benchmark declares them.
    pub elements: Option<u64>,
}

impl CriterionRow {
    /// Elements per second at the mean, when the benchmark declares elements.
    pub fn per_second(&self) -> Option<f64> {
        self.elements.map(|n| n as f64 / self.mean)
    }
}

/// A batch's modelled total, split for the plot: ecPairing, ecMul (with ecAdd), calldata,
/// execution (the rollup's and the verifier's), base.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelledGas {
    /// ecPairing (the verifier's).
    pub pairing: u64,
    /// ecMul and ecAdd (the verifier's).
    pub ec_mul: u64,
    /// Calldata.
    pub calldata: u64,
    /// Execution: the rollup's and the verifier's.
    pub execution: u64,
    /// The transaction base.
    pub base: u64,
}

impl ModelledGas {
    /// The batch behind the stand-in plus the verifier's work.
    pub fn of(batch: &BatchGas, verifier: &GasSplit) -> Self {
        Self {
            pairing: verifier.ec_pairing,
            ec_mul: verifier.ec_mul + verifier.ec_add,
            calldata: batch.calldata,
            execution: batch.execution + verifier.execution,
            base: batch.base,
        }
    }

    /// The sum.
    pub fn total(&self) -> u64 {
        self.pairing + self.ec_mul + self.calldata + self.execution + self.base
    }
}

impl Report {
    /// Reads a report file; the error names the file.
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", path.display()))?;
        serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("{}: not a report: {e}", path.display()))
    }
}

/// `1234567.0` -> `1,234,567` (rounded, negatives as 0).
pub fn thousands(v: f64) -> String {
    let digits = format!("{:.0}", v.max(0.0));
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// The MSM engines of `rows` in the order they first appear.
pub fn plot_engines(rows: &[MsmRow]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in rows {
        if !out.contains(&r.engine) {
            out.push(r.engine.clone());
        }
    }
    out
}

/// What [`render`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// The markdown file.
    pub markdown: std::path::PathBuf,
    /// The plots.
    pub plots: Vec<std::path::PathBuf>,
}

/// Draws the plots of `report` into `out/report/` and writes `out/report.md`, with `font` (a
/// TrueType file) for the plots' text.
pub fn render(report: &Report, out: &Path, font: &Path) -> anyhow::Result<Rendered> {
    plot::use_font(font)?;
    let dir = out.join("report");
    std::fs::create_dir_all(&dir)
        .map_err(|e| anyhow::anyhow!("{}: cannot create: {e}", dir.display()))?;
    let plots = plot::draw_all(report, &dir)?;
    let markdown = out.join("report.md");
    let text = markdown::render(report, "report");
    std::fs::write(&markdown, text)
        .map_err(|e| anyhow::anyhow!("{}: cannot write: {e}", markdown.display()))?;
    Ok(Rendered { markdown, plots })
}
