//! # oauth-client-metadata-fetch
//!
//! The default [`ClientMetadataFetcher`] of `oauth-core`: fetches OAuth client ID
//! metadata documents (draft-ietf-oauth-client-id-metadata-document) for a
//! [`Provider`](oauth_core::Provider) that resolves `client_id` URLs.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use oauth_client_metadata_fetch::HttpFetcher;
//! use oauth_core::{Issuer, KeyId, Keyring, Provider};
//! # let secret_from_env = [7u8; 32];
//! let provider = Provider::builder(Issuer::new("https://auth.example.com")?)
//!     .keys(Keyring::from_secret(KeyId::new("2026-11")?, &secret_from_env)?)
//!     .store(oauth_store_memory::MemoryStore::new())
//!     .client_id_metadata_documents(true)
//!     .client_metadata_fetcher(Arc::new(HttpFetcher::builder().build()?))
//!     .build()?;
//! # let _ = provider; Ok(()) }
//! ```
//!
//! ## What a fetch does
//!
//! 1. **Cache.** A fresh cached document is returned without any I/O.
//! 2. **Take a place.** At most [`DEFAULT_MAX_CONCURRENT_FETCHES`] fetches are in
//!    flight at once, and at most [`DEFAULT_MAX_CONCURRENT_FETCHES_PER_ORIGIN`] to one
//!    origin (`host:port`); a fetch beyond either bound fails at once with
//!    [`FetchError::Busy`] (the requests that cause fetches are unauthenticated). The
//!    per-origin bound keeps a flood of made-up client ids on one slow server from
//!    taking every place. A fetch keeps its places until all of its work has finished,
//!    including a name resolution that outlives the deadline (see step 3).
//! 3. **Resolve once, then vet.** An IP-literal host is used as is; a name is resolved
//!    through the [`Resolver`] (default: [`SystemResolver`]), once, in a task of its own
//!    that holds the fetch's places: when the deadline passes first, the fetch fails with
//!    [`FetchError::Timeout`] at once, but its places are only given back when the
//!    resolution returns (`getaddrinfo` cannot be cancelled, and its blocking thread keeps
//!    running), so slow DNS cannot pile up blocking threads beyond the bounds. Every
//!    address is checked by [`is_special_use_address`] (loopback, private, link-local, CGNAT,
//!    multicast, unspecified, documentation, benchmarking, unique-local IPv6, IPv4-mapped
//!    and NAT64 forms of those, ...): if *any* is special-use, the fetch fails before connecting (draft § "SSRF Attacks"). A name
//!    that resolves to both kinds is treated as hostile.
//! 4. **Connect to the vetted address.** The TCP connection goes to an address from that
//!    one resolution; nothing resolves the name again, so DNS rebinding cannot move the
//!    connection elsewhere. No proxy is consulted (a proxy would resolve the name itself).
//!    Each connection attempt has [`DEFAULT_CONNECT_TIMEOUT`] (2 s) by default.
//! 5. **TLS** (rustls with the Mozilla roots of `webpki-roots`, or the host's
//!    [`rustls::ClientConfig`]), with the URL's host as server name. The TLS handshake and
//!    the response's head must arrive within [`DEFAULT_FIRST_BYTE_TIMEOUT`] (3 s) of the
//!    connection by default.
//! 6. **One `GET`**, HTTP/1.1, with `Accept: application/json`. A redirect (3xx) is an
//!    error and is never followed; any status but 200 is an error; the content type must
//!    be `application/json` or `application/…+json`; the body is read while counting and
//!    abandoned beyond the bound the machine gives (5 KiB by default): a larger
//!    `Content-Length` fails at once, a body without one fails as soon as it crosses the
//!    bound.
//! 7. **One deadline** covers all of it (default [`DEFAULT_TIMEOUT`], 5 s). Running out
//!    of any of the three times is [`FetchError::Timeout`].
//! 8. **Cache** the document only if it is a valid document ([`validate_document`]),
//!    for its `Cache-Control: max-age` (minus `Age`; `no-store`/`no-cache` count as 0)
//!    clamped to the configured bounds (default 5 minutes to 1 day; no header means the
//!    lower bound). Errors and invalid documents are never cached (draft § "Metadata
//!    Caching"). The cache holds at most [`DEFAULT_CACHE_CAPACITY`] documents by default;
//!    when full, expired entries go first, then the one expiring soonest.
//!
//! Concurrent fetches of one URL that miss the cache each fetch it (no request
//! coalescing); the cache keeps the last.
//!
//! A fetch that fails through nobody's fault in particular ([`FetchError::Busy`],
//! [`FetchError::Timeout`], a connection failure, a resolution failure other than a name
//! that does not exist: [`FetchError::is_transient`]) is answered by `oauth-core` with 503
//! `temporarily_unavailable`, not `invalid_client`: overload caused by others must not
//! make a legitimate client look unauthenticated.
//!
//! ## Why hyper and not reqwest
//!
//! The fetcher uses `hyper`'s low-level HTTP/1.1 client connection over a `tokio`
//! `TcpStream` it opens itself (with `tokio-rustls` for TLS) rather than `reqwest`.
//! It is the lighter choice: `reqwest` is built on the same `hyper`, `hyper-util` and
//! `rustls` and adds a connection pool, proxy support, redirect handling, cookies and
//! decompression layers, all of which this fetcher must turn off. More importantly, the
//! security properties are then explicit code instead of configuration: the socket is
//! opened to the vetted address itself (with `reqwest` an IP-literal host bypasses a
//! custom DNS resolver, and environment proxies resolve names on their own), nothing can
//! follow a redirect because nothing implements it, and a timed-out fetch drops its
//! connection with it (the connection is driven in the fetch's own task, never spawned).
//! `hyper` and `rustls` are the most widely deployed HTTP and TLS stacks in Rust. TLS uses
//! the `ring` provider (no C toolchain beyond a C compiler, no CMake) and TLS 1.2 and 1.3.
//!
//! ## Tests and loopback
//!
//! `HttpFetcherBuilder::allow_insecure_loopback_for_tests` lets a test serve documents
//! from a plain-HTTP server on a loopback address: loopback addresses then pass the SSRF
//! guard, and a URL whose host resolves only to loopback addresses is fetched without
//! TLS. It logs a warning when the fetcher is built. Every other special-use address is
//! still refused.
//!
//! It exists only in this crate's own unit tests and with the `test-util` cargo feature,
//! which a test suite enables through its dev-dependency:
//!
//! ```toml
//! [dev-dependencies]
//! oauth-client-metadata-fetch = { version = "0.1", features = ["test-util"] }
//! ```
//!
//! A production build, which never enables the feature, cannot call it at all (the draft
//! forbids the loopback exception there).
#![cfg_attr(
    not(feature = "test-util"),
    doc = r#"
