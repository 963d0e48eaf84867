//! Aggregating a batch's chunk proofs on disk into one final proof, layer by layer, each
//! proof written to its own file as soon as it is done (atomically): a re-run keeps every
//! valid proof already there, so an interrupted aggregation loses nothing that finished.
//!
//! Files in the proofs directory (that of `zkroll prove`): `chunk-<i>` (the padding chunks
//! `i >= chunks` are proven here), `layer<L>-<i>` for the Poseidon layers, `final` for the
//! EVM proof; `.json` or `.zkrp` as asked.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_base::halo2_proofs::plonk::VerifyingKey;
use halo2_base::halo2_proofs::poly::commitment::Params;
use halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use snark_verifier_sdk::halo2::aggregation::AggregationConfigParams;
use snark_verifier_sdk::Snark;
use zkroll_circuits::chunk::{self, ChunkWitness};
use zkroll_circuits::field::{to_circuit, to_engine};
use zkroll_circuits::proof::{self as chunk_proof, vk_hash, ChunkKeys};
use zkroll_engine::pubdata::Binding;
use zkroll_engine::ChainConfig;
use zkroll_msm::kzg::MsmParams;
use zkroll_msm::Backend;
use zkroll_prover::keys::{self as chunk_keys, params_id, KeyError, KeySource, CIRCUIT_VERSION};
use zkroll_prover::proof_file::{ProofFile, ProofFormat, ProofSubject, PROOF_FILE_VERSION};
use zkroll_prover::srs::{self, SrsError};

use crate::circuit::{self, node_link, snark, AggregationError, Inner, NodeKeys, NodeKind};
use crate::keys::{self as node_keys, NodeKeyError};
use crate::plan::{Shape, TreePlan};

/// How to aggregate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Chunks per batch the tree is built for (a power of the fan-in); fewer chunks are
    /// padded. The final verifying key (the L1 verifier) depends on it, so it is fixed per
    /// deployment.
    pub capacity: usize,
    /// Fan-in, and whether a one-proof final node wraps the top node (fixed per
    /// deployment too).
    pub shape: Shape,
    /// Rows exponent of the Poseidon layers.
    pub layer_k: u32,
    /// Rows exponent of the final (EVM) layer.
    pub final_k: u32,
    /// Encoding of the files written.
    pub format: ProofFormat,
    /// Memory one proof (or key generation) of a layer may use, in bytes; a layer predicted
    /// to need more is refused before it starts. `None`: the memory available when the
    /// layer starts (`MemAvailable`); `Some(u64::MAX)` disables the check.
    pub memory_budget: Option<u64>,
    /// MSM backend of the proofs' commitments.
    pub msm: Backend,
}

impl Default for Settings {
    /// Two chunks per batch, fan-in 2, the top node as the final proof at k=22 (3 advice
    /// columns over two chunk proofs: its verifier fits EIP-170), Poseidon layers at k=21.
    fn default() -> Self {
        Self {
            capacity: 2,
            shape: Shape::default(),
            layer_k: 21,
            final_k: 22,
            format: ProofFormat::Json,
            memory_budget: None,
            msm: Backend::Cpu,
        }
    }
}

