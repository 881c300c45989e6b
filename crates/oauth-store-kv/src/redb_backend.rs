//! The embedded backend: one [redb](https://www.redb.org) file.
//!
//! - **One table** of byte keys and values (`oauth_kv`). A value is stored as one tag
//!   byte (`0`: no expiry; `1`: an 8-byte big-endian expiry follows) and the bytes.
//! - **Atomic conditional commits** are redb write transactions: redb runs one writer at
//!   a time, so the conditions are checked and the writes applied with no other commit in
//!   between; a failed condition aborts the transaction and writes nothing.
//! - **Durable commits.** Every write transaction commits with
//!   [`redb::Durability::Immediate`]: when `commit` returns, the data is on disk (redb's
//!   commit is crash-safe: a torn commit is detected by its checksums and rolled back to
//!   the previous one on the next open). `Applied` is only answered after that.
//! - **Linearizable reads**: a read transaction sees every commit that returned before it
//!   began (one snapshot for `get_many` and each `scan`).
//! - **Off the runtime.** redb's calls block (file I/O, `fsync`, waiting for the write
//!   lock), so every call runs in [`tokio::task::spawn_blocking`]; the async task only
//!   awaits it. If the awaiting future is dropped, the blocking call still runs to its end:
//!   a commit in flight either happens whole or not at all, and its caller, gone, got no
//!   answer (the store never reports a commit it has not seen applied).
//! - **Closed off the runtime.** redb's `Drop` flushes and closes the file, so the last
//!   handle's drop must not block an async worker either: on a multi-threaded runtime it
//!   runs in [`tokio::task::block_in_place`] (the file is closed when the drop returns);
//!   on a current-thread runtime it is handed to the blocking pool (closed shortly
//!   after). [`RedbBackend::close`] closes on the blocking pool and waits for it, on any
//!   runtime.
//! - **One process.** redb locks the file: a second open (in this or another process)
//!   fails with [`RedbOpenError::AlreadyOpen`]. For several processes use the SQLite or
//!   Redis store.
//! - **Private file.** On Unix a new file is created with mode `0600`.
//! - No native TTL: expired entries stay until
//!   [`Store::purge_expired`](oauth_core::Store::purge_expired) deletes them; reads never
//!   return them (the store checks every record's expiry against `now`).

use std::fmt;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use oauth_core::UnixTime;
use redb::{Database, Durability, ReadableTable, TableDefinition};

use crate::backend::{
    Capabilities, Commit, CommitOutcome, Entry, Expect, Key, KvBackend, KvError, KvErrorKind, Write,
};

const TABLE: TableDefinition<'static, &'static [u8], &'static [u8]> =
    TableDefinition::new("oauth_kv");

/// The most conditions plus writes accepted in one commit (a sanity bound: redb itself
/// has none short of memory).
const MAX_COMMIT_LEN: usize = 4096;

