//! The aggregation node circuit, [`NodeCircuit`]: the in-circuit verification of the inner
//! proofs ([`crate::fold`]: snark-verifier's PLONK verifier and SHPLONK accumulation of their
//! KZG openings, with one MSM for all of them) plus zkroll's linking rules.
//!
//! Each inner proof's public inputs end with its [`Link`]: old root, new root, transaction
//! commitment before and after, fees pending before and after, the pubdata binding point,
//! the pubdata evaluation before and after. The node constrains, for consecutive inner proofs
//! `i` and `i + 1`, `new_root_i = old_root_{i+1}`, `commitment_after_i =
//! commitment_before_{i+1}`, `pending_after_i = pending_before_{i+1}`, `point_i = point_{i+1}`
//! and `evaluation_after_i = evaluation_before_{i+1}` (copy constraints), and exposes the
//! accumulator (12 limbs) followed by the link of the whole span: first old root, last new
//! root, first commitment before, last commitment after, first pending before, last pending
//! after, the point, first evaluation before, last evaluation after. The final node
//! additionally constrains the commitment before to be 0 (the batch starts its chain), the
//! fees pending before and after to be 0 (every fee the batch collected was credited to the
//! operator inside it) and the evaluation before to be 1 (the batch starts its evaluation),
//! and exposes only old root, new root, the batch commitment, the point and the batch's
//! evaluation (docs/protocol.md, "Pubdata binding").
//!
//! The inner verifying key is a constant of the circuit (no universality): a node accepts
//! proofs of exactly one circuit (one chunk circuit configuration, or the layer below).

use std::panic::AssertUnwindSafe;

use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::gates::circuit::{BaseCircuitParams, BaseConfig, CircuitBuilderStage};
use halo2_base::gates::flex_gate::MultiPhaseThreadBreakPoints;
use halo2_base::halo2_proofs::arithmetic::CurveAffine;
use halo2_base::halo2_proofs::circuit::{Layouter, SimpleFloorPlanner};
use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, Fq, Fr, G1Affine};
use halo2_base::halo2_proofs::plonk::{
    keygen_pk, keygen_vk, verify_proof, Circuit, ConstraintSystem, ProvingKey, Selector,
    VerifyingKey,
};
use halo2_base::halo2_proofs::poly::commitment::{Params, ParamsProver};
use halo2_base::halo2_proofs::poly::kzg::commitment::{KZGCommitmentScheme, ParamsKZG};
use halo2_base::halo2_proofs::poly::kzg::multiopen::VerifierSHPLONK;
use halo2_base::halo2_proofs::poly::kzg::strategy::SingleStrategy;
use halo2_base::halo2_proofs::transcript::{TranscriptReadBuffer, TranscriptWriterBuffer};
use halo2_base::AssignedValue;
use rand::rngs::OsRng;
use snark_verifier::loader::native::NativeLoader;
use snark_verifier::pcs::kzg::{KzgAccumulator, KzgDecidingKey};
use snark_verifier::pcs::AccumulationDecider;
use snark_verifier::system::halo2::transcript::evm::EvmTranscript;
use snark_verifier::system::halo2::{compile, Config};
use snark_verifier::util::arithmetic::fe_from_limbs;
use snark_verifier_sdk::halo2::aggregation::AggregationConfigParams;
use snark_verifier_sdk::halo2::gen_dummy_snark_from_vk;
use snark_verifier_sdk::halo2::{PoseidonTranscript, POSEIDON_SPEC};
use snark_verifier_sdk::{CircuitExt, Snark, BITS, LIMBS, SHPLONK};
use zkroll_msm::kzg::MsmParams;

use crate::fold;

/// Public inputs holding the KZG accumulator of an aggregation proof (4 coordinates of
/// two G1 points, [`LIMBS`] limbs each).
pub const ACCUMULATOR_LIMBS: usize = 4 * LIMBS;

