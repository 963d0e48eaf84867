//! In-circuit verification of a node's inner proofs with one MSM for all of them.
//!
//! Verifying a SHPLONK proof ends with the MSM `lhs = Σ_j s_j·B_j + Σ_k t_k·C_k`: the `B_j` are
//! constants of the node circuit (the inner verifying key's fixed and permutation
//! commitments, and the generator), the `C_k` are the proof's commitments, and the scalars
//! come from the proof's evaluations and challenges; accumulating the proofs' openings adds
//! two more MSMs over the results. snark-verifier evaluates each MSM where it arises:
//! halo2-ecc's fixed-base MSM costs ~116k advice cells a point, its variable-base MSM
//! ~130k a point below 26 points and ~100k above (bucket method), so a node of `n` chunk
//! proofs paid for the 28 constant points `n` times, in MSMs too small to be cheap.
//!
//! [`FoldingEccChip`] is halo2-ecc's base-field chip with both MSMs deferred: it witnesses the
//! result `P_i` (computed natively) and records the claim `P_i = Σ_k s_ik·Q_ik` (the `Q_ik`
//! constants or assigned points). [`aggregate`] then settles every claim of the node at once:
//! it squeezes `ρ` from a Poseidon transcript of every `P_i`, `s_ik` and assigned `Q_ik`, and
//! constrains
//!
//! ```text
//! P_0 = Σ_k s_0k·Q_0k + Σ_{i≥1} ρ^i·(Σ_k s_ik·Q_ik - P_i)
//! ```
//!
//! as one variable-base MSM in which each constant point appears once. If any claim is false,
//! the two sides are a nonzero polynomial in `ρ` of degree below the number of claims apart,
//! so they agree for at most that many of the `|Fr|` values `ρ` can take, and `ρ` is a hash of
//! everything the claims are made of (Fiat-Shamir).
//!
//! Everything else is snark-verifier's: the PLONK succinct verifier, SHPLONK, the KZG
//! accumulation of the inner proofs' openings and the Poseidon transcript, through its
//! loader, which is generic over the chip.

use std::cell::RefCell;
use std::ops::Deref;
use std::rc::Rc;

use halo2_base::gates::flex_gate::threads::SinglePhaseCoreManager;
use halo2_base::gates::{GateChip, GateInstructions, RangeChip, RangeInstructions};
use halo2_base::halo2_proofs::arithmetic::CurveAffine;
use halo2_base::halo2_proofs::halo2curves::bn256::{Fq, Fr, G1Affine, G1};
use halo2_base::halo2_proofs::halo2curves::group::prime::PrimeCurveAffine;
use halo2_base::halo2_proofs::halo2curves::group::Curve;
use halo2_base::utils::biguint_to_fe;
use halo2_base::AssignedValue;
use snark_verifier::loader::halo2::halo2_ecc::bigint::ProperCrtUint;
use snark_verifier::loader::halo2::halo2_ecc::bn254::FpChip;
use snark_verifier::loader::halo2::halo2_ecc::ecc::{BaseFieldEccChip, EcPoint};
use snark_verifier::loader::halo2::{EccInstructions, Halo2Loader};
use snark_verifier::pcs::kzg::{KzgSuccinctVerifyingKey, LimbsEncodingInstructions};
use snark_verifier::pcs::AccumulationScheme;
use snark_verifier::system::halo2::transcript::halo2::NativeEncoding;
use snark_verifier::util::transcript::Transcript;
use snark_verifier::verifier::SnarkVerifier;
use snark_verifier_sdk::halo2::{PoseidonTranscript, POSEIDON_SPEC};
use snark_verifier_sdk::{PlonkSuccinctVerifier, Snark, BITS, LIMBS, SHPLONK};

/// An assigned point of the base-field chip.
type Point = EcPoint<Fr, ProperCrtUint<Fr>>;

/// snark-verifier's loader over [`FoldingEccChip`].
type FoldingLoader<'chip> = Halo2Loader<G1Affine, FoldingEccChip<'chip>>;

