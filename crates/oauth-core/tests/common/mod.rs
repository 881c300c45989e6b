//! Shared harness of the scenario tests: a provider on the memory store with a manual
//! clock, and helpers that speak HTTP to it the way clients do.
#![allow(
    dead_code,
    unreachable_pub,
    reason = "each scenario file uses a different part of the harness"
)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use http::{HeaderMap, Request, Response, StatusCode};
use oauth_core::model::{Client, GrantType};
use oauth_core::{
    Approval, AuthorizationError, Clock, Decision, Issuer, KeyId, Keyring, NewClient,
    PendingAuthorization, Provider, ProviderBuilder, Secret, UnixTime,
};
use oauth_store_memory::MemoryStore;
use serde_json::Value;

pub const ISSUER: &str = "https://as.example";
pub const RESOURCE: &str = "https://api.example/mcp";
pub const REDIRECT: &str = "https://client.example/cb";
/// RFC 7636 Appendix B.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
pub const START: u64 = 1_800_000_000;

/// A clock the test moves by hand.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicU64);

impl Clock for ManualClock {
    fn now(&self) -> UnixTime {
        UnixTime(self.0.load(Ordering::SeqCst))
    }
}

pub fn test_keyring() -> Keyring {
    // Test-only key material, generated per run.
    let mut secret = [0u8; 32];
    oauth_core::SecureRandom::fill(&oauth_core::OsRandom, &mut secret).unwrap();
    Keyring::from_secret(KeyId::new("test").unwrap(), &secret).unwrap()
}

pub struct Harness {
    pub provider: Provider<MemoryStore>,
    pub clock: Arc<ManualClock>,
}

impl Harness {
    pub fn new() -> Self {
        Self::with(|b| b)
    }

    pub fn with(
        configure: impl FnOnce(ProviderBuilder<MemoryStore>) -> ProviderBuilder<MemoryStore>,
    ) -> Self {
        let clock = Arc::new(ManualClock(AtomicU64::new(START)));
        let builder = Provider::builder(Issuer::new(ISSUER).unwrap())
            .keys(test_keyring())
            .scopes(["read", "write", "admin"])
            .default_scope(["read"])
            .resource(RESOURCE)
            .clock(clock.clone());
        let provider = configure(builder.store(MemoryStore::new()))
            .build()
            .unwrap();
        Harness { provider, clock }
    }

    pub fn now(&self) -> UnixTime {
        self.clock.now()
    }

    pub fn advance(&self, seconds: u64) {
        self.clock.0.fetch_add(seconds, Ordering::SeqCst);
    }

    pub async fn register(&self, new: NewClient) -> (Client, Option<Secret>) {
        let registered = self.provider.register_client(new).await.unwrap();
        (registered.client, registered.secret)
    }

    /// A public client with `REDIRECT`, authorization code and refresh.
    pub async fn public_client(&self) -> Client {
        self.register(NewClient::public(vec![REDIRECT.to_owned()]))
            .await
            .0
    }

    /// A confidential `client_secret_basic` client with the given grants.
    pub async fn confidential_client(&self, grants: Vec<GrantType>) -> (Client, Secret) {
        let (client, secret) = self
            .register(NewClient::confidential(vec![REDIRECT.to_owned()], grants))
            .await;
        (client, secret.unwrap())
    }

    /// A GET authorization request with the given query pairs.
    pub fn authorize_request(pairs: &[(&str, &str)]) -> Request<Vec<u8>> {
        let query = form(pairs);
        Request::get(format!("https://as.example/authorize?{query}"))
            .body(Vec::new())
            .unwrap()
    }

    /// The usual pairs of a valid PKCE authorization request for `client_id`.
    pub fn code_request_pairs(client_id: &str) -> Vec<(String, String)> {
        vec![
            ("response_type".into(), "code".into()),
            ("client_id".into(), client_id.into()),
            ("redirect_uri".into(), REDIRECT.into()),
            ("state".into(), "xyz".into()),
            ("code_challenge".into(), CHALLENGE.into()),
            ("code_challenge_method".into(), "S256".into()),
        ]
    }

    pub async fn begin(
        &self,
        pairs: &[(&str, &str)],
    ) -> Result<PendingAuthorization, AuthorizationError> {
        self.provider
            .begin_authorization(&Self::authorize_request(pairs))
            .await
    }

