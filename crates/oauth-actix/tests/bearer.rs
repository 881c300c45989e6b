//! Bearer-protected routes: the `Bearer<S>` extractor (provider found in the application
//! data) and the `RequireBearer` middleware (scopes, explicit resource), both answering
//! with the core's complete RFC 6750 / RFC 9728 response.

mod common;

use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::test::{self, TestRequest};
use actix_web::{web, App, ResponseError};
use common::*;
use oauth_actix::{Bearer, BearerRejection, RequireBearer};
use oauth_core::resource::Resource;
use oauth_core::Access;
use oauth_store_memory::MemoryStore;

/// What a handler saw: `user client scope`.
fn describe(access: &Access) -> String {
    describe_access(access)
}

async fn bearer_handler(Bearer(access, _): Bearer<MemoryStore>) -> String {
    describe(&access)
}

async fn req_data_handler(access: web::ReqData<Access>) -> String {
    describe(&access)
}

/// `GET /api/me` with the `Bearer` extractor, the provider in the application data.
async fn extractor_app(
    provider: &TestProvider,
) -> impl Service<Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error> {
    test::init_service(
        App::new()
            .app_data(data(provider))
            .route("/api/me", web::get().to(bearer_handler)),
    )
    .await
}

// ---- the extractor ----

#[actix_web::test]
async fn bearer_extractor_without_token_is_401_with_resource_metadata_challenge() {
    let provider = provider();
    let app = extractor_app(&provider).await;
    let (status, headers, body) = send(&app, empty(Method::GET, "/api/me")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.is_empty());
    let params = assert_bearer_challenge(&headers, RESOURCE_METADATA);
    // No token, no error (RFC 6750 §3.1).
    assert!(!params.contains_key("error"), "{params:?}");
}

#[actix_web::test]
async fn bearer_extractor_with_an_unknown_token_is_401_invalid_token() {
    let provider = provider();
    let app = extractor_app(&provider).await;
    for token in [
        "unknown",
        "oa2at_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ] {
        let (status, headers, _) = send(&app, bearer_get("/api/me", token)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token}");
        let params = assert_bearer_challenge(&headers, RESOURCE_METADATA);
        assert_eq!(params["error"], "invalid_token", "{token}");
    }
}

