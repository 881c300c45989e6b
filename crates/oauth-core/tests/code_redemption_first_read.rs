//! OAuth 2.1 §4.1.3 with §3.2.1 (client authentication first) and §7.5.2 (replay): a code
//! redemption reads its client and its code together (`Store::client_and_code`, one
//! round trip on a networked store), and the code's answer counts only once the client
//! has authenticated and may use the grant: before that it can neither redeem, revoke,
//! nor change the answer or the events, even when the code's read failed.

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use http::{Request, StatusCode};
use oauth_core::model::{Client, GrantType};
use oauth_core::store::{ClientAndCode, CodeLookup};
use oauth_core::token::{ClientLookup, TokenRequest, TokenStep};
use oauth_core::{
    EventSink, KeyId, Keyring, Secret, SecurityEvent, Store as _, StoreError, StoreErrorKind,
    TokenHash,
};

/// The security events of a test, as `kind client`.
#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl EventSink for Recorder {
    fn record(&self, event: &SecurityEvent<'_>) {
        let line = match event {
            SecurityEvent::ClientAuthenticationFailed { client_id, .. } => {
                format!("auth_failed {client_id}")
            }
            SecurityEvent::CodeReplayed { client_id, .. } => format!("code_replayed {client_id}"),
            _ => "other".to_owned(),
        };
        self.0.lock().unwrap().push(line);
    }
}

impl Recorder {
    fn events(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

/// A harness whose keys and events the test sees.
fn harness() -> (Harness, Keyring, Arc<Recorder>) {
    let recorder = Arc::new(Recorder::default());
    let sink = recorder.clone();
    let (h, keys) = Harness::with_keys(move |b| b.events(sink));
    (h, keys, recorder)
}

/// The usual public-client redemption pairs.
fn redemption<'a>(client_id: &'a str, code: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("client_id", client_id),
        ("code_verifier", VERIFIER),
    ]
}

/// The same pairs for a client authenticating with `Authorization: Basic`.
fn basic_redemption(code: &str) -> Vec<(&str, &str)> {
    let mut pairs = redemption("", code);
    pairs.retain(|(name, _)| *name != "client_id");
    pairs
}

/// The first step of a redemption, which must ask for the client.
fn first_step<'m>(h: &'m Harness, request: &Request<Vec<u8>>) -> ClientLookup<'m, TokenRequest> {
    match h.provider.machine().token_request(request, h.now()) {
        TokenStep::NeedsClient(lookup) => lookup,
        _ => panic!("a redemption starts with its client"),
    }
}

/// The keyed hash `code` is stored under.
fn hash_of(keys: &Keyring, code: &str) -> TokenHash {
    keys.digest_secret(&Secret::new(code.to_owned())).hash
}

/// The stored record of `code`, which must be active.
async fn record_of(h: &Harness, keys: &Keyring, code: &str) -> oauth_core::model::CodeRecord {
    match h
        .provider
        .store()
        .find_code(&hash_of(keys, code), h.now())
        .await
    {
        Ok(CodeLookup::Active(record)) => record,
        other => panic!("the code is not active: {other:?}"),
    }
}

/// The response a step ends with at once (no further store question).
fn responded(step: TokenStep<'_>) -> (StatusCode, serde_json::Value) {
    match step {
        TokenStep::Respond(response) => {
            let (status, body, _) = response_parts(&response);
            (status, body)
        }
        _ => panic!("the request must be answered at once"),
    }
}

fn unavailable() -> StoreError {
    StoreError::new(StoreErrorKind::Unavailable, "the code's shard is down")
}

