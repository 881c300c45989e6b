//! OAuth 2.1 §4.1.1 and §4.1.2.1: the authorization request and every response it ends in.
//!
//! Also RFC 7636 §4.3-4.4 (PKCE), RFC 9700 §2.1 and §2.6, RFC 8707 §2 (`resource`) and
//! RFC 9207 §2 (`iss`).
//!
//! Until the client and its redirect URI are validated, every failure is
//! `AuthorizationError::Fatal` (an error page, never a redirect); after that, failures go
//! back to the validated redirect URI with `error`, `state` and `iss`.

mod common;

use common::*;
use http::{Request, StatusCode};
use oauth_core::model::{AuthMethod, Client, ClientId, GrantType};
use oauth_core::resource::Resource;
use oauth_core::scope::Scope;
use oauth_core::{AuthorizationError, NewClient, PendingAuthorization, PkcePolicy, Reason};

/// `error` values OAuth 2.1 §4.1.2.1 defines for the authorization endpoint (plus RFC 8707
/// `invalid_target`).
const AUTHORIZATION_ERRORS: &[&str] = &[
    "invalid_request",
    "unauthorized_client",
    "access_denied",
    "unsupported_response_type",
    "invalid_scope",
    "server_error",
    "temporarily_unavailable",
    "invalid_target",
];

/// `%x20-21 / %x23-5B / %x5D-7E` (OAuth 2.1 §4.1.2.1).
fn is_error_char(c: char) -> bool {
    matches!(c, '\x20'..='\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E')
}

/// The usual valid PKCE request for `client_id`, edited: `Some` replaces or adds a
/// parameter, `None` removes it.
fn pairs(client_id: &str, edits: &[(&str, Option<&str>)]) -> Vec<(String, String)> {
    let mut pairs = Harness::code_request_pairs(client_id);
    for (name, value) in edits {
        pairs.retain(|(n, _)| n != name);
        if let Some(value) = value {
            pairs.push(((*name).to_owned(), (*value).to_owned()));
        }
    }
    pairs
}

async fn begin_pairs(
    h: &Harness,
    pairs: &[(String, String)],
) -> Result<PendingAuthorization, AuthorizationError> {
    h.begin(&borrow_pairs(pairs)).await
}

/// Checks an error redirect to `REDIRECT` after a GET: 302, the given `error`, a
/// well-formed description, `state` as given, `iss`, and nothing else a client could
/// mistake for a success. Returns the decoded parameters.
fn assert_error_redirect(
    response: &http::Response<bytes::Bytes>,
    error: &str,
    state: Option<&str>,
) -> std::collections::HashMap<String, String> {
    assert_eq!(response.status(), StatusCode::FOUND);
    let raw = location(response);
    assert!(
        raw.starts_with(&format!("{REDIRECT}?")),
        "redirected to {raw}"
    );
    assert!(!raw.contains('#'), "no fragment in {raw}");
    let params = location_params(response);
    assert_eq!(params["error"], error, "{raw}");
    assert!(params["error_description"].chars().all(is_error_char));
    assert_eq!(params.get("state").map(String::as_str), state, "{raw}");
    assert_eq!(params["iss"], ISSUER);
    for absent in ["code", "access_token", "token_type"] {
        assert!(!params.contains_key(absent), "{absent} in {raw}");
    }
    assert_eq!(response.headers()["cache-control"], "no-store");
    params
}

/// Begins, approves as alice and returns the redirect.
async fn approve_pairs(h: &Harness, pairs: &[(String, String)]) -> http::Response<bytes::Bytes> {
    let pending = begin_pairs(h, pairs).await.unwrap();
    h.approve(pending, "alice").await
}

/// A client stored directly (bypassing registration checks), as a host importing
/// clients from elsewhere might.
async fn store_client(h: &Harness, id: &str, redirect_uris: &[&str]) -> Client {
    use oauth_core::Store as _;
    let client = Client {
        id: ClientId::new(id),
        auth_method: AuthMethod::None,
        secret: None,
        secret_expires_at: None,
        redirect_uris: redirect_uris.iter().map(|u| (*u).to_owned()).collect(),
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        scope: None,
        name: None,
        created_at: h.now(),
        metadata: Default::default(),
        registration_token: None,
    };
    h.provider.store().put_client(&client).await.unwrap();
    client
}

async fn public_client_with(h: &Harness, redirect_uris: &[&str]) -> Client {
    h.register(NewClient::public(
        redirect_uris.iter().map(|u| (*u).to_owned()).collect(),
    ))
    .await
    .0
}

// ---- O21-2: unknown parameters are ignored ----

