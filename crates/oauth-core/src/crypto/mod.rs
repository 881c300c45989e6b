//! Cryptography of the server: keys from the host, keyed token hashes, sealed envelopes.
//!
//! Nothing here holds a constant key, salt or IV: every key is derived from the host's
//! [`Keyring`] and every nonce is drawn from the configured [`SecureRandom`](crate::SecureRandom).

mod envelope;
mod keyring;
mod props;
mod token;

pub(crate) use envelope::{open, seal};
pub use envelope::{EnvelopeError, Purpose};
pub(crate) use keyring::{hmac, SubkeyPurpose};
pub use keyring::{KeyError, KeyId, Keyring, MIN_SECRET_LEN};
pub(crate) use props::{new_props_key, PropsKey, REDACTED};
pub use props::{Props, PropsError, SealedProps, WrappedPropsKey};
pub(crate) use token::{generate_token, parse_token};
pub use token::{TokenHash, TokenKind};
