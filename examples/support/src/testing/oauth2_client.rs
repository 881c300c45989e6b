//! End to end over real HTTPS on a random loopback port, with a third-party client: the
//! `oauth2` crate drives the protocol (authorization URL with PKCE, code exchange,
//! refresh, revocation) against the example server on its default store (SQLite), and
//! the login and consent pages are answered by submitting their HTML forms.
//!
//! discovery → dynamic registration → login + consent → token → API call → MCP call →
//! refresh (rotation) → revocation → API call rejected.

use oauth2::basic::{BasicClient, BasicErrorResponse};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, CsrfToken, EndpointNotSet, EndpointSet, HttpClientError,
    PkceCodeChallenge, RedirectUrl, RefreshToken, RequestTokenError, ResourceOwnerPassword,
    RevocationUrl, Scope, StandardRevocableToken, TokenResponse, TokenUrl,
};
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::*;

/// `key="value"` from a `WWW-Authenticate: Bearer …` challenge.
fn challenge_param(response: &reqwest::Response, name: &str) -> Option<String> {
    let header = response.headers().get("www-authenticate")?.to_str().ok()?;
    header
        .strip_prefix("Bearer ")?
        .split(", ")
        .find_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            (key == name).then(|| value.trim_matches('"').to_owned())
        })
}

/// The `oauth2` client the scenario builds from the server's metadata: authorization,
/// token and revocation endpoints set.
type MetadataClient =
    BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointSet, EndpointSet>;

/// Revokes `token` (RFC 7009) through `client`, which must succeed.
async fn revoke(client: &MetadataClient, http: &Client, token: StandardRevocableToken) {
    client
        .revoke_token(token)
        .unwrap()
        .request_async(http)
        .await
        .unwrap();
}

/// Asserts that the token endpoint refused a request (`what`) with the OAuth error `error`.
fn assert_token_error<T: std::fmt::Debug>(
    result: Result<T, RequestTokenError<HttpClientError<reqwest::Error>, BasicErrorResponse>>,
    error: &str,
    what: &str,
) {
    match result {
        Err(RequestTokenError::ServerResponse(response)) => {
            assert_eq!(response.error().as_ref(), error, "{what}");
        }
        other => panic!("{what}: {other:?}"),
    }
}

/// A scenario: see the tests of the same name.
pub async fn oauth2_crate_client_completes_discovery_registration_code_refresh_and_revocation<
    F: Starter,
