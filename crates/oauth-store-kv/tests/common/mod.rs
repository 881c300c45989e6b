//! Test backends and fresh redb files for the integration tests.
//!
//! [`FaultyKv`] is the second backend the crate is tested on: in-process (a `BTreeMap`
//! under a mutex, each commit one critical section, so it is a correct atomic backend),
//! which can inject
//! - spurious commit conflicts at a rate (as an optimistic transaction aborts), to drive
//!   the store's compare-and-swap retries,
//! - failures of reads, scans and commits, before applying or *after* applying a commit
//!   (the reply lost: outcome unknown to the caller),
//! - a hook run once before a chosen commit is applied (a concurrent operation landing
//!   between an operation's reads and its commit, deterministically),
//! - and can declare weaker capabilities than it has, to test the refusal of non-atomic
//!   backends, or a smaller `max_commit_len`. Like a real backend it refuses (with an
//!   error) any commit longer than the `max_commit_len` it declares. Used only in tests.
#![allow(dead_code, reason = "each test binary uses a part of this module")]

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use oauth_store_kv::{
    Capabilities, Commit, CommitOutcome, Entry, Expect, Key, KvBackend, KvError, KvErrorKind,
    KvStore, RedbBackend, Write, MIN_COMMIT_LEN,
};

/// Injected conflicts are drawn per commit with this many parts per million.
pub(crate) const PPM: u64 = 1_000_000;

/// Runs once, before a commit it matches is applied.
pub(crate) struct Hook {
    matches: Box<dyn Fn(&Commit) -> bool + Send + Sync>,
    run: Pin<Box<dyn Future<Output = ()> + Send>>,
}

#[derive(Default)]
pub(crate) struct FaultyKv {
    /// See [`Hook`].
    hook: Mutex<Option<Hook>>,
    /// Commits refused for being longer than the declared `max_commit_len`.
    pub(crate) oversized: AtomicUsize,
    map: Mutex<BTreeMap<Key, Entry>>,
    /// Parts per million of commits answered `Conflict` without applying.
    pub(crate) conflict_ppm: AtomicU64,
    /// Every commit conflicts while set.
    pub(crate) always_conflict: AtomicBool,
    /// The next this-many reads (get, get_many, scan) fail.
    pub(crate) fail_reads: AtomicUsize,
    /// The next this-many scans fail.
    pub(crate) fail_scans: AtomicUsize,
    /// The next this-many commits fail before applying.
    pub(crate) fail_commits: AtomicUsize,
    /// The next this-many commits apply, then fail (the reply is lost).
    pub(crate) fail_after_commit: AtomicUsize,
    /// Commits answered (applied or conflict), for assertions.
    pub(crate) commits: AtomicUsize,
    /// Conflicts injected.
    pub(crate) injected: AtomicUsize,
    rng: AtomicU64,
    capabilities: Mutex<Option<Capabilities>>,
}