/// A base of a deferred MSM.
#[derive(Clone, Debug)]
enum Base {
    /// A constant of the circuit.
    Fixed(G1Affine),
    /// An assigned point.
    Variable(Box<Point>),
}

/// A deferred MSM: `point = Σ terms.0 · terms.1`, not yet constrained.
#[derive(Clone, Debug)]
struct Claim {
    terms: Vec<(AssignedValue<Fr>, Base)>,
    point: Point,
}

/// halo2-ecc's base-field chip whose MSMs are deferred as claims (see the module docs);
/// every other operation is the chip's own.
#[derive(Clone, Debug)]
pub struct FoldingEccChip<'chip> {
    inner: BaseFieldEccChip<'chip, G1Affine>,
    claims: Rc<RefCell<Vec<Claim>>>,
}

impl<'chip> FoldingEccChip<'chip> {
    fn new(fp_chip: &'chip FpChip<'chip, Fr>) -> Self {
        Self {
            inner: BaseFieldEccChip::<G1Affine>::new(fp_chip),
            claims: Rc::default(),
        }
    }
}

impl FoldingEccChip<'_> {
    fn defer(
        &self,
        ctx: &mut SinglePhaseCoreManager<Fr>,
        terms: Vec<(AssignedValue<Fr>, Base)>,
    ) -> Point {
        let value = terms
            .iter()
            .fold(G1::default(), |sum, (s, base)| {
                sum + native(base) * *s.value()
            })
            .to_affine();
        let point = EccInstructions::<G1Affine>::assign_point(&self.inner, ctx, value);
        self.claims.borrow_mut().push(Claim {
            terms,
            point: point.clone(),
        });
        point
    }
}

/// The value of a base.
fn native(base: &Base) -> G1Affine {
    match base {
        Base::Fixed(point) => *point,
        Base::Variable(point) => {
            let coordinate = |c: &ProperCrtUint<Fr>| biguint_to_fe::<Fq>(&c.value());
            // An assigned point is on the curve (checked when it was assigned).
            Option::from(G1Affine::from_xy(
                coordinate(point.x()),
                coordinate(point.y()),
            ))
            .unwrap_or(G1Affine::identity())
        }
    }
}

impl EccInstructions<G1Affine> for FoldingEccChip<'_> {
    type Context = SinglePhaseCoreManager<Fr>;
    type ScalarChip = GateChip<Fr>;
    type AssignedCell = AssignedValue<Fr>;
    type AssignedScalar = AssignedValue<Fr>;
    type AssignedEcPoint = Point;

    fn scalar_chip(&self) -> &GateChip<Fr> {
        EccInstructions::<G1Affine>::scalar_chip(&self.inner)
    }

    fn assign_constant(&self, ctx: &mut Self::Context, point: G1Affine) -> Point {
        EccInstructions::<G1Affine>::assign_constant(&self.inner, ctx, point)
    }

    fn assign_point(&self, ctx: &mut Self::Context, point: G1Affine) -> Point {
        EccInstructions::<G1Affine>::assign_point(&self.inner, ctx, point)
    }

    fn sum_with_const(
        &self,
        ctx: &mut Self::Context,
        values: &[impl Deref<Target = Point>],
        constant: G1Affine,
    ) -> Point {
        EccInstructions::<G1Affine>::sum_with_const(&self.inner, ctx, values, constant)
    }

    /// Witnesses the MSM's value and records the claim; [`aggregate`] constrains it.
    fn fixed_base_msm(
        &mut self,
        ctx: &mut Self::Context,
        pairs: &[(impl Deref<Target = AssignedValue<Fr>>, G1Affine)],
    ) -> Point {
        let terms = pairs
            .iter()
            .map(|(s, base)| (*s.deref(), Base::Fixed(*base)))
            .collect();
        self.defer(ctx, terms)
    }

    /// Witnesses the MSM's value and records the claim; [`aggregate`] constrains it.
    fn variable_base_msm(
        &mut self,
        ctx: &mut Self::Context,
        pairs: &[(
            impl Deref<Target = AssignedValue<Fr>>,
            impl Deref<Target = Point>,
        )],
    ) -> Point {
        let terms = pairs
            .iter()
            .map(|(s, base)| (*s.deref(), Base::Variable(Box::new(base.deref().clone()))))
            .collect();
        self.defer(ctx, terms)
    }

    fn assert_equal(&self, ctx: &mut Self::Context, lhs: &Point, rhs: &Point) {
        EccInstructions::<G1Affine>::assert_equal(&self.inner, ctx, lhs, rhs)
    }
}

