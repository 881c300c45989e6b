//! Versioned schema migrations, embedded in the crate.
//!
//! Each migration is a SQL script with `{prefix}` where the table prefix goes. Applied
//! migrations are recorded in `{prefix}schema_migrations` with a SHA-256 of their script
//! (before the prefix is filled in), so a database is refused if the code it is opened
//! with has changed a migration that was already applied, or does not know a migration
//! that was (a newer version of the crate wrote it: downgrades are refused rather than
//! run against a schema this code does not understand).
//!
//! All pending migrations are applied in one `IMMEDIATE` transaction: a failure leaves
//! the database as it was, and two processes migrating at once are serialized by
//! SQLite's write lock (the second one finds nothing left to do).

use sha2::{Digest, Sha256};
use sqlx::{Executor, Row, SqliteConnection, SqlitePool};

use crate::error::is_busy;
use crate::write::WriteTx;
use crate::OpenError;

/// One embedded migration.
#[derive(Debug)]
pub(crate) struct Migration {
    pub(crate) version: i64,
    pub(crate) name: &'static str,
    pub(crate) script: &'static str,
}

/// Every migration, in order. Never edit one that has shipped: add the next instead.
pub(crate) const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        script: include_str!("../migrations/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "client_registration",
        script: include_str!("../migrations/0002_client_registration.sql"),
    },
];

/// The schema version this code reads and writes.
pub(crate) fn latest_version() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// The SHA-256 of a script with its line endings normalised, so a checkout with CRLF
/// line endings records the same checksum as one with LF.
fn checksum(script: &str) -> Vec<u8> {
    Sha256::digest(script.replace("\r\n", "\n").as_bytes()).to_vec()
}

/// Applies every migration up to `target` that the database lacks; returns the version
/// the database is at afterwards. Waiting for the write lock is retried a few times (an
/// open may meet another process's purge batch).
pub(crate) async fn migrate(
    pool: &SqlitePool,
    prefix: &str,
    target: i64,
) -> Result<i64, OpenError> {
    const ATTEMPTS: u32 = 3;
    let mut attempt = 1;
    let mut tx = loop {
        match WriteTx::begin(pool).await {
            Ok(tx) => break tx,
            Err(error) if is_busy(&error) && attempt < ATTEMPTS => {
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            Err(error) => return Err(error.into()),
        }
    };
    match apply(tx.conn(), prefix, target).await {
        Ok(version) => {
            tx.commit().await?;
            Ok(version)
        }
        Err(error) => {
            tx.rollback().await;
            Err(error)
        }
    }
}

/// The body of [`migrate`], inside its transaction.
async fn apply(conn: &mut SqliteConnection, prefix: &str, target: i64) -> Result<i64, OpenError> {
    // `Executor::execute(conn, raw_sql)` rather than `raw_sql(..).execute(conn)`: the
    // latter makes the calling future non-`Send` (sqlx issue #3150).
    let create = format!(
        "CREATE TABLE IF NOT EXISTS {prefix}schema_migrations (
             version  INTEGER NOT NULL PRIMARY KEY,
             name     TEXT    NOT NULL,
             checksum BLOB    NOT NULL
         ) STRICT"
    );
    Executor::execute(&mut *conn, sqlx::raw_sql(&create)).await?;
    let current = verify_applied(conn, prefix).await?;
    for migration in MIGRATIONS
        .iter()
        .filter(|m| m.version > current && m.version <= target)
    {
        let script = migration.script.replace("{prefix}", prefix);
        Executor::execute(&mut *conn, sqlx::raw_sql(&script))
            .await
            .map_err(|source| OpenError::Migration {
                version: migration.version,
                source,
            })?;
        sqlx::query(&format!(
            "INSERT INTO {prefix}schema_migrations (version, name, checksum) VALUES (?1, ?2, ?3)"
        ))
        .bind(migration.version)
        .bind(migration.name)
        .bind(checksum(migration.script))
        .execute(&mut *conn)
        .await?;
        tracing::info!(
            version = migration.version,
            name = migration.name,
            prefix,
            "applied SQLite schema migration"
        );
    }
    Ok(current.max(target.min(latest_version())))
}

/// The version the database is at, without changing it. `0` for a database without
/// this store's tables.
pub(crate) async fn current_version(pool: &SqlitePool, prefix: &str) -> Result<i64, OpenError> {
    let mut conn = pool.acquire().await?;
    let exists: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?1")
            .bind(format!("{prefix}schema_migrations"))
            .fetch_optional(&mut *conn)
            .await?;
    match exists {
        Some(_) => verify_applied(&mut conn, prefix).await,
        None => Ok(0),
    }
}

/// Checks the recorded migrations against the embedded ones; returns the highest.
async fn verify_applied(conn: &mut SqliteConnection, prefix: &str) -> Result<i64, OpenError> {
    let rows = sqlx::query(&format!(
        "SELECT version, checksum FROM {prefix}schema_migrations ORDER BY version"
    ))
    .fetch_all(&mut *conn)
    .await?;
    let mut current = 0;
    for row in rows {
        let version: i64 = row.try_get(0)?;
        let recorded: Vec<u8> = row.try_get(1)?;
        let known =
            MIGRATIONS
                .iter()
                .find(|m| m.version == version)
                .ok_or(OpenError::SchemaTooNew {
                    found: version,
                    latest: latest_version(),
                })?;
        if checksum(known.script) != recorded {
            return Err(OpenError::MigrationChanged { version });
        }
        current = current.max(version);
    }
    Ok(current)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_from_one_without_gaps() {
        for (index, migration) in MIGRATIONS.iter().enumerate() {
            assert_eq!(migration.version, i64::try_from(index).unwrap() + 1);
        }
    }

    #[test]
    fn every_table_and_index_name_carries_the_prefix() {
        for migration in MIGRATIONS {
            for line in migration.script.lines() {
                let line = line.trim_start();
                if line.starts_with("--") {
                    continue;
                }
                for keyword in [
                    "CREATE TABLE ",
                    "CREATE INDEX ",
                    "ALTER TABLE ",
                    "REFERENCES ",
                ] {
                    if let Some((_, rest)) = line.split_once(keyword) {
                        assert!(
                            rest.starts_with("{prefix}"),
                            "migration {} names an unprefixed object: {line}",
                            migration.version
                        );
                    }
                }
                if line.starts_with("CREATE INDEX ") {
                    assert!(
                        line.contains(" ON {prefix}"),
                        "unprefixed index table: {line}"
                    );
                }
            }
        }
    }
}
