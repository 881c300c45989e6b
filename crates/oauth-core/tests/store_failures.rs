//! DESIGN §2 and OAuth 2.1 §4.1.2.1: a store failure is never a false success. At the
//! token endpoint and the resource server it is 503 `temporarily_unavailable`; at the
//! authorization endpoint it is an error page before the redirect URI is validated (and an
//! error redirect after: see `pending_authorization_ticket.rs`, O21-37).

mod common;

use common::*;
use http::StatusCode;
use oauth_core::model::UserId;
use oauth_core::{Approval, AuthorizationError, Decision, NewClient, Provider, Reason};
use oauth_store_testkit::instrumented::Op;
use serde_json::Value;

fn provider() -> Provider<Instrumented> {
    instrumented_provider(|b| b)
}

async fn public_client(p: &Provider<Instrumented>) -> String {
    let registered = p
        .register_client(NewClient::public(vec![REDIRECT.to_owned()]))
        .await
        .unwrap();
    registered.client.id.to_string()
}

async fn code_for(p: &Provider<Instrumented>, client_id: &str) -> String {
    let mut pairs = Harness::code_request_pairs(client_id);
    pairs.retain(|(n, _)| n != "scope");
    let borrowed: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let pending = p
        .begin_authorization(&Harness::authorize_request(&borrowed))
        .await
        .unwrap();
    let response = p
        .complete_authorization(
            pending,
            Decision::Approve(Approval::new(UserId::new("alice"))),
        )
        .await
        .unwrap();
    location_params(&response)["code"].clone()
}

fn redeem(client_id: &str, code: &str) -> http::Request<Vec<u8>> {
    token_request(
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("client_id", client_id),
            ("code_verifier", VERIFIER),
        ],
        None,
    )
}

fn assert_unavailable(response: &http::Response<bytes::Bytes>) {
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    assert!(body.get("access_token").is_none());
}

#[tokio::test]
async fn token_endpoint_answers_503_when_the_client_lookup_fails() {
    let p = provider();
    let client_id = public_client(&p).await;
    let code = code_for(&p, &client_id).await;
    p.store().fail(Op::Client);
    assert_unavailable(&p.token(&redeem(&client_id, &code)).await);
}

#[tokio::test]
async fn a_failed_code_consumption_issues_no_token_and_the_code_stays_redeemable() {
    let p = provider();
    let client_id = public_client(&p).await;
    let code = code_for(&p, &client_id).await;
    p.store().fail(Op::ConsumeCode);
    assert_unavailable(&p.token(&redeem(&client_id, &code)).await);
    p.store().heal();
    assert_eq!(
        p.token(&redeem(&client_id, &code)).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_failed_token_write_is_503_not_a_token_the_store_never_saw() {
    let p = provider();
    let registered = p
        .register_client(NewClient::confidential(
            vec![REDIRECT.to_owned()],
            vec![oauth_core::model::GrantType::ClientCredentials],
        ))
        .await
        .unwrap();
    let secret = registered.secret.unwrap();
    let request = token_request(
        &[("grant_type", "client_credentials")],
        Some((registered.client.id.as_str(), secret.expose())),
    );
    p.store().fail(Op::StoreTokens);
    assert_unavailable(&p.token(&request).await);
    p.store().heal();
    assert_eq!(p.token(&request).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_failed_revocation_after_code_replay_is_503_never_reported_as_done() {
    let p = provider();
    let client_id = public_client(&p).await;
    let code = code_for(&p, &client_id).await;
    assert_eq!(
        p.token(&redeem(&client_id, &code)).await.status(),
        StatusCode::OK
    );
    p.store().fail(Op::RevokeGrant);
    assert_unavailable(&p.token(&redeem(&client_id, &code)).await);
}

#[tokio::test]
async fn a_failed_rotation_is_503_and_the_refresh_token_still_works() {
    let p = provider();
    let client_id = public_client(&p).await;
    let code = code_for(&p, &client_id).await;
    let response = p.token(&redeem(&client_id, &code)).await;
    let body: Value = serde_json::from_slice(response.body()).unwrap();
    let refresh = token_request(
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", body["refresh_token"].as_str().unwrap()),
            ("client_id", &client_id),
        ],
        None,
    );
    p.store().fail(Op::RotateRefresh);
    assert_unavailable(&p.token(&refresh).await);
    p.store().heal();
    assert_eq!(p.token(&refresh).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn bearer_validation_answers_503_when_the_store_fails() {
    let p = provider();
    let client_id = public_client(&p).await;
    let code = code_for(&p, &client_id).await;
    let response = p.token(&redeem(&client_id, &code)).await;
    let body: Value = serde_json::from_slice(response.body()).unwrap();
    let api = http::Request::get(RESOURCE)
        .header(
            "authorization",
            format!("Bearer {}", body["access_token"].as_str().unwrap()),
        )
        .body(Vec::new())
        .unwrap();
    p.store().fail(Op::AccessToken);
    let error = p.authenticate(&api).await.unwrap_err();
    assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(error
        .challenge()
        .contains("error=\"temporarily_unavailable\""));
}

#[tokio::test]
async fn o21_32_a_failed_client_lookup_at_the_authorization_endpoint_is_never_redirected() {
    let p = provider();
    let client_id = public_client(&p).await;
    p.store().fail(Op::Client);
    let pairs = Harness::code_request_pairs(&client_id);
    let borrowed: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let error = p
        .begin_authorization(&Harness::authorize_request(&borrowed))
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        AuthorizationError::Fatal(Reason::StoreUnavailable)
    ));
    assert!(error
        .into_response(None)
        .headers()
        .get("location")
        .is_none());
}

#[tokio::test]
async fn a_failed_grace_claim_is_503_and_revokes_nothing() {
    let p = instrumented_provider(|b| b.refresh_token_grace(30));
    let client_id = public_client(&p).await;
    let code = code_for(&p, &client_id).await;
    let first: Value =
        serde_json::from_slice(p.token(&redeem(&client_id, &code)).await.body()).unwrap();
    let refresh = token_request(
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", first["refresh_token"].as_str().unwrap()),
            ("client_id", &client_id),
        ],
        None,
    );
    let second = p.token(&refresh).await;
    assert_eq!(second.status(), StatusCode::OK);
    p.store().fail(Op::ClaimRefreshGrace);
    assert_unavailable(&p.token(&refresh).await);
    p.store().heal();
    let retried = p.token(&refresh).await;
    assert_eq!(retried.status(), StatusCode::OK);
    assert_eq!(retried.body(), second.body());
}
