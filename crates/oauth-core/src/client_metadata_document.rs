//! Client ID metadata documents (draft-ietf-oauth-client-id-metadata-document, "CIMD"):
//! a `client_id` that is an https URL names a JSON document, published by the client at
//! that URL, holding its metadata. No registration happens beforehand; the authorization
//! server fetches the document when it meets the client.
//!
//! Off by default;
//! [`ConfigBuilder::client_id_metadata_documents`](crate::ConfigBuilder::client_id_metadata_documents)
//! turns it on. Then:
//!
//! - **Which ids are URLs.** A `client_id` beginning with `https:` (any case) is a
//!   *Client Identifier URL* and is never looked up in the store: the machine asks for its
//!   document instead (`NeedsClientMetadata` in [`AuthorizeStep`](crate::authorize::AuthorizeStep),
//!   [`TokenStep`](crate::token::TokenStep), [`RevocationStep`](crate::revocation::RevocationStep)
//!   and [`IntrospectionStep`](crate::introspection::IntrospectionStep)), which the driver
//!   answers through the host's [`ClientMetadataFetcher`]. With the feature off, such an id
//!   is an ordinary string looked up in the store (usually an unknown client). Ids this
//!   server draws itself are base64url and never begin with `https://` (draft §
//!   "Supporting Both Pre-Registered and Unregistered Clients"), and
//!   [`Machine::register_client`] refuses a host-chosen id that would be taken for a URL.
//! - **The URL** ([`ClientIdUrl::parse`], draft § "Client Identifier URL"): `https`
//!   (written in lower case), a host, no userinfo, a port allowed, a path (at least `/`),
//!   no `.` or `..` segment (also percent-encoded), no fragment; a query is allowed (the
//!   draft only discourages it). It is kept and compared exactly as written: only RFC 3986
//!   characters, ASCII, at most [`MAX_CLIENT_ID_URL_LEN`] bytes, and a host written the
//!   way a URL parser reads it (no `0x7f.1` for `127.0.0.1`). A host that is an IP literal
//!   of a special-use range ([`is_special_use_address`]) is refused before any fetch.
//!   Anything else is `invalid_client` ([`Reason::ClientIdUrlInvalid`]).
//! - **The document** (draft § "Client ID Metadata Document"; MCP "Client ID Metadata
//!   Documents"): at most
//!   [`client_id_metadata_document_max_bytes`](crate::ConfigBuilder::client_id_metadata_document_max_bytes)
//!   bytes (5 KiB by default, the draft's recommendation); one JSON object without repeated
//!   members; `client_id` equal to the URL under simple string comparison; `client_name`
//!   and a non-empty `redirect_uris` present (MCP requires both); no `client_secret` or
//!   `client_secret_expires_at`, no shared-secret `token_endpoint_auth_method`
//!   (`client_secret_basic`, `client_secret_post`, `client_secret_jwt`), no private key
//!   material in `jwks`. An absent `token_endpoint_auth_method` means `none`, since no
//!   secret can exist. `private_key_jwt` (and every other method) is refused: this library
//!   does not implement JWT client authentication, and the draft requires the server to
//!   demand it of a client that declares it, so such a client is refused outright rather
//!   than accepted unauthenticated. Everything else follows the dynamic registration rules
//!   ([`registration`](crate::registration)): redirect URIs by
//!   [`validate_for_registration`](crate::redirect_uri::validate_for_registration), grant
//!   and response types, https `client_uri`/`logo_uri`/`tos_uri`/`policy_uri`, text without
//!   control characters. A `scope` restricts the client to those scopes; scopes this
//!   server does not offer are dropped (a document is written for many servers), and an
//!   absent `scope` allows every offered scope.
//! - **The client** built from a valid document is a *public* client
//!   ([`AuthMethod::None`]): never stored, rebuilt from the document at each request that
//!   names it, so a change of the document (a removed redirect URI, a withdrawn grant type)
//!   takes effect as soon as the fetcher's cache lets it through.
//! - **Redirect URIs** are matched exactly as for any client (loopback ports may vary).
//!   They are not required to share the document's origin: the draft leaves that to the
//!   server, and MCP's native clients publish their document on the web while receiving
//!   the response on a loopback address. The consent page should show the client id's
//!   host and the redirect URI's host, and warn when every redirect URI is loopback
//!   ([`PendingAuthorization`](crate::PendingAuthorization) gives all three).
//! - **Failures.** A fetch that fails or an invalid document aborts the request with an
//!   error page at the authorization endpoint (draft § "Metadata Discovery Errors"; the
//!   redirect URI cannot be trusted without the document). Which error depends on whose
//!   fault it is ([`FetchError::is_transient`]):
//!   - the client's (any status but 200, a redirect, a response that is not JSON or too
//!     large, a host that does not exist or resolves to a special-use address, an invalid
//!     document): `invalid_client` at the token and revocation endpoints, reported to the
//!     event sink as a failed client authentication
//!     ([`Reason::ClientMetadataFetchFailed`] and the other `ClientMetadata*` reasons);
//!   - nobody's in particular (the fetcher is busy, the fetch timed out, the connection
//!     failed, the name could not be resolved for now): 503 `temporarily_unavailable`
//!     ([`Reason::ClientMetadataUnavailable`]), *not* reported as a failed
//!     authentication, so that a flood of made-up client ids that keeps the fetcher busy
//!     cannot get a legitimate client refused as unauthenticated or throttled.
//!
//!   The introspection endpoint refuses a Client Identifier URL before any fetch: such a
//!   client is public, and public clients may not introspect.
//!
//! Fetching is I/O and stays out of the machine: [`ClientMetadataFetcher`] is the seam,
//! and the `oauth-client-metadata-fetch` crate is a default implementation (https only,
//! no redirects, size and time limits, SSRF guard, cache). A fetcher must never cache an
//! error or a document that [`validate_document`] refuses.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use bytes::Bytes;
use serde_json::Value;

