//! Tests of what the conformance suite cannot see: the indexes stay exact (nothing
//! leaks, revocation touches only its grant), the purge budget covers a grant's
//! children, misuse is refused, and a poisoned lock is an error.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "tests: a failed check must panic"
)]

use std::sync::Arc;

use oauth_core::model::IssuedTokens;
use oauth_core::store::{ConsumeOutcome, RotateOutcome};
use oauth_core::{Store, StoreErrorKind, UnixTime};
use oauth_store_testkit::fixtures::{
    access_expiring, client, client_grant, client_id, code_expiring, code_for, once_key,
    token_hash, tokens_for, tokens_for_code, user_grant, user_id, NOW,
};

use super::MemoryStore;

fn check(store: &MemoryStore) -> usize {
    let state = store.state.lock().unwrap();
    state.check_invariants();
    state.record_count()
}

#[tokio::test]
async fn indexes_stay_exact_through_every_operation() {
    let store = MemoryStore::new();
    let alice = user_id();
    let c = client(&client_id());
    store.put_client(&c).await.unwrap();

    let grant = user_grant(&alice, &c.id);
    let code = code_for(&grant);
    store.create_grant_with_code(&grant, &code).await.unwrap();
    assert_eq!(check(&store), 2);
    let tokens = tokens_for_code(&code);
    store.consume_code(&code.hash, &tokens, NOW).await.unwrap();
    assert_eq!(
        check(&store),
        4,
        "the code stays as a tombstone beside its tokens"
    );
    let successor = tokens_for(&grant);
    store
        .rotate_refresh(&tokens.refresh.unwrap().hash, &successor, None, NOW)
        .await
        .unwrap();
    assert_eq!(check(&store), 6, "the retired token stays as a tombstone");
    store
        .revoke_access_token(&successor.access.hash)
        .await
        .unwrap();
    assert_eq!(check(&store), 5);

    let machine = client_grant(&c.id);
    store
        .store_tokens(Some(&machine), &tokens_for(&machine))
        .await
        .unwrap();
    assert!(store
        .insert_once(once_key("t"), NOW.plus(5), NOW)
        .await
        .unwrap());
    assert_eq!(check(&store), 9);

    store.revoke_user_grants(&alice).await.unwrap();
    assert_eq!(
        check(&store),
        4,
        "the user's grant went with its five records"
    );
    store.delete_client(&c.id).await.unwrap();
    assert_eq!(check(&store), 1, "only the marker is left");
    assert_eq!(store.purge_expired(NOW.plus(5), 10).await.unwrap(), 1);
    assert_eq!(check(&store), 0);
}

#[tokio::test]
async fn revocation_touches_only_its_grant() {
    let store = MemoryStore::new();
    let grants: Vec<_> = (0..3)
        .map(|_| user_grant(&user_id(), &client_id()))
        .collect();
    for grant in &grants {
        store
            .create_grant_with_code(grant, &code_for(grant))
            .await
            .unwrap();
        store.store_tokens(None, &tokens_for(grant)).await.unwrap();
    }
    assert_eq!(check(&store), 12);
    store.revoke_grant(&grants[1].id).await.unwrap();
    assert_eq!(check(&store), 8);
    store.revoke_grant(&grants[1].id).await.unwrap();
    assert_eq!(check(&store), 8);
}

#[tokio::test]
async fn purging_an_expired_grant_takes_its_children_within_the_budget() {
    let store = MemoryStore::new();
    let mut grant = user_grant(&user_id(), &client_id());
    grant.expires_at = NOW.plus(10);
    store
        .create_grant_with_code(&grant, &code_expiring(&grant, NOW.plus(100)))
        .await
        .unwrap();
    for _ in 0..4 {
        let tokens = IssuedTokens {
            access: access_expiring(&grant, NOW.plus(100)),
            refresh: None,
        };
        store.store_tokens(None, &tokens).await.unwrap();
    }
    let kept = user_grant(&user_id(), &client_id());
    store
        .create_grant_with_code(&kept, &code_for(&kept))
        .await
        .unwrap();
    assert_eq!(check(&store), 8);

    // The grant is expired, its five children are not by their own expiry, but they
    // are unusable without it: they go first, then the grant, three at a time.
    let at = NOW.plus(10);
    assert_eq!(store.purge_expired(at, 3).await.unwrap(), 3);
    assert_eq!(check(&store), 5);
    assert_eq!(store.purge_expired(at, 3).await.unwrap(), 3);
    assert_eq!(check(&store), 2);
    assert_eq!(store.purge_expired(at, 3).await.unwrap(), 0);
    assert_eq!(store.grant(&kept.id, at).await.unwrap(), Some(kept));
}

