//! What the scenarios are written with: providers configured like every glue test
//! (fixed clock, a random keyring per run, scopes `read write admin` with default `read`,
//! the resource [`RESOURCE`]), a [`Scene`] (a provider and the host app a glue built for
//! it), requests as clients send them, and [`Reply`], a response with the assertions the
//! scenarios share.
//!
//! The glue crates' own tests (what is specific to one framework) use it too: the
//! providers, the request builders, clients registered and codes obtained straight
//! through the core ([`public_client`], [`confidential_client`], [`obtain_code`]), and
//! the assertions on a response's headers ([`header`], [`location_params`],
//! [`assert_bearer_challenge`], [`assert_page_security_headers`]); each glue's tests keep
//! only the conversion to and from its framework's types.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use oauth_core::model::{AuthMethod, Client, GrantType, UserId};
use oauth_core::{
    Access, Approval, Clock, Decision, Endpoints, Issuer, KeyId, Keyring, NewClient,
    PendingAuthorization, Provider, ProviderBuilder, RegistrationPolicy, Secret, UnixTime,
};
use oauth_store_memory::MemoryStore;
use serde_json::Value;

use crate::{
    App, AppSpec, Cors, Glue, TestProvider, ISSUER, OTHER_RESOURCE, RESOURCE, USER_HEADER,
};

/// The redirect URI of every client the scenarios register.
pub const REDIRECT: &str = "https://client.example/cb";
/// The PKCE verifier of RFC 7636 Appendix B.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
/// The S256 challenge of [`VERIFIER`] (RFC 7636 Appendix B).
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
/// The time the fixed clock shows.
pub const START: u64 = 1_800_000_000;
/// The core's default body limit (`ConfigBuilder::max_body_bytes`).
pub const DEFAULT_MAX_BODY: usize = 16 * 1024;
/// The protected resource metadata URL of [`RESOURCE`] (RFC 9728 §3.1).
pub const RESOURCE_METADATA: &str = "https://api.example/.well-known/oauth-protected-resource/mcp";
/// The protected resource metadata URL of [`OTHER_RESOURCE`] (RFC 9728 §3.1).
pub const OTHER_RESOURCE_METADATA: &str =
    "https://files.example/.well-known/oauth-protected-resource/api";
/// `application/x-www-form-urlencoded`.
pub const FORM: &str = "application/x-www-form-urlencoded";
/// The origin of a browser client in the CORS scenarios.
pub const BROWSER_ORIGIN: &str = "https://app.example";
/// An origin no policy allows.
pub const EVIL_ORIGIN: &str = "https://evil.example";

// ---- providers ----

/// A clock that stands still at [`START`].
#[derive(Debug)]
struct FixedClock(AtomicU64);

impl Clock for FixedClock {
    fn now(&self) -> UnixTime {
        UnixTime(self.0.load(Ordering::SeqCst))
    }
}

/// Key material drawn from the OS for this run: never a constant key.
fn keyring() -> Keyring {
    let mut secret = [0u8; 32];
    oauth_core::SecureRandom::fill(&oauth_core::OsRandom, &mut secret)
        .unwrap_or_else(|e| panic!("the OS random source failed: {e}"));
    let id = KeyId::new("test").unwrap_or_else(|e| panic!("key id: {e}"));
    Keyring::from_secret(id, &secret).unwrap_or_else(|e| panic!("keyring: {e}"))
}

/// The usual provider: issuer [`ISSUER`], scopes `read write admin` (default `read`), one
/// resource ([`RESOURCE`]), the fixed clock, the memory store.
#[must_use]
pub fn provider() -> TestProvider {
    provider_with(|b| b)
}

/// The usual provider, adjusted by `configure`.
#[must_use]
pub fn provider_with(
    configure: impl FnOnce(ProviderBuilder<MemoryStore>) -> ProviderBuilder<MemoryStore>,
) -> TestProvider {
    provider_for_issuer(ISSUER, configure)
}