use crate::config::Config;
use crate::error::Reason;
use crate::machine::Machine;
use crate::model::{AuthMethod, Client, ClientId};
use crate::registration::client_metadata::{check, parse_members, parse_registration};
use crate::registration::ClientRegistration;
use crate::scope::Scope;
use crate::time::UnixTime;

/// The longest Client Identifier URL accepted, in bytes.
pub const MAX_CLIENT_ID_URL_LEN: usize = 2048;

/// The default bound on a document's size: 5 KiB, as the draft recommends (§ "Maximum
/// Response Size for Client ID Metadata Documents").
pub const DEFAULT_MAX_DOCUMENT_BYTES: usize = 5 * 1024;

/// The smallest and largest values of
/// [`ConfigBuilder::client_id_metadata_document_max_bytes`](crate::ConfigBuilder::client_id_metadata_document_max_bytes).
pub const DOCUMENT_MAX_BYTES_RANGE: std::ops::RangeInclusive<usize> = 256..=64 * 1024;

/// Whether `client_id` is meant as a Client Identifier URL: it begins with `https:`, in
/// any case. Such an id is resolved through its document (when the feature is on) and
/// then must pass [`ClientIdUrl::parse`].
#[must_use]
pub fn is_client_id_url(client_id: &str) -> bool {
    client_id
        .get(..6)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https:"))
}

/// Why a string is not a valid Client Identifier URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidClientIdUrl {
    /// Longer than [`MAX_CLIENT_ID_URL_LEN`].
    #[error("client identifier URL too long")]
    TooLong,
    /// Not `https://` (in lower case).
    #[error("client identifier URL must use https")]
    NotHttps,
    /// Carries a userinfo component (`user:pass@`).
    #[error("client identifier URL must not contain userinfo")]
    Userinfo,
    /// Has no path component (`https://client.example`).
    #[error("client identifier URL must have a path")]
    NoPath,
    /// Has a `.` or `..` path segment.
    #[error("client identifier URL must not contain dot segments")]
    DotSegment,
    /// Has a fragment.
    #[error("client identifier URL must not contain a fragment")]
    Fragment,
    /// Names an IP address of a special-use range (RFC 6890).
    #[error("client identifier URL names a special-use address")]
    SpecialUseAddress,
    /// Not a URL written in its plain form: characters outside RFC 3986, a host spelt
    /// differently from how a URL parser reads it, an empty port, ...
    #[error("client identifier URL is malformed")]
    Malformed,
}

/// A validated Client Identifier URL (draft § "Client Identifier URL"), kept exactly as
/// written: it is the client id, compared by simple string comparison.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ClientIdUrl {
    raw: String,
    /// The host as a URL parser reads it: a lower-case domain, or an IP address without
    /// brackets.
    host: String,
    ip: Option<IpAddr>,
    port: u16,
    /// Where the path begins in `raw` (and the authority ends).
    path_start: usize,
}

/// The characters RFC 3986 allows in a URI: unreserved, reserved and `%`.
fn is_uri_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&b)
}

/// Whether every `%` starts a valid escape.
fn escapes_are_valid(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes.iter().enumerate().all(|(i, b)| {
        *b != b'%'
            || matches!(
                (bytes.get(i + 1), bytes.get(i + 2)),
                (Some(h), Some(l)) if h.is_ascii_hexdigit() && l.is_ascii_hexdigit()
            )
    })
}

/// A `.` or `..` segment, also written with `%2e`.
fn is_dot_segment(segment: &str) -> bool {
    let decoded = segment.to_ascii_lowercase().replace("%2e", ".");
    decoded == "." || decoded == ".."
}

const SCHEME: &str = "https://";

