//! The races of `common/races.rs` on the Redis Cluster: two cluster stores (two cluster
//! connections, as two server instances would have) on one prefix; of 32 concurrent calls,
//! alternating between them, exactly one redeems a code, rotates a refresh token, claims a
//! grace, inserts a one-time marker, registers a client id.

mod common;

use oauth_store_redis::RedisStore;

/// Two cluster stores on one fresh prefix, cleaned up when dropped.
async fn two_stores() -> (RedisStore, RedisStore, common::ClusterCleanup) {
    let prefix = common::fresh_prefix();
    let a = common::connect_cluster(&prefix).await;
    let b = common::connect_cluster(&prefix).await;
    (a, b, common::ClusterCleanup(prefix))
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
