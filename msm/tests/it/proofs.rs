//! halo2 proofs with the commitments on the engine: every commitment the prover makes goes
//! through the backend and equals halo2curves' result, and the proofs are accepted by the
//! standard KZG verifier. (Proofs are not byte-comparable across runs: halo2-axiom draws
//! the vanishing argument's random polynomial from `thread_rng`.)

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::gates::circuit::{BaseCircuitParams, CircuitBuilderStage};
use halo2_base::gates::{GateInstructions, RangeInstructions};
use halo2_base::halo2_proofs::plonk::{create_proof, keygen_pk, keygen_vk, verify_proof};
use halo2_base::halo2_proofs::poly::commitment::{Blind, Params, ParamsProver};
use halo2_base::halo2_proofs::poly::kzg::commitment::{KZGCommitmentScheme, ParamsKZG};
use halo2_base::halo2_proofs::poly::kzg::multiopen::{ProverSHPLONK, VerifierSHPLONK};
use halo2_base::halo2_proofs::poly::kzg::strategy::SingleStrategy;
use halo2_base::halo2_proofs::poly::{Coeff, LagrangeCoeff, Polynomial};
use halo2_base::halo2_proofs::transcript::{
    Blake2bRead, Blake2bWrite, Challenge255, TranscriptReadBuffer, TranscriptWriterBuffer,
};
use halo2_proofs::halo2curves::bn256::G1;
use halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_proofs::halo2curves::ff::Field;
use halo2_proofs::halo2curves::group::Curve;
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use zkroll_msm::kzg::{self, MsmParams};
use zkroll_msm::{CpuMsm, Halo2CurvesMsm, Msm, MsmError};

/// A backend checked against halo2curves on every call.
#[derive(Debug)]
struct Checked {
    inner: Arc<dyn Msm>,
    calls: AtomicUsize,
    mismatches: AtomicUsize,
}

impl Checked {
    fn new(inner: Arc<dyn Msm>) -> Self {
        Self {
            inner,
            calls: AtomicUsize::new(0),
            mismatches: AtomicUsize::new(0),
        }
    }
}

impl Msm for Checked {
    fn name(&self) -> &'static str {
        "checked"
    }

    fn msm(&self, scalars: &[Fr], points: &[G1Affine]) -> Result<G1, MsmError> {
        let ours = self.inner.msm(scalars, points)?;
        let best = Halo2CurvesMsm.msm(scalars, points)?;
        self.calls.fetch_add(1, Ordering::Relaxed);
        if ours.to_affine() != best.to_affine() {
            self.mismatches.fetch_add(1, Ordering::Relaxed);
        }
        Ok(ours)
    }
}

const K: u32 = 11;

/// A few thousand cells of arithmetic and range checks with one public output.
fn circuit(
    stage: CircuitBuilderStage,
    config: Option<BaseCircuitParams>,
    x: u64,
) -> BaseCircuitBuilder<Fr> {
    let mut builder = match (stage, config) {
        (CircuitBuilderStage::Prover, Some(c)) => BaseCircuitBuilder::prover(c, vec![vec![]]),
        _ => BaseCircuitBuilder::from_stage(stage)
            .use_k(K as usize)
            .use_lookup_bits(8)
            .use_instance_columns(1),
    };
    let range = builder.range_chip();
    let ctx = builder.main(0);
    let mut acc = ctx.load_witness(Fr::from(x));
    for i in 0..300u64 {
        let b = ctx.load_witness(Fr::from(i + 1));
        acc = range.gate().mul_add(ctx, acc, b, b);
        range.range_check(ctx, b, 16);
    }
    builder.assigned_instances[0].push(acc);
    builder
}

