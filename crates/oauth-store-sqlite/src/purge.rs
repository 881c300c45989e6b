//! Deleting expired records in bounded batches, and the optional background task that
//! does it on a schedule.

use std::sync::Arc;
use std::time::Duration;

use oauth_core::{Clock, Store, UnixTime};
use sqlx::SqliteConnection;
use tokio::task::JoinHandle;

use crate::codec::{db_time, query_limit};
use crate::error::Failure;
use crate::sql::Purge;
use crate::SqliteStore;

/// Deletes at most `limit` (> 0) records expired at `now`, inside the caller's
/// transaction; returns how many.
///
/// Expired codes, tokens and markers go first, each through its expiry index. Then
/// expired grants, oldest first, each with what is left under it: its children count
/// against the limit one by one and the grant itself goes last, so a purge that runs out
/// of budget halfway resumes with the same grant next time.
pub(crate) async fn purge_expired(
    purge: &Purge,
    grant_delete: &str,
    conn: &mut SqliteConnection,
    now: UnixTime,
    limit: usize,
) -> Result<usize, Failure> {
    let now = db_time(now);
    let mut removed: u64 = 0;
    let limit = u64::try_from(limit).unwrap_or(u64::MAX);
    let budget = |removed: u64| query_limit(usize::try_from(limit - removed).unwrap_or(usize::MAX));

    for statement in &purge.expired {
        if removed >= limit {
            break;
        }
        removed += sqlx::query(statement)
            .bind(now)
            .bind(budget(removed))
            .execute(&mut *conn)
            .await?
            .rows_affected();
    }

    'grants: while removed < limit {
        let grants: Vec<String> = sqlx::query_scalar(&purge.expired_grants)
            .bind(now)
            .bind(budget(removed))
            .fetch_all(&mut *conn)
            .await?;
        if grants.is_empty() {
            break;
        }
        for grant in &grants {
            for statement in &purge.children {
                if removed >= limit {
                    break 'grants;
                }
                removed += sqlx::query(statement)
                    .bind(grant.as_str())
                    .bind(budget(removed))
                    .execute(&mut *conn)
                    .await?
                    .rows_affected();
            }
            if removed >= limit {
                break 'grants;
            }
            removed += sqlx::query(grant_delete)
                .bind(grant.as_str())
                .execute(&mut *conn)
                .await?
                .rows_affected();
        }
    }
    Ok(usize::try_from(removed).unwrap_or(usize::MAX))
}

/// The pause between two batches of one purge run.
const PAUSE_BETWEEN_BATCHES: Duration = Duration::from_millis(5);

/// The shortest period accepted (a zero period would make the timer panic).
const MIN_PERIOD: Duration = Duration::from_millis(1);

/// How often the background purge runs and how much it deletes per transaction.
#[derive(Clone, Copy, Debug)]
pub struct PurgeSchedule {
    /// The pause between two runs (at least 1 ms).
    pub every: Duration,
    /// The most records deleted in one transaction (one hold of the write lock). A run
    /// repeats batches until one comes back short.
    pub batch: usize,
}

impl Default for PurgeSchedule {
    /// Every minute, 500 records per transaction.
    fn default() -> Self {
        PurgeSchedule {
            every: Duration::from_secs(60),
            batch: 500,
        }
    }
}

/// A running background purge. Dropping it (or [`stop`](Self::stop)) ends it.
#[derive(Debug)]
#[must_use = "the purge task stops when its handle is dropped"]
pub struct PurgeTask {
    handle: JoinHandle<()>,
}

impl PurgeTask {
    /// Stops the task. A batch in progress is rolled back, unless it was already
    /// committing.
    pub fn stop(self) {
        // Drop aborts.
    }
}

impl Drop for PurgeTask {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

impl SqliteStore {
    /// Starts a Tokio task that purges expired records on `schedule`, reading the time
    /// from `clock` (the store itself never reads a clock). A failed run is logged and
    /// the next one tried on schedule. Fails outside a Tokio runtime; the runtime needs
    /// its time driver (`enable_time`).
    pub fn spawn_purge_task(
        &self,
        clock: Arc<dyn Clock>,
        schedule: PurgeSchedule,
    ) -> Result<PurgeTask, tokio::runtime::TryCurrentError> {
        let runtime = tokio::runtime::Handle::try_current()?;
        let store = self.clone();
        let batch = schedule.batch.max(1);
        let every = schedule.every.max(MIN_PERIOD);
        let handle = runtime.spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let now = clock.now();
                let mut total = 0usize;
                loop {
                    match store.purge_expired(now, batch).await {
                        Ok(removed) => {
                            total += removed;
                            if removed < batch {
                                break;
                            }
                            // Let other writers in between two batches: in this process
                            // the gate is fair, but another process's busy handler polls,
                            // so it needs the lock to stay free for a moment.
                            tokio::time::sleep(PAUSE_BETWEEN_BATCHES).await;
                        }
                        Err(error) => {
                            tracing::warn!(%error, "purging expired OAuth records failed");
                            break;
                        }
                    }
                }
                if total > 0 {
                    tracing::debug!(removed = total, "purged expired OAuth records");
                }
            }
        });
        Ok(PurgeTask { handle })
    }
}
