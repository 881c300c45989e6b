//! Purge and revocation on the fault-injecting backend, beyond the conformance suite:
//! commits within the backend's declared size, exact counts, the order of deletions
//! against concurrent redemptions (made deterministic with a hook run just before a
//! commit), damaged entries, and conditions on the records deletions derive keys from.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use common::{deletes_under, puts_under, FaultyKv};
use oauth_core::model::{AccessTokenRecord, ClientId, GrantId, IssuedTokens, UserId};
use oauth_core::store::{CodeLookup, ConsumeOutcome, RefreshLookup, RotateOutcome};
use oauth_core::{Store, StoreErrorKind, UnixTime};
use oauth_store_kv::{KvBackend, KvStore, RedbBackend};
use oauth_store_testkit::fixtures::{
    access_expiring, client, client_grant, client_id, code_expiring, code_for, once_key,
    refresh_expiring, tokens_for, tokens_for_code, user_grant, user_id, CODE_TTL, GRANT_TTL, NOW,
};

fn time(t: UnixTime) -> String {
    format!("{:020}", t.0)
}

fn hex(hash: &oauth_core::TokenHash) -> String {
    hash.to_hex()
}

/// The record bytes as the store writes them (format 1).
fn stored<T: serde::Serialize>(record: &T) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "v": 1, "record": record })).unwrap()
}

// ---- H1: commit size ----

#[tokio::test]
async fn purge_commits_never_exceed_the_declared_max_commit_len() {
    for max in [16, 17, 100] {
        let kv = FaultyKv::with_max_commit_len(max);
        let store = KvStore::new(kv.clone()).unwrap();
        let n = max + 3;
        // Grants without children once their codes are purged, half with a user index.
        for i in 0..n {
            let grant = if i % 2 == 0 {
                user_grant(&user_id(), &client_id())
            } else {
                client_grant(&client_id())
            };
            store
                .create_grant_with_code(&grant, &code_for(&grant))
                .await
                .unwrap();
        }
        // And grants with many children, purged whole.
        for _ in 0..3 {
            let grant = user_grant(&user_id(), &client_id());
            let code = code_expiring(&grant, grant.expires_at);
            store.create_grant_with_code(&grant, &code).await.unwrap();
            for _ in 0..max {
                store.store_tokens(None, &tokens_for(&grant)).await.unwrap();
            }
        }
        let codes = store
            .purge_expired(NOW.plus(CODE_TTL), usize::MAX)
            .await
            .unwrap();
        assert_eq!(codes, n, "max_commit_len {max}: the codes");
        let rest = store
            .purge_expired(NOW.plus(GRANT_TTL), usize::MAX)
            .await
            .unwrap();
        assert_eq!(
            rest,
            n + 3 * (2 + 2 * max),
            "max_commit_len {max}: the rest"
        );
        assert_eq!(kv.oversized.load(Ordering::SeqCst), 0, "max {max}");
        assert_eq!(kv.len(), 0, "{:?}", kv.keys_under(""));
    }
}

// ---- M1: counts ----

#[tokio::test]
async fn purge_counts_a_child_met_before_its_grant_once() {
    for limit in [100, 2] {
        let kv = FaultyKv::new();
        let store = KvStore::new(kv.clone()).unwrap();
        let grant = user_grant(&user_id(), &client_id());
        // The code's expiry entry precedes the grant's in the same page.
        store
            .create_grant_with_code(&grant, &code_for(&grant))
            .await
            .unwrap();
        let purged = store
            .purge_expired(NOW.plus(GRANT_TTL), limit)
            .await
            .unwrap();
        assert_eq!(purged, 2, "limit {limit}: the grant and its code");
        assert_eq!(kv.len(), 0, "limit {limit}: {:?}", kv.keys_under(""));
    }
}

#[tokio::test]
async fn purge_never_deletes_more_than_the_limit_and_finishes_a_grant_later() {
    let kv = FaultyKv::new();
    let store = KvStore::new(kv.clone()).unwrap();
    let grant = user_grant(&user_id(), &client_id());
    let code = code_expiring(&grant, grant.expires_at);
    store.create_grant_with_code(&grant, &code).await.unwrap();
    for _ in 0..3 {
        store.store_tokens(None, &tokens_for(&grant)).await.unwrap();
    }
    // 1 grant + 1 code + 6 tokens.
    let mut total = 0;
    for _ in 0..10 {
        let purged = store.purge_expired(NOW.plus(GRANT_TTL), 3).await.unwrap();
        assert!(purged <= 3);
        total += purged;
        if purged == 0 {
            break;
        }
    }
    assert_eq!(total, 8);
    assert_eq!(kv.len(), 0, "{:?}", kv.keys_under(""));
}

