//! Outages on the Redis Cluster: a cluster none of whose nodes can be reached, and one
//! node of the real cluster that stops answering (`CLIENT PAUSE`). Every failure is a
//! `StoreError` (`Unavailable`) within the store's timeout and the provider answers 503
//! `temporarily_unavailable`; once the node answers again, so does the store.

mod common;

use std::time::{Duration, Instant};

use http::StatusCode;
use oauth_core::model::ClientId;
use oauth_core::{Store, StoreErrorKind};
use oauth_store_redis::{redis, OpenError, RedisStore, RedisStoreOptions};
use oauth_store_testkit::fixtures::{client_id, code_for, token_hash, user_grant, user_id, NOW};
use tokio::net::TcpListener;

use common::provider::{code_exchange_request, obtain_code, provider, public_client};

const TIMEOUT: Duration = Duration::from_millis(400);
/// How long a failing operation may take: the timeout plus scheduling slack.
const PROMPTLY: Duration = Duration::from_millis(2_000);

async fn dead_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn a_cluster_that_is_not_there_fails_every_operation_promptly() {
    let nodes = [
        format!("redis://127.0.0.1:{}", dead_port().await),
        format!("redis://127.0.0.1:{}", dead_port().await),
    ];
    let started = Instant::now();
    let refused = RedisStoreOptions::cluster(&nodes)
        .unwrap()
        .timeout(TIMEOUT)
        .connect_timeout(Duration::from_millis(200))
        .connect()
        .await;
    assert!(matches!(refused, Err(OpenError::Connect(_))), "{refused:?}");
    assert!(started.elapsed() < PROMPTLY);

    let store = RedisStoreOptions::cluster(&nodes)
        .unwrap()
        .prefix(common::fresh_prefix())
        .timeout(TIMEOUT)
        .connect_timeout(Duration::from_millis(200))
        .connect_lazy()
        .unwrap();
    let grant = user_grant(&user_id(), &client_id());
    for (operation, result) in [
        ("client", store.client(&client_id()).await.map(drop)),
        (
            "create_grant_with_code",
            store
                .create_grant_with_code(&grant, &code_for(&grant))
                .await,
        ),
        (
            "access_token",
            store.access_token(&token_hash(), NOW).await.map(drop),
        ),
        ("revoke_grant", store.revoke_grant(&grant.id).await),
    ] {
        let error = result.expect_err(operation);
        assert_eq!(
            error.kind(),
            StoreErrorKind::Unavailable,
            "{operation}: {error}"
        );
    }
    let provider = provider(store);
    let response = provider
        .token(&code_exchange_request("some-client", "some-code"))
        .await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
}

/// The master that holds `key` (the others answer `MOVED`).
async fn node_holding(key: &str) -> String {
    for node in common::cluster_masters() {
        let mut conn = redis::Client::open(node.as_str())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        let owned: redis::RedisResult<i64> =
            redis::cmd("EXISTS").arg(key).query_async(&mut conn).await;
        if owned.is_ok() {
            return node;
        }
    }
    panic!("no master holds {key}");
}

/// Stops `node` answering clients for `ms` milliseconds (commands wait, then run).
async fn pause(node: &str, ms: u64) {
    let mut conn = redis::Client::open(node)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(ms)
        .arg("ALL")
        .query_async(&mut conn)
        .await
        .unwrap();
}

async fn fast_store(prefix: &str) -> RedisStore {
    RedisStoreOptions::cluster(common::cluster_nodes())
        .unwrap()
        .prefix(prefix)
        .timeout(TIMEOUT)
        .connect()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_stops_answering_is_503_and_the_store_recovers() {
    let prefix = common::fresh_prefix();
    let _cleanup = common::ClusterCleanup(prefix.clone());
    let store = fast_store(&prefix).await;
    let provider = provider(store.clone());
    let id = public_client(&provider).await;
    let code = obtain_code(&provider, &id).await;
    // The node that holds the client record: the exchange's first read goes there.
    let client_key = format!(
        "{prefix}:{{c:{}}}:client",
        id.replace(':', "%3A").replace('/', "%2F")
    );
    let node = node_holding(&client_key).await;

    pause(&node, 1_500).await;
    let started = Instant::now();
    let error = store.client(&ClientId::new(id.clone())).await.unwrap_err();
    assert_eq!(error.kind(), StoreErrorKind::Unavailable, "{error}");
    let response = provider.token(&code_exchange_request(&id, &code)).await;
    assert!(started.elapsed() < PROMPTLY * 2);
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    assert!(body.get("access_token").is_none(), "{body}");

    // Once the node answers again, the untouched code redeems.
    let mut status = StatusCode::SERVICE_UNAVAILABLE;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let response = provider.token(&code_exchange_request(&id, &code)).await;
        status = response.status();
        if status != StatusCode::SERVICE_UNAVAILABLE {
            break;
        }
    }
    assert_eq!(status, StatusCode::OK);
}
