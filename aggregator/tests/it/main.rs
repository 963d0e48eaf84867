//! Aggregation tests: the linking rules natively and as constraints of the node circuit
//! (built over real chunk proofs), and, ignored by default and run by `scripts/test.sh`
//! one at a time, real aggregation proofs.

use halo2_base::gates::circuit::CircuitBuilderStage;
use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, Fr};
use halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use snark_verifier_sdk::halo2::aggregation::AggregationConfigParams;
use snark_verifier_sdk::Snark;
use zkroll_aggregator::circuit::{self, node_circuit, node_link, snark};
use zkroll_aggregator::{AggregationError, Inner, Link, NodeCircuit, NodeKind};
use zkroll_circuits::chunk::ChunkWitness;
use zkroll_circuits::field::to_circuit;
use zkroll_circuits::proof::{self, ChunkKeys};
use zkroll_circuits::stats::chunk_stats;
use zkroll_engine::workload::Workload;
use zkroll_engine::{execute_batch, BatchTrace, StateDb};

const DEPTH: u8 = 6;

/// A batch of `count` transfers cut in chunks of one slot, with params and keys.
struct Batch {
    trace: BatchTrace,
    params: ParamsKZG<Bn256>,
    keys: ChunkKeys,
}

fn batch(count: usize) -> Batch {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut workload = Workload::new(3, 8, 1, DEPTH);
    let mut db = StateDb::init(&dir.path().join("state"), &workload.funded_genesis(1 << 30))
        .expect("genesis");
    let txs = workload.random_transfers(count);
    let trace = execute_batch(&mut db, &txs).expect("execute").trace;
    let config = trace.header.config;
    let k = chunk_stats(1, config, None).k;
    let params = zkroll_prover::srs::dev_setup(k);
    let keys = proof::keygen(&params, &ChunkWitness::padding(1, config)).expect("keygen");
    Batch {
        trace,
        params,
        keys,
    }
}

impl Batch {
    /// The proof of the one-slot chunk at `index`, as a snark.
    fn chunk_snark(&self, index: usize) -> Snark {
        let w = ChunkWitness::from_trace(&self.trace, index, 1).expect("chunk");
        let prover = zkroll_msm::Backend::Cpu
            .params(std::sync::Arc::new(self.params.clone()))
            .expect("params");
        let bytes = proof::prove(&prover, &self.keys, &w).expect("prove");
        proof::verify(&self.params, self.keys.vk(), &bytes, &w.public_inputs()).expect("valid");
        let instances = w.public_inputs().iter().map(to_circuit).collect();
        snark(
            &self.params,
            self.keys.vk(),
            Inner::Chunks,
            instances,
            bytes,
        )
    }
}

/// Copy constraints of the node circuit's main pool whose two sides differ.
fn violated(circuit: &mut NodeCircuit) -> usize {
    let pool = circuit.builder.pool(0);
    let value = |cell: &halo2_base::ContextCell| {
        pool.threads
            .iter()
            .find(|t| t.type_id() == cell.type_id && t.id() == cell.context_id)
            .map(|t| t.advice[cell.offset].evaluate())
    };
    let manager = pool.copy_manager.lock().expect("copy manager");
    let advice = manager
        .advice_equalities
        .iter()
        .filter(|(a, b)| matches!((value(a), value(b)), (Some(x), Some(y)) if x != y))
        .count();
    let constants = manager
        .constant_equalities
        .iter()
        .filter(|(c, cell)| matches!(value(cell), Some(v) if v != *c))
        .count();
    advice + constants
}

fn build(snarks: Vec<Snark>, last: bool) -> NodeCircuit {
    // No proof is made: only the witness and its constraints, so any parameters' generator
    // and a small lookup table do.
    let params = zkroll_prover::srs::dev_setup(4);
    let kind = NodeKind {
        inner: Inner::Chunks,
        fan_in: snarks.len(),
        last,
    };
    let config = AggregationConfigParams {
        degree: 20,
        lookup_bits: 19,
        ..Default::default()
    };
    node_circuit(CircuitBuilderStage::Keygen, config, &params, snarks, kind).expect("circuit")
}

