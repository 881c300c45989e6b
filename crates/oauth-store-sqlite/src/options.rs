//! How a [`SqliteStore`](crate::SqliteStore) is opened.

use std::path::PathBuf;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection as _, SqliteConnection, SqlitePool};

use crate::error::{is_busy, Retry};
use crate::{OpenError, SqliteStore};

/// When SQLite makes a commit durable (`PRAGMA synchronous`, in WAL mode).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Durability {
    /// Every commit is synced to disk before it returns (`FULL`): a revocation, a
    /// redeemed code or a rotation survives a power loss. The default.
    #[default]
    Full,
    /// Commits survive a crash of the process but the last ones may be lost on power
    /// loss or an OS crash (`NORMAL`), and are much faster. A lost commit can bring back
    /// a revoked grant: choose this only where that is acceptable.
    Normal,
}

/// Where the connections come from.
#[derive(Debug)]
enum Source {
    File(PathBuf),
    Pool(SqlitePool),
}

/// Options for [`SqliteStore`]: the database, the table prefix, the pool and the
/// contention limits. Built with [`SqliteStoreOptions::new`] (a file) or
/// [`SqliteStoreOptions::with_pool`] (a pool the host shares), then [`open`](Self::open)ed.
#[derive(Debug)]
#[must_use]
pub struct SqliteStoreOptions {
    source: Source,
    prefix: String,
    max_connections: u32,
    acquire_timeout: Duration,
    busy_timeout: Duration,
    busy_attempts: u32,
    durability: Durability,
    migrate_on_open: bool,
}

/// The longest table prefix accepted.
pub const MAX_PREFIX_LEN: usize = 32;

impl SqliteStoreOptions {
    /// A store in the database file at `path`, created if missing, with the defaults:
    /// no table prefix, 8 connections, `FULL` durability, a 2 s busy timeout tried 3
    /// times, migrations applied on open.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self::from_source(Source::File(path.into()))
    }

    /// A store on a pool the host made and may share with its own tables.
    ///
    /// The pool's connections must enforce foreign keys (sqlx's default) and should use
    /// WAL and a busy timeout; [`open`](Self::open) refuses a pool whose connection has
    /// foreign keys off. The pool, durability and busy-timeout options here do not apply.
    pub fn with_pool(pool: SqlitePool) -> Self {
        Self::from_source(Source::Pool(pool))
    }

    fn from_source(source: Source) -> Self {
        SqliteStoreOptions {
            source,
            prefix: String::new(),
            max_connections: 8,
            acquire_timeout: Duration::from_secs(5),
            busy_timeout: Duration::from_secs(2),
            busy_attempts: 3,
            durability: Durability::Full,
            migrate_on_open: true,
        }
    }

    /// Names this store's tables `{prefix}clients`, `{prefix}grants`, ..., so that
    /// several stores (several providers) can share one database. At most
    /// [`MAX_PREFIX_LEN`] characters of `a-z`, `0-9` and `_`, not starting with a digit.
    pub fn table_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The most connections the pool opens (at least 1). SQLite has one writer at a
    /// time; more connections serve more concurrent reads.
    pub fn max_connections(mut self, max: u32) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// How long an operation waits for a pooled connection, and a write for its turn
    /// among this store's writers, before failing as unavailable (default 5 s).
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }

    /// How long SQLite waits for another connection's write lock (`busy_timeout`), and
    /// how many times a busy operation is attempted before it fails as a conflict.
    pub fn busy(mut self, timeout: Duration, attempts: u32) -> Self {
        self.busy_timeout = timeout;
        self.busy_attempts = attempts.max(1);
        self
    }

    /// When commits reach the disk; see [`Durability`].
    pub fn durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    /// Whether [`open`](Self::open) applies pending migrations (the default). Without,
    /// it refuses a database (or a missing file) that is not at the latest schema
    /// version with [`OpenError::SchemaOutdated`]: the servers never change the schema,
    /// and a deployment step migrates it by opening it once with migrations on.
    pub fn migrate_on_open(mut self, migrate: bool) -> Self {
        self.migrate_on_open = migrate;
        self
    }

    /// Opens the store: connects, checks the prefix and the schema, migrates if asked.
    pub async fn open(self) -> Result<SqliteStore, OpenError> {
        validate_prefix(&self.prefix)?;
        let pool = match self.source {
            Source::Pool(pool) => {
                let foreign_keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
                    .fetch_one(&pool)
                    .await?;
                if foreign_keys != 1 {
                    return Err(OpenError::ForeignKeysOff);
                }
                pool
            }
            Source::File(path) => {
                if path.as_os_str() == ":memory:" || path.to_string_lossy().starts_with("file:") {
                    return Err(OpenError::NotAFile);
                }
                if !self.migrate_on_open && !path.exists() {
                    return Err(OpenError::SchemaOutdated {
                        found: 0,
                        latest: crate::migrate::latest_version(),
                    });
                }
                create_private(&path)?;
                let connect = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(match self.durability {
                        Durability::Full => SqliteSynchronous::Full,
                        Durability::Normal => SqliteSynchronous::Normal,
                    })
                    .foreign_keys(true)
                    .busy_timeout(self.busy_timeout);
                switch_to_wal(&connect, self.busy_timeout).await?;
                SqlitePoolOptions::new()
                    .max_connections(self.max_connections)
                    .acquire_timeout(self.acquire_timeout)
                    // No ping before each use: a local file does not drop connections, a
                    // failed statement surfaces as an error anyway, and the ping is a
                    // round trip to the connection's thread on every store call.
                    .test_before_acquire(false)
                    .connect_with(connect)
                    .await?
            }
        };
        let retry = Retry {
            attempts: self.busy_attempts,
            backoff: Duration::from_millis(20),
        };
        let store = SqliteStore::assemble(pool, &self.prefix, retry, self.acquire_timeout);
        if self.migrate_on_open {
            store.migrate().await?;
        } else {
            let found = store.schema_version().await?;
            let latest = crate::migrate::latest_version();
            if found != latest {
                return Err(OpenError::SchemaOutdated { found, latest });
            }
        }
        Ok(store)
    }
}