#[tokio::test]
async fn code_redemption_reads_client_and_code_together_then_consumes() {
    let (h, keys, _) = harness();
    let client = h.public_client().await;
    let code = h.obtain_code(client.id.as_str()).await;
    let request = token_request(&redemption(client.id.as_str(), &code), None);
    let lookup = first_step(&h, &request);
    let asked = lookup
        .code_hash()
        .expect("a redemption names its code's hash");
    assert!(
        asked.ct_eq(&hash_of(&keys, &code)),
        "the hash the code is stored under"
    );
    let answer = h
        .provider
        .store()
        .client_and_code(lookup.client_id(), &asked, lookup.now())
        .await;
    let next = lookup.resume_with_code(answer);
    assert!(
        matches!(next, TokenStep::NeedsConsume(_)),
        "with the code already read, the next question is the redemption"
    );
    let (status, body, _) = finish_token(h.provider.store(), next).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn code_read_with_a_wrongly_authenticated_client_neither_redeems_nor_revokes() {
    // An active or a used (replayed) code read with the client: a wrong secret is
    // invalid_client with its event, and nothing follows from the code.
    let (h, keys, events) = harness();
    let (client, _secret) = h
        .confidential_client(vec![GrantType::AuthorizationCode])
        .await;
    let id = client.id.as_str();
    let code = h.obtain_code(id).await;
    let record = record_of(&h, &keys, &code).await;
    let request = token_request(&basic_redemption(&code), Some((id, "not-the-secret")));
    for read in [
        CodeLookup::Active(record.clone()),
        CodeLookup::Used(record.clone()),
    ] {
        let answer = ClientAndCode {
            client: Ok(Some(client.clone())),
            code: Some(Ok(read)),
        };
        let (status, body) = responded(first_step(&h, &request).resume_with_code(answer));
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert_eq!(error_of(&body), "invalid_client");
    }
    assert_eq!(events.events(), vec![format!("auth_failed {id}"); 2]);
    record_of(&h, &keys, &code).await;
}

#[tokio::test]
async fn failed_code_read_never_hides_a_failed_client_authentication() {
    // The code's shard is down while the client reads fine: a wrong secret is still
    // invalid_client (401, reported for throttling), never 503.
    let (h, keys, events) = harness();
    let (client, secret) = h
        .confidential_client(vec![GrantType::AuthorizationCode])
        .await;
    let id = client.id.as_str();
    let code = h.obtain_code(id).await;
    let failed_read = |client: &Client| ClientAndCode {
        client: Ok(Some(client.clone())),
        code: Some(Err(unavailable())),
    };

    let wrong = token_request(&basic_redemption(&code), Some((id, "not-the-secret")));
    let (status, body) = responded(first_step(&h, &wrong).resume_with_code(failed_read(&client)));
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(error_of(&body), "invalid_client");
    assert_eq!(events.events(), vec![format!("auth_failed {id}")]);

    // The right secret: the failed read answers as a failed find_code would.
    let right = token_request(&basic_redemption(&code), Some((id, secret.expose())));
    let (status, body) = responded(first_step(&h, &right).resume_with_code(failed_read(&client)));
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(error_of(&body), "temporarily_unavailable");
    record_of(&h, &keys, &code).await;
}

#[tokio::test]
async fn code_read_for_a_client_not_allowed_the_grant_is_unauthorized_client_without_revocation() {
    let (h, keys, events) = harness();
    let public = h.public_client().await;
    let code = h.obtain_code(public.id.as_str()).await;
    let record = record_of(&h, &keys, &code).await;
    let (machine_only, secret) = h
        .confidential_client(vec![GrantType::ClientCredentials])
        .await;
    let id = machine_only.id.as_str();
    let request = token_request(&basic_redemption(&code), Some((id, secret.expose())));
    for read in [Ok(CodeLookup::Used(record)), Err(unavailable())] {
        let answer = ClientAndCode {
            client: Ok(Some(machine_only.clone())),
            code: Some(read),
        };
        let (status, body) = responded(first_step(&h, &request).resume_with_code(answer));
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(error_of(&body), "unauthorized_client");
    }
    assert!(events.events().is_empty(), "{:?}", events.events());
    record_of(&h, &keys, &code).await;
}

#[tokio::test]
async fn unknown_client_is_invalid_client_and_its_code_is_not_read() {
    // The store's default reads no code for an unknown client: with every code read
    // failing, the answer is still invalid_client, not 503.
    let store = oauth_store_testkit::instrumented::InstrumentedStore::new(
        oauth_store_memory::MemoryStore::new(),
    );
    store.fail(oauth_store_testkit::instrumented::Op::FindCode);
    let answer = store
        .client_and_code(
            &oauth_core::model::ClientId::new("no-such-client"),
            &oauth_store_testkit::fixtures::token_hash(),
            oauth_core::UnixTime(START),
        )
        .await;
    assert!(matches!(answer.client, Ok(None)));
    assert!(answer.code.is_none(), "no client: the code is not read");

    let (h, _, events) = harness();
    let client = h.public_client().await;
    let code = h.obtain_code(client.id.as_str()).await;
    let request = token_request(&redemption("no-such-client", &code), None);
    let (status, body) = responded(first_step(&h, &request).resume_with_code(answer));
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(error_of(&body), "invalid_client");
    assert_eq!(
        events.events(),
        vec!["auth_failed no-such-client".to_owned()]
    );
}

#[tokio::test]
async fn code_record_filed_under_another_hash_is_a_store_failure_never_a_redemption_or_revocation()
{
    let (h, keys, events) = harness();
    let client = h.public_client().await;
    let id = client.id.as_str();
    let code = h.obtain_code(id).await;
    let other = h.obtain_code(id).await;
    let other_record = record_of(&h, &keys, &other).await;
    let request = token_request(&redemption(id, &code), None);
    for read in [
        CodeLookup::Active(other_record.clone()),
        CodeLookup::Used(other_record.clone()),
    ] {
        let answer = ClientAndCode {
            client: Ok(Some(client.clone())),
            code: Some(Ok(read)),
        };
        let (status, body) = responded(first_step(&h, &request).resume_with_code(answer));
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(error_of(&body), "temporarily_unavailable");
    }
    assert!(
        events.events().is_empty(),
        "no replay: {:?}",
        events.events()
    );
    record_of(&h, &keys, &code).await;
    record_of(&h, &keys, &other).await;
}

#[tokio::test]
async fn store_failure_of_the_client_read_is_503() {
    let (h, _, _) = harness();
    let client = h.public_client().await;
    let code = h.obtain_code(client.id.as_str()).await;
    let request = token_request(&redemption(client.id.as_str(), &code), None);
    let answer = ClientAndCode {
        client: Err(unavailable()),
        code: None,
    };
    let (status, _) = responded(first_step(&h, &request).resume_with_code(answer));
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn code_hash_is_asked_only_for_a_well_formed_code_redemption() {
    let (h, _, _) = harness();
    let client = h.public_client().await;
    let id = client.id.as_str();
    let code = h.obtain_code(id).await;
    let mut repeated = redemption(id, &code);
    repeated.push(("code", &code));
    let mut empty = redemption(id, &code);
    empty.retain(|(name, _)| *name != "code");
    empty.push(("code", ""));
    let requests = [
        token_request(&redemption(id, "not-a-code"), None),
        token_request(&empty, None),
        token_request(&repeated, None),
        token_request(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &code),
                ("client_id", id),
            ],
            None,
        ),
    ];
    for request in &requests {
        assert!(first_step(&h, request).code_hash().is_none());
    }
}