impl FaultyKv {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(FaultyKv {
            rng: AtomicU64::new(0x9E37_79B9_7F4A_7C15),
            ..FaultyKv::default()
        })
    }

    /// A backend that injects conflicts into `ppm` of a million commits.
    pub(crate) fn with_conflicts(ppm: u64) -> Arc<Self> {
        let kv = Self::new();
        kv.conflict_ppm.store(ppm, Ordering::Relaxed);
        kv
    }

    /// A backend declaring `capabilities` instead of its own.
    pub(crate) fn declaring(capabilities: Capabilities) -> Arc<Self> {
        let kv = Self::new();
        *kv.capabilities.lock().unwrap() = Some(capabilities);
        kv
    }

    /// A backend that takes commits of at most `max_commit_len` entries.
    pub(crate) fn with_max_commit_len(max_commit_len: usize) -> Arc<Self> {
        Self::declaring(Capabilities::strong(max_commit_len))
    }

    /// Runs `run` once, right before the first later commit for which `matches` holds is
    /// checked and applied (as if it committed concurrently, just before that commit).
    pub(crate) fn before_commit(
        &self,
        matches: impl Fn(&Commit) -> bool + Send + Sync + 'static,
        run: impl Future<Output = ()> + Send + 'static,
    ) {
        *self.hook.lock().unwrap() = Some(Hook {
            matches: Box::new(matches),
            run: Box::pin(run),
        });
    }

    /// Whether the hook set by [`before_commit`](Self::before_commit) has run.
    pub(crate) fn hook_ran(&self) -> bool {
        self.hook.lock().unwrap().is_none()
    }

    /// Keys under `prefix`, for assertions on what is stored.
    pub(crate) fn keys_under(&self, prefix: &str) -> Vec<String> {
        self.map
            .lock()
            .unwrap()
            .keys()
            .filter(|k| k.starts_with(prefix.as_bytes()))
            .map(|k| String::from_utf8_lossy(k).into_owned())
            .collect()
    }

    /// Every key, for assertions.
    pub(crate) fn len(&self) -> usize {
        self.map.lock().unwrap().len()
    }

    /// Overwrites a value directly (fixtures, damage).
    pub(crate) fn raw_put(
        &self,
        key: &str,
        value: &[u8],
        expires_at: Option<oauth_core::UnixTime>,
    ) {
        self.map.lock().unwrap().insert(
            key.as_bytes().to_vec(),
            Entry {
                value: value.to_vec(),
                expires_at,
            },
        );
    }

    /// Removes a key directly.
    pub(crate) fn raw_delete(&self, key: &str) {
        self.map.lock().unwrap().remove(key.as_bytes());
    }

    /// Reads a value directly.
    pub(crate) fn raw_get(&self, key: &str) -> Option<Vec<u8>> {
        self.map
            .lock()
            .unwrap()
            .get(key.as_bytes())
            .map(|e| e.value.clone())
    }

    fn take(counter: &AtomicUsize) -> bool {
        counter
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }

    /// splitmix64 over a shared counter: deterministic per sequence of draws.
    fn draw(&self) -> u64 {
        let mut z = self
            .rng
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn injected_failure(what: &str) -> KvError {
        KvError::new(KvErrorKind::Unavailable, format!("injected {what} failure"))
    }

    fn read_fault(&self) -> Result<(), KvError> {
        if Self::take(&self.fail_reads) {
            return Err(Self::injected_failure("read"));
        }
        Ok(())
    }
}

#[async_trait]
impl KvBackend for FaultyKv {
    fn capabilities(&self) -> Capabilities {
        self.capabilities
            .lock()
            .unwrap()
            .unwrap_or(Capabilities::strong(256))
    }

    async fn get(&self, key: &[u8]) -> Result<Option<Entry>, KvError> {
        self.read_fault()?;
        Ok(self.map.lock().unwrap().get(key).cloned())
    }

    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Entry>>, KvError> {
        self.read_fault()?;
        let map = self.map.lock().unwrap();
        Ok(keys.iter().map(|k| map.get(k).cloned()).collect())
    }

    async fn commit(&self, commit: &Commit) -> Result<CommitOutcome, KvError> {
        let max = self.capabilities().max_commit_len;
        if commit.len() > max {
            self.oversized.fetch_add(1, Ordering::SeqCst);
            return Err(KvError::new(
                KvErrorKind::Other,
                format!(
                    "a commit of {} entries; this backend takes {max}",
                    commit.len()
                ),
            ));
        }
        let hook = {
            let mut hook = self.hook.lock().unwrap();
            if hook.as_ref().is_some_and(|h| (h.matches)(commit)) {
                hook.take()
            } else {
                None
            }
        };
        if let Some(hook) = hook {
            hook.run.await;
        }
        if Self::take(&self.fail_commits) {
            return Err(Self::injected_failure("commit"));
        }
        let ppm = self.conflict_ppm.load(Ordering::Relaxed);
        if self.always_conflict.load(Ordering::Relaxed) || (ppm > 0 && self.draw() % PPM < ppm) {
            self.injected.fetch_add(1, Ordering::Relaxed);
            self.commits.fetch_add(1, Ordering::Relaxed);
            return Ok(CommitOutcome::Conflict);
        }
        let outcome = {
            let mut map = self.map.lock().unwrap();
            let holds = commit
                .conditions
                .iter()
                .all(|c| match (&c.expect, map.get(&c.key)) {
                    (Expect::Absent, None) => true,
                    (Expect::Value(v), Some(e)) => e.value == *v,
                    _ => false,
                });
            if holds {
                for write in &commit.writes {
                    match write {
                        Write::Put {
                            key,
                            value,
                            expires_at,
                        } => {
                            map.insert(
                                key.clone(),
                                Entry {
                                    value: value.clone(),
                                    expires_at: *expires_at,
                                },
                            );
                        }
                        Write::Delete { key } => {
                            map.remove(key);
                        }
                    }
                }
                CommitOutcome::Applied
            } else {
                CommitOutcome::Conflict
            }
        };
        self.commits.fetch_add(1, Ordering::Relaxed);
        if outcome == CommitOutcome::Applied && Self::take(&self.fail_after_commit) {
            return Err(Self::injected_failure("reply after commit"));
        }
        Ok(outcome)
    }

