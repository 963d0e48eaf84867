//! Rollup.sol's rules in revm, against stand-in verifiers (one accepting everything, one
//! rejecting everything), so they are tested without an aggregation proof; the real verifier
//! and proof are exercised by the CLI's end-to-end test.

mod bridge;
mod poseidon;
mod pubdata;

use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use revm::primitives::keccak256;
use std::sync::OnceLock;
use zkroll_verifier_contract::evm::{Chain, Receipt};
use zkroll_verifier_contract::solc::{Compiled, Solc};
use zkroll_verifier_contract::{
    compile_poseidon, compile_rollup, submit_batch_calldata, submit_batch_calldata_with_keys, word,
    Contracts, L1Error, RollupDeployment, L1, ROLLUP_SOL,
};

/// The pubdata of one transfer (account 1 to 2, amount 5, fee 1).
const TRANSFER: [u8; 20] = [2, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 1];

/// Creation code returning `runtime` (at most 255 bytes).
fn creation_of(runtime: &[u8]) -> Vec<u8> {
    let mut code = vec![
        0x60,
        runtime.len() as u8,
        0x80,
        0x60,
        0x0b,
        0x60,
        0x00,
        0x39,
        0x60,
        0x00,
        0xf3,
    ];
    code.extend_from_slice(runtime);
    code
}

/// Rollup.sol and the Poseidon contracts, compiled once for all the tests.
fn compiled() -> &'static (Compiled, [Compiled; 3]) {
    static COMPILED: OnceLock<(Compiled, [Compiled; 3])> = OnceLock::new();
    COMPILED.get_or_init(|| {
        let solc = Solc::default();
        (
            compile_rollup(&solc).expect("solc"),
            compile_poseidon(&solc).expect("solc"),
        )
    })
}

fn rollup() -> Compiled {
    compiled().0.clone()
}

/// Both contracts with a stand-in verifier: STOP (accepts) or REVERT (rejects).
pub(crate) fn contracts(accepting: bool) -> Contracts {
    let runtime: &[u8] = if accepting {
        &[0x00]
    } else {
        &[0x60, 0x00, 0x60, 0x00, 0xfd]
    };
    Contracts {
        verifier: Compiled {
            creation: creation_of(runtime),
            runtime: runtime.to_vec(),
        },
        rollup: rollup(),
        poseidon: compiled().1.clone(),
    }
}

fn f(x: u64) -> Fr {
    Fr::from(x)
}

/// A rollup at root `root` in a tree of depth 6 (no genesis keys or supply).
fn at(root: u64) -> RollupDeployment {
    RollupDeployment::at(f(root), 6)
}

/// Rollup's creation code with `deployment`'s arguments for a verifier at `verifier`, which
/// also stands for the Poseidon contracts (the constructor only checks that they hold code;
/// exits are tested with the real ones).
pub(crate) fn rollup_creation(
    deployment: &RollupDeployment,
    verifier: revm::primitives::Address,
) -> Vec<u8> {
    let mut creation = rollup().creation;
    creation.extend_from_slice(&deployment.constructor_args(verifier, [verifier; 3]));
    creation
}

/// Public inputs of a final proof: accumulator limbs (unused by the stand-ins), old root,
/// new root, commitment.
pub(crate) fn instances(old: u64, new: u64, commitment: u64) -> Vec<Fr> {
    let mut v: Vec<Fr> = (1..=12).map(f).collect();
    v.extend([f(old), f(new), f(commitment)]);
    v
}

pub(crate) fn reverted_with(r: &Receipt, error: &str) -> bool {
    !r.success && r.output.get(..4) == Some(&keccak256(error.as_bytes())[..4])
}