/// Why a node cannot be aggregated, proven or verified.
#[derive(Debug, thiserror::Error)]
pub enum AggregationError {
    /// Consecutive proofs do not continue each other.
    #[error("proof {index} does not continue proof {previous}: {what}", previous = index - 1)]
    Unlinked {
        /// Position of the later proof in the node.
        index: usize,
        /// Which value differs.
        what: &'static str,
    },
    /// An inner proof has the wrong number of public inputs.
    #[error("proof {index}: {found} public inputs, expected {expected}")]
    Instances {
        /// Position in the node.
        index: usize,
        /// Found.
        found: usize,
        /// Expected.
        expected: usize,
    },
    /// An inner proof does not verify.
    #[error("proof {index} does not verify: {reason}")]
    Inner {
        /// Position in the node.
        index: usize,
        /// Why.
        reason: String,
    },
    /// The final node's batch does not start its commitment chain at 0.
    #[error("the batch's transaction commitment does not start at 0")]
    CommitmentStart,
    /// The final node's batch starts or ends with fees pending: fees must be collected and
    /// settled inside one batch.
    #[error("the batch has fees pending at its {end} ({pending})")]
    PendingFees {
        /// "start" or "end".
        end: &'static str,
        /// The pending fees, as a field element.
        pending: String,
    },
    /// The final node's batch does not start its pubdata evaluation at 1.
    #[error("the batch's pubdata evaluation does not start at 1")]
    EvaluationStart,
    /// No proofs.
    #[error("nothing to aggregate")]
    Empty,
    /// halo2 or snark-verifier failed.
    #[error("aggregation circuit at k={k}: {reason}")]
    Halo2 {
        /// Rows exponent.
        k: u32,
        /// What failed.
        reason: String,
    },
    /// The proof does not verify.
    #[error("aggregation proof does not verify: {0}")]
    Verify(String),
}

/// What links consecutive proofs of a batch: the public inputs after the accumulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    /// Root before the span.
    pub old_root: Fr,
    /// Root after the span.
    pub new_root: Fr,
    /// Transaction commitment before the span.
    pub commitment_before: Fr,
    /// Transaction commitment after the span.
    pub commitment_after: Fr,
    /// Fees collected and not settled before the span.
    pub pending_before: Fr,
    /// Fees collected and not settled after the span.
    pub pending_after: Fr,
    /// The batch's pubdata binding point.
    pub point: Fr,
    /// Pubdata evaluation before the span.
    pub evaluation_before: Fr,
    /// Pubdata evaluation after the span.
    pub evaluation_after: Fr,
}

/// Public inputs of a [`Link`] (the chunk circuit's, in the same order).
pub const LINK_LEN: usize = 9;

impl Link {
    /// As public inputs, in order.
    pub fn to_instances(self) -> [Fr; LINK_LEN] {
        [
            self.old_root,
            self.new_root,
            self.commitment_before,
            self.commitment_after,
            self.pending_before,
            self.pending_after,
            self.point,
            self.evaluation_before,
            self.evaluation_after,
        ]
    }

    /// The link of consecutive spans, checked as the circuit checks it.
    pub fn join(links: &[Link]) -> Result<Link, AggregationError> {
        let (first, last) = match links {
            [] => return Err(AggregationError::Empty),
            [first, .., last] => (first, last),
            [only] => (only, only),
        };
        for (index, pair) in links.windows(2).enumerate() {
            if pair[0].new_root != pair[1].old_root {
                return Err(AggregationError::Unlinked {
                    index: index + 1,
                    what: "old root is not the previous new root",
                });
            }
            if pair[0].commitment_after != pair[1].commitment_before {
                return Err(AggregationError::Unlinked {
                    index: index + 1,
                    what: "commitment before is not the previous commitment after",
                });
            }
            if pair[0].pending_after != pair[1].pending_before {
                return Err(AggregationError::Unlinked {
                    index: index + 1,
                    what: "fees pending before are not the previous fees pending after",
                });
            }
            if pair[0].point != pair[1].point {
                return Err(AggregationError::Unlinked {
                    index: index + 1,
                    what: "pubdata binding point is not the previous one",
                });
            }
            if pair[0].evaluation_after != pair[1].evaluation_before {
                return Err(AggregationError::Unlinked {
                    index: index + 1,
                    what: "pubdata evaluation before is not the previous evaluation after",
                });
            }
        }
        Ok(Link {
            old_root: first.old_root,
            new_root: last.new_root,
            commitment_before: first.commitment_before,
            commitment_after: last.commitment_after,
            pending_before: first.pending_before,
            pending_after: last.pending_after,
            point: first.point,
            evaluation_before: first.evaluation_before,
            evaluation_after: last.evaluation_after,
        })
    }
}

