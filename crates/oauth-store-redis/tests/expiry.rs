//! Server-side expiry on the real server's clock: records vanish by their TTL, and
//! indexes never keep dead members beyond the live count once a writer or a purge has
//! passed. Lifetimes of one second; each test waits 1.5 s once (they run in parallel).

mod common;

use oauth_core::model::{GrantRecord, IssuedTokens};
use oauth_core::store::CodeLookup;
use oauth_core::{Store, StoreErrorKind};
use oauth_store_redis::redis;
use oauth_store_testkit::fixtures::{
    access_expiring, access_only_for, client, client_grant, client_id, code_expiring, once_key,
    refresh_expiring, user_grant, user_id, NOW,
};

const WAIT: std::time::Duration = common::EXPIRY_WAIT;

async fn zcard(key: &str) -> usize {
    common::zcard(&mut common::raw().await, key).await
}

#[tokio::test]
async fn every_record_and_index_vanishes_with_its_ttl() {
    let prefix = common::fresh_prefix();
    let _cleanup = common::Cleanup(prefix.clone());
    let store = common::connect(&prefix).await;
    let now = common::wall_clock();
    let registered = client(&client_id());
    store.put_client(&registered).await.unwrap();

    // A grant of one second with its code, redeemed (tokens of one second), a rotation,
    // a client-credentials grant and a one-time marker.
    let mut grant = user_grant(&user_id(), &registered.id);
    grant.created_at = now;
    grant.expires_at = now.plus(1);
    let code = code_expiring(&grant, now.plus(1));
    store.create_grant_with_code(&grant, &code).await.unwrap();
    let short = |g| IssuedTokens {
        access: access_expiring(g, now.plus(1)),
        refresh: Some(refresh_expiring(g, now.plus(1))),
    };
    let mut first = short(&grant);
    first.access.issued_at = now;
    store.consume_code(&code.hash, &first, now).await.unwrap();
    let old = first.refresh.as_ref().unwrap().hash;
    store
        .rotate_refresh(&old, &short(&grant), None, now)
        .await
        .unwrap();
    let mut machine = client_grant(&registered.id);
    machine.created_at = now;
    machine.expires_at = now.plus(1);
    let mut machine_tokens = short(&machine);
    machine_tokens.access.issued_at = now;
    machine_tokens.refresh.as_mut().unwrap().issued_at = now;
    store
        .store_tokens(Some(&machine), &machine_tokens)
        .await
        .unwrap();
    assert!(store
        .insert_once(once_key("t"), now.plus(1), now)
        .await
        .unwrap());

    let client_key = format!(
        "{prefix}:{{c:{}}}:client",
        registered.id.as_str().replace(':', "%3A")
    );
    assert!(common::keys_of(&prefix).await.len() > 10);
    tokio::time::sleep(WAIT).await;
    assert_eq!(
        common::keys_of(&prefix).await,
        vec![client_key],
        "only the client (which does not expire) is left"
    );
    assert_eq!(
        store.find_code(&code.hash, now).await.unwrap(),
        CodeLookup::NotFound,
        "gone from the server even when read at a time it would be valid"
    );
}

#[tokio::test]
async fn indexes_return_to_the_live_count_after_expiry() {
    let prefix = common::fresh_prefix();
    let _cleanup = common::Cleanup(prefix.clone());
    let store = common::connect(&prefix).await;
    let now = common::wall_clock();
    let alice = user_id();
    let app = client_id();

    // One long-lived grant, and five grants of one second, all alice's with one client;
    // five access tokens of one second under the long grant.
    let mut long = user_grant(&alice, &app);
    long.created_at = now;
    long.expires_at = now.plus(600);
    store
        .create_grant_with_code(&long, &code_expiring(&long, now.plus(600)))
        .await
        .unwrap();
    for _ in 0..5 {
        let mut grant = user_grant(&alice, &app);
        grant.created_at = now;
        grant.expires_at = now.plus(1);
        store
            .create_grant_with_code(&grant, &code_expiring(&grant, now.plus(1)))
            .await
            .unwrap();
        let mut access = access_expiring(&long, now.plus(1));
        access.issued_at = now;
        store
            .store_tokens(
                None,
                &IssuedTokens {
                    access,
                    refresh: None,
                },
            )
            .await
            .unwrap();
    }
    let users = format!("{prefix}:{{u:{}}}:grants", alice.as_str());
    let clients = format!("{prefix}:{{c:{}}}:grants", app.as_str());
    let kids = format!("{prefix}:{{g:{}}}:kids", long.id.as_str());
    let expiry = format!("{prefix}:expiry");
    assert_eq!(zcard(&users).await, 6);
    assert_eq!(zcard(&clients).await, 6);
    assert_eq!(zcard(&kids).await, 6);
    assert_eq!(zcard(&expiry).await, 1 + 1 + 5 * 2 + 5);

    tokio::time::sleep(WAIT).await;
    // The indexes still list the dead until a writer passes; listing never shows them.
    assert_eq!(
        store.grants_for_user(&alice, now).await.unwrap(),
        vec![long.clone()]
    );

    // One write under the long grant for alice and the client prunes each index.
    let later = common::wall_clock();
    let mut access = access_expiring(&long, later.plus(600));
    access.issued_at = later;
    store
        .store_tokens(
            None,
            &IssuedTokens {
                access,
                refresh: None,
            },
        )
        .await
        .unwrap();
    let mut another = user_grant(&alice, &app);
    another.created_at = later;
    another.expires_at = later.plus(600);
    store
        .create_grant_with_code(&another, &code_expiring(&another, later.plus(600)))
        .await
        .unwrap();
    assert_eq!(zcard(&users).await, 2, "the long grant and the new one");
    assert_eq!(zcard(&clients).await, 2);
    assert_eq!(zcard(&kids).await, 2, "the long grant's code and new token");
    // Live: two grants, two codes, one token.
    store.purge_expired(later, 1_000).await.unwrap();
    assert_eq!(zcard(&expiry).await, 5);
}