impl ClientIdUrl {
    /// Validates a Client Identifier URL (see the [module docs](self) for the rules).
    pub fn parse(value: &str) -> Result<ClientIdUrl, InvalidClientIdUrl> {
        use InvalidClientIdUrl as E;
        if value.len() > MAX_CLIENT_ID_URL_LEN {
            return Err(E::TooLong);
        }
        let rest = value.strip_prefix(SCHEME).ok_or(E::NotHttps)?;
        if !value.bytes().all(is_uri_char) || !escapes_are_valid(value) {
            return Err(E::Malformed);
        }
        if value.contains('#') {
            return Err(E::Fragment);
        }
        let authority_len = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path_and_query) = rest.split_at(authority_len);
        if authority.contains('@') {
            return Err(E::Userinfo);
        }
        if !path_and_query.starts_with('/') {
            return Err(E::NoPath);
        }
        let path = path_and_query.split('?').next().unwrap_or_default();
        if path.split('/').any(is_dot_segment) {
            return Err(E::DotSegment);
        }
        // The host as written, and the port text after it.
        let (raw_host, port_text) = if authority.starts_with('[') {
            let close = authority.find(']').ok_or(E::Malformed)?;
            let (host, after) = authority.split_at_checked(close + 1).ok_or(E::Malformed)?;
            if after.is_empty() {
                (host, None)
            } else {
                (host, Some(after.strip_prefix(':').ok_or(E::Malformed)?))
            }
        } else {
            match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            }
        };
        let url = url::Url::parse(value).map_err(|_| E::Malformed)?;
        let parsed_host = url.host_str().ok_or(E::Malformed)?;
        if url.scheme() != "https"
            || raw_host.is_empty()
            || raw_host.to_ascii_lowercase() != parsed_host
        {
            return Err(E::Malformed);
        }
        let port = match port_text {
            None => 443,
            Some(text) => {
                if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(E::Malformed);
                }
                text.parse::<u16>().map_err(|_| E::Malformed)?
            }
        };
        if url.port_or_known_default() != Some(port) || port == 0 {
            return Err(E::Malformed);
        }
        let ip = match url.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            _ => None,
        };
        if ip.is_some_and(is_special_use_address) {
            return Err(E::SpecialUseAddress);
        }
        let host = match ip {
            Some(ip) => ip.to_string(),
            None => parsed_host.to_owned(),
        };
        Ok(ClientIdUrl {
            raw: value.to_owned(),
            host,
            ip,
            port,
            path_start: SCHEME.len() + authority_len,
        })
    }

    /// The URL exactly as written: the client id.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The host to resolve and to name in TLS: a lower-case domain name, or an IP address
    /// (without brackets).
    #[must_use]
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The host's address when the host is an IP literal.
    #[must_use]
    pub fn ip(&self) -> Option<IpAddr> {
        self.ip
    }

    /// The port: the one written, or 443.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `host[:port]` exactly as written, for the `Host` header.
    #[must_use]
    pub fn authority(&self) -> &str {
        self.raw.get(SCHEME.len()..self.path_start).unwrap_or("")
    }

    /// The path and query, the request target of the fetch.
    #[must_use]
    pub fn path_and_query(&self) -> &str {
        self.raw.get(self.path_start..).unwrap_or("/")
    }

    /// The client id this URL is.
    #[must_use]
    pub fn client_id(&self) -> ClientId {
        ClientId::new(self.raw.as_str())
    }
}

impl fmt::Debug for ClientIdUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClientIdUrl({:?})", self.raw)
    }
}

impl fmt::Display for ClientIdUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// Whether `ip` lies in a special-use range (RFC 6890 and the IANA special-purpose
/// address registries), which a client metadata document must never be fetched from
/// (draft § "Server Side Request Forgery (SSRF) Attacks").
///
/// IPv4: `0.0.0.0/8`, `10/8`, `100.64/10` (shared, CGNAT), `127/8`, `169.254/16`,
/// `172.16/12`, `192.0.0/24`, `192.0.2/24`, `192.31.196/24`, `192.52.193/24`,
/// `192.88.99/24`, `192.168/16`, `192.175.48/24`, `198.18/15`, `198.51.100/24`,
/// `203.0.113/24`, multicast `224/4` and reserved `240/4` (with the broadcast address).
///
/// IPv6: an IPv4-mapped (`::ffff:0:0/96`) or NAT64 (`64:ff9b::/96`) address is judged by
/// the IPv4 address inside it. Otherwise only global unicast (`2000::/3`) is allowed, minus
/// `2001::/23` (IETF protocol assignments, Teredo, benchmarking, ORCHID), `2001:db8::/32`
/// and `3fff::/20` (documentation) and `2002::/16` (6to4). So the unspecified and loopback
/// addresses, IPv4-compatible addresses, discard-only `100::/64`, `64:ff9b:1::/48`,
/// SRv6 `5f00::/16`, unique-local `fc00::/7`, link-local `fe80::/10`, site-local and
/// multicast are all special.
#[must_use]
pub fn is_special_use_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_special_v4(v4),
        IpAddr::V6(v6) => is_special_v6(v6),
    }
}

