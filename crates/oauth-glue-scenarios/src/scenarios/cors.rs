//! CORS of the protocol endpoints (OAuth 2.1 §3.2, RFC 8414 §3, RFC 9728 §3): open to
//! any origin by default without credentials, an allow-list, or none at all; never on
//! the authorization endpoint (OAuth 2.1 §3.1, O21-8). See the crate docs for what each
//! policy answers.

use http::StatusCode;
use oauth_core::model::AuthMethod;

use crate::harness::{
    authorization_query, authorize_get, basic, form_post, get, preflight, registration_provider,
    Reply, RequestExt as _, Scene, BROWSER_ORIGIN, EVIL_ORIGIN,
};
use crate::{Cors, Glue};

/// The preflight answer of an allowed origin: 200, `allow_origin`, POST and the request
/// headers allowed, max age 600, `Vary: Origin`, never credentials.
fn assert_preflight_allowed(reply: &Reply, allow_origin: &str) {
    reply.assert_status(StatusCode::OK);
    assert_eq!(reply.header("access-control-allow-origin"), allow_origin);
    reply.assert_lists("access-control-allow-methods", "post");
    for name in [
        "authorization",
        "content-type",
        "accept",
        "mcp-protocol-version",
    ] {
        reply.assert_lists("access-control-allow-headers", name);
    }
    assert_eq!(reply.header("access-control-max-age"), "600");
    reply.assert_lists("vary", "origin");
    reply.assert_absent("access-control-allow-credentials");
}

/// An actual response readable by `allow_origin`, its challenge included.
fn assert_actual_allowed(reply: &Reply, allow_origin: &str) {
    assert_eq!(reply.header("access-control-allow-origin"), allow_origin);
    reply.assert_lists("access-control-expose-headers", "www-authenticate");
    reply.assert_lists("vary", "origin");
    reply.assert_absent("access-control-allow-credentials");
}

/// O21-9: with `AnyOrigin`, a preflight of the token endpoint allows any origin (`*`,
/// no credentials), POST, and the `Authorization` and `Content-Type` headers.
pub async fn cors_any_origin_preflight_of_the_token_endpoint_is_allowed(glue: &dyn Glue) {
    let scene = Scene::new(glue).await;
    let reply = scene.send(preflight("/token", BROWSER_ORIGIN)).await;
    assert_preflight_allowed(&reply, "*");
    assert!(reply.body.is_empty(), "{:?}", reply.text());
}

/// O21-9: every protocol endpoint (token, revocation, introspection, registration,
/// client configuration, both metadata documents) answers preflights.
pub async fn cors_any_origin_covers_every_protocol_endpoint(glue: &dyn Glue) {
    let scene = Scene::of(glue, registration_provider()).await;
    for path in [
        "/token",
        "/revoke",
        "/introspect",
        "/register",
        "/register/some-client",
        "/.well-known/oauth-authorization-server",
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource",
    ] {
        let reply = scene.send(preflight(path, BROWSER_ORIGIN)).await;
        assert_preflight_allowed(&reply, "*");
    }
}

/// An actual cross-origin request gets the core's answer unchanged, readable from any
/// origin, with `WWW-Authenticate` exposed.
pub async fn cors_any_origin_actual_response_exposes_www_authenticate(glue: &dyn Glue) {
    let scene = Scene::new(glue).await;
    let reply = scene
        .send(get("/token").with_header("origin", BROWSER_ORIGIN))
        .await;
    reply.assert_oauth_error(StatusCode::METHOD_NOT_ALLOWED, "invalid_request");
    assert_eq!(reply.header("allow"), "POST");
    assert_actual_allowed(&reply, "*");
}

/// OAuth 2.1 §3.2.4 and O21-9: a browser client can read the token endpoint's 401 and
/// its `Basic` challenge.
pub async fn cors_lets_a_browser_read_the_basic_challenge_of_the_token_endpoint(glue: &dyn Glue) {
    let scene = Scene::new(glue).await;
    let (client, _) = scene
        .confidential_client(AuthMethod::ClientSecretBasic)
        .await;
    let request = form_post(
        "/token",
        &[("grant_type", "authorization_code"), ("code", "x")],
    )
    .with_header("origin", BROWSER_ORIGIN)
    .with_header("authorization", &basic(client.id.as_str(), "wrong"));
    let reply = scene.send(request).await;
    reply.assert_basic_challenge();
    assert_actual_allowed(&reply, "*");
}

/// RFC 8414 §3, RFC 9728 §3: the metadata documents are readable cross-origin (browser
/// MCP clients discover with them), still cacheable.
pub async fn cors_metadata_documents_are_readable_cross_origin(glue: &dyn Glue) {
    let scene = Scene::new(glue).await;
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/oauth-protected-resource/mcp",
    ] {
        let reply = scene
            .send(get(path).with_header("origin", BROWSER_ORIGIN))
            .await;
        reply.assert_status(StatusCode::OK);
        assert_eq!(reply.header("cache-control"), "public, max-age=3600");
        assert_actual_allowed(&reply, "*");
    }
}

