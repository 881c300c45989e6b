//! Clauses about refresh tokens: reads, atomic rotation, reuse detection and the
//! rotation race.

use std::sync::Arc;

use oauth_core::model::GrantRecord;
use oauth_core::store::{RefreshLookup, RotateOutcome};
use oauth_core::{Store, UnixTime};

use crate::fixtures::{
    client_id, refresh_expiring, token_hash, tokens_for, user_grant, user_id, NOW,
};
use crate::support::{assert_tokens_gone, assert_tokens_live, race};

/// How many tasks race to rotate one refresh token.
pub const ROTATE_RACERS: usize = 32;
/// How many fresh refresh tokens the rotation race is repeated with.
pub const ROTATE_ROUNDS: usize = 20;

async fn grant_with_tokens<S: Store>(store: &S) -> (GrantRecord, oauth_core::model::IssuedTokens) {
    let grant = user_grant(&user_id(), &client_id());
    let tokens = tokens_for(&grant);
    store.store_tokens(Some(&grant), &tokens).await.unwrap();
    (grant, tokens)
}

/// `find_refresh` answers [`RefreshLookup::Active`] with the unchanged record, then
/// after rotation [`RefreshLookup::Retired`] with the grant, the client and the rotation
/// time until the token's `expires_at`, then `NotFound`; unknown tokens are `NotFound`.
pub async fn find_refresh_active_retired_not_found<S: Store>(factory: impl AsyncFn() -> S) {
    let store = factory().await;
    let (grant, tokens) = grant_with_tokens(&store).await;
    let old = tokens.refresh.clone().unwrap();

    assert_eq!(
        store.find_refresh(&old.hash, NOW).await.unwrap(),
        RefreshLookup::Active(old.clone())
    );
    assert_eq!(
        store.find_refresh(&old.hash, NOW).await.unwrap(),
        RefreshLookup::Active(old.clone()),
        "find_refresh must not rotate"
    );

    let rotated_at = NOW.plus(10);
    assert_eq!(
        store
            .rotate_refresh(&old.hash, &tokens_for(&grant), None, rotated_at)
            .await
            .unwrap(),
        RotateOutcome::Rotated
    );
    let retired = RefreshLookup::Retired {
        grant_id: grant.id.clone(),
        client_id: grant.client_id.clone(),
        retired_at: rotated_at,
    };
    assert_eq!(
        store.find_refresh(&old.hash, NOW.plus(20)).await.unwrap(),
        retired
    );
    assert_eq!(
        store
            .find_refresh(&old.hash, UnixTime(old.expires_at.0 - 1))
            .await
            .unwrap(),
        retired,
        "the tombstone lives until the token's expiry"
    );
    assert_eq!(
        store.find_refresh(&old.hash, old.expires_at).await.unwrap(),
        RefreshLookup::NotFound,
        "a retired token is absent at its expiry"
    );

    let short = refresh_expiring(&grant, NOW.plus(50));
    let mut issued = tokens_for(&grant);
    issued.refresh = Some(short.clone());
    store.store_tokens(None, &issued).await.unwrap();
    assert_eq!(
        store.find_refresh(&short.hash, NOW.plus(49)).await.unwrap(),
        RefreshLookup::Active(short.clone())
    );
    assert_eq!(
        store
            .find_refresh(&short.hash, short.expires_at)
            .await
            .unwrap(),
        RefreshLookup::NotFound,
        "an active token is absent at its expiry"
    );

    assert_eq!(
        store.find_refresh(&token_hash(), NOW).await.unwrap(),
        RefreshLookup::NotFound
    );
}

/// `rotate_refresh` answers [`RotateOutcome::Rotated`], retires the presented token and
/// stores the successor access and refresh tokens under the same grant; the successor
/// can be rotated in turn.
pub async fn rotate_refresh_stores_successor_and_retires_old<S: Store>(
    factory: impl AsyncFn() -> S,
) {
    let store = factory().await;
    let (grant, tokens) = grant_with_tokens(&store).await;
    let old = tokens.refresh.clone().unwrap();

    let successor = tokens_for(&grant);
    assert_eq!(
        store
            .rotate_refresh(&old.hash, &successor, None, NOW)
            .await
            .unwrap(),
        RotateOutcome::Rotated
    );
    assert_tokens_live(&store, &grant, &successor, NOW).await;
    assert!(matches!(
        store.find_refresh(&old.hash, NOW).await.unwrap(),
        RefreshLookup::Retired { .. }
    ));

    // A rotation without a new refresh token is allowed too.
    let mut access_only = tokens_for(&grant);
    access_only.refresh = None;
    let next = successor.refresh.clone().unwrap();
    assert_eq!(
        store
            .rotate_refresh(&next.hash, &access_only, None, NOW.plus(1))
            .await
            .unwrap(),
        RotateOutcome::Rotated
    );
    assert_tokens_live(&store, &grant, &access_only, NOW.plus(1)).await;
    assert_eq!(
        store.find_refresh(&next.hash, NOW.plus(2)).await.unwrap(),
        RefreshLookup::Retired {
            grant_id: grant.id.clone(),
            client_id: grant.client_id.clone(),
            retired_at: NOW.plus(1),
        }
    );
}