fn is_special_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    matches!(a, 0 | 10 | 127 | 224..=255)
        || (a == 100 && (64..=127).contains(&b))
        || (a == 169 && b == 254)
        || (a == 172 && (16..=31).contains(&b))
        || (a == 192 && b == 168)
        || (a == 192
            && matches!(
                (b, c),
                (0, 0) | (0, 2) | (31, 196) | (52, 193) | (88, 99) | (175, 48)
            ))
        || (a == 198 && matches!(b, 18 | 19))
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
}

/// The IPv4 address an IPv6 address stands for, when it is IPv4-mapped or NAT64.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    match ip.segments() {
        [0x64, 0xff9b, 0, 0, 0, 0, high, low] => {
            let [a, b] = high.to_be_bytes();
            let [c, d] = low.to_be_bytes();
            Some(Ipv4Addr::new(a, b, c, d))
        }
        _ => None,
    }
}

fn is_special_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = embedded_v4(ip) {
        return is_special_v4(v4);
    }
    let [first, second, ..] = ip.segments();
    let global_unicast = first & 0xe000 == 0x2000;
    !global_unicast
        || (first == 0x2001 && second < 0x0200)
        || (first == 0x2001 && second == 0x0db8)
        || first == 0x2002
        || (first == 0x3fff && second < 0x1000)
}

/// Why a client metadata document could not be fetched. The request is refused either
/// way; [`is_transient`](FetchError::is_transient) tells whether it is refused as the
/// client's fault (`invalid_client`) or as a temporary failure of this server (503
/// `temporarily_unavailable`). The variants are otherwise for logs and for the fetcher's
/// tests.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// No [`ClientMetadataFetcher`] is configured to answer the step.
    #[error("no client metadata fetcher is configured")]
    NotConfigured,
    /// The fetcher may not use this scheme (plain http outside a test setup).
    #[error("only https may be fetched")]
    InsecureScheme,
    /// The host is, or resolves to, a special-use address (SSRF guard).
    #[error("the host resolves to a special-use address ({0})")]
    SpecialUseAddress(IpAddr),
    /// The host name could not be resolved. An error of kind
    /// [`NotFound`](std::io::ErrorKind::NotFound) means the name does not exist (the
    /// client's fault); any other kind is taken for a temporary failure.
    #[error("the host name could not be resolved")]
    Resolve(#[source] std::io::Error),
    /// The host name resolved to no address.
    #[error("the host name resolved to no address")]
    NoAddress,
    /// The server answered with a redirect, which is never followed.
    #[error("the server redirected (HTTP {0}); redirects are never followed")]
    Redirect(u16),
    /// The server answered with a status other than 200.
    #[error("the server answered HTTP {0}, not 200")]
    Status(u16),
    /// The response's content type is not JSON.
    #[error("the response is not JSON")]
    NotJson,
    /// The document exceeds the size bound (the bound, in bytes).
    #[error("the document exceeds {0} bytes")]
    TooLarge(usize),
    /// The fetch did not complete in time.
    #[error("the fetch timed out")]
    Timeout,
    /// Connecting, TLS or HTTP failed.
    #[error("the connection failed")]
    Connection(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
    /// The fetcher has as many fetches in flight as it allows (in all, or to this
    /// document's origin).
    #[error("too many client metadata fetches in flight")]
    Busy,
}

impl FetchError {
    /// Whether the failure is not the client's fault, so that trying again later may
    /// succeed: the fetcher was busy, the fetch timed out, connecting (TCP, TLS, HTTP)
    /// failed, or the name could not be resolved for a reason other than its absence. The
    /// machine answers such a failure with 503 `temporarily_unavailable`
    /// ([`Reason::ClientMetadataUnavailable`]) and does not report it as a failed client
    /// authentication.
    ///
    /// Every other failure is the document publisher's doing (a status other than 200, a
    /// redirect, not JSON, too large, a name that does not exist or has no address, a
    /// special-use address, plain http) or the host's (no fetcher configured), and is
    /// `invalid_client`.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            FetchError::Busy | FetchError::Timeout | FetchError::Connection(_) => true,
            FetchError::Resolve(error) => error.kind() != std::io::ErrorKind::NotFound,
            FetchError::NotConfigured
            | FetchError::InsecureScheme
            | FetchError::SpecialUseAddress(_)
            | FetchError::NoAddress
            | FetchError::Redirect(_)
            | FetchError::Status(_)
            | FetchError::NotJson
            | FetchError::TooLarge(_) => false,
        }
    }
}