#[tokio::test]
async fn o21_2_unknown_parameters_are_ignored_at_the_authorization_endpoint() {
    let h = Harness::new();
    let client = h.public_client().await;
    let id = client.id.as_str();
    let plain = begin_pairs(&h, &pairs(id, &[])).await.unwrap();
    let mut extra = pairs(id, &[("foo", Some("bar"))]);
    // Unknown parameters may even repeat: only spec-defined ones are single-valued.
    extra.push(("foo".into(), "baz".into()));
    extra.push(("nonce".into(), "n-0S6_WzA2Mj".into()));
    let with_extra = begin_pairs(&h, &extra).await.unwrap();
    assert_eq!(with_extra.client_id(), plain.client_id());
    assert_eq!(with_extra.scope(), plain.scope());
    assert_eq!(with_extra.resources(), plain.resources());
    assert_eq!(with_extra.redirect_uri(), plain.redirect_uri());

    let response = h.approve(with_extra, "alice").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let params = location_params(&response);
    assert!(!params.contains_key("foo"));
    let (status, body, _) = h.redeem_public(id, &params["code"]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

// ---- O21-3: an empty parameter is absent ----

#[tokio::test]
async fn o21_3_empty_state_is_absent_and_not_echoed() {
    let h = Harness::new();
    let client = h.public_client().await;
    let request = pairs(client.id.as_str(), &[("state", Some(""))]);
    assert!(request.iter().any(|(n, v)| n == "state" && v.is_empty()));
    let response = approve_pairs(&h, &request).await;
    assert!(location(&response).contains("code="));
    let params = location_params(&response);
    assert!(!params.contains_key("state"), "{}", location(&response));
    assert!(!location(&response).contains("state="));

    // The same on an error redirect.
    let bad = pairs(
        client.id.as_str(),
        &[("state", Some("")), ("scope", Some("unknown"))],
    );
    let (_, response) = expect_redirect(begin_pairs(&h, &bad).await);
    assert_error_redirect(&response, "invalid_scope", None);
}

#[tokio::test]
async fn o21_3_empty_scope_takes_the_default_scope() {
    let h = Harness::new();
    let client = h.public_client().await;
    let pending = begin_pairs(&h, &pairs(client.id.as_str(), &[("scope", Some(""))]))
        .await
        .unwrap();
    assert_eq!(pending.scope(), &Scope::parse("read").unwrap());
    let response = h.approve(pending, "alice").await;
    let code = location_params(&response)["code"].clone();
    let (status, body, _) = h.redeem_public(client.id.as_str(), &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "read");
}

#[tokio::test]
async fn o21_3_empty_code_challenge_is_a_missing_challenge() {
    let h = Harness::new();
    let client = h.public_client().await;
    let request = pairs(
        client.id.as_str(),
        &[
            ("code_challenge", Some("")),
            ("code_challenge_method", None),
        ],
    );
    let (reason, response) = expect_redirect(begin_pairs(&h, &request).await);
    assert_eq!(reason, Reason::CodeChallengeRequired);
    assert_error_redirect(&response, "invalid_request", Some("xyz"));
}

// ---- O21-4: a spec-defined parameter appears at most once ----

#[tokio::test]
async fn o21_4_repeated_scope_is_redirected_invalid_request() {
    let h = Harness::new();
    let client = h.public_client().await;
    let mut request = pairs(client.id.as_str(), &[("scope", Some("read"))]);
    request.push(("scope".into(), "write".into()));
    let (reason, response) = expect_redirect(begin_pairs(&h, &request).await);
    assert_eq!(reason, Reason::DuplicateParameter);
    assert_error_redirect(&response, "invalid_request", Some("xyz"));
}

#[tokio::test]
async fn o21_4_repeated_parameter_counts_even_when_one_copy_is_empty() {
    let h = Harness::new();
    let client = h.public_client().await;
    for name in [
        "response_type",
        "code_challenge",
        "code_challenge_method",
        "scope",
    ] {
        let mut request = pairs(client.id.as_str(), &[("scope", Some("read"))]);
        // An empty copy is still a copy on the wire, before or after the real one.
        request.push((name.into(), String::new()));
        request.rotate_right(1);
        let (reason, response) = expect_redirect(begin_pairs(&h, &request).await);
        assert_eq!(reason, Reason::DuplicateParameter, "{name}");
        assert_error_redirect(&response, "invalid_request", Some("xyz"));
    }
}

#[tokio::test]
async fn o21_4_repeated_state_is_redirected_without_a_state() {
    let h = Harness::new();
    let client = h.public_client().await;
    let mut request = pairs(client.id.as_str(), &[]);
    request.push(("state".into(), "other".into()));
    let (reason, response) = expect_redirect(begin_pairs(&h, &request).await);
    assert_eq!(reason, Reason::DuplicateParameter);
    // Which of two values would be "the" state is unknowable: neither is echoed.
    assert_error_redirect(&response, "invalid_request", None);
}

#[tokio::test]
async fn o21_4_repeated_client_id_is_fatal_and_never_redirected() {
    let h = Harness::new();
    let client = h.public_client().await;
    let other = h.public_client().await;
    let mut request = pairs(client.id.as_str(), &[]);
    request.push(("client_id".into(), other.id.as_str().into()));
    assert_eq!(
        expect_fatal(begin_pairs(&h, &request).await),
        Reason::DuplicateParameter
    );
    // Even the same value twice.
    let mut request = pairs(client.id.as_str(), &[]);
    request.push(("client_id".into(), client.id.as_str().into()));
    assert_eq!(
        expect_fatal(begin_pairs(&h, &request).await),
        Reason::DuplicateParameter
    );
}

#[tokio::test]
async fn o21_4_repeated_redirect_uri_is_fatal_and_never_redirected() {
    let h = Harness::new();
    let client = public_client_with(&h, &[REDIRECT, "https://client.example/other"]).await;
    for second in [REDIRECT, "https://client.example/other", ""] {
        let mut request = pairs(client.id.as_str(), &[]);
        request.push(("redirect_uri".into(), second.into()));
        assert_eq!(
            expect_fatal(begin_pairs(&h, &request).await),
            Reason::DuplicateParameter,
            "second redirect_uri {second:?}"
        );
    }
}

// ---- O21-5: GET is supported, POST gives the same result ----

#[tokio::test]
async fn o21_5_get_and_post_form_give_the_same_pending_authorization() {
    let h = Harness::new();
    let client = h.public_client().await;
    let request = pairs(
        client.id.as_str(),
        &[("scope", Some("read write")), ("resource", Some(RESOURCE))],
    );
    let by_get = h
        .begin_request(&Harness::authorize_request(&borrow_pairs(&request)))
        .await
        .unwrap();
    let by_post = h
        .begin_request(&authorize_post(&borrow_pairs(&request)))
        .await
        .unwrap();
    assert_eq!(by_post.client_id(), by_get.client_id());
    assert_eq!(by_post.scope(), by_get.scope());
    assert_eq!(by_post.resources(), by_get.resources());
    assert_eq!(by_post.redirect_uri(), by_get.redirect_uri());

    let response = h.approve(by_post, "alice").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let params = location_params(&response);
    assert_eq!(params["state"], "xyz");
    let (status, body, _) = h.redeem_public(client.id.as_str(), &params["code"]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "read write");
}

#[tokio::test]
async fn o21_5_post_errors_are_redirected_like_get_errors_but_with_303() {
    let h = Harness::new();
    let client = h.public_client().await;
    let request = pairs(client.id.as_str(), &[("scope", Some("unknown"))]);
    let (_, by_get) = expect_redirect(
        h.begin_request(&Harness::authorize_request(&borrow_pairs(&request)))
            .await,
    );
    let (_, by_post) = expect_redirect(
        h.begin_request(&authorize_post(&borrow_pairs(&request)))
            .await,
    );
    assert_eq!(by_get.status(), StatusCode::FOUND);
    // A POST may carry user credentials: never 307 (OAuth 2.1 §7.5.3).
    assert_eq!(by_post.status(), StatusCode::SEE_OTHER);
    assert_eq!(location_params(&by_post), location_params(&by_get));
}

#[tokio::test]
async fn o21_5_other_methods_are_refused_without_a_redirect() {
    let h = Harness::new();
    let client = h.public_client().await;
    let query = form(&borrow_pairs(&pairs(client.id.as_str(), &[])));
    for method in ["PUT", "DELETE", "PATCH"] {
        let request = Request::builder()
            .method(method)
            .uri(format!("https://as.example/authorize?{query}"))
            .body(Vec::new())
            .unwrap();
        assert_eq!(
            expect_fatal(h.begin_request(&request).await),
            Reason::MethodNotAllowed,
            "{method}"
        );
    }
}

// ---- O21-25 / BCP-6: only response_type=code ----

#[tokio::test]
async fn o21_25_response_type_token_is_unsupported_and_nothing_goes_in_a_fragment() {
    let h = Harness::new();
    let client = h.public_client().await;
    let request = pairs(client.id.as_str(), &[("response_type", Some("token"))]);
    let (reason, response) = expect_redirect(begin_pairs(&h, &request).await);
    assert_eq!(reason, Reason::UnsupportedResponseType);
    // Asserts no fragment, no code and no token.
    assert_error_redirect(&response, "unsupported_response_type", Some("xyz"));
}

#[tokio::test]
async fn o21_25_missing_response_type_is_invalid_request() {
    let h = Harness::new();
    let client = h.public_client().await;
    let request = pairs(client.id.as_str(), &[("response_type", None)]);
    let (reason, response) = expect_redirect(begin_pairs(&h, &request).await);
    assert_eq!(reason, Reason::MissingResponseType);
    assert_error_redirect(&response, "invalid_request", Some("xyz"));
}

#[tokio::test]
async fn bcp_6_no_response_type_issues_tokens_from_the_authorization_endpoint() {
    let h = Harness::new();
    let client = h.public_client().await;
    for response_type in [
        "token",
        "code token",
        "token code",
        "code id_token",
        "code id_token token",
        "id_token",
        "CODE",
        "code ",
        "none",
    ] {
        let request = pairs(
            client.id.as_str(),
            &[("response_type", Some(response_type))],
        );
        let (_, response) = expect_redirect(begin_pairs(&h, &request).await);
        assert_error_redirect(&response, "unsupported_response_type", Some("xyz"));
    }
}

// ---- O21-26: a client without redirect URIs cannot use the code flow ----

#[tokio::test]
async fn o21_26_client_without_redirect_uris_gets_an_error_page() {
    let h = Harness::new();
    // Registration refuses it outright...
    assert!(h
        .provider
        .register_client(NewClient::public(Vec::new()))
        .await
        .is_err());
    // ...and a record that has none anyway (imported) never gets a redirect.
    let client = store_client(&h, "no-redirect-uris", &[]).await;
    for redirect in [None, Some(REDIRECT)] {
        let request = pairs(client.id.as_str(), &[("redirect_uri", redirect)]);
        assert_eq!(
            expect_fatal(begin_pairs(&h, &request).await),
            Reason::NoRegisteredRedirectUri
        );
    }
    // A client registered only for client credentials has none either.
    let (machine_client, _) = h
        .register(NewClient::confidential(
            Vec::new(),
            vec![GrantType::ClientCredentials],
        ))
        .await;
    let request = pairs(machine_client.id.as_str(), &[]);
    assert_eq!(
        expect_fatal(begin_pairs(&h, &request).await),
        Reason::NoRegisteredRedirectUri
    );
}

// ---- O21-28 / O21-29: exact matching, loopback port exception ----

#[tokio::test]
async fn o21_28_redirect_uri_exact_match_rejects_every_variant() {
    let h = Harness::new();
    let client = h.public_client().await;
    assert_eq!(REDIRECT, "https://client.example/cb");
    for variant in [
        "https://client.example/cb/",
        "https://CLIENT.example/cb",
        "https://client.example:443/cb",
        "https://client.example/cb?x=1",
        "https://client.example/CB",
        "https://client.example/c%62",
        "HTTPS://client.example/cb",
        "https://client.example/cb#",
        "https://client.example/cb#frag",
        "https://client.example/cb ",
        " https://client.example/cb",
        "https://client.example./cb",
        "https://client.example/./cb",
        "https://client.example//cb",
        "https://client.example/cb%20",
        "https://client.example/cb?",
        "https://client.example.evil.example/cb",
        "https://evil.example/https://client.example/cb",
        "https://client.example@evil.example/cb",
    ] {
        let request = pairs(client.id.as_str(), &[("redirect_uri", Some(variant))]);
        assert_eq!(
            expect_fatal(begin_pairs(&h, &request).await),
            Reason::RedirectUriMismatch,
            "{variant:?} must not match"
        );
    }
    let pending = begin_pairs(&h, &pairs(client.id.as_str(), &[]))
        .await
        .unwrap();
    assert_eq!(pending.redirect_uri(), REDIRECT);
}

#[tokio::test]
async fn o21_29_loopback_redirect_may_vary_only_the_port() {
    let h = Harness::new();
    let client = public_client_with(&h, &["http://127.0.0.1/cb", "http://[::1]/cb"]).await;
    for (requested, expected_prefix) in [
        (
            "http://127.0.0.1:51004/cb",
            "http://127.0.0.1:51004/cb?code=",
        ),
        ("http://[::1]:61023/cb", "http://[::1]:61023/cb?code="),
        ("http://127.0.0.1/cb", "http://127.0.0.1/cb?code="),
    ] {
        let request = pairs(client.id.as_str(), &[("redirect_uri", Some(requested))]);
        let pending = begin_pairs(&h, &request).await.unwrap();
        assert_eq!(pending.redirect_uri(), requested);
        let response = h.approve(pending, "alice").await;
        assert!(
            location(&response).starts_with(expected_prefix),
            "{}",
            location(&response)
        );
    }
    for rejected in [
        "http://127.0.0.1:51004/other",
        "http://127.0.0.1:51004/cb?x=1",
        "http://127.0.0.1:51004/cb/",
        "https://127.0.0.1:51004/cb",
        "http://127.0.0.2:51004/cb",
        "http://localhost:51004/cb",
        "http://[::1]:61023/other",
        "http://127.0.0.1:0/cb",
        "http://127.0.0.1:65536/cb",
        "http://127.0.0.1:51004@evil.example/cb",
        "http://127.0.0.1.evil.example:51004/cb",
    ] {
        let request = pairs(client.id.as_str(), &[("redirect_uri", Some(rejected))]);
        assert_eq!(
            expect_fatal(begin_pairs(&h, &request).await),
            Reason::RedirectUriMismatch,
            "{rejected}"
        );
    }
}

#[tokio::test]
async fn o21_29_no_port_exception_for_non_loopback_hosts() {
    let h = Harness::new();
    let client = h.public_client().await;
    for requested in [
        "https://client.example:8443/cb",
        "https://client.example:443/cb",
    ] {
        let request = pairs(client.id.as_str(), &[("redirect_uri", Some(requested))]);
        assert_eq!(
            expect_fatal(begin_pairs(&h, &request).await),
            Reason::RedirectUriMismatch,
            "{requested}"
        );
    }
}

// ---- O21-31: redirect_uri required with several registered ----

#[tokio::test]
async fn o21_31_redirect_uri_is_required_when_several_are_registered() {
    let h = Harness::new();
    let second = "https://client.example/second";
    let client = public_client_with(&h, &[REDIRECT, second]).await;
    let request = pairs(client.id.as_str(), &[("redirect_uri", None)]);
    assert_eq!(
        expect_fatal(begin_pairs(&h, &request).await),
        Reason::RedirectUriRequired
    );
    // Naming either one works, and the response goes to the one named.
    let request = pairs(client.id.as_str(), &[("redirect_uri", Some(second))]);
    let response = approve_pairs(&h, &request).await;
    assert!(location(&response).starts_with(&format!("{second}?code=")));
}

#[tokio::test]
async fn o21_31_redirect_uri_is_optional_with_exactly_one_registered() {
    let h = Harness::new();
    let client = h.public_client().await;
    let request = pairs(client.id.as_str(), &[("redirect_uri", None)]);
    let pending = begin_pairs(&h, &request).await.unwrap();
    assert_eq!(pending.redirect_uri(), REDIRECT);
    let response = h.approve(pending, "alice").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).starts_with(&format!("{REDIRECT}?code=")));
    // Errors go there too once the client is known.
    let request = pairs(
        client.id.as_str(),
        &[("redirect_uri", None), ("scope", Some("unknown"))],
    );
    let (_, response) = expect_redirect(begin_pairs(&h, &request).await);
    assert_error_redirect(&response, "invalid_scope", Some("xyz"));
}

