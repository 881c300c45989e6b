//! # oauth-store-kv
//!
//! The [`Store`](oauth_core::Store) contract implemented once, over a small
//! [`KvBackend`] trait, with an embedded backend on [redb](https://www.redb.org)
//! ([`RedbBackend`], default feature `redb`): one file, ACID, pure Rust.
//!
//! ```no_run
//! # #[cfg(feature = "redb")]
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use oauth_store_kv::{KvStore, RedbBackend};
//!
//! // One file, created with mode 0600; durable commits.
//! let store = KvStore::new(RedbBackend::open("oauth.redb").await?)?;
//!
//! // Or: a key prefix, and a different bound on compare-and-swap retries.
//! let tenant = KvStore::builder(RedbBackend::open("tenants.redb").await?)
//!     .prefix("tenant-a")
//!     .max_attempts(12)
//!     .build()?;
//! # Ok(()) }
//! ```
//!
//! # Writing a backend for another KV
//!
//! Implement [`KvBackend`]: [`get`](KvBackend::get), an atomic conditional
//! [`commit`](KvBackend::commit) (several writes, applied only if several keys are absent
//! or hold exactly some bytes: a multi-key compare-and-swap), an ordered prefix
//! [`scan`](KvBackend::scan), and [`capabilities`](KvBackend::capabilities). The
//! [`backend`] module says what consistency each method must give and why a single-key
//! CAS is not enough. Then run the shared conformance suite against it
//! (`oauth_store_testkit::conformance_tests!`), as this crate's `tests/conformance.rs`
//! does for redb and for a fault-injecting test backend.
//!
//! # Backends that cannot keep single use
//!
//! A backend declares in its [`Capabilities`] whether its commits are atomic
//! compare-and-swaps and whether its reads are linearizable. A store on one that cannot
//! promise both, such as an adapter over an eventually consistent KV (Cloudflare Workers
//! KV), answers [`SingleUse::NotGuaranteed`](oauth_core::SingleUse::NotGuaranteed) from
//! [`Store::single_use`](oauth_core::Store::single_use), and the
//! [`Provider`](oauth_core::Provider) refuses it
//! ([`ConfigError::StoreWithoutAtomicSingleUse`](oauth_core::ConfigError::StoreWithoutAtomicSingleUse)),
//! and a host driving the machine itself gets a store failure from every single-use step
//! on it, so no server runs on it by accident. A host may still run on one by naming
//! [`accept_store_without_atomic_single_use(true)`](oauth_core::ConfigBuilder::accept_store_without_atomic_single_use),
//! and then loses:
//!
//! - **single-use codes**: two concurrent redemptions of one code may both succeed and
//!   both get tokens (a stolen code raced against the client is not detected);
//! - **refresh rotation**: two concurrent rotations of one refresh token may both get
//!   successors, so the token family forks and reuse detection misses it;
//! - **one-time markers and grace claims**: a ticket or a grace period may be taken twice;
//! - **replay detection and revocation** on stale reads: a tombstone or a revocation not
//!   yet visible where a request lands lets a replayed code or a revoked token through,
//!   for as long as the KV takes to converge (up to a minute for Workers KV).
//!
//! Everything else (expiry, typed errors, versioned records) holds. The provider logs a
//! warning when it is built that way.
//!
//! # Key layout
//!
//! Every key starts with the store's prefix `P` (default [`DEFAULT_PREFIX`]; 1 to
//! [`MAX_PREFIX_LEN`] characters of `A-Z a-z 0-9 _ . -`, so two prefixes never nest).
//! Ids are escaped (`A-Z a-z 0-9 _ . -` kept, any other byte `%XX`: injective, never
//! `/`), `<hex>` is a 64-digit keyed hash, `<t>` a 20-digit zero-padded Unix time.
//!
//! | key | value | expiry |
//! | --- | --- | --- |
//! | `P/c/<client>` | the client | none |
//! | `P/g/<grant>` | the grant | the grant's |
//! | `P/code/<hex>` | the code and `used` (`true`: the tombstone) | the code's |
//! | `P/at/<hex>` | the access token | the token's |
//! | `P/rt/<hex>` | the refresh token, or its tombstone with the optional grace | the token's |
//! | `P/once/<namespace>/<hex>` | a one-time marker's expiry | the marker's |
//! | `P/ig/<grant>/<code\|at\|rt>/<hex>` | `<t>`: the child's expiry | the child's |
//! | `P/iu/<user>/<grant>` | `<t>`: the grant's expiry | the grant's |
//! | `P/ic/<client>/<grant>` | `<t>`: the grant's expiry | the grant's |
//! | `P/ix/<t>/<0\|1\|2\|3>/<grant or hex>` | empty: grant, code, access, refresh | `<t>` |
//! | `P/ix/<t>/4/<namespace>/<hex>` | empty: a one-time marker | `<t>` |
//!
//! Records are versioned JSON, `{"v":1,"record":{...}}`: the `oauth-core` model's own
//! serde form (allow-listed fields, hashes, sealed props). An index entry is written and
//! removed in the same commit as its record, so indexes never disagree with records.
//!
//! # How the contract is kept
//!
//! - **Compare-and-swap loop.** Every operation that reads and then writes reads the
//!   records it depends on, decides, and commits its writes *conditioned on exactly the
//!   bytes it read* (and on the absence of every key it creates). If anything changed in
//!   between, the commit is a conflict, nothing is written, and the operation starts over
//!   from the reads, at most [`KvStoreBuilder::max_attempts`] times (default
//!   [`DEFAULT_MAX_ATTEMPTS`]); then it fails with [`StoreErrorKind::Conflict`], which the
//!   provider answers with 503. A backend *error* is never retried: the commit may have
//!   happened.
//! - **Atomic consume.** Redeeming a code commits the tombstone and the issued tokens
//!   together, conditioned on the code being unused (its exact bytes), its grant existing
//!   (its exact bytes) and the token keys being free. Of concurrent redemptions one
//!   commits; the others conflict, re-read the tombstone and answer `AlreadyUsed`.
//!   Rotation and grace claims work the same way.
//! - **Cascading revocation** in two steps: the grant (with its user, client and expiry
//!   index entries) is deleted in one commit; from then on no code or token can be added
//!   under it (every such commit requires the grant), and everything under it reads as
//!   absent. Its children are then deleted through the grant's child index, in bounded
//!   commits. A revocation that fails in between reports the error; repeating it finishes
//!   the job (revocation of a missing grant still sweeps its child index).
//! - **Expiry** is checked against the caller's `now` on every read. Expired records are
//!   deleted by [`Store::purge_expired`](oauth_core::Store::purge_expired), oldest first
//!   through the expiry index, in commits within the backend's `max_commit_len`; an
//!   expired grant goes as in a revocation (the grant first, then its children). Damaged
//!   index entries are logged by kind and dropped, never stopping later purges.
//! - **Grant creation** is conditioned on the client's record, so no grant outlives a
//!   concurrent `delete_client`.
//!
//! [`StoreErrorKind::Conflict`]: oauth_core::StoreErrorKind::Conflict
#![cfg_attr(feature = "redb", doc = "[`RedbBackend`]: crate::RedbBackend")]
#![cfg_attr(not(feature = "redb"), doc = "[`RedbBackend`]: crate")]
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