/// The usual provider for another issuer, adjusted by `configure`.
#[must_use]
pub fn provider_for_issuer(
    issuer: &str,
    configure: impl FnOnce(ProviderBuilder<MemoryStore>) -> ProviderBuilder<MemoryStore>,
) -> TestProvider {
    let issuer = Issuer::new(issuer).unwrap_or_else(|e| panic!("issuer {issuer}: {e}"));
    let builder = Provider::builder(issuer)
        .keys(keyring())
        .scopes(["read", "write", "admin"])
        .default_scope(["read"])
        .resource(RESOURCE)
        .clock(Arc::new(FixedClock(AtomicU64::new(START))))
        .store(MemoryStore::new());
    let provider = configure(builder)
        .build()
        .unwrap_or_else(|e| panic!("the scenario's provider does not build: {e}"));
    Arc::new(provider)
}

/// A provider with two resources: [`RESOURCE`] and [`OTHER_RESOURCE`].
#[must_use]
pub fn two_resource_provider() -> TestProvider {
    provider_with(|b| b.resource(OTHER_RESOURCE))
}

/// A provider with open dynamic registration (RFC 7591) at `/register`.
#[must_use]
pub fn registration_provider() -> TestProvider {
    provider_with(|b| {
        b.endpoints(Endpoints {
            registration: Some("/register".into()),
            ..Endpoints::default()
        })
        .registration(RegistrationPolicy::open())
    })
}

/// A provider whose endpoints are configured below `/oauth` (`/oauth/authorize`,
/// `/oauth/token`, `/oauth/revoke`, `/oauth/introspect`, `/oauth/register`), with open
/// registration.
#[must_use]
pub fn custom_paths_provider() -> TestProvider {
    provider_with(|b| {
        b.endpoints(Endpoints {
            authorization: "/oauth/authorize".into(),
            token: "/oauth/token".into(),
            revocation: "/oauth/revoke".into(),
            introspection: "/oauth/introspect".into(),
            registration: Some("/oauth/register".into()),
        })
        .registration(RegistrationPolicy::open())
    })
}

/// Panics unless `paths` (what a glue's router routes for [`custom_paths_provider`]) has
/// every configured endpoint and metadata path, and not the authorization endpoint (the
/// host's own route).
#[track_caller]
pub fn assert_custom_paths(paths: &[String]) {
    for expected in [
        "/oauth/token",
        "/oauth/revoke",
        "/oauth/introspect",
        "/oauth/register",
        "/oauth/register/{client_id}",
        "/.well-known/oauth-authorization-server",
        "/.well-known/oauth-protected-resource/mcp",
    ] {
        assert!(
            paths.iter().any(|p| p == expected),
            "{expected} in {paths:?}"
        );
    }
    assert!(!paths.iter().any(|p| p == "/oauth/authorize"), "{paths:?}");
}

// ---- clients and codes, straight through the core ----

/// Registers a new public client of `provider` with [`REDIRECT`], the code and refresh
/// grants.
pub async fn public_client(provider: &TestProvider) -> Client {
    provider
        .register_client(NewClient::public(vec![REDIRECT.to_owned()]))
        .await
        .unwrap_or_else(|e| panic!("registering a public client: {e}"))
        .client
}

/// Registers a new confidential client of `provider` authenticating with `method`, with
/// [`REDIRECT`], the code and refresh grants; and its secret.
pub async fn confidential_client(provider: &TestProvider, method: AuthMethod) -> (Client, Secret) {
    let new = NewClient {
        auth_method: method,
        ..NewClient::confidential(
            vec![REDIRECT.to_owned()],
            vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        )
    };
    let registered = provider
        .register_client(new)
        .await
        .unwrap_or_else(|e| panic!("registering a confidential client: {e}"));
    let secret = registered
        .secret
        .unwrap_or_else(|| panic!("a confidential client without a secret"));
    (registered.client, secret)
}

/// Runs the usual PKCE authorization request of `client_id` (changed by `overrides`, see
/// [`authorization_pairs`]) through the core itself (`begin_authorization`, then
/// `complete_authorization` approving for `user`), no app involved; the code of the
/// redirect.
pub async fn obtain_code(
    provider: &TestProvider,
    client_id: &str,
    user: &str,
    overrides: &[(&str, &str)],
) -> String {
    let uri = format!("/authorize?{}", authorization_query(client_id, overrides));
    let request = Request::get(&uri)
        .body(Vec::new())
        .unwrap_or_else(|e| panic!("request to {uri}: {e}"));
    let pending = provider
        .begin_authorization(&request)
        .await
        .unwrap_or_else(|e| panic!("the authorization request is refused: {e}"));
    let redirect = provider
        .complete_authorization(pending, Decision::Approve(Approval::new(UserId::new(user))))
        .await
        .unwrap_or_else(|e| panic!("the approval fails: {e}"));
    let params = location_params(redirect.headers());
    params
        .get("code")
        .cloned()
        .unwrap_or_else(|| panic!("no code in the redirect: {params:?}"))
}

