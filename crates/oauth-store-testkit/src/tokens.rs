//! Clauses about issuing and reading access tokens.

use oauth_core::model::{AccessTokenWithGrant, IssuedTokens};
use oauth_core::store::RefreshLookup;
use oauth_core::{Store, UnixTime};

use crate::fixtures::{
    access_expiring, access_only_for, client_grant, client_id, code_for, token_hash, tokens_for,
    tokens_for_code, user_grant, user_id, NOW,
};
use crate::support::{assert_tokens_gone, assert_tokens_live};

/// `store_tokens(None, ..)` stores an access token and a refresh token under a grant
/// made by `create_grant_with_code`; both read back unchanged, the access token with its
/// grant. Further tokens under the same grant coexist with the first.
pub async fn store_tokens_under_existing_grant<S: Store>(factory: impl AsyncFn() -> S) {
    let store = factory().await;
    let grant = user_grant(&user_id(), &client_id());
    let code = code_for(&grant);
    store.create_grant_with_code(&grant, &code).await.unwrap();
    store
        .consume_code(&code.hash, &tokens_for_code(&code), NOW)
        .await
        .unwrap();

    let first = tokens_for(&grant);
    store.store_tokens(None, &first).await.unwrap();
    assert_tokens_live(&store, &grant, &first, NOW).await;

    let second = access_only_for(&grant);
    store.store_tokens(None, &second).await.unwrap();
    assert_tokens_live(&store, &grant, &second, NOW).await;
    assert_tokens_live(&store, &grant, &first, NOW).await;
}

/// `store_tokens(Some(grant), ..)` creates the grant in the same step (client
/// credentials): the grant is readable and the tokens come back with it, with or
/// without a refresh token.
pub async fn store_tokens_with_new_grant<S: Store>(factory: impl AsyncFn() -> S) {
    let store = factory().await;
    let client = client_id();

    let grant = client_grant(&client);
    let tokens = access_only_for(&grant);
    store.store_tokens(Some(&grant), &tokens).await.unwrap();
    assert_eq!(
        store.grant(&grant.id, NOW).await.unwrap(),
        Some(grant.clone())
    );
    assert_tokens_live(&store, &grant, &tokens, NOW).await;

    let with_refresh = client_grant(&client);
    let tokens = tokens_for(&with_refresh);
    store
        .store_tokens(Some(&with_refresh), &tokens)
        .await
        .unwrap();
    assert_eq!(
        store.grant(&with_refresh.id, NOW).await.unwrap(),
        Some(with_refresh.clone())
    );
    assert_tokens_live(&store, &with_refresh, &tokens, NOW).await;

    // A user grant may be created this way too.
    let user = user_id();
    let user_made = user_grant(&user, &client);
    let tokens = tokens_for(&user_made);
    store.store_tokens(Some(&user_made), &tokens).await.unwrap();
    assert_tokens_live(&store, &user_made, &tokens, NOW).await;
    assert_eq!(
        store.grants_for_user(&user, NOW).await.unwrap(),
        vec![user_made]
    );
}

/// `access_token` returns the token with its grant strictly before the token's
/// `expires_at`, and nothing at or after it; unknown hashes are absent.
pub async fn access_token_returns_token_with_grant_until_expiry<S: Store>(
    factory: impl AsyncFn() -> S,
) {
    let store = factory().await;
    let grant = user_grant(&user_id(), &client_id());
    let access = access_expiring(&grant, NOW.plus(100));
    store
        .store_tokens(
            Some(&grant),
            &IssuedTokens {
                access: access.clone(),
                refresh: None,
            },
        )
        .await
        .unwrap();

    let expected = Some(AccessTokenWithGrant {
        token: access.clone(),
        grant: grant.clone(),
    });
    assert_eq!(
        store.access_token(&access.hash, NOW).await.unwrap(),
        expected
    );
    assert_eq!(
        store
            .access_token(&access.hash, UnixTime(access.expires_at.0 - 1))
            .await
            .unwrap(),
        expected
    );
    assert_eq!(
        store
            .access_token(&access.hash, access.expires_at)
            .await
            .unwrap(),
        None,
        "an access token is absent at its expiry"
    );
    assert_eq!(
        store
            .access_token(&access.hash, access.expires_at.plus(1_000))
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.access_token(&token_hash(), NOW).await.unwrap(), None);
}

/// After `revoke_grant`, none of the grant's access tokens is returned.
pub async fn access_token_is_gone_after_revoke_grant<S: Store>(factory: impl AsyncFn() -> S) {
    let store = factory().await;
    let grant = user_grant(&user_id(), &client_id());
    let first = tokens_for(&grant);
    let second = access_only_for(&grant);
    store.store_tokens(Some(&grant), &first).await.unwrap();
    store.store_tokens(None, &second).await.unwrap();
    assert_tokens_live(&store, &grant, &first, NOW).await;

    store.revoke_grant(&grant.id).await.unwrap();
    assert_tokens_gone(&store, &first, NOW).await;
    assert_tokens_gone(&store, &second, NOW).await;
}

/// `revoke_access_token` removes that one access token and nothing else (not its grant,
/// not its sibling tokens); it is idempotent and succeeds for unknown hashes.
pub async fn access_token_is_gone_after_revoke_access_token<S: Store>(
    factory: impl AsyncFn() -> S,
) {
    let store = factory().await;
    let grant = user_grant(&user_id(), &client_id());
    let revoked = tokens_for(&grant);
    let sibling = access_only_for(&grant);
    store.store_tokens(Some(&grant), &revoked).await.unwrap();
    store.store_tokens(None, &sibling).await.unwrap();

    store
        .revoke_access_token(&revoked.access.hash)
        .await
        .unwrap();
    assert_eq!(
        store.access_token(&revoked.access.hash, NOW).await.unwrap(),
        None
    );
    assert_tokens_live(&store, &grant, &sibling, NOW).await;
    let refresh = revoked.refresh.clone().unwrap();
    assert_eq!(
        store.find_refresh(&refresh.hash, NOW).await.unwrap(),
        RefreshLookup::Active(refresh),
        "revoking an access token leaves the refresh token alone"
    );
    assert_eq!(
        store.grant(&grant.id, NOW).await.unwrap(),
        Some(grant.clone())
    );

    store
        .revoke_access_token(&revoked.access.hash)
        .await
        .unwrap();
    store.revoke_access_token(&token_hash()).await.unwrap();

    // A token under another grant is untouched as well.
    let other = user_grant(&user_id(), &client_id());
    let other_tokens = tokens_for(&other);
    store
        .store_tokens(Some(&other), &other_tokens)
        .await
        .unwrap();
    store
        .revoke_access_token(&sibling.access.hash)
        .await
        .unwrap();
    assert_tokens_live(&store, &other, &other_tokens, NOW).await;
}
