//! The OpenCL backend against the CPU backend, bit for bit, on whatever OpenCL device the
//! machine has (PoCL's CPU device in CI). Without one, each test says it is skipped; with
//! `ZKROLL_REQUIRE_OPENCL=1` (set by scripts/test.sh) a missing device fails instead.

use halo2_proofs::halo2curves::bn256::{Fr, G1Affine, G1};
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::halo2curves::group::prime::PrimeCurveAffine;
use halo2_proofs::halo2curves::group::{Curve, Group};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use zkroll_msm::gpu::{probe, DeviceChoice, GpuMsm};
use zkroll_msm::{Backend, CpuMsm, Msm};

use crate::backends::{random_points, random_scalars};

/// The backend on any OpenCL device, or `None` (with a line saying the test is skipped).
pub(crate) fn opencl_or_skip(test: &str) -> Option<GpuMsm> {
    match probe(DeviceChoice::Any) {
        Ok(name) => {
            eprintln!("{test}: OpenCL device {name}");
            Some(GpuMsm::open(DeviceChoice::Any, 0))
        }
        Err(e) if std::env::var("ZKROLL_REQUIRE_OPENCL").as_deref() == Ok("1") => {
            panic!("{test}: ZKROLL_REQUIRE_OPENCL=1 but {e}")
        }
        Err(e) => {
            eprintln!("SKIPPED {test}: {e} (install pocl-opencl-icd ocl-icd-libopencl1)");
            None
        }
    }
}

fn same(gpu: &GpuMsm, scalars: &[Fr], points: &[G1Affine], what: &str) {
    let on_device = gpu
        .try_msm(scalars, points)
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    let on_cpu = CpuMsm.msm(scalars, points).expect("cpu");
    assert_eq!(
        on_device.to_affine(),
        on_cpu.to_affine(),
        "{what}, n={}",
        points.len()
    );
}

#[test]
fn gpu_matches_cpu_on_random_inputs_of_many_sizes() {
    let Some(gpu) = opencl_or_skip("gpu_matches_cpu_on_random_inputs_of_many_sizes") else {
        return;
    };
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let points = random_points(1 << 14, &mut rng);
    let scalars = random_scalars(1 << 14, &mut rng);
    for n in [1, 2, 3, 5, 7, 16, 31, 100, 255, 1000, 4099, 1 << 14] {
        same(&gpu, &scalars[..n], &points[..n], "random");
    }
    // Through the Msm trait too (the path proofs take), and an empty MSM.
    let via_trait = gpu.msm(&scalars[..777], &points[..777]).expect("msm");
    let cpu = CpuMsm.msm(&scalars[..777], &points[..777]).expect("cpu");
    assert_eq!(via_trait.to_affine(), cpu.to_affine());
    assert_eq!(gpu.try_msm(&[], &[]).expect("empty"), G1::identity());
    assert_eq!(gpu.name(), "gpu");
}

#[test]
fn gpu_matches_cpu_on_edge_cases() {
    let Some(gpu) = opencl_or_skip("gpu_matches_cpu_on_edge_cases") else {
        return;
    };
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let n = 600;
    let points = random_points(n, &mut rng);
    let minus_one = -Fr::ONE;
    let edge = [Fr::ZERO, Fr::ONE, minus_one, Fr::from(2), -Fr::from(2)];
    for s in edge {
        same(&gpu, &vec![s; n], &points, "one scalar everywhere");
    }
    let mixed: Vec<Fr> = (0..n).map(|i| edge[i % edge.len()]).collect();
    same(&gpu, &mixed, &points, "edge scalars mixed");
    // Small and sparse scalars (witness columns): a few buckets far above a task's length.
    let small: Vec<Fr> = (0..n as u64).map(|i| Fr::from(i % 3)).collect();
    same(&gpu, &small, &points, "small scalars");
    // One point everywhere: every bucket addition is a doubling.
    let equal = vec![points[0]; n];
    same(
        &gpu,
        &random_scalars(n, &mut rng),
        &equal,
        "all points equal",
    );
    same(
        &gpu,
        &vec![Fr::from(3); n],
        &equal,
        "equal points and scalars",
    );
    // P and -P with equal scalars cancel to the point at infinity.
    let mut cancel = points[..n / 2].to_vec();
    cancel.extend(points[..n / 2].iter().map(|p| -*p));
    assert_eq!(
        gpu.try_msm(&vec![Fr::from(9); n], &cancel).expect("cancel"),
        G1::identity()
    );
    // Points at infinity among the bases.
    let mut with_identity = points.clone();
    for p in with_identity.iter_mut().step_by(7) {
        *p = G1Affine::identity();
    }
    same(
        &gpu,
        &random_scalars(n, &mut rng),
        &with_identity,
        "points at infinity",
    );
    assert_eq!(
        gpu.try_msm(&[Fr::ONE], &[G1Affine::identity()])
            .expect("only infinity"),
        G1::identity()
    );
    // The generator times a known scalar.
    let g = G1Affine::generator();
    assert_eq!(
        gpu.try_msm(&[Fr::from(12345)], &[g])
            .expect("one")
            .to_affine(),
        (G1::generator() * Fr::from(12345)).to_affine()
    );
}

#[test]
fn gpu_backend_choices() {
    let Some(_) = opencl_or_skip("gpu_backend_choices") else {
        return;
    };
    assert!(
        Backend::Gpu.describe().starts_with("gpu ("),
        "{}",
        Backend::Gpu.describe()
    );
    let auto = Backend::Auto.describe();
    // `auto` takes GPUs only: on a CPU OpenCL platform it stays on the CPU backend.
    if probe(DeviceChoice::GpuOnly).is_err() {
        assert!(auto.starts_with("auto: cpu"), "{auto}");
        assert_eq!(Backend::Auto.instance().name(), "cpu");
    }
}
