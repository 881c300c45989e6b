//! The machine: the protocol's decisions as pure, synchronous code.
//!
//! A [`Machine`] holds the [`Config`] and nothing else. Each endpoint is a method that
//! takes the request and `now` and returns a *step*: either a complete response, or a
//! request for exactly the stored data the next decision needs. The caller answers by
//! calling `resume` on the step with the store's answer; the step consumes itself, so an
//! answer can be given once, to the question asked, and of the type asked. The
//! [`Provider`](crate::Provider) is one such caller; a host with unusual I/O can be another.
//!
//! The machine reads no clock and no OS randomness: `now` is an argument and randomness
//! comes through the configured [`SecureRandom`](crate::SecureRandom).

use crate::config::Config;
use crate::crypto::{generate_token, TokenHash, TokenKind};
use crate::error::Reason;
use crate::secret::Secret;

/// The sans-IO authorization server.
#[derive(Debug, Clone)]
pub struct Machine {
    pub(crate) config: Config,
}

impl Machine {
    /// A machine deciding by `config`.
    #[must_use]
    pub fn new(config: Config) -> Self {
        Machine { config }
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Reports a security event to the configured sink.
    pub(crate) fn event(&self, event: crate::events::SecurityEvent<'_>) {
        self.config.events.record(&event);
    }

    /// Draws a new credential of `kind`.
    pub(crate) fn new_token(&self, kind: TokenKind) -> Result<Secret, Reason> {
        generate_token(kind, self.config.random.as_ref()).map_err(|_| Reason::InternalFailure)
    }

    /// The keyed hash of a credential under the primary key (for new records).
    pub(crate) fn hash(&self, credential: &Secret) -> TokenHash {
        TokenHash::compute(self.config.keyring.primary(), credential.expose())
    }

    /// The keyed hash of a presented credential under the `index`-th key of the ring, or
    /// `None` when every key has been tried. Lookups try the primary key first, so a
    /// credential issued before a key rotation is still found.
    pub(crate) fn lookup_hash(&self, credential: &str, index: usize) -> Option<TokenHash> {
        self.config
            .keyring
            .keys()
            .nth(index)
            .map(|key| TokenHash::compute(key, credential))
    }

    /// A fresh random id (grants, tickets): 128 bits, base64url.
    pub(crate) fn new_id(&self) -> Result<String, Reason> {
        use base64::Engine as _;
        let bytes: [u8; 16] = crate::random::random_array(self.config.random.as_ref())
            .map_err(|_| Reason::InternalFailure)?;
        Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::config::Issuer;
    use crate::crypto::{KeyId, Keyring};
    use crate::random::{RandomError, SecureRandom};

    /// Hands out the same bytes, cycled, for every draw.
    struct Fixed(Vec<u8>);

    impl SecureRandom for Fixed {
        fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError> {
            for (slot, byte) in dest.iter_mut().zip(self.0.iter().cycle()) {
                *slot = *byte;
            }
            Ok(())
        }
    }

    fn machine(random: Vec<u8>) -> Machine {
        let config = Config::builder(Issuer::new("https://as.example").unwrap())
            .keys(Keyring::from_secret(KeyId::new("k").unwrap(), &[1; 32]).unwrap())
            .random(Arc::new(Fixed(random)))
            .build()
            .unwrap();
        Machine::new(config)
    }

    proptest::proptest! {
        /// CIMD-15: an id this server draws (client ids, grant ids) is base64url, so it
        /// never contains `:` and is never taken for a Client Identifier URL.
        #[test]
        fn cimd_15_drawn_ids_never_start_with_https(random in proptest::collection::vec(proptest::num::u8::ANY, 1..64)) {
            let id = machine(random).new_id().unwrap();
            proptest::prop_assert!(!id.contains(':'));
            proptest::prop_assert!(!crate::client_metadata_document::is_client_id_url(&id));
        }
    }
}
