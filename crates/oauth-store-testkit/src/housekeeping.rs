//! Clauses about purging expired records and about isolation between stores.

use oauth_core::store::{CodeLookup, ConsumeOutcome, RefreshLookup, RotateOutcome};
use oauth_core::{Store, UnixTime};

use crate::fixtures::{
    client, client_id, code_expiring, code_for, once_key, tokens_for, tokens_for_code, user_grant,
    user_id, NOW,
};
use crate::support::assert_tokens_live;

/// `purge_expired(now, limit)` deletes only records expired at `now` (`expires_at <= now`:
/// grants, active codes, code tombstones, one-time markers), never more than `limit` per
/// call, and returns how many it deleted; unexpired records survive. Deleted records stay
/// gone even when read at an earlier `now`.
pub async fn purge_expired_removes_only_expired_within_limit<S: Store>(
    factory: impl AsyncFn() -> S,
) {
    let store = factory().await;
    let purge_at = NOW.plus(700);

    // Unexpired at `purge_at`: a grant with its tokens; its code expires.
    let live = user_grant(&user_id(), &client_id());
    let live_code = code_for(&live); // expires at NOW + 600
    store
        .create_grant_with_code(&live, &live_code)
        .await
        .unwrap();
    let live_tokens = tokens_for(&live); // NOW + 3600 and NOW + 86400
    store.store_tokens(None, &live_tokens).await.unwrap();

    // A grant that stays, whose code was redeemed: the tombstone expires.
    let redeemed = user_grant(&user_id(), &client_id());
    let redeemed_code = code_for(&redeemed);
    store
        .create_grant_with_code(&redeemed, &redeemed_code)
        .await
        .unwrap();
    store
        .consume_code(&redeemed_code.hash, &tokens_for_code(&redeemed_code), NOW)
        .await
        .unwrap();

    // A grant that expires with its code.
    let mut short = user_grant(&user_id(), &client_id());
    short.expires_at = NOW.plus(50);
    let short_code = code_expiring(&short, NOW.plus(50));
    store
        .create_grant_with_code(&short, &short_code)
        .await
        .unwrap();

    // Markers: two expired (one exactly at `purge_at`), two not.
    let gone_early = once_key("ticket");
    let gone_exactly = once_key("ticket");
    let kept_barely = once_key("ticket");
    let kept_long = once_key("ticket");
    for (key, expires_at) in [
        (gone_early, NOW.plus(100)),
        (gone_exactly, purge_at),
        (kept_barely, purge_at.plus(1)),
        (kept_long, NOW.plus(100_000)),
    ] {
        assert!(store.insert_once(key, expires_at, NOW).await.unwrap());
    }

    // Expired at `purge_at`: short grant, its code, the live grant's code, the tombstone,
    // and two markers.
    let expired = 6;

    assert_eq!(
        store.purge_expired(purge_at, 0).await.unwrap(),
        0,
        "limit 0 deletes nothing"
    );
    assert_eq!(
        store.purge_expired(NOW, 100).await.unwrap(),
        0,
        "nothing is expired yet"
    );

    let limit = 2;
    let mut remaining = expired;
    let mut calls = 0;
    loop {
        let purged = store.purge_expired(purge_at, limit).await.unwrap();
        assert_eq!(
            purged,
            remaining.min(limit),
            "a purge deletes as many expired records as the limit allows"
        );
        remaining -= purged;
        calls += 1;
        if purged == 0 {
            break;
        }
        assert!(calls <= expired, "purge makes no progress");
    }
    assert_eq!(remaining, 0);

    // Survivors.
    assert_eq!(
        store.grant(&live.id, purge_at).await.unwrap(),
        Some(live.clone())
    );
    assert_tokens_live(&store, &live, &live_tokens, purge_at).await;
    assert_eq!(
        store.grant(&redeemed.id, purge_at).await.unwrap(),
        Some(redeemed.clone())
    );
    assert!(!store
        .insert_once(kept_barely, purge_at.plus(1), purge_at)
        .await
        .unwrap());
    assert!(!store
        .insert_once(kept_long, NOW.plus(100_000), purge_at)
        .await
        .unwrap());

    // Purged records are gone, even read at a time when they would still be valid.
    assert_eq!(
        store.find_code(&live_code.hash, NOW).await.unwrap(),
        CodeLookup::NotFound
    );
    assert_eq!(
        store.find_code(&redeemed_code.hash, NOW).await.unwrap(),
        CodeLookup::NotFound
    );
    assert_eq!(
        store.find_code(&short_code.hash, NOW).await.unwrap(),
        CodeLookup::NotFound
    );
    assert_eq!(store.grant(&short.id, NOW).await.unwrap(), None);
    assert!(store
        .insert_once(gone_early, NOW.plus(100), NOW)
        .await
        .unwrap());
    assert!(store
        .insert_once(gone_exactly, purge_at, NOW)
        .await
        .unwrap());
}

