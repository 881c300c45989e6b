//! The adapter's own guarantees beyond the conformance suite, on the fault-injecting
//! backend: the provider's refusal of backends without atomic compare-and-swap, the bounded retry
//! loop, and failures that are errors, never false successes.

mod common;

use std::sync::atomic::Ordering;

use common::FaultyKv;
use oauth_core::store::{CodeLookup, ConsumeOutcome, RefreshLookup, RotateOutcome};
use oauth_core::{ConfigError, SingleUse, Store, StoreErrorKind};
use oauth_store_kv::{Capabilities, KvStore, OpenError, DEFAULT_MAX_ATTEMPTS, MIN_COMMIT_LEN};
use oauth_store_testkit::fixtures::{
    client_id, code_for, once_key, tokens_for, tokens_for_code, user_grant, user_id, NOW,
};
use oauth_store_testkit::flow;

// ---- capabilities ----

#[test]
fn a_backend_without_atomic_cas_is_refused_by_the_provider_by_default_and_accepted_only_by_name() {
    for weak in [
        Capabilities::strong(256).without_atomic_cas(),
        Capabilities::strong(256).without_linearizable_reads(),
        Capabilities::strong(256)
            .without_atomic_cas()
            .without_linearizable_reads(),
    ] {
        let store = KvStore::new(FaultyKv::declaring(weak)).unwrap();
        assert_eq!(store.single_use(), SingleUse::NotGuaranteed, "{weak:?}");
        assert!(format!("{store:?}").contains("keeps_single_use: false"));
        let refused = flow::provider_builder().store(store).build().unwrap_err();
        assert_eq!(
            refused,
            ConfigError::StoreWithoutAtomicSingleUse,
            "{weak:?}"
        );
        assert!(refused
            .to_string()
            .contains("accept_store_without_atomic_single_use"));

        let accepted = flow::provider_builder()
            .accept_store_without_atomic_single_use(true)
            .store(KvStore::new(FaultyKv::declaring(weak)).unwrap())
            .build();
        assert!(accepted.is_ok(), "{weak:?}");
    }
    let strong = KvStore::new(FaultyKv::new()).unwrap();
    assert_eq!(strong.single_use(), SingleUse::Atomic);
    assert!(flow::provider_builder().store(strong).build().is_ok());
}

#[test]
fn a_backend_taking_too_small_commits_or_bad_options_are_refused() {
    let small = Capabilities::strong(MIN_COMMIT_LEN - 1);
    assert!(matches!(
        KvStore::new(FaultyKv::declaring(small)).unwrap_err(),
        OpenError::CommitTooSmall { max_commit_len } if max_commit_len == MIN_COMMIT_LEN - 1
    ));
    for bad in ["", "a/b", "a b", &"x".repeat(65)] {
        assert!(matches!(
            KvStore::builder(FaultyKv::new())
                .prefix(bad)
                .build()
                .unwrap_err(),
            OpenError::InvalidPrefix
        ));
    }
    for bad in [0, 65] {
        assert!(matches!(
            KvStore::builder(FaultyKv::new())
                .max_attempts(bad)
                .build()
                .unwrap_err(),
            OpenError::InvalidMaxAttempts
        ));
    }
}

// ---- the retry loop ----

#[tokio::test]
async fn conflicts_beyond_the_retry_bound_are_a_conflict_error_and_write_nothing() {
    let kv = FaultyKv::new();
    let store = KvStore::new(kv.clone()).unwrap();
    kv.always_conflict.store(true, Ordering::SeqCst);
    let grant = user_grant(&user_id(), &client_id());
    let code = code_for(&grant);
    let err = store
        .create_grant_with_code(&grant, &code)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Conflict);
    assert_eq!(
        kv.commits.load(Ordering::SeqCst),
        DEFAULT_MAX_ATTEMPTS as usize,
        "exactly the bound of attempts"
    );
    assert_eq!(kv.len(), 0, "nothing written");

    let err = store
        .insert_once(once_key("ticket"), NOW.plus(60), NOW)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Conflict);
    assert_eq!(kv.len(), 0);
}

