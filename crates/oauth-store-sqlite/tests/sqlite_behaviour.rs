//! What the SQLite store guarantees beyond the shared suite: atomicity across separate
//! pools on one file (as two processes would be), bounded busy handling, table
//! prefixes, shared pools and the background purge.

mod common;

use std::sync::Arc;
use std::time::Duration;

use oauth_core::store::{CodeLookup, ConsumeOutcome, RefreshGrace, RotateOutcome};
use oauth_core::{Clock, Store, StoreErrorKind, UnixTime};
use oauth_store_sqlite::sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use oauth_store_sqlite::{Durability, OpenError, PurgeSchedule, SqliteStore, SqliteStoreOptions};
use oauth_store_testkit::fixtures::{
    client, client_id, code_for, once_key, tokens_for, tokens_for_code, user_grant, user_id, NOW,
};

/// Two stores (two pools, two in-process gates) on one database file.
async fn two_stores_on_one_file() -> (SqliteStore, SqliteStore) {
    let path = common::fresh_db_path();
    let open = || {
        SqliteStoreOptions::new(path.clone())
            .durability(Durability::Normal)
            .open()
    };
    (open().await.unwrap(), open().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_consume_through_separate_pools_has_exactly_one_winner() {
    let (a, b) = two_stores_on_one_file().await;
    for _round in 0..20 {
        let grant = user_grant(&user_id(), &client_id());
        let code = code_for(&grant);
        a.create_grant_with_code(&grant, &code).await.unwrap();
        let tasks: Vec<_> = (0..32)
            .map(|i| {
                let store = if i % 2 == 0 { a.clone() } else { b.clone() };
                let code = code.clone();
                tokio::spawn(async move {
                    let tokens = tokens_for_code(&code);
                    let outcome = store.consume_code(&code.hash, &tokens, NOW).await.unwrap();
                    (outcome, tokens)
                })
            })
            .collect();
        let mut winners = Vec::new();
        for task in tasks {
            let (outcome, tokens) = task.await.unwrap();
            match outcome {
                ConsumeOutcome::Consumed => winners.push(tokens),
                ConsumeOutcome::AlreadyUsed { grant_id } => assert_eq!(grant_id, grant.id),
                other => panic!("unexpected outcome {other:?}"),
            }
        }
        assert_eq!(winners.len(), 1, "exactly one redemption wins");
        // Only the winner's tokens were stored.
        let stored: i64 = sqlx_count(&a, "access_tokens", &grant.id.to_string()).await;
        assert_eq!(stored, 1);
        assert!(a
            .access_token(&winners[0].access.hash, NOW)
            .await
            .unwrap()
            .is_some());
        assert!(matches!(
            b.find_code(&code.hash, NOW).await.unwrap(),
            CodeLookup::Used(_)
        ));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_rotation_through_separate_pools_has_exactly_one_successor() {
    let (a, b) = two_stores_on_one_file().await;
    for _round in 0..10 {
        let grant = user_grant(&user_id(), &client_id());
        a.create_grant_with_code(&grant, &code_for(&grant))
            .await
            .unwrap();
        let first = tokens_for(&grant);
        a.store_tokens(None, &first).await.unwrap();
        let old = first.refresh.clone().unwrap().hash;
        let tasks: Vec<_> = (0..32)
            .map(|i| {
                let store = if i % 2 == 0 { a.clone() } else { b.clone() };
                let grant = grant.clone();
                tokio::spawn(async move {
                    store
                        .rotate_refresh(&old, &tokens_for(&grant), None, NOW)
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut rotated = 0;
        for task in tasks {
            match task.await.unwrap() {
                RotateOutcome::Rotated => rotated += 1,
                RotateOutcome::Reused { grant_id } => assert_eq!(grant_id, grant.id),
                other => panic!("unexpected outcome {other:?}"),
            }
        }
        assert_eq!(rotated, 1, "exactly one rotation wins");
        // The first refresh token and exactly one successor.
        assert_eq!(sqlx_count(&b, "refresh_tokens", grant.id.as_str()).await, 2);
    }
}

/// Runs `op` from 32 tasks alternating between the two stores; returns how many got `true`.
async fn race_two_pools<F, Fut>(a: &SqliteStore, b: &SqliteStore, op: F) -> usize
where
    F: Fn(SqliteStore) -> Fut,
    Fut: std::future::Future<Output = bool> + Send + 'static,
{
    let tasks: Vec<_> = (0..32)
        .map(|i| tokio::spawn(op(if i % 2 == 0 { a.clone() } else { b.clone() })))
        .collect();
    let mut wins = 0;
    for task in tasks {
        wins += usize::from(task.await.unwrap());
    }
    wins
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_insert_once_through_separate_pools_has_exactly_one_winner() {
    let (a, b) = two_stores_on_one_file().await;
    for _round in 0..10 {
        let key = once_key("ticket");
        let wins = race_two_pools(&a, &b, |store| async move {
            store.insert_once(key, NOW.plus(60), NOW).await.unwrap()
        })
        .await;
        assert_eq!(wins, 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_insert_client_through_separate_pools_has_exactly_one_winner() {
    let (a, b) = two_stores_on_one_file().await;
    for _round in 0..10 {
        let registered = client(&client_id());
        let wins = race_two_pools(&a, &b, |store| {
            let registered = registered.clone();
            async move { store.insert_client(&registered).await.unwrap() }
        })
        .await;
        assert_eq!(wins, 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_grace_claims_through_separate_pools_have_exactly_one_winner() {
    let (a, b) = two_stores_on_one_file().await;
    for _round in 0..10 {
        let grant = user_grant(&user_id(), &client_id());
        a.create_grant_with_code(&grant, &code_for(&grant))
            .await
            .unwrap();
        let first = tokens_for(&grant);
        a.store_tokens(None, &first).await.unwrap();
        let old = first.refresh.clone().unwrap().hash;
        let grace = RefreshGrace {
            sealed_successor: b"sealed successor".to_vec(),
            until: NOW.plus(30),
        };
        assert_eq!(
            a.rotate_refresh(&old, &tokens_for(&grant), Some(&grace), NOW)
                .await
                .unwrap(),
            RotateOutcome::Rotated
        );
        let wins = race_two_pools(&a, &b, |store| async move {
            match store.claim_refresh_grace(&old, NOW.plus(1)).await.unwrap() {
                Some(sealed) => {
                    assert_eq!(sealed, b"sealed successor");
                    true
                }
                None => false,
            }
        })
        .await;
        assert_eq!(wins, 1);
    }
}

/// Rows of `table` under grant `grant`, counted with raw SQL on the store's pool.
async fn sqlx_count(store: &SqliteStore, table: &str, grant: &str) -> i64 {
    oauth_store_sqlite::sqlx::query_scalar(&format!(
        "SELECT count(*) FROM {table} WHERE grant_id = ?1"
    ))
    .bind(grant)
    .fetch_one(store.pool())
    .await
    .unwrap()
}

#[tokio::test]
async fn busy_database_is_retried_within_a_bound_then_reported_as_conflict() {
    let path = common::fresh_db_path();
    let store = SqliteStoreOptions::new(path.clone())
        .busy(Duration::from_millis(50), 2)
        .open()
        .await
        .unwrap();
    // Another connection (as another process would) holds the write lock.
    let holder = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(SqliteConnectOptions::new().filename(&path))
        .await
        .unwrap();
    let lock = holder.begin_with("BEGIN IMMEDIATE").await.unwrap();

    let key = once_key("ticket");
    let started = std::time::Instant::now();
    let error = store
        .insert_once(key, NOW.plus(60), NOW)
        .await
        .expect_err("the write lock is held elsewhere");
    assert_eq!(error.kind(), StoreErrorKind::Conflict);
    // Both attempts waited out the busy timeout: the bound is the configured one.
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(100),
        "gave up after {waited:?}, before two busy timeouts"
    );
    assert!(waited < Duration::from_secs(2), "waited {waited:?}");
    let grant = user_grant(&user_id(), &client_id());
    let error = store
        .create_grant_with_code(&grant, &code_for(&grant))
        .await
        .expect_err("a transaction cannot start either");
    assert_eq!(error.kind(), StoreErrorKind::Conflict);
    // Reads are not blocked by a writer (WAL).
    assert_eq!(store.grant(&grant.id, NOW).await.unwrap(), None);

    // Nothing was half-written, and once the lock is released writes go through.
    lock.rollback().await.unwrap();
    assert!(store.insert_once(key, NOW.plus(60), NOW).await.unwrap());
    store
        .create_grant_with_code(&grant, &code_for(&grant))
        .await
        .unwrap();
}

#[tokio::test]
async fn invalid_table_prefix_is_refused_before_touching_the_database() {
    for prefix in ["Upper_", "1st_", "a;b", "x\"y", &"p".repeat(33)] {
        let path = common::fresh_db_path();
        let result = SqliteStoreOptions::new(path.clone())
            .table_prefix(prefix)
            .open()
            .await;
        assert!(
            matches!(result, Err(OpenError::InvalidPrefix)),
            "{prefix:?} was accepted"
        );
        assert!(!path.exists(), "nothing is created for a refused prefix");
    }
}

#[tokio::test]
async fn two_prefixes_share_one_file_without_seeing_each_other() {
    let path = common::fresh_db_path();
    let open = |prefix: &'static str| {
        SqliteStoreOptions::new(path.clone())
            .table_prefix(prefix)
            .durability(Durability::Normal)
            .open()
    };
    let a = open("tenant_a_").await.unwrap();
    let b = open("tenant_b_").await.unwrap();
    let registered = client(&client_id());
    a.put_client(&registered).await.unwrap();
    let grant = user_grant(&user_id(), &registered.id);
    let code = code_for(&grant);
    a.create_grant_with_code(&grant, &code).await.unwrap();

    assert_eq!(b.client(&registered.id).await.unwrap(), None);
    assert_eq!(
        b.find_code(&code.hash, NOW).await.unwrap(),
        CodeLookup::NotFound
    );
    b.delete_client(&registered.id).await.unwrap();
    b.purge_expired(UnixTime(u64::MAX), usize::MAX)
        .await
        .unwrap();
    assert_eq!(a.client(&registered.id).await.unwrap(), Some(registered));
    assert_eq!(
        a.find_code(&code.hash, NOW).await.unwrap(),
        CodeLookup::Active(code)
    );
}

#[tokio::test]
async fn shared_pool_is_used_when_it_enforces_foreign_keys_and_refused_otherwise() {
    let path = common::fresh_db_path();
    let pool = |foreign_keys: bool| {
        SqlitePoolOptions::new().connect_with(
            SqliteConnectOptions::new()
                .filename(&path)
                .create_if_missing(true)
                .foreign_keys(foreign_keys),
        )
    };
    let without = pool(false).await.unwrap();
    assert!(matches!(
        SqliteStoreOptions::with_pool(without).open().await,
        Err(OpenError::ForeignKeysOff)
    ));

    let shared = pool(true).await.unwrap();
    let store = SqliteStoreOptions::with_pool(shared.clone())
        .table_prefix("oauth_")
        .open()
        .await
        .unwrap();
    // The host's own table lives beside the store's in the same pool.
    oauth_store_sqlite::sqlx::query("CREATE TABLE host_sessions (id TEXT PRIMARY KEY)")
        .execute(&shared)
        .await
        .unwrap();
    let grant = user_grant(&user_id(), &client_id());
    store
        .create_grant_with_code(&grant, &code_for(&grant))
        .await
        .unwrap();
    let grants: i64 = oauth_store_sqlite::sqlx::query_scalar("SELECT count(*) FROM oauth_grants")
        .fetch_one(&shared)
        .await
        .unwrap();
    assert_eq!(grants, 1);
}

/// A clock the test moves.
struct FixedClock(UnixTime);

impl Clock for FixedClock {
    fn now(&self) -> UnixTime {
        self.0
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn purge_task_removes_expired_records_and_stops_when_dropped() {
    let store = common::fresh_store().await;
    for _ in 0..25 {
        assert!(store
            .insert_once(once_key("ticket"), NOW.plus(10), NOW)
            .await
            .unwrap());
    }
    let live = once_key("ticket");
    assert!(store.insert_once(live, NOW.plus(1_000), NOW).await.unwrap());

    let clock = Arc::new(FixedClock(NOW.plus(100)));
    let task = store
        .spawn_purge_task(
            clock,
            PurgeSchedule {
                every: Duration::from_millis(10),
                batch: 4,
            },
        )
        .unwrap();
    let markers = || async {
        let n: i64 = oauth_store_sqlite::sqlx::query_scalar("SELECT count(*) FROM once_markers")
            .fetch_one(store.pool())
            .await
            .unwrap();
        n
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while markers().await > 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the purge task did not run"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    task.stop();
    // The unexpired marker survived.
    assert!(!store.insert_once(live, NOW.plus(1_000), NOW).await.unwrap());
    // Once stopped, expired records stay until the next purge.
    store
        .insert_once(once_key("ticket"), NOW.plus(10), NOW)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(markers().await, 2);
}

#[test]
fn purge_task_needs_a_runtime_and_says_so() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = runtime.block_on(common::fresh_store());
    let clock: Arc<dyn Clock> = Arc::new(FixedClock(NOW));
    assert!(store
        .spawn_purge_task(clock, PurgeSchedule::default())
        .is_err());
}

#[cfg(unix)]
#[tokio::test]
async fn a_new_database_file_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let path = common::fresh_db_path();
    let store = SqliteStore::open(&path).await.unwrap();
    store
        .insert_once(once_key("ticket"), NOW.plus(60), NOW)
        .await
        .unwrap();
    for file in [
        path.clone(),
        path.with_extension("db-wal"),
        path.with_extension("db-shm"),
    ] {
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", file.display());
    }
}

#[tokio::test]
async fn in_memory_paths_are_refused_since_each_connection_would_get_its_own_database() {
    for path in [":memory:", "file::memory:?cache=shared"] {
        assert!(matches!(
            SqliteStore::open(path).await,
            Err(OpenError::NotAFile)
        ));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writers_queued_behind_a_locked_database_give_up_after_the_acquire_timeout() {
    let path = common::fresh_db_path();
    let store = SqliteStoreOptions::new(path.clone())
        .busy(Duration::from_millis(300), 1)
        .acquire_timeout(Duration::from_millis(100))
        .open()
        .await
        .unwrap();
    let holder = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(SqliteConnectOptions::new().filename(&path))
        .await
        .unwrap();
    let lock = holder.begin_with("BEGIN IMMEDIATE").await.unwrap();

    let started = std::time::Instant::now();
    let writers: Vec<_> = (0..10)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .insert_once(once_key("ticket"), NOW.plus(60), NOW)
                    .await
                    .expect_err("the database is locked")
                    .kind()
            })
        })
        .collect();
    let mut unavailable = 0;
    for writer in writers {
        let kind = writer.await.unwrap();
        assert!(matches!(
            kind,
            StoreErrorKind::Unavailable | StoreErrorKind::Conflict
        ));
        unavailable += usize::from(kind == StoreErrorKind::Unavailable);
    }
    // Without the bound, ten writers would wait 10 × 300 ms one after the other.
    let waited = started.elapsed();
    assert!(waited < Duration::from_millis(1_500), "waited {waited:?}");
    assert!(unavailable >= 5, "only {unavailable} gave up in the queue");
    lock.rollback().await.unwrap();
}

/// A host can open the store from a spawned task or any other place that needs `Send`.
#[test]
fn opening_futures_are_send() {
    fn assert_send<T: Send>(_: T) {}
    // Futures are lazy: nothing is opened here.
    assert_send(SqliteStore::open("never-opened.db"));
    assert_send(SqliteStoreOptions::new("never-opened.db").open());
}