/// What the scenarios' API handlers answer for a validated access: `{user} {client}
/// {scope}` (user id, or `-` when the token has none).
#[must_use]
pub fn describe_access(access: &Access) -> String {
    format!(
        "{} {} {}",
        access.user_id.as_ref().map_or("-", |user| user.as_str()),
        access.client_id,
        access.scope
    )
}

/// The HTML of the host app's consent page (see the crate docs):
/// `client={client_id} scope={scope}`.
#[must_use]
pub fn consent_html(pending: &PendingAuthorization) -> String {
    format!("client={} scope={}", pending.client_id(), pending.scope())
}

/// Who is logged in at the host app's `/authorize` and what they decide, from the values
/// of the request headers [`USER_HEADER`] and [`DECISION_HEADER`](crate::DECISION_HEADER) (see the crate docs):
/// `None` without a user; else the user, who denies when the decision is `deny` and
/// approves otherwise.
#[must_use]
pub fn host_decision(user: Option<&str>, decision: Option<&str>) -> Option<(UserId, Decision)> {
    let user = UserId::new(user?);
    let decision = if decision == Some("deny") {
        Decision::Deny
    } else {
        Decision::Approve(Approval::new(user.clone()))
    };
    Some((user, decision))
}

// ---- the scene: a provider and the host app a glue built for it ----

/// A provider and the host app the glue under test built for it.
pub struct Scene {
    /// The provider behind the app (for setup: registering clients).
    pub provider: TestProvider,
    app: Box<dyn App>,
}

impl std::fmt::Debug for Scene {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scene")
            .field("provider", &self.provider)
            .finish_non_exhaustive()
    }
}

impl Scene {
    /// The host app of the usual [`provider`], open to any origin.
    pub async fn new(glue: &dyn Glue) -> Scene {
        Scene::of(glue, provider()).await
    }

    /// The host app of `provider`, open to any origin.
    pub async fn of(glue: &dyn Glue, provider: TestProvider) -> Scene {
        Scene::with_cors(glue, provider, Cors::AnyOrigin).await
    }

    /// The host app of `provider` with the CORS policy `cors`; `/files/api` is mounted
    /// when the provider serves [`OTHER_RESOURCE`].
    pub async fn with_cors(glue: &dyn Glue, provider: TestProvider, cors: Cors) -> Scene {
        let other_resource = provider
            .config()
            .resources()
            .iter()
            .any(|resource| resource.as_str() == OTHER_RESOURCE);
        let app = glue
            .app(AppSpec {
                provider: Arc::clone(&provider),
                cors,
                other_resource,
            })
            .await;
        Scene { provider, app }
    }

    /// Sends `request` through the host app.
    pub async fn send(&self, request: Request<Bytes>) -> Reply {
        let what = format!("{} {}", request.method(), request.uri());
        Reply::new(what, self.app.send(request).await)
    }

    /// A new public client with [`REDIRECT`], the code and refresh grants.
    pub async fn public_client(&self) -> Client {
        public_client(&self.provider).await
    }

    /// A new confidential client authenticating with `method`, with [`REDIRECT`], the
    /// code and refresh grants; and its secret.
    pub async fn confidential_client(&self, method: AuthMethod) -> (Client, Secret) {
        confidential_client(&self.provider, method).await
    }

    /// A new public client and a code for `alice` of the usual request (through the
    /// app, see [`Scene::code`]).
    pub async fn public_client_with_code(&self) -> (Client, String) {
        let client = self.public_client().await;
        let code = self.code(client.id.as_str(), "alice", &[]).await;
        (client, code)
    }

    /// A new confidential client authenticating with `method`, its secret, and a code for
    /// `alice` of the usual request (through the app, see [`Scene::code`]).
    pub async fn confidential_client_with_code(
        &self,
        method: AuthMethod,
    ) -> (Client, Secret, String) {
        let (client, secret) = self.confidential_client(method).await;
        let code = self.code(client.id.as_str(), "alice", &[]).await;
        (client, secret, code)
    }

