//! The server's configuration: issuer, keys, policies and lifetimes.
//!
//! Defaults are the secure ones (PKCE S256 for every client, `plain` off, short codes,
//! rotation of refresh tokens, shorter refresh lifetimes for public clients); every
//! leniency is an explicit, documented switch.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::crypto::Keyring;
use crate::error::ConfigError;
use crate::events::{EventSink, TracingEvents};
use crate::model::ClientId;
use crate::random::{OsRandom, SecureRandom};
use crate::redirect_uri::MatchOptions;
use crate::resource::{Resource, ResourceSet};
use crate::scope::Scope;

/// The authorization server's issuer identifier (RFC 8414 §2, RFC 9207).
///
/// Configured, never taken from a request (RFC 9700 §4.13): an https URL without query or
/// fragment, compared and emitted exactly as given.
#[derive(Clone, PartialEq, Eq)]
pub struct Issuer(String);

impl Issuer {
    /// An https issuer without query or fragment (OAuth 2.1 §1.5).
    pub fn new(issuer: impl Into<String>) -> Result<Issuer, ConfigError> {
        let issuer = issuer.into();
        let url = url::Url::parse(&issuer).map_err(|_| ConfigError::InvalidIssuer)?;
        if url.scheme() != "https" {
            return Err(ConfigError::InvalidIssuer);
        }
        Self::check_shape(&url, &issuer)?;
        Ok(Issuer(issuer))
    }

    /// An `http` issuer on a loopback address, for local development only. Logs a warning,
    /// because tokens then travel in clear text.
    pub fn insecure_loopback_for_development(
        issuer: impl Into<String>,
    ) -> Result<Issuer, ConfigError> {
        let issuer = issuer.into();
        let url = url::Url::parse(&issuer).map_err(|_| ConfigError::InvalidIssuer)?;
        let loopback = match url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d == "localhost",
            None => false,
        };
        if !(url.scheme() == "https" || (url.scheme() == "http" && loopback)) {
            return Err(ConfigError::InvalidIssuer);
        }
        Self::check_shape(&url, &issuer)?;
        tracing::warn!(
            issuer = %issuer,
            "DEVELOPMENT MODE: plain-http loopback issuer; never use this in production"
        );
        Ok(Issuer(issuer))
    }

    fn check_shape(url: &url::Url, raw: &str) -> Result<(), ConfigError> {
        if url.query().is_some() || url.fragment().is_some() || raw.contains(['?', '#']) {
            return Err(ConfigError::InvalidIssuer);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ConfigError::InvalidIssuer);
        }
        // The authorization server metadata is served below the issuer's path
        // (RFC 8414 §3.1), and glue crates register that path verbatim as a route.
        if has_route_pattern_segment(url.path()) {
            return Err(ConfigError::InvalidIssuer);
        }
        Ok(())
    }

    /// The issuer exactly as configured.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Issuer({:?})", self.0)
    }
}

/// Where the server's endpoints live: paths below the issuer's origin. The metadata
/// document (RFC 8414) advertises them as absolute URLs built from the issuer.
///
/// Each path must be absolute, distinct, without a trailing slash, query or fragment, and
/// without the characters routers read as patterns (`{`, `}`, `*`, `:`); otherwise the
/// configuration does not build ([`ConfigError::InvalidEndpointPath`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoints {
    /// The authorization endpoint. Default `/authorize`.
    pub authorization: String,
    /// The token endpoint. Default `/token`.
    pub token: String,
    /// The revocation endpoint (RFC 7009). Default `/revoke`.
    pub revocation: String,
    /// The introspection endpoint (RFC 7662). Default `/introspect`.
    pub introspection: String,
    /// The registration endpoint (RFC 7591), when dynamic registration is enabled.
    /// Default `None` (closed).
    pub registration: Option<String>,
}

impl Default for Endpoints {
    fn default() -> Self {
        Endpoints {
            authorization: "/authorize".to_owned(),
            token: "/token".to_owned(),
            revocation: "/revoke".to_owned(),
            introspection: "/introspect".to_owned(),
            registration: None,
        }
    }
}

impl Endpoints {
    /// Every path is absolute, has no query, fragment, whitespace, empty segment or
    /// trailing slash, and none of the characters routers read as patterns (`{`, `}`,
    /// `*`, `:`), so glue crates can register it verbatim; no two endpoints share a path
    /// (one would shadow the other).
    fn validate(&self) -> Result<(), ConfigError> {
        let paths: Vec<&String> = [
            Some(&self.authorization),
            Some(&self.token),
            Some(&self.revocation),
            Some(&self.introspection),
            self.registration.as_ref(),
        ]
        .into_iter()
        .flatten()
        .collect();
        let well_formed = paths.iter().all(|p| {
            p.len() > 1
                && p.starts_with('/')
                && !p.ends_with('/')
                && !p.contains("//")
                && !p.contains(['?', '#'])
                && !has_route_pattern_chars(p)
                && !p
                    .bytes()
                    .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        });
        let distinct = paths
            .iter()
            .enumerate()
            .all(|(i, p)| paths.iter().skip(i + 1).all(|q| q != p));
        if well_formed && distinct {
            Ok(())
        } else {
            Err(ConfigError::InvalidEndpointPath)
        }
    }
}

