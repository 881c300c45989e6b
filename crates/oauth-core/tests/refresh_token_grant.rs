//! OAuth 2.1 §4.3 (refresh-token grant) with §4.3.1 rotation and reuse detection, §4.3.3 scope kept across rotation, RFC 9700 §4.14.2 and RFC 8707 §2.2: refresh tokens are issued only where allowed, bound to their client, grant, scope and resources, rotated atomically, revoked with their grant on reuse, and expire with inactivity and never after their grant.

mod common;

use std::sync::Arc;

use common::*;
use http::{HeaderMap, StatusCode};
use oauth_core::model::{Client, GrantType};
use oauth_core::token::TokenStep;
use oauth_core::{Lifetimes, Store as _};
use serde_json::Value;

/// A second protected resource, for RFC 8707 tests.
const OTHER: &str = "https://files.example/api";
const DAY: u64 = 24 * 3600;

fn assert_error_code(
    (status, body, headers): &(StatusCode, Value, HeaderMap),
    expected_status: StatusCode,
    expected_error: &str,
) {
    assert_eq!(*status, expected_status, "{body}");
    assert_eq!(error_of(body), expected_error, "{body}");
    assert!(body.get("access_token").is_none(), "{body}");
    assert!(body.get("refresh_token").is_none(), "{body}");
    assert_eq!(headers["cache-control"], "no-store");
}

fn assert_invalid_grant(response: &(StatusCode, Value, HeaderMap)) {
    assert_error_code(response, StatusCode::BAD_REQUEST, "invalid_grant");
}

fn ok(response: (StatusCode, Value, HeaderMap)) -> Value {
    assert_eq!(response.0, StatusCode::OK, "{}", response.1);
    response.1
}

/// Full public-client flow with `overrides` on the authorization request.
async fn public_tokens_with(h: &Harness, overrides: &[(&str, &str)]) -> (Client, Value) {
    let client = h.public_client().await;
    let code = h.obtain_code_with(client.id.as_str(), overrides).await;
    let body = ok(h.redeem_public(client.id.as_str(), &code).await);
    (client, body)
}

fn rt(body: &Value) -> &str {
    str_of(body, "refresh_token")
}

fn at(body: &Value) -> &str {
    str_of(body, "access_token")
}

// ---------------------------------------------------------------------------------------
// O21-66, O21-67: when refresh tokens are issued
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn o21_66_client_credentials_issues_no_refresh_token() {
    let h = Harness::new();
    // Even a client that registered the refresh grant too.
    let (client, secret) = h
        .confidential_client(vec![GrantType::ClientCredentials, GrantType::RefreshToken])
        .await;
    let body = ok(h
        .token(
            &[("grant_type", "client_credentials")],
            Some((client.id.as_str(), secret.expose())),
        )
        .await);
    assert!(body.get("refresh_token").is_none(), "{body}");
}

#[tokio::test]
async fn o21_67_no_refresh_token_when_the_server_issues_none() {
    let h = Harness::with(|b| b.issue_refresh_tokens(false));
    let (_, body) = h.public_tokens().await;
    assert!(body.get("refresh_token").is_none(), "{body}");
    let (_, _, body) = h.confidential_tokens().await;
    assert!(body.get("refresh_token").is_none(), "{body}");
}

#[tokio::test]
async fn o21_67_no_refresh_token_for_a_client_not_registered_for_the_refresh_grant() {
    let h = Harness::new();
    let (client, secret) = h
        .confidential_client(vec![GrantType::AuthorizationCode])
        .await;
    let code = h.obtain_code(client.id.as_str()).await;
    let body = ok(h
        .redeem_basic(client.id.as_str(), secret.expose(), &code, &[])
        .await);
    assert!(body.get("refresh_token").is_none(), "{body}");
}