/// Why a redb file could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedbOpenError {
    /// The file could not be created or opened.
    #[error("the database file could not be created or opened")]
    Io(#[source] std::io::Error),
    /// Another handle (in this or another process) has the file open; redb takes an
    /// exclusive lock.
    #[error("the database file is already open (redb allows one process at a time)")]
    AlreadyOpen,
    /// redb refused the file (damaged, or of a format this version cannot read).
    #[error("redb could not open the database file")]
    Database(#[source] Box<redb::Error>),
    /// The blocking open task could not run to its end.
    #[error("the task opening the database failed")]
    Task(#[source] tokio::task::JoinError),
}

/// A [`KvBackend`] on one redb file. Cheap to clone: clones share the database, which is
/// closed when the last clone goes (see the module documentation, or
/// [`close`](Self::close)).
#[derive(Clone)]
pub struct RedbBackend {
    db: Arc<Db>,
    path: Arc<PathBuf>,
}

/// The database, closed off the async workers when the last handle drops it.
struct Db(Option<Database>);

impl Db {
    fn get(&self) -> Result<&Database, KvError> {
        self.0
            .as_ref()
            .ok_or_else(|| KvError::new(KvErrorKind::Other, "the redb database is closed"))
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        let Some(db) = self.0.take() else {
            return;
        };
        match tokio::runtime::Handle::try_current() {
            Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                // Off a worker (or inline on a non-worker thread), before returning.
                tokio::task::block_in_place(move || drop(db));
            }
            Ok(handle) => {
                // A current-thread runtime cannot block in place: the blocking pool
                // closes it (or, if the runtime is shutting down, this thread does).
                drop(handle.spawn_blocking(move || drop(db)));
            }
            Err(_) => drop(db),
        }
    }
}

impl fmt::Debug for RedbBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedbBackend")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl RedbBackend {
    /// Opens the database file at `path`, creating it (mode `0600` on Unix) if it does not
    /// exist. Runs on the blocking pool: opening may replay a crashed commit.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, RedbOpenError> {
        let path = path.as_ref().to_owned();
        tokio::task::spawn_blocking(move || Self::open_blocking(path))
            .await
            .map_err(RedbOpenError::Task)?
    }

    /// [`open`](Self::open) for callers outside an async runtime. Blocks.
    pub fn open_blocking(path: impl AsRef<Path>) -> Result<Self, RedbOpenError> {
        let path = path.as_ref().to_owned();
        let mut options = std::fs::OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&path).map_err(RedbOpenError::Io)?;
        let db = redb::Builder::new()
            .create_file(file)
            .map_err(|error| match error {
                redb::DatabaseError::DatabaseAlreadyOpen => RedbOpenError::AlreadyOpen,
                other => database_error(other),
            })?;
        Self::with_database(db, path)
    }

    /// A backend on an open database (creating its table).
    fn with_database(db: Database, path: PathBuf) -> Result<Self, RedbOpenError> {
        // Create the table once, so that reads never meet a missing table.
        let mut txn = db.begin_write().map_err(database_error)?;
        txn.set_durability(Durability::Immediate);
        txn.open_table(TABLE).map_err(database_error)?;
        txn.commit().map_err(database_error)?;
        Ok(RedbBackend {
            db: Arc::new(Db(Some(db))),
            path: Arc::new(path),
        })
    }

    /// Drops this handle; if it is the last one, closes the database on the blocking
    /// pool and waits for it, so that the file (and its lock) is released when this
    /// returns. With other clones still alive (a [`KvStore`](crate::KvStore) holds one),
    /// only this handle goes.
    pub async fn close(self) {
        let Some(mut db) = Arc::into_inner(self.db) else {
            return;
        };
        let database = db.0.take();
        if let Err(error) = tokio::task::spawn_blocking(move || drop(database)).await {
            if error.is_panic() {
                std::panic::resume_unwind(error.into_panic());
            }
        }
    }

    /// The database file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` on the blocking pool with the database.
    async fn blocking<T, F>(&self, f: F) -> Result<T, KvError>
    where
        T: Send + 'static,
        F: FnOnce(&Database) -> Result<T, KvError> + Send + 'static,
    {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || f(db.get()?))
            .await
            .map_err(|error| {
                KvError::with_source(
                    KvErrorKind::Other,
                    "the blocking redb task failed (panicked or was cancelled)",
                    error,
                )
            })?
    }
}

fn database_error(error: impl Into<redb::Error>) -> RedbOpenError {
    RedbOpenError::Database(Box::new(error.into()))
}

/// Maps a redb error to a backend error, keeping it as the source.
fn classify(error: impl Into<redb::Error>) -> KvError {
    let error: redb::Error = error.into();
    let (kind, message) = match &error {
        redb::Error::Io(_) => (KvErrorKind::Unavailable, "redb could not do I/O"),
        redb::Error::PreviousIo => (
            KvErrorKind::Unavailable,
            "redb had an I/O error earlier and must be reopened",
        ),
        redb::Error::Corrupted(_) => (KvErrorKind::Corrupt, "the redb file is corrupted"),
        _ => (KvErrorKind::Other, "redb failed"),
    };
    KvError::with_source(kind, message, error)
}

/// Encodes a value with its expiry (see the module documentation).
fn encode_value(value: &[u8], expires_at: Option<UnixTime>) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 9);
    match expires_at {
        None => out.push(0),
        Some(at) => {
            out.push(1);
            out.extend_from_slice(&at.0.to_be_bytes());
        }
    }
    out.extend_from_slice(value);
    out
}

/// Decodes a value written by [`encode_value`].
fn decode_value(stored: &[u8]) -> Result<Entry, KvError> {
    let malformed = || KvError::new(KvErrorKind::Corrupt, "a redb value has a malformed header");
    match stored.split_first() {
        Some((0, value)) => Ok(Entry {
            value: value.to_vec(),
            expires_at: None,
        }),
        Some((1, rest)) => {
            let (at, value) = rest.split_at_checked(8).ok_or_else(malformed)?;
            let at: [u8; 8] = at.try_into().map_err(|_| malformed())?;
            Ok(Entry {
                value: value.to_vec(),
                expires_at: Some(UnixTime(u64::from_be_bytes(at))),
            })
        }
        _ => Err(malformed()),
    }
}