impl LimbsEncodingInstructions<G1Affine, LIMBS, BITS> for FoldingEccChip<'_> {
    fn assign_ec_point_from_limbs(
        &self,
        ctx: &mut Self::Context,
        limbs: &[impl Deref<Target = AssignedValue<Fr>>],
    ) -> Point {
        LimbsEncodingInstructions::<G1Affine, LIMBS, BITS>::assign_ec_point_from_limbs(
            &self.inner,
            ctx,
            limbs,
        )
    }

    fn assign_ec_point_to_limbs(
        &self,
        ctx: &mut Self::Context,
        point: impl Deref<Target = Point>,
    ) -> Vec<AssignedValue<Fr>> {
        LimbsEncodingInstructions::<G1Affine, LIMBS, BITS>::assign_ec_point_to_limbs(
            &self.inner,
            ctx,
            point,
        )
    }
}

impl NativeEncoding<G1Affine> for FoldingEccChip<'_> {
    fn encode(
        &self,
        ctx: &mut Self::Context,
        point: &Point,
    ) -> Result<Vec<AssignedValue<Fr>>, snark_verifier::Error> {
        NativeEncoding::<G1Affine>::encode(&self.inner, ctx, point)
    }
}

/// What verifying a node's inner proofs leaves in the circuit.
pub struct Aggregated {
    /// Each inner proof's public inputs, as (private) assigned values.
    pub previous_instances: Vec<Vec<AssignedValue<Fr>>>,
    /// The KZG accumulator of all inner proofs (and of their own accumulators): the limbs of
    /// `lhs.x`, `lhs.y`, `rhs.x`, `rhs.y`, to be exposed as the node's first public inputs.
    pub accumulator: Vec<AssignedValue<Fr>>,
}

/// Verifies `snarks` (all proofs of one circuit, SHPLONK, Poseidon transcript) in the circuit
/// whose main pool is `pool`: each proof's succinct verification, the accumulation of their
/// KZG openings, and the settlement of the deferred MSMs in one MSM (module docs). `svk` is
/// the inner proofs' parameters' generator.
///
/// snark-verifier panics on some malformed proofs; callers verify inner proofs first.
pub fn aggregate(
    pool: &mut SinglePhaseCoreManager<Fr>,
    range: &RangeChip<Fr>,
    svk: KzgSuccinctVerifyingKey<G1Affine>,
    snarks: &[Snark],
) -> Result<Aggregated, snark_verifier::Error> {
    let fp_chip = FpChip::<Fr>::new(range, BITS, LIMBS);
    let chip = FoldingEccChip::new(&fp_chip);
    let claims = chip.claims.clone();
    let loader = Halo2Loader::new(chip, std::mem::take(pool));
    let result = verify_all(&loader, &svk, snarks, &claims, range.gate());
    *pool = loader.take_ctx();
    result
}