    async fn scan(
        &self,
        prefix: &[u8],
        start_after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Key, Entry)>, KvError> {
        self.read_fault()?;
        if Self::take(&self.fail_scans) {
            return Err(Self::injected_failure("scan"));
        }
        let map = self.map.lock().unwrap();
        Ok(map
            .range(prefix.to_vec()..)
            .filter(|(k, _)| start_after.is_none_or(|after| k.as_slice() > after))
            .take_while(|(k, _)| k.starts_with(prefix))
            .take(limit)
            .map(|(k, e)| (k.clone(), e.clone()))
            .collect())
    }
}

/// A path for a new database file that no other test (in this or another process) uses,
/// in cargo's per-target scratch directory.
pub(crate) fn fresh_db_path() -> PathBuf {
    oauth_store_testkit::scratch::fresh_file(
        &PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("oauth-store-kv"),
        "redb",
    )
}

/// A store on a fresh redb file.
pub(crate) async fn fresh_redb_store() -> KvStore<RedbBackend> {
    let backend = RedbBackend::open(fresh_db_path()).await.unwrap();
    KvStore::new(backend).unwrap()
}

/// The conflict rate of the fault-injecting conformance run (one commit in four) and the
/// retry bound that lets it pass: 16 injected conflicts in a row happen once in 4^16.
pub(crate) const CONFORMANCE_CONFLICT_PPM: u64 = 250_000;
pub(crate) const CONFORMANCE_MAX_ATTEMPTS: u32 = 16;

/// A store on a fresh fault-injecting backend taking only [`MIN_COMMIT_LEN`]-entry
/// commits (the least a backend may declare), and aborting one commit in four.
pub(crate) fn fresh_small_store() -> KvStore<Arc<FaultyKv>> {
    let kv = FaultyKv::with_max_commit_len(MIN_COMMIT_LEN);
    kv.conflict_ppm
        .store(CONFORMANCE_CONFLICT_PPM, Ordering::Relaxed);
    KvStore::builder(kv)
        .max_attempts(CONFORMANCE_MAX_ATTEMPTS)
        .build()
        .unwrap()
}

/// Whether `commit` deletes a key starting with `prefix`.
pub(crate) fn deletes_under(commit: &Commit, prefix: &str) -> bool {
    commit
        .writes
        .iter()
        .any(|w| matches!(w, Write::Delete { key } if key.starts_with(prefix.as_bytes())))
}

/// Whether `commit` writes (puts) a key starting with `prefix`.
pub(crate) fn puts_under(commit: &Commit, prefix: &str) -> bool {
    commit
        .writes
        .iter()
        .any(|w| matches!(w, Write::Put { key, .. } if key.starts_with(prefix.as_bytes())))
}

/// A store on a fresh fault-injecting backend that aborts one commit in four.
pub(crate) fn fresh_faulty_store() -> KvStore<Arc<FaultyKv>> {
    KvStore::builder(FaultyKv::with_conflicts(CONFORMANCE_CONFLICT_PPM))
        .max_attempts(CONFORMANCE_MAX_ATTEMPTS)
        .build()
        .unwrap()
}
