//! Discovery documents: authorization server metadata (RFC 8414) and protected resource
//! metadata (RFC 9728).
//!
//! Both documents are a deterministic function of the [`Config`](crate::Config): nothing
//! in them comes from the request (not the `Host`, not `X-Forwarded-*`, RFC 9700 §4.13),
//! and they advertise only what this library implements in the configuration at hand.
//! They are built on each request (a few string concatenations and one JSON
//! serialization, microseconds) rather than cached, so the [`Machine`] stays a plain value;
//! the responses are cacheable (`Cache-Control: public, max-age=3600`), since they carry
//! no secret. CORS headers are the glue's business.
//!
//! ## Where the documents live
//!
//! - **Authorization server metadata** sits at `/.well-known/oauth-authorization-server`
//!   inserted between the issuer's origin and its path, after removing a trailing `/`
//!   from the path (RFC 8414 §3.1): issuer `https://example.com/issuer1` is served at
//!   `/.well-known/oauth-authorization-server/issuer1`. Nothing else is served: not the
//!   root URL when the issuer has a path (a client that built it from another issuer
//!   would get a document whose `issuer` it must reject, RFC 8414 §3.3), and no
//!   `openid-configuration` variant, since this library is not an OpenID Provider.
//! - **Endpoint URLs** in the document are the issuer's *origin* followed by the paths of
//!   [`Endpoints`](crate::Endpoints). Those paths are absolute paths on the issuer's
//!   origin, not relative to the issuer's path: with issuer `https://example.com/tenant1`
//!   and the default endpoints, the token endpoint is `https://example.com/token`. A
//!   host with a tenant path configures `/tenant1/token` if that is where it routes.
//!   Paths are advertised exactly as configured (they should be ASCII, percent-encoded
//!   where needed), so a client requesting the advertised URL reaches the route that
//!   [`Provider::handle`](crate::Provider::handle) matches by exact path.
//! - **Protected resource metadata** of each configured resource sits at the URL that
//!   [`Resource::metadata_url`] computes (RFC 9728 §3.1: the well-known path inserted
//!   between the resource's origin and its path, a trailing `/` removed, the query kept),
//!   which is also the URL the bearer challenge's `resource_metadata` names. A request
//!   matches a resource when its path *and* query equal those of that URL (an empty query
//!   counts as none). The provider serves one host, so only the path is compared, never
//!   the request's authority: two resources on different origins with the same path (or
//!   `/mcp` and `/mcp/`, which RFC 9728 maps to one URL) are ambiguous, and such a URL
//!   answers 404 (a host serving them must route per origin itself and call
//!   [`Machine::protected_resource_metadata_response`]).
//! - **The root fallback** `/.well-known/oauth-protected-resource` (which MCP clients try
//!   after the path-aware URL) serves the resource whose own metadata URL it is (a
//!   resource with an empty path and no query); failing that, the only configured
//!   resource when exactly one resource with an origin is configured; otherwise nothing
//!   (404), because the server could not tell which resource the client meant.
//!
//! GET and HEAD are answered; any other method on a served URL is 405 with
//! `Allow: GET, HEAD`. URLs that are not served are left to the caller (the provider
//! answers 404).