#[tokio::test]
async fn a_redemption_that_keeps_conflicting_fails_and_leaves_the_code_redeemable() {
    let kv = FaultyKv::new();
    let store = KvStore::builder(kv.clone())
        .max_attempts(3)
        .build()
        .unwrap();
    let grant = user_grant(&user_id(), &client_id());
    let code = code_for(&grant);
    store.create_grant_with_code(&grant, &code).await.unwrap();
    let issued = tokens_for_code(&code);

    kv.always_conflict.store(true, Ordering::SeqCst);
    let before = kv.commits.load(Ordering::SeqCst);
    let err = store
        .consume_code(&code.hash, &issued, NOW)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Conflict);
    assert_eq!(kv.commits.load(Ordering::SeqCst) - before, 3);
    assert!(kv.keys_under("oauth/at/").is_empty(), "no token issued");
    assert!(kv.keys_under("oauth/rt/").is_empty());

    kv.always_conflict.store(false, Ordering::SeqCst);
    assert_eq!(
        store.find_code(&code.hash, NOW).await.unwrap(),
        CodeLookup::Active(code.clone())
    );
    assert_eq!(
        store.consume_code(&code.hash, &issued, NOW).await.unwrap(),
        ConsumeOutcome::Consumed
    );
}

#[tokio::test]
async fn spurious_conflicts_within_the_bound_are_retried_to_the_right_answer() {
    // Half of all commits abort; the bound (64) makes a false failure vanishingly rare.
    let kv = FaultyKv::with_conflicts(500_000);
    let store = KvStore::builder(kv.clone())
        .max_attempts(64)
        .build()
        .unwrap();
    let grant = user_grant(&user_id(), &client_id());
    let code = code_for(&grant);
    store.create_grant_with_code(&grant, &code).await.unwrap();
    let issued = tokens_for_code(&code);
    assert_eq!(
        store.consume_code(&code.hash, &issued, NOW).await.unwrap(),
        ConsumeOutcome::Consumed
    );
    assert_eq!(
        store.consume_code(&code.hash, &issued, NOW).await.unwrap(),
        ConsumeOutcome::AlreadyUsed {
            grant_id: grant.id.clone()
        }
    );
    let old = issued.refresh.as_ref().unwrap().hash;
    let next = tokens_for(&grant);
    assert_eq!(
        store.rotate_refresh(&old, &next, None, NOW).await.unwrap(),
        RotateOutcome::Rotated
    );
    assert!(
        kv.injected.load(Ordering::SeqCst) > 0,
        "conflicts were injected"
    );
}

// ---- failures ----

#[tokio::test]
async fn injected_read_and_commit_failures_are_store_errors() {
    let kv = FaultyKv::new();
    let store = KvStore::new(kv.clone()).unwrap();
    let grant = user_grant(&user_id(), &client_id());
    let code = code_for(&grant);
    store.create_grant_with_code(&grant, &code).await.unwrap();
    let issued = tokens_for_code(&code);

    kv.fail_reads.store(1, Ordering::SeqCst);
    let err = store.find_code(&code.hash, NOW).await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Unavailable);
    assert!(
        std::error::Error::source(&err).is_some(),
        "the source is kept"
    );

    kv.fail_reads.store(1, Ordering::SeqCst);
    let err = store
        .consume_code(&code.hash, &issued, NOW)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Unavailable);

    kv.fail_commits.store(1, Ordering::SeqCst);
    let err = store
        .consume_code(&code.hash, &issued, NOW)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Unavailable);
    assert_eq!(
        store.find_code(&code.hash, NOW).await.unwrap(),
        CodeLookup::Active(code.clone()),
        "a failed commit wrote nothing"
    );

    kv.fail_commits.store(1, Ordering::SeqCst);
    assert!(
        store.revoke_grant(&grant.id).await.is_err(),
        "a failed revocation is an error"
    );
    assert!(store.grant(&grant.id, NOW).await.unwrap().is_some());
}

