//! MSM on BN254 G1: zkroll's CPU engine against halo2curves' `msm_best` (what halo2-axiom
//! uses) and arkworks' `VariableBaseMSM` (ark-bn254, `parallel`), on the same points and
//! scalars, and the OpenCL backend on the machine's OpenCL device when there is one (its
//! name in the row: a GPU, or PoCL's CPU device; up to 2^`ZKROLL_BENCH_OPENCL_MAX_LOG`
//! points, default 16, as a CPU OpenCL platform takes seconds per MSM). The CPU engine runs
//! twice: with the arithmetic it picks (AVX-512 IFMA where the CPU has it) and with the
//! scalar arithmetic forced, and with fixed-base tables (built before the timing, up to
//! 2^`ZKROLL_BENCH_FIXED_MAX_LOG` points, default 20: 1 GiB of tables there). Sizes: `ZKROLL_BENCH_MSM_LOGS` (default `12,16,18,20`), as log2
//! of the points.
#![allow(missing_docs)] // criterion_group! generates undocumented functions

use ark_ec::VariableBaseMSM;
use ark_ff::PrimeField as _;
use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion};
use halo2_proofs::halo2curves::bn256::{Fr, G1Affine, G1};
use halo2_proofs::halo2curves::ff::{Field, PrimeField};
use halo2_proofs::halo2curves::group::prime::PrimeCurveAffine;
use halo2_proofs::halo2curves::group::Curve;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use zkroll_msm::buckets::Arith;
use zkroll_msm::fixed::FixedBases;
use zkroll_msm::gpu::{probe, DeviceChoice, GpuMsm};
use zkroll_msm::{CpuMsm, Halo2CurvesMsm, Msm};

fn sizes() -> Vec<u32> {
    std::env::var("ZKROLL_BENCH_MSM_LOGS")
        .unwrap_or_else(|_| "12,16,18,20".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

/// `n` distinct points: a walk of random steps from a random point (one addition each;
/// `n` scalar multiplications would take longer than the benchmark).
fn points(n: usize, rng: &mut ChaCha8Rng) -> Vec<G1Affine> {
    let steps: Vec<G1> = (0..64)
        .map(|_| G1::generator() * Fr::random(&mut *rng))
        .collect();
    let mut p = G1::generator() * Fr::random(&mut *rng);
    let walk: Vec<G1> = (0..n)
        .map(|_| {
            p += steps[rng.gen_range(0..steps.len())];
            p
        })
        .collect();
    let mut affine = vec![G1Affine::identity(); n];
    G1::batch_normalize(&walk, &mut affine);
    affine
}

fn to_ark_point(p: &G1Affine) -> ark_bn254::G1Affine {
    let x = ark_bn254::Fq::from_le_bytes_mod_order(p.x.to_repr().as_ref());
    let y = ark_bn254::Fq::from_le_bytes_mod_order(p.y.to_repr().as_ref());
    ark_bn254::G1Affine::new_unchecked(x, y)
}

fn to_ark_scalar(s: &Fr) -> ark_bn254::Fr {
    ark_bn254::Fr::from_le_bytes_mod_order(s.to_repr().as_ref())
}

fn msm(c: &mut Criterion) {
    let sizes = sizes();
    let max = sizes.iter().copied().max().unwrap_or(12);
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let all_points = points(1 << max, &mut rng);
    let all_scalars: Vec<Fr> = (0..1usize << max).map(|_| Fr::random(&mut rng)).collect();
    let opencl_max_log: u32 = std::env::var("ZKROLL_BENCH_OPENCL_MAX_LOG")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16);
    let fixed_max_log: u32 = std::env::var("ZKROLL_BENCH_FIXED_MAX_LOG")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let gpu = match probe(DeviceChoice::Any) {
        Ok(name) => Some((
            GpuMsm::open(DeviceChoice::Any, 0),
            format!("zkroll opencl {name}"),
        )),
        Err(e) => {
            eprintln!("no OpenCL rows: {e}");
            None
        }
    };
    let mut group = c.benchmark_group("msm");
    group.sample_size(10);
    for log in sizes {
        let n = 1usize << log;
        let (scalars, points) = (&all_scalars[..n], &all_points[..n]);
        let expected = Halo2CurvesMsm.msm(scalars, points).expect("msm_best");
        assert_eq!(
            CpuMsm.msm(scalars, points).expect("cpu").to_affine(),
            expected.to_affine()
        );
        let ark_points: Vec<ark_bn254::G1Affine> = points.iter().map(to_ark_point).collect();
        let ark_scalars: Vec<ark_bn254::Fr> = scalars.iter().map(to_ark_scalar).collect();
        let ark = ark_bn254::G1Projective::msm(&ark_points, &ark_scalars).expect("lengths");
        assert_eq!(
            ark_ec::CurveGroup::into_affine(ark),
            to_ark_point(&expected.to_affine())
        );
        group.bench_with_input(BenchmarkId::new("zkroll cpu", log), &n, |b, _| {
            b.iter(|| CpuMsm.msm(black_box(scalars), black_box(points)))
        });
        group.bench_with_input(BenchmarkId::new("zkroll cpu scalar", log), &n, |b, _| {
            b.iter(|| {
                zkroll_msm::cpu::msm_with(black_box(scalars), black_box(points), Arith::Scalar)
            })
        });
        if log <= fixed_max_log {
            let started = std::time::Instant::now();
            let tables = FixedBases::new(points, None);
            eprintln!(
                "fixed-base tables for 2^{log} points: c = {}, {} MiB, built in {:.1} s",
                tables.window_bits(),
                tables.bytes() >> 20,
                started.elapsed().as_secs_f64()
            );
            assert_eq!(
                tables.msm(scalars).expect("fixed").to_affine(),
                expected.to_affine()
            );
            group.bench_with_input(
                BenchmarkId::new("zkroll cpu fixed-base", log),
                &n,
                |b, _| b.iter(|| tables.msm(black_box(scalars))),
            );
        }
        if let Some((gpu, label)) = gpu.as_ref().filter(|_| log <= opencl_max_log) {
            let on_device = gpu.try_msm(scalars, points).expect("opencl");
            assert_eq!(on_device.to_affine(), expected.to_affine());
            group.bench_with_input(BenchmarkId::new(label.as_str(), log), &n, |b, _| {
                b.iter(|| gpu.try_msm(black_box(scalars), black_box(points)))
            });
        }
        group.bench_with_input(BenchmarkId::new("halo2curves msm_best", log), &n, |b, _| {
            b.iter(|| Halo2CurvesMsm.msm(black_box(scalars), black_box(points)))
        });
        group.bench_with_input(BenchmarkId::new("arkworks", log), &n, |b, _| {
            b.iter(|| ark_bn254::G1Projective::msm(black_box(&ark_points), black_box(&ark_scalars)))
        });
    }
    group.finish();
}

criterion_group!(benches, msm);
criterion_main!(benches);
