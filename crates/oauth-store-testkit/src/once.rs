//! Clauses about one-time markers (`insert_once`).

use std::sync::Arc;

use oauth_core::store::OnceKey;
use oauth_core::Store;

use crate::fixtures::{once_key, NOW};
use crate::support::race;

/// How many tasks race to insert one marker.
pub const ONCE_RACERS: usize = 32;
/// How many fresh markers the insert race is repeated with.
pub const ONCE_ROUNDS: usize = 20;

/// `insert_once` answers `true` for a new marker, `false` while it is unexpired (a
/// refused insert does not extend it), `true` again at or after its expiry; the same
/// key bytes in another namespace are a different marker.
pub async fn insert_once_is_new_once_until_expiry<S: Store>(factory: impl AsyncFn() -> S) {
    let store = factory().await;
    let key = once_key("ticket");
    let expires_at = NOW.plus(100);

    assert!(store.insert_once(key, expires_at, NOW).await.unwrap());
    assert!(!store.insert_once(key, expires_at, NOW).await.unwrap());
    assert!(
        !store
            .insert_once(key, NOW.plus(10_000), NOW.plus(99))
            .await
            .unwrap(),
        "an unexpired marker is not new"
    );
    assert!(
        store
            .insert_once(key, NOW.plus(300), expires_at)
            .await
            .unwrap(),
        "a marker is new again at its expiry, and a refused insert did not extend it"
    );
    assert!(
        !store
            .insert_once(key, NOW.plus(300), NOW.plus(299))
            .await
            .unwrap(),
        "the re-inserted marker lives until its new expiry"
    );

    let same_bytes = OnceKey {
        namespace: "dpop",
        key: key.key,
    };
    assert!(
        store
            .insert_once(same_bytes, expires_at, NOW)
            .await
            .unwrap(),
        "namespaces keep markers apart"
    );
    assert!(store
        .insert_once(once_key("ticket"), expires_at, NOW)
        .await
        .unwrap());
}

/// The insert race: [`ONCE_RACERS`] concurrent `insert_once` calls of one marker yield
/// exactly one `true`; repeated with [`ONCE_ROUNDS`] fresh markers.
pub async fn concurrent_insert_once_has_exactly_one_winner<S: Store>(factory: impl AsyncFn() -> S) {
    let store = Arc::new(factory().await);
    for round in 0..ONCE_ROUNDS {
        let key = once_key("ticket");
        let outcomes = race(&store, ONCE_RACERS, |store, _| async move {
            store.insert_once(key, NOW.plus(60), NOW).await.unwrap()
        })
        .await;
        assert_eq!(
            outcomes.iter().filter(|new| **new).count(),
            1,
            "round {round}: exactly one insert is new"
        );
    }
}
