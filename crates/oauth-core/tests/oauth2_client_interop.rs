//! Interoperability with a real third-party client: the `oauth2` crate (v5) drives the
//! authorization-code grant with PKCE (OAuth 2.1 §4.1, RFC 7636), refresh with rotation
//! (§4.3), client credentials (§4.2) with `client_secret_basic` and `client_secret_post`
//! (§2.4.1), and parses our error responses (§3.2.4), all in process through an
//! `oauth2::AsyncHttpClient` closure that hands each request to `Provider::token`.

mod common;

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use common::*;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use oauth2::basic::{BasicClient, BasicErrorResponseType, BasicTokenType};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, HttpRequest, HttpResponse, PkceCodeChallenge, RedirectUrl, RequestTokenError,
    Scope, TokenResponse, TokenUrl,
};
use oauth_core::model::{AuthMethod, GrantType};
use oauth_core::{NewClient, Provider};
use oauth_store_memory::MemoryStore;

/// The future our in-process HTTP client returns.
type Exchange<'a> = Pin<Box<dyn Future<Output = Result<HttpResponse, Infallible>> + 'a>>;

/// An `oauth2` client with the authorization and token endpoints set.
type Oauth2Client =
    BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// Every request the client sent, to check how it authenticated.
#[derive(Clone, Default)]
struct Sent(Arc<Mutex<Vec<HttpRequest>>>);

impl Sent {
    fn last(&self) -> HttpRequest {
        self.0.lock().unwrap().last().unwrap().clone()
    }

    fn last_form(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(self.last().body())
            .into_owned()
            .collect()
    }
}

/// The "HTTP client" handed to `oauth2`: a closure that checks the request is a form
/// POST to our token endpoint, records it, passes it to `Provider::token`, and returns the
/// response as `oauth2` expects it.
fn in_process<'a>(
    provider: &'a Provider<MemoryStore>,
    sent: &Sent,
) -> impl Fn(HttpRequest) -> Exchange<'a> + 'a {
    let sent = sent.clone();
    move |request: HttpRequest| -> Exchange<'a> {
        assert_eq!(request.method(), http::Method::POST);
        assert_eq!(request.uri().path(), provider.config().token_path());
        assert_eq!(
            request.headers()[CONTENT_TYPE],
            "application/x-www-form-urlencoded"
        );
        sent.0.lock().unwrap().push(request.clone());
        Box::pin(async move {
            let response = provider.token(&request).await;
            Ok(response.map(|body| body.to_vec()))
        })
    }
}

fn oauth2_client(client_id: &str) -> Oauth2Client {
    BasicClient::new(ClientId::new(client_id.to_owned()))
        .set_auth_uri(AuthUrl::new(format!("{ISSUER}/authorize")).unwrap())
        .set_token_uri(TokenUrl::new(format!("{ISSUER}/token")).unwrap())
        .set_redirect_uri(RedirectUrl::new(REDIRECT.to_owned()).unwrap())
}

/// The authorization endpoint as a browser would reach it: `oauth2` builds the URL, the
/// provider validates it, the user approves, and the code comes back in the `Location`.
/// Checks `state` and `iss` on the way, as a careful client does.
async fn authorize(h: &Harness, url: &url::Url, csrf: &CsrfToken) -> String {
    let request = http::Request::get(url.as_str()).body(Vec::new()).unwrap();
    let pending = h.provider.begin_authorization(&request).await.unwrap();
    let response = h.approve(pending, "alice").await;
    let params = location_params(&response);
    assert_eq!(&params["state"], csrf.secret());
    assert_eq!(params["iss"], ISSUER);
    assert!(
        response.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with(REDIRECT),
        "redirected to the registered URI"
    );
    params["code"].clone()
}

/// Presents an access token at the resource and returns what it proved.
async fn authenticates(h: &Harness, access_token: &str) -> oauth_core::Access {
    h.bearer(access_token)
        .await
        .unwrap_or_else(|e| panic!("token from oauth2 did not authenticate: {e}"))
}