/// Whether `path` has a character routers read as a pattern (`{`, `}`, `*`, `:`): the
/// endpoint paths the host chooses are kept free of all of them.
fn has_route_pattern_chars(path: &str) -> bool {
    path.contains(['{', '}', '*', ':'])
}

/// Whether the path of a discovery URL (below the issuer or a resource) could not be
/// registered verbatim: a `{` or `}` (a capture), or a segment starting with `:` or `*`
/// (axum refuses those at startup). Inside a segment `:` and `*` are literal, and a URL
/// path never holds a raw brace (`url` percent-encodes them), so legitimate issuers and
/// resources such as `https://as.example/t:1` still pass.
fn has_route_pattern_segment(path: &str) -> bool {
    path.contains(['{', '}'])
        || path
            .split('/')
            .any(|segment| segment.starts_with([':', '*']))
}

/// Lifetimes of what the server issues, in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lifetimes {
    /// Authorization codes (at most 600, OAuth 2.1 §4.1.2). Default 60.
    pub authorization_code: u64,
    /// Access tokens. Default 3600.
    pub access_token: u64,
    /// Refresh tokens of confidential clients: idle lifetime, renewed at each rotation up
    /// to the grant's end. Default 30 days.
    pub refresh_token: u64,
    /// Refresh tokens of public clients: shorter, to limit the exposure of tokens issued
    /// without authentication (OAuth 2.1 §2.4). Default 7 days.
    pub public_refresh_token: u64,
    /// Grants: the absolute end of every refresh chain. Default 90 days.
    pub grant: u64,
    /// Pending-authorization tickets (the user's time on the login and consent pages).
    /// Default 600.
    pub ticket: u64,
}

impl Default for Lifetimes {
    fn default() -> Self {
        Lifetimes {
            authorization_code: 60,
            access_token: 3600,
            refresh_token: 30 * 24 * 3600,
            public_refresh_token: 7 * 24 * 3600,
            grant: 90 * 24 * 3600,
            ticket: 600,
        }
    }
}

impl Lifetimes {
    fn validate(&self) -> Result<(), ConfigError> {
        let check = |value: u64, max: u64, name: &'static str| {
            if value == 0 || value > max {
                Err(ConfigError::InvalidLifetime(name))
            } else {
                Ok(())
            }
        };
        check(self.authorization_code, 600, "authorization_code")?;
        check(self.access_token, 24 * 3600, "access_token")?;
        check(self.refresh_token, self.grant, "refresh_token")?;
        check(
            self.public_refresh_token,
            self.refresh_token,
            "public_refresh_token",
        )?;
        check(self.grant, 10 * 365 * 24 * 3600, "grant")?;
        check(self.ticket, 3600, "ticket")
    }
}

/// PKCE policy. The defaults follow OAuth 2.1 and RFC 9700: S256 for every client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PkcePolicy {
    /// Require a challenge from confidential clients too (OAuth 2.1 §7.5.1.1). Public
    /// clients always need one. Default `true`; turning it off is the nonce exception of
    /// checklist conflict C-1 and is the host's responsibility.
    pub require_for_confidential_clients: bool,
    /// Accept `code_challenge_method=plain`. Default `false` (RFC 7636 §7.2).
    pub allow_plain: bool,
}

impl Default for PkcePolicy {
    fn default() -> Self {
        PkcePolicy {
            require_for_confidential_clients: true,
            allow_plain: false,
        }
    }
}

