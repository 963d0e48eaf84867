//! The GPU backend: Pippenger's bucket method in OpenCL (`msm.cl`), loaded at run time.
//!
//! The host recodes the scalars into signed digits and sorts the points by bucket
//! ([`plan`]); the device converts the points to Montgomery form, sums each bucket (tasks of
//! at most [`plan::TASK_LEN`] points, then the tasks of a bucket), and computes running sums
//! over segments of [`plan::SEGMENT_LEN`] buckets; the host checks every returned point is
//! on the curve and combines segments and windows.
//!
//! The OpenCL library is opened with `dlopen` on first use: a machine without one (or with
//! no device) gets [`GpuError::NoRuntime`] / [`GpuError::NoDevice`], and [`GpuMsm`] then
//! computes on the CPU backend with a warning. A failure during an MSM (allocation, kernel
//! launch, a point off the curve) also falls back to the CPU, for that MSM and every later
//! one: the answer is never wrong, at worst slower.

mod opencl;
pub mod plan;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use halo2_proofs::halo2curves::bn256::{Fq, Fr, G1Affine, G1};
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::halo2curves::group::Group;

use crate::{check_lengths, CpuMsm, Msm, MsmError};
use opencl::OpenClDevice;
use plan::Plan;

/// The kernels, without the field constants (see [`kernel_source`]).
const KERNELS: &str = include_str!("msm.cl");

/// Fewest points for which `auto` sends an MSM to a GPU; smaller ones stay on the CPU,
/// where transfer and launch costs do not dominate. A setting, not a measurement: no GPU
/// was available to tune it on (see docs/benchmarks.md).
pub const AUTO_MIN_POINTS: usize = 1 << 16;

/// Why the GPU backend cannot compute an MSM.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GpuError {
    /// No OpenCL library could be loaded.
    #[error("no OpenCL runtime (libOpenCL.so.1 not found; install an ICD loader and a driver)")]
    NoRuntime,
    /// The runtime has no device of the kind asked for.
    #[error("{0}")]
    NoDevice(&'static str),
    /// An OpenCL call failed.
    #[error("OpenCL error {code} while {what}")]
    OpenCl {
        /// What was being done.
        what: &'static str,
        /// The OpenCL error code.
        code: i32,
    },
    /// The kernels did not compile for the device.
    #[error("the MSM kernels did not build: {0}")]
    Build(String),
    /// A buffer is larger than the device allows.
    #[error("{what}: {bytes} bytes, more than the device's limit of {limit}")]
    TooLarge {
        /// Which buffer.
        what: &'static str,
        /// Its size.
        bytes: u64,
        /// The device's limit.
        limit: u64,
    },
    /// The device returned something that is not a valid result.
    #[error("the device returned an invalid result ({0})")]
    BadOutput(&'static str),
    /// A thread panicked while holding the device.
    #[error("the device lock is poisoned")]
    Poisoned,
}

/// Which OpenCL devices a backend may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceChoice {
    /// A GPU if there is one, else any device (a CPU OpenCL platform such as PoCL).
    Any,
    /// GPUs only.
    GpuOnly,
}

/// The canonical little-endian 32-bit limbs of a base-field element.
fn canonical(x: Fq) -> [u32; 8] {
    let wide = crate::fq_canonical(x);
    std::array::from_fn(|i| (wide[i / 2] >> (32 * (i % 2))) as u32)
}

/// The field constants the kernels need, derived from halo2curves' base field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldConstants {
    /// The modulus p.
    pub p: [u32; 8],
    /// 2^512 mod p (to Montgomery form).
    pub r2: [u32; 8],
    /// 2^256 mod p (one in Montgomery form).
    pub r1: [u32; 8],
    /// p - 2 (the inversion exponent).
    pub p_minus_2: [u32; 8],
    /// -p^-1 mod 2^32.
    pub inv: u32,
}

impl FieldConstants {
    /// Computes the constants from [`Fq`].
    pub fn new() -> Self {
        // p = (p - 1) + 1, with p - 1 the canonical form of -1.
        let mut p = canonical(-Fq::ONE);
        let mut carry = 1u64;
        for limb in &mut p {
            let s = u64::from(*limb) + carry;
            *limb = s as u32;
            carry = s >> 32;
        }
        let two = Fq::from(2);
        // Newton's iteration doubles the correct low bits of p^-1 mod 2^32 each step.
        let mut inv = 1u32;
        for _ in 0..5 {
            inv = inv.wrapping_mul(2u32.wrapping_sub(p[0].wrapping_mul(inv)));
        }
        Self {
            p,
            r2: canonical(two.pow_vartime([512])),
            r1: canonical(two.pow_vartime([256])),
            p_minus_2: canonical(-two),
            inv: inv.wrapping_neg(),
        }
    }
}