fn scopes_of(response: &impl TokenResponse) -> Vec<String> {
    response
        .scopes()
        .map(|s| s.iter().map(|s| s.to_string()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn pkce_1_oauth2_crate_code_flow_with_random_s256_pkce_then_refresh() {
    let h = Harness::new();
    let sent = Sent::default();
    let http_client = in_process(&h.provider, &sent);
    let client = h.public_client().await;
    let oauth2 = oauth2_client(client.id.as_str());

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf) = oauth2
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("read".to_owned()))
        .add_scope(Scope::new("write".to_owned()))
        .set_pkce_challenge(challenge)
        .url();
    let code = authorize(&h, &url, &csrf).await;

    let tokens = oauth2
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&http_client)
        .await
        .unwrap();
    assert_eq!(*tokens.token_type(), BasicTokenType::Bearer);
    assert_eq!(tokens.expires_in().unwrap().as_secs(), 3600);
    assert_eq!(scopes_of(&tokens), ["read", "write"]);
    // A public client: `client_id` in the body, no Authorization header.
    assert!(sent.last().headers().get(AUTHORIZATION).is_none());
    assert!(sent
        .last_form()
        .contains(&("client_id".to_owned(), client.id.as_str().to_owned())));

    let access = authenticates(&h, tokens.access_token().secret()).await;
    assert_eq!(access.client_id, client.id);
    assert!(access.require_scope("read write").is_ok());
    assert_eq!(access.user_id.unwrap().as_str(), "alice");

    // Refresh with rotation: a new pair, the new access token works, the old RT is spent.
    let first_refresh = tokens.refresh_token().unwrap().clone();
    let refreshed = oauth2
        .exchange_refresh_token(&first_refresh)
        .request_async(&http_client)
        .await
        .unwrap();
    let second_refresh = refreshed.refresh_token().unwrap();
    assert_ne!(second_refresh.secret(), first_refresh.secret(), "rotated");
    assert_eq!(scopes_of(&refreshed), ["read", "write"]);
    authenticates(&h, refreshed.access_token().secret()).await;

    // The rotated refresh token works, and may narrow the scope (OAuth 2.1 §4.3.1).
    let narrowed = oauth2
        .exchange_refresh_token(second_refresh)
        .add_scope(Scope::new("read".to_owned()))
        .request_async(&http_client)
        .await
        .unwrap();
    assert_eq!(scopes_of(&narrowed), ["read"]);
}

#[tokio::test]
async fn o21_74_oauth2_crate_sees_a_replayed_refresh_token_as_invalid_grant() {
    let h = Harness::new();
    let sent = Sent::default();
    let http_client = in_process(&h.provider, &sent);
    let client = h.public_client().await;
    let oauth2 = oauth2_client(client.id.as_str());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf) = oauth2
        .authorize_url(CsrfToken::new_random)
        .set_pkce_challenge(challenge)
        .url();
    let code = authorize(&h, &url, &csrf).await;
    let tokens = oauth2
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&http_client)
        .await
        .unwrap();
    let old = tokens.refresh_token().unwrap();
    let rotated = oauth2
        .exchange_refresh_token(old)
        .request_async(&http_client)
        .await
        .unwrap();

    let err = oauth2
        .exchange_refresh_token(old)
        .request_async(&http_client)
        .await
        .unwrap_err();
    let RequestTokenError::ServerResponse(response) = err else {
        panic!("expected a parsed error response, got {err:?}");
    };
    assert_eq!(*response.error(), BasicErrorResponseType::InvalidGrant);
    // Reuse revoked the grant: the successor's access token is dead too.
    assert!(h.bearer(rotated.access_token().secret()).await.is_err());
}

#[tokio::test]
async fn o21_16_oauth2_crate_confidential_client_with_basic_auth_code_flow() {
    let h = Harness::new();
    let sent = Sent::default();
    let http_client = in_process(&h.provider, &sent);
    let (client, secret) = h
        .confidential_client(vec![GrantType::AuthorizationCode, GrantType::RefreshToken])
        .await;
    let oauth2 = oauth2_client(client.id.as_str())
        .set_client_secret(ClientSecret::new(secret.expose().to_owned()))
        .set_auth_type(AuthType::BasicAuth);

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf) = oauth2
        .authorize_url(CsrfToken::new_random)
        .set_pkce_challenge(challenge)
        .url();
    let code = authorize(&h, &url, &csrf).await;
    let tokens = oauth2
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&http_client)
        .await
        .unwrap();
    let basic = sent.last().headers()[AUTHORIZATION]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(basic.starts_with("Basic "), "{basic}");
    assert!(!sent.last_form().iter().any(|(k, _)| k == "client_secret"));
    assert_eq!(scopes_of(&tokens), ["read"], "the default scope");
    let access = authenticates(&h, tokens.access_token().secret()).await;
    assert_eq!(access.client_id, client.id);

    let refreshed = oauth2
        .exchange_refresh_token(tokens.refresh_token().unwrap())
        .request_async(&http_client)
        .await
        .unwrap();
    authenticates(&h, refreshed.access_token().secret()).await;
}

#[tokio::test]
async fn o21_16_oauth2_crate_client_credentials_with_basic_auth() {
    let h = Harness::new();
    let sent = Sent::default();
    let http_client = in_process(&h.provider, &sent);
    let (client, secret) = h
        .confidential_client(vec![GrantType::ClientCredentials])
        .await;
    let oauth2 = oauth2_client(client.id.as_str())
        .set_client_secret(ClientSecret::new(secret.expose().to_owned()))
        .set_auth_type(AuthType::BasicAuth);

    let tokens = oauth2
        .exchange_client_credentials()
        .add_scope(Scope::new("admin".to_owned()))
        .request_async(&http_client)
        .await
        .unwrap();
    assert!(sent.last().headers()[AUTHORIZATION]
        .to_str()
        .unwrap()
        .starts_with("Basic "));
    assert_eq!(*tokens.token_type(), BasicTokenType::Bearer);
    assert!(
        tokens.refresh_token().is_none(),
        "no refresh token for client credentials"
    );
    assert_eq!(scopes_of(&tokens), ["admin"]);
    let access = authenticates(&h, tokens.access_token().secret()).await;
    assert_eq!(access.client_id, client.id);
    assert_eq!(access.user_id, None, "a client token speaks for no user");
    assert!(access.require_scope("admin").is_ok());
}