Without the feature, the method does not exist (this example must not compile):

```compile_fail,E0599
let _ = oauth_client_metadata_fetch::HttpFetcher::builder().allow_insecure_loopback_for_tests();
```
"#
)]
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod cache;
mod exchange;
mod limits;
mod resolver;

#[cfg(test)]
mod fetch_tests;

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::HeaderValue;
use oauth_core::client_metadata_document::{is_special_use_address, validate_document};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

pub use oauth_core::client_metadata_document::{ClientIdUrl, ClientMetadataFetcher, FetchError};
pub use resolver::{Resolver, SystemResolver};
pub use rustls;

use cache::DocumentCache;
use exchange::{connection_error, Fetched, TtlBounds};
use limits::{OriginLimits, Permits};

/// The default deadline of one fetch, from resolution to the last byte.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// The default time one TCP connection attempt may take.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The default time from the TCP connection to the response's head (TLS handshake
/// included).
pub const DEFAULT_FIRST_BYTE_TIMEOUT: Duration = Duration::from_secs(3);

/// The default shortest time a document is cached, whatever its headers say.
pub const DEFAULT_MIN_CACHE_TTL: Duration = Duration::from_secs(5 * 60);

/// The default longest time a document is cached, whatever its headers say.
pub const DEFAULT_MAX_CACHE_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// The default number of documents cached.
pub const DEFAULT_CACHE_CAPACITY: usize = 1024;

/// The default number of fetches in flight at once.
pub const DEFAULT_MAX_CONCURRENT_FETCHES: usize = 64;

/// The default number of fetches in flight at once to one origin (`host:port`).
pub const DEFAULT_MAX_CONCURRENT_FETCHES_PER_ORIGIN: usize = 4;

/// The default `User-Agent`.
const USER_AGENT: &str = concat!("oauth-client-metadata-fetch/", env!("CARGO_PKG_VERSION"));

