//! The Model Context Protocol profile: one builder call that makes a provider what the MCP
//! authorization specification asks of an authorization server and of the protected
//! resource (the MCP server) it issues tokens for.
//!
//! ```
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use oauth_core::mcp::McpProfile;
//! use oauth_core::{Issuer, KeyId, Keyring, Provider};
//! # let secret_from_env = [7u8; 32];
//! let provider = Provider::builder(Issuer::new("https://auth.example.com")?)
//!     .keys(Keyring::from_secret(KeyId::new("2026-11")?, &secret_from_env)?)
//!     .store(oauth_store_memory::MemoryStore::new())
//!     .mcp(McpProfile::new("https://mcp.example.com/mcp").scopes(["mcp:tools", "mcp:resources"]))
//!     .build()?;
//! # let _ = provider; Ok(()) }
//! ```
//!
//! [`ConfigBuilder::mcp`](crate::ConfigBuilder::mcp) (and the same method on
//! [`ProviderBuilder`](crate::ProviderBuilder)) *adds* the profile's resource and scopes to
//! whatever was configured before; *sets* what was left unset (the default scope, the 401
//! challenge scope, the registration endpoint and policy), while what the profile sets
//! explicitly, such as [`McpProfile::default_scope`], replaces an earlier value; *forces*
//! the `localhost` redirect port exception on; and records requirements that
//! [`build`](crate::ConfigBuilder::build) checks against the final configuration, so a
//! later call cannot quietly undo them: a weakened [`PkcePolicy`] or a resource without an
//! origin is [`ConfigError::McpProfile`]. Call [`endpoints`](crate::ConfigBuilder::endpoints)
//! *before* `mcp` if you move the endpoints: the profile keeps a registration path that is
//! already set.
//!
//! `docs/mcp.md` in the repository is the guide: what is served where, the resource-server
//! side, and what the host still does (login and consent pages, CORS in the glue).
//!
//! # What each revision requires, and how the profile meets it
//!
//! Revisions: [2025-06-18], [2025-11-25] and 2026-07-28 (the latest; `basic/authorization/`
//! `index.mdx`, `client-registration.mdx`, `security-considerations.mdx`). "AS" is the
//! authorization server, "RS" the MCP server; "—" means the revision says nothing.
//!
//! | requirement | 2025-06-18 | 2025-11-25 | 2026-07-28 | how the profile satisfies it |
//! |---|---|---|---|---|
//! | AS implements OAuth 2.1 for confidential and public clients | MUST | MUST | MUST | the whole library; the profile only tightens it |
//! | AS metadata (RFC 8414) | MUST | MUST (RFC 8414 or OIDC Discovery) | MUST (either) | served by [`Provider::handle`](crate::Provider::handle) at the path-aware RFC 8414 URL; no OIDC Discovery (this is not an OpenID Provider) |
//! | `code_challenge_methods_supported` published (clients refuse to proceed without it) | — | MUST | MUST | always `["S256"]` |
//! | PKCE with S256 | clients MUST use PKCE | clients MUST use S256 | same | required from every client; `plain` refused; a weakened `PkcePolicy` does not build |
//! | RS publishes protected resource metadata (RFC 9728) with ≥ 1 `authorization_servers` | MUST | MUST | MUST | the profile's resource is configured, so its document (`authorization_servers: [issuer]`) is served at the path-aware URL and the root fallback |
//! | RS names its metadata URL in the 401 `WWW-Authenticate` (`resource_metadata`) | MUST | header or well-known URL | same | both: every challenge carries `resource_metadata` |
//! | RS names the needed `scope` in the 401 challenge | — | SHOULD | SHOULD | the challenge scope is the default scope ([`ConfigBuilder::challenge_scope`](crate::ConfigBuilder::challenge_scope)) |
//! | RS answers missing scope with 403 `insufficient_scope`, `scope`, `resource_metadata` | — | SHOULD | SHOULD, every needed scope in one challenge | [`Access::require_scope`](crate::Access::require_scope) |
//! | RS honours scope hierarchies (a broader scope implies narrower ones) | — | — | MUST | [`McpProfile::scope_implies`] |
//! | Status codes 401 / 403 / 400 at the RS | MUST | MUST | MUST | [`BearerError::status`](crate::BearerError::status) |
//! | Clients send `resource` (RFC 8707) at both endpoints; tokens bound to it; upper-case scheme and host accepted | MUST (client) | MUST (client) | MUST (client), AS SHOULD accept upper case | the resource is registered as the audience; a request without `resource` gets it as the single default; `resource` is canonicalised before comparison (checklist C-11) |
//! | RS accepts only tokens issued for it; no pass-through | MUST | MUST | MUST | [`Provider::authenticate`](crate::Provider::authenticate) checks the audience; pass-through is the host's to avoid |
//! | Dynamic client registration (RFC 7591) | SHOULD | MAY | MAY, deprecated | open at `/register` by default, for clients on older revisions (checklist C-13); [`McpProfile::dynamic_registration`] turns it off, [`McpProfile::registration_policy`] protects or reviews it |
//! | Client ID metadata documents | — | SHOULD | SHOULD | on, and advertised, once the host supplies a fetcher (see [`McpProfile::client_id_metadata_documents`]) |
//! | AS rotates refresh tokens of public clients | MUST | MUST | MUST | always, for every client (checklist C-5); reuse revokes the grant |
//! | Short-lived access tokens | SHOULD | SHOULD | SHOULD | one hour by default, at most a day ([`Lifetimes`](crate::Lifetimes)) |
//! | AS endpoints over HTTPS; redirect URIs `localhost` or HTTPS | MUST | MUST | MUST | https issuer (loopback http only in the logged development mode); `http` redirect URIs only for loopback; the `localhost` port exception is on (checklist C-6) |
//! | Exact redirect-URI validation, no redirect to untrusted URIs | MUST | MUST | MUST | exact match (loopback port excepted); errors about the client or redirect URI are never redirected |
//! | `iss` in every authorization response, advertised in metadata | — | — | SHOULD (+ MUST advertise) | always `iss` (RFC 9207), `authorization_response_iss_parameter_supported: true` |
//! | `offline_access` | — | — | clients MAY ask when the AS lists it; RS SHOULD NOT list it | [`OfflineAccess`]: listed in the AS metadata, never in resource metadata or challenges |
//! | MCP proxies using a static client id get consent per dynamically registered client | MUST | MUST | MUST | the host's consent page: every code needs [`Provider::complete_authorization`](crate::Provider::complete_authorization) with the user's decision |
//!
//! [2025-06-18]: https://modelcontextprotocol.io/specification/2025-06-18/basic/authorization
//! [2025-11-25]: https://modelcontextprotocol.io/specification/2025-11-25/basic/authorization
//!
//! # Decisions
//!
//! - **Refresh tokens and `offline_access`.** MCP 2026-07-28 ("Refresh Tokens", from
//!   SEP-2207) leaves issuance to the AS ("the AS retains discretion"), tells clients to
//!   register the `refresh_token` grant and lets them add `offline_access` when the AS
//!   metadata lists it, and tells the RS not to list it. By default
//!   ([`OfflineAccess::Offered`]) the profile lists `offline_access` in the AS
//!   `scopes_supported` (never in the resource metadata or a challenge), accepts it from
//!   every client registered for the `refresh_token` grant whatever `scope` it registered
//!   (from any other client only if its registered `scope` names it: the exemption covers
//!   exactly the clients that may get a refresh token anyway), never puts it in a
//!   client-credentials token (it is ignored there, as OpenID Connect Core §11 ignores it
//!   outside the code flow), and issues a refresh token exactly to clients registered for
//!   the `refresh_token` grant (OAuth 2.1 §4.3, SEP-2207 "Why check client metadata for
//!   grant types?"): current clients that never ask still get one, and a client that asks
//!   but cannot use the grant does not get an unusable long-lived credential. [`OfflineAccess::Required`] is the OpenID Connect convention (Core §11):
//!   a refresh token only when the *approved* scope contains `offline_access`, so the
//!   consent page decides. [`OfflineAccess::NotOffered`] leaves it out.
//! - **Private-use redirect schemes** (`com.example.app:/cb`) stay allowed, as OAuth 2.1
//!   §8.4.3 and RFC 8252 §7.1 allow them for native apps: MCP's "localhost or HTTPS" rule
//!   keeps redirects from crossing a network in clear text, and a private-use scheme never
//!   leaves the device (checklist C-6).
//! - **The resource must have an origin** (`https://`, or `http://` on a loopback host for
//!   local development): an MCP server is reached over HTTP, and its metadata URL and
//!   challenge are built from that origin.

