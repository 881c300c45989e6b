//! The key-value backend trait: the minimum a key-value store must offer for the
//! [`Store`](oauth_core::Store) contract to hold on top of it.
//!
//! A backend offers four things, and nothing else:
//!
//! 1. [`get`](KvBackend::get) a key (and, optionally, [`get_many`](KvBackend::get_many));
//! 2. an atomic, conditional [`commit`](KvBackend::commit) of several writes (puts with
//!    an absolute expiry, deletes), guarded by conditions on several keys (absent, or
//!    holding exactly some bytes): a multi-key compare-and-swap;
//! 3. an ordered [`scan`](KvBackend::scan) of the keys under a prefix, for the indexes;
//! 4. an honest [`capabilities`](KvBackend::capabilities) report.
//!
//! Plain [`put`](KvBackend::put) and [`delete`](KvBackend::delete) are provided as
//! unconditional commits.
//!
//! # Why a multi-key conditional commit, not a single-key CAS
//!
//! Redeeming a code must mark the code used *and* store the tokens issued from it in one
//! step, and only while the code's grant still exists (see [`oauth_core::store`]): three
//! or four keys change or are checked together. With a single-key CAS the tokens would be
//! written before or after the redemption, and a revocation could fall between the two,
//! leaving tokens that outlive their grant or a redemption with no tokens. KVs with
//! transactions offer the multi-key form natively: etcd (`Txn` with `Compare`),
//! FoundationDB and TiKV (serializable transactions), DynamoDB
//! (`TransactWriteItems` with condition expressions), Consul (`txn`), Cloudflare Durable
//! Objects (transactional storage), and embedded engines such as redb, LMDB or sled.
//!
//! # Consistency each method must give
//!
//! The [`Capabilities`] of a backend that passes [`KvStore`](crate::KvStore)'s checks by
//! default promise all of this:
//!
//! - **Commits are atomic and conditional.** Either every [`Condition`] of a [`Commit`]
//!   holds at one instant and every [`Write`] is applied at that instant, in order, or the
//!   answer is [`CommitOutcome::Conflict`] and nothing is written. Commits are
//!   linearizable: every read that starts after a commit returned sees it.
//! - **A conflict is a promise that nothing was written.** A backend may answer
//!   `Conflict` spuriously (an optimistic transaction that aborted): the store re-reads
//!   and retries, a bounded number of times. An error (`Err`) on the other hand means the
//!   outcome is *unknown*: the store never retries it and reports a
//!   [`StoreError`], because a write that did happen must never be
//!   done twice.
//! - **Reads are linearizable.** [`get`](KvBackend::get), [`get_many`](KvBackend::get_many)
//!   and [`scan`](KvBackend::scan) see every commit that returned before they started.
//!   `get_many` should read one snapshot; if it cannot, it must at least read each key
//!   linearizably (the store re-checks what it needs through commit conditions).
//! - **Scans are ordered.** `scan` returns keys under the prefix in ascending byte order;
//!   the expiry index relies on it to purge the oldest records first.
//! - **Expiry is absolute and never early.** Every write carries its record's absolute
//!   expiry ([`UnixTime`], seconds, from the caller's clock) or `None` (never). A backend
//!   with native TTL may delete an entry once it has expired, never before; the store
//!   compares every record's expiry with the caller's `now` itself, so a backend without
//!   TTL (redb) may keep expired entries until [`Store::purge_expired`] removes them.
//! - **Durability** is the backend's to state in its own documentation: the store
//!   reports a commit as done as soon as `commit` returns `Applied`.
//!
//! A backend that cannot give atomic conditional commits or linearizable reads (an
//! eventually consistent KV such as Cloudflare Workers KV) must say so in its
//! [`Capabilities`]; a [`KvStore`](crate::KvStore) on it then answers
//! [`SingleUse::NotGuaranteed`](oauth_core::SingleUse::NotGuaranteed), and the provider
//! refuses it unless the host opts in by name (see the crate documentation for what is
//! lost).
//!
//! [`Store::purge_expired`]: oauth_core::Store::purge_expired

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use oauth_core::{StoreError, StoreErrorKind, UnixTime};

/// A key. Keys written by [`KvStore`](crate::KvStore) are printable ASCII.
pub type Key = Vec<u8>;

/// A stored value with its absolute expiry.
#[derive(Clone, PartialEq, Eq)]
pub struct Entry {
    /// The bytes stored.
    pub value: Vec<u8>,
    /// When the entry stops being needed (`None`: never). A backend may delete it at or
    /// after this time, never before.
    pub expires_at: Option<UnixTime>,
}

impl fmt::Debug for Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Values are records (client metadata, user ids); they stay out of logs.
        f.debug_struct("Entry")
            .field("value_len", &self.value.len())
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// What a [`Condition`] expects of its key.
#[derive(Clone, PartialEq, Eq)]
pub enum Expect {
    /// The key holds no entry.
    Absent,
    /// The key holds an entry whose value is exactly these bytes (its expiry is not
    /// compared).
    Value(Vec<u8>),
}

