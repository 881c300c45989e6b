//! Bearer-protected routes, what is specific to axum: the `Bearer<S>` extractor alone
//! (provider found through `FromRef`, body left to the handler, fail-closed with several
//! resources) and the `RequireBearer` layer's API (`Extension<Access>`, scopes stacked per
//! router, `route_layer`). Every refusal and success of a bearer-protected route (RFC 6750
//! / RFC 9728) is pinned by the shared scenarios (`tests/scenarios.rs`).

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRef, State};
use axum::routing::{get, post};
use axum::{Extension, Router};
use common::*;
use http::{Method, Request, StatusCode};
use oauth_axum::{Bearer, RequireBearer};
use oauth_core::{Access, Provider};
use oauth_store_memory::MemoryStore;

/// What a handler saw: `user client scope`.
fn describe(access: &Access) -> String {
    describe_access(access)
}

/// `GET /api/me` with the `Bearer` extractor, the provider as the state.
fn extractor_app(provider: &TestProvider) -> Router {
    Router::new()
        .route(
            "/api/me",
            get(|Bearer(access, _): Bearer<MemoryStore>| async move { describe(&access) }),
        )
        .with_state(Arc::clone(provider))
}

// ---- the extractor ----

#[tokio::test]
async fn bearer_extractor_reads_the_header_only_and_leaves_the_body_to_the_handler() {
    let provider = provider();
    let (_, token) = access_token(&provider, "read").await;
    let app: Router = Router::new()
        .route(
            "/api/notes",
            post(
                |Bearer(access, _): Bearer<MemoryStore>, body: String| async move {
                    format!("{} {body}", describe(&access))
                },
            ),
        )
        .with_state(Arc::clone(&provider));

    // A form body with `access_token` is the application's payload, not a credential
    // (RFC 6750 §2.2 is not supported): without a header, 401.
    let request = Request::post("/api/notes")
        .header("content-type", FORM)
        .body(Body::from(form(&[("access_token", &token)])))
        .unwrap();
    let (status, headers, _) = parts(send(app.clone(), request).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(!challenge_params(header(&headers, "www-authenticate")).contains_key("error"));

    // With the header, the handler gets the whole body.
    let request = Request::post("/api/notes")
        .header("content-type", FORM)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::from("note=hello"))
        .unwrap();
    let (status, _, body) = text_parts(send(app, request).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.starts_with("alice "), "{body}");
    assert!(body.ends_with(" read note=hello"), "{body}");
}

