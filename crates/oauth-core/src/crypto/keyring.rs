//! The host's server secrets and the subkeys derived from them.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The smallest server secret accepted, in bytes (256 bits).
pub const MIN_SECRET_LEN: usize = 32;

/// Identifies one server secret in a [`Keyring`]; recorded in every envelope and digest
/// so that older keys keep verifying after rotation.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct KeyId(String);

impl KeyId {
    /// A key id: 1 to 64 visible ASCII characters (it is written into envelopes).
    pub fn new(id: impl Into<String>) -> Result<Self, KeyError> {
        let id = id.into();
        if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(KeyError::InvalidKeyId);
        }
        Ok(KeyId(id))
    }

    /// The id as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a keyring could not be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// A server secret shorter than 256 bits was supplied.
    #[error("server secrets must be at least {MIN_SECRET_LEN} bytes")]
    SecretTooShort,
    /// The key id is empty, too long or not visible ASCII.
    #[error("key ids are 1 to 64 visible ASCII characters")]
    InvalidKeyId,
    /// Two keys share one id.
    #[error("duplicate key id")]
    DuplicateKeyId,
}

/// What a derived subkey is for. Each purpose is a separate HMAC label, so a key for one
/// purpose never serves another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SubkeyPurpose {
    /// Keyed hashes of tokens and client secrets (the store's lookup keys).
    TokenHash,
    /// Wrapping of per-grant props data keys (combined with the token).
    PropsWrap,
    /// Sealing of pending-authorization tickets.
    Ticket,
    /// Sealing of a rotation's successor for the refresh grace (combined with the token).
    RefreshGrace,
}

impl SubkeyPurpose {
    fn label(self) -> &'static [u8] {
        match self {
            SubkeyPurpose::TokenHash => b"oauth21-core/v1/token-hash",
            SubkeyPurpose::PropsWrap => b"oauth21-core/v1/props-wrap",
            SubkeyPurpose::Ticket => b"oauth21-core/v1/ticket",
            SubkeyPurpose::RefreshGrace => b"oauth21-core/v1/refresh-grace",
        }
    }
}

/// One server secret with its derived subkeys.
#[derive(Clone)]
pub(crate) struct ServerKey {
    pub(crate) id: KeyId,
    token_hash: [u8; 32],
    props_wrap: [u8; 32],
    ticket: [u8; 32],
    refresh_grace: [u8; 32],
}

impl ServerKey {
    fn derive(id: KeyId, secret: &[u8]) -> Result<Self, KeyError> {
        if secret.len() < MIN_SECRET_LEN {
            return Err(KeyError::SecretTooShort);
        }
        Ok(ServerKey {
            token_hash: hmac(secret, &[SubkeyPurpose::TokenHash.label()]),
            props_wrap: hmac(secret, &[SubkeyPurpose::PropsWrap.label()]),
            ticket: hmac(secret, &[SubkeyPurpose::Ticket.label()]),
            refresh_grace: hmac(secret, &[SubkeyPurpose::RefreshGrace.label()]),
            id,
        })
    }

    pub(crate) fn subkey(&self, purpose: SubkeyPurpose) -> &[u8; 32] {
        match purpose {
            SubkeyPurpose::TokenHash => &self.token_hash,
            SubkeyPurpose::PropsWrap => &self.props_wrap,
            SubkeyPurpose::Ticket => &self.ticket,
            SubkeyPurpose::RefreshGrace => &self.refresh_grace,
        }
    }
}

/// The server's secrets, supplied by the host.
///
/// The first key is the *primary*: it hashes new tokens and seals new envelopes. The
/// others are *previous* keys: they still verify and decrypt what they produced until the
/// host removes them. Subkeys for each purpose are derived with HMAC-SHA256 under a
/// domain-separation label, so the raw secrets are used for nothing else.
///
/// ```
/// use oauth_core::{KeyId, Keyring};
/// let secret = [7u8; 32]; // in a real host: from the environment or a key file
/// let keyring = Keyring::from_secret(KeyId::new("2026-11")?, &secret)?;
/// # Ok::<(), oauth_core::KeyError>(())
/// ```
#[derive(Clone)]
pub struct Keyring {
    keys: Vec<ServerKey>,
}

