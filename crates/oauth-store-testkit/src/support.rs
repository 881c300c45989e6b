//! Probes and the race harness the clauses share.

use std::future::Future;
use std::sync::Arc;

use oauth_core::model::{GrantRecord, IssuedTokens};
use oauth_core::store::{CodeLookup, ConsumeOutcome, RefreshLookup};
use oauth_core::{Store, TokenHash, UnixTime};
use tokio::sync::Barrier;

use crate::fixtures::{client_id, tokens_for, user_grant, user_id};

/// Runs `n` copies of an operation at once: every task is spawned first and released
/// together by a barrier, so the calls really overlap on a multi-threaded runtime.
pub(crate) async fn race<S, T, Fut>(
    store: &Arc<S>,
    n: usize,
    op: impl Fn(Arc<S>, usize) -> Fut,
) -> Vec<T>
where
    S: Store,
    T: Send + 'static,
    Fut: Future<Output = T> + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let call = op(Arc::clone(store), i);
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                barrier.wait().await;
                call.await
            })
        })
        .collect();
    let mut results = Vec::with_capacity(n);
    for handle in handles {
        results.push(handle.await.expect("a racing task panicked"));
    }
    results
}

/// Asserts that a code is gone for both reads and redemption (no tombstone either).
pub(crate) async fn assert_code_gone<S: Store>(store: &S, hash: &TokenHash, now: UnixTime) {
    assert_eq!(
        store.find_code(hash, now).await.unwrap(),
        CodeLookup::NotFound,
        "find_code must not see this code"
    );
    assert_eq!(
        store
            .consume_code(
                hash,
                &tokens_for(&user_grant(&user_id(), &client_id())),
                now
            )
            .await
            .unwrap(),
        ConsumeOutcome::NotFound,
        "consume_code must not see this code"
    );
}

/// Asserts that every token of `tokens` is gone.
pub(crate) async fn assert_tokens_gone<S: Store>(store: &S, tokens: &IssuedTokens, now: UnixTime) {
    assert_eq!(
        store.access_token(&tokens.access.hash, now).await.unwrap(),
        None,
        "access token must be gone"
    );
    if let Some(refresh) = &tokens.refresh {
        assert_eq!(
            store.find_refresh(&refresh.hash, now).await.unwrap(),
            RefreshLookup::NotFound,
            "refresh token must be gone"
        );
    }
}

/// Asserts that every token of `tokens` is live under `grant`, unchanged.
pub(crate) async fn assert_tokens_live<S: Store>(
    store: &S,
    grant: &GrantRecord,
    tokens: &IssuedTokens,
    now: UnixTime,
) {
    let found = store
        .access_token(&tokens.access.hash, now)
        .await
        .unwrap()
        .expect("access token must be live");
    assert_eq!(
        found.token, tokens.access,
        "access token must read back unchanged"
    );
    assert_eq!(&found.grant, grant, "access token must come with its grant");
    if let Some(refresh) = &tokens.refresh {
        assert_eq!(
            store.find_refresh(&refresh.hash, now).await.unwrap(),
            RefreshLookup::Active(refresh.clone()),
            "refresh token must be active and unchanged"
        );
    }
}

/// Asserts that a grant is gone: not readable and not listed for its user.
pub(crate) async fn assert_grant_gone<S: Store>(store: &S, grant: &GrantRecord, now: UnixTime) {
    assert_eq!(
        store.grant(&grant.id, now).await.unwrap(),
        None,
        "grant must be gone"
    );
    if let Some(user) = grant.subject.user() {
        let listed = store.grants_for_user(user, now).await.unwrap();
        assert!(
            listed.iter().all(|g| g.id != grant.id),
            "a revoked grant must not be listed for its user"
        );
    }
}