// ---- O21-32: never redirect to an unvalidated URI or for an unknown client ----

#[tokio::test]
async fn o21_32_mismatched_redirect_uri_is_an_error_page_without_location() {
    let h = Harness::new();
    let client = h.public_client().await;
    let request = pairs(
        client.id.as_str(),
        &[("redirect_uri", Some("https://evil.example/cb"))],
    );
    let error = begin_pairs(&h, &request).await.unwrap_err();
    assert!(matches!(
        error,
        AuthorizationError::Fatal(Reason::RedirectUriMismatch)
    ));
    let page = error.into_response(None);
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
    assert!(page.headers().get("location").is_none());
    let body = std::str::from_utf8(page.body()).unwrap();
    assert!(!body.contains("evil.example"), "{body}");
}

#[tokio::test]
async fn o21_32_unknown_client_is_an_error_page_without_location() {
    let h = Harness::new();
    let request = pairs("no-such-client", &[]);
    let error = begin_pairs(&h, &request).await.unwrap_err();
    assert!(matches!(
        error,
        AuthorizationError::Fatal(Reason::UnknownClient)
    ));
    let page = error.into_response(None);
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
    assert!(page.headers().get("location").is_none());
    assert_eq!(page.headers()["x-frame-options"], "DENY");
}

#[tokio::test]
async fn o21_32_missing_client_id_is_an_error_page_without_location() {
    let h = Harness::new();
    let request = pairs("ignored", &[("client_id", None)]);
    assert_eq!(
        expect_fatal(begin_pairs(&h, &request).await),
        Reason::MissingClientId
    );
    let request = pairs("ignored", &[("client_id", Some(""))]);
    assert_eq!(
        expect_fatal(begin_pairs(&h, &request).await),
        Reason::MissingClientId
    );
}