/// Everything the machine needs to decide, fixed at start-up.
#[derive(Clone)]
pub struct Config {
    pub(crate) issuer: Issuer,
    pub(crate) keyring: Keyring,
    pub(crate) random: Arc<dyn SecureRandom>,
    pub(crate) events: Arc<dyn EventSink>,
    pub(crate) scopes: Scope,
    pub(crate) default_scope: Option<Scope>,
    pub(crate) resources: ResourceSet,
    pub(crate) require_resource: bool,
    pub(crate) lifetimes: Lifetimes,
    pub(crate) pkce: PkcePolicy,
    pub(crate) redirect_matching: MatchOptions,
    pub(crate) issue_refresh_tokens: bool,
    pub(crate) refresh_grace: u64,
    pub(crate) max_body_bytes: usize,
    /// Whether a `client_id` that is an https URL is resolved through its client ID
    /// metadata document.
    pub(crate) client_metadata_documents: bool,
    /// The largest client ID metadata document accepted, in bytes.
    pub(crate) client_metadata_document_max_bytes: usize,
    pub(crate) endpoints: Endpoints,
    pub(crate) realm: String,
    /// The resources each resource-server client may introspect tokens for (RFC 7662).
    pub(crate) introspection_resources: BTreeMap<ClientId, ResourceSet>,
    /// Dynamic client registration (RFC 7591, RFC 7592).
    pub(crate) registration: crate::registration::Settings,
    /// The `scope` named in 401 bearer challenges (MCP 2025-11-25 and later: SHOULD).
    pub(crate) challenge_scope: Option<Scope>,
    /// Which scopes imply which at the resource server (MCP 2026-07-28: MUST).
    pub(crate) scope_hierarchy: Arc<crate::scope::ScopeHierarchy>,
    /// Refresh tokens only when the approved scope contains `offline_access`.
    pub(crate) refresh_requires_offline_access: bool,
    /// The MCP server's resource, when the MCP profile was applied.
    pub(crate) mcp_resource: Option<Resource>,
    /// The host accepted a store that cannot keep single use ([`crate::SingleUse`]).
    pub(crate) accept_store_without_atomic_single_use: bool,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("issuer", &self.issuer)
            .field("keyring", &self.keyring)
            .field("scopes", &self.scopes)
            .field("resources", &self.resources)
            .field("lifetimes", &self.lifetimes)
            .field("pkce", &self.pkce)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// Starts a configuration for `issuer`.
    pub fn builder(issuer: Issuer) -> ConfigBuilder {
        ConfigBuilder {
            issuer,
            keyring: None,
            random: Arc::new(OsRandom),
            events: Arc::new(TracingEvents),
            scopes: Vec::new(),
            default_scope: None,
            resources: Vec::new(),
            require_resource: false,
            lifetimes: Lifetimes::default(),
            pkce: PkcePolicy::default(),
            redirect_matching: MatchOptions::default(),
            issue_refresh_tokens: true,
            refresh_grace: 0,
            max_body_bytes: 16 * 1024,
            client_metadata_documents: false,
            client_metadata_document_max_bytes:
                crate::client_metadata_document::DEFAULT_MAX_DOCUMENT_BYTES,
            endpoints: Endpoints::default(),
            realm: None,
            introspection_resources: Vec::new(),
            registration: None,
            challenge_scope: None,
            scope_hierarchy: Vec::new(),
            refresh_requires_offline_access: false,
            accept_store_without_atomic_single_use: false,
            mcp: None,
        }
    }

    /// The issuer.
    #[must_use]
    pub fn issuer(&self) -> &Issuer {
        &self.issuer
    }

    /// The largest request body the endpoints accept; glue enforces it before reading.
    #[must_use]
    pub fn max_body_bytes(&self) -> usize {
        self.max_body_bytes
    }

    /// The configured resources (audiences).
    #[must_use]
    pub fn resources(&self) -> &ResourceSet {
        &self.resources
    }

    /// The scopes the server offers.
    #[must_use]
    pub fn scopes(&self) -> &Scope {
        &self.scopes
    }

    /// The token endpoint's path.
    #[must_use]
    pub fn token_path(&self) -> &str {
        &self.endpoints.token
    }

    /// Where the endpoints live.
    #[must_use]
    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// The lifetimes in force.
    #[must_use]
    pub fn lifetimes(&self) -> &Lifetimes {
        &self.lifetimes
    }

    /// Whether dynamic client registration (RFC 7591) is served. The build refuses a
    /// registration policy that contradicts [`Endpoints::registration`], so this is
    /// `endpoints().registration.is_some()`.
    #[must_use]
    pub fn registration_enabled(&self) -> bool {
        self.endpoints.registration.is_some()
            && !matches!(
                self.registration.access,
                crate::registration::Access::Closed
            )
    }

    /// The MCP server's resource (canonical), when the [MCP profile](crate::mcp) was
    /// applied: the one to pass to
    /// [`Provider::authenticate_for`](crate::Provider::authenticate_for) when other
    /// resources are configured too.
    #[must_use]
    pub fn mcp_resource(&self) -> Option<&Resource> {
        self.mcp_resource.as_ref()
    }

    /// The `scope` named in 401 bearer challenges, if any.
    #[must_use]
    pub fn challenge_scope(&self) -> Option<&Scope> {
        self.challenge_scope.as_ref()
    }
}

