//! The fetcher against a local HTTP server (draft-ietf-oauth-client-id-metadata-document
//! § "Client Information Discovery", § "Metadata Caching", § "SSRF Attacks", § "Maximum
//! Response Size").
//!
//! Each test starts its own minimal HTTP/1.1 server on 127.0.0.1 (plain tokio, one
//! scripted reply per connection, a bounded number of connections and a bounded
//! lifetime; it is aborted when the test ends). The fetcher reaches it through a stub
//! resolver and the insecure-loopback test switch. The SSRF tests never connect anywhere:
//! the addresses they use are refused before any connection is attempted.
//!
//! These are unit tests of the crate rather than integration tests under `tests/`: the
//! test switch `allow_insecure_loopback_for_tests` exists only under `cfg(test)` or the
//! `test-util` feature, and only a unit test gets it from a plain `cargo test`.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::{
    ClientIdUrl, ClientMetadataFetcher, FetchError, HttpFetcher, HttpFetcherBuilder, Resolver,
};
use oauth_core::{AuthorizationError, Issuer, KeyId, Keyring, Provider, Reason};
use oauth_store_memory::MemoryStore;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The host name the stub resolver knows.
const HOST: &str = "client.test";
const MAX: usize = 5 * 1024;

/// What the server does with one connection.
#[derive(Clone)]
enum Reply {
    /// Sends these bytes, then closes.
    Raw(Vec<u8>),
    /// Reads the request and never answers (until the server is dropped).
    Hang,
}

/// A response with `Content-Length`.
fn response(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    let mut head = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\n", body.len());
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("Connection: close\r\n\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    Reply::Raw(bytes)
}

/// A 200 JSON response whose body ends when the connection closes (no length announced).
fn close_delimited_json(body: &[u8]) -> Reply {
    let mut bytes =
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n".to_vec();
    bytes.extend_from_slice(body);
    Reply::Raw(bytes)
}

fn json_response(body: &str, cache_control: Option<&str>) -> Reply {
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(value) = cache_control {
        headers.push(("Cache-Control", value));
    }
    response("200 OK", &headers, body.as_bytes())
}

/// A loopback HTTP server answering connection `n` with `replies[n]` (the last reply
/// repeats), recording each request head.
struct TestServer {
    address: SocketAddr,
    requests: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestServer {
    /// A server on a fresh loopback port.
    async fn start(replies: Vec<Reply>) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        TestServer::serve(listener, replies)
    }

    /// A server whose replies depend on its own document URL (which names the port).
    async fn for_url(replies: impl FnOnce(&str) -> Vec<Reply>) -> (TestServer, ClientIdUrl) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let url = ClientIdUrl::parse(&format!("https://{HOST}:{port}/client.json")).unwrap();
        let server = TestServer::serve(listener, replies(url.as_str()));
        (server, url)
    }

    /// A server serving the valid document of its own URL.
    async fn with_document(cache_control: Option<&str>) -> (TestServer, ClientIdUrl) {
        let cache_control = cache_control.map(str::to_owned);
        TestServer::for_url(move |url| {
            vec![json_response(&document(url), cache_control.as_deref())]
        })
        .await
    }

    /// Serves `listener`: at most 16 connections and 30 seconds, each connection in its
    /// own task (ended with the test's runtime at the latest).
    fn serve(listener: TcpListener, replies: Vec<Reply>) -> TestServer {
        let address = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = requests.clone();
        let task = tokio::spawn(async move {
            let serve = async {
                for n in 0..16 {
                    let Ok((mut socket, _)) = listener.accept().await else {
                        return;
                    };
                    let reply = replies[n.min(replies.len() - 1)].clone();
                    let recorded = recorded.clone();
                    tokio::spawn(async move {
                        let mut head = Vec::new();
                        let mut buffer = [0u8; 1024];
                        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
                            match socket.read(&mut buffer).await {
                                Ok(0) | Err(_) => return,
                                Ok(read) => head.extend_from_slice(&buffer[..read]),
                            }
                        }
                        recorded
                            .lock()
                            .unwrap()
                            .push(String::from_utf8_lossy(&head).into_owned());
                        match reply {
                            Reply::Raw(bytes) => {
                                let _ = socket.write_all(&bytes).await;
                                let _ = socket.shutdown().await;
                            }
                            Reply::Hang => tokio::time::sleep(Duration::from_secs(10)).await,
                        }
                    });
                }
            };
            let _ = tokio::time::timeout(Duration::from_secs(30), serve).await;
        });
        TestServer {
            address,
            requests,
            task,
        }
    }

    fn hits(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    /// The document URL on this server, under the stub host name.
    fn url(&self, path: &str) -> ClientIdUrl {
        ClientIdUrl::parse(&format!("https://{HOST}:{}{path}", self.address.port())).unwrap()
    }
}