use crate::authorize::PendingAuthorization;
use crate::config::PkcePolicy;
use crate::error::ConfigError;
use crate::registration::RegistrationPolicy;
use crate::resource::Resource;
use crate::scope::OFFLINE_ACCESS;

/// The path of the dynamic registration endpoint the profile opens when none is
/// configured. It is also where clients of the 2025-03-26 revision look without metadata
/// (its "Fallbacks for Servers without Metadata Discovery", beside `/authorize` and
/// `/token`, which are the default paths already).
pub const DEFAULT_REGISTRATION_PATH: &str = "/register";

/// How the profile treats the `offline_access` scope (MCP 2026-07-28 "Refresh Tokens").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OfflineAccess {
    /// Listed in the AS `scopes_supported` (so clients may ask for it), accepted from
    /// every client registered for the `refresh_token` grant whatever `scope` it
    /// registered (from other clients only within their registered `scope`); a refresh
    /// token goes to clients registered for the `refresh_token` grant, whether they ask or
    /// not. The default.
    #[default]
    Offered,
    /// Listed and accepted as with `Offered`, and a refresh token is issued only when the
    /// approved scope contains `offline_access` (OpenID Connect Core §11): the consent
    /// page decides, and a client that does not ask gets none.
    Required,
    /// Not listed; a request naming it is `invalid_scope` (unless the host offers it
    /// through [`ConfigBuilder::scopes`](crate::ConfigBuilder::scopes) itself). Refresh
    /// tokens by registered grant type.
    NotOffered,
}

