//! A provider on a store under test, and the requests of the authorization-code flow:
//! what store crates' provider-level tests (outages, round trips, faults) and the shared
//! benchmarks (the `bench` module, feature `bench`) drive. One public client, PKCE with
//! the RFC 7636 Appendix B pair, user `alice`.

use std::collections::HashMap;
use std::sync::Arc;

use http::{Request, StatusCode};
use oauth_core::model::UserId;
use oauth_core::{
    Approval, Clock, Decision, Issuer, KeyId, Keyring, NewClient, OsRandom, Provider,
    ProviderBuilder, SecureRandom, Store,
};

/// The provider's issuer.
pub const ISSUER: &str = "https://as.example";
/// Its one protected resource.
pub const RESOURCE: &str = "https://api.example/mcp";
/// The public client's redirect URI.
pub const REDIRECT: &str = "https://client.example/cb";
/// RFC 7636 Appendix B.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
/// S256 of [`VERIFIER`].
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// A provider on `store` (scopes `read`, `write`; default `read`; [`RESOURCE`]) with a
/// key from the OS RNG, on the system clock or on `clock`.
pub fn provider<S: Store>(store: S, clock: Option<Arc<dyn Clock>>) -> Provider<S> {
    let builder = provider_builder();
    match clock {
        Some(clock) => builder.clock(clock),
        None => builder,
    }
    .store(store)
    .build()
    .unwrap()
}

/// The configuration of [`provider`], before its store: for tests that set more.
pub fn provider_builder() -> ProviderBuilder<()> {
    let mut secret = [0u8; 32];
    OsRandom.fill(&mut secret).unwrap();
    Provider::builder(Issuer::new(ISSUER).unwrap())
        .keys(Keyring::from_secret(KeyId::new("test").unwrap(), &secret).unwrap())
        .scopes(["read", "write"])
        .default_scope(["read"])
        .resource(RESOURCE)
}

fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// Registers a public client with [`REDIRECT`]; its id.
pub async fn public_client<S: Store>(provider: &Provider<S>) -> String {
    let registered = provider
        .register_client(NewClient::public(vec![REDIRECT.to_owned()]))
        .await
        .unwrap();
    registered.client.id.as_str().to_owned()
}

/// Runs the authorization endpoint with PKCE and approves for `alice`; the code.
pub async fn obtain_code<S: Store>(provider: &Provider<S>, client_id: &str) -> String {
    let query = form(&[
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("state", "xyz"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]);
    let request = Request::get(format!("{ISSUER}/authorize?{query}"))
        .body(Vec::new())
        .unwrap();
    let pending = provider.begin_authorization(&request).await.unwrap();
    let response = provider
        .complete_authorization(
            pending,
            Decision::Approve(Approval::new(UserId::new("alice"))),
        )
        .await
        .unwrap();
    let location = response.headers()["location"].to_str().unwrap();
    let params: HashMap<String, String> = url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    params["code"].clone()
}

/// The token request that redeems `code` for the public client `client_id`.
pub fn code_exchange_request(client_id: &str, code: &str) -> Request<Vec<u8>> {
    Request::post(format!("{ISSUER}/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT),
                ("client_id", client_id),
                ("code_verifier", VERIFIER),
            ])
            .into_bytes(),
        )
        .unwrap()
}

/// A request to [`RESOURCE`] carrying `token`.
pub fn bearer_request(token: &str) -> Request<Vec<u8>> {
    Request::get(RESOURCE)
        .header("authorization", format!("Bearer {token}"))
        .body(Vec::new())
        .unwrap()
}

/// Redeems `code`; the JSON body, asserting 200.
pub async fn exchange<S: Store>(
    provider: &Provider<S>,
    client_id: &str,
    code: &str,
) -> serde_json::Value {
    let response = provider
        .token(&code_exchange_request(client_id, code))
        .await;
    assert_eq!(response.status(), StatusCode::OK, "{:?}", response.body());
    serde_json::from_slice(response.body()).unwrap()
}

/// A new public client's access token, through the whole flow.
pub async fn access_token<S: Store>(provider: &Provider<S>) -> String {
    let client_id = public_client(provider).await;
    let code = obtain_code(provider, &client_id).await;
    let body = exchange(provider, &client_id, &code).await;
    body["access_token"].as_str().unwrap().to_owned()
}