/// A resolver answering from a map, counting its calls; `answers` may list several
/// successive answers for one host (the last repeats), to play DNS rebinding.
#[derive(Default)]
struct StubResolver {
    answers: Mutex<HashMap<String, Vec<Vec<IpAddr>>>>,
    calls: AtomicUsize,
}

impl StubResolver {
    fn with(host: &str, answers: &[&[&str]]) -> Arc<StubResolver> {
        let resolver = StubResolver::default();
        resolver.answers.lock().unwrap().insert(
            host.to_owned(),
            answers
                .iter()
                .map(|ips| ips.iter().map(|ip| ip.parse().unwrap()).collect())
                .collect(),
        );
        Arc::new(resolver)
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl Resolver for StubResolver {
    async fn resolve(&self, host: &str, _port: u16) -> std::io::Result<Vec<IpAddr>> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        let answers = self.answers.lock().unwrap();
        let answers = answers
            .get(host)
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "unknown host"))?;
        Ok(answers[call.min(answers.len() - 1)].clone())
    }
}

/// A fetcher in the loopback test setup, with `HOST` resolving to 127.0.0.1.
fn loopback_fetcher(
    configure: impl FnOnce(HttpFetcherBuilder) -> HttpFetcherBuilder,
) -> HttpFetcher {
    let builder = HttpFetcher::builder()
        .resolver(StubResolver::with(HOST, &[&["127.0.0.1"]]))
        .allow_insecure_loopback_for_tests()
        .timeout(Duration::from_secs(5));
    configure(builder).build().unwrap()
}

fn document(client_id: &str) -> String {
    json!({
        "client_id": client_id,
        "client_name": "Loopback client",
        "redirect_uris": ["http://127.0.0.1/callback"],
        "grant_types": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_method": "none"
    })
    .to_string()
}

/// A server whose every connection gets `reply`, and the document URL on it.
async fn serving(reply: Reply) -> (TestServer, ClientIdUrl) {
    let server = TestServer::start(vec![reply]).await;
    let url = server.url("/client.json");
    (server, url)
}

#[tokio::test]
async fn fetches_a_document_with_accept_json_and_the_urls_host() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let url = ClientIdUrl::parse(&format!("https://{HOST}:{port}/app/client.json?v=1")).unwrap();
    let body = document(url.as_str());
    let server = TestServer::serve(listener, vec![json_response(&body, None)]);
    let fetched = loopback_fetcher(|b| b).fetch(&url, MAX).await.unwrap();
    assert_eq!(fetched.as_ref(), body.as_bytes());
    let request = server.requests.lock().unwrap()[0].to_ascii_lowercase();
    assert!(
        request.starts_with("get /app/client.json?v=1 http/1.1\r\n"),
        "{request}"
    );
    assert!(
        request.contains("\r\naccept: application/json\r\n"),
        "{request}"
    );
    assert!(
        request.contains(&format!("\r\nhost: {HOST}:{port}\r\n")),
        "{request}"
    );
}