#[test]
fn links_are_checked_natively() {
    let f = |x: u64| Fr::from(x);
    let a = Link {
        old_root: f(1),
        new_root: f(2),
        commitment_before: f(0),
        commitment_after: f(10),
        pending_before: f(0),
        pending_after: f(7),
        point: f(50),
        evaluation_before: f(1),
        evaluation_after: f(20),
    };
    let b = Link {
        old_root: f(2),
        new_root: f(3),
        commitment_before: f(10),
        commitment_after: f(11),
        pending_before: f(7),
        pending_after: f(0),
        point: f(50),
        evaluation_before: f(20),
        evaluation_after: f(21),
    };
    let joined = Link::join(&[a, b]).expect("linked");
    assert_eq!(
        joined.to_instances(),
        [f(1), f(3), f(0), f(11), f(0), f(0), f(50), f(1), f(21)]
    );
    assert!(matches!(
        Link::join(&[b, a]),
        Err(AggregationError::Unlinked { index: 1, .. })
    ));
    let c = Link {
        commitment_before: f(99),
        ..b
    };
    assert!(matches!(
        Link::join(&[a, c]),
        Err(AggregationError::Unlinked { index: 1, what }) if what.contains("commitment")
    ));
    let d = Link {
        pending_before: f(6),
        ..b
    };
    assert!(matches!(
        Link::join(&[a, d]),
        Err(AggregationError::Unlinked { index: 1, what }) if what.contains("fees pending")
    ));
    let e = Link { point: f(51), ..b };
    assert!(matches!(
        Link::join(&[a, e]),
        Err(AggregationError::Unlinked { index: 1, what }) if what.contains("point")
    ));
    let g = Link {
        evaluation_before: f(19),
        ..b
    };
    assert!(matches!(
        Link::join(&[a, g]),
        Err(AggregationError::Unlinked { index: 1, what }) if what.contains("evaluation")
    ));
    let last = NodeKind {
        inner: Inner::Chunks,
        fan_in: 2,
        last: true,
    };
    assert_eq!(
        node_link(&[a, b], last).expect("final"),
        vec![f(1), f(3), f(11), f(50), f(21)]
    );
    // A batch whose pubdata evaluation does not start at 1.
    let late = Link {
        evaluation_before: f(2),
        ..a
    };
    assert!(matches!(
        node_link(&[late, b], last),
        Err(AggregationError::EvaluationStart)
    ));
    assert!(matches!(
        node_link(&[b], last),
        Err(AggregationError::CommitmentStart)
    ));
    // A batch that ends with fees not credited to the operator, or starts with some.
    assert!(matches!(
        node_link(&[a], last),
        Err(AggregationError::PendingFees { end: "end", .. })
    ));
    let owes = Link {
        pending_before: f(2),
        pending_after: f(9),
        ..a
    };
    let settles = Link {
        pending_before: f(9),
        ..b
    };
    assert!(matches!(
        node_link(&[owes, settles], last),
        Err(AggregationError::PendingFees { end: "start", .. })
    ));
    assert!(matches!(Link::join(&[]), Err(AggregationError::Empty)));
}

/// The node circuit over real chunk proofs: in order, every copy constraint holds and the
/// exposed link is the batch's; swapped, or a final node whose batch does not start the
/// commitment chain or leaves fees pending, breaks the linking constraints.
#[test]
fn node_circuit_constrains_the_links() {
    let b = batch(3);
    let snarks: Vec<Snark> = (0..3).map(|i| b.chunk_snark(i)).collect();

    // Each circuit holds ~20 M witness cells: one at a time.
    {
        let mut ordered = build(vec![snarks[0].clone(), snarks[1].clone()], false);
        assert_eq!(violated(&mut ordered), 0);
        let exposed = &ordered.builder.assigned_instances[0];
        let kind = NodeKind {
            inner: Inner::Chunks,
            fan_in: 2,
            last: false,
        };
        assert_eq!(exposed.len(), kind.num_instances());
        let link: Vec<Fr> = exposed[circuit::ACCUMULATOR_LIMBS..]
            .iter()
            .map(|v| *v.value())
            .collect();
        let first = ChunkWitness::from_trace(&b.trace, 0, 2).expect("chunks 0-1");
        let expected: Vec<Fr> = first.public_inputs().iter().map(to_circuit).collect();
        assert_eq!(link, expected);
    }
    {
        let mut swapped = build(vec![snarks[1].clone(), snarks[0].clone()], false);
        assert!(
            violated(&mut swapped) >= 2,
            "both roots and commitments unlinked"
        );
    }
    let inputs = |i: usize| {
        ChunkWitness::from_trace(&b.trace, i, 1)
            .expect("chunk")
            .public_inputs()
    };
    let zero = zkroll_engine::Fr::from(0u64);
    assert_ne!(inputs(0)[5], zero, "the batch collects fees");
    {
        // A final node over chunks 0-1: linked, starts at 0, but ends with fees pending (the
        // batch's settlement is in a later chunk).
        let mut unsettled = build(vec![snarks[0].clone(), snarks[1].clone()], true);
        assert_eq!(
            unsettled.builder.assigned_instances[0].len(),
            circuit::ACCUMULATOR_LIMBS + circuit::FINAL_LINK_LEN
        );
        assert_eq!(violated(&mut unsettled), 1, "fees pending after must be 0");
    }
    {
        // A final node over chunks 1-2: linked, but the batch starts neither its commitment
        // chain nor its fees at 0 nor its pubdata evaluation at 1, and (if the chunks leave
        // fees pending) does not end settled.
        let mut late_start = build(vec![snarks[1].clone(), snarks[2].clone()], true);
        let one = zkroll_engine::Fr::from(1u64);
        let expected = [inputs(1)[2], inputs(1)[4], inputs(2)[5]]
            .iter()
            .filter(|v| **v != zero)
            .count()
            + usize::from(inputs(1)[7] != one);
        assert!(expected >= 3);
        assert_eq!(violated(&mut late_start), expected);
    }
}