#[tokio::test]
async fn o21_32_no_error_redirect_before_the_client_is_validated() {
    let h = Harness::new();
    // Every later error is present too; the unknown client still wins.
    let request = pairs(
        "no-such-client",
        &[
            ("scope", Some("unknown")),
            ("response_type", Some("token")),
            ("code_challenge", None),
        ],
    );
    assert_eq!(
        expect_fatal(begin_pairs(&h, &request).await),
        Reason::UnknownClient
    );
    // A known client with a bad redirect URI: the mismatch wins over the scope.
    let client = h.public_client().await;
    let request = pairs(
        client.id.as_str(),
        &[
            ("scope", Some("unknown")),
            ("redirect_uri", Some("https://evil.example/cb")),
        ],
    );
    assert_eq!(
        expect_fatal(begin_pairs(&h, &request).await),
        Reason::RedirectUriMismatch
    );
}

// ---- O21-33 / O21-34: the redirect URI's query and `state` survive ----

#[tokio::test]
async fn o21_33_registered_query_is_kept_when_appending_response_parameters() {
    let h = Harness::new();
    let registered = "https://client.example/cb?tenant=1";
    let client = public_client_with(&h, &[registered]).await;
    let request = pairs(client.id.as_str(), &[("redirect_uri", Some(registered))]);
    let response = approve_pairs(&h, &request).await;
    let raw = location(&response);
    assert!(
        raw.starts_with("https://client.example/cb?tenant=1&code="),
        "{raw}"
    );
    let params = location_params(&response);
    assert_eq!(params["tenant"], "1");
    assert_eq!(params["state"], "xyz");

    let request = pairs(
        client.id.as_str(),
        &[
            ("redirect_uri", Some(registered)),
            ("scope", Some("unknown")),
        ],
    );
    let (_, response) = expect_redirect(begin_pairs(&h, &request).await);
    assert!(
        location(&response).starts_with("https://client.example/cb?tenant=1&error=invalid_scope&")
    );
}

#[tokio::test]
async fn o21_34_state_is_echoed_exactly_in_success_and_error_redirects() {
    let h = Harness::new();
    let client = h.public_client().await;
    let base = form(&borrow_pairs(&pairs(
        client.id.as_str(),
        &[("state", None)],
    )));
    let query = format!("{base}&state=a%20b%2Fc%3Fd%3De%26f");

    let pending = h.begin_request(&authorize_raw(&query)).await.unwrap();
    let response = h.approve(pending, "alice").await;
    assert_eq!(location_params(&response)["state"], "a b/c?d=e&f");

    let error_query = format!("{query}&scope=unknown");
    let (_, response) = expect_redirect(h.begin_request(&authorize_raw(&error_query)).await);
    assert_eq!(location_params(&response)["state"], "a b/c?d=e&f");

    let pending = h.begin_request(&authorize_raw(&query)).await.unwrap();
    let (_, response) = expect_redirect(h.deny(pending).await);
    assert_eq!(location_params(&response)["state"], "a b/c?d=e&f");
}

#[tokio::test]
async fn o21_34_unusual_state_values_round_trip() {
    let h = Harness::new();
    let client = h.public_client().await;
    for state in [
        "+",
        "%",
        "a+b c",
        "é✓",
        "\"'<>\\",
        "ZWVlNDBlYzA1NjdkMDNhYjg3ZjUxZjAyNGQzMTM2NzI",
        &"s".repeat(2000),
    ] {
        let request = pairs(client.id.as_str(), &[("state", Some(state))]);
        let response = approve_pairs(&h, &request).await;
        assert_eq!(location_params(&response)["state"], state);
    }
}

// ---- O21-35: errors after validation are redirected ----

#[tokio::test]
async fn o21_35_invalid_scope_is_redirected_with_state() {
    let h = Harness::new();
    let client = h.public_client().await;
    let request = pairs(client.id.as_str(), &[("scope", Some("read delete"))]);
    let (reason, response) = expect_redirect(begin_pairs(&h, &request).await);
    assert_eq!(reason, Reason::ScopeNotAllowed);
    let raw = location(&response).to_owned();
    assert!(
        raw.starts_with(&format!("{REDIRECT}?error=invalid_scope&")),
        "{raw}"
    );
    assert_error_redirect(&response, "invalid_scope", Some("xyz"));
}

#[tokio::test]
async fn o21_35_user_denial_is_redirected_as_access_denied() {
    let h = Harness::new();
    let client = h.public_client().await;
    let pending = begin_pairs(&h, &pairs(client.id.as_str(), &[]))
        .await
        .unwrap();
    let (reason, response) = expect_redirect(h.deny(pending).await);
    assert_eq!(reason, Reason::UserDenied);
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let params = location_params(&response);
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["state"], "xyz");
    assert_eq!(params["iss"], ISSUER);
    assert!(!params.contains_key("code"));
}

#[tokio::test]
async fn o21_35_client_not_registered_for_the_code_grant_is_unauthorized_client() {
    let h = Harness::new();
    let (client, _) = h
        .register(NewClient::confidential(
            vec![REDIRECT.to_owned()],
            vec![GrantType::ClientCredentials],
        ))
        .await;
    let (reason, response) =
        expect_redirect(begin_pairs(&h, &pairs(client.id.as_str(), &[])).await);
    assert_eq!(reason, Reason::GrantTypeNotAllowed);
    assert_error_redirect(&response, "unauthorized_client", Some("xyz"));
}

