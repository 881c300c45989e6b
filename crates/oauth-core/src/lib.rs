//! # oauth-core
//!
//! A sans-IO OAuth 2.1 authorization-server core.
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

pub mod crypto;
pub mod error;
pub mod model;
pub mod pkce;
pub mod random;
pub mod resource;
pub mod scope;
pub mod secret;
pub mod store;
pub mod time;

pub use crypto::{KeyError, KeyId, Keyring, TokenHash, TokenKind};
pub use error::{ApiMisuse, ConfigError, ErrorCode, Reason, StoreError, StoreErrorKind};
pub use random::{OsRandom, RandomError, SecureRandom};
pub use secret::Secret;
pub use store::Store;
pub use time::{Clock, SystemClock, UnixTime};
