//! zkroll's MSM engine: multi-scalar multiplication `Σ s_i · P_i` on BN254 G1, the cost of
//! every KZG commitment a halo2 proof makes.
//!
//! Where it sits: the prover's commitments (`Params::commit_lagrange`, `ParamsProver::commit`)
//! go through an [`Msm`] backend instead of halo2curves' `msm_best`.
//!
//! - [`digits`]: signed-digit recoding of scalars (half the buckets).
//! - [`buckets`]: bucket accumulation with batch-affine additions (one inversion per batch).
//! - [`cpu`]: the CPU backend (Pippenger, rayon over windows and point ranges).
//! - [`fixed`]: fixed-base tables (each window's shifted copies of the bases), one bucket
//!   set for all windows of a task.
//! - [`ifma`]: the batch additions eight at a time on AVX-512 IFMA, where the CPU has it.
//! - [`gpu`]: the OpenCL backend (loaded at run time; falls back to the CPU backend).
//! - [`kzg`]: KZG prover parameters whose commitments use a backend, for halo2's
//!   `create_proof`.

pub mod buckets;
pub mod cpu;
pub mod digits;
pub mod fixed;
pub mod gpu;
pub mod ifma;
pub mod kzg;

use halo2_proofs::halo2curves::bn256::{Fr, G1Affine, G1};

/// Why an MSM cannot be computed.
#[derive(Debug, thiserror::Error)]
pub enum MsmError {
    /// Scalars and points differ in number.
    #[error("{scalars} scalars but {points} points")]
    Length {
        /// Scalars given.
        scalars: usize,
        /// Points given.
        points: usize,
    },
}

/// A multi-scalar multiplication backend.
pub trait Msm: Send + Sync + std::fmt::Debug {
    /// Short name for logs and metrics (`cpu`, `gpu`, `halo2curves`).
    fn name(&self) -> &'static str;

    /// `Σ scalars[i] · points[i]`.
    fn msm(&self, scalars: &[Fr], points: &[G1Affine]) -> Result<G1, MsmError>;
}

/// The terms whose point is not the point at infinity (which contributes nothing, and which
/// the bucket additions and the kernels do not take), or `None` when there is none to drop.
fn finite_terms(scalars: &[Fr], points: &[G1Affine]) -> Option<(Vec<Fr>, Vec<G1Affine>)> {
    use halo2_proofs::halo2curves::group::prime::PrimeCurveAffine;
    use rayon::prelude::*;
    if !points.par_iter().any(|p| bool::from(p.is_identity())) {
        return None;
    }
    Some(
        scalars
            .iter()
            .zip(points)
            .filter(|(_, p)| !bool::from(p.is_identity()))
            .map(|(s, p)| (*s, *p))
            .unzip(),
    )
}

/// The canonical little-endian 64-bit limbs of a base-field element.
fn fq_canonical(x: halo2_proofs::halo2curves::bn256::Fq) -> [u64; 4] {
    use halo2_proofs::halo2curves::ff::PrimeField;
    let repr = x.to_repr();
    let mut out = [0u64; 4];
    for (limb, b) in out.iter_mut().zip(repr.as_ref().chunks_exact(8)) {
        let mut word = [0u8; 8];
        word.copy_from_slice(b);
        *limb = u64::from_le_bytes(word);
    }
    out
}

fn check_lengths(scalars: &[Fr], points: &[G1Affine]) -> Result<(), MsmError> {
    if scalars.len() != points.len() {
        return Err(MsmError::Length {
            scalars: scalars.len(),
            points: points.len(),
        });
    }
    Ok(())
}

/// The CPU backend of this crate.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuMsm;

impl Msm for CpuMsm {
    fn name(&self) -> &'static str {
        "cpu"
    }

    fn msm(&self, scalars: &[Fr], points: &[G1Affine]) -> Result<G1, MsmError> {
        check_lengths(scalars, points)?;
        Ok(cpu::msm(scalars, points))
    }
}

/// halo2curves' `msm_best`, what halo2-axiom uses: the baseline, and the reference in tests.
#[derive(Debug, Clone, Copy, Default)]
pub struct Halo2CurvesMsm;

impl Msm for Halo2CurvesMsm {
    fn name(&self) -> &'static str {
        "halo2curves"
    }

    fn msm(&self, scalars: &[Fr], points: &[G1Affine]) -> Result<G1, MsmError> {
        check_lengths(scalars, points)?;
        Ok(halo2_proofs::halo2curves::msm::msm_best(scalars, points))
    }
}

/// The backends one can choose (`--msm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// This crate's CPU engine.
    #[default]
    Cpu,
    /// halo2curves' `msm_best` (halo2-axiom's own).
    Halo2Curves,
    /// The OpenCL backend on a GPU, or on any OpenCL device when there is no GPU (a CPU
    /// platform such as PoCL); the CPU backend with a warning when there is none.
    Gpu,
    /// The OpenCL backend for MSMs of at least [`gpu::AUTO_MIN_POINTS`] points when a GPU is
    /// present, the CPU backend otherwise (no warning).
    Auto,
}

impl Backend {
    /// The backend's implementation.
    pub fn instance(self) -> std::sync::Arc<dyn Msm> {
        match self {
            Backend::Cpu => std::sync::Arc::new(CpuMsm),
            Backend::Halo2Curves => std::sync::Arc::new(Halo2CurvesMsm),
            Backend::Gpu => std::sync::Arc::new(gpu::GpuMsm::open(gpu::DeviceChoice::Any, 0)),
            Backend::Auto => match gpu::probe(gpu::DeviceChoice::GpuOnly) {
                Ok(_) => std::sync::Arc::new(gpu::GpuMsm::open(
                    gpu::DeviceChoice::GpuOnly,
                    gpu::AUTO_MIN_POINTS,
                )),
                Err(_) => std::sync::Arc::new(CpuMsm),
            },
        }
    }

    /// What this choice computes on, in words, for logs: `cpu`, `halo2curves`,
    /// `gpu (DEVICE)`, or why the GPU is not used.
    pub fn describe(self) -> String {
        match self {
            Backend::Cpu => "cpu".into(),
            Backend::Halo2Curves => "halo2curves".into(),
            Backend::Gpu => match gpu::probe(gpu::DeviceChoice::Any) {
                Ok(name) => format!("gpu ({name})"),
                Err(e) => format!("cpu (gpu unavailable: {e})"),
            },
            Backend::Auto => match gpu::probe(gpu::DeviceChoice::GpuOnly) {
                Ok(name) => format!(
                    "auto: gpu ({name}) from {} points, cpu below",
                    gpu::AUTO_MIN_POINTS
                ),
                Err(e) => format!("auto: cpu ({e})"),
            },
        }
    }

    /// Wraps KZG parameters so that proofs made with them commit through this backend.
    pub fn params(
        self,
        kzg: std::sync::Arc<
            halo2_proofs::poly::kzg::commitment::ParamsKZG<halo2_proofs::halo2curves::bn256::Bn256>,
        >,
    ) -> std::io::Result<kzg::MsmParams> {
        kzg::MsmParams::new(kzg, self.instance())
    }
}
