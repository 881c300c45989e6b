//! Bearer-protected APIs of the host app (OAuth 2.1 §5, RFC 6750, RFC 9728 §5.1):
//! `/api/me` (scope `read`), `/api/admin` (scope `admin`), `/files/api` (another
//! resource); every refusal is the core's complete response.

use http::StatusCode;

use crate::harness::{
    basic, bearer_get, get, string_field, two_resource_provider, RequestExt as _, Scene,
    OTHER_RESOURCE_METADATA, RESOURCE_METADATA,
};
use crate::{Glue, OTHER_RESOURCE, RESOURCE};

/// RFC 6750 §3.1, RFC 9728 §5.1: without a token, 401 with a Bearer challenge naming
/// the realm and the metadata URL of the route's resource, and no `error` (none was
/// sent).
pub async fn api_without_token_is_401_with_resource_metadata_challenge(glue: &dyn Glue) {
    let scene = Scene::new(glue).await;
    for path in ["/api/me", "/api/admin"] {
        let params = scene
            .send(get(path))
            .await
            .assert_bearer_refusal(StatusCode::UNAUTHORIZED, RESOURCE_METADATA);
        assert!(!params.contains_key("error"), "{path}: {params:?}");
    }
    // The other resource's route names its own metadata.
    let scene = Scene::of(glue, two_resource_provider()).await;
    for (path, metadata) in [
        ("/api/me", RESOURCE_METADATA),
        ("/files/api", OTHER_RESOURCE_METADATA),
    ] {
        let params = scene
            .send(get(path))
            .await
            .assert_bearer_refusal(StatusCode::UNAUTHORIZED, metadata);
        assert!(!params.contains_key("error"), "{path}: {params:?}");
    }
}

/// RFC 6750 §3.1: an unknown or forged token is 401 `invalid_token`.
pub async fn api_with_an_invalid_token_is_401_invalid_token(glue: &dyn Glue) {
    let scene = Scene::new(glue).await;
    for token in [
        "unknown",
        "oa2at_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ] {
        let params = scene
            .send(bearer_get("/api/me", token))
            .await
            .assert_bearer_refusal(StatusCode::UNAUTHORIZED, RESOURCE_METADATA);
        assert_eq!(params["error"], "invalid_token", "{token}");
    }
}

/// OAuth 2.1 §5.1 (RS-2): a token in the query string is never accepted: the request is
/// answered as one without a token (401, no `error`), and the handler never runs.
pub async fn bearer_in_query_string_is_refused(glue: &dyn Glue) {
    let scene = Scene::new(glue).await;
    let (_, token) = scene.access_token("read").await;
    let reply = scene
        .send(get(&format!("/api/me?access_token={token}")))
        .await;
    let params = reply.assert_bearer_refusal(StatusCode::UNAUTHORIZED, RESOURCE_METADATA);
    assert!(!params.contains_key("error"), "{params:?}");
    // The same token in the header works: the refusal was about where it was sent.
    scene
        .send(bearer_get("/api/me", &token))
        .await
        .assert_status(StatusCode::OK);
}

/// RFC 6750 §2.1, §3.1: an `Authorization: Bearer` value that is not a `token68` is 400
/// `invalid_request`.
pub async fn api_with_a_malformed_bearer_header_is_400_invalid_request(glue: &dyn Glue) {
    let scene = Scene::new(glue).await;
    let request = get("/api/me").with_header("authorization", "Bearer not a token68");
    let params = scene
        .send(request)
        .await
        .assert_bearer_refusal(StatusCode::BAD_REQUEST, RESOURCE_METADATA);
    assert_eq!(params["error"], "invalid_request");
}

/// RFC 6750 §3.1: two `Authorization` headers (even with the same valid token) are 400
/// `invalid_request`; the glue must not pick one.
pub async fn api_with_two_authorization_headers_is_400_invalid_request(glue: &dyn Glue) {
    let scene = Scene::new(glue).await;
    let (_, token) = scene.access_token("read").await;
    let request =
        bearer_get("/api/me", &token).with_header("authorization", &format!("Bearer {token}"));
    let params = scene
        .send(request)
        .await
        .assert_bearer_refusal(StatusCode::BAD_REQUEST, RESOURCE_METADATA);
    assert_eq!(params["error"], "invalid_request");
    assert_eq!(
        params["error_description"],
        "more than one Authorization header"
    );
}

