//! Races across two separate `RedisStore` values (two connection managers, as two server
//! instances would have) on one prefix: of 32 concurrent calls, alternating between the
//! two connections, exactly one redeems a code, rotates a refresh token, claims a grace,
//! inserts a one-time marker, registers a client id (`common/races.rs`).

mod common;

use oauth_store_redis::RedisStore;

/// Two stores (two connections) on one fresh prefix, cleaned up when dropped.
async fn two_stores() -> (RedisStore, RedisStore, common::Cleanup) {
    let prefix = common::fresh_prefix();
    let a = common::connect(&prefix).await;
    let b = common::connect(&prefix).await;
    (a, b, common::Cleanup(prefix))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn consume_across_two_connections_has_exactly_one_winner() {
    let (a, b, _cleanup) = two_stores().await;
    common::races::consume_across_two_connections_has_exactly_one_winner(&a, &b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rotation_across_two_connections_has_exactly_one_successor() {
    let (a, b, _cleanup) = two_stores().await;
    common::races::rotation_across_two_connections_has_exactly_one_successor(&a, &b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn grace_claims_across_two_connections_have_exactly_one_winner() {
    let (a, b, _cleanup) = two_stores().await;
    common::races::grace_claims_across_two_connections_have_exactly_one_winner(&a, &b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn insert_once_across_two_connections_has_exactly_one_winner() {
    let (a, b, _cleanup) = two_stores().await;
    common::races::insert_once_across_two_connections_has_exactly_one_winner(&a, &b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn insert_client_across_two_connections_has_exactly_one_winner() {
    let (a, b, _cleanup) = two_stores().await;
    common::races::insert_client_across_two_connections_has_exactly_one_winner(&a, &b).await;
}