/// Why a batch cannot be aggregated.
#[derive(Debug, thiserror::Error)]
pub enum AggregateError {
    /// A proof file is missing, unreadable or does not belong.
    #[error("{path}: {detail}")]
    ProofFile {
        /// The file.
        path: String,
        /// What is wrong.
        detail: String,
    },
    /// The chunk proofs do not form a batch this can aggregate.
    #[error("{0}")]
    Batch(String),
    /// Parameters.
    #[error("--data-dir: {0}")]
    Params(#[from] SrsError),
    /// Chunk circuit keys.
    #[error("chunk circuit keys: {0}")]
    ChunkKeys(#[from] KeyError),
    /// Aggregation keys.
    #[error("aggregation keys: {0}")]
    NodeKeys(#[from] NodeKeyError),
    /// Proving a padding chunk failed.
    #[error("padding chunk {index}: {source}")]
    Padding {
        /// Chunk number.
        index: usize,
        /// Cause.
        #[source]
        source: chunk_proof::ProofError,
    },
    /// A layer's proofs are predicted to need more memory than allowed; refused before its
    /// keys are generated or its proofs started (finished proofs stay on disk).
    #[error(
        "layer {layer}: one proof is predicted to need {:.1} GiB, more than the {:.1} GiB \
         allowed ({what}); free memory, lower --layer-k/--final-k, or force it",
        gib(*predicted), gib(*budget)
    )]
    Memory {
        /// Layer (`layers + 1` is the final one).
        layer: u32,
        /// Predicted peak of one proof, bytes.
        predicted: u64,
        /// The budget, bytes.
        budget: u64,
        /// Where the budget comes from.
        what: &'static str,
    },
    /// The parameters could not be prepared for the MSM backend.
    #[error("parameters for the MSM backend: {0}")]
    MsmParams(#[source] std::io::Error),
    /// Stopped on request before a proof or a key generation (the proofs already written
    /// stay; a later run keeps them).
    #[error("stopped before layer {layer} node {index}")]
    Stopped {
        /// Layer of the proof that was next (0: padding chunks).
        layer: u32,
        /// Node.
        index: usize,
    },
    /// Node proofs asked of others ([`RemoteNodes`]: workers on a task bus) did not come.
    #[error("layer {layer}: {reason}")]
    Remote {
        /// Layer.
        layer: u32,
        /// Why.
        reason: String,
    },
    /// Aggregation failed.
    #[error("layer {layer} node {index}: {source}")]
    Node {
        /// Layer.
        layer: u32,
        /// Node.
        index: usize,
        /// Cause.
        #[source]
        source: AggregationError,
    },
}

/// What happened, for progress reports.
#[derive(Debug, Clone)]
pub enum Event {
    /// The chunk proofs were read and verified.
    ChunksVerified {
        /// Real chunks.
        chunks: usize,
        /// Padding chunks the plan adds.
        padding: usize,
        /// Poseidon layers.
        layers: u32,
    },
    /// A proof already on disk is valid and kept.
    Kept {
        /// Layer (0: chunk proofs).
        layer: u32,
        /// Node.
        index: usize,
    },
    /// A layer's keys are about to be loaded from the cache or, when not cached, generated
    /// (minutes; once per configuration).
    KeysStarted {
        /// Layer (`layers + 1` is the final one).
        layer: u32,
        /// Rows exponent of the layer's circuit.
        k: u32,
        /// In the cache (loaded) or not (generated).
        cached: bool,
        /// What it takes on the reference machine ([`reference_seconds`]).
        estimated_seconds: f64,
    },
    /// A proof of an aggregation node is about to be made (minutes).
    ProofStarted {
        /// Layer (`layers + 1` is the final one).
        layer: u32,
        /// Node.
        index: usize,
        /// What it takes on the reference machine ([`reference_seconds`]).
        estimated_seconds: f64,
    },
    /// Keys of a layer are ready.
    Keys {
        /// Layer (`layers + 1` is the final one).
        layer: u32,
        /// Cached or generated.
        source: KeySource,
        /// Seconds it took.
        seconds: f64,
        /// Predicted peak memory of one proof of this layer, from its columns
        /// (`zkroll_circuits::stats::estimate_memory`), in bytes.
        predicted_peak: u64,
        /// Resident memory of this process when the layer started (parameters, proofs of
        /// the layer below, allocator reserves), in bytes (Linux); the layer's peak is about
        /// this plus the predicted peak.
        resident_before: Option<u64>,
    },
    /// A layer is finished.
    LayerDone {
        /// Layer (`layers + 1` is the final one).
        layer: u32,
        /// Seconds, keys included.
        seconds: f64,
        /// Peak resident memory of this process during the layer, in bytes (Linux).
        peak_rss: Option<u64>,
    },
    /// A proof was made and written.
    Proven {
        /// Layer (0: padding chunk).
        layer: u32,
        /// Node.
        index: usize,
        /// Seconds.
        seconds: f64,
        /// File.
        path: PathBuf,
    },
}

/// One proof of the tree with what the next layer needs of it.
struct Proven {
    instances: Vec<Fr>,
    proof: Vec<u8>,
    /// Pubdata of the chunks it covers.
    pubdata: Vec<u8>,
}

/// The context every proof file of the batch shares (from its chunk proofs).
struct BatchInfo {
    chunk_size: usize,
    config: ChainConfig,
    chunk_k: u32,
    trace_id: String,
    steps_hint: usize,
}

fn gib(bytes: u64) -> f64 {
    bytes as f64 / (1u64 << 30) as f64
}

/// The check `node_keys::load_or_generate` runs on a layer's configuration before loading
/// or generating its keys.
fn admit_layer(
    settings: &Settings,
    layer: u32,
) -> impl FnOnce(&AggregationConfigParams) -> Result<(), AggregateError> + '_ {
    move |config| {
        let predicted = predicted_peak(config);
        let (budget, what) = match settings.memory_budget {
            Some(budget) => (budget, "--memory-limit"),
            None => match zkroll_prover::memory::machine_memory() {
                Some((_, available)) => (available, "memory available now"),
                None => (u64::MAX, "unknown"),
            },
        };
        if predicted > budget {
            return Err(AggregateError::Memory {
                layer,
                predicted,
                budget,
                what,
            });
        }
        Ok(())
    }
}

fn file_error(path: &Path, detail: impl ToString) -> AggregateError {
    AggregateError::ProofFile {
        path: path.display().to_string(),
        detail: detail.to_string(),
    }
}

fn read_proof_file(path: &Path) -> Result<ProofFile, AggregateError> {
    let bytes = std::fs::read(path).map_err(|e| file_error(path, e))?;
    ProofFile::decode(&bytes).map_err(|e| file_error(path, e))
}

/// The chunk proof files in `dir`, by index (JSON or binary), without gaps from 0.
fn chunk_files(dir: &Path) -> Result<Vec<PathBuf>, AggregateError> {
    let entries = std::fs::read_dir(dir).map_err(|e| file_error(dir, e))?;
    let mut found: Vec<(usize, PathBuf)> = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        let Some(rest) = name.strip_prefix("chunk-") else {
            continue;
        };
        let Some((number, ext)) = rest.split_once('.') else {
            continue;
        };
        if !["json", "zkrp"].contains(&ext) {
            continue;
        }
        if let Ok(index) = number.parse::<usize>() {
            if found.iter().any(|(i, _)| *i == index) {
                return Err(file_error(
                    &entry.path(),
                    format!("chunk {index} twice (JSON and binary): keep one"),
                ));
            }
            found.push((index, entry.path()));
        }
    }
    found.sort();
    if found.is_empty() {
        return Err(file_error(
            dir,
            "no chunk proof files (chunk-<i>.json or .zkrp)",
        ));
    }
    for (expected, (index, path)) in found.iter().enumerate() {
        if *index != expected {
            return Err(AggregateError::Batch(format!(
                "{}: chunk {expected} is missing (found chunk {index} next)",
                path.display()
            )));
        }
    }
    Ok(found.into_iter().map(|(_, p)| p).collect())
}

