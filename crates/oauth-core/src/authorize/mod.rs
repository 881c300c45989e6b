//! The authorization endpoint (OAuth 2.1 §4.1.1, §4.1.2).
//!
//! Handling is split around the host's login and consent pages:
//!
//! 1. [`Machine::authorization_request`](crate::Machine::authorization_request) validates the request into a
//!    [`PendingAuthorization`]. Until client and redirect URI are validated, every error is
//!    [`AuthorizationError::Fatal`]: the host shows a page and nothing is redirected
//!    (§4.1.2.1). After that, errors are redirected to the validated URI with `state` and
//!    `iss` (RFC 9207).
//! 2. The pending authorization crosses the login and consent pages as a sealed ticket
//!    ([`Machine::seal_ticket`](crate::Machine::seal_ticket)): AES-256-GCM under the keyring, expiring, and bound to the
//!    browser session the host names, so it cannot be forged, altered or replayed from
//!    another session (CSRF). [`Machine::resume_authorization`](crate::Machine::resume_authorization) opens and re-validates it.
//! 3. [`Machine::complete_authorization`](crate::Machine::complete_authorization) turns the host's decision into the redirect:
//!    `access_denied`, or a single-use code bound to client, redirect URI, PKCE challenge,
//!    scope and resources. Either decision marks the pending authorization used
//!    ([`Store::insert_once`](crate::Store::insert_once)), so it completes once.

mod complete;
mod request;
mod ticket;

use crate::error::{ApiMisuse, Reason};
use crate::model::{ClientId, UserId};
use crate::pkce::CodeChallenge;
use crate::redirect_uri::ValidatedRedirectUri;
use crate::resource::ResourceSet;
use crate::response::{error_page, redirect, HttpResponse};
use crate::scope::Scope;
use crate::time::UnixTime;

pub use complete::{Approval, CompleteStep, Decision, GrantCreation, PendingMarker};
pub use request::{AuthorizeClientLookup, AuthorizeClientMetadataLookup, AuthorizeStep};
pub use ticket::MIN_SESSION_BINDING_LEN;

/// A validated authorization request waiting for the host's login and consent.
///
/// Only the machine creates one (from a request or a ticket), so its contents are always
/// validated. What it shows is safe to display: the client's registered name, the
/// redirect URI it will return to, the scope and resources requested.
#[derive(Debug)]
pub struct PendingAuthorization {
    pub(crate) id: String,
    pub(crate) client_id: ClientId,
    pub(crate) client_name: Option<String>,
    pub(crate) redirect_uri: ValidatedRedirectUri,
    pub(crate) redirect_uri_in_request: bool,
    pub(crate) scope: Scope,
    pub(crate) resources: ResourceSet,
    pub(crate) state: Option<String>,
    pub(crate) challenge: Option<CodeChallenge>,
    pub(crate) expires_at: UnixTime,
    /// The host of the client id, when the client came from its metadata document.
    pub(crate) client_id_host: Option<String>,
    /// Whether every registered redirect URI of the client is a loopback one.
    pub(crate) redirect_uris_loopback_only: bool,
}

impl PendingAuthorization {
    /// The requesting client.
    #[must_use]
    pub fn client_id(&self) -> &ClientId {
        &self.client_id
    }

    /// The client's registered name, if any (for the consent page).
    #[must_use]
    pub fn client_name(&self) -> Option<&str> {
        self.client_name.as_deref()
    }

    /// Where the user will be sent back to.
    #[must_use]
    pub fn redirect_uri(&self) -> &str {
        self.redirect_uri.as_str()
    }

    /// The requested scope.
    #[must_use]
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// The requested resources (audiences).
    #[must_use]
    pub fn resources(&self) -> &ResourceSet {
        &self.resources
    }

    /// When this pending authorization (and its ticket) expires.
    #[must_use]
    pub fn expires_at(&self) -> UnixTime {
        self.expires_at
    }

    /// Whether the client was described by its client ID metadata document (its id is an
    /// https URL) rather than registered here.
    #[must_use]
    pub fn is_client_id_metadata_document(&self) -> bool {
        self.client_id_host.is_some()
    }

    /// The host of the client id, for a client described by its metadata document: show
    /// it on the consent page, beside the client's self-declared name (draft § "OAuth
    /// Phishing Attacks": the name is the client's claim, the host is what was verified).
    #[must_use]
    pub fn client_id_host(&self) -> Option<&str> {
        self.client_id_host.as_deref()
    }

