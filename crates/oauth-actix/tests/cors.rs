//! CORS by endpoint group (`CorsPolicy`): the protocol endpoints open to any origin by
//! default, never with credentials, `Vary: Origin` always, `WWW-Authenticate` exposed;
//! a list of origins; none at all; and never on the host's authorization route. The
//! headers are the axum glue's (`tower-http`'s `CorsLayer` as `oauth-axum` configures
//! it), byte for byte.

mod common;

use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header::HeaderValue;
use actix_web::http::{Method, StatusCode};
use actix_web::test::{self, TestRequest};
use actix_web::{web, App, HttpResponse};
use common::*;
use http::HeaderMap;
use oauth_actix::{CorsPolicy, Page, ProtocolService, RequireBearer};

const APP: &str = "https://app.example";
const EVIL: &str = "https://evil.example";

fn preflight(path: &str, origin: &str) -> Request {
    TestRequest::default()
        .method(Method::OPTIONS)
        .uri(path)
        .insert_header(("origin", origin))
        .insert_header(("access-control-request-method", "POST"))
        .insert_header((
            "access-control-request-headers",
            "authorization, content-type",
        ))
        .to_request()
}

fn get_from(path: &str, origin: &str) -> Request {
    TestRequest::get()
        .uri(path)
        .insert_header(("origin", origin))
        .to_request()
}

async fn app_with(
    provider: &TestProvider,
    policy: CorsPolicy,
) -> impl Service<Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error> {
    let service = ProtocolService::new(Arc::clone(provider)).cors(policy);
    test::init_service(App::new().configure(|cfg| service.configure(cfg))).await
}

fn assert_no_cors_headers(headers: &HeaderMap) {
    for (name, _) in headers {
        assert!(
            !name.as_str().starts_with("access-control-"),
            "{name} in {headers:?}"
        );
    }
}

#[actix_web::test]
async fn default_policy_preflight_allows_any_origin_and_the_authorization_header_without_credentials(
) {
    let provider = provider();
    let app = protocol(&provider).await;
    let (status, headers, body) = send(&app, preflight("/token", APP)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.is_empty());
    assert_eq!(header(&headers, "access-control-allow-origin"), "*");
    let methods = header_list(&headers, "access-control-allow-methods");
    assert!(methods.contains(&"post".to_owned()), "{methods:?}");
    let allowed = header_list(&headers, "access-control-allow-headers");
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
        header_list(&headers, "vary").contains(&"origin".to_owned()),
        "{headers:?}"
    );
    assert!(!headers.contains_key("access-control-allow-credentials"));
}

#[actix_web::test]
async fn preflight_and_actual_headers_are_byte_for_byte_the_axum_glues() {
    let provider = provider();
    let app = protocol(&provider).await;
    let (_, headers, _) = send(&app, preflight("/token", APP)).await;
    let mut names: Vec<&str> = headers.keys().map(|n| n.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "access-control-allow-headers",
            "access-control-allow-methods",
            "access-control-allow-origin",
            "access-control-max-age",
            "vary"
        ]
    );
    assert_eq!(
        header(&headers, "access-control-allow-methods"),
        "GET,HEAD,POST,PUT,DELETE"
    );
    assert_eq!(
        header(&headers, "access-control-allow-headers"),
        "authorization,content-type,accept,mcp-protocol-version"
    );
    assert_eq!(
        header(&headers, "vary"),
        "origin, access-control-request-method, access-control-request-headers"
    );

    let (_, headers, _) = send(&app, get_from("/token", APP)).await;
    assert_eq!(header(&headers, "access-control-allow-origin"), "*");
    assert_eq!(
        header(&headers, "access-control-expose-headers"),
        "www-authenticate"
    );
    assert_eq!(
        header(&headers, "vary"),
        "origin, access-control-request-method, access-control-request-headers"
    );
    assert!(!headers.contains_key("access-control-allow-methods"));
    assert!(!headers.contains_key("access-control-max-age"));
}

#[actix_web::test]
async fn default_policy_covers_every_protocol_endpoint() {
    let provider = registration_provider();
    let app = protocol(&provider).await;
    let service = ProtocolService::new(Arc::clone(&provider));
    for path in service.paths() {
        let path = path.replace("{client_id}", "some-client");
        let (status, headers, _) = send(&app, preflight(&path, APP)).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(
            header(&headers, "access-control-allow-origin"),
            "*",
            "{path}"
        );
        assert!(!headers.contains_key("access-control-allow-credentials"));
    }
}