#[tokio::test]
async fn o21_14_oauth2_crate_client_credentials_with_request_body() {
    let h = Harness::new();
    let sent = Sent::default();
    let http_client = in_process(&h.provider, &sent);
    let (client, secret) = h
        .register(NewClient {
            auth_method: AuthMethod::ClientSecretPost,
            ..NewClient::confidential(Vec::new(), vec![GrantType::ClientCredentials])
        })
        .await;
    let secret = secret.unwrap();
    let oauth2 = oauth2_client(client.id.as_str())
        .set_client_secret(ClientSecret::new(secret.expose().to_owned()))
        .set_auth_type(AuthType::RequestBody);

    let tokens = oauth2
        .exchange_client_credentials()
        .request_async(&http_client)
        .await
        .unwrap();
    assert!(sent.last().headers().get(AUTHORIZATION).is_none());
    let form = sent.last_form();
    assert!(form.contains(&("client_id".to_owned(), client.id.as_str().to_owned())));
    assert!(form.contains(&("client_secret".to_owned(), secret.expose().to_owned())));
    let access = authenticates(&h, tokens.access_token().secret()).await;
    assert_eq!(access.client_id, client.id);
    assert_eq!(access.user_id, None);
    assert!(access.require_scope("read").is_ok(), "the default scope");
}

#[tokio::test]
async fn o21_59_oauth2_crate_parses_a_reused_code_as_invalid_grant() {
    let h = Harness::new();
    let sent = Sent::default();
    let http_client = in_process(&h.provider, &sent);
    let client = h.public_client().await;
    let oauth2 = oauth2_client(client.id.as_str());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let verifier_secret = verifier.secret().to_owned();
    let (url, csrf) = oauth2
        .authorize_url(CsrfToken::new_random)
        .set_pkce_challenge(challenge)
        .url();
    let code = authorize(&h, &url, &csrf).await;
    let tokens = oauth2
        .exchange_code(AuthorizationCode::new(code.clone()))
        .set_pkce_verifier(verifier)
        .request_async(&http_client)
        .await
        .unwrap();

    let err = oauth2
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(oauth2::PkceCodeVerifier::new(verifier_secret))
        .request_async(&http_client)
        .await
        .unwrap_err();
    let RequestTokenError::ServerResponse(response) = err else {
        panic!("expected a parsed error response, got {err:?}");
    };
    assert_eq!(*response.error(), BasicErrorResponseType::InvalidGrant);
    assert!(response.error_description().is_some());
    // The replay was valid, so what the code issued is revoked (OAuth 2.1 §4.1.3).
    assert!(h.bearer(tokens.access_token().secret()).await.is_err());
}

#[tokio::test]
async fn o21_18_oauth2_crate_parses_a_wrong_basic_secret_as_invalid_client() {
    let h = Harness::new();
    let sent = Sent::default();
    let http_client = in_process(&h.provider, &sent);
    let (client, _secret) = h
        .confidential_client(vec![GrantType::ClientCredentials])
        .await;
    let oauth2 = oauth2_client(client.id.as_str())
        .set_client_secret(ClientSecret::new("oa2cs_not-the-secret".to_owned()))
        .set_auth_type(AuthType::BasicAuth);
    let err = oauth2
        .exchange_client_credentials()
        .request_async(&http_client)
        .await
        .unwrap_err();
    let RequestTokenError::ServerResponse(response) = err else {
        panic!("expected a parsed error response, got {err:?}");
    };
    assert_eq!(*response.error(), BasicErrorResponseType::InvalidClient);
}

#[tokio::test]
async fn mcp_12_oauth2_crate_sends_resource_at_both_endpoints() {
    let h = Harness::with(|b| b.resource("https://files.example/api"));
    let sent = Sent::default();
    let http_client = in_process(&h.provider, &sent);
    let client = h.public_client().await;
    let oauth2 = oauth2_client(client.id.as_str());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf) = oauth2
        .authorize_url(CsrfToken::new_random)
        .set_pkce_challenge(challenge)
        .add_extra_param("resource", RESOURCE)
        .url();
    let code = authorize(&h, &url, &csrf).await;
    let tokens = oauth2
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .add_extra_param("resource", RESOURCE)
        .request_async(&http_client)
        .await
        .unwrap();

    let request = http::Request::get("https://api.example/mcp")
        .header(
            AUTHORIZATION,
            format!("Bearer {}", tokens.access_token().secret()),
        )
        .body(Vec::new())
        .unwrap();
    let mcp = oauth_core::resource::Resource::parse(RESOURCE).unwrap();
    let files = oauth_core::resource::Resource::parse("https://files.example/api").unwrap();
    let access = h
        .provider
        .authenticate_for(&request, Some(&mcp))
        .await
        .unwrap();
    assert_eq!(
        access
            .audience
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>(),
        [RESOURCE]
    );
    assert!(h
        .provider
        .authenticate_for(&request, Some(&files))
        .await
        .is_err());
}