/// What the inner proofs of a node are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inner {
    /// Chunk proofs: public inputs are a [`Link`].
    Chunks,
    /// Aggregation proofs of the layer below: accumulator, then a [`Link`].
    Aggregated,
}

impl Inner {
    /// Public inputs of one inner proof.
    pub fn num_instances(self) -> usize {
        match self {
            Inner::Chunks => LINK_LEN,
            Inner::Aggregated => ACCUMULATOR_LIMBS + LINK_LEN,
        }
    }

    fn accumulator_indices(self) -> Option<Vec<(usize, usize)>> {
        match self {
            Inner::Chunks => None,
            Inner::Aggregated => Some((0..ACCUMULATOR_LIMBS).map(|i| (0, i)).collect()),
        }
    }

    /// The link in an inner proof's public inputs.
    pub fn link(self, index: usize, instances: &[Fr]) -> Result<Link, AggregationError> {
        if instances.len() != self.num_instances() {
            return Err(AggregationError::Instances {
                index,
                found: instances.len(),
                expected: self.num_instances(),
            });
        }
        let l = &instances[self.num_instances() - LINK_LEN..];
        Ok(Link {
            old_root: l[0],
            new_root: l[1],
            commitment_before: l[2],
            commitment_after: l[3],
            pending_before: l[4],
            pending_after: l[5],
            point: l[6],
            evaluation_before: l[7],
            evaluation_after: l[8],
        })
    }
}

/// Which node of the tree a circuit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeKind {
    /// What it aggregates.
    pub inner: Inner,
    /// How many proofs.
    pub fan_in: usize,
    /// The final node: Keccak transcript, the batch's commitment must start at 0 and its
    /// evaluation at 1, and only old root, new root, batch commitment, pubdata binding point
    /// and the batch's evaluation are exposed after the accumulator.
    pub last: bool,
}

/// Public inputs of the final node after the accumulator: old root, new root, batch
/// commitment, pubdata binding point, pubdata evaluation.
pub const FINAL_LINK_LEN: usize = 5;

impl NodeKind {
    /// Public inputs of the node's proof.
    pub fn num_instances(self) -> usize {
        ACCUMULATOR_LIMBS + if self.last { FINAL_LINK_LEN } else { LINK_LEN }
    }
}

/// An inner proof, ready to be aggregated.
pub fn snark(
    inner_params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    inner: Inner,
    instances: Vec<Fr>,
    proof: Vec<u8>,
) -> Snark {
    let protocol = compile(
        inner_params,
        vk,
        Config::kzg()
            .with_num_instance(vec![inner.num_instances()])
            .with_accumulator_indices(inner.accumulator_indices()),
    );
    Snark::new(protocol, vec![instances], proof)
}

/// A proof-shaped placeholder for key generation (the layout does not depend on values).
pub fn dummy_snark(
    inner_params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    inner: Inner,
) -> Snark {
    let mut snark = gen_dummy_snark_from_vk::<SHPLONK>(
        inner_params,
        vk,
        vec![inner.num_instances()],
        inner.accumulator_indices(),
    );
    if inner == Inner::Aggregated {
        // An accumulator must decode to curve points: the generator (1, 2) for both.
        let generator = [1u64, 0, 0, 2, 0, 0];
        for (i, limb) in generator.iter().chain(generator.iter()).enumerate() {
            snark.instances[0][i] = Fr::from(*limb);
        }
    }
    snark
}