#[tokio::test]
async fn cimd_2_a_redirect_is_an_error_and_is_never_followed() {
    for status in [
        "301 Moved Permanently",
        "302 Found",
        "307 Temporary Redirect",
        "308 Permanent Redirect",
    ] {
        let (server, url) = serving(response(
            status,
            &[
                ("Location", "/elsewhere.json"),
                ("Content-Type", "application/json"),
            ],
            b"{}",
        ))
        .await;
        let fetcher = loopback_fetcher(|b| b);
        let result = fetcher.fetch(&url, MAX).await;
        assert!(
            matches!(result, Err(FetchError::Redirect(code)) if code == status[..3].parse::<u16>().unwrap()),
            "{status}: {result:?}"
        );
        assert_eq!(server.hits(), 1, "{status}: the redirect was followed");
    }
}

#[tokio::test]
async fn cimd_2_any_status_but_200_is_an_error() {
    for (status, code) in [
        ("404 Not Found", 404),
        ("500 Internal Server Error", 500),
        ("204 No Content", 204),
        ("203 Non-Authoritative Information", 203),
    ] {
        let (_server, url) = serving(response(
            status,
            &[("Content-Type", "application/json")],
            b"",
        ))
        .await;
        let result = loopback_fetcher(|b| b).fetch(&url, MAX).await;
        assert!(
            matches!(result, Err(FetchError::Status(c)) if c == code),
            "{status}: {result:?}"
        );
    }
}

#[tokio::test]
async fn cimd_9_an_oversized_document_is_refused_by_its_length_or_while_streaming() {
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(6000));
    // Announced length over the bound: refused before reading the body.
    let (_server, url) = serving(json_response(&big, None)).await;
    let result = loopback_fetcher(|b| b).fetch(&url, MAX).await;
    assert!(
        matches!(result, Err(FetchError::TooLarge(MAX))),
        "{result:?}"
    );
    // No length announced: refused as soon as the bound is crossed.
    let (_server, url) = serving(close_delimited_json(big.as_bytes())).await;
    let result = loopback_fetcher(|b| b).fetch(&url, MAX).await;
    assert!(
        matches!(result, Err(FetchError::TooLarge(MAX))),
        "{result:?}"
    );
    // Exactly at the bound is fine; the bound is the caller's.
    let exact = "x".repeat(MAX);
    let (_server, url) = serving(close_delimited_json(exact.as_bytes())).await;
    assert_eq!(
        loopback_fetcher(|b| b)
            .fetch(&url, MAX)
            .await
            .unwrap()
            .len(),
        MAX
    );
    let (_server, url) = serving(close_delimited_json(big.as_bytes())).await;
    assert!(loopback_fetcher(|b| b).fetch(&url, 8 * 1024).await.is_ok());
}

#[tokio::test]
async fn a_response_that_is_not_json_is_refused() {
    for content_type in [Some("text/html"), Some("text/plain; charset=utf-8"), None] {
        let headers: Vec<(&str, &str)> = content_type
            .map(|v| ("Content-Type", v))
            .into_iter()
            .collect();
        let (_server, url) = serving(response("200 OK", &headers, b"<html></html>")).await;
        let result = loopback_fetcher(|b| b).fetch(&url, MAX).await;
        assert!(
            matches!(result, Err(FetchError::NotJson)),
            "{content_type:?}: {result:?}"
        );
    }
    // A more specific JSON type is fine.
    let (_server, url) = serving(response(
        "200 OK",
        &[(
            "Content-Type",
            "application/client-metadata+json; charset=utf-8",
        )],
        b"{}",
    ))
    .await;
    assert!(loopback_fetcher(|b| b).fetch(&url, MAX).await.is_ok());
}

