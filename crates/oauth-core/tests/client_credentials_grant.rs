//! OAuth 2.1 §4.2 (client-credentials grant), with §7.4 (client tokens distinguishable from user tokens), §7.9 (per-client scope restriction), RFC 6749 §4.4.3 (no refresh token) and RFC 8707 §2 (resources): only authenticated confidential clients get a token, for a scope and audience they are allowed.

mod common;

use common::*;
use http::{HeaderMap, StatusCode};
use oauth_core::model::{AuthMethod, GrantType};
use oauth_core::scope::Scope;
use oauth_core::{NewClient, RegistrationError};
use serde_json::Value;

/// A second protected resource, for RFC 8707 tests.
const OTHER: &str = "https://files.example/api";

fn assert_error_code(
    (status, body, headers): &(StatusCode, Value, HeaderMap),
    expected_status: StatusCode,
    expected_error: &str,
) {
    assert_eq!(*status, expected_status, "{body}");
    assert_eq!(error_of(body), expected_error, "{body}");
    assert!(body.get("access_token").is_none(), "{body}");
    assert_eq!(headers["cache-control"], "no-store");
}

fn ok(response: (StatusCode, Value, HeaderMap)) -> Value {
    assert_eq!(response.0, StatusCode::OK, "{}", response.1);
    response.1
}

/// A confidential client-credentials client with an optional scope restriction.
async fn cc_client(h: &Harness, scope: Option<&str>) -> (String, String) {
    let (client, secret) = h
        .register(NewClient {
            scope: scope.map(|s| Scope::parse(s).unwrap()),
            ..NewClient::confidential(Vec::new(), vec![GrantType::ClientCredentials])
        })
        .await;
    (
        client.id.as_str().to_owned(),
        secret.unwrap().expose().to_owned(),
    )
}

async fn cc(
    h: &Harness,
    (id, secret): &(String, String),
    extra: &[(&str, &str)],
) -> (StatusCode, Value, HeaderMap) {
    let mut pairs = vec![("grant_type", "client_credentials")];
    pairs.extend_from_slice(extra);
    h.token(&pairs, Some((id, secret))).await
}

// ---------------------------------------------------------------------------------------
// O21-64: confidential, authenticated clients only
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn o21_64_public_client_cannot_register_for_client_credentials() {
    let h = Harness::new();
    let refused = h
        .provider
        .register_client(NewClient {
            grant_types: vec![GrantType::ClientCredentials],
            ..NewClient::public(vec![REDIRECT.to_owned()])
        })
        .await;
    assert!(
        matches!(refused, Err(RegistrationError::Invalid(_))),
        "{refused:?}"
    );
}

#[tokio::test]
async fn o21_64_imported_public_client_using_client_credentials_is_unauthorized_client() {
    let (h, keys) = Harness::with_keys(|b| b);
    h.import_client(
        &keys,
        "public-cc",
        None,
        AuthMethod::None,
        vec![GrantType::ClientCredentials],
    )
    .await;
    let response = h
        .token(
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "public-cc"),
            ],
            None,
        )
        .await;
    assert_error_code(&response, StatusCode::BAD_REQUEST, "unauthorized_client");
}

#[tokio::test]
async fn o21_64_confidential_client_without_authentication_is_invalid_client() {
    let h = Harness::new();
    let (id, secret) = cc_client(&h, None).await;
    for response in [
        h.token(
            &[("grant_type", "client_credentials"), ("client_id", &id)],
            None,
        )
        .await,
        h.token(&[("grant_type", "client_credentials")], None).await,
    ] {
        assert_error_code(&response, StatusCode::BAD_REQUEST, "invalid_client");
    }
    let response = cc(&h, &(id.clone(), format!("{secret}x")), &[]).await;
    assert_error_code(&response, StatusCode::UNAUTHORIZED, "invalid_client");
    assert!(response.2.contains_key("www-authenticate"));
    ok(cc(&h, &(id, secret), &[]).await);
}

// ---------------------------------------------------------------------------------------
// O21-65, O21-78: scope restriction per client; default scope; invalid_scope
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn o21_65_o21_78_client_may_only_obtain_its_registered_scopes() {
    let h = Harness::new();
    let restricted = cc_client(&h, Some("read")).await;
    for scope in ["admin", "read write", "write"] {
        assert_error_code(
            &cc(&h, &restricted, &[("scope", scope)]).await,
            StatusCode::BAD_REQUEST,
            "invalid_scope",
        );
    }
    let body = ok(cc(&h, &restricted, &[("scope", "read")]).await);
    assert_eq!(body["scope"], "read");

    // A client without a restriction may obtain every offered scope.
    let open = cc_client(&h, None).await;
    let body = ok(cc(&h, &open, &[("scope", "read write admin")]).await);
    let access = h.bearer(str_of(&body, "access_token")).await.unwrap();
    for scope in ["read", "write", "admin"] {
        assert!(access.scope.contains(scope), "{scope}");
    }
}