fn verify_all<'chip>(
    loader: &Rc<FoldingLoader<'chip>>,
    svk: &KzgSuccinctVerifyingKey<G1Affine>,
    snarks: &[Snark],
    claims: &RefCell<Vec<Claim>>,
    gate: &GateChip<Fr>,
) -> Result<Aggregated, snark_verifier::Error> {
    type Verifier = PlonkSuccinctVerifier<SHPLONK>;
    let mut transcript = PoseidonTranscript::<Rc<FoldingLoader<'chip>>, &[u8]>::from_spec(
        loader,
        &[],
        POSEIDON_SPEC.clone(),
    );
    let mut previous_instances = Vec::with_capacity(snarks.len());
    let mut accumulators = Vec::new();
    for snark in snarks {
        let protocol = snark.protocol.loaded(loader);
        let instances: Vec<Vec<_>> = snark
            .instances
            .iter()
            .map(|column| column.iter().map(|x| loader.assign_scalar(*x)).collect())
            .collect();
        transcript.new_stream(snark.proof());
        let proof = Verifier::read_proof(svk, &protocol, &instances, &mut transcript)?;
        accumulators.extend(Verifier::verify(svk, &protocol, &instances, &proof)?);
        previous_instances.push(
            instances
                .into_iter()
                .flatten()
                .map(|scalar| scalar.into_assigned())
                .collect(),
        );
    }
    let accumulator = match accumulators.len() {
        0 => return Err(snark_verifier::Error::InvalidInstances),
        1 => accumulators.remove(0),
        _ => {
            // Not zero-knowledge: the accumulation "proof" is empty, its challenge comes from
            // the accumulators themselves.
            transcript.new_stream(&[]);
            let proof = <SHPLONK as AccumulationScheme<_, _>>::read_proof(
                &Default::default(),
                &accumulators,
                &mut transcript,
            )?;
            <SHPLONK as AccumulationScheme<_, _>>::verify(
                &Default::default(),
                &accumulators,
                &proof,
            )?
        }
    };
    let claims = std::mem::take(&mut *claims.borrow_mut());
    settle(loader, &mut transcript, &claims, gate)?;
    let (lhs, rhs) = (accumulator.lhs.assigned(), accumulator.rhs.assigned());
    let accumulator = [lhs.x(), lhs.y(), rhs.x(), rhs.y()]
        .into_iter()
        .flat_map(|coordinate| coordinate.limbs().to_vec())
        .collect();
    Ok(Aggregated {
        previous_instances,
        accumulator,
    })
}