use bytes::Bytes;
use http::header::{ALLOW, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use serde::Serialize;

use crate::machine::Machine;
use crate::model::{AuthMethod, GrantType};
use crate::resource::Resource;
use crate::response::HttpResponse;

/// The well-known path prefix of authorization server metadata (RFC 8414 §3, §7.3).
pub const AUTHORIZATION_SERVER_WELL_KNOWN: &str = "/.well-known/oauth-authorization-server";

/// The well-known path prefix of protected resource metadata (RFC 9728 §3, §8.3).
pub const PROTECTED_RESOURCE_WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// The `Cache-Control` of the documents: public and an hour, since they carry no secret
/// and change only with the configuration.
const CACHE_POLICY: &str = "public, max-age=3600";

/// The OAuth scope that asks for refresh tokens (OpenID Connect Core §11). It is a request
/// to the authorization server, not a permission at a resource, so protected resource
/// metadata never lists it (MCP 2026-07-28, checklist MCP-14).
const OFFLINE_ACCESS: &str = "offline_access";

/// The authorization server metadata document (RFC 8414 §2), as this server publishes it.
///
/// Every list is explicit even where RFC 8414 defines a default, because the defaults
/// would advertise the wrong thing (`grant_types_supported` defaults to include
/// `implicit`). Empty lists and absent values are left out of the JSON (RFC 8414 §3.2).
/// Members are serialized in the declared order, so the document is byte-for-byte a
/// function of the configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AuthorizationServerMetadata {
    /// The issuer identifier, exactly as configured (RFC 8414 §3.3).
    pub issuer: String,
    /// The authorization endpoint.
    pub authorization_endpoint: String,
    /// The token endpoint.
    pub token_endpoint: String,
    /// The dynamic registration endpoint (RFC 7591), only when registration is enabled
    /// ([`Endpoints::registration`](crate::Endpoints::registration) is set).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_endpoint: Option<String>,
    /// The scopes the server offers; left out when none is configured.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scopes_supported: Vec<String>,
    /// `["code"]`: the only response type of OAuth 2.1.
    pub response_types_supported: Vec<&'static str>,
    /// `["query"]`: authorization responses travel in the redirect URI's query.
    pub response_modes_supported: Vec<&'static str>,
    /// The grants: `authorization_code`, `refresh_token` (unless the server issues no
    /// refresh tokens) and `client_credentials`. Never `implicit` or `password`.
    pub grant_types_supported: Vec<&'static str>,
    /// `client_secret_basic`, `client_secret_post` and `none` (public clients).
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
    /// The revocation endpoint (RFC 7009).
    pub revocation_endpoint: String,
    /// The same methods as the token endpoint: a public client may revoke its own tokens
    /// (RFC 7009 §2.1).
    pub revocation_endpoint_auth_methods_supported: Vec<&'static str>,
    /// The introspection endpoint (RFC 7662).
    pub introspection_endpoint: String,
    /// The confidential methods only: introspection needs an authenticated caller
    /// (RFC 7662 §2.1), so `none` is not offered.
    pub introspection_endpoint_auth_methods_supported: Vec<&'static str>,
    /// `["S256"]`, plus `plain` only when the PKCE policy accepts it.
    pub code_challenge_methods_supported: Vec<&'static str>,
    /// `true`: every authorization response carries `iss` (RFC 9207 §3).
    pub authorization_response_iss_parameter_supported: bool,
    /// The configured resources (RFC 9728 §4); left out when none is configured.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub protected_resources: Vec<String>,
    /// `true` when client ID metadata documents are on (draft-ietf-oauth-client-id-
    /// metadata-document § "Authorization Server Metadata"); left out otherwise.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub client_id_metadata_document_supported: bool,
}

/// The protected resource metadata document (RFC 9728 §2) of one configured resource.
///
/// `bearer_methods_supported` is `["header"]` only. The core also accepts a token in a
/// form-encoded POST body (RFC 6750 §2.2, checklist RS-3), but only on requests whose
/// body is a single-part `application/x-www-form-urlencoded` form, which the resource's
/// own API decides, not this library: an MCP endpoint or any JSON API can never receive
/// a body token. The header works on every request to every resource, so it is the one
/// method advertised; the body remains a tolerated fallback, not a promise. `query` is
/// never listed (OAuth 2.1 §5.1: a token in the query is ignored).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ProtectedResourceMetadata {
    /// The resource identifier, exactly as configured after canonicalisation by
    /// [`Resource::parse`] (so `https://api.example/` is published as
    /// `https://api.example`; a non-empty path keeps its trailing slash).
    pub resource: String,
    /// `[issuer]`: this server.
    pub authorization_servers: Vec<String>,
    /// The scopes the server offers, except `offline_access`, which is not a permission
    /// at a resource; left out when none remains.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scopes_supported: Vec<String>,
    /// `["header"]` (see the type's documentation).
    pub bearer_methods_supported: Vec<&'static str>,
}

/// The issuer split as RFC 8414 needs it: `(origin, path without a trailing slash)`.
fn issuer_location(issuer: &str) -> (String, String) {
    match url::Url::parse(issuer) {
        Ok(url) => (
            url.origin().ascii_serialization(),
            url.path().trim_end_matches('/').to_owned(),
        ),
        // Unreachable: `Issuer::new` parsed the same string. Keep a usable fallback.
        Err(_) => (issuer.trim_end_matches('/').to_owned(), String::new()),
    }
}

/// The path and query (an empty query as none) of a resource's RFC 9728 metadata URL;
/// `None` for a resource without an origin (`urn:`), which has no such URL.
fn resource_metadata_location(resource: &Resource) -> Option<(String, Option<String>)> {
    let url = url::Url::parse(&resource.metadata_url()?).ok()?;
    let query = url.query().filter(|q| !q.is_empty()).map(str::to_owned);
    Some((url.path().to_owned(), query))
}