// ---- L1: order of a purge against a redemption ----

#[tokio::test]
async fn a_redemption_committed_just_before_a_grant_is_purged_leaves_no_orphan() {
    let kv = FaultyKv::new();
    let store = KvStore::new(kv.clone()).unwrap();
    let grant = user_grant(&user_id(), &client_id());
    let code = code_expiring(&grant, grant.expires_at);
    store.create_grant_with_code(&grant, &code).await.unwrap();
    // Tokens that outlive the grant's purge time (the purge still removes them with it).
    let late = grant.expires_at.plus(1_000_000);
    let issued = IssuedTokens {
        access: access_expiring(&grant, late),
        refresh: Some(refresh_expiring(&grant, late)),
    };
    let (racer, racer_code, racer_issued) = (store.clone(), code.clone(), issued.clone());
    let just_before = UnixTime(grant.expires_at.0 - 1);
    kv.before_commit(|commit| deletes_under(commit, "oauth/g/"), async move {
        let out = racer
            .consume_code(&racer_code.hash, &racer_issued, just_before)
            .await
            .unwrap();
        assert_eq!(out, ConsumeOutcome::Consumed);
    });
    store
        .purge_expired(grant.expires_at, usize::MAX)
        .await
        .unwrap();
    assert!(kv.hook_ran());
    assert_eq!(kv.len(), 0, "{:?}", kv.keys_under(""));
}

// ---- L2: deletions conditioned on the record they derive keys from ----

/// Puts `token` with its index entries directly, as if another writer had stored it.
fn raw_access(kv: &FaultyKv, token: &AccessTokenRecord) {
    let h = hex(&token.hash);
    kv.raw_put(
        &format!("oauth/at/{h}"),
        &stored(token),
        Some(token.expires_at),
    );
    kv.raw_put(
        &format!("oauth/ig/{}/at/{h}", token.grant_id.as_str()),
        time(token.expires_at).as_bytes(),
        Some(token.expires_at),
    );
    kv.raw_put(
        &format!("oauth/ix/{}/2/{h}", time(token.expires_at)),
        b"",
        Some(token.expires_at),
    );
}

#[tokio::test]
async fn revoking_an_access_token_that_changed_since_read_deletes_the_new_ones_index() {
    let kv = FaultyKv::new();
    let store = KvStore::new(kv.clone()).unwrap();
    let (a, b) = (
        user_grant(&user_id(), &client_id()),
        user_grant(&user_id(), &client_id()),
    );
    let tokens = tokens_for(&a);
    store
        .create_grant_with_code(&a, &code_for(&a))
        .await
        .unwrap();
    store
        .create_grant_with_code(&b, &code_for(&b))
        .await
        .unwrap();
    store.store_tokens(None, &tokens).await.unwrap();
    // Between the read and the commit the record becomes another one (same hash).
    let mut other = tokens.access.clone();
    other.grant_id = b.id.clone();
    other.expires_at = other.expires_at.plus(5);
    let writer = kv.clone();
    let (stale_index, stale_expiry) = (
        format!("oauth/ig/{}/at/{}", a.id.as_str(), hex(&other.hash)),
        format!(
            "oauth/ix/{}/2/{}",
            time(tokens.access.expires_at),
            hex(&other.hash)
        ),
    );
    kv.before_commit(|commit| deletes_under(commit, "oauth/at/"), async move {
        // The first token is gone with its entries; the second stored with its own.
        writer.raw_delete(&stale_index);
        writer.raw_delete(&stale_expiry);
        raw_access(&writer, &other);
    });
    store
        .revoke_access_token(&tokens.access.hash)
        .await
        .unwrap();
    assert!(kv.hook_ran());
    assert!(kv.keys_under("oauth/at/").is_empty());
    assert_eq!(
        kv.keys_under(&format!("oauth/ig/{}/at/", b.id.as_str())),
        Vec::<String>::new(),
        "the index entries of the record actually deleted go with it"
    );
    assert!(kv
        .keys_under("oauth/ix/")
        .iter()
        .all(|k| !k.contains("/2/")));
}