/// What [`ConfigBuilder::mcp`](crate::ConfigBuilder::mcp) configures: the MCP server's
/// canonical URI, its scopes, and the few choices the specification leaves open.
///
/// Every setting has the default the specification points to; see the
/// [module documentation](self) for the table of requirements. All the options:
///
/// ```
/// # fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use oauth_core::{McpProfile, OfflineAccess, RegistrationPolicy, Secret};
/// # let initial_access_token_from_env = "iat-0123456789abcdefghijklmnopqrstuvwxyz".to_owned();
/// let profile = McpProfile::new("https://mcp.example.com/mcp")
///     .scopes(["files:read", "files:write"]) // the MCP server's scopes
///     .default_scope(["files:read"]) // granted without `scope`, named in a 401
///     .scope_implies("files:write", ["files:read"])
///     // Registration protected by a host-issued initial access token;
///     // `.dynamic_registration(false)` would close it (no endpoint, nothing advertised).
///     .registration_policy(RegistrationPolicy::initial_access_tokens([(
///         "ops",
///         Secret::new(initial_access_token_from_env),
///     )]))
///     .offline_access(OfflineAccess::Required) // refresh tokens only with offline_access
///     .client_id_metadata_documents(false); // keep CIMD off even with a fetcher
/// # let provider = oauth_core::Provider::builder(oauth_core::Issuer::new("https://auth.example.com")?)
/// #     .keys(oauth_core::Keyring::from_secret(oauth_core::KeyId::new("k")?, &[7u8; 32])?)
/// #     .store(oauth_store_memory::MemoryStore::new())
/// #     .mcp(profile)
/// #     .build()?;
/// # assert!(provider.config().registration_enabled());
/// # Ok(()) }
/// # demo().unwrap();
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct McpProfile {
    pub(crate) resource: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) default_scope: Option<Vec<String>>,
    pub(crate) scope_hierarchy: Vec<(String, String)>,
    pub(crate) dynamic_registration: bool,
    pub(crate) registration_policy: Option<RegistrationPolicy>,
    pub(crate) offline_access: OfflineAccess,
    pub(crate) client_id_metadata_documents: bool,
}

