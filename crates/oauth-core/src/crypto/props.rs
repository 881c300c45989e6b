//! The host's props: encrypted per grant, readable only with a live credential.
//!
//! A grant's props are sealed with AES-256-GCM under a random per-grant *data key*. The
//! data key is stored only wrapped, once per code and per token, under
//! `HMAC(props-wrap subkey, credential)`. Opening props therefore needs both the server
//! secret and a live credential: a stolen database alone, or a stolen token alone, reveals
//! nothing. Associated data binds each ciphertext to its grant and client (props) or to its
//! grant and credential kind (wrapped key), so records cannot be swapped.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::envelope::{open, seal, EnvelopeError, Purpose};
use super::keyring::{hmac, KeyId, Keyring, SubkeyPurpose};
use super::token::TokenKind;
use crate::random::{random_array, SecureRandom};

/// What `Debug` shows instead of props.
pub(crate) const REDACTED: &str = "<redacted>";

/// Data the host attaches to a grant and gets back with every access (for example an
/// upstream token). Stored encrypted; never logged.
pub type Props = serde_json::Value;

/// A grant's random data key. Lives only in memory.
pub(crate) struct PropsKey([u8; 32]);

/// A grant's props, sealed under its data key.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SealedProps(pub Vec<u8>);

/// A grant's data key, wrapped for one credential.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WrappedPropsKey(pub Vec<u8>);

impl fmt::Debug for SealedProps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealedProps({} bytes)", self.0.len())
    }
}

impl fmt::Debug for WrappedPropsKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WrappedPropsKey({} bytes)", self.0.len())
    }
}