/// The grant `grant` with a code and five token pairs, expiring before all of them (so
/// that purge at `now` takes the grant with everything under it), and the child records
/// listed first in its child index deleted as Redis deletes them at their TTL: their
/// members stay in the index. Returns how many records are left (children and grant).
async fn grant_with_dead_children(store: &oauth_store_redis::RedisStore) -> (GrantRecord, usize) {
    let mut grant = user_grant(&user_id(), &client_id());
    grant.expires_at = NOW.plus(10);
    store
        .create_grant_with_code(&grant, &code_expiring(&grant, NOW.plus(600)))
        .await
        .unwrap();
    for _ in 0..5 {
        let tokens = IssuedTokens {
            access: access_expiring(&grant, NOW.plus(600)),
            refresh: Some(refresh_expiring(&grant, NOW.plus(900))),
        };
        store.store_tokens(None, &tokens).await.unwrap();
    }
    (grant, 1 + 5 * 2 + 1)
}

#[tokio::test]
async fn purge_counts_against_its_limit_only_what_it_deletes() {
    let prefix = common::fresh_prefix();
    let _cleanup = common::Cleanup(prefix.clone());
    let store = common::connect(&prefix).await;
    let (grant, records) = grant_with_dead_children(&store).await;
    let g = format!("{prefix}:{{g:{}}}", grant.id.as_str());
    let mut conn = common::raw().await;
    let first: Vec<String> = redis::cmd("ZRANGE")
        .arg(format!("{g}:kids"))
        .arg(0)
        .arg(2)
        .query_async(&mut conn)
        .await
        .unwrap();
    for member in &first {
        let () = redis::cmd("DEL")
            .arg(format!("{g}:{member}"))
            .query_async::<i64>(&mut conn)
            .await
            .map(drop)
            .unwrap();
    }
    let left = records - first.len();

    let later = NOW.plus(100);
    assert_eq!(
        store.purge_expired(later, 1).await.unwrap(),
        1,
        "at most limit"
    );
    assert_eq!(store.purge_expired(later, 2).await.unwrap(), 2);
    assert_eq!(
        store.purge_expired(later, 1_000).await.unwrap(),
        left - 3,
        "the rest, the grant last"
    );
    assert!(common::keys_of(&prefix).await.is_empty());
}

#[tokio::test]
async fn tokens_are_refused_under_a_grant_expired_at_their_issue_time() {
    let prefix = common::fresh_prefix();
    let _cleanup = common::Cleanup(prefix.clone());
    let store = common::connect(&prefix).await;
    let mut grant = user_grant(&user_id(), &client_id());
    grant.expires_at = NOW.plus(10);
    store
        .create_grant_with_code(&grant, &code_expiring(&grant, NOW.plus(5)))
        .await
        .unwrap();
    // The grant's key lives on (its TTL counts from the write); it is expired at the
    // tokens' issue time all the same.
    let mut late = access_only_for(&grant);
    late.access.issued_at = grant.expires_at;
    let error = store.store_tokens(None, &late).await.unwrap_err();
    assert_eq!(error.kind(), StoreErrorKind::Conflict, "{error}");
    assert_eq!(
        store.access_token(&late.access.hash, NOW).await.unwrap(),
        None
    );
    let mut in_time = access_only_for(&grant);
    in_time.access.issued_at = NOW.plus(9);
    store.store_tokens(None, &in_time).await.unwrap();
}