/// A complete, cacheable JSON document response.
fn document_response(document: &impl Serialize) -> HttpResponse {
    let Ok(json) = serde_json::to_vec(document) else {
        let mut response = Response::new(Bytes::new());
        *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        return response;
    };
    let mut response = Response::new(Bytes::from(json));
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(CACHE_POLICY));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// The answer to HEAD: the GET response's status and headers, its length, no body
/// (RFC 9110 §9.3.2).
fn head_of(get: HttpResponse) -> HttpResponse {
    let (mut parts, body) = get.into_parts();
    parts
        .headers
        .insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
    Response::from_parts(parts, Bytes::new())
}

/// 405 with the methods a metadata URL answers (RFC 9110 §15.5.6).
fn method_not_allowed() -> HttpResponse {
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    let headers = response.headers_mut();
    headers.insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A path the protocol endpoints answer ([`Machine::served_paths`]).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ServedPath {
    /// Exactly this path.
    Exact(String),
    /// One more segment below this path: `{path}/{client_id}`, the RFC 7592 client
    /// configuration endpoints.
    Below(String),
}

impl Machine {
    /// The authorization server metadata document (RFC 8414 §2) of this configuration.
    #[must_use]
    pub fn authorization_server_metadata(&self) -> AuthorizationServerMetadata {
        let config = &self.config;
        let (origin, _) = issuer_location(config.issuer.as_str());
        let endpoint = |path: &str| format!("{origin}{path}");
        let endpoints = &config.endpoints;
        let mut grant_types = vec![GrantType::AuthorizationCode.as_str()];
        if config.issue_refresh_tokens {
            grant_types.push(GrantType::RefreshToken.as_str());
        }
        grant_types.push(GrantType::ClientCredentials.as_str());
        let confidential = [AuthMethod::ClientSecretBasic, AuthMethod::ClientSecretPost]
            .map(AuthMethod::as_str)
            .to_vec();
        let mut all_methods = confidential.clone();
        all_methods.push(AuthMethod::None.as_str());
        let mut challenge_methods = vec!["S256"];
        if config.pkce.allow_plain {
            challenge_methods.push("plain");
        }
        AuthorizationServerMetadata {
            issuer: config.issuer.as_str().to_owned(),
            authorization_endpoint: endpoint(&endpoints.authorization),
            token_endpoint: endpoint(&endpoints.token),
            registration_endpoint: endpoints.registration.as_deref().map(endpoint),
            scopes_supported: config.scopes.iter().map(str::to_owned).collect(),
            response_types_supported: vec!["code"],
            response_modes_supported: vec!["query"],
            grant_types_supported: grant_types,
            token_endpoint_auth_methods_supported: all_methods.clone(),
            revocation_endpoint: endpoint(&endpoints.revocation),
            revocation_endpoint_auth_methods_supported: all_methods,
            introspection_endpoint: endpoint(&endpoints.introspection),
            introspection_endpoint_auth_methods_supported: confidential,
            code_challenge_methods_supported: challenge_methods,
            authorization_response_iss_parameter_supported: true,
            protected_resources: config
                .resources
                .iter()
                .map(|r| r.as_str().to_owned())
                .collect(),
            client_id_metadata_document_supported: config.client_metadata_documents,
        }
    }

    /// The path, on the issuer's origin, of the authorization server metadata (RFC 8414
    /// §3.1): `/.well-known/oauth-authorization-server` followed by the issuer's path
    /// without its trailing `/`.
    #[must_use]
    pub fn authorization_server_metadata_path(&self) -> String {
        let (_, path) = issuer_location(self.config.issuer.as_str());
        format!("{AUTHORIZATION_SERVER_WELL_KNOWN}{path}")
    }

    /// The absolute URL of the authorization server metadata (RFC 8414 §3.1), the one a
    /// client derives from the issuer.
    #[must_use]
    pub fn authorization_server_metadata_url(&self) -> String {
        let (origin, path) = issuer_location(self.config.issuer.as_str());
        format!("{origin}{AUTHORIZATION_SERVER_WELL_KNOWN}{path}")
    }

    /// The complete 200 response carrying the authorization server metadata.
    #[must_use]
    pub fn authorization_server_metadata_response(&self) -> HttpResponse {
        document_response(&self.authorization_server_metadata())
    }

    /// The protected resource metadata document (RFC 9728 §2) of `resource`, or `None`
    /// if `resource` is not one of the configured resources: this server never speaks
    /// for a resource it does not issue tokens for.
    #[must_use]
    pub fn protected_resource_metadata(
        &self,
        resource: &Resource,
    ) -> Option<ProtectedResourceMetadata> {
        if !self.config.resources.contains(resource) {
            return None;
        }
        Some(ProtectedResourceMetadata {
            resource: resource.as_str().to_owned(),
            authorization_servers: vec![self.config.issuer.as_str().to_owned()],
            scopes_supported: self
                .config
                .scopes
                .iter()
                .filter(|s| *s != OFFLINE_ACCESS)
                .map(str::to_owned)
                .collect(),
            bearer_methods_supported: vec!["header"],
        })
    }

    /// The complete 200 response carrying the metadata of `resource`, or `None` if it is
    /// not configured. For hosts that route per origin themselves (see the module docs).
    #[must_use]
    pub fn protected_resource_metadata_response(
        &self,
        resource: &Resource,
    ) -> Option<HttpResponse> {
        self.protected_resource_metadata(resource)
            .map(|document| document_response(&document))
    }

    /// The configured resource whose metadata a request for `path` and `query` asks for,
    /// by the rules of the module docs; `None` when none or more than one fits.
    fn resource_at(&self, path: &str, query: Option<&str>) -> Option<&Resource> {
        let query = query.filter(|q| !q.is_empty());
        let mut exact = self.config.resources.iter().filter(|resource| {
            resource_metadata_location(resource)
                .is_some_and(|(p, q)| p == path && q.as_deref() == query)
        });
        match (exact.next(), exact.next()) {
            (Some(resource), None) => return Some(resource),
            (Some(_), Some(_)) => {
                tracing::warn!(
                    path,
                    "several configured resources share this metadata URL; none is served"
                );
                return None;
            }
            (None, _) => {}
        }
        if path != PROTECTED_RESOURCE_WELL_KNOWN || query.is_some() {
            return None;
        }
        let mut served = self
            .config
            .resources
            .iter()
            .filter(|resource| resource.metadata_url().is_some());
        match (served.next(), served.next()) {
            (Some(only), None) => Some(only),
            _ => None,
        }
    }

    /// Every path [`Provider::handle`](crate::Provider::handle) answers: the token,
    /// revocation, introspection and (when enabled) registration endpoints, the client
    /// configuration endpoints below the registration path, and the discovery documents
    /// (the authorization server metadata, each resource's protected resource metadata,
    /// and the root fallback when one is served there). Glue crates register exactly
    /// these routes.
    #[must_use]
    pub fn served_paths(&self) -> Vec<ServedPath> {
        let endpoints = &self.config.endpoints;
        let mut paths = vec![
            ServedPath::Exact(endpoints.token.clone()),
            ServedPath::Exact(endpoints.revocation.clone()),
            ServedPath::Exact(endpoints.introspection.clone()),
        ];
        if let Some(registration) = &endpoints.registration {
            paths.push(ServedPath::Exact(registration.clone()));
            paths.push(ServedPath::Below(registration.clone()));
        }
        paths.push(ServedPath::Exact(self.authorization_server_metadata_path()));
        let root_fallback = Request::get(PROTECTED_RESOURCE_WELL_KNOWN)
            .body(())
            .ok()
            .and_then(|probe| self.metadata_request(&probe));
        if root_fallback.is_some() {
            paths.push(ServedPath::Exact(PROTECTED_RESOURCE_WELL_KNOWN.to_owned()));
        }
        for resource in self.config.resources.iter() {
            let path = resource
                .metadata_url()
                .and_then(|url| url.parse::<http::Uri>().ok())
                .map(|uri| uri.path().to_owned());
            if let Some(path) = path {
                paths.push(ServedPath::Exact(path));
            }
        }
        paths.sort();
        paths.dedup();
        paths
    }

    /// Answers a request for one of the discovery documents: the authorization server
    /// metadata, or the protected resource metadata of a configured resource (see the
    /// module docs for which URL serves what). `None` when the request's path is not one
    /// of them, so the caller routes it elsewhere (or answers 404). GET gets the
    /// document, HEAD its headers, any other method 405 with `Allow: GET, HEAD`.
    #[must_use]
    pub fn metadata_request<B>(&self, request: &Request<B>) -> Option<HttpResponse> {
        let uri = request.uri();
        let path = uri.path();
        let document = if path == self.authorization_server_metadata_path() {
            self.authorization_server_metadata_response()
        } else if path == PROTECTED_RESOURCE_WELL_KNOWN
            || path
                .strip_prefix(PROTECTED_RESOURCE_WELL_KNOWN)
                .is_some_and(|rest| rest.starts_with('/'))
        {
            let resource = self.resource_at(path, uri.query())?;
            self.protected_resource_metadata_response(resource)?
        } else {
            return None;
        };
        Some(match *request.method() {
            Method::GET => document,
            Method::HEAD => head_of(document),
            _ => method_not_allowed(),
        })
    }
}
