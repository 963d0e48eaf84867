//! KZG parameters ("SRS") for BN254 in halo2's `ParamsKZG` format.
//!
//! [`dev_setup`] generates **development** parameters: the secret `tau` is derived from a
//! public seed, so anyone can forge proofs with them. They are for tests, benchmarks and
//! demos only; production needs parameters from a ceremony.
//!
//! halo2's own `ParamsKZG::setup` computes each `tau^i * G1` and each Lagrange commitment
//! `L_i(tau) * G1` with a full variable-base scalar multiplication. Here the scalars
//! (`tau^i`, and `L_i(tau) = (tau^n - 1) / n * w^i / (tau - w^i)` with one batch inversion)
//! are computed first, and every point is a fixed-base multiplication of the generator with
//! a precomputed table of 8-bit windows (32 mixed additions), in parallel chunks, followed by
//! batched normalisation. The result is bit-for-bit halo2's for the same `tau` (tested).

use std::sync::OnceLock;

use halo2_base::halo2_proofs::arithmetic::Field;
use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine, G2Affine, G1};
use halo2_base::halo2_proofs::halo2curves::ff::{BatchInvert, PrimeField};
use halo2_base::halo2_proofs::halo2curves::group::prime::PrimeCurveAffine;
use halo2_base::halo2_proofs::halo2curves::group::{Curve, Group};
use halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use rand::SeedableRng;
use rayon::prelude::*;

/// The seed of the development secret: public, so the parameters are UNSAFE.
pub const DEV_SEED: u64 = 42;

/// Largest `k` supported (BN254's scalar field has 2-adicity 28).
pub const MAX_K: u32 = 28;

const WINDOW_BITS: usize = 8;
const WINDOWS: usize = 256 / WINDOW_BITS;

/// `TABLE[w][j] = j * 2^(8w) * G1` for the 32 windows.
fn generator_table() -> &'static [Vec<G1Affine>] {
    static TABLE: OnceLock<Vec<Vec<G1Affine>>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut base = G1::generator();
        (0..WINDOWS)
            .map(|_| {
                let mut row = vec![G1::identity(); 1 << WINDOW_BITS];
                for j in 1..row.len() {
                    row[j] = row[j - 1] + base;
                }
                let mut affine = vec![G1Affine::identity(); row.len()];
                G1::batch_normalize(&row, &mut affine);
                for _ in 0..WINDOW_BITS {
                    base = base.double();
                }
                affine
            })
            .collect()
    })
}

/// `scalar * G1` with the window table.
fn mul_generator(scalar: &Fr) -> G1 {
    let table = generator_table();
    let bytes = scalar.to_repr();
    let mut acc = G1::identity();
    for (w, byte) in bytes.as_ref().iter().enumerate() {
        if *byte != 0 {
            acc += table[w][*byte as usize];
        }
    }
    acc
}

/// `scalars[i] * G1` for all `i`, in parallel, normalised to affine.
fn mul_generator_all(scalars: &[Fr]) -> Vec<G1Affine> {
    const CHUNK: usize = 1 << 12;
    let mut out = vec![G1Affine::identity(); scalars.len()];
    out.par_chunks_mut(CHUNK)
        .zip(scalars.par_chunks(CHUNK))
        .for_each(|(out, scalars)| {
            let projective: Vec<G1> = scalars.iter().map(mul_generator).collect();
            G1::batch_normalize(&projective, out);
        });
    out
}

/// `[start^0 .. ]`-style powers: `base^offset .. base^(offset + len)`, in parallel chunks.
fn powers(base: Fr, n: usize) -> Vec<Fr> {
    const CHUNK: usize = 1 << 14;
    let mut out = vec![Fr::ZERO; n];
    out.par_chunks_mut(CHUNK)
        .enumerate()
        .for_each(|(c, chunk)| {
            let mut current = base.pow_vartime([(c * CHUNK) as u64]);
            for v in chunk.iter_mut() {
                *v = current;
                current *= base;
            }
        });
    out
}

/// The primitive `2^k`-th root of unity halo2 uses for its evaluation domain.
fn root_of_unity(k: u32) -> Fr {
    let mut root = Fr::ROOT_OF_UNITY;
    for _ in k..Fr::S {
        root = root.square();
    }
    root
}

