//! Clauses about grants and authorization codes: creation, reads, atomic single-use
//! redemption with tombstones, and expiry.

use std::sync::Arc;

use oauth_core::model::ClientId;
use oauth_core::store::{CodeLookup, ConsumeOutcome};
use oauth_core::{Store, TokenHash, UnixTime};

use crate::fixtures::{
    client, client_id, code_expiring, code_for, token_hash, tokens_for_code, user_grant, user_id,
    NOW,
};
use crate::support::{assert_code_gone, race};

/// How many tasks race for one code.
pub const CONSUME_RACERS: usize = 32;
/// How many fresh codes the consume race is repeated with.
pub const CONSUME_ROUNDS: usize = 50;

/// `create_grant_with_code` stores both records; `find_code` returns the code as
/// [`CodeLookup::Active`], unchanged, without consuming it; `grant` returns the grant
/// until its expiry; unknown codes and grants are absent.
pub async fn create_grant_with_code_then_find_code_is_active<S: Store>(
    factory: impl AsyncFn() -> S,
) {
    let store = factory().await;
    let grant = user_grant(&user_id(), &client_id());
    let code = code_for(&grant);
    store.create_grant_with_code(&grant, &code).await.unwrap();

    for _ in 0..2 {
        assert_eq!(
            store.find_code(&code.hash, NOW).await.unwrap(),
            CodeLookup::Active(code.clone()),
            "find_code must return the code unchanged and must not consume it"
        );
    }
    assert_eq!(
        store.grant(&grant.id, NOW).await.unwrap(),
        Some(grant.clone())
    );
    assert_eq!(
        store.grant(&grant.id, grant.expires_at).await.unwrap(),
        None,
        "a grant is absent at its expiry"
    );
    assert_eq!(
        store.find_code(&token_hash(), NOW).await.unwrap(),
        CodeLookup::NotFound
    );
    assert_eq!(
        store
            .grant(&user_grant(&user_id(), &client_id()).id, NOW)
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .consume_code(&code.hash, &tokens_for_code(&code), NOW)
            .await
            .unwrap(),
        ConsumeOutcome::Consumed,
        "the code found active must still be redeemable"
    );
}

/// `consume_code` answers [`ConsumeOutcome::Consumed`] once, storing the tokens issued
/// with it (they read back with their grant); afterwards
/// the code is a tombstone: [`ConsumeOutcome::AlreadyUsed`] with its grant, and
/// [`CodeLookup::Used`] with the whole record, until the code's `expires_at`, then
/// `NotFound`. Redemption alone does not
/// revoke the grant (the core decides that).
pub async fn consume_code_once_then_tombstone_until_expiry<S: Store>(factory: impl AsyncFn() -> S) {
    let store = factory().await;
    let grant = user_grant(&user_id(), &client_id());
    let code = code_for(&grant);
    store.create_grant_with_code(&grant, &code).await.unwrap();
    let used = ConsumeOutcome::AlreadyUsed {
        grant_id: grant.id.clone(),
    };
    let tombstone = CodeLookup::Used(code.clone());

    assert_eq!(
        store
            .consume_code(&code.hash, &tokens_for_code(&code), NOW)
            .await
            .unwrap(),
        ConsumeOutcome::Consumed
    );
    assert_eq!(
        store
            .consume_code(&code.hash, &tokens_for_code(&code), NOW)
            .await
            .unwrap(),
        used
    );
    assert_eq!(store.find_code(&code.hash, NOW).await.unwrap(), tombstone);

    let before_expiry = UnixTime(code.expires_at.0 - 1);
    assert_eq!(
        store
            .consume_code(&code.hash, &tokens_for_code(&code), before_expiry)
            .await
            .unwrap(),
        used,
        "the tombstone lives until the code's expiry"
    );
    assert_eq!(
        store.find_code(&code.hash, before_expiry).await.unwrap(),
        tombstone
    );
    assert_eq!(
        store.grant(&grant.id, NOW).await.unwrap(),
        Some(grant),
        "redeeming a code does not revoke its grant"
    );

    assert_code_gone(&store, &code.hash, code.expires_at).await;
}

/// A code is never returned at or after its `expires_at`, neither by `find_code` nor by
/// `consume_code`, including a code stored already expired.
pub async fn expired_code_is_never_returned<S: Store>(factory: impl AsyncFn() -> S) {
    let store = factory().await;

    let grant = user_grant(&user_id(), &client_id());
    let code = code_for(&grant);
    store.create_grant_with_code(&grant, &code).await.unwrap();
    assert_code_gone(&store, &code.hash, code.expires_at).await;
    assert_code_gone(&store, &code.hash, code.expires_at.plus(1_000_000)).await;

    let stale_grant = user_grant(&user_id(), &client_id());
    let stale = code_expiring(&stale_grant, NOW);
    store
        .create_grant_with_code(&stale_grant, &stale)
        .await
        .unwrap();
    assert_code_gone(&store, &stale.hash, NOW).await;
}