/// A node circuit: halo2-base's circuit builder holding the verification of the inner
/// proofs ([`crate::fold`]), the linking rules and the exposed public inputs.
#[derive(Clone, Debug)]
pub struct NodeCircuit {
    /// The builder (virtual cells, copy constraints, public inputs).
    pub builder: BaseCircuitBuilder<Fr>,
    /// Each inner proof's public inputs as assigned (private) values.
    pub previous_instances: Vec<Vec<AssignedValue<Fr>>>,
}

impl NodeCircuit {
    /// Fits the columns to the cells at the builder's `k` (at least `minimum_rows` unusable
    /// rows for blinding).
    pub fn calculate_params(&mut self, minimum_rows: Option<usize>) -> AggregationConfigParams {
        aggregation_params(&self.builder.calculate_params(minimum_rows))
    }

    /// Where the cells wrap between columns.
    pub fn break_points(&self) -> MultiPhaseThreadBreakPoints {
        self.builder.break_points()
    }

    /// The same circuit, its cells wrapping at `break_points` (those of key generation).
    pub fn use_break_points(mut self, break_points: MultiPhaseThreadBreakPoints) -> Self {
        self.builder.set_break_points(break_points);
        self
    }
}

/// The builder's parameters in the SDK's one-phase form.
fn aggregation_params(params: &BaseCircuitParams) -> AggregationConfigParams {
    // A node's builder is always made from an `AggregationConfigParams` (one phase, one
    // instance column, a lookup table), which is all the conversion checks.
    AggregationConfigParams::try_from(params)
        .expect("a node circuit's builder has one phase, one instance column and lookups")
}

impl Circuit<Fr> for NodeCircuit {
    type Config = BaseConfig<Fr>;
    type FloorPlanner = SimpleFloorPlanner;
    type Params = AggregationConfigParams;

    fn params(&self) -> AggregationConfigParams {
        aggregation_params(&self.builder.config_params)
    }

    fn without_witnesses(&self) -> Self {
        // halo2's key generation and proving synthesize the circuit as built (the builder's
        // stage decides whether witnesses are computed).
        self.clone()
    }

    fn configure_with_params(
        meta: &mut ConstraintSystem<Fr>,
        params: AggregationConfigParams,
    ) -> BaseConfig<Fr> {
        BaseCircuitBuilder::configure_with_params(meta, params.into())
    }

    fn configure(_: &mut ConstraintSystem<Fr>) -> BaseConfig<Fr> {
        unreachable!("a node circuit is configured with its parameters")
    }

    fn synthesize(
        &self,
        config: BaseConfig<Fr>,
        layouter: impl Layouter<Fr>,
    ) -> Result<(), halo2_base::halo2_proofs::plonk::Error> {
        self.builder.synthesize(config, layouter)
    }
}

impl CircuitExt<Fr> for NodeCircuit {
    fn num_instance(&self) -> Vec<usize> {
        self.builder.num_instance()
    }

    fn instances(&self) -> Vec<Vec<Fr>> {
        self.builder.instances()
    }

    fn accumulator_indices() -> Option<Vec<(usize, usize)>> {
        Some((0..ACCUMULATOR_LIMBS).map(|i| (0, i)).collect())
    }

    fn selectors(config: &BaseConfig<Fr>) -> Vec<Selector> {
        BaseCircuitBuilder::selectors(config)
    }
}

