//! The token endpoint (OAuth 2.1 §3.2): the code and refresh grants, client
//! authentication, and every way a request is refused before a grant is looked at
//! (method, content type, encoding, repeated parameters, body size).

use http::{Method, StatusCode};
use oauth_core::model::AuthMethod;

use crate::harness::{
    basic, code_redemption, empty, form, form_post, post, provider_with, redemption_pairs, refresh,
    string_field, without_content_length, Reply, RequestExt as _, Scene, DEFAULT_MAX_BODY, FORM,
    REDIRECT, VERIFIER,
};
use crate::Glue;

/// The pairs of a confidential client's code redemption (credentials elsewhere).
fn confidential_redemption(code: &str) -> Vec<(&str, &str)> {
    vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ]
}

/// [`confidential_redemption`] with the client's credentials in the form body
/// (`client_secret_post`).
fn body_credentials_redemption<'a>(
    code: &'a str,
    client_id: &'a str,
    secret: &'a str,
) -> Vec<(&'a str, &'a str)> {
    let mut pairs = confidential_redemption(code);
    pairs.extend([("client_id", client_id), ("client_secret", secret)]);
    pairs
}

/// The successful token response (OAuth 2.1 §3.2.3): JSON, `no-store`, `Pragma`.
fn assert_tokens(reply: &Reply) -> serde_json::Value {
    reply.assert_status(StatusCode::OK);
    assert_eq!(reply.header("content-type"), "application/json");
    reply.assert_no_store();
    let body = reply.json();
    assert!(
        body["access_token"].as_str().is_some_and(|t| !t.is_empty()),
        "{body}"
    );
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["expires_in"].as_u64().is_some_and(|s| s > 0), "{body}");
    body
}

