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

// ---- Authorization-endpoint helpers (added for authorization_request.rs and
// pending_authorization_ticket.rs) ----

impl Harness {
    /// A harness with only the issuer, the keys, the manual clock and the memory store
    /// set: the test configures scopes, resources and policies itself.
    pub fn bare(
        issuer: &str,
        configure: impl FnOnce(ProviderBuilder<MemoryStore>) -> ProviderBuilder<MemoryStore>,
    ) -> Self {
        let clock = Arc::new(ManualClock(AtomicU64::new(START)));
        let builder = Provider::builder(Issuer::new(issuer).unwrap())
            .keys(test_keyring())
            .clock(clock.clone())
            .store(MemoryStore::new());
        let provider = configure(builder).build().unwrap();
        Harness { provider, clock }
    }

    /// Runs the authorization endpoint on any request (GET, POST, raw query).
    pub async fn begin_request(
        &self,
        request: &Request<Vec<u8>>,
    ) -> Result<PendingAuthorization, AuthorizationError> {
        self.provider.begin_authorization(request).await
    }

    /// Completes a pending authorization with `decision`.
    pub async fn complete(
        &self,
        pending: PendingAuthorization,
        decision: Decision,
    ) -> Result<Response<bytes::Bytes>, AuthorizationError> {
        self.provider
            .complete_authorization(pending, decision)
            .await
    }

    /// The user denies the request.
    pub async fn deny(
        &self,
        pending: PendingAuthorization,
    ) -> Result<Response<bytes::Bytes>, AuthorizationError> {
        self.complete(pending, Decision::Deny).await
    }
}

/// A GET authorization request whose query is used exactly as given (already encoded).
pub fn authorize_raw(query: &str) -> Request<Vec<u8>> {
    Request::get(format!("https://as.example/authorize?{query}"))
        .body(Vec::new())
        .unwrap()
}

/// A POST authorization request with the pairs as a form body (OAuth 2.1 §3.1).
pub fn authorize_post(pairs: &[(&str, &str)]) -> Request<Vec<u8>> {
    Request::post("https://as.example/authorize")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(pairs).into_bytes())
        .unwrap()
}

/// Borrows owned pairs, for the helpers that take `&[(&str, &str)]`.
pub fn borrow_pairs(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
    pairs
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect()
}

/// The `Location` header of a response, as sent.
pub fn location(response: &Response<bytes::Bytes>) -> &str {
    response.headers()["location"].to_str().unwrap()
}

/// The reason and response of an authorization error that must be redirected; panics
/// on success or on any other kind of error.
pub fn expect_redirect<T: std::fmt::Debug>(
    result: Result<T, AuthorizationError>,
) -> (oauth_core::Reason, Response<bytes::Bytes>) {
    match result {
        Err(AuthorizationError::Redirect(redirect)) => (
            redirect.reason(),
            redirect.into_response(&oauth_core::model::UserId::new("alice")),
        ),
        other => panic!("expected an error redirect, got {other:?}"),
    }
}

/// The reason of an authorization error that must not be redirected (an error page for
/// the user), after checking that its response has no `Location` and is not a success.
pub fn expect_fatal<T: std::fmt::Debug>(
    result: Result<T, AuthorizationError>,
) -> oauth_core::Reason {
    match result {
        Err(error @ AuthorizationError::Fatal(_)) => {
            let reason = error.reason().unwrap();
            let page = error.into_response(None);
            assert!(
                page.headers().get("location").is_none(),
                "a fatal authorization error must never redirect ({reason:?})"
            );
            assert!(
                page.status().is_client_error() || page.status().is_server_error(),
                "{reason:?} answered {}",
                page.status()
            );
            reason
        }
        other => panic!("expected a fatal authorization error, got {other:?}"),
    }
}

// ---- Token-endpoint helpers (added for token_request.rs, client_authentication.rs,
// authorization_code_grant.rs, refresh_token_grant.rs and client_credentials_grant.rs) ----

/// A response taken apart: status, JSON body (`Null` when empty or not JSON), headers.
pub fn response_parts(response: &Response<bytes::Bytes>) -> (StatusCode, Value, HeaderMap) {
    let body = serde_json::from_slice(response.body()).unwrap_or(Value::Null);
    (response.status(), body, response.headers().clone())
}

/// A token request with `body` sent exactly as given (already encoded) and extra headers.
pub fn raw_token_request(body: &[u8], headers: &[(&str, &str)]) -> Request<Vec<u8>> {
    let mut builder = Request::post("https://as.example/token");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(body.to_vec()).unwrap()
}