    /// Approves the usual PKCE authorization request of `client_id` (changed by
    /// `overrides`, see [`authorization_pairs`]) as `user`, through the app's
    /// `GET /authorize` with [`USER_HEADER`], and returns the code of the redirect.
    pub async fn code(&self, client_id: &str, user: &str, overrides: &[(&str, &str)]) -> String {
        let query = authorization_query(client_id, overrides);
        let reply = self
            .send(authorize_get(&query).with_header(USER_HEADER, user))
            .await;
        reply.assert_status(StatusCode::SEE_OTHER);
        let params = reply.location_params();
        params
            .get("code")
            .cloned()
            .unwrap_or_else(|| panic!("no code in the redirect: {params:?}"))
    }

    /// Sends a form POST of `pairs` to `uri` with `Authorization: Basic` of `client_id`
    /// and a wrong secret.
    pub async fn send_with_wrong_basic(
        &self,
        uri: &str,
        pairs: &[(&str, &str)],
        client_id: &str,
    ) -> Reply {
        let request =
            form_post(uri, pairs).with_header("authorization", &basic(client_id, "wrong"));
        self.send(request).await
    }

    /// Redeems `code` of the public client `client_id` at `/token`; the token response.
    pub async fn redeem(&self, client_id: &str, code: &str) -> Value {
        let reply = self.send(code_redemption(client_id, code)).await;
        reply.assert_status(StatusCode::OK);
        reply.json()
    }

    /// The whole code flow for a new public client, through the app: (client, token
    /// response).
    pub async fn tokens(&self, user: &str, overrides: &[(&str, &str)]) -> (Client, Value) {
        let client = self.public_client().await;
        let code = self.code(client.id.as_str(), user, overrides).await;
        let tokens = self.redeem(client.id.as_str(), &code).await;
        (client, tokens)
    }

    /// An access token for `alice` with `scope`, from a new public client.
    pub async fn access_token(&self, scope: &str) -> (Client, String) {
        let (client, tokens) = self.tokens("alice", &[("scope", scope)]).await;
        (client, string_field(&tokens, "access_token"))
    }
}

/// The string member `name` of a JSON object; panics with the object when absent.
#[must_use]
pub fn string_field(json: &Value, name: &str) -> String {
    json[name]
        .as_str()
        .unwrap_or_else(|| panic!("no string {name} in {json}"))
        .to_owned()
}

// ---- requests ----

