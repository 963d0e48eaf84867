//! `zkroll aggregate`: aggregate a batch's chunk proofs into one final proof (resumes:
//! valid proofs of the tree already on disk are kept).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::Result;
use clap::Args;
use zkroll_aggregator::batch::{self, Event, Settings};
use zkroll_aggregator::{Shape, TreePlan};
use zkroll_prover::memory;

use crate::output::outln;
use crate::progress::{self, Heartbeat};
use crate::prove::{Format, MsmArg};

/// Options shared by the commands that build the aggregation tree.
#[derive(Args, Clone)]
pub struct TreeArgs {
    /// Chunks per batch the aggregation tree is built for (a power of --fan-in; fewer chunks are
    /// padded with no-op chunks). The L1 verifier depends on it.
    #[arg(long, default_value_t = 2)]
    pub capacity: usize,
    /// Proofs each aggregation node verifies (the capacity must be a power of it).
    #[arg(long, default_value_t = 2)]
    pub fan_in: usize,
    /// How the EVM proof is made: `wrap`, a one-proof final node over the tree's top node (a
    /// thin circuit at --final-k: cheaper on L1, one proof more), or `top`, the top node
    /// itself (one proof fewer). The L1 verifier depends on it.
    #[arg(long, value_enum, default_value_t = FinalArg::Top)]
    pub final_node: FinalArg,
    /// Rows exponent of the intermediate (Poseidon) layers.
    #[arg(long, default_value_t = 21)]
    pub layer_k: u32,
    /// Rows exponent of the final (EVM) layer (22: the top node over two chunk proofs in 3
    /// advice columns; see docs/benchmarks.md for the trade-off with time and gas).
    #[arg(long, default_value_t = 22)]
    pub final_k: u32,
    /// Memory one aggregation proof or key generation may use, in GiB (default: the memory
    /// available when a layer starts); a layer predicted to need more is refused before it
    /// starts, keeping the proofs already made.
    #[arg(long, value_name = "GIB")]
    pub memory_limit: Option<f64>,
    /// Go on even when a layer is predicted not to fit in memory.
    #[arg(long, conflicts_with = "memory_limit")]
    pub force: bool,
    /// Multi-scalar multiplication backend of the commitments: `cpu`, `halo2curves`, `gpu`
    /// or `auto`, as for `zkroll prove` (the proofs are the same).
    #[arg(long, value_enum, default_value_t = MsmArg::Cpu)]
    pub msm: MsmArg,
}

/// How the final (EVM) proof is made.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FinalArg {
    /// A one-proof final node over the top node.
    Wrap,
    /// The top node is the final proof.
    Top,
}

impl TreeArgs {
    pub fn settings(&self, format: Format) -> Result<Settings> {
        if !(2..=8).contains(&self.fan_in) {
            anyhow::bail!("--fan-in {}: must be 2..=8", self.fan_in);
        }
        let plan = TreePlan::new(
            self.capacity,
            Shape {
                fan_in: self.fan_in,
                wrap: self.final_node == FinalArg::Wrap,
            },
        );
        if self.capacity == 0 || plan.leaves != self.capacity || self.capacity > 1 << 12 {
            anyhow::bail!(
                "--capacity {}: must be a power of the fan-in {} (at least {0}) up to 4096",
                self.capacity,
                self.fan_in
            );
        }
        for (name, k) in [("--layer-k", self.layer_k), ("--final-k", self.final_k)] {
            if !(18..=24).contains(&k) {
                anyhow::bail!(
                    "{name} {k}: must be 18..=24 (the aggregation circuit needs 2^18 rows or more)"
                );
            }
        }
        let memory_budget = match (self.force, self.memory_limit) {
            (true, _) => Some(u64::MAX),
            (false, Some(gib)) if gib.is_finite() && gib > 0.0 => {
                Some((gib * (1u64 << 30) as f64) as u64)
            }
            (false, Some(gib)) => anyhow::bail!("--memory-limit {gib}: must be a positive number"),
            (false, None) => None,
        };
        Ok(Settings {
            capacity: self.capacity,
            shape: plan.shape,
            layer_k: self.layer_k,
            final_k: self.final_k,
            format: format.into(),
            memory_budget,
            msm: self.msm.into(),
        })
    }
}

#[derive(Args)]
pub struct AggregateArgs {
    /// Data directory (parameters, key cache).
    #[arg(long)]
    data_dir: PathBuf,
    /// Directory of the batch's chunk proofs (`<data-dir>/proofs/<trace id>-chunk<size>`
    /// after `zkroll prove`); the tree's proofs and `final.json` are written there.
    #[arg(long)]
    proofs: PathBuf,
    #[command(flatten)]
    tree: TreeArgs,
    /// Encoding of the files written.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
    /// Progress as JSON lines on stdout.
    #[arg(long)]
    json: bool,
}

fn gib(bytes: u64) -> f64 {
    bytes as f64 / (1u64 << 30) as f64
}

