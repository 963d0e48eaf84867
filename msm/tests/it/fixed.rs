//! Fixed-base tables against halo2curves' `msm_best`.

use halo2_proofs::halo2curves::bn256::{Fr, G1Affine, G1};
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::halo2curves::group::prime::PrimeCurveAffine;
use halo2_proofs::halo2curves::group::{Curve, Group};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use zkroll_msm::fixed::FixedBases;
use zkroll_msm::{Halo2CurvesMsm, Msm, MsmError};

use crate::backends::{random_points, random_scalars};

fn best(scalars: &[Fr], points: &[G1Affine]) -> G1Affine {
    Halo2CurvesMsm
        .msm(scalars, points)
        .expect("msm_best")
        .to_affine()
}

#[test]
fn tables_match_msm_best_for_many_sizes_widths_and_prefixes() {
    let mut rng = ChaCha8Rng::seed_from_u64(21);
    let points = random_points(5000, &mut rng);
    let scalars = random_scalars(5000, &mut rng);
    for (n, c) in [
        (1, Some(1)),
        (3, Some(2)),
        (100, Some(5)),
        (1000, Some(8)),
        (5000, None),
        (5000, Some(13)),
    ] {
        let tables = FixedBases::new(&points[..n], c);
        assert_eq!(tables.len(), n);
        let w = (255usize).div_ceil(tables.window_bits());
        assert_eq!(tables.bytes(), n * w * 64);
        assert_eq!(
            tables.msm(&scalars[..n]).expect("msm").to_affine(),
            best(&scalars[..n], &points[..n]),
            "n={n} c={c:?}"
        );
        // A prefix of the bases (commitments to shorter polynomials).
        let m = n / 2 + 1;
        assert_eq!(
            tables.msm(&scalars[..m]).expect("prefix").to_affine(),
            best(&scalars[..m], &points[..m]),
            "n={n} m={m}"
        );
    }
    let tables = FixedBases::new(&points[..10], None);
    assert!(matches!(
        tables.msm(&scalars[..11]),
        Err(MsmError::Length { .. })
    ));
    assert_eq!(tables.msm(&[]).expect("empty"), G1::identity());
}

#[test]
fn tables_handle_edge_scalars_and_points_at_infinity() {
    let mut rng = ChaCha8Rng::seed_from_u64(22);
    let mut points = random_points(700, &mut rng);
    for p in points.iter_mut().step_by(9) {
        *p = G1Affine::identity();
    }
    let tables = FixedBases::new(&points, Some(7));
    let edge = [Fr::ZERO, Fr::ONE, -Fr::ONE, Fr::from(2), -Fr::from(2)];
    for s in edge {
        let scalars = vec![s; points.len()];
        assert_eq!(
            tables.msm(&scalars).expect("msm").to_affine(),
            best(&scalars, &points)
        );
    }
    let small: Vec<Fr> = (0..points.len() as u64).map(|i| Fr::from(i % 4)).collect();
    assert_eq!(
        tables.msm(&small).expect("small").to_affine(),
        best(&small, &points)
    );
    let random = random_scalars(points.len(), &mut rng);
    assert_eq!(
        tables.msm(&random).expect("random").to_affine(),
        best(&random, &points)
    );
    // All bases equal: every bucket addition is a doubling.
    let same = vec![points[1]; 300];
    let tables = FixedBases::new(&same, Some(6));
    let scalars = random_scalars(300, &mut rng);
    assert_eq!(
        tables.msm(&scalars).expect("equal").to_affine(),
        best(&scalars, &same)
    );
    assert!(!bool::from(G1::from(points[1]).is_identity()));
}