/// Adds headers to a request, as a builder would.
pub trait RequestExt: Sized {
    /// The request with the header `name: value` appended.
    #[must_use]
    fn with_header(self, name: &'static str, value: &str) -> Self;
}

impl RequestExt for Request<Bytes> {
    fn with_header(mut self, name: &'static str, value: &str) -> Self {
        let value = HeaderValue::from_str(value)
            .unwrap_or_else(|e| panic!("header {name}: {value:?} is not a header value: {e}"));
        self.headers_mut().append(name, value);
        self
    }
}

/// A request with `method` to `uri` (origin-form), no body.
#[must_use]
pub fn empty(method: Method, uri: &str) -> Request<Bytes> {
    Request::builder()
        .method(method)
        .uri(uri)
        .body(Bytes::new())
        .unwrap_or_else(|e| panic!("request to {uri}: {e}"))
}

/// `GET uri`, no body.
#[must_use]
pub fn get(uri: &str) -> Request<Bytes> {
    empty(Method::GET, uri)
}

/// A POST to `uri` with `body`, `Content-Type: content_type` when given, and
/// `Content-Length` (as clients send a body of known length).
#[must_use]
pub fn post(uri: &str, content_type: Option<&str>, body: impl Into<Bytes>) -> Request<Bytes> {
    let body = body.into();
    let mut request =
        empty(Method::POST, uri).with_header("content-length", &body.len().to_string());
    if let Some(content_type) = content_type {
        request = request.with_header("content-type", content_type);
    }
    *request.body_mut() = body;
    request
}

/// The same request without its `Content-Length`: a body of unknown length, as a chunked
/// request has.
#[must_use]
pub fn without_content_length(mut request: Request<Bytes>) -> Request<Bytes> {
    request.headers_mut().remove("content-length");
    request
}

/// `application/x-www-form-urlencoded` serialization of `pairs`.
#[must_use]
pub fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// A form POST of `pairs` to `uri`.
#[must_use]
pub fn form_post(uri: &str, pairs: &[(&str, &str)]) -> Request<Bytes> {
    post(uri, Some(FORM), form(pairs))
}

/// A JSON POST of `json` to `uri`.
#[must_use]
pub fn json_post(uri: &str, json: &Value) -> Request<Bytes> {
    post(uri, Some("application/json"), json.to_string())
}

/// `GET uri` with `Authorization: Bearer token`.
#[must_use]
pub fn bearer_get(uri: &str, token: &str) -> Request<Bytes> {
    get(uri).with_header("authorization", &format!("Bearer {token}"))
}

/// `Authorization: Basic` of a client whose id and secret need no form encoding.
#[must_use]
pub fn basic(client_id: &str, secret: &str) -> String {
    use base64::Engine as _;
    let credentials =
        base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{secret}"));
    format!("Basic {credentials}")
}

/// A CORS preflight of a `POST` with `Authorization` and `Content-Type` from `origin`.
#[must_use]
pub fn preflight(uri: &str, origin: &str) -> Request<Bytes> {
    empty(Method::OPTIONS, uri)
        .with_header("origin", origin)
        .with_header("access-control-request-method", "POST")
        .with_header(
            "access-control-request-headers",
            "authorization, content-type",
        )
}

/// The pairs of a valid PKCE authorization request of `client_id` (`response_type=code`,
/// [`REDIRECT`], `state=xyz`, the S256 challenge of [`VERIFIER`]), with `overrides`
/// replacing or adding pairs (an empty value removes the pair).
#[must_use]
pub fn authorization_pairs(client_id: &str, overrides: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = vec![
        ("response_type".into(), "code".into()),
        ("client_id".into(), client_id.into()),
        ("redirect_uri".into(), REDIRECT.into()),
        ("state".into(), "xyz".into()),
        ("code_challenge".into(), CHALLENGE.into()),
        ("code_challenge_method".into(), "S256".into()),
    ];
    for (name, value) in overrides {
        pairs.retain(|(n, _)| n != name);
        if !value.is_empty() {
            pairs.push(((*name).into(), (*value).into()));
        }
    }
    pairs
}

/// The form-encoded authorization request of [`authorization_pairs`].
#[must_use]
pub fn authorization_query(client_id: &str, overrides: &[(&str, &str)]) -> String {
    let pairs = authorization_pairs(client_id, overrides);
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter().map(|(a, b)| (a.as_str(), b.as_str())))
        .finish()
}

/// `GET /authorize?{query}`.
#[must_use]
pub fn authorize_get(query: &str) -> Request<Bytes> {
    get(&format!("/authorize?{query}"))
}

/// `POST /authorize` with the form `body`.
#[must_use]
pub fn authorize_post(body: impl Into<Bytes>) -> Request<Bytes> {
    post("/authorize", Some(FORM), body)
}

/// The form pairs that redeem `code` for the public client `client_id` with
/// [`VERIFIER`].
#[must_use]
pub fn redemption_pairs<'a>(client_id: &'a str, code: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("client_id", client_id),
        ("code_verifier", VERIFIER),
    ]
}

/// The token request that redeems `code` for the public client `client_id`.
#[must_use]
pub fn code_redemption(client_id: &str, code: &str) -> Request<Bytes> {
    form_post("/token", &redemption_pairs(client_id, code))
}

/// The token request that refreshes `refresh_token` for the public client `client_id`.
#[must_use]
pub fn refresh(client_id: &str, refresh_token: &str) -> Request<Bytes> {
    form_post(
        "/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", client_id),
        ],
    )
}

// ---- responses ----