/// The fetcher could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The TLS configuration could not be made.
    #[error("TLS configuration failed")]
    Tls(#[from] rustls::Error),
    /// The cache bounds are inverted (`min > max`).
    #[error("the minimum cache lifetime exceeds the maximum")]
    CacheBounds,
    /// A timeout (overall, connect or first byte) is zero.
    #[error("the timeout must not be zero")]
    ZeroTimeout,
    /// No fetch at all would be allowed in flight.
    #[error("at least one fetch must be allowed in flight")]
    ZeroConcurrency,
}

/// Fetches client ID metadata documents over https (see the [crate docs](crate)).
/// Cheap to clone; clones share the cache.
#[derive(Clone)]
pub struct HttpFetcher {
    inner: Arc<Inner>,
}

struct Inner {
    timeout: Duration,
    connect_timeout: Duration,
    first_byte_timeout: Duration,
    bounds: TtlBounds,
    resolver: Arc<dyn Resolver>,
    tls: TlsConnector,
    insecure_loopback: bool,
    cache: Mutex<DocumentCache>,
    user_agent: HeaderValue,
    in_flight: Arc<tokio::sync::Semaphore>,
    per_origin: Arc<OriginLimits>,
}

impl std::fmt::Debug for HttpFetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpFetcher")
            .field("timeout", &self.inner.timeout)
            .field("connect_timeout", &self.inner.connect_timeout)
            .field("first_byte_timeout", &self.inner.first_byte_timeout)
            .field("min_cache_ttl", &self.inner.bounds.min)
            .field("max_cache_ttl", &self.inner.bounds.max)
            .field("insecure_loopback", &self.inner.insecure_loopback)
            .finish_non_exhaustive()
    }
}

/// Builds an [`HttpFetcher`]; every setting has a safe default.
#[must_use]
pub struct HttpFetcherBuilder {
    timeout: Duration,
    connect_timeout: Duration,
    first_byte_timeout: Duration,
    min_ttl: Duration,
    max_ttl: Duration,
    capacity: usize,
    resolver: Arc<dyn Resolver>,
    tls: Option<Arc<rustls::ClientConfig>>,
    insecure_loopback: bool,
    max_concurrent: usize,
    max_concurrent_per_origin: usize,
}

impl HttpFetcherBuilder {
    /// The deadline of one fetch, from resolution to the last byte (default
    /// [`DEFAULT_TIMEOUT`], 5 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The time one TCP connection attempt may take (default [`DEFAULT_CONNECT_TIMEOUT`],
    /// 2 s); the overall [`timeout`](Self::timeout) still bounds all attempts together.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// The time from the TCP connection to the response's status line and headers, the
    /// TLS handshake included (default [`DEFAULT_FIRST_BYTE_TIMEOUT`], 3 s): a server that
    /// accepts connections and then says nothing is given up on early.
    pub fn first_byte_timeout(mut self, timeout: Duration) -> Self {
        self.first_byte_timeout = timeout;
        self
    }

    /// The bounds within which a document's `Cache-Control: max-age` is respected
    /// (default 5 minutes to 1 day). A document without caching headers is kept for
    /// `min`; set `min` to zero to honour `no-store` and to cache only what a response
    /// allows.
    pub fn cache_ttl(mut self, min: Duration, max: Duration) -> Self {
        self.min_ttl = min;
        self.max_ttl = max;
        self
    }

    /// How many documents the cache holds (default [`DEFAULT_CACHE_CAPACITY`]; 0 turns
    /// the cache off).
    pub fn cache_capacity(mut self, documents: usize) -> Self {
        self.capacity = documents;
        self
    }

    /// The resolver of host names (default: [`SystemResolver`]).
    pub fn resolver(mut self, resolver: Arc<dyn Resolver>) -> Self {
        self.resolver = resolver;
        self
    }