#[actix_web::test]
async fn default_policy_actual_response_exposes_www_authenticate() {
    let provider = provider();
    let app = protocol(&provider).await;
    let (status, headers, body) = send_json(&app, get_from("/token", APP)).await;
    // The core's answer is untouched...
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&headers, "allow"), "POST");
    assert_eq!(body["error"], "invalid_request");
    // ...and readable from any origin, with its challenge.
    assert_eq!(header(&headers, "access-control-allow-origin"), "*");
    assert!(
        header_list(&headers, "access-control-expose-headers")
            .contains(&"www-authenticate".to_owned()),
        "{headers:?}"
    );
    assert!(header_list(&headers, "vary").contains(&"origin".to_owned()));
    assert!(!headers.contains_key("access-control-allow-credentials"));
}

#[actix_web::test]
async fn default_policy_lets_a_browser_read_a_basic_challenge_from_the_token_endpoint() {
    let provider = provider();
    let app = protocol(&provider).await;
    let request = TestRequest::post()
        .uri("/token")
        .insert_header(("origin", APP))
        .insert_header(("content-type", FORM))
        .insert_header(("authorization", basic("nobody", "wrong")))
        .set_payload(form(&[("grant_type", "authorization_code"), ("code", "x")]))
        .to_request();
    let (status, headers, body) = send_json(&app, request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "invalid_client");
    assert!(header(&headers, "www-authenticate").starts_with("Basic "));
    assert_eq!(header(&headers, "access-control-allow-origin"), "*");
    assert_eq!(
        header(&headers, "access-control-expose-headers"),
        "www-authenticate"
    );
}

#[actix_web::test]
async fn metadata_documents_are_readable_cross_origin() {
    let provider = provider();
    let app = protocol(&provider).await;
    let (status, headers, body) = send_json(
        &app,
        get_from("/.well-known/oauth-authorization-server", APP),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["issuer"], ISSUER);
    assert_eq!(header(&headers, "access-control-allow-origin"), "*");
    assert_eq!(header(&headers, "cache-control"), "public, max-age=3600");
}

#[actix_web::test]
async fn origins_policy_echoes_an_allowed_origin_and_ignores_others() {
    let provider = provider();
    let app = app_with(
        &provider,
        CorsPolicy::Origins(vec![HeaderValue::from_static(APP)]),
    )
    .await;

    let (status, headers, _) = send(&app, preflight("/token", APP)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "access-control-allow-origin"), APP);
    assert!(header_list(&headers, "vary").contains(&"origin".to_owned()));
    assert!(!headers.contains_key("access-control-allow-credentials"));

    let (status, headers, _) = send(&app, preflight("/token", EVIL)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        !headers.contains_key("access-control-allow-origin"),
        "{headers:?}"
    );
    // The response still varies by origin, so no cache serves it to the allowed one.
    assert!(header_list(&headers, "vary").contains(&"origin".to_owned()));

    // Actual requests: the same, and an unlisted origin still gets the core's answer.
    let (status, headers, _) = send(&app, get_from("/token", APP)).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&headers, "access-control-allow-origin"), APP);
    let (status, headers, _) = send(&app, get_from("/token", EVIL)).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(!headers.contains_key("access-control-allow-origin"));
    assert_eq!(header(&headers, "allow"), "POST");
}

#[actix_web::test]
async fn an_origin_list_containing_a_wildcard_or_null_ignores_them() {
    let provider = provider();
    let app = app_with(
        &provider,
        CorsPolicy::Origins(vec![
            HeaderValue::from_static("*"),
            HeaderValue::from_static("null"),
            HeaderValue::from_static(APP),
        ]),
    )
    .await;
    for origin in ["null", "*", EVIL] {
        let (status, headers, _) = send(&app, preflight("/token", origin)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            !headers.contains_key("access-control-allow-origin"),
            "{origin}: {headers:?}"
        );
    }
    let (_, headers, _) = send(&app, preflight("/token", APP)).await;
    assert_eq!(header(&headers, "access-control-allow-origin"), APP);
}

#[actix_web::test]
async fn same_origin_only_policy_adds_no_cors_headers() {
    let provider = provider();
    let app = app_with(&provider, CorsPolicy::SameOriginOnly).await;

    // A preflight is not answered by a CORS middleware: the core sees OPTIONS.
    let (status, headers, body) = send_json(&app, preflight("/token", APP)).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&headers, "allow"), "POST");
    assert_eq!(body["error"], "invalid_request");
    assert_no_cors_headers(&headers);

    let (status, headers, _) = send(
        &app,
        get_from("/.well-known/oauth-authorization-server", APP),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_no_cors_headers(&headers);
    assert!(!headers.contains_key("vary"));
}