#[tokio::test]
async fn cimd_11_a_server_that_never_answers_times_out() {
    let (_server, url) = serving(Reply::Hang).await;
    let fetcher = loopback_fetcher(|b| b.timeout(Duration::from_millis(300)));
    let started = std::time::Instant::now();
    let result = fetcher.fetch(&url, MAX).await;
    assert!(matches!(result, Err(FetchError::Timeout)), "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn fetches_beyond_the_concurrency_bound_fail_at_once() {
    let (hanging_server, hanging_url) = serving(Reply::Hang).await;
    let fetcher = loopback_fetcher(|b| b.max_concurrent_fetches(1));
    let hanging = tokio::spawn({
        let fetcher = fetcher.clone();
        async move { fetcher.fetch(&hanging_url, MAX).await }
    });
    // Wait (bounded) until the first fetch has reached the server: it holds the permit.
    for _ in 0..500 {
        if hanging_server.hits() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(hanging_server.hits(), 1);
    let (server, url) = TestServer::with_document(None).await;
    assert!(matches!(
        fetcher.fetch(&url, MAX).await,
        Err(FetchError::Busy)
    ));
    assert_eq!(server.hits(), 0);
    // Once the first fetch is gone, the permit is back.
    hanging.abort();
    assert!(hanging.await.unwrap_err().is_cancelled());
    assert!(fetcher.fetch(&url, MAX).await.is_ok());
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn cimd_8_special_use_addresses_from_the_resolver_are_refused_before_connecting() {
    let url = ClientIdUrl::parse("https://client.test/client.json").unwrap();
    for address in [
        "10.0.0.1",
        "127.0.0.1",
        "169.254.169.254",
        "::1",
        "fc00::1",
        "::ffff:127.0.0.1",
        "100.64.0.1",
        "192.168.0.10",
        "0.0.0.0",
    ] {
        let fetcher = HttpFetcher::builder()
            .resolver(StubResolver::with(HOST, &[&[address]]))
            .build()
            .unwrap();
        let result = fetcher.fetch(&url, MAX).await;
        let expected: IpAddr = address.parse().unwrap();
        assert!(
            matches!(result, Err(FetchError::SpecialUseAddress(ip)) if ip == expected),
            "{address}: {result:?}"
        );
    }
    // One special-use address among public ones is enough to refuse the host.
    let fetcher = HttpFetcher::builder()
        .resolver(StubResolver::with(HOST, &[&["93.184.216.34", "10.0.0.1"]]))
        .build()
        .unwrap();
    assert!(matches!(
        fetcher.fetch(&url, MAX).await,
        Err(FetchError::SpecialUseAddress(_))
    ));
    // The test switch lets loopback through, nothing else.
    for address in ["10.0.0.1", "169.254.169.254", "fc00::1"] {
        let fetcher = HttpFetcher::builder()
            .resolver(StubResolver::with(HOST, &[&[address]]))
            .allow_insecure_loopback_for_tests()
            .build()
            .unwrap();
        assert!(
            matches!(
                fetcher.fetch(&url, MAX).await,
                Err(FetchError::SpecialUseAddress(_))
            ),
            "{address}"
        );
    }
    // An unknown name and an empty answer are failures too.
    let fetcher = HttpFetcher::builder()
        .resolver(StubResolver::with("other.test", &[&["93.184.216.34"]]))
        .build()
        .unwrap();
    assert!(matches!(
        fetcher.fetch(&url, MAX).await,
        Err(FetchError::Resolve(_))
    ));
    let fetcher = HttpFetcher::builder()
        .resolver(StubResolver::with(HOST, &[&[]]))
        .build()
        .unwrap();
    assert!(matches!(
        fetcher.fetch(&url, MAX).await,
        Err(FetchError::NoAddress)
    ));
}

#[tokio::test]
async fn cimd_8_each_fetch_resolves_once_and_connects_to_what_it_vetted() {
    let server = TestServer::start(vec![json_response("{}", Some("no-store"))]).await;
    let url = server.url("/client.json");
    // DNS rebinding: loopback (allowed in the test setup) first, then a private address.
    let resolver = StubResolver::with(HOST, &[&["127.0.0.1"], &["10.0.0.1"]]);
    let fetcher = HttpFetcher::builder()
        .resolver(resolver.clone())
        .allow_insecure_loopback_for_tests()
        .cache_capacity(0)
        .build()
        .unwrap();
    assert!(fetcher.fetch(&url, MAX).await.is_ok());
    assert_eq!(
        resolver.calls(),
        1,
        "the name was resolved again after vetting"
    );
    assert_eq!(server.hits(), 1);
    // The next fetch resolves anew, and the new answer is vetted before connecting.
    assert!(matches!(
        fetcher.fetch(&url, MAX).await,
        Err(FetchError::SpecialUseAddress(_))
    ));
    assert_eq!(resolver.calls(), 2);
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn plain_http_to_loopback_needs_the_test_switch() {
    let (server, url) = serving(json_response("{}", None)).await;
    let fetcher = HttpFetcher::builder()
        .resolver(StubResolver::with(HOST, &[&["127.0.0.1"]]))
        .build()
        .unwrap();
    assert!(matches!(
        fetcher.fetch(&url, MAX).await,
        Err(FetchError::SpecialUseAddress(_))
    ));
    assert_eq!(server.hits(), 0);
}

#[tokio::test]
async fn cimd_10_a_valid_document_is_cached_within_its_max_age() {
    let (server, url) = TestServer::with_document(Some("max-age=60")).await;
    let fetcher = loopback_fetcher(|b| b.cache_ttl(Duration::ZERO, Duration::from_secs(3600)));
    let first = fetcher.fetch(&url, MAX).await.unwrap();
    let second = fetcher.fetch(&url, MAX).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(
        server.hits(),
        1,
        "the second fetch should come from the cache"
    );
    assert_eq!(fetcher.cached_documents(), 1);
    // A smaller bound than the cached document is not served from the cache.
    assert!(fetcher.fetch(&url, 16).await.is_err());
    fetcher.forget(url.as_str());
    assert_eq!(fetcher.cached_documents(), 0);

    // `no-store` is honoured when the lower bound is zero.
    let (server, url) = TestServer::with_document(Some("no-store")).await;
    let fetcher = loopback_fetcher(|b| b.cache_ttl(Duration::ZERO, Duration::from_secs(3600)));
    fetcher.fetch(&url, MAX).await.unwrap();
    fetcher.fetch(&url, MAX).await.unwrap();
    assert_eq!(server.hits(), 2);

    // Without caching headers, the lower bound applies.
    let (server, url) = TestServer::with_document(None).await;
    let fetcher = loopback_fetcher(|b| b);
    fetcher.fetch(&url, MAX).await.unwrap();
    fetcher.fetch(&url, MAX).await.unwrap();
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn cimd_10_errors_are_never_cached() {
    // 500, then the document: the second fetch goes to the server again.
    let (server, url) = TestServer::for_url(|url| {
        vec![
            response(
                "500 Internal Server Error",
                &[("Content-Type", "application/json")],
                b"",
            ),
            json_response(&document(url), Some("max-age=600")),
        ]
    })
    .await;
    let fetcher = loopback_fetcher(|b| b);
    assert!(matches!(
        fetcher.fetch(&url, MAX).await,
        Err(FetchError::Status(500))
    ));
    assert!(fetcher.fetch(&url, MAX).await.is_ok());
    assert_eq!(server.hits(), 2);
    assert_eq!(fetcher.cached_documents(), 1);
}

#[tokio::test]
async fn cimd_10_invalid_documents_are_never_cached() {
    // A 200 whose document names another client id, cacheable by its headers.
    let (server, url) = TestServer::for_url(|url| {
        vec![json_response(
            &document(&format!("{url}/")),
            Some("max-age=600"),
        )]
    })
    .await;
    let fetcher = loopback_fetcher(|b| b);
    assert!(fetcher.fetch(&url, MAX).await.is_ok());
    assert!(fetcher.fetch(&url, MAX).await.is_ok());
    assert_eq!(server.hits(), 2);
    assert_eq!(fetcher.cached_documents(), 0);
}

/// A provider resolving client ids through this fetcher.
fn provider(fetcher: HttpFetcher) -> Provider<MemoryStore> {
    Provider::builder(Issuer::new("https://as.example").unwrap())
        .keys(Keyring::from_secret(KeyId::new("k").unwrap(), &[9u8; 32]).unwrap())
        .scopes(["read"])
        .default_scope(["read"])
        .client_id_metadata_documents(true)
        .client_metadata_fetcher(Arc::new(fetcher))
        .store(MemoryStore::new())
        .build()
        .unwrap()
}

fn authorization_request(client_id: &str) -> http::Request<Vec<u8>> {
    let query = url_encode(&[
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", "http://127.0.0.1:49152/callback"),
        (
            "code_challenge",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        ),
        ("code_challenge_method", "S256"),
    ]);
    http::Request::get(format!("https://as.example/authorize?{query}"))
        .body(Vec::new())
        .unwrap()
}

fn url_encode(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(name, value)| {
            let encode = |s: &str| {
                s.bytes()
                    .map(|b| match b {
                        b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                            (b as char).to_string()
                        }
                        _ => format!("%{b:02X}"),
                    })
                    .collect::<String>()
            };
            format!("{}={}", encode(name), encode(value))
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[tokio::test]
async fn end_to_end_a_provider_resolves_a_url_client_through_the_fetcher() {
    let (server, url) = TestServer::with_document(Some("max-age=60")).await;
    let provider = provider(loopback_fetcher(|b| b));
    let pending = provider
        .begin_authorization(&authorization_request(url.as_str()))
        .await
        .unwrap();
    assert_eq!(pending.client_id().as_str(), url.as_str());
    assert_eq!(pending.client_name(), Some("Loopback client"));
    assert_eq!(pending.client_id_host(), Some(HOST));
    assert!(pending.redirect_uris_loopback_only());
    // The second request is answered from the cache.
    provider
        .begin_authorization(&authorization_request(url.as_str()))
        .await
        .unwrap();
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn cimd_3_end_to_end_a_wrong_client_id_in_the_document_is_refused() {
    let (server, url) = TestServer::for_url(|url| {
        vec![json_response(
            &document(&format!("{url}/")),
            Some("max-age=60"),
        )]
    })
    .await;
    let provider = provider(loopback_fetcher(|b| b));
    for _ in 0..2 {
        let result = provider
            .begin_authorization(&authorization_request(url.as_str()))
            .await;
        match result {
            Err(AuthorizationError::Fatal(reason)) => {
                assert_eq!(reason, Reason::ClientMetadataClientIdMismatch)
            }
            other => panic!("expected an error page, got {other:?}"),
        }
    }
    // The invalid document was not cached: both requests fetched it.
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn end_to_end_a_redirecting_or_oversized_document_aborts_the_authorization() {
    let (redirecting, redirecting_url) = TestServer::for_url(|_| {
        vec![response(
            "302 Found",
            &[("Location", "https://elsewhere.test/c.json")],
            b"",
        )]
    })
    .await;
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(6000));
    let (oversized, oversized_url) =
        TestServer::for_url(move |_| vec![close_delimited_json(big.as_bytes())]).await;
    let provider = provider(loopback_fetcher(|b| b));
    for (server, url, reason) in [
        (
            &redirecting,
            &redirecting_url,
            Reason::ClientMetadataFetchFailed,
        ),
        (&oversized, &oversized_url, Reason::ClientMetadataTooLarge),
    ] {
        let result = provider
            .begin_authorization(&authorization_request(url.as_str()))
            .await;
        assert!(
            matches!(&result, Err(AuthorizationError::Fatal(r)) if *r == reason),
            "{result:?}"
        );
        assert_eq!(server.hits(), 1);
    }
}

// ---- Availability: per-origin bound, short timeouts, bounded name resolutions ----

/// Waits until `done` holds, for at most 5 seconds; whether it does.
async fn eventually(mut done: impl FnMut() -> bool) -> bool {
    for _ in 0..500 {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    done()
}

#[tokio::test]
async fn cimd_f3_a_flood_of_made_up_ids_on_one_slow_origin_leaves_other_origins_fetchable() {
    // The attacker's server accepts connections and never answers; each made-up client
    // id is another path on it.
    let slow = TestServer::start(vec![Reply::Hang]).await;
    let fetcher = loopback_fetcher(|b| {
        b.max_concurrent_fetches(8)
            .max_concurrent_fetches_per_origin(2)
            .first_byte_timeout(Duration::from_secs(2))
    });
    let flood: Vec<_> = (0..20)
        .map(|n| {
            let fetcher = fetcher.clone();
            let url = slow.url(&format!("/made-up-{n}.json"));
            tokio::spawn(async move { fetcher.fetch(&url, MAX).await })
        })
        .collect();
    // Two reach the slow server; the other eighteen are refused at once, without taking
    // the places of the global bound (8) that other origins need.
    assert!(eventually(|| slow.hits() == 2).await);
    assert!(eventually(|| flood.iter().filter(|task| task.is_finished()).count() == 18).await);
    let (server, url) = TestServer::with_document(None).await;
    assert!(fetcher.fetch(&url, MAX).await.is_ok());
    assert_eq!(server.hits(), 1);

    let mut busy = 0;
    let mut timed_out = 0;
    for task in flood {
        match task.await.unwrap() {
            Err(FetchError::Busy) => busy += 1,
            Err(FetchError::Timeout) => timed_out += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((busy, timed_out), (18, 2));
    assert_eq!(slow.hits(), 2);
}

#[tokio::test]
async fn cimd_f3_a_server_that_accepts_and_never_answers_hits_the_first_byte_timeout() {
    let (_server, url) = serving(Reply::Hang).await;
    // The overall deadline is far; the first-byte one gives up early.
    let fetcher = loopback_fetcher(|b| {
        b.timeout(Duration::from_secs(60))
            .first_byte_timeout(Duration::from_millis(200))
    });
    let started = Instant::now();
    let result = fetcher.fetch(&url, MAX).await;
    assert!(matches!(result, Err(FetchError::Timeout)), "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn cimd_f3_timeouts_and_bounds_have_short_defaults_and_must_not_be_zero() {
    assert_eq!(crate::DEFAULT_CONNECT_TIMEOUT, Duration::from_secs(2));
    assert_eq!(crate::DEFAULT_FIRST_BYTE_TIMEOUT, Duration::from_secs(3));
    assert_eq!(crate::DEFAULT_TIMEOUT, Duration::from_secs(5));
    assert_eq!(crate::DEFAULT_MAX_CONCURRENT_FETCHES_PER_ORIGIN, 4);
    for builder in [
        HttpFetcher::builder().connect_timeout(Duration::ZERO),
        HttpFetcher::builder().first_byte_timeout(Duration::ZERO),
        HttpFetcher::builder().timeout(Duration::ZERO),
    ] {
        assert!(matches!(
            builder.build(),
            Err(crate::BuildError::ZeroTimeout)
        ));
    }
    for builder in [
        HttpFetcher::builder().max_concurrent_fetches(0),
        HttpFetcher::builder().max_concurrent_fetches_per_origin(0),
    ] {
        assert!(matches!(
            builder.build(),
            Err(crate::BuildError::ZeroConcurrency)
        ));
    }
}

/// A resolver like `getaddrinfo` on a slow network: each call blocks a thread of the
/// blocking pool for `delay`, whoever still waits for it.
struct SlowResolver {
    delay: Duration,
    started: AtomicUsize,
    running: Arc<AtomicUsize>,
    most_running: Arc<AtomicUsize>,
    finished: Arc<AtomicUsize>,
}

impl SlowResolver {
    fn new(delay: Duration) -> Arc<SlowResolver> {
        Arc::new(SlowResolver {
            delay,
            started: AtomicUsize::new(0),
            running: Arc::default(),
            most_running: Arc::default(),
            finished: Arc::default(),
        })
    }

    fn started(&self) -> usize {
        self.started.load(Ordering::SeqCst)
    }

    fn finished(&self) -> usize {
        self.finished.load(Ordering::SeqCst)
    }
}

#[async_trait::async_trait]
impl Resolver for SlowResolver {
    async fn resolve(&self, _host: &str, _port: u16) -> std::io::Result<Vec<IpAddr>> {
        self.started.fetch_add(1, Ordering::SeqCst);
        let (delay, running, most, finished) = (
            self.delay,
            self.running.clone(),
            self.most_running.clone(),
            self.finished.clone(),
        );
        // The blocking thread counts itself, so that what is measured is the threads
        // really in use, not the futures still awaited.
        let _ = tokio::task::spawn_blocking(move || {
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
            std::thread::sleep(delay);
            running.fetch_sub(1, Ordering::SeqCst);
            finished.fetch_add(1, Ordering::SeqCst);
        })
        .await;
        Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "slow and unknown",
        ))
    }
}

#[tokio::test]
async fn cimd_f4_a_lookup_past_the_deadline_keeps_its_permits_until_it_returns() {
    let resolver = SlowResolver::new(Duration::from_millis(800));
    let fetcher = HttpFetcher::builder()
        .resolver(resolver.clone())
        .timeout(Duration::from_millis(100))
        .max_concurrent_fetches(2)
        .max_concurrent_fetches_per_origin(1)
        .build()
        .unwrap();
    let url = |n: usize| ClientIdUrl::parse(&format!("https://host-{n}.test/c.json")).unwrap();

    // The caller is answered at its deadline, long before the lookup returns...
    let started = Instant::now();
    let first = fetcher.fetch(&url(0), MAX).await;
    assert!(matches!(first, Err(FetchError::Timeout)), "{first:?}");
    assert!(started.elapsed() < Duration::from_millis(700));
    // ... but the lookup still holds the origin's place and one global place.
    assert_eq!(resolver.finished(), 0);
    assert!(matches!(
        fetcher.fetch(&url(0), MAX).await,
        Err(FetchError::Busy)
    ));
    assert!(matches!(
        fetcher.fetch(&url(1), MAX).await,
        Err(FetchError::Timeout)
    ));
    // Both global places are held by running lookups: nothing else starts one.
    for n in 2..10 {
        assert!(matches!(
            fetcher.fetch(&url(n), MAX).await,
            Err(FetchError::Busy)
        ));
    }
    assert_eq!(resolver.finished(), 0, "the test ran too slowly to tell");
    assert_eq!(resolver.started(), 2);

    // Once the lookups return, their places are free again.
    assert!(eventually(|| resolver.finished() == 2).await);
    let mut again = Err(FetchError::Busy);
    for _ in 0..100 {
        again = fetcher.fetch(&url(0), MAX).await;
        if !matches!(again, Err(FetchError::Busy)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(matches!(again, Err(FetchError::Timeout)), "{again:?}");
    assert_eq!(resolver.started(), 3);
    // Never more blocking threads than the bound.
    assert!(resolver.most_running.load(Ordering::SeqCst) <= 2);
}

/// A token request of the refresh grant from the public client `client_id`.
fn token_request(client_id: &str) -> http::Request<Vec<u8>> {
    let body = url_encode(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", "x"),
        ("client_id", client_id),
    ]);
    http::Request::post("https://as.example/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.into_bytes())
        .unwrap()
}

#[tokio::test]
async fn cimd_f3_end_to_end_a_silent_document_server_is_503_and_a_404_is_invalid_client() {
    let (_silent, silent_url) = serving(Reply::Hang).await;
    let (_missing, missing_url) = serving(response(
        "404 Not Found",
        &[("Content-Type", "application/json")],
        b"",
    ))
    .await;
    let provider = provider(loopback_fetcher(|b| {
        b.first_byte_timeout(Duration::from_millis(200))
    }));

    let result = provider
        .begin_authorization(&authorization_request(silent_url.as_str()))
        .await;
    match result {
        Err(error @ AuthorizationError::Fatal(Reason::ClientMetadataUnavailable)) => {
            let page = error.into_response(None);
            assert_eq!(page.status(), http::StatusCode::SERVICE_UNAVAILABLE);
        }
        other => panic!("expected a 503 error page, got {other:?}"),
    }
    let response = provider.token(&token_request(silent_url.as_str())).await;
    assert_eq!(response.status(), http::StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");

    // The client's own fault stays invalid_client.
    let result = provider
        .begin_authorization(&authorization_request(missing_url.as_str()))
        .await;
    assert!(
        matches!(
            result,
            Err(AuthorizationError::Fatal(Reason::ClientMetadataFetchFailed))
        ),
        "{result:?}"
    );
    let response = provider.token(&token_request(missing_url.as_str())).await;
    assert_eq!(response.status(), http::StatusCode::BAD_REQUEST);
    let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(body["error"], "invalid_client");
}