impl fmt::Debug for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expect::Absent => f.write_str("Absent"),
            Expect::Value(v) => write!(f, "Value({} bytes)", v.len()),
        }
    }
}

/// A condition a [`Commit`] checks before it writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    /// The key checked.
    pub key: Key,
    /// What it must hold.
    pub expect: Expect,
}

/// A write of a [`Commit`].
#[derive(Clone, PartialEq, Eq)]
pub enum Write {
    /// Stores `value` under `key` until `expires_at`, replacing any entry.
    Put {
        /// The key written.
        key: Key,
        /// The bytes stored.
        value: Vec<u8>,
        /// The absolute expiry (`None`: never).
        expires_at: Option<UnixTime>,
    },
    /// Removes `key`; removing an absent key is not an error.
    Delete {
        /// The key removed.
        key: Key,
    },
}

impl Write {
    /// The key this write touches.
    #[must_use]
    pub fn key(&self) -> &[u8] {
        match self {
            Write::Put { key, .. } | Write::Delete { key } => key,
        }
    }
}

impl fmt::Debug for Write {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Write::Put {
                key,
                value,
                expires_at,
            } => write!(
                f,
                "Put({}, {} bytes, {expires_at:?})",
                String::from_utf8_lossy(key),
                value.len()
            ),
            Write::Delete { key } => write!(f, "Delete({})", String::from_utf8_lossy(key)),
        }
    }
}

/// Conditions and writes applied together or not at all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Commit {
    /// Every condition must hold at the instant the writes are applied.
    pub conditions: Vec<Condition>,
    /// Applied in order (a later write to the same key wins).
    pub writes: Vec<Write>,
}

impl Commit {
    /// An empty commit.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Requires `key` to hold no entry.
    pub fn expect_absent(&mut self, key: Key) -> &mut Self {
        self.conditions.push(Condition {
            key,
            expect: Expect::Absent,
        });
        self
    }

    /// Requires `key` to hold exactly `value`.
    pub fn expect_value(&mut self, key: Key, value: Vec<u8>) -> &mut Self {
        self.conditions.push(Condition {
            key,
            expect: Expect::Value(value),
        });
        self
    }

    /// Stores `value` under `key` until `expires_at`.
    pub fn put(&mut self, key: Key, value: Vec<u8>, expires_at: Option<UnixTime>) -> &mut Self {
        self.writes.push(Write::Put {
            key,
            value,
            expires_at,
        });
        self
    }

    /// Removes `key`.
    pub fn delete(&mut self, key: Key) -> &mut Self {
        self.writes.push(Write::Delete { key });
        self
    }

    /// How many conditions and writes the commit holds (what
    /// [`Capabilities::max_commit_len`] bounds).
    #[must_use]
    pub fn len(&self) -> usize {
        self.conditions.len() + self.writes.len()
    }

    /// Whether the commit holds nothing.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.conditions.is_empty() && self.writes.is_empty()
    }
}

/// The answer of [`KvBackend::commit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum CommitOutcome {
    /// Every condition held and every write was applied.
    Applied,
    /// A condition did not hold (or the backend aborted an optimistic transaction);
    /// nothing was written.
    Conflict,
}

/// What a backend can promise. See the [module documentation](self) for what each
/// property means; [`KvStore`](crate::KvStore) checks the commit size when it is built and
/// reports single use from the rest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// Commits are atomic and their conditions are checked at the instant they apply
    /// (a true multi-key compare-and-swap). Without it, single use is lost.
    pub atomic_cas: bool,
    /// Reads see every commit that returned before they started. Without it, a revoked
    /// or redeemed record may still be read as live for a while.
    pub linearizable_reads: bool,
    /// The most conditions plus writes one commit may carry.
    pub max_commit_len: usize,
}

impl Capabilities {
    /// A backend with atomic conditional commits and linearizable reads, taking commits
    /// of up to `max_commit_len` conditions and writes.
    #[must_use]
    pub fn strong(max_commit_len: usize) -> Self {
        Capabilities {
            atomic_cas: true,
            linearizable_reads: true,
            max_commit_len,
        }
    }

    /// The same, declaring that commits are not atomic compare-and-swaps (the backend
    /// checks conditions and writes in separate steps, or not at all).
    #[must_use]
    pub fn without_atomic_cas(mut self) -> Self {
        self.atomic_cas = false;
        self
    }

    /// The same, declaring that reads may be stale (eventual consistency).
    #[must_use]
    pub fn without_linearizable_reads(mut self) -> Self {
        self.linearizable_reads = false;
        self
    }

    /// Whether the backend keeps the store contract's single-use guarantees.
    #[must_use]
    pub fn keeps_single_use(&self) -> bool {
        self.atomic_cas && self.linearizable_reads
    }
}

/// What kind of failure a backend reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KvErrorKind {
    /// The backend could not be reached, timed out or could not do I/O now.
    Unavailable,
    /// The backend's data is damaged.
    Corrupt,
    /// Anything else.
    Other,
}

