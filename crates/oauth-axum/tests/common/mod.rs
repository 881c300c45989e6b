//! Shared harness of the glue tests: a provider on the memory store with a fixed clock,
//! requests as clients send them, responses taken apart, and request bodies that count
//! how much of them the glue reads.
#![allow(
    dead_code,
    reason = "each test file uses a different part of the harness"
)]

use std::collections::{HashMap, VecDeque};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::response::Response;
use axum::Router;
use http::{HeaderMap, Request, StatusCode};
use http_body::{Frame, SizeHint};
use oauth_axum::ProtocolRouter;
use oauth_core::model::{Client, GrantType, UserId};
use oauth_core::{
    Approval, Clock, Decision, Issuer, KeyId, Keyring, NewClient, Provider, ProviderBuilder,
    Secret, UnixTime,
};
use oauth_store_memory::MemoryStore;
use serde_json::Value;
use tower::ServiceExt as _;

pub(crate) type TestProvider = Arc<Provider<MemoryStore>>;

pub(crate) const ISSUER: &str = "https://as.example";
pub(crate) const RESOURCE: &str = "https://api.example/mcp";
/// A second protected resource, on another origin, for audience tests.
pub(crate) const OTHER_RESOURCE: &str = "https://files.example/api";
pub(crate) const REDIRECT: &str = "https://client.example/cb";
/// RFC 7636 Appendix B.
pub(crate) const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub(crate) const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
pub(crate) const START: u64 = 1_800_000_000;
/// The core's default body limit (`ConfigBuilder::max_body_bytes`).
pub(crate) const DEFAULT_MAX_BODY: usize = 16 * 1024;
/// The protected resource metadata URL of `RESOURCE` (RFC 9728 §3.1).
pub(crate) const RESOURCE_METADATA: &str =
    "https://api.example/.well-known/oauth-protected-resource/mcp";
pub(crate) const FORM: &str = "application/x-www-form-urlencoded";

/// A clock that stands still.
#[derive(Debug)]
struct FixedClock(AtomicU64);

impl Clock for FixedClock {
    fn now(&self) -> UnixTime {
        UnixTime(self.0.load(Ordering::SeqCst))
    }
}

fn test_keyring() -> Keyring {
    // Test-only key material, generated per run.
    let mut secret = [0u8; 32];
    oauth_core::SecureRandom::fill(&oauth_core::OsRandom, &mut secret).unwrap();
    Keyring::from_secret(KeyId::new("test").unwrap(), &secret).unwrap()
}

/// The usual provider: scopes `read write admin` (default `read`), one resource
/// (`RESOURCE`), the fixed clock, the memory store.
pub(crate) fn provider() -> TestProvider {
    provider_with(|b| b)
}

/// The usual provider, adjusted by `configure`.
pub(crate) fn provider_with(
    configure: impl FnOnce(ProviderBuilder<MemoryStore>) -> ProviderBuilder<MemoryStore>,
) -> TestProvider {
    provider_for_issuer(ISSUER, configure)
}

/// The usual provider for another issuer, adjusted by `configure`.
pub(crate) fn provider_for_issuer(
    issuer: &str,
    configure: impl FnOnce(ProviderBuilder<MemoryStore>) -> ProviderBuilder<MemoryStore>,
) -> TestProvider {
    let builder = Provider::builder(Issuer::new(issuer).unwrap())
        .keys(test_keyring())
        .scopes(["read", "write", "admin"])
        .default_scope(["read"])
        .resource(RESOURCE)
        .clock(Arc::new(FixedClock(AtomicU64::new(START))))
        .store(MemoryStore::new());
    Arc::new(configure(builder).build().unwrap())
}

/// A provider with two resources: `RESOURCE` and `OTHER_RESOURCE`.
pub(crate) fn two_resource_provider() -> TestProvider {
    provider_with(|b| b.resource(OTHER_RESOURCE))
}

/// A provider with open dynamic registration at `/register`.
pub(crate) fn registration_provider() -> TestProvider {
    provider_with(|b| {
        b.endpoints(oauth_core::Endpoints {
            registration: Some("/register".into()),
            ..Default::default()
        })
        .registration(oauth_core::RegistrationPolicy::open())
    })
}

