//! Proving keys of the chunk circuit, cached on disk per (circuit version, chunk size, chain
//! configuration, parameters): generated once, then loaded. Files are written atomically
//! (the metadata last, so an interrupted write leaves no usable-looking entry). A cached key
//! whose circuit no longer matches the code's is stale and generated again: its metadata
//! holds a fingerprint of everything key generation reads (column shape, every gate
//! selector, copy constraint, constant, lookup and public cell), compared with the current
//! circuit's before the key is used. A damaged key file is an error naming the file, never
//! a panic.

use std::io::BufReader;
use std::path::{Path, PathBuf};

use halo2_base::gates::circuit::{BaseCircuitParams, CircuitBuilderStage};
use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_base::halo2_proofs::plonk::ProvingKey;
use halo2_base::halo2_proofs::poly::commitment::Params;
use halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use halo2_base::halo2_proofs::SerdeFormat;
use serde::{Deserialize, Serialize};
use zkroll_circuits::chunk::{self, ChunkWitness};
use zkroll_circuits::gates::JobShape;
use zkroll_circuits::proof::{self, ChunkKeys};
use zkroll_engine::ChainConfig;

/// Bumped whenever the chunk circuit changes on purpose (with the pinned vk hash).
pub const CIRCUIT_VERSION: u32 = 9;

/// Why keys cannot be provided.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Reading or writing a key file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A key file is damaged or does not match its metadata.
    #[error("{path}: damaged key file ({detail}); delete it to generate the key again")]
    Corrupt {
        /// The file.
        path: String,
        /// What is wrong.
        detail: String,
    },
    /// Key generation failed.
    #[error(transparent)]
    Keygen(#[from] proof::ProofError),
}

/// Where the keys came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    /// Loaded from the cache.
    Cached,
    /// Generated (none cached).
    Generated,
    /// Generated again: the cached ones were for an older circuit layout.
    Regenerated,
}

#[derive(Debug, Serialize, Deserialize)]
struct KeyMeta {
    circuit_version: u32,
    chunk_size: usize,
    config: ChainConfig,
    params_id: String,
    vk_hash: String,
    circuit: BaseCircuitParams,
    break_points: Vec<Vec<usize>>,
    /// [`fingerprint`] of the circuit the key was made for (absent in older caches: stale).
    #[serde(default)]
    fingerprint: String,
}

/// Identifies parameters: their size and their secret (through `s_g2`).
pub fn params_id(params: &ParamsKZG<Bn256>) -> String {
    format!(
        "k{}-{}",
        params.k(),
        crate::srs::secret_digest(&params.s_g2())
    )
}

/// The cache directory of one configuration.
pub fn key_dir(
    data_dir: &Path,
    chunk_size: usize,
    config: &ChainConfig,
    params: &ParamsKZG<Bn256>,
) -> PathBuf {
    data_dir.join("keys").join(format!(
        "chunk{chunk_size}-depth{}-chain{}-operator{}-v{CIRCUIT_VERSION}-{}",
        config.depth,
        config.chain_id,
        config.operator,
        params_id(params)
    ))
}

/// The circuit the current code produces: its shape (columns, lookup bits) as JSON and its
/// [`fingerprint`]. Cheap to compute (a layout pass, no key generation).
fn layout(k: u32, witness: &ChunkWitness) -> (serde_json::Value, String) {
    let circuit = chunk::build(CircuitBuilderStage::Keygen, k, witness);
    let shape = serde_json::to_value(&circuit.builder.config_params).unwrap_or_default();
    (shape, fingerprint(&circuit))
}

