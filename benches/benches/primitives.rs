//! Cost of the engine's primitives: Poseidon (Merkle node, leaf, EdDSA challenge widths),
//! EdDSA-Poseidon signing and verification.
#![allow(missing_docs)] // criterion_group! generates undocumented functions

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use zkroll_engine::eddsa::PrivateKey;
use zkroll_engine::field::Fr;
use zkroll_engine::poseidon;

fn primitives(c: &mut Criterion) {
    let x = Fr::from(0x1234_5678u64);
    let mut group = c.benchmark_group("poseidon");
    group.bench_function("2 inputs (Merkle node)", |b| {
        b.iter(|| poseidon::hash2(black_box(x), black_box(x)))
    });
    group.bench_function("4 inputs (leaf)", |b| {
        b.iter(|| poseidon::hash(black_box(&[x, x, x, x])))
    });
    group.bench_function("5 inputs (EdDSA challenge)", |b| {
        b.iter(|| poseidon::hash(black_box(&[x, x, x, x, x])))
    });
    group.finish();

    let key = PrivateKey::from_bytes([7; 32]);
    let public = key.public_key();
    let signature = key.sign(x);
    let mut group = c.benchmark_group("eddsa");
    group.bench_function("sign", |b| b.iter(|| key.sign(black_box(x))));
    group.bench_function("verify", |b| {
        b.iter(|| public.verify(black_box(x), black_box(&signature)))
    });
    group.finish();
}

criterion_group!(benches, primitives);
criterion_main!(benches);
