//! Keys protecting personal data. ID numbers are stored encrypted with
//! AES-256-GCM and found by an HMAC-SHA256 blind index; both keys are derived
//! from one master key that lives outside the database (a key file in the data
//! folder, or `LOUPAN_SECRET_KEY` when several instances share a database).

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::{ServiceError, ServiceResult};

/// Stored ciphertexts start with the key version, so keys can be rotated.
const VERSION: &str = "v1";

pub struct Secrets {
    cipher: Aes256Gcm,
    index_key: [u8; 32],
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(..)")
    }
}

fn hmac(key: &[u8], data: &[u8]) -> ServiceResult<[u8; 32]> {
    // HMAC takes keys of any length; the error branch is unreachable in practice.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).map_err(ServiceError::internal)?;
    mac.update(data);
    Ok(mac.finalize().into_bytes().into())
}

impl Secrets {
    pub fn from_master(master: &[u8; 32]) -> ServiceResult<Secrets> {
        let enc = hmac(master, b"loupan personal data encryption v1")?;
        let index_key = hmac(master, b"loupan personal data index v1")?;
        Ok(Secrets { cipher: Aes256Gcm::new(&enc.into()), index_key })
    }

    /// A new random master key.
    pub fn generate_master() -> ServiceResult<[u8; 32]> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| ServiceError::internal(format!("no randomness: {e}")))?;
        Ok(key)
    }

    /// Parses a master key written as 64 hex characters.
    pub fn parse_master(text: &str) -> Option<[u8; 32]> {
        hex::decode(text.trim()).ok()?.try_into().ok()
    }

    pub fn encrypt(&self, plain: &str) -> ServiceResult<String> {
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).map_err(|e| ServiceError::internal(format!("no randomness: {e}")))?;
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), plain.as_bytes())
            .map_err(|_| ServiceError::internal("encryption failed"))?;
        Ok(format!("{VERSION}:{}{}", hex::encode(nonce), hex::encode(sealed)))
    }

    pub fn decrypt(&self, stored: &str) -> ServiceResult<String> {
        let body = stored.strip_prefix("v1:").ok_or_else(|| ServiceError::internal("unknown key version"))?;
        let bytes = hex::decode(body).map_err(|_| ServiceError::internal("corrupt ciphertext"))?;
        if bytes.len() < 12 {
            return Err(ServiceError::internal("corrupt ciphertext"));
        }
        let (nonce, sealed) = bytes.split_at(12);
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), sealed)
            .map_err(|_| ServiceError::internal("ciphertext does not match the key"))?;
        String::from_utf8(plain).map_err(|_| ServiceError::internal("corrupt plaintext"))
    }

    /// A keyed hash of a normalised value, for exact lookup without decrypting.
    pub fn blind_index(&self, normalised: &str) -> ServiceResult<String> {
        Ok(hex::encode(hmac(&self.index_key, normalised.as_bytes())?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encrypts_round_trip_and_indexes_deterministically() {
        let s = Secrets::from_master(&[7u8; 32]).unwrap();
        let a = s.encrypt("11010519491231002X").unwrap();
        let b = s.encrypt("11010519491231002X").unwrap();
        assert_ne!(a, b, "a fresh nonce each time");
        assert!(!a.contains("11010519491231002X"));
        assert_eq!(s.decrypt(&a).unwrap(), "11010519491231002X");
        assert_eq!(s.blind_index("x").unwrap(), s.blind_index("x").unwrap());
        let other = Secrets::from_master(&[8u8; 32]).unwrap();
        assert!(other.decrypt(&a).is_err(), "another key cannot read it");
        assert_ne!(other.blind_index("x").unwrap(), s.blind_index("x").unwrap());
    }
}