#[actix_web::test]
async fn host_authorization_route_beside_the_protocol_service_gets_no_cors_headers() {
    let provider = provider();
    let service = ProtocolService::new(Arc::clone(&provider));
    let app = test::init_service(
        App::new()
            .service(web::resource("/authorize").get(|| async { Page::ok("<p>login</p>") }))
            .configure(|cfg| service.configure(cfg)),
    )
    .await;

    let (status, headers, body) = send_text(&app, get_from("/authorize", APP)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "<p>login</p>");
    assert_eq!(header(&headers, "x-frame-options"), "DENY");
    assert_no_cors_headers(&headers);

    // A preflight to it is not answered by the protocol service's CORS either.
    let (status, headers, _) = send(&app, preflight("/authorize", APP)).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_no_cors_headers(&headers);

    // While the protocol endpoints beside it keep theirs.
    let (status, headers, _) = send(&app, preflight("/token", APP)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "access-control-allow-origin"), "*");
}

#[actix_web::test]
async fn unknown_paths_get_no_cors_headers() {
    let provider = provider();
    let app = protocol(&provider).await;
    for request in [get_from("/nope", APP), preflight("/nope", APP)] {
        let (status, headers, _) = send(&app, request).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_no_cors_headers(&headers);
        assert!(!headers.contains_key("vary"));
    }
}

#[actix_web::test]
async fn cors_middleware_outside_require_bearer_lets_a_browser_read_the_challenge() {
    // `CorsPolicy::middleware` is public so hosts can put the same policy on their APIs.
    let provider = provider();
    let (_, token) = access_token(&provider, "read").await;
    let app = test::init_service(
        App::new().service(
            web::resource("/api/ping")
                .wrap(RequireBearer::new(Arc::clone(&provider)).scope("read"))
                .wrap(CorsPolicy::AnyOrigin.middleware())
                .get(|| async { "pong" }),
        ),
    )
    .await;

    // The preflight carries no token: answered by CORS before the bearer check.
    let (status, headers, _) = send(&app, preflight("/api/ping", APP)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "access-control-allow-origin"), "*");
    assert!(!headers.contains_key("access-control-allow-credentials"));
    assert!(!headers.contains_key("www-authenticate"));

    // The 401 is readable, challenge included.
    let (status, headers, _) = send(&app, get_from("/api/ping", APP)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(header(&headers, "access-control-allow-origin"), "*");
    assert_eq!(
        header(&headers, "access-control-expose-headers"),
        "www-authenticate"
    );
    assert!(header(&headers, "www-authenticate").starts_with("Bearer "));

    let request = TestRequest::get()
        .uri("/api/ping")
        .insert_header(("origin", APP))
        .insert_header(("authorization", format!("Bearer {token}")))
        .to_request();
    let (status, headers, body) = send_text(&app, request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "pong");
    assert_eq!(header(&headers, "access-control-allow-origin"), "*");
}

#[actix_web::test]
async fn cors_middleware_adds_vary_to_the_responses_own_and_replaces_other_cors_headers() {
    let app = test::init_service(
        App::new().service(
            web::resource("/api/doc")
                .wrap(CorsPolicy::AnyOrigin.middleware())
                .get(|| async {
                    HttpResponse::Ok()
                        .insert_header(("vary", "accept"))
                        .insert_header(("access-control-allow-origin", "https://other.example"))
                        .finish()
                }),
        ),
    )
    .await;
    let (_, headers, _) = send(&app, get_from("/api/doc", APP)).await;
    let vary = header_list(&headers, "vary");
    assert!(vary.contains(&"accept".to_owned()), "{vary:?}");
    assert!(vary.contains(&"origin".to_owned()), "{vary:?}");
    assert_eq!(
        headers
            .get_all("access-control-allow-origin")
            .iter()
            .collect::<Vec<_>>(),
        ["*"]
    );
}

#[actix_web::test]
async fn same_origin_only_middleware_changes_nothing() {
    let app = test::init_service(
        App::new().service(
            web::resource("/api/ping")
                .wrap(CorsPolicy::SameOriginOnly.middleware())
                .get(|| async { "pong" }),
        ),
    )
    .await;
    let (status, headers, _) = send(&app, preflight("/api/ping", APP)).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_no_cors_headers(&headers);
    let (status, headers, body) = send_text(&app, get_from("/api/ping", APP)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "pong");
    assert_no_cors_headers(&headers);
    assert!(!headers.contains_key("vary"));
}