/// A BLAKE2b digest of what key generation turns into fixed columns and the permutation,
/// besides the parameters: the shape, which rows of each virtual column enable the gate,
/// every copy constraint between cells, every constant and the cell it is copied to, every
/// cell looked up and every public cell, and every gate's polynomials. Two builds with equal
/// fingerprints give the same keys; a changed constraint changes it even when the column
/// shape stays the same. (The region's fixed values follow from its jobs' kinds and lengths
/// and from the engine's constants, which `CIRCUIT_VERSION` stands for.)
pub fn fingerprint(circuit: &chunk::ChunkCircuit) -> String {
    use halo2_base::halo2_proofs::halo2curves::ff::PrimeField;
    use halo2_base::ContextCell;
    fn cell(h: &mut blake2b_simd::State, c: &ContextCell) {
        h.update(c.type_id.as_bytes());
        h.update(&[0]);
        h.update(&(c.context_id as u64).to_le_bytes());
        h.update(&(c.offset as u64).to_le_bytes());
    }
    fn value_cell(h: &mut blake2b_simd::State, v: &halo2_base::AssignedValue<Fr>) {
        match &v.cell {
            Some(c) => cell(h, c),
            None => {
                h.update(b"no cell");
            }
        }
    }
    let builder = &circuit.builder;
    let mut h = blake2b_simd::Params::new().hash_length(32).to_state();
    h.update(b"zkroll chunk circuit fingerprint v4");
    h.update(&serde_json::to_vec(&builder.config_params).unwrap_or_default());
    // Every gate's polynomials: a gate rewritten without a change of layout changes the keys.
    {
        use halo2_base::halo2_proofs::plonk::{Circuit, ConstraintSystem};
        let mut cs = ConstraintSystem::default();
        let _ = chunk::ChunkCircuit::configure_with_params(&mut cs, circuit.params());
        h.update(&(cs.gates().len() as u64).to_le_bytes());
        for gate in cs.gates() {
            h.update(format!("{:?}", gate.polynomials()).as_bytes());
        }
    }
    // The gate region: every job's kind and length, in layout order.
    let jobs = circuit.table.shape();
    h.update(&(jobs.len() as u64).to_le_bytes());
    for job in jobs {
        let (kind, length) = match job {
            JobShape::Path(levels) => (0u8, levels),
            JobShape::FixedBase(steps) => (1, steps),
            JobShape::VariableBase(steps) => (2, steps),
            JobShape::Hash(inputs) => (3, inputs),
        };
        h.update(&[kind]);
        h.update(&(length as u64).to_le_bytes());
    }
    let core = builder.core();
    for (phase, manager) in core.phase_manager.iter().enumerate() {
        for (thread, ctx) in manager.threads.iter().enumerate() {
            h.update(&[phase as u8]);
            h.update(&(thread as u64).to_le_bytes());
            h.update(ctx.type_id().as_bytes());
            h.update(&(ctx.selector.len() as u64).to_le_bytes());
            for bits in ctx.selector.chunks(8) {
                let byte = bits
                    .iter()
                    .enumerate()
                    .fold(0u8, |b, (i, &on)| b | (u8::from(on) << i));
                h.update(&[byte]);
            }
        }
    }
    {
        let copies = core
            .copy_manager
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        h.update(&(copies.advice_equalities.len() as u64).to_le_bytes());
        for (a, b) in &copies.advice_equalities {
            cell(&mut h, a);
            cell(&mut h, b);
        }
        h.update(&(copies.constant_equalities.len() as u64).to_le_bytes());
        for (constant, c) in &copies.constant_equalities {
            h.update(constant.to_repr().as_ref());
            cell(&mut h, c);
        }
    }
    for (phase, lookups) in builder.lookup_manager().iter().enumerate() {
        let cells = lookups
            .cells_to_lookup
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        h.update(&[phase as u8]);
        for ((type_id, context), looked_up) in cells.iter() {
            h.update(type_id.as_bytes());
            h.update(&(*context as u64).to_le_bytes());
            h.update(&(looked_up.len() as u64).to_le_bytes());
            for [v] in looked_up {
                value_cell(&mut h, v);
            }
        }
    }
    for (column, instances) in builder.assigned_instances.iter().enumerate() {
        h.update(&(column as u64).to_le_bytes());
        h.update(&(instances.len() as u64).to_le_bytes());
        for v in instances {
            value_cell(&mut h, v);
        }
    }
    h.finalize().to_hex().to_string()
}