impl Keyring {
    /// A keyring with one primary secret of at least 32 bytes.
    pub fn from_secret(id: KeyId, secret: &[u8]) -> Result<Self, KeyError> {
        Ok(Keyring {
            keys: vec![ServerKey::derive(id, secret)?],
        })
    }

    /// Adds an older secret that still verifies and decrypts but produces nothing new.
    pub fn with_previous(mut self, id: KeyId, secret: &[u8]) -> Result<Self, KeyError> {
        if self.keys.iter().any(|k| k.id == id) {
            return Err(KeyError::DuplicateKeyId);
        }
        self.keys.push(ServerKey::derive(id, secret)?);
        Ok(self)
    }

    /// The id of the primary key.
    #[must_use]
    pub fn primary_id(&self) -> &KeyId {
        &self.primary().id
    }

    pub(crate) fn primary(&self) -> &ServerKey {
        // The constructor guarantees at least one key; `keys` is never emptied.
        #[allow(clippy::indexing_slicing, reason = "a Keyring always holds one key")]
        &self.keys[0]
    }

    /// Every key, primary first: the order in which lookups try them.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &ServerKey> {
        self.keys.iter()
    }

    pub(crate) fn by_id(&self, id: &KeyId) -> Option<&ServerKey> {
        self.keys.iter().find(|k| &k.id == id)
    }

    /// How many keys the ring holds.
    #[must_use]
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Always false: a keyring holds at least one key.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        false
    }
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field(
                "key_ids",
                &self.keys.iter().map(|k| k.id.as_str()).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

/// HMAC-SHA256 of the concatenated `parts` under `key`.
pub(crate) fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    let mut mac = match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable_hmac_key(),
    };
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

#[cold]
fn unreachable_hmac_key() -> ! {
    unreachable!("HMAC-SHA256 accepts keys of every length")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(b: u8) -> [u8; 32] {
        [b; 32]
    }

    #[test]
    fn keyring_refuses_secrets_shorter_than_256_bits() {
        let id = KeyId::new("k").unwrap();
        assert_eq!(
            Keyring::from_secret(id, &[1u8; 31]).unwrap_err(),
            KeyError::SecretTooShort
        );
    }

    #[test]
    fn subkeys_are_separated_by_purpose() {
        let key = ServerKey::derive(KeyId::new("k").unwrap(), &secret(1)).unwrap();
        assert_ne!(
            key.subkey(SubkeyPurpose::TokenHash),
            key.subkey(SubkeyPurpose::Ticket)
        );
        assert_ne!(
            key.subkey(SubkeyPurpose::TokenHash),
            key.subkey(SubkeyPurpose::PropsWrap)
        );
        assert_ne!(
            key.subkey(SubkeyPurpose::PropsWrap),
            key.subkey(SubkeyPurpose::Ticket)
        );
    }

    #[test]
    fn subkey_derivation_known_answer() {
        // HMAC-SHA256(key = 32 x 0x01, "oauth21-core/v1/token-hash"), computed independently
        // with Python's hmac module; pins the derivation so a refactor cannot silently
        // invalidate every stored hash.
        let key = ServerKey::derive(KeyId::new("k").unwrap(), &secret(1)).unwrap();
        assert_eq!(
            hex(key.subkey(SubkeyPurpose::TokenHash)),
            KNOWN_TOKEN_HASH_SUBKEY
        );
    }

    const KNOWN_TOKEN_HASH_SUBKEY: &str = include_str!("../../tests/vectors/token_hash_subkey.hex");

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn duplicate_key_ids_are_refused() {
        let ring = Keyring::from_secret(KeyId::new("a").unwrap(), &secret(1)).unwrap();
        assert_eq!(
            ring.with_previous(KeyId::new("a").unwrap(), &secret(2))
                .unwrap_err(),
            KeyError::DuplicateKeyId
        );
    }

    #[test]
    fn key_ids_must_be_visible_ascii() {
        assert!(KeyId::new("").is_err());
        assert!(KeyId::new("a b").is_err());
        assert!(KeyId::new("é").is_err());
        assert!(KeyId::new("2026-11").is_ok());
    }

    #[test]
    fn keyring_debug_shows_ids_not_secrets() {
        let ring = Keyring::from_secret(KeyId::new("kid-1").unwrap(), &secret(0x41)).unwrap();
        let shown = format!("{ring:?}");
        assert!(shown.contains("kid-1"));
        assert!(!shown.contains("AAAA"));
    }
}
