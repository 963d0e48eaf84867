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