/// A response of the host app, with what it answered (`GET /token`) for messages.
#[derive(Debug)]
pub struct Reply {
    /// The request line, for failure messages.
    pub what: String,
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

impl Reply {
    /// Takes `response` apart.
    #[must_use]
    pub fn new(what: String, response: Response<Bytes>) -> Reply {
        let (parts, body) = response.into_parts();
        Reply {
            what,
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }

    /// The body as text (lossy), for messages and text bodies.
    #[must_use]
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics when it is not.
    #[must_use]
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{}: {} with a body that is not JSON ({e}): {:?}",
                self.what,
                self.status,
                self.text()
            )
        })
    }

    /// Panics unless the status is `expected`.
    #[track_caller]
    pub fn assert_status(&self, expected: StatusCode) -> &Reply {
        assert_eq!(
            self.status,
            expected,
            "{}: headers {:?}, body {:?}",
            self.what,
            self.headers,
            self.text()
        );
        self
    }

    /// The header `name` as a string; panics when it is absent (or repeated).
    #[track_caller]
    #[must_use]
    pub fn header(&self, name: &str) -> &str {
        header_of(&self.headers, name, &self.what)
    }

    /// Whether the header `name` is present.
    #[must_use]
    pub fn has(&self, name: &str) -> bool {
        self.headers.contains_key(name)
    }

    /// Panics if the header `name` is present.
    #[track_caller]
    pub fn assert_absent(&self, name: &str) -> &Reply {
        assert!(
            !self.has(name),
            "{}: unexpected {name} in {:?}",
            self.what,
            self.headers
        );
        self
    }

    /// Every comma-separated value of every `name` header, trimmed and lowercased.
    #[must_use]
    pub fn list(&self, name: &str) -> Vec<String> {
        header_list(&self.headers, name)
    }

    /// Panics unless the list header `name` has the (lowercase) element `value`.
    #[track_caller]
    pub fn assert_lists(&self, name: &str, value: &str) -> &Reply {
        let list = self.list(name);
        assert!(
            list.iter().any(|v| v == value),
            "{}: {value} not in {name} {list:?}; headers {:?}",
            self.what,
            self.headers
        );
        self
    }

    /// The decoded query parameters of the `Location` header.
    #[track_caller]
    #[must_use]
    pub fn location_params(&self) -> HashMap<String, String> {
        query_params(self.header("location"))
    }

    /// The JSON error of an OAuth endpoint: `status`, `application/json`,
    /// `Cache-Control: no-store`, `Pragma: no-cache`, `error` = `code`, a description, no
    /// token. Returns the body.
    #[track_caller]
    pub fn assert_oauth_error(&self, status: StatusCode, code: &str) -> Value {
        self.assert_status(status);
        assert_eq!(
            self.header("content-type"),
            "application/json",
            "{}",
            self.what
        );
        self.assert_no_store();
        let body = self.json();
        assert_eq!(body["error"], code, "{}: {body}", self.what);
        assert!(
            body["error_description"].is_string(),
            "{}: {body}",
            self.what
        );
        for key in ["access_token", "refresh_token", "active"] {
            assert!(body.get(key).is_none(), "{}: {key} in {body}", self.what);
        }
        body
    }

    /// `Cache-Control: no-store` and `Pragma: no-cache` (OAuth 2.1 §3.2.3).
    #[track_caller]
    pub fn assert_no_store(&self) -> &Reply {
        assert_eq!(self.header("cache-control"), "no-store", "{}", self.what);
        assert_eq!(self.header("pragma"), "no-cache", "{}", self.what);
        self
    }

    /// The headers of every page of the authorization UI (see
    /// [`assert_page_security_headers`]).
    #[track_caller]
    pub fn assert_page_security_headers(&self) -> &Reply {
        page_security_headers(&self.headers, &self.what);
        self
    }

    /// The core's authorization error page: 400, never a `Location`, plain text naming
    /// `code`, the page security headers.
    #[track_caller]
    pub fn assert_error_page(&self, code: &str) -> &Reply {
        self.assert_status(StatusCode::BAD_REQUEST);
        self.assert_absent("location");
        self.assert_page_security_headers();
        assert_eq!(
            self.header("content-type"),
            "text/plain; charset=utf-8",
            "{}",
            self.what
        );
        let text = self.text();
        assert!(text.contains(&format!("({code})")), "{}: {text}", self.what);
        self
    }

    /// A redirect to [`REDIRECT`] with `status`, no body, `no-referrer` and `no-store`;
    /// its query parameters.
    #[track_caller]
    #[must_use]
    pub fn assert_client_redirect(&self, status: StatusCode) -> HashMap<String, String> {
        self.assert_status(status);
        assert!(self.body.is_empty(), "{}: {:?}", self.what, self.text());
        let location = self.header("location");
        assert!(
            location.starts_with(&format!("{REDIRECT}?")),
            "{}: {location}",
            self.what
        );
        assert_eq!(
            self.header("referrer-policy"),
            "no-referrer",
            "{}",
            self.what
        );
        self.assert_no_store();
        self.location_params()
    }

    /// A bearer refusal: `status`, an empty body, and the challenge of
    /// [`assert_bearer_challenge`]; the challenge's parameters.
    #[track_caller]
    #[must_use]
    pub fn assert_bearer_refusal(
        &self,
        status: StatusCode,
        resource_metadata: &str,
    ) -> HashMap<String, String> {
        self.assert_status(status);
        assert!(self.body.is_empty(), "{}: {:?}", self.what, self.text());
        bearer_challenge(&self.headers, resource_metadata, &self.what)
    }

    /// A refused client authentication without a credential to challenge (none, or one in
    /// the form body): 400 `invalid_client` and no `WWW-Authenticate` (OAuth 2.1 §3.2.4).
    #[track_caller]
    pub fn assert_invalid_client_without_challenge(&self) -> &Reply {
        self.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_client");
        self.assert_absent("www-authenticate")
    }

    /// Refused `Authorization: Basic` credentials: 401 `invalid_client` with the challenge
    /// `Basic realm="{ISSUER}"` (OAuth 2.1 §3.2.4).
    #[track_caller]
    pub fn assert_basic_challenge(&self) -> &Reply {
        self.assert_oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
        assert_eq!(
            self.header("www-authenticate"),
            format!("Basic realm=\"{ISSUER}\""),
            "{}",
            self.what
        );
        self
    }

    /// The framework's 404 of a path that is not served: empty body, no caching
    /// directives (it is no protocol response).
    #[track_caller]
    pub fn assert_not_served(&self) -> &Reply {
        self.assert_status(StatusCode::NOT_FOUND);
        assert!(self.body.is_empty(), "{}: {:?}", self.what, self.text());
        self.assert_absent("cache-control");
        self
    }

    /// Panics if any `Access-Control-*` header is present.
    #[track_caller]
    pub fn assert_no_cors(&self) -> &Reply {
        for (name, _) in &self.headers {
            assert!(
                !name.as_str().starts_with("access-control-"),
                "{}: {name} in {:?}",
                self.what,
                self.headers
            );
        }
        self
    }
}