/// The race: [`CONSUME_RACERS`] concurrent `consume_code` calls on one code, each with
/// its own tokens, yield exactly one [`ConsumeOutcome::Consumed`] and
/// `AlreadyUsed { grant_id }` for all the others, and only the winner's tokens are
/// stored; repeated with [`CONSUME_ROUNDS`] fresh codes.
pub async fn concurrent_consume_code_has_exactly_one_winner<S: Store>(
    factory: impl AsyncFn() -> S,
) {
    let store = Arc::new(factory().await);
    for round in 0..CONSUME_ROUNDS {
        let grant = user_grant(&user_id(), &client_id());
        let code = code_for(&grant);
        store.create_grant_with_code(&grant, &code).await.unwrap();

        let hash = code.hash;
        let issued: Vec<_> = (0..CONSUME_RACERS)
            .map(|_| tokens_for_code(&code))
            .collect();
        let outcomes = race(&store, CONSUME_RACERS, |store, i| {
            let tokens = issued[i].clone();
            async move { store.consume_code(&hash, &tokens, NOW).await.unwrap() }
        })
        .await;

        let winners: Vec<usize> = outcomes
            .iter()
            .enumerate()
            .filter(|(_, o)| **o == ConsumeOutcome::Consumed)
            .map(|(i, _)| i)
            .collect();
        let consumed = winners.len();
        let used = ConsumeOutcome::AlreadyUsed {
            grant_id: grant.id.clone(),
        };
        let already_used = outcomes.iter().filter(|o| **o == used).count();
        assert_eq!(consumed, 1, "round {round}: exactly one redemption wins");
        assert_eq!(
            already_used,
            CONSUME_RACERS - 1,
            "round {round}: every other redemption sees the tombstone: {outcomes:?}"
        );
        assert_eq!(
            store.find_code(&code.hash, NOW).await.unwrap(),
            CodeLookup::Used(code.clone())
        );
        let mut stored = Vec::new();
        for (i, tokens) in issued.iter().enumerate() {
            if store
                .access_token(&tokens.access.hash, NOW)
                .await
                .unwrap()
                .is_some()
            {
                stored.push(i);
            }
        }
        assert_eq!(
            stored, winners,
            "round {round}: exactly the winner's tokens are stored"
        );
    }
}

/// `client_and_code` answers what `client` and `find_code` answer, read together, in
/// every state: no client is no code read (whatever the code); for a registered client
/// the code is `Active` until redeemed, `Used` afterwards, and `NotFound` when unknown,
/// expired, under an expired grant, or under a revoked grant.
pub async fn client_and_code_agrees_with_client_and_find_code<S: Store>(
    factory: impl AsyncFn() -> S,
) {
    let store = factory().await;
    let registered = client(&client_id());
    store.put_client(&registered).await.unwrap();
    let grant = user_grant(&user_id(), &registered.id);
    let code = code_for(&grant);
    store.create_grant_with_code(&grant, &code).await.unwrap();
    let unknown = client_id();
    // Both parts, checked against the separate reads; the code's part.
    let read = async |id: &ClientId, hash: &TokenHash, now: UnixTime| {
        let both = store.client_and_code(id, hash, now).await;
        let client = both.client.expect("the client's part");
        assert_eq!(client, store.client(id).await.unwrap(), "the client's part");
        let code = both.code.map(|code| code.expect("the code's part"));
        let separate = match client {
            Some(_) => Some(store.find_code(hash, now).await.unwrap()),
            None => None,
        };
        assert_eq!(code, separate, "the code's part");
        code
    };

    assert_eq!(
        read(&unknown, &code.hash, NOW).await,
        None,
        "no client: the code is not read"
    );
    assert_eq!(
        read(&registered.id, &code.hash, NOW).await,
        Some(CodeLookup::Active(code.clone()))
    );
    assert_eq!(
        read(&registered.id, &token_hash(), NOW).await,
        Some(CodeLookup::NotFound)
    );
    assert_eq!(
        read(&registered.id, &code.hash, code.expires_at).await,
        Some(CodeLookup::NotFound),
        "a code is absent at its expiry"
    );
    store
        .consume_code(&code.hash, &tokens_for_code(&code), NOW)
        .await
        .unwrap();
    assert_eq!(
        read(&registered.id, &code.hash, NOW).await,
        Some(CodeLookup::Used(code.clone()))
    );
    assert_eq!(read(&unknown, &code.hash, NOW).await, None);
    store.revoke_grant(&grant.id).await.unwrap();
    assert_eq!(
        read(&registered.id, &code.hash, NOW).await,
        Some(CodeLookup::NotFound),
        "the code of a revoked grant is absent"
    );

    // A code that outlives its grant is absent once the grant has expired.
    let short = user_grant(&user_id(), &registered.id);
    let outliving = code_expiring(&short, short.expires_at.plus(60));
    store
        .create_grant_with_code(&short, &outliving)
        .await
        .unwrap();
    assert_eq!(
        read(&registered.id, &outliving.hash, short.expires_at).await,
        Some(CodeLookup::NotFound),
        "the code of an expired grant is absent"
    );
}