#[tokio::test]
async fn code_issued_under_a_previous_key_is_redeemed_after_the_read_under_the_current_key() {
    // The combined read looks under the current key only; a code issued before a key
    // rotation is then asked for under the previous key, as before.
    fn random_secret() -> [u8; 32] {
        let mut secret = [0u8; 32];
        oauth_core::SecureRandom::fill(&oauth_core::OsRandom, &mut secret).unwrap();
        secret
    }
    let (old_secret, new_secret) = (random_secret(), random_secret());
    let old = Keyring::from_secret(KeyId::new("old").unwrap(), &old_secret).unwrap();
    let rotated = Keyring::from_secret(KeyId::new("new").unwrap(), &new_secret)
        .unwrap()
        .with_previous(KeyId::new("old").unwrap(), &old_secret)
        .unwrap();
    let before = Harness::with(|b| b.keys(old));
    let after = Harness::with(|b| b.keys(rotated));
    let client = before.public_client().await;
    let code = before.obtain_code(client.id.as_str()).await;
    // The rotated server's machine, answered from the store the code was written to.
    let store = before.provider.store();
    let request = token_request(&redemption(client.id.as_str(), &code), None);
    let first = after
        .provider
        .machine()
        .token_request(&request, before.now());
    assert!(matches!(&first, TokenStep::NeedsClient(lookup) if lookup.code_hash().is_some()));
    let next = answer_token_step(store, first).await.unwrap();
    assert!(
        matches!(next, TokenStep::NeedsCode(_)),
        "not found under the current key: asked again under the previous one"
    );
    let (status, body, _) = finish_token(store, next).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