/// Real proofs: two chunk proofs aggregated by a layer-1 node (Poseidon transcript), that
/// proof wrapped by a final node (Keccak transcript); both verify natively with their
/// accumulators; tampered public inputs and proof bytes are rejected.
#[test]
#[ignore = "aggregation proofs: ~10 min and ~13 GiB; the CLI end-to-end test covers this in CI"]
fn aggregate_two_chunks_into_a_final_proof() {
    let b = batch(2);
    let snarks: Vec<Snark> = (0..2).map(|i| b.chunk_snark(i)).collect();
    let params = zkroll_prover::srs::dev_setup(21);
    let prover = zkroll_msm::Backend::Cpu
        .params(std::sync::Arc::new(params.clone()))
        .expect("params");
    let layer = NodeKind {
        inner: Inner::Chunks,
        fan_in: 2,
        last: false,
    };
    let t = std::time::Instant::now();
    let keys = circuit::keygen(&params, &b.params, b.keys.vk(), layer).expect("keygen");
    eprintln!(
        "layer keygen {:.1} s, {:?}",
        t.elapsed().as_secs_f64(),
        keys.config
    );
    let t = std::time::Instant::now();
    let (instances, bytes) = circuit::prove(&prover, &keys, snarks).expect("prove");
    eprintln!(
        "layer prove {:.1} s, proof {} bytes",
        t.elapsed().as_secs_f64(),
        bytes.len()
    );
    circuit::verify(&params, keys.pk.get_vk(), &instances, &bytes, false, true).expect("valid");
    let whole = ChunkWitness::from_trace(&b.trace, 0, 2).expect("whole");
    let expected: Vec<Fr> = whole.public_inputs().iter().map(to_circuit).collect();
    assert_eq!(
        &instances[circuit::ACCUMULATOR_LIMBS..],
        expected.as_slice()
    );
    let mut bad = instances.clone();
    bad[circuit::ACCUMULATOR_LIMBS + 1] += Fr::one();
    assert!(circuit::verify(&params, keys.pk.get_vk(), &bad, &bytes, false, true).is_err());
    let mut bad = instances.clone();
    bad[0] += Fr::one();
    assert!(circuit::verify(&params, keys.pk.get_vk(), &bad, &bytes, false, true).is_err());

    let layer_vk = keys.pk.get_vk().clone();
    drop(keys);
    let inner = snark(&params, &layer_vk, Inner::Aggregated, instances, bytes);
    let last = NodeKind {
        inner: Inner::Aggregated,
        fan_in: 1,
        last: true,
    };
    let t = std::time::Instant::now();
    let keys = circuit::keygen(&params, &params, &layer_vk, last).expect("final keygen");
    eprintln!(
        "final keygen {:.1} s, {:?}",
        t.elapsed().as_secs_f64(),
        keys.config
    );
    let t = std::time::Instant::now();
    let (instances, bytes) = circuit::prove(&prover, &keys, vec![inner]).expect("final prove");
    eprintln!(
        "final prove {:.1} s, proof {} bytes",
        t.elapsed().as_secs_f64(),
        bytes.len()
    );
    let vk = keys.pk.get_vk();
    circuit::verify(&params, vk, &instances, &bytes, true, true).expect("valid");
    assert_eq!(
        &instances[circuit::ACCUMULATOR_LIMBS..],
        &[expected[0], expected[1], expected[3]]
    );
    let mut flipped = bytes.clone();
    flipped[100] ^= 1;
    assert!(circuit::verify(&params, vk, &instances, &flipped, true, true).is_err());
    assert!(circuit::verify(
        &params,
        vk,
        &instances,
        &bytes[..bytes.len() / 2],
        true,
        true
    )
    .is_err());
    let mut bad = instances.clone();
    bad[circuit::ACCUMULATOR_LIMBS] += Fr::one();
    assert!(circuit::verify(&params, vk, &bad, &bytes, true, true).is_err());
}