#[tokio::test]
async fn mcp_14_o21_78_client_credentials_never_carry_offline_access() {
    // OpenID Connect Core §11: `offline_access` is ignored outside the code flow, and this
    // grant issues no refresh token (RFC 6749 §4.4.3). Ignored, not refused: the response
    // states the scope granted.
    let h = Harness::with(|b| b.scopes(["read", "write", "admin", "offline_access"]));
    let restricted = cc_client(&h, Some("read")).await;
    let open = cc_client(&h, None).await;
    // Registered for the refresh grant as well: still no exemption to exploit here.
    let (both, secret) = h
        .register(NewClient {
            scope: Some(Scope::parse("read").unwrap()),
            ..NewClient::confidential(
                Vec::new(),
                vec![GrantType::ClientCredentials, GrantType::RefreshToken],
            )
        })
        .await;
    let both = (
        both.id.as_str().to_owned(),
        secret.unwrap().expose().to_owned(),
    );
    for client in [&restricted, &open, &both] {
        let body = ok(cc(&h, client, &[("scope", "read offline_access")]).await);
        assert_eq!(body["scope"], "read");
        assert!(body.get("refresh_token").is_none(), "{body}");
        let access = h.bearer(str_of(&body, "access_token")).await.unwrap();
        assert!(!access.scope.contains("offline_access"));
        // Asking for nothing else is asking for no scope: the default (`read`).
        let body = ok(cc(&h, client, &[("scope", "offline_access")]).await);
        assert_eq!(body["scope"], "read");
    }
    // The rest of the request is still checked against the client's registration.
    assert_error_code(
        &cc(&h, &restricted, &[("scope", "write offline_access")]).await,
        StatusCode::BAD_REQUEST,
        "invalid_scope",
    );
    // A default scope naming it does not smuggle it in either.
    let h = Harness::with(|b| {
        b.scopes(["read", "offline_access"])
            .default_scope(["read", "offline_access"])
    });
    let client = cc_client(&h, None).await;
    let body = ok(cc(&h, &client, &[]).await);
    assert_eq!(body["scope"], "read");
}

#[tokio::test]
async fn o21_78_default_scope_outside_the_clients_restriction_is_invalid_scope() {
    let h = Harness::new();
    // The server's default is `read`; this client may only have `write`.
    let client = cc_client(&h, Some("write")).await;
    assert_error_code(
        &cc(&h, &client, &[]).await,
        StatusCode::BAD_REQUEST,
        "invalid_scope",
    );
    ok(cc(&h, &client, &[("scope", "write")]).await);
}

#[tokio::test]
async fn omitted_scope_takes_the_configured_default() {
    let h = Harness::new();
    let client = cc_client(&h, None).await;
    let body = ok(cc(&h, &client, &[]).await);
    assert_eq!(body["scope"], "read");
    let access = h.bearer(str_of(&body, "access_token")).await.unwrap();
    assert!(access.scope.contains("read") && !access.scope.contains("write"));
    // Empty is absent (O21-3).
    let body = ok(cc(&h, &client, &[("scope", "")]).await);
    assert_eq!(body["scope"], "read");
}

#[tokio::test]
async fn omitted_scope_without_a_configured_default_is_invalid_scope() {
    let h = Harness::bare(ISSUER, |b| b.scopes(["read", "write"]).resource(RESOURCE));
    let client = cc_client(&h, None).await;
    assert_error_code(
        &cc(&h, &client, &[]).await,
        StatusCode::BAD_REQUEST,
        "invalid_scope",
    );
    let body = ok(cc(&h, &client, &[("scope", "write")]).await);
    assert_eq!(body["scope"], "write");
}

#[tokio::test]
async fn unknown_or_malformed_scope_is_invalid_scope() {
    let h = Harness::new();
    let client = cc_client(&h, None).await;
    for scope in [
        "delete",
        "read delete",
        "read\"",
        "read\\write",
        "caf\u{e9}",
    ] {
        assert_error_code(
            &cc(&h, &client, &[("scope", scope)]).await,
            StatusCode::BAD_REQUEST,
            "invalid_scope",
        );
    }
    // A repeated scope parameter is a malformed request, not a scope question.
    assert_error_code(
        &cc(&h, &client, &[("scope", "read"), ("scope", "write")]).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    );
}