/// Two stores made by the factory share nothing: records written to one are invisible
/// to the other, and mutations through one (consume, rotate, revoke, delete, purge,
/// insert-once) leave the other's records as they were.
pub async fn stores_from_factory_are_isolated<S: Store>(factory: impl AsyncFn() -> S) {
    let a = factory().await;
    let b = factory().await;

    let registered = client(&client_id());
    a.put_client(&registered).await.unwrap();
    assert_eq!(b.client(&registered.id).await.unwrap(), None);
    b.delete_client(&registered.id).await.unwrap();
    assert_eq!(
        a.client(&registered.id).await.unwrap(),
        Some(registered.clone())
    );

    let user = user_id();
    let grant = user_grant(&user, &registered.id);
    let code = code_for(&grant);
    a.create_grant_with_code(&grant, &code).await.unwrap();
    assert_eq!(
        b.find_code(&code.hash, NOW).await.unwrap(),
        CodeLookup::NotFound
    );
    assert_eq!(
        b.consume_code(&code.hash, &tokens_for_code(&code), NOW)
            .await
            .unwrap(),
        ConsumeOutcome::NotFound
    );
    assert_eq!(b.grant(&grant.id, NOW).await.unwrap(), None);
    assert!(b.grants_for_user(&user, NOW).await.unwrap().is_empty());

    let tokens = tokens_for(&grant);
    a.store_tokens(None, &tokens).await.unwrap();
    let refresh = tokens.refresh.clone().unwrap();
    assert_eq!(
        b.access_token(&tokens.access.hash, NOW).await.unwrap(),
        None
    );
    assert_eq!(
        b.find_refresh(&refresh.hash, NOW).await.unwrap(),
        RefreshLookup::NotFound
    );
    assert_eq!(
        b.rotate_refresh(&refresh.hash, &tokens_for(&grant), None, NOW)
            .await
            .unwrap(),
        RotateOutcome::NotFound
    );

    let key = once_key("ticket");
    assert!(a.insert_once(key, NOW.plus(60), NOW).await.unwrap());
    assert!(b.insert_once(key, NOW.plus(60), NOW).await.unwrap());

    b.revoke_grant(&grant.id).await.unwrap();
    b.revoke_user_grants(&user).await.unwrap();
    b.revoke_access_token(&tokens.access.hash).await.unwrap();
    b.purge_expired(UnixTime(u64::MAX), usize::MAX)
        .await
        .unwrap();

    assert_eq!(a.client(&registered.id).await.unwrap(), Some(registered));
    assert_eq!(
        a.find_code(&code.hash, NOW).await.unwrap(),
        CodeLookup::Active(code)
    );
    assert_eq!(
        a.grants_for_user(&user, NOW).await.unwrap(),
        vec![grant.clone()]
    );
    assert_tokens_live(&a, &grant, &tokens, NOW).await;
    assert!(!a.insert_once(key, NOW.plus(60), NOW).await.unwrap());
}
