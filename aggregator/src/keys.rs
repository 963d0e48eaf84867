//! Keys of the aggregation node circuits, cached on disk like the chunk circuit's
//! (`zkroll_prover::keys`): per (aggregation circuit version, node kind, inner verifying
//! key, parameters). Files: `pk.bin`, `vk.bin` (to verify without loading the proving key)
//! and `meta.json`, written atomically, the metadata last. A damaged file is an error
//! naming it, never a panic.

use std::io::BufReader;
use std::path::{Path, PathBuf};

use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, G1Affine};
use halo2_base::halo2_proofs::plonk::{ProvingKey, VerifyingKey};
use halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2_base::halo2_proofs::SerdeFormat;
use serde::{Deserialize, Serialize};
use snark_verifier_sdk::halo2::aggregation::AggregationConfigParams;

use crate::NodeCircuit;
use zkroll_circuits::proof::vk_hash;
use zkroll_prover::keys::{params_id, KeyError, KeySource};

use crate::circuit::{self, AggregationError, Inner, NodeKeys, NodeKind};

/// Bumped whenever the aggregation circuit changes on purpose (4: one MSM per node,
/// [`crate::fold`]).
pub const AGGREGATION_VERSION: u32 = 4;

#[derive(Debug, Serialize, Deserialize)]
struct NodeMeta {
    version: u32,
    fan_in: usize,
    inner_aggregated: bool,
    last: bool,
    inner_vk_hash: String,
    params_id: String,
    vk_hash: String,
    config: AggregationConfigParams,
    break_points: Vec<Vec<usize>>,
}

