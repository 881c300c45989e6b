//! CORS by endpoint group (`CorsPolicy`), what is specific to axum: the policy's
//! `tower-http` layer (on every path of `ProtocolRouter::paths()`, on a host's own API,
//! an origin list with `*` or `null`, the answer to an unlisted origin's preflight). What
//! each policy answers on the protocol endpoints, and that the authorization endpoint has
//! no CORS, is pinned by the shared scenarios (`tests/scenarios.rs`).

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use common::*;
use http::{HeaderValue, Method, Request, StatusCode};
use oauth_axum::{CorsPolicy, ProtocolRouter};

const APP: &str = "https://app.example";

fn preflight(path: &str, origin: &str) -> Request<Body> {
    oauth_glue_scenarios::harness::preflight(path, origin).map(Body::from)
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
async fn origins_policy_answers_an_unlisted_origins_preflight_200_varying_by_origin() {
    // tower-http answers the preflight itself, without allowing the origin; the response
    // still varies by origin, so no cache serves it to the allowed one.
    let provider = provider();
    let policy = CorsPolicy::Origins(vec![HeaderValue::from_static(APP)]);
    let (status, headers, _) = parts(
        send(
            router_with(&provider, policy),
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
    assert!(header_list(&headers, "vary").contains(&"origin".to_owned()));
}

#[test]
fn same_origin_only_policy_has_no_layer() {
    assert!(CorsPolicy::SameOriginOnly.layer().is_none());
    assert!(CorsPolicy::AnyOrigin.layer().is_some());
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

#[tokio::test]
async fn unknown_paths_get_no_cors_even_on_a_router_built_from_the_protocol_router() {
    // The README's shape: the protocol router is the base the host merges into. Its CORS
    // covers the protocol paths only; an unknown path is axum's plain 404, and a
    // preflight there is not answered as if it were allowed.
    let provider = provider();
    let api: Router = Router::new().route("/api/me", get(|| async { "me" }));
    let app = ProtocolRouter::new(Arc::clone(&provider))
        .build()
        .merge(api);
    let (status, headers, _) = parts(send(app.clone(), preflight("/nowhere", APP)).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        headers.get("access-control-allow-origin").is_none(),
        "{headers:?}"
    );
    let (status, headers, _) = parts(
        send(
            app.clone(),
            with_origin(empty(Method::GET, "/nowhere"), APP),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        headers.get("access-control-allow-origin").is_none(),
        "{headers:?}"
    );
    let (status, headers, _) = parts(send(app, preflight("/token", APP)).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "access-control-allow-origin"), "*");
}
