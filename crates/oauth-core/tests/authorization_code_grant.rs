//! OAuth 2.1 §4.1.3 (authorization-code grant at the token endpoint), with RFC 7636 §4.5-§4.6 (PKCE), RFC 9700 §4.8.2 (PKCE downgrade), OAuth 2.1 §7.5.2 (code replay), §10.2 (`redirect_uri`) and RFC 8707 §2.2 (resource narrowing): codes expire, are bound to their client, challenge and redirect URI, yield tokens once even under concurrency, and a valid replay revokes what they issued.

mod common;

use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use common::*;
use http::{HeaderMap, StatusCode};
use oauth_core::model::{GrantType, UserId};
use oauth_core::pkce::{s256, CodeChallengeMethod};
use oauth_core::store::CodeLookup;
use oauth_core::token::TokenStep;
use oauth_core::{Lifetimes, PkcePolicy, Secret, Store as _};
use serde_json::Value;

/// A second protected resource, for RFC 8707 tests.
const OTHER: &str = "https://files.example/api";

fn assert_invalid_grant((status, body, headers): &(StatusCode, Value, HeaderMap)) {
    assert_eq!(*status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(error_of(body), "invalid_grant", "{body}");
    assert!(body.get("access_token").is_none(), "{body}");
    assert_eq!(headers["cache-control"], "no-store");
}

fn assert_error_code(
    (status, body, _): &(StatusCode, Value, HeaderMap),
    expected_status: StatusCode,
    expected_error: &str,
) {
    assert_eq!(*status, expected_status, "{body}");
    assert_eq!(error_of(body), expected_error, "{body}");
    assert!(body.get("access_token").is_none(), "{body}");
}

/// The usual public-client redemption pairs, with `overrides` replacing or adding pairs
/// (an empty value removes the pair).
fn redeem_pairs<'a>(
    client_id: &'a str,
    code: &'a str,
    overrides: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut pairs = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("client_id", client_id),
        ("code_verifier", VERIFIER),
    ];
    for (name, value) in overrides {
        pairs.retain(|(n, _)| n != name);
        if !value.is_empty() {
            pairs.push((name, value));
        }
    }
    pairs
}

async fn redeem_with(
    h: &Harness,
    client_id: &str,
    code: &str,
    overrides: &[(&str, &str)],
) -> (StatusCode, Value, HeaderMap) {
    h.token(&redeem_pairs(client_id, code, overrides), None)
        .await
}

/// The grant alice gave (the only one in these tests' harnesses).
async fn alice_grant(h: &Harness) -> oauth_core::model::GrantRecord {
    let mut grants = h
        .provider
        .grants_for_user(&UserId::new("alice"))
        .await
        .unwrap();
    assert_eq!(grants.len(), 1);
    grants.pop().unwrap()
}

// ---------------------------------------------------------------------------------------
// O21-47, O21-48, O21-49: the code
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn o21_47_code_exchanged_after_its_lifetime_is_invalid_grant() {
    let h = Harness::new();
    let client = h.public_client().await;
    let id = client.id.as_str();
    let lifetime = h.provider.config().lifetimes().authorization_code;
    assert!(lifetime <= 600, "at most ten minutes");
    let before = h.obtain_code(id).await;
    let at = h.obtain_code(id).await;
    h.advance(lifetime - 1);
    let (status, body, _) = h.redeem_public(id, &before).await;
    assert_eq!(status, StatusCode::OK, "one second before expiry: {body}");
    h.advance(1);
    assert_invalid_grant(&h.redeem_public(id, &at).await);
}

#[tokio::test]
async fn o21_47_ten_minute_code_at_ten_minutes_and_one_second_is_invalid_grant() {
    let h = Harness::with(|b| {
        b.lifetimes(Lifetimes {
            authorization_code: 600,
            ..Lifetimes::default()
        })
    });
    let client = h.public_client().await;
    let code = h.obtain_code(client.id.as_str()).await;
    h.advance(601);
    assert_invalid_grant(&h.redeem_public(client.id.as_str(), &code).await);
}