fn node_path(dir: &Path, layer: u32, index: usize, last: bool, format: ProofFormat) -> PathBuf {
    let ext = format.extension();
    if last {
        dir.join(format!("final.{ext}"))
    } else if layer == 0 {
        dir.join(format!("chunk-{index}.{ext}"))
    } else {
        dir.join(format!("layer{layer}-{index}.{ext}"))
    }
}

/// Aggregates the chunk proofs in `proofs_dir` (written by `zkroll prove`) into one final
/// proof there; returns its path. Parameters and keys come from `data_dir`.
pub fn aggregate(
    data_dir: &Path,
    proofs_dir: &Path,
    settings: &Settings,
    on: &(dyn Fn(Event) + Sync),
) -> Result<PathBuf, AggregateError> {
    aggregate_until(data_dir, proofs_dir, settings, on, &|| false)
}

/// [`aggregate`], asking `stop` before every proof and key generation: when it answers
/// true, returns [`AggregateError::Stopped`] (a proof in progress is finished first).
pub fn aggregate_until(
    data_dir: &Path,
    proofs_dir: &Path,
    settings: &Settings,
    on: &(dyn Fn(Event) + Sync),
    stop: &(dyn Fn() -> bool + Sync),
) -> Result<PathBuf, AggregateError> {
    aggregate_with(data_dir, proofs_dir, settings, on, stop, None)
}

/// A node proof to be made elsewhere ([`RemoteNodes`]): the files of its inner proofs (in
/// order) and the file to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRequest {
    /// Layer (`layers + 1` is the final one).
    pub layer: u32,
    /// Node.
    pub index: usize,
    /// The final (EVM) node.
    pub last: bool,
    /// Proof files of the nodes (or chunks) below it.
    pub inputs: Vec<PathBuf>,
    /// Where its proof file is to be written.
    pub output: PathBuf,
    /// Memory its proof is predicted to need, bytes ([`predicted_peak`]).
    pub memory: u64,
}

/// Makes the missing node proofs of one layer elsewhere (workers on a task bus) and writes
/// each to its [`NodeRequest::output`]; returns the seconds each took. [`aggregate_with`]
/// checks every file before it counts, as it checks a proof kept from an earlier run.
pub type RemoteNodes<'a> = dyn Fn(&[NodeRequest]) -> Result<Vec<f64>, AggregateError> + Sync + 'a;

