//! Fresh database files for the integration tests.
#![allow(dead_code, reason = "each test binary uses a part of this module")]

use std::path::PathBuf;

use oauth_store_sqlite::{Durability, SqliteStore, SqliteStoreOptions};

/// A path for a new database file that no other test (in this or another process) uses,
/// in cargo's per-target scratch directory.
pub(crate) fn fresh_db_path() -> PathBuf {
    oauth_store_testkit::scratch::fresh_file(
        &PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("oauth-store-sqlite"),
        "db",
    )
}

/// A store on a fresh database file, with default options but `NORMAL` durability
/// (these tests do not cut the power; the durability tests use the default).
pub(crate) async fn fresh_store() -> SqliteStore {
    SqliteStoreOptions::new(fresh_db_path())
        .durability(Durability::Normal)
        .open()
        .await
        .unwrap()
}

/// Removes a database file with its `-wal` and `-shm` files (missing ones are fine).
pub(crate) fn remove_db_files(path: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        let _ = std::fs::remove_file(file);
    }
}