/// `Authorization: Basic base64(id ":" secret)` with `id` and `secret` used as given
/// (the caller encodes them).
pub fn basic_header(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

/// Answers one step of a token request from `store` as the provider's driver does:
/// `Ok(next step)`, or `Err(response)` once the request is complete. Lets a test hold two
/// requests at chosen steps and interleave them deterministically.
pub async fn answer_token_step<'m>(
    store: &MemoryStore,
    step: oauth_core::token::TokenStep<'m>,
) -> Result<oauth_core::token::TokenStep<'m>, Response<bytes::Bytes>> {
    match step.answer_from(store).await {
        std::ops::ControlFlow::Continue(next) => Ok(next),
        std::ops::ControlFlow::Break(response) => Err(response),
    }
}

impl Harness {
    /// Full flow for a new public client whose authorization request names each of
    /// `resources` (the `resource` parameter repeated): (client, token response body).
    pub async fn public_tokens_for(&self, resources: &[&str]) -> (Client, Value) {
        let client = self.public_client().await;
        let mut pairs = Self::code_request_pairs(client.id.as_str());
        pairs.extend(
            resources
                .iter()
                .map(|r| ("resource".to_owned(), (*r).to_owned())),
        );
        let pending = self.begin(&borrow_pairs(&pairs)).await.unwrap();
        let code = location_params(&self.approve(pending, "alice").await)["code"].clone();
        let (status, body, _) = self.redeem_public(client.id.as_str(), &code).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        (client, body)
    }

    /// A harness like [`Harness::with`] whose keyring the test keeps a copy of (to import
    /// clients with known secrets, or to compute the keyed hash of a credential).
    pub fn with_keys(
        configure: impl FnOnce(ProviderBuilder<MemoryStore>) -> ProviderBuilder<MemoryStore>,
    ) -> (Self, Keyring) {
        let keyring = test_keyring();
        let kept = keyring.clone();
        (Self::with(move |b| configure(b.keys(keyring))), kept)
    }

    /// Sends any request to the token endpoint.
    pub async fn token_raw(&self, request: &Request<Vec<u8>>) -> (StatusCode, Value, HeaderMap) {
        response_parts(&self.provider.token(request).await)
    }

    /// Stores a client directly, bypassing the registration rules, with `secret`
    /// digested under `keyring` (which must be the provider's).
    pub async fn import_client(
        &self,
        keyring: &Keyring,
        id: &str,
        secret: Option<&str>,
        auth_method: oauth_core::model::AuthMethod,
        grant_types: Vec<GrantType>,
    ) -> Client {
        use oauth_core::Store as _;
        let client = Client {
            id: oauth_core::model::ClientId::new(id),
            auth_method,
            secret: secret.map(|s| keyring.digest_secret(&Secret::new(s.to_owned()))),
            secret_expires_at: None,
            redirect_uris: vec![REDIRECT.to_owned()],
            grant_types,
            scope: None,
            name: None,
            created_at: self.now(),
            metadata: Default::default(),
            registration_token: None,
        };
        self.provider.store().put_client(&client).await.unwrap();
        client
    }

    /// Runs the authorization endpoint with the usual PKCE request changed by
    /// `overrides` (as in [`Harness::begin_with`]), approves it for `alice` and returns
    /// the code.
    pub async fn obtain_code_with(&self, client_id: &str, overrides: &[(&str, &str)]) -> String {
        let pending = self.begin_with(client_id, overrides).await.unwrap();
        let response = self.approve(pending, "alice").await;
        location_params(&response)["code"].clone()
    }

    /// Redeems a code with HTTP Basic, the usual redirect URI and verifier, and `extra`.
    pub async fn redeem_basic(
        &self,
        client_id: &str,
        secret: &str,
        code: &str,
        extra: &[(&str, &str)],
    ) -> (StatusCode, Value, HeaderMap) {
        let mut pairs = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ];
        pairs.extend_from_slice(extra);
        self.token(&pairs, Some((client_id, secret))).await
    }

    /// Full flow for a new confidential (`client_secret_basic`) client registered for the
    /// code and refresh grants: returns (client, secret, token response body).
    pub async fn confidential_tokens(&self) -> (Client, Secret, Value) {
        let (client, secret) = self
            .confidential_client(vec![GrantType::AuthorizationCode, GrantType::RefreshToken])
            .await;
        let code = self.obtain_code(client.id.as_str()).await;
        let (status, body, _) = self
            .redeem_basic(client.id.as_str(), secret.expose(), &code, &[])
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        (client, secret, body)
    }

    /// Refreshes with HTTP Basic.
    pub async fn refresh_basic(
        &self,
        client_id: &str,
        secret: &str,
        refresh_token: &str,
        extra: &[(&str, &str)],
    ) -> (StatusCode, Value, HeaderMap) {
        let mut pairs = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ];
        pairs.extend_from_slice(extra);
        self.token(&pairs, Some((client_id, secret))).await
    }

    /// Calls a protected resource `resource` with `Authorization: Bearer token` (for
    /// harnesses with several resources, where [`Harness::bearer`] cannot choose).
    pub async fn bearer_for(
        &self,
        token: &str,
        resource: &str,
    ) -> Result<oauth_core::Access, oauth_core::BearerError> {
        let request = Request::get(resource)
            .header("authorization", format!("Bearer {token}"))
            .body(Vec::new())
            .unwrap();
        let resource = oauth_core::resource::Resource::parse(resource).unwrap();
        self.provider
            .authenticate_for(&request, Some(&resource))
            .await
    }
}