/// The chunk size and chain configuration of the cached chunk key whose verifying key hash
/// is `vk_hash`, if one is in `data_dir`'s cache.
pub fn cached_chunk_key(
    data_dir: &Path,
    vk_hash: &str,
) -> Result<Option<(usize, ChainConfig)>, KeyError> {
    let Ok(entries) = std::fs::read_dir(data_dir.join("keys")) else {
        return Ok(None);
    };
    for entry in entries.flatten() {
        let meta_path = entry.path().join("meta.json");
        let name = entry.file_name().to_string_lossy().to_string();
        if !name.starts_with("chunk") || !meta_path.exists() {
            continue;
        }
        let meta = read_meta(&meta_path)?;
        if meta.vk_hash == vk_hash {
            return Ok(Some((meta.chunk_size, meta.config)));
        }
    }
    Ok(None)
}

/// A cache entry's metadata; unreadable or malformed is an error naming the file.
fn read_meta(path: &Path) -> Result<KeyMeta, KeyError> {
    let text = std::fs::read_to_string(path).map_err(io_err(path))?;
    serde_json::from_str(&text).map_err(|e| KeyError::Corrupt {
        path: path.display().to_string(),
        detail: e.to_string(),
    })
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Loads the keys of the chunk circuit for this configuration from `data_dir`, or generates
/// and stores them.
pub fn load_or_generate(
    data_dir: &Path,
    params: &ParamsKZG<Bn256>,
    chunk_size: usize,
    config: ChainConfig,
) -> Result<(ChunkKeys, KeySource), KeyError> {
    let dir = key_dir(data_dir, chunk_size, &config, params);
    let meta_path = dir.join("meta.json");
    let pk_path = dir.join("pk.bin");
    let witness = ChunkWitness::padding(chunk_size, config);
    let (current_circuit, current_fingerprint) = layout(params.k(), &witness);
    let mut source = KeySource::Generated;
    if meta_path.exists() {
        let meta = read_meta(&meta_path)?;
        let stored = serde_json::to_value(&meta.circuit).unwrap_or_default();
        if stored == current_circuit
            && meta.fingerprint == current_fingerprint
            && meta.circuit_version == CIRCUIT_VERSION
        {
            let keys = read_pk(&pk_path, &meta)?;
            return Ok((keys, KeySource::Cached));
        }
        source = KeySource::Regenerated;
    }
    let keys = proof::keygen(params, &witness)?;
    let mut bytes = Vec::new();
    keys.pk
        .write(&mut bytes, SerdeFormat::RawBytes)
        .map_err(io_err(&pk_path))?;
    crate::fs::write_atomic(&pk_path, &bytes).map_err(io_err(&pk_path))?;
    let meta = KeyMeta {
        circuit_version: CIRCUIT_VERSION,
        chunk_size,
        config,
        params_id: params_id(params),
        vk_hash: proof::vk_hash(keys.vk()),
        circuit: keys.config.clone(),
        break_points: keys.break_points.clone(),
        fingerprint: current_fingerprint,
    };
    let text = serde_json::to_string_pretty(&meta).unwrap_or_default();
    crate::fs::write_atomic(&meta_path, text.as_bytes()).map_err(io_err(&meta_path))?;
    Ok((keys, source))
}

fn read_pk(path: &Path, meta: &KeyMeta) -> Result<ChunkKeys, KeyError> {
    let corrupt = |detail: String| KeyError::Corrupt {
        path: path.display().to_string(),
        detail,
    };
    let file = std::fs::File::open(path).map_err(io_err(path))?;
    let mut reader = BufReader::new(file);
    // halo2's reader can panic on a short or malformed file: contain it.
    let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ProvingKey::<G1Affine>::read::<_, chunk::ChunkCircuit>(
            &mut reader,
            SerdeFormat::RawBytes,
            meta.circuit.clone(),
        )
    }));
    let pk = match read {
        Ok(Ok(pk)) => pk,
        Ok(Err(e)) => return Err(corrupt(e.to_string())),
        Err(_) => return Err(corrupt("truncated or malformed".into())),
    };
    let vk_hash = proof::vk_hash(pk.get_vk());
    if vk_hash != meta.vk_hash {
        return Err(corrupt(format!(
            "verifying key hash {vk_hash}, metadata says {}",
            meta.vk_hash
        )));
    }
    Ok(ChunkKeys {
        pk,
        config: meta.circuit.clone(),
        break_points: meta.break_points.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ChainConfig {
        ChainConfig {
            chain_id: 3,
            depth: 4,
            operator: 0,
        }
    }

    #[test]
    fn generated_once_then_loaded_and_damage_is_reported() {
        let dir = tempfile::tempdir().expect("temp dir");
        let params = crate::srs::dev_setup(15);
        let (first, source) = load_or_generate(dir.path(), &params, 1, config()).expect("keygen");
        assert_eq!(source, KeySource::Generated);
        let (second, source) = load_or_generate(dir.path(), &params, 1, config()).expect("load");
        assert_eq!(source, KeySource::Cached);
        assert_eq!(proof::vk_hash(first.vk()), proof::vk_hash(second.vk()));
        assert_eq!(first.break_points, second.break_points);

        // A truncated key file: a clear error naming it, not a panic.
        let kdir = key_dir(dir.path(), 1, &config(), &params);
        let pk = kdir.join("pk.bin");
        let bytes = std::fs::read(&pk).expect("pk");
        std::fs::write(&pk, &bytes[..bytes.len() / 2]).expect("truncate");
        let err = load_or_generate(dir.path(), &params, 1, config())
            .err()
            .expect("damaged");
        assert!(matches!(err, KeyError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("pk.bin"), "{err}");

        // Metadata of another layout: stale, generated again.
        let meta_path = kdir.join("meta.json");
        let mut meta: KeyMeta =
            serde_json::from_str(&std::fs::read_to_string(&meta_path).expect("meta"))
                .expect("json");
        meta.circuit.num_advice_per_phase[0] += 1;
        std::fs::write(&meta_path, serde_json::to_string(&meta).expect("json")).expect("write");
        let (_, source) = load_or_generate(dir.path(), &params, 1, config()).expect("regenerate");
        assert_eq!(source, KeySource::Regenerated);
        let (_, source) = load_or_generate(dir.path(), &params, 1, config()).expect("load");
        assert_eq!(source, KeySource::Cached);
    }

    /// A cached key of the same column shape and circuit version but another constraint (here
    /// the operator's index, a constant of the circuit: keys made for operator 1 put where
    /// operator 0's belong) is stale: generated again, never used. The vk of the keys used is
    /// the one the current circuit gives.
    #[test]
    fn a_cached_key_of_another_circuit_with_the_same_shape_is_not_used() {
        let dir = tempfile::tempdir().expect("temp dir");
        let params = crate::srs::dev_setup(15);
        let other = ChainConfig {
            operator: 1,
            ..config()
        };
        let (own, _) = load_or_generate(dir.path(), &params, 1, config()).expect("keygen");
        let (foreign, _) = load_or_generate(dir.path(), &params, 1, other).expect("keygen");
        assert_ne!(proof::vk_hash(own.vk()), proof::vk_hash(foreign.vk()));
        let own_dir = key_dir(dir.path(), 1, &config(), &params);
        let foreign_dir = key_dir(dir.path(), 1, &other, &params);
        for name in ["pk.bin", "meta.json"] {
            std::fs::copy(foreign_dir.join(name), own_dir.join(name)).expect("copy");
        }
        // The foreign metadata names its own configuration: make it claim this one, as a
        // key cached by an older build of a changed circuit would.
        let meta_path = own_dir.join("meta.json");
        let mut meta: KeyMeta =
            serde_json::from_str(&std::fs::read_to_string(&meta_path).expect("meta"))
                .expect("json");
        meta.config = config();
        std::fs::write(&meta_path, serde_json::to_string(&meta).expect("json")).expect("write");
        let (keys, source) = load_or_generate(dir.path(), &params, 1, config()).expect("load");
        assert_eq!(source, KeySource::Regenerated);
        assert_eq!(proof::vk_hash(keys.vk()), proof::vk_hash(own.vk()));
    }
}