/// OAuth 2.1 §4.1.3, RFC 7636 §4.6: a code obtained at `/authorize` is redeemed with its
/// verifier for an access token (which opens the API), a refresh token and the granted
/// scope; the code then is spent (`invalid_grant`).
pub async fn token_exchanges_an_authorization_code_with_pkce(glue: &dyn Glue) {
    let scene = Scene::new(glue).await;
    let client = scene.public_client().await;
    let code = scene
        .code(client.id.as_str(), "alice", &[("scope", "read write")])
        .await;
    let reply = scene.send(code_redemption(client.id.as_str(), &code)).await;
    let body = assert_tokens(&reply);
    assert_eq!(body["scope"], "read write");
    assert!(body["refresh_token"].as_str().is_some(), "{body}");
    let token = string_field(&body, "access_token");
    let api = scene
        .send(crate::harness::bearer_get("/api/me", &token))
        .await;
    api.assert_status(StatusCode::OK);
    assert_eq!(api.text(), format!("alice {} read write", client.id));

    scene
        .send(code_redemption(client.id.as_str(), &code))
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

/// PKCE-7: a verifier that does not match the challenge is `invalid_grant`.
pub async fn token_with_a_wrong_code_verifier_is_invalid_grant(glue: &dyn Glue) {
    let scene = Scene::new(glue).await;
    let (client, code) = scene.public_client_with_code().await;
    let wrong = format!("{}A", &VERIFIER[..VERIFIER.len() - 1]);
    let mut pairs = redemption_pairs(client.id.as_str(), &code);
    pairs.retain(|(name, _)| *name != "code_verifier");
    pairs.push(("code_verifier", &wrong));
    scene
        .send(form_post("/token", &pairs))
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

/// OAuth 2.1 §4.3.1: a refresh returns a new access token and a new refresh token; the
/// old refresh token is retired, and presenting it again revokes the whole family (the
/// new one fails too).
pub async fn token_refresh_rotates_the_refresh_token(glue: &dyn Glue) {
    let scene = Scene::new(glue).await;
    let (client, first) = scene.tokens("alice", &[("scope", "read write")]).await;
    let id = client.id.as_str();
    let old = string_field(&first, "refresh_token");

    let reply = scene.send(refresh(id, &old)).await;
    let second = assert_tokens(&reply);
    assert_eq!(second["scope"], "read write");
    let new = string_field(&second, "refresh_token");
    assert_ne!(new, old);
    assert_ne!(second["access_token"], first["access_token"]);

    scene
        .send(refresh(id, &old))
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    scene
        .send(refresh(id, &new))
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

/// OAuth 2.1 §3.2.4: failed `client_secret_basic` authentication is 401 `invalid_client`
/// with a `WWW-Authenticate: Basic` challenge of the server's realm; no token.
pub async fn token_with_wrong_basic_credentials_is_401_with_a_basic_challenge(glue: &dyn Glue) {
    let scene = Scene::new(glue).await;
    let (client, _secret, code) = scene
        .confidential_client_with_code(AuthMethod::ClientSecretBasic)
        .await;
    for credentials in [basic(client.id.as_str(), "wrong"), basic("nobody", "wrong")] {
        let request = form_post("/token", &confidential_redemption(&code))
            .with_header("authorization", &credentials);
        scene.send(request).await.assert_basic_challenge();
    }
}

/// OAuth 2.1 §3.2.4: a failed body credential (or none from a confidential client) is
/// `invalid_client`, 400 without a challenge (there is no scheme to challenge).
pub async fn token_with_wrong_or_missing_body_credentials_is_invalid_client(glue: &dyn Glue) {
    let scene = Scene::new(glue).await;
    let (client, _secret, code) = scene
        .confidential_client_with_code(AuthMethod::ClientSecretPost)
        .await;
    let id = client.id.as_str();
    let wrong = body_credentials_redemption(&code, id, "wrong");
    let mut missing = confidential_redemption(&code);
    missing.push(("client_id", id));
    for pairs in [wrong, missing] {
        scene
            .send(form_post("/token", &pairs))
            .await
            .assert_invalid_client_without_challenge();
    }
}

/// OAuth 2.1 §2.4.1: a `client_secret_basic` client authenticates with the
/// `Authorization` header, a `client_secret_post` client with the form body; both get
/// their tokens through the glue.
pub async fn token_authenticates_clients_by_basic_header_and_by_form_body(glue: &dyn Glue) {
    let scene = Scene::new(glue).await;

    let (client, secret, code) = scene
        .confidential_client_with_code(AuthMethod::ClientSecretBasic)
        .await;
    let request = form_post("/token", &confidential_redemption(&code))
        .with_header("authorization", &basic(client.id.as_str(), secret.expose()));
    assert_tokens(&scene.send(request).await);

    let (client, secret, code) = scene
        .confidential_client_with_code(AuthMethod::ClientSecretPost)
        .await;
    let pairs = body_credentials_redemption(&code, client.id.as_str(), secret.expose());
    assert_tokens(&scene.send(form_post("/token", &pairs)).await);
}

/// OAuth 2.1 §2.4: a request that uses two client authentication methods (Basic and a
/// body secret) is `invalid_request`, even with correct credentials.
pub async fn token_with_two_client_authentication_methods_is_invalid_request(glue: &dyn Glue) {
    let scene = Scene::new(glue).await;
    let (client, secret, code) = scene
        .confidential_client_with_code(AuthMethod::ClientSecretBasic)
        .await;
    let pairs = body_credentials_redemption(&code, client.id.as_str(), secret.expose());
    let request = form_post("/token", &pairs)
        .with_header("authorization", &basic(client.id.as_str(), secret.expose()));
    scene
        .send(request)
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
}

/// OAuth 2.1 §2.4.1 with RFC 9110 §5.3: `Authorization` is a singleton header, so two of
/// them (even two valid ones) are `invalid_request`, never "the first one wins".
pub async fn token_with_two_authorization_headers_is_invalid_request(glue: &dyn Glue) {
    let scene = Scene::new(glue).await;
    let (client, secret, code) = scene
        .confidential_client_with_code(AuthMethod::ClientSecretBasic)
        .await;
    let credentials = basic(client.id.as_str(), secret.expose());
    let request = form_post("/token", &confidential_redemption(&code))
        .with_header("authorization", &credentials)
        .with_header("authorization", &credentials);
    scene
        .send(request)
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
}

/// OAuth 2.1 §3.2 (O21-4): a parameter sent twice is `invalid_request`, whatever the
/// framework's form parser would have kept, and the code is not burnt by it.
pub async fn token_with_duplicated_parameter_is_invalid_request(glue: &dyn Glue) {
    let scene = Scene::new(glue).await;
    let (client, code) = scene.public_client_with_code().await;
    let id = client.id.as_str();
    for duplicated in ["grant_type", "code", "code_verifier", "client_id"] {
        let mut pairs = redemption_pairs(id, &code);
        let value = pairs
            .iter()
            .find(|(name, _)| *name == duplicated)
            .map(|(_, value)| *value)
            .unwrap_or_default();
        pairs.push((duplicated, value));
        scene
            .send(form_post("/token", &pairs))
            .await
            .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    }
    assert_tokens(&scene.send(code_redemption(id, &code)).await);
}

/// OAuth 2.1 §3.2.2 (O21-7): the body must be `application/x-www-form-urlencoded`; JSON,
/// plain text, multipart or no content type are `invalid_request`.
pub async fn token_with_wrong_content_type_is_invalid_request(glue: &dyn Glue) {
    let scene = Scene::new(glue).await;
    let (client, code) = scene.public_client_with_code().await;
    let id = client.id.as_str();
    let json = serde_json::json!({
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": id,
        "code_verifier": VERIFIER,
    })
    .to_string();
    let redemption = form(&redemption_pairs(id, &code));
    for (content_type, body) in [
        (Some("application/json"), json),
        (Some("text/plain"), redemption.clone()),
        (Some("multipart/form-data; boundary=x"), redemption.clone()),
        (None, redemption),
    ] {
        scene
            .send(post("/token", content_type, body))
            .await
            .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    }
    // The form content type with a charset parameter, any case, is the form.
    let request = post(
        "/token",
        Some("Application/X-WWW-Form-URLEncoded; charset=UTF-8"),
        form(&redemption_pairs(id, &code)),
    );
    assert_tokens(&scene.send(request).await);
}

/// The core's answer to an oversized token request: 413 `invalid_request`.
fn assert_too_large(reply: &Reply) {
    let body = reply.assert_oauth_error(StatusCode::PAYLOAD_TOO_LARGE, "invalid_request");
    assert_eq!(body["error_description"], "request body too large");
}

/// A token request of `len` bytes (a form of padding).
fn padded_token_request(len: usize) -> http::Request<bytes::Bytes> {
    let prefix = "grant_type=authorization_code&pad=";
    let body = format!("{prefix}{}", "p".repeat(len - prefix.len()));
    post("/token", Some(FORM), body)
}

/// A body over the provider's limit, sent with its `Content-Length`, is the core's 413
/// `invalid_request` (not a framework error page): one byte over and far over.
pub async fn token_oversized_body_with_content_length_is_the_cores_413(glue: &dyn Glue) {
    let scene = Scene::new(glue).await;
    for len in [DEFAULT_MAX_BODY + 1, 1024 * 1024] {
        let request = padded_token_request(len);
        assert_eq!(
            request.headers()["content-length"],
            len.to_string().as_str()
        );
        assert_too_large(&scene.send(request).await);
    }
}

/// A body over the provider's limit without `Content-Length` (chunked) is the core's
/// 413 `invalid_request` too.
pub async fn token_oversized_body_without_content_length_is_the_cores_413(glue: &dyn Glue) {
    let scene = Scene::new(glue).await;
    for len in [DEFAULT_MAX_BODY + 1, 1024 * 1024] {
        let request = without_content_length(padded_token_request(len));
        assert_too_large(&scene.send(request).await);
    }
}

/// A body of exactly the configured limit reaches the core whole (and redeems a code,
/// padded with an unknown parameter); one byte more is the core's 413, with or without
/// `Content-Length`. The glue follows the provider's limit, not a fixed one of its own.
pub async fn token_body_of_exactly_the_configured_limit_is_processed(glue: &dyn Glue) {
    const MAX: usize = 100 * 1024;
    let scene = Scene::of(glue, provider_with(|b| b.max_body_bytes(MAX))).await;
    let (client, code) = scene.public_client_with_code().await;
    let id = client.id.as_str();
    let mut pairs = redemption_pairs(id, &code);
    let padding = "p".repeat(MAX - form(&pairs).len() - "&pad=".len());
    pairs.push(("pad", &padding));
    let body = form(&pairs);
    assert_eq!(body.len(), MAX);

    let longer = format!("{body}p");
    assert_too_large(&scene.send(post("/token", Some(FORM), longer.clone())).await);
    assert_too_large(
        &scene
            .send(without_content_length(post("/token", Some(FORM), longer)))
            .await,
    );
    assert_tokens(&scene.send(post("/token", Some(FORM), body)).await);
}

/// OAuth 2.1 Appendix B: the form is decoded as UTF-8; invalid UTF-8 (raw or
/// percent-encoded) and malformed escapes are `invalid_request`, never a framework error.
pub async fn token_with_invalid_utf8_body_is_invalid_request(glue: &dyn Glue) {
    let scene = Scene::new(glue).await;
    let bodies: [&[u8]; 4] = [
        b"grant_type=authorization_code&code=\xff\xfe",
        b"grant_type=authorization_code&code=%FF",
        b"grant_type=authorization_code&code=%C3%28",
        b"grant_type=authorization_code&code=%zz",
    ];
    for body in bodies {
        scene
            .send(post("/token", Some(FORM), body.to_vec()))
            .await
            .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    }
}

/// OAuth 2.1 §3.2 (O21-6): tokens only for POST; `GET` (with the request in the query),
/// `PUT` and `DELETE` are the core's 405 `invalid_request` with `Allow: POST`.
pub async fn token_get_is_405_with_allow_post(glue: &dyn Glue) {
    let scene = Scene::new(glue).await;
    let (client, code) = scene.public_client_with_code().await;
    let id = client.id.as_str();
    let query = form(&redemption_pairs(id, &code));
    for method in [Method::GET, Method::PUT, Method::DELETE] {
        let reply = scene
            .send(empty(method.clone(), &format!("/token?{query}")))
            .await;
        reply.assert_oauth_error(StatusCode::METHOD_NOT_ALLOWED, "invalid_request");
        assert_eq!(reply.header("allow"), "POST", "{method}");
    }
    // The code was not spent.
    assert_tokens(&scene.send(code_redemption(id, &code)).await);
}

/// OAuth 2.1 §3.2.4, §10: the core's JSON errors come through unchanged: an unknown or
/// removed grant type (`password`) is `unsupported_grant_type`, a missing one
/// `invalid_request`.
pub async fn token_errors_are_the_cores_json_errors(glue: &dyn Glue) {
    let scene = Scene::new(glue).await;
    for grant_type in ["password", "implicit", "urn:example:unknown"] {
        scene
            .send(form_post(
                "/token",
                &[("grant_type", grant_type), ("client_id", "x")],
            ))
            .await
            .assert_oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    scene
        .send(form_post("/token", &[("client_id", "x")]))
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
}

/// OAuth 2.1 §2.4.1 (O21-15): client credentials in the request URI are refused, never
/// used (400 `invalid_request`), and the code is not spent; the glue hands the query
/// to the core.
pub async fn token_with_client_credentials_in_the_query_is_refused(glue: &dyn Glue) {
    let scene = Scene::new(glue).await;
    let (client, secret, code) = scene
        .confidential_client_with_code(AuthMethod::ClientSecretPost)
        .await;
    let query = form(&[
        ("client_id", client.id.as_str()),
        ("client_secret", secret.expose()),
    ]);
    let request = form_post(&format!("/token?{query}"), &confidential_redemption(&code));
    let body = scene
        .send(request)
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    assert_eq!(
        body["error_description"],
        "client credentials are not accepted in the URI"
    );
    // The code was not spent: the same credentials in the body redeem it.
    let pairs = body_credentials_redemption(&code, client.id.as_str(), secret.expose());
    assert_tokens(&scene.send(form_post("/token", &pairs)).await);
}