#[tokio::test]
async fn a_commit_whose_reply_is_lost_is_an_error_and_is_never_retried() {
    let kv = FaultyKv::new();
    let store = KvStore::new(kv.clone()).unwrap();
    let grant = user_grant(&user_id(), &client_id());
    let code = code_for(&grant);
    store.create_grant_with_code(&grant, &code).await.unwrap();
    let issued = tokens_for_code(&code);

    kv.fail_after_commit.store(1, Ordering::SeqCst);
    let before = kv.commits.load(Ordering::SeqCst);
    let err = store
        .consume_code(&code.hash, &issued, NOW)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Unavailable);
    assert_eq!(
        kv.commits.load(Ordering::SeqCst) - before,
        1,
        "an unknown outcome is not retried"
    );
    // The commit did happen: the code is a tombstone and a retry is recognised as such,
    // never answered with a second set of tokens.
    assert!(matches!(
        store.find_code(&code.hash, NOW).await.unwrap(),
        CodeLookup::Used(_)
    ));
    assert_eq!(
        store
            .consume_code(&code.hash, &tokens_for_code(&code), NOW)
            .await
            .unwrap(),
        ConsumeOutcome::AlreadyUsed {
            grant_id: grant.id.clone()
        }
    );
}

#[tokio::test]
async fn revocation_interrupted_after_the_grant_is_finished_by_repeating_it() {
    let kv = FaultyKv::new();
    let store = KvStore::new(kv.clone()).unwrap();
    let grant = user_grant(&user_id(), &client_id());
    let code = code_for(&grant);
    store.create_grant_with_code(&grant, &code).await.unwrap();
    let issued = tokens_for_code(&code);
    store.consume_code(&code.hash, &issued, NOW).await.unwrap();

    // Step 1 (the grant) commits; the scan of step 2 (the children) fails.
    kv.fail_scans.store(1, Ordering::SeqCst);
    assert!(store.revoke_grant(&grant.id).await.is_err());
    // Everything under the grant already reads as absent.
    assert_eq!(store.grant(&grant.id, NOW).await.unwrap(), None);
    assert_eq!(
        store.find_code(&code.hash, NOW).await.unwrap(),
        CodeLookup::NotFound
    );
    assert_eq!(
        store.access_token(&issued.access.hash, NOW).await.unwrap(),
        None
    );
    let refresh = issued.refresh.as_ref().unwrap().hash;
    assert_eq!(
        store.find_refresh(&refresh, NOW).await.unwrap(),
        RefreshLookup::NotFound
    );
    assert_eq!(
        store
            .rotate_refresh(&refresh, &tokens_for(&grant), None, NOW)
            .await
            .unwrap(),
        RotateOutcome::NotFound,
        "a refresh token left under a revoked grant cannot be rotated"
    );
    assert!(!kv.keys_under("oauth/ig/").is_empty(), "children remain");
    // A sweep commit failing halfway (the first of two pages) is an error too.
    let small = FaultyKv::with_max_commit_len(MIN_COMMIT_LEN);
    let small_store = KvStore::new(small.clone()).unwrap();
    let other = user_grant(&user_id(), &client_id());
    let other_code = code_for(&other);
    small_store
        .create_grant_with_code(&other, &other_code)
        .await
        .unwrap();
    let other_issued = tokens_for_code(&other_code);
    small_store
        .consume_code(&other_code.hash, &other_issued, NOW)
        .await
        .unwrap();
    for _ in 0..3 {
        small_store
            .store_tokens(None, &tokens_for(&other))
            .await
            .unwrap();
    }
    // Step 1 commits; the first sweep commit fails.
    small.before_commit(|commit| common::deletes_under(commit, "oauth/ig/"), {
        let small = small.clone();
        async move { small.fail_commits.store(1, Ordering::SeqCst) }
    });
    assert!(small_store.revoke_grant(&other.id).await.is_err());
    assert!(small.hook_ran());
    let other_refresh = other_issued.refresh.as_ref().unwrap().hash;
    assert_eq!(
        small_store.find_refresh(&other_refresh, NOW).await.unwrap(),
        RefreshLookup::NotFound
    );
    assert!(small
        .raw_get(&format!("oauth/rt/{}", other_refresh.to_hex()))
        .is_some());
    small_store.revoke_grant(&other.id).await.unwrap();
    assert_eq!(small.len(), 0, "{:?}", small.keys_under(""));
    // Repeating the revocation sweeps them.
    store.revoke_grant(&grant.id).await.unwrap();
    assert_eq!(kv.len(), 0, "{:?}", kv.keys_under(""));
}