    /// The host of the redirect URI the response will go to (for a private-use scheme
    /// without a host, `None`). MCP asks the consent page to show it clearly
    /// ("Localhost Redirect URI Risks").
    #[must_use]
    pub fn redirect_uri_host(&self) -> Option<String> {
        url::Url::parse(self.redirect_uri.as_str())
            .ok()
            .and_then(|url| url.host_str().map(str::to_owned))
    }

    /// Whether every redirect URI the client registered is a loopback one
    /// (`127.0.0.1`, `[::1]`, `localhost`): any program on the user's machine could
    /// receive the response, so the consent page should warn (MCP "Localhost Redirect URI
    /// Risks": SHOULD warn when all redirect URIs are localhost).
    #[must_use]
    pub fn redirect_uris_loopback_only(&self) -> bool {
        self.redirect_uris_loopback_only
    }
}

/// An authorization request that failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum AuthorizationError {
    /// The client or the redirect URI could not be validated (or the ticket is bad): show
    /// the user an error page. Never redirect (OAuth 2.1 §4.1.2.1).
    Fatal(Reason),
    /// The error goes back to the client at its validated redirect URI, once the user is
    /// authenticated (see [`ErrorRedirect`]).
    Redirect(ErrorRedirect),
    /// The host called the API wrongly (for example approved a wider scope).
    Misuse(ApiMisuse),
}

/// An error response for the client, at its validated redirect URI.
///
/// A registered redirect URI is not a trusted one: anyone who can register a client
/// (dynamic registration) can register any https URI. So the authorization server must
/// not redirect an unauthenticated visitor to it, or it becomes an open redirector
/// (OAuth 2.1 §7.13.2, RFC 9700 §4.11.2). The redirect is therefore only available for
/// an authenticated user: if nobody is logged in, show the login page first and handle
/// the authorization request again afterwards (it yields the same error).
#[derive(Debug)]
pub struct ErrorRedirect {
    reason: Reason,
    response: Box<HttpResponse>,
}

impl ErrorRedirect {
    /// Why the request failed.
    #[must_use]
    pub fn reason(&self) -> Reason {
        self.reason
    }

    /// The redirect to the client, for a user the host has authenticated.
    #[must_use]
    pub fn into_response(self, authenticated_user: &UserId) -> HttpResponse {
        tracing::debug!(reason = ?self.reason, user = %authenticated_user, "authorization error redirected");
        *self.response
    }
}

impl AuthorizationError {
    /// The protocol reason, if this is a protocol error.
    #[must_use]
    pub fn reason(&self) -> Option<Reason> {
        match self {
            AuthorizationError::Fatal(reason) => Some(*reason),
            AuthorizationError::Redirect(redirect) => Some(redirect.reason),
            AuthorizationError::Misuse(_) => None,
        }
    }

    /// The response to send. An error redirect is sent only for an authenticated user;
    /// without one (and for [`AuthorizationError::Fatal`]) this is a minimal error page
    /// with anti-framing headers (hosts usually render their own).
    #[must_use]
    pub fn into_response(self, authenticated_user: Option<&UserId>) -> HttpResponse {
        match (self, authenticated_user) {
            (AuthorizationError::Redirect(redirect), Some(user)) => redirect.into_response(user),
            (AuthorizationError::Redirect(redirect), None) => error_page(redirect.reason),
            (AuthorizationError::Fatal(reason), _) => error_page(reason),
            (AuthorizationError::Misuse(_), _) => error_page(Reason::InternalFailure),
        }
    }
}

impl std::fmt::Display for AuthorizationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthorizationError::Fatal(reason) => write!(f, "authorization refused: {reason}"),
            AuthorizationError::Redirect(redirect) => {
                write!(f, "authorization error for the client: {}", redirect.reason)
            }
            AuthorizationError::Misuse(misuse) => write!(f, "API misuse: {misuse}"),
        }
    }
}

impl std::error::Error for AuthorizationError {}

/// Builds the error redirect for a validated redirect URI: `error`,
/// `error_description`, `state` when one was sent, and `iss` (RFC 9207 §2).
pub(crate) fn error_redirect(
    redirect_uri: &ValidatedRedirectUri,
    state: Option<&str>,
    issuer: &str,
    reason: Reason,
    after_post: bool,
) -> AuthorizationError {
    let mut pairs = vec![
        ("error", reason.code().as_str()),
        ("error_description", reason.description()),
    ];
    if let Some(state) = state {
        pairs.push(("state", state));
    }
    pairs.push(("iss", issuer));
    tracing::debug!(?reason, "authorization error redirected to the client");
    AuthorizationError::Redirect(ErrorRedirect {
        reason,
        response: Box::new(redirect(&redirect_uri.with_query(&pairs), after_post)),
    })
}