pub fn run(args: AggregateArgs) -> Result<ExitCode> {
    let settings = args.tree.settings(args.format)?;
    if !args.json {
        eprintln!("MSM backend: {}", settings.msm.describe());
    }
    let started = Instant::now();
    let json = args.json;
    // The long step in progress (key generation, a proof), shown until its end event.
    let running: Mutex<Option<Heartbeat>> = Mutex::new(None);
    let show = |label: Option<String>| {
        let mut running = running.lock().unwrap_or_else(|p| p.into_inner());
        // The step before ends first (its spinner cleared, its ticker stopped).
        *running = None;
        if let Some(label) = label {
            *running = Some(Heartbeat::start(Arc::new(move || label.clone())));
        }
    };
    let on = move |event: Event| {
        if !json {
            match &event {
                Event::KeysStarted {
                    layer,
                    k,
                    cached,
                    estimated_seconds,
                } => {
                    let what = if *cached {
                        "loading its keys from the cache"
                    } else {
                        "generating its keys (not cached yet; once per configuration)"
                    };
                    eprintln!(
                        "layer {layer} (k={k}): {what}: ~{} on the 2-core reference machine",
                        progress::duration(*estimated_seconds)
                    );
                    show(Some(format!("layer {layer} keys")));
                }
                Event::ProofStarted {
                    layer,
                    index,
                    estimated_seconds,
                } => {
                    eprintln!(
                        "layer {layer} proof {index}: proving, ~{} on the 2-core reference machine",
                        progress::duration(*estimated_seconds)
                    );
                    show(Some(format!("layer {layer} proof {index}")));
                }
                Event::Keys { .. } | Event::Proven { .. } => show(None),
                _ => {}
            }
        }
        let value = match &event {
            Event::KeysStarted {
                layer,
                k,
                cached,
                estimated_seconds,
            } => {
                serde_json::json!({"event": "keys_started", "layer": layer, "k": k, "cached": cached,
                    "estimated_seconds": estimated_seconds})
            }
            Event::ProofStarted {
                layer,
                index,
                estimated_seconds,
            } => {
                serde_json::json!({"event": "proof_started", "layer": layer, "index": index,
                    "estimated_seconds": estimated_seconds})
            }
            Event::ChunksVerified {
                chunks,
                padding,
                layers,
            } => {
                if !json {
                    eprintln!(
                        "{chunks} chunk proofs verified; {padding} padding chunks, {layers} \
                         aggregation layers + the final (EVM) one"
                    );
                }
                serde_json::json!({"event": "chunks_verified", "chunks": chunks, "padding": padding, "layers": layers})
            }
            Event::Kept { layer, index } => {
                if !json {
                    eprintln!("layer {layer} proof {index}: valid proof on disk kept");
                }
                serde_json::json!({"event": "kept", "layer": layer, "index": index})
            }
            Event::Keys {
                layer,
                source,
                seconds,
                predicted_peak,
                resident_before,
            } => {
                if !json {
                    eprintln!(
                        "layer {layer} keys {source:?} in {seconds:.1} s; predicted peak {:.1} \
                         GiB per proof, over {} resident before the layer",
                        gib(*predicted_peak),
                        resident_before.map_or("unknown".into(), |b| format!("{:.2} GiB", gib(b)))
                    );
                }
                serde_json::json!({"event": "keys", "layer": layer, "source": format!("{source:?}"),
                    "seconds": seconds, "predicted_peak_bytes": predicted_peak,
                    "resident_before_bytes": resident_before})
            }
            Event::LayerDone {
                layer,
                seconds,
                peak_rss,
            } => {
                if !json {
                    eprintln!(
                        "layer {layer} done in {seconds:.1} s; peak RSS {}",
                        peak_rss.map_or("unknown".into(), |b| format!("{:.2} GiB", gib(b)))
                    );
                }
                serde_json::json!({"event": "layer_done", "layer": layer, "seconds": seconds,
                    "peak_rss_bytes": peak_rss})
            }
            Event::Proven {
                layer,
                index,
                seconds,
                path,
            } => {
                if !json {
                    eprintln!(
                        "layer {layer} proof {index}: proven in {seconds:.1} s -> {}",
                        path.display()
                    );
                }
                serde_json::json!({"event": "proven", "layer": layer, "index": index, "seconds": seconds, "path": path})
            }
        };
        if json {
            outln!("{value}");
        }
    };
    let path = batch::aggregate(&args.data_dir, &args.proofs, &settings, &on);
    show(None);
    let path = path?;
    let seconds = started.elapsed().as_secs_f64();
    let peak = memory::peak_rss();
    if json {
        outln!(
            "{}",
            serde_json::json!({"event": "done", "path": path, "seconds": seconds, "peak_rss_bytes": peak})
        );
    } else {
        if let Some(peak) = peak {
            eprintln!("peak RSS {:.2} GiB", peak as f64 / (1u64 << 30) as f64);
        }
        outln!("final proof in {seconds:.1} s: {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}