// ---- headers, whatever answered them ----

/// A response body as JSON, `Null` when it is empty; panics (naming `status`) when it
/// is not JSON.
#[track_caller]
#[must_use]
pub fn json_or_null(status: &str, body: &[u8]) -> Value {
    if body.is_empty() {
        return Value::Null;
    }
    serde_json::from_slice(body).unwrap_or_else(|e| {
        panic!(
            "{status}: not JSON ({e}): {:?}",
            String::from_utf8_lossy(body)
        )
    })
}

/// The header `name` of `headers` as a string; `what` names the response in messages.
#[track_caller]
fn header_of<'a>(headers: &'a HeaderMap, name: &str, what: &str) -> &'a str {
    let mut values = headers.get_all(name).iter();
    let value = values
        .next()
        .unwrap_or_else(|| panic!("{what}: no {name} in {headers:?}"));
    assert!(
        values.next().is_none(),
        "{what}: {name} repeated in {headers:?}"
    );
    value
        .to_str()
        .unwrap_or_else(|e| panic!("{what}: {name} is not visible ASCII: {e}"))
}

/// The header `name` as a string; panics (with the headers) when it is absent, repeated
/// or not visible ASCII.
#[track_caller]
#[must_use]
pub fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    header_of(headers, name, "response")
}

/// Every comma-separated value of every `name` header, trimmed and lowercased; panics
/// when one is not visible ASCII.
#[track_caller]
#[must_use]
pub fn header_list(headers: &HeaderMap, name: &str) -> Vec<String> {
    headers
        .get_all(name)
        .iter()
        .map(|v| {
            v.to_str()
                .unwrap_or_else(|e| panic!("{name} is not visible ASCII: {e}"))
        })
        .flat_map(|v| v.split(','))
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| !v.is_empty())
        .collect()
}

/// The decoded query parameters of the absolute URL `url`.
#[track_caller]
#[must_use]
pub fn query_params(url: &str) -> HashMap<String, String> {
    url::Url::parse(url)
        .unwrap_or_else(|e| panic!("{url} is no URL: {e}"))
        .query_pairs()
        .into_owned()
        .collect()
}

