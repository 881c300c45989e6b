//! The host's authorization route: the `AuthorizationRequest<S>` extractor (GET and POST,
//! never rejecting the request; the provider found in the application data), its error
//! responses (a page without `Location` unless the user is authenticated and the error
//! may be redirected), and `Page` with its security headers.

mod common;

use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::test::{self, TestRequest};
use actix_web::{web, App, HttpRequest, HttpResponse, Responder};
use common::*;
use oauth_actix::{core_response, AuthorizationRequest, Page, ProtocolService};
use oauth_core::model::UserId;
use oauth_core::{Approval, AuthorizationError, Decision, Provider};
use oauth_glue_scenarios::USER_HEADER;
use oauth_store_memory::MemoryStore;

fn user_of(request: &HttpRequest) -> Option<UserId> {
    request
        .headers()
        .get(USER_HEADER)
        .map(|v| UserId::new(v.to_str().unwrap()))
}

/// The consent page of a valid request, or the error response for the user (if any).
async fn authorize(http: HttpRequest, request: AuthorizationRequest<MemoryStore>) -> HttpResponse {
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
        .into(),
        Err(error) => {
            let user = user_of(&http);
            oauth_actix::authorization_error_response(error, user.as_ref())
        }
    }
}

/// A host app: its authorization route beside the protocol endpoints.
async fn app(
    provider: &TestProvider,
) -> impl Service<Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error> {
    let protocol = ProtocolService::new(Arc::clone(provider));
    test::init_service(
        App::new()
            .app_data(data(provider))
            .service(web::resource("/authorize").get(authorize).post(authorize))
            .configure(|cfg| protocol.configure(cfg)),
    )
    .await
}

fn authorize_get(query: &str) -> TestRequest {
    TestRequest::get().uri(&format!("/authorize?{query}"))
}

fn authorize_post(body: String) -> TestRequest {
    TestRequest::post()
        .uri("/authorize")
        .insert_header(("content-type", FORM))
        .set_payload(body)
}

fn with_user(request: TestRequest, user: &str) -> TestRequest {
    request.insert_header((USER_HEADER, user))
}

/// A 400 error page: no `Location`, the security headers, the reason's fixed text.
fn assert_error_page(status: StatusCode, headers: &http::HeaderMap, body: &str, code: &str) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(!headers.contains_key("location"), "{headers:?}");
    assert_page_security_headers(headers);
    assert!(body.contains(code), "{body}");
}

#[actix_web::test]
async fn valid_get_authorization_request_is_ok_with_client_and_scope() {
    let provider = provider();
    let client = public_client(&provider).await;
    let app = app(&provider).await;
    let query = authorization_query(client.id.as_str(), &[("scope", "read write")]);
    let (status, headers, body) = send_text(&app, authorize_get(&query).to_request()).await;
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
    let csp = header(&headers, "content-security-policy");
    assert!(
        csp.contains(&format!("form-action 'self' {origin};")),
        "{csp}"
    );
}

