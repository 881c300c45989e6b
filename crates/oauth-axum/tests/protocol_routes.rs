//! Every protocol endpoint reached through `ProtocolRouter::new(provider).build()`: the
//! router routes the configured paths to the core and hands back the core's complete
//! response (status, headers, body) unchanged.

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use common::*;
use http::{Method, Request, StatusCode};
use oauth_axum::ProtocolRouter;
use serde_json::json;

#[tokio::test]
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

    let response = send(
        protocol(&provider),
        code_redemption(client.id.as_str(), &code),
    )
    .await;
    let (status, headers, body) = json_parts(response).await;

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
    let api = Request::get("/api")
        .header("authorization", format!("Bearer {token}"))
        .body(Vec::new())
        .unwrap();
    let access = provider.authenticate(&api).await.unwrap();
    assert_eq!(access.client_id, client.id);
    let again = send(
        protocol(&provider),
        code_redemption(client.id.as_str(), &code),
    )
    .await;
    let (status, _, body) = json_parts(again).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn token_endpoint_get_is_405_from_the_core_with_allow_post() {
    let provider = provider();
    let response = send(protocol(&provider), empty(Method::GET, "/token")).await;
    let (status, headers, body) = json_parts(response).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&headers, "allow"), "POST");
    assert_eq!(header(&headers, "cache-control"), "no-store");
    assert_eq!(body["error"], "invalid_request");
}

#[tokio::test]
async fn token_endpoint_errors_are_the_cores_json_errors() {
    let provider = provider();
    let response = send(
        protocol(&provider),
        form_post("/token", &[("grant_type", "password"), ("client_id", "x")]),
    )
    .await;
    let (status, headers, body) = json_parts(response).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(header(&headers, "content-type"), "application/json");
    assert_eq!(header(&headers, "cache-control"), "no-store");
    assert_eq!(body["error"], "unsupported_grant_type");
}

#[tokio::test]
async fn revocation_endpoint_revokes_a_token_with_200_and_an_empty_body() {
    let provider = provider();
    let (client, token) = access_token(&provider, "read").await;

    let response = send(
        protocol(&provider),
        form_post(
            "/revoke",
            &[("token", &token), ("client_id", client.id.as_str())],
        ),
    )
    .await;
    let (status, headers, body) = parts(response).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "cache-control"), "no-store");
    assert!(body.is_empty(), "{body:?}");

    let api = Request::get("/api")
        .header("authorization", format!("Bearer {token}"))
        .body(Vec::new())
        .unwrap();
    let error = provider.authenticate(&api).await.unwrap_err();
    assert_eq!(error.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn introspection_endpoint_shows_a_confidential_clients_own_token_as_active() {
    let provider = provider();
    let (client, secret) = confidential_client(&provider).await;
    let code = obtain_code(&provider, client.id.as_str(), "alice", &[]).await;
    let redeem = Request::post("/token")
        .header("content-type", FORM)
        .header("authorization", basic(client.id.as_str(), secret.expose()))
        .body(Body::from(form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ])))
        .unwrap();
    let (status, _, tokens) = json_parts(send(protocol(&provider), redeem).await).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let token = tokens["access_token"].as_str().unwrap();

    let introspect = |token: &str| {
        Request::post("/introspect")
            .header("content-type", FORM)
            .header("authorization", basic(client.id.as_str(), secret.expose()))
            .body(Body::from(form(&[("token", token)])))
            .unwrap()
    };
    let (status, headers, body) =
        json_parts(send(protocol(&provider), introspect(token)).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(header(&headers, "content-type"), "application/json");
    assert_eq!(header(&headers, "cache-control"), "no-store");
    assert_eq!(body["active"], true, "{body}");
    assert_eq!(body["client_id"], client.id.as_str());
    assert_eq!(body["sub"], "alice");
    assert_eq!(body["scope"], "read");
    assert_eq!(body["aud"], RESOURCE);
    assert_eq!(body["iss"], ISSUER);

    let (status, _, bytes) = parts(send(protocol(&provider), introspect("unknown")).await).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&bytes[..], br#"{"active":false}"#);
}