/// The decoded query parameters of the `Location` of a redirect.
#[track_caller]
#[must_use]
pub fn location_params(headers: &HeaderMap) -> HashMap<String, String> {
    query_params(header(headers, "location"))
}

/// See [`assert_page_security_headers`]; `what` names the response in messages.
#[track_caller]
fn page_security_headers(headers: &HeaderMap, what: &str) {
    let header = |name| header_of(headers, name, what);
    assert_eq!(header("x-frame-options"), "DENY", "{what}");
    let csp = header("content-security-policy");
    for directive in [
        "default-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    ] {
        assert!(csp.contains(directive), "{what}: {directive} not in {csp}");
    }
    assert_eq!(header("referrer-policy"), "no-referrer", "{what}");
    assert_eq!(header("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(header("cache-control"), "no-store", "{what}");
}

/// The headers of every page of the authorization UI: no framing, no referrer, no
/// third-party resources, no form target but the page's own origin (and the client's,
/// on a consent page), `nosniff`, `no-store`.
#[track_caller]
pub fn assert_page_security_headers(headers: &HeaderMap) {
    page_security_headers(headers, "page");
}

/// See [`assert_bearer_challenge`]; `what` names the response in messages.
#[track_caller]
fn bearer_challenge(
    headers: &HeaderMap,
    resource_metadata: &str,
    what: &str,
) -> HashMap<String, String> {
    assert_eq!(
        header_of(headers, "cache-control", what),
        "no-store",
        "{what}"
    );
    let params = challenge_params(header_of(headers, "www-authenticate", what));
    assert_eq!(
        params.get("realm").map(String::as_str),
        Some(ISSUER),
        "{what}: {params:?}"
    );
    assert_eq!(
        params.get("resource_metadata").map(String::as_str),
        Some(resource_metadata),
        "{what}: {params:?}"
    );
    params
}

/// A bearer refusal's headers (RFC 6750 §3, RFC 9728 §5.1): `Cache-Control: no-store`
/// and a `Bearer` challenge with the realm [`ISSUER`] and `resource_metadata`; the
/// challenge's parameters.
#[track_caller]
pub fn assert_bearer_challenge(
    headers: &HeaderMap,
    resource_metadata: &str,
) -> HashMap<String, String> {
    bearer_challenge(headers, resource_metadata, "response")
}

/// The parameters of a `Bearer` challenge, by name (`realm="x", error="y"`).
#[must_use]
pub fn challenge_params(challenge: &str) -> HashMap<String, String> {
    let rest = challenge
        .strip_prefix("Bearer ")
        .unwrap_or_else(|| panic!("not a Bearer challenge: {challenge}"));
    rest.split(", ")
        .map(|param| {
            let (name, value) = param
                .split_once('=')
                .unwrap_or_else(|| panic!("{param} in {challenge} is not name=value"));
            (name.to_owned(), value.trim_matches('"').to_owned())
        })
        .collect()
}

// ---- the README ----

/// Panics unless `readme` contains the part of `example` (a glue's example source)
/// between its lines `// README: begin` and `// README: end`, verbatim, and unless the
/// wiring in it (from `wiring_start`, e.g. `async fn app`, to the end of the snippet)
/// stays within 15 lines of code, comments and blank lines not counted.
#[track_caller]
pub fn assert_readme_shows_example(example: &str, readme: &str, wiring_start: &str) {
    const BEGIN: &str = "// README: begin\n";
    let begin = example
        .find(BEGIN)
        .unwrap_or_else(|| panic!("no {BEGIN:?} marker in the example"))
        + BEGIN.len();
    let end = example
        .find("// README: end")
        .unwrap_or_else(|| panic!("no `// README: end` marker in the example"));
    let snippet = &example[begin..end];
    assert!(
        readme.contains(snippet),
        "README.md must contain the example between its markers:\n{snippet}"
    );
    let wiring = &snippet[snippet
        .find(wiring_start)
        .unwrap_or_else(|| panic!("no {wiring_start:?} in the snippet"))..];
    let code = wiring
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with("//"))
        .count();
    assert!(code <= 15, "the integration grew to {code} lines");
}
