//! Races across two separate `RedisStore` values (two connections, as two server
//! instances would have) on one prefix: of 32 concurrent calls, alternating between the
//! two, exactly one redeems a code, rotates a refresh token, claims a grace, inserts a
//! one-time marker, registers a client id. Shared by `tests/races.rs` (one server) and
//! `tests/cluster_races.rs` (the cluster).

use std::future::Future;
use std::sync::Arc;

use oauth_core::store::{CodeLookup, ConsumeOutcome, RefreshGrace, RefreshLookup, RotateOutcome};
use oauth_core::Store;
use oauth_store_redis::RedisStore;
use oauth_store_testkit::fixtures::{
    client, client_id, code_for, once_key, random_bytes, tokens_for, tokens_for_code, user_grant,
    user_id, NOW,
};
use tokio::sync::Barrier;

const RACERS: usize = 32;

/// Runs `op` from `RACERS` tasks released together, alternating between `a` and `b`.
pub async fn race<T, F, Fut>(a: &RedisStore, b: &RedisStore, op: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(RedisStore, usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(RACERS));
    let tasks: Vec<_> = (0..RACERS)
        .map(|i| {
            let call = op(if i % 2 == 0 { a.clone() } else { b.clone() }, i);
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                barrier.wait().await;
                call.await
            })
        })
        .collect();
    let mut results = Vec::with_capacity(RACERS);
    for task in tasks {
        results.push(task.await.unwrap());
    }
    results
}

pub async fn consume_across_two_connections_has_exactly_one_winner(a: &RedisStore, b: &RedisStore) {
    for round in 0..20 {
        let grant = user_grant(&user_id(), &client_id());
        let code = code_for(&grant);
        a.create_grant_with_code(&grant, &code).await.unwrap();
        let issued: Arc<Vec<_>> = Arc::new((0..RACERS).map(|_| tokens_for_code(&code)).collect());
        let outcomes = race(a, b, |store, i| {
            let issued = Arc::clone(&issued);
            let hash = code.hash;
            async move { store.consume_code(&hash, &issued[i], NOW).await.unwrap() }
        })
        .await;
        let winners: Vec<usize> = (0..RACERS)
            .filter(|&i| outcomes[i] == ConsumeOutcome::Consumed)
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: {outcomes:?}");
        let used = ConsumeOutcome::AlreadyUsed {
            grant_id: grant.id.clone(),
        };
        assert_eq!(outcomes.iter().filter(|o| **o == used).count(), RACERS - 1);
        for (i, tokens) in issued.iter().enumerate() {
            let stored = b.access_token(&tokens.access.hash, NOW).await.unwrap();
            assert_eq!(stored.is_some(), winners == [i], "round {round}, racer {i}");
        }
        assert_eq!(
            b.find_code(&code.hash, NOW).await.unwrap(),
            CodeLookup::Used(code.clone())
        );
    }
}

pub async fn rotation_across_two_connections_has_exactly_one_successor(
    a: &RedisStore,
    b: &RedisStore,
) {
    for round in 0..10 {
        let grant = user_grant(&user_id(), &client_id());
        let first = tokens_for(&grant);
        a.store_tokens(Some(&grant), &first).await.unwrap();
        let old = first.refresh.clone().unwrap().hash;
        let successors: Arc<Vec<_>> = Arc::new((0..RACERS).map(|_| tokens_for(&grant)).collect());
        let outcomes = race(a, b, |store, i| {
            let successors = Arc::clone(&successors);
            async move {
                store
                    .rotate_refresh(&old, &successors[i], None, NOW)
                    .await
                    .unwrap()
            }
        })
        .await;
        let rotated = outcomes
            .iter()
            .filter(|o| **o == RotateOutcome::Rotated)
            .count();
        assert_eq!(rotated, 1, "round {round}: {outcomes:?}");
        let mut live = 0;
        for successor in successors.iter() {
            let refresh = successor.refresh.as_ref().unwrap();
            if let RefreshLookup::Active(_) = a.find_refresh(&refresh.hash, NOW).await.unwrap() {
                live += 1;
            }
        }
        assert_eq!(live, 1, "round {round}: exactly one successor is stored");
    }
}

pub async fn grace_claims_across_two_connections_have_exactly_one_winner(
    a: &RedisStore,
    b: &RedisStore,
) {
    for round in 0..10 {
        let grant = user_grant(&user_id(), &client_id());
        let first = tokens_for(&grant);
        a.store_tokens(Some(&grant), &first).await.unwrap();
        let old = first.refresh.unwrap().hash;
        let grace = RefreshGrace {
            sealed_successor: random_bytes().to_vec(),
            until: NOW.plus(60),
        };
        assert_eq!(
            a.rotate_refresh(&old, &tokens_for(&grant), Some(&grace), NOW)
                .await
                .unwrap(),
            RotateOutcome::Rotated
        );
        let outcomes = race(a, b, |store, _| async move {
            store.claim_refresh_grace(&old, NOW).await.unwrap()
        })
        .await;
        let claimed: Vec<_> = outcomes.iter().flatten().collect();
        assert_eq!(claimed, [&grace.sealed_successor], "round {round}");
    }
}

pub async fn insert_once_across_two_connections_has_exactly_one_winner(
    a: &RedisStore,
    b: &RedisStore,
) {
    for round in 0..10 {
        let key = once_key("ticket");
        let outcomes = race(a, b, |store, _| async move {
            store.insert_once(key, NOW.plus(60), NOW).await.unwrap()
        })
        .await;
        assert_eq!(
            outcomes.iter().filter(|new| **new).count(),
            1,
            "round {round}"
        );
    }
}

pub async fn insert_client_across_two_connections_has_exactly_one_winner(
    a: &RedisStore,
    b: &RedisStore,
) {
    for round in 0..10 {
        let id = client_id();
        let candidates: Arc<Vec<_>> = Arc::new((0..RACERS).map(|_| client(&id)).collect());
        let outcomes = race(a, b, |store, i| {
            let candidates = Arc::clone(&candidates);
            async move { store.insert_client(&candidates[i]).await.unwrap() }
        })
        .await;
        let winners: Vec<usize> = (0..RACERS).filter(|&i| outcomes[i]).collect();
        assert_eq!(winners.len(), 1, "round {round}");
        // The stored client is the winner's (their secret digests differ).
        assert_eq!(
            b.client(&id).await.unwrap().as_ref(),
            candidates.get(winners[0])
        );
    }
}
