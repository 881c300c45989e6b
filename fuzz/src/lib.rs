//! The harness shared by the fuzz targets: one provider on the memory store, built once
//! per process, with a fixed clock, fixed keys and a seeded random source, so that a
//! crashing input reproduces exactly (the same client ids, the same sealed ticket).
//!
//! Everything here is deterministic test scaffolding; nothing of it belongs in a server.

use std::future::Future;
use std::sync::{Mutex, OnceLock};

use http::header::{CACHE_CONTROL, LOCATION, PRAGMA};
use http::Request;
use oauth_core::model::{ClientId, GrantType};
use oauth_core::registration::RegistrationPolicy;
use oauth_core::response::HttpResponse;
use oauth_core::{
    Clock, Endpoints, Issuer, KeyId, Keyring, NewClient, PendingAuthorization, Provider,
    RandomError, Secret, SecureRandom, Store, UnixTime,
};
use oauth_store_memory::MemoryStore;

/// The issuer of the fuzzed server.
pub const ISSUER: &str = "https://as.example";
/// The one resource it issues tokens for.
pub const RESOURCE: &str = "https://api.example/mcp";
/// The scopes it offers (`read` is the default).
pub const SCOPES: [&str; 2] = ["read", "write"];
/// The path of the registration endpoint (open dynamic registration).
pub const REGISTRATION_PATH: &str = "/register";
/// The body limit, small so that the fuzzer reaches the 413 paths with short inputs.
pub const MAX_BODY_BYTES: usize = 2048;
/// The fixed time of every request.
pub const NOW: UnixTime = UnixTime(1_800_000_000);

/// A public client with one https redirect URI (authorization code and refresh).
pub const PUBLIC_CLIENT: &str = "fuzz-public";
/// Its redirect URI.
pub const PUBLIC_REDIRECT: &str = "https://client.example/cb";
/// A public native client with a loopback redirect URI (the port may vary).
pub const NATIVE_CLIENT: &str = "fuzz-native";
/// Its redirect URI.
pub const NATIVE_REDIRECT: &str = "http://127.0.0.1/cb";
/// A confidential `client_secret_basic` client (authorization code and refresh only: no
/// grant it may use can succeed without a stored code or refresh token).
pub const CONFIDENTIAL_CLIENT: &str = "fuzz-confidential";
/// Its secret, known so that seeds can get past client authentication.
pub const CONFIDENTIAL_SECRET: &str = "fuzz-confidential-secret-0123456789abcdef";

/// RFC 7636 Appendix B.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
/// RFC 7636 Appendix B: `s256(VERIFIER)`.
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// The session binding the harness's ticket is sealed to.
pub const BINDING: &[u8] = b"fuzz-session-binding-0001";
/// Another session's binding (same length, one byte apart).
pub const OTHER_BINDING: &[u8] = b"fuzz-session-binding-0002";

/// The query of a valid authorization request of [`PUBLIC_CLIENT`] (also a seed).
pub const VALID_AUTHORIZATION_QUERY: &str = "response_type=code&client_id=fuzz-public\
    &redirect_uri=https%3A%2F%2Fclient.example%2Fcb&state=xyz&scope=read+write\
    &code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256";

/// A clock that never moves.
#[derive(Debug)]
pub struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> UnixTime {
        NOW
    }
}

/// A seeded source (SplitMix64): every run draws the same bytes in the same order. For
/// reproducible fuzzing only; never a source for a real server.
#[derive(Debug)]
pub struct SeededRandom(Mutex<u64>);

impl SeededRandom {
    /// A source starting at `seed`.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        SeededRandom(Mutex::new(seed))
    }
}

impl SecureRandom for SeededRandom {
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError> {
        let mut state = self.0.lock().map_err(|_| RandomError)?;
        for chunk in dest.chunks_mut(8) {
            *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = *state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
        }
        Ok(())
    }
}

/// The process's keyring: a fresh secret from the OS RNG, never a constant in the source.
/// Reproduction does not depend on it: tokens come from the seeded random source, and no
/// target's oracle depends on the bytes of a keyed hash or a ciphertext.
fn keyring() -> Keyring {
    static KEYRING: OnceLock<Keyring> = OnceLock::new();
    KEYRING
        .get_or_init(|| {
            let mut secret = [0u8; 32];
            oauth_core::OsRandom.fill(&mut secret).expect("OS random");
            Keyring::from_secret(KeyId::new("fuzz").expect("key id"), &secret).expect("keyring")
        })
        .clone()
}

/// The single-threaded runtime the targets run the provider's futures on.
pub fn block_on<F: Future>(future: F) -> F::Output {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("tokio runtime")
        })
        .block_on(future)
}

/// The provider: memory store, fixed clock, seeded random source, open dynamic
/// registration at [`REGISTRATION_PATH`], and the three clients above.
pub fn provider() -> &'static Provider<MemoryStore> {
    static PROVIDER: OnceLock<Provider<MemoryStore>> = OnceLock::new();
    PROVIDER.get_or_init(|| {
        let provider = Provider::builder(Issuer::new(ISSUER).expect("issuer"))
            .keys(keyring())
            .random(std::sync::Arc::new(SeededRandom::new(0x0a11_2026)))
            .clock(std::sync::Arc::new(FixedClock))
            .scopes(SCOPES)
            .default_scope(["read"])
            .resource(RESOURCE)
            .max_body_bytes(MAX_BODY_BYTES)
            .endpoints(Endpoints {
                registration: Some(REGISTRATION_PATH.to_owned()),
                ..Endpoints::default()
            })
            .registration(RegistrationPolicy::open())
            .store(MemoryStore::new())
            .build()
            .expect("provider");
        block_on(register_clients(&provider));
        provider
    })
}

