//! The whole authorization-code flow through the host app, as a client and a user
//! drive it: authorize → code → token → API → refresh → revoke → API refused.

use http::StatusCode;

use crate::harness::{
    authorization_query, authorize_get, bearer_get, code_redemption, form_post, refresh,
    string_field, RequestExt as _, Scene, RESOURCE_METADATA,
};
use crate::{Glue, ISSUER, USER_HEADER};

/// OAuth 2.1 §4.1, §4.3, RFC 7009: a public client obtains a code at `/authorize` for a
/// logged-in user, redeems it, calls the API, refreshes, calls the API with the new
/// token, revokes the refresh token (which revokes the grant), and the API then refuses
/// the access token with 401 `invalid_token`.
pub async fn full_code_flow_from_authorization_to_revocation(glue: &dyn Glue) {
    let scene = Scene::new(glue).await;
    let client = scene.public_client().await;
    let id = client.id.as_str();

    // The consent page first (no user yet), then the logged-in user approves.
    let query = authorization_query(id, &[("scope", "read write")]);
    scene
        .send(authorize_get(&query))
        .await
        .assert_status(StatusCode::OK);
    let params = scene
        .send(authorize_get(&query).with_header(USER_HEADER, "bob"))
        .await
        .assert_client_redirect(StatusCode::SEE_OTHER);
    assert_eq!(params["iss"], ISSUER);
    assert_eq!(params["state"], "xyz");
    let code = &params["code"];

    let reply = scene.send(code_redemption(id, code)).await;
    reply.assert_status(StatusCode::OK);
    let tokens = reply.json();
    assert_eq!(tokens["scope"], "read write");
    let access = string_field(&tokens, "access_token");
    let refresh_token = string_field(&tokens, "refresh_token");

    let reply = scene.send(bearer_get("/api/me", &access)).await;
    reply.assert_status(StatusCode::OK);
    assert_eq!(reply.text(), format!("bob {id} read write"));

    let reply = scene.send(refresh(id, &refresh_token)).await;
    reply.assert_status(StatusCode::OK);
    let refreshed = reply.json();
    let access = string_field(&refreshed, "access_token");
    let refresh_token = string_field(&refreshed, "refresh_token");
    let reply = scene.send(bearer_get("/api/me", &access)).await;
    reply.assert_status(StatusCode::OK);
    assert_eq!(reply.text(), format!("bob {id} read write"));

    let reply = scene
        .send(form_post(
            "/revoke",
            &[
                ("token", &refresh_token),
                ("token_type_hint", "refresh_token"),
                ("client_id", id),
            ],
        ))
        .await;
    reply.assert_status(StatusCode::OK);

    let params = scene
        .send(bearer_get("/api/me", &access))
        .await
        .assert_bearer_refusal(StatusCode::UNAUTHORIZED, RESOURCE_METADATA);
    assert_eq!(params["error"], "invalid_token");
    scene
        .send(refresh(id, &refresh_token))
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
}