/// The value bytes under `key` in `table`, without the header.
fn current<T: ReadableTable<&'static [u8], &'static [u8]>>(
    table: &T,
    key: &[u8],
) -> Result<Option<Entry>, KvError> {
    match table.get(key).map_err(classify)? {
        Some(stored) => decode_value(stored.value()).map(Some),
        None => Ok(None),
    }
}

#[async_trait]
impl KvBackend for RedbBackend {
    fn capabilities(&self) -> Capabilities {
        Capabilities::strong(MAX_COMMIT_LEN)
    }

    async fn get(&self, key: &[u8]) -> Result<Option<Entry>, KvError> {
        let key = key.to_vec();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(classify)?;
            let table = txn.open_table(TABLE).map_err(classify)?;
            current(&table, &key)
        })
        .await
    }

    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Entry>>, KvError> {
        let keys = keys.to_vec();
        self.blocking(move |db| {
            // One read transaction: one snapshot.
            let txn = db.begin_read().map_err(classify)?;
            let table = txn.open_table(TABLE).map_err(classify)?;
            keys.iter().map(|key| current(&table, key)).collect()
        })
        .await
    }

    async fn commit(&self, commit: &Commit) -> Result<CommitOutcome, KvError> {
        if commit.len() > MAX_COMMIT_LEN {
            return Err(KvError::new(
                KvErrorKind::Other,
                "a commit is larger than the backend takes",
            ));
        }
        let commit = commit.clone();
        self.blocking(move |db| {
            // redb runs one write transaction at a time: nothing commits between the
            // checks below and this transaction's commit.
            let mut txn = db.begin_write().map_err(classify)?;
            txn.set_durability(Durability::Immediate);
            let holds = {
                let mut table = txn.open_table(TABLE).map_err(classify)?;
                let mut holds = true;
                for condition in &commit.conditions {
                    let found = current(&table, &condition.key)?;
                    let ok = match (&condition.expect, found) {
                        (Expect::Absent, None) => true,
                        (Expect::Value(expected), Some(entry)) => entry.value == *expected,
                        _ => false,
                    };
                    if !ok {
                        holds = false;
                        break;
                    }
                }
                if holds {
                    for write in &commit.writes {
                        match write {
                            Write::Put {
                                key,
                                value,
                                expires_at,
                            } => {
                                let stored = encode_value(value, *expires_at);
                                table
                                    .insert(key.as_slice(), stored.as_slice())
                                    .map_err(classify)?;
                            }
                            Write::Delete { key } => {
                                table.remove(key.as_slice()).map_err(classify)?;
                            }
                        }
                    }
                }
                holds
            };
            if holds {
                txn.commit().map_err(classify)?;
                Ok(CommitOutcome::Applied)
            } else {
                txn.abort().map_err(classify)?;
                Ok(CommitOutcome::Conflict)
            }
        })
        .await
    }

    async fn scan(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Key, Entry)>, KvError> {
        let prefix = prefix.to_vec();
        let start_after = start_after.map(<[u8]>::to_vec);
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(classify)?;
            let table = txn.open_table(TABLE).map_err(classify)?;
            let start = match &start_after {
                Some(after) if after.as_slice() >= prefix.as_slice() => {
                    Bound::Excluded(after.as_slice())
                }
                _ => Bound::Included(prefix.as_slice()),
            };
            let range = table
                .range::<&[u8]>((start, Bound::Unbounded))
                .map_err(classify)?;
            let mut out = Vec::new();
            for item in range {
                if out.len() >= limit {
                    break;
                }
                let (key, value) = item.map_err(classify)?;
                let key = key.value();
                if !key.starts_with(&prefix) {
                    break;
                }
                out.push((key.to_vec(), decode_value(value.value())?));
            }
            Ok(out)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use oauth_core::store::{ConsumeOutcome, RotateOutcome};
    use oauth_core::Store;
    use oauth_store_testkit::fixtures::{
        client_id, code_for, tokens_for, tokens_for_code, user_grant, user_id, NOW,
    };

    /// redb storage in memory that counts its syncs: full ones (`fsync`, what
    /// `Durability::Immediate` does) and eventual ones (a write barrier only, what
    /// `Durability::Eventual` does; a process killed after it may keep the data in the
    /// page cache, but a power loss may not).
    #[derive(Debug, Default)]
    struct CountingSyncs {
        inner: redb::backends::InMemoryBackend,
        full: Arc<AtomicUsize>,
        eventual: Arc<AtomicUsize>,
    }

    impl redb::StorageBackend for CountingSyncs {
        fn len(&self) -> Result<u64, std::io::Error> {
            self.inner.len()
        }
        fn read(&self, offset: u64, len: usize) -> Result<Vec<u8>, std::io::Error> {
            self.inner.read(offset, len)
        }
        fn set_len(&self, len: u64) -> Result<(), std::io::Error> {
            self.inner.set_len(len)
        }
        fn sync_data(&self, eventual: bool) -> Result<(), std::io::Error> {
            if eventual {
                self.eventual.fetch_add(1, Ordering::SeqCst);
            } else {
                self.full.fetch_add(1, Ordering::SeqCst);
            }
            self.inner.sync_data(eventual)
        }
        fn write(&self, offset: u64, data: &[u8]) -> Result<(), std::io::Error> {
            self.inner.write(offset, data)
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_applied_commit_is_fsynced_before_it_is_reported() {
        let storage = CountingSyncs::default();
        let (full, eventual) = (storage.full.clone(), storage.eventual.clone());
        let db = redb::Builder::new().create_with_backend(storage).unwrap();
        let backend = RedbBackend::with_database(db, PathBuf::from("in-memory")).unwrap();
        let store = crate::KvStore::new(backend.clone()).unwrap();
        let synced = || full.load(Ordering::SeqCst);

        let grant = user_grant(&user_id(), &client_id());
        let code = code_for(&grant);
        let issued = tokens_for_code(&code);
        let mut before = synced();
        store.create_grant_with_code(&grant, &code).await.unwrap();
        assert!(
            synced() > before,
            "create_grant_with_code returned unsynced"
        );
        before = synced();
        assert_eq!(
            store.consume_code(&code.hash, &issued, NOW).await.unwrap(),
            ConsumeOutcome::Consumed
        );
        assert!(synced() > before, "consume_code returned unsynced");
        before = synced();
        let old = issued.refresh.as_ref().unwrap().hash;
        assert_eq!(
            store
                .rotate_refresh(&old, &tokens_for(&grant), None, NOW)
                .await
                .unwrap(),
            RotateOutcome::Rotated
        );
        assert!(synced() > before, "rotate_refresh returned unsynced");
        before = synced();
        store.revoke_grant(&grant.id).await.unwrap();
        assert!(synced() > before, "revoke_grant returned unsynced");
        assert_eq!(eventual.load(Ordering::SeqCst), 0, "no commit is eventual");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_last_handle_dropped_on_a_worker_closes_the_file_before_returning() {
        let path = std::env::temp_dir().join(format!(
            "oauth-store-kv-drop-{}-{}.redb",
            std::process::id(),
            line!()
        ));
        let _ = std::fs::remove_file(&path);
        let backend = RedbBackend::open(&path).await.unwrap();
        let store = crate::KvStore::new(backend.clone()).unwrap();
        drop(backend);
        // The store's handle is the last: dropped here, on a worker.
        tokio::spawn(async move { drop(store) }).await.unwrap();
        let again = RedbBackend::open(&path).await.unwrap();
        again.close().await;
        drop(RedbBackend::open(&path).await.unwrap());
        let _ = std::fs::remove_file(&path);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn close_releases_the_file_on_a_current_thread_runtime() {
        let path = std::env::temp_dir().join(format!(
            "oauth-store-kv-close-{}-{}.redb",
            std::process::id(),
            line!()
        ));
        let _ = std::fs::remove_file(&path);
        let backend = RedbBackend::open(&path).await.unwrap();
        let clone = backend.clone();
        clone.close().await; // not the last: only this handle goes
        assert!(backend.get(b"k").await.unwrap().is_none());
        backend.close().await;
        RedbBackend::open(&path).await.unwrap().close().await;
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn values_round_trip_with_their_expiry() {
        for (value, expires_at) in [
            (&b""[..], None),
            (b"abc", None),
            (b"abc", Some(UnixTime(0))),
            (b"", Some(UnixTime(u64::MAX))),
        ] {
            let entry = decode_value(&encode_value(value, expires_at)).unwrap();
            assert_eq!(entry.value, value);
            assert_eq!(entry.expires_at, expires_at);
        }
        for bad in [&b""[..], b"\x02abc", b"\x01\x00\x00"] {
            assert_eq!(decode_value(bad).unwrap_err().kind(), KvErrorKind::Corrupt);
        }
    }
}
