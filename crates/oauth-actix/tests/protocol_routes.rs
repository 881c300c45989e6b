//! Every protocol endpoint reached through `ProtocolService::new(provider).configure`: the
//! service routes exactly the configured paths to the core and hands back the core's
//! complete response (status, headers, body) unchanged.

mod common;

use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::http::{Method, StatusCode};
use actix_web::test::{self, TestRequest};
use actix_web::{web, App};
use common::*;
use oauth_actix::ProtocolService;
use oauth_core::model::AuthMethod;
use serde_json::json;

#[actix_web::test]
async fn token_endpoint_exchanges_an_authorization_code_with_pkce() {
    let provider = provider();
    let client = public_client(&provider).await;
    let code = obtain_code(
        &provider,
        client.id.as_str(),
        "alice",
        &[("scope", "read write")],
    )
    .await;
    let app = protocol(&provider).await;

    let (status, headers, body) = send_json(&app, code_redemption(client.id.as_str(), &code)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(header(&headers, "content-type"), "application/json");
    assert_eq!(header(&headers, "cache-control"), "no-store");
    assert_eq!(header(&headers, "pragma"), "no-cache");
    assert!(
        body["access_token"].as_str().is_some_and(|t| !t.is_empty()),
        "{body}"
    );
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "read write");
    assert!(body["expires_in"].as_u64().is_some(), "{body}");
    assert!(body["refresh_token"].as_str().is_some(), "{body}");

    // The token works at the resource server, and the code was consumed.
    let token = body["access_token"].as_str().unwrap();
    let api = http::Request::get("/api")
        .header("authorization", format!("Bearer {token}"))
        .body(Vec::new())
        .unwrap();
    let access = provider.authenticate(&api).await.unwrap();
    assert_eq!(access.client_id, client.id);
    let (status, _, body) = send_json(&app, code_redemption(client.id.as_str(), &code)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
}

#[actix_web::test]
async fn token_endpoint_get_is_405_from_the_core_with_allow_post() {
    let provider = provider();
    let app = protocol(&provider).await;
    let (status, headers, body) = send_json(&app, empty(Method::GET, "/token")).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&headers, "allow"), "POST");
    assert_eq!(header(&headers, "cache-control"), "no-store");
    assert_eq!(body["error"], "invalid_request");
}