/// [`aggregate_until`], with the node proofs made by `remote` when given: this process then
/// needs only the layers' verifying keys (loaded from the cache, or generated with the
/// keys once), not their proving keys, and checks each proof it is given.
pub fn aggregate_with(
    data_dir: &Path,
    proofs_dir: &Path,
    settings: &Settings,
    on: &(dyn Fn(Event) + Sync),
    stop: &(dyn Fn() -> bool + Sync),
    remote: Option<&RemoteNodes<'_>>,
) -> Result<PathBuf, AggregateError> {
    let check = |layer: u32, index: usize| {
        if stop() {
            Err(AggregateError::Stopped { layer, index })
        } else {
            Ok(())
        }
    };
    let files = chunk_files(proofs_dir)?;
    let first = read_proof_file(&files[0])?;
    let info = BatchInfo {
        chunk_size: first.chunk_size,
        config: first.config,
        chunk_k: first.k,
        trace_id: first.trace_id.clone(),
        steps_hint: 0,
    };
    let chunk_params = Arc::new(srs::load(data_dir, info.chunk_k)?);
    let (chunk_keys, _) =
        chunk_keys::load_or_generate(data_dir, &chunk_params, info.chunk_size, info.config)?;
    let chunk_vk_hash = vk_hash(chunk_keys.vk());

    // The chunk proofs: same batch and circuit, each valid. Padding chunks proven by an
    // earlier run are among them; they chain like real ones.
    let mut leaves: Vec<Proven> = Vec::new();
    let mut steps = 0;
    for (index, path) in files.iter().enumerate() {
        let file = read_proof_file(path)?;
        let ProofSubject::Chunk { index: i, start } = file.subject else {
            return Err(file_error(path, "not a chunk proof"));
        };
        let consistent = i == index
            && file.trace_id == info.trace_id
            && file.chunk_size == info.chunk_size
            && file.config == info.config
            && file.k == info.chunk_k
            && file.circuit_version == CIRCUIT_VERSION;
        if !consistent {
            return Err(file_error(
                path,
                format!(
                    "not chunk {index} of trace {} (chunk size {}, k={}, circuit version \
                     {CIRCUIT_VERSION})",
                    info.trace_id, info.chunk_size, info.chunk_k
                ),
            ));
        }
        if file.vk_hash != chunk_vk_hash {
            return Err(file_error(path, "verifying key mismatch"));
        }
        let instances = file.chunk_instances().ok_or_else(|| {
            file_error(
                path,
                format!("expected {} public inputs", chunk::PUBLIC_INPUTS.len()),
            )
        })?;
        chunk_proof::verify(&chunk_params, chunk_keys.vk(), &file.proof, &instances)
            .map_err(|e| file_error(path, e))?;
        steps = steps.max(start + info.chunk_size);
        leaves.push(Proven {
            instances: instances.iter().map(to_circuit).collect(),
            proof: file.proof,
            pubdata: file.pubdata,
        });
    }
    let info = BatchInfo {
        steps_hint: steps,
        ..info
    };
    if leaves.len() > settings.capacity {
        return Err(AggregateError::Batch(format!(
            "{} chunks, more than the capacity {} the tree is built for",
            leaves.len(),
            settings.capacity
        )));
    }
    let plan = TreePlan::new(settings.capacity, settings.shape);
    if plan.leaves != settings.capacity {
        return Err(AggregateError::Batch(format!(
            "capacity {} is not a power of the fan-in {}",
            settings.capacity, plan.shape.fan_in
        )));
    }
    on(Event::ChunksVerified {
        chunks: files.len(),
        padding: plan.leaves - files.len(),
        layers: plan.layers,
    });

    // Padding chunks: root, commitment and pubdata evaluation of the last chunk, unchanged.
    let padding_prover = if leaves.len() < plan.leaves {
        Some(
            settings
                .msm
                .params(Arc::clone(&chunk_params))
                .map_err(AggregateError::MsmParams)?,
        )
    } else {
        None
    };
    while let (true, Some(prover)) = (leaves.len() < plan.leaves, &padding_prover) {
        let index = leaves.len();
        let last = &leaves[leaves.len() - 1].instances;
        let witness = ChunkWitness::idle(
            info.config,
            info.chunk_size,
            info.steps_hint,
            to_engine(&last[1]),
            to_engine(&last[3]),
            Binding {
                point: to_engine(&last[6]),
                value: to_engine(&last[8]),
            },
        );
        check(0, index)?;
        let t = Instant::now();
        let proof = chunk_proof::prove(prover, &chunk_keys, &witness)
            .map_err(|source| AggregateError::Padding { index, source })?;
        let path = node_path(proofs_dir, 0, index, false, settings.format);
        let file = proof_file(
            &info,
            &chunk_params,
            chunk_keys.vk(),
            ProofSubject::Chunk {
                index,
                start: info.steps_hint,
            },
            witness.public_inputs().to_vec(),
            Vec::new(),
            proof.clone(),
        );
        write(&path, &file, settings.format)?;
        on(Event::Proven {
            layer: 0,
            index,
            seconds: t.elapsed().as_secs_f64(),
            path,
        });
        leaves.push(Proven {
            instances: witness.public_inputs().iter().map(to_circuit).collect(),
            proof,
            pubdata: Vec::new(),
        });
    }

    let mut below_paths = files;
    below_paths.extend(
        (below_paths.len()..leaves.len())
            .map(|index| node_path(proofs_dir, 0, index, false, settings.format)),
    );
    let layer_params = Arc::new(srs::load(data_dir, settings.layer_k)?);
    let final_params = if settings.final_k == settings.layer_k {
        None
    } else {
        Some(Arc::new(srs::load(data_dir, settings.final_k)?))
    };
    let mut below = leaves;
    let mut below_vk: VerifyingKey<G1Affine> = chunk_keys.vk().clone();
    let mut below_params: &ParamsKZG<Bn256> = &chunk_params;
    let mut below_inner = Inner::Chunks;
    drop(chunk_keys);
    for layer in 1..=plan.layers + 1 {
        let last = layer == plan.layers + 1;
        let params = match (&final_params, last) {
            (Some(p), true) => p,
            _ => &layer_params,
        };
        let kind = NodeKind {
            inner: below_inner,
            fan_in: plan.fan_in(layer),
            last,
        };
        let layer_started = Instant::now();
        zkroll_prover::memory::reset_peak_rss();
        check(layer, 0)?;
        let inner = (below_params, &below_vk);
        let (keys, vk, memory) = if remote.is_some() {
            let (vk, config) =
                layer_vk(data_dir, params.as_ref(), inner, kind, settings, layer, on)?;
            (None, vk, predicted_peak(&config))
        } else {
            let keys = layer_keys(data_dir, params.as_ref(), inner, kind, settings, layer, on)?;
            let vk = keys.pk.get_vk().clone();
            let memory = predicted_peak(&keys.config);
            (Some(keys), vk, memory)
        };
        let prover = match &keys {
            Some(_) => Some(
                settings
                    .msm
                    .params(Arc::clone(params))
                    .map_err(AggregateError::MsmParams)?,
            ),
            None => None,
        };
        let node_err = |index| node_failure(layer, index);
        let mut proven: Vec<Option<Proven>> = Vec::new();
        let mut requests = Vec::new();
        let mut paths = Vec::new();
        for (index, children) in below.chunks(kind.fan_in).enumerate() {
            let span = plan.span(layer, index);
            let path = node_path(proofs_dir, layer, index, last, settings.format);
            paths.push(path.clone());
            check(layer, index)?;
            if let (Some(keys), Some(prover)) = (&keys, &prover) {
                let node = prove_node(
                    proofs_dir,
                    settings.format,
                    &info,
                    (prover, keys),
                    inner,
                    children,
                    (layer, index, span),
                    on,
                )
                .map_err(node_err(index))?;
                proven.push(Some(node));
                continue;
            }
            let expected = NodeExpected::of(kind, children).map_err(node_err(index))?;
            match expected.kept(params, &vk, &path) {
                Some(node) => {
                    on(Event::Kept { layer, index });
                    proven.push(Some(node));
                }
                None => {
                    let first = index * kind.fan_in;
                    requests.push((
                        NodeRequest {
                            layer,
                            index,
                            last,
                            inputs: below_paths[first..first + kind.fan_in].to_vec(),
                            output: path,
                            memory,
                        },
                        expected,
                    ));
                    proven.push(None);
                }
            }
        }
        if let (Some(remote), false) = (remote, requests.is_empty()) {
            let asked: Vec<NodeRequest> = requests.iter().map(|(r, _)| r.clone()).collect();
            let seconds = remote(&asked)?;
            for ((request, expected), seconds) in requests.into_iter().zip(seconds) {
                let node = expected.kept(params, &vk, &request.output).ok_or_else(|| {
                    file_error(
                        &request.output,
                        format!(
                            "made elsewhere for layer {layer} node {}: not a valid proof of it",
                            request.index
                        ),
                    )
                })?;
                on(Event::Proven {
                    layer,
                    index: request.index,
                    seconds,
                    path: request.output,
                });
                proven[request.index] = Some(node);
            }
        }
        on(Event::LayerDone {
            layer,
            seconds: layer_started.elapsed().as_secs_f64(),
            peak_rss: zkroll_prover::memory::peak_rss(),
        });
        below = proven
            .into_iter()
            .enumerate()
            .map(|(index, node)| {
                node.ok_or_else(|| {
                    AggregateError::Batch(format!("layer {layer} node {index}: no proof"))
                })
            })
            .collect::<Result<_, _>>()?;
        below_paths = paths;
        below_vk = vk;
        below_params = params.as_ref();
        below_inner = Inner::Aggregated;
    }
    Ok(node_path(proofs_dir, 0, 0, true, settings.format))
}

