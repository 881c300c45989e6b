//! Dynamic client registration (RFC 7591) and client configuration (RFC 7592).

use http::{Method, StatusCode};
use serde_json::json;

use crate::harness::{
    bearer_get, empty, json_post, post, registration_provider, string_field,
    without_content_length, Scene, DEFAULT_MAX_BODY, REDIRECT,
};
use crate::{Glue, ISSUER};

/// RFC 7591 §3.2.1: a valid registration is 201 with the client's metadata, `no-store`;
/// RFC 7592 §2.1: the client configuration endpoint (`/register/{client_id}`) reads it
/// back with the registration access token, and without it is a 401 Bearer challenge.
pub async fn registration_creates_a_client_with_201_and_reads_it_back(glue: &dyn Glue) {
    let scene = Scene::of(glue, registration_provider()).await;
    let metadata = json!({
        "redirect_uris": [REDIRECT],
        "token_endpoint_auth_method": "none",
        "client_name": "Glue test client",
    });
    let reply = scene.send(json_post("/register", &metadata)).await;
    reply.assert_status(StatusCode::CREATED);
    assert_eq!(reply.header("content-type"), "application/json");
    reply.assert_no_store();
    let registered = reply.json();
    let client_id = string_field(&registered, "client_id");
    let access_token = string_field(&registered, "registration_access_token");
    assert_eq!(
        registered["registration_client_uri"],
        format!("{ISSUER}/register/{client_id}")
    );
    assert_eq!(registered["redirect_uris"], json!([REDIRECT]));
    assert!(registered.get("client_secret").is_none(), "{registered}");

    let uri = format!("/register/{client_id}");
    let reply = scene.send(bearer_get(&uri, &access_token)).await;
    reply.assert_status(StatusCode::OK);
    assert_eq!(reply.header("cache-control"), "no-store");
    let read = reply.json();
    assert_eq!(read["client_id"], client_id.as_str());
    assert_eq!(read["client_name"], "Glue test client");
    assert_eq!(read["redirect_uris"], json!([REDIRECT]));

    let reply = scene.send(empty(Method::GET, &uri)).await;
    reply.assert_status(StatusCode::UNAUTHORIZED);
    assert!(reply.header("www-authenticate").starts_with("Bearer "));

    // The registered client can use the authorization endpoint at once.
    scene.code(&client_id, "alice", &[]).await;
}

/// RFC 7591 §3.2.2: invalid metadata is 400 JSON with the registered error code
/// (`invalid_redirect_uri`, `invalid_client_metadata`), `no-store`; a body that is not
/// JSON is refused too.
pub async fn registration_with_invalid_metadata_is_400(glue: &dyn Glue) {
    let scene = Scene::of(glue, registration_provider()).await;
    for (metadata, code) in [
        (
            json!({ "redirect_uris": ["https://client.example/cb#frag"] }),
            "invalid_redirect_uri",
        ),
        (
            json!({ "redirect_uris": ["http://client.example/cb"] }),
            "invalid_redirect_uri",
        ),
        (
            json!({ "redirect_uris": [REDIRECT], "grant_types": ["password"] }),
            "invalid_client_metadata",
        ),
    ] {
        scene
            .send(json_post("/register", &metadata))
            .await
            .assert_oauth_error(StatusCode::BAD_REQUEST, code);
    }
    let reply = scene
        .send(post("/register", Some("application/json"), "{not json"))
        .await;
    reply.assert_status(StatusCode::BAD_REQUEST);
    reply.assert_no_store();
    assert!(reply.json()["error"].is_string());
}

/// A registration body over the provider's limit is the core's 413 `invalid_request`,
/// with or without `Content-Length`.
pub async fn registration_oversized_body_is_the_cores_413(glue: &dyn Glue) {
    let scene = Scene::of(glue, registration_provider()).await;
    let padding = "p".repeat(DEFAULT_MAX_BODY);
    let body = json!({ "redirect_uris": [REDIRECT], "client_name": padding }).to_string();
    let request = || post("/register", Some("application/json"), body.clone());
    for request in [request(), without_content_length(request())] {
        scene
            .send(request)
            .await
            .assert_oauth_error(StatusCode::PAYLOAD_TOO_LARGE, "invalid_request");
    }
}

/// Registration is closed by default: `/register` is not served at all.
pub async fn registration_is_not_served_when_disabled(glue: &dyn Glue) {
    let scene = Scene::new(glue).await;
    let metadata = json!({ "redirect_uris": [REDIRECT] });
    scene
        .send(json_post("/register", &metadata))
        .await
        .assert_not_served();
}