    /// The TLS configuration (default: rustls with the `ring` provider and the Mozilla
    /// roots of `webpki-roots`), for hosts that need other roots.
    pub fn tls_config(mut self, config: Arc<rustls::ClientConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// How many fetches may be in flight at once (default
    /// [`DEFAULT_MAX_CONCURRENT_FETCHES`]). A fetch beyond fails at once with
    /// [`FetchError::Busy`] rather than queueing: the requests that cause fetches are
    /// unauthenticated, and a flood of made-up client ids must not pile up outbound
    /// connections. Cache hits never count. A fetch counts until all its work is done,
    /// including a name resolution that outlives its deadline.
    pub fn max_concurrent_fetches(mut self, fetches: usize) -> Self {
        self.max_concurrent = fetches;
        self
    }

    /// How many fetches may be in flight at once to one origin, `host:port` (default
    /// [`DEFAULT_MAX_CONCURRENT_FETCHES_PER_ORIGIN`]), within
    /// [`max_concurrent_fetches`](Self::max_concurrent_fetches). A fetch beyond fails at
    /// once with [`FetchError::Busy`]: made-up client ids pointing at one slow server
    /// cannot take every place and starve the other clients' fetches.
    pub fn max_concurrent_fetches_per_origin(mut self, fetches: usize) -> Self {
        self.max_concurrent_per_origin = fetches;
        self
    }

    /// **For tests only**, and only with the `test-util` feature (or in this crate's own
    /// tests): a production build cannot call it. Lets loopback addresses pass the SSRF
    /// guard and fetches a URL whose host resolves only to loopback addresses over plain
    /// HTTP, so that a test can serve documents from a local server. Logs a warning when
    /// the fetcher is built.
    #[cfg(any(test, feature = "test-util"))]
    pub fn allow_insecure_loopback_for_tests(mut self) -> Self {
        self.insecure_loopback = true;
        self
    }

    /// Checks the settings and builds the fetcher.
    pub fn build(self) -> Result<HttpFetcher, BuildError> {
        if self.min_ttl > self.max_ttl {
            return Err(BuildError::CacheBounds);
        }
        if self.timeout.is_zero()
            || self.connect_timeout.is_zero()
            || self.first_byte_timeout.is_zero()
        {
            return Err(BuildError::ZeroTimeout);
        }
        if self.max_concurrent == 0 || self.max_concurrent_per_origin == 0 {
            return Err(BuildError::ZeroConcurrency);
        }
        let tls = match self.tls {
            Some(config) => config,
            None => Arc::new(default_tls_config()?),
        };
        if self.insecure_loopback {
            tracing::warn!(
                "client metadata fetcher: TEST MODE, loopback addresses are fetched over plain \
                 HTTP; never use this in production"
            );
        }
        Ok(HttpFetcher {
            inner: Arc::new(Inner {
                timeout: self.timeout,
                connect_timeout: self.connect_timeout,
                first_byte_timeout: self.first_byte_timeout,
                bounds: TtlBounds {
                    min: self.min_ttl,
                    max: self.max_ttl,
                },
                resolver: self.resolver,
                tls: TlsConnector::from(tls),
                insecure_loopback: self.insecure_loopback,
                cache: Mutex::new(DocumentCache::new(self.capacity)),
                user_agent: HeaderValue::from_static(USER_AGENT),
                in_flight: Arc::new(tokio::sync::Semaphore::new(
                    self.max_concurrent.min(tokio::sync::Semaphore::MAX_PERMITS),
                )),
                per_origin: Arc::new(OriginLimits::new(self.max_concurrent_per_origin)),
            }),
        })
    }
}

/// rustls with the `ring` provider, TLS 1.2 and 1.3, and the `webpki-roots` anchors.
fn default_tls_config() -> Result<rustls::ClientConfig, rustls::Error> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    Ok(rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth())
}

/// Whether `ip` is a loopback address, IPv4-mapped included.
fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

impl HttpFetcher {
    /// A builder with the defaults.
    pub fn builder() -> HttpFetcherBuilder {
        HttpFetcherBuilder {
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            first_byte_timeout: DEFAULT_FIRST_BYTE_TIMEOUT,
            min_ttl: DEFAULT_MIN_CACHE_TTL,
            max_ttl: DEFAULT_MAX_CACHE_TTL,
            capacity: DEFAULT_CACHE_CAPACITY,
            resolver: Arc::new(SystemResolver),
            tls: None,
            insecure_loopback: false,
            max_concurrent: DEFAULT_MAX_CONCURRENT_FETCHES,
            max_concurrent_per_origin: DEFAULT_MAX_CONCURRENT_FETCHES_PER_ORIGIN,
        }
    }