/// Puts the database in WAL mode through one connection, retrying while another
/// process does the same. Switching a new file to WAL needs an exclusive lock, and
/// SQLite answers `SQLITE_BUSY` at once rather than waiting out the busy timeout; once
/// the file is in WAL mode, the pool's connections find it so and never contend.
async fn switch_to_wal(
    connect: &SqliteConnectOptions,
    busy_timeout: Duration,
) -> Result<(), OpenError> {
    let deadline = tokio::time::Instant::now() + busy_timeout;
    loop {
        match SqliteConnection::connect_with(connect).await {
            Ok(conn) => {
                conn.close().await?;
                return Ok(());
            }
            Err(error) if is_busy(&error) && tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            Err(error) => return Err(error.into()),
        }
    }
}

/// Creates a missing database file readable by the server's user only (SQLite would
/// create it world-readable under the usual umask; its `-wal` and `-shm` files take the
/// database file's permissions). An existing file is left as it is.
fn create_private(path: &std::path::Path) -> Result<(), OpenError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(OpenError::Create(error)),
    }
}

/// Checks that `prefix` is safe to splice into SQL identifiers.
fn validate_prefix(prefix: &str) -> Result<(), OpenError> {
    // An unquoted SQL identifier cannot start with a digit.
    let valid = prefix.len() <= MAX_PREFIX_LEN
        && !prefix.starts_with(|c: char| c.is_ascii_digit())
        && prefix
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(OpenError::InvalidPrefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_prefix_accepts_lowercase_digits_and_underscores_only() {
        assert!(validate_prefix("").is_ok());
        assert!(validate_prefix("tenant_42_").is_ok());
        for bad in [
            "Tenant",
            "1tenant_",
            "a-b",
            "a b",
            "x;DROP TABLE",
            "é",
            "\"q\"",
            &"a".repeat(33),
        ] {
            assert!(
                matches!(validate_prefix(bad), Err(OpenError::InvalidPrefix)),
                "{bad}"
            );
        }
    }
}
