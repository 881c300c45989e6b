//! Cluster: revocations that walk an index racing the creation of a grant the index
//! lists. A creation writes its index hints before its grant-slot script; a revocation
//! that reads the hint and reaches the grant's slot first finds no record. It must then
//! make the creation fail, never let it store a live grant that no index lists any more
//! (which every later revocation of the user or client would miss).
//!
//! The interleaving is forced with `CLIENT PAUSE WRITE` on the node of the grant (and of
//! `P:expiry`): the creation's expiry hint waits there, the revocation reads the index on
//! another node and its grant-slot script queues behind the hint, ahead of the creation's
//! grant-slot script.

mod common;

use std::time::Duration;

use oauth_core::store::CodeLookup;
use oauth_core::{Store, StoreErrorKind};
use oauth_store_redis::redis;
use oauth_store_testkit::fixtures::{
    access_only_for, client_grant, client_id, code_for, user_grant, user_id, NOW,
};

const PAUSE_MS: u64 = 700;

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

/// Holds every write on `node` for `ms` milliseconds (reads go on).
async fn pause_writes(node: &str, ms: u64) {
    let mut conn = redis::Client::open(node)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(ms)
        .arg("WRITE")
        .query_async(&mut conn)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_revocation_racing_a_grant_creation_never_leaves_an_unlisted_live_grant() {
    let prefix = common::fresh_prefix();
    let _cleanup = common::ClusterCleanup(prefix.clone());
    let store = common::connect_cluster(&prefix).await;
    let paused = node_holding(&format!("{prefix}:expiry")).await;
    // A user whose index is on another node; a grant (and its client's index) on the
    // paused one.
    let user = loop {
        let user = user_id();
        if node_holding(&format!("{prefix}:{{u:{}}}:grants", user.as_str())).await != paused {
            break user;
        }
    };
    let app = client_id();
    let grant = loop {
        let grant = user_grant(&user, &app);
        if node_holding(&format!("{prefix}:{{g:{}}}:grant", grant.id.as_str())).await == paused {
            break grant;
        }
    };
    let code = code_for(&grant);

    pause_writes(&paused, PAUSE_MS).await;
    let create = {
        let (store, grant, code) = (store.clone(), grant.clone(), code.clone());
        tokio::spawn(async move { store.create_grant_with_code(&grant, &code).await })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    let revoke = {
        let (store, user) = (store.clone(), user.clone());
        tokio::spawn(async move { store.revoke_user_grants(&user).await })
    };
    let created = create.await.unwrap();
    revoke.await.unwrap().unwrap();
    println!("creation racing the revocation: {created:?}");
    if let Err(error) = &created {
        assert_eq!(error.kind(), StoreErrorKind::Conflict, "{error}");
    }

    // Whatever the order, a later revocation of the user's grants reaches the grant.
    store.revoke_user_grants(&user).await.unwrap();
    assert_eq!(store.grant(&grant.id, NOW).await.unwrap(), None);
    assert_eq!(
        store.find_code(&code.hash, NOW).await.unwrap(),
        CodeLookup::NotFound
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_deletion_racing_a_client_credentials_grant_never_leaves_it_live() {
    let prefix = common::fresh_prefix();
    let _cleanup = common::ClusterCleanup(prefix.clone());
    let store = common::connect_cluster(&prefix).await;
    let paused = node_holding(&format!("{prefix}:expiry")).await;
    let app = loop {
        let app = client_id();
        if node_holding(&format!("{prefix}:{{c:{}}}:grants", app.as_str())).await != paused {
            break app;
        }
    };
    let grant = loop {
        let grant = client_grant(&app);
        if node_holding(&format!("{prefix}:{{g:{}}}:grant", grant.id.as_str())).await == paused {
            break grant;
        }
    };
    let tokens = access_only_for(&grant);

    pause_writes(&paused, PAUSE_MS).await;
    let create = {
        let (store, grant, tokens) = (store.clone(), grant.clone(), tokens.clone());
        tokio::spawn(async move { store.store_tokens(Some(&grant), &tokens).await })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    let delete = {
        let (store, app) = (store.clone(), app.clone());
        tokio::spawn(async move { store.delete_client(&app).await })
    };
    let created = create.await.unwrap();
    delete.await.unwrap().unwrap();
    println!("client credentials racing the deletion: {created:?}");
    if let Err(error) = &created {
        assert_eq!(error.kind(), StoreErrorKind::Conflict, "{error}");
    }

    store.delete_client(&app).await.unwrap();
    assert_eq!(store.grant(&grant.id, NOW).await.unwrap(), None);
    assert_eq!(
        store.access_token(&tokens.access.hash, NOW).await.unwrap(),
        None
    );
}