/// `Origins`: an allowed origin is echoed (never `*`), on preflights and actual
/// responses, with `Vary: Origin`.
pub async fn cors_listed_origin_is_echoed(glue: &dyn Glue) {
    let provider = crate::harness::provider();
    let cors = Cors::Origins(vec![BROWSER_ORIGIN.to_owned()]);
    let scene = Scene::with_cors(glue, provider, cors).await;
    let reply = scene.send(preflight("/token", BROWSER_ORIGIN)).await;
    assert_preflight_allowed(&reply, BROWSER_ORIGIN);

    let reply = scene
        .send(get("/token").with_header("origin", BROWSER_ORIGIN))
        .await;
    reply.assert_oauth_error(StatusCode::METHOD_NOT_ALLOWED, "invalid_request");
    assert_actual_allowed(&reply, BROWSER_ORIGIN);
}

/// `Origins`: an unlisted origin is never allowed (no `Access-Control-Allow-Origin`, on
/// preflights or actual responses); its actual requests still get the core's answer,
/// which its browser will not let it read.
pub async fn cors_unlisted_origin_is_not_allowed(glue: &dyn Glue) {
    let provider = crate::harness::provider();
    let cors = Cors::Origins(vec![BROWSER_ORIGIN.to_owned()]);
    let scene = Scene::with_cors(glue, provider, cors).await;
    for origin in [EVIL_ORIGIN, "null", "https://app.example.evil.example"] {
        let reply = scene.send(preflight("/token", origin)).await;
        reply.assert_absent("access-control-allow-origin");
        reply.assert_absent("access-control-allow-credentials");

        let reply = scene
            .send(get("/token").with_header("origin", origin))
            .await;
        reply.assert_oauth_error(StatusCode::METHOD_NOT_ALLOWED, "invalid_request");
        reply.assert_absent("access-control-allow-origin");
        reply.assert_absent("access-control-allow-credentials");
    }
}

/// `SameOriginOnly`: no CORS headers at all; a preflight is no longer answered by a CORS
/// layer, the core sees `OPTIONS` (405 `Allow: POST`).
pub async fn cors_same_origin_only_adds_no_cors_headers(glue: &dyn Glue) {
    let scene = Scene::with_cors(glue, crate::harness::provider(), Cors::SameOriginOnly).await;
    let reply = scene.send(preflight("/token", BROWSER_ORIGIN)).await;
    reply.assert_oauth_error(StatusCode::METHOD_NOT_ALLOWED, "invalid_request");
    assert_eq!(reply.header("allow"), "POST");
    reply.assert_no_cors();

    let reply = scene
        .send(get("/.well-known/oauth-authorization-server").with_header("origin", BROWSER_ORIGIN))
        .await;
    reply.assert_status(StatusCode::OK);
    reply.assert_no_cors();
    reply.assert_absent("vary");
}

/// OAuth 2.1 §3.1 (O21-8): the authorization endpoint has no CORS, whatever the policy
/// of the protocol endpoints beside it: neither its pages, nor its redirects, nor its
/// preflights (`OPTIONS` is not a method of the route: 405).
pub async fn cors_is_never_applied_to_the_authorization_endpoint(glue: &dyn Glue) {
    let scene = Scene::new(glue).await;
    let client = scene.public_client().await;
    let query = authorization_query(client.id.as_str(), &[]);
    let reply = scene
        .send(authorize_get(&query).with_header("origin", BROWSER_ORIGIN))
        .await;
    reply.assert_status(StatusCode::OK);
    reply.assert_page_security_headers();
    reply.assert_no_cors();

    let reply = scene
        .send(
            authorize_get(&query)
                .with_header("origin", BROWSER_ORIGIN)
                .with_header(crate::USER_HEADER, "alice"),
        )
        .await;
    reply.assert_status(StatusCode::SEE_OTHER);
    reply.assert_no_cors();

    let reply = scene.send(preflight("/authorize", BROWSER_ORIGIN)).await;
    reply.assert_status(StatusCode::METHOD_NOT_ALLOWED);
    reply.assert_no_cors();

    // While the endpoints beside it keep theirs.
    let reply = scene.send(preflight("/token", BROWSER_ORIGIN)).await;
    assert_preflight_allowed(&reply, "*");
}

/// CORS covers the protocol endpoints only: an unknown path is the framework's 404
/// without CORS headers, and a preflight there is never answered as allowed.
pub async fn cors_is_not_applied_to_unknown_paths(glue: &dyn Glue) {
    let scene = Scene::new(glue).await;
    let reply = scene.send(preflight("/nowhere", BROWSER_ORIGIN)).await;
    reply.assert_status(StatusCode::NOT_FOUND);
    reply.assert_no_cors();
    let reply = scene
        .send(get("/nowhere").with_header("origin", BROWSER_ORIGIN))
        .await;
    reply.assert_status(StatusCode::NOT_FOUND);
    reply.assert_no_cors();
}