/// Builds the node circuit over `snarks` (snark-verifier panics on malformed proofs: callers
/// verify inner proofs first, and panics are turned into errors here as a last guard).
pub fn node_circuit(
    stage: CircuitBuilderStage,
    config: AggregationConfigParams,
    params: &ParamsKZG<Bn256>,
    snarks: Vec<Snark>,
    kind: NodeKind,
) -> Result<NodeCircuit, AggregationError> {
    let k = params.k();
    if snarks.len() != kind.fan_in {
        return Err(AggregationError::Halo2 {
            k,
            reason: format!("{} proofs for a node of {}", snarks.len(), kind.fan_in),
        });
    }
    let svk = params.get_g()[0].into();
    let built = std::panic::catch_unwind(AssertUnwindSafe(|| {
        let mut builder = BaseCircuitBuilder::from_stage(stage).use_params(config.into());
        let range = builder.range_chip();
        let aggregated = fold::aggregate(builder.pool(0), &range, svk, &snarks);
        aggregated.map(|aggregated| {
            builder.assigned_instances[0] = aggregated.accumulator;
            let mut circuit = NodeCircuit {
                builder,
                previous_instances: aggregated.previous_instances,
            };
            link(&mut circuit, kind);
            circuit
        })
    }));
    match built {
        Ok(Ok(circuit)) => Ok(circuit),
        Ok(Err(e)) => Err(AggregationError::Halo2 {
            k,
            reason: format!("verifying the inner proofs: {e:?}"),
        }),
        Err(_) => Err(AggregationError::Halo2 {
            k,
            reason: "snark-verifier rejected an inner proof while building the circuit".into(),
        }),
    }
}

/// Adds the linking constraints and the exposed link (see the module docs).
fn link(circuit: &mut NodeCircuit, kind: NodeKind) {
    let skip = kind.inner.num_instances() - LINK_LEN;
    let links: Vec<[AssignedValue<Fr>; LINK_LEN]> = circuit
        .previous_instances
        .iter()
        .map(|p| std::array::from_fn(|i| p[skip + i]))
        .collect();
    let ctx = circuit.builder.main(0);
    // Each "after" value (new root, commitment after, pending after, evaluation after) is
    // the next proof's "before" value, and every proof has the same point.
    for pair in links.windows(2) {
        for (after, before) in [(1, 0), (3, 2), (5, 4), (8, 7), (6, 6)] {
            ctx.constrain_equal(&pair[0][after], &pair[1][before]);
        }
    }
    let (first, last) = (links[0], links[links.len() - 1]);
    let exposed = if kind.last {
        let zero = ctx.load_zero();
        for start_or_end in [first[2], first[4], last[5]] {
            ctx.constrain_equal(&start_or_end, &zero);
        }
        let one = ctx.load_constant(Fr::one());
        ctx.constrain_equal(&first[7], &one);
        vec![first[0], last[1], last[3], first[6], last[8]]
    } else {
        vec![
            first[0], last[1], first[2], last[3], first[4], last[5], first[6], first[7], last[8],
        ]
    };
    circuit.builder.assigned_instances[0].extend(exposed);
}

/// Keys of one node circuit and the shape fixed at key generation.
pub struct NodeKeys {
    /// Proving key (holds the verifying key).
    pub pk: ProvingKey<G1Affine>,
    /// Columns chosen at key generation.
    pub config: AggregationConfigParams,
    /// Where the cells wrap between columns.
    pub break_points: MultiPhaseThreadBreakPoints,
    /// The node.
    pub kind: NodeKind,
}

/// A node circuit laid out for key generation: its column counts are known, so the memory
/// the keys and proofs will need can be predicted before the expensive part starts.
pub struct NodeLayout {
    circuit: NodeCircuit,
    config: AggregationConfigParams,
    kind: NodeKind,
}

impl NodeLayout {
    /// The configuration (rows exponent, columns) the keys will have.
    pub fn config(&self) -> AggregationConfigParams {
        self.config
    }

    /// Advice cells of the gate and cells looked up in the range table.
    pub fn cells(&self) -> (usize, usize) {
        let s = self.circuit.builder.statistics();
        (
            s.gate.total_advice_per_phase.iter().sum(),
            s.total_lookup_advice_per_phase.iter().sum(),
        )
    }

    /// Generates the proving and verifying keys (`params` must be the layout's).
    pub fn keygen(self, params: &ParamsKZG<Bn256>) -> Result<NodeKeys, AggregationError> {
        let k = params.k();
        let halo2 = |e: halo2_base::halo2_proofs::plonk::Error| AggregationError::Halo2 {
            k,
            reason: e.to_string(),
        };
        let vk = keygen_vk(params, &self.circuit).map_err(halo2)?;
        let pk = keygen_pk(params, vk, &self.circuit).map_err(halo2)?;
        Ok(NodeKeys {
            pk,
            config: self.config,
            break_points: self.circuit.break_points(),
            kind: self.kind,
        })
    }
}

