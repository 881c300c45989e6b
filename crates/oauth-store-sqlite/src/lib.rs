//! # oauth-store-sqlite
//!
//! A durable [`Store`] on SQLite: the embedded default of the example server, and a
//! good choice for any single-node authorization server.
//!
//! ```no_run
//! use oauth_store_sqlite::{SqliteStore, SqliteStoreOptions};
//!
//! # async fn run() -> Result<(), oauth_store_sqlite::OpenError> {
//! // One file; migrations are applied on open.
//! let store = SqliteStore::open("oauth.db").await?;
//!
//! // Or: a table prefix, so two providers can share one database.
//! let tenant = SqliteStoreOptions::new("shared.db")
//!     .table_prefix("tenant_a_")
//!     .open()
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! # What it guarantees
//!
//! - **The contract of [`oauth_core::store`]**, checked by the shared conformance suite
//!   of `oauth-store-testkit`, races included.
//! - **Atomicity.** Every write that touches more than one row (redeeming a code and
//!   storing its tokens, rotating a refresh token, creating a grant with its code) runs
//!   in one `BEGIN IMMEDIATE` transaction: it reads, decides and writes under SQLite's
//!   write lock, so of concurrent redemptions of one code exactly one wins, in this
//!   process or another. Writers of one store also queue on an in-process gate first,
//!   so they wait on each other without SQLite's sleeping busy handler.
//! - **Cascading revocation.** Codes and tokens reference their grant with
//!   `ON DELETE CASCADE`: revoking a grant or a user's grants is one `DELETE` that takes
//!   everything under them in the same statement (a client: its grants, then the client,
//!   in one transaction). Every read of a code or a
//!   token also joins its grant, so nothing outlives its grant even on a connection with
//!   foreign keys off.
//! - **Durability.** WAL journal with `synchronous = FULL` by default (see
//!   [`Durability`]): a committed revocation survives a crash and a power loss.
//! - **Bounded contention.** A busy or locked database is attempted a bounded number of
//!   times ([`SqliteStoreOptions::busy`]), then reported as a
//!   [`StoreErrorKind::Conflict`](oauth_core::StoreErrorKind::Conflict); a writer queued
//!   behind others gives up after the acquire timeout. The provider answers 503.
//! - **Cancellation-safe.** A future dropped mid-write never leaves a transaction open
//!   on a pooled connection (see `write.rs`).
//! - **Typed tables and indexes.** Real columns for every scalar, indexes by hash, grant,
//!   user, client and expiry, so revocation, listing and purging touch only what they
//!   affect. `docs/storage.md` has the schema.
//!
//! # Migrations
//!
//! The schema is versioned; the migrations are embedded in the crate.
//! [`SqliteStoreOptions::open`] applies pending ones by default; with
//! [`migrate_on_open(false)`](SqliteStoreOptions::migrate_on_open) it refuses a database
//! that is not current, so that servers never change the schema and a deployment step
//! (an open with migrations on) does. A database
//! written by a newer version of this crate, or whose applied migrations differ from the
//! embedded ones, is refused.
//!
//! # Housekeeping
//!
//! [`Store::purge_expired`] deletes expired records in bounded batches; a host can run it
//! from its own scheduler or start [`SqliteStore::spawn_purge_task`].
//!
//! # Sharing a pool
//!
//! `sqlx` is re-exported so that a host can build one [`sqlx::SqlitePool`] for its own
//! tables and this store ([`SqliteStoreOptions::with_pool`]).
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

mod codec;
mod error;
mod migrate;
mod options;
mod purge;
mod sql;
mod write;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use oauth_core::model::{
    AccessTokenWithGrant, Client, ClientId, CodeRecord, GrantId, GrantRecord, IssuedTokens, UserId,
};
use oauth_core::store::{
    CodeLookup, ConsumeOutcome, OnceKey, RefreshGrace, RefreshLookup, RotateOutcome,
};
use oauth_core::{Store, StoreError, TokenHash, UnixTime};
use sqlx::{SqliteConnection, SqlitePool};

pub use options::{Durability, SqliteStoreOptions, MAX_PREFIX_LEN};
pub use purge::{PurgeSchedule, PurgeTask};
pub use sqlx;