/// Builds a [`Config`]; see [`Config::builder`].
#[must_use]
pub struct ConfigBuilder {
    issuer: Issuer,
    keyring: Option<Keyring>,
    random: Arc<dyn SecureRandom>,
    events: Arc<dyn EventSink>,
    scopes: Vec<String>,
    default_scope: Option<Vec<String>>,
    resources: Vec<String>,
    require_resource: bool,
    lifetimes: Lifetimes,
    pkce: PkcePolicy,
    redirect_matching: MatchOptions,
    issue_refresh_tokens: bool,
    refresh_grace: u64,
    max_body_bytes: usize,
    client_metadata_documents: bool,
    client_metadata_document_max_bytes: usize,
    endpoints: Endpoints,
    realm: Option<String>,
    introspection_resources: Vec<(String, String)>,
    registration: Option<crate::registration::RegistrationPolicy>,
    challenge_scope: Option<Vec<String>>,
    scope_hierarchy: Vec<(String, String)>,
    refresh_requires_offline_access: bool,
    mcp: Option<crate::mcp::McpRequirements>,
    accept_store_without_atomic_single_use: bool,
}

impl ConfigBuilder {
    /// The server's keys. Required: there is no built-in key.
    pub fn keys(mut self, keyring: Keyring) -> Self {
        self.keyring = Some(keyring);
        self
    }

    /// The random source (default: the OS CSPRNG). Replace only in tests.
    pub fn random(mut self, random: Arc<dyn SecureRandom>) -> Self {
        self.random = random;
        self
    }

    /// Where security events go (default: `tracing` warnings). Use it to throttle
    /// clients that fail authentication and to feed an audit log.
    pub fn events(mut self, events: Arc<dyn EventSink>) -> Self {
        self.events = events;
        self
    }