/// A backend failure, with its source kept. After an error from
/// [`commit`](KvBackend::commit), the outcome of the commit is unknown.
#[derive(Debug, thiserror::Error)]
#[error("key-value backend {kind:?}: {message}")]
pub struct KvError {
    kind: KvErrorKind,
    message: String,
    #[source]
    source: Option<Box<dyn StdError + Send + Sync + 'static>>,
}

impl KvError {
    /// A failure of `kind` with a message and no source.
    pub fn new(kind: KvErrorKind, message: impl Into<String>) -> Self {
        KvError {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// A failure of `kind` caused by `source`.
    pub fn with_source(
        kind: KvErrorKind,
        message: impl Into<String>,
        source: impl StdError + Send + Sync + 'static,
    ) -> Self {
        KvError {
            kind,
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }

    /// What kind of failure this is.
    #[must_use]
    pub fn kind(&self) -> KvErrorKind {
        self.kind
    }
}

impl From<KvError> for StoreError {
    fn from(error: KvError) -> Self {
        let kind = match error.kind {
            KvErrorKind::Unavailable => StoreErrorKind::Unavailable,
            KvErrorKind::Corrupt => StoreErrorKind::Corrupt,
            KvErrorKind::Other => StoreErrorKind::Other,
        };
        StoreError::with_source(kind, "the key-value backend failed", error)
    }
}

/// The minimum a key-value store offers for the [`Store`](oauth_core::Store) contract to
/// hold on it. See the [module documentation](self) for the consistency each method
/// must give.
///
/// Methods are async; a backend whose calls block (an embedded engine) must move them off
/// the async runtime (`tokio::task::spawn_blocking`), as [`RedbBackend`] does.
///
#[cfg_attr(feature = "redb", doc = "[`RedbBackend`]: crate::RedbBackend")]
#[cfg_attr(not(feature = "redb"), doc = "[`RedbBackend`]: crate")]
#[async_trait]
pub trait KvBackend: Send + Sync + 'static {
    /// What the backend promises. Called once, when a [`KvStore`](crate::KvStore) is
    /// built.
    fn capabilities(&self) -> Capabilities;

    /// The entry under `key`, if any (expired or not: the store checks expiry itself).
    /// Linearizable.
    async fn get(&self, key: &[u8]) -> Result<Option<Entry>, KvError>;

    /// The entries under `keys`, in the same order; ideally from one snapshot. The
    /// default reads them one after another.
    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Entry>>, KvError> {
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            out.push(self.get(key).await?);
        }
        Ok(out)
    }

    /// Applies `commit` atomically if every condition holds; see [`CommitOutcome`].
    /// An `Err` means the outcome is unknown.
    async fn commit(&self, commit: &Commit) -> Result<CommitOutcome, KvError>;

    /// At most `limit` entries whose keys start with `prefix`, in ascending key order,
    /// beginning after `start_after` when given (a cursor: the last key of the previous
    /// page). Linearizable per call; pages need not come from one snapshot.
    async fn scan(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Key, Entry)>, KvError>;

    /// Stores `value` under `key` unconditionally.
    async fn put(
        &self,
        key: Key,
        value: Vec<u8>,
        expires_at: Option<UnixTime>,
    ) -> Result<(), KvError> {
        let mut commit = Commit::new();
        commit.put(key, value, expires_at);
        self.commit(&commit).await.and_then(unconditional)
    }

    /// Removes `key` unconditionally.
    async fn delete(&self, key: Key) -> Result<(), KvError> {
        let mut commit = Commit::new();
        commit.delete(key);
        self.commit(&commit).await.and_then(unconditional)
    }
}

/// An unconditional commit that reports a conflict: the backend aborted it.
fn unconditional(outcome: CommitOutcome) -> Result<(), KvError> {
    match outcome {
        CommitOutcome::Applied => Ok(()),
        CommitOutcome::Conflict => Err(KvError::new(
            KvErrorKind::Unavailable,
            "the backend aborted an unconditional write",
        )),
    }
}

/// A shared backend is a backend: a host (or a test) may keep a handle on it.
#[async_trait]
impl<B: KvBackend + ?Sized> KvBackend for Arc<B> {
    fn capabilities(&self) -> Capabilities {
        (**self).capabilities()
    }

    async fn get(&self, key: &[u8]) -> Result<Option<Entry>, KvError> {
        (**self).get(key).await
    }

    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Entry>>, KvError> {
        (**self).get_many(keys).await
    }

    async fn commit(&self, commit: &Commit) -> Result<CommitOutcome, KvError> {
        (**self).commit(commit).await
    }

    async fn scan(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Key, Entry)>, KvError> {
        (**self).scan(prefix, start_after, limit).await
    }

    async fn put(
        &self,
        key: Key,
        value: Vec<u8>,
        expires_at: Option<UnixTime>,
    ) -> Result<(), KvError> {
        (**self).put(key, value, expires_at).await
    }

    async fn delete(&self, key: Key) -> Result<(), KvError> {
        (**self).delete(key).await
    }
}