/// Lays out a node over proofs of `inner_vk` at `params.k()` rows (a witness-free
/// synthesis over stand-in proofs), ready for [`NodeLayout::keygen`].
pub fn layout(
    params: &ParamsKZG<Bn256>,
    inner_params: &ParamsKZG<Bn256>,
    inner_vk: &VerifyingKey<G1Affine>,
    kind: NodeKind,
) -> Result<NodeLayout, AggregationError> {
    let k = params.k();
    let snarks = vec![dummy_snark(inner_params, inner_vk, kind.inner); kind.fan_in];
    let config = AggregationConfigParams {
        degree: k,
        lookup_bits: k as usize - 1,
        ..Default::default()
    };
    let mut circuit = node_circuit(CircuitBuilderStage::Keygen, config, params, snarks, kind)?;
    let config = circuit.calculate_params(Some(9));
    Ok(NodeLayout {
        circuit,
        config,
        kind,
    })
}

/// Generates the keys of a node over proofs of `inner_vk` at `params.k()` rows.
pub fn keygen(
    params: &ParamsKZG<Bn256>,
    inner_params: &ParamsKZG<Bn256>,
    inner_vk: &VerifyingKey<G1Affine>,
    kind: NodeKind,
) -> Result<NodeKeys, AggregationError> {
    layout(params, inner_params, inner_vk, kind)?.keygen(params)
}

/// The public inputs a node proof over `links` will have after the accumulator, checked
/// natively as the circuit checks them.
pub fn node_link(links: &[Link], kind: NodeKind) -> Result<Vec<Fr>, AggregationError> {
    let joined = Link::join(links)?;
    if kind.last {
        if joined.commitment_before != Fr::zero() {
            return Err(AggregationError::CommitmentStart);
        }
        for (end, pending) in [
            ("start", joined.pending_before),
            ("end", joined.pending_after),
        ] {
            if pending != Fr::zero() {
                return Err(AggregationError::PendingFees {
                    end,
                    pending: format!("{pending:?}"),
                });
            }
        }
        if joined.evaluation_before != Fr::one() {
            return Err(AggregationError::EvaluationStart);
        }
        Ok(vec![
            joined.old_root,
            joined.new_root,
            joined.commitment_after,
            joined.point,
            joined.evaluation_after,
        ])
    } else {
        Ok(joined.to_instances().to_vec())
    }
}

/// Proves a node over `snarks` (inner proofs already verified); returns the public inputs
/// and the proof (Poseidon transcript, or Keccak for the final node).
pub fn prove(
    prover: &MsmParams,
    keys: &NodeKeys,
    snarks: Vec<Snark>,
) -> Result<(Vec<Fr>, Vec<u8>), AggregationError> {
    let params = prover.kzg();
    let k = params.k();
    let links = snarks
        .iter()
        .enumerate()
        .map(|(i, s)| keys.kind.inner.link(i, &s.instances.concat()))
        .collect::<Result<Vec<_>, _>>()?;
    let expected = node_link(&links, keys.kind)?;
    let circuit = node_circuit(
        CircuitBuilderStage::Prover,
        keys.config,
        params,
        snarks,
        keys.kind,
    )?
    .use_break_points(keys.break_points.clone());
    let instances = circuit.instances().concat();
    debug_assert_eq!(&instances[ACCUMULATOR_LIMBS..], expected.as_slice());
    let halo2 = |e: halo2_base::halo2_proofs::plonk::Error| AggregationError::Halo2 {
        k,
        reason: e.to_string(),
    };
    let proof = if keys.kind.last {
        let transcript = EvmTranscript::<G1Affine, NativeLoader, Vec<u8>, Vec<u8>>::init(vec![]);
        create_proof_with(prover, &keys.pk, circuit, &instances, transcript)
    } else {
        let transcript =
            PoseidonTranscript::<NativeLoader, Vec<u8>>::from_spec(vec![], POSEIDON_SPEC.clone());
        create_proof_with(prover, &keys.pk, circuit, &instances, transcript)
    }
    .map_err(halo2)?;
    Ok((instances, proof))
}

