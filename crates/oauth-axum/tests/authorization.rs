//! The host's authorization route: the `AuthorizationRequest<S>` extractor (GET and POST,
//! never rejecting), its error responses (a page without `Location` unless the user is
//! authenticated and the error may be redirected), and `Page` with its security headers.

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
use oauth_core::{Approval, AuthorizationError, Decision};
use oauth_store_memory::MemoryStore;

/// The header a test sends to play a logged-in user.
const USER_HEADER: &str = "x-test-user";

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

fn authorize_post(body: String) -> Request<Body> {
    Request::post("/authorize")
        .header("content-type", FORM)
        .body(Body::from(body))
        .unwrap()
}

fn with_user(mut request: Request<Body>, user: &str) -> Request<Body> {
    request
        .headers_mut()
        .insert(USER_HEADER, user.parse().unwrap());
    request
}

/// The headers of every page of the authorization UI.
fn assert_page_security_headers(headers: &HeaderMap) {
    assert_eq!(header(headers, "x-frame-options"), "DENY");
    let csp = header(headers, "content-security-policy");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert_eq!(header(headers, "referrer-policy"), "no-referrer");
    assert_eq!(header(headers, "x-content-type-options"), "nosniff");
    assert_eq!(header(headers, "cache-control"), "no-store");
}

/// A 400 error page: no `Location`, the security headers, the reason's fixed text.
fn assert_error_page(status: StatusCode, headers: &HeaderMap, body: &str, code: &str) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(headers.get("location").is_none(), "{headers:?}");
    assert_page_security_headers(headers);
    assert!(body.contains(code), "{body}");
}

#[tokio::test]
async fn valid_get_authorization_request_is_ok_with_client_and_scope() {
    let provider = provider();
    let client = public_client(&provider).await;
    let query = authorization_query(client.id.as_str(), &[("scope", "read write")]);
    let (status, headers, body) =
        text_parts(send(app(&provider), authorize_get(&query)).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        format!(
            "<p>client={} scope=read write redirect={REDIRECT}</p>",
            client.id
        )
    );
    assert_eq!(header(&headers, "content-type"), "text/html; charset=utf-8");
    assert_page_security_headers(&headers);
    // The consent form leads (by redirect) to the client: its origin is a form target.
    let origin = REDIRECT.split('/').take(3).collect::<Vec<_>>().join("/");
    assert!(
        header(&headers, "content-security-policy")
            .contains(&format!("form-action 'self' {origin};")),
        "{}",
        header(&headers, "content-security-policy")
    );
}

#[tokio::test]
async fn valid_post_authorization_request_is_ok_with_client_and_scope() {
    let provider = provider();
    let client = public_client(&provider).await;
    let body = authorization_query(client.id.as_str(), &[("scope", "write")]);
    let (status, headers, body) =
        text_parts(send(app(&provider), authorize_post(body)).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        format!(
            "<p>client={} scope=write redirect={REDIRECT}</p>",
            client.id
        )
    );
    assert_page_security_headers(&headers);
}

#[tokio::test]
async fn default_scope_applies_when_the_request_names_none() {
    let provider = provider();
    let client = public_client(&provider).await;
    let query = authorization_query(client.id.as_str(), &[]);
    let (status, _, body) = text_parts(send(app(&provider), authorize_get(&query)).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("scope=read "), "{body}");
}

#[tokio::test]
async fn unknown_client_is_fatal_and_its_error_response_is_a_page_without_location() {
    let provider = provider();
    let query = authorization_query("no-such-client", &[]);
    // Even for an authenticated user: a fatal error is never redirected.
    for request in [
        authorize_get(&query),
        with_user(authorize_get(&query), "alice"),
        authorize_post(query.clone()),
    ] {
        let (status, headers, body) = text_parts(send(app(&provider), request).await).await;
        assert_error_page(status, &headers, &body, "invalid_client");
        assert_eq!(
            header(&headers, "content-type"),
            "text/plain; charset=utf-8"
        );
    }
}