    /// The scopes the server offers. Requests for others are `invalid_scope`.
    pub fn scopes<I, T>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// The scope granted when a request names none (OAuth 2.1 §1.4.1). Without it, a
    /// request without `scope` is `invalid_scope`.
    pub fn default_scope<I, T>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.default_scope = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// Adds a protected resource (RFC 8707 audience) this server issues tokens for.
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resources.push(resource.into());
        self
    }

    /// Requires every authorization and client-credentials request to name a resource
    /// (RFC 8707 §2: otherwise every configured resource is the audience).
    pub fn require_resource(mut self, require: bool) -> Self {
        self.require_resource = require;
        self
    }

    /// Lifetimes of codes, tokens, grants and tickets.
    pub fn lifetimes(mut self, lifetimes: Lifetimes) -> Self {
        self.lifetimes = lifetimes;
        self
    }

    /// PKCE policy; the default requires S256 from every client.
    pub fn pkce(mut self, pkce: PkcePolicy) -> Self {
        if !pkce.require_for_confidential_clients || pkce.allow_plain {
            tracing::warn!(?pkce, "PKCE policy weakened from the OAuth 2.1 default");
        }
        self.pkce = pkce;
        self
    }

    /// Redirect-URI matching options (the `localhost` port exception).
    pub fn redirect_matching(mut self, options: MatchOptions) -> Self {
        self.redirect_matching = options;
        self
    }

    /// Whether clients registered for `refresh_token` get refresh tokens (default true).
    pub fn issue_refresh_tokens(mut self, issue: bool) -> Self {
        self.issue_refresh_tokens = issue;
        self
    }

    /// A grace period, in seconds, after a refresh-token rotation: within it, the client
    /// that presents the *previous* token again (a retry after a lost response) gets the
    /// same successor once, instead of having its grant revoked. Off (0) by default; at
    /// most 60. Any other reuse still revokes the grant.
    pub fn refresh_token_grace(mut self, seconds: u64) -> Self {
        self.refresh_grace = seconds;
        self
    }

    /// The largest request body accepted (default 16 KiB).
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// The token endpoint's path (default `/token`).
    pub fn token_path(mut self, path: impl Into<String>) -> Self {
        self.endpoints.token = path.into();
        self
    }

    /// Where the endpoints live (paths below the issuer's origin).
    pub fn endpoints(mut self, endpoints: Endpoints) -> Self {
        self.endpoints = endpoints;
        self
    }

    /// The `realm` of bearer challenges (default: the issuer).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Some(realm.into());
        self
    }

    /// Declares the client `client_id` a resource server for `resource` (one of the
    /// configured [`resource`](Self::resource)s), for token introspection (RFC 7662):
    /// besides the tokens issued to it, that client may introspect every access token
    /// whose audience contains `resource`, and no other. Call once per pair. Only
    /// confidential clients may introspect, so register the client with a secret.
    pub fn introspection_resource(
        mut self,
        client_id: impl Into<String>,
        resource: impl Into<String>,
    ) -> Self {
        self.introspection_resources
            .push((client_id.into(), resource.into()));
        self
    }

    /// Who may register clients dynamically (RFC 7591) and how registrations are
    /// reviewed. Registration is served at [`Endpoints::registration`]; with a path and no
    /// policy it is [open](crate::registration::RegistrationPolicy::open). A policy other
    /// than [closed](crate::registration::RegistrationPolicy::closed) without a path, or
    /// a closed one with a path, is a build error.
    pub fn registration(mut self, policy: crate::registration::RegistrationPolicy) -> Self {
        self.registration = Some(policy);
        self
    }

    /// Checks and freezes the configuration.
    pub fn build(self) -> Result<Config, ConfigError> {
        let keyring = self.keyring.ok_or(ConfigError::MissingKeyring)?;
        let scopes = Scope::from_tokens(self.scopes).map_err(|_| ConfigError::InvalidScope)?;
        let default_scope = match self.default_scope {
            Some(tokens) => {
                let scope = Scope::from_tokens(tokens).map_err(|_| ConfigError::InvalidScope)?;
                if !scope.is_subset_of(&scopes) {
                    return Err(ConfigError::InvalidScope);
                }
                Some(scope)
            }
            None => None,
        };
        let resources = self
            .resources
            .iter()
            .map(|r| Resource::parse(r).map_err(|_| ConfigError::InvalidResource))
            .collect::<Result<ResourceSet, _>>()?;
        // Each resource's metadata is served below its path (RFC 9728 §3.1), which glue
        // crates register verbatim as a route.
        for resource in resources.iter() {
            if let Some(url) = resource.metadata_url() {
                let routable =
                    url::Url::parse(&url).is_ok_and(|u| !has_route_pattern_segment(u.path()));
                if !routable {
                    return Err(ConfigError::InvalidResource);
                }
            }
        }
        // Each introspecting resource server is declared for a resource this server issues
        // tokens for; anything else is a typo that would silently never match.
        let mut introspection_resources: BTreeMap<ClientId, Vec<Resource>> = BTreeMap::new();
        for (client_id, resource) in &self.introspection_resources {
            let resource = Resource::parse(resource).map_err(|_| ConfigError::InvalidResource)?;
            if !resources.contains(&resource) {
                return Err(ConfigError::InvalidResource);
            }
            introspection_resources
                .entry(ClientId::new(client_id.as_str()))
                .or_default()
                .push(resource);
        }
        let introspection_resources = introspection_resources
            .into_iter()
            .map(|(client_id, resources)| (client_id, resources.into_iter().collect()))
            .collect();
        self.lifetimes.validate()?;
        if self.refresh_grace > 60 {
            return Err(ConfigError::InvalidLifetime("refresh_token_grace"));
        }
        if self.refresh_grace > 0 {
            tracing::warn!(
                seconds = self.refresh_grace,
                "refresh-token grace enabled: a retired refresh token is answered once more within it"
            );
        }
        self.endpoints.validate()?;
        if !crate::client_metadata_document::DOCUMENT_MAX_BYTES_RANGE
            .contains(&self.client_metadata_document_max_bytes)
        {
            return Err(ConfigError::InvalidClientMetadataDocumentMaxBytes);
        }
        // The MCP profile's requirements, against the final configuration.
        let mcp_resource = match &self.mcp {
            Some(mcp) => Some(mcp.check(&self.pkce)?),
            None => None,
        };
        let challenge_scope = match self.challenge_scope {
            Some(tokens) => {
                let scope = Scope::from_tokens(tokens).map_err(|_| ConfigError::InvalidScope)?;
                if !scope.is_subset_of(&scopes) {
                    return Err(ConfigError::InvalidScope);
                }
                Some(scope)
            }
            None => None,
        };
        let scope_hierarchy = crate::scope::ScopeHierarchy::from_pairs(
            self.scope_hierarchy
                .iter()
                .map(|(broader, narrower)| (broader.as_str(), narrower.as_str())),
        );
        // Every scope of the hierarchy is offered, and `offline_access` is in none of
        // its pairs: it asks for refresh tokens and is no permission to imply or be implied.
        let hierarchy_ok = self.scope_hierarchy.iter().all(|(broader, narrower)| {
            [broader, narrower]
                .iter()
                .all(|t| scopes.contains(t.as_str()) && t.as_str() != crate::scope::OFFLINE_ACCESS)
        });
        if !hierarchy_ok {
            return Err(ConfigError::InvalidScope);
        }
        if self.refresh_requires_offline_access && !scopes.contains(crate::scope::OFFLINE_ACCESS) {
            // No request could ever ask for a refresh token.
            return Err(ConfigError::InvalidScope);
        }
        let realm = self
            .realm
            .unwrap_or_else(|| self.issuer.as_str().to_owned());
        // RFC 6750 §3: challenge values are quoted strings; accept only characters that
        // need no escaping (%x20-21 / %x23-5B / %x5D-7E), rather than rewrite the value.
        let realm_ok = !realm.is_empty()
            && realm
                .bytes()
                .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E));
        if !realm_ok {
            return Err(ConfigError::InvalidRealm);
        }
        let registration = crate::registration::RegistrationPolicy::settle(
            self.registration,
            &keyring,
            self.endpoints.registration.is_some(),
        )?;
        Ok(Config {
            issuer: self.issuer,
            keyring,
            random: self.random,
            events: self.events,
            scopes,
            default_scope,
            resources,
            require_resource: self.require_resource,
            lifetimes: self.lifetimes,
            pkce: self.pkce,
            redirect_matching: self.redirect_matching,
            issue_refresh_tokens: self.issue_refresh_tokens,
            refresh_grace: self.refresh_grace,
            max_body_bytes: self.max_body_bytes,
            client_metadata_documents: self.client_metadata_documents,
            client_metadata_document_max_bytes: self.client_metadata_document_max_bytes,
            endpoints: self.endpoints,
            realm,
            introspection_resources,
            registration,
            challenge_scope,
            scope_hierarchy: Arc::new(scope_hierarchy),
            refresh_requires_offline_access: self.refresh_requires_offline_access,
            mcp_resource,
            accept_store_without_atomic_single_use: self.accept_store_without_atomic_single_use,
        })
    }
}

