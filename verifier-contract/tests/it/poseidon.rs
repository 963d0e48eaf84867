//! The generated Poseidon contracts hash as the engine does (circomlib's Poseidon), for the
//! widths L1 needs; their gas and size.

use zkroll_engine::poseidon;
use zkroll_engine::pubdata::word_bytes;
use zkroll_engine::Fr as EngineFr;
use zkroll_verifier_contract::evm::Chain;
use zkroll_verifier_contract::poseidon::{contract_name, hash_signature, solidity};
use zkroll_verifier_contract::solc::Solc;
use zkroll_verifier_contract::{call_data, MAX_RUNTIME_BYTES};

#[test]
fn generated_poseidon_equals_the_engines() {
    for width in [3, 5, 6] {
        let name = contract_name(width);
        let file = format!("{name}.sol");
        let compiled = Solc::default()
            .compile(&[(&file, &solidity(width))], true, &file, &name)
            .expect("solc");
        assert!(compiled.runtime.len() <= MAX_RUNTIME_BYTES);
        let mut chain = Chain::new(true);
        let address = chain
            .deploy(compiled.creation)
            .expect("deploy")
            .created
            .expect("address");
        let mut gas = 0;
        for case in 0..12u64 {
            // Small values, 0, r - 1, and values spread over the field.
            let inputs: Vec<EngineFr> = (0..width as u64 - 1)
                .map(|i| match case {
                    0 => EngineFr::from(i + 1),
                    1 => EngineFr::from(0u64),
                    2 => -EngineFr::from(1u64),
                    _ => poseidon::hash(&[EngineFr::from(case * 100 + i)]),
                })
                .collect();
            let args: Vec<[u8; 32]> = inputs.iter().map(word_bytes).collect();
            let receipt = chain
                .call(address, call_data(&hash_signature(width), &args))
                .expect("call");
            assert!(receipt.success, "{receipt:?}");
            assert_eq!(
                receipt.output,
                word_bytes(&poseidon::hash(&inputs)),
                "width {width}, case {case}"
            );
            gas = receipt.gas_used - 21_000 - receipt.calldata_gas;
        }
        eprintln!(
            "{name}: {} bytes of runtime, {gas} gas per hash (execution)",
            compiled.runtime.len()
        );
    }
    // circomlib's vector: poseidon([1, 2]).
    let one_two = poseidon::hash(&[EngineFr::from(1u64), EngineFr::from(2u64)]);
    assert_eq!(
        hex::encode(word_bytes(&one_two)),
        "115cc0f5e7d690413df64c6b9662e9cf2a3617f2743245519e19607a4417189a"
    );
}

/// `s` of a signature as a big-endian word (through its JSON form: the engine's scalar type
/// is arkworks', which this crate does not depend on).
fn s_word(signature: &zkroll_engine::eddsa::Signature) -> [u8; 32] {
    let json = serde_json::to_value(signature).expect("json");
    let hex = json["s"].as_str().expect("s").trim_start_matches("0x");
    let bytes = hex::decode(format!("{hex:0>64}")).expect("hex");
    bytes.try_into().expect("32 bytes")
}

/// `EddsaPoseidon.verify` accepts the engine's signatures and refuses every tampered part:
/// another message, S + 1, S + l (the same point: refused as non-canonical), another R8,
/// another key, a key off the curve.
#[test]
fn solidity_eddsa_verifies_as_the_engine() {
    use revm::primitives::U256;
    use zkroll_engine::eddsa::PrivateKey;
    use zkroll_verifier_contract::EDDSA_POSEIDON_SOL;

    let dir =
        std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into());
    let harness = std::fs::read_to_string(format!("{dir}/tests/contracts/EddsaHarness.sol"))
        .expect("harness");
    let solc = Solc::default();
    let harness = solc
        .compile(
            &[
                ("EddsaPoseidon.sol", EDDSA_POSEIDON_SOL),
                ("BabyJubjub.sol", zkroll_verifier_contract::BABY_JUBJUB_SOL),
                ("EddsaHarness.sol", &harness),
            ],
            true,
            "EddsaHarness.sol",
            "EddsaHarness",
        )
        .expect("solc");
    let poseidon = solc
        .compile(
            &[("PoseidonT6.sol", &solidity(6))],
            true,
            "PoseidonT6.sol",
            "PoseidonT6",
        )
        .expect("solc");
    let mut chain = Chain::new(true);
    let poseidon = chain
        .deploy(poseidon.creation)
        .expect("deploy")
        .created
        .expect("address");
    let harness = chain
        .deploy(harness.creation)
        .expect("deploy")
        .created
        .expect("address");
    let mut poseidon_word = [0u8; 32];
    poseidon_word[12..].copy_from_slice(poseidon.as_slice());
    let mut verify = |args: [[u8; 32]; 6]| {
        let mut all = vec![poseidon_word];
        all.extend(args);
        let r = chain
            .call(
                harness,
                call_data(
                    "verify(address,uint256,uint256,uint256,uint256,uint256,uint256)",
                    &all,
                ),
            )
            .expect("call");
        assert!(r.success, "{r:?}");
        (r.output[31] == 1, r.gas_used - 21_000 - r.calldata_gas)
    };
    let l = U256::from_str_radix(
        "2736030358979909402780800718157159386076813972158567259200215660948447373041",
        10,
    )
    .expect("l");
    for seed in 1..=4u8 {
        let key = PrivateKey::from_bytes([seed; 32]);
        let public = key.public_key();
        let message = poseidon::hash(&[EngineFr::from(seed as u64 * 7919)]);
        let signature = key.sign(message);
        assert_eq!(public.verify(message, &signature), Ok(()));
        let (ax, ay) = (word_bytes(&public.0.x), word_bytes(&public.0.y));
        let (rx, ry) = (word_bytes(&signature.r8.x), word_bytes(&signature.r8.y));
        let s = s_word(&signature);
        let m = word_bytes(&message);
        let (ok, gas) = verify([ax, ay, rx, ry, s, m]);
        assert!(ok, "seed {seed}: valid signature refused");
        if seed == 1 {
            eprintln!("EddsaPoseidon.verify: {gas} gas (execution, Poseidon included)");
        }
        let m1 = word_bytes(&(message + EngineFr::from(1u64)));
        assert!(!verify([ax, ay, rx, ry, s, m1]).0, "another message");
        let s_int = U256::from_be_bytes(s);
        let s1 = (s_int + U256::from(1)).to_be_bytes::<32>();
        assert!(!verify([ax, ay, rx, ry, s1, m]).0, "S + 1");
        let s_l = (s_int + l).to_be_bytes::<32>();
        assert!(!verify([ax, ay, rx, ry, s_l, m]).0, "S + l");
        let other = key.sign(message + EngineFr::from(2u64));
        let (ox, oy) = (word_bytes(&other.r8.x), word_bytes(&other.r8.y));
        assert!(!verify([ax, ay, ox, oy, s, m]).0, "another R8");
        let stranger = PrivateKey::from_bytes([seed + 100; 32]).public_key();
        let (bx, by) = (word_bytes(&stranger.0.x), word_bytes(&stranger.0.y));
        assert!(!verify([bx, by, rx, ry, s, m]).0, "another key");
        assert!(!verify([ax, ax, rx, ry, s, m]).0, "key off the curve");
    }
}