/// Parameters of size `2^k` for the secret `tau`.
pub fn setup_with_secret(k: u32, tau: Fr) -> ParamsKZG<Bn256> {
    assert!(k <= MAX_K, "k={k} above {MAX_K}");
    let n = 1usize << k;
    let g = mul_generator_all(&powers(tau, n));

    // L_i(tau) = (tau^n - 1) / n * w^i / (tau - w^i).
    let omegas = powers(root_of_unity(k), n);
    let mut denominators: Vec<Fr> = omegas.par_iter().map(|w| tau - w).collect();
    denominators.par_chunks_mut(1 << 14).for_each(|chunk| {
        chunk.iter_mut().batch_invert();
    });
    let n_inv = Fr::from(n as u64).invert().unwrap_or(Fr::ZERO);
    let multiplier = (tau.pow_vartime([n as u64]) - Fr::ONE) * n_inv;
    let lagrange_scalars: Vec<Fr> = omegas
        .par_iter()
        .zip(denominators.par_iter())
        .map(|(w, inv)| multiplier * w * inv)
        .collect();
    let g_lagrange = mul_generator_all(&lagrange_scalars);

    let g2 = G2Affine::generator();
    let s_g2: G2Affine = (g2 * tau).to_affine();
    // `from_parts` is a method; any params object serves as the receiver.
    let template = ParamsKZG::<Bn256>::setup(0, rand_chacha::ChaCha20Rng::seed_from_u64(0));
    template.from_parts(k, g, Some(g_lagrange), g2, s_g2)
}

/// The development secret for `seed`: drawn exactly as halo2's `ParamsKZG::setup` draws it
/// from a ChaCha20 generator seeded with `seed`.
pub fn dev_secret(seed: u64) -> Fr {
    Fr::random(rand_chacha::ChaCha20Rng::seed_from_u64(seed))
}

/// UNSAFE development parameters of size `2^k` (secret from [`DEV_SEED`]): every `k` shares
/// one secret, so circuits of different sizes (chunks, aggregation layers) can be combined.
pub fn dev_setup(k: u32) -> ParamsKZG<Bn256> {
    setup_with_secret(k, dev_secret(DEV_SEED))
}

/// The development parameters' `s_g2 = tau * G2` (one secret for every `k`).
fn dev_s_g2() -> G2Affine {
    static S_G2: OnceLock<G2Affine> = OnceLock::new();
    *S_G2.get_or_init(|| (G2Affine::generator() * dev_secret(DEV_SEED)).to_affine())
}

/// Whether `params` are the development parameters (secret from the public [`DEV_SEED`]):
/// anyone can forge proofs that a verifier made from them accepts. Decided by the secret
/// (`s_g2`), not by a file name.
pub fn is_dev(params: &ParamsKZG<Bn256>) -> bool {
    params.s_g2() == dev_s_g2()
}