// ---- O21-36: error fields use only the allowed characters ----

#[tokio::test]
async fn o21_36_error_fields_are_sanitized_whatever_the_input() {
    let h = Harness::new();
    let client = h.public_client().await;
    let id = client.id.as_str();
    let hostile = "\"\\\né<script>%00\u{7f}";
    let long_hostile = format!("{}{}", "a".repeat(40), hostile);
    // Every case also carries a hostile state, which must be echoed (encoded), never
    // mixed into the error fields.
    let case = |edit: (&str, Option<&str>)| pairs(id, &[("state", Some(hostile)), edit]);
    let mut cases = vec![
        case(("response_type", Some(hostile))),
        case(("response_type", None)),
        case(("scope", Some(hostile))),
        case(("scope", Some("a\"b"))),
        case(("scope", Some("read\\write"))),
        case(("scope", Some("read\nwrite"))),
        case(("scope", Some("lecture-é"))),
        case(("resource", Some(hostile))),
        case(("resource", Some("https://rs.example/\"\\é"))),
        case(("code_challenge", Some(&long_hostile))),
        case(("code_challenge_method", Some(hostile))),
        case(("code_challenge", None)),
    ];
    let mut repeated = case(("scope", Some(hostile)));
    repeated.push(("scope".into(), hostile.into()));
    cases.push(repeated);
    let mut repeated_state = case(("state", Some(hostile)));
    repeated_state.push(("state".into(), hostile.into()));
    cases.push(repeated_state);
    let mut responses = Vec::new();
    for case in cases {
        let (_, response) = expect_redirect(begin_pairs(&h, &case).await);
        responses.push(response);
    }
    let pending = begin_pairs(&h, &pairs(id, &[("state", Some(hostile))]))
        .await
        .unwrap();
    responses.push(expect_redirect(h.deny(pending).await).1);

    let echoed = responses
        .iter()
        .filter(|r| location_params(r).contains_key("state"))
        .count();
    // All but the repeated-state case echo the state.
    assert_eq!(echoed, responses.len() - 1);
    for response in &responses {
        let raw = location(response);
        assert!(raw.is_ascii(), "{raw}");
        assert!(
            !raw.contains(['"', '\\', '\n', '<', '>', ' ']),
            "unencoded characters in {raw}"
        );
        let params = location_params(response);
        assert!(
            AUTHORIZATION_ERRORS.contains(&params["error"].as_str()),
            "{raw}"
        );
        for field in ["error", "error_description"] {
            let value = &params[field];
            assert!(value.chars().all(is_error_char), "{field}={value:?}");
            assert!(!value.contains("script") && !value.contains('é'), "{value}");
        }
        assert!(
            !params.contains_key("error_uri") || params["error_uri"].chars().all(is_error_char)
        );
        if let Some(state) = params.get("state") {
            assert_eq!(state, hostile);
        }
    }
}

#[tokio::test]
async fn o21_36_error_pages_carry_no_request_data() {
    let h = Harness::new();
    let client = h.public_client().await;
    let hostile_uri = "https://evil.example/<script>alert(1)</script>";
    let cases = [
        pairs(client.id.as_str(), &[("redirect_uri", Some(hostile_uri))]),
        pairs("<script>alert(1)</script>", &[]),
    ];
    for case in cases {
        let error = begin_pairs(&h, &case).await.unwrap_err();
        let page = error.into_response(None);
        assert!(page.headers().get("location").is_none());
        let body = std::str::from_utf8(page.body()).unwrap();
        assert!(!body.contains("script") && !body.contains("evil"), "{body}");
        assert!(
            body.chars().all(|c| c == '\n' || is_error_char(c)),
            "{body}"
        );
    }
}

// ---- O21-38 / O21-39: scope ----

#[tokio::test]
async fn o21_38_omitted_scope_takes_the_documented_default() {
    let h = Harness::new();
    let client = h.public_client().await;
    let pending = begin_pairs(&h, &pairs(client.id.as_str(), &[("scope", None)]))
        .await
        .unwrap();
    assert_eq!(pending.scope(), &Scope::parse("read").unwrap());
    let response = h.approve(pending, "alice").await;
    let code = location_params(&response)["code"].clone();
    let (status, body, _) = h.redeem_public(client.id.as_str(), &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "read");
}

#[tokio::test]
async fn o21_38_omitted_scope_without_a_default_is_invalid_scope() {
    let h = Harness::bare(ISSUER, |b| b.scopes(["read", "write"]).resource(RESOURCE));
    let client = h.public_client().await;
    let (reason, response) =
        expect_redirect(begin_pairs(&h, &pairs(client.id.as_str(), &[("scope", None)])).await);
    assert_eq!(reason, Reason::ScopeRequired);
    assert_error_redirect(&response, "invalid_scope", Some("xyz"));
    // A scope that is named still works on that server.
    let request = pairs(client.id.as_str(), &[("scope", Some("write"))]);
    assert_eq!(
        begin_pairs(&h, &request).await.unwrap().scope(),
        &Scope::parse("write").unwrap()
    );
}

#[tokio::test]
async fn o21_39_scope_tokens_are_case_sensitive() {
    let h = Harness::new();
    let client = h.public_client().await;
    // `READ` is not `read`: the harness offers only the lower-case one.
    let request = pairs(client.id.as_str(), &[("scope", Some("read READ"))]);
    let (reason, response) = expect_redirect(begin_pairs(&h, &request).await);
    assert_eq!(reason, Reason::ScopeNotAllowed);
    assert_error_redirect(&response, "invalid_scope", Some("xyz"));

    // A server offering both keeps them as two distinct scopes.
    let h = Harness::bare(ISSUER, |b| b.scopes(["read", "READ"]).resource(RESOURCE));
    let client = h.public_client().await;
    let pending = begin_pairs(
        &h,
        &pairs(client.id.as_str(), &[("scope", Some("read READ"))]),
    )
    .await
    .unwrap();
    assert_eq!(pending.scope().iter().count(), 2);
    assert!(pending.scope().contains("read") && pending.scope().contains("READ"));
}

#[tokio::test]
async fn o21_39_malformed_scope_is_invalid_scope() {
    let h = Harness::new();
    let client = h.public_client().await;
    for scope in [
        "a\"b",
        "read\\",
        "read  write",
        " read",
        "read ",
        "read\twrite",
        "é",
    ] {
        let request = pairs(client.id.as_str(), &[("scope", Some(scope))]);
        let (reason, response) = expect_redirect(begin_pairs(&h, &request).await);
        assert_eq!(reason, Reason::MalformedScope, "{scope:?}");
        assert_error_redirect(&response, "invalid_scope", Some("xyz"));
    }
}