/// Seconds of one node's steps on the reference machine, for progress reports.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReferenceSeconds {
    /// Generating the node's keys (when not cached).
    pub keygen: f64,
    /// Loading them from the cache.
    pub load: f64,
    /// One proof.
    pub prove: f64,
}

/// What a node of `kind` at `2^k` rows takes on the 2-core, 24 GiB reference machine, from
/// the figures of `docs/benchmarks.md` ("Aggregation v4", 2026-12-04): a node's cells are
/// ~2.5 M plus ~2.75 M per inner proof; a node that fits its rows proves in ~150 s at k = 21
/// (the FFTs and the permutation and lookup arguments cost about the same at 5 columns as at
/// 6) and ~320 s at k = 22, with keys made in ~95 s and ~180 s; a node with more cells than
/// that takes ~12 s (proof) and ~7 s (keys) per million cells. Cached keys load in 3-22 s.
/// An estimate to tell the user what is coming, not a measurement of this machine.
pub fn reference_seconds(kind: NodeKind, k: u32) -> ReferenceSeconds {
    let scale = 2f64.powi(k as i32 - 21);
    let million_cells = 2.5 + 2.75 * kind.fan_in as f64;
    ReferenceSeconds {
        keygen: (90.0 * scale).max(7.0 * million_cells),
        load: 15.0 * scale,
        prove: (150.0 * scale).max(12.0 * million_cells),
    }
}

/// The keys of one layer, loaded or generated, with [`Event::KeysStarted`] before (so a
/// long key generation is announced) and [`Event::Keys`] after.
fn layer_keys(
    data_dir: &Path,
    params: &ParamsKZG<Bn256>,
    (inner_params, inner_vk): (&ParamsKZG<Bn256>, &VerifyingKey<G1Affine>),
    kind: NodeKind,
    settings: &Settings,
    layer: u32,
    on: &(dyn Fn(Event) + Sync),
) -> Result<NodeKeys, AggregateError> {
    let started = Instant::now();
    let resident_before = zkroll_prover::memory::current_rss();
    let cached = node_keys::is_cached(data_dir, params, inner_vk, kind);
    let reference = reference_seconds(kind, params.k());
    on(Event::KeysStarted {
        layer,
        k: params.k(),
        cached,
        estimated_seconds: if cached {
            reference.load
        } else {
            reference.keygen
        },
    });
    let (keys, source) = node_keys::load_or_generate(
        data_dir,
        params,
        inner_params,
        inner_vk,
        kind,
        admit_layer(settings, layer),
    )?;
    on(Event::Keys {
        layer,
        source,
        seconds: started.elapsed().as_secs_f64(),
        predicted_peak: predicted_peak(&keys.config),
        resident_before,
    });
    Ok(keys)
}

/// Predicted peak memory of one proof (or the key generation) of a node, from its columns.
pub fn predicted_peak(c: &AggregationConfigParams) -> u64 {
    zkroll_circuits::stats::estimate_memory(
        c.degree,
        c.num_advice + c.num_lookup_advice,
        c.num_fixed,
    )
    .1
}

enum NodeFailure {
    Aggregation(AggregationError),
    Other(AggregateError),
}

/// The error of node `index` of `layer`.
fn node_failure(layer: u32, index: usize) -> impl Fn(NodeFailure) -> AggregateError {
    move |e| match e {
        NodeFailure::Aggregation(source) => AggregateError::Node {
            layer,
            index,
            source,
        },
        NodeFailure::Other(e) => e,
    }
}

impl From<AggregationError> for NodeFailure {
    fn from(e: AggregationError) -> Self {
        NodeFailure::Aggregation(e)
    }
}

impl From<AggregateError> for NodeFailure {
    fn from(e: AggregateError) -> Self {
        NodeFailure::Other(e)
    }
}

