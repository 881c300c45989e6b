//! Regression tests for the findings of the security review of the core (DESIGN §6, §9;
//! OAuth 2.1 §7.13.2; RFC 9700 §4.11.2; RFC 6750 §2.2; RFC 9110 §15.5.2).

mod common;

use common::*;
use http::{Request, StatusCode};
use oauth_core::model::UserId;
use oauth_core::{
    ApiMisuse, Approval, AuthorizationError, Decision, NewClient, RegistrationError, Scope, Store,
};
use serde_json::json;

#[tokio::test]
async fn debug_output_never_shows_props() {
    let h = Harness::new();
    let client = h.public_client().await;
    let pending = h.begin_with(client.id.as_str(), &[]).await.unwrap();
    let approval = Approval {
        user_id: UserId::new("alice"),
        scope: None,
        props: Some(json!({"upstream_token": "UPSTREAM-SECRET-123"})),
    };
    assert!(!format!("{approval:?}").contains("UPSTREAM-SECRET-123"));
    let decision = Decision::Approve(approval);
    assert!(!format!("{decision:?}").contains("UPSTREAM-SECRET-123"));
    let response = h
        .provider
        .complete_authorization(pending, decision)
        .await
        .unwrap();
    let code = location_params(&response)["code"].clone();
    let (_, body, _) = h.redeem_public(client.id.as_str(), &code).await;
    let access = h
        .bearer(body["access_token"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(
        access.props.as_ref().unwrap()["upstream_token"],
        "UPSTREAM-SECRET-123"
    );
    let shown = format!("{access:?}");
    assert!(!shown.contains("UPSTREAM-SECRET-123"), "{shown}");
    assert!(shown.contains("<redacted>"));
}

#[tokio::test]
async fn registering_an_existing_client_id_never_replaces_that_client() {
    let h = Harness::new();
    let mut acme = NewClient::public(vec![REDIRECT.to_owned()]);
    acme.id = Some(oauth_core::model::ClientId::new("acme"));
    h.provider.register_client(acme).await.unwrap();

    let mut hijack = NewClient::confidential(
        vec!["https://evil.example/cb".to_owned()],
        vec![oauth_core::model::GrantType::AuthorizationCode],
    );
    hijack.id = Some(oauth_core::model::ClientId::new("acme"));
    let error = h.provider.register_client(hijack).await.unwrap_err();
    assert!(matches!(error, RegistrationError::ClientIdTaken));
    let stored = h
        .provider
        .store()
        .client(&oauth_core::model::ClientId::new("acme"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.redirect_uris, vec![REDIRECT.to_owned()]);
}

#[tokio::test]
async fn o21_43_an_error_redirect_is_only_sent_for_an_authenticated_user() {
    let h = Harness::new();
    let client = h.public_client().await;
    let error = h
        .begin_with(client.id.as_str(), &[("response_type", "token")])
        .await
        .unwrap_err();
    // Without a logged-in user the host gets an error page, not a redirect to the
    // (possibly dynamically registered, untrusted) redirect URI.
    let page = error.into_response(None);
    assert!(page.headers().get("location").is_none());
    assert!(page.status().is_client_error());

    let error = h
        .begin_with(client.id.as_str(), &[("response_type", "token")])
        .await
        .unwrap_err();
    let AuthorizationError::Redirect(redirect) = error else {
        panic!("expected an error redirect, got {error:?}");
    };
    let response = redirect.into_response(&UserId::new("alice"));
    assert_eq!(
        location_params(&response)["error"],
        "unsupported_response_type"
    );
}

#[tokio::test]
async fn an_empty_approval_is_misuse_not_a_grant_of_nothing() {
    let h = Harness::new();
    let client = h.public_client().await;
    let pending = h
        .begin_with(client.id.as_str(), &[("scope", "read write")])
        .await
        .unwrap();
    let approval = Approval {
        user_id: UserId::new("alice"),
        scope: Some(Scope::empty()),
        props: None,
    };
    let error = h
        .provider
        .complete_authorization(pending, Decision::Approve(approval))
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        AuthorizationError::Misuse(ApiMisuse::ApprovedScopeEmpty)
    ));
}

#[tokio::test]
async fn a_header_token_is_not_spoiled_by_an_unparseable_form_body() {
    let h = Harness::new();
    let (_, body) = h.public_tokens().await;
    let token = body["access_token"].as_str().unwrap();
    let many_fields: String = (0..100).map(|i| format!("f{i}=1&")).collect();
    for payload in [
        many_fields.as_str(),
        "text=%FF",
        "access_token=a&access_token=b",
    ] {
        let request = Request::post("https://api.example/mcp")
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(payload.as_bytes().to_vec())
            .unwrap();
        assert!(h.provider.authenticate(&request).await.is_ok(), "{payload}");
    }
    // A well-formed body that carries a second token is still two methods.
    let request = Request::post("https://api.example/mcp")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("access_token={token}").into_bytes())
        .unwrap();
    let error = h.provider.authenticate(&request).await.unwrap_err();
    assert_eq!(error.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_failed_body_authentication_is_400_since_a_401_needs_a_challenge() {
    let h = Harness::new();
    let (client, _) = h
        .register(NewClient {
            auth_method: oauth_core::model::AuthMethod::ClientSecretPost,
            ..NewClient::confidential(
                vec![],
                vec![oauth_core::model::GrantType::ClientCredentials],
            )
        })
        .await;
    let (status, body, headers) = h
        .token(
            &[
                ("grant_type", "client_credentials"),
                ("client_id", client.id.as_str()),
                ("client_secret", "wrong"),
            ],
            None,
        )
        .await;
    assert_eq!(
        (status, error_of(&body)),
        (StatusCode::BAD_REQUEST, "invalid_client")
    );
    assert!(headers.get("www-authenticate").is_none());
}
