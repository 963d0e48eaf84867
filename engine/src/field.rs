//! Field elements: the BN254 scalar field `Fr` (the base field of Baby Jubjub and the native
//! field of the halo2 circuits), with canonical text and byte encodings.
//!
//! Text form: `0x` followed by 64 lower-case hex digits, big-endian (decimal strings are
//! accepted on input, as the circom tool chain writes them). Byte form: 32 bytes little-endian.
//! Parsing never reduces: a value `>= p` is an error, so every field element has exactly one
//! encoding.

use ark_ff::{BigInt, PrimeField};
use serde::{Deserialize, Deserializer, Serializer};

/// The BN254 scalar field, `p = 21888242871839275222246405745257275088548364400416034343698204186575808495617`.
pub type Fr = ark_bn254::Fr;

/// Why a string or byte string is not a canonical field element.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldParseError {
    /// Not hex (with `0x`) or decimal digits.
    #[error("not a number: {0:?} (expected 0x-prefixed hex or decimal)")]
    NotANumber(String),
    /// The value does not fit 256 bits.
    #[error("number too large: {0:?}")]
    TooLarge(String),
    /// The value is at least the field modulus.
    #[error("value {0:?} is not below the field modulus")]
    NotCanonical(String),
}

/// Parses a 256-bit unsigned integer from `0x` hex or decimal text into little-endian limbs.
pub fn parse_u256(text: &str) -> Result<[u64; 4], FieldParseError> {
    let bad = || FieldParseError::NotANumber(text.to_string());
    let too_large = || FieldParseError::TooLarge(text.to_string());
    let mut limbs = [0u64; 4];
    if let Some(digits) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        if digits.is_empty() {
            return Err(bad());
        }
        let digits = digits.trim_start_matches('0');
        if digits.len() > 64 {
            return Err(too_large());
        }
        for (i, c) in digits.bytes().rev().enumerate() {
            let v = (c as char).to_digit(16).ok_or_else(bad)? as u64;
            limbs[i / 16] |= v << ((i % 16) * 4);
        }
    } else {
        if text.is_empty() {
            return Err(bad());
        }
        for c in text.bytes() {
            let d = (c as char).to_digit(10).ok_or_else(bad)? as u128;
            let mut carry = d;
            for limb in limbs.iter_mut() {
                let v = (*limb as u128) * 10 + carry;
                *limb = v as u64;
                carry = v >> 64;
            }
            if carry != 0 {
                return Err(too_large());
            }
        }
    }
    Ok(limbs)
}

/// Parses a canonical element of any prime field with a 4-limb modulus.
pub fn parse_field<F: PrimeField<BigInt = BigInt<4>>>(text: &str) -> Result<F, FieldParseError> {
    let limbs = parse_u256(text)?;
    F::from_bigint(BigInt::new(limbs))
        .ok_or_else(|| FieldParseError::NotCanonical(text.to_string()))
}

/// `0x`-prefixed, 64-digit big-endian hex of a field element.
pub fn to_hex<F: PrimeField<BigInt = BigInt<4>>>(value: &F) -> String {
    let limbs = value.into_bigint().0;
    format!(
        "0x{:016x}{:016x}{:016x}{:016x}",
        limbs[3], limbs[2], limbs[1], limbs[0]
    )
}

/// Parses a canonical BN254 scalar field element.
pub fn fr_from_str(text: &str) -> Result<Fr, FieldParseError> {
    parse_field(text)
}

/// Little-endian 32-byte encoding.
pub fn to_bytes_le<F: PrimeField<BigInt = BigInt<4>>>(value: &F) -> [u8; 32] {
    to_bytes_le_limbs(value.into_bigint().0)
}

/// Little-endian 32-byte encoding of 4 little-endian limbs.
pub fn to_bytes_le_limbs(limbs: [u64; 4]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, limb) in limbs.iter().enumerate() {
        out[i * 8..i * 8 + 8].copy_from_slice(&limb.to_le_bytes());
    }
    out
}

/// Little-endian limbs of a 32-byte string.
pub fn limbs_from_bytes_le(bytes: &[u8; 32]) -> [u64; 4] {
    let mut limbs = [0u64; 4];
    for (i, limb) in limbs.iter_mut().enumerate() {
        let mut word = [0u8; 8];
        word.copy_from_slice(&bytes[i * 8..i * 8 + 8]);
        *limb = u64::from_le_bytes(word);
    }
    limbs
}

/// Decodes 32 little-endian bytes; `None` when the value is not below the modulus.
pub fn from_bytes_le<F: PrimeField<BigInt = BigInt<4>>>(bytes: &[u8; 32]) -> Option<F> {
    F::from_bigint(BigInt::new(limbs_from_bytes_le(bytes)))
}

/// Serde for a field element: hex text in human-readable formats, 32 LE bytes otherwise.
pub mod serde_field {
    use super::*;