/// The protocol router of `provider`, with the default CORS policy.
pub(crate) fn protocol(provider: &TestProvider) -> Router {
    ProtocolRouter::new(Arc::clone(provider)).build()
}

/// Sends one request through `router`.
pub(crate) async fn send(router: Router, request: Request<Body>) -> Response {
    router.oneshot(request).await.unwrap()
}

/// A response taken apart: status, headers, whole body.
pub(crate) async fn parts(response: Response) -> (StatusCode, HeaderMap, Bytes) {
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    (parts.status, parts.headers, bytes)
}

/// A response taken apart with a JSON body (`Null` when the body is empty).
pub(crate) async fn json_parts(response: Response) -> (StatusCode, HeaderMap, Value) {
    let (status, headers, bytes) = parts(response).await;
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("{status}: not JSON ({e}): {bytes:?}"))
    };
    (status, headers, body)
}

/// A response taken apart with a UTF-8 body.
pub(crate) async fn text_parts(response: Response) -> (StatusCode, HeaderMap, String) {
    let (status, headers, bytes) = parts(response).await;
    (status, headers, String::from_utf8(bytes.to_vec()).unwrap())
}

/// One header as a string; panics with the headers when absent.
pub(crate) fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} in {headers:?}"))
        .to_str()
        .unwrap()
}

/// `application/x-www-form-urlencoded` serialization.
pub(crate) fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

/// A form POST to `path`, as a client sends it (origin-form URI, as hyper delivers it).
pub(crate) fn form_post(path: &str, pairs: &[(&str, &str)]) -> Request<Body> {
    Request::post(path)
        .header("content-type", FORM)
        .body(Body::from(form(pairs)))
        .unwrap()
}

/// A request with `method` to `uri`, no body.
pub(crate) fn empty(method: http::Method, uri: &str) -> Request<Body> {
    Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::empty())
        .unwrap()
}

/// `GET uri` with `Authorization: Bearer token`.
pub(crate) fn bearer_get(uri: &str, token: &str) -> Request<Body> {
    Request::get(uri)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

/// `Authorization: Basic` for a client whose id and secret need no form encoding.
pub(crate) fn basic(client_id: &str, secret: &str) -> String {
    use base64::Engine as _;
    let credentials =
        base64::engine::general_purpose::STANDARD.encode(format!("{client_id}:{secret}"));
    format!("Basic {credentials}")
}

/// The usual pairs of a valid PKCE authorization request for `client_id`, with
/// `overrides` replacing or adding pairs (an empty value removes the pair).
pub(crate) fn authorization_pairs(
    client_id: &str,
    overrides: &[(&str, &str)],
) -> Vec<(String, String)> {
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

/// The query of an authorization request (see [`authorization_pairs`]).
pub(crate) fn authorization_query(client_id: &str, overrides: &[(&str, &str)]) -> String {
    let pairs = authorization_pairs(client_id, overrides);
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter().map(|(a, b)| (a.as_str(), b.as_str())))
        .finish()
}

/// A public client with `REDIRECT`, authorization code and refresh.
pub(crate) async fn public_client(provider: &TestProvider) -> Client {
    provider
        .register_client(NewClient::public(vec![REDIRECT.to_owned()]))
        .await
        .unwrap()
        .client
}

/// A confidential `client_secret_basic` client with the code and refresh grants.
pub(crate) async fn confidential_client(provider: &TestProvider) -> (Client, Secret) {
    let registered = provider
        .register_client(NewClient::confidential(
            vec![REDIRECT.to_owned()],
            vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        ))
        .await
        .unwrap();
    (registered.client, registered.secret.unwrap())
}

/// Runs the authorization endpoint through the core (as quickstart.rs does) with the usual
/// PKCE request changed by `overrides`, approves it for `user` and returns the code.
pub(crate) async fn obtain_code(
    provider: &TestProvider,
    client_id: &str,
    user: &str,
    overrides: &[(&str, &str)],
) -> String {
    let request = Request::get(format!(
        "/authorize?{}",
        authorization_query(client_id, overrides)
    ))
    .body(Vec::new())
    .unwrap();
    let pending = provider.begin_authorization(&request).await.unwrap();
    let redirect = provider
        .complete_authorization(pending, Decision::Approve(Approval::new(UserId::new(user))))
        .await
        .unwrap();
    location_params(redirect.headers())["code"].clone()
}

/// The decoded query parameters of a redirect's `Location`.
pub(crate) fn location_params(headers: &HeaderMap) -> HashMap<String, String> {
    let url = url::Url::parse(header(headers, "location")).unwrap();
    url.query_pairs().into_owned().collect()
}

/// The token request that redeems `code` for the public client `client_id`.
pub(crate) fn code_redemption(client_id: &str, code: &str) -> Request<Body> {
    form_post(
        "/token",
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("client_id", client_id),
            ("code_verifier", VERIFIER),
        ],
    )
}