impl McpProfile {
    /// The profile for the MCP server at `resource`: its canonical URI (MCP "Canonical
    /// Server URI"), for example `https://mcp.example.com/mcp`. It becomes a configured
    /// resource (RFC 8707 audience) with its protected resource metadata.
    pub fn new(resource: impl Into<String>) -> Self {
        McpProfile {
            resource: resource.into(),
            scopes: Vec::new(),
            default_scope: None,
            scope_hierarchy: Vec::new(),
            dynamic_registration: true,
            registration_policy: None,
            offline_access: OfflineAccess::default(),
            client_id_metadata_documents: true,
        }
    }

    /// The scopes the MCP server defines (added to the offered scopes, and listed in its
    /// resource metadata). Without any, tokens carry no scope, and clients send none
    /// (MCP "Scope Selection Strategy": no `scopes_supported`, no `scope` parameter).
    pub fn scopes<I, T>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.scopes.extend(scopes.into_iter().map(Into::into));
        self
    }

    /// The scope granted to a request that names none, also named in 401 challenges.
    /// Default: a default scope configured on the builder before the profile, else every
    /// scope of [`scopes`](Self::scopes), which MCP describes as "the minimal set of
    /// scopes necessary for basic functionality" that a client without other guidance
    /// requests.
    pub fn default_scope<I, T>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.default_scope = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// Declares that a token carrying `broader` satisfies a requirement for each of
    /// `narrower` at the resource server (MCP 2026-07-28: servers MUST account for scope
    /// hierarchies). Same as [`ConfigBuilder::scope_implies`](crate::ConfigBuilder::scope_implies).
    pub fn scope_implies<I, T>(mut self, broader: impl Into<String>, narrower: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        let broader = broader.into();
        self.scope_hierarchy.extend(
            narrower
                .into_iter()
                .map(|narrower| (broader.clone(), narrower.into())),
        );
        self
    }

    /// Whether dynamic client registration (RFC 7591) is served (default `true`, at
    /// [`DEFAULT_REGISTRATION_PATH`] unless a path is configured). MCP 2025-06-18 clients
    /// rely on it (SHOULD there); 2025-11-25 makes it MAY and 2026-07-28 deprecates it in
    /// favour of client ID metadata documents. `false` closes it: no endpoint, nothing
    /// advertised.
    pub fn dynamic_registration(mut self, enabled: bool) -> Self {
        self.dynamic_registration = enabled;
        self
    }

    /// Who may register and how registrations are reviewed, when dynamic registration
    /// is on. Default: [`RegistrationPolicy::open`] (anyone, as MCP clients expect), unless
    /// a policy was configured on the builder before the profile. A
    /// [`closed`](RegistrationPolicy::closed) policy is the same as
    /// `dynamic_registration(false)`.
    pub fn registration_policy(mut self, policy: RegistrationPolicy) -> Self {
        self.registration_policy = Some(policy);
        self
    }

    /// How `offline_access` is offered and honoured (default [`OfflineAccess::Offered`]).
    pub fn offline_access(mut self, offline_access: OfflineAccess) -> Self {
        self.offline_access = offline_access;
        self
    }

    /// Whether the profile switches on client ID metadata documents (an https URL as
    /// `client_id`, MCP 2025-11-25 and later: SHOULD). Default `true`.
    ///
    /// Resolving such a client means fetching its document, which the sans-IO core does
    /// through the host's
    /// [`ClientMetadataFetcher`](crate::client_metadata_document::ClientMetadataFetcher).
    /// So the profile enables them once the host has supplied one:
    /// [`ProviderBuilder::build`](crate::ProviderBuilder::build) turns
    /// [`client_id_metadata_documents`](crate::ConfigBuilder::client_id_metadata_documents)
    /// on when this flag is set and
    /// [`client_metadata_fetcher`](crate::ProviderBuilder::client_metadata_fetcher) was
    /// given. Without a fetcher, `client_id` URLs are unknown clients,
    /// `client_id_metadata_document_supported` is not advertised, and MCP clients fall back
    /// to dynamic registration. `false` leaves the setting as the builder has it (off
    /// unless turned on explicitly). A host building a [`Config`](crate::Config) for
    /// [`Provider::new`](crate::Provider::new) turns it on itself.
    pub fn client_id_metadata_documents(mut self, enabled: bool) -> Self {
        self.client_id_metadata_documents = enabled;
        self
    }

    /// The MCP server's URI as given.
    #[must_use]
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// Whether the profile asks for client ID metadata documents (see
    /// [`client_id_metadata_documents`](Self::client_id_metadata_documents)).
    #[must_use]
    pub fn wants_client_id_metadata_documents(&self) -> bool {
        self.client_id_metadata_documents
    }

    /// The `offline_access` treatment chosen.
    #[must_use]
    pub fn offline_access_policy(&self) -> OfflineAccess {
        self.offline_access
    }

    /// The scopes the MCP server defines, without `offline_access` (which is never a
    /// resource's scope).
    pub(crate) fn resource_scopes(&self) -> impl Iterator<Item = &String> {
        self.scopes.iter().filter(|s| *s != OFFLINE_ACCESS)
    }
}

