//! Keys protecting personal data. ID numbers are stored encrypted with
//! AES-256-GCM and found by an HMAC-SHA256 blind index; both keys are derived
//! from one master key that lives outside the database (a key file in the data
//! folder, or `LOUPAN_SECRET_KEY` when several instances share a database).

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};
use loupan_domain::ids::CustomerId;
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

    /// A secret for a link or a path (`unsubscribe:<id>`, `sms-replies`): 128
    /// bits of a keyed hash of `purpose`, so nothing is stored and nobody
    /// without the key can make one.
    pub fn token(&self, purpose: &str) -> ServiceResult<String> {
        let mut token = self.blind_index(purpose)?;
        token.truncate(32);
        Ok(token)
    }

    /// Whether `given` is the token of `purpose`, compared in constant time.
    pub fn token_matches(&self, purpose: &str, given: &str) -> ServiceResult<bool> {
        let expected = self.token(purpose)?;
        Ok(expected.len() == given.len()
            && expected.bytes().zip(given.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0)
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

/// What a key rotation re-encrypted.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Rotated {
    pub id_numbers: usize,
    pub webhook_secrets: usize,
}

/// Re-encrypts every ID number (with a new blind index) and webhook secret
/// from the running key to `new`, in one transaction: afterwards the data
/// opens with `new` only, and before the commit nothing changed. The caller
/// keeps the new key safe before calling and switches to it after.
pub async fn rotate(services: &crate::Services, new: &Secrets) -> ServiceResult<Rotated> {
    use loupan_store::{customers, webhooks};
    let old = &services.secrets;
    let tx = services.store.begin_write().await?;
    let mut rotated = Rotated { id_numbers: 0, webhook_secrets: 0 };
    let mut after: Option<CustomerId> = None;
    loop {
        let page = customers::id_ciphers_after(&tx, after.as_ref(), 1000).await?;
        let Some((last, _)) = page.last().cloned() else { break };
        for (id, cipher) in page {
            let number = old.decrypt(&cipher)?;
            customers::set_id_cipher(&tx, &id, &new.encrypt(&number)?, &new.blind_index(&number)?).await?;
            rotated.id_numbers += 1;
        }
        after = Some(last);
    }
    for subscription in webhooks::list_subscriptions(&tx).await? {
        let secret = old.decrypt(&subscription.secret_encrypted)?;
        webhooks::set_secret(&tx, &subscription.id, &new.encrypt(&secret)?).await?;
        rotated.webhook_secrets += 1;
    }
    crate::platform::audit::record(
        &tx,
        &crate::Actor::system("keys"),
        crate::platform::audit::Change {
            action: "personal_data.rotate_key",
            record_type: "personal_data_key",
            record_id: "master",
            before: None,
            after: crate::platform::audit::snapshot(&rotated)?,
        },
    )
    .await?;
    tx.commit().await.map_err(ServiceError::internal)?;
    Ok(rotated)
}

/// Whether this key opens the stored personal data (checked on one ID number
/// or webhook secret; true when there is none yet).
pub async fn opens_stored_data(services: &crate::Services, key: &Secrets) -> ServiceResult<bool> {
    let conn = services.store.conn();
    if let Some((_, cipher)) = loupan_store::customers::id_ciphers_after(conn, None, 1).await?.into_iter().next() {
        return Ok(key.decrypt(&cipher).is_ok());
    }
    if let Some(s) = loupan_store::webhooks::list_subscriptions(conn).await?.into_iter().next() {
        return Ok(key.decrypt(&s.secret_encrypted).is_ok());
    }
    Ok(true)
}