#[actix_web::test]
async fn bearer_extractor_with_a_malformed_authorization_header_is_400_invalid_request() {
    let provider = provider();
    let app = extractor_app(&provider).await;
    let request = TestRequest::get()
        .uri("/api/me")
        .insert_header(("authorization", "Bearer not a token68"))
        .to_request();
    let (status, headers, _) = send(&app, request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let params = assert_bearer_challenge(&headers, RESOURCE_METADATA);
    assert_eq!(params["error"], "invalid_request");
}

#[actix_web::test]
async fn bearer_extractor_with_two_authorization_headers_is_400() {
    let provider = provider();
    let (_, token) = access_token(&provider, "read").await;
    let app = extractor_app(&provider).await;
    let request = TestRequest::get()
        .uri("/api/me")
        .append_header(("authorization", format!("Bearer {token}")))
        .append_header(("authorization", format!("Bearer {token}")))
        .to_request();
    let (status, headers, _) = send(&app, request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let params = assert_bearer_challenge(&headers, RESOURCE_METADATA);
    assert_eq!(params["error"], "invalid_request");
    assert_eq!(
        params["error_description"],
        "more than one Authorization header"
    );
}

#[actix_web::test]
async fn bearer_extractor_with_another_scheme_is_401_without_error() {
    let provider = provider();
    let app = extractor_app(&provider).await;
    let request = TestRequest::get()
        .uri("/api/me")
        .insert_header(("authorization", basic("client", "secret")))
        .to_request();
    let (status, headers, _) = send(&app, request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let params = assert_bearer_challenge(&headers, RESOURCE_METADATA);
    assert!(!params.contains_key("error"));
}

#[actix_web::test]
async fn bearer_extractor_with_a_valid_token_gives_the_handler_the_user_and_client() {
    let provider = provider();
    let (client, token) = access_token(&provider, "read write").await;
    let app = extractor_app(&provider).await;
    let (status, headers, body) = send_text(&app, bearer_get("/api/me", &token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, format!("alice {} read write", client.id));
    assert!(!headers.contains_key("www-authenticate"));
}

#[actix_web::test]
async fn bearer_extractor_with_a_revoked_token_is_401_invalid_token() {
    let provider = provider();
    let (client, token) = access_token(&provider, "read").await;
    let app = extractor_app(&provider).await;
    let (status, _, _) = send(&app, bearer_get("/api/me", &token)).await;
    assert_eq!(status, StatusCode::OK);

    let protocol = protocol(&provider).await;
    let revoke = form_post(
        "/revoke",
        &[("token", &token), ("client_id", client.id.as_str())],
    );
    let (status, _, _) = send(&protocol, revoke).await;
    assert_eq!(status, StatusCode::OK);

    let (status, headers, _) = send(&app, bearer_get("/api/me", &token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let params = assert_bearer_challenge(&headers, RESOURCE_METADATA);
    assert_eq!(params["error"], "invalid_token");
}

#[actix_web::test]
async fn bearer_extractor_reads_the_header_only_and_leaves_the_body_to_the_handler() {
    let provider = provider();
    let (_, token) = access_token(&provider, "read").await;
    let app = test::init_service(App::new().app_data(data(&provider)).route(
        "/api/notes",
        web::post().to(
            |Bearer(access, _): Bearer<MemoryStore>, body: String| async move {
                format!("{} {body}", describe(&access))
            },
        ),
    ))
    .await;

    // A form body with `access_token` is the application's payload, not a credential
    // (RFC 6750 §2.2 is not supported): without a header, 401.
    let request = TestRequest::post()
        .uri("/api/notes")
        .insert_header(("content-type", FORM))
        .set_payload(form(&[("access_token", &token)]))
        .to_request();
    let (status, headers, _) = send(&app, request).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(!challenge_params(header(&headers, "www-authenticate")).contains_key("error"));

    // With the header, the handler gets the whole body.
    let request = TestRequest::post()
        .uri("/api/notes")
        .insert_header(("content-type", FORM))
        .insert_header(("authorization", format!("Bearer {token}")))
        .set_payload("note=hello")
        .to_request();
    let (status, _, body) = send_text(&app, request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.starts_with("alice "), "{body}");
    assert!(body.ends_with(" read note=hello"), "{body}");
}

#[actix_web::test]
async fn bearer_extractor_composes_with_application_data() {
    struct Name(&'static str);
    let provider = provider();
    let (client, token) = access_token(&provider, "read").await;
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(Name("app")))
            .app_data(data(&provider))
            .route(
                "/api/me",
                web::get().to(
                    |name: web::Data<Name>, Bearer(access, _): Bearer<MemoryStore>| async move {
                        format!("{}: {}", name.0, describe(&access))
                    },
                ),
            ),
    )
    .await;

    let (status, _, body) = send_text(&app, bearer_get("/api/me", &token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, format!("app: alice {} read", client.id));
    let (status, headers, _) = send(&app, empty(Method::GET, "/api/me")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_bearer_challenge(&headers, RESOURCE_METADATA);
}

#[actix_web::test]
async fn bearer_extractor_without_a_registered_provider_says_you_forgot_to_register_it() {
    let provider = provider();
    let (_, token) = access_token(&provider, "read").await;
    let app = test::init_service(App::new().route("/api/me", web::get().to(bearer_handler))).await;
    let (status, headers, body) = send_text(&app, bearer_get("/api/me", &token)).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        body.contains("you forgot to register the provider"),
        "{body}"
    );
    assert!(!headers.contains_key("www-authenticate"));
}

#[actix_web::test]
async fn bearer_rejection_is_a_response_error_with_the_cores_response() {
    // A handler that takes `Result<Bearer, Error>` sees the rejection as a
    // `BearerRejection` and may answer it itself.
    let provider = provider();
    let app = test::init_service(App::new().app_data(data(&provider)).route(
        "/api/me",
        web::get().to(
            |bearer: Result<Bearer<MemoryStore>, actix_web::Error>| async move {
                match bearer {
                    Ok(Bearer(access, _)) => describe(&access),
                    Err(error) => {
                        let rejection = error.as_error::<BearerRejection>().unwrap();
                        format!(
                            "{} {:?}",
                            rejection.status_code().as_u16(),
                            rejection.0.reason
                        )
                    }
                }
            },
        ),
    ))
    .await;
    let (status, _, body) = send_text(&app, bearer_get("/api/me", "nope")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "401 Some(AccessTokenInvalid)");
}

#[actix_web::test]
async fn bearer_extractor_on_a_provider_with_several_resources_fails_closed() {
    // `Bearer` alone cannot tell which resource a route is: the core refuses (500, no
    // challenge) rather than accept a token for another resource.
    let provider = two_resource_provider();
    let (_, body) = tokens_via_app(&provider, "alice", &[("resource", RESOURCE)]).await;
    let token = body["access_token"].as_str().unwrap().to_owned();
    let app = extractor_app(&provider).await;
    let (status, headers, _) = send(&app, bearer_get("/api/me", &token)).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!headers.contains_key("www-authenticate"));
    assert_eq!(header(&headers, "cache-control"), "no-store");
}

// ---- the middleware ----

/// `GET /api/notes` behind `middleware`, the handler taking `web::ReqData<Access>`; no
/// provider in the application data (the middleware holds its own).
async fn guarded_app(
    middleware: RequireBearer<MemoryStore>,
) -> impl Service<Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error> {
    test::init_service(
        App::new().service(
            web::resource("/api/notes")
                .wrap(middleware)
                .get(req_data_handler),
        ),
    )
    .await
}

#[actix_web::test]
async fn require_bearer_without_token_is_401_with_resource_metadata_challenge() {
    let provider = provider();
    let app = guarded_app(RequireBearer::new(Arc::clone(&provider)).scope("read")).await;
    let (status, headers, body) = send(&app, empty(Method::GET, "/api/notes")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.is_empty());
    let params = assert_bearer_challenge(&headers, RESOURCE_METADATA);
    assert!(!params.contains_key("error"));
}

#[actix_web::test]
async fn require_bearer_missing_scope_is_403_insufficient_scope_naming_the_scope() {
    let provider = provider();
    let (_, token) = access_token(&provider, "read").await;
    let app = guarded_app(RequireBearer::new(Arc::clone(&provider)).scope("read write")).await;
    let (status, headers, body) = send(&app, bearer_get("/api/notes", &token)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.is_empty());
    let params = assert_bearer_challenge(&headers, RESOURCE_METADATA);
    assert_eq!(params["error"], "insufficient_scope");
    assert_eq!(params["scope"], "read write");
}

#[actix_web::test]
async fn require_bearer_with_the_scope_gives_the_handler_req_data_access() {
    let provider = provider();
    let (client, token) = access_token(&provider, "read write").await;
    let app = guarded_app(RequireBearer::new(Arc::clone(&provider)).scope("write")).await;
    let (status, headers, body) = send_text(&app, bearer_get("/api/notes", &token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body, format!("alice {} read write", client.id));
    assert!(!headers.contains_key("www-authenticate"));
}

#[actix_web::test]
async fn require_bearer_with_an_unknown_token_is_401_invalid_token() {
    let provider = provider();
    let app = guarded_app(RequireBearer::new(Arc::clone(&provider))).await;
    let (status, headers, _) = send(&app, bearer_get("/api/notes", "nope")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let params = assert_bearer_challenge(&headers, RESOURCE_METADATA);
    assert_eq!(params["error"], "invalid_token");
}

#[actix_web::test]
async fn require_bearer_for_another_resource_than_the_tokens_audience_is_401() {
    let provider = two_resource_provider();
    // A token whose audience is RESOURCE only (RFC 8707 `resource` at authorization).
    let (client, body) = tokens_via_app(&provider, "alice", &[("resource", RESOURCE)]).await;
    let token = body["access_token"].as_str().unwrap();

    let other = guarded_app(RequireBearer::for_resource(
        Arc::clone(&provider),
        Resource::parse(OTHER_RESOURCE).unwrap(),
    ))
    .await;
    let (status, headers, _) = send(&other, bearer_get("/api/notes", token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let params = assert_bearer_challenge(&headers, OTHER_RESOURCE_METADATA);
    assert_eq!(params["error"], "invalid_token");

    let own = guarded_app(RequireBearer::for_resource(
        Arc::clone(&provider),
        Resource::parse(RESOURCE).unwrap(),
    ))
    .await;
    let (status, _, text) = send_text(&own, bearer_get("/api/notes", token)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(text, format!("alice {} read", client.id));
}

#[actix_web::test]
async fn require_bearer_new_on_a_provider_with_several_resources_fails_closed() {
    let provider = two_resource_provider();
    let (_, body) = tokens_via_app(&provider, "alice", &[("resource", RESOURCE)]).await;
    let token = body["access_token"].as_str().unwrap().to_owned();
    let app = guarded_app(RequireBearer::new(Arc::clone(&provider))).await;
    let (status, headers, _) = send(&app, bearer_get("/api/notes", &token)).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(!headers.contains_key("www-authenticate"));
}

#[actix_web::test]
async fn bearer_extractor_behind_the_middleware_reuses_the_middlewares_access() {
    // On a two-resource provider `Bearer` alone fails closed (see above); behind a
    // `for_resource` middleware it takes the access the middleware validated.
    let provider = two_resource_provider();
    let (client, body) = tokens_via_app(&provider, "alice", &[("resource", OTHER_RESOURCE)]).await;
    let token = body["access_token"].as_str().unwrap();
    let app = test::init_service(
        App::new().app_data(data(&provider)).service(
            web::resource("/api/me")
                .wrap(RequireBearer::for_resource(
                    Arc::clone(&provider),
                    Resource::parse(OTHER_RESOURCE).unwrap(),
                ))
                .get(bearer_handler),
        ),
    )
    .await;
    let (status, _, text) = send_text(&app, bearer_get("/api/me", token)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(text, format!("alice {} read", client.id));

    let (status, headers, _) = send(&app, empty(Method::GET, "/api/me")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_bearer_challenge(&headers, OTHER_RESOURCE_METADATA);
}

#[actix_web::test]
async fn require_bearer_on_a_resource_leaves_other_paths_to_actix() {
    let provider = provider();
    let app = guarded_app(RequireBearer::new(Arc::clone(&provider))).await;
    let (status, headers, _) = send(&app, empty(Method::GET, "/elsewhere")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!headers.contains_key("www-authenticate"));
}

#[actix_web::test]
async fn require_bearer_on_a_scope_guards_every_path_of_the_scope_and_only_those() {
    let provider = provider();
    let (client, token) = access_token(&provider, "read").await;
    let app = test::init_service(
        App::new()
            .service(
                web::scope("/api")
                    .wrap(RequireBearer::new(Arc::clone(&provider)).scope("read"))
                    .route("/notes", web::get().to(req_data_handler)),
            )
            .route("/public", web::get().to(|| async { "public" })),
    )
    .await;
    let (status, _, text) = send_text(&app, bearer_get("/api/notes", &token)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(text, format!("alice {} read", client.id));
    // The scope's unmatched paths are guarded too (the documented difference from a
    // resource): no token, a 401 before the 404; with one, the 404.
    let (status, headers, _) = send(&app, empty(Method::GET, "/api/unknown")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_bearer_challenge(&headers, RESOURCE_METADATA);
    let (status, _, _) = send(&app, bearer_get("/api/unknown", &token)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Outside the scope: untouched.
    let (status, _, text) = send_text(&app, empty(Method::GET, "/public")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(text, "public");
}

#[actix_web::test]
async fn require_bearer_middlewares_stack_per_resource() {
    // A read resource and a write resource on one app, each with its own requirement.
    let provider = provider();
    let (_, read_only) = access_token(&provider, "read").await;
    let app = test::init_service(
        App::new()
            .service(
                web::resource("/api/read")
                    .wrap(RequireBearer::new(Arc::clone(&provider)).scope("read"))
                    .get(req_data_handler),
            )
            .service(
                web::resource("/api/write")
                    .wrap(RequireBearer::new(Arc::clone(&provider)).scope("write"))
                    .post(req_data_handler),
            ),
    )
    .await;

    let (status, _, _) = send(&app, bearer_get("/api/read", &read_only)).await;
    assert_eq!(status, StatusCode::OK);
    let request = TestRequest::post()
        .uri("/api/write")
        .insert_header(("authorization", format!("Bearer {read_only}")))
        .to_request();
    let (status, headers, _) = send(&app, request).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let params = assert_bearer_challenge(&headers, RESOURCE_METADATA);
    assert_eq!(params["scope"], "write");
}

#[actix_web::test]
async fn require_bearer_scopes_given_twice_are_both_required() {
    let provider = provider();
    let (_, token) = access_token(&provider, "read").await;
    let app = guarded_app(
        RequireBearer::new(Arc::clone(&provider))
            .scope("write")
            .scope("read"),
    )
    .await;
    let (status, headers, _) = send(&app, bearer_get("/api/notes", &token)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let params = assert_bearer_challenge(&headers, RESOURCE_METADATA);
    assert_eq!(params["scope"], "read write");
}