use codec::{
    bind_access, bind_client, bind_code, bind_grant, bind_refresh, db_time, decode_access,
    decode_client, decode_code, decode_grant, decode_refresh, Columns,
};
use error::{conflict, misuse, Failure, Retry};
use sql::Statements;

/// Runs `$body` (an expression of type `Result<T, Failure>` that may `return` early)
/// with `$conn` bound to a connection inside one `BEGIN IMMEDIATE` transaction, committed
/// if the body succeeds and rolled back otherwise; retried while the database is busy.
/// Writers of one store pass the in-process gate one at a time. Cancellation at any
/// await point leaves no transaction behind ([`write::WriteTx`]).
///
/// A macro rather than a function taking an async closure: the body borrows the
/// connection, and async closures over borrowed arguments cannot yet be proven `Send`.
macro_rules! in_write_transaction {
    ($store:expr, |$conn:ident| $body:expr) => {{
        let inner = &$store.inner;
        let _gate = inner.enter_writer().await?;
        inner
            .retry
            .run(|| async {
                let mut tx = write::WriteTx::begin(&inner.pool).await?;
                let $conn: &mut SqliteConnection = tx.conn();
                let value: Result<_, Failure> = async { $body }.await;
                match value {
                    Ok(value) => {
                        tx.commit().await?;
                        Ok(value)
                    }
                    Err(failure) => {
                        tx.rollback().await;
                        Err(failure)
                    }
                }
            })
            .await
    }};
}

/// Runs a read (an async block of type `Result<T, Failure>`), retried while busy.
macro_rules! read {
    ($store:expr, |$pool:ident| $body:expr) => {{
        let $pool = &$store.inner.pool;
        $store.inner.retry.run(|| async { $body }).await
    }};
}

/// Why a store could not be opened or migrated.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The table prefix is not 0 to 32 characters of `a-z`, `0-9`, `_`, or starts with a
    /// digit.
    #[error("invalid table prefix: use at most 32 characters of a-z, 0-9 and _, not starting with a digit")]
    InvalidPrefix,
    /// The path names an in-memory database or a URI: every pooled connection would get
    /// its own database. Use a file (or `oauth-store-memory` for a store in memory).
    #[error("the SQLite store needs a database file, not an in-memory database or URI")]
    NotAFile,
    /// The database file could not be created.
    #[error("the database file could not be created")]
    Create(#[source] std::io::Error),
    /// The shared pool's connections do not enforce foreign keys.
    #[error("the SQLite pool has foreign keys off; the store needs PRAGMA foreign_keys = ON")]
    ForeignKeysOff,
    /// The database is at an older schema version and migrating on open is off.
    #[error("the database schema is at version {found}, this code needs {latest}: open it once with migrations on")]
    SchemaOutdated {
        /// The database's version.
        found: i64,
        /// The version this code needs.
        latest: i64,
    },
    /// The database was migrated by a newer version of this crate.
    #[error("the database schema version {found} is newer than this code knows ({latest})")]
    SchemaTooNew {
        /// The database's version.
        found: i64,
        /// The newest version this code knows.
        latest: i64,
    },
    /// A migration recorded as applied differs from the embedded one of that version.
    #[error("migration {version} was changed after it was applied to this database")]
    MigrationChanged {
        /// The changed migration.
        version: i64,
    },
    /// A migration failed; nothing of the pending migrations was applied.
    #[error("migration {version} failed")]
    Migration {
        /// The failing migration.
        version: i64,
        /// SQLite's error.
        #[source]
        source: sqlx::Error,
    },
    /// Connecting or querying failed.
    #[error("SQLite failed")]
    Sqlite(#[from] sqlx::Error),
}

/// A [`Store`] on SQLite. Cheap to clone: clones share the pool.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: SqlitePool,
    prefix: String,
    sql: Statements,
    retry: Retry,
    /// Serializes this store's writers in-process: they queue here rather than in
    /// SQLite's busy handler, which sleeps in steps of up to 100 ms.
    writer: tokio::sync::Mutex<()>,
    /// How long a writer waits in that queue before failing as unavailable, so a
    /// database locked by another process cannot pile up waiting requests without bound.
    writer_timeout: std::time::Duration,
}