#[test]
fn rollup_rules() {
    let mut l1 = L1::deploy(&contracts(true), &at(5)).expect("deploy");
    assert_eq!(l1.read("stateRoot()").expect("read"), word(&f(5)));
    // A batch from the current root is accepted: root, number and commitment stored.
    let ok = l1
        .submit_batch(&instances(5, 6, 77), &TRANSFER, &[1, 2, 3])
        .expect("call");
    assert!(ok.success, "{:?}", ok.failure);
    assert_eq!(l1.read("stateRoot()").expect("read"), word(&f(6)));
    assert_eq!(l1.read("batchNumber()").expect("read"), word(&f(1)));
    // Replay: its old root is no longer the state root.
    let replay = l1
        .submit_batch(&instances(5, 6, 77), &TRANSFER, &[1, 2, 3])
        .expect("call");
    assert!(reverted_with(&replay, "WrongOldRoot(uint256,uint256)"));
    // An empty batch (commitment 0) is refused even from the right root.
    let empty = l1
        .submit_batch(&instances(6, 6, 0), &[], &[])
        .expect("call");
    assert!(reverted_with(&empty, "EmptyBatch()"));
    let no_pubdata = l1
        .submit_batch(&instances(6, 7, 1), &[], &[])
        .expect("call");
    assert!(reverted_with(&no_pubdata, "EmptyBatch()"));
    // Pubdata is read: an unknown record type, and more deposit keys than deposits.
    let unknown = submit_batch_calldata_with_keys(&instances(6, 7, 1), &[9; 20], &[], &[]);
    let unknown = l1.chain.call(l1.rollup, unknown).expect("call");
    assert!(reverted_with(&unknown, "UnknownRecord(uint256,uint256)"));
    let extra =
        submit_batch_calldata_with_keys(&instances(6, 7, 1), &TRANSFER, &[(f(1), f(2))], &[]);
    let extra = l1.chain.call(l1.rollup, extra).expect("call");
    assert!(reverted_with(&extra, "ExtraDepositKeys(uint256,uint256)"));
    // A new root that is not a field element.
    let mut calldata = submit_batch_calldata(&instances(6, 7, 1), &TRANSFER, &[]).expect("pubdata");
    let new_root_at = 4 + 13 * 32;
    calldata[new_root_at..new_root_at + 32].copy_from_slice(&[0xff; 32]);
    let wide = l1.chain.call(l1.rollup, calldata).expect("call");
    assert!(reverted_with(&wide, "NotAFieldElement(uint256)"));
    assert_eq!(l1.read("batchNumber()").expect("read"), word(&f(1)));

    // A verifier that rejects: InvalidProof, nothing stored.
    let mut l1 = L1::deploy(&contracts(false), &at(5)).expect("deploy");
    let bad = l1
        .submit_batch(&instances(5, 6, 77), &TRANSFER, &[1, 2, 3])
        .expect("call");
    assert!(reverted_with(&bad, "InvalidProof()"));
    assert_eq!(l1.read("stateRoot()").expect("read"), word(&f(5)));
}

#[test]
fn rollup_needs_a_verifier_with_code() {
    // Deploy Rollup with an address holding no code: the constructor reverts.
    let mut chain = Chain::new(true);
    let creation = rollup_creation(&at(1), revm::primitives::Address::with_last_byte(0x42));
    let receipt = chain.deploy(creation).expect("tx");
    assert!(reverted_with(&receipt, "NoVerifier(address)"));
}

#[test]
fn code_over_eip170_is_refused_unless_the_limit_is_lifted() {
    // 24,577 bytes of runtime: creation code that returns that much zeroed memory.
    let size: u16 = 24_577;
    let [hi, lo] = size.to_be_bytes();
    let creation = vec![0x61, hi, lo, 0x60, 0x00, 0xf3];
    let mut mainnet = Chain::new(true);
    assert!(!mainnet.deploy(creation.clone()).expect("tx").success);
    let mut lifted = Chain::new(false);
    assert!(lifted.deploy(creation).expect("tx").success);
    // And L1::deploy reports which contract failed.
    let mut too_big = contracts(true);
    too_big.verifier.creation = vec![0x61, hi, lo, 0x60, 0x00, 0xf3];
    assert!(matches!(
        L1::deploy(&too_big, &at(1)),
        Err(L1Error::Deploy {
            contract: "verifier",
            ..
        })
    ));
}

/// BN254's scalar field modulus `r` (halo2curves' `Fr::MODULUS`), as a 256-bit integer.
fn modulus() -> revm::primitives::U256 {
    use halo2_base::halo2_proofs::halo2curves::ff::PrimeField;
    let hex = Fr::MODULUS.trim_start_matches("0x");
    revm::primitives::U256::from_str_radix(hex, 16).expect("modulus")
}