pub mod backend;
mod codec;
mod keys;
mod purge;
#[cfg(feature = "redb")]
mod redb_backend;
mod revoke;
mod store;

use std::fmt;
use std::sync::Arc;

pub use backend::{
    Capabilities, Commit, CommitOutcome, Condition, Entry, Expect, Key, KvBackend, KvError,
    KvErrorKind, Write,
};
pub use keys::{DEFAULT_PREFIX, MAX_PREFIX_LEN};
#[cfg(feature = "redb")]
pub use redb;
#[cfg(feature = "redb")]
pub use redb_backend::{RedbBackend, RedbOpenError};

use keys::Keys;

/// How many times an operation reads and tries to commit before it gives up, by default.
/// A loser of a race needs one more attempt (it re-reads and sees the winner's write);
/// the bound only matters under sustained contention on one record or a backend that
/// aborts commits spuriously.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 8;

/// The largest accepted [`KvStoreBuilder::max_attempts`].
pub const MAX_ATTEMPTS_LIMIT: u32 = 64;

/// The most conditions plus writes one commit of this store carries (rotating a refresh
/// token with a refresh successor: 4 conditions, 7 writes; creating a grant with tokens:
/// 4 and 10). Housekeeping commits are sized to what the backend declares. A backend
/// must take at least this many.
pub const MIN_COMMIT_LEN: usize = 16;

/// The most entries one housekeeping page (purge, revocation sweep) reads.
const MAX_BATCH_RECORDS: usize = 64;

