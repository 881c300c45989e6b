//! The key layout: one hash tag (cluster slot) per grant, revocation that touches only
//! the grant's own keys, and the cross-slot indexes and pointers treated as hints that
//! are re-checked against the grant records. Damaged data is an error, never a panic or a
//! silent absence.

mod common;

use std::collections::BTreeSet;

use oauth_core::store::{CodeLookup, RefreshLookup};
use oauth_core::{Store, StoreErrorKind};
use oauth_store_redis::redis;
use oauth_store_testkit::fixtures::{
    client_id, code_for, token_hash, tokens_for, tokens_for_code, user_grant, user_id, NOW,
};

/// The hash tag of a key (Redis Cluster: the text between the first `{` and the next `}`).
fn hash_tag(key: &str) -> Option<&str> {
    let open = key.find('{')?;
    let close = key[open + 1..].find('}')?;
    Some(&key[open + 1..open + 1 + close]).filter(|tag| !tag.is_empty())
}

#[tokio::test]
async fn every_record_of_a_grant_shares_its_hash_tag() {
    let prefix = common::fresh_prefix();
    let _cleanup = common::Cleanup(prefix.clone());
    let store = common::connect(&prefix).await;
    let grant = user_grant(&user_id(), &client_id());
    let code = code_for(&grant);
    store.create_grant_with_code(&grant, &code).await.unwrap();
    let tokens = tokens_for_code(&code);
    store.consume_code(&code.hash, &tokens, NOW).await.unwrap();
    let old = tokens.refresh.unwrap().hash;
    store
        .rotate_refresh(&old, &tokens_for(&grant), None, NOW)
        .await
        .unwrap();

    let keys = common::keys_of(&prefix).await;
    let grant_tag = format!("g:{}", grant.id.as_str());
    let records: Vec<&String> = keys
        .iter()
        .filter(|k| {
            !k.contains(":loc:")
                && !k.ends_with(":expiry")
                && !k.contains("{u:")
                && !k.contains("{c:")
        })
        .collect();
    // grant, kids, code, two access tokens, two refresh tokens
    assert_eq!(records.len(), 7, "{keys:#?}");
    for key in records {
        assert_eq!(hash_tag(key), Some(grant_tag.as_str()), "{key}");
    }
    // Pointers (one per hash) and the user and client indexes live elsewhere.
    assert_eq!(keys.iter().filter(|k| k.contains(":loc:")).count(), 5);
    assert!(keys
        .iter()
        .any(|k| hash_tag(k) == Some(&format!("u:{}", grant.subject.user().unwrap())[..])));
}

#[tokio::test]
async fn revoking_a_grant_touches_only_its_own_keys() {
    let prefix = common::fresh_prefix();
    let _cleanup = common::Cleanup(prefix.clone());
    let store = common::connect(&prefix).await;
    let user = user_id();
    let app = client_id();
    let doomed = user_grant(&user, &app);
    let kept = user_grant(&user, &app);
    for grant in [&doomed, &kept] {
        let code = code_for(grant);
        store.create_grant_with_code(grant, &code).await.unwrap();
        store
            .consume_code(&code.hash, &tokens_for_code(&code), NOW)
            .await
            .unwrap();
        store.store_tokens(None, &tokens_for(grant)).await.unwrap();
    }
    let before: BTreeSet<String> = common::keys_of(&prefix).await.into_iter().collect();
    let mut conn = common::raw().await;
    let kept_tag = format!("{{g:{}}}", kept.id.as_str());
    let mut kept_values = Vec::new();
    for key in before.iter().filter(|k| k.contains(&kept_tag)) {
        let dump: Vec<u8> = redis::cmd("DUMP")
            .arg(key)
            .query_async(&mut conn)
            .await
            .unwrap();
        kept_values.push((key.clone(), dump));
    }

    store.revoke_grant(&doomed.id).await.unwrap();
    let after: BTreeSet<String> = common::keys_of(&prefix).await.into_iter().collect();
    let doomed_tag = format!("{{g:{}}}", doomed.id.as_str());
    let gone: BTreeSet<&String> = before.difference(&after).collect();
    assert!(after.iter().all(|k| !k.contains(&doomed_tag)), "{after:#?}");
    // Gone: the grant's 9 records and index (grant, kids, code, 2 access, 2 refresh... )
    // and its 5 pointers; nothing else.
    for key in &gone {
        assert!(key.contains(&doomed_tag) || key.contains(":loc:"), "{key}");
    }
    assert!(after.is_subset(&before));
    for (key, dump) in kept_values {
        let now: Vec<u8> = redis::cmd("DUMP")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(now, dump, "{key} was not touched");
    }
    assert_eq!(store.grants_for_user(&user, NOW).await.unwrap(), vec![kept]);
}