#[tokio::test]
async fn bearer_extractor_composes_with_an_application_state() {
    #[derive(Clone)]
    struct AppState {
        provider: Arc<Provider<MemoryStore>>,
        name: &'static str,
    }
    impl FromRef<AppState> for Arc<Provider<MemoryStore>> {
        fn from_ref(state: &AppState) -> Self {
            Arc::clone(&state.provider)
        }
    }

    let provider = provider();
    let (client, token) = access_token(&provider, "read").await;
    let app: Router = Router::new()
        .route(
            "/api/me",
            get(
                |State(state): State<AppState>, Bearer(access, _): Bearer<MemoryStore>| async move {
                    format!("{}: {}", state.name, describe(&access))
                },
            ),
        )
        .with_state(AppState {
            provider: Arc::clone(&provider),
            name: "app",
        });

    let (status, _, body) =
        text_parts(send(app.clone(), bearer_get("/api/me", &token)).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, format!("app: alice {} read", client.id));
    let (status, headers, _) = parts(send(app, empty(Method::GET, "/api/me")).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_bearer_challenge(&headers, RESOURCE_METADATA);
}

#[tokio::test]
async fn bearer_extractor_on_a_provider_with_several_resources_fails_closed() {
    // `Bearer` alone cannot tell which resource a route is: the core refuses (500, no
    // challenge) rather than accept a token for another resource.
    let provider = two_resource_provider();
    let (_, body) = tokens_via_router(&provider, "alice", &[("resource", RESOURCE)]).await;
    let token = body["access_token"].as_str().unwrap().to_owned();
    let (status, headers, _) =
        parts(send(extractor_app(&provider), bearer_get("/api/me", &token)).await).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(headers.get("www-authenticate").is_none());
    assert_eq!(header(&headers, "cache-control"), "no-store");
}

// ---- the layer ----

/// `GET /api/notes` behind `layer`, the handler taking `Extension<Access>`.
fn layered_app(provider: &TestProvider, layer: RequireBearer<MemoryStore>) -> Router {
    Router::new()
        .route(
            "/api/notes",
            get(|Extension(access): Extension<Access>| async move { describe(&access) }),
        )
        .route_layer(layer)
        .with_state(Arc::clone(provider))
}

#[tokio::test]
async fn require_bearer_missing_scope_is_403_insufficient_scope_naming_the_scope() {
    let provider = provider();
    let (_, token) = access_token(&provider, "read").await;
    let app = layered_app(
        &provider,
        RequireBearer::new(Arc::clone(&provider)).scope("read write"),
    );
    let (status, headers, body) = parts(send(app, bearer_get("/api/notes", &token)).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.is_empty());
    let params = assert_bearer_challenge(&headers, RESOURCE_METADATA);
    assert_eq!(params["error"], "insufficient_scope");
    assert_eq!(params["scope"], "read write");
}

#[tokio::test]
async fn require_bearer_with_the_scope_gives_the_handler_extension_access() {
    let provider = provider();
    let (client, token) = access_token(&provider, "read write").await;
    let app = layered_app(
        &provider,
        RequireBearer::new(Arc::clone(&provider)).scope("write"),
    );
    let (status, headers, body) =
        text_parts(send(app, bearer_get("/api/notes", &token)).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, format!("alice {} read write", client.id));
    assert!(headers.get("www-authenticate").is_none());
}

#[tokio::test]
async fn require_bearer_new_on_a_provider_with_several_resources_fails_closed() {
    let provider = two_resource_provider();
    let (_, body) = tokens_via_router(&provider, "alice", &[("resource", RESOURCE)]).await;
    let token = body["access_token"].as_str().unwrap().to_owned();
    let app = layered_app(&provider, RequireBearer::new(Arc::clone(&provider)));
    let (status, headers, _) = parts(send(app, bearer_get("/api/notes", &token)).await).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(headers.get("www-authenticate").is_none());
}

#[tokio::test]
async fn require_bearer_as_route_layer_leaves_unmatched_paths_to_axum() {
    let provider = provider();
    let app = layered_app(&provider, RequireBearer::new(Arc::clone(&provider)));
    let (status, headers, _) = parts(send(app, empty(Method::GET, "/elsewhere")).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(headers.get("www-authenticate").is_none());
}

#[tokio::test]
async fn require_bearer_layers_stack_per_router() {
    // A read router and a write router on one app, each with its own requirement.
    let provider = provider();
    let (_, read_only) = access_token(&provider, "read").await;
    let reads: Router = Router::new()
        .route(
            "/api/read",
            get(|Extension(access): Extension<Access>| async move { describe(&access) }),
        )
        .route_layer(RequireBearer::new(Arc::clone(&provider)).scope("read"));
    let writes: Router = Router::new()
        .route(
            "/api/write",
            post(|Extension(access): Extension<Access>| async move { describe(&access) }),
        )
        .route_layer(RequireBearer::new(Arc::clone(&provider)).scope("write"));
    let app = reads.merge(writes);

    let (status, _, _) = parts(send(app.clone(), bearer_get("/api/read", &read_only)).await).await;
    assert_eq!(status, StatusCode::OK);
    let request = Request::post("/api/write")
        .header("authorization", format!("Bearer {read_only}"))
        .body(Body::empty())
        .unwrap();
    let (status, headers, _) = parts(send(app, request).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let params = assert_bearer_challenge(&headers, RESOURCE_METADATA);
    assert_eq!(params["scope"], "write");
}

#[tokio::test]
async fn require_bearer_scopes_given_twice_are_both_required() {
    let provider = provider();
    let (_, token) = access_token(&provider, "read").await;
    let app = layered_app(
        &provider,
        RequireBearer::new(Arc::clone(&provider))
            .scope("write")
            .scope("read"),
    );
    let (status, headers, _) = parts(send(app, bearer_get("/api/notes", &token)).await).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let params = assert_bearer_challenge(&headers, RESOURCE_METADATA);
    assert_eq!(params["scope"], "read write");
}