/// Fetches client metadata documents for the driver: the I/O half of this feature.
///
/// The [`Provider`](crate::Provider) holds one
/// ([`ProviderBuilder::client_metadata_fetcher`](crate::ProviderBuilder::client_metadata_fetcher))
/// and calls it for the `NeedsClientMetadata` steps. The machine validates whatever comes
/// back, so a fetcher cannot make an invalid client valid; but the transport rules are the
/// fetcher's, and an implementation must:
///
/// - fetch `url` with `GET` over https only, and return the body of a `200` response
///   only: any other status is an error, and a redirect is never followed (draft § "Client
///   Information Discovery");
/// - read at most `max_bytes` of the body, failing with [`FetchError::TooLarge`] beyond
///   (draft § "Maximum Response Size");
/// - never connect to a special-use address ([`is_special_use_address`]), checking the
///   addresses it actually connects to, so that DNS rebinding cannot slip past the check
///   (draft § "SSRF Attacks");
/// - bound the time a fetch may take, and the number of fetches in flight (the requests
///   that cause fetches are unauthenticated);
/// - report a failure that is not the client's fault (overload, timeout, connection
///   failure) as such ([`FetchError::is_transient`]): it becomes a 503, not an
///   `invalid_client`;
/// - if it caches, respect HTTP caching within its own bounds, and never cache an error
///   or a document that [`validate_document`] refuses (draft § "Metadata Caching").
#[async_trait::async_trait]
pub trait ClientMetadataFetcher: Send + Sync {
    /// The document at `url`, at most `max_bytes` long.
    async fn fetch(&self, url: &ClientIdUrl, max_bytes: usize) -> Result<Bytes, FetchError>;
}

/// Members naming private (or symmetric) key material in a JWK (RFC 7518 §6).
const PRIVATE_JWK_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

fn has_private_key_material(jwks: Option<&Value>) -> bool {
    jwks.and_then(|jwks| jwks.get("keys"))
        .and_then(Value::as_array)
        .is_some_and(|keys| {
            keys.iter().any(|key| {
                PRIVATE_JWK_MEMBERS
                    .iter()
                    .any(|member| key.get(member).is_some())
            })
        })
}

/// A registration rule's reason, as the reason of a document that breaks it.
fn document_reason(reason: Reason) -> Reason {
    match reason {
        Reason::RegistrationMalformedBody
        | Reason::RegistrationDuplicateMember
        | Reason::RegistrationMalformedMember => Reason::ClientMetadataMalformed,
        Reason::RegistrationInvalidRedirectUri | Reason::RegistrationRedirectUriRequired => {
            Reason::ClientMetadataInvalidRedirectUri
        }
        _ => Reason::ClientMetadataInvalid,
    }
}

/// A non-empty string member.
fn has_text(members: &std::collections::BTreeMap<String, Value>, name: &str) -> bool {
    members
        .get(name)
        .and_then(Value::as_str)
        .is_some_and(|s| !s.is_empty())
}

/// Parses and checks a document by every rule that does not depend on the server's
/// configuration; the registration it describes (its `scope` as written).
fn parse_document(url: &ClientIdUrl, body: &[u8]) -> Result<ClientRegistration, Reason> {
    let members = parse_members(body).map_err(|_| Reason::ClientMetadataMalformed)?;
    match members.get("client_id") {
        None | Some(Value::Null) => return Err(Reason::ClientMetadataMissingMember),
        Some(Value::String(id)) if id == url.as_str() => {}
        Some(_) => return Err(Reason::ClientMetadataClientIdMismatch),
    }
    if ["client_secret", "client_secret_expires_at"]
        .iter()
        .any(|name| members.contains_key(*name))
        || has_private_key_material(members.get("jwks"))
    {
        return Err(Reason::ClientMetadataSecret);
    }
    match members.get("token_endpoint_auth_method") {
        None | Some(Value::Null) => {}
        Some(Value::String(method)) => match method.as_str() {
            "none" => {}
            "client_secret_basic" | "client_secret_post" | "client_secret_jwt" => {
                return Err(Reason::ClientMetadataSecret)
            }
            _ => return Err(Reason::ClientMetadataUnsupportedAuthMethod),
        },
        Some(_) => return Err(Reason::ClientMetadataMalformed),
    }
    let redirect_uris_present = members
        .get("redirect_uris")
        .and_then(Value::as_array)
        .is_some_and(|uris| !uris.is_empty());
    if !has_text(&members, "client_name") || !redirect_uris_present {
        return Err(Reason::ClientMetadataMissingMember);
    }
    let mut registration = parse_registration(&members, &Scope::empty())
        .map_err(document_reason)?
        .registration;
    registration.token_endpoint_auth_method = AuthMethod::None;
    // The scope is reconciled with the offered scopes by the caller, not checked here.
    let scope = registration.scope.take();
    check(&registration, &Scope::empty()).map_err(document_reason)?;
    registration.scope = scope;
    Ok(registration)
}

/// Checks a fetched document against every rule of the draft (and MCP's required
/// members) that does not depend on the server's configuration: what a fetcher calls
/// before caching a document, so that an invalid one is never cached. `Err` holds the
/// reason the machine would give.
pub fn validate_document(url: &ClientIdUrl, body: &[u8]) -> Result<(), Reason> {
    parse_document(url, body).map(|_| ())
}