impl Default for FieldConstants {
    fn default() -> Self {
        Self::new()
    }
}

/// The OpenCL program: the constants as macros, then the kernels.
pub fn kernel_source() -> String {
    let k = FieldConstants::new();
    let list = |limbs: &[u32; 8]| {
        limbs
            .iter()
            .map(|l| format!("0x{l:08x}u"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "#define FQ_P {}\n#define FQ_R2 {}\n#define FQ_R1 {}\n#define FQ_PM2 {}\n#define FQ_INV 0x{:08x}u\n{}",
        list(&k.p),
        list(&k.r2),
        list(&k.r1),
        list(&k.p_minus_2),
        k.inv,
        KERNELS
    )
}

/// The device for `choice`, opened and built once per process.
fn device(choice: DeviceChoice) -> Result<Arc<OpenClDevice>, GpuError> {
    static ANY: OnceLock<Result<Arc<OpenClDevice>, GpuError>> = OnceLock::new();
    static GPU: OnceLock<Result<Arc<OpenClDevice>, GpuError>> = OnceLock::new();
    let cell = match choice {
        DeviceChoice::Any => &ANY,
        DeviceChoice::GpuOnly => &GPU,
    };
    cell.get_or_init(|| OpenClDevice::open(choice, &kernel_source()).map(Arc::new))
        .clone()
}

/// The name of the device `choice` would use, or why there is none. Opens the device (and
/// builds the kernels) if that has not happened yet.
pub fn probe(choice: DeviceChoice) -> Result<String, GpuError> {
    device(choice).map(|d| d.name().to_string())
}

/// The GPU backend: MSMs of at least `min_points` points on an OpenCL device, everything
/// else (and everything after a device failure) on [`CpuMsm`].
#[derive(Debug)]
pub struct GpuMsm {
    device: Result<Arc<OpenClDevice>, GpuError>,
    min_points: usize,
    failed: AtomicBool,
}

impl GpuMsm {
    /// The backend on the device `choice` selects, sending MSMs of at least `min_points`
    /// points to it. When there is no such device, says so on stderr and computes on the CPU.
    pub fn open(choice: DeviceChoice, min_points: usize) -> Self {
        let device = device(choice);
        if let Err(e) = &device {
            eprintln!("warning: GPU MSM backend unavailable ({e}); using the CPU backend");
        }
        Self {
            device,
            min_points,
            failed: AtomicBool::new(false),
        }
    }

    /// The device's name, if one is in use.
    pub fn device_name(&self) -> Option<&str> {
        match &self.device {
            Ok(d) if !self.failed.load(Ordering::Relaxed) => Some(d.name()),
            _ => None,
        }
    }

    /// Whether the device is a GPU (and not a CPU OpenCL platform).
    pub fn is_gpu(&self) -> bool {
        matches!(&self.device, Ok(d) if d.is_gpu())
    }

    /// The MSM on the device, without falling back: for tests and benchmarks.
    pub fn try_msm(&self, scalars: &[Fr], points: &[G1Affine]) -> Result<G1, GpuError> {
        let device = self.device.as_ref().map_err(Clone::clone)?;
        if let Some((s, p)) = crate::finite_terms(scalars, points) {
            return self.try_msm(&s, &p);
        }
        if points.is_empty() {
            return Ok(G1::identity());
        }
        let plan = Plan::new(scalars, plan::window_bits(points.len()))?;
        let encoded = plan::encode_points(points);
        let out = device.segments(&encoded, &plan)?;
        plan.combine(&out)
    }
}

impl Msm for GpuMsm {
    fn name(&self) -> &'static str {
        if self.device_name().is_some() {
            "gpu"
        } else {
            "cpu"
        }
    }

    fn msm(&self, scalars: &[Fr], points: &[G1Affine]) -> Result<G1, MsmError> {
        check_lengths(scalars, points)?;
        if self.device.is_ok()
            && !self.failed.load(Ordering::Relaxed)
            && points.len() >= self.min_points
        {
            match self.try_msm(scalars, points) {
                Ok(sum) => return Ok(sum),
                Err(e) => {
                    if !self.failed.swap(true, Ordering::Relaxed) {
                        eprintln!(
                            "warning: GPU MSM of {} points failed ({e}); using the CPU backend from now on",
                            points.len()
                        );
                    }
                }
            }
        }
        CpuMsm.msm(scalars, points)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use halo2_proofs::halo2curves::group::Curve;
    use rand::SeedableRng;

    /// A backend on any OpenCL device built from `source`, bypassing the per-process cache.
    fn with_source(source: &str) -> Option<Result<GpuMsm, GpuError>> {
        match device(DeviceChoice::Any) {
            Err(e) if std::env::var("ZKROLL_REQUIRE_OPENCL").as_deref() == Ok("1") => {
                panic!("ZKROLL_REQUIRE_OPENCL=1 but {e}")
            }
            Err(e) => {
                eprintln!("SKIPPED (no OpenCL: {e})");
                None
            }
            Ok(_) => Some(
                OpenClDevice::open(DeviceChoice::Any, source).map(|d| GpuMsm {
                    device: Ok(Arc::new(d)),
                    min_points: 0,
                    failed: AtomicBool::new(false),
                }),
            ),
        }
    }

    fn inputs(n: usize) -> (Vec<Fr>, Vec<G1Affine>) {
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let g = G1::generator();
        let scalars: Vec<Fr> = (0..n).map(|_| Fr::random(&mut rng)).collect();
        let points = (0..n)
            .map(|_| (g * Fr::random(&mut rng)).to_affine())
            .collect();
        (scalars, points)
    }

    #[test]
    fn kernels_that_do_not_compile_are_a_build_error() {
        if let Some(result) = with_source("kernel void broken(global uint *x) { x[0] = y; }") {
            assert!(matches!(result, Err(GpuError::Build(_))), "{result:?}");
        }
    }

    #[test]
    fn a_device_that_computes_garbage_falls_back_to_the_cpu() {
        // A wrong mixed addition: the results leave the curve.
        let right = "r.y = fq_sub(fq_mul(rr, fq_sub(v, r.x)), fq_dbl(fq_mul(p.y, j)));";
        let source = kernel_source();
        assert_eq!(source.matches(right).count(), 1);
        let wrong = source.replace(
            right,
            "r.y = fq_sub(fq_mul(rr, fq_sub(v, r.x)), fq_mul(p.y, j));",
        );
        let Some(gpu) = with_source(&wrong) else {
            return;
        };
        let gpu = gpu.expect("the altered kernels still compile");
        let (scalars, points) = inputs(300);
        assert!(matches!(
            gpu.try_msm(&scalars, &points),
            Err(GpuError::BadOutput(_))
        ));
        assert_eq!(gpu.name(), "gpu");
        let sum = gpu.msm(&scalars, &points).expect("falls back");
        assert_eq!(
            sum.to_affine(),
            CpuMsm.msm(&scalars, &points).expect("cpu").to_affine()
        );
        assert_eq!(
            gpu.name(),
            "cpu",
            "after a failure the backend stays on the CPU"
        );
    }

    #[test]
    fn without_a_device_the_backend_computes_on_the_cpu() {
        let gpu = GpuMsm {
            device: Err(GpuError::NoRuntime),
            min_points: 0,
            failed: AtomicBool::new(false),
        };
        let (scalars, points) = inputs(50);
        assert_eq!(gpu.name(), "cpu");
        assert!(matches!(
            gpu.try_msm(&scalars, &points),
            Err(GpuError::NoRuntime)
        ));
        let sum = gpu.msm(&scalars, &points).expect("cpu");
        assert_eq!(
            sum.to_affine(),
            CpuMsm.msm(&scalars, &points).expect("cpu").to_affine()
        );
        assert!(matches!(
            gpu.msm(&scalars[..3], &points),
            Err(MsmError::Length { .. })
        ));
    }

    #[test]
    fn field_constants_agree_with_the_field() {
        let k = FieldConstants::new();
        // p is odd and p * (-inv) = -1 mod 2^32.
        assert_eq!(k.p[0].wrapping_mul(k.inv), u32::MAX);
        // p - 2 + 2 = p, limb by limb.
        let mut carry = 2u64;
        let mut back = k.p_minus_2;
        for limb in &mut back {
            let s = u64::from(*limb) + carry;
            *limb = s as u32;
            carry = s >> 32;
        }
        assert_eq!(back, k.p);
        // R^2 = R * R mod p, with R = 2^256 mod p.
        let r = Fq::from(2).pow_vartime([256]);
        assert_eq!(k.r2, canonical(r * r));
        let src = kernel_source();
        assert!(src.starts_with("#define FQ_P 0x"));
        assert!(src.contains("__kernel void window_segments"));
    }

    #[test]
    fn a_broken_device_result_is_an_error_not_a_point() {
        let plan = Plan::new(&[Fr::one(), Fr::from(5)], 3).expect("plan");
        let garbage = vec![7u32; plan.segment_count() * 2 * 16];
        assert!(matches!(
            plan.combine(&garbage),
            Err(GpuError::BadOutput(_))
        ));
        assert!(matches!(plan.combine(&[]), Err(GpuError::BadOutput(_))));
    }
}