// ---------------------------------------------------------------------------------------
// O21-68, O21-69, O21-70, O21-71: bindings
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn o21_68_refresh_token_used_by_another_client_is_invalid_grant() {
    let h = Harness::new();
    let (a, body) = h.public_tokens().await;
    let b = h.public_client().await;
    assert_invalid_grant(&h.refresh(b.id.as_str(), rt(&body), &[]).await);
    let (c, c_secret) = h
        .confidential_client(vec![GrantType::AuthorizationCode, GrantType::RefreshToken])
        .await;
    assert_invalid_grant(
        &h.refresh_basic(c.id.as_str(), c_secret.expose(), rt(&body), &[])
            .await,
    );
    // Nothing was burnt or revoked: A still refreshes with it.
    let rotated = ok(h.refresh(a.id.as_str(), rt(&body), &[]).await);

    // A's retired token presented by B fails without revoking A's grant.
    assert_invalid_grant(&h.refresh(b.id.as_str(), rt(&body), &[]).await);
    assert!(h.bearer(at(&rotated)).await.is_ok());
    ok(h.refresh(a.id.as_str(), rt(&rotated), &[]).await);
}

#[tokio::test]
async fn o21_69_refresh_outside_the_granted_scope_or_resources_is_refused() {
    let h = Harness::with(|b| b.resource(OTHER));
    let (client, body) = public_tokens_with(&h, &[("resource", RESOURCE)]).await;
    let id = client.id.as_str();
    assert_error_code(
        &h.refresh(id, rt(&body), &[("scope", "write")]).await,
        StatusCode::BAD_REQUEST,
        "invalid_scope",
    );
    for resource in [OTHER, "https://unknown.example/", "relative/path"] {
        assert_error_code(
            &h.refresh(id, rt(&body), &[("resource", resource)]).await,
            StatusCode::BAD_REQUEST,
            "invalid_target",
        );
    }
    // The refusals did not rotate or burn the token.
    ok(h.refresh(id, rt(&body), &[]).await);
}

#[tokio::test]
async fn o21_70_refresh_scope_may_only_narrow_and_defaults_to_the_original() {
    let h = Harness::new();
    let (client, body) = h.public_tokens().await;
    let id = client.id.as_str();
    assert_eq!(body["scope"], "read");
    for wider in ["read write", "admin", "write"] {
        assert_error_code(
            &h.refresh(id, rt(&body), &[("scope", wider)]).await,
            StatusCode::BAD_REQUEST,
            "invalid_scope",
        );
    }
    assert_error_code(
        &h.refresh(id, rt(&body), &[("scope", "read\"")]).await,
        StatusCode::BAD_REQUEST,
        "invalid_scope",
    );
    let refreshed = ok(h.refresh(id, rt(&body), &[]).await);
    assert_eq!(refreshed["scope"], "read");
    let access = h.bearer(at(&refreshed)).await.unwrap();
    assert!(access.scope.contains("read") && !access.scope.contains("write"));
}

#[tokio::test]
async fn o21_71_rotated_refresh_token_keeps_the_scope_of_the_token_presented() {
    let h = Harness::new();
    let (client, body) = public_tokens_with(&h, &[("scope", "read write")]).await;
    let id = client.id.as_str();
    assert_eq!(body["scope"], "read write");

    let narrowed = ok(h.refresh(id, rt(&body), &[("scope", "read")]).await);
    assert_eq!(narrowed["scope"], "read");
    let access = h.bearer(at(&narrowed)).await.unwrap();
    assert!(access.scope.contains("read") && !access.scope.contains("write"));

    // The successor refresh token still carries `read write`.
    let full = ok(h.refresh(id, rt(&narrowed), &[]).await);
    assert_eq!(full["scope"], "read write");
    let access = h.bearer(at(&full)).await.unwrap();
    assert!(access.scope.contains("read") && access.scope.contains("write"));
}

// ---------------------------------------------------------------------------------------
// O21-72, O21-73, O21-74: grant validity, replay and rotation
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn o21_72_refresh_after_the_grant_is_revoked_is_invalid_grant() {
    let h = Harness::new();
    let (client, body) = h.public_tokens().await;
    let grant = h.bearer(at(&body)).await.unwrap().grant_id;
    h.provider.revoke_grant(&grant).await.unwrap();
    assert_invalid_grant(&h.refresh(client.id.as_str(), rt(&body), &[]).await);
    assert!(h.bearer(at(&body)).await.is_err());
}

