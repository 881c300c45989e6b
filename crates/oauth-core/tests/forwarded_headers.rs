//! RFC 9700 §4.13 (BCP-12): security-relevant values are computed from configuration,
//! never from `Host` or `X-Forwarded-*` headers a client can spoof.

mod common;

use common::*;
use http::Request;
use oauth_core::model::UserId;
use oauth_core::{Approval, Decision};

#[tokio::test]
async fn bcp_12_spoofed_forwarded_headers_do_not_change_the_issuer_in_redirects() {
    let h = Harness::new();
    let client = h.public_client().await;
    let pairs = Harness::code_request_pairs(client.id.as_str());
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter().map(|(a, b)| (a.as_str(), b.as_str())))
        .finish();
    let request = Request::get(format!("https://as.example/authorize?{query}"))
        .header("host", "evil.example")
        .header("x-forwarded-host", "evil.example")
        .header("x-forwarded-proto", "http")
        .header("forwarded", "host=evil.example;proto=http")
        .body(Vec::new())
        .unwrap();
    let pending = h.provider.begin_authorization(&request).await.unwrap();
    let response = h
        .provider
        .complete_authorization(
            pending,
            Decision::Approve(Approval::new(UserId::new("alice"))),
        )
        .await
        .unwrap();
    let params = location_params(&response);
    assert_eq!(params["iss"], ISSUER);
    assert!(response.headers()["location"]
        .to_str()
        .unwrap()
        .starts_with(REDIRECT));
}

#[tokio::test]
async fn bcp_12_bearer_challenge_metadata_url_comes_from_configuration() {
    let h = Harness::new();
    let request = Request::get("https://api.example/mcp")
        .header("host", "evil.example")
        .header("x-forwarded-host", "evil.example")
        .body(Vec::new())
        .unwrap();
    let error = h.provider.authenticate(&request).await.unwrap_err();
    let challenge = error.challenge();
    assert!(
        challenge.contains(
            "resource_metadata=\"https://api.example/.well-known/oauth-protected-resource/mcp\""
        ),
        "{challenge}"
    );
    assert!(!challenge.contains("evil"));
}
