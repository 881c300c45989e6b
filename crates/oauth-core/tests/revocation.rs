//! RFC 7009 §2 (token revocation): a client revokes its own access or refresh token at
//! `/revoke`, authenticated as at the token endpoint; unknown tokens and other clients'
//! tokens answer 200 without effect (C-7); a refresh token takes its grant with it; a
//! store failure is 503, never 200.

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use http::{Request, StatusCode};
use oauth_core::model::{AuthMethod, GrantType, UserId};
use oauth_core::{
    Approval, Config, Decision, EventSink, Issuer, KeyId, Keyring, Machine, NewClient, Provider,
    SecurityEvent,
};
use oauth_store_testkit::instrumented::Op;
use serde_json::Value;

/// A well-formed access token that was never issued.
const UNKNOWN_ACCESS: &str = "oa2at_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
/// A well-formed refresh token that was never issued.
const UNKNOWN_REFRESH: &str = "oa2rt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

fn access(body: &Value) -> &str {
    str_of(body, "access_token")
}

fn refresh(body: &Value) -> &str {
    str_of(body, "refresh_token")
}

/// The status, error and `WWW-Authenticate` of a refused revocation; the token survived
/// is checked by the caller.
fn refusal(response: &http::Response<bytes::Bytes>) -> (StatusCode, String, Option<String>) {
    let (status, body, headers) = response_parts(response);
    assert_eq!(headers["cache-control"], "no-store");
    (
        status,
        error_of(&body).to_owned(),
        headers
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned()),
    )
}

// ---- REV-1: the request ----

#[tokio::test]
async fn rev_1_token_is_required_and_appears_once() {
    let h = Harness::new();
    let (client, body) = h.public_tokens().await;
    let id = client.id.as_str();
    let token = access(&body);
    let missing = h.revoke_response(&[("client_id", id)], None).await;
    assert_eq!(
        refusal(&missing),
        (StatusCode::BAD_REQUEST, "invalid_request".into(), None)
    );
    let empty = h
        .revoke_response(&[("client_id", id), ("token", "")], None)
        .await;
    assert_eq!(refusal(&empty).1, "invalid_request");
    let twice = h
        .revoke_response(
            &[("client_id", id), ("token", token), ("token", token)],
            None,
        )
        .await;
    assert_eq!(refusal(&twice).1, "invalid_request");
    let hint_twice = h
        .revoke_response(
            &[
                ("client_id", id),
                ("token", token),
                ("token_type_hint", "access_token"),
                ("token_type_hint", "access_token"),
            ],
            None,
        )
        .await;
    assert_eq!(refusal(&hint_twice).1, "invalid_request");
    // None of these revoked anything.
    assert!(h.bearer(token).await.is_ok());
}

