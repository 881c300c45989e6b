//! Cluster: the expiry index stays bounded by the live grants and markers without any
//! purge, purge keeps its limit when records went by TTL already and leaves no orphans,
//! damage in the expiry index does not stop purging, and tokens are refused under a grant
//! expired at their issue time.

mod common;

use oauth_core::model::IssuedTokens;
use oauth_core::{Store, StoreErrorKind};
use oauth_store_redis::redis;
use oauth_store_testkit::fixtures::{
    access_expiring, access_only_for, client_id, code_expiring, once_key, refresh_expiring,
    user_grant, user_id, NOW,
};

const WAIT: std::time::Duration = common::EXPIRY_WAIT;

async fn zcard(key: &str) -> usize {
    common::zcard(&mut common::raw_cluster().await, key).await
}

#[tokio::test]
async fn indexes_return_to_the_live_count_after_expiry_without_purge() {
    let prefix = common::fresh_prefix();
    let _cleanup = common::ClusterCleanup(prefix.clone());
    let store = common::connect_cluster(&prefix).await;
    let now = common::wall_clock();
    let alice = user_id();
    let app = client_id();

    // One long-lived grant, five grants of one second and a marker of one second; five
    // access tokens of one second under the long grant.
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
    assert!(store
        .insert_once(once_key("t"), now.plus(1), now)
        .await
        .unwrap());
    let users = format!("{prefix}:{{u:{}}}:grants", alice.as_str());
    let clients = format!("{prefix}:{{c:{}}}:grants", app.as_str());
    let kids = format!("{prefix}:{{g:{}}}:kids", long.id.as_str());
    let expiry = format!("{prefix}:expiry");
    assert_eq!(zcard(&users).await, 6);
    assert_eq!(zcard(&clients).await, 6);
    assert_eq!(zcard(&kids).await, 6);
    assert_eq!(
        zcard(&expiry).await,
        6 + 1,
        "one entry per grant and marker"
    );

    tokio::time::sleep(WAIT).await;
    // Writes go on; nobody purges.
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
    assert_eq!(zcard(&expiry).await, 2, "the two live grants");
    let latest = format!("{prefix}:{{{prefix}:expiry}}:latest");
    assert_eq!(zcard(&latest).await, 2);
}

#[tokio::test]
async fn purge_counts_against_its_limit_only_what_it_deletes_and_leaves_no_orphans() {
    let prefix = common::fresh_prefix();
    let _cleanup = common::ClusterCleanup(prefix.clone());
    let store = common::connect_cluster(&prefix).await;
    // A grant expiring before its code and five token pairs: purge takes it whole.
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
    let records = 1 + 5 * 2 + 1;
    // The first three children go as Redis deletes them at their TTL: their members stay
    // in the child index.
    let g = format!("{prefix}:{{g:{}}}", grant.id.as_str());
    let mut conn = common::raw_cluster().await;
    let first: Vec<String> = redis::cmd("ZRANGE")
        .arg(format!("{g}:kids"))
        .arg(0)
        .arg(2)
        .query_async(&mut conn)
        .await
        .unwrap();
    for member in &first {
        let _: i64 = redis::cmd("DEL")
            .arg(format!("{g}:{member}"))
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    let left = records - first.len();
    let grant_keys = || async {
        common::cluster_keys_of(&prefix)
            .await
            .into_iter()
            .filter(|k| k.starts_with(&g))
            .collect::<Vec<_>>()
    };

    let later = NOW.plus(100);
    assert_eq!(
        store.purge_expired(later, 1).await.unwrap(),
        1,
        "at most limit"
    );
    let keys = grant_keys().await;
    assert!(
        keys.contains(&format!("{g}:grant")) && keys.contains(&format!("{g}:kids")),
        "the grant and its index stay while records remain under it: {keys:?}"
    );
    assert_eq!(
        keys.len(),
        left - 1 + 1,
        "the records left, and the child index"
    );
    assert_eq!(store.purge_expired(later, 2).await.unwrap(), 2);
    assert_eq!(
        store.purge_expired(later, 1_000).await.unwrap(),
        left - 3,
        "the rest, the grant last"
    );
    assert_eq!(grant_keys().await, Vec::<String>::new());
}

#[tokio::test]
async fn a_malformed_expiry_entry_does_not_stop_purging() {
    let prefix = common::fresh_prefix();
    let _cleanup = common::ClusterCleanup(prefix.clone());
    let store = common::connect_cluster(&prefix).await;
    assert!(store
        .insert_once(once_key("t"), NOW.plus(1), NOW)
        .await
        .unwrap());
    let expiry = format!("{prefix}:expiry");
    let mut conn = common::raw_cluster().await;
    let _: i64 = redis::cmd("ZADD")
        .arg(&expiry)
        .arg(0)
        .arg(&b"grant:\xff\xfe"[..])
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(store.purge_expired(NOW.plus(5), 100).await.unwrap(), 1);
    assert_eq!(zcard(&expiry).await, 0, "the damaged entry went too");
}

#[tokio::test]
async fn tokens_are_refused_under_a_grant_expired_at_their_issue_time() {
    let prefix = common::fresh_prefix();
    let _cleanup = common::ClusterCleanup(prefix.clone());
    let store = common::connect_cluster(&prefix).await;
    let mut grant = user_grant(&user_id(), &client_id());
    grant.expires_at = NOW.plus(10);
    store
        .create_grant_with_code(&grant, &code_expiring(&grant, NOW.plus(5)))
        .await
        .unwrap();
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
