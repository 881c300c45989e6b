//! Host name resolution, behind a trait so that tests (and hosts with their own DNS) can
//! replace it.

use std::net::IpAddr;

/// Resolves a host name to the addresses the fetcher may connect to.
///
/// The fetcher resolves once per fetch, checks *every* address it gets against the SSRF
/// guard, and connects only to those addresses: it never hands the name to anything that
/// would resolve it again, so a DNS answer that changes between the check and the
/// connection (DNS rebinding) cannot reach a special-use address.
#[async_trait::async_trait]
pub trait Resolver: Send + Sync {
    /// The addresses of `host` (a domain name, never an IP literal: the fetcher uses an IP
    /// literal directly). `port` is the port that will be used, for resolvers that need it.
    async fn resolve(&self, host: &str, port: u16) -> std::io::Result<Vec<IpAddr>>;
}

/// The system resolver (`getaddrinfo`), through [`tokio::net::lookup_host`].
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