/// Rotating a retired token answers [`RotateOutcome::Reused`] with its grant and stores
/// nothing: the would-be successor is absent, the tombstone keeps its first retirement
/// time, and the store itself revokes nothing (the core does).
pub async fn rotate_retired_refresh_is_reuse_and_stores_nothing<S: Store>(
    factory: impl AsyncFn() -> S,
) {
    let store = factory().await;
    let (grant, tokens) = grant_with_tokens(&store).await;
    let old = tokens.refresh.clone().unwrap();

    let first = tokens_for(&grant);
    assert_eq!(
        store
            .rotate_refresh(&old.hash, &first, None, NOW)
            .await
            .unwrap(),
        RotateOutcome::Rotated
    );

    let second = tokens_for(&grant);
    assert_eq!(
        store
            .rotate_refresh(&old.hash, &second, None, NOW.plus(5))
            .await
            .unwrap(),
        RotateOutcome::Reused {
            grant_id: grant.id.clone()
        }
    );
    assert_tokens_gone(&store, &second, NOW.plus(5)).await;
    assert_eq!(
        store.find_refresh(&old.hash, NOW.plus(5)).await.unwrap(),
        RefreshLookup::Retired {
            grant_id: grant.id.clone(),
            client_id: grant.client_id.clone(),
            retired_at: NOW,
        },
        "a reuse attempt must not touch the tombstone"
    );
    assert_tokens_live(&store, &grant, &first, NOW.plus(5)).await;
}

/// Rotating an unknown token, an expired token, or a token whose grant was revoked
/// answers [`RotateOutcome::NotFound`] and stores nothing.
pub async fn rotate_unknown_or_expired_refresh_is_not_found<S: Store>(
    factory: impl AsyncFn() -> S,
) {
    let store = factory().await;
    let (grant, tokens) = grant_with_tokens(&store).await;
    let old = tokens.refresh.clone().unwrap();

    let successor = tokens_for(&grant);
    assert_eq!(
        store
            .rotate_refresh(&token_hash(), &successor, None, NOW)
            .await
            .unwrap(),
        RotateOutcome::NotFound
    );
    assert_tokens_gone(&store, &successor, NOW).await;

    let successor = tokens_for(&grant);
    assert_eq!(
        store
            .rotate_refresh(&old.hash, &successor, None, old.expires_at)
            .await
            .unwrap(),
        RotateOutcome::NotFound,
        "an expired token cannot be rotated"
    );
    assert_tokens_gone(&store, &successor, NOW).await;

    let (revoked, tokens) = grant_with_tokens(&store).await;
    store.revoke_grant(&revoked.id).await.unwrap();
    let successor = tokens_for(&revoked);
    assert_eq!(
        store
            .rotate_refresh(&tokens.refresh.unwrap().hash, &successor, None, NOW)
            .await
            .unwrap(),
        RotateOutcome::NotFound,
        "a token of a revoked grant cannot be rotated"
    );
    assert_tokens_gone(&store, &successor, NOW).await;
}

/// The rotation race: [`ROTATE_RACERS`] tasks rotate one refresh token at once, each
/// with its own successor. Exactly one gets [`RotateOutcome::Rotated`], every other one
/// `Reused { grant_id }`, and exactly one successor (the winner's) is findable.
/// Repeated with [`ROTATE_ROUNDS`] fresh tokens.
pub async fn concurrent_rotate_refresh_has_exactly_one_winner<S: Store>(
    factory: impl AsyncFn() -> S,
) {
    let store = Arc::new(factory().await);
    for round in 0..ROTATE_ROUNDS {
        let (grant, tokens) = grant_with_tokens(&*store).await;
        let old = tokens.refresh.unwrap().hash;
        let successors: Vec<_> = (0..ROTATE_RACERS).map(|_| tokens_for(&grant)).collect();

        let outcomes = race(&store, ROTATE_RACERS, |store, i| {
            let successor = successors[i].clone();
            async move {
                store
                    .rotate_refresh(&old, &successor, None, NOW)
                    .await
                    .unwrap()
            }
        })
        .await;

        let winners: Vec<usize> = outcomes
            .iter()
            .enumerate()
            .filter(|(_, o)| **o == RotateOutcome::Rotated)
            .map(|(i, _)| i)
            .collect();
        let reused = RotateOutcome::Reused {
            grant_id: grant.id.clone(),
        };
        assert_eq!(winners.len(), 1, "round {round}: exactly one rotation wins");
        assert_eq!(
            outcomes.iter().filter(|o| **o == reused).count(),
            ROTATE_RACERS - 1,
            "round {round}: every other rotation is a reuse: {outcomes:?}"
        );

        let mut findable = Vec::new();
        for (i, successor) in successors.iter().enumerate() {
            let refresh = successor.refresh.as_ref().unwrap();
            let active = matches!(
                store.find_refresh(&refresh.hash, NOW).await.unwrap(),
                RefreshLookup::Active(_)
            );
            let access = store
                .access_token(&successor.access.hash, NOW)
                .await
                .unwrap()
                .is_some();
            assert_eq!(
                active, access,
                "round {round}: a successor is stored whole or not at all"
            );
            if active {
                findable.push(i);
            }
        }
        assert_eq!(
            findable, winners,
            "round {round}: exactly the winner's successor is stored"
        );
    }
}
