//! EdDSA-Poseidon over Baby Jubjub, bit-compatible with `@zk-kit/eddsa-poseidon` (BLAKE-512
//! key expansion) and circomlib's `verifyPoseidon`.
//!
//! - Key derivation: `h = BLAKE-512(private key)`; `s = prune(h[0..32])` (clear the low 3
//!   bits and bit 255, set bit 254); public key `A = (s >> 3) * Base8`.
//! - Signing `m` (a field element): `r = BLAKE-512(h[32..64] || le32(m)) mod l`,
//!   `R8 = r * Base8`, `hm = Poseidon(R8.x, R8.y, A.x, A.y, m)`, `S = r + hm * s mod l`.
//! - Verification: `R8` and `A` on the curve, `S < l`, and `S * Base8 == R8 + (8 * hm) * A`,
//!   where `8 * hm` multiplies as an integer (so a key's small-order component is cleared,
//!   exactly as zk-kit does).

use ark_ff::{BigInt, PrimeField};
use serde::{Deserialize, Serialize};

use ark_ec::AffineRepr;

use crate::babyjubjub::{mul_base8, mul_base8_projective, Point, Scalar};
use crate::blake512::blake512;
use crate::field::{self, Fr};
use crate::poseidon;

/// A private key: 32 bytes, as `@zk-kit/eddsa-poseidon` takes them.
#[derive(Clone, PartialEq, Eq)]
pub struct PrivateKey([u8; 32]);

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrivateKey(..)")
    }
}

/// A public key: a Baby Jubjub point in circomlib coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PublicKey(pub Point);

/// A signature `(R8, S)`. `S` is a canonical scalar (`< l`) by construction: parsing rejects
/// larger values instead of reducing them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    /// The nonce point `R8 = r * Base8`.
    pub r8: Point,
    /// The response `S`.
    #[serde(with = "field::serde_field")]
    pub s: Scalar,
}

/// Why a signature does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// `R8` is not on Baby Jubjub.
    #[error("signature point R8 is not on the curve")]
    R8NotOnCurve,
    /// The public key is not on Baby Jubjub.
    #[error("public key is not on the curve")]
    KeyNotOnCurve,
    /// The verification equation does not hold.
    #[error("signature does not verify")]
    Mismatch,
}

fn prune(bytes: &[u8]) -> [u8; 32] {
    let mut s = [0u8; 32];
    s.copy_from_slice(&bytes[..32]);
    s[0] &= 0xf8;
    s[31] &= 0x7f;
    s[31] |= 0x40;
    s
}

fn shift_right_3(limbs: [u64; 4]) -> [u64; 4] {
    let mut out = [0u64; 4];
    for i in 0..4 {
        out[i] = limbs[i] >> 3;
        if i + 1 < 4 {
            out[i] |= limbs[i + 1] << 61;
        }
    }
    out
}

impl PrivateKey {
    /// Wraps 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0
    }

    /// zk-kit's `deriveSecretScalar`: `(prune(h[0..32]) >> 3) mod l`.
    pub fn secret_scalar(&self) -> Scalar {
        let h = blake512(&self.0);
        let limbs = shift_right_3(field::limbs_from_bytes_le(&prune(&h[..32])));
        Scalar::from_bigint(BigInt::new(limbs))
            .unwrap_or_else(|| Scalar::from_le_bytes_mod_order(&field::to_bytes_le_limbs(limbs)))
    }

    /// zk-kit's `derivePublicKey`.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(mul_base8(&self.secret_scalar().into_bigint().0))
    }

    /// zk-kit's `signMessage`: deterministic, the same bytes as zk-kit produces.
    pub fn sign(&self, message: Fr) -> Signature {
        let h = blake512(&self.0);
        let s_bytes = prune(&h[..32]);
        let s_limbs = field::limbs_from_bytes_le(&s_bytes);
        let a = mul_base8(&shift_right_3(s_limbs));
        let mut nonce_input = [0u8; 64];
        nonce_input[..32].copy_from_slice(&h[32..]);
        nonce_input[32..].copy_from_slice(&field::to_bytes_le(&message));
        let r = Scalar::from_le_bytes_mod_order(&blake512(&nonce_input));
        let r8 = mul_base8(&r.into_bigint().0);
        let hm = challenge(&r8, &PublicKey(a), message);
        let hm_scalar = Scalar::from_le_bytes_mod_order(&field::to_bytes_le(&hm));
        let s = r + hm_scalar * Scalar::from_le_bytes_mod_order(&s_bytes);
        Signature { r8, s }
    }
}

/// `hm = Poseidon(R8.x, R8.y, A.x, A.y, m)`.
pub fn challenge(r8: &Point, key: &PublicKey, message: Fr) -> Fr {
    poseidon::hash(&[r8.x, r8.y, key.0.x, key.0.y, message])
}

impl PublicKey {
    /// Verifies `signature` on `message` exactly as zk-kit's `verifySignature`.
    pub fn verify(&self, message: Fr, signature: &Signature) -> Result<(), SignatureError> {
        if !signature.r8.is_on_curve() {
            return Err(SignatureError::R8NotOnCurve);
        }
        if !self.0.is_on_curve() {
            return Err(SignatureError::KeyNotOnCurve);
        }
        let hm = challenge(&signature.r8, self, message).into_bigint().0;
        // 8 * hm as a 5-limb integer: no reduction modulo l.
        let eight_hm = [
            hm[0] << 3,
            (hm[1] << 3) | (hm[0] >> 61),
            (hm[2] << 3) | (hm[1] >> 61),
            (hm[3] << 3) | (hm[2] >> 61),
            hm[3] >> 61,
        ];
        // Compared in projective coordinates: no field inversion on the way.
        let key = self.0.to_ark().ok_or(SignatureError::KeyNotOnCurve)?;
        let r8 = signature.r8.to_ark().ok_or(SignatureError::R8NotOnCurve)?;
        let left = mul_base8_projective(&signature.s.into_bigint().0);
        let right = key.mul_bigint(eight_hm) + r8;
        if left == right {
            Ok(())
        } else {
            Err(SignatureError::Mismatch)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_then_verify_and_tamper() {
        let key = PrivateKey::from_bytes([7u8; 32]);
        let pk = key.public_key();
        let msg = Fr::from(42u64);
        let sig = key.sign(msg);
        assert_eq!(pk.verify(msg, &sig), Ok(()));
        assert_eq!(
            pk.verify(msg + Fr::from(1u64), &sig),
            Err(SignatureError::Mismatch)
        );
        let other = PrivateKey::from_bytes([8u8; 32]).public_key();
        assert_eq!(other.verify(msg, &sig), Err(SignatureError::Mismatch));
    }
}
