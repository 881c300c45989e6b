//! Clauses about clients: registration records and the cascade of deleting one.

use oauth_core::store::CodeLookup;
use oauth_core::Store;

use crate::fixtures::{
    client, client_grant, client_id, code_for, tokens_for, tokens_for_code, user_grant, user_id,
    NOW,
};
use crate::support::{assert_code_gone, assert_grant_gone, assert_tokens_gone, assert_tokens_live};

/// `put_client` inserts, `client` reads it back unchanged, a second `put_client` with the
/// same id replaces it, `delete_client` removes it, and deleting an unknown or already
/// deleted client succeeds.
pub async fn client_put_get_replace_delete<S: Store>(factory: impl AsyncFn() -> S) {
    let store = factory().await;
    let id = client_id();

    assert_eq!(store.client(&id).await.unwrap(), None, "unknown client");

    let original = client(&id);
    store.put_client(&original).await.unwrap();
    assert_eq!(store.client(&id).await.unwrap(), Some(original.clone()));

    let mut replaced = original.clone();
    replaced.name = Some("Renamed client".to_owned());
    replaced.redirect_uris = vec!["https://other.example.com/cb".to_owned()];
    replaced.secret = None;
    replaced.scope = None;
    store.put_client(&replaced).await.unwrap();
    assert_eq!(
        store.client(&id).await.unwrap(),
        Some(replaced),
        "put_client must replace the whole record"
    );

    // Another client is independent.
    let other = client(&client_id());
    store.put_client(&other).await.unwrap();

    store.delete_client(&id).await.unwrap();
    assert_eq!(store.client(&id).await.unwrap(), None, "deleted client");
    assert_eq!(store.client(&other.id).await.unwrap(), Some(other));

    store.delete_client(&id).await.unwrap();
    store.delete_client(&client_id()).await.unwrap();
}

/// `insert_client` inserts only a new id: `true` once, then `false` without changing the
/// stored record; and of [`crate::ONCE_RACERS`] concurrent inserts of one id with
/// different records exactly one is `true` and its record is the one stored.
pub async fn insert_client_never_replaces_an_existing_client<S: Store>(
    factory: impl AsyncFn() -> S,
) {
    let store = std::sync::Arc::new(factory().await);
    let id = client_id();
    let original = client(&id);
    assert!(store.insert_client(&original).await.unwrap());
    let mut hijack = original.clone();
    hijack.redirect_uris = vec!["https://evil.example/cb".to_owned()];
    assert!(!store.insert_client(&hijack).await.unwrap());
    assert_eq!(store.client(&id).await.unwrap(), Some(original));

    let contested = client_id();
    let candidates: Vec<_> = (0..crate::ONCE_RACERS)
        .map(|i| {
            let mut c = client(&contested);
            c.name = Some(format!("candidate {i}"));
            c
        })
        .collect();
    let outcomes = crate::support::race(&store, crate::ONCE_RACERS, |store, i| {
        let candidate = candidates[i].clone();
        async move { store.insert_client(&candidate).await.unwrap() }
    })
    .await;
    let winners: Vec<usize> = (0..outcomes.len()).filter(|i| outcomes[*i]).collect();
    assert_eq!(winners.len(), 1, "{outcomes:?}");
    assert_eq!(
        store.client(&contested).await.unwrap(),
        Some(candidates[winners[0]].clone())
    );
}

/// `replace_client` replaces an existing client and reports `true`; for an absent
/// client, including one deleted a moment ago, it reports `false` and writes nothing, so
/// an update never resurrects a deleted client.
pub async fn replace_client_never_resurrects_a_deleted_client<S: Store>(
    factory: impl AsyncFn() -> S,
) {
    let store = factory().await;
    let id = client_id();
    let original = client(&id);
    assert!(
        !store.replace_client(&original).await.unwrap(),
        "absent client"
    );
    assert_eq!(store.client(&id).await.unwrap(), None, "nothing written");

    store.put_client(&original).await.unwrap();
    let mut renamed = original.clone();
    renamed.name = Some("Renamed".to_owned());
    assert!(store.replace_client(&renamed).await.unwrap());
    assert_eq!(store.client(&id).await.unwrap(), Some(renamed.clone()));

    store.delete_client(&id).await.unwrap();
    assert!(!store.replace_client(&renamed).await.unwrap());
    assert_eq!(
        store.client(&id).await.unwrap(),
        None,
        "a deleted client stays deleted"
    );
}

/// `delete_client` removes the client and every grant of it, user grants and client
/// credentials grants alike, with their codes (tombstones included), access tokens and
/// refresh tokens; another client's grants, even of the same user, are untouched.
pub async fn delete_client_cascades_to_grants_codes_and_tokens<S: Store>(
    factory: impl AsyncFn() -> S,
) {
    let store = factory().await;
    let doomed = client(&client_id());
    let kept = client(&client_id());
    store.put_client(&doomed).await.unwrap();
    store.put_client(&kept).await.unwrap();
    let alice = user_id();
    let bob = user_id();

    // Alice's grant to the doomed client: code consumed (tombstone) and tokens issued.
    let alice_grant = user_grant(&alice, &doomed.id);
    let alice_code = code_for(&alice_grant);
    store
        .create_grant_with_code(&alice_grant, &alice_code)
        .await
        .unwrap();
    store
        .consume_code(&alice_code.hash, &tokens_for_code(&alice_code), NOW)
        .await
        .unwrap();
    let alice_tokens = tokens_for(&alice_grant);
    store.store_tokens(None, &alice_tokens).await.unwrap();

    // Bob's grant to the doomed client: code still unused.
    let bob_grant = user_grant(&bob, &doomed.id);
    let bob_code = code_for(&bob_grant);
    store
        .create_grant_with_code(&bob_grant, &bob_code)
        .await
        .unwrap();

    // The doomed client's own client-credentials grant.
    let cc_grant = client_grant(&doomed.id);
    let cc_tokens = tokens_for(&cc_grant);
    store
        .store_tokens(Some(&cc_grant), &cc_tokens)
        .await
        .unwrap();

    // Alice's grant to the kept client.
    let kept_grant = user_grant(&alice, &kept.id);
    let kept_code = code_for(&kept_grant);
    store
        .create_grant_with_code(&kept_grant, &kept_code)
        .await
        .unwrap();
    let kept_tokens = tokens_for(&kept_grant);
    store.store_tokens(None, &kept_tokens).await.unwrap();

    store.delete_client(&doomed.id).await.unwrap();

    assert_eq!(store.client(&doomed.id).await.unwrap(), None);
    for grant in [&alice_grant, &bob_grant, &cc_grant] {
        assert_grant_gone(&store, grant, NOW).await;
    }
    assert_code_gone(&store, &alice_code.hash, NOW).await;
    assert_code_gone(&store, &bob_code.hash, NOW).await;
    assert_tokens_gone(&store, &alice_tokens, NOW).await;
    assert_tokens_gone(&store, &cc_tokens, NOW).await;
    assert!(store.grants_for_user(&bob, NOW).await.unwrap().is_empty());

    // The other client and Alice's grant to it are untouched.
    assert_eq!(store.client(&kept.id).await.unwrap(), Some(kept));
    assert_eq!(
        store.grants_for_user(&alice, NOW).await.unwrap(),
        vec![kept_grant.clone()]
    );
    assert_eq!(
        store.find_code(&kept_code.hash, NOW).await.unwrap(),
        CodeLookup::Active(kept_code)
    );
    assert_tokens_live(&store, &kept_grant, &kept_tokens, NOW).await;

    // Idempotent.
    store.delete_client(&doomed.id).await.unwrap();
}