/// One SHPLONK proof written into `transcript` (Poseidon or Keccak), commitments on
/// `params`' MSM backend; returns its bytes.
fn create_proof_with<E, T>(
    params: &MsmParams,
    pk: &ProvingKey<G1Affine>,
    circuit: NodeCircuit,
    instances: &[Fr],
    mut transcript: T,
) -> Result<Vec<u8>, halo2_base::halo2_proofs::plonk::Error>
where
    E: halo2_base::halo2_proofs::transcript::EncodedChallenge<G1Affine>,
    T: TranscriptWriterBuffer<Vec<u8>, G1Affine, E>,
{
    zkroll_msm::kzg::create_proof(
        params,
        pk,
        &[circuit],
        &[&[instances]],
        OsRng,
        &mut transcript,
    )?;
    Ok(transcript.finalize())
}

/// Verifies a proof natively: the halo2 proof (Poseidon transcript, or Keccak when `evm`)
/// and, for aggregation proofs (`accumulator`), the pairing check of the KZG accumulator in
/// its first public inputs, which is what makes the inner proofs valid.
pub fn verify(
    params: &ParamsKZG<Bn256>,
    vk: &VerifyingKey<G1Affine>,
    instances: &[Fr],
    proof: &[u8],
    evm: bool,
    accumulator: bool,
) -> Result<(), AggregationError> {
    let failed =
        |e: halo2_base::halo2_proofs::plonk::Error| AggregationError::Verify(e.to_string());
    if evm {
        let mut transcript = EvmTranscript::<G1Affine, NativeLoader, &[u8], Vec<u8>>::init(proof);
        verify_proof::<KZGCommitmentScheme<Bn256>, VerifierSHPLONK<'_, Bn256>, _, _, _>(
            params.verifier_params(),
            vk,
            SingleStrategy::new(params),
            &[&[instances]],
            &mut transcript,
        )
        .map_err(failed)?;
    } else {
        let mut transcript =
            PoseidonTranscript::<NativeLoader, &[u8]>::from_spec(proof, POSEIDON_SPEC.clone());
        verify_proof::<KZGCommitmentScheme<Bn256>, VerifierSHPLONK<'_, Bn256>, _, _, _>(
            params.verifier_params(),
            vk,
            SingleStrategy::new(params),
            &[&[instances]],
            &mut transcript,
        )
        .map_err(failed)?;
    }
    if accumulator {
        check_accumulator(params, instances)?;
    }
    Ok(())
}

/// The pairing check `e(lhs, g2) = e(rhs, s·g2)` of the accumulator in `instances[..12]`.
pub fn check_accumulator(
    params: &ParamsKZG<Bn256>,
    instances: &[Fr],
) -> Result<(), AggregationError> {
    let limbs = instances
        .get(..ACCUMULATOR_LIMBS)
        .ok_or_else(|| AggregationError::Verify("no accumulator".into()))?;
    let coordinate = |i: usize| -> Fq {
        fe_from_limbs::<Fr, Fq, LIMBS, BITS>([
            limbs[i * LIMBS],
            limbs[i * LIMBS + 1],
            limbs[i * LIMBS + 2],
        ])
    };
    let point = |x: Fq, y: Fq| -> Result<G1Affine, AggregationError> {
        Option::from(G1Affine::from_xy(x, y))
            .ok_or_else(|| AggregationError::Verify("accumulator point not on the curve".into()))
    };
    let lhs = point(coordinate(0), coordinate(1))?;
    let rhs = point(coordinate(2), coordinate(3))?;
    let dk: KzgDecidingKey<Bn256> = (params.get_g()[0], params.g2(), params.s_g2()).into();
    <SHPLONK as AccumulationDecider<G1Affine, NativeLoader>>::decide(
        &dk,
        KzgAccumulator::new(lhs, rhs),
    )
    .map_err(|e| AggregationError::Verify(format!("accumulator pairing check: {e:?}")))
}