#[tokio::test]
async fn purging_a_token_that_changed_since_read_keeps_the_new_one() {
    let kv = FaultyKv::new();
    let store = KvStore::new(kv.clone()).unwrap();
    let grant = user_grant(&user_id(), &client_id());
    store
        .create_grant_with_code(&grant, &code_for(&grant))
        .await
        .unwrap();
    let tokens = tokens_for(&grant);
    store.store_tokens(None, &tokens).await.unwrap();
    let purge_at = tokens.access.expires_at;
    // Between the purge's read and its commit the record is replaced by an unexpired
    // one under the same hash.
    let mut renewed = tokens.access.clone();
    renewed.expires_at = purge_at.plus(1_000);
    let writer = kv.clone();
    let copy = renewed.clone();
    kv.before_commit(|commit| deletes_under(commit, "oauth/at/"), async move {
        raw_access(&writer, &copy)
    });
    store.purge_expired(purge_at, usize::MAX).await.unwrap();
    assert!(kv.hook_ran());
    assert!(
        store
            .access_token(&renewed.hash, purge_at)
            .await
            .unwrap()
            .is_some(),
        "an unexpired record is never purged"
    );
}

// ---- L3: damaged entries ----

#[tokio::test]
async fn damaged_entries_are_dropped_and_never_stop_purge_or_revocation() {
    let kv = FaultyKv::new();
    let store = KvStore::new(kv.clone()).unwrap();
    // A malformed expiry-index key (sorting first), a record of an unknown format with
    // its entry, and a valid expired marker behind them.
    kv.raw_put("oauth/ix/0000-malformed", b"", None);
    let unknown = "ab".repeat(32);
    kv.raw_put(
        &format!("oauth/code/{unknown}"),
        br#"{"v":99,"record":{}}"#,
        None,
    );
    kv.raw_put(&format!("oauth/ix/{}/1/{unknown}", time(NOW)), b"", None);
    assert!(store
        .insert_once(once_key("ticket"), NOW.plus(1), NOW)
        .await
        .unwrap());
    for _ in 0..2 {
        assert_eq!(store.purge_expired(NOW.plus(10), 100).await.unwrap(), 1);
        assert_eq!(kv.keys_under("oauth/ix/"), Vec::<String>::new());
        // Once dropped, nothing is in the way any more.
        assert!(store
            .insert_once(once_key("ticket"), NOW.plus(1), NOW)
            .await
            .unwrap());
    }

    // A grant's child index with a malformed key and a malformed expiry.
    let grant = user_grant(&user_id(), &client_id());
    let code = code_for(&grant);
    store.create_grant_with_code(&grant, &code).await.unwrap();
    let issued = tokens_for_code(&code);
    store.consume_code(&code.hash, &issued, NOW).await.unwrap();
    let children = format!("oauth/ig/{}/", grant.id.as_str());
    kv.raw_put(&format!("{children}bogus"), b"", None);
    kv.raw_put(
        &format!("{children}at/{}", hex(&issued.access.hash)),
        b"not a time",
        None,
    );
    store.revoke_grant(&grant.id).await.unwrap();
    assert_eq!(kv.keys_under(&children), Vec::<String>::new());
    assert!(kv.keys_under("oauth/at/").is_empty());
    assert!(kv.keys_under("oauth/rt/").is_empty());
    assert!(kv.keys_under("oauth/code/").len() <= 2);
}

// ---- L4: grant creation against client deletion ----

#[tokio::test]
async fn a_grant_created_while_its_client_is_deleted_is_refused() {
    for with_tokens in [false, true] {
        let kv = FaultyKv::new();
        let store = KvStore::new(kv.clone()).unwrap();
        let c = client(&client_id());
        store.put_client(&c).await.unwrap();
        let grant = user_grant(&user_id(), &c.id);
        let deleter = store.clone();
        let id = c.id.clone();
        kv.before_commit(|commit| puts_under(commit, "oauth/g/"), async move {
            deleter.delete_client(&id).await.unwrap()
        });
        let err = if with_tokens {
            store
                .store_tokens(Some(&grant), &tokens_for(&grant))
                .await
                .unwrap_err()
        } else {
            store
                .create_grant_with_code(&grant, &code_for(&grant))
                .await
                .unwrap_err()
        };
        assert!(kv.hook_ran());
        assert_eq!(err.kind(), StoreErrorKind::Conflict, "{err}");
        assert_eq!(kv.len(), 0, "{:?}", kv.keys_under(""));
        // Re-creating the client id revives nothing.
        store.put_client(&c).await.unwrap();
        assert_eq!(store.grant(&grant.id, NOW).await.unwrap(), None);
    }
}

// ---- revocation: ids, interrupted sweeps, two stores on one file ----