async fn register_clients(provider: &Provider<MemoryStore>) {
    let mut public = NewClient::public(vec![PUBLIC_REDIRECT.to_owned()]);
    public.id = Some(ClientId::new(PUBLIC_CLIENT));
    public.name = Some("Fuzz public client".to_owned());
    provider
        .register_client(public)
        .await
        .expect("public client");

    let mut native = NewClient::public(vec![NATIVE_REDIRECT.to_owned()]);
    native.id = Some(ClientId::new(NATIVE_CLIENT));
    provider
        .register_client(native)
        .await
        .expect("native client");

    let mut confidential = NewClient::confidential(
        vec![PUBLIC_REDIRECT.to_owned()],
        vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
    );
    confidential.id = Some(ClientId::new(CONFIDENTIAL_CLIENT));
    let mut client = provider
        .register_client(confidential)
        .await
        .expect("confidential client")
        .client;
    // Replace the drawn secret by the known one (as a host importing a client would).
    client.secret = Some(keyring().digest_secret(&Secret::new(CONFIDENTIAL_SECRET)));
    provider
        .store()
        .put_client(&client)
        .await
        .expect("confidential client secret");
}

/// A GET authorization request with `query` (raw bytes after `?`); `None` when they do
/// not form a valid URI.
#[must_use]
pub fn authorization_request(query: &[u8]) -> Option<Request<Vec<u8>>> {
    let mut uri = format!("{ISSUER}/authorize?").into_bytes();
    uri.extend_from_slice(query);
    let uri = http::Uri::from_maybe_shared(bytes::Bytes::from(uri)).ok()?;
    Request::get(uri).body(Vec::new()).ok()
}

/// A valid pending authorization of [`PUBLIC_CLIENT`] (from [`VALID_AUTHORIZATION_QUERY`])
/// and its ticket sealed to [`BINDING`], made once per process.
pub fn sealed_ticket() -> &'static (PendingAuthorization, String) {
    static TICKET: OnceLock<(PendingAuthorization, String)> = OnceLock::new();
    TICKET.get_or_init(|| {
        let provider = provider();
        let request =
            authorization_request(VALID_AUTHORIZATION_QUERY.as_bytes()).expect("valid URI");
        let pending = block_on(provider.begin_authorization(&request))
            .expect("the harness's authorization request is valid");
        let ticket = provider
            .seal_ticket(&pending, BINDING)
            .expect("sealing a valid pending authorization");
        (pending, ticket)
    })
}

/// Asserts `Cache-Control: no-store` and `Pragma: no-cache` (OAuth 2.1 §3.2.3, §3.2.4).
pub fn assert_no_store(response: &HttpResponse, what: &str) {
    assert_eq!(
        response.headers().get(CACHE_CONTROL).map(|v| v.as_bytes()),
        Some(&b"no-store"[..]),
        "{what}: every response must carry Cache-Control: no-store ({response:?})"
    );
    assert_eq!(
        response.headers().get(PRAGMA).map(|v| v.as_bytes()),
        Some(&b"no-cache"[..]),
        "{what}: every response must carry Pragma: no-cache ({response:?})"
    );
}

/// Asserts that a response redirects nowhere.
pub fn assert_no_location(response: &HttpResponse, what: &str) {
    assert!(
        response.headers().get(LOCATION).is_none() && !response.status().is_redirection(),
        "{what}: must not redirect ({response:?})"
    );
}

/// Splits `data` at the first `separator`: `(before, Some(after))`, or `(data, None)`.
#[must_use]
pub fn split_once(data: &[u8], separator: u8) -> (&[u8], Option<&[u8]>) {
    match data.iter().position(|b| *b == separator) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    }
}

/// Decodes `application/x-www-form-urlencoded` pairs independently of the core (the
/// `url` crate, lossy): the oracles compare the core's strict reading against it.
#[must_use]
pub fn form_pairs(raw: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(raw)
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect()
}

/// Decodes one form-urlencoded component (`+` is a space, `%XY` a byte), written out
/// independently of the core and lenient: a malformed escape is kept as it is and invalid
/// UTF-8 is replaced. Where the core's strict decoding succeeds, the two agree.
#[must_use]
pub fn form_decode(raw: &[u8]) -> String {
    let hex = |b: u8| char::from(b).to_digit(16);
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = raw.get(i + 1).and_then(|b| hex(*b));
                let lo = raw.get(i + 2).and_then(|b| hex(*b));
                match (hi, lo) {
                    (Some(hi), Some(lo)) => {
                        out.push(u8::try_from(hi * 16 + lo).expect("two hex digits"));
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The values of `name` among `pairs`.
#[must_use]
pub fn values<'a>(pairs: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    pairs
        .iter()
        .filter(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// Whether `value` is `token68` (RFC 9110 §11.2):
/// `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
#[must_use]
pub fn is_token68(value: &str) -> bool {
    let body = value.trim_end_matches('=');
    !body.is_empty()
        && body.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        })
}

/// Whether `value` is a valid PKCE value, written out from RFC 7636 §4.1 independently of
/// the core: `43*128( ALPHA / DIGIT / "-" / "." / "_" / "~" )`.
#[must_use]
pub fn is_pkce_value(value: &str) -> bool {
    let len = value.chars().count();
    (43..=128).contains(&len)
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~'))
}

/// Removes a client registered by a fuzz input, so that long runs do not grow the store.
pub fn forget_client(id: &str) {
    block_on(provider().store().delete_client(&ClientId::new(id))).expect("delete client");
}
