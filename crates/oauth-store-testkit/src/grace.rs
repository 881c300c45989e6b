//! Clauses about the optional refresh-token grace: the sealed successor kept with a
//! retired token is handed out at most once, and never after its end.

use std::sync::Arc;

use oauth_core::store::{RefreshGrace, RotateOutcome};
use oauth_core::Store;

use crate::fixtures::{client_id, random_bytes, token_hash, tokens_for, user_grant, user_id, NOW};
use crate::support::race;

/// How many tasks race to claim one grace.
pub const GRACE_RACERS: usize = 32;

async fn rotated_with<S: Store>(store: &S, grace: Option<&RefreshGrace>) -> oauth_core::TokenHash {
    let grant = user_grant(&user_id(), &client_id());
    let tokens = tokens_for(&grant);
    store.store_tokens(Some(&grant), &tokens).await.unwrap();
    let old = tokens.refresh.unwrap().hash;
    assert_eq!(
        store
            .rotate_refresh(&old, &tokens_for(&grant), grace, NOW)
            .await
            .unwrap(),
        RotateOutcome::Rotated
    );
    old
}

/// A grace kept by `rotate_refresh` is claimable exactly once before its `until`, the
/// bytes unchanged; a rotation without grace, an expired grace, and an unknown or active
/// token all claim `None`.
pub async fn refresh_grace_is_claimable_once_until_its_end<S: Store>(factory: impl AsyncFn() -> S) {
    let store = factory().await;
    let grace = RefreshGrace {
        sealed_successor: random_bytes().to_vec(),
        until: NOW.plus(30),
    };
    let old = rotated_with(&store, Some(&grace)).await;
    assert_eq!(
        store.claim_refresh_grace(&old, NOW.plus(29)).await.unwrap(),
        Some(grace.sealed_successor.clone())
    );
    assert_eq!(
        store.claim_refresh_grace(&old, NOW.plus(29)).await.unwrap(),
        None,
        "claimed once"
    );

    let late = rotated_with(&store, Some(&grace)).await;
    assert_eq!(
        store
            .claim_refresh_grace(&late, NOW.plus(30))
            .await
            .unwrap(),
        None,
        "a grace is over at its `until`"
    );

    let without = rotated_with(&store, None).await;
    assert_eq!(
        store.claim_refresh_grace(&without, NOW).await.unwrap(),
        None
    );
    assert_eq!(
        store.claim_refresh_grace(&token_hash(), NOW).await.unwrap(),
        None
    );

    let grant = user_grant(&user_id(), &client_id());
    let tokens = tokens_for(&grant);
    store.store_tokens(Some(&grant), &tokens).await.unwrap();
    let active = tokens.refresh.unwrap().hash;
    assert_eq!(
        store.claim_refresh_grace(&active, NOW).await.unwrap(),
        None,
        "an active token has no grace"
    );
}

/// [`GRACE_RACERS`] tasks claim one grace at once: exactly one gets it.
pub async fn concurrent_grace_claims_have_exactly_one_winner<S: Store>(
    factory: impl AsyncFn() -> S,
) {
    let store = Arc::new(factory().await);
    let grace = RefreshGrace {
        sealed_successor: random_bytes().to_vec(),
        until: NOW.plus(60),
    };
    let old = rotated_with(&*store, Some(&grace)).await;
    let outcomes = race(&store, GRACE_RACERS, |store, _| async move {
        store.claim_refresh_grace(&old, NOW).await.unwrap()
    })
    .await;
    assert_eq!(
        outcomes.iter().filter(|o| o.is_some()).count(),
        1,
        "{outcomes:?}"
    );
}
