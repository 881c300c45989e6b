//! Opaque credentials: generation, parsing and keyed hashing.
//!
//! A credential is a short type prefix (so secret scanners recognise it and a token of
//! one kind is never accepted as another) followed by 32 bytes from the random source,
//! base64url-encoded without padding (43 characters). Base64 of uniformly random bytes is
//! uniform over its alphabet, so the encoding adds no bias. Nothing else is inside: no
//! user id, no expiry. The store only ever sees `HMAC-SHA256(token-hash subkey, token)`.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use subtle::ConstantTimeEq;

use super::keyring::{hmac, ServerKey, SubkeyPurpose};
use crate::random::{random_array, RandomError, SecureRandom};
use crate::secret::Secret;

/// Random bytes in every credential (256 bits).
pub(crate) const TOKEN_ENTROPY_BYTES: usize = 32;
/// Length of the base64url body of a credential.
const TOKEN_BODY_LEN: usize = 43;

/// The kinds of credential the server issues.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TokenKind {
    /// An authorization code.
    AuthorizationCode,
    /// A bearer access token.
    AccessToken,
    /// A refresh token.
    RefreshToken,
    /// A client secret.
    ClientSecret,
    /// A registration access token (RFC 7592).
    RegistrationAccessToken,
}

impl TokenKind {
    /// The visible prefix of credentials of this kind.
    #[must_use]
    pub fn prefix(self) -> &'static str {
        match self {
            TokenKind::AuthorizationCode => "oa2c_",
            TokenKind::AccessToken => "oa2at_",
            TokenKind::RefreshToken => "oa2rt_",
            TokenKind::ClientSecret => "oa2cs_",
            TokenKind::RegistrationAccessToken => "oa2reg_",
        }
    }
}

/// A keyed hash of a credential: the only form in which the store sees it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct TokenHash(pub [u8; 32]);

impl TokenHash {
    /// The keyed hash of `token` under `key`'s token-hash subkey.
    pub(crate) fn compute(key: &ServerKey, token: &str) -> TokenHash {
        TokenHash(hmac(
            key.subkey(SubkeyPurpose::TokenHash),
            &[token.as_bytes()],
        ))
    }

    /// Constant-time equality, for verifying a presented secret against a stored hash.
    #[must_use]
    pub fn ct_eq(&self, other: &TokenHash) -> bool {
        self.0.ct_eq(&other.0).into()
    }

    /// The raw bytes, for stores that key on them.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex of the hash, for stores that key on text.
    #[must_use]
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A short fingerprint is enough to correlate log lines; the full hash is a lookup key.
        let hex = self.to_hex();
        write!(f, "TokenHash({}…)", hex.get(..8).unwrap_or(""))
    }
}

/// Draws a new credential of `kind`.
pub(crate) fn generate_token(
    kind: TokenKind,
    random: &dyn SecureRandom,
) -> Result<Secret, RandomError> {
    let bytes: [u8; TOKEN_ENTROPY_BYTES] = random_array(random)?;
    let mut token = String::with_capacity(kind.prefix().len() + TOKEN_BODY_LEN);
    token.push_str(kind.prefix());
    URL_SAFE_NO_PAD.encode_string(bytes, &mut token);
    Ok(Secret::new(token))
}

/// Checks that `presented` has the shape of a credential of `kind`, so malformed input is
/// rejected before any store lookup. Returns the credential unchanged.
pub(crate) fn parse_token(kind: TokenKind, presented: &str) -> Option<&str> {
    let body = presented.strip_prefix(kind.prefix())?;
    let well_formed = body.len() == TOKEN_BODY_LEN
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    well_formed.then_some(presented)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{KeyId, Keyring};
    use crate::random::OsRandom;

    struct Counter(std::sync::atomic::AtomicU8);
    impl SecureRandom for Counter {
        fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError> {
            let v = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            dest.fill(v);
            Ok(())
        }
    }

    #[test]
    fn o21_50_tokens_carry_256_bits_from_the_injected_random_source() {
        let rng = Counter(std::sync::atomic::AtomicU8::new(0xAB));
        let token = generate_token(TokenKind::AccessToken, &rng).unwrap();
        let body = token.expose().strip_prefix("oa2at_").unwrap();
        assert_eq!(URL_SAFE_NO_PAD.decode(body).unwrap(), vec![0xAB; 32]);
        assert_eq!(body.len(), 43);
    }

    #[test]
    fn o21_50_no_collisions_across_many_tokens() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..100_000 {
            let t = generate_token(TokenKind::AuthorizationCode, &OsRandom).unwrap();
            assert!(seen.insert(t.expose().to_owned()));
        }
    }

    #[test]
    fn token_encoding_is_unbiased_over_the_alphabet() {
        // 43 base64url characters encode 258 bits, of which the last character carries
        // only 4 bits; the first 42 characters must each be uniform over 64 symbols.
        let mut counts = [0u32; 128];
        let n = 20_000;
        for _ in 0..n {
            let t = generate_token(TokenKind::RefreshToken, &OsRandom).unwrap();
            for b in t.expose().bytes().skip("oa2rt_".len()).take(42) {
                counts[b as usize] += 1;
            }
        }
        let expected = f64::from(n) * 42.0 / 64.0;
        let used: Vec<_> = counts.iter().filter(|c| **c > 0).collect();
        assert_eq!(used.len(), 64);
        for c in used {
            let deviation = (f64::from(*c) - expected).abs() / expected;
            assert!(deviation < 0.08, "symbol frequency off by {deviation}");
        }
    }

    #[test]
    fn parse_token_rejects_wrong_prefix_and_shape() {
        let t = generate_token(TokenKind::AccessToken, &OsRandom).unwrap();
        assert!(parse_token(TokenKind::AccessToken, t.expose()).is_some());
        assert!(parse_token(TokenKind::RefreshToken, t.expose()).is_none());
        assert!(parse_token(TokenKind::AccessToken, "oa2at_short").is_none());
        let bad = format!("oa2at_{}", "+".repeat(43));
        assert!(parse_token(TokenKind::AccessToken, &bad).is_none());
    }

    #[test]
    fn token_hash_is_keyed() {
        let a = Keyring::from_secret(KeyId::new("a").unwrap(), &[1; 32]).unwrap();
        let b = Keyring::from_secret(KeyId::new("b").unwrap(), &[2; 32]).unwrap();
        let ha = TokenHash::compute(a.primary(), "oa2at_x");
        let hb = TokenHash::compute(b.primary(), "oa2at_x");
        assert!(!ha.ct_eq(&hb));
        assert!(ha.ct_eq(&TokenHash::compute(a.primary(), "oa2at_x")));
    }

    #[test]
    fn token_hash_debug_is_a_short_fingerprint() {
        let h = TokenHash([0xAB; 32]);
        assert_eq!(format!("{h:?}"), "TokenHash(abababab…)");
    }
}
