//! OAuth 2.1 §4.1: the authorization-code grant with PKCE, end to end through the
//! provider on the memory store: authorization request, approval, code redemption.

mod common;

use common::*;
use http::StatusCode;

#[tokio::test]
async fn pkce_1_full_code_flow_with_rfc7636_vector_issues_tokens() {
    let h = Harness::new();
    let (_, body) = h.public_tokens().await;
    assert!(body["access_token"].as_str().unwrap().starts_with("oa2at_"));
    assert!(body["refresh_token"]
        .as_str()
        .unwrap()
        .starts_with("oa2rt_"));
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "read");
}

#[tokio::test]
async fn iss_1_success_redirect_carries_code_state_and_iss() {
    let h = Harness::new();
    let client = h.public_client().await;
    let pending = h.begin_with(client.id.as_str(), &[]).await.unwrap();
    let response = h.approve(pending, "alice").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let params = location_params(&response);
    assert_eq!(params["state"], "xyz");
    assert_eq!(params["iss"], ISSUER);
    assert!(params["code"].starts_with("oa2c_"));
    assert_eq!(response.headers()["cache-control"], "no-store");
}

#[tokio::test]
async fn bearer_token_from_the_flow_authenticates_at_the_resource() {
    let h = Harness::new();
    let (client, body) = h.public_tokens().await;
    let access = h
        .bearer(body["access_token"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(access.client_id, client.id);
    assert_eq!(access.user_id.unwrap().as_str(), "alice");
    assert!(access.scope.contains("read"));
}