/// The full flow for a new public client, the code redeemed through the protocol router:
/// (client, token response body).
pub(crate) async fn tokens_via_router(
    provider: &TestProvider,
    user: &str,
    overrides: &[(&str, &str)],
) -> (Client, Value) {
    let client = public_client(provider).await;
    let code = obtain_code(provider, client.id.as_str(), user, overrides).await;
    let response = send(
        protocol(provider),
        code_redemption(client.id.as_str(), &code),
    )
    .await;
    let (status, _, body) = json_parts(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (client, body)
}

/// An access token for `alice` with `scope`, from a new public client.
pub(crate) async fn access_token(provider: &TestProvider, scope: &str) -> (Client, String) {
    let (client, body) = tokens_via_router(provider, "alice", &[("scope", scope)]).await;
    (client, body["access_token"].as_str().unwrap().to_owned())
}

/// The parameters of a `Bearer` challenge, by name.
pub(crate) fn challenge_params(challenge: &str) -> HashMap<String, String> {
    let rest = challenge
        .strip_prefix("Bearer ")
        .unwrap_or_else(|| panic!("not a Bearer challenge: {challenge}"));
    rest.split(", ")
        .map(|param| {
            let (name, value) = param.split_once('=').unwrap();
            (name.to_owned(), value.trim_matches('"').to_owned())
        })
        .collect()
}

// ---- bodies that count what the glue pulls ----

/// A request body of `chunks` frames of `chunk` each, that counts how many frames were
/// pulled, optionally announcing an exact (possibly false) size and failing after some
/// frames.
pub(crate) struct CountingBody {
    frames: VecDeque<Result<Bytes, std::io::Error>>,
    repeat: Option<(Bytes, usize)>,
    pulled: Arc<AtomicUsize>,
    exact_size: Option<u64>,
}

impl CountingBody {
    /// `count` frames of `chunk`.
    pub(crate) fn repeat(chunk: Bytes, count: usize) -> (Self, Arc<AtomicUsize>) {
        let pulled = Arc::new(AtomicUsize::new(0));
        let body = CountingBody {
            frames: VecDeque::new(),
            repeat: Some((chunk, count)),
            pulled: Arc::clone(&pulled),
            exact_size: None,
        };
        (body, pulled)
    }

    /// These frames, in order (an `Err` is a failure of the stream).
    pub(crate) fn frames(frames: Vec<Result<Bytes, std::io::Error>>) -> (Self, Arc<AtomicUsize>) {
        let pulled = Arc::new(AtomicUsize::new(0));
        let body = CountingBody {
            frames: frames.into(),
            repeat: None,
            pulled: Arc::clone(&pulled),
            exact_size: None,
        };
        (body, pulled)
    }

    /// Announces an exact size of `bytes` (`size_hint`), true or not.
    pub(crate) fn claiming(mut self, bytes: u64) -> Self {
        self.exact_size = Some(bytes);
        self
    }
}

impl http_body::Body for CountingBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let this = self.get_mut();
        let next = match &mut this.repeat {
            Some((chunk, remaining)) if *remaining > 0 => {
                *remaining -= 1;
                Some(Ok(chunk.clone()))
            }
            Some(_) => None,
            None => this.frames.pop_front(),
        };
        if next.is_some() {
            this.pulled.fetch_add(1, Ordering::SeqCst);
        }
        Poll::Ready(next.map(|frame| frame.map(Frame::data)))
    }

    fn size_hint(&self) -> SizeHint {
        match self.exact_size {
            Some(bytes) => SizeHint::with_exact(bytes),
            None => SizeHint::default(),
        }
    }
}

/// Frames pulled so far.
pub(crate) fn pulled(counter: &AtomicUsize) -> usize {
    counter.load(Ordering::SeqCst)
}