/// The cache directory of a node circuit.
pub fn node_key_dir(
    data_dir: &Path,
    kind: NodeKind,
    inner_vk: &VerifyingKey<G1Affine>,
    params: &ParamsKZG<Bn256>,
) -> PathBuf {
    let inner = vk_hash(inner_vk);
    let short = inner.trim_start_matches("0x");
    data_dir.join("keys").join(format!(
        "aggregation-{}-of{}-{}-v{AGGREGATION_VERSION}-inner{}-{}",
        if kind.last { "final" } else { "layer" },
        kind.fan_in,
        match kind.inner {
            Inner::Chunks => "chunks",
            Inner::Aggregated => "aggregated",
        },
        &short[..short.len().min(16)],
        params_id(params)
    ))
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Why node keys cannot be provided.
#[derive(Debug, thiserror::Error)]
pub enum NodeKeyError {
    /// Cache files.
    #[error(transparent)]
    Files(#[from] KeyError),
    /// Key generation.
    #[error(transparent)]
    Keygen(#[from] AggregationError),
}

/// Whether the keys of node `kind` over proofs of `inner_vk` are in the cache:
/// [`load_or_generate`] will load them (seconds) instead of generating them (minutes).
pub fn is_cached(
    data_dir: &Path,
    params: &ParamsKZG<Bn256>,
    inner_vk: &VerifyingKey<G1Affine>,
    kind: NodeKind,
) -> bool {
    let meta_path = node_key_dir(data_dir, kind, inner_vk, params).join("meta.json");
    read_meta(&meta_path)
        .is_ok_and(|m| m.version == AGGREGATION_VERSION && m.inner_vk_hash == vk_hash(inner_vk))
}

/// The cached verifying key of node `kind` over proofs of `inner_vk` (`vk.bin`: no proving
/// key is read) with the node's circuit configuration, or `None` when the node's keys are not
/// cached.
pub fn load_vk(
    data_dir: &Path,
    params: &ParamsKZG<Bn256>,
    inner_vk: &VerifyingKey<G1Affine>,
    kind: NodeKind,
) -> Result<Option<(VerifyingKey<G1Affine>, AggregationConfigParams)>, KeyError> {
    let dir = node_key_dir(data_dir, kind, inner_vk, params);
    let meta_path = dir.join("meta.json");
    if !meta_path.exists() {
        return Ok(None);
    }
    let meta = read_meta(&meta_path)?;
    if meta.version != AGGREGATION_VERSION || meta.inner_vk_hash != vk_hash(inner_vk) {
        return Ok(None);
    }
    Ok(Some((read_vk(&dir.join("vk.bin"), &meta)?, meta.config)))
}

/// `vk.bin` of a cached node, checked against its metadata.
fn read_vk(path: &Path, meta: &NodeMeta) -> Result<VerifyingKey<G1Affine>, KeyError> {
    let vk = read_key(path, |r| {
        VerifyingKey::<G1Affine>::read::<_, NodeCircuit>(r, SerdeFormat::RawBytes, meta.config)
    })?;
    if vk_hash(&vk) != meta.vk_hash {
        return Err(corrupt(
            path,
            "verifying key hash differs from metadata".into(),
        ));
    }
    Ok(vk)
}

/// Loads the keys of node `kind` over proofs of `inner_vk` (made with `inner_params`), or
/// generates and stores them. `admit` sees the node's configuration first (from the cache's
/// metadata, or from the circuit's layout before key generation) and may refuse to go on,
/// e.g. when the predicted memory does not fit.
pub fn load_or_generate<E: From<NodeKeyError>>(
    data_dir: &Path,
    params: &ParamsKZG<Bn256>,
    inner_params: &ParamsKZG<Bn256>,
    inner_vk: &VerifyingKey<G1Affine>,
    kind: NodeKind,
    admit: impl FnOnce(&AggregationConfigParams) -> Result<(), E>,
) -> Result<(NodeKeys, KeySource), E> {
    let dir = node_key_dir(data_dir, kind, inner_vk, params);
    let meta_path = dir.join("meta.json");
    let mut source = KeySource::Generated;
    if meta_path.exists() {
        let meta = read_meta(&meta_path).map_err(NodeKeyError::from)?;
        if meta.version == AGGREGATION_VERSION && meta.inner_vk_hash == vk_hash(inner_vk) {
            admit(&meta.config)?;
            let pk = read_pk(&dir.join("pk.bin"), &meta).map_err(NodeKeyError::from)?;
            return Ok((
                NodeKeys {
                    pk,
                    config: meta.config,
                    break_points: meta.break_points,
                    kind,
                },
                KeySource::Cached,
            ));
        }
        source = KeySource::Regenerated;
    }
    let layout =
        circuit::layout(params, inner_params, inner_vk, kind).map_err(NodeKeyError::from)?;
    admit(&layout.config())?;
    let keys = layout.keygen(params).map_err(NodeKeyError::from)?;
    store(&dir, &keys, inner_vk, params).map_err(NodeKeyError::from)?;
    Ok((keys, source))
}

fn store(
    dir: &Path,
    keys: &NodeKeys,
    inner_vk: &VerifyingKey<G1Affine>,
    params: &ParamsKZG<Bn256>,
) -> Result<(), KeyError> {
    let kind = keys.kind;
    let meta_path = dir.join("meta.json");
    let pk_path = dir.join("pk.bin");
    let mut bytes = Vec::new();
    keys.pk
        .write(&mut bytes, SerdeFormat::RawBytes)
        .map_err(io_err(&pk_path))?;
    zkroll_prover::fs::write_atomic(&pk_path, &bytes).map_err(io_err(&pk_path))?;
    drop(bytes);
    let vk_path = dir.join("vk.bin");
    let mut bytes = Vec::new();
    keys.pk
        .get_vk()
        .write(&mut bytes, SerdeFormat::RawBytes)
        .map_err(io_err(&vk_path))?;
    zkroll_prover::fs::write_atomic(&vk_path, &bytes).map_err(io_err(&vk_path))?;
    let meta = NodeMeta {
        version: AGGREGATION_VERSION,
        fan_in: kind.fan_in,
        inner_aggregated: kind.inner == Inner::Aggregated,
        last: kind.last,
        inner_vk_hash: vk_hash(inner_vk),
        params_id: params_id(params),
        vk_hash: vk_hash(keys.pk.get_vk()),
        config: keys.config,
        break_points: keys.break_points.clone(),
    };
    let text = serde_json::to_string_pretty(&meta).unwrap_or_default();
    zkroll_prover::fs::write_atomic(&meta_path, text.as_bytes()).map_err(io_err(&meta_path))
}

fn read_meta(path: &Path) -> Result<NodeMeta, KeyError> {
    let text = std::fs::read_to_string(path).map_err(io_err(path))?;
    serde_json::from_str(&text).map_err(|e| KeyError::Corrupt {
        path: path.display().to_string(),
        detail: e.to_string(),
    })
}

fn corrupt(path: &Path, detail: String) -> KeyError {
    KeyError::Corrupt {
        path: path.display().to_string(),
        detail,
    }
}

/// Reads a key file with halo2's reader, which can panic on a short or malformed file:
/// contained, and reported as a damaged file.
fn read_key<K>(
    path: &Path,
    read: impl FnOnce(&mut BufReader<std::fs::File>) -> std::io::Result<K>,
) -> Result<K, KeyError> {
    let file = std::fs::File::open(path).map_err(io_err(path))?;
    let mut reader = BufReader::new(file);
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read(&mut reader))) {
        Ok(Ok(key)) => Ok(key),
        Ok(Err(e)) => Err(corrupt(path, e.to_string())),
        Err(_) => Err(corrupt(path, "truncated or malformed".into())),
    }
}

fn read_pk(path: &Path, meta: &NodeMeta) -> Result<ProvingKey<G1Affine>, KeyError> {
    let pk = read_key(path, |r| {
        ProvingKey::<G1Affine>::read::<_, NodeCircuit>(r, SerdeFormat::RawBytes, meta.config)
    })?;
    let found = vk_hash(pk.get_vk());
    if found != meta.vk_hash {
        return Err(corrupt(
            path,
            format!("verifying key hash {found}, metadata says {}", meta.vk_hash),
        ));
    }
    Ok(pk)
}

/// The cached verifying key whose hash is `vk_hash`, with the node it belongs to, found
/// among the aggregation keys under `data_dir` (`None` if there is none).
pub fn find_vk(
    data_dir: &Path,
    vk_hash_wanted: &str,
) -> Result<Option<(VerifyingKey<G1Affine>, NodeKind)>, KeyError> {
    let keys = data_dir.join("keys");
    let Ok(entries) = std::fs::read_dir(&keys) else {
        return Ok(None);
    };
    for entry in entries.flatten() {
        let meta_path = entry.path().join("meta.json");
        let name = entry.file_name().to_string_lossy().to_string();
        if !name.starts_with("aggregation-") || !meta_path.exists() {
            continue;
        }
        let meta = read_meta(&meta_path)?;
        if meta.vk_hash != vk_hash_wanted {
            continue;
        }
        let vk = read_vk(&entry.path().join("vk.bin"), &meta)?;
        let kind = NodeKind {
            inner: if meta.inner_aggregated {
                Inner::Aggregated
            } else {
                Inner::Chunks
            },
            fan_in: meta.fan_in,
            last: meta.last,
        };
        return Ok(Some((vk, kind)));
    }
    Ok(None)
}

/// The verifying key hash of the chunk circuit at the bottom of the aggregation tree whose
/// node has verifying key `vk_hash_wanted`, following the cached nodes' metadata down
/// (`inner_vk_hash`, layer by layer). `None` when a node on the way is not cached.
pub fn chunk_vk_hash_below(
    data_dir: &Path,
    vk_hash_wanted: &str,
) -> Result<Option<String>, KeyError> {
    let Ok(entries) = std::fs::read_dir(data_dir.join("keys")) else {
        return Ok(None);
    };
    let mut metas = Vec::new();
    for entry in entries.flatten() {
        let meta_path = entry.path().join("meta.json");
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with("aggregation-") && meta_path.exists() {
            metas.push(read_meta(&meta_path)?);
        }
    }
    let mut wanted = vk_hash_wanted.to_string();
    // A tree is at most as deep as there are cached nodes.
    for _ in 0..=metas.len() {
        let Some(meta) = metas.iter().find(|m| m.vk_hash == wanted) else {
            return Ok(None);
        };
        if !meta.inner_aggregated {
            return Ok(Some(meta.inner_vk_hash.clone()));
        }
        wanted = meta.inner_vk_hash.clone();
    }
    Ok(None)
}