#[tokio::test]
async fn mismatched_redirect_uri_is_fatal_and_its_error_response_is_a_page_without_location() {
    let provider = provider();
    let client = public_client(&provider).await;
    let query = authorization_query(
        client.id.as_str(),
        &[("redirect_uri", "https://attacker.example/cb")],
    );
    for request in [
        authorize_get(&query),
        with_user(authorize_get(&query), "alice"),
    ] {
        let (status, headers, body) = text_parts(send(app(&provider), request).await).await;
        assert_error_page(status, &headers, &body, "invalid_request");
        assert!(!body.contains("attacker"), "{body}");
    }
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
async fn redirect_class_error_is_a_page_without_user_and_a_redirect_with_user() {
    let provider = provider();
    let client = public_client(&provider).await;
    let query = authorization_query(client.id.as_str(), &[("response_type", "token")]);

    // Nobody logged in: a page, never a redirect to the client (open redirector).
    let (status, headers, body) =
        text_parts(send(app(&provider), authorize_get(&query)).await).await;
    assert_error_page(status, &headers, &body, "unsupported_response_type");

    // An authenticated user: the error goes back to the client, with state and iss.
    let (status, headers, body) =
        parts(send(app(&provider), with_user(authorize_get(&query), "alice")).await).await;
    assert_eq!(status, StatusCode::FOUND, "{body:?}");
    assert!(body.is_empty());
    assert!(header(&headers, "location").starts_with(REDIRECT));
    let params = location_params(&headers);
    assert_eq!(params["error"], "unsupported_response_type");
    assert_eq!(params["iss"], ISSUER);
    assert_eq!(params["state"], "xyz");
    assert!(!params.contains_key("code"));
    assert_eq!(header(&headers, "referrer-policy"), "no-referrer");
    assert_eq!(header(&headers, "cache-control"), "no-store");
}

#[tokio::test]
async fn redirect_class_error_after_a_post_is_a_303() {
    let provider = provider();
    let client = public_client(&provider).await;
    let body = authorization_query(client.id.as_str(), &[("code_challenge", "")]);
    let (status, headers, _) =
        parts(send(app(&provider), with_user(authorize_post(body), "alice")).await).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let params = location_params(&headers);
    assert_eq!(params["error"], "invalid_request");
    assert_eq!(params["iss"], ISSUER);
    assert_eq!(params["state"], "xyz");
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
async fn the_whole_code_flow_runs_through_the_router() {
    // The host's route approves at once for the logged-in user; the client redeems the
    // code at the protocol router and calls an API with the token.
    async fn approve(
        State(provider): State<TestProvider>,
        headers: HeaderMap,
        request: AuthorizationRequest<MemoryStore>,
    ) -> Response {
        let user = user_of(&headers).unwrap();
        match request.into_result() {
            Ok(pending) => match provider
                .complete_authorization(pending, Decision::Approve(Approval::new(user)))
                .await
            {
                Ok(redirect) => redirect.map(Body::from),
                Err(error) => oauth_axum::authorization_error_response(error, None),
            },
            Err(error) => oauth_axum::authorization_error_response(error, Some(&user)),
        }
    }
    let provider = provider();
    let client = public_client(&provider).await;
    let app: Router = Router::new()
        .route("/authorize", get(approve))
        .with_state(Arc::clone(&provider))
        .merge(protocol(&provider));

    let query = authorization_query(client.id.as_str(), &[("scope", "read write")]);
    let (status, headers, _) =
        parts(send(app.clone(), with_user(authorize_get(&query), "bob")).await).await;
    // `complete_authorization` answers 303 (never re-posting to the client).
    assert_eq!(status, StatusCode::SEE_OTHER);
    let params = location_params(&headers);
    assert_eq!(params["iss"], ISSUER);
    assert_eq!(params["state"], "xyz");
    let code = &params["code"];

    let (status, _, tokens) =
        json_parts(send(app, code_redemption(client.id.as_str(), code)).await).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(tokens["scope"], "read write");
    let token = tokens["access_token"].as_str().unwrap();
    let api = http::Request::get("/api")
        .header("authorization", format!("Bearer {token}"))
        .body(Vec::new())
        .unwrap();
    let access = provider.authenticate(&api).await.unwrap();
    assert_eq!(access.user_id, Some(UserId::new("bob")));
    assert_eq!(access.client_id, client.id);
}

// ---- Page ----

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
