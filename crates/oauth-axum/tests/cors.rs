//! CORS by endpoint group (`CorsPolicy`): the protocol endpoints open to any origin by
//! default, never with credentials, `Vary: Origin` always, `WWW-Authenticate` exposed;
//! a list of origins; none at all; and never on the host's authorization route.

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use common::*;
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode};
use oauth_axum::{CorsPolicy, Page, ProtocolRouter};

const APP: &str = "https://app.example";

fn preflight(path: &str, origin: &str) -> Request<Body> {
    Request::builder()
        .method(Method::OPTIONS)
        .uri(path)
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .body(Body::empty())
        .unwrap()
}

fn with_origin(mut request: Request<Body>, origin: &str) -> Request<Body> {
    request
        .headers_mut()
        .insert("origin", HeaderValue::from_str(origin).unwrap());
    request
}

fn router_with(provider: &TestProvider, policy: CorsPolicy) -> Router {
    ProtocolRouter::new(Arc::clone(provider))
        .cors(policy)
        .build()
}

/// Every comma-separated value of every `name` header, lowercased.
fn list(headers: &HeaderMap, name: &str) -> Vec<String> {
    headers
        .get_all(name)
        .iter()
        .flat_map(|v| v.to_str().unwrap().split(','))
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty())
        .collect()
}

fn assert_no_cors_headers(headers: &HeaderMap) {
    for (name, _) in headers {
        assert!(
            !name.as_str().starts_with("access-control-"),
            "{name} in {headers:?}"
        );
    }
}

#[tokio::test]
async fn default_policy_preflight_allows_any_origin_and_the_authorization_header_without_credentials(
) {
    let provider = provider();
    let (status, headers, body) =
        parts(send(protocol(&provider), preflight("/token", APP)).await).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.is_empty());
    assert_eq!(header(&headers, "access-control-allow-origin"), "*");
    let methods = list(&headers, "access-control-allow-methods");
    assert!(methods.contains(&"post".to_owned()), "{methods:?}");
    let allowed = list(&headers, "access-control-allow-headers");
    for name in [
        "authorization",
        "content-type",
        "accept",
        "mcp-protocol-version",
    ] {
        assert!(allowed.contains(&name.to_owned()), "{allowed:?}");
    }
    assert_eq!(header(&headers, "access-control-max-age"), "600");
    assert!(
        list(&headers, "vary").contains(&"origin".to_owned()),
        "{headers:?}"
    );
    assert!(headers.get("access-control-allow-credentials").is_none());
}

#[tokio::test]
async fn default_policy_covers_every_protocol_endpoint() {
    let provider = registration_provider();
    let router = ProtocolRouter::new(Arc::clone(&provider));
    for path in router.paths() {
        let path = path.replace("{client_id}", "some-client");
        let (status, headers, _) =
            parts(send(protocol(&provider), preflight(&path, APP)).await).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(
            header(&headers, "access-control-allow-origin"),
            "*",
            "{path}"
        );
        assert!(headers.get("access-control-allow-credentials").is_none());
    }
}

#[tokio::test]
async fn default_policy_actual_response_exposes_www_authenticate() {
    let provider = provider();
    let request = with_origin(empty(Method::GET, "/token"), APP);
    let (status, headers, body) = json_parts(send(protocol(&provider), request).await).await;
    // The core's answer is untouched...
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&headers, "allow"), "POST");
    assert_eq!(body["error"], "invalid_request");
    // ...and readable from any origin, with its challenge.
    assert_eq!(header(&headers, "access-control-allow-origin"), "*");
    assert!(
        list(&headers, "access-control-expose-headers").contains(&"www-authenticate".to_owned()),
        "{headers:?}"
    );
    assert!(list(&headers, "vary").contains(&"origin".to_owned()));
    assert!(headers.get("access-control-allow-credentials").is_none());
}

#[tokio::test]
async fn default_policy_lets_a_browser_read_a_basic_challenge_from_the_token_endpoint() {
    let provider = provider();
    let request = Request::post("/token")
        .header("origin", APP)
        .header("content-type", FORM)
        .header("authorization", basic("nobody", "wrong"))
        .body(Body::from(form(&[
            ("grant_type", "authorization_code"),
            ("code", "x"),
        ])))
        .unwrap();
    let (status, headers, body) = json_parts(send(protocol(&provider), request).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "invalid_client");
    assert!(header(&headers, "www-authenticate").starts_with("Basic "));
    assert_eq!(header(&headers, "access-control-allow-origin"), "*");
    assert_eq!(
        header(&headers, "access-control-expose-headers"),
        "www-authenticate"
    );
}

