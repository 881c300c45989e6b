//! Fresh database files for the integration tests.
#![allow(dead_code, reason = "each test binary uses a part of this module")]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;
use std::time::{Duration, SystemTime};

use oauth_store_sqlite::{Durability, SqliteStore, SqliteStoreOptions};

/// Where the test databases live: cargo's per-target scratch directory.
fn scratch() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("oauth-store-sqlite")
}

/// A path for a new database file that no other test (in this or another process) uses.
/// Files left by runs more than an hour old are removed on first use.
pub(crate) fn fresh_db_path() -> PathBuf {
    static CLEAN: Once = Once::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let dir = scratch();
    CLEAN.call_once(|| remove_stale(&dir));
    std::fs::create_dir_all(&dir).unwrap();
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    dir.join(format!(
        "{}-{nanos}-{}.db",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ))
}

fn remove_stale(dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    for entry in entries.flatten() {
        let stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|modified| modified < hour_ago);
        if stale {
            let _ = std::fs::remove_file(entry.path());
        }
    }
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