impl Inner {
    /// Takes this store's turn to write, waiting at most `writer_timeout`.
    async fn enter_writer(&self) -> Result<tokio::sync::MutexGuard<'_, ()>, StoreError> {
        tokio::time::timeout(self.writer_timeout, self.writer.lock())
            .await
            .map_err(|_| {
                StoreError::new(
                    oauth_core::StoreErrorKind::Unavailable,
                    "too many writers are waiting for the SQLite database",
                )
            })
    }
}

impl SqliteStore {
    /// Opens (creating if missing) the database file at `path` with the default
    /// [`SqliteStoreOptions`], applying pending migrations.
    pub async fn open(path: impl Into<std::path::PathBuf>) -> Result<Self, OpenError> {
        SqliteStoreOptions::new(path).open().await
    }

    fn assemble(
        pool: SqlitePool,
        prefix: &str,
        retry: Retry,
        writer_timeout: std::time::Duration,
    ) -> Self {
        SqliteStore {
            inner: Arc::new(Inner {
                pool,
                prefix: prefix.to_owned(),
                sql: Statements::new(prefix),
                retry,
                writer: tokio::sync::Mutex::new(()),
                writer_timeout,
            }),
        }
    }

    /// Applies every embedded migration the database lacks; returns the schema version.
    /// Safe from several processes at once. [`SqliteStoreOptions::open`] calls it.
    pub(crate) async fn migrate(&self) -> Result<i64, OpenError> {
        let _gate = self.inner.writer.lock().await;
        // The migration holds the write lock for its transaction (retried while busy).
        migrate::migrate(
            &self.inner.pool,
            &self.inner.prefix,
            migrate::latest_version(),
        )
        .await
    }

    /// The schema version of the database (0 if this store's tables do not exist).
    pub async fn schema_version(&self) -> Result<i64, OpenError> {
        migrate::current_version(&self.inner.pool, &self.inner.prefix).await
    }

    /// The schema version this code reads and writes.
    #[must_use]
    pub fn latest_schema_version() -> i64 {
        migrate::latest_version()
    }

    /// The connection pool, for a host that keeps its own tables in the same database.
    #[must_use]
    pub fn pool(&self) -> &SqlitePool {
        &self.inner.pool
    }

    /// Closes the pool, waiting for connections in use to be returned. Everything
    /// committed is on disk when it returns.
    pub async fn close(&self) {
        self.inner.pool.close().await;
    }

    /// Runs one writing statement (atomic on its own); returns the rows it changed.
    async fn write_statement<'q>(
        &self,
        query: impl Fn() -> Result<codec::Query<'q>, StoreError>,
    ) -> Result<u64, StoreError> {
        let _gate = self.inner.enter_writer().await?;
        self.inner
            .retry
            .run(|| async { Ok(query()?.execute(&self.inner.pool).await?.rows_affected()) })
            .await
    }
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Records stay out of logs; the store only says what it is.
        f.debug_struct("SqliteStore")
            .field("prefix", &self.inner.prefix)
            .finish_non_exhaustive()
    }
}

/// Refuses tokens that name another grant than the one they are stored under.
fn check_tokens_name(grant_id: &GrantId, tokens: &IssuedTokens) -> Result<(), StoreError> {
    let refresh_grant = tokens.refresh.as_ref().map(|r| &r.grant_id);
    if tokens.access.grant_id != *grant_id || refresh_grant.is_some_and(|g| g != grant_id) {
        return Err(misuse("the tokens name another grant than the one given"));
    }
    Ok(())
}