#[actix_web::test]
async fn valid_post_authorization_request_is_ok_with_client_and_scope() {
    let provider = provider();
    let client = public_client(&provider).await;
    let app = app(&provider).await;
    let body = authorization_query(client.id.as_str(), &[("scope", "write")]);
    let (status, headers, body) = send_text(&app, authorize_post(body).to_request()).await;
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

#[actix_web::test]
async fn default_scope_applies_when_the_request_names_none() {
    let provider = provider();
    let client = public_client(&provider).await;
    let app = app(&provider).await;
    let query = authorization_query(client.id.as_str(), &[]);
    let (status, _, body) = send_text(&app, authorize_get(&query).to_request()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("scope=read "), "{body}");
}

#[actix_web::test]
async fn unknown_client_is_fatal_and_its_error_response_is_a_page_without_location() {
    let provider = provider();
    let app = app(&provider).await;
    let query = authorization_query("no-such-client", &[]);
    // Even for an authenticated user: a fatal error is never redirected.
    for request in [
        authorize_get(&query),
        with_user(authorize_get(&query), "alice"),
        authorize_post(query.clone()),
    ] {
        let (status, headers, body) = send_text(&app, request.to_request()).await;
        assert_error_page(status, &headers, &body, "invalid_client");
        assert_eq!(
            header(&headers, "content-type"),
            "text/plain; charset=utf-8"
        );
    }
}

#[actix_web::test]
async fn mismatched_redirect_uri_is_fatal_and_its_error_response_is_a_page_without_location() {
    let provider = provider();
    let client = public_client(&provider).await;
    let app = app(&provider).await;
    let query = authorization_query(
        client.id.as_str(),
        &[("redirect_uri", "https://attacker.example/cb")],
    );
    for request in [
        authorize_get(&query),
        with_user(authorize_get(&query), "alice"),
    ] {
        let (status, headers, body) = send_text(&app, request.to_request()).await;
        assert_error_page(status, &headers, &body, "invalid_request");
        assert!(!body.contains("attacker"), "{body}");
    }
}

#[actix_web::test]
async fn fatal_outcome_is_the_fatal_variant() {
    // The handler sees `Err(Fatal)` itself, not only its response.
    let provider = provider();
    let client = public_client(&provider).await;
    let app = test::init_service(App::new().app_data(data(&provider)).route(
        "/authorize",
        web::get().to(|request: AuthorizationRequest<MemoryStore>| async move {
            match request.into_result() {
                Err(AuthorizationError::Fatal(reason)) => format!("fatal {reason:?}"),
                Err(AuthorizationError::Redirect(redirect)) => {
                    format!("redirect {:?}", redirect.reason())
                }
                other => format!("other {other:?}"),
            }
        }),
    ))
    .await;
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
        let (status, _, body) = send_text(&app, authorize_get(&query).to_request()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, expected);
    }
}

#[actix_web::test]
async fn redirect_class_error_is_a_page_without_user_and_a_redirect_with_user() {
    let provider = provider();
    let client = public_client(&provider).await;
    let app = app(&provider).await;
    let query = authorization_query(client.id.as_str(), &[("response_type", "token")]);

    // Nobody logged in: a page, never a redirect to the client (open redirector).
    let (status, headers, body) = send_text(&app, authorize_get(&query).to_request()).await;
    assert_error_page(status, &headers, &body, "unsupported_response_type");

    // An authenticated user: the error goes back to the client, with state and iss.
    let request = with_user(authorize_get(&query), "alice").to_request();
    let (status, headers, body) = send(&app, request).await;
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

#[actix_web::test]
async fn redirect_class_error_after_a_post_is_a_303() {
    let provider = provider();
    let client = public_client(&provider).await;
    let app = app(&provider).await;
    let body = authorization_query(client.id.as_str(), &[("code_challenge", "")]);
    let request = with_user(authorize_post(body), "alice").to_request();
    let (status, headers, _) = send(&app, request).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let params = location_params(&headers);
    assert_eq!(params["error"], "invalid_request");
    assert_eq!(params["iss"], ISSUER);
    assert_eq!(params["state"], "xyz");
}

#[actix_web::test]
async fn other_methods_at_the_authorization_route_are_actixs_405() {
    let provider = provider();
    let app = app(&provider).await;
    for method in [Method::PUT, Method::OPTIONS] {
        let (status, headers, _) = send(&app, empty(method.clone(), "/authorize")).await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        let allow = header(&headers, "allow");
        assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
        assert!(!headers.contains_key("access-control-allow-origin"));
    }
}

#[actix_web::test]
async fn authorization_request_composes_with_application_data() {
    struct Brand(&'static str);
    let provider = provider();
    let client = public_client(&provider).await;
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(Brand("Acme")))
            .app_data(data(&provider))
            .route(
                "/authorize",
                web::get().to(
                    |brand: web::Data<Brand>, request: AuthorizationRequest<MemoryStore>| async move {
                        match request.into_result() {
                            Ok(pending) => format!("{} asks {}", brand.0, pending.client_id()),
                            Err(error) => format!("{error}"),
                        }
                    },
                ),
            ),
    )
    .await;
    let query = authorization_query(client.id.as_str(), &[]);
    let (status, _, body) = send_text(&app, authorize_get(&query).to_request()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, format!("Acme asks {}", client.id));
}