#[allow(clippy::too_many_arguments)]
fn prove_node(
    dir: &Path,
    format: ProofFormat,
    info: &BatchInfo,
    (prover, keys): (&MsmParams, &NodeKeys),
    (inner_params, inner_vk): (&ParamsKZG<Bn256>, &VerifyingKey<G1Affine>),
    children: &[Proven],
    (layer, index, (first_chunk, chunks)): (u32, usize, (usize, usize)),
    on: &(dyn Fn(Event) + Sync),
) -> Result<Proven, NodeFailure> {
    let kind = keys.kind;
    let params = prover.kzg();
    let expected = NodeExpected::of(kind, children)?;
    let path = node_path(dir, layer, index, kind.last, format);
    let vk = keys.pk.get_vk();
    // A valid proof of this node already on disk is kept.
    if let Some(node) = expected.kept(params, vk, &path) {
        on(Event::Kept { layer, index });
        return Ok(node);
    }
    let pubdata = expected.pubdata;
    let snarks: Vec<Snark> = children
        .iter()
        .map(|c| {
            snark(
                inner_params,
                inner_vk,
                kind.inner,
                c.instances.clone(),
                c.proof.clone(),
            )
        })
        .collect();
    on(Event::ProofStarted {
        layer,
        index,
        estimated_seconds: reference_seconds(kind, params.k()).prove,
    });
    let t = Instant::now();
    let (instances, proof) = circuit::prove(prover, keys, snarks)?;
    // Checked before it is written: a proof on disk is a valid proof.
    circuit::verify(params, vk, &instances, &proof, kind.last, true)?;
    let file = proof_file(
        info,
        params,
        vk,
        ProofSubject::Aggregation {
            layer,
            index,
            first_chunk,
            chunks,
            evm: kind.last,
        },
        instances.iter().map(to_engine).collect(),
        pubdata.clone(),
        proof.clone(),
    );
    write(&path, &file, format)?;
    on(Event::Proven {
        layer,
        index,
        seconds: t.elapsed().as_secs_f64(),
        path,
    });
    Ok(Proven {
        instances,
        proof,
        pubdata,
    })
}

/// What a node's proof must show, from its inner proofs.
struct NodeExpected {
    kind: NodeKind,
    /// Its public inputs after the accumulator.
    link: Vec<Fr>,
    /// The pubdata of the chunks it covers.
    pubdata: Vec<u8>,
}

impl NodeExpected {
    fn of(kind: NodeKind, children: &[Proven]) -> Result<Self, NodeFailure> {
        let links = children
            .iter()
            .enumerate()
            .map(|(i, c)| kind.inner.link(i, &c.instances))
            .collect::<Result<Vec<_>, _>>()?;
        let link = node_link(&links, kind)?;
        let pubdata: Vec<u8> = children.iter().flat_map(|c| c.pubdata.clone()).collect();
        if kind.last {
            check_binding(&pubdata, &link)?;
        }
        Ok(Self {
            kind,
            link,
            pubdata,
        })
    }

    /// The proof in `path`, if it is a valid proof of this node under `vk`.
    fn kept(
        &self,
        params: &ParamsKZG<Bn256>,
        vk: &VerifyingKey<G1Affine>,
        path: &Path,
    ) -> Option<Proven> {
        let file = read_proof_file(path).ok()?;
        let same = file.vk_hash == vk_hash(vk)
            && file.pubdata == self.pubdata
            && file.public_inputs.len() == self.kind.num_instances()
            && file.public_inputs[circuit::ACCUMULATOR_LIMBS..]
                .iter()
                .map(to_circuit)
                .eq(self.link.iter().copied());
        if !same {
            return None;
        }
        let instances: Vec<Fr> = file.public_inputs.iter().map(to_circuit).collect();
        circuit::verify(params, vk, &instances, &file.proof, self.kind.last, true).ok()?;
        Some(Proven {
            instances,
            proof: file.proof,
            pubdata: self.pubdata.clone(),
        })
    }
}

/// A layer's verifying key and circuit configuration: from the cache (`vk.bin`, no proving
/// key read), or made with the layer's keys when they are not cached.
fn layer_vk(
    data_dir: &Path,
    params: &ParamsKZG<Bn256>,
    inner: (&ParamsKZG<Bn256>, &VerifyingKey<G1Affine>),
    kind: NodeKind,
    settings: &Settings,
    layer: u32,
    on: &(dyn Fn(Event) + Sync),
) -> Result<(VerifyingKey<G1Affine>, AggregationConfigParams), AggregateError> {
    if let Some(cached) = node_keys::load_vk(data_dir, params, inner.1, kind)
        .map_err(|e| AggregateError::NodeKeys(NodeKeyError::Files(e)))?
    {
        return Ok(cached);
    }
    let keys = layer_keys(data_dir, params, inner, kind, settings, layer, on)?;
    Ok((keys.pk.get_vk().clone(), keys.config))
}