#[tokio::test]
async fn index_entries_are_hints_rechecked_against_the_grant() {
    let prefix = common::fresh_prefix();
    let _cleanup = common::Cleanup(prefix.clone());
    let store = common::connect(&prefix).await;
    let alice = user_id();
    let bob = user_id();
    let app = client_id();
    let alices = user_grant(&alice, &app);
    let bobs = user_grant(&bob, &app);
    for grant in [&alices, &bobs] {
        store
            .create_grant_with_code(grant, &code_for(grant))
            .await
            .unwrap();
    }
    // Damage alice's index as a partial failure in a cluster could: a member naming a
    // grant that does not exist, and one naming bob's grant.
    let mut conn = common::raw().await;
    let alice_index = format!("{prefix}:{{u:{}}}:grants", alice.as_str());
    let () = redis::cmd("ZADD")
        .arg(&alice_index)
        .arg(NOW.plus(1_000).0)
        .arg("no-such-grant")
        .arg(NOW.plus(1_000).0)
        .arg(bobs.id.as_str())
        .query_async(&mut conn)
        .await
        .unwrap();

    assert_eq!(
        store.grants_for_user(&alice, NOW).await.unwrap(),
        vec![alices.clone()],
        "only alice's own grant is listed"
    );
    store.revoke_user_grants(&alice).await.unwrap();
    assert_eq!(store.grant(&alices.id, NOW).await.unwrap(), None);
    assert_eq!(
        store.grant(&bobs.id, NOW).await.unwrap(),
        Some(bobs.clone()),
        "bob's grant, wrongly listed for alice, is untouched"
    );
    let exists: bool = redis::cmd("EXISTS")
        .arg(&alice_index)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(!exists);

    // The same for a client index naming another client's grant.
    let other = user_grant(&bob, &client_id());
    store
        .create_grant_with_code(&other, &code_for(&other))
        .await
        .unwrap();
    let () = redis::cmd("ZADD")
        .arg(format!("{prefix}:{{c:{}}}:grants", app.as_str()))
        .arg(NOW.plus(1_000).0)
        .arg(other.id.as_str())
        .query_async(&mut conn)
        .await
        .unwrap();
    store.delete_client(&app).await.unwrap();
    assert_eq!(store.grant(&bobs.id, NOW).await.unwrap(), None);
    assert_eq!(store.grant(&other.id, NOW).await.unwrap(), Some(other));
}

