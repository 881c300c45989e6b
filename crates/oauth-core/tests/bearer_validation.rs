//! Bearer tokens at the resource server (OAuth 2.1 §5, RFC 6750, RFC 9728 §5.1): extraction, validation, RFC 6750 challenges with `resource_metadata`, audience binding (RFC 8707), props, revocation, and no token in the logs.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::*;
use http::header::WWW_AUTHENTICATE;
use http::{Request, StatusCode};
use oauth_core::model::{GrantType, UserId};
use oauth_core::resource::Resource;
use oauth_core::{Access, Approval, BearerError, Decision, Issuer, KeyId, Keyring, Provider};
use oauth_store_memory::MemoryStore;
use proptest::prelude::*;
use serde_json::json;

/// A second protected resource, for audience tests.
const OTHER: &str = "https://files.example/api";

fn resource(value: &str) -> Resource {
    Resource::parse(value).unwrap()
}

/// A GET to the protected resource with the given `Authorization` header.
fn get_with(authorization: Option<&str>, uri: &str) -> Request<Vec<u8>> {
    let mut builder = Request::get(uri);
    if let Some(value) = authorization {
        builder = builder.header("authorization", value);
    }
    builder.body(Vec::new()).unwrap()
}

/// A POST to the protected resource with a body of `content_type`.
fn post_with(
    authorization: Option<&str>,
    content_type: &str,
    body: impl Into<Vec<u8>>,
) -> Request<Vec<u8>> {
    let mut builder = Request::post("https://api.example/mcp").header("content-type", content_type);
    if let Some(value) = authorization {
        builder = builder.header("authorization", value);
    }
    builder.body(body.into()).unwrap()
}

/// The complete response of a rejection, and its `WWW-Authenticate` value.
fn rejection(err: &BearerError) -> (StatusCode, String) {
    let response = err.clone().into_response();
    let challenge = response
        .headers()
        .get(WWW_AUTHENTICATE)
        .unwrap_or_else(|| panic!("no WWW-Authenticate on a {} rejection", response.status()))
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(challenge, err.challenge());
    assert_eq!(response.headers()["cache-control"], "no-store");
    (response.status(), challenge)
}

/// Parses `Bearer name="value", name="value"` strictly: quoted values without `"` or
/// `\`, separated by `", "`. Returns the parameters in order, or why it is malformed.
fn parse_challenge(challenge: &str) -> Result<Vec<(String, String)>, String> {
    let mut rest = challenge
        .strip_prefix("Bearer ")
        .ok_or_else(|| format!("not a Bearer challenge: {challenge:?}"))?;
    let mut params = Vec::new();
    loop {
        let (name, after) = rest
            .split_once("=\"")
            .ok_or_else(|| format!("no name=\"value\" at {rest:?}"))?;
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            return Err(format!("bad parameter name {name:?}"));
        }
        let (value, after) = after
            .split_once('"')
            .ok_or_else(|| format!("unterminated value at {after:?}"))?;
        if value.contains('\\') {
            return Err(format!("backslash in {name}"));
        }
        params.push((name.to_owned(), value.to_owned()));
        if after.is_empty() {
            return Ok(params);
        }
        rest = after
            .strip_prefix(", ")
            .ok_or_else(|| format!("junk after {name}: {after:?}"))?;
    }
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// Runs a full code flow for a new public client and returns the access token.
async fn access_token(h: &Harness) -> String {
    let (_, body) = h.public_tokens().await;
    body["access_token"].as_str().unwrap().to_owned()
}

/// A two-resource harness: `RESOURCE` and `OTHER`.
fn two_resources() -> Harness {
    Harness::with(|b| b.resource(OTHER))
}