    /// Serializes one field element.
    pub fn serialize<F, S>(value: &F, serializer: S) -> Result<S::Ok, S::Error>
    where
        F: PrimeField<BigInt = BigInt<4>>,
        S: Serializer,
    {
        if serializer.is_human_readable() {
            serializer.serialize_str(&to_hex(value))
        } else {
            serde::Serialize::serialize(&to_bytes_le(value), serializer)
        }
    }

    /// Deserializes one canonical field element.
    pub fn deserialize<'de, F, D>(deserializer: D) -> Result<F, D::Error>
    where
        F: PrimeField<BigInt = BigInt<4>>,
        D: Deserializer<'de>,
    {
        if deserializer.is_human_readable() {
            let text = String::deserialize(deserializer)?;
            parse_field(&text).map_err(serde::de::Error::custom)
        } else {
            let bytes = <[u8; 32]>::deserialize(deserializer)?;
            from_bytes_le(&bytes)
                .ok_or_else(|| serde::de::Error::custom("field element is not below the modulus"))
        }
    }
}

/// Serde for a vector of BN254 field elements (see [`serde_field`]).
pub mod serde_field_vec {
    use super::*;
    use serde::ser::SerializeSeq;

    #[derive(Deserialize)]
    struct Wrapped(#[serde(with = "super::serde_field")] Fr);

    /// Serializes a slice of field elements.
    pub fn serialize<S: Serializer>(values: &[Fr], serializer: S) -> Result<S::Ok, S::Error> {
        struct One<'a>(&'a Fr);
        impl serde::Serialize for One<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                super::serde_field::serialize(self.0, s)
            }
        }
        let mut seq = serializer.serialize_seq(Some(values.len()))?;
        for v in values {
            seq.serialize_element(&One(v))?;
        }
        seq.end()
    }

    /// Deserializes a vector of canonical field elements.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Fr>, D::Error> {
        let items = Vec::<Wrapped>::deserialize(deserializer)?;
        Ok(items.into_iter().map(|w| w.0).collect())
    }
}

/// Serde for byte strings: `0x` hex in human-readable formats, raw bytes otherwise.
pub mod serde_hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serializes bytes.
    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&format!("0x{}", hex::encode(bytes)))
        } else {
            s.serialize_bytes(bytes)
        }
    }

    /// Deserializes bytes.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        if d.is_human_readable() {
            let text = String::deserialize(d)?;
            let digits = text
                .strip_prefix("0x")
                .ok_or_else(|| serde::de::Error::custom("hex bytes must start with 0x"))?;
            hex::decode(digits).map_err(serde::de::Error::custom)
        } else {
            Ok(serde_bytes_compat::deserialize(d)?)
        }
    }

    mod serde_bytes_compat {
        use serde::Deserializer;

        struct BytesVisitor;
        impl<'de> serde::de::Visitor<'de> for BytesVisitor {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
                Ok(v.to_vec())
            }
            fn visit_borrowed_bytes<E: serde::de::Error>(self, v: &'de [u8]) -> Result<Vec<u8>, E> {
                Ok(v.to_vec())
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
            d.deserialize_bytes(BytesVisitor)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ff::{Field, One, Zero};

    #[test]
    fn hex_and_decimal_round_trip() {
        let minus_one = -Fr::one();
        let hex = to_hex(&minus_one);
        assert_eq!(
            hex,
            "0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000000"
        );
        assert_eq!(fr_from_str(&hex), Ok(minus_one));
        assert_eq!(
            fr_from_str(
                "21888242871839275222246405745257275088548364400416034343698204186575808495616"
            ),
            Ok(minus_one)
        );
        assert_eq!(fr_from_str("0x0"), Ok(Fr::zero()));
        assert_eq!(fr_from_str("7"), Ok(Fr::from(7u64)));
        let x = Fr::from(123456789u64).inverse().expect("nonzero");
        assert_eq!(from_bytes_le::<Fr>(&to_bytes_le(&x)), Some(x));
    }

    #[test]
    fn rejects_non_canonical_and_garbage() {
        let p = "21888242871839275222246405745257275088548364400416034343698204186575808495617";
        assert!(matches!(
            fr_from_str(p),
            Err(FieldParseError::NotCanonical(_))
        ));
        assert!(matches!(
            fr_from_str("0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001"),
            Err(FieldParseError::NotCanonical(_))
        ));
        assert!(matches!(
            fr_from_str("0x1g"),
            Err(FieldParseError::NotANumber(_))
        ));
        assert!(matches!(
            fr_from_str(""),
            Err(FieldParseError::NotANumber(_))
        ));
        assert!(matches!(
            fr_from_str("0x"),
            Err(FieldParseError::NotANumber(_))
        ));
        assert!(matches!(
            fr_from_str("-1"),
            Err(FieldParseError::NotANumber(_))
        ));
        assert!(matches!(
            fr_from_str(&format!("0x1{}", "0".repeat(64))),
            Err(FieldParseError::TooLarge(_))
        ));
        assert!(matches!(
            fr_from_str(&"9".repeat(80)),
            Err(FieldParseError::TooLarge(_))
        ));
        assert_eq!(from_bytes_le::<Fr>(&[0xff; 32]), None);
    }
}