#[tokio::test]
async fn registration_post_is_201_and_client_configuration_get_reads_the_client() {
    let provider = registration_provider();
    let metadata = json!({
        "redirect_uris": [REDIRECT],
        "token_endpoint_auth_method": "none",
        "client_name": "Glue test client",
    });
    let register = Request::post("/register")
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(&metadata).unwrap()))
        .unwrap();
    let (status, headers, registered) = json_parts(send(protocol(&provider), register).await).await;
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
    let (status, headers, read) =
        json_parts(send(protocol(&provider), bearer_get(&uri, &access_token)).await).await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(header(&headers, "cache-control"), "no-store");
    assert_eq!(read["client_id"], client_id.as_str());
    assert_eq!(read["client_name"], "Glue test client");
    assert_eq!(read["redirect_uris"], json!([REDIRECT]));

    // Without the registration access token: the core's 401 with a Bearer challenge.
    let (status, headers, _) =
        parts(send(protocol(&provider), empty(Method::GET, &uri)).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(header(&headers, "www-authenticate").starts_with("Bearer "));
}

#[tokio::test]
async fn registration_routes_are_absent_when_registration_is_disabled() {
    let provider = provider();
    let router = ProtocolRouter::new(Arc::clone(&provider));
    assert!(!router.paths().iter().any(|p| p.starts_with("/register")));
    let register = Request::post("/register")
        .header("content-type", "application/json")
        .body(Body::from(
            r#"{"redirect_uris":["https://client.example/cb"]}"#,
        ))
        .unwrap();
    let (status, _, body) = parts(send(router.build(), register).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.is_empty());
}

#[tokio::test]
async fn authorization_server_metadata_is_served_at_its_well_known_path() {
    let provider = provider();
    let response = send(
        protocol(&provider),
        empty(Method::GET, "/.well-known/oauth-authorization-server"),
    )
    .await;
    let (status, headers, body) = json_parts(response).await;
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

    // HEAD: the headers without the body.
    let response = send(
        protocol(&provider),
        empty(Method::HEAD, "/.well-known/oauth-authorization-server"),
    )
    .await;
    let (status, headers, body) = parts(response).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&headers, "content-type"), "application/json");
    assert!(body.is_empty());

    // Another method: the core's 405.
    let response = send(
        protocol(&provider),
        empty(Method::POST, "/.well-known/oauth-authorization-server"),
    )
    .await;
    let (status, headers, _) = parts(response).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&headers, "allow"), "GET, HEAD");
}