#[tokio::test]
async fn o21_72_refresh_after_the_client_is_deleted_is_refused() {
    let h = Harness::new();
    let (client, body) = h.public_tokens().await;
    h.provider.store().delete_client(&client.id).await.unwrap();
    let (status, body2, _) = h.refresh(client.id.as_str(), rt(&body), &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body2}");
    assert_eq!(error_of(&body2), "invalid_client");
    // Registering the id again does not revive the grant.
    h.provider.store().put_client(&client).await.unwrap();
    assert_invalid_grant(&h.refresh(client.id.as_str(), rt(&body), &[]).await);
}

#[tokio::test]
async fn o21_73_public_client_reusing_a_refresh_token_is_refused() {
    let h = Harness::new();
    let (client, body) = h.public_tokens().await;
    let id = client.id.as_str();
    let second = ok(h.refresh(id, rt(&body), &[]).await);
    assert_ne!(
        rt(&second),
        rt(&body),
        "public clients' refresh tokens rotate"
    );
    assert_invalid_grant(&h.refresh(id, rt(&body), &[]).await);
}

#[tokio::test]
async fn o21_74_reuse_of_a_rotated_refresh_token_revokes_the_whole_family() {
    let h = Harness::new();
    let (client, first) = h.public_tokens().await;
    let id = client.id.as_str();
    let second = ok(h.refresh(id, rt(&first), &[]).await);
    assert_ne!(rt(&second), rt(&first));
    assert!(h.bearer(at(&second)).await.is_ok());

    assert_invalid_grant(&h.refresh(id, rt(&first), &[]).await);

    assert_invalid_grant(&h.refresh(id, rt(&second), &[]).await);
    assert!(h.bearer(at(&second)).await.is_err(), "AT2 is revoked");
    assert!(h.bearer(at(&first)).await.is_err(), "AT1 is revoked");
}

