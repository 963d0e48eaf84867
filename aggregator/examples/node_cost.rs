//! Where the cells of an aggregation node go: the in-circuit MSM per point (halo2-ecc, as
//! snark-verifier calls it), the chunk verifying key's commitments, and the cells of nodes
//! over 1, 2 and 4 chunk proofs (a witness-free layout, no proof).
//!
//! ```text
//! cargo run --release --example node_cost -- <data-dir> [chunk-size] [depth]
//! ```
//! `<data-dir>` holds the parameters (`params/`, the chunk circuit's k and 21) and the chunk
//! keys (`keys/`, generated there when missing). Defaults: chunk size 1, depth 6 (CI's).

use std::path::PathBuf;
use std::time::Instant;

use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::gates::circuit::CircuitBuilderStage;
use halo2_base::halo2_proofs::arithmetic::Field;
use halo2_base::halo2_proofs::halo2curves::bn256::{Fq, Fr, G1Affine};
use halo2_base::halo2_proofs::halo2curves::group::Curve;
use snark_verifier::halo2_ecc::ecc::EccChip;
use snark_verifier::halo2_ecc::fields::fp::FpChip;
use snark_verifier_sdk::{BITS, LIMBS};
use zkroll_aggregator::circuit::{layout, Inner, NodeKind};

/// Advice and lookup cells of an MSM of `n` random points, variable or fixed (constant) base,
/// with 254-bit scalars.
fn msm_cells(n: usize, fixed: bool) -> (usize, usize) {
    let mut builder = BaseCircuitBuilder::<Fr>::from_stage(CircuitBuilderStage::Mock)
        .use_k(21)
        .use_lookup_bits(20);
    let range = builder.range_chip();
    let fp = FpChip::<Fr, Fq>::new(&range, BITS, LIMBS);
    let chip = EccChip::new(&fp);
    let mut rng = rand::thread_rng();
    let points: Vec<G1Affine> = (0..n)
        .map(|_| (G1Affine::generator() * Fr::random(&mut rng)).to_affine())
        .collect();
    let scalars: Vec<Vec<_>> = (0..n)
        .map(|_| vec![builder.main(0).load_witness(Fr::random(&mut rng))])
        .collect();
    if fixed {
        chip.fixed_base_msm::<G1Affine>(builder.pool(0), &points, scalars, 254);
    } else {
        let assigned: Vec<_> = points
            .iter()
            .map(|p| chip.assign_point::<G1Affine>(builder.main(0), *p))
            .collect();
        chip.variable_base_msm::<G1Affine>(builder.pool(0), &assigned, scalars, 254);
    }
    let stats = builder.statistics();
    (
        stats.gate.total_advice_per_phase.iter().sum(),
        stats.total_lookup_advice_per_phase.iter().sum(),
    )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let data_dir = PathBuf::from(
        args.next()
            .ok_or("usage: node_cost <data-dir> [chunk-size] [depth]")?,
    );
    let chunk_size: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(1);
    let depth: u8 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(6);

    println!("in-circuit MSM (halo2-ecc, 254-bit scalars): advice cells, lookup cells");
    for n in [1usize, 8, 24, 26, 32, 48] {
        let (v, vl) = msm_cells(n, false);
        let (f, fl) = msm_cells(n, true);
        println!("  {n:>2} points: variable base {v:>9} ({vl}), fixed base {f:>9} ({fl})");
    }

    let config = zkroll_engine::ChainConfig {
        chain_id: 1,
        depth,
        operator: 0,
    };
    let chunk_k = zkroll_circuits::stats::chunk_stats(chunk_size, config, None).k;
    let chunk_params = zkroll_prover::srs::load(&data_dir, chunk_k)?;
    let (keys, _) =
        zkroll_prover::keys::load_or_generate(&data_dir, &chunk_params, chunk_size, config)?;
    let vk = keys.vk();
    let cs = vk.cs();
    println!(
        "chunk circuit ({chunk_size} slots, depth {depth}, k={chunk_k}): {} fixed and {} \
         permutation commitments in the verifying key; {} advice columns, {} lookups, degree {}",
        vk.fixed_commitments().len(),
        vk.permutation().commitments().len(),
        cs.num_advice_columns(),
        cs.lookups().len(),
        cs.degree()
    );
    let params = zkroll_prover::srs::load(&data_dir, 21)?;
    for fan_in in [1usize, 2, 4] {
        let t = Instant::now();
        let kind = NodeKind {
            inner: Inner::Chunks,
            fan_in,
            last: false,
        };
        let node = layout(&params, &chunk_params, vk, kind)?;
        let (advice, lookup) = node.cells();
        println!(
            "node over {fan_in} chunk proofs: {advice} advice cells, {lookup} lookup cells \
             ({} advice columns at k=21; laid out in {:.1} s)",
            node.config().num_advice,
            t.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
