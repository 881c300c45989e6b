//! Write transactions that survive cancellation.
//!
//! A future dropped at an await point (a client disconnecting, a timeout, a stopped
//! purge task) must never leave an open transaction on a pooled connection: the next
//! user of that connection would write inside it, be told its writes succeeded, and hold
//! SQLite's write lock for every other connection. sqlx's own `begin` has such a window
//! (between SQLite acknowledging `BEGIN` and the `Transaction` value existing), so the
//! store runs `BEGIN IMMEDIATE`, `COMMIT` and `ROLLBACK` itself on a connection held by
//! [`WriteTx`], which closes the connection instead of returning it to the pool unless
//! the transaction is known to have ended. Closing a SQLite connection rolls back its
//! open transaction and releases its locks.

use sqlx::pool::PoolConnection;
use sqlx::{Connection, Sqlite, SqliteConnection, SqlitePool};

/// A pooled connection inside `BEGIN IMMEDIATE`.
pub(crate) struct WriteTx {
    conn: PoolConnection<Sqlite>,
    /// Whether a transaction may be open on `conn`: from just before `BEGIN` is sent
    /// until `COMMIT` or `ROLLBACK` is known to have completed.
    open: bool,
}

impl WriteTx {
    /// Takes a connection from `pool` and begins an immediate transaction on it (waiting
    /// for SQLite's write lock up to the busy timeout).
    pub(crate) async fn begin(pool: &SqlitePool) -> Result<WriteTx, sqlx::Error> {
        let mut conn = pool.acquire().await?;
        if conn.is_in_transaction() {
            // A host-shared pool handed out a connection that sqlx knows to be inside a
            // transaction: never write inside someone else's transaction.
            conn.close_on_drop();
            drop(conn);
            conn = pool.acquire().await?;
        }
        let mut tx = WriteTx { conn, open: true };
        match sqlx::query("BEGIN IMMEDIATE").execute(&mut *tx.conn).await {
            Ok(_) => Ok(tx),
            Err(error) => {
                // A failed BEGIN (busy, say) opened nothing.
                tx.open = false;
                Err(error)
            }
        }
    }

    /// The connection, for the statements of the transaction.
    pub(crate) fn conn(&mut self) -> &mut SqliteConnection {
        &mut self.conn
    }

    /// Commits. On failure the transaction is rolled back (or, if that fails too, the
    /// connection is closed), so nothing of it remains either way.
    pub(crate) async fn commit(mut self) -> Result<(), sqlx::Error> {
        match sqlx::query("COMMIT").execute(&mut *self.conn).await {
            Ok(_) => {
                self.open = false;
                Ok(())
            }
            Err(error) => {
                self.rollback().await;
                Err(error)
            }
        }
    }

    /// Rolls back; if that fails, the connection is closed when dropped.
    pub(crate) async fn rollback(mut self) {
        if sqlx::query("ROLLBACK")
            .execute(&mut *self.conn)
            .await
            .is_ok()
        {
            self.open = false;
        }
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        if self.open {
            self.conn.close_on_drop();
        }
    }
}
