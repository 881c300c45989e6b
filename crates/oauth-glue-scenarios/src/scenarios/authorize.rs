//! The host's authorization route (OAuth 2.1 §4.1.1-§4.1.2): the consent page of a
//! valid request, GET or POST; error pages that never redirect for unknown clients and
//! untrusted redirect URIs, nor for anyone before login; the redirects of an
//! authenticated user's approval, denial or error, with `state` and `iss`.

use http::StatusCode;

use crate::harness::{
    authorization_query, authorize_get, authorize_post, without_content_length, RequestExt as _,
    Scene, DEFAULT_MAX_BODY, REDIRECT,
};
use crate::{Glue, DECISION_HEADER, ISSUER, USER_HEADER};

/// The consent page of a valid request: `text/html`, the page security headers, and a
/// CSP `form-action` that also allows the client's origin (the consent form's answer
/// redirects there).
fn assert_consent_page(reply: &crate::harness::Reply, expected_html: &str) {
    reply.assert_status(StatusCode::OK);
    assert_eq!(reply.text(), expected_html);
    assert_eq!(reply.header("content-type"), "text/html; charset=utf-8");
    reply.assert_page_security_headers();
    reply.assert_absent("location");
    let csp = reply.header("content-security-policy");
    assert!(
        csp.contains("form-action 'self' https://client.example;"),
        "{csp}"
    );
}

/// OAuth 2.1 §4.1.1: a valid GET request is the consent page for the client and the
/// requested scope, with anti-framing and no-referrer headers (§7.11, RFC 9700 §4.2.4).
pub async fn authorize_get_shows_the_consent_page_with_security_headers(glue: &dyn Glue) {
    let scene = Scene::new(glue).await;
    let client = scene.public_client().await;
    let query = authorization_query(client.id.as_str(), &[("scope", "read write")]);
    let reply = scene.send(authorize_get(&query)).await;
    assert_consent_page(&reply, &format!("client={} scope=read write", client.id));
}

/// OAuth 2.1 §3.1 (O21-5): the same request as a form POST is the same consent page.
pub async fn authorize_post_shows_the_consent_page_with_security_headers(glue: &dyn Glue) {
    let scene = Scene::new(glue).await;
    let client = scene.public_client().await;
    let body = authorization_query(client.id.as_str(), &[("scope", "write")]);
    let reply = scene.send(authorize_post(body)).await;
    assert_consent_page(&reply, &format!("client={} scope=write", client.id));
}

/// OAuth 2.1 §3.2.2.1: without `scope` (or with an empty one, O21-3), the default scope
/// applies.
pub async fn authorize_default_scope_applies_when_none_is_requested(glue: &dyn Glue) {
    let scene = Scene::new(glue).await;
    let client = scene.public_client().await;
    let query = authorization_query(client.id.as_str(), &[]);
    let reply = scene.send(authorize_get(&query)).await;
    assert_consent_page(&reply, &format!("client={} scope=read", client.id));
    let query = format!("{query}&scope=");
    let reply = scene.send(authorize_get(&query)).await;
    assert_consent_page(&reply, &format!("client={} scope=read", client.id));
}

/// OAuth 2.1 §4.1.2.1: an unknown client is never redirected to, not even for a
/// logged-in user: an error page without `Location`, GET or POST.
pub async fn authorize_unknown_client_is_a_page_without_location(glue: &dyn Glue) {
    let scene = Scene::new(glue).await;
    let query = authorization_query("no-such-client", &[]);
    for request in [
        authorize_get(&query),
        authorize_get(&query).with_header(USER_HEADER, "alice"),
        authorize_post(query.clone()),
        authorize_post(query.clone()).with_header(USER_HEADER, "alice"),
    ] {
        scene
            .send(request)
            .await
            .assert_error_page("invalid_client");
    }
}

/// OAuth 2.1 §4.1.2.1, §7.12 (O21-28): a redirect URI that is not exactly a registered
/// one is never redirected to: an error page without `Location` that does not echo it.
pub async fn authorize_mismatched_redirect_uri_is_a_page_without_location(glue: &dyn Glue) {
    let scene = Scene::new(glue).await;
    let client = scene.public_client().await;
    for redirect in [
        "https://attacker.example/cb",
        "https://client.example/cb/",
        "https://client.example:443/cb",
    ] {
        let query = authorization_query(client.id.as_str(), &[("redirect_uri", redirect)]);
        for request in [
            authorize_get(&query),
            authorize_get(&query).with_header(USER_HEADER, "alice"),
        ] {
            let reply = scene.send(request).await;
            reply.assert_error_page("invalid_request");
            assert!(!reply.text().contains("attacker"), "{}", reply.text());
        }
    }
}