/// Constrains every claim at once (module docs).
fn settle<'chip>(
    loader: &Rc<FoldingLoader<'chip>>,
    transcript: &mut PoseidonTranscript<Rc<FoldingLoader<'chip>>, &[u8]>,
    claims: &[Claim],
    gate: &GateChip<Fr>,
) -> Result<(), snark_verifier::Error> {
    let Some((first, rest)) = claims.split_first() else {
        return Ok(());
    };
    let rho = if rest.is_empty() {
        None
    } else {
        transcript.new_stream(&[]);
        for claim in claims {
            transcript.common_ec_point(&loader.ec_point_from_assigned(claim.point.clone()))?;
            for (s, base) in &claim.terms {
                transcript.common_scalar(&loader.scalar_from_assigned(*s))?;
                if let Base::Variable(point) = base {
                    transcript
                        .common_ec_point(&loader.ec_point_from_assigned((**point).clone()))?;
                }
            }
        }
        Some(transcript.squeeze_challenge().into_assigned())
    };
    // The chip the loader holds would defer again: settle with a plain one on the same field
    // chip.
    let mut ecc = loader.ecc_chip().inner.clone();
    let mut ctx = loader.ctx_mut();
    let mut fixed: Vec<(AssignedValue<Fr>, G1Affine)> = Vec::new();
    let mut variable: Vec<(AssignedValue<Fr>, Point)> = Vec::new();
    let mut weight: Option<AssignedValue<Fr>> = None;
    for claim in claims {
        for (s, base) in &claim.terms {
            let scaled = match weight {
                None => *s,
                Some(w) => gate.mul(ctx.main(), *s, w),
            };
            match base {
                Base::Fixed(point) => match fixed.iter_mut().find(|(_, b)| b == point) {
                    Some((sum, _)) => *sum = gate.add(ctx.main(), *sum, scaled),
                    None => fixed.push((scaled, *point)),
                },
                Base::Variable(point) => variable.push((scaled, (**point).clone())),
            }
        }
        if let Some(w) = weight {
            let minus = gate.neg(ctx.main(), w);
            variable.push((minus, claim.point.clone()));
        }
        weight = match (weight, rho) {
            (None, Some(rho)) => Some(rho),
            (Some(w), Some(rho)) => Some(gate.mul(ctx.main(), w, rho)),
            (_, None) => None,
        };
    }
    // Constant points join the variable-base MSM (assigned as constants): one MSM over all
    // points is cheaper per point than a fixed-base one beside it.
    for (s, point) in fixed {
        let assigned = EccInstructions::<G1Affine>::assign_constant(&ecc, &mut *ctx, point);
        variable.push((s, assigned));
    }
    let pairs: Vec<(&AssignedValue<Fr>, &Point)> = variable.iter().map(|(s, p)| (s, p)).collect();
    let sum = EccInstructions::<G1Affine>::variable_base_msm(&mut ecc, &mut *ctx, &pairs);
    EccInstructions::<G1Affine>::assert_equal(&ecc, &mut *ctx, &first.point, &sum);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
    use halo2_base::gates::circuit::CircuitBuilderStage;
    use halo2_base::halo2_proofs::dev::MockProver;
    use halo2_base::halo2_proofs::halo2curves::ff::Field;
    use halo2_base::halo2_proofs::halo2curves::group::Group;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    /// Defers `n` MSMs over the same three points through the chip (fixed-base and
    /// variable-base in turn), moves the
    /// witnessed result of claim `tamper` by the generator, settles them, and says whether
    /// the circuit is satisfied.
    fn settled(n: usize, tamper: Option<usize>) -> bool {
        let k = 17;
        let mut builder = BaseCircuitBuilder::<Fr>::from_stage(CircuitBuilderStage::Mock)
            .use_k(k)
            .use_lookup_bits(k - 1)
            .use_instance_columns(1);
        let range = builder.range_chip();
        let fp_chip = FpChip::<Fr>::new(&range, BITS, LIMBS);
        let mut chip = FoldingEccChip::new(&fp_chip);
        let mut rng = StdRng::seed_from_u64(7);
        let bases: Vec<G1Affine> = (0..3).map(|_| G1::random(&mut rng).to_affine()).collect();
        let pool = builder.pool(0);
        let mut values = Vec::new();
        for _ in 0..n {
            let scalars: Vec<AssignedValue<Fr>> = (0..3)
                .map(|_| pool.main().load_witness(Fr::random(&mut rng)))
                .collect();
            let pairs: Vec<(&AssignedValue<Fr>, G1Affine)> =
                scalars.iter().zip(&bases).map(|(s, b)| (s, *b)).collect();
            if values.len() % 2 == 0 {
                chip.fixed_base_msm(pool, &pairs);
            } else {
                let points: Vec<Point> = bases
                    .iter()
                    .map(|b| EccInstructions::<G1Affine>::assign_point(&chip.inner, pool, *b))
                    .collect();
                let pairs: Vec<(&AssignedValue<Fr>, &Point)> =
                    scalars.iter().zip(&points).collect();
                chip.variable_base_msm(pool, &pairs);
            }
            let value: G1 = scalars
                .iter()
                .zip(&bases)
                .map(|(s, b)| *b * *s.value())
                .sum();
            values.push(value);
        }
        if let Some(i) = tamper {
            let wrong = (values[i] + G1::generator()).to_affine();
            let point = EccInstructions::<G1Affine>::assign_point(&chip.inner, pool, wrong);
            chip.claims.borrow_mut()[i].point = point;
        }
        let claims = chip.claims.borrow().clone();
        let loader = Halo2Loader::new(chip, std::mem::take(pool));
        let mut transcript = PoseidonTranscript::<Rc<FoldingLoader<'_>>, &[u8]>::from_spec(
            &loader,
            &[],
            POSEIDON_SPEC.clone(),
        );
        settle(&loader, &mut transcript, &claims, range.gate()).expect("settle");
        drop(transcript);
        *builder.pool(0) = loader.take_ctx();
        builder.calculate_params(Some(9));
        MockProver::run(k as u32, &builder, vec![vec![]])
            .expect("mock prover")
            .verify()
            .is_ok()
    }

    #[test]
    fn true_claims_settle() {
        assert!(settled(3, None));
    }

    #[test]
    fn a_false_claim_does_not_settle() {
        assert!(!settled(3, Some(2)));
        assert!(!settled(2, Some(0)));
    }
}