#[tokio::test]
async fn o21_74_confidential_client_rotation_and_reuse() {
    let h = Harness::new();
    let (client, secret, first) = h.confidential_tokens().await;
    let (id, secret) = (client.id.as_str(), secret.expose());
    let second = ok(h.refresh_basic(id, secret, rt(&first), &[]).await);
    assert_ne!(rt(&second), rt(&first));
    // A failed authentication with the retired token neither succeeds nor revokes.
    let (status, _, _) = h.refresh_basic(id, "wrong", rt(&first), &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(h.bearer(at(&second)).await.is_ok());
    // The authenticated reuse does.
    assert_invalid_grant(&h.refresh_basic(id, secret, rt(&first), &[]).await);
    assert_invalid_grant(&h.refresh_basic(id, secret, rt(&second), &[]).await);
    assert!(h.bearer(at(&second)).await.is_err());
}

#[tokio::test]
async fn concurrent_rotations_of_one_refresh_token_yield_exactly_one_token() {
    let h = Harness::new();
    let (client, body) = h.public_tokens().await;
    let id = client.id.as_str();
    let (first, second) =
        tokio::join!(h.refresh(id, rt(&body), &[]), h.refresh(id, rt(&body), &[]));
    let oks = [first.0, second.0]
        .iter()
        .filter(|s| **s == StatusCode::OK)
        .count();
    assert_eq!(oks, 1, "{} / {}", first.1, second.1);
    let loser = if first.0 == StatusCode::OK {
        &second
    } else {
        &first
    };
    assert_invalid_grant(loser);
}

#[tokio::test]
async fn concurrent_rotations_interleaved_at_the_swap_yield_exactly_one_token_and_revoke() {
    // Both requests pass every check before either swaps: the store's compare-and-swap
    // alone decides, and the loser is a reuse (the grant is revoked).
    let h = Harness::new();
    let (client, body) = h.public_tokens().await;
    let pairs = [
        ("grant_type", "refresh_token"),
        ("refresh_token", rt(&body)),
        ("client_id", client.id.as_str()),
    ];
    let (machine, store, now) = (h.provider.machine(), h.provider.store(), h.now());
    let r1 = token_request(&pairs, None);
    let r2 = token_request(&pairs, None);
    let at_swap = |s: &TokenStep<'_>| matches!(s, TokenStep::NeedsRotation(_));
    let s1 = drive_token_until(store, machine.token_request(&r1, now), at_swap).await;
    let s2 = drive_token_until(store, machine.token_request(&r2, now), at_swap).await;
    let second = finish_token(store, s2).await;
    let first = finish_token(store, s1).await;
    assert_eq!(second.0, StatusCode::OK, "{}", second.1);
    assert_invalid_grant(&first);
    assert!(
        h.bearer(at(&second.1)).await.is_err(),
        "reuse revoked the grant"
    );
    assert_invalid_grant(&h.refresh(client.id.as_str(), rt(&second.1), &[]).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_rotations_on_threads_yield_exactly_one_token() {
    let h = Arc::new(Harness::new());
    for _ in 0..25 {
        let (client, body) = h.public_tokens().await;
        let id = client.id.as_str().to_owned();
        let token = rt(&body).to_owned();
        let spawn = || {
            let (h, id, token) = (h.clone(), id.clone(), token.clone());
            tokio::spawn(async move { h.refresh(&id, &token, &[]).await })
        };
        let (first, second) = tokio::join!(spawn(), spawn());
        let (first, second) = (first.unwrap(), second.unwrap());
        let oks = [first.0, second.0]
            .iter()
            .filter(|s| **s == StatusCode::OK)
            .count();
        assert_eq!(oks, 1, "{} / {}", first.1, second.1);
        let loser = if first.0 == StatusCode::OK {
            &second
        } else {
            &first
        };
        assert_invalid_grant(loser);
    }
}

// ---------------------------------------------------------------------------------------
// O21-76: expiry with inactivity, shorter for public clients; never after the grant
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn o21_76_refresh_token_unused_past_its_lifetime_is_invalid_grant() {
    let h = Harness::new();
    let lifetimes = *h.provider.config().lifetimes();
    let (public, public_body) = h.public_tokens().await;
    let (confidential, secret, confidential_body) = h.confidential_tokens().await;

    h.advance(lifetimes.public_refresh_token);
    assert_invalid_grant(&h.refresh(public.id.as_str(), rt(&public_body), &[]).await);
    // The confidential client's token lives longer ...
    let renewed = ok(h
        .refresh_basic(
            confidential.id.as_str(),
            secret.expose(),
            rt(&confidential_body),
            &[],
        )
        .await);
    // ... and is itself bounded by the confidential lifetime.
    h.advance(lifetimes.refresh_token);
    assert_invalid_grant(
        &h.refresh_basic(confidential.id.as_str(), secret.expose(), rt(&renewed), &[])
            .await,
    );
}

#[tokio::test]
async fn o21_76_public_refresh_lifetime_is_shorter_than_the_confidential_one() {
    let h = Harness::new();
    let lifetimes = *h.provider.config().lifetimes();
    assert!(lifetimes.public_refresh_token < lifetimes.refresh_token);
    let (public, public_body) = h.public_tokens().await;
    let (confidential, secret, confidential_body) = h.confidential_tokens().await;
    h.advance(lifetimes.public_refresh_token - 1);
    ok(h.refresh(public.id.as_str(), rt(&public_body), &[]).await);
    h.advance(1);
    ok(h.refresh_basic(
        confidential.id.as_str(),
        secret.expose(),
        rt(&confidential_body),
        &[],
    )
    .await);
}

#[tokio::test]
async fn o21_76_each_rotation_renews_the_idle_lifetime() {
    let h = Harness::new();
    let (client, mut body) = h.public_tokens().await;
    let id = client.id.as_str();
    // Used every six days, a public client's chain outlives the seven-day idle window.
    for _ in 0..4 {
        h.advance(6 * DAY);
        body = ok(h.refresh(id, rt(&body), &[]).await);
    }
    assert_eq!(h.now().0 - START, 24 * DAY);
}

#[tokio::test]
async fn refresh_never_outlives_the_grant() {
    let h = Harness::with(|b| {
        b.lifetimes(Lifetimes {
            access_token: 600,
            refresh_token: 1000,
            public_refresh_token: 1000,
            grant: 1000,
            ..Lifetimes::default()
        })
    });
    let (client, mut body) = h.public_tokens().await;
    let id = client.id.as_str();
    assert_eq!(body["expires_in"], 600);
    h.advance(700);
    body = ok(h.refresh(id, rt(&body), &[]).await);
    assert_eq!(
        body["expires_in"], 300,
        "the access token ends with its grant"
    );
    h.advance(299);
    body = ok(h.refresh(id, rt(&body), &[]).await);
    assert_eq!(body["expires_in"], 1);
    assert!(h.bearer(at(&body)).await.is_ok());
    h.advance(1);
    // The renewed idle lifetime would reach past the grant: it does not.
    assert_invalid_grant(&h.refresh(id, rt(&body), &[]).await);
    assert!(h.bearer(at(&body)).await.is_err());
}

#[tokio::test]
async fn refresh_chain_with_default_lifetimes_ends_with_the_grant() {
    let h = Harness::new();
    let lifetimes = *h.provider.config().lifetimes();
    let (client, secret, mut body) = h.confidential_tokens().await;
    let (id, secret) = (client.id.as_str(), secret.expose());
    let step = lifetimes.refresh_token - DAY;
    let mut elapsed = 0;
    while elapsed + step < lifetimes.grant {
        h.advance(step);
        elapsed += step;
        body = ok(h.refresh_basic(id, secret, rt(&body), &[]).await);
    }
    h.advance(lifetimes.grant - elapsed);
    assert_invalid_grant(&h.refresh_basic(id, secret, rt(&body), &[]).await);
}

// ---------------------------------------------------------------------------------------
// RI-7: resources at refresh
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn ri_7_refresh_narrows_the_audience_within_the_grant() {
    let h = Harness::with(|b| b.resource(OTHER));
    // Both resources granted at authorization.
    let (client, body) = h.public_tokens_for(&[RESOURCE, OTHER]).await;
    let id = client.id.as_str();

    let narrowed = ok(h.refresh(id, rt(&body), &[("resource", OTHER)]).await);
    let access = h.bearer_for(at(&narrowed), OTHER).await.unwrap();
    assert_eq!(
        access
            .audience
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>(),
        [OTHER]
    );
    assert!(h.bearer_for(at(&narrowed), RESOURCE).await.is_err());

    assert_error_code(
        &h.refresh(
            id,
            rt(&narrowed),
            &[("resource", "https://unknown.example/api")],
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_target",
    );

    // The successor keeps both resources.
    let full = ok(h.refresh(id, rt(&narrowed), &[]).await);
    assert!(h.bearer_for(at(&full), RESOURCE).await.is_ok());
    assert!(h.bearer_for(at(&full), OTHER).await.is_ok());
}

// ---------------------------------------------------------------------------------------
// The request itself
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn missing_refresh_token_is_invalid_request_and_malformed_ones_invalid_grant() {
    let h = Harness::new();
    let (client, body) = h.public_tokens().await;
    let id = client.id.as_str();
    assert_error_code(
        &h.token(&[("grant_type", "refresh_token"), ("client_id", id)], None)
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
    let unknown = format!("oa2rt_{}", "A".repeat(43));
    for token in [
        unknown.as_str(),
        "garbage",
        at(&body),
        &rt(&body)[..rt(&body).len() - 1],
    ] {
        assert_invalid_grant(&h.refresh(id, token, &[]).await);
    }
    // None of that touched the real token.
    ok(h.refresh(id, rt(&body), &[]).await);
}

#[tokio::test]
async fn client_no_longer_registered_for_refresh_is_unauthorized_client() {
    let h = Harness::new();
    let (mut client, body) = h.public_tokens().await;
    client.grant_types = vec![GrantType::AuthorizationCode];
    h.provider.store().put_client(&client).await.unwrap();
    assert_error_code(
        &h.refresh(client.id.as_str(), rt(&body), &[]).await,
        StatusCode::BAD_REQUEST,
        "unauthorized_client",
    );
}