/// What [`ConfigBuilder::build`](crate::ConfigBuilder::build) checks when the MCP profile
/// was applied: the parts of the profile a later builder call could undo.
#[derive(Clone, Debug)]
pub(crate) struct McpRequirements {
    pub(crate) resource: String,
    /// Whether [`ProviderBuilder::build`](crate::ProviderBuilder::build) switches client
    /// ID metadata documents on when a fetcher is set.
    pub(crate) client_id_metadata_documents: bool,
}

impl McpRequirements {
    /// The checks of the profile against the final configuration; the resource is the
    /// configured (canonical) one.
    pub(crate) fn check(&self, pkce: &PkcePolicy) -> Result<Resource, ConfigError> {
        // MCP (all revisions, "Authorization Code Protection"): clients use PKCE with
        // S256; the profile keeps the OAuth 2.1 default (S256 from every client, no plain).
        if *pkce != PkcePolicy::default() {
            return Err(ConfigError::McpProfile(
                "the MCP profile requires PKCE with S256 from every client",
            ));
        }
        let resource = Resource::parse(&self.resource).map_err(|_| ConfigError::InvalidResource)?;
        let url = url::Url::parse(resource.as_str()).map_err(|_| ConfigError::InvalidResource)?;
        let loopback = match url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d == "localhost",
            None => false,
        };
        let reachable = url.host().is_some()
            && (url.scheme() == "https" || (url.scheme() == "http" && loopback));
        if !reachable || resource.metadata_url().is_none() {
            return Err(ConfigError::McpProfile(
                "the MCP server URI must be an https URL (http only on a loopback host)",
            ));
        }
        Ok(resource)
    }
}

/// Where an authorization response will go, as MCP asks the consent page to show it
/// (2026-07-28 "Localhost Redirect URI Risks": the AS MUST clearly display the redirect
/// URI's host name, and SHOULD warn when it is `localhost`, which any local program can
/// listen on).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedirectTarget {
    /// The host name of the redirect URI, or the scheme for a private-use URI
    /// (`com.example.app`), which has none.
    pub host: String,
    /// Whether the redirect goes to this device's loopback interface (`localhost`,
    /// `127.0.0.1`, `[::1]`): show a warning that the client's identity is not proven.
    pub loopback: bool,
}

