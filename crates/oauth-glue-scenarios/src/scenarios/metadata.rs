//! Discovery: authorization server metadata (RFC 8414) and protected resource metadata
//! (RFC 9728), at the root and path-suffixed well-known URLs, and the routing of the
//! configured endpoint paths.

use http::{Method, StatusCode};
use serde_json::json;

use crate::harness::{
    bearer_get, custom_paths_provider, empty, get, json_post, provider_for_issuer, string_field,
    two_resource_provider, Scene, REDIRECT,
};
use crate::{Glue, ISSUER, OTHER_RESOURCE, RESOURCE};

/// RFC 8414 §3: the document at `/.well-known/oauth-authorization-server`, cacheable,
/// with every endpoint and S256 only (RFC 9700 §2.1.1); `HEAD` gives its headers without
/// the body; another method is the core's 405 with `Allow: GET, HEAD`.
pub async fn authorization_server_metadata_is_served_at_the_root_well_known_url(glue: &dyn Glue) {
    let scene = Scene::new(glue).await;
    let reply = scene
        .send(get("/.well-known/oauth-authorization-server"))
        .await;
    reply.assert_status(StatusCode::OK);
    assert_eq!(reply.header("content-type"), "application/json");
    assert_eq!(reply.header("cache-control"), "public, max-age=3600");
    let body = reply.json();
    assert_eq!(body["issuer"], ISSUER);
    assert_eq!(
        body["authorization_endpoint"],
        format!("{ISSUER}/authorize")
    );
    assert_eq!(body["token_endpoint"], format!("{ISSUER}/token"));
    assert_eq!(body["revocation_endpoint"], format!("{ISSUER}/revoke"));
    assert_eq!(
        body["introspection_endpoint"],
        format!("{ISSUER}/introspect")
    );
    assert_eq!(body["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(body["response_types_supported"], json!(["code"]));
    assert_eq!(body["authorization_response_iss_parameter_supported"], true);
    assert!(body.get("registration_endpoint").is_none(), "{body}");

    let head = scene
        .send(empty(
            Method::HEAD,
            "/.well-known/oauth-authorization-server",
        ))
        .await;
    head.assert_status(StatusCode::OK);
    assert_eq!(head.header("content-type"), "application/json");
    assert!(head.body.is_empty(), "{:?}", head.text());

    let post = scene
        .send(empty(
            Method::POST,
            "/.well-known/oauth-authorization-server",
        ))
        .await;
    post.assert_status(StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(post.header("allow"), "GET, HEAD");
}

/// RFC 8414 §3.1: the metadata of an issuer with a path is at the path-suffixed URL
/// (`/.well-known/oauth-authorization-server/tenant1`); the root URL is not this issuer's
/// and is not served.
pub async fn authorization_server_metadata_of_an_issuer_with_a_path_is_path_suffixed(
    glue: &dyn Glue,
) {
    let issuer = "https://as.example/tenant1";
    let scene = Scene::of(glue, provider_for_issuer(issuer, |b| b)).await;
    let reply = scene
        .send(get("/.well-known/oauth-authorization-server/tenant1"))
        .await;
    reply.assert_status(StatusCode::OK);
    assert_eq!(reply.header("content-type"), "application/json");
    let body = reply.json();
    assert_eq!(body["issuer"], issuer);
    assert_eq!(body["token_endpoint"], format!("{ISSUER}/token"));

    scene
        .send(get("/.well-known/oauth-authorization-server"))
        .await
        .assert_not_served();

    // `:` and `*` inside a segment are literal to every router (the core refuses them at
    // the start of one), so such an issuer's metadata is routed, not matched as a pattern.
    let issuer = "https://as.example/t/acme:prod*1";
    let scene = Scene::of(glue, provider_for_issuer(issuer, |b| b)).await;
    let reply = scene
        .send(get("/.well-known/oauth-authorization-server/t/acme:prod*1"))
        .await;
    reply.assert_status(StatusCode::OK);
    assert_eq!(reply.json()["issuer"], issuer);
    scene
        .send(get("/.well-known/oauth-authorization-server/t/other"))
        .await
        .assert_not_served();
}

/// RFC 9728 §3.1: the resource's metadata at the well-known URL with the resource's
/// path as suffix, naming the authorization server, the header method only (bearer
/// tokens never in a form or query here) and the scopes.
pub async fn protected_resource_metadata_is_served_at_the_path_suffixed_well_known_url(
    glue: &dyn Glue,
) {
    let scene = Scene::new(glue).await;
    let reply = scene
        .send(get("/.well-known/oauth-protected-resource/mcp"))
        .await;
    reply.assert_status(StatusCode::OK);
    assert_eq!(reply.header("content-type"), "application/json");
    assert_eq!(reply.header("cache-control"), "public, max-age=3600");
    let body = reply.json();
    assert_eq!(body["resource"], RESOURCE);
    assert_eq!(body["authorization_servers"], json!([ISSUER]));
    assert_eq!(body["bearer_methods_supported"], json!(["header"]));
    assert_eq!(body["scopes_supported"], json!(["admin", "read", "write"]));
}

/// MCP discovery falls back to the root `/.well-known/oauth-protected-resource`: the core
/// serves the only configured resource there, and the glue routes it.
pub async fn protected_resource_metadata_of_the_only_resource_is_served_at_the_root_too(
    glue: &dyn Glue,
) {
    let scene = Scene::new(glue).await;
    let reply = scene
        .send(get("/.well-known/oauth-protected-resource"))
        .await;
    reply.assert_status(StatusCode::OK);
    assert_eq!(reply.header("content-type"), "application/json");
    assert_eq!(reply.json()["resource"], RESOURCE);
}

/// RFC 9728 §3.1: each configured resource has its own document; with two, the root URL
/// cannot tell which one is meant and is not served.
pub async fn protected_resource_metadata_of_each_resource_is_served_and_not_the_root(
    glue: &dyn Glue,
) {
    let scene = Scene::of(glue, two_resource_provider()).await;
    for (path, resource) in [
        ("/.well-known/oauth-protected-resource/mcp", RESOURCE),
        ("/.well-known/oauth-protected-resource/api", OTHER_RESOURCE),
    ] {
        let reply = scene.send(get(path)).await;
        reply.assert_status(StatusCode::OK);
        assert_eq!(reply.header("content-type"), "application/json");
        assert_eq!(reply.json()["resource"], resource, "{path}");
    }
    scene
        .send(get("/.well-known/oauth-protected-resource"))
        .await
        .assert_not_served();
}

/// The glue routes the configured endpoint paths, and only them: the metadata advertises
/// `/oauth/token` and that is where the token endpoint answers; `/token` is not served.
pub async fn configured_endpoint_paths_are_the_served_ones(glue: &dyn Glue) {
    let scene = Scene::of(glue, custom_paths_provider()).await;
    let metadata = scene
        .send(get("/.well-known/oauth-authorization-server"))
        .await;
    metadata.assert_status(StatusCode::OK);
    let body = metadata.json();
    assert_eq!(body["token_endpoint"], format!("{ISSUER}/oauth/token"));
    assert_eq!(
        body["registration_endpoint"],
        format!("{ISSUER}/oauth/register")
    );

    for path in ["/oauth/token", "/oauth/revoke", "/oauth/introspect"] {
        let reply = scene.send(get(path)).await;
        reply.assert_oauth_error(StatusCode::METHOD_NOT_ALLOWED, "invalid_request");
        assert_eq!(reply.header("allow"), "POST", "{path}");
    }
    let reply = scene.send(get("/oauth/register")).await;
    reply.assert_status(StatusCode::METHOD_NOT_ALLOWED);
    for path in ["/token", "/revoke", "/introspect", "/register"] {
        scene.send(get(path)).await.assert_not_served();
    }

    // Client management (RFC 7592) is served below the configured registration path.
    let metadata = json!({ "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none" });
    let registered = scene.send(json_post("/oauth/register", &metadata)).await;
    registered.assert_status(StatusCode::CREATED);
    let registered = registered.json();
    let client_id = string_field(&registered, "client_id");
    let access_token = string_field(&registered, "registration_access_token");
    assert_eq!(
        registered["registration_client_uri"],
        format!("{ISSUER}/oauth/register/{client_id}")
    );
    let read = scene
        .send(bearer_get(
            &format!("/oauth/register/{client_id}"),
            &access_token,
        ))
        .await;
    read.assert_status(StatusCode::OK);
    assert_eq!(read.json()["client_id"], client_id.as_str());
    scene
        .send(bearer_get(&format!("/register/{client_id}"), &access_token))
        .await
        .assert_not_served();
}

/// Paths that are no endpoint are the framework's 404 (empty, no caching directives),
/// never handed to an endpoint by a prefix match.
pub async fn unknown_paths_are_not_found(glue: &dyn Glue) {
    let scene = Scene::new(glue).await;
    for (method, path) in [
        (Method::GET, "/nope"),
        (Method::POST, "/token/extra"),
        (Method::POST, "/tokens"),
        (Method::GET, "/.well-known/oauth-protected-resource/other"),
        (Method::GET, "/.well-known/oauth-authorization-server/extra"),
        (Method::GET, "/api/other"),
    ] {
        scene.send(empty(method, path)).await.assert_not_served();
    }
}