/// Runs the code flow with `resource` at the authorization endpoint and returns the token
/// response body.
async fn tokens_for_resource(h: &Harness, resource: &str) -> serde_json::Value {
    let client = h.public_client().await;
    let pending = h
        .begin_with(client.id.as_str(), &[("resource", resource)])
        .await
        .unwrap();
    let code = location_params(&h.approve(pending, "alice").await)["code"].clone();
    let (status, body, _) = h.redeem_public(client.id.as_str(), &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

// ---------------------------------------------------------------------------------------
// RS-1: the Authorization header
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn rs_1_bearer_scheme_is_case_insensitive_with_one_or_more_spaces() {
    let h = Harness::new();
    let token = access_token(&h).await;
    for header in [
        format!("Bearer {token}"),
        format!("bEaReR {token}"),
        format!("BEARER {token}"),
        format!("bearer {token}"),
        format!("Bearer  {token}"),
        format!("Bearer    {token}"),
    ] {
        let access = h
            .provider
            .authenticate(&get_with(Some(&header), "https://api.example/mcp"))
            .await
            .unwrap_or_else(|e| panic!("{header:?} refused: {e}"));
        assert_eq!(access.user_id.unwrap().as_str(), "alice");
    }
}

#[tokio::test]
async fn rs_1_token_with_a_space_or_outside_token68_is_rejected_with_an_error() {
    let h = Harness::new();
    let token = access_token(&h).await;
    for header in [
        format!("Bearer {token} with space"),
        format!("Bearer {token}\t"),
        "Bearer ".to_owned(),
        format!("Bearer \"{token}\""),
    ] {
        let Ok(request) = Request::get("https://api.example/mcp")
            .header("authorization", header.as_str())
            .body(Vec::<u8>::new())
        else {
            continue;
        };
        let err = h.provider.authenticate(&request).await.unwrap_err();
        let (status, challenge) = rejection(&err);
        assert!(
            status == StatusCode::BAD_REQUEST || status == StatusCode::UNAUTHORIZED,
            "{header:?}: {status}"
        );
        assert!(
            challenge.contains("error=\"invalid_request\"")
                || challenge.contains("error=\"invalid_token\""),
            "{header:?}: {challenge}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// RS-2: never from the query string
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn rs_2_token_in_query_string_is_ignored() {
    let h = Harness::new();
    let token = access_token(&h).await;
    // The token is valid: it authenticates from the header.
    assert!(h.bearer(&token).await.is_ok());

    let with_query = format!("https://api.example/mcp?access_token={token}");
    // A GET, and a form POST whose body carries no token: the query token is never read.
    let mut post = post_with(
        None,
        "application/x-www-form-urlencoded",
        b"other=1".to_vec(),
    );
    *post.uri_mut() = with_query.parse().unwrap();
    for request in [get_with(None, &with_query), post] {
        let err = h.provider.authenticate(&request).await.unwrap_err();
        assert_eq!(err.reason, None, "a query token counts as no credentials");
        let (status, challenge) = rejection(&err);
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(challenge.starts_with("Bearer "), "{challenge}");
        assert!(!challenge.contains("error"), "{challenge}");
    }
}

// ---------------------------------------------------------------------------------------
// RS-3: the form body, only for a single-part form POST
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn rs_3_form_body_token_is_accepted_for_a_form_post() {
    let h = Harness::new();
    let token = access_token(&h).await;
    for content_type in [
        "application/x-www-form-urlencoded",
        "Application/X-WWW-Form-Urlencoded; charset=utf-8",
    ] {
        let body = form(&[("access_token", &token), ("q", "1")]);
        let access = h
            .provider
            .authenticate(&post_with(None, content_type, body))
            .await
            .unwrap_or_else(|e| panic!("{content_type}: {e}"));
        assert_eq!(access.user_id.unwrap().as_str(), "alice");
    }
}

#[tokio::test]
async fn rs_3_form_body_token_is_ignored_for_get_multipart_json_and_non_ascii() {
    let h = Harness::new();
    let token = access_token(&h).await;
    let form_body = form(&[("access_token", &token)]);
    let get_with_body = Request::get("https://api.example/mcp")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body.clone().into_bytes())
        .unwrap();
    let multipart = post_with(
        None,
        "multipart/form-data; boundary=x",
        form_body.clone().into_bytes(),
    );
    let json = post_with(
        None,
        "application/json",
        json!({ "access_token": token }).to_string(),
    );
    let mut non_ascii = form_body.clone().into_bytes();
    non_ascii.extend_from_slice("&name=é".as_bytes());
    let non_ascii = post_with(None, "application/x-www-form-urlencoded", non_ascii);
    for (what, request) in [
        ("GET", get_with_body),
        ("multipart", multipart),
        ("json", json),
        ("non-ASCII", non_ascii),
    ] {
        let err = h.provider.authenticate(&request).await.unwrap_err();
        assert_eq!(err.reason, None, "{what}: the body token must be ignored");
        let (status, challenge) = rejection(&err);
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{what}");
        assert!(!challenge.contains("error"), "{what}: {challenge}");
    }
}

// ---------------------------------------------------------------------------------------
// RS-4: one method only
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn rs_4_token_in_header_and_body_is_invalid_request() {
    let h = Harness::new();
    let token = access_token(&h).await;
    let both = post_with(
        Some(&format!("Bearer {token}")),
        "application/x-www-form-urlencoded",
        form(&[("access_token", &token)]),
    );
    let err = h.provider.authenticate(&both).await.unwrap_err();
    let (status, challenge) = rejection(&err);
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        challenge.contains("error=\"invalid_request\""),
        "{challenge}"
    );
}

#[tokio::test]
async fn rs_4_two_authorization_headers_are_invalid_request() {
    let h = Harness::new();
    let token = access_token(&h).await;
    let request = Request::get("https://api.example/mcp")
        .header("authorization", format!("Bearer {token}"))
        .header("authorization", format!("Bearer {token}"))
        .body(Vec::new())
        .unwrap();
    let err = h.provider.authenticate(&request).await.unwrap_err();
    let (status, challenge) = rejection(&err);
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        challenge.contains("error=\"invalid_request\""),
        "{challenge}"
    );
}

// ---------------------------------------------------------------------------------------
// RS-5: expiry, audience, scope
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn rs_5_expired_token_is_invalid_token() {
    let h = Harness::new();
    let (_, body) = h.public_tokens().await;
    let token = body["access_token"].as_str().unwrap();
    let lifetime = body["expires_in"].as_u64().unwrap();

    h.advance(lifetime - 1);
    assert!(
        h.bearer(token).await.is_ok(),
        "valid one second before expiry"
    );

    h.advance(1);
    let err = h.bearer(token).await.unwrap_err();
    let (status, challenge) = rejection(&err);
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
}

#[tokio::test]
async fn rs_5_token_for_another_resource_is_invalid_token() {
    let h = two_resources();
    let body = tokens_for_resource(&h, RESOURCE).await;
    let token = body["access_token"].as_str().unwrap();
    let request = get_with(
        Some(&format!("Bearer {token}")),
        "https://files.example/api",
    );

    assert!(h
        .provider
        .authenticate_for(&request, Some(&resource(RESOURCE)))
        .await
        .is_ok());

    let err = h
        .provider
        .authenticate_for(&request, Some(&resource(OTHER)))
        .await
        .unwrap_err();
    let (status, challenge) = rejection(&err);
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
}

#[tokio::test]
async fn rs_5_missing_scope_is_403_insufficient_scope_naming_the_scope() {
    let h = Harness::new();
    let token = access_token(&h).await; // default scope: read
    let access = h.bearer(&token).await.unwrap();
    assert!(access.require_scope("read").is_ok());

    let err = access.require_scope("write").unwrap_err();
    let (status, challenge) = rejection(&err);
    assert_eq!(status, StatusCode::FORBIDDEN);
    let params = parse_challenge(&challenge).unwrap();
    assert_eq!(param(&params, "error"), Some("insufficient_scope"));
    assert_eq!(param(&params, "scope"), Some("write"));
    assert_eq!(
        param(&params, "resource_metadata"),
        Some("https://api.example/.well-known/oauth-protected-resource/mcp")
    );
}

#[tokio::test]
async fn rs_5_require_scope_with_several_scopes_needs_all_of_them() {
    let h = Harness::new();
    let client = h.public_client().await;
    let pending = h
        .begin_with(client.id.as_str(), &[("scope", "read write")])
        .await
        .unwrap();
    let code = location_params(&h.approve(pending, "alice").await)["code"].clone();
    let (_, body, _) = h.redeem_public(client.id.as_str(), &code).await;
    let access = h
        .bearer(body["access_token"].as_str().unwrap())
        .await
        .unwrap();

    assert!(access.require_scope("write").is_ok());
    assert!(
        access.require_scope("read write").is_ok(),
        "a token with read and write satisfies `read write`"
    );
    let err = access.require_scope("write admin").unwrap_err();
    let (status, challenge) = rejection(&err);
    assert_eq!(status, StatusCode::FORBIDDEN);
    // MCP: every scope the operation needs goes into the one challenge.
    assert_eq!(
        param(&parse_challenge(&challenge).unwrap(), "scope"),
        Some("admin write")
    );
}

// ---------------------------------------------------------------------------------------
// RS-6 .. RS-9: challenges and status codes
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn rs_6_challenge_without_token_carries_realm_and_resource_metadata() {
    let h = Harness::new();
    let err = h
        .provider
        .authenticate(&get_with(None, "https://api.example/mcp"))
        .await
        .unwrap_err();
    let (status, challenge) = rejection(&err);
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_ne!(challenge.trim(), "Bearer", "never a bare Bearer");
    let params = parse_challenge(&challenge).unwrap();
    assert_eq!(
        param(&params, "realm"),
        Some(ISSUER),
        "realm defaults to the issuer"
    );
    assert_eq!(
        param(&params, "resource_metadata"),
        Some("https://api.example/.well-known/oauth-protected-resource/mcp")
    );
}

#[tokio::test]
async fn rs_6_challenge_without_configured_resource_still_has_an_auth_param() {
    let provider = Provider::builder(Issuer::new(ISSUER).unwrap())
        .keys(test_keyring())
        .scopes(["read"])
        .realm("api")
        .store(MemoryStore::new())
        .build()
        .unwrap();
    let err = provider
        .authenticate(&get_with(None, "https://api.example/"))
        .await
        .unwrap_err();
    let (status, challenge) = rejection(&err);
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(challenge, "Bearer realm=\"api\"");
}

#[test]
fn rs_10_configured_realm_that_a_challenge_cannot_carry_is_refused() {
    for realm in [
        "Café API",
        "line\nbreak",
        "tab\there",
        "quote\"back\\slash",
        "",
    ] {
        let built = oauth_core::Config::builder(oauth_core::Issuer::new(ISSUER).unwrap())
            .keys(test_keyring())
            .realm(realm)
            .build();
        assert_eq!(
            built.unwrap_err(),
            oauth_core::ConfigError::InvalidRealm,
            "{realm:?}"
        );
    }
    let ok = oauth_core::Config::builder(oauth_core::Issuer::new(ISSUER).unwrap())
        .keys(test_keyring())
        .realm("Example API (v2)")
        .build();
    assert!(ok.is_ok());
}

#[tokio::test]
async fn rs_7_no_credentials_means_no_error_in_the_challenge() {
    let h = Harness::new();
    for request in [
        get_with(None, "https://api.example/mcp"),
        // Another scheme is not a bearer credential.
        get_with(
            Some("Basic czZCaGRSa3F0Mzo3RmpmcDBaQnIxS3REUmJuZlZkbUl3"),
            "https://api.example/mcp",
        ),
        post_with(None, "application/x-www-form-urlencoded", b"q=1".to_vec()),
    ] {
        let err = h.provider.authenticate(&request).await.unwrap_err();
        assert_eq!(err.reason, None);
        let (status, challenge) = rejection(&err);
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(!challenge.contains("error"), "{challenge}");
        assert!(!challenge.contains("scope="), "{challenge}");
    }
}

#[tokio::test]
async fn rs_8_failed_token_gives_invalid_token_error() {
    let h = Harness::new();
    let unknown = format!("oa2at_{}", "A".repeat(43));
    let refresh_shaped = {
        let (_, body) = h.public_tokens().await;
        body["refresh_token"].as_str().unwrap().to_owned()
    };
    for token in [unknown.as_str(), "garbage", refresh_shaped.as_str()] {
        let err = h.bearer(token).await.unwrap_err();
        let (status, challenge) = rejection(&err);
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token}");
        let params = parse_challenge(&challenge).unwrap();
        assert_eq!(param(&params, "error"), Some("invalid_token"), "{token}");
        assert!(param(&params, "error_description").is_some());
        assert!(param(&params, "resource_metadata").is_some());
    }
}

#[tokio::test]
async fn rs_9_status_codes_by_error() {
    let h = Harness::new();
    let token = access_token(&h).await;
    let malformed = h
        .provider
        .authenticate(&post_with(
            Some(&format!("Bearer {token}")),
            "application/x-www-form-urlencoded",
            form(&[("access_token", &token)]),
        ))
        .await
        .unwrap_err();
    let invalid = h
        .bearer(&format!("oa2at_{}", "B".repeat(43)))
        .await
        .unwrap_err();
    let insufficient = h
        .bearer(&token)
        .await
        .unwrap()
        .require_scope("admin")
        .unwrap_err();
    for (err, status, code) in [
        (malformed, StatusCode::BAD_REQUEST, "invalid_request"),
        (invalid, StatusCode::UNAUTHORIZED, "invalid_token"),
        (insufficient, StatusCode::FORBIDDEN, "insufficient_scope"),
    ] {
        let (got, challenge) = rejection(&err);
        assert_eq!(got, status, "{code}");
        let params = parse_challenge(&challenge).unwrap();
        assert_eq!(param(&params, "error"), Some(code));
        assert_eq!(
            param(&params, "scope").is_some(),
            code == "insufficient_scope",
            "scope only on insufficient_scope: {challenge}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// RS-10: challenge parameters, property-tested over realm and scope strings
// ---------------------------------------------------------------------------------------

fn check_challenge(challenge: &str, expected_scope: Option<&str>) -> Result<(), TestCaseError> {
    let params = parse_challenge(challenge).map_err(TestCaseError::fail)?;
    let mut names: Vec<&str> = params.iter().map(|(n, _)| n.as_str()).collect();
    let count = names.len();
    names.sort_unstable();
    names.dedup();
    prop_assert_eq!(names.len(), count, "duplicate parameter in {}", challenge);
    for (name, value) in &params {
        // RFC 6750 §3: %x20-21 / %x23-5B / %x5D-7E (so no `"`, no `\`, no controls).
        prop_assert!(
            value
                .bytes()
                .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E)),
            "{} = {:?} outside the allowed characters",
            name,
            value
        );
    }
    prop_assert_eq!(param(&params, "scope"), expected_scope);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn rs_10_challenge_params_appear_once_with_clean_values(
        // Every realm the configuration accepts (see rs_10_configured_realm_...).
        realm in "[ !#-\\[\\]-~]{1,24}",
        scope in prop_oneof![
            "[!#-\\[\\]-~]{1,12}( [!#-\\[\\]-~]{1,12}){0,2}",
            any::<String>(),
        ],
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(async {
            let h = Harness::with(|b| b.realm(realm.clone()));
            let token = access_token(&h).await;

            let none = h.provider.authenticate(&get_with(None, "https://api.example/mcp")).await.unwrap_err();
            let bad = h.bearer(&format!("oa2at_{}", "C".repeat(43))).await.unwrap_err();
            let access = h.bearer(&token).await.unwrap();
            for err in [&none, &bad] {
                let response = err.clone().into_response();
                let header = response.headers().get(WWW_AUTHENTICATE);
                prop_assert!(header.is_some(), "no challenge header for realm {:?}", realm);
                check_challenge(header.unwrap().to_str().unwrap(), None)?;
            }
            if let Err(err) = access.require_scope(&scope) {
                let response = err.clone().into_response();
                prop_assert_eq!(response.status(), StatusCode::FORBIDDEN);
                let header = response.headers().get(WWW_AUTHENTICATE);
                prop_assert!(header.is_some(), "no challenge header for realm {:?}", realm);
                let well_formed = oauth_core::scope::Scope::parse(&scope).ok();
                let expected = well_formed.map(|s| s.to_string());
                check_challenge(header.unwrap().to_str().unwrap(), expected.as_deref())?;
            } else {
                prop_assert!(scope.split(' ').all(|s| s == "read"), "{:?} accepted", scope);
            }
            Ok(())
        })?;
    }
}

// ---------------------------------------------------------------------------------------
// RI-5, BCP-7: audience binding
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn ri_5_access_audience_is_the_requested_resource() {
    let h = two_resources();
    let body = tokens_for_resource(&h, OTHER).await;
    let request = get_with(
        Some(&format!(
            "Bearer {}",
            body["access_token"].as_str().unwrap()
        )),
        "https://files.example/api",
    );
    let access = h
        .provider
        .authenticate_for(&request, Some(&resource(OTHER)))
        .await
        .unwrap();
    let audience: Vec<&str> = access.audience.iter().map(Resource::as_str).collect();
    assert_eq!(audience, vec![OTHER]);
}

#[tokio::test]
async fn ri_5_token_request_narrows_the_audience_to_one_resource() {
    let h = two_resources();
    let client = h.public_client().await;
    let pending = h
        .begin_with(client.id.as_str(), &[("resource", RESOURCE)])
        .await
        .unwrap();
    assert_eq!(pending.resources().iter().count(), 1);
    // Authorized for both resources, the token's audience is both ...
    let (_, body) = h.public_tokens_for(&[RESOURCE, OTHER]).await;
    let request = get_with(
        Some(&format!(
            "Bearer {}",
            body["access_token"].as_str().unwrap()
        )),
        "https://api.example/mcp",
    );
    let access = h
        .provider
        .authenticate_for(&request, Some(&resource(RESOURCE)))
        .await
        .unwrap();
    assert_eq!(access.audience.iter().count(), 2);

    // ... and a token request may narrow it to one.
    let code = location_params(&h.approve(pending, "alice").await)["code"].clone();
    let (status, body, _) = h
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("client_id", client.id.as_str()),
                ("code_verifier", VERIFIER),
                ("resource", RESOURCE),
            ],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let request = get_with(
        Some(&format!(
            "Bearer {}",
            body["access_token"].as_str().unwrap()
        )),
        "https://api.example/mcp",
    );
    let access = h
        .provider
        .authenticate_for(&request, Some(&resource(RESOURCE)))
        .await
        .unwrap();
    let audience: Vec<&str> = access.audience.iter().map(Resource::as_str).collect();
    assert_eq!(audience, vec![RESOURCE]);
}

#[tokio::test]
async fn bcp_7_client_credentials_token_for_one_resource_is_refused_by_another() {
    let h = two_resources();
    let (client, secret) = h
        .confidential_client(vec![GrantType::ClientCredentials])
        .await;
    let (status, body, _) = h
        .token(
            &[("grant_type", "client_credentials"), ("resource", OTHER)],
            Some((client.id.as_str(), secret.expose())),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let request = get_with(
        Some(&format!(
            "Bearer {}",
            body["access_token"].as_str().unwrap()
        )),
        "https://api.example/mcp",
    );

    let access = h
        .provider
        .authenticate_for(&request, Some(&resource(OTHER)))
        .await
        .unwrap();
    assert_eq!(access.user_id, None, "a client token speaks for no user");

    let err = h
        .provider
        .authenticate_for(&request, Some(&resource(RESOURCE)))
        .await
        .unwrap_err();
    let (status, challenge) = rejection(&err);
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
}

#[tokio::test]
async fn bcp_7_resource_server_that_names_no_resource_refuses_audience_bound_tokens() {
    let h = two_resources();
    let body = tokens_for_resource(&h, RESOURCE).await;
    let request = get_with(
        Some(&format!(
            "Bearer {}",
            body["access_token"].as_str().unwrap()
        )),
        "https://api.example/mcp",
    );
    // `authenticate_for(.., None)` is "no audience check": a token meant for a resource
    // must not pass an RS that does not say which resource it is.
    let err = h
        .provider
        .authenticate_for(&request, None)
        .await
        .unwrap_err();
    let (status, challenge) = rejection(&err);
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
}

// ---------------------------------------------------------------------------------------
// Props, revocation, resource_metadata
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn props_approved_with_the_grant_are_returned_in_access() {
    let h = Harness::new();
    let client = h.public_client().await;
    let pending = h.begin_with(client.id.as_str(), &[]).await.unwrap();
    let response = h
        .provider
        .complete_authorization(
            pending,
            Decision::Approve(Approval {
                props: Some(json!({ "upstream": "x" })),
                ..Approval::new(UserId::new("alice"))
            }),
        )
        .await
        .unwrap();
    let code = location_params(&response)["code"].clone();
    let (status, body, _) = h.redeem_public(client.id.as_str(), &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let access: Access = h
        .bearer(body["access_token"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(access.props, Some(json!({ "upstream": "x" })));

    // The refreshed access token carries them too.
    let (status, refreshed, _) = h
        .refresh(
            client.id.as_str(),
            body["refresh_token"].as_str().unwrap(),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    let access = h
        .bearer(refreshed["access_token"].as_str().unwrap())
        .await
        .unwrap();
    assert_eq!(access.props, Some(json!({ "upstream": "x" })));

    // A grant approved without props has none.
    let token = access_token(&h).await;
    assert_eq!(h.bearer(&token).await.unwrap().props, None);
}

#[tokio::test]
async fn o21_72_revoked_grant_token_no_longer_authenticates() {
    let h = Harness::new();
    let (client, body) = h.public_tokens().await;
    let token = body["access_token"].as_str().unwrap();
    let other = access_token(&h).await;
    let access = h.bearer(token).await.unwrap();

    h.provider.revoke_grant(&access.grant_id).await.unwrap();

    let err = h.bearer(token).await.unwrap_err();
    let (status, challenge) = rejection(&err);
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    let (status, refreshed, _) = h
        .refresh(
            client.id.as_str(),
            body["refresh_token"].as_str().unwrap(),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&refreshed), "invalid_grant");
    assert!(h.bearer(&other).await.is_ok(), "other grants are untouched");
}

#[tokio::test]
async fn prm_8_resource_metadata_is_the_rfc9728_url_of_the_configured_resource() {
    let h = Harness::with(|b| b.resource("https://rs.example:8443/tools/"));
    for (resource_id, expected) in [
        (
            RESOURCE,
            "https://api.example/.well-known/oauth-protected-resource/mcp",
        ),
        (
            "https://rs.example:8443/tools/",
            "https://rs.example:8443/.well-known/oauth-protected-resource/tools",
        ),
    ] {
        let err = h
            .provider
            .authenticate_for(
                &get_with(None, "https://api.example/mcp"),
                Some(&resource(resource_id)),
            )
            .await
            .unwrap_err();
        let (_, challenge) = rejection(&err);
        let params = parse_challenge(&challenge).unwrap();
        assert_eq!(param(&params, "resource_metadata"), Some(expected));
    }

    // `authenticate` uses the one configured resource.
    let single = Harness::new();
    let err = single
        .provider
        .authenticate(&get_with(None, "https://api.example/mcp"))
        .await
        .unwrap_err();
    let (_, challenge) = rejection(&err);
    assert_eq!(
        param(&parse_challenge(&challenge).unwrap(), "resource_metadata"),
        Some(
            Resource::parse(RESOURCE)
                .unwrap()
                .metadata_url()
                .unwrap()
                .as_str()
        )
    );
}

#[test]
fn prm_1_metadata_url_keeps_the_resource_query() {
    assert_eq!(
        resource("https://rs.example/mcp?tenant=1")
            .metadata_url()
            .as_deref(),
        Some("https://rs.example/.well-known/oauth-protected-resource/mcp?tenant=1")
    );
}

// ---------------------------------------------------------------------------------------
// BCP-13: no token, code or secret in the logs
// ---------------------------------------------------------------------------------------

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn bcp_13_no_token_code_or_secret_appears_in_tracing_output() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let h = Harness::new();
    let mut secrets: Vec<String> = vec![VERIFIER.to_owned()];

    // A full code flow with props, bearer validation, refresh, and a failing replay.
    let client = h.public_client().await;
    let pending = h.begin_with(client.id.as_str(), &[]).await.unwrap();
    let response = h
        .provider
        .complete_authorization(
            pending,
            Decision::Approve(Approval {
                props: Some(json!({ "upstream": "props-secret-9f8e7d" })),
                ..Approval::new(UserId::new("alice"))
            }),
        )
        .await
        .unwrap();
    secrets.push("props-secret-9f8e7d".to_owned());
    let code = location_params(&response)["code"].clone();
    secrets.push(code.clone());
    let (status, body, _) = h.redeem_public(client.id.as_str(), &code).await;
    assert_eq!(status, StatusCode::OK);
    let access_token = body["access_token"].as_str().unwrap().to_owned();
    let refresh_token = body["refresh_token"].as_str().unwrap().to_owned();
    secrets.extend([access_token.clone(), refresh_token.clone()]);

    let access = h.bearer(&access_token).await.unwrap();
    assert!(access.require_scope("admin").is_err());
    let (status, refreshed, _) = h.refresh(client.id.as_str(), &refresh_token, &[]).await;
    assert_eq!(status, StatusCode::OK);
    secrets.push(refreshed["access_token"].as_str().unwrap().to_owned());
    secrets.push(refreshed["refresh_token"].as_str().unwrap().to_owned());
    // Refresh reuse revokes the grant and logs a security event.
    let (status, _, _) = h.refresh(client.id.as_str(), &refresh_token, &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(h.bearer(&access_token).await.is_err());
    // A replayed code (on a second grant) does the same.
    let second = h.public_client().await;
    let code2 = h.obtain_code(second.id.as_str()).await;
    secrets.push(code2.clone());
    let (status, body2, _) = h.redeem_public(second.id.as_str(), &code2).await;
    assert_eq!(status, StatusCode::OK);
    secrets.push(body2["access_token"].as_str().unwrap().to_owned());
    secrets.push(body2["refresh_token"].as_str().unwrap().to_owned());
    let (status, _, _) = h.redeem_public(second.id.as_str(), &code2).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(h
        .bearer(body2["access_token"].as_str().unwrap())
        .await
        .is_err());
    let forged = format!("oa2at_{}", "Z".repeat(43));
    assert!(h.bearer(&forged).await.is_err());
    secrets.push(forged);

    // Client authentication, good and bad.
    let (cc, secret) = h
        .confidential_client(vec![GrantType::ClientCredentials])
        .await;
    secrets.push(secret.expose().to_owned());
    let (status, body, _) = h
        .token(
            &[("grant_type", "client_credentials")],
            Some((cc.id.as_str(), secret.expose())),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    secrets.push(body["access_token"].as_str().unwrap().to_owned());
    let wrong = "oa2cs_wrong-secret-presented-by-an-attacker";
    secrets.push(wrong.to_owned());
    let (status, _, _) = h
        .token(
            &[("grant_type", "client_credentials")],
            Some((cc.id.as_str(), wrong)),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let output = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    // The capture works: the security events are there.
    assert!(output.contains("code_replayed"), "{output}");
    assert!(output.contains("refresh_token_reused"), "{output}");
    assert!(output.contains("client_authentication_failed"), "{output}");
    for secret in &secrets {
        assert!(
            !output.contains(secret.as_str()),
            "secret {secret:?} leaked into the logs:\n{output}"
        );
        // Not even a long fragment of the random part.
        let body = secret.rsplit('_').next().unwrap();
        if body.len() >= 16 {
            assert!(
                !output.contains(&body[..16]),
                "part of {secret:?} leaked:\n{output}"
            );
        }
    }
}

#[test]
fn bcp_13_keyring_debug_shows_key_ids_only() {
    // The keyring's Debug (reachable through the provider's Debug) shows key ids only.
    let secret = [0x5Au8; 32];
    let ring = Keyring::from_secret(KeyId::new("k1").unwrap(), &secret).unwrap();
    let debug = format!("{ring:?}");
    assert!(debug.contains("k1"));
    assert!(!debug.contains("5a") && !debug.contains("90"), "{debug}");
}

// ---- a route's requirement (what the glues' RequireBearer checks) ----

#[tokio::test]
async fn requirement_scopes_add_up_and_all_are_required() {
    let requirement = oauth_core::BearerRequirement::new()
        .scope("read")
        .scope("write");
    assert_eq!(requirement.required_scope(), Some("read write"));
    assert!(requirement.resource().is_none());
    let h = Harness::new();
    let token = access_token(&h).await;
    let request = get_with(Some(&format!("Bearer {token}")), "/api");
    // The default token has `read` only: `read write` is refused, naming both.
    let refused = h
        .provider
        .authenticate_with(&request, &requirement)
        .await
        .unwrap_err();
    let (status, challenge) = rejection(&refused);
    assert_eq!(status, StatusCode::FORBIDDEN);
    let params = parse_challenge(&challenge).unwrap();
    assert_eq!(param(&params, "error"), Some("insufficient_scope"));
    assert_eq!(param(&params, "scope"), Some("read write"));
    let read = oauth_core::BearerRequirement::new().scope("read");
    let access = h.provider.authenticate_with(&request, &read).await.unwrap();
    assert_eq!(access.scope.to_string(), "read");
}

#[tokio::test]
async fn requirement_for_another_resource_refuses_a_token_for_this_one() {
    let h = two_resources();
    let tokens = tokens_for_resource(&h, RESOURCE).await;
    let token = tokens["access_token"].as_str().unwrap();
    let request = get_with(Some(&format!("Bearer {token}")), "/api");
    let for_other = oauth_core::BearerRequirement::for_resource(resource(OTHER));
    let refused = h
        .provider
        .authenticate_with(&request, &for_other)
        .await
        .unwrap_err();
    assert_eq!(rejection(&refused).0, StatusCode::UNAUTHORIZED);
    let for_own = oauth_core::BearerRequirement::for_resource(resource(RESOURCE));
    assert!(h
        .provider
        .authenticate_with(&request, &for_own)
        .await
        .is_ok());
}