/// Every copy of the modulus in the sources and docs (every decimal number of 70-80 digits
/// that starts like r, as a mistyped copy would) is `r` (or `r - 1`, the largest element):
/// Rollup.sol's `FIELD` once held a number 89 bits too large that shared r's first 47 digits.
#[test]
fn every_copy_of_the_field_modulus_is_r() {
    let r = modulus();
    // At run time first, as engine/tests/it/vectors.rs.
    let dir =
        std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into());
    let root = std::path::Path::new(&dir).join("..");
    let mut copies = 0;
    for file in [
        "verifier-contract/contracts/Rollup.sol",
        "docs/protocol.md",
        "engine/src/field.rs",
    ] {
        let text = std::fs::read_to_string(root.join(file)).expect("read");
        for number in text
            .split(|c: char| !c.is_ascii_digit())
            .filter(|n| (70..=80).contains(&n.len()) && n.starts_with("218882428718"))
        {
            let value = revm::primitives::U256::from_str_radix(number, 10).expect("decimal");
            assert!(
                value == r || value + revm::primitives::U256::from(1) == r,
                "{file}: {number} is not the BN254 scalar field modulus {r}"
            );
            copies += 1;
        }
    }
    assert!(copies >= 4, "only {copies} copies found");
    assert!(
        ROLLUP_SOL.contains(&r.to_string()),
        "Rollup.sol lacks FIELD = r"
    );
}

/// A public input the verifier would reduce mod r is refused before the verifier sees it,
/// for every word of `submitBatch` (accumulator limbs, roots, commitment) and the
/// constructor's genesis root: r, r + 1 and 2^256 - 1 are not field elements. With the
/// wrong FIELD constant, `commitment = r` passed both the EmptyBatch and the field checks
/// while the verifier saw 0.
#[test]
fn non_canonical_public_inputs_are_refused() {
    let r = modulus();
    let values = [
        ("r", r),
        ("r + 1", r + revm::primitives::U256::from(1)),
        ("2^256 - 1", revm::primitives::U256::MAX),
    ];
    let names: Vec<String> = (0..12)
        .map(|i| format!("accumulator[{i}]"))
        .chain(["oldRoot", "newRoot", "commitment"].map(String::from))
        .collect();
    let mut l1 = L1::deploy(&contracts(true), &at(5)).expect("deploy");
    for (position, name) in names.iter().enumerate() {
        for (label, value) in values {
            let mut calldata = submit_batch_calldata(&instances(5, 6, 77), &TRANSFER, &[1, 2, 3])
                .expect("pubdata");
            let at = 4 + 32 * position;
            calldata[at..at + 32].copy_from_slice(&value.to_be_bytes::<32>());
            let receipt = l1.chain.call(l1.rollup, calldata).expect("call");
            // The old root is compared with the (canonical) state root.
            let expected = if name == "oldRoot" {
                "WrongOldRoot(uint256,uint256)"
            } else {
                "NotAFieldElement(uint256)"
            };
            assert!(
                reverted_with(&receipt, expected),
                "{name} = {label}: not refused with {expected}: {receipt:?}"
            );
        }
    }
    assert_eq!(l1.read("batchNumber()").expect("read"), word(&f(0)));
    // The constructor's genesis root.
    for (label, value) in values {
        let mut chain = Chain::new(true);
        let verifier = chain.deploy(creation_of(&[0x00])).expect("tx");
        let mut creation = rollup_creation(&at(1), verifier.created.expect("verifier"));
        // The genesis root: the constructor's second word.
        let args = at(1).constructor_args(Default::default(), Default::default());
        let at = creation.len() - args.len() + 32;
        creation[at..at + 32].copy_from_slice(&value.to_be_bytes::<32>());
        let receipt = chain.deploy(creation).expect("tx");
        assert!(
            reverted_with(&receipt, "NotAFieldElement(uint256)"),
            "genesis root = {label}: {receipt:?}"
        );
    }
}

/// A batch that leaves the root unchanged is refused: its calldata could be submitted again
/// and again from L1 history (every accepted transaction changes a nonce or a balance, so a
/// real batch always moves the root).
#[test]
fn a_batch_that_keeps_the_root_is_refused() {
    let mut l1 = L1::deploy(&contracts(true), &at(5)).expect("deploy");
    let same = l1
        .submit_batch(&instances(5, 5, 77), &TRANSFER, &[1, 2, 3])
        .expect("call");
    assert!(reverted_with(&same, "UnchangedRoot()"), "{same:?}");
    assert_eq!(l1.read("batchNumber()").expect("read"), word(&f(0)));
}