#[tokio::test]
async fn metadata_documents_are_readable_cross_origin() {
    let provider = provider();
    let request = with_origin(
        empty(Method::GET, "/.well-known/oauth-authorization-server"),
        APP,
    );
    let (status, headers, body) = json_parts(send(protocol(&provider), request).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["issuer"], ISSUER);
    assert_eq!(header(&headers, "access-control-allow-origin"), "*");
    assert_eq!(header(&headers, "cache-control"), "public, max-age=3600");
}

#[tokio::test]
async fn origins_policy_echoes_an_allowed_origin_and_ignores_others() {
    let provider = provider();
    let policy = || CorsPolicy::Origins(vec![HeaderValue::from_static(APP)]);

    let (status, headers, _) =
        parts(send(router_with(&provider, policy()), preflight("/token", APP)).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "access-control-allow-origin"), APP);
    assert!(list(&headers, "vary").contains(&"origin".to_owned()));
    assert!(headers.get("access-control-allow-credentials").is_none());

    let (status, headers, _) = parts(
        send(
            router_with(&provider, policy()),
            preflight("/token", "https://evil.example"),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers.get("access-control-allow-origin").is_none(),
        "{headers:?}"
    );
    // The response still varies by origin, so no cache serves it to the allowed one.
    assert!(list(&headers, "vary").contains(&"origin".to_owned()));

    // Actual requests: the same.
    let request = with_origin(empty(Method::GET, "/token"), APP);
    let (status, headers, _) = parts(send(router_with(&provider, policy()), request).await).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&headers, "access-control-allow-origin"), APP);
    let request = with_origin(empty(Method::GET, "/token"), "https://evil.example");
    let (status, headers, _) = parts(send(router_with(&provider, policy()), request).await).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(headers.get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn same_origin_only_policy_adds_no_cors_headers() {
    let provider = provider();
    assert!(CorsPolicy::SameOriginOnly.layer().is_none());

    // A preflight is no longer answered by a CORS layer: the core sees OPTIONS.
    let (status, headers, body) = json_parts(
        send(
            router_with(&provider, CorsPolicy::SameOriginOnly),
            preflight("/token", APP),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&headers, "allow"), "POST");
    assert_eq!(body["error"], "invalid_request");
    assert_no_cors_headers(&headers);

    let request = with_origin(
        empty(Method::GET, "/.well-known/oauth-authorization-server"),
        APP,
    );
    let (status, headers, _) =
        parts(send(router_with(&provider, CorsPolicy::SameOriginOnly), request).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_no_cors_headers(&headers);
    assert!(headers.get("vary").is_none());
}

#[tokio::test]
async fn host_authorization_route_merged_beside_the_protocol_router_gets_no_cors_headers() {
    let provider = provider();
    let app: Router = Router::new()
        .route(
            "/authorize",
            get(|| async { Page::ok("<p>login</p>").into_response() }),
        )
        .merge(protocol(&provider));

    let request = with_origin(empty(Method::GET, "/authorize"), APP);
    let (status, headers, body) = text_parts(send(app.clone(), request).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "<p>login</p>");
    assert_eq!(header(&headers, "x-frame-options"), "DENY");
    assert_no_cors_headers(&headers);

    // A preflight to it is not answered by the protocol router's CORS layer either.
    let (status, headers, _) = parts(send(app.clone(), preflight("/authorize", APP)).await).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_no_cors_headers(&headers);

    // While the protocol endpoints beside it keep theirs.
    let (status, headers, _) = parts(send(app, preflight("/token", APP)).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "access-control-allow-origin"), "*");
}

#[tokio::test]
async fn cors_layer_of_a_policy_protects_a_bearer_api_the_same_way() {
    // `CorsPolicy::layer` is public so hosts can put the same policy on their APIs.
    let api: Router = Router::new()
        .route("/api/ping", get(|| async { "pong" }))
        .layer(CorsPolicy::AnyOrigin.layer().unwrap());
    let (status, headers, _) = parts(send(api.clone(), preflight("/api/ping", APP)).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "access-control-allow-origin"), "*");
    assert!(headers.get("access-control-allow-credentials").is_none());
    let request = with_origin(empty(Method::GET, "/api/ping"), APP);
    let (status, headers, body) = text_parts(send(api, request).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "pong");
    assert_eq!(
        header(&headers, "access-control-expose-headers"),
        "www-authenticate"
    );
}

#[test]
fn an_origin_list_containing_a_wildcard_or_null_never_panics_and_ignores_them() {
    let policy = oauth_axum::CorsPolicy::Origins(vec![
        http::HeaderValue::from_static("*"),
        http::HeaderValue::from_static("null"),
        http::HeaderValue::from_static("https://app.example"),
    ]);
    assert!(policy.layer().is_some());
}