impl RedirectTarget {
    /// The redirect target of a validated authorization request.
    #[must_use]
    pub fn of(pending: &PendingAuthorization) -> Option<RedirectTarget> {
        Self::of_uri(pending.redirect_uri())
    }

    /// The redirect target of a redirect URI.
    #[must_use]
    pub fn of_uri(uri: &str) -> Option<RedirectTarget> {
        let url = url::Url::parse(uri).ok()?;
        let (host, loopback) = match url.host() {
            Some(url::Host::Ipv4(ip)) => (ip.to_string(), ip.is_loopback()),
            Some(url::Host::Ipv6(ip)) => (format!("[{ip}]"), ip.is_loopback()),
            Some(url::Host::Domain(d)) => (d.to_owned(), d.eq_ignore_ascii_case("localhost")),
            None => (url.scheme().to_owned(), false),
        };
        Some(RedirectTarget { host, loopback })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mcp_4_requirements_refuse_every_weakened_pkce_policy() {
        let req = McpRequirements {
            resource: "https://mcp.example.com/mcp".into(),
            client_id_metadata_documents: true,
        };
        assert!(req.check(&PkcePolicy::default()).is_ok());
        for weak in [
            PkcePolicy {
                allow_plain: true,
                ..PkcePolicy::default()
            },
            PkcePolicy {
                require_for_confidential_clients: false,
                ..PkcePolicy::default()
            },
        ] {
            assert!(matches!(req.check(&weak), Err(ConfigError::McpProfile(_))));
        }
    }

    #[test]
    fn mcp_10_resource_must_be_https_or_loopback_http() {
        let check = |r: &str| {
            McpRequirements {
                resource: r.into(),
                client_id_metadata_documents: true,
            }
            .check(&PkcePolicy::default())
        };
        assert!(check("https://mcp.example.com/mcp").is_ok());
        assert!(check("http://localhost:3000/mcp").is_ok());
        assert!(check("http://127.0.0.1:3000/mcp").is_ok());
        assert!(matches!(
            check("http://mcp.example.com/mcp"),
            Err(ConfigError::McpProfile(_))
        ));
        assert!(matches!(
            check("urn:example:mcp"),
            Err(ConfigError::McpProfile(_))
        ));
        assert_eq!(
            check("https://mcp.example.com/mcp#x"),
            Err(ConfigError::InvalidResource)
        );
    }

    #[test]
    fn mcp_7_redirect_target_names_the_host_and_flags_loopback() {
        let target = |u: &str| RedirectTarget::of_uri(u).unwrap();
        assert_eq!(
            target("https://client.example/cb"),
            RedirectTarget {
                host: "client.example".into(),
                loopback: false
            }
        );
        assert!(target("http://localhost:3000/callback").loopback);
        assert!(target("http://127.0.0.1:53117/callback").loopback);
        assert!(target("http://[::1]:8080/cb").loopback);
        assert_eq!(target("http://[::1]:8080/cb").host, "[::1]");
        assert_eq!(
            target("com.example.app:/oauth/cb"),
            RedirectTarget {
                host: "com.example.app".into(),
                loopback: false
            }
        );
    }

    #[test]
    fn profile_defaults_follow_the_specification() {
        let p = McpProfile::new("https://mcp.example.com/mcp");
        assert!(p.dynamic_registration);
        assert!(p.registration_policy.is_none());
        assert!(p.wants_client_id_metadata_documents());
        assert_eq!(p.offline_access_policy(), OfflineAccess::Offered);
        let p = p.scopes(["a", OFFLINE_ACCESS, "b"]);
        assert_eq!(p.resource_scopes().collect::<Vec<_>>(), ["a", "b"]);
    }
}