#[tokio::test]
async fn authorization_server_metadata_of_an_issuer_with_a_path_is_path_aware() {
    let tenant = provider_for_issuer("https://as.example/tenant1", |b| b);
    let router = ProtocolRouter::new(Arc::clone(&tenant));
    assert!(router
        .paths()
        .contains(&"/.well-known/oauth-authorization-server/tenant1".to_owned()));
    let app = router.build();
    let (status, headers, body) = json_parts(
        send(
            app.clone(),
            empty(
                Method::GET,
                "/.well-known/oauth-authorization-server/tenant1",
            ),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(header(&headers, "content-type"), "application/json");
    assert_eq!(body["issuer"], "https://as.example/tenant1");

    // The root URL is not this issuer's (RFC 8414 §3.1): not routed.
    let (status, _, _) = parts(
        send(
            app,
            empty(Method::GET, "/.well-known/oauth-authorization-server"),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn protected_resource_metadata_is_served_at_the_path_aware_well_known_url() {
    let provider = provider();
    let response = send(
        protocol(&provider),
        empty(Method::GET, "/.well-known/oauth-protected-resource/mcp"),
    )
    .await;
    let (status, headers, body) = json_parts(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(header(&headers, "content-type"), "application/json");
    assert_eq!(header(&headers, "cache-control"), "public, max-age=3600");
    assert_eq!(body["resource"], RESOURCE);
    assert_eq!(body["authorization_servers"], json!([ISSUER]));
    assert_eq!(body["bearer_methods_supported"], json!(["header"]));
    assert_eq!(body["scopes_supported"], json!(["admin", "read", "write"]));
}

#[tokio::test]
async fn protected_resource_metadata_of_each_configured_resource_is_routed() {
    let provider = two_resource_provider();
    for (path, resource) in [
        ("/.well-known/oauth-protected-resource/mcp", RESOURCE),
        ("/.well-known/oauth-protected-resource/api", OTHER_RESOURCE),
    ] {
        let (status, headers, body) =
            json_parts(send(protocol(&provider), empty(Method::GET, path)).await).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert_eq!(header(&headers, "content-type"), "application/json");
        assert_eq!(body["resource"], resource);
    }
    // With two resources, the root fallback cannot tell which one is meant.
    let (status, _, body) = parts(
        send(
            protocol(&provider),
            empty(Method::GET, "/.well-known/oauth-protected-resource"),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.is_empty());
}

#[tokio::test]
async fn protected_resource_root_fallback_is_routed_like_the_core_serves_it() {
    // The core serves the only configured resource at the root well-known URL too (MCP
    // clients try it after the path-aware one); the router must reach it.
    let provider = provider();
    let direct = provider
        .handle(
            &Request::get("/.well-known/oauth-protected-resource")
                .body(Vec::new())
                .unwrap(),
        )
        .await;
    assert_eq!(direct.status(), StatusCode::OK);

    let (status, headers, body) = json_parts(
        send(
            protocol(&provider),
            empty(Method::GET, "/.well-known/oauth-protected-resource"),
        )
        .await,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(header(&headers, "content-type"), "application/json");
    assert_eq!(body["resource"], RESOURCE);
}

#[tokio::test]
async fn unknown_path_is_404_from_axum() {
    let provider = provider();
    for (method, path) in [
        (Method::GET, "/nope"),
        (Method::POST, "/token/extra"),
        (Method::GET, "/authorize"),
        (Method::GET, "/.well-known/oauth-protected-resource/other"),
    ] {
        let (status, headers, body) =
            parts(send(protocol(&provider), empty(method.clone(), path)).await).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}");
        assert!(body.is_empty(), "{method} {path}: {body:?}");
        assert!(headers.get("cache-control").is_none(), "{headers:?}");
    }
}

#[tokio::test]
async fn configured_endpoint_paths_are_the_routed_ones() {
    let provider = provider_with(|b| {
        b.endpoints(oauth_core::Endpoints {
            authorization: "/oauth/authorize".into(),
            token: "/oauth/token".into(),
            revocation: "/oauth/revoke".into(),
            introspection: "/oauth/introspect".into(),
            registration: Some("/oauth/register".into()),
        })
        .registration(oauth_core::RegistrationPolicy::open())
    });
    let router = ProtocolRouter::new(Arc::clone(&provider));
    let paths = router.paths();
    for expected in [
        "/oauth/token",
        "/oauth/revoke",
        "/oauth/introspect",
        "/oauth/register",
        "/oauth/register/{client_id}",
        "/.well-known/oauth-authorization-server",
        "/.well-known/oauth-protected-resource/mcp",
    ] {
        assert!(
            paths.iter().any(|p| p == expected),
            "{expected} in {paths:?}"
        );
    }
    assert!(!paths.iter().any(|p| p == "/oauth/authorize"), "{paths:?}");
    let app = router.build();

    let (status, headers, _) =
        json_parts(send(app.clone(), empty(Method::GET, "/oauth/token")).await).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&headers, "allow"), "POST");
    let (status, _, _) = parts(send(app, empty(Method::GET, "/token")).await).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
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