/// Proves node `index` of layer `layer` alone, from its inner proofs' files in `proofs_dir`
/// (named as [`aggregate`] names them: `chunk-<i>.json`, `layer<L>-<i>.json`), and writes it
/// there; returns its path. A worker's task: the inner proofs were checked by whoever asked
/// for it, and are checked again by this node's circuit (a bad one makes no valid proof).
/// The inner layer's verifying key comes from the cache when it is there, else from the
/// chain of keys up from the chunk circuit (generated once).
pub fn prove_one_node(
    data_dir: &Path,
    proofs_dir: &Path,
    settings: &Settings,
    (layer, index): (u32, usize),
    on: &(dyn Fn(Event) + Sync),
) -> Result<PathBuf, AggregateError> {
    let plan = TreePlan::new(settings.capacity, settings.shape);
    if plan.leaves != settings.capacity {
        return Err(AggregateError::Batch(format!(
            "capacity {} is not a power of the fan-in {}",
            settings.capacity, plan.shape.fan_in
        )));
    }
    if layer == 0 || layer > plan.layers + 1 || index >= plan.nodes(layer) {
        return Err(AggregateError::Batch(format!(
            "layer {layer} node {index} is not in a tree of {} chunks ({} layers and the final one)",
            settings.capacity, plan.layers
        )));
    }
    let last = layer == plan.layers + 1;
    let fan_in = plan.fan_in(layer);
    let inner = if layer == 1 {
        Inner::Chunks
    } else {
        Inner::Aggregated
    };
    let kind = NodeKind {
        inner,
        fan_in,
        last,
    };
    let format = settings.format;
    let mut files = Vec::new();
    for j in index * fan_in..(index + 1) * fan_in {
        let path = node_path(proofs_dir, layer - 1, j, false, format);
        let file = read_proof_file(&path)?;
        let subject_ok = match file.subject {
            ProofSubject::Chunk { index: i, .. } => layer == 1 && i == j,
            ProofSubject::Aggregation {
                layer: l,
                index: i,
                evm: false,
                ..
            } => l == layer - 1 && i == j,
            ProofSubject::Aggregation { evm: true, .. } => false,
        };
        if !subject_ok {
            return Err(file_error(
                &path,
                format!("not the proof of layer {} node {j}", layer - 1),
            ));
        }
        files.push((path, file));
    }
    let first = &files[0].1;
    let info = BatchInfo {
        chunk_size: first.chunk_size,
        config: first.config,
        chunk_k: first.k,
        trace_id: first.trace_id.clone(),
        steps_hint: 0,
    };
    for (path, file) in &files {
        let same = file.trace_id == info.trace_id
            && file.chunk_size == info.chunk_size
            && file.config == info.config
            && file.k == first.k
            && file.vk_hash == first.vk_hash;
        if !same {
            return Err(file_error(
                path,
                "not of the same batch and circuit as its siblings",
            ));
        }
    }
    let inner_params = srs::load(data_dir, first.k)?;
    let inner_vk = match inner {
        Inner::Chunks => {
            let (keys, _) = chunk_keys::load_or_generate(
                data_dir,
                &inner_params,
                info.chunk_size,
                info.config,
            )?;
            keys.vk().clone()
        }
        Inner::Aggregated => {
            match node_keys::find_vk(data_dir, &first.vk_hash)
                .map_err(|e| AggregateError::NodeKeys(NodeKeyError::Files(e)))?
            {
                Some((vk, _)) => vk,
                None => vk_below(data_dir, settings, &info, layer - 1, on)?,
            }
        }
    };
    if vk_hash(&inner_vk) != first.vk_hash {
        return Err(file_error(
            &files[0].0,
            format!(
                "made with verifying key {}; this tree's layer {} has {}",
                first.vk_hash,
                layer - 1,
                vk_hash(&inner_vk)
            ),
        ));
    }
    let children: Vec<Proven> = files
        .into_iter()
        .map(|(_, file)| Proven {
            instances: file.public_inputs.iter().map(to_circuit).collect(),
            proof: file.proof,
            pubdata: file.pubdata,
        })
        .collect();
    let params = srs::load(
        data_dir,
        if last {
            settings.final_k
        } else {
            settings.layer_k
        },
    )?;
    let keys = layer_keys(
        data_dir,
        &params,
        (&inner_params, &inner_vk),
        kind,
        settings,
        layer,
        on,
    )?;
    let prover = settings
        .msm
        .params(Arc::new(params))
        .map_err(AggregateError::MsmParams)?;
    prove_node(
        proofs_dir,
        format,
        &info,
        (&prover, &keys),
        (&inner_params, &inner_vk),
        &children,
        (layer, index, plan.span(layer, index)),
        on,
    )
    .map_err(node_failure(layer, index))?;
    Ok(node_path(proofs_dir, layer, index, last, format))
}

/// The verifying key of layer `top` of the tree (not the final one), following the keys up
/// from the chunk circuit's (each loaded from the cache, or generated once).
fn vk_below(
    data_dir: &Path,
    settings: &Settings,
    info: &BatchInfo,
    top: u32,
    on: &(dyn Fn(Event) + Sync),
) -> Result<VerifyingKey<G1Affine>, AggregateError> {
    let plan = TreePlan::new(settings.capacity, settings.shape);
    let chunk_k = zkroll_circuits::stats::chunk_stats(info.chunk_size, info.config, None).k;
    let chunk_params = srs::load(data_dir, chunk_k)?;
    let (chunks, _) =
        chunk_keys::load_or_generate(data_dir, &chunk_params, info.chunk_size, info.config)?;
    let mut vk = chunks.vk().clone();
    drop(chunks);
    let layer_params = srs::load(data_dir, settings.layer_k)?;
    let mut below_params = chunk_params;
    for layer in 1..=top {
        let kind = NodeKind {
            inner: if layer == 1 {
                Inner::Chunks
            } else {
                Inner::Aggregated
            },
            fan_in: plan.fan_in(layer),
            last: false,
        };
        (vk, _) = layer_vk(
            data_dir,
            &layer_params,
            (&below_params, &vk),
            kind,
            settings,
            layer,
            on,
        )?;
        below_params = layer_params.clone();
    }
    Ok(vk)
}

