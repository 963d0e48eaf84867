//! Conversions between the engine's field elements (arkworks) and the circuits' (halo2curves).
//! Both are the BN254 scalar field; the conversion goes through the canonical little-endian
//! bytes, so it is exact in both directions.

use halo2_base::halo2_proofs::halo2curves::ff::{Field, PrimeField};

use crate::Fr;

/// The engine's element as a circuit element.
pub fn to_circuit(value: &zkroll_engine::Fr) -> Fr {
    let bytes = zkroll_engine::field::to_bytes_le(value);
    // Canonical bytes of the same modulus always decode.
    Option::from(Fr::from_repr(bytes)).unwrap_or_default()
}

/// A circuit element as the engine's element.
pub fn to_engine(value: &Fr) -> zkroll_engine::Fr {
    zkroll_engine::field::from_bytes_le(&value.to_repr()).unwrap_or_default()
}

/// `2^bits` in the circuit field.
pub fn two_pow(bits: u32) -> Fr {
    Fr::from(2u64).pow_vartime([u64::from(bits)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_at_the_edges() {
        let minus_one = -zkroll_engine::Fr::from(1u64);
        for v in [
            zkroll_engine::Fr::from(0u64),
            zkroll_engine::Fr::from(1u64),
            minus_one,
        ] {
            assert_eq!(to_engine(&to_circuit(&v)), v);
        }
        assert_eq!(to_circuit(&minus_one), -Fr::from(1u64));
        assert_eq!(
            to_circuit(&zkroll_engine::Fr::from(12345u64)),
            Fr::from(12345u64)
        );
    }
}