/// OAuth 2.1 §4.1.2.1, §7.13.2: an error that may go back to the client is a page while
/// nobody is logged in (no open redirector), and a 302 to the client with `error`,
/// `state` and `iss` (RFC 9207) for an authenticated user; never a code.
pub async fn authorize_redirect_class_error_is_a_page_without_user_and_a_302_with_user(
    glue: &dyn Glue,
) {
    let scene = Scene::new(glue).await;
    let client = scene.public_client().await;
    let query = authorization_query(client.id.as_str(), &[("response_type", "token")]);

    scene
        .send(authorize_get(&query))
        .await
        .assert_error_page("unsupported_response_type");

    let reply = scene
        .send(authorize_get(&query).with_header(USER_HEADER, "alice"))
        .await;
    let params = reply.assert_client_redirect(StatusCode::FOUND);
    assert_eq!(params["error"], "unsupported_response_type");
    assert_eq!(params["state"], "xyz");
    assert_eq!(params["iss"], ISSUER);
    assert!(!params.contains_key("code"), "{params:?}");
}

/// OAuth 2.1 §4.1.2.1 (PKCE-2): a missing code challenge after a form POST is redirected
/// with 303 (never 307, which would re-post the form to the client).
pub async fn authorize_redirect_class_error_after_a_post_is_a_303(glue: &dyn Glue) {
    let scene = Scene::new(glue).await;
    let client = scene.public_client().await;
    let body = authorization_query(client.id.as_str(), &[("code_challenge", "")]);
    let reply = scene
        .send(authorize_post(body).with_header(USER_HEADER, "alice"))
        .await;
    let params = reply.assert_client_redirect(StatusCode::SEE_OTHER);
    assert_eq!(params["error"], "invalid_request");
    assert_eq!(params["state"], "xyz");
    assert_eq!(params["iss"], ISSUER);
}

/// OAuth 2.1 §3.1 (O21-4): a parameter sent twice is `invalid_request`, whatever the
/// framework's query parser would have kept: a page before login, a redirect after.
pub async fn authorize_with_duplicated_parameter_is_invalid_request(glue: &dyn Glue) {
    let scene = Scene::new(glue).await;
    let client = scene.public_client().await;
    let query = format!(
        "{}&scope=write",
        authorization_query(client.id.as_str(), &[("scope", "read")])
    );
    scene
        .send(authorize_get(&query))
        .await
        .assert_error_page("invalid_request");
    let reply = scene
        .send(authorize_get(&query).with_header(USER_HEADER, "alice"))
        .await;
    let params = reply.assert_client_redirect(StatusCode::FOUND);
    assert_eq!(params["error"], "invalid_request");
    assert_eq!(params["state"], "xyz");

    // A repeated client_id cannot say which client to redirect to: a page, always.
    let query = format!(
        "{}&client_id=other",
        authorization_query(client.id.as_str(), &[])
    );
    let reply = scene
        .send(authorize_get(&query).with_header(USER_HEADER, "alice"))
        .await;
    reply.assert_status(StatusCode::BAD_REQUEST);
    reply.assert_absent("location");
    reply.assert_page_security_headers();
}

/// OAuth 2.1 §4.1.2, RFC 9207: the user's approval redirects (303) to the client with a
/// code, `state` and `iss`, `no-referrer` and `no-store`.
pub async fn authorize_approval_redirects_with_code_state_and_iss(glue: &dyn Glue) {
    let scene = Scene::new(glue).await;
    let client = scene.public_client().await;
    let query = authorization_query(client.id.as_str(), &[]);
    let reply = scene
        .send(authorize_get(&query).with_header(USER_HEADER, "alice"))
        .await;
    let params = reply.assert_client_redirect(StatusCode::SEE_OTHER);
    assert!(params["code"].len() >= 27, "{params:?}");
    assert_eq!(params["state"], "xyz");
    assert_eq!(params["iss"], ISSUER);
    assert!(!params.contains_key("error"), "{params:?}");
}

/// OAuth 2.1 §4.1.2.1: the user's denial redirects to the client with `access_denied`,
/// `state` and `iss`, and no code.
pub async fn authorize_denial_redirects_with_access_denied_state_and_iss(glue: &dyn Glue) {
    let scene = Scene::new(glue).await;
    let client = scene.public_client().await;
    let query = authorization_query(client.id.as_str(), &[]);
    let reply = scene
        .send(
            authorize_get(&query)
                .with_header(USER_HEADER, "alice")
                .with_header(DECISION_HEADER, "deny"),
        )
        .await;
    let params = reply.assert_client_redirect(StatusCode::SEE_OTHER);
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["state"], "xyz");
    assert_eq!(params["iss"], ISSUER);
    assert!(!params.contains_key("code"), "{params:?}");
    assert!(reply.header("location").starts_with(REDIRECT));
}

/// A POST body over the provider's limit is read no further and never validated as a
/// request: an error page without `Location` (`invalid_request`), with or without
/// `Content-Length`, even for a logged-in user.
pub async fn authorize_oversized_post_body_is_a_page_without_location(glue: &dyn Glue) {
    let scene = Scene::new(glue).await;
    let client = scene.public_client().await;
    let body = format!(
        "{}&pad={}",
        authorization_query(client.id.as_str(), &[]),
        "p".repeat(DEFAULT_MAX_BODY)
    );
    for request in [
        authorize_post(body.clone()),
        without_content_length(authorize_post(body.clone())),
        authorize_post(body.clone()).with_header(USER_HEADER, "alice"),
    ] {
        scene
            .send(request)
            .await
            .assert_error_page("invalid_request");
    }
}
