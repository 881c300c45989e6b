//! The key layout on a real Redis Cluster: every key of a grant is in one slot, the
//! pointers and indexes are elsewhere, records are spread over the nodes, and the cluster
//! really refuses a script that strays from its slot (so the conformance suite run on the
//! cluster, `cluster_conformance.rs`, checks that every script the store runs stays in
//! one slot). Each operation's cost in requests is pinned and printed for
//! docs/performance.md.

mod common;

use std::collections::BTreeSet;

use http::StatusCode;
use oauth_core::store::{ConsumeOutcome, OnceKey, RotateOutcome};
use oauth_core::Store;
use oauth_store_redis::redis;
use oauth_store_testkit::fixtures::{
    client, client_id, code_for, token_hash, tokens_for, tokens_for_code, user_grant, user_id, NOW,
};

use common::provider::{
    bearer_request, code_exchange_request, obtain_code, provider, public_client,
};

async fn slot_of(conn: &mut redis::cluster_async::ClusterConnection, key: &str) -> u16 {
    redis::cmd("CLUSTER")
        .arg("KEYSLOT")
        .arg(key)
        .query_async(conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn every_key_of_a_grant_is_in_one_slot_and_pointers_are_elsewhere() {
    let prefix = common::fresh_prefix();
    let _cleanup = common::ClusterCleanup(prefix.clone());
    let store = common::connect_cluster(&prefix).await;
    let grant = user_grant(&user_id(), &client_id());
    let code = code_for(&grant);
    store.create_grant_with_code(&grant, &code).await.unwrap();
    let tokens = tokens_for_code(&code);
    assert_eq!(
        store.consume_code(&code.hash, &tokens, NOW).await.unwrap(),
        ConsumeOutcome::Consumed
    );
    let old = tokens.refresh.unwrap().hash;
    assert_eq!(
        store
            .rotate_refresh(&old, &tokens_for(&grant), None, NOW)
            .await
            .unwrap(),
        RotateOutcome::Rotated
    );

    let keys = common::cluster_keys_of(&prefix).await;
    let grant_tag = format!("{{g:{}}}", grant.id.as_str());
    let mut conn = common::raw_cluster().await;
    let grant_slot = slot_of(&mut conn, &format!("{prefix}:{grant_tag}:grant")).await;
    let records: Vec<&String> = keys.iter().filter(|k| k.contains(&grant_tag)).collect();
    // grant, kids, code, two access tokens, two refresh tokens
    assert_eq!(records.len(), 7, "{keys:#?}");
    for key in &records {
        assert_eq!(slot_of(&mut conn, key).await, grant_slot, "{key}");
    }
    // Five pointers, each in its hash's own slot; the indexes in the user's and client's.
    let pointers: Vec<&String> = keys.iter().filter(|k| k.contains(":loc:")).collect();
    assert_eq!(pointers.len(), 5, "{keys:#?}");
    let mut slots = BTreeSet::new();
    for key in pointers {
        slots.insert(slot_of(&mut conn, key).await);
    }
    assert!(slots.len() > 1, "pointers spread over slots: {slots:?}");
    assert!(keys.iter().any(|k| k.contains("{u:")) && keys.iter().any(|k| k.contains("{c:")));

    // Revocation removes everything of the grant, pointers and index entries included.
    store.revoke_grant(&grant.id).await.unwrap();
    let left = common::cluster_keys_of(&prefix).await;
    assert!(
        left.iter()
            .all(|k| !k.contains(&grant_tag) && !k.contains(":loc:")),
        "{left:#?}"
    );
}

#[tokio::test]
async fn grants_spread_over_the_nodes() {
    let prefix = common::fresh_prefix();
    let _cleanup = common::ClusterCleanup(prefix.clone());
    let store = common::connect_cluster(&prefix).await;
    for _ in 0..24 {
        let grant = user_grant(&user_id(), &client_id());
        store
            .create_grant_with_code(&grant, &code_for(&grant))
            .await
            .unwrap();
    }
    let mut nodes_with_grants = 0;
    for node in common::cluster_masters() {
        let mut conn = redis::Client::open(node.as_str())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        let (_, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(0)
            .arg("MATCH")
            .arg(format!("{prefix}:{{g:*"))
            .arg("COUNT")
            .arg(100_000)
            .query_async(&mut conn)
            .await
            .unwrap();
        if !keys.is_empty() {
            nodes_with_grants += 1;
        }
    }
    assert!(
        nodes_with_grants >= 2,
        "24 grants on {nodes_with_grants} node(s): the cluster does not shard them"
    );
}

#[tokio::test]
async fn the_cluster_refuses_a_script_that_strays_from_its_slot() {
    let mut conn = common::raw_cluster().await;
    let prefix = common::fresh_prefix();
    let _cleanup = common::ClusterCleanup(prefix.clone());
    // Two keys with tags in different slots: a script declaring the first and writing the
    // second must fail, or running the conformance suite on the cluster proved nothing.
    let result: redis::RedisResult<()> = redis::Script::new(
        "#!lua\nredis.call('SET', KEYS[1], '1')\nredis.call('SET', ARGV[1], '1')\nreturn redis.status_reply('OK')",
    )
    .key(format!("{prefix}:{{a}}:x"))
    .arg(format!("{prefix}:{{b}}:x"))
    .invoke_async(&mut conn)
    .await;
    let error = result.expect_err("a cross-slot script must be refused");
    assert!(
        error.to_string().contains("slot") || error.to_string().contains("non local"),
        "{error}"
    );
}

/// Runs `op` and returns how many requests it sent.
async fn count<F: std::future::Future>(store: &oauth_store_redis::RedisStore, op: F) -> u64 {
    let before = store.round_trips();
    op.await;
    store.round_trips() - before
}

#[tokio::test]
async fn requests_per_operation_in_cluster_mode() {
    let prefix = common::fresh_prefix();
    let _cleanup = common::ClusterCleanup(prefix.clone());
    let store = common::connect_cluster(&prefix).await;
    let registered = client(&client_id());
    let user = user_id();
    let grant = user_grant(&user, &registered.id);
    let code = code_for(&grant);
    let tokens = tokens_for_code(&code);
    let refresh = tokens.refresh.clone().unwrap().hash;
    let marker = OnceKey {
        namespace: "t",
        key: [1; 32],
    };
    // (operation, requests sent, sequential round trips: the latency)
    let counts = [
        (
            "put_client",
            count(&store, store.put_client(&registered)).await,
            1,
        ),
        (
            "client",
            count(&store, store.client(&registered.id)).await,
            1,
        ),
        (
            "create_grant_with_code",
            count(&store, store.create_grant_with_code(&grant, &code)).await,
            2,
        ),
        (
            "find_code",
            count(&store, store.find_code(&code.hash, NOW)).await,
            2,
        ),
        (
            "consume_code",
            count(&store, store.consume_code(&code.hash, &tokens, NOW)).await,
            2,
        ),
        ("grant", count(&store, store.grant(&grant.id, NOW)).await, 1),
        (
            "access_token",
            count(&store, store.access_token(&tokens.access.hash, NOW)).await,
            2,
        ),
        (
            "find_refresh",
            count(&store, store.find_refresh(&refresh, NOW)).await,
            2,
        ),
        (
            "rotate_refresh",
            count(
                &store,
                store.rotate_refresh(&refresh, &tokens_for(&grant), None, NOW),
            )
            .await,
            2,
        ),
        (
            "claim_refresh_grace",
            count(&store, store.claim_refresh_grace(&refresh, NOW)).await,
            2,
        ),
        (
            "store_tokens",
            count(&store, store.store_tokens(None, &tokens_for(&grant))).await,
            2,
        ),
        (
            "revoke_access_token (unknown)",
            count(&store, store.revoke_access_token(&token_hash())).await,
            1,
        ),
        (
            "insert_once",
            count(&store, store.insert_once(marker, NOW.plus(5), NOW)).await,
            1,
        ),
        (
            "grants_for_user (1 grant)",
            count(&store, store.grants_for_user(&user, NOW)).await,
            2,
        ),
        (
            "revoke_grant (8 records)",
            count(&store, store.revoke_grant(&grant.id)).await,
            2,
        ),
        (
            "revoke_user_grants (none left)",
            count(&store, store.revoke_user_grants(&user)).await,
            1,
        ),
        (
            "delete_client (no grants)",
            count(&store, store.delete_client(&registered.id)).await,
            1,
        ),
        (
            "purge_expired (nothing due)",
            count(&store, store.purge_expired(NOW, 100)).await,
            1,
        ),
    ];
    let expected = [
        ("put_client", 1),
        ("client", 1),
        // code pointer, user and client index hints, expiry hint; the grant script
        ("create_grant_with_code", 5),
        // pointer, grant script
        ("find_code", 2),
        // two token pointers, expiry hint; the grant script
        ("consume_code", 4),
        ("grant", 1),
        ("access_token", 2),
        ("find_refresh", 2),
        ("rotate_refresh", 4),
        ("claim_refresh_grace", 2),
        ("store_tokens", 4),
        ("revoke_access_token (unknown)", 1),
        // the marker script and its expiry hint, concurrently
        ("insert_once", 2),
        // index, one HMGET per listed grant
        ("grants_for_user (1 grant)", 2),
        // grant script; 7 pointers, user and client index entries, expiry entry
        ("revoke_grant (8 records)", 11),
        ("revoke_user_grants (none left)", 1),
        ("delete_client (no grants)", 1),
        ("purge_expired (nothing due)", 1),
    ];
    for ((operation, requests, sequential), (name, want)) in counts.iter().zip(expected) {
        assert_eq!(*operation, name);
        println!(
            "cluster requests: {operation}: {requests} ({sequential} sequential by construction)"
        );
        assert_eq!(*requests, want, "{operation}");
    }
}

#[tokio::test]
async fn a_code_exchange_and_a_bearer_check_through_the_provider() {
    let prefix = common::fresh_prefix();
    let _cleanup = common::ClusterCleanup(prefix.clone());
    let store = common::connect_cluster(&prefix).await;
    let provider = provider(store.clone());
    let client_id = public_client(&provider).await;
    let code = obtain_code(&provider, &client_id).await;

    let before = store.round_trips();
    let response = provider
        .token(&code_exchange_request(&client_id, &code))
        .await;
    let exchange = store.round_trips() - before;
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    let token = body["access_token"].as_str().unwrap();

    let before = store.round_trips();
    provider.authenticate(&bearer_request(token)).await.unwrap();
    let bearer = store.round_trips() - before;
    println!("cluster requests: provider code exchange: {exchange}");
    println!("cluster requests: provider bearer validation: {bearer}");
    assert_eq!(bearer, 2, "pointer GET, then the grant-slot script");
    assert_eq!(
        exchange, 7,
        "client_and_code (the client GET beside find_code's pointer GET and script); \
         consume_code (2 pointers and the expiry hint concurrently, then the script)"
    );

    // A replay of the code is recognised and revokes what it issued.
    let replay = provider
        .token(&code_exchange_request(&client_id, &code))
        .await;
    assert_eq!(replay.status(), StatusCode::BAD_REQUEST);
    assert!(provider.authenticate(&bearer_request(token)).await.is_err());
}