/// The public client a valid document describes, under `config`.
fn client_from_document(
    config: &Config,
    url: &ClientIdUrl,
    body: &[u8],
    now: UnixTime,
) -> Result<Client, Reason> {
    if body.len() > config.client_metadata_document_max_bytes {
        return Err(Reason::ClientMetadataTooLarge);
    }
    let registration = parse_document(url, body)?;
    let offered = &config.scopes;
    let scope = match registration.scope {
        Some(scope) => Some(
            Scope::from_tokens(scope.iter().filter(|token| offered.contains(token)))
                .map_err(|_| Reason::ClientMetadataInvalid)?,
        ),
        None if offered.is_empty() => None,
        None => Some(offered.clone()),
    };
    Ok(Client {
        id: url.client_id(),
        auth_method: AuthMethod::None,
        secret: None,
        secret_expires_at: None,
        redirect_uris: registration.redirect_uris,
        grant_types: registration.grant_types,
        scope,
        name: registration.client_name,
        created_at: now,
        metadata: registration.metadata,
        registration_token: None,
    })
}

/// Where the client a request names comes from.
pub(crate) enum ClientSource {
    /// The store.
    Store(ClientId),
    /// Its metadata document.
    Document(ClientIdUrl),
    /// Nowhere: a Client Identifier URL that breaks the rules.
    Invalid(Reason),
}

impl Machine {
    /// Whether the client `id` is looked up in the store or resolved through its
    /// metadata document (only when the feature is on).
    pub(crate) fn client_source(&self, id: ClientId) -> ClientSource {
        if !self.config.client_metadata_documents || !is_client_id_url(id.as_str()) {
            return ClientSource::Store(id);
        }
        match ClientIdUrl::parse(id.as_str()) {
            Ok(url) => ClientSource::Document(url),
            Err(error) => {
                tracing::info!(client_id = ?id, %error, "invalid client identifier URL");
                ClientSource::Invalid(Reason::ClientIdUrlInvalid)
            }
        }
    }

    /// The client described by a fetched document, or why there is none.
    pub(crate) fn client_from_fetched(
        &self,
        url: &ClientIdUrl,
        fetched: Result<Bytes, FetchError>,
        now: UnixTime,
    ) -> Result<Client, Reason> {
        let body = fetched.map_err(|error| {
            tracing::warn!(client_id = %url, %error, transient = error.is_transient(), "client metadata document not fetched");
            match error {
                FetchError::TooLarge(_) => Reason::ClientMetadataTooLarge,
                error if error.is_transient() => Reason::ClientMetadataUnavailable,
                _ => Reason::ClientMetadataFetchFailed,
            }
        })?;
        client_from_document(&self.config, url, &body, now).inspect_err(|reason| {
            tracing::warn!(client_id = %url, ?reason, "client metadata document refused");
        })
    }

    /// The largest document accepted, in bytes.
    pub(crate) fn client_metadata_document_max_bytes(&self) -> usize {
        self.config.client_metadata_document_max_bytes
    }
}