/// Identifies a setup's secret: the first 8 bytes of `s_g2` (compressed), in hex; the same
/// for every `k` of one setup (the part after `k<k>-` of [`crate::keys::params_id`]).
pub fn secret_digest(s_g2: &G2Affine) -> String {
    use halo2_base::halo2_proofs::halo2curves::group::GroupEncoding;
    let bytes = s_g2.to_bytes();
    let bytes: &[u8] = bytes.as_ref();
    bytes.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// Whether a parameters id ([`crate::keys::params_id`], as proof files carry it) names the
/// development parameters.
pub fn is_dev_id(id: &str) -> bool {
    id.split_once('-')
        .is_some_and(|(_, digest)| digest == secret_digest(&dev_s_g2()))
}

/// Whether the parameters [`load`] would read for `k` are the development ones, reading only
/// the file's last 128 bytes (`s_g2`, halo2's raw encoding), not the whole file.
pub fn file_is_dev(data_dir: &std::path::Path, k: u32) -> Result<bool, SrsError> {
    use halo2_base::halo2_proofs::halo2curves::serde::SerdeObject;
    use std::io::{Read, Seek, SeekFrom};
    let path = locate(data_dir, k)?;
    let with_path = |e: std::io::Error| {
        SrsError::Read(std::io::Error::new(
            e.kind(),
            format!("{}: {e}", path.display()),
        ))
    };
    let mut file = std::fs::File::open(&path).map_err(with_path)?;
    let mut tail = [0u8; 128];
    file.seek(SeekFrom::End(-128))
        .and_then(|_| file.read_exact(&mut tail))
        .map_err(with_path)?;
    Ok(tail[..] == dev_s_g2().to_raw_bytes()[..])
}

/// Why parameters from a file are refused.
#[derive(Debug, thiserror::Error)]
pub enum SrsError {
    /// Unreadable, truncated, or not halo2's `ParamsKZG` format.
    #[error("not readable as halo2 KZG parameters for BN254: {0}")]
    Read(#[source] std::io::Error),
    /// The parameters are smaller than asked for.
    #[error("parameters have k={have}, cannot provide k={want}")]
    TooSmall {
        /// k in the file.
        have: u32,
        /// k asked for.
        want: u32,
    },
    /// A structural or pairing check failed.
    #[error("parameters fail the consistency check: {0}")]
    Inconsistent(String),
}

/// Checks parameters as a ceremony's output should be: `g[0]` and `g2` are the standard
/// generators, and every `g[i+1]` is the next power of the secret after `g[i]`, all at once
/// with random weights `r_i`: `e(sum r_i g[i+1], g2) = e(sum r_i g[i], s_g2)` (a damaged or
/// foreign point anywhere breaks it except with negligible probability). `samples` further
/// pairs are checked one by one, for a readable message.
pub fn check(params: &ParamsKZG<Bn256>, samples: usize) -> Result<(), SrsError> {
    use halo2_base::halo2_proofs::arithmetic::best_multiexp;
    use halo2_base::halo2_proofs::halo2curves::bn256::pairing;
    use halo2_base::halo2_proofs::poly::commitment::ParamsProver;
    use rand::Rng;
    let g = params.get_g();
    if g.first() != Some(&G1Affine::generator()) {
        return Err(SrsError::Inconsistent(
            "g[0] is not the G1 generator".into(),
        ));
    }
    if params.g2() != G2Affine::generator() {
        return Err(SrsError::Inconsistent("g2 is not the G2 generator".into()));
    }
    if g.len() < 2 {
        return Ok(());
    }
    let mut rng = rand::thread_rng();
    for _ in 0..samples {
        let i = rng.gen_range(0..g.len() - 1);
        if pairing(&g[i + 1], &params.g2()) != pairing(&g[i], &params.s_g2()) {
            return Err(SrsError::Inconsistent(format!(
                "e(g[{}], g2) != e(g[{i}], s_g2): g[{}] is not the next power of the secret",
                i + 1,
                i + 1
            )));
        }
    }
    let weights: Vec<Fr> = (0..g.len() - 1).map(|_| Fr::random(&mut rng)).collect();
    let next = best_multiexp(&weights, &g[1..]).to_affine();
    let prev = best_multiexp(&weights, &g[..g.len() - 1]).to_affine();
    if pairing(&next, &params.g2()) != pairing(&prev, &params.s_g2()) {
        return Err(SrsError::Inconsistent(
            "the powers are not consecutive powers of one secret (batched pairing check)".into(),
        ));
    }
    Ok(())
}

/// Checks the Lagrange points against the (checked) monomial ones: for a random polynomial
/// `p` of degree `< n` given by its values `p(w^i)` and coefficients `c_j`,
/// `sum p(w^i) g_lagrange[i] = p(tau) G1 = sum c_j g[j]`.
pub fn check_lagrange(params: &ParamsKZG<Bn256>) -> Result<(), SrsError> {
    use halo2_base::halo2_proofs::arithmetic::best_multiexp;
    use halo2_base::halo2_proofs::poly::commitment::{Blind, Params, ParamsProver};
    use halo2_base::halo2_proofs::poly::EvaluationDomain;
    let g = params.get_g();
    let mut rng = rand::thread_rng();
    let domain = EvaluationDomain::<Fr>::new(1, params.k());
    let values = domain.lagrange_from_vec((0..g.len()).map(|_| Fr::random(&mut rng)).collect());
    // `commit_lagrange` is the MSM of the values with the Lagrange points.
    let lagrange = params
        .commit_lagrange(&values, Blind::default())
        .to_affine();
    let coefficients = domain.lagrange_to_coeff(values);
    let monomial = best_multiexp(&coefficients, g).to_affine();
    if monomial != lagrange {
        return Err(SrsError::Inconsistent(
            "the Lagrange points do not match the monomial ones".into(),
        ));
    }
    Ok(())
}

/// Reads parameters in halo2's format (as published for the Perpetual Powers of Tau),
/// checks them ([`check`], 8 single samples and the batched check) and downsizes them to `k` (default: as read). The
/// Lagrange points are always recomputed from the checked monomial ones.
pub fn import(
    reader: &mut impl std::io::Read,
    k: Option<u32>,
) -> Result<ParamsKZG<Bn256>, SrsError> {
    use halo2_base::halo2_proofs::poly::commitment::Params;
    use halo2_base::halo2_proofs::SerdeFormat;
    // halo2's reader panics on a short file, so the length is checked first: `k` (4 bytes),
    // 2 * 2^k G1 points (64 bytes each) and 2 G2 points (128 bytes each).
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes).map_err(SrsError::Read)?;
    let invalid =
        |msg: String| SrsError::Read(std::io::Error::new(std::io::ErrorKind::InvalidData, msg));
    let file_k = bytes
        .get(..4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| invalid(format!("{} bytes: too short for a header", bytes.len())))?;
    if file_k > MAX_K {
        return Err(invalid(format!("header says k={file_k}, above {MAX_K}")));
    }
    let expected = 4 + 2 * (1usize << file_k) * 64 + 2 * 128;
    if bytes.len() != expected {
        return Err(invalid(format!(
            "{} bytes, but k={file_k} parameters take {expected}",
            bytes.len()
        )));
    }
    // Checked reading (every point on its curve); any panic left in the reader on malformed
    // bytes becomes an error too.
    let mut params = std::panic::catch_unwind(|| {
        ParamsKZG::<Bn256>::read_custom(&mut bytes.as_slice(), SerdeFormat::RawBytes)
    })
    .map_err(|_| invalid("malformed point encoding".into()))?
    .map_err(SrsError::Read)?;
    let have = params.k();
    let want = k.unwrap_or(have);
    if want > have {
        return Err(SrsError::TooSmall { have, want });
    }
    check(&params, 8)?;
    if want < have {
        // halo2 recomputes the smaller Lagrange basis with an FFT over G1 from the checked
        // monomial points: correct by construction, but slow for large k (minutes at k=20).
        params.downsize(want);
    } else {
        check_lagrange(&params)?;
    }
    Ok(params)
}

/// Loads parameters this data directory wrote (`zkroll setup`): imported ones
/// (`kzg_bn254_<k>.srs`) are preferred to development ones. Checked for length, read
/// without re-validating every point (they were checked or generated when written).
pub fn load(data_dir: &std::path::Path, k: u32) -> Result<ParamsKZG<Bn256>, SrsError> {
    use halo2_base::halo2_proofs::SerdeFormat;
    let path = locate(data_dir, k)?;
    let with_path = |e: std::io::Error| {
        SrsError::Read(std::io::Error::new(
            e.kind(),
            format!("{}: {e}", path.display()),
        ))
    };
    let bytes = std::fs::read(&path).map_err(with_path)?;
    let expected = 4 + 2 * (1usize << k) * 64 + 2 * 128;
    if bytes.len() != expected || bytes.get(..4) != Some(&k.to_le_bytes()[..]) {
        return Err(with_path(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{} bytes, expected {expected} for k={k}", bytes.len()),
        )));
    }
    std::panic::catch_unwind(|| {
        ParamsKZG::<Bn256>::read_custom(&mut bytes.as_slice(), SerdeFormat::RawBytesUnchecked)
    })
    .map_err(|_| {
        with_path(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "malformed point encoding",
        ))
    })?
    .map_err(with_path)
}