/// Inserts checked tokens (a duplicate hash fails the transaction as a conflict).
async fn insert_tokens(
    sql: &Statements,
    conn: &mut SqliteConnection,
    tokens: &IssuedTokens,
) -> Result<(), Failure> {
    bind_access(sqlx::query(&sql.access_insert), &tokens.access)?
        .execute(&mut *conn)
        .await?;
    if let Some(refresh) = &tokens.refresh {
        bind_refresh(sqlx::query(&sql.refresh_insert), refresh)?
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// What a code lookup found: the record, whether it was redeemed, whether its grant is
/// live.
struct FoundCode {
    record: CodeRecord,
    consumed: bool,
    grant_live: bool,
}

async fn find_code(
    sql: &Statements,
    conn: impl sqlx::SqliteExecutor<'_>,
    hash: &TokenHash,
    now: UnixTime,
) -> Result<Option<FoundCode>, Failure> {
    let row = sqlx::query(&sql.code_find)
        .bind(&hash.0[..])
        .bind(db_time(now))
        .fetch_optional(conn)
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let mut columns = Columns::new(&row);
    let record = decode_code(&mut columns)?;
    let consumed = columns.optional_time()?.is_some();
    let grant_live = !columns.time()?.is_expired_at(now);
    Ok(Some(FoundCode {
        record,
        consumed,
        grant_live,
    }))
}

/// What a refresh-token lookup found.
enum FoundRefresh {
    Active(oauth_core::model::RefreshTokenRecord),
    Retired {
        grant_id: GrantId,
        client_id: ClientId,
        retired_at: UnixTime,
    },
}

async fn find_refresh(
    sql: &Statements,
    conn: impl sqlx::SqliteExecutor<'_>,
    hash: &TokenHash,
    now: UnixTime,
) -> Result<Option<FoundRefresh>, Failure> {
    let row = sqlx::query(&sql.refresh_find)
        .bind(&hash.0[..])
        .bind(db_time(now))
        .fetch_optional(conn)
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let mut columns = Columns::new(&row);
    let record = decode_refresh(&mut columns)?;
    let retired_at = columns.optional_time()?;
    let grant_live = !columns.time()?.is_expired_at(now);
    Ok(match retired_at {
        // A tombstone answers for its grant even after the grant's expiry (until its own).
        Some(retired_at) => Some(FoundRefresh::Retired {
            grant_id: record.grant_id,
            client_id: record.client_id,
            retired_at,
        }),
        None if grant_live => Some(FoundRefresh::Active(record)),
        None => None,
    })
}

#[async_trait]
impl Store for SqliteStore {
    /// Every conditional write reads, decides and writes in one `BEGIN IMMEDIATE`
    /// transaction, under the database's write lock.
    fn single_use(&self) -> oauth_core::SingleUse {
        oauth_core::SingleUse::Atomic
    }

    async fn client(&self, id: &ClientId) -> Result<Option<Client>, StoreError> {
        let sql = &self.inner.sql;
        read!(self, |pool| {
            let row = sqlx::query(&sql.client_get)
                .bind(id.as_str())
                .fetch_optional(pool)
                .await?;
            Ok(row
                .map(|row| decode_client(&mut Columns::new(&row)))
                .transpose()?)
        })
    }

    async fn put_client(&self, client: &Client) -> Result<(), StoreError> {
        let sql = &self.inner.sql;
        self.write_statement(|| bind_client(sqlx::query(&sql.client_upsert), client))
            .await?;
        Ok(())
    }

    async fn replace_client(&self, client: &Client) -> Result<bool, StoreError> {
        let sql = &self.inner.sql;
        let changed = self
            .write_statement(|| bind_client(sqlx::query(&sql.client_replace), client))
            .await?;
        Ok(changed == 1)
    }

    async fn insert_client(&self, client: &Client) -> Result<bool, StoreError> {
        let sql = &self.inner.sql;
        let inserted = self
            .write_statement(|| bind_client(sqlx::query(&sql.client_insert), client))
            .await?;
        Ok(inserted == 1)
    }

    async fn delete_client(&self, id: &ClientId) -> Result<(), StoreError> {
        let sql = &self.inner.sql;
        in_write_transaction!(self, |conn| {
            sqlx::query(&sql.grants_delete_by_client)
                .bind(id.as_str())
                .execute(&mut *conn)
                .await?;
            sqlx::query(&sql.client_delete)
                .bind(id.as_str())
                .execute(&mut *conn)
                .await?;
            Ok(())
        })
    }

    async fn create_grant_with_code(
        &self,
        grant: &GrantRecord,
        code: &CodeRecord,
    ) -> Result<(), StoreError> {
        if code.grant_id != grant.id {
            return Err(misuse("the code names another grant than the one created"));
        }
        let sql = &self.inner.sql;
        in_write_transaction!(self, |conn| {
            bind_grant(sqlx::query(&sql.grant_insert), grant)?
                .execute(&mut *conn)
                .await?;
            bind_code(sqlx::query(&sql.code_insert), code)?
                .execute(&mut *conn)
                .await?;
            Ok(())
        })
    }

    async fn find_code(&self, hash: &TokenHash, now: UnixTime) -> Result<CodeLookup, StoreError> {
        let sql = &self.inner.sql;
        let found = read!(self, |pool| find_code(sql, pool, hash, now).await)?;
        Ok(match found {
            None => CodeLookup::NotFound,
            Some(code) if code.consumed => CodeLookup::Used(code.record),
            Some(code) if code.grant_live => CodeLookup::Active(code.record),
            Some(_) => CodeLookup::NotFound,
        })
    }

    async fn consume_code(
        &self,
        hash: &TokenHash,
        issued: &IssuedTokens,
        now: UnixTime,
    ) -> Result<ConsumeOutcome, StoreError> {
        let sql = &self.inner.sql;
        in_write_transaction!(self, |conn| {
            let Some(code) = find_code(sql, &mut *conn, hash, now).await? else {
                return Ok(ConsumeOutcome::NotFound);
            };
            if code.consumed {
                return Ok(ConsumeOutcome::AlreadyUsed {
                    grant_id: code.record.grant_id,
                });
            }
            if !code.grant_live {
                return Ok(ConsumeOutcome::NotFound);
            }
            check_tokens_name(&code.record.grant_id, issued)?;
            // Under the write lock the code is still unused; the condition restates it.
            let marked = sqlx::query(&sql.code_mark_consumed)
                .bind(&hash.0[..])
                .bind(db_time(now))
                .execute(&mut *conn)
                .await?
                .rows_affected();
            if marked != 1 {
                return Err(conflict("the code was redeemed concurrently").into());
            }
            insert_tokens(sql, conn, issued).await?;
            Ok(ConsumeOutcome::Consumed)
        })
    }

    async fn grant(&self, id: &GrantId, now: UnixTime) -> Result<Option<GrantRecord>, StoreError> {
        let sql = &self.inner.sql;
        read!(self, |pool| {
            let row = sqlx::query(&sql.grant_get)
                .bind(id.as_str())
                .bind(db_time(now))
                .fetch_optional(pool)
                .await?;
            Ok(row
                .map(|row| decode_grant(&mut Columns::new(&row)))
                .transpose()?)
        })
    }

    async fn grants_for_user(
        &self,
        user: &UserId,
        now: UnixTime,
    ) -> Result<Vec<GrantRecord>, StoreError> {
        let sql = &self.inner.sql;
        read!(self, |pool| {
            let rows = sqlx::query(&sql.grants_for_user)
                .bind(user.as_str())
                .bind(db_time(now))
                .fetch_all(pool)
                .await?;
            Ok(rows
                .iter()
                .map(|row| decode_grant(&mut Columns::new(row)))
                .collect::<Result<Vec<_>, _>>()?)
        })
    }

    async fn revoke_grant(&self, id: &GrantId) -> Result<(), StoreError> {
        let sql = &self.inner.sql;
        self.write_statement(|| Ok(sqlx::query(&sql.grant_delete).bind(id.as_str())))
            .await?;
        Ok(())
    }

    async fn revoke_user_grants(&self, user: &UserId) -> Result<(), StoreError> {
        let sql = &self.inner.sql;
        self.write_statement(|| Ok(sqlx::query(&sql.grants_delete_by_user).bind(user.as_str())))
            .await?;
        Ok(())
    }

    async fn store_tokens(
        &self,
        new_grant: Option<&GrantRecord>,
        tokens: &IssuedTokens,
    ) -> Result<(), StoreError> {
        let grant_id = new_grant.map_or(&tokens.access.grant_id, |grant| &grant.id);
        check_tokens_name(grant_id, tokens)?;
        let sql = &self.inner.sql;
        in_write_transaction!(self, |conn| {
            match new_grant {
                Some(grant) => {
                    bind_grant(sqlx::query(&sql.grant_insert), grant)?
                        .execute(&mut *conn)
                        .await?;
                }
                None => {
                    let exists: Option<i64> = sqlx::query_scalar(&sql.grant_exists)
                        .bind(grant_id.as_str())
                        .fetch_optional(&mut *conn)
                        .await?;
                    if exists.is_none() {
                        // Revoked (or purged) between the decision to issue and this
                        // write: reporting success would be a false one.
                        return Err(conflict("the grant no longer exists").into());
                    }
                }
            }
            insert_tokens(sql, conn, tokens).await
        })
    }

    async fn access_token(
        &self,
        hash: &TokenHash,
        now: UnixTime,
    ) -> Result<Option<AccessTokenWithGrant>, StoreError> {
        let sql = &self.inner.sql;
        read!(self, |pool| {
            let row = sqlx::query(&sql.access_get)
                .bind(&hash.0[..])
                .bind(db_time(now))
                .fetch_optional(pool)
                .await?;
            let Some(row) = row else {
                return Ok(None);
            };
            let mut columns = Columns::new(&row);
            let token = decode_access(&mut columns)?;
            let grant = decode_grant(&mut columns)?;
            Ok(Some(AccessTokenWithGrant { token, grant }))
        })
    }

    async fn revoke_access_token(&self, hash: &TokenHash) -> Result<(), StoreError> {
        let sql = &self.inner.sql;
        self.write_statement(|| Ok(sqlx::query(&sql.access_delete).bind(&hash.0[..])))
            .await?;
        Ok(())
    }

    async fn find_refresh(
        &self,
        hash: &TokenHash,
        now: UnixTime,
    ) -> Result<RefreshLookup, StoreError> {
        let sql = &self.inner.sql;
        let found = read!(self, |pool| find_refresh(sql, pool, hash, now).await)?;
        Ok(match found {
            None => RefreshLookup::NotFound,
            Some(FoundRefresh::Active(record)) => RefreshLookup::Active(record),
            Some(FoundRefresh::Retired {
                grant_id,
                client_id,
                retired_at,
            }) => RefreshLookup::Retired {
                grant_id,
                client_id,
                retired_at,
            },
        })
    }

    async fn rotate_refresh(
        &self,
        old: &TokenHash,
        successor: &IssuedTokens,
        grace: Option<&RefreshGrace>,
        now: UnixTime,
    ) -> Result<RotateOutcome, StoreError> {
        let sql = &self.inner.sql;
        let grace_until = grace.map(|g| db_time(g.until));
        in_write_transaction!(self, |conn| {
            let record = match find_refresh(sql, &mut *conn, old, now).await? {
                None => return Ok(RotateOutcome::NotFound),
                Some(FoundRefresh::Retired { grant_id, .. }) => {
                    return Ok(RotateOutcome::Reused { grant_id })
                }
                Some(FoundRefresh::Active(record)) => record,
            };
            check_tokens_name(&record.grant_id, successor)?;
            let retired = sqlx::query(&sql.refresh_retire)
                .bind(&old.0[..])
                .bind(db_time(now))
                .bind(grace.map(|g| &g.sealed_successor[..]))
                .bind(grace_until)
                .execute(&mut *conn)
                .await?
                .rows_affected();
            if retired != 1 {
                return Err(conflict("the refresh token was rotated concurrently").into());
            }
            insert_tokens(sql, conn, successor).await?;
            Ok(RotateOutcome::Rotated)
        })
    }

    async fn claim_refresh_grace(
        &self,
        retired: &TokenHash,
        now: UnixTime,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let sql = &self.inner.sql;
        in_write_transaction!(self, |conn| {
            let row: Option<(Vec<u8>, i64)> = sqlx::query_as(&sql.grace_get)
                .bind(&retired.0[..])
                .fetch_optional(&mut *conn)
                .await?;
            let Some((successor, until)) = row else {
                return Ok(None);
            };
            // Taken whether or not it is still live: a grace is handed out at most once.
            sqlx::query(&sql.grace_clear)
                .bind(&retired.0[..])
                .execute(&mut *conn)
                .await?;
            Ok((until > db_time(now)).then_some(successor))
        })
    }

    async fn insert_once(
        &self,
        key: OnceKey,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let sql = &self.inner.sql;
        let expires_at = codec::db_time(expires_at);
        let inserted = self
            .write_statement(|| {
                Ok(sqlx::query(&sql.once_insert)
                    .bind(key.namespace)
                    .bind(&key.key[..])
                    .bind(expires_at)
                    .bind(db_time(now)))
            })
            .await?;
        Ok(inserted == 1)
    }

    async fn purge_expired(&self, now: UnixTime, limit: usize) -> Result<usize, StoreError> {
        if limit == 0 {
            return Ok(0);
        }
        let sql = &self.inner.sql;
        in_write_transaction!(self, |conn| purge::purge_expired(
            &sql.purge,
            &sql.grant_delete,
            conn,
            now,
            limit
        )
        .await)
    }
}

#[cfg(test)]
mod scale_tests;
#[cfg(test)]
mod tests;
