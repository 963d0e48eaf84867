//! The MSM backends against a naive MSM and against halo2curves' `msm_best`.

use halo2_proofs::halo2curves::bn256::{Fr, G1Affine, G1};
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::halo2curves::group::prime::PrimeCurveAffine;
use halo2_proofs::halo2curves::group::{Curve, Group};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use zkroll_msm::buckets::Arith;
use zkroll_msm::{cpu, CpuMsm, Halo2CurvesMsm, Msm, MsmError};

fn naive(scalars: &[Fr], points: &[G1Affine]) -> G1 {
    scalars
        .iter()
        .zip(points)
        .fold(G1::identity(), |acc, (s, p)| acc + p * s)
}

pub(crate) fn random_points(n: usize, rng: &mut ChaCha8Rng) -> Vec<G1Affine> {
    // Random multiples of the generator, normalised in one batch.
    let g = G1::generator();
    let projective: Vec<G1> = (0..n).map(|_| g * Fr::random(&mut *rng)).collect();
    let mut affine = vec![G1Affine::identity(); n];
    G1::batch_normalize(&projective, &mut affine);
    affine
}

pub(crate) fn random_scalars(n: usize, rng: &mut ChaCha8Rng) -> Vec<Fr> {
    (0..n).map(|_| Fr::random(&mut *rng)).collect()
}

/// The CPU backend (as `CpuMsm` picks its arithmetic, and with each arithmetic forced:
/// the scalar path must stay tested on CPUs with AVX-512 IFMA) against `msm_best`.
fn check(scalars: &[Fr], points: &[G1Affine], with_naive: bool) {
    let ours = CpuMsm.msm(scalars, points).expect("cpu");
    let best = Halo2CurvesMsm.msm(scalars, points).expect("msm_best");
    assert_eq!(ours.to_affine(), best.to_affine(), "n={}", points.len());
    for arith in [Arith::Scalar, Arith::Ifma] {
        let forced = cpu::msm_with(scalars, points, arith);
        assert_eq!(
            forced.to_affine(),
            best.to_affine(),
            "{arith:?} n={}",
            points.len()
        );
    }
    if with_naive {
        assert_eq!(ours.to_affine(), naive(scalars, points).to_affine());
    }
}

#[test]
fn random_inputs_of_many_sizes_match_naive_and_msm_best() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let points = random_points(1 << 16, &mut rng);
    let scalars = random_scalars(1 << 16, &mut rng);
    for n in [1, 2, 3, 5, 7, 16, 31, 100, 255, 1000] {
        check(&scalars[..n], &points[..n], true);
    }
    for n in [1 << 12, (1 << 12) + 3, 10_007, 1 << 14, 50_001, 1 << 16] {
        check(&scalars[..n], &points[..n], false);
    }
}

/// On 1, 3 and 5 threads the windows are split into parts differently (the windows left
/// over after the whole ones go one part per thread): the same sums.
#[test]
fn any_thread_count_gives_the_same_sum() {
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    let n = (1 << 14) + 3;
    let points = random_points(n, &mut rng);
    let scalars = random_scalars(n, &mut rng);
    for threads in [1, 3, 5] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("thread pool");
        pool.install(|| check(&scalars, &points, false));
    }
}

#[test]
fn edge_scalars_zero_one_and_minus_one() {
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let points = random_points(3000, &mut rng);
    for n in [1, 10, 3000] {
        for s in [Fr::ZERO, Fr::ONE, -Fr::ONE, Fr::from(2), -Fr::from(2)] {
            check(&vec![s; n], &points[..n], n <= 10);
        }
        // Mixed edge scalars.
        let mixed: Vec<Fr> = (0..n)
            .map(|i| [Fr::ZERO, Fr::ONE, -Fr::ONE, Fr::random(&mut rng)][i % 4])
            .collect();
        check(&mixed, &points[..n], n <= 10);
    }
}

#[test]
fn equal_and_opposite_points_double_and_cancel() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let p = random_points(1, &mut rng)[0];
    let minus_p = G1Affine { x: p.x, y: -p.y };
    // All equal points with equal scalars: every bucket addition is a doubling.
    for n in [2, 3, 64, 5000] {
        check(&vec![Fr::from(12345); n], &vec![p; n], n <= 64);
        let scalars = random_scalars(n, &mut rng);
        check(&scalars, &vec![p; n], n <= 64);
    }
    // P and -P with the same scalar cancel: the bucket additions reach infinity.
    let points: Vec<G1Affine> = (0..4000)
        .map(|i| if i % 2 == 0 { p } else { minus_p })
        .collect();
    let scalars = vec![Fr::from(77); 4000];
    assert_eq!(CpuMsm.msm(&scalars, &points).expect("cpu"), G1::identity());
    check(&scalars, &points, false);
}

#[test]
fn points_at_infinity_and_empty_input() {
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    let mut points = random_points(500, &mut rng);
    for i in (0..500).step_by(7) {
        points[i] = G1Affine::identity();
    }
    check(&random_scalars(500, &mut rng), &points, true);
    assert_eq!(CpuMsm.msm(&[], &[]).expect("empty"), G1::identity());
}

#[test]
fn length_mismatch_is_an_error() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let points = random_points(3, &mut rng);
    match CpuMsm.msm(&[Fr::ONE; 2], &points) {
        Err(MsmError::Length {
            scalars: 2,
            points: 3,
        }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn small_and_sparse_scalars_leave_windows_empty() {
    // Witness columns are mostly small values and zeros: the high windows see no digit.
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let n = 40_000;
    let points = random_points(n, &mut rng);
    let small: Vec<Fr> = (0..n).map(|i| Fr::from((i % 300) as u64)).collect();
    check(&small, &points, false);
    let sparse: Vec<Fr> = (0..n)
        .map(|i| {
            if i % 1000 == 0 {
                Fr::random(&mut rng)
            } else {
                Fr::ZERO
            }
        })
        .collect();
    check(&sparse, &points, false);
    check(&vec![Fr::ZERO; n], &points, false);
}
