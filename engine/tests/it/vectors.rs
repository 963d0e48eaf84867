//! The engine's primitives against vectors produced by the reference JavaScript packages
//! (`poseidon-lite` 0.3.0, `@zk-kit/eddsa-poseidon` 1.1.0); regenerate with
//! `scripts/gen-vectors.sh`.

use serde::Deserialize;
use zkroll_engine::babyjubjub::Point;
use zkroll_engine::eddsa::{PrivateKey, PublicKey, Signature};
use zkroll_engine::field::{fr_from_str, parse_field, to_hex, Fr};
use zkroll_engine::poseidon;

fn load<T: for<'de> Deserialize<'de>>(name: &str) -> T {
    // At run time first: a test binary reused from a build in another checkout (a shared
    // target directory) would otherwise read that checkout's files.
    let dir =
        std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into());
    let path = format!("{dir}/tests/vectors/{name}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn fr(s: &str) -> Fr {
    fr_from_str(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

#[derive(Deserialize)]
struct PoseidonVectors {
    widths: Vec<Width>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Width {
    t: usize,
    full_rounds: usize,
    partial_rounds: usize,
    round_constants: Vec<String>,
    mds: Vec<Vec<String>>,
}

#[derive(Deserialize)]
struct Case {
    inputs: Vec<String>,
    output: String,
}

#[test]
fn poseidon_constants_equal_poseidon_lite() {
    let v: PoseidonVectors = load("poseidon.json");
    assert_eq!(v.widths.len(), 6);
    for w in &v.widths {
        let p = poseidon::params(w.t);
        assert_eq!(p.full_rounds, w.full_rounds, "t={}", w.t);
        assert_eq!(p.partial_rounds, w.partial_rounds, "t={}", w.t);
        let constants: Vec<String> = p.round_constants.iter().map(to_hex).collect();
        assert_eq!(constants.len(), w.round_constants.len(), "t={}", w.t);
        if let Some(i) = (0..constants.len()).find(|i| constants[*i] != w.round_constants[*i]) {
            panic!(
                "t={}: round constant {i} is {}, poseidon-lite has {}",
                w.t, constants[i], w.round_constants[i]
            );
        }
        let mds: Vec<Vec<String>> = p
            .mds
            .iter()
            .map(|row| row.iter().map(to_hex).collect())
            .collect();
        assert_eq!(mds, w.mds, "MDS, t={}", w.t);
    }
}

#[test]
fn poseidon_outputs_equal_poseidon_lite() {
    let v: PoseidonVectors = load("poseidon.json");
    assert_eq!(v.cases.len(), 42);
    for case in &v.cases {
        let inputs: Vec<Fr> = case.inputs.iter().map(|s| fr(s)).collect();
        assert_eq!(
            to_hex(&poseidon::hash(&inputs)),
            case.output,
            "inputs {:?}",
            case.inputs
        );
    }
}

#[derive(Deserialize)]
struct EddsaVectors {
    base8: [String; 2],
    sub_order: String,
    base8_times_2: [String; 2],
    keys: Vec<Key>,
    signatures: Vec<Sig>,
    transactions: Vec<SignedByZkKit>,
}

#[derive(Deserialize)]
struct SignedByZkKit {
    chain_id: u32,
    private_key: String,
    message: String,
    tx: zkroll_engine::Tx,
}

#[derive(Deserialize)]
struct Key {
    private_key: String,
    public_key: [String; 2],
    packed: String,
}

#[derive(Deserialize)]
struct Sig {
    label: String,
    message: String,
    public_key: [String; 2],
    r8: [String; 2],
    s: String,
    valid: bool,
}

fn point(xy: &[String; 2]) -> Point {
    Point {
        x: fr(&xy[0]),
        y: fr(&xy[1]),
    }
}

#[test]
fn curve_constants_equal_zk_kit() {
    let v: EddsaVectors = load("eddsa.json");
    assert_eq!(point(&v.base8), Point::base8());
    assert_eq!(
        Point::base8().add(&Point::base8()),
        Some(point(&v.base8_times_2))
    );
    let order = zkroll_engine::babyjubjub::subgroup_order();
    assert_eq!(
        zkroll_engine::field::parse_u256(&v.sub_order).expect("hex"),
        order.0
    );
}

#[test]
fn key_derivation_equals_zk_kit() {
    let v: EddsaVectors = load("eddsa.json");
    assert_eq!(v.keys.len(), 8);
    for k in &v.keys {
        let bytes: [u8; 32] = hex::decode(&k.private_key)
            .expect("hex")
            .try_into()
            .expect("32 bytes");
        let pk = PrivateKey::from_bytes(bytes).public_key();
        assert_eq!(pk.0, point(&k.public_key), "key {}", k.private_key);
        let mut packed = pk.0.pack();
        packed.reverse();
        assert_eq!(format!("0x{}", hex::encode(packed)), k.packed);
    }
}

#[test]
fn signing_and_verification_equal_zk_kit() {
    let v: EddsaVectors = load("eddsa.json");
    let signer = PrivateKey::from_bytes(
        hex::decode(&v.keys[0].private_key)
            .expect("hex")
            .try_into()
            .expect("32 bytes"),
    );
    let (mut valid, mut invalid) = (0, 0);
    for (i, case) in v.signatures.iter().enumerate() {
        let message = fr(&case.message);
        let key = PublicKey(point(&case.public_key));
        // S >= l must be refused at parse time: zk-kit rejects it, and zkroll never reduces.
        let result = match parse_field(&case.s) {
            Ok(s) => key
                .verify(
                    message,
                    &Signature {
                        r8: point(&case.r8),
                        s,
                    },
                )
                .is_ok(),
            Err(_) => false,
        };
        assert_eq!(result, case.valid, "vector {i} ({})", case.label);
        if case.valid {
            valid += 1;
        } else {
            invalid += 1;
        }
        // Signatures zk-kit made with key 0 are reproduced byte for byte.
        if case.label == "signed" && key == signer.public_key() {
            let ours = signer.sign(message);
            assert_eq!(to_hex(&ours.r8.x), case.r8[0]);
            assert_eq!(to_hex(&ours.r8.y), case.r8[1]);
            assert_eq!(zkroll_engine::field::to_hex(&ours.s), case.s);
        }
    }
    assert!(
        valid >= 10 && invalid >= 40,
        "{valid} valid, {invalid} invalid"
    );
}

/// Transfers and withdrawals whose message was computed and signed in JavaScript by zk-kit
/// (including maximal fees, nonces and a 2^55 amount): zkroll derives the same message and
/// accepts the signature under the key zk-kit derives.
#[test]
fn transactions_signed_by_zk_kit_are_accepted() {
    let v: EddsaVectors = load("eddsa.json");
    assert_eq!(v.transactions.len(), 8);
    for (i, case) in v.transactions.iter().enumerate() {
        let key = PrivateKey::from_bytes(
            hex::decode(&case.private_key)
                .expect("hex")
                .try_into()
                .expect("32 bytes"),
        )
        .public_key();
        let (message, signature) = match &case.tx {
            zkroll_engine::Tx::Transfer(t) => (t.message(case.chain_id), t.signature),
            zkroll_engine::Tx::Withdraw(w) => (w.message(case.chain_id), w.signature),
            zkroll_engine::Tx::Deposit(_) | zkroll_engine::Tx::SettleFees(_) => {
                unreachable!("deposits and settlements are unsigned")
            }
        };
        assert_eq!(to_hex(&message), case.message, "transaction {i}: message");
        assert_eq!(key.verify(message, &signature), Ok(()), "transaction {i}");
        // The same signature is void on another chain.
        let other = match &case.tx {
            zkroll_engine::Tx::Transfer(t) => t.message(case.chain_id + 1),
            zkroll_engine::Tx::Withdraw(w) => w.message(case.chain_id + 1),
            zkroll_engine::Tx::Deposit(_) | zkroll_engine::Tx::SettleFees(_) => unreachable!(),
        };
        assert!(key.verify(other, &signature).is_err());
    }
}
