use std::time::Instant;
use zkroll_engine::field::Fr;
use zkroll_engine::{eddsa::PrivateKey, poseidon};
fn main() {
    let mut x = Fr::from(1u64);
    let n = 20000;
    let t = Instant::now();
    for _ in 0..n { x = poseidon::hash2(x, x); }
    println!("hash2: {:?}/hash {x}", t.elapsed() / n);
    let t = Instant::now();
    for _ in 0..n/4 { x = poseidon::hash(&[x, x, x, x]); }
    println!("hash4: {:?}/hash", t.elapsed() / (n/4));
    let k = PrivateKey::from_bytes([3; 32]);
    let pk = k.public_key();
    let sig = k.sign(x);
    let t = Instant::now();
    for _ in 0..200 { pk.verify(x, &sig).unwrap(); }
    println!("verify: {:?}", t.elapsed() / 200);
    let t = Instant::now();
    for _ in 0..200 { k.sign(x); }
    println!("sign: {:?}", t.elapsed() / 200);
    let a = x; let mut b = x;
    let t = Instant::now();
    for _ in 0..1_000_000 { b *= a; }
    println!("mul: {:?} {b}", t.elapsed() / 1_000_000);
}