#[tokio::test]
async fn rev_1_only_a_form_post_is_accepted() {
    let h = Harness::new();
    let (client, body) = h.public_tokens().await;
    let id = client.id.as_str();
    let token = access(&body);
    let query = form(&[("token", token), ("client_id", id)]);

    let get = Request::get(format!("{ISSUER}/revoke?{query}"))
        .body(Vec::new())
        .unwrap();
    let response = h.provider.handle(&get).await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["allow"], "POST");

    let json = Request::post(format!("{ISSUER}/revoke"))
        .header("content-type", "application/json")
        .body(format!(r#"{{"token":"{token}","client_id":"{id}"}}"#).into_bytes())
        .unwrap();
    assert_eq!(
        refusal(&h.provider.handle(&json).await),
        (StatusCode::BAD_REQUEST, "invalid_request".into(), None)
    );

    let oversized = client_form_request(
        "/revoke",
        &[
            ("token", token),
            ("client_id", id),
            ("pad", &"x".repeat(20_000)),
        ],
        None,
    );
    assert_eq!(
        h.provider.handle(&oversized).await.status(),
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert!(h.bearer(token).await.is_ok());
}

#[tokio::test]
async fn rev_1_client_credentials_in_the_query_string_are_refused() {
    let h = Harness::new();
    let (client, secret, body) = h.confidential_tokens().await;
    let mut request = client_form_request("/revoke", &[("token", access(&body))], None);
    let query = form(&[
        ("client_id", client.id.as_str()),
        ("client_secret", secret.expose()),
    ]);
    *request.uri_mut() = format!("{ISSUER}/revoke?{query}").parse().unwrap();
    assert_eq!(
        refusal(&h.provider.handle(&request).await),
        (StatusCode::BAD_REQUEST, "invalid_request".into(), None)
    );
    assert!(h.bearer(access(&body)).await.is_ok());
}

// ---- REV-2: client authentication as at the token endpoint ----

#[tokio::test]
async fn rev_2_wrong_basic_credentials_are_401_invalid_client_with_a_basic_challenge() {
    let h = Harness::new();
    let (client, _secret, body) = h.confidential_tokens().await;
    let response = h
        .revoke_response(
            &[("token", refresh(&body))],
            Some((client.id.as_str(), "wrong-secret")),
        )
        .await;
    assert_eq!(
        refusal(&response),
        (
            StatusCode::UNAUTHORIZED,
            "invalid_client".into(),
            Some("Basic realm=\"https://as.example\"".into())
        )
    );
    // Nothing was revoked.
    let (status, _, _) = h
        .refresh_basic(client.id.as_str(), _secret.expose(), refresh(&body), &[])
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn rev_2_body_credential_failures_are_400_invalid_client_without_a_challenge() {
    let h = Harness::new();
    let (client, secret, body) = h.confidential_tokens().await;
    let id = client.id.as_str();
    let token = access(&body);
    let cases: [&[(&str, &str)]; 4] = [
        // A confidential client sending only its id.
        &[("token", token), ("client_id", id)],
        // Its secret in the body although it registered client_secret_basic.
        &[
            ("token", token),
            ("client_id", id),
            ("client_secret", secret.expose()),
        ],
        // An unknown client.
        &[("token", token), ("client_id", "no-such-client")],
        // No client at all.
        &[("token", token)],
    ];
    for pairs in cases {
        let response = h.revoke_response(pairs, None).await;
        assert_eq!(
            refusal(&response),
            (StatusCode::BAD_REQUEST, "invalid_client".into(), None),
            "{pairs:?}"
        );
    }
    assert!(h.bearer(token).await.is_ok());
}

#[tokio::test]
async fn rev_2_basic_plus_body_secret_is_invalid_request() {
    let h = Harness::new();
    let (client, secret, body) = h.confidential_tokens().await;
    let response = h
        .revoke_response(
            &[("token", access(&body)), ("client_secret", secret.expose())],
            Some((client.id.as_str(), secret.expose())),
        )
        .await;
    assert_eq!(refusal(&response).1, "invalid_request");
    assert!(h.bearer(access(&body)).await.is_ok());
}

#[tokio::test]
async fn rev_2_client_secret_post_clients_authenticate_in_the_body() {
    let (h, keys) = Harness::with_keys(|b| b);
    h.import_client(
        &keys,
        "post-client",
        Some("post-secret"),
        AuthMethod::ClientSecretPost,
        vec![GrantType::ClientCredentials],
    )
    .await;
    let (status, body, _) = h
        .token(
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "post-client"),
                ("client_secret", "post-secret"),
            ],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let response = h
        .revoke_response(
            &[
                ("token", access(&body)),
                ("client_id", "post-client"),
                ("client_secret", "post-secret"),
            ],
            None,
        )
        .await;
    assert_revocation_shape(&response);
    assert_eq!(response.status(), StatusCode::OK);
    assert!(h.bearer(access(&body)).await.is_err());
}

// ---- REV-3 / C-7: only the client's own tokens ----

#[tokio::test]
async fn rev_3_another_clients_token_is_not_revoked_and_the_answer_is_200() {
    let h = Harness::new();
    let (owner, body) = h.public_tokens().await;
    let other = h.public_client().await;
    let (confidential, secret) = h
        .confidential_client(vec![GrantType::ClientCredentials])
        .await;
    for token in [access(&body), refresh(&body)] {
        assert_eq!(
            h.revoke_public(other.id.as_str(), token).await,
            StatusCode::OK
        );
        assert_eq!(
            h.revoke_basic(confidential.id.as_str(), secret.expose(), token)
                .await,
            StatusCode::OK
        );
    }
    // Both tokens are still live for their owner.
    assert!(h.bearer(access(&body)).await.is_ok());
    let (status, refreshed, _) = h.refresh(owner.id.as_str(), refresh(&body), &[]).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
}

#[tokio::test]
async fn rev_3_the_answer_for_another_clients_token_equals_the_answer_for_an_unknown_one() {
    let h = Harness::new();
    let (_owner, body) = h.public_tokens().await;
    let other = h.public_client().await;
    let foreign = h
        .revoke_response(
            &[("token", access(&body)), ("client_id", other.id.as_str())],
            None,
        )
        .await;
    let unknown = h
        .revoke_response(
            &[("token", UNKNOWN_ACCESS), ("client_id", other.id.as_str())],
            None,
        )
        .await;
    assert_eq!(foreign.status(), unknown.status());
    assert_eq!(foreign.headers(), unknown.headers());
    assert_eq!(foreign.body(), unknown.body());
}

// ---- REV-4: 200 for what is not (or no longer) a token ----

#[tokio::test]
async fn rev_4_unknown_malformed_and_other_kinds_of_values_answer_200() {
    let h = Harness::new();
    let client = h.public_client().await;
    let code = h.obtain_code(client.id.as_str()).await;
    for value in [
        "a random string",
        UNKNOWN_ACCESS,
        UNKNOWN_REFRESH,
        "oa2at_short",
        // A code is not a token this endpoint revokes; it is unknown here.
        code.as_str(),
    ] {
        assert_eq!(
            h.revoke_public(client.id.as_str(), value).await,
            StatusCode::OK,
            "{value}"
        );
    }
    // The code was left alone.
    let (status, body, _) = h.redeem_public(client.id.as_str(), &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn rev_4_expired_and_already_revoked_tokens_answer_200() {
    let h = Harness::new();
    let (client, body) = h.public_tokens().await;
    let id = client.id.as_str();
    assert_eq!(h.revoke_public(id, refresh(&body)).await, StatusCode::OK);
    // Again: already revoked.
    assert_eq!(h.revoke_public(id, refresh(&body)).await, StatusCode::OK);
    assert_eq!(h.revoke_public(id, access(&body)).await, StatusCode::OK);

    let (client, body) = h.public_tokens().await;
    h.advance(h.provider.config().lifetimes().access_token);
    assert_eq!(
        h.revoke_public(client.id.as_str(), access(&body)).await,
        StatusCode::OK
    );
}

// ---- REV-5 / REV-10: both kinds revocable, at once ----

#[tokio::test]
async fn rev_5_a_revoked_refresh_token_cannot_refresh() {
    let h = Harness::new();
    let (client, body) = h.public_tokens().await;
    assert_eq!(
        h.revoke_public(client.id.as_str(), refresh(&body)).await,
        StatusCode::OK
    );
    let (status, error, _) = h.refresh(client.id.as_str(), refresh(&body), &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&error), "invalid_grant");
}

#[tokio::test]
async fn rev_5_a_revoked_access_token_no_longer_authenticates_and_introspects_inactive() {
    let h = Harness::new();
    let (client, secret, body) = h.confidential_tokens().await;
    let id = client.id.as_str();
    assert!(h.is_active_for(id, secret.expose(), access(&body)).await);
    assert_eq!(
        h.revoke_basic(id, secret.expose(), access(&body)).await,
        StatusCode::OK
    );
    let error = h.bearer(access(&body)).await.unwrap_err();
    assert_eq!(error.status(), StatusCode::UNAUTHORIZED);
    assert!(error.challenge().contains("error=\"invalid_token\""));
    assert!(!h.is_active_for(id, secret.expose(), access(&body)).await);
}

#[tokio::test]
async fn rev_10_revocation_takes_effect_for_the_very_next_request() {
    let h = Harness::new();
    let (client, secret, body) = h.confidential_tokens().await;
    let id = client.id.as_str();
    assert_eq!(
        h.revoke_basic(id, secret.expose(), refresh(&body)).await,
        StatusCode::OK
    );
    // No clock movement: the next use fails at once.
    let (status, error, _) = h
        .refresh_basic(id, secret.expose(), refresh(&body), &[])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&error), "invalid_grant");
    assert!(!h.is_active_for(id, secret.expose(), refresh(&body)).await);
    assert!(!h.is_active_for(id, secret.expose(), access(&body)).await);
    assert!(h.bearer(access(&body)).await.is_err());
}

// ---- REV-6: a refresh token takes its grant with it ----

#[tokio::test]
async fn rev_6_revoking_a_refresh_token_kills_the_access_tokens_of_its_grant() {
    let h = Harness::new();
    let (client, first) = h.public_tokens().await;
    let id = client.id.as_str();
    // A second access token from the same grant, by rotation.
    let (status, second, _) = h.refresh(id, refresh(&first), &[]).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    // Another grant of the same client is unaffected.
    let code = h.obtain_code(id).await;
    let (status, other_grant, _) = h.redeem_public(id, &code).await;
    assert_eq!(status, StatusCode::OK);

    assert_eq!(h.revoke_public(id, refresh(&second)).await, StatusCode::OK);
    assert!(h.bearer(access(&first)).await.is_err());
    assert!(h.bearer(access(&second)).await.is_err());
    assert!(h.bearer(access(&other_grant)).await.is_ok());
    let (status, _, _) = h.refresh(id, refresh(&other_grant), &[]).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn rev_6_revoking_an_access_token_revokes_that_token_only() {
    let h = Harness::new();
    let (client, body) = h.public_tokens().await;
    let id = client.id.as_str();
    assert_eq!(h.revoke_public(id, access(&body)).await, StatusCode::OK);
    assert!(h.bearer(access(&body)).await.is_err());
    // The refresh token (and so the grant) lives on: a new access token works.
    let (status, refreshed, _) = h.refresh(id, refresh(&body), &[]).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    assert!(h.bearer(access(&refreshed)).await.is_ok());
}

#[tokio::test]
async fn a_retired_refresh_token_revoked_by_its_client_revokes_the_grant() {
    let h = Harness::new();
    let (client, first) = h.public_tokens().await;
    let id = client.id.as_str();
    let (status, second, _) = h.refresh(id, refresh(&first), &[]).await;
    assert_eq!(status, StatusCode::OK);
    // The client revokes the token it held before the rotation (its response was lost,
    // say): the successor must not outlive the authorization it is ending.
    assert_eq!(h.revoke_public(id, refresh(&first)).await, StatusCode::OK);
    let (status, error, _) = h.refresh(id, refresh(&second), &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&error), "invalid_grant");
    assert!(h.bearer(access(&second)).await.is_err());
}

#[tokio::test]
async fn a_retired_refresh_token_presented_by_another_client_revokes_nothing() {
    let h = Harness::new();
    let (client, first) = h.public_tokens().await;
    let id = client.id.as_str();
    let (_, second, _) = h.refresh(id, refresh(&first), &[]).await;
    let other = h.public_client().await;
    assert_eq!(
        h.revoke_public(other.id.as_str(), refresh(&first)).await,
        StatusCode::OK
    );
    let (status, _, _) = h.refresh(id, refresh(&second), &[]).await;
    assert_eq!(status, StatusCode::OK);
}

// ---- REV-7: the hint is only a hint ----

#[tokio::test]
async fn rev_7_a_wrong_or_unknown_token_type_hint_still_revokes() {
    let h = Harness::new();
    let cases = [
        ("refresh", "access_token"),
        ("access", "refresh_token"),
        ("refresh", "foo"),
        ("access", "foo"),
        ("refresh", "refresh_token"),
        ("access", "access_token"),
    ];
    for (kind, hint) in cases {
        let (client, body) = h.public_tokens().await;
        let id = client.id.as_str();
        let token = if kind == "refresh" {
            refresh(&body)
        } else {
            access(&body)
        };
        let response = h
            .revoke_response(
                &[
                    ("token", token),
                    ("token_type_hint", hint),
                    ("client_id", id),
                ],
                None,
            )
            .await;
        assert_revocation_shape(&response);
        assert_eq!(response.status(), StatusCode::OK, "{kind} {hint}");
        assert!(h.bearer(access(&body)).await.is_err(), "{kind} {hint}");
        if kind == "refresh" {
            let (status, _, _) = h.refresh(id, token, &[]).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{kind} {hint}");
        }
    }
}

// ---- REV-8: both kinds supported ----

#[tokio::test]
async fn rev_8_both_token_types_are_revocable_so_unsupported_token_type_never_occurs() {
    let h = Harness::new();
    // A client-credentials access token and a user's refresh token.
    let (cc, secret) = h
        .confidential_client(vec![GrantType::ClientCredentials])
        .await;
    let (_, cc_body, _) = h
        .token(
            &[("grant_type", "client_credentials")],
            Some((cc.id.as_str(), secret.expose())),
        )
        .await;
    let (client, body) = h.public_tokens().await;
    let revocations = [
        h.revoke_response(
            &[("token", access(&cc_body))],
            Some((cc.id.as_str(), secret.expose())),
        )
        .await,
        h.revoke_response(
            &[("token", refresh(&body)), ("client_id", client.id.as_str())],
            None,
        )
        .await,
    ];
    for response in &revocations {
        assert_eq!(response.status(), StatusCode::OK);
        assert!(!String::from_utf8_lossy(response.body()).contains("unsupported_token_type"));
    }
    assert!(h.bearer(access(&cc_body)).await.is_err());
    assert!(h.bearer(access(&body)).await.is_err());
}

// ---- REV-9: a store failure is never a 200 ----

fn faulty_provider() -> Provider<Instrumented> {
    instrumented_provider(|b| b)
}

/// A public client and its token response on `p`.
async fn faulty_tokens(p: &Provider<Instrumented>) -> (String, Value) {
    let registered = p
        .register_client(NewClient::public(vec![REDIRECT.to_owned()]))
        .await
        .unwrap();
    let id = registered.client.id.to_string();
    let pairs = Harness::code_request_pairs(&id);
    let pending = p
        .begin_authorization(&Harness::authorize_request(&borrow_pairs(&pairs)))
        .await
        .unwrap();
    let redirect = p
        .complete_authorization(
            pending,
            Decision::Approve(Approval::new(UserId::new("alice"))),
        )
        .await
        .unwrap();
    let code = location_params(&redirect)["code"].clone();
    let response = p
        .token(&token_request(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("client_id", &id),
                ("code_verifier", VERIFIER),
            ],
            None,
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    (id, serde_json::from_slice(response.body()).unwrap())
}

async fn faulty_bearer_ok(p: &Provider<Instrumented>, token: &str) -> bool {
    let request = Request::get(RESOURCE)
        .header("authorization", format!("Bearer {token}"))
        .body(Vec::new())
        .unwrap();
    p.authenticate(&request).await.is_ok()
}

#[tokio::test]
async fn rev_9_a_store_failure_is_503_temporarily_unavailable_never_200() {
    let cases = [
        (Op::Client, "access"),
        (Op::AccessToken, "access"),
        (Op::RevokeAccessToken, "access"),
        (Op::FindRefresh, "refresh"),
        (Op::RevokeGrant, "refresh"),
    ];
    for (op, kind) in cases {
        let p = faulty_provider();
        let (id, body) = faulty_tokens(&p).await;
        let token = if kind == "refresh" {
            refresh(&body)
        } else {
            access(&body)
        };
        let request = client_form_request("/revoke", &[("token", token), ("client_id", &id)], None);
        p.store().fail(op);
        let response = p.handle(&request).await;
        let (status, error, headers) = response_parts(&response);
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{op:?}");
        assert_eq!(error_of(&error), "temporarily_unavailable", "{op:?}");
        assert_eq!(headers["cache-control"], "no-store");
        // The token was not revoked; once the store is back, revocation works.
        p.store().heal();
        assert!(faulty_bearer_ok(&p, access(&body)).await, "{op:?}");
        assert_eq!(p.handle(&request).await.status(), StatusCode::OK);
        assert!(!faulty_bearer_ok(&p, access(&body)).await, "{op:?}");
    }
}

// ---- The response, the route, the audit trail ----

#[tokio::test]
async fn a_revocation_answers_200_with_an_empty_body_and_no_store() {
    let h = Harness::new();
    let (client, body) = h.public_tokens().await;
    let response = h
        .revoke_response(
            &[("token", access(&body)), ("client_id", client.id.as_str())],
            None,
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.body().is_empty());
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["pragma"], "no-cache");
}

#[tokio::test]
async fn public_clients_may_revoke_their_own_tokens_with_their_client_id() {
    let h = Harness::new();
    let (client, body) = h.public_tokens().await;
    assert_eq!(
        h.revoke_public(client.id.as_str(), access(&body)).await,
        StatusCode::OK
    );
    assert!(h.bearer(access(&body)).await.is_err());
}

#[tokio::test]
async fn the_configured_revocation_path_is_routed_and_the_default_one_is_then_404() {
    let h = Harness::with(|b| {
        b.endpoints(oauth_core::Endpoints {
            revocation: "/oauth/revoke".to_owned(),
            ..oauth_core::Endpoints::default()
        })
    });
    let (client, body) = h.public_tokens().await;
    let pairs = [("token", access(&body)), ("client_id", client.id.as_str())];
    assert_eq!(
        h.revoke_response(&pairs, None).await.status(),
        StatusCode::NOT_FOUND
    );
    assert!(h.bearer(access(&body)).await.is_ok());
    let response = h
        .provider
        .handle(&client_form_request("/oauth/revoke", &pairs, None))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(h.bearer(access(&body)).await.is_err());
}

#[tokio::test]
async fn a_token_issued_before_a_key_rotation_is_found_under_the_previous_key() {
    let mut old_secret = [0u8; 32];
    let mut new_secret = [0u8; 32];
    oauth_core::SecureRandom::fill(&oauth_core::OsRandom, &mut old_secret).unwrap();
    oauth_core::SecureRandom::fill(&oauth_core::OsRandom, &mut new_secret).unwrap();
    let h = Harness::with(|b| {
        b.keys(Keyring::from_secret(KeyId::new("2026-01").unwrap(), &old_secret).unwrap())
    });
    let (client, body) = h.public_tokens().await;

    // The same store, driven by a machine whose ring has a new primary key.
    let rotated = Keyring::from_secret(KeyId::new("2026-02").unwrap(), &new_secret)
        .unwrap()
        .with_previous(KeyId::new("2026-01").unwrap(), &old_secret)
        .unwrap();
    let config = Config::builder(Issuer::new(ISSUER).unwrap())
        .keys(rotated)
        .resource(RESOURCE)
        .build()
        .unwrap();
    let machine = Machine::new(config);
    let request = client_form_request(
        "/revoke",
        &[("token", refresh(&body)), ("client_id", client.id.as_str())],
        None,
    );
    let mut step = machine.revocation_request(&request, h.now());
    let mut lookups = 0;
    let response = loop {
        if matches!(
            step,
            oauth_core::revocation::RevocationStep::NeedsRefresh(_)
        ) {
            lookups += 1;
        }
        match step.answer_from(h.provider.store()).await {
            std::ops::ControlFlow::Continue(next) => step = next,
            std::ops::ControlFlow::Break(response) => break response,
        }
    };
    assert_eq!(response.status(), StatusCode::OK);
    // New key first (a miss), then the previous one (the hit).
    assert_eq!(lookups, 2);
    assert!(h.bearer(access(&body)).await.is_err());
}

#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl EventSink for Recorder {
    fn record(&self, event: &SecurityEvent<'_>) {
        let line = match event {
            SecurityEvent::TokenRevoked {
                client_id, kind, ..
            } => format!("revoked {client_id} {kind:?}"),
            SecurityEvent::ClientAuthenticationFailed { client_id, reason } => {
                format!("auth_failed {client_id} {reason:?}")
            }
            _ => "other".to_owned(),
        };
        self.0.lock().unwrap().push(format!("{line} | {event:?}"));
    }
}