>() {
    let server = TestServer::start_with::<F>(&["--tls-self-signed"]).await;
    assert!(server.base.starts_with("https://127.0.0.1:"));
    let http = server.client();
    let redirect_uri = "http://127.0.0.1:9/callback";

    // 1. Discovery from the MCP endpoint alone (MCP authorization, RFC 9728 §5.1).
    let unauthenticated = http
        .post(server.url("/mcp"))
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
    let metadata_url = challenge_param(&unauthenticated, "resource_metadata").unwrap();
    assert_eq!(
        metadata_url,
        server.url("/.well-known/oauth-protected-resource/mcp")
    );
    let prm = get_json(&http, &metadata_url).await;
    assert_eq!(prm["resource"], server.url("/mcp"));
    let issuer = prm["authorization_servers"][0].as_str().unwrap();
    assert_eq!(issuer, server.base);
    let asm = get_json(
        &http,
        &format!("{issuer}/.well-known/oauth-authorization-server"),
    )
    .await;
    assert_eq!(asm["issuer"], server.base);
    assert_eq!(asm["code_challenge_methods_supported"], json!(["S256"]));

    // 2. Dynamic client registration (RFC 7591).
    let registered: Value = http
        .post(asm["registration_endpoint"].as_str().unwrap())
        .json(&registration("oauth2-rs test client", redirect_uri))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let client_id = registered["client_id"].as_str().unwrap().to_owned();

    let client = BasicClient::new(ClientId::new(client_id.clone()))
        .set_auth_uri(
            AuthUrl::new(asm["authorization_endpoint"].as_str().unwrap().to_owned()).unwrap(),
        )
        .set_token_uri(TokenUrl::new(asm["token_endpoint"].as_str().unwrap().to_owned()).unwrap())
        .set_revocation_url(
            RevocationUrl::new(asm["revocation_endpoint"].as_str().unwrap().to_owned()).unwrap(),
        )
        .set_redirect_uri(RedirectUrl::new(redirect_uri.to_owned()).unwrap());

    // 3. The authorization URL, built by `oauth2`, answered through the pages.
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (authorize_url, state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("mcp:tools".to_owned()))
        .add_scope(Scope::new("profile".to_owned()))
        .add_extra_param("resource", server.url("/mcp"))
        .set_pkce_challenge(challenge)
        .url();
    let browser = server.browser();
    let login = browser.get(authorize_url.as_str()).await;
    assert_eq!(login.status, StatusCode::OK);
    // Over https the cookies are `Secure` and host-only (`__Host-`); no HSTS on a
    // loopback host, where it would bind every local server to https.
    let cookie = login.headers["set-cookie"].to_str().unwrap();
    assert!(
        cookie.starts_with("__Host-browser=") && cookie.contains("; Secure"),
        "{cookie}"
    );
    assert!(login.headers.get("strict-transport-security").is_none());
    assert!(login.html.contains("oauth2-rs test client"));
    let consent = browser.sign_in(&login, USER, PASSWORD).await;
    assert_eq!(consent.status, StatusCode::OK);
    assert!(consent.html.contains("Allow"));
    let redirect = browser.decide(&consent, "approve").await;
    assert_eq!(redirect.status, StatusCode::SEE_OTHER);
    let query = redirect_query(&redirect, redirect_uri);
    assert_eq!(param(&query, "state"), Some(state.secret().as_str()));
    assert_eq!(param(&query, "iss"), Some(server.base.as_str()));
    let code = param(&query, "code").unwrap().to_owned();

    // 4. Code exchange with the verifier.
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    let access = tokens.access_token().secret().clone();
    let refresh = tokens.refresh_token().unwrap().secret().clone();
    let granted: Vec<_> = tokens
        .scopes()
        .unwrap()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(granted, ["mcp:tools", "profile"]);

    // 5. The API and the MCP endpoint accept it.
    let me = api_me(&server, &access).await;
    assert_eq!(me["user"], USER);
    assert_eq!(me["client_id"], client_id.as_str());
    assert_eq!(me["audience"], json!([server.url("/mcp")]));
    let call = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "whoami", "arguments": {}}});
    let answer: Value = mcp_post(&server, Some(&access), &call)
        .await
        .json()
        .await
        .unwrap();
    let text = answer["result"]["content"][0]["text"].as_str().unwrap();
    assert!(text.contains(USER) && text.contains(&client_id), "{text}");

    // 6. Refresh rotates: a new pair, and the old refresh token is spent.
    let refreshed = client
        .exchange_refresh_token(&RefreshToken::new(refresh.clone()))
        .request_async(&http)
        .await
        .unwrap();
    let new_access = refreshed.access_token().secret().clone();
    let new_refresh = refreshed.refresh_token().unwrap().secret().clone();
    assert_ne!(new_refresh, refresh);
    // The refresh request named no resource: the new token inherits the grant's.
    let after_refresh = api_me(&server, &new_access).await;
    assert_eq!(after_refresh["audience"], json!([server.url("/mcp")]));
    assert_eq!(after_refresh["scope"], "mcp:tools profile");

    // 7. Revocation (RFC 7009) through `oauth2`, which insists on https: the token dies.
    revoke(
        &client,
        &http,
        StandardRevocableToken::AccessToken(refreshed.access_token().clone()),
    )
    .await;
    let rejected = bearer_get(&server, "/api/me", &new_access).await;
    assert_eq!(rejected.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        challenge_param(&rejected, "error").as_deref(),
        Some("invalid_token")
    );

    // Revoking the refresh token ends the grant: no more refreshing.
    revoke(
        &client,
        &http,
        StandardRevocableToken::RefreshToken(RefreshToken::new(new_refresh.clone())),
    )
    .await;
    let refused = client
        .exchange_refresh_token(&RefreshToken::new(new_refresh))
        .request_async(&http)
        .await;
    assert_token_error(refused, "invalid_grant", "refresh after revocation");

    // The password grant does not exist here (OAuth 2.1 §10.1).
    let password = client
        .exchange_password(
            &oauth2::ResourceOwnerUsername::new(USER.to_owned()),
            &ResourceOwnerPassword::new(PASSWORD.to_owned()),
        )
        .request_async(&http)
        .await;
    assert_token_error(password, "unsupported_grant_type", "password grant");
    server.stop().await;
}