// ---- stores that cannot keep single use ----

impl ConfigBuilder {
    /// Accepts a store whose [`Store::single_use`](crate::Store::single_use) is
    /// [`SingleUse::NotGuaranteed`](crate::SingleUse::NotGuaranteed), **giving up single
    /// use**: concurrent redemptions of one authorization code, rotations of one refresh
    /// token, grace claims or one-time markers may then each succeed, and a replay may go
    /// unnoticed until the backend converges (OAuth 2.1 §4.1.3 and §4.3.1 no longer hold
    /// under concurrency). Off by default: a [`Provider`](crate::Provider) refuses such a
    /// store with [`ConfigError::StoreWithoutAtomicSingleUse`] (and logs a warning when it
    /// is accepted), and the steps' `answer_from` fails every single-use step on it, for
    /// hosts that drive the machine themselves. Has no effect on a store that keeps single
    /// use.
    pub fn accept_store_without_atomic_single_use(mut self, accept: bool) -> Self {
        self.accept_store_without_atomic_single_use = accept;
        self
    }
}

impl Config {
    /// Whether the host accepted a store that cannot keep single use.
    #[must_use]
    pub fn accepts_store_without_atomic_single_use(&self) -> bool {
        self.accept_store_without_atomic_single_use
    }
}

// ---- bearer challenges, scope hierarchies, `offline_access` and the MCP profile ----

impl ConfigBuilder {
    /// The `scope` that 401 bearer challenges name (RFC 6750 §3), telling a client without
    /// a valid token what to ask for (MCP 2025-11-25 and later: SHOULD). Each token must be
    /// offered; `offline_access` is never named (it is no resource's requirement). A 403
    /// `insufficient_scope` names the scope of the failed
    /// [`require_scope`](crate::Access::require_scope) instead.
    pub fn challenge_scope<I, T>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.challenge_scope = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// Declares that a token carrying `broader` satisfies a resource server's requirement
    /// for each of `narrower` ([`Access::require_scope`](crate::Access::require_scope));
    /// the relation is transitive. MCP 2026-07-28 ("Step-Up Authorization Flow"): servers
    /// MUST account for scope hierarchies. Every scope named must be offered, and
    /// `offline_access` may not be named. Tokens still carry exactly the scope granted.
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

    /// Issue refresh tokens only when the approved scope contains `offline_access`
    /// (OpenID Connect Core §11), besides the client being registered for the
    /// `refresh_token` grant. Default `false`: the registered grant type alone decides
    /// (OAuth 2.1 §4.3). `offline_access` must then be an offered scope.
    pub fn refresh_tokens_require_offline_access(mut self, require: bool) -> Self {
        self.refresh_requires_offline_access = require;
        self
    }