#[tokio::test]
async fn o21_39_scope_order_does_not_matter() {
    let h = Harness::new();
    let client = h.public_client().await;
    let a = begin_pairs(
        &h,
        &pairs(client.id.as_str(), &[("scope", Some("read write"))]),
    )
    .await
    .unwrap();
    let b = begin_pairs(
        &h,
        &pairs(client.id.as_str(), &[("scope", Some("write read"))]),
    )
    .await
    .unwrap();
    assert_eq!(a.scope(), b.scope());
    // A token repeated in the request collapses.
    let c = begin_pairs(
        &h,
        &pairs(client.id.as_str(), &[("scope", Some("write read write"))]),
    )
    .await
    .unwrap();
    assert_eq!(c.scope(), a.scope());
}

// ---- O21-41: completion after a form post is 303, never 307 ----

#[tokio::test]
async fn o21_41_completion_redirects_are_303_never_307() {
    let h = Harness::new();
    let client = h.public_client().await;
    let approved = h
        .approve(
            begin_pairs(&h, &pairs(client.id.as_str(), &[]))
                .await
                .unwrap(),
            "alice",
        )
        .await;
    let (_, denied) = expect_redirect(
        h.deny(
            begin_pairs(&h, &pairs(client.id.as_str(), &[]))
                .await
                .unwrap(),
        )
        .await,
    );
    let (_, posted_error) = expect_redirect(
        h.begin_request(&authorize_post(&borrow_pairs(&pairs(
            client.id.as_str(),
            &[("scope", Some("unknown"))],
        ))))
        .await,
    );
    for response in [&approved, &denied, &posted_error] {
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert_ne!(response.status(), StatusCode::TEMPORARY_REDIRECT);
        assert_ne!(response.status(), StatusCode::PERMANENT_REDIRECT);
    }
}

// ---- O21-44: every parameter is hostile input ----

#[tokio::test]
async fn o21_44_javascript_redirect_uri_is_fatal_and_never_echoed() {
    let h = Harness::new();
    assert!(h
        .provider
        .register_client(NewClient::public(vec!["javascript:alert(1)".to_owned()]))
        .await
        .is_err());
    let client = h.public_client().await;
    for evil in [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "javascript://client.example/cb%0aalert(1)",
    ] {
        let request = pairs(
            client.id.as_str(),
            &[("redirect_uri", Some(evil)), ("state", Some("<script>"))],
        );
        let error = begin_pairs(&h, &request).await.unwrap_err();
        assert!(
            matches!(
                error,
                AuthorizationError::Fatal(Reason::RedirectUriMismatch)
            ),
            "{evil}: {error:?}"
        );
        let page = error.into_response(None);
        assert_eq!(page.status(), StatusCode::BAD_REQUEST);
        assert!(page.headers().get("location").is_none());
        assert_eq!(page.headers()["x-content-type-options"], "nosniff");
        let body = std::str::from_utf8(page.body()).unwrap();
        assert!(
            !body.contains("javascript") && !body.contains("alert") && !body.contains('<'),
            "{body}"
        );
    }
}

#[tokio::test]
async fn o21_44_javascript_uri_stored_for_a_client_is_never_redirected_to() {
    // Defence in depth: a record imported without the registration checks.
    let h = Harness::new();
    let client = store_client(&h, "imported", &["javascript:alert(1)"]).await;
    let request = pairs(
        client.id.as_str(),
        &[("redirect_uri", Some("javascript:alert(1)"))],
    );
    assert_eq!(
        expect_fatal(begin_pairs(&h, &request).await),
        Reason::RedirectUriMismatch
    );
    // Nor is it the default when it is the only one: the client has no usable URI.
    let request = pairs(client.id.as_str(), &[("redirect_uri", None)]);
    assert_eq!(
        expect_fatal(begin_pairs(&h, &request).await),
        Reason::NoRegisteredRedirectUri
    );
}

// ---- PKCE at the authorization endpoint ----

#[tokio::test]
async fn pkce_2_public_client_without_challenge_is_redirected_invalid_request() {
    let h = Harness::new();
    let client = h.public_client().await;
    let request = pairs(
        client.id.as_str(),
        &[("code_challenge", None), ("code_challenge_method", None)],
    );
    let (reason, response) = expect_redirect(begin_pairs(&h, &request).await);
    assert_eq!(reason, Reason::CodeChallengeRequired);
    let params = assert_error_redirect(&response, "invalid_request", Some("xyz"));
    assert!(
        params["error_description"].contains("code challenge required"),
        "{}",
        params["error_description"]
    );
}

#[tokio::test]
async fn pkce_3_confidential_client_without_challenge_is_rejected_by_default() {
    let h = Harness::new();
    let (client, _) = h
        .confidential_client(vec![GrantType::AuthorizationCode])
        .await;
    let request = pairs(
        client.id.as_str(),
        &[("code_challenge", None), ("code_challenge_method", None)],
    );
    let (reason, response) = expect_redirect(begin_pairs(&h, &request).await);
    assert_eq!(reason, Reason::CodeChallengeRequired);
    assert_error_redirect(&response, "invalid_request", Some("xyz"));
}

#[tokio::test]
async fn pkce_3_confidential_exception_is_an_explicit_switch_and_never_covers_public_clients() {
    let h = Harness::with(|b| {
        b.pkce(PkcePolicy {
            require_for_confidential_clients: false,
            ..PkcePolicy::default()
        })
    });
    let (confidential, _) = h
        .confidential_client(vec![GrantType::AuthorizationCode])
        .await;
    let public = h.public_client().await;
    let edits = [("code_challenge", None), ("code_challenge_method", None)];
    assert!(begin_pairs(&h, &pairs(confidential.id.as_str(), &edits))
        .await
        .is_ok());
    let (reason, _) = expect_redirect(begin_pairs(&h, &pairs(public.id.as_str(), &edits)).await);
    assert_eq!(reason, Reason::CodeChallengeRequired);
}

#[tokio::test]
async fn pkce_4_missing_method_is_rejected_on_s256_only_server() {
    let h = Harness::new();
    let client = h.public_client().await;
    let request = pairs(client.id.as_str(), &[("code_challenge_method", None)]);
    let (reason, response) = expect_redirect(begin_pairs(&h, &request).await);
    assert_eq!(reason, Reason::UnsupportedChallengeMethod);
    assert_error_redirect(&response, "invalid_request", Some("xyz"));
}

#[tokio::test]
async fn pkce_4_missing_method_means_plain_on_a_plain_enabled_server() {
    let h = Harness::with(|b| {
        b.pkce(PkcePolicy {
            allow_plain: true,
            ..PkcePolicy::default()
        })
    });
    let client = h.public_client().await;
    let request = pairs(client.id.as_str(), &[("code_challenge_method", None)]);
    // The challenge is taken literally: the S256 verifier does not match it...
    let code = location_params(&approve_pairs(&h, &request).await)["code"].clone();
    let (status, body, _) = h.redeem_public(client.id.as_str(), &code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body), "invalid_grant");
    // ...the challenge itself, as a plain verifier, does.
    let code = location_params(&approve_pairs(&h, &request).await)["code"].clone();
    let (status, body, _) = h
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("client_id", client.id.as_str()),
                ("code_verifier", CHALLENGE),
            ],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn pkce_5_unsupported_challenge_method_is_invalid_request_naming_the_transform() {
    let h = Harness::with(|b| {
        b.pkce(PkcePolicy {
            allow_plain: true,
            ..PkcePolicy::default()
        })
    });
    let client = h.public_client().await;
    for method in ["S512", "s256", "PLAIN", "S256 ", "sha256"] {
        let request = pairs(
            client.id.as_str(),
            &[("code_challenge_method", Some(method))],
        );
        let (reason, response) = expect_redirect(begin_pairs(&h, &request).await);
        assert_eq!(reason, Reason::UnsupportedChallengeMethod, "{method}");
        let params = assert_error_redirect(&response, "invalid_request", Some("xyz"));
        assert!(
            params["error_description"].contains("transform algorithm not supported"),
            "{}",
            params["error_description"]
        );
    }
}