/// The string value of `name` in a JSON body; panics with the body when absent.
pub fn str_of<'a>(body: &'a Value, name: &str) -> &'a str {
    body[name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {body}"))
}

/// Answers the steps of a token request until `stop` holds for one (returned unanswered);
/// panics if the request completes first.
pub async fn drive_token_until<'m>(
    store: &MemoryStore,
    mut step: oauth_core::token::TokenStep<'m>,
    stop: impl Fn(&oauth_core::token::TokenStep<'m>) -> bool,
) -> oauth_core::token::TokenStep<'m> {
    while !stop(&step) {
        step = match answer_token_step(store, step).await {
            Ok(next) => next,
            Err(response) => panic!(
                "the request completed before the awaited step: {} {:?}",
                response.status(),
                response.body()
            ),
        };
    }
    step
}

/// Answers the steps of a token request to the end and returns its response, taken apart.
pub async fn finish_token(
    store: &MemoryStore,
    mut step: oauth_core::token::TokenStep<'_>,
) -> (StatusCode, Value, HeaderMap) {
    loop {
        step = match answer_token_step(store, step).await {
            Ok(next) => next,
            Err(response) => return response_parts(&response),
        };
    }
}

// ---- Discovery helpers (added for metadata.rs) ----

/// A request with `method` to `uri` and an empty body.
pub fn empty_request(method: http::Method, uri: &str) -> Request<Vec<u8>> {
    Request::builder()
        .method(method)
        .uri(uri)
        .body(Vec::new())
        .unwrap()
}

impl Harness {
    /// Sends any request through [`Provider::handle`] and takes the response apart.
    pub async fn handle(&self, request: &Request<Vec<u8>>) -> (StatusCode, Value, HeaderMap) {
        response_parts(&self.provider.handle(request).await)
    }

    /// `GET uri` through [`Provider::handle`], taken apart.
    pub async fn get(&self, uri: &str) -> (StatusCode, Value, HeaderMap) {
        self.handle(&empty_request(http::Method::GET, uri)).await
    }
}

// ---- Revocation and introspection helpers (added for revocation.rs and
// introspection.rs) ----

