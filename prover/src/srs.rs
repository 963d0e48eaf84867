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

/// File name of development parameters of size `2^k` in a data directory's `params/`.
pub fn dev_file_name(k: u32) -> String {
    format!("kzg_bn254_{k}.UNSAFE-dev.srs")
}

/// Writes parameters in halo2's own format (`Params::write`: `k`, then the monomial and
/// Lagrange G1 points and the two G2 points as raw bytes), atomically: a temporary file in
/// the same directory, synced, then renamed.
pub fn write_atomic(params: &ParamsKZG<Bn256>, path: &std::path::Path) -> std::io::Result<()> {
    use halo2_base::halo2_proofs::poly::commitment::Params;
    let dir = path.parent().unwrap_or_else(|| std::path::Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        path.file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default(),
        std::process::id()
    ));
    let mut file = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
    params.write(&mut file)?;
    let file = file.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use halo2_base::halo2_proofs::poly::commitment::Params;
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