    /// The document at `url`, at most `max_bytes` long: from the cache when fresh,
    /// otherwise fetched (see the [crate docs](crate)).
    pub async fn fetch_document(
        &self,
        url: &ClientIdUrl,
        max_bytes: usize,
    ) -> Result<Bytes, FetchError> {
        let inner = &self.inner;
        if let Some(cached) = inner.cached(url, Instant::now()) {
            if cached.len() <= max_bytes {
                return Ok(cached);
            }
        }
        let permits = limits::try_acquire(
            &inner.in_flight,
            &inner.per_origin,
            url.host(),
            url.port(),
        )
        .ok_or_else(|| {
            tracing::warn!(client_id = %url, "client metadata fetch refused: too many in flight");
            FetchError::Busy
        })?;
        // The permits go with the fetch: dropped with it when the deadline passes (the
        // connection closes with it), or kept by a name resolution still running.
        let fetched = tokio::time::timeout(inner.timeout, inner.fetch(url, max_bytes, permits))
            .await
            .map_err(|_| FetchError::Timeout)??;
        match validate_document(url, &fetched.body) {
            Ok(()) => inner.remember(url, &fetched, Instant::now()),
            Err(reason) => {
                tracing::debug!(client_id = %url, ?reason, "invalid client metadata document not cached");
            }
        }
        Ok(fetched.body)
    }

    /// Drops the cached document of `url`, if any (for example after the client reported
    /// a change).
    pub fn forget(&self, url: &str) {
        if let Ok(mut cache) = self.inner.cache.lock() {
            cache.remove(url);
        }
    }

    /// How many documents are cached.
    #[must_use]
    pub fn cached_documents(&self) -> usize {
        self.inner.cache.lock().map_or(0, |cache| cache.len())
    }
}

#[async_trait::async_trait]
impl ClientMetadataFetcher for HttpFetcher {
    async fn fetch(&self, url: &ClientIdUrl, max_bytes: usize) -> Result<Bytes, FetchError> {
        self.fetch_document(url, max_bytes).await
    }
}

impl Inner {
    fn cached(&self, url: &ClientIdUrl, now: Instant) -> Option<Bytes> {
        // A poisoned lock only disables the cache: the next fetch goes to the network.
        self.cache.lock().ok()?.get(url.as_str(), now)
    }