/// Why props could not be sealed or opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PropsError {
    /// The envelope did not open (wrong credential, wrong record, tampering, retired key).
    #[error("props envelope: {0}")]
    Envelope(#[from] EnvelopeError),
    /// The props are not valid JSON after decryption, or could not be serialized.
    #[error("props encoding: {0}")]
    Encoding(#[from] serde_json::Error),
    /// The random source failed.
    #[error("random source failed")]
    Random,
}

/// The fixed id written into data-key envelopes: the data key is not a keyring key.
fn data_key_id() -> KeyId {
    // "dk" is a valid KeyId by construction.
    KeyId::new("dk").unwrap_or_else(|_| unreachable!("\"dk\" is a valid key id"))
}

fn props_context(grant_id: &str, client_id: &str) -> Vec<u8> {
    [
        b"props\0".as_slice(),
        grant_id.as_bytes(),
        b"\0",
        client_id.as_bytes(),
    ]
    .concat()
}

fn wrap_context(kind: TokenKind, grant_id: &str) -> Vec<u8> {
    [
        b"props-key\0".as_slice(),
        kind.prefix().as_bytes(),
        b"\0",
        grant_id.as_bytes(),
    ]
    .concat()
}

fn wrap_key(subkey: &[u8; 32], kind: TokenKind, credential: &str) -> [u8; 32] {
    hmac(
        subkey,
        &[kind.prefix().as_bytes(), b"\0", credential.as_bytes()],
    )
}

/// Draws a new per-grant data key.
pub(crate) fn new_props_key(random: &dyn SecureRandom) -> Result<PropsKey, PropsError> {
    random_array(random)
        .map(PropsKey)
        .map_err(|_| PropsError::Random)
}

impl PropsKey {
    /// Seals `props` for the grant `grant_id` of client `client_id`.
    pub(crate) fn seal_props(
        &self,
        props: &Props,
        grant_id: &str,
        client_id: &str,
        random: &dyn SecureRandom,
    ) -> Result<SealedProps, PropsError> {
        let json = serde_json::to_vec(props)?;
        let sealed = seal(
            &self.0,
            &data_key_id(),
            Purpose::Props,
            &props_context(grant_id, client_id),
            &json,
            random,
        )?;
        Ok(SealedProps(sealed))
    }

    /// Wraps this data key for one credential, under the primary key of `keyring`.
    pub(crate) fn wrap(
        &self,
        keyring: &Keyring,
        kind: TokenKind,
        credential: &str,
        grant_id: &str,
        random: &dyn SecureRandom,
    ) -> Result<WrappedPropsKey, PropsError> {
        let primary = keyring.primary();
        let key = wrap_key(primary.subkey(SubkeyPurpose::PropsWrap), kind, credential);
        let sealed = seal(
            &key,
            &primary.id,
            Purpose::PropsKey,
            &wrap_context(kind, grant_id),
            &self.0,
            random,
        )?;
        Ok(WrappedPropsKey(sealed))
    }
}

impl WrappedPropsKey {
    /// Unwraps the data key with the credential it was wrapped for.
    pub(crate) fn unwrap(
        &self,
        keyring: &Keyring,
        kind: TokenKind,
        credential: &str,
        grant_id: &str,
    ) -> Result<PropsKey, PropsError> {
        let key_bytes = open(
            &self.0,
            Purpose::PropsKey,
            &wrap_context(kind, grant_id),
            |kid| {
                keyring
                    .by_id(kid)
                    .map(|k| wrap_key(k.subkey(SubkeyPurpose::PropsWrap), kind, credential))
            },
        )?;
        let key: [u8; 32] = key_bytes
            .try_into()
            .map_err(|_| PropsError::Envelope(EnvelopeError::Malformed))?;
        Ok(PropsKey(key))
    }
}

impl SealedProps {
    /// Opens the props with the grant's data key.
    pub(crate) fn open(
        &self,
        key: &PropsKey,
        grant_id: &str,
        client_id: &str,
    ) -> Result<Props, PropsError> {
        let json = open(
            &self.0,
            Purpose::Props,
            &props_context(grant_id, client_id),
            |_| Some(key.0),
        )?;
        Ok(serde_json::from_slice(&json)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::OsRandom;

    fn ring() -> Keyring {
        Keyring::from_secret(KeyId::new("k1").unwrap(), &[5u8; 32]).unwrap()
    }

    #[test]
    fn props_open_with_the_credential_they_were_wrapped_for() {
        let ring = ring();
        let key = new_props_key(&OsRandom).unwrap();
        let props = serde_json::json!({"upstream": "secret-value"});
        let sealed = key.seal_props(&props, "g1", "c1", &OsRandom).unwrap();
        let wrapped = key
            .wrap(&ring, TokenKind::AccessToken, "oa2at_tok", "g1", &OsRandom)
            .unwrap();

        let unwrapped = wrapped
            .unwrap(&ring, TokenKind::AccessToken, "oa2at_tok", "g1")
            .unwrap();
        assert_eq!(sealed.open(&unwrapped, "g1", "c1").unwrap(), props);
    }

    #[test]
    fn props_do_not_open_with_another_credential_grant_or_client() {
        let ring = ring();
        let key = new_props_key(&OsRandom).unwrap();
        let sealed = key
            .seal_props(&serde_json::json!(1), "g1", "c1", &OsRandom)
            .unwrap();
        let wrapped = key
            .wrap(&ring, TokenKind::AccessToken, "oa2at_tok", "g1", &OsRandom)
            .unwrap();

        assert!(wrapped
            .unwrap(&ring, TokenKind::AccessToken, "oa2at_other", "g1")
            .is_err());
        assert!(wrapped
            .unwrap(&ring, TokenKind::RefreshToken, "oa2at_tok", "g1")
            .is_err());
        assert!(wrapped
            .unwrap(&ring, TokenKind::AccessToken, "oa2at_tok", "g2")
            .is_err());
        assert!(sealed.open(&key, "g1", "c2").is_err());
        assert!(sealed.open(&key, "g2", "c1").is_err());
    }

    #[test]
    fn props_do_not_open_without_the_server_secret() {
        let key = new_props_key(&OsRandom).unwrap();
        let wrapped = key
            .wrap(
                &ring(),
                TokenKind::AccessToken,
                "oa2at_tok",
                "g1",
                &OsRandom,
            )
            .unwrap();
        let other = Keyring::from_secret(KeyId::new("k1").unwrap(), &[6u8; 32]).unwrap();
        assert!(wrapped
            .unwrap(&other, TokenKind::AccessToken, "oa2at_tok", "g1")
            .is_err());
    }

    #[test]
    fn props_wrapped_under_a_previous_key_still_open_after_rotation() {
        let old = ring();
        let key = new_props_key(&OsRandom).unwrap();
        let wrapped = key
            .wrap(&old, TokenKind::RefreshToken, "oa2rt_t", "g", &OsRandom)
            .unwrap();
        let rotated = Keyring::from_secret(KeyId::new("k2").unwrap(), &[7u8; 32])
            .unwrap()
            .with_previous(KeyId::new("k1").unwrap(), &[5u8; 32])
            .unwrap();
        assert!(wrapped
            .unwrap(&rotated, TokenKind::RefreshToken, "oa2rt_t", "g")
            .is_ok());
    }
}
