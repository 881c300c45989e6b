//! How SQLite failures become [`StoreError`]s, and the bounded retry of busy databases.
//!
//! SQLite reports lock contention as `SQLITE_BUSY` (another connection, perhaps in another
//! process, holds the write lock longer than the busy timeout, or a WAL recovery is
//! running) or `SQLITE_LOCKED`. Every operation of the store is a single statement or an
//! `IMMEDIATE` transaction that is rolled back on failure, so running it again is safe:
//! [`Retry`] does so a bounded number of times and then reports
//! [`StoreErrorKind::Conflict`], which the driver answers with 503.

use std::future::Future;
use std::time::Duration;

use oauth_core::{StoreError, StoreErrorKind};

/// A failed attempt: worth retrying (busy) or final.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The database was busy or locked; the attempt changed nothing.
    Busy(sqlx::Error),
    /// Anything else, already classified.
    Final(StoreError),
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Self {
        Failure::Final(error)
    }
}

impl From<sqlx::Error> for Failure {
    fn from(error: sqlx::Error) -> Self {
        if is_busy(&error) {
            Failure::Busy(error)
        } else {
            Failure::Final(classify(error))
        }
    }
}

// SQLite's primary result codes (the low byte of an extended code).
const SQLITE_BUSY: i64 = 5;
const SQLITE_LOCKED: i64 = 6;
const SQLITE_READONLY: i64 = 8;
const SQLITE_IOERR: i64 = 10;
const SQLITE_CORRUPT: i64 = 11;
const SQLITE_FULL: i64 = 13;
const SQLITE_CANTOPEN: i64 = 14;
const SQLITE_NOTADB: i64 = 26;

/// The primary SQLite result code of a database error.
fn primary_code(error: &sqlx::Error) -> Option<i64> {
    let sqlx::Error::Database(db) = error else {
        return None;
    };
    db.code()
        .and_then(|code| code.parse::<i64>().ok())
        .map(|code| code & 0xff)
}

/// Whether `error` is SQLite contention (`SQLITE_BUSY*` or `SQLITE_LOCKED*`).
pub(crate) fn is_busy(error: &sqlx::Error) -> bool {
    matches!(primary_code(error), Some(SQLITE_BUSY | SQLITE_LOCKED))
}

/// Maps a non-busy sqlx error to the store's error kinds, keeping it as the source.
pub(crate) fn classify(error: sqlx::Error) -> StoreError {
    let (kind, message) = match (&error, primary_code(&error)) {
        (_, Some(SQLITE_READONLY | SQLITE_IOERR | SQLITE_FULL | SQLITE_CANTOPEN)) => (
            StoreErrorKind::Unavailable,
            "the SQLite database cannot be read or written (disk, permissions)",
        ),
        (_, Some(SQLITE_CORRUPT | SQLITE_NOTADB)) => (
            StoreErrorKind::Corrupt,
            "the SQLite database file is corrupt",
        ),
        _ => classify_by_kind(&error),
    };
    StoreError::with_source(kind, message, error)
}

/// The classification of errors that carry no telling SQLite result code.
fn classify_by_kind(error: &sqlx::Error) -> (StoreErrorKind, &'static str) {
    match error {
        sqlx::Error::Database(db) if db.is_unique_violation() => (
            StoreErrorKind::Conflict,
            "a record with this id or hash exists already",
        ),
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => (
            StoreErrorKind::Conflict,
            "the grant the record belongs to does not exist",
        ),
        sqlx::Error::Database(db) if db.is_check_violation() => (
            StoreErrorKind::Other,
            "a record violates a table constraint",
        ),
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::WorkerCrashed => (
            StoreErrorKind::Unavailable,
            "the SQLite database is unavailable",
        ),
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => (
            StoreErrorKind::Corrupt,
            "a stored record could not be decoded",
        ),
        _ => (StoreErrorKind::Other, "SQLite failed"),
    }
}

/// A record that decodes but breaks an invariant of the model.
pub(crate) fn corrupt(message: &'static str) -> StoreError {
    StoreError::new(StoreErrorKind::Corrupt, message)
}

/// A caller handed the store records that contradict each other.
pub(crate) fn misuse(message: &'static str) -> StoreError {
    StoreError::new(StoreErrorKind::Other, message)
}

/// A write refused because it would overwrite or orphan a record.
pub(crate) fn conflict(message: &'static str) -> StoreError {
    StoreError::new(StoreErrorKind::Conflict, message)
}

/// How often a busy operation is attempted, and how long to wait between attempts
/// (on top of SQLite's own busy timeout, which each attempt waits first).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Retry {
    pub(crate) attempts: u32,
    pub(crate) backoff: Duration,
}

impl Retry {
    /// Runs `attempt` until it succeeds, fails finally, or is busy `attempts` times.
    pub(crate) async fn run<T, F, Fut>(self, mut attempt: F) -> Result<T, StoreError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, Failure>>,
    {
        let mut tries = 0;
        loop {
            tries += 1;
            match attempt().await {
                Ok(value) => return Ok(value),
                Err(Failure::Final(error)) => return Err(error),
                Err(Failure::Busy(error)) if tries >= self.attempts.max(1) => {
                    return Err(StoreError::with_source(
                        StoreErrorKind::Conflict,
                        "the SQLite database stayed busy",
                        error,
                    ));
                }
                Err(Failure::Busy(error)) => {
                    tracing::debug!(%error, tries, "SQLite busy, retrying");
                    tokio::time::sleep(self.backoff * tries).await;
                }
            }
        }
    }
}
