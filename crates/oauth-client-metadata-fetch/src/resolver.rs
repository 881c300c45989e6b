//! Host name resolution, behind a trait so that tests (and hosts with their own DNS) can
//! replace it.

use std::net::IpAddr;

/// Resolves a host name to the addresses the fetcher may connect to.
///
/// The fetcher resolves once per fetch, checks *every* address it gets against the SSRF
/// guard, and connects only to those addresses: it never hands the name to anything that
/// would resolve it again, so a DNS answer that changes between the check and the
/// connection (DNS rebinding) cannot reach a special-use address.
///
/// An error of kind [`NotFound`](std::io::ErrorKind::NotFound) says the name does not
/// exist: the client's fault, answered with `invalid_client`. Any other error is taken for
/// a temporary failure (503 `temporarily_unavailable`, see
/// [`FetchError::is_transient`](crate::FetchError::is_transient)).
///
/// The fetcher calls `resolve` in a task of its own that keeps the fetch's place under the
/// concurrency bounds until `resolve` returns, even after the fetch's deadline has passed
/// (the caller is answered at the deadline). A resolver that never returns keeps its place
/// forever: bound the time a resolution may take.
#[async_trait::async_trait]
pub trait Resolver: Send + Sync {
    /// The addresses of `host` (a domain name, never an IP literal: the fetcher uses an IP
    /// literal directly). `port` is the port that will be used, for resolvers that need it.
    async fn resolve(&self, host: &str, port: u16) -> std::io::Result<Vec<IpAddr>>;
}

/// The system resolver (`getaddrinfo`), through [`tokio::net::lookup_host`], on a thread
/// of tokio's blocking pool that runs until `getaddrinfo` returns (its time is bounded by
/// the system's resolver configuration, `resolv.conf` on Unix). Its errors do not tell a
/// name that does not exist from a resolver that failed, so every one counts as temporary.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemResolver;

#[async_trait::async_trait]
impl Resolver for SystemResolver {
    async fn resolve(&self, host: &str, port: u16) -> std::io::Result<Vec<IpAddr>> {
        let mut addresses: Vec<IpAddr> = Vec::new();
        for address in tokio::net::lookup_host((host, port)).await? {
            if !addresses.contains(&address.ip()) {
                addresses.push(address.ip());
            }
        }
        Ok(addresses)
    }
}