#[tokio::test]
async fn revoking_a_grant_leaves_a_grant_whose_id_it_prefixes_alone() {
    let kv = FaultyKv::new();
    let store = KvStore::new(kv.clone()).unwrap();
    let mut short = user_grant(&user_id(), &client_id());
    short.id = GrantId::new("g1");
    let mut long = user_grant(&user_id(), &client_id());
    long.id = GrantId::new("g10");
    let long_code = code_for(&long);
    store
        .create_grant_with_code(&short, &code_for(&short))
        .await
        .unwrap();
    store
        .create_grant_with_code(&long, &long_code)
        .await
        .unwrap();
    store.revoke_grant(&short.id).await.unwrap();
    assert_eq!(
        store.find_code(&long_code.hash, NOW).await.unwrap(),
        CodeLookup::Active(long_code)
    );
    assert!(kv.keys_under("oauth/ig/g1/").is_empty());
    assert_eq!(kv.keys_under("oauth/ig/g10/").len(), 1);
}

#[tokio::test]
async fn a_sweep_failing_halfway_is_finished_by_repeating_the_revocation() {
    // Commits of at most 16 entries: the sweep takes several.
    let kv = FaultyKv::with_max_commit_len(16);
    let store = KvStore::new(kv.clone()).unwrap();
    let grant = user_grant(&user_id(), &client_id());
    let code = code_for(&grant);
    store.create_grant_with_code(&grant, &code).await.unwrap();
    let issued = tokens_for_code(&code);
    store.consume_code(&code.hash, &issued, NOW).await.unwrap();
    for _ in 0..4 {
        store.store_tokens(None, &tokens_for(&grant)).await.unwrap();
    }
    let refresh = issued.refresh.as_ref().unwrap().hash;
    // The second sweep commit fails.
    let sweeps = AtomicUsize::new(0);
    let failer = kv.clone();
    let second = Arc::new(AtomicUsize::new(0));
    let seen = second.clone();
    kv.before_commit(
        move |commit| {
            deletes_under(commit, "oauth/ig/") && sweeps.fetch_add(1, Ordering::SeqCst) == 1
        },
        async move {
            seen.store(1, Ordering::SeqCst);
            failer.fail_commits.store(1, Ordering::SeqCst);
        },
    );
    assert!(store.revoke_grant(&grant.id).await.is_err());
    assert_eq!(second.load(Ordering::SeqCst), 1, "failed halfway");
    assert!(!kv.keys_under("oauth/ig/").is_empty(), "children remain");
    // What remains reads as absent and cannot be used.
    assert_eq!(
        store.find_refresh(&refresh, NOW).await.unwrap(),
        RefreshLookup::NotFound
    );
    assert_eq!(
        store
            .rotate_refresh(&refresh, &tokens_for(&grant), None, NOW)
            .await
            .unwrap(),
        RotateOutcome::NotFound
    );
    store.revoke_grant(&grant.id).await.unwrap();
    assert_eq!(kv.len(), 0, "{:?}", kv.keys_under(""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_stores_on_one_redb_file_redeem_a_code_once() {
    let backend = RedbBackend::open(common::fresh_db_path()).await.unwrap();
    let path = backend.path().to_owned();
    let one = KvStore::new(backend.clone()).unwrap();
    let two = KvStore::new(backend.clone()).unwrap();
    for round in 0..20 {
        let grant = user_grant(&UserId::new("u"), &ClientId::new("c"));
        let code = code_for(&grant);
        one.create_grant_with_code(&grant, &code).await.unwrap();
        let racers: Vec<_> = (0..8)
            .map(|i| {
                let store = if i % 2 == 0 { one.clone() } else { two.clone() };
                let code = code.clone();
                tokio::spawn(async move {
                    store
                        .consume_code(&code.hash, &tokens_for_code(&code), NOW)
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut won = 0;
        for racer in racers {
            match racer.await.unwrap() {
                ConsumeOutcome::Consumed => won += 1,
                ConsumeOutcome::AlreadyUsed { grant_id } => assert_eq!(grant_id, grant.id),
                other => panic!("round {round}: {other:?}"),
            }
        }
        assert_eq!(won, 1, "round {round}");
        assert_eq!(
            one.backend()
                .scan(
                    format!("oauth/ig/{}/at/", grant.id.as_str()).as_bytes(),
                    None,
                    100
                )
                .await
                .unwrap()
                .len(),
            1,
            "round {round}: only the winner's tokens"
        );
    }
    drop((one, two));
    backend.close().await;
    let _ = std::fs::remove_file(path);
}