    /// Applies the [MCP profile](crate::mcp): the MCP server's resource and scopes,
    /// `offline_access`, dynamic registration, the `localhost` redirect port exception,
    /// and the requirements checked at [`build`](Self::build) (S256 PKCE from every client,
    /// an https resource). Adds to what is configured, fills what is unset, and can be
    /// followed by further settings; see the module documentation for the details.
    pub fn mcp(mut self, profile: crate::mcp::McpProfile) -> Self {
        use crate::mcp::{OfflineAccess, DEFAULT_REGISTRATION_PATH};
        use crate::scope::OFFLINE_ACCESS;

        // The MCP server is a resource: audience binding (RFC 8707) and its protected
        // resource metadata (RFC 9728). With it as the only resource, a request without
        // `resource` gets it.
        if !self.resources.contains(&profile.resource) {
            self.resources.push(profile.resource.clone());
        }
        let resource_scopes: Vec<String> = profile.resource_scopes().cloned().collect();
        self.scopes.extend(resource_scopes.iter().cloned());
        match profile.offline_access {
            OfflineAccess::Offered | OfflineAccess::Required => {
                self.scopes.push(OFFLINE_ACCESS.to_owned());
            }
            OfflineAccess::NotOffered => {}
        }
        if profile.offline_access == OfflineAccess::Required {
            self.refresh_requires_offline_access = true;
        }
        self.scope_hierarchy
            .extend(profile.scope_hierarchy.iter().cloned());
        // MCP "Scope Selection Strategy": a client without other guidance asks for the
        // resource metadata's `scopes_supported`; the same set is the default (unless the
        // profile or an earlier call set one) and what a 401 names.
        match profile.default_scope {
            Some(default_scope) => self.default_scope = Some(default_scope),
            None if self.default_scope.is_none() => self.default_scope = Some(resource_scopes),
            None => {}
        }
        if self.challenge_scope.is_none() {
            let named: Vec<String> = self
                .default_scope
                .iter()
                .flatten()
                .filter(|s| *s != OFFLINE_ACCESS)
                .cloned()
                .collect();
            if !named.is_empty() {
                self.challenge_scope = Some(named);
            }
        }
        // Checklist C-6: MCP clients use `http://localhost:<port>/callback`.
        self.redirect_matching.localhost_port_exception = true;
        // Dynamic registration for clients of the revisions before client ID metadata
        // documents (checklist C-13), unless turned off. The profile's policy, else one the
        // host configured before, else open.
        let policy = profile
            .registration_policy
            .or_else(|| self.registration.take());
        let closed_policy = policy
            .as_ref()
            .is_some_and(crate::registration::RegistrationPolicy::is_closed);
        if profile.dynamic_registration && !closed_policy {
            if self.endpoints.registration.is_none() {
                self.endpoints.registration = Some(DEFAULT_REGISTRATION_PATH.to_owned());
            }
            self.registration =
                Some(policy.unwrap_or_else(crate::registration::RegistrationPolicy::open));
        } else {
            self.endpoints.registration = None;
            self.registration = Some(crate::registration::RegistrationPolicy::closed());
        }
        // Client ID metadata documents need the host's fetcher, which the provider builder
        // holds: `ProviderBuilder::build` switches them on when one is set.
        self.mcp = Some(crate::mcp::McpRequirements {
            resource: profile.resource,
            client_id_metadata_documents: profile.client_id_metadata_documents,
        });
        self
    }

    /// Whether the MCP profile was applied and asks for client ID metadata documents.
    pub(crate) fn mcp_wants_client_id_metadata_documents(&self) -> bool {
        self.mcp
            .as_ref()
            .is_some_and(|mcp| mcp.client_id_metadata_documents)
    }
}

// ---- client ID metadata documents ----

impl ConfigBuilder {
    /// Resolves a `client_id` that is an https URL through its client ID metadata document
    /// (draft-ietf-oauth-client-id-metadata-document; MCP 2025-11-25 and later) instead of
    /// looking it up in the store. Off by default. A [`Provider`](crate::Provider) then
    /// needs a [`ClientMetadataFetcher`](crate::client_metadata_document::ClientMetadataFetcher)
    /// ([`ProviderBuilder::client_metadata_fetcher`](crate::ProviderBuilder::client_metadata_fetcher)),
    /// and the metadata advertises `client_id_metadata_document_supported`. See
    /// [`client_metadata_document`](crate::client_metadata_document) for the rules.
    pub fn client_id_metadata_documents(mut self, enabled: bool) -> Self {
        self.client_metadata_documents = enabled;
        self
    }

    /// The largest client ID metadata document accepted, in bytes (default 5 KiB, the
    /// draft's recommendation; between 256 bytes and 64 KiB). The driver passes it to the
    /// fetcher, which stops reading beyond it.
    pub fn client_id_metadata_document_max_bytes(mut self, bytes: usize) -> Self {
        self.client_metadata_document_max_bytes = bytes;
        self
    }
}

impl Config {
    /// Whether client ID metadata documents are resolved.
    #[must_use]
    pub fn client_id_metadata_documents(&self) -> bool {
        self.client_metadata_documents
    }