#[tokio::test]
async fn revocations_and_failed_authentications_reach_the_event_sink_without_the_token() {
    let recorder = Arc::new(Recorder::default());
    let sink = recorder.clone();
    let h = Harness::with(move |b| b.events(sink));
    let (client, body) = h.public_tokens().await;
    let id = client.id.as_str();
    let (confidential, _secret, cbody) = h.confidential_tokens().await;
    assert_eq!(h.revoke_public(id, access(&body)).await, StatusCode::OK);
    assert_eq!(h.revoke_public(id, refresh(&body)).await, StatusCode::OK);
    // Nothing revoked, nothing reported.
    assert_eq!(h.revoke_public(id, UNKNOWN_ACCESS).await, StatusCode::OK);
    assert_eq!(
        h.revoke_public(id, access(&cbody)).await,
        StatusCode::OK,
        "another client's token"
    );
    let response = h
        .revoke_response(
            &[("token", access(&cbody))],
            Some((confidential.id.as_str(), "wrong")),
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);

    let lines = recorder.0.lock().unwrap().clone();
    let summary: Vec<&str> = lines
        .iter()
        .map(|l| l.split(" | ").next().unwrap())
        .collect();
    assert_eq!(
        summary,
        vec![
            format!("revoked {id} AccessToken"),
            format!("revoked {id} RefreshToken"),
            format!("auth_failed {} ClientSecretMismatch", confidential.id),
        ]
    );
    for line in &lines {
        for token in [access(&body), refresh(&body), access(&cbody)] {
            assert!(!line.contains(token), "{line}");
        }
    }
}