#[actix_web::test]
async fn token_endpoint_errors_are_the_cores_json_errors() {
    let provider = provider();
    let app = protocol(&provider).await;
    let request = form_post("/token", &[("grant_type", "password"), ("client_id", "x")]);
    let (status, headers, body) = send_json(&app, request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(header(&headers, "content-type"), "application/json");
    assert_eq!(header(&headers, "cache-control"), "no-store");
    assert_eq!(body["error"], "unsupported_grant_type");
}

#[actix_web::test]
async fn revocation_endpoint_revokes_a_token_with_200_and_an_empty_body() {
    let provider = provider();
    let (client, token) = access_token(&provider, "read").await;
    let app = protocol(&provider).await;

    let request = form_post(
        "/revoke",
        &[("token", &token), ("client_id", client.id.as_str())],
    );
    let (status, headers, body) = send(&app, request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "cache-control"), "no-store");
    assert!(body.is_empty(), "{body:?}");

    let api = http::Request::get("/api")
        .header("authorization", format!("Bearer {token}"))
        .body(Vec::new())
        .unwrap();
    let error = provider.authenticate(&api).await.unwrap_err();
    assert_eq!(error.status(), http::StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn introspection_endpoint_shows_a_confidential_clients_own_token_as_active() {
    let provider = provider();
    let (client, secret) = confidential_client(&provider, AuthMethod::ClientSecretBasic).await;
    let code = obtain_code(&provider, client.id.as_str(), "alice", &[]).await;
    let app = protocol(&provider).await;
    let authorization = basic(client.id.as_str(), secret.expose());
    let redeem = TestRequest::post()
        .uri("/token")
        .insert_header(("content-type", FORM))
        .insert_header(("authorization", authorization.as_str()))
        .set_payload(form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ]))
        .to_request();
    let (status, _, tokens) = send_json(&app, redeem).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let token = tokens["access_token"].as_str().unwrap();

    let introspect = |token: &str| {
        TestRequest::post()
            .uri("/introspect")
            .insert_header(("content-type", FORM))
            .insert_header(("authorization", authorization.as_str()))
            .set_payload(form(&[("token", token)]))
            .to_request()
    };
    let (status, headers, body) = send_json(&app, introspect(token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(header(&headers, "content-type"), "application/json");
    assert_eq!(header(&headers, "cache-control"), "no-store");
    assert_eq!(body["active"], true, "{body}");
    assert_eq!(body["client_id"], client.id.as_str());
    assert_eq!(body["sub"], "alice");
    assert_eq!(body["scope"], "read");
    assert_eq!(body["aud"], RESOURCE);
    assert_eq!(body["iss"], ISSUER);

    let (status, _, bytes) = send(&app, introspect("unknown")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&bytes[..], br#"{"active":false}"#);
}

#[actix_web::test]
async fn registration_post_is_201_and_client_configuration_get_reads_the_client() {
    let provider = registration_provider();
    let app = protocol(&provider).await;
    let metadata = json!({
        "redirect_uris": [REDIRECT],
        "token_endpoint_auth_method": "none",
        "client_name": "Glue test client",
    });
    let register = TestRequest::post()
        .uri("/register")
        .insert_header(("content-type", "application/json"))
        .set_payload(serde_json::to_vec(&metadata).unwrap())
        .to_request();
    let (status, headers, registered) = send_json(&app, register).await;
    assert_eq!(status, StatusCode::CREATED, "{registered}");
    assert_eq!(header(&headers, "content-type"), "application/json");
    assert_eq!(header(&headers, "cache-control"), "no-store");
    let client_id = registered["client_id"].as_str().unwrap().to_owned();
    let access_token = registered["registration_access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        registered["registration_client_uri"],
        format!("{ISSUER}/register/{client_id}")
    );

    // The client configuration endpoint, at {registration}/{client_id}.
    let uri = format!("/register/{client_id}");
    let (status, headers, read) = send_json(&app, bearer_get(&uri, &access_token)).await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(header(&headers, "cache-control"), "no-store");
    assert_eq!(read["client_id"], client_id.as_str());
    assert_eq!(read["client_name"], "Glue test client");
    assert_eq!(read["redirect_uris"], json!([REDIRECT]));

    // Without the registration access token: the core's 401 with a Bearer challenge.
    let (status, headers, _) = send(&app, empty(Method::GET, &uri)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(header(&headers, "www-authenticate").starts_with("Bearer "));
}

#[actix_web::test]
async fn client_configuration_is_routed_for_exactly_one_segment_below_the_registration_path() {
    let provider = registration_provider();
    let app = protocol(&provider).await;
    // One non-empty segment: the core answers (here, its 401 without a token).
    for uri in ["/register/abc", "/register/a%2Fb"] {
        let (status, headers, _) = send(&app, empty(Method::GET, uri)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri}");
        assert!(headers.contains_key("www-authenticate"), "{uri}");
    }
    // Anything else below it is not served.
    for uri in [
        "/register/",
        "/register/a/b",
        "/register//a",
        "/registerx/a",
    ] {
        let (status, headers, body) = send(&app, empty(Method::GET, uri)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        assert!(body.is_empty(), "{uri}");
        assert!(!headers.contains_key("www-authenticate"), "{uri}");
    }
}

#[actix_web::test]
async fn registration_routes_are_absent_when_registration_is_disabled() {
    let provider = provider();
    let service = ProtocolService::new(Arc::clone(&provider));
    assert!(!service.paths().iter().any(|p| p.starts_with("/register")));
    let app = test::init_service(App::new().configure(|cfg| service.configure(cfg))).await;
    let register = TestRequest::post()
        .uri("/register")
        .insert_header(("content-type", "application/json"))
        .set_payload(r#"{"redirect_uris":["https://client.example/cb"]}"#)
        .to_request();
    let (status, _, body) = send(&app, register).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.is_empty());
}

#[actix_web::test]
async fn authorization_server_metadata_is_served_at_its_well_known_path() {
    let provider = provider();
    let app = protocol(&provider).await;
    let path = "/.well-known/oauth-authorization-server";
    let (status, headers, body) = send_json(&app, empty(Method::GET, path)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(header(&headers, "content-type"), "application/json");
    assert_eq!(header(&headers, "cache-control"), "public, max-age=3600");
    assert_eq!(body["issuer"], ISSUER);
    assert_eq!(body["token_endpoint"], format!("{ISSUER}/token"));
    assert_eq!(
        body["authorization_endpoint"],
        format!("{ISSUER}/authorize")
    );
    assert_eq!(body["revocation_endpoint"], format!("{ISSUER}/revoke"));
    assert_eq!(
        body["introspection_endpoint"],
        format!("{ISSUER}/introspect")
    );
    assert_eq!(body["code_challenge_methods_supported"], json!(["S256"]));
    let length = serde_json::to_vec(&body).unwrap().len();

    // HEAD: the headers without the body, the length GET would send.
    let (status, headers, body) = send(&app, empty(Method::HEAD, path)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "content-type"), "application/json");
    assert_eq!(header(&headers, "content-length"), length.to_string());
    assert!(body.is_empty());

    // Another method: the core's 405.
    let (status, headers, _) = send(&app, empty(Method::POST, path)).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&headers, "allow"), "GET, HEAD");
}

#[actix_web::test]
async fn head_response_body_declares_the_get_length_for_actixs_writer() {
    // actix writes the `Content-Length` of the body it is given: the body of a HEAD
    // response must declare the GET length, not 0 (RFC 9110 §8.6).
    let provider = provider();
    let app = protocol(&provider).await;
    let path = "/.well-known/oauth-authorization-server";
    let get = test::call_service(&app, empty(Method::GET, path)).await;
    let get_length = test::read_body(get).await.len() as u64;
    let head = test::call_service(&app, empty(Method::HEAD, path)).await;
    assert_eq!(
        head.response().body().size(),
        actix_web::body::BodySize::Sized(get_length)
    );
    assert!(test::read_body(head).await.is_empty());
}

#[actix_web::test]
async fn authorization_server_metadata_of_an_issuer_with_a_path_is_path_aware() {
    let tenant = provider_for_issuer("https://as.example/tenant1", |b| b);
    let service = ProtocolService::new(Arc::clone(&tenant));
    assert!(service
        .paths()
        .contains(&"/.well-known/oauth-authorization-server/tenant1".to_owned()));
    let app = test::init_service(App::new().configure(|cfg| service.configure(cfg))).await;
    let (status, headers, body) = send_json(
        &app,
        empty(
            Method::GET,
            "/.well-known/oauth-authorization-server/tenant1",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(header(&headers, "content-type"), "application/json");
    assert_eq!(body["issuer"], "https://as.example/tenant1");

    // The root URL is not this issuer's (RFC 8414 §3.1): not routed.
    let (status, _, _) = send(
        &app,
        empty(Method::GET, "/.well-known/oauth-authorization-server"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn protected_resource_metadata_is_served_at_the_path_aware_well_known_url() {
    let provider = provider();
    let app = protocol(&provider).await;
    let (status, headers, body) = send_json(
        &app,
        empty(Method::GET, "/.well-known/oauth-protected-resource/mcp"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(header(&headers, "content-type"), "application/json");
    assert_eq!(header(&headers, "cache-control"), "public, max-age=3600");
    assert_eq!(body["resource"], RESOURCE);
    assert_eq!(body["authorization_servers"], json!([ISSUER]));
    assert_eq!(body["bearer_methods_supported"], json!(["header"]));
    assert_eq!(body["scopes_supported"], json!(["admin", "read", "write"]));
}

#[actix_web::test]
async fn protected_resource_metadata_of_each_configured_resource_is_routed() {
    let provider = two_resource_provider();
    let app = protocol(&provider).await;
    for (path, resource) in [
        ("/.well-known/oauth-protected-resource/mcp", RESOURCE),
        ("/.well-known/oauth-protected-resource/api", OTHER_RESOURCE),
    ] {
        let (status, headers, body) = send_json(&app, empty(Method::GET, path)).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert_eq!(header(&headers, "content-type"), "application/json");
        assert_eq!(body["resource"], resource);
    }
    // With two resources, the root fallback cannot tell which one is meant.
    let (status, _, body) = send(
        &app,
        empty(Method::GET, "/.well-known/oauth-protected-resource"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.is_empty());
}

#[actix_web::test]
async fn protected_resource_root_fallback_is_routed_like_the_core_serves_it() {
    let provider = provider();
    let direct = provider
        .handle(
            &http::Request::get("/.well-known/oauth-protected-resource")
                .body(Vec::new())
                .unwrap(),
        )
        .await;
    assert_eq!(direct.status(), http::StatusCode::OK);

    let app = protocol(&provider).await;
    let (status, headers, body) = send_json(
        &app,
        empty(Method::GET, "/.well-known/oauth-protected-resource"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(header(&headers, "content-type"), "application/json");
    assert_eq!(body["resource"], RESOURCE);
}

#[actix_web::test]
async fn unknown_path_is_404_from_actix() {
    let provider = provider();
    let app = protocol(&provider).await;
    for (method, path) in [
        (Method::GET, "/nope"),
        (Method::POST, "/token/extra"),
        (Method::POST, "/token/"),
        (Method::GET, "/authorize"),
        (Method::GET, "/.well-known/oauth-protected-resource/other"),
    ] {
        let (status, headers, body) = send(&app, empty(method.clone(), path)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}");
        assert!(body.is_empty(), "{method} {path}: {body:?}");
        assert!(!headers.contains_key("cache-control"), "{headers:?}");
    }
}

#[actix_web::test]
async fn paths_are_matched_as_received_not_percent_decoded() {
    // actix routes on a percent-decoded path; the core compares the path as received.
    // `/%74oken` is not `/token` to the core, so it is not routed to it either (the
    // framework's 404, not the core's, and no CORS headers).
    let provider = provider();
    let app = protocol(&provider).await;
    for path in ["/%74oken", "/.well-known/oauth-authorization-serve%72"] {
        let request = TestRequest::default()
            .method(Method::GET)
            .uri(path)
            .insert_header(("origin", "https://app.example"))
            .to_request();
        let (status, headers, _) = send(&app, request).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        assert!(
            !headers.contains_key("access-control-allow-origin"),
            "{path}: {headers:?}"
        );
    }
}

#[actix_web::test]
async fn configured_endpoint_paths_are_the_routed_ones() {
    let service = ProtocolService::new(custom_paths_provider());
    assert_custom_paths(&service.paths());
    let app = test::init_service(App::new().configure(|cfg| service.configure(cfg))).await;

    let (status, headers, _) = send_json(&app, empty(Method::GET, "/oauth/token")).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&headers, "allow"), "POST");
    let (status, _, _) = send(&app, empty(Method::GET, "/token")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[actix_web::test]
async fn protocol_service_configures_beside_the_applications_routes_and_data() {
    struct Greeting(&'static str);
    let provider = provider();
    let service = ProtocolService::new(Arc::clone(&provider));
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(Greeting("hi")))
            .route(
                "/hello",
                web::get().to(|greeting: web::Data<Greeting>| async move { greeting.0 }),
            )
            .configure(|cfg| service.configure(cfg)),
    )
    .await;

    let (status, _, body) = send_text(&app, empty(Method::GET, "/hello")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "hi");
    let (status, headers, _) = send_json(&app, empty(Method::GET, "/token")).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&headers, "allow"), "POST");
}

#[actix_web::test]
async fn the_application_default_service_answers_what_the_protocol_service_does_not() {
    let provider = provider();
    let service = ProtocolService::new(Arc::clone(&provider));
    let app = test::init_service(
        App::new()
            .configure(|cfg| service.configure(cfg))
            .default_service(web::to(|| async { "fallback" })),
    )
    .await;
    let (status, _, body) = send_text(&app, empty(Method::GET, "/elsewhere")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "fallback");
    let (status, _, _) = send(&app, empty(Method::GET, "/token")).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

#[test]
fn configuration_values_move_into_an_http_server_factory() {
    // `HttpServer::new` takes a `Send + Clone + 'static` factory that builds one `App`
    // per worker: what the host builds once must move into it.
    fn factory_part<T: Send + Sync + Clone + 'static>() {}
    factory_part::<ProtocolService<oauth_store_memory::MemoryStore>>();
    factory_part::<oauth_actix::RequireBearer<oauth_store_memory::MemoryStore>>();
    factory_part::<oauth_actix::CorsPolicy>();
    factory_part::<oauth_actix::CorsMiddleware>();
    factory_part::<oauth_actix::Page>();
}