/// Whether a redirect URI points at this machine: an `http` loopback IP literal or
/// `localhost` (MCP security considerations: "Localhost Redirect URI Risks").
pub(crate) fn is_loopback_redirect(uri: &str) -> bool {
    url::Url::parse(uri).is_ok_and(|url| match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        None => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cimd_1_valid_client_identifier_urls() {
        for good in [
            "https://client.example/c.json",
            "https://client.example/",
            "https://client.example:8443/app/client.json",
            "https://client.example:443/c",
            "https://client.example/c?v=1",
            "https://client.example/a//b",
            "https://[2001:4860::1]/c",
            "https://93.184.216.34/c",
            "https://Client.Example/c",
        ] {
            assert!(ClientIdUrl::parse(good).is_ok(), "{good}");
        }
        let url = ClientIdUrl::parse("https://client.example:8443/app/c.json?v=1").unwrap();
        assert_eq!(url.host(), "client.example");
        assert_eq!(url.port(), 8443);
        assert_eq!(url.authority(), "client.example:8443");
        assert_eq!(url.path_and_query(), "/app/c.json?v=1");
        assert_eq!(url.ip(), None);
        let url = ClientIdUrl::parse("https://[2001:4860::1]/c").unwrap();
        assert_eq!(url.host(), "2001:4860::1");
        assert_eq!(url.authority(), "[2001:4860::1]");
        assert_eq!(url.port(), 443);
        assert_eq!(url.ip(), Some("2001:4860::1".parse().unwrap()));
    }

    #[test]
    fn cimd_1_invalid_client_identifier_urls_are_refused_with_their_reason() {
        use InvalidClientIdUrl as E;
        let long = format!(
            "https://client.example/{}",
            "a".repeat(MAX_CLIENT_ID_URL_LEN)
        );
        for (bad, why) in [
            ("https://app.example", E::NoPath),
            ("https://app.example?x=1", E::NoPath),
            ("https://u:p@a.example/c.json", E::Userinfo),
            ("https://u@a.example/c.json", E::Userinfo),
            ("https://a.example/x/../c.json", E::DotSegment),
            ("https://a.example/./c.json", E::DotSegment),
            ("https://a.example/x/%2E%2e/c.json", E::DotSegment),
            ("https://a.example/x/..", E::DotSegment),
            ("https://a.example/c.json#f", E::Fragment),
            ("https://a.example/c.json#", E::Fragment),
            ("http://a.example/c.json", E::NotHttps),
            ("HTTPS://a.example/c.json", E::NotHttps),
            ("https:/a.example/c.json", E::NotHttps),
            ("https://a.example/c json", E::Malformed),
            ("https://a.example/caf\u{e9}", E::Malformed),
            ("https://a.example/c%zz", E::Malformed),
            ("https://a.example:/c", E::Malformed),
            ("https://a.example:0/c", E::Malformed),
            ("https://a.example:99999/c", E::Malformed),
            ("https:///c", E::Malformed),
            ("https://0x7f.1/c", E::Malformed),
            ("https://10.0.0.1/c.json", E::SpecialUseAddress),
            ("https://127.0.0.1/c.json", E::SpecialUseAddress),
            ("https://[::1]/c.json", E::SpecialUseAddress),
            ("https://[::ffff:a9fe:a9fe]/c.json", E::SpecialUseAddress),
            // A URL parser writes it `[::ffff:a9fe:a9fe]`: not the plain form.
            ("https://[::ffff:169.254.169.254]/c.json", E::Malformed),
            (long.as_str(), E::TooLong),
        ] {
            assert_eq!(ClientIdUrl::parse(bad), Err(why), "{bad}");
        }
    }

    #[test]
    fn only_https_prefixed_ids_are_taken_for_urls() {
        assert!(is_client_id_url("https://a.example/c"));
        assert!(is_client_id_url("HTTPS://a.example/c"));
        assert!(is_client_id_url("https:"));
        assert!(!is_client_id_url("http://a.example/c"));
        assert!(!is_client_id_url("client-123"));
        assert!(!is_client_id_url("https"));
        assert!(!is_client_id_url(""));
    }

    #[test]
    fn cimd_8_special_use_addresses() {
        for special in [
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "127.255.255.255",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.31.196.1",
            "192.52.193.1",
            "192.88.99.1",
            "192.168.1.1",
            "192.175.48.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::127.0.0.1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::10.0.0.1",
            "64:ff9b:1::1",
            "100::1",
            "2001::1",
            "2001:2::1",
            "2001:10::1",
            "2001:db8::1",
            "2002:a00:1::1",
            "3fff::1",
            "5f00::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
        ] {
            let ip: IpAddr = special.parse().unwrap();
            assert!(is_special_use_address(ip), "{special}");
        }
        for public in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.216.34",
            "100.63.255.255",
            "100.128.0.1",
            "172.15.255.255",
            "172.32.0.1",
            "192.0.1.1",
            "192.169.0.1",
            "198.17.255.255",
            "198.20.0.1",
            "223.255.255.255",
            "::ffff:93.184.216.34",
            "64:ff9b::808:808",
            "2001:4860:4860::8888",
            "2606:4700::1111",
            "2001:200::1",
            "3ffe::1",
        ] {
            let ip: IpAddr = public.parse().unwrap();
            assert!(!is_special_use_address(ip), "{public}");
        }
    }

    fn url() -> ClientIdUrl {
        ClientIdUrl::parse("https://client.example/c.json").unwrap()
    }

    fn document(extra: &str) -> String {
        format!(
            r#"{{"client_id":"https://client.example/c.json","client_name":"C","redirect_uris":["https://client.example/cb"]{extra}}}"#
        )
    }

    #[test]
    fn a_minimal_document_is_valid() {
        assert_eq!(validate_document(&url(), document("").as_bytes()), Ok(()));
        assert_eq!(
            validate_document(
                &url(),
                document(r#","token_endpoint_auth_method":"none","grant_types":["authorization_code","refresh_token"]"#)
                    .as_bytes()
            ),
            Ok(())
        );
    }

    #[test]
    fn document_rules() {
        let cases: &[(&str, Reason)] = &[
            (r#"[]"#, Reason::ClientMetadataMalformed),
            (
                r#"{"client_id":"x","client_id":"y"}"#,
                Reason::ClientMetadataMalformed,
            ),
            (
                r#"{"client_name":"C","redirect_uris":["https://client.example/cb"]}"#,
                Reason::ClientMetadataMissingMember,
            ),
            (
                r#"{"client_id":"https://client.example/c.json/","client_name":"C","redirect_uris":["https://client.example/cb"]}"#,
                Reason::ClientMetadataClientIdMismatch,
            ),
            (
                r#"{"client_id":"https://client.example/c.json","redirect_uris":["https://client.example/cb"]}"#,
                Reason::ClientMetadataMissingMember,
            ),
            (
                r#"{"client_id":"https://client.example/c.json","client_name":"C"}"#,
                Reason::ClientMetadataMissingMember,
            ),
            (
                r#"{"client_id":"https://client.example/c.json","client_name":"C","redirect_uris":[]}"#,
                Reason::ClientMetadataMissingMember,
            ),
        ];
        for (body, reason) in cases {
            assert_eq!(
                validate_document(&url(), body.as_bytes()),
                Err(*reason),
                "{body}"
            );
        }
        for (extra, reason) in [
            (r#","client_secret":"s""#, Reason::ClientMetadataSecret),
            (
                r#","client_secret_expires_at":0"#,
                Reason::ClientMetadataSecret,
            ),
            (
                r#","token_endpoint_auth_method":"client_secret_basic""#,
                Reason::ClientMetadataSecret,
            ),
            (
                r#","token_endpoint_auth_method":"client_secret_post""#,
                Reason::ClientMetadataSecret,
            ),
            (
                r#","token_endpoint_auth_method":"client_secret_jwt""#,
                Reason::ClientMetadataSecret,
            ),
            (
                r#","jwks":{"keys":[{"kty":"EC","crv":"P-256","x":"a","y":"b","d":"c"}]}"#,
                Reason::ClientMetadataSecret,
            ),
            (
                r#","token_endpoint_auth_method":"private_key_jwt","jwks_uri":"https://client.example/jwks""#,
                Reason::ClientMetadataUnsupportedAuthMethod,
            ),
            (
                r#","token_endpoint_auth_method":"tls_client_auth""#,
                Reason::ClientMetadataUnsupportedAuthMethod,
            ),
            (
                r#","token_endpoint_auth_method":7"#,
                Reason::ClientMetadataMalformed,
            ),
            (
                r#","grant_types":["password"]"#,
                Reason::ClientMetadataInvalid,
            ),
            (
                r#","grant_types":["client_credentials"]"#,
                Reason::ClientMetadataInvalid,
            ),
            (
                r#","logo_uri":"http://client.example/l.png""#,
                Reason::ClientMetadataInvalid,
            ),
        ] {
            assert_eq!(
                validate_document(&url(), document(extra).as_bytes()),
                Err(reason),
                "{extra}"
            );
        }
        for uri in [
            "javascript:alert(1)",
            "http://client.example/cb",
            "https://c.example/cb#f",
        ] {
            let body = format!(
                r#"{{"client_id":"https://client.example/c.json","client_name":"C","redirect_uris":["{uri}"]}}"#
            );
            assert_eq!(
                validate_document(&url(), body.as_bytes()),
                Err(Reason::ClientMetadataInvalidRedirectUri),
                "{uri}"
            );
        }
    }

    #[test]
    fn a_public_jwks_is_not_key_material() {
        assert_eq!(
            validate_document(
                &url(),
                document(r#","jwks":{"keys":[{"kty":"EC","crv":"P-256","x":"a","y":"b"}]}"#)
                    .as_bytes()
            ),
            Ok(())
        );
    }

    #[test]
    fn cimd_f3_only_failures_that_are_not_the_clients_fault_are_transient() {
        use std::io::{Error, ErrorKind};
        for transient in [
            FetchError::Busy,
            FetchError::Timeout,
            FetchError::Connection(Box::new(Error::from(ErrorKind::ConnectionRefused))),
            FetchError::Resolve(Error::from(ErrorKind::TimedOut)),
            FetchError::Resolve(Error::other("temporary failure in name resolution")),
        ] {
            assert!(transient.is_transient(), "{transient:?}");
        }
        for clients_fault in [
            FetchError::NotConfigured,
            FetchError::InsecureScheme,
            FetchError::SpecialUseAddress("10.0.0.1".parse().unwrap()),
            FetchError::Resolve(Error::from(ErrorKind::NotFound)),
            FetchError::NoAddress,
            FetchError::Redirect(302),
            FetchError::Status(404),
            FetchError::Status(500),
            FetchError::NotJson,
            FetchError::TooLarge(5 * 1024),
        ] {
            assert!(!clients_fault.is_transient(), "{clients_fault:?}");
        }
    }

    #[test]
    fn loopback_redirects() {
        for uri in [
            "http://127.0.0.1:3000/cb",
            "http://[::1]/cb",
            "http://localhost:8080/cb",
        ] {
            assert!(is_loopback_redirect(uri), "{uri}");
        }
        for uri in ["https://client.example/cb", "com.example.app:/cb"] {
            assert!(!is_loopback_redirect(uri), "{uri}");
        }
    }
}