#[tokio::test]
async fn pkce_5_method_without_challenge_is_invalid_request() {
    let h = Harness::new();
    let client = h.public_client().await;
    let request = pairs(client.id.as_str(), &[("code_challenge", None)]);
    let (reason, response) = expect_redirect(begin_pairs(&h, &request).await);
    assert_eq!(reason, Reason::MalformedCodeChallenge);
    assert_error_redirect(&response, "invalid_request", Some("xyz"));
}

#[tokio::test]
async fn pkce_6_challenge_must_be_43_to_128_unreserved_characters() {
    let h = Harness::new();
    let client = h.public_client().await;
    for good in ["a".repeat(43), "a".repeat(128), "AZaz09-._~".repeat(5)] {
        let request = pairs(client.id.as_str(), &[("code_challenge", Some(&good))]);
        assert!(begin_pairs(&h, &request).await.is_ok(), "{good}");
    }
    for bad in [
        "a".repeat(42),
        "a".repeat(129),
        format!("{}=", &CHALLENGE[..42]),
        format!("{}+", &CHALLENGE[..42]),
        format!("{}/", &CHALLENGE[..42]),
        format!("{} ", &CHALLENGE[..42]),
        format!("{}%", &CHALLENGE[..42]),
        format!("{}é", &CHALLENGE[..41]),
        format!("{CHALLENGE}="),
    ] {
        let request = pairs(client.id.as_str(), &[("code_challenge", Some(&bad))]);
        let (reason, response) = expect_redirect(begin_pairs(&h, &request).await);
        assert_eq!(reason, Reason::MalformedCodeChallenge, "{bad}");
        assert_error_redirect(&response, "invalid_request", Some("xyz"));
    }
}

#[tokio::test]
async fn pkce_14_plain_is_refused_by_default() {
    let h = Harness::new();
    let client = h.public_client().await;
    let request = pairs(
        client.id.as_str(),
        &[("code_challenge_method", Some("plain"))],
    );
    let (reason, response) = expect_redirect(begin_pairs(&h, &request).await);
    assert_eq!(reason, Reason::UnsupportedChallengeMethod);
    assert_error_redirect(&response, "invalid_request", Some("xyz"));
    // The same challenge with S256 is accepted.
    let request = pairs(
        client.id.as_str(),
        &[("code_challenge_method", Some("S256"))],
    );
    assert!(begin_pairs(&h, &request).await.is_ok());
}

// ---- BCP-2: no http redirect URIs except loopback ----

#[tokio::test]
async fn bcp_2_http_non_loopback_redirect_is_fatal() {
    let h = Harness::new();
    assert!(h
        .provider
        .register_client(NewClient::public(vec![
            "http://client.example/cb".to_owned()
        ]))
        .await
        .is_err());
    // Requesting the http twin of a registered https URI.
    let client = h.public_client().await;
    let request = pairs(
        client.id.as_str(),
        &[("redirect_uri", Some("http://client.example/cb"))],
    );
    assert_eq!(
        expect_fatal(begin_pairs(&h, &request).await),
        Reason::RedirectUriMismatch
    );
    // A record that has one anyway (imported without the registration checks) gets no
    // redirect either.
    let imported = store_client(&h, "legacy", &["http://client.example/cb"]).await;
    let request = pairs(
        imported.id.as_str(),
        &[("redirect_uri", Some("http://client.example/cb"))],
    );
    assert_eq!(
        expect_fatal(begin_pairs(&h, &request).await),
        Reason::RedirectUriMismatch
    );
    let request = pairs(imported.id.as_str(), &[("redirect_uri", None)]);
    assert_eq!(
        expect_fatal(begin_pairs(&h, &request).await),
        Reason::NoRegisteredRedirectUri
    );
}

#[tokio::test]
async fn bcp_2_http_loopback_redirect_is_accepted() {
    let h = Harness::new();
    let client = public_client_with(&h, &["http://127.0.0.1:8080/cb"]).await;
    let request = pairs(
        client.id.as_str(),
        &[("redirect_uri", Some("http://127.0.0.1:8080/cb"))],
    );
    let response = approve_pairs(&h, &request).await;
    assert!(location(&response).starts_with("http://127.0.0.1:8080/cb?code="));
}

// ---- RFC 8707 resource indicators at /authorize ----

#[tokio::test]
async fn ri_1_malformed_resource_is_redirected_invalid_target() {
    let h = Harness::new();
    let client = h.public_client().await;
    for resource in [
        "/rel",
        "rel",
        "https://api.example/mcp#f",
        "https://api.example/mcp#",
        "//api.example/mcp",
    ] {
        let request = pairs(client.id.as_str(), &[("resource", Some(resource))]);
        let (reason, response) = expect_redirect(begin_pairs(&h, &request).await);
        assert_eq!(reason, Reason::MalformedResource, "{resource}");
        assert_error_redirect(&response, "invalid_target", Some("xyz"));
    }
}

#[tokio::test]
async fn ri_3_unknown_resource_is_redirected_invalid_target() {
    let h = Harness::new();
    let client = h.public_client().await;
    let request = pairs(
        client.id.as_str(),
        &[("resource", Some("https://unknown.example"))],
    );
    let (reason, response) = expect_redirect(begin_pairs(&h, &request).await);
    assert_eq!(reason, Reason::UnknownResource);
    assert_error_redirect(&response, "invalid_target", Some("xyz"));
    // One unknown among known ones spoils the request.
    let mut request = pairs(client.id.as_str(), &[("resource", Some(RESOURCE))]);
    request.push(("resource".into(), "https://unknown.example".into()));
    let (_, response) = expect_redirect(begin_pairs(&h, &request).await);
    assert_error_redirect(&response, "invalid_target", Some("xyz"));
}

