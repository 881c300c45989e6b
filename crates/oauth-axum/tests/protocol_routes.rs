//! `ProtocolRouter` itself: the paths it routes (`paths()`, from the core's served
//! paths), what it leaves to the host, and its composition with an application's routes
//! and state. What every endpoint answers through it is pinned by the shared scenarios
//! (`tests/scenarios.rs`, `oauth-glue-scenarios`).

mod common;

use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use common::*;
use http::{Method, StatusCode};
use oauth_axum::ProtocolRouter;

#[test]
fn registration_routes_are_absent_from_the_paths_when_registration_is_disabled() {
    let router = ProtocolRouter::new(provider());
    assert!(!router.paths().iter().any(|p| p.starts_with("/register")));
    let router = ProtocolRouter::new(registration_provider());
    let paths = router.paths();
    for expected in ["/register", "/register/{client_id}"] {
        assert!(
            paths.iter().any(|p| p == expected),
            "{expected} in {paths:?}"
        );
    }
}

#[test]
fn paths_of_an_issuer_with_a_path_have_the_path_suffixed_metadata_only() {
    let tenant = provider_for_issuer("https://as.example/tenant1", |b| b);
    let paths = ProtocolRouter::new(Arc::clone(&tenant)).paths();
    assert!(
        paths.contains(&"/.well-known/oauth-authorization-server/tenant1".to_owned()),
        "{paths:?}"
    );
    assert!(
        !paths.contains(&"/.well-known/oauth-authorization-server".to_owned()),
        "{paths:?}"
    );
}

#[tokio::test]
async fn protocol_router_alone_does_not_route_the_authorization_endpoint() {
    // The authorization endpoint is the host's own route, never the protocol router's.
    let provider = provider();
    let (status, headers, body) =
        parts(send(protocol(&provider), empty(Method::GET, "/authorize")).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.is_empty(), "{body:?}");
    assert!(headers.get("cache-control").is_none(), "{headers:?}");
}

#[test]
fn paths_are_the_configured_endpoint_paths() {
    let paths = ProtocolRouter::new(custom_paths_provider()).paths();
    assert_custom_paths(&paths);
    assert!(!paths.iter().any(|p| p == "/token"), "{paths:?}");
}

#[tokio::test]
async fn protocol_router_merges_beside_the_applications_routes_and_state() {
    #[derive(Clone)]
    struct AppState {
        greeting: &'static str,
    }
    let provider = provider();
    let app: Router = Router::new()
        .route(
            "/hello",
            get(
                |axum::extract::State(state): axum::extract::State<AppState>| async move {
                    state.greeting
                },
            ),
        )
        .merge(ProtocolRouter::new(Arc::clone(&provider)).build())
        .with_state(AppState { greeting: "hi" });

    let (status, _, body) = text_parts(send(app.clone(), empty(Method::GET, "/hello")).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "hi");
    let (status, headers, _) = json_parts(send(app, empty(Method::GET, "/token")).await).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&headers, "allow"), "POST");
}

#[tokio::test]
async fn protocol_router_nested_under_a_prefix_answers_500_instead_of_serving_stripped_paths() {
    // Under `nest`, axum strips the prefix: `/auth/token` would reach the core as
    // `/token` while the metadata advertises the configured URLs, without the prefix.
    // The glue refuses to serve such a request at all, and the core never sees it.
    let provider = provider();
    let nested: Router = Router::new().nest("/auth", protocol(&provider));
    let client = public_client(&provider).await;
    let code = obtain_code(&provider, client.id.as_str(), "alice", &[]).await;
    for request in [
        empty(Method::GET, "/auth/.well-known/oauth-authorization-server"),
        form_post("/auth/token", &redemption_pairs(client.id.as_str(), &code)),
    ] {
        let (status, headers, body) = parts(send(nested.clone(), request).await).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(header(&headers, "cache-control"), "no-store");
        assert!(body.is_empty(), "{body:?}");
    }

    // The code was not redeemed through the nested router: merged at the root, the same
    // redemption succeeds.
    let response = send(
        protocol(&provider),
        code_redemption(client.id.as_str(), &code),
    )
    .await;
    let (status, _, body) = json_parts(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}
