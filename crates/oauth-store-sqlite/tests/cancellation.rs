//! A write whose future is dropped part-way (a client disconnecting, a timeout, a stopped
//! purge task) must leave nothing behind: no open transaction on a pooled connection, no
//! write lock held, and no later write reported as done that was never committed.

mod common;

use std::future::Future;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use oauth_core::store::OnceKey;
use oauth_core::Store;
use oauth_store_sqlite::sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use oauth_store_sqlite::sqlx::SqlitePool;
use oauth_store_sqlite::{Durability, SqliteStore, SqliteStoreOptions};
use oauth_store_testkit::fixtures::{
    client_id, code_for, once_key, tokens_for, user_grant, user_id, NOW,
};

/// Lets `future` be polled (woken) at most `polls` times, then drops it: a cancellation
/// at whichever await point it reached.
async fn poll_then_drop<F: Future>(future: F, polls: usize) {
    let mut future = pin!(future);
    let mut left = polls;
    std::future::poll_fn(|cx| {
        if left == 0 {
            return Poll::Ready(());
        }
        left -= 1;
        future.as_mut().poll(cx).map(drop)
    })
    .await;
}

/// A pool of its own on the same file, as another process would have.
async fn other_process(path: &std::path::Path) -> SqlitePool {
    SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(
            SqliteConnectOptions::new()
                .filename(path)
                .busy_timeout(Duration::from_millis(500)),
        )
        .await
        .unwrap()
}

async fn marker_committed(other: &SqlitePool, key: &OnceKey) -> bool {
    let n: i64 = oauth_store_sqlite::sqlx::query_scalar(
        "SELECT count(*) FROM once_markers WHERE namespace = ?1 AND key = ?2",
    )
    .bind(key.namespace)
    .bind(&key.key[..])
    .fetch_one(other)
    .await
    .unwrap();
    n == 1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_writes_never_leave_a_transaction_open_on_a_pooled_connection() {
    let path = common::fresh_db_path();
    let store: SqliteStore = SqliteStoreOptions::new(path.clone())
        .durability(Durability::Normal)
        .max_connections(2)
        .open()
        .await
        .unwrap();
    let grant = user_grant(&user_id(), &client_id());
    store
        .create_grant_with_code(&grant, &code_for(&grant))
        .await
        .unwrap();

    let other = other_process(&path).await;
    for round in 0..600 {
        let polls = 1 + round % 12;
        let tokens = tokens_for(&grant);
        let retired = tokens.refresh.clone().unwrap().hash;
        match round % 3 {
            0 => poll_then_drop(store.claim_refresh_grace(&retired, NOW), polls).await,
            1 => poll_then_drop(store.store_tokens(None, &tokens), polls).await,
            _ => poll_then_drop(store.purge_expired(NOW, 10), polls).await,
        }
        // Once the pool has the connection back, nobody holds the write lock.
        tokio::time::sleep(Duration::from_millis(2)).await;
        let probe = other.begin_with("BEGIN IMMEDIATE").await;
        assert!(probe.is_ok(), "round {round}: the write lock was left held");
        probe.unwrap().rollback().await.unwrap();
    }

    // Every write the store reports as done is committed: another connection sees it.
    for _ in 0..20 {
        let key = once_key("ticket");
        assert!(store.insert_once(key, NOW.plus(60), NOW).await.unwrap());
        assert!(
            marker_committed(&other, &key).await,
            "a write reported as done was not committed"
        );
    }
}