#[tokio::test]
async fn ri_8_upper_case_scheme_and_host_map_to_the_canonical_resource() {
    let h = Harness::new();
    let client = h.public_client().await;
    let canonical = Resource::parse(RESOURCE).unwrap();
    assert_eq!(canonical.as_str(), "https://api.example/mcp");
    for spelling in [
        "HTTPS://API.EXAMPLE/mcp",
        "https://Api.Example/mcp",
        "https://api.example:443/mcp",
    ] {
        let request = pairs(client.id.as_str(), &[("resource", Some(spelling))]);
        let pending = begin_pairs(&h, &request).await.unwrap();
        assert!(pending.resources().contains(&canonical), "{spelling}");
        assert_eq!(pending.resources().iter().count(), 1);
        let response = h.approve(pending, "alice").await;
        let code = location_params(&response)["code"].clone();
        let (status, body, _) = h.redeem_public(client.id.as_str(), &code).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let access = h
            .bearer(body["access_token"].as_str().unwrap())
            .await
            .unwrap();
        assert!(access.audience.contains(&canonical));
    }
    // The path is not case-folded, and a trailing slash names another resource.
    for other in ["https://api.example/MCP", "https://api.example/mcp/"] {
        let request = pairs(client.id.as_str(), &[("resource", Some(other))]);
        let (_, response) = expect_redirect(begin_pairs(&h, &request).await);
        assert_error_redirect(&response, "invalid_target", Some("xyz"));
    }
}

// ---- RFC 9207: `iss` in every authorization response ----

#[tokio::test]
async fn iss_1_success_and_error_redirects_carry_iss() {
    let h = Harness::new();
    let client = h.public_client().await;
    let success = approve_pairs(&h, &pairs(client.id.as_str(), &[])).await;
    let (_, denied) = expect_redirect(
        h.deny(
            begin_pairs(&h, &pairs(client.id.as_str(), &[]))
                .await
                .unwrap(),
        )
        .await,
    );
    let (_, invalid) = expect_redirect(
        begin_pairs(
            &h,
            &pairs(client.id.as_str(), &[("scope", Some("unknown"))]),
        )
        .await,
    );
    let (_, no_state) = expect_redirect(
        begin_pairs(
            &h,
            &pairs(
                client.id.as_str(),
                &[("state", None), ("response_type", Some("token"))],
            ),
        )
        .await,
    );
    for response in [&success, &denied, &invalid, &no_state] {
        assert_eq!(
            location_params(response)["iss"],
            ISSUER,
            "{}",
            location(response)
        );
    }
}

#[tokio::test]
async fn iss_2_iss_equals_the_configured_issuer_exactly() {
    let issuer = "https://as.example/tenant1";
    let h = Harness::bare(issuer, |b| {
        b.scopes(["read"])
            .default_scope(["read"])
            .resource(RESOURCE)
    });
    assert_eq!(h.provider.config().issuer().as_str(), issuer);
    let client = h.public_client().await;
    let success = approve_pairs(&h, &pairs(client.id.as_str(), &[])).await;
    let (_, error) = expect_redirect(
        begin_pairs(
            &h,
            &pairs(client.id.as_str(), &[("scope", Some("unknown"))]),
        )
        .await,
    );
    for response in [&success, &error] {
        let iss = location_params(response)["iss"].clone();
        assert_eq!(iss, issuer);
        let url = url::Url::parse(&iss).unwrap();
        assert_eq!(url.scheme(), "https");
        assert!(url.query().is_none() && url.fragment().is_none());
    }
}

#[tokio::test]
async fn iss_2_iss_never_comes_from_the_request() {
    let h = Harness::new();
    let client = h.public_client().await;
    let request = Request::get(format!(
        "https://evil.example/authorize?{}&iss=https%3A%2F%2Fevil.example",
        form(&borrow_pairs(&pairs(client.id.as_str(), &[])))
    ))
    .header("host", "evil.example")
    .header("x-forwarded-host", "evil.example")
    .body(Vec::new())
    .unwrap();
    let pending = h.begin_request(&request).await.unwrap();
    let response = h.approve(pending, "alice").await;
    assert_eq!(location_params(&response)["iss"], ISSUER);
    assert!(!location(&response).contains("evil"));
}

#[tokio::test]
async fn iss_4_iss_is_form_encoded_in_the_query() {
    // RFC 9207 §2.1, vector V-7.
    let h = Harness::bare("https://honest.as.example", |b| {
        b.scopes(["read"])
            .default_scope(["read"])
            .resource(RESOURCE)
    });
    let client = h.public_client().await;
    let success = approve_pairs(&h, &pairs(client.id.as_str(), &[])).await;
    let (_, denied) = expect_redirect(
        h.deny(
            begin_pairs(&h, &pairs(client.id.as_str(), &[]))
                .await
                .unwrap(),
        )
        .await,
    );
    for response in [&success, &denied] {
        let raw = location(response);
        assert!(
            raw.contains("&iss=https%3A%2F%2Fhonest.as.example"),
            "{raw}"
        );
        assert!(!raw.contains("iss=https://"), "{raw}");
    }
}

#[tokio::test]
async fn iss_5_default_configuration_emits_iss() {
    // Nothing about `iss` is configured: it is on by default.
    let h = Harness::bare(ISSUER, |b| b.scopes(["read"]).default_scope(["read"]));
    let client = h.public_client().await;
    let response = approve_pairs(&h, &pairs(client.id.as_str(), &[])).await;
    assert_eq!(location_params(&response)["iss"], ISSUER);
}

// ---- Request-size and encoding limits: fatal before anything is trusted ----

#[tokio::test]
async fn o21_32_oversized_request_is_fatal_and_never_redirected() {
    let h = Harness::with(|b| b.max_body_bytes(2048));
    let client = h.public_client().await;
    let padding = "p".repeat(4096);
    let request = pairs(client.id.as_str(), &[("padding", Some(&padding))]);
    assert_eq!(
        expect_fatal(begin_pairs(&h, &request).await),
        Reason::BodyTooLarge
    );
    assert_eq!(
        expect_fatal(
            h.begin_request(&authorize_post(&borrow_pairs(&request)))
                .await
        ),
        Reason::BodyTooLarge
    );
    // Just under the limit is fine.
    let request = pairs(client.id.as_str(), &[("padding", Some("p"))]);
    assert!(begin_pairs(&h, &request).await.is_ok());
}

#[tokio::test]
async fn o21_32_invalid_utf8_in_the_query_is_fatal_and_never_redirected() {
    let h = Harness::new();
    let client = h.public_client().await;
    let base = form(&borrow_pairs(&pairs(
        client.id.as_str(),
        &[("state", None)],
    )));
    for bad in [
        "state=%FF",
        "scope=%C3%28",
        "foo=%FF",
        "state=%zz",
        "state=%",
    ] {
        let query = format!("{base}&{bad}");
        assert_eq!(
            expect_fatal(h.begin_request(&authorize_raw(&query)).await),
            Reason::MalformedEncoding,
            "{bad}"
        );
    }
}

#[tokio::test]
async fn o21_32_too_many_parameters_is_fatal_and_never_redirected() {
    let h = Harness::new();
    let client = h.public_client().await;
    let usual = pairs(client.id.as_str(), &[]);
    let with_extra = |count: usize| {
        let mut request = usual.clone();
        request.extend((0..count).map(|i| (format!("x{i}"), "1".to_owned())));
        request
    };
    let limit = oauth_core::params::MAX_PARAMETERS;
    assert!(begin_pairs(&h, &with_extra(limit - usual.len()))
        .await
        .is_ok());
    assert_eq!(
        expect_fatal(begin_pairs(&h, &with_extra(limit - usual.len() + 1)).await),
        Reason::TooManyParameters
    );
}