    fn remember(&self, url: &ClientIdUrl, fetched: &Fetched, now: Instant) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(url.as_str(), fetched.body.clone(), fetched.ttl, now);
        }
    }

    /// Whether the SSRF guard lets the fetcher connect to `ip`.
    fn allowed(&self, ip: IpAddr) -> bool {
        !is_special_use_address(ip) || (self.insecure_loopback && is_loopback(ip))
    }

    /// Resolves the URL's host in a task of its own that owns the fetch's `permits`, and
    /// gives them back with the answer. If the caller stops waiting (the deadline), the
    /// task runs on and the permits stay taken until the resolver returns: a resolution
    /// cannot be cancelled (`getaddrinfo` blocks a thread until it is done), and only
    /// this keeps the resolutions in flight within the fetcher's bounds.
    async fn resolve(
        &self,
        url: &ClientIdUrl,
        permits: Permits,
    ) -> Result<(Vec<IpAddr>, Permits), FetchError> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|error| FetchError::Resolve(std::io::Error::other(error)))?;
        let resolver = Arc::clone(&self.resolver);
        let host = url.host().to_owned();
        let port = url.port();
        let lookup = runtime.spawn(async move {
            let answer = resolver.resolve(&host, port).await;
            (answer, permits)
        });
        match lookup.await {
            Ok((Ok(addresses), permits)) => Ok((addresses, permits)),
            Ok((Err(error), _permits)) => Err(FetchError::Resolve(error)),
            Err(failed) => Err(FetchError::Resolve(std::io::Error::other(failed))),
        }
    }

    /// The addresses of the URL's host, each vetted: one resolution, all or nothing. The
    /// permits come back with them (see [`Inner::resolve`]).
    async fn vetted_addresses(
        &self,
        url: &ClientIdUrl,
        permits: Permits,
    ) -> Result<(Vec<SocketAddr>, Permits), FetchError> {
        let (mut addresses, permits) = match url.ip() {
            Some(ip) => (vec![ip], permits),
            None => self.resolve(url, permits).await?,
        };
        let mut seen = Vec::with_capacity(addresses.len());
        addresses.retain(|ip| {
            let new = !seen.contains(ip);
            seen.push(*ip);
            new
        });
        if addresses.is_empty() {
            return Err(FetchError::NoAddress);
        }
        if let Some(refused) = addresses.iter().copied().find(|ip| !self.allowed(*ip)) {
            tracing::warn!(client_id = %url, address = %refused, "client metadata document host resolves to a special-use address");
            return Err(FetchError::SpecialUseAddress(refused));
        }
        let addresses = addresses
            .into_iter()
            .map(|ip| SocketAddr::new(ip, url.port()))
            .collect();
        Ok((addresses, permits))
    }

    /// Connects to the first of `addresses` that answers, each attempt within the
    /// connect timeout.
    async fn connect(&self, addresses: &[SocketAddr]) -> Result<TcpStream, FetchError> {
        let mut last_error = None;
        for address in addresses {
            match tokio::time::timeout(self.connect_timeout, TcpStream::connect(address)).await {
                Ok(Ok(connected)) => return Ok(connected),
                Ok(Err(error)) => last_error = Some(connection_error(error)),
                Err(_) => last_error = Some(FetchError::Timeout),
            }
        }
        Err(last_error.unwrap_or_else(|| {
            connection_error(std::io::Error::new(
                std::io::ErrorKind::NotConnected,
                "no address connected",
            ))
        }))
    }

    /// The whole fetch but the cache, holding `permits` to the end.
    async fn fetch(
        &self,
        url: &ClientIdUrl,
        max_bytes: usize,
        permits: Permits,
    ) -> Result<Fetched, FetchError> {
        let (addresses, _permits) = self.vetted_addresses(url, permits).await?;
        let plaintext =
            self.insecure_loopback && addresses.iter().all(|address| is_loopback(address.ip()));
        let stream = self.connect(&addresses).await?;
        let connected = Instant::now();
        let bounds = self.bounds;
        if plaintext {
            tracing::debug!(client_id = %url, "test mode: fetching over plain HTTP on loopback");
            return exchange::get(
                stream,
                url,
                &self.user_agent,
                max_bytes,
                bounds,
                self.first_byte_timeout,
            )
            .await;
        }
        let server_name = rustls::pki_types::ServerName::try_from(url.host().to_owned())
            .map_err(connection_error)?;
        let tls = tokio::time::timeout(
            self.first_byte_timeout,
            self.tls.connect(server_name, stream),
        )
        .await
        .map_err(|_| FetchError::Timeout)?
        .map_err(connection_error)?;
        // What is left of the first-byte time after the handshake.
        let first_byte = self.first_byte_timeout.saturating_sub(connected.elapsed());
        exchange::get(tls, url, &self.user_agent, max_bytes, bounds, first_byte).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_configuration_builds() {
        let fetcher = HttpFetcher::builder().build().unwrap();
        assert!(!fetcher.inner.insecure_loopback);
        assert_eq!(fetcher.inner.timeout, DEFAULT_TIMEOUT);
        assert!(format!("{fetcher:?}").contains("HttpFetcher"));
    }

    #[test]
    fn inverted_bounds_and_a_zero_timeout_are_refused() {
        assert!(matches!(
            HttpFetcher::builder()
                .cache_ttl(Duration::from_secs(10), Duration::from_secs(1))
                .build(),
            Err(BuildError::CacheBounds)
        ));
        assert!(matches!(
            HttpFetcher::builder().timeout(Duration::ZERO).build(),
            Err(BuildError::ZeroTimeout)
        ));
    }

    #[test]
    fn the_test_mode_lets_only_loopback_through() {
        let fetcher = HttpFetcher::builder()
            .allow_insecure_loopback_for_tests()
            .build()
            .unwrap();
        for loopback in ["127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1"] {
            assert!(
                fetcher.inner.allowed(loopback.parse().unwrap()),
                "{loopback}"
            );
        }
        for special in ["10.0.0.1", "169.254.169.254", "fc00::1", "0.0.0.0", "::"] {
            assert!(
                !fetcher.inner.allowed(special.parse().unwrap()),
                "{special}"
            );
        }
        let strict = HttpFetcher::builder().build().unwrap();
        assert!(!strict.inner.allowed("127.0.0.1".parse().unwrap()));
        assert!(strict.inner.allowed("93.184.216.34".parse().unwrap()));
    }
}