#[test]
fn proofs_through_the_engine_equal_plain_kzg_proofs_and_verify() {
    let kzg_params = ParamsKZG::<Bn256>::setup(K, ChaCha20Rng::seed_from_u64(1));
    let mut keygen = circuit(CircuitBuilderStage::Keygen, None, 5);
    let config = keygen.calculate_params(Some(9));
    let vk = keygen_vk(&kzg_params, &keygen).expect("vk");
    let pk = keygen_pk(&kzg_params, vk, &keygen).expect("pk");
    let break_points = keygen.break_points();

    let prover = || {
        circuit(CircuitBuilderStage::Prover, Some(config.clone()), 5)
            .use_break_points(break_points.clone())
    };
    let instances: Vec<Fr> = prover().assigned_instances[0]
        .iter()
        .map(|v| *v.value())
        .collect();

    let verify = |proof: &[u8], instances: &[Fr]| {
        let mut transcript = Blake2bRead::<_, G1Affine, Challenge255<_>>::init(proof);
        verify_proof::<KZGCommitmentScheme<Bn256>, VerifierSHPLONK<'_, Bn256>, _, _, _>(
            kzg_params.verifier_params(),
            pk.get_vk(),
            SingleStrategy::new(&kzg_params),
            &[&[instances]],
            &mut transcript,
        )
    };

    // Plain KZG, halo2curves' MSM.
    let mut transcript = Blake2bWrite::<_, G1Affine, Challenge255<_>>::init(vec![]);
    create_proof::<KZGCommitmentScheme<Bn256>, ProverSHPLONK<'_, Bn256>, _, _, _, _>(
        &kzg_params,
        &pk,
        &[prover()],
        &[&[&instances]],
        ChaCha20Rng::seed_from_u64(2),
        &mut transcript,
    )
    .expect("plain proof");
    let plain = transcript.finalize();
    verify(&plain, &instances).expect("plain proof verifies");

    let checked = Arc::new(Checked::new(Arc::new(CpuMsm)));
    let shared = Arc::new(kzg_params.clone());
    let mut backends: Vec<Arc<dyn Msm>> =
        vec![checked.clone(), Arc::new(CpuMsm), Arc::new(Halo2CurvesMsm)];
    // The OpenCL backend too, checked on every commitment, where there is a device.
    let gpu_checked = crate::gpu::opencl_or_skip("proofs through the GPU backend")
        .map(|gpu| Arc::new(Checked::new(Arc::new(gpu))));
    if let Some(g) = &gpu_checked {
        backends.push(g.clone());
    }
    for backend in backends {
        let name = backend.name();
        let params = MsmParams::new(shared.clone(), backend).expect("params");
        let mut transcript = Blake2bWrite::<_, G1Affine, Challenge255<_>>::init(vec![]);
        kzg::create_proof(
            &params,
            &pk,
            &[prover()],
            &[&[&instances]],
            ChaCha20Rng::seed_from_u64(2),
            &mut transcript,
        )
        .expect("engine proof");
        let proof = transcript.finalize();
        assert_eq!(proof.len(), plain.len(), "{name}");
        verify(&proof, &instances).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    // The CPU engine with fixed-base tables for both point sets: the commitments are
    // halo2's, and the proof verifies.
    let tabled = MsmParams::new(shared.clone(), Arc::new(CpuMsm))
        .expect("params")
        .with_fixed_bases(usize::MAX);
    assert_eq!(
        tabled.fixed_bases_bytes(),
        MsmParams::fixed_bases_bytes_for(K)
    );
    assert!(tabled.fixed_bases_bytes() > 0);
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    for size in [1usize, 5, 1 << (K - 1), 1 << K] {
        let values: Vec<Fr> = (0..size).map(|_| Fr::random(&mut rng)).collect();
        let lagrange = Polynomial::<Fr, LagrangeCoeff>::new(values.clone());
        let monomial = Polynomial::<Fr, Coeff>::new(values);
        assert_eq!(
            Params::commit_lagrange(&tabled, &lagrange, Blind::default()).to_affine(),
            kzg_params
                .commit_lagrange(&lagrange, Blind::default())
                .to_affine(),
            "Lagrange commitment of {size} values"
        );
        assert_eq!(
            ParamsProver::commit(&tabled, &monomial, Blind::default()).to_affine(),
            kzg_params.commit(&monomial, Blind::default()).to_affine(),
            "monomial commitment of {size} coefficients"
        );
    }
    let mut transcript = Blake2bWrite::<_, G1Affine, Challenge255<_>>::init(vec![]);
    kzg::create_proof(
        &tabled,
        &pk,
        &[prover()],
        &[&[&instances]],
        ChaCha20Rng::seed_from_u64(2),
        &mut transcript,
    )
    .expect("proof with fixed-base tables");
    verify(&transcript.finalize(), &instances).expect("proof with fixed-base tables verifies");
    // Under the budget: no tables.
    let small = MsmParams::new(shared.clone(), Arc::new(CpuMsm))
        .expect("params")
        .with_fixed_bases(MsmParams::fixed_bases_bytes_for(K) - 1);
    assert_eq!(small.fixed_bases_bytes(), 0);

    // Advice, lookup, permutation, vanishing and quotient commitments: all on the engine.
    let calls = checked.calls.load(Ordering::Relaxed);
    assert!(
        calls >= 8,
        "only {calls} commitments went through the engine"
    );
    assert_eq!(checked.mismatches.load(Ordering::Relaxed), 0);
    if let Some(g) = gpu_checked {
        assert!(g.calls.load(Ordering::Relaxed) >= 8);
        assert_eq!(
            g.mismatches.load(Ordering::Relaxed),
            0,
            "GPU commitments differ"
        );
    }

    // A wrong public input is rejected: the verification above is not vacuous.
    assert!(verify(&plain, &[instances[0] + Fr::from(1)]).is_err());
}