/// The final node's pubdata binding (`expected`: old root, new root, commitment, point,
/// evaluation) is that of the pubdata its chunk proof files carry: L1 will recompute it from
/// this pubdata, so a file whose pubdata is not its proof's is refused here, not on L1.
fn check_binding(pubdata: &[u8], expected: &[Fr]) -> Result<(), AggregateError> {
    let words = zkroll_engine::pubdata::pubdata_words(pubdata)
        .map_err(|e| AggregateError::Batch(format!("the chunk proofs' pubdata: {e}")))?;
    let binding = zkroll_engine::pubdata::binding(to_engine(&expected[2]), pubdata, &words);
    if [to_circuit(&binding.point), to_circuit(&binding.value)] != expected[3..5] {
        return Err(AggregateError::Batch(
            "the chunk proofs' pubdata is not the pubdata they prove (its binding differs)".into(),
        ));
    }
    Ok(())
}

fn proof_file(
    info: &BatchInfo,
    params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    subject: ProofSubject,
    public_inputs: Vec<zkroll_engine::Fr>,
    pubdata: Vec<u8>,
    proof: Vec<u8>,
) -> ProofFile {
    ProofFile {
        version: PROOF_FILE_VERSION,
        zkroll_version: env!("CARGO_PKG_VERSION").into(),
        circuit_version: CIRCUIT_VERSION,
        subject,
        chunk_size: info.chunk_size,
        config: info.config,
        k: params.k(),
        params_id: params_id(params),
        vk_hash: vk_hash(vk),
        trace_id: info.trace_id.clone(),
        public_inputs,
        pubdata,
        proof,
    }
}

fn write(path: &Path, file: &ProofFile, format: ProofFormat) -> Result<(), AggregateError> {
    zkroll_prover::fs::write_atomic(path, &format.encode(file)).map_err(|e| file_error(path, e))
}

/// The keys of every layer for a chunk circuit configuration, generated or loaded, without
/// proofs (to make the L1 verifier before any batch exists); returns the final layer's
/// parameters and keys.
pub fn final_keys(
    data_dir: &Path,
    chunk_size: usize,
    config: ChainConfig,
    chunk_k: u32,
    settings: &Settings,
    on: &(dyn Fn(Event) + Sync),
) -> Result<(ParamsKZG<Bn256>, NodeKeys), AggregateError> {
    let plan = TreePlan::new(settings.capacity, settings.shape);
    let chunk_params = srs::load(data_dir, chunk_k)?;
    let (chunks, _): (ChunkKeys, _) =
        chunk_keys::load_or_generate(data_dir, &chunk_params, chunk_size, config)?;
    let mut below_vk = chunks.vk().clone();
    drop(chunks);
    let layer_params = srs::load(data_dir, settings.layer_k)?;
    let final_params = srs::load(data_dir, settings.final_k)?;
    let mut below_params = chunk_params;
    let mut inner = Inner::Chunks;
    for layer in 1..=plan.layers {
        let kind = NodeKind {
            inner,
            fan_in: plan.fan_in(layer),
            last: false,
        };
        let keys = layer_keys(
            data_dir,
            &layer_params,
            (&below_params, &below_vk),
            kind,
            settings,
            layer,
            on,
        )?;
        below_vk = keys.pk.get_vk().clone();
        below_params = layer_params.clone();
        inner = Inner::Aggregated;
    }
    let kind = NodeKind {
        inner,
        fan_in: plan.fan_in(plan.layers + 1),
        last: true,
    };
    let keys = layer_keys(
        data_dir,
        &final_params,
        (&below_params, &below_vk),
        kind,
        settings,
        plan.layers + 1,
        on,
    )?;
    Ok((final_params, keys))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer_config() -> AggregationConfigParams {
        // The fan-in-2 layer node over depth-6 chunks at k=21, as key generation lays it out.
        AggregationConfigParams {
            degree: 21,
            num_advice: 11,
            num_lookup_advice: 2,
            num_fixed: 1,
            lookup_bits: 20,
        }
    }

    #[test]
    fn a_layer_over_the_memory_budget_is_refused_before_it_starts() {
        let config = layer_config();
        let predicted = predicted_peak(&config);
        // Between 8 and 20 GiB for the node measured at 13 GiB.
        assert!(
            (8u64 << 30..20u64 << 30).contains(&predicted),
            "{predicted}"
        );
        let tight = Settings {
            memory_budget: Some(predicted - 1),
            ..Settings::default()
        };
        match admit_layer(&tight, 2)(&config) {
            Err(AggregateError::Memory {
                layer: 2,
                predicted: p,
                budget,
                what: "--memory-limit",
            }) => assert_eq!((p, budget), (predicted, predicted - 1)),
            other => panic!("not refused: {other:?}"),
        }
        let roomy = Settings {
            memory_budget: Some(predicted),
            ..Settings::default()
        };
        assert!(admit_layer(&roomy, 2)(&config).is_ok());
        let forced = Settings {
            memory_budget: Some(u64::MAX),
            ..Settings::default()
        };
        assert!(admit_layer(&forced, 2)(&config).is_ok());
        let Err(refused) = admit_layer(&tight, 2)(&config) else {
            panic!("not refused");
        };
        let message = refused.to_string();
        assert!(
            message.starts_with("layer 2: one proof is predicted to need"),
            "{message}"
        );
        assert!(!message.contains('\n'));
    }
}