#[tokio::test]
async fn a_pointer_without_its_record_finds_nothing() {
    let prefix = common::fresh_prefix();
    let _cleanup = common::Cleanup(prefix.clone());
    let store = common::connect(&prefix).await;
    let grant = user_grant(&user_id(), &client_id());
    store
        .create_grant_with_code(&grant, &code_for(&grant))
        .await
        .unwrap();
    let mut conn = common::raw().await;
    let (code, access, refresh) = (token_hash(), token_hash(), token_hash());
    for (kind, hash) in [("code", &code), ("at", &access), ("rt", &refresh)] {
        let () = redis::cmd("SET")
            .arg(format!("{prefix}:loc:{kind}:{}", hash.to_hex()))
            .arg(grant.id.as_str())
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    assert_eq!(
        store.find_code(&code, NOW).await.unwrap(),
        CodeLookup::NotFound
    );
    assert_eq!(store.access_token(&access, NOW).await.unwrap(), None);
    assert_eq!(
        store.find_refresh(&refresh, NOW).await.unwrap(),
        RefreshLookup::NotFound
    );
    assert_eq!(
        store.claim_refresh_grace(&refresh, NOW).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn damaged_records_are_errors() {
    let prefix = common::fresh_prefix();
    let _cleanup = common::Cleanup(prefix.clone());
    let store = common::connect(&prefix).await;
    let grant = user_grant(&user_id(), &client_id());
    let code = code_for(&grant);
    store.create_grant_with_code(&grant, &code).await.unwrap();
    let tokens = tokens_for(&grant);
    store.store_tokens(None, &tokens).await.unwrap();
    let mut conn = common::raw().await;
    let g = format!("{prefix}:{{g:{}}}", grant.id.as_str());

    let () = redis::cmd("HSET")
        .arg(format!("{g}:code:{}", code.hash.to_hex()))
        .arg("rec")
        .arg("{not json")
        .query_async(&mut conn)
        .await
        .unwrap();
    let error = store.find_code(&code.hash, NOW).await.unwrap_err();
    assert_eq!(error.kind(), StoreErrorKind::Corrupt);

    let () = redis::cmd("HDEL")
        .arg(format!("{g}:at:{}", tokens.access.hash.to_hex()))
        .arg("rec")
        .query_async(&mut conn)
        .await
        .unwrap();
    let error = store
        .access_token(&tokens.access.hash, NOW)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), StoreErrorKind::Corrupt);

    // A key of the wrong type under the store's prefix.
    let () = redis::cmd("SET")
        .arg(format!("{g}:grant"))
        .arg("a string")
        .query_async(&mut conn)
        .await
        .unwrap();
    let error = store.grant(&grant.id, NOW).await.unwrap_err();
    assert_eq!(error.kind(), StoreErrorKind::Corrupt, "{error}");
}

#[tokio::test]
async fn a_malformed_pointer_is_corrupt_and_never_followed() {
    // A pointer names a grant tag; one that is not an escaped id (here with a brace and a
    // colon) could name keys outside its grant's. As in cluster mode, it is an error.
    let prefix = common::fresh_prefix();
    let _cleanup = common::Cleanup(prefix.clone());
    let store = common::connect(&prefix).await;
    let grant = user_grant(&user_id(), &client_id());
    let code = code_for(&grant);
    store.create_grant_with_code(&grant, &code).await.unwrap();
    let tokens = tokens_for_code(&code);
    let mut conn = common::raw().await;
    for (kind, hash) in [
        ("code", &code.hash),
        ("at", &tokens.access.hash),
        ("rt", &tokens.refresh.as_ref().unwrap().hash),
    ] {
        let () = redis::cmd("SET")
            .arg(format!("{prefix}:loc:{kind}:{}", hash.to_hex()))
            .arg(format!("{}}}:x", grant.id.as_str()))
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    let error = store.find_code(&code.hash, NOW).await.unwrap_err();
    assert_eq!(error.kind(), StoreErrorKind::Corrupt, "{error}");
    let error = store
        .consume_code(&code.hash, &tokens, NOW)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), StoreErrorKind::Corrupt, "{error}");
    let error = store
        .access_token(&tokens.access.hash, NOW)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), StoreErrorKind::Corrupt, "{error}");
    let refresh = tokens.refresh.as_ref().unwrap().hash;
    let error = store.find_refresh(&refresh, NOW).await.unwrap_err();
    assert_eq!(error.kind(), StoreErrorKind::Corrupt, "{error}");
}
