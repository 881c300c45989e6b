//! Round trips per operation, counted (not timed) by the store's request counter: one
//! `EVALSHA` (or one plain command) per store call, so bearer validation costs one round
//! trip and a code exchange through the provider two (the client and the code read
//! together, then the redemption). The counts are printed for docs/performance.md.

mod common;

use http::StatusCode;
use oauth_core::store::OnceKey;
use oauth_core::Store;
use oauth_store_testkit::fixtures::{
    client, client_id, code_for, token_hash, tokens_for, tokens_for_code, user_grant, user_id, NOW,
};

use common::provider::{
    bearer_request, code_exchange_request, obtain_code, provider, public_client,
};

/// Runs `op` and returns how many round trips it took.
async fn count<F: std::future::Future>(store: &oauth_store_redis::RedisStore, op: F) -> u64 {
    let before = store.round_trips();
    op.await;
    store.round_trips() - before
}

#[tokio::test]
async fn every_store_operation_is_one_round_trip() {
    let prefix = common::fresh_prefix();
    let _cleanup = common::Cleanup(prefix.clone());
    let store = common::connect(&prefix).await;
    let registered = client(&client_id());
    let grant = user_grant(&user_id(), &registered.id);
    let code = code_for(&grant);
    let tokens = tokens_for_code(&code);
    let refresh = tokens.refresh.clone().unwrap().hash;
    let marker = OnceKey {
        namespace: "t",
        key: [1; 32],
    };

    let counts = [
        (
            "put_client",
            count(&store, store.put_client(&registered)).await,
        ),
        ("client", count(&store, store.client(&registered.id)).await),
        (
            "insert_client",
            count(&store, store.insert_client(&registered)).await,
        ),
        (
            "replace_client",
            count(&store, store.replace_client(&registered)).await,
        ),
        (
            "create_grant_with_code",
            count(&store, store.create_grant_with_code(&grant, &code)).await,
        ),
        (
            "find_code",
            count(&store, store.find_code(&code.hash, NOW)).await,
        ),
        (
            "client_and_code",
            count(
                &store,
                store.client_and_code(&registered.id, &code.hash, NOW),
            )
            .await,
        ),
        (
            "consume_code",
            count(&store, store.consume_code(&code.hash, &tokens, NOW)).await,
        ),
        ("grant", count(&store, store.grant(&grant.id, NOW)).await),
        (
            "access_token",
            count(&store, store.access_token(&tokens.access.hash, NOW)).await,
        ),
        (
            "find_refresh",
            count(&store, store.find_refresh(&refresh, NOW)).await,
        ),
        (
            "rotate_refresh",
            count(
                &store,
                store.rotate_refresh(&refresh, &tokens_for(&grant), None, NOW),
            )
            .await,
        ),
        (
            "claim_refresh_grace",
            count(&store, store.claim_refresh_grace(&refresh, NOW)).await,
        ),
        (
            "store_tokens",
            count(&store, store.store_tokens(None, &tokens_for(&grant))).await,
        ),
        (
            "revoke_access_token",
            count(&store, store.revoke_access_token(&token_hash())).await,
        ),
        (
            "insert_once",
            count(&store, store.insert_once(marker, NOW.plus(5), NOW)).await,
        ),
        (
            "grants_for_user",
            count(&store, store.grants_for_user(&user_id(), NOW)).await,
        ),
        (
            "revoke_grant",
            count(&store, store.revoke_grant(&grant.id)).await,
        ),
        (
            "revoke_user_grants",
            count(&store, store.revoke_user_grants(&user_id())).await,
        ),
        (
            "delete_client",
            count(&store, store.delete_client(&registered.id)).await,
        ),
        (
            "purge_expired (nothing left)",
            count(&store, store.purge_expired(NOW, 100)).await,
        ),
    ];
    for (operation, trips) in counts {
        println!("round trips: {operation}: {trips}");
        assert_eq!(trips, 1, "{operation}");
    }
}

#[tokio::test]
async fn bearer_validation_is_one_round_trip_and_a_code_exchange_two() {
    let prefix = common::fresh_prefix();
    let _cleanup = common::Cleanup(prefix.clone());
    let store = common::connect(&prefix).await;
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

    let request = bearer_request(token);
    let before = store.round_trips();
    provider.authenticate(&request).await.unwrap();
    let bearer = store.round_trips() - before;

    println!("round trips: provider code exchange: {exchange}");
    println!("round trips: provider bearer validation: {bearer}");
    assert_eq!(
        bearer, 1,
        "bearer validation: one EVALSHA (token and grant)"
    );
    assert_eq!(
        exchange, 2,
        "code exchange: client_and_code, then consume_code (code check, mark, tokens in one)"
    );
}
