//! Clauses about cascading revocation and listing a user's grants.

use oauth_core::model::{CodeRecord, GrantId, GrantRecord, IssuedTokens, UserId};
use oauth_core::store::{CodeLookup, RotateOutcome};
use oauth_core::{Store, UnixTime};

use crate::fixtures::{
    client_grant, client_id, code_expiring, code_for, grant_id, tokens_for, tokens_for_code,
    user_grant, user_id, NOW,
};
use crate::support::{assert_code_gone, assert_grant_gone, assert_tokens_gone, assert_tokens_live};

/// A grant with its code redeemed (a tombstone) and a set of tokens.
struct Issued {
    grant: GrantRecord,
    code: CodeRecord,
    tokens: IssuedTokens,
}

async fn issue<S: Store>(store: &S, user: &UserId) -> Issued {
    let grant = user_grant(user, &client_id());
    let code = code_for(&grant);
    store.create_grant_with_code(&grant, &code).await.unwrap();
    store
        .consume_code(&code.hash, &tokens_for_code(&code), NOW)
        .await
        .unwrap();
    let tokens = tokens_for(&grant);
    store.store_tokens(None, &tokens).await.unwrap();
    Issued {
        grant,
        code,
        tokens,
    }
}

async fn assert_issued_gone<S: Store>(store: &S, issued: &Issued) {
    assert_grant_gone(store, &issued.grant, NOW).await;
    assert_code_gone(store, &issued.code.hash, NOW).await;
    assert_tokens_gone(store, &issued.tokens, NOW).await;
}

async fn assert_issued_live<S: Store>(store: &S, issued: &Issued) {
    assert_eq!(
        store.grant(&issued.grant.id, NOW).await.unwrap(),
        Some(issued.grant.clone())
    );
    assert_eq!(
        store.find_code(&issued.code.hash, NOW).await.unwrap(),
        CodeLookup::Used(issued.code.clone()),
        "the code's tombstone must be untouched"
    );
    assert_tokens_live(store, &issued.grant, &issued.tokens, NOW).await;
}

fn sorted_ids(grants: &[GrantRecord]) -> Vec<GrantId> {
    let mut ids: Vec<GrantId> = grants.iter().map(|g| g.id.clone()).collect();
    ids.sort();
    ids
}

/// `revoke_grant` removes the grant and everything under it: the code's tombstone, every
/// access token, active and retired refresh tokens; likewise an unredeemed code. Nothing
/// is left behind (a purge of everything afterwards finds nothing). A second revocation,
/// or revoking an unknown grant, succeeds.
pub async fn revoke_grant_cascades_and_is_idempotent<S: Store>(factory: impl AsyncFn() -> S) {
    let store = factory().await;
    let issued = issue(&store, &user_id()).await;
    let grant = &issued.grant;
    let old_refresh = issued.tokens.refresh.clone().unwrap();
    let successor = tokens_for(grant);
    assert_eq!(
        store
            .rotate_refresh(&old_refresh.hash, &successor, None, NOW)
            .await
            .unwrap(),
        RotateOutcome::Rotated
    );
    let extra = tokens_for(grant);
    store.store_tokens(None, &extra).await.unwrap();

    store.revoke_grant(&grant.id).await.unwrap();
    assert_issued_gone(&store, &issued).await;
    assert_tokens_gone(&store, &successor, NOW).await;
    assert_tokens_gone(&store, &extra, NOW).await;

    store.revoke_grant(&grant.id).await.unwrap();
    assert_issued_gone(&store, &issued).await;
    store.revoke_grant(&grant_id()).await.unwrap();

    // An unredeemed code goes with its grant too.
    let fresh = user_grant(&user_id(), &client_id());
    let code = code_expiring(&fresh, NOW.plus(60));
    store.create_grant_with_code(&fresh, &code).await.unwrap();
    store.revoke_grant(&fresh.id).await.unwrap();
    assert_code_gone(&store, &code.hash, NOW).await;
    assert_grant_gone(&store, &fresh, NOW).await;

    // Nothing is left behind, not even records that no read can see any more.
    assert_eq!(
        store
            .purge_expired(UnixTime(u64::MAX), usize::MAX)
            .await
            .unwrap(),
        0,
        "revocation left records behind"
    );
}