#[actix_web::test]
async fn provider_registered_as_data_of_an_arc_is_found_too() {
    let provider = provider();
    let client = public_client(&provider).await;
    let app = test::init_service(
        App::new()
            // `web::Data::new(arc)`: a `Data<Arc<Provider<S>>>`.
            .app_data(web::Data::new(Arc::clone(&provider)))
            .route(
                "/authorize",
                web::get().to(|request: AuthorizationRequest<MemoryStore>| async move {
                    match request.into_result() {
                        Ok(pending) => format!("ok {}", pending.client_id()),
                        Err(error) => format!("{error}"),
                    }
                }),
            ),
    )
    .await;
    let query = authorization_query(client.id.as_str(), &[]);
    let (status, _, body) = send_text(&app, authorize_get(&query).to_request()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, format!("ok {}", client.id));
}

#[actix_web::test]
async fn authorization_request_without_a_registered_provider_says_you_forgot_to_register_it() {
    let provider = provider();
    let client = public_client(&provider).await;
    let app =
        test::init_service(App::new().service(web::resource("/authorize").get(authorize))).await;
    let query = authorization_query(client.id.as_str(), &[]);
    let (status, headers, body) = send_text(&app, authorize_get(&query).to_request()).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        body.contains("you forgot to register the provider"),
        "{body}"
    );
    assert!(body.contains("web::Data::from(provider)"), "{body}");
    assert_eq!(header(&headers, "cache-control"), "no-store");
}

#[actix_web::test]
async fn the_whole_code_flow_runs_through_the_app() {
    // The host's route approves at once for the logged-in user; the client redeems the
    // code at the protocol endpoints and calls an API with the token.
    async fn approve(
        http: HttpRequest,
        provider: web::Data<Provider<MemoryStore>>,
        request: AuthorizationRequest<MemoryStore>,
    ) -> HttpResponse {
        let user = user_of(&http).unwrap();
        match request.into_result() {
            Ok(pending) => match provider
                .complete_authorization(pending, Decision::Approve(Approval::new(user)))
                .await
            {
                Ok(redirect) => core_response(redirect),
                Err(error) => oauth_actix::authorization_error_response(error, None),
            },
            Err(error) => oauth_actix::authorization_error_response(error, Some(&user)),
        }
    }
    let provider = provider();
    let client = public_client(&provider).await;
    let protocol = ProtocolService::new(Arc::clone(&provider));
    let app = test::init_service(
        App::new()
            .app_data(data(&provider))
            .route("/authorize", web::get().to(approve))
            .configure(|cfg| protocol.configure(cfg)),
    )
    .await;

    let query = authorization_query(client.id.as_str(), &[("scope", "read write")]);
    let (status, headers, _) =
        send(&app, with_user(authorize_get(&query), "bob").to_request()).await;
    // `complete_authorization` answers 303 (never re-posting to the client).
    assert_eq!(status, StatusCode::SEE_OTHER);
    let params = location_params(&headers);
    assert_eq!(params["iss"], ISSUER);
    assert_eq!(params["state"], "xyz");
    let code = &params["code"];

    let (status, _, tokens) = send_json(&app, code_redemption(client.id.as_str(), code)).await;
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

#[actix_web::test]
async fn page_carries_the_security_headers_and_its_status_and_html() {
    for status in [StatusCode::OK, StatusCode::BAD_REQUEST] {
        let response = HttpResponse::from(Page::error(status, "<h1>Sign in</h1>"));
        assert_eq!(response.status(), status);
        let headers = http_headers(response.headers());
        let body = actix_web::body::to_bytes(response.into_body())
            .await
            .unwrap();
        assert_eq!(&body[..], b"<h1>Sign in</h1>");
        assert_eq!(header(&headers, "content-type"), "text/html; charset=utf-8");
        assert_page_security_headers(&headers);
        assert_eq!(
            header(&headers, "content-security-policy"),
            "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        );
    }
}

#[actix_web::test]
async fn page_is_a_responder_and_keeps_its_headers_from_a_route() {
    let app = test::init_service(App::new().route(
        "/login",
        web::get().to(|| async { Page::ok("<form method=post></form>") }),
    ))
    .await;
    let (status, headers, body) = send_text(&app, empty(Method::GET, "/login")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "<form method=post></form>");
    assert_eq!(header(&headers, "content-type"), "text/html; charset=utf-8");
    assert_page_security_headers(&headers);

    // `respond_to` is the same response.
    let request = TestRequest::default().to_http_request();
    let response = Page::ok("x").respond_to(&request);
    assert_eq!(response.status(), StatusCode::OK);
    assert_page_security_headers(&http_headers(response.headers()));
}