#[tokio::test]
async fn tokens_for_a_vanished_grant_are_refused() {
    let store = MemoryStore::new();
    let grant = user_grant(&user_id(), &client_id());
    store
        .create_grant_with_code(&grant, &code_for(&grant))
        .await
        .unwrap();
    store.revoke_grant(&grant.id).await.unwrap();

    let err = store
        .store_tokens(None, &tokens_for(&grant))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Conflict);
    assert_eq!(check(&store), 0, "nothing was stored");
}

#[tokio::test]
async fn records_naming_another_grant_are_refused_atomically() {
    let store = MemoryStore::new();
    let grant = user_grant(&user_id(), &client_id());
    let other = user_grant(&user_id(), &client_id());

    assert!(store
        .create_grant_with_code(&grant, &code_for(&other))
        .await
        .is_err());
    assert!(store
        .store_tokens(Some(&grant), &tokens_for(&other))
        .await
        .is_err());
    assert_eq!(check(&store), 0);

    let tokens = tokens_for(&grant);
    store.store_tokens(Some(&grant), &tokens).await.unwrap();
    store
        .store_tokens(Some(&other), &tokens_for(&other))
        .await
        .unwrap();
    let old = tokens.refresh.unwrap().hash;
    assert!(store
        .rotate_refresh(&old, &tokens_for(&other), None, NOW)
        .await
        .is_err());
    assert_eq!(check(&store), 6);
    assert_eq!(
        store
            .rotate_refresh(&old, &tokens_for(&grant), None, NOW)
            .await
            .unwrap(),
        RotateOutcome::Rotated,
        "a refused rotation left the old token active"
    );

    // Duplicate hashes are refused rather than silently corrupting the indexes.
    let duplicate = IssuedTokens {
        access: tokens.access.clone(),
        refresh: None,
    };
    assert_eq!(
        store
            .store_tokens(None, &duplicate)
            .await
            .unwrap_err()
            .kind(),
        StoreErrorKind::Conflict
    );
    check(&store);
}

#[tokio::test]
async fn code_of_an_expired_grant_is_not_found() {
    let store = MemoryStore::new();
    let mut grant = user_grant(&user_id(), &client_id());
    grant.expires_at = NOW.plus(10);
    let code = code_for(&grant);
    store.create_grant_with_code(&grant, &code).await.unwrap();
    assert_eq!(
        store
            .consume_code(&code.hash, &tokens_for_code(&code), NOW.plus(10))
            .await
            .unwrap(),
        ConsumeOutcome::NotFound
    );
    assert!(store
        .access_token(&token_hash(), NOW)
        .await
        .unwrap()
        .is_none());
}

#[test]
fn a_poisoned_lock_is_an_error_not_a_panic() {
    let store = Arc::new(MemoryStore::new());
    let poisoner = Arc::clone(&store);
    let joined = std::thread::spawn(move || {
        let _guard = poisoner.state.lock().unwrap();
        panic!("poison the store's lock");
    })
    .join();
    assert!(joined.is_err());

    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let err = store.client(&client_id()).await.unwrap_err();
        assert_eq!(err.kind(), StoreErrorKind::Other);
        let tokens = tokens_for(&user_grant(&user_id(), &client_id()));
        assert!(store
            .consume_code(&token_hash(), &tokens, NOW)
            .await
            .is_err());
        assert!(store
            .revoke_grant(&user_grant(&user_id(), &client_id()).id)
            .await
            .is_err());
        assert!(store.purge_expired(UnixTime(u64::MAX), 10).await.is_err());
    });
}

#[test]
fn debug_shows_no_records() {
    assert_eq!(format!("{:?}", MemoryStore::new()), "MemoryStore { .. }");
}