/// RFC 6750 §3: another scheme (`Basic`) is no bearer token: 401 without `error`.
pub async fn api_with_another_authorization_scheme_is_401_without_error(glue: &dyn Glue) {
    let scene = Scene::new(glue).await;
    let request = get("/api/me").with_header("authorization", &basic("client", "secret"));
    let params = scene
        .send(request)
        .await
        .assert_bearer_refusal(StatusCode::UNAUTHORIZED, RESOURCE_METADATA);
    assert!(!params.contains_key("error"), "{params:?}");
}

/// RFC 6750 §3.1: a valid token without the route's scope is 403 `insufficient_scope`
/// naming the scope needed.
pub async fn api_with_insufficient_scope_is_403_naming_the_scope(glue: &dyn Glue) {
    let scene = Scene::new(glue).await;
    let (_, token) = scene.access_token("read write").await;
    let params = scene
        .send(bearer_get("/api/admin", &token))
        .await
        .assert_bearer_refusal(StatusCode::FORBIDDEN, RESOURCE_METADATA);
    assert_eq!(params["error"], "insufficient_scope");
    assert_eq!(params["scope"], "admin");
}

/// A valid token with the scope reaches the handler, which sees the user, the client and
/// the scope through the glue's bearer extractor; no challenge on success.
pub async fn api_with_a_valid_token_gives_the_handler_user_client_and_scope(glue: &dyn Glue) {
    let scene = Scene::new(glue).await;
    let (client, token) = scene.access_token("read write").await;
    let reply = scene.send(bearer_get("/api/me", &token)).await;
    reply.assert_status(StatusCode::OK);
    assert_eq!(reply.text(), format!("alice {} read write", client.id));
    reply.assert_absent("www-authenticate");

    let (client, token) = scene.access_token("read admin").await;
    let reply = scene.send(bearer_get("/api/admin", &token)).await;
    reply.assert_status(StatusCode::OK);
    assert_eq!(reply.text(), format!("alice {} admin read", client.id));
}

/// RFC 8707, RFC 9700 §2.3 (BCP-7): a token whose audience is one resource is refused
/// by the other (401 `invalid_token`, that resource's metadata in the challenge), and
/// accepted by its own.
pub async fn api_with_a_token_for_another_audience_is_401_invalid_token(glue: &dyn Glue) {
    let scene = Scene::of(glue, two_resource_provider()).await;
    let (client, tokens) = scene.tokens("alice", &[("resource", RESOURCE)]).await;
    let token = string_field(&tokens, "access_token");
    let params = scene
        .send(bearer_get("/files/api", &token))
        .await
        .assert_bearer_refusal(StatusCode::UNAUTHORIZED, OTHER_RESOURCE_METADATA);
    assert_eq!(params["error"], "invalid_token");
    let reply = scene.send(bearer_get("/api/me", &token)).await;
    reply.assert_status(StatusCode::OK);
    assert_eq!(reply.text(), format!("alice {} read", client.id));

    let (client, tokens) = scene.tokens("bob", &[("resource", OTHER_RESOURCE)]).await;
    let token = string_field(&tokens, "access_token");
    let params = scene
        .send(bearer_get("/api/me", &token))
        .await
        .assert_bearer_refusal(StatusCode::UNAUTHORIZED, RESOURCE_METADATA);
    assert_eq!(params["error"], "invalid_token");
    let reply = scene.send(bearer_get("/files/api", &token)).await;
    reply.assert_status(StatusCode::OK);
    assert_eq!(reply.text(), format!("bob {} read", client.id));
}

/// OAuth 2.1 §5.1.1 (RS-1): the `Bearer` scheme is case-insensitive and may be followed
/// by several spaces; the glue hands the header to the core as sent.
pub async fn api_accepts_the_bearer_scheme_in_any_case(glue: &dyn Glue) {
    let scene = Scene::new(glue).await;
    let (client, token) = scene.access_token("read").await;
    for value in [
        format!("bEaReR {token}"),
        format!("BEARER {token}"),
        format!("Bearer   {token}"),
    ] {
        let reply = scene
            .send(get("/api/me").with_header("authorization", &value))
            .await;
        reply.assert_status(StatusCode::OK);
        assert_eq!(reply.text(), format!("alice {} read", client.id));
    }
}
