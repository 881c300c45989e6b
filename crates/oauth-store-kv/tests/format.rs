//! Versioned records: a database written by format 1 (the committed fixture
//! `tests/fixtures/format-1.tsv`, one `key<TAB>value` line per entry, as the store wrote
//! them) reads back whole through the current code, and a record of an unknown format is
//! refused as corrupt, never half-read. The fixture also pins the key layout.
//!
//! The records are the testkit's fixtures with every random field fixed, so the test
//! rebuilds exactly what the fixture holds. `write_format_1_fixture` (ignored) wrote it;
//! run it again only to add a fixture for a *new* format, never to make this test pass.

mod common;

use std::path::PathBuf;

use common::FaultyKv;
use oauth_core::crypto::{SealedProps, WrappedPropsKey};
use oauth_core::model::{Client, ClientId, CodeRecord, GrantId, GrantRecord, IssuedTokens, UserId};
use oauth_core::store::{CodeLookup, ConsumeOutcome, RefreshGrace, RefreshLookup, RotateOutcome};
use oauth_core::{Store, StoreErrorKind, TokenHash};
use oauth_store_kv::KvStore;
use oauth_store_testkit::fixtures::{client, code_for, tokens_for, user_grant, NOW};

fn fixture_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/format-1.tsv")
}

struct Records {
    client: Client,
    grant: GrantRecord,
    code: CodeRecord,
    first: IssuedTokens,
    second: IssuedTokens,
    grace: RefreshGrace,
}

fn records() -> Records {
    let mut client = client(&ClientId::new("fixture-client"));
    client.secret.as_mut().unwrap().hash = TokenHash([0x11; 32]);
    if let Some(token) = client.registration_token.as_mut() {
        token.hash = TokenHash([0x12; 32]);
    }
    let mut grant = user_grant(&UserId::new("fixture user@example"), &client.id);
    grant.id = GrantId::new("fixture-grant");
    grant.props = Some(SealedProps(vec![0x22; 32]));
    let mut code = code_for(&grant);
    code.hash = TokenHash([0x33; 32]);
    code.props_key = Some(WrappedPropsKey(vec![0x44; 32]));
    let tokens = |seed: u8| {
        let mut t = tokens_for(&grant);
        t.access.hash = TokenHash([seed; 32]);
        t.access.props_key = Some(WrappedPropsKey(vec![seed + 1; 32]));
        let refresh = t.refresh.as_mut().unwrap();
        refresh.hash = TokenHash([seed + 2; 32]);
        refresh.props_key = Some(WrappedPropsKey(vec![seed + 3; 32]));
        t
    };
    let (first, second) = (tokens(0x50), tokens(0x60));
    Records {
        client,
        grant,
        code,
        first,
        second,
        grace: RefreshGrace {
            sealed_successor: vec![0x77; 16],
            until: NOW.plus(60),
        },
    }
}

fn refresh_hash(tokens: &IssuedTokens) -> &TokenHash {
    &tokens.refresh.as_ref().unwrap().hash
}

/// Writes the fixture: a client, a grant whose code was redeemed and whose first refresh
/// token was rotated with a grace.
#[tokio::test]
#[ignore = "writes the committed fixture; run only to add a new format's fixture"]
async fn write_format_1_fixture() {
    let kv = FaultyKv::new();
    let store = KvStore::new(kv.clone()).unwrap();
    let r = records();
    store.put_client(&r.client).await.unwrap();
    store
        .create_grant_with_code(&r.grant, &r.code)
        .await
        .unwrap();
    assert_eq!(
        store
            .consume_code(&r.code.hash, &r.first, NOW)
            .await
            .unwrap(),
        ConsumeOutcome::Consumed
    );
    assert_eq!(
        store
            .rotate_refresh(refresh_hash(&r.first), &r.second, Some(&r.grace), NOW)
            .await
            .unwrap(),
        RotateOutcome::Rotated
    );
    let mut out = String::new();
    for key in kv.keys_under("") {
        let value = kv.raw_get(&key).unwrap();
        out.push_str(&format!("{key}\t{}\n", String::from_utf8(value).unwrap()));
    }
    std::fs::write(fixture_path(), out).unwrap();
}

fn load_fixture() -> std::sync::Arc<FaultyKv> {
    let kv = FaultyKv::new();
    let text = std::fs::read_to_string(fixture_path()).unwrap();
    for line in text.lines() {
        let (key, value) = line.split_once('\t').unwrap();
        kv.raw_put(key, value.as_bytes(), None);
    }
    kv
}

#[tokio::test]
async fn format_1_records_read_back_whole() {
    let kv = load_fixture();
    let store = KvStore::new(kv.clone()).unwrap();
    let r = records();
    assert_eq!(
        store.client(&r.client.id).await.unwrap(),
        Some(r.client.clone())
    );
    assert_eq!(
        store.grant(&r.grant.id, NOW).await.unwrap(),
        Some(r.grant.clone())
    );
    let user = r.grant.subject.user().unwrap();
    assert_eq!(
        store.grants_for_user(user, NOW).await.unwrap(),
        vec![r.grant.clone()]
    );
    assert_eq!(
        store.find_code(&r.code.hash, NOW).await.unwrap(),
        CodeLookup::Used(r.code.clone())
    );
    let first = store
        .access_token(&r.first.access.hash, NOW)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.token, r.first.access);
    assert_eq!(first.grant, r.grant);
    assert_eq!(
        store
            .find_refresh(refresh_hash(&r.first), NOW)
            .await
            .unwrap(),
        RefreshLookup::Retired {
            grant_id: r.grant.id.clone(),
            client_id: r.client.id.clone(),
            retired_at: NOW,
        }
    );
    assert_eq!(
        store
            .find_refresh(refresh_hash(&r.second), NOW)
            .await
            .unwrap(),
        RefreshLookup::Active(r.second.refresh.clone().unwrap())
    );
    assert_eq!(
        store
            .claim_refresh_grace(refresh_hash(&r.first), NOW)
            .await
            .unwrap(),
        Some(r.grace.sealed_successor.clone())
    );
    // The indexes of the fixture drive revocation and purge as well.
    store.revoke_grant(&r.grant.id).await.unwrap();
    assert_eq!(
        kv.keys_under("oauth/"),
        vec!["oauth/c/fixture-client".to_owned()]
    );
}

#[tokio::test]
async fn a_record_of_an_unknown_format_is_corrupt_not_misread() {
    let kv = load_fixture();
    let store = KvStore::new(kv.clone()).unwrap();
    let r = records();
    let key = "oauth/g/fixture-grant";
    let newer = String::from_utf8(kv.raw_get(key).unwrap())
        .unwrap()
        .replacen(r#"{"v":1,"#, r#"{"v":2,"#, 1);
    kv.raw_put(key, newer.as_bytes(), None);
    let err = store.grant(&r.grant.id, NOW).await.unwrap_err();
    assert_eq!(err.kind(), StoreErrorKind::Corrupt);
    // A redemption or bearer check on it fails rather than guessing.
    assert_eq!(
        store
            .access_token(&r.second.access.hash, NOW)
            .await
            .unwrap_err()
            .kind(),
        StoreErrorKind::Corrupt
    );
}