#[tokio::test]
async fn o21_48_code_is_stored_with_its_challenge_method_client_and_redirect_uri() {
    let (h, keys) = Harness::with_keys(|b| b);
    let client = h.public_client().await;
    let code = h.obtain_code(client.id.as_str()).await;
    let hash = keys.digest_secret(&Secret::new(code.clone())).hash;
    let CodeLookup::Active(record) = h.provider.store().find_code(&hash, h.now()).await.unwrap()
    else {
        panic!("the code is not stored under its keyed hash");
    };
    let challenge = record
        .challenge
        .expect("the challenge is stored with the code");
    assert_eq!(challenge.method, CodeChallengeMethod::S256);
    assert_eq!(challenge.value, CHALLENGE);
    assert_eq!(record.client_id, client.id);
    assert_eq!(record.redirect_uri, REDIRECT);
    assert!(record.redirect_uri_in_request);

    // The exchange verifies against the stored challenge: another well-formed verifier
    // fails, the one that hashes to it succeeds.
    let other = "A".repeat(43);
    assert_invalid_grant(
        &redeem_with(&h, client.id.as_str(), &code, &[("code_verifier", &other)]).await,
    );
    let (status, body, _) = h.redeem_public(client.id.as_str(), &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn o21_49_code_string_carries_neither_the_challenge_nor_request_data() {
    let h = Harness::new();
    let client = h.public_client().await;
    let code = h.obtain_code(client.id.as_str()).await;
    let again = h.obtain_code(client.id.as_str()).await;
    assert_ne!(code, again, "identical requests get unrelated codes");

    let random = code.strip_prefix("oa2c_").expect("type prefix");
    let bytes = URL_SAFE_NO_PAD.decode(random).expect("base64url body");
    assert_eq!(
        bytes.len(),
        32,
        "the code is 256 random bits and nothing else"
    );

    let challenge_bytes = URL_SAFE_NO_PAD.decode(CHALLENGE).unwrap();
    assert!(!code.contains(CHALLENGE));
    assert!(!bytes
        .windows(challenge_bytes.len())
        .any(|w| w == challenge_bytes.as_slice()));
    for data in [
        client.id.as_str(),
        "alice",
        "xyz",
        REDIRECT,
        "client.example",
        "read",
        VERIFIER,
    ] {
        assert!(!code.contains(data), "{data} in the code");
        assert!(
            !bytes.windows(data.len()).any(|w| w == data.as_bytes()),
            "{data} in the decoded code"
        );
    }
}

// ---------------------------------------------------------------------------------------
// O21-57, O21-58, O21-59: the request and the code's binding
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn o21_57_missing_code_is_invalid_request() {
    let h = Harness::new();
    let client = h.public_client().await;
    let id = client.id.as_str();
    for code in [None, Some("")] {
        let pairs: Vec<(&str, &str)> = [
            Some(("grant_type", "authorization_code")),
            code.map(|c| ("code", c)),
            Some(("redirect_uri", REDIRECT)),
            Some(("client_id", id)),
            Some(("code_verifier", VERIFIER)),
        ]
        .into_iter()
        .flatten()
        .collect();
        assert_error_code(
            &h.token(&pairs, None).await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        );
    }
}

#[tokio::test]
async fn o21_57_public_client_without_client_id_is_refused_and_the_code_survives() {
    let h = Harness::new();
    let client = h.public_client().await;
    let id = client.id.as_str();
    let code = h.obtain_code(id).await;
    let response = redeem_with(&h, id, &code, &[("client_id", "")]).await;
    assert_error_code(&response, StatusCode::BAD_REQUEST, "invalid_client");
    let (status, body, _) = h.redeem_public(id, &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn o21_58_code_redeemed_by_another_client_is_invalid_grant() {
    let h = Harness::new();
    let a = h.public_client().await;
    let b = h.public_client().await;
    let code = h.obtain_code(a.id.as_str()).await;
    assert_invalid_grant(&h.redeem_public(b.id.as_str(), &code).await);

    // A confidential client with valid credentials fares no better.
    let (c, secret) = h
        .confidential_client(vec![GrantType::AuthorizationCode])
        .await;
    assert_invalid_grant(
        &h.redeem_basic(c.id.as_str(), secret.expose(), &code, &[])
            .await,
    );

    // Neither attempt burnt the code nor revoked anything: A still redeems it.
    let (status, body, _) = h.redeem_public(a.id.as_str(), &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let access = h.bearer(str_of(&body, "access_token")).await.unwrap();
    assert_eq!(access.client_id, a.id);
}

#[tokio::test]
async fn o21_59_unknown_malformed_expired_revoked_or_used_code_is_invalid_grant() {
    let h = Harness::new();
    let client = h.public_client().await;
    let id = client.id.as_str();

    // Unknown (well-formed) and malformed.
    let unknown = format!("oa2c_{}", "A".repeat(43));
    for code in [
        unknown.as_str(),
        "not-a-code",
        "oa2c_",
        "oa2at_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ] {
        assert_invalid_grant(&h.redeem_public(id, code).await);
    }

    // Used.
    let used = h.obtain_code(id).await;
    assert_eq!(h.redeem_public(id, &used).await.0, StatusCode::OK);
    assert_invalid_grant(&h.redeem_public(id, &used).await);

    // Revoked (its grant withdrawn before redemption).
    let h = Harness::new();
    let client = h.public_client().await;
    let id = client.id.as_str();
    let revoked = h.obtain_code(id).await;
    h.provider
        .revoke_grant(&alice_grant(&h).await.id)
        .await
        .unwrap();
    assert_invalid_grant(&h.redeem_public(id, &revoked).await);

    // Expired.
    let expired = h.obtain_code(id).await;
    h.advance(h.provider.config().lifetimes().authorization_code);
    assert_invalid_grant(&h.redeem_public(id, &expired).await);
}

#[tokio::test]
async fn o21_59_code_of_a_deleted_client_is_invalid() {
    let h = Harness::new();
    let client = h.public_client().await;
    let id = client.id.as_str();
    let code = h.obtain_code(id).await;
    h.provider.store().delete_client(&client.id).await.unwrap();
    let (status, body, _) = h.redeem_public(id, &code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(error_of(&body), "invalid_client");
    // Re-registering the same id does not revive the code.
    h.provider.store().put_client(&client).await.unwrap();
    assert_invalid_grant(&h.redeem_public(id, &code).await);
}

// ---------------------------------------------------------------------------------------
// O21-60, O21-61, O21-62: once, atomically; replays
// ---------------------------------------------------------------------------------------

fn count_ok(statuses: &[StatusCode]) -> usize {
    statuses.iter().filter(|s| **s == StatusCode::OK).count()
}

#[tokio::test]
async fn o21_60_two_concurrent_redemptions_yield_exactly_one_token() {
    let h = Harness::new();
    let client = h.public_client().await;
    let id = client.id.as_str();
    let code = h.obtain_code(id).await;
    let (first, second) = tokio::join!(h.redeem_public(id, &code), h.redeem_public(id, &code));
    assert_eq!(
        count_ok(&[first.0, second.0]),
        1,
        "{} / {}",
        first.1,
        second.1
    );
    let loser = if first.0 == StatusCode::OK {
        second
    } else {
        first
    };
    assert_invalid_grant(&loser);
}

/// Redeems one fresh code from two tasks on a multi-threaded runtime, 25 times; returns
/// each pair of responses with the code's client.
async fn threaded_races(
    h: &Arc<Harness>,
) -> Vec<(
    String,
    (StatusCode, Value, HeaderMap),
    (StatusCode, Value, HeaderMap),
)> {
    let mut races = Vec::new();
    for _ in 0..25 {
        let client = h.public_client().await;
        let id = client.id.as_str().to_owned();
        let code = h.obtain_code(&id).await;
        let spawn = || {
            let (h, id, code) = (h.clone(), id.clone(), code.clone());
            tokio::spawn(async move { h.redeem_public(&id, &code).await })
        };
        let (first, second) = tokio::join!(spawn(), spawn());
        races.push((id, first.unwrap(), second.unwrap()));
    }
    races
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn o21_60_redemptions_racing_on_threads_yield_exactly_one_token() {
    let h = Arc::new(Harness::new());
    for (_, first, second) in threaded_races(&h).await {
        assert_eq!(
            count_ok(&[first.0, second.0]),
            1,
            "{} / {}",
            first.1,
            second.1
        );
        let loser = if first.0 == StatusCode::OK {
            second
        } else {
            first
        };
        assert_invalid_grant(&loser);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn o21_60_redemptions_racing_on_threads_never_yield_two_tokens_nor_a_usable_one() {
    // What holds today, whatever the interleaving: at most one token response, the
    // second redemption is a replay (invalid_grant) and revokes the grant, so no token
    // issued from the raced code stays usable.
    let h = Arc::new(Harness::new());
    for (id, first, second) in threaded_races(&h).await {
        assert!(
            count_ok(&[first.0, second.0]) <= 1,
            "{} / {}",
            first.1,
            second.1
        );
        assert!(
            error_of(&first.1) == "invalid_grant" || error_of(&second.1) == "invalid_grant",
            "{} / {}",
            first.1,
            second.1
        );
        for (status, body, _) in [&first, &second] {
            match *status {
                StatusCode::OK => assert!(
                    h.bearer(str_of(body, "access_token")).await.is_err(),
                    "{id}: a token from a replayed code still authenticates"
                ),
                StatusCode::BAD_REQUEST => assert_eq!(error_of(body), "invalid_grant"),
                // Redemption and token write are one atomic step: no winner ever loses its
                // write to the loser's revocation, so there is no 503 here.
                other => panic!("{other}: {body}"),
            }
        }
    }
}

#[tokio::test]
async fn o21_60_race_winner_gets_its_200_even_when_the_loser_revokes_before_its_token_write() {
    let h = Harness::new();
    let client = h.public_client().await;
    let id = client.id.as_str();
    let code = h.obtain_code(id).await;
    let (machine, store, now) = (h.provider.machine(), h.provider.store(), h.now());
    let r1 = token_request(&redeem_pairs(id, &code, &[]), None);
    let r2 = token_request(&redeem_pairs(id, &code, &[]), None);
    let at_consume = |s: &TokenStep<'_>| matches!(s, TokenStep::NeedsConsume(_));
    let s1 = drive_token_until(store, machine.token_request(&r1, now), at_consume).await;
    let s2 = drive_token_until(store, machine.token_request(&r2, now), at_consume).await;
    // The first consumes the code; the second then runs to its end (a replay: revoke).
    let s1 = answer_token_step(store, s1)
        .await
        .unwrap_or_else(|r| panic!("the winner answered right after consuming: {}", r.status()));
    let second = finish_token(store, s2).await;
    let first = finish_token(store, s1).await;
    assert_invalid_grant(&second);
    assert_eq!(first.0, StatusCode::OK, "the winner: {}", first.1);
    assert!(h.bearer(str_of(&first.1, "access_token")).await.is_err());
}

#[tokio::test]
async fn o21_60_interleaved_redemptions_both_validated_only_one_consumes() {
    // Both requests pass every check before either consumes: the store's atomic consume
    // alone decides, and the loser counts as a replay (the grant is revoked).
    let h = Harness::new();
    let client = h.public_client().await;
    let id = client.id.as_str();
    let code = h.obtain_code(id).await;
    let (machine, store, now) = (h.provider.machine(), h.provider.store(), h.now());
    let r1 = token_request(&redeem_pairs(id, &code, &[]), None);
    let r2 = token_request(&redeem_pairs(id, &code, &[]), None);
    let at_consume = |s: &TokenStep<'_>| matches!(s, TokenStep::NeedsConsume(_));
    let s1 = drive_token_until(store, machine.token_request(&r1, now), at_consume).await;
    let s2 = drive_token_until(store, machine.token_request(&r2, now), at_consume).await;
    let first = finish_token(store, s1).await;
    let second = finish_token(store, s2).await;
    assert_eq!(first.0, StatusCode::OK, "{}", first.1);
    assert_invalid_grant(&second);
    assert!(
        h.bearer(str_of(&first.1, "access_token")).await.is_err(),
        "losing the race is a replay: what the code issued is revoked"
    );
}

#[tokio::test]
async fn o21_61_valid_replay_is_refused_and_revokes_everything_the_code_issued() {
    let h = Harness::new();
    let client = h.public_client().await;
    let id = client.id.as_str();
    let code = h.obtain_code(id).await;
    let (status, first, _) = h.redeem_public(id, &code).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let at1 = str_of(&first, "access_token");
    let rt1 = str_of(&first, "refresh_token");
    assert!(h.bearer(at1).await.is_ok());

    assert_invalid_grant(&h.redeem_public(id, &code).await);

    assert!(h.bearer(at1).await.is_err(), "AT1 is revoked");
    assert_invalid_grant(&h.refresh(id, rt1, &[]).await);
    assert!(
        h.provider
            .grants_for_user(&UserId::new("alice"))
            .await
            .unwrap()
            .is_empty(),
        "the grant is gone"
    );
}

#[tokio::test]
async fn o21_61_valid_replay_also_revokes_tokens_already_rotated_from_the_code() {
    let h = Harness::new();
    let client = h.public_client().await;
    let id = client.id.as_str();
    let code = h.obtain_code(id).await;
    let (_, first, _) = h.redeem_public(id, &code).await;
    let (status, rotated, _) = h.refresh(id, str_of(&first, "refresh_token"), &[]).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    assert_invalid_grant(&h.redeem_public(id, &code).await);
    assert!(h.bearer(str_of(&rotated, "access_token")).await.is_err());
    assert_invalid_grant(&h.refresh(id, str_of(&rotated, "refresh_token"), &[]).await);
}

#[tokio::test]
async fn o21_62_invalid_replay_does_not_revoke() {
    let h = Harness::new();
    let client = h.public_client().await;
    let id = client.id.as_str();
    let code = h.obtain_code(id).await;
    let (_, first, _) = h.redeem_public(id, &code).await;
    let at1 = str_of(&first, "access_token");

    // Replays that would fail anyway: wrong verifier, no verifier, wrong redirect URI,
    // another client, bad client authentication.
    let wrong_verifier = format!("{}x", &VERIFIER[..VERIFIER.len() - 1]);
    for overrides in [
        vec![("code_verifier", wrong_verifier.as_str())],
        vec![("code_verifier", "")],
        vec![("redirect_uri", "https://client.example/other")],
    ] {
        let (status, body, _) = redeem_with(&h, id, &code, &overrides).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(h.bearer(at1).await.is_ok(), "AT1 survives {overrides:?}");
    }
    let other = h.public_client().await;
    assert_invalid_grant(&h.redeem_public(other.id.as_str(), &code).await);
    let (status, _, _) = redeem_with(&h, id, &code, &[("client_secret", "bogus")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    assert!(h.bearer(at1).await.is_ok(), "AT1 is still active");
    let (status, body, _) = h.refresh(id, str_of(&first, "refresh_token"), &[]).await;
    assert_eq!(status, StatusCode::OK, "RT1 still works: {body}");
}

// ---------------------------------------------------------------------------------------
// O21-63: redirect_uri at the token endpoint
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn o21_63_redirect_uri_differing_from_the_authorization_request_is_invalid_grant() {
    let h = Harness::new();
    let client = h.public_client().await;
    let id = client.id.as_str();
    let code = h.obtain_code(id).await;
    for other in [
        "https://client.example/cb/",
        "https://client.example/CB",
        "https://CLIENT.example/cb",
        "https://client.example/cb?x=1",
        "https://attacker.example/cb",
    ] {
        assert_invalid_grant(&redeem_with(&h, id, &code, &[("redirect_uri", other)]).await);
    }
    let (status, body, _) = h.redeem_public(id, &code).await;
    assert_eq!(status, StatusCode::OK, "identical redirect_uri: {body}");
}

#[tokio::test]
async fn o21_63_redirect_uri_omitted_when_the_authorization_request_carried_it_is_invalid_grant() {
    let h = Harness::new();
    let client = h.public_client().await;
    let id = client.id.as_str();
    let code = h.obtain_code(id).await;
    assert_invalid_grant(&redeem_with(&h, id, &code, &[("redirect_uri", "")]).await);
    let (status, body, _) = h.redeem_public(id, &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn o21_63_redirect_uri_omitted_in_both_requests_is_accepted() {
    let h = Harness::new();
    let client = h.public_client().await;
    let id = client.id.as_str();
    // One registered redirect URI, so the authorization request may omit it.
    let code = h.obtain_code_with(id, &[("redirect_uri", "")]).await;
    let (status, body, _) = redeem_with(&h, id, &code, &[("redirect_uri", "")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Sent at the token endpoint only: it must still be the one the code went to.
    let code = h.obtain_code_with(id, &[("redirect_uri", "")]).await;
    assert_invalid_grant(
        &redeem_with(
            &h,
            id,
            &code,
            &[("redirect_uri", "https://client.example/x")],
        )
        .await,
    );
    let (status, body, _) = h.redeem_public(id, &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

// ---------------------------------------------------------------------------------------
// PKCE-7, PKCE-8, PKCE-9, PKCE-11
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn pkce_7_verifier_is_checked_against_the_stored_challenge() {
    let h = Harness::new();
    let client = h.public_client().await;
    let id = client.id.as_str();
    let code = h.obtain_code(id).await;
    // Each one-character change of the V-1 verifier fails.
    for position in [0, 21, VERIFIER.len() - 1] {
        let mut changed = VERIFIER.as_bytes().to_vec();
        changed[position] = if changed[position] == b'a' {
            b'b'
        } else {
            b'a'
        };
        let changed = String::from_utf8(changed).unwrap();
        assert_invalid_grant(&redeem_with(&h, id, &code, &[("code_verifier", &changed)]).await);
    }
    // The challenge itself is not a verifier.
    assert_invalid_grant(&redeem_with(&h, id, &code, &[("code_verifier", CHALLENGE)]).await);
    let (status, body, _) = h.redeem_public(id, &code).await;
    assert_eq!(status, StatusCode::OK, "V-1 verifier: {body}");
}

#[tokio::test]
async fn pkce_8_missing_or_empty_verifier_is_invalid_grant() {
    let h = Harness::new();
    let client = h.public_client().await;
    let id = client.id.as_str();
    let code = h.obtain_code(id).await;
    assert_invalid_grant(&redeem_with(&h, id, &code, &[("code_verifier", "")]).await);
    let mut pairs = redeem_pairs(id, &code, &[("code_verifier", "")]);
    pairs.extend([("code_verifier", ""), ("code_verifier", "")]);
    // Two empty verifiers are a repeat, not an absence.
    assert_error_code(
        &h.token(&pairs, None).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    let request = raw_token_request(
        format!(
            "grant_type=authorization_code&code={code}&redirect_uri={}&client_id={id}&code_verifier=",
            form(&[("x", REDIRECT)]).trim_start_matches("x=")
        )
        .as_bytes(),
        &[("content-type", "application/x-www-form-urlencoded")],
    );
    assert_invalid_grant(&h.token_raw(&request).await);
    let (status, body, _) = h.redeem_public(id, &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn pkce_9_verifier_for_a_code_issued_without_challenge_is_invalid_request() {
    let h = Harness::with(|b| {
        b.pkce(PkcePolicy {
            require_for_confidential_clients: false,
            ..PkcePolicy::default()
        })
    });
    let (client, secret) = h
        .confidential_client(vec![GrantType::AuthorizationCode])
        .await;
    let (id, secret) = (client.id.as_str(), secret.expose());
    let code = h
        .obtain_code_with(id, &[("code_challenge", ""), ("code_challenge_method", "")])
        .await;
    let (status, body, _) = h.redeem_basic(id, secret, &code, &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(error_of(&body), "invalid_request");
    assert!(body.get("access_token").is_none());

    // The refused downgrade did not burn the code: without a verifier (the C-1 exception
    // path the host opted into) it redeems.
    let (status, body, _) = h
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
            ],
            Some((id, secret)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn pkce_11_verifier_of_42_or_129_characters_is_refused() {
    let h = Harness::new();
    let client = h.public_client().await;
    let id = client.id.as_str();
    let code = h.obtain_code(id).await;
    let too_long = format!("{VERIFIER}{}", "a".repeat(129 - VERIFIER.len()));
    for bad in [&VERIFIER[..42], too_long.as_str()] {
        let (status, body, _) = redeem_with(&h, id, &code, &[("code_verifier", bad)]).await;
        assert_eq!(
            status,
            StatusCode::BAD_REQUEST,
            "{} chars: {body}",
            bad.len()
        );
        assert_eq!(error_of(&body), "invalid_grant");
    }
}

#[tokio::test]
async fn pkce_11_malformed_verifier_that_hashes_to_the_challenge_is_invalid_grant() {
    let h = Harness::new();
    let client = h.public_client().await;
    let id = client.id.as_str();
    // Each verifier breaks the ABNF (length or character set), but the client sent its
    // S256 as the challenge, so only the syntax check can refuse it.
    let too_long = "a".repeat(129);
    for malformed in [
        &VERIFIER[..42],
        too_long.as_str(),
        "dBjftJeZ4CVP+mB92K27uhbUJU1p1r/wW1gFWFOEjXk=",
        "dBjftJeZ4CVP mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
        "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXé",
    ] {
        let challenge = s256(malformed);
        let code = h
            .obtain_code_with(id, &[("code_challenge", &challenge)])
            .await;
        let (status, body, _) = redeem_with(&h, id, &code, &[("code_verifier", malformed)]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{malformed:?}: {body}");
        assert_eq!(error_of(&body), "invalid_grant", "{malformed:?}");
    }
}

// ---------------------------------------------------------------------------------------
// RI-6: resources at the token endpoint
// ---------------------------------------------------------------------------------------

/// A code for `alice` whose authorization request named `resources` explicitly.
async fn code_for_resources(h: &Harness, client_id: &str, resources: &[&str]) -> String {
    let mut pairs = Harness::code_request_pairs(client_id);
    pairs.extend(
        resources
            .iter()
            .map(|r| ("resource".to_owned(), (*r).to_owned())),
    );
    let pending = h.begin(&borrow_pairs(&pairs)).await.unwrap();
    location_params(&h.approve(pending, "alice").await)["code"].clone()
}

#[tokio::test]
async fn ri_6_token_request_narrows_to_an_authorized_resource() {
    let h = Harness::with(|b| b.resource(OTHER));
    let client = h.public_client().await;
    let id = client.id.as_str();
    let code = code_for_resources(&h, id, &[RESOURCE, OTHER]).await;
    let (status, body, _) = redeem_with(&h, id, &code, &[("resource", RESOURCE)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let at = str_of(&body, "access_token");
    let access = h.bearer_for(at, RESOURCE).await.unwrap();
    assert_eq!(
        access
            .audience
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>(),
        [RESOURCE]
    );
    assert!(h.bearer_for(at, OTHER).await.is_err(), "narrowed away");
}

#[tokio::test]
async fn ri_6_token_request_for_a_resource_outside_the_authorization_is_invalid_target() {
    let h = Harness::with(|b| b.resource(OTHER));
    let client = h.public_client().await;
    let id = client.id.as_str();
    // Authorized for RESOURCE only: OTHER is served here but was not approved.
    let code = code_for_resources(&h, id, &[RESOURCE]).await;
    for resource in [
        OTHER,
        "https://unknown.example/api",
        "not a uri",
        "https://api.example/mcp#f",
    ] {
        let response = redeem_with(&h, id, &code, &[("resource", resource)]).await;
        assert_error_code(&response, StatusCode::BAD_REQUEST, "invalid_target");
    }
    // One good and one bad resource is still refused.
    let mut pairs = redeem_pairs(id, &code, &[("resource", RESOURCE)]);
    pairs.push(("resource", OTHER));
    assert_error_code(
        &h.token(&pairs, None).await,
        StatusCode::BAD_REQUEST,
        "invalid_target",
    );

    // The refusals left the code redeemable; without `resource` the grant's audience holds.
    let (status, body, _) = h.redeem_public(id, &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let at = str_of(&body, "access_token");
    assert!(h.bearer_for(at, RESOURCE).await.is_ok());
    assert!(h.bearer_for(at, OTHER).await.is_err());
}
