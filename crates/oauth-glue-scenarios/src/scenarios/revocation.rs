//! Token revocation (RFC 7009).

use http::StatusCode;
use oauth_core::model::AuthMethod;

use crate::harness::{bearer_get, form_post, get, string_field, Scene, RESOURCE_METADATA};
use crate::Glue;

/// RFC 7009 §2.2: a revoked token is answered 200 with an empty body (and `no-store`);
/// the token no longer opens the API.
pub async fn revocation_revokes_a_token_with_200_and_an_empty_body(glue: &dyn Glue) {
    let scene = Scene::new(glue).await;
    let (client, token) = scene.access_token("read").await;
    scene
        .send(bearer_get("/api/me", &token))
        .await
        .assert_status(StatusCode::OK);

    let reply = scene
        .send(form_post(
            "/revoke",
            &[("token", &token), ("client_id", client.id.as_str())],
        ))
        .await;
    reply.assert_status(StatusCode::OK);
    reply.assert_no_store();
    assert!(reply.body.is_empty(), "{:?}", reply.text());

    let params = scene
        .send(bearer_get("/api/me", &token))
        .await
        .assert_bearer_refusal(StatusCode::UNAUTHORIZED, RESOURCE_METADATA);
    assert_eq!(params["error"], "invalid_token");
}

/// RFC 7009 §2.2: an unknown, malformed or already revoked token is answered 200 like a
/// revoked one (the answer reveals nothing).
pub async fn revocation_of_an_unknown_token_is_200(glue: &dyn Glue) {
    let scene = Scene::new(glue).await;
    let (client, tokens) = scene.tokens("alice", &[]).await;
    let id = client.id.as_str();
    let refresh_token = string_field(&tokens, "refresh_token");
    for token in [
        "unknown",
        "oa2at_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        &refresh_token,
        &refresh_token,
    ] {
        let reply = scene
            .send(form_post("/revoke", &[("token", token), ("client_id", id)]))
            .await;
        reply.assert_status(StatusCode::OK);
        assert!(reply.body.is_empty(), "{:?}", reply.text());
    }
}

/// RFC 7009 §2.1: the client authenticates as at the token endpoint: no client is
/// `invalid_client` (400), wrong Basic credentials are 401 with a Basic challenge; only
/// a form POST is accepted (405 `Allow: POST`).
pub async fn revocation_requires_client_authentication(glue: &dyn Glue) {
    let scene = Scene::new(glue).await;
    let (client, _secret) = scene
        .confidential_client(AuthMethod::ClientSecretBasic)
        .await;
    let (_, token) = scene.access_token("read").await;

    scene
        .send(form_post("/revoke", &[("token", &token)]))
        .await
        .assert_invalid_client_without_challenge();
    scene
        .send_with_wrong_basic("/revoke", &[("token", &token)], client.id.as_str())
        .await
        .assert_basic_challenge();

    let reply = scene.send(get(&format!("/revoke?token={token}"))).await;
    reply.assert_oauth_error(StatusCode::METHOD_NOT_ALLOWED, "invalid_request");
    assert_eq!(reply.header("allow"), "POST");

    // None of this revoked the token.
    scene
        .send(bearer_get("/api/me", &token))
        .await
        .assert_status(StatusCode::OK);
}
