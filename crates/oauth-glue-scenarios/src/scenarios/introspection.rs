//! Token introspection (RFC 7662), served at the provider's introspection endpoint.

use http::StatusCode;
use oauth_core::model::AuthMethod;

use crate::harness::{basic, form_post, string_field, RequestExt as _, Scene, REDIRECT, VERIFIER};
use crate::{Glue, ISSUER, RESOURCE};

/// RFC 7662 §2.2: a confidential client introspects its own token: `active`, client,
/// user, scope, audience, issuer, JSON and `no-store`; an unknown token is exactly
/// `{"active":false}`.
pub async fn introspection_shows_a_confidential_clients_own_token_as_active(glue: &dyn Glue) {
    let scene = Scene::new(glue).await;
    let (client, secret, code) = scene
        .confidential_client_with_code(AuthMethod::ClientSecretBasic)
        .await;
    let id = client.id.as_str();
    let authorization = basic(id, secret.expose());
    let redeem = form_post(
        "/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ],
    )
    .with_header("authorization", &authorization);
    let reply = scene.send(redeem).await;
    reply.assert_status(StatusCode::OK);
    let token = string_field(&reply.json(), "access_token");

    let introspect = |token: &str| {
        form_post("/introspect", &[("token", token)]).with_header("authorization", &authorization)
    };
    let reply = scene.send(introspect(&token)).await;
    reply.assert_status(StatusCode::OK);
    assert_eq!(reply.header("content-type"), "application/json");
    reply.assert_no_store();
    let body = reply.json();
    assert_eq!(body["active"], true, "{body}");
    assert_eq!(body["client_id"], id);
    assert_eq!(body["sub"], "alice");
    assert_eq!(body["scope"], "read");
    assert_eq!(body["aud"], RESOURCE);
    assert_eq!(body["iss"], ISSUER);
    assert_eq!(body["token_type"], "Bearer");

    let reply = scene.send(introspect("unknown")).await;
    reply.assert_status(StatusCode::OK);
    reply.assert_no_store();
    assert_eq!(&reply.body[..], br#"{"active":false}"#);
}

/// RFC 7662 §2.1: introspection needs an authenticated client: none (or a public
/// client's id alone) is 400 `invalid_client`, wrong Basic credentials are 401 with a
/// Basic challenge; never an answer about the token.
pub async fn introspection_without_client_authentication_is_refused(glue: &dyn Glue) {
    let scene = Scene::new(glue).await;
    let (public, token) = scene.access_token("read").await;
    let (client, _secret) = scene
        .confidential_client(AuthMethod::ClientSecretBasic)
        .await;

    for pairs in [
        vec![("token", token.as_str())],
        vec![("token", token.as_str()), ("client_id", public.id.as_str())],
    ] {
        scene
            .send(form_post("/introspect", &pairs))
            .await
            .assert_invalid_client_without_challenge();
    }
    scene
        .send_with_wrong_basic("/introspect", &[("token", &token)], client.id.as_str())
        .await
        .assert_basic_challenge();
}
