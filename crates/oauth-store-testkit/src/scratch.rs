//! Fresh database files for tests of stores that keep a file (SQLite, redb).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// A path in `dir` for a new file ending in `.{extension}` that no other test, in this
/// or another process, uses; `dir` is created if missing. Files in `dir` older than an
/// hour (left by earlier runs) are removed the first time a process names `dir`.
///
/// Pass a directory below the test crate's `CARGO_TARGET_TMPDIR`.
///
/// # Panics
///
/// If `dir` cannot be created (a test setup failure).
#[must_use]
pub fn fresh_file(dir: &Path, extension: &str) -> PathBuf {
    static CLEANED: Mutex<Option<HashSet<PathBuf>>> = Mutex::new(None);
    static NEXT: AtomicU64 = AtomicU64::new(0);
    {
        let mut cleaned = CLEANED.lock().unwrap_or_else(|e| e.into_inner());
        if cleaned
            .get_or_insert_with(HashSet::new)
            .insert(dir.to_owned())
        {
            remove_stale(dir);
        }
    }
    std::fs::create_dir_all(dir).expect("the scratch directory");
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    dir.join(format!(
        "{}-{nanos}-{}.{extension}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ))
}

fn remove_stale(dir: &Path) {
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