/// The file [`load`] reads for `k`: imported parameters, else development ones.
fn locate(data_dir: &std::path::Path, k: u32) -> Result<std::path::PathBuf, SrsError> {
    let dir = data_dir.join("params");
    [file_name(k), dev_file_name(k)]
        .into_iter()
        .map(|n| dir.join(n))
        .find(|p| p.exists())
        .ok_or_else(|| {
            SrsError::Read(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!(
                    "no parameters for k={k} in {}: run `zkroll setup --data-dir {} --k {k}`",
                    dir.display(),
                    data_dir.display()
                ),
            ))
        })
}

/// File name of parameters of size `2^k` imported from a ceremony.
pub fn file_name(k: u32) -> String {
    format!("kzg_bn254_{k}.srs")
}

/// File name of development parameters of size `2^k` in a data directory's `params/`.
pub fn dev_file_name(k: u32) -> String {
    format!("kzg_bn254_{k}.UNSAFE-dev.srs")
}

/// Writes parameters in halo2's own format (`Params::write`: `k`, then the monomial and
/// Lagrange G1 points and the two G2 points as raw bytes), atomically: a temporary file in
/// the same directory, synced, then renamed.
pub fn write_atomic(params: &ParamsKZG<Bn256>, path: &std::path::Path) -> std::io::Result<()> {
    use halo2_base::halo2_proofs::poly::commitment::Params;
    let mut bytes = Vec::new();
    params.write(&mut bytes)?;
    crate::fs::write_atomic(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use halo2_base::halo2_proofs::poly::commitment::{Params, ParamsProver};
    use halo2_base::halo2_proofs::SerdeFormat;

    fn bytes(p: &ParamsKZG<Bn256>) -> Vec<u8> {
        let mut out = Vec::new();
        p.write_custom(&mut out, SerdeFormat::RawBytes)
            .expect("write");
        out
    }

    /// Bit-for-bit what halo2's own setup produces from the same generator and seed.
    #[test]
    fn equals_halo2_setup() {
        for k in [1u32, 4, 9] {
            let ours = setup_with_secret(k, dev_secret(7));
            let theirs = ParamsKZG::<Bn256>::setup(k, rand_chacha::ChaCha20Rng::seed_from_u64(7));
            assert_eq!(ours.k(), k);
            assert!(bytes(&ours) == bytes(&theirs), "k={k}");
        }
    }

    #[test]
    fn written_params_read_back() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(dev_file_name(5));
        let params = dev_setup(5);
        write_atomic(&params, &path).expect("write");
        let mut file = std::fs::File::open(&path).expect("open");
        let read = ParamsKZG::<Bn256>::read(&mut file).expect("read");
        assert!(bytes(&read) == bytes(&params));
        // Every size shares the secret: the smaller params are a prefix of the larger ones.
        let larger = dev_setup(6);
        assert_eq!(read.s_g2(), larger.s_g2());
    }

    /// Development parameters are recognised by their secret, in memory, by their id and in
    /// a file under any name (imported as if from a ceremony too); others are not.
    #[test]
    fn development_parameters_are_recognised_by_their_secret() {
        let dev = dev_setup(5);
        let other = setup_with_secret(5, dev_secret(DEV_SEED + 1));
        assert!(is_dev(&dev) && !is_dev(&other));
        assert!(is_dev_id(&crate::keys::params_id(&dev)));
        assert!(!is_dev_id(&crate::keys::params_id(&other)));
        assert!(!is_dev_id("k5-0011223344556677") && !is_dev_id("garbage"));
        let dir = tempfile::tempdir().expect("temp dir");
        let params = dir.path().join("params");
        assert!(file_is_dev(dir.path(), 5).is_err(), "no file");
        write_atomic(&dev, &params.join(dev_file_name(5))).expect("write");
        assert!(file_is_dev(dir.path(), 5).expect("read"));
        // An imported file is preferred; its secret decides, not its name.
        write_atomic(&other, &params.join(file_name(5))).expect("write");
        assert!(!file_is_dev(dir.path(), 5).expect("read"));
        write_atomic(&dev, &params.join(file_name(5))).expect("write");
        assert!(file_is_dev(dir.path(), 5).expect("read"));
    }

    #[test]
    fn import_checks_and_downsizes() {
        let big = dev_setup(8);
        let mut file = Vec::new();
        big.write(&mut file).expect("write");
        // Downsized to 6: exactly the parameters generated at 6 (same secret).
        let small = import(&mut file.as_slice(), Some(6)).expect("import");
        assert!(bytes(&small) == bytes(&dev_setup(6)));
        let same = import(&mut file.as_slice(), None).expect("import");
        assert!(bytes(&same) == bytes(&big));
        assert!(matches!(
            import(&mut file.as_slice(), Some(9)),
            Err(SrsError::TooSmall { have: 8, want: 9 })
        ));
        // A Lagrange point that does not belong.
        let mut foreign = file.clone();
        let at = 4 + 256 * 64 + 7 * 64;
        foreign[at..at + 64].copy_from_slice(&file[4 + 3 * 64..4 + 4 * 64]);
        assert!(matches!(
            import(&mut foreign.as_slice(), None),
            Err(SrsError::Inconsistent(_))
        ));
        // A damaged point, a truncated file, garbage: read errors, not panics.
        let mut damaged = file.clone();
        damaged[4 + 64 * 3 + 5] ^= 0x40;
        assert!(import(&mut damaged.as_slice(), None).is_err());
        assert!(matches!(
            import(&mut &file[..100], None),
            Err(SrsError::Read(_))
        ));
        assert!(matches!(
            import(&mut &b"garbage"[..], None),
            Err(SrsError::Read(_))
        ));
    }

    #[test]
    fn check_catches_a_point_of_another_secret() {
        let mut g = dev_setup(4).get_g().to_vec();
        // Every power but g[0] from another secret: each sampled pair disagrees.
        let other = setup_with_secret(4, dev_secret(1));
        g[1..].copy_from_slice(&other.get_g()[1..]);
        let params = dev_setup(4);
        let forged = params.from_parts(4, g, None, params.g2(), params.s_g2());
        assert!(matches!(check(&forged, 4), Err(SrsError::Inconsistent(_))));
        check(&params, 8).expect("genuine parameters pass");
    }

    #[test]
    fn fixed_base_multiplication_is_exact() {
        for s in [
            Fr::ZERO,
            Fr::ONE,
            -Fr::ONE,
            Fr::from(0xdead_beef_u64),
            dev_secret(3),
        ] {
            assert_eq!(mul_generator(&s), G1::generator() * s);
        }
    }
}