/// `revoke_grant` touches nothing outside the grant: another grant of the same user and
/// client, and another user's grant, keep their grant, code tombstone and tokens.
pub async fn revoke_grant_leaves_other_grants_untouched<S: Store>(factory: impl AsyncFn() -> S) {
    let store = factory().await;
    let alice = user_id();
    let revoked = issue(&store, &alice).await;

    // Same user, same client.
    let sibling_grant = user_grant(&alice, &revoked.grant.client_id);
    let sibling_code = code_for(&sibling_grant);
    store
        .create_grant_with_code(&sibling_grant, &sibling_code)
        .await
        .unwrap();
    store
        .consume_code(&sibling_code.hash, &tokens_for_code(&sibling_code), NOW)
        .await
        .unwrap();
    let sibling_tokens = tokens_for(&sibling_grant);
    store.store_tokens(None, &sibling_tokens).await.unwrap();
    let sibling = Issued {
        grant: sibling_grant,
        code: sibling_code,
        tokens: sibling_tokens,
    };
    let stranger = issue(&store, &user_id()).await;

    store.revoke_grant(&revoked.grant.id).await.unwrap();
    assert_issued_gone(&store, &revoked).await;
    assert_issued_live(&store, &sibling).await;
    assert_issued_live(&store, &stranger).await;
    assert_eq!(
        store.grants_for_user(&alice, NOW).await.unwrap(),
        vec![sibling.grant.clone()]
    );
}

/// `grants_for_user` lists exactly the user's unexpired grants, across clients; not
/// another user's, not a client-credentials grant; an unknown user has none.
pub async fn grants_for_user_lists_unexpired_grants<S: Store>(factory: impl AsyncFn() -> S) {
    let store = factory().await;
    let alice = user_id();
    let bob = user_id();
    let client_x = client_id();
    let client_y = client_id();

    let mut created = Vec::new();
    for (user, client) in [(&alice, &client_x), (&alice, &client_y), (&bob, &client_x)] {
        let grant = user_grant(user, client);
        store
            .create_grant_with_code(&grant, &code_for(&grant))
            .await
            .unwrap();
        created.push(grant);
    }
    let mut short = user_grant(&alice, &client_x);
    short.expires_at = NOW.plus(10);
    store
        .create_grant_with_code(&short, &code_expiring(&short, NOW.plus(10)))
        .await
        .unwrap();
    let machine = client_grant(&client_x);
    store
        .store_tokens(Some(&machine), &tokens_for(&machine))
        .await
        .unwrap();

    let [alice_x, alice_y, bob_x] = [&created[0], &created[1], &created[2]];

    let listed = store.grants_for_user(&alice, NOW).await.unwrap();
    assert_eq!(
        sorted_ids(&listed),
        sorted_ids(&[alice_x.clone(), alice_y.clone(), short.clone()])
    );
    for grant in &listed {
        let expected = [alice_x, alice_y, &short]
            .into_iter()
            .find(|g| g.id == grant.id)
            .unwrap();
        assert_eq!(grant, expected, "listed grants read back unchanged");
    }
    assert_eq!(
        sorted_ids(
            &store
                .grants_for_user(&alice, short.expires_at)
                .await
                .unwrap()
        ),
        sorted_ids(&[alice_x.clone(), alice_y.clone()]),
        "an expired grant is not listed"
    );
    assert_eq!(
        store.grants_for_user(&bob, NOW).await.unwrap(),
        vec![bob_x.clone()]
    );
    assert!(store
        .grants_for_user(&user_id(), NOW)
        .await
        .unwrap()
        .is_empty());
}

/// `revoke_user_grants` revokes every grant of the user, with codes and tokens, across
/// clients; another user's grants are untouched; it is idempotent and succeeds for an
/// unknown user.
pub async fn revoke_user_grants_revokes_only_that_user<S: Store>(factory: impl AsyncFn() -> S) {
    let store = factory().await;
    let alice = user_id();
    let bob = user_id();
    let alice_first = issue(&store, &alice).await;
    let alice_second = issue(&store, &alice).await;
    let bob_only = issue(&store, &bob).await;

    store.revoke_user_grants(&alice).await.unwrap();
    assert_issued_gone(&store, &alice_first).await;
    assert_issued_gone(&store, &alice_second).await;
    assert!(store.grants_for_user(&alice, NOW).await.unwrap().is_empty());
    assert_issued_live(&store, &bob_only).await;
    assert_eq!(
        store.grants_for_user(&bob, NOW).await.unwrap(),
        vec![bob_only.grant.clone()]
    );

    store.revoke_user_grants(&alice).await.unwrap();
    store.revoke_user_grants(&user_id()).await.unwrap();
    assert_issued_live(&store, &bob_only).await;
}