// ---------------------------------------------------------------------------------------
// O21-66, O21-77: the token
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn o21_66_client_credentials_response_has_no_refresh_token() {
    let h = Harness::new();
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
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
}

#[tokio::test]
async fn o21_77_client_credentials_access_speaks_for_no_user() {
    let h = Harness::new();
    let (id, secret) = cc_client(&h, None).await;
    let body = ok(cc(&h, &(id.clone(), secret), &[]).await);
    let access = h.bearer(str_of(&body, "access_token")).await.unwrap();
    assert_eq!(access.user_id, None);
    assert_eq!(access.client_id.as_str(), id);

    // A user's token from the same server is told apart.
    let (_, user_body) = h.public_tokens().await;
    let user_access = h.bearer(str_of(&user_body, "access_token")).await.unwrap();
    assert_eq!(user_access.user_id.unwrap().as_str(), "alice");
}

#[tokio::test]
async fn o21_77_client_id_equal_to_a_user_id_is_still_not_a_user_token() {
    // A client whose id collides with a user id gets a token that carries no user.
    let (h, keys) = Harness::with_keys(|b| b);
    h.import_client(
        &keys,
        "alice",
        Some("s3cret"),
        AuthMethod::ClientSecretBasic,
        vec![GrantType::ClientCredentials],
    )
    .await;
    let body = ok(cc(&h, &("alice".to_owned(), "s3cret".to_owned()), &[]).await);
    let access = h.bearer(str_of(&body, "access_token")).await.unwrap();
    assert_eq!(access.user_id, None);
    assert_eq!(access.client_id.as_str(), "alice");
}

#[tokio::test]
async fn client_credentials_token_expires_with_its_lifetime() {
    let h = Harness::new();
    let client = cc_client(&h, None).await;
    let body = ok(cc(&h, &client, &[]).await);
    let token = str_of(&body, "access_token");
    h.advance(3599);
    assert!(h.bearer(token).await.is_ok());
    h.advance(1);
    assert!(h.bearer(token).await.is_err());
}

// ---------------------------------------------------------------------------------------
// RFC 8707: resources
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn unknown_or_malformed_resource_is_invalid_target() {
    let h = Harness::new();
    let client = cc_client(&h, None).await;
    for resource in [
        "https://unknown.example/api",
        "/relative",
        "https://api.example/mcp#fragment",
        "not a uri",
    ] {
        assert_error_code(
            &cc(&h, &client, &[("resource", resource)]).await,
            StatusCode::BAD_REQUEST,
            "invalid_target",
        );
    }
    // One known and one unknown resource is still refused.
    assert_error_code(
        &cc(
            &h,
            &client,
            &[
                ("resource", RESOURCE),
                ("resource", "https://unknown.example/"),
            ],
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_target",
    );
}

#[tokio::test]
async fn required_resource_missing_is_invalid_target() {
    let h = Harness::with(|b| b.require_resource(true));
    let client = cc_client(&h, None).await;
    assert_error_code(
        &cc(&h, &client, &[]).await,
        StatusCode::BAD_REQUEST,
        "invalid_target",
    );
    let body = ok(cc(&h, &client, &[("resource", RESOURCE)]).await);
    assert!(h.bearer(str_of(&body, "access_token")).await.is_ok());
}

#[tokio::test]
async fn requested_resource_is_the_audience_and_several_configured_resources_require_one() {
    let h = Harness::with(|b| b.resource(OTHER));
    let client = cc_client(&h, None).await;

    let body = ok(cc(&h, &client, &[("resource", OTHER)]).await);
    let token = str_of(&body, "access_token");
    assert!(h.bearer_for(token, OTHER).await.is_ok());
    assert!(h.bearer_for(token, RESOURCE).await.is_err());

    // BCP-7: with several resources configured, none requested is `invalid_target`
    // rather than a token valid at all of them.
    assert_error_code(
        &cc(&h, &client, &[]).await,
        StatusCode::BAD_REQUEST,
        "invalid_target",
    );
    let body = ok(cc(&h, &client, &[("resource", OTHER), ("resource", RESOURCE)]).await);
    let token = str_of(&body, "access_token");
    assert!(h.bearer_for(token, OTHER).await.is_ok());
    assert!(h.bearer_for(token, RESOURCE).await.is_ok());
}