    /// Begins with the usual pairs, replacing or adding `overrides` (an empty value
    /// removes the pair).
    pub async fn begin_with(
        &self,
        client_id: &str,
        overrides: &[(&str, &str)],
    ) -> Result<PendingAuthorization, AuthorizationError> {
        let mut pairs = Self::code_request_pairs(client_id);
        for (name, value) in overrides {
            pairs.retain(|(n, _)| n != name);
            if !value.is_empty() {
                pairs.push(((*name).into(), (*value).into()));
            }
        }
        let borrowed: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect();
        self.begin(&borrowed).await
    }

    pub async fn approve(
        &self,
        pending: PendingAuthorization,
        user: &str,
    ) -> Response<bytes::Bytes> {
        self.provider
            .complete_authorization(
                pending,
                Decision::Approve(Approval::new(oauth_core::model::UserId::new(user))),
            )
            .await
            .unwrap()
    }

    /// Runs the authorization endpoint for `client_id` with the usual PKCE request and
    /// returns the code.
    pub async fn obtain_code(&self, client_id: &str) -> String {
        let pending = self.begin_with(client_id, &[]).await.unwrap();
        let response = self.approve(pending, "alice").await;
        location_params(&response)["code"].clone()
    }

    pub async fn token(
        &self,
        pairs: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> (StatusCode, Value, HeaderMap) {
        let response = self.provider.token(&token_request(pairs, basic)).await;
        let status = response.status();
        let headers = response.headers().clone();
        let body = if response.body().is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(response.body()).unwrap()
        };
        (status, body, headers)
    }

    /// Redeems a code for a public client with the usual verifier.
    pub async fn redeem_public(
        &self,
        client_id: &str,
        code: &str,
    ) -> (StatusCode, Value, HeaderMap) {
        self.token(
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", REDIRECT),
                ("client_id", client_id),
                ("code_verifier", VERIFIER),
            ],
            None,
        )
        .await
    }

    /// Full flow for a new public client: returns (client, token response body).
    pub async fn public_tokens(&self) -> (Client, Value) {
        let client = self.public_client().await;
        let code = self.obtain_code(client.id.as_str()).await;
        let (status, body, _) = self.redeem_public(client.id.as_str(), &code).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        (client, body)
    }

    pub async fn refresh(
        &self,
        client_id: &str,
        refresh_token: &str,
        extra: &[(&str, &str)],
    ) -> (StatusCode, Value, HeaderMap) {
        let mut pairs = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", client_id),
        ];
        pairs.extend_from_slice(extra);
        self.token(&pairs, None).await
    }

    /// Calls the protected resource with `Authorization: Bearer token`.
    pub async fn bearer(&self, token: &str) -> Result<oauth_core::Access, oauth_core::BearerError> {
        let request = Request::get("https://api.example/mcp")
            .header("authorization", format!("Bearer {token}"))
            .body(Vec::new())
            .unwrap();
        self.provider.authenticate(&request).await
    }
}

/// `application/x-www-form-urlencoded` serialization.
pub fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// A token request as a client sends it.
pub fn token_request(pairs: &[(&str, &str)], basic: Option<(&str, &str)>) -> Request<Vec<u8>> {
    let mut builder = Request::post("https://as.example/token")
        .header("content-type", "application/x-www-form-urlencoded");
    if let Some((id, secret)) = basic {
        let encode = |s: &str| form(&[("x", s)]).trim_start_matches("x=").to_owned();
        let credentials = STANDARD.encode(format!("{}:{}", encode(id), encode(secret)));
        builder = builder.header("authorization", format!("Basic {credentials}"));
    }
    builder.body(form(pairs).into_bytes()).unwrap()
}

/// The decoded query parameters of a redirect's `Location`.
pub fn location_params(response: &Response<bytes::Bytes>) -> HashMap<String, String> {
    let location = response.headers()["location"].to_str().unwrap();
    let url = url::Url::parse(location).unwrap();
    url.query_pairs().into_owned().collect()
}

pub fn error_of(body: &Value) -> &str {
    body["error"].as_str().unwrap_or("<none>")
}