    /// The largest client ID metadata document accepted, in bytes.
    #[must_use]
    pub fn client_id_metadata_document_max_bytes(&self) -> usize {
        self.client_metadata_document_max_bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::KeyId;

    fn keys() -> Keyring {
        Keyring::from_secret(KeyId::new("k").unwrap(), &[1; 32]).unwrap()
    }

    #[test]
    fn o21_1_http_issuer_is_a_configuration_error() {
        assert_eq!(
            Issuer::new("http://as.example"),
            Err(ConfigError::InvalidIssuer)
        );
        assert!(Issuer::new("https://as.example").is_ok());
    }

    #[test]
    fn iss_2_issuer_has_no_query_or_fragment() {
        assert!(Issuer::new("https://as.example?x=1").is_err());
        assert!(Issuer::new("https://as.example#f").is_err());
        assert!(Issuer::new("https://as.example/tenant1").is_ok());
    }

    #[test]
    fn discovery_paths_a_router_could_misread_are_refused() {
        // The metadata documents are served below the issuer's and each resource's path,
        // which glue crates register verbatim as routes.
        for bad in [
            "https://as.example/:tenant",
            "https://as.example/*tenant",
            "https://as.example/a/:t/b",
        ] {
            assert_eq!(Issuer::new(bad), Err(ConfigError::InvalidIssuer), "{bad}");
            assert_eq!(
                Issuer::insecure_loopback_for_development(bad.replace("as.example", "127.0.0.1")),
                Err(ConfigError::InvalidIssuer),
                "{bad}"
            );
        }
        // Inside a segment `:` and `*` are literal; `url` percent-encodes braces.
        for good in ["https://as.example/t:1", "https://as.example/a*b"] {
            assert!(Issuer::new(good).is_ok(), "{good}");
        }
        let build = |resource: &str| {
            Config::builder(Issuer::new("https://as.example/tenant").unwrap())
                .keys(keys())
                .resource(resource)
                .build()
        };
        for bad in [
            "https://api.example/:mcp",
            "https://api.example/*x",
            "https://api.example/v1/*/mcp",
        ] {
            assert_eq!(
                build(bad).err(),
                Some(ConfigError::InvalidResource),
                "{bad}"
            );
        }
        for good in [
            "https://api.example/t/acme:prod/mcp",
            "https://api.example/{x}",
            "https://api.example/mcp",
            "https://api.example",
            "urn:example:api",
        ] {
            assert!(build(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn endpoint_paths_a_router_could_misread_or_that_collide_are_refused() {
        let build = |endpoints: Endpoints| {
            let issuer = Issuer::new("https://as.example").unwrap();
            Config::builder(issuer)
                .keys(keys())
                .endpoints(endpoints)
                .build()
        };
        assert!(build(Endpoints::default()).is_ok());
        for bad in [
            "token",
            "/",
            "/token/",
            "//token",
            "/to ken",
            "/token?x",
            "/t#x",
            "/{id}",
            "/*rest",
            "/:id",
            "/a\u{7f}b",
        ] {
            let endpoints = Endpoints {
                token: bad.to_owned(),
                ..Endpoints::default()
            };
            assert_eq!(
                build(endpoints).unwrap_err(),
                ConfigError::InvalidEndpointPath,
                "{bad:?}"
            );
        }
        let registration_with_trailing_slash = Endpoints {
            registration: Some("/register/".to_owned()),
            ..Endpoints::default()
        };
        assert!(build(registration_with_trailing_slash).is_err());
        let shared = Endpoints {
            revocation: "/token".to_owned(),
            ..Endpoints::default()
        };
        assert_eq!(build(shared).unwrap_err(), ConfigError::InvalidEndpointPath);
    }

    #[test]
    fn development_issuer_must_be_loopback() {
        assert!(Issuer::insecure_loopback_for_development("http://127.0.0.1:8080").is_ok());
        assert!(Issuer::insecure_loopback_for_development("http://localhost:8080").is_ok());
        assert!(Issuer::insecure_loopback_for_development("http://as.example").is_err());
    }

    #[test]
    fn config_refuses_to_build_without_keys() {
        let issuer = Issuer::new("https://as.example").unwrap();
        assert_eq!(
            Config::builder(issuer).build().unwrap_err(),
            ConfigError::MissingKeyring
        );
    }

    #[test]
    fn o21_47_code_lifetime_is_at_most_ten_minutes() {
        let issuer = Issuer::new("https://as.example").unwrap();
        let lifetimes = Lifetimes {
            authorization_code: 601,
            ..Lifetimes::default()
        };
        assert_eq!(
            Config::builder(issuer)
                .keys(keys())
                .lifetimes(lifetimes)
                .build()
                .unwrap_err(),
            ConfigError::InvalidLifetime("authorization_code")
        );
    }

    #[test]
    fn o21_21_public_refresh_lifetime_is_below_the_confidential_one_by_default() {
        let l = Lifetimes::default();
        assert!(l.public_refresh_token < l.refresh_token);
        assert!(l.validate().is_ok());
    }

    #[test]
    fn default_scope_must_be_offered() {
        let issuer = Issuer::new("https://as.example").unwrap();
        assert_eq!(
            Config::builder(issuer)
                .keys(keys())
                .scopes(["read"])
                .default_scope(["write"])
                .build()
                .unwrap_err(),
            ConfigError::InvalidScope
        );
    }
}
