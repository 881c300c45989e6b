//! The host's authorization route, what is specific to axum: the outcome the
//! `AuthorizationRequest<S>` extractor hands the handler, its composition with an
//! application state, axum's 405 for other methods, and `Page` with its security headers.
//! What the route answers (consent pages, error pages without `Location`, redirects with
//! `state` and `iss`) is pinned by the shared scenarios (`tests/scenarios.rs`).

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use common::*;
use http::{HeaderMap, Request, StatusCode};
use oauth_axum::{AuthorizationRequest, Page};
use oauth_core::model::UserId;
use oauth_core::AuthorizationError;
use oauth_glue_scenarios::USER_HEADER;
use oauth_store_memory::MemoryStore;

fn user_of(headers: &HeaderMap) -> Option<UserId> {
    headers
        .get(USER_HEADER)
        .map(|v| UserId::new(v.to_str().unwrap()))
}

/// The consent page of a valid request, or the error response for the user (if any).
async fn authorize(headers: HeaderMap, request: AuthorizationRequest<MemoryStore>) -> Response {
    match request.into_result() {
        Ok(pending) => Page::consent(
            format!(
                "<p>client={} scope={} redirect={}</p>",
                pending.client_id(),
                pending.scope(),
                pending.redirect_uri()
            ),
            &pending,
        )
        .into_response(),
        Err(error) => {
            let user = user_of(&headers);
            oauth_axum::authorization_error_response(error, user.as_ref())
        }
    }
}

/// A host app: its authorization route beside the protocol router.
fn app(provider: &TestProvider) -> Router {
    Router::new()
        .route("/authorize", get(authorize).post(authorize))
        .with_state(Arc::clone(provider))
        .merge(protocol(provider))
}

fn authorize_get(query: &str) -> Request<Body> {
    Request::get(format!("/authorize?{query}"))
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn fatal_outcome_is_the_fatal_variant() {
    // The handler sees `Err(Fatal)` itself, not only its response.
    let provider = provider();
    let client = public_client(&provider).await;
    let app: Router = Router::new()
        .route(
            "/authorize",
            get(|request: AuthorizationRequest<MemoryStore>| async move {
                match request.into_result() {
                    Err(AuthorizationError::Fatal(reason)) => format!("fatal {reason:?}"),
                    Err(AuthorizationError::Redirect(redirect)) => {
                        format!("redirect {:?}", redirect.reason())
                    }
                    other => format!("other {other:?}"),
                }
            }),
        )
        .with_state(Arc::clone(&provider));
    for (query, expected) in [
        (authorization_query("nobody", &[]), "fatal UnknownClient"),
        (
            authorization_query(
                client.id.as_str(),
                &[("redirect_uri", "https://attacker.example/cb")],
            ),
            "fatal RedirectUriMismatch",
        ),
        (
            authorization_query(client.id.as_str(), &[("response_type", "token")]),
            "redirect UnsupportedResponseType",
        ),
    ] {
        let (status, _, body) = text_parts(send(app.clone(), authorize_get(&query)).await).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, expected);
    }
}

#[tokio::test]
async fn other_methods_at_the_authorization_route_are_axums_405() {
    let provider = provider();
    let request = Request::put("/authorize").body(Body::empty()).unwrap();
    let (status, headers, _) = parts(send(app(&provider), request).await).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let allow = header(&headers, "allow");
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
}

#[tokio::test]
async fn authorization_request_composes_with_an_application_state() {
    #[derive(Clone)]
    struct AppState {
        provider: TestProvider,
        brand: &'static str,
    }
    impl axum::extract::FromRef<AppState> for TestProvider {
        fn from_ref(state: &AppState) -> Self {
            Arc::clone(&state.provider)
        }
    }
    let provider = provider();
    let client = public_client(&provider).await;
    let app: Router = Router::new()
        .route(
            "/authorize",
            get(
                |State(state): State<AppState>, request: AuthorizationRequest<MemoryStore>| async move {
                    match request.into_result() {
                        Ok(pending) => format!("{} asks {}", state.brand, pending.client_id()),
                        Err(error) => format!("{error}"),
                    }
                },
            ),
        )
        .with_state(AppState {
            provider: Arc::clone(&provider),
            brand: "Acme",
        });
    let query = authorization_query(client.id.as_str(), &[]);
    let (status, _, body) = text_parts(send(app, authorize_get(&query)).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, format!("Acme asks {}", client.id));
}

#[tokio::test]
async fn page_carries_the_security_headers_and_its_status_and_html() {
    for status in [StatusCode::OK, StatusCode::BAD_REQUEST] {
        let response = Page::error(status, "<h1>Sign in</h1>").into_response();
        let (got, headers, body) = text_parts(response).await;
        assert_eq!(got, status);
        assert_eq!(body, "<h1>Sign in</h1>");
        assert_eq!(header(&headers, "content-type"), "text/html; charset=utf-8");
        assert_page_security_headers(&headers);
        assert_eq!(
            header(&headers, "content-security-policy"),
            "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        );
    }
}

#[tokio::test]
async fn page_served_from_a_route_keeps_its_headers() {
    let app: Router = Router::new().route(
        "/login",
        get(|| async { Page::ok("<form method=post></form>") }),
    );
    let (status, headers, body) =
        text_parts(send(app, Request::get("/login").body(Body::empty()).unwrap()).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "<form method=post></form>");
    assert_page_security_headers(&headers);
}