/// A form POST to `path` of the issuer, as a client sends it, with HTTP Basic when
/// `basic` is given.
pub fn client_form_request(
    path: &str,
    pairs: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> Request<Vec<u8>> {
    let mut request = token_request(pairs, basic);
    *request.uri_mut() = format!("{ISSUER}{path}").parse().unwrap();
    request
}

impl Harness {
    /// Sends a revocation request (RFC 7009 §2.1) through [`Provider::handle`] at the
    /// default `/revoke` path: the whole response, so the test can see the empty body.
    pub async fn revoke_response(
        &self,
        pairs: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> Response<bytes::Bytes> {
        self.provider
            .handle(&client_form_request("/revoke", pairs, basic))
            .await
    }

    /// Revokes `token` as the public client `client_id` (body `client_id` only); returns
    /// the status after checking the success shape when it is 200.
    pub async fn revoke_public(&self, client_id: &str, token: &str) -> StatusCode {
        let response = self
            .revoke_response(&[("token", token), ("client_id", client_id)], None)
            .await;
        assert_revocation_shape(&response);
        response.status()
    }

    /// Revokes `token` as a confidential client with HTTP Basic; returns the status
    /// after checking the success shape when it is 200.
    pub async fn revoke_basic(&self, client_id: &str, secret: &str, token: &str) -> StatusCode {
        let response = self
            .revoke_response(&[("token", token)], Some((client_id, secret)))
            .await;
        assert_revocation_shape(&response);
        response.status()
    }

    /// Sends an introspection request (RFC 7662 §2.1) through [`Provider::handle`] at the
    /// default `/introspect` path.
    pub async fn introspect_response(
        &self,
        pairs: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> Response<bytes::Bytes> {
        self.provider
            .handle(&client_form_request("/introspect", pairs, basic))
            .await
    }

    /// Introspects `token` as a confidential client with HTTP Basic, taken apart.
    pub async fn introspect_basic(
        &self,
        client_id: &str,
        secret: &str,
        token: &str,
    ) -> (StatusCode, Value, HeaderMap) {
        response_parts(
            &self
                .introspect_response(&[("token", token)], Some((client_id, secret)))
                .await,
        )
    }

    /// Whether `client_id` (a confidential client, HTTP Basic) sees `token` as active;
    /// an inactive answer is checked to be exactly `{"active":false}`.
    pub async fn is_active_for(&self, client_id: &str, secret: &str, token: &str) -> bool {
        let response = self
            .introspect_response(&[("token", token)], Some((client_id, secret)))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["cache-control"], "no-store");
        if response.body().as_ref() == br#"{"active":false}"# {
            return false;
        }
        let body: Value = serde_json::from_slice(response.body()).unwrap();
        assert_eq!(body["active"], true, "{body}");
        true
    }
}

/// A 200 from the revocation endpoint has an empty body and `Cache-Control: no-store`
/// (RFC 7009 §2.2); other statuses are left to the caller.
pub fn assert_revocation_shape(response: &Response<bytes::Bytes>) {
    if response.status() == StatusCode::OK {
        assert!(response.body().is_empty(), "{:?}", response.body());
        assert_eq!(response.headers()["cache-control"], "no-store");
    }
}

// ---- Registration helpers (added for registration.rs and registration_management.rs) ----

/// The registration endpoint of the registration harness.
pub const REGISTER: &str = "https://as.example/register";

/// `POST REGISTER` with `body` sent as given and the given headers.
pub fn registration_request(body: &[u8], headers: &[(&str, &str)]) -> Request<Vec<u8>> {
    let mut builder = Request::post(REGISTER);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(body.to_vec()).unwrap()
}

/// A request to a client configuration URI (absolute, as the registration returned it),
/// with the registration access token as a Bearer credential and an optional JSON body.
pub fn configuration_request(
    method: http::Method,
    uri: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Request<Vec<u8>> {
    let mut builder = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    let body = match body {
        Some(json) => {
            builder = builder.header("content-type", "application/json");
            serde_json::to_vec(json).unwrap()
        }
        None => Vec::new(),
    };
    builder.body(body).unwrap()
}

impl Harness {
    /// A harness serving dynamic registration at `/register` under `policy`.
    pub fn with_registration(policy: oauth_core::RegistrationPolicy) -> Self {
        Self::with(|b| {
            b.endpoints(oauth_core::Endpoints {
                registration: Some("/register".into()),
                ..Default::default()
            })
            .registration(policy)
        })
    }

    /// A harness with open dynamic registration at `/register`.
    pub fn open_registration() -> Self {
        Self::with_registration(oauth_core::RegistrationPolicy::open())
    }

    /// Registers `metadata` as JSON through [`Provider::handle`], taken apart.
    pub async fn register_json(&self, metadata: &Value) -> (StatusCode, Value, HeaderMap) {
        let body = serde_json::to_vec(metadata).unwrap();
        let request = registration_request(&body, &[("content-type", "application/json")]);
        response_parts(&self.provider.handle(&request).await)
    }

    /// Registers `metadata`, asserting 201; returns the client information response.
    pub async fn registered(&self, metadata: &Value) -> Value {
        let (status, body, _) = self.register_json(metadata).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }

    /// Sends a request to the client configuration endpoint of `registered` (a
    /// registration response) with its registration access token, taken apart.
    pub async fn configure(
        &self,
        method: http::Method,
        registered: &Value,
        body: Option<&Value>,
    ) -> (StatusCode, Value, HeaderMap) {
        let request = configuration_request(
            method,
            str_of(registered, "registration_client_uri"),
            Some(str_of(registered, "registration_access_token")),
            body,
        );
        response_parts(&self.provider.handle(&request).await)
    }
}

/// The store of [`instrumented_provider`]: the memory store with fault injection and a
/// write log.
pub type Instrumented = oauth_store_testkit::instrumented::InstrumentedStore<MemoryStore>;

/// A provider like [`Harness::new`]'s (scopes `read write admin`, default `read`, one
/// resource) on an [`Instrumented`] store, adjusted by `configure`.
pub fn instrumented_provider(
    configure: impl FnOnce(ProviderBuilder<Instrumented>) -> ProviderBuilder<Instrumented>,
) -> Provider<Instrumented> {
    let builder = Provider::builder(Issuer::new(ISSUER).unwrap())
        .keys(test_keyring())
        .scopes(["read", "write", "admin"])
        .default_scope(["read"])
        .resource(RESOURCE)
        .store(oauth_store_testkit::instrumented::InstrumentedStore::new(
            MemoryStore::new(),
        ));
    configure(builder).build().unwrap()
}