/// Why a store could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The key prefix is not 1 to [`MAX_PREFIX_LEN`] characters of `A-Z a-z 0-9 _ . -`.
    #[error("invalid key prefix: use 1 to 64 characters of A-Z, a-z, 0-9, '_', '.' and '-'")]
    InvalidPrefix,
    /// `max_attempts` is 0 or above [`MAX_ATTEMPTS_LIMIT`].
    #[error("max_attempts must be between 1 and {MAX_ATTEMPTS_LIMIT}")]
    InvalidMaxAttempts,
    /// The backend takes commits too small for this store's largest atomic step.
    #[error("the backend takes commits of at most {max_commit_len} entries; this store needs {MIN_COMMIT_LEN}")]
    CommitTooSmall {
        /// What the backend declared.
        max_commit_len: usize,
    },
}

/// A [`Store`](oauth_core::Store) over any [`KvBackend`]. Cheap to clone: clones share
/// the backend.
pub struct KvStore<B> {
    inner: Arc<Inner<B>>,
}

impl<B> Clone for KvStore<B> {
    fn clone(&self) -> Self {
        KvStore {
            inner: self.inner.clone(),
        }
    }
}

pub(crate) struct Inner<B> {
    pub(crate) backend: B,
    pub(crate) keys: Keys,
    pub(crate) max_attempts: u32,
    /// Entries per housekeeping page (a revocation sweep deletes 3 keys per entry).
    pub(crate) batch: usize,
    /// The most conditions plus writes the backend takes in one commit.
    pub(crate) max_commit_len: usize,
    /// Whether the backend keeps single use ([`Capabilities::keeps_single_use`]).
    pub(crate) single_use: bool,
}

impl<B: KvBackend> KvStore<B> {
    /// A store on `backend` with the default prefix and retry bound.
    pub fn new(backend: B) -> Result<Self, OpenError> {
        Self::builder(backend).build()
    }

    /// Options for a store on `backend`.
    pub fn builder(backend: B) -> KvStoreBuilder<B> {
        KvStoreBuilder {
            backend,
            prefix: DEFAULT_PREFIX.to_owned(),
            max_attempts: DEFAULT_MAX_ATTEMPTS,
        }
    }

    /// The backend.
    #[must_use]
    pub fn backend(&self) -> &B {
        &self.inner.backend
    }

    /// The key prefix.
    #[must_use]
    pub fn prefix(&self) -> &str {
        self.inner.keys.prefix()
    }
}

impl<B> fmt::Debug for KvStore<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Records stay out of logs; the store says what it is and its prefix.
        f.debug_struct("KvStore")
            .field("prefix", &self.inner.keys.prefix())
            .field("keeps_single_use", &self.inner.single_use)
            .finish_non_exhaustive()
    }
}

/// Options of a [`KvStore`].
#[must_use]
pub struct KvStoreBuilder<B> {
    backend: B,
    prefix: String,
    max_attempts: u32,
}

impl<B> fmt::Debug for KvStoreBuilder<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KvStoreBuilder")
            .field("prefix", &self.prefix)
            .field("max_attempts", &self.max_attempts)
            .finish_non_exhaustive()
    }
}

impl<B: KvBackend> KvStoreBuilder<B> {
    /// Puts every key under `prefix` (default [`DEFAULT_PREFIX`]), so that several
    /// providers, or tests, share one backend.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// How many times an operation reads and tries to commit before it fails with a
    /// conflict (default [`DEFAULT_MAX_ATTEMPTS`], at most [`MAX_ATTEMPTS_LIMIT`]).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// Checks the options and the backend's capabilities and builds the store.
    pub fn build(self) -> Result<KvStore<B>, OpenError> {
        if !keys::valid_prefix(&self.prefix) {
            return Err(OpenError::InvalidPrefix);
        }
        if self.max_attempts == 0 || self.max_attempts > MAX_ATTEMPTS_LIMIT {
            return Err(OpenError::InvalidMaxAttempts);
        }
        let capabilities = self.backend.capabilities();
        if capabilities.max_commit_len < MIN_COMMIT_LEN {
            return Err(OpenError::CommitTooSmall {
                max_commit_len: capabilities.max_commit_len,
            });
        }
        let single_use = capabilities.keeps_single_use();
        // A revocation sweep deletes 3 keys per child-index entry, plus one condition in a
        // purge's sweep; a purge round counts each entry's actual cost against
        // `max_commit_len`.
        let batch = (capabilities.max_commit_len / 4).clamp(1, MAX_BATCH_RECORDS);
        Ok(KvStore {
            inner: Arc::new(Inner {
                backend: self.backend,
                keys: Keys::new(&self.prefix),
                max_attempts: self.max_attempts,
                batch,
                max_commit_len: capabilities.max_commit_len,
                single_use,
            }),
        })
    }
}
