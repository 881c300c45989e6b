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
use crate::model::ClientId;
use crate::pkce::CodeChallenge;
use crate::redirect_uri::ValidatedRedirectUri;
use crate::resource::ResourceSet;
use crate::response::{error_page, redirect, HttpResponse};
use crate::scope::Scope;
use crate::time::UnixTime;

pub use complete::{Approval, CompleteStep, Decision, GrantCreation, PendingMarker};
pub use request::{AuthorizeClientLookup, AuthorizeStep};

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
}

/// An authorization request that failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum AuthorizationError {
    /// The client or the redirect URI could not be validated (or the ticket is bad): show
    /// the user an error page. Never redirect (OAuth 2.1 §4.1.2.1).
    Fatal(Reason),
    /// The error goes back to the client at its validated redirect URI.
    Redirect {
        /// Why.
        reason: Reason,
        /// The complete redirect response.
        response: Box<HttpResponse>,
    },
    /// The host called the API wrongly (for example approved a wider scope).
    Misuse(ApiMisuse),
}

impl AuthorizationError {
    /// The protocol reason, if this is a protocol error.
    #[must_use]
    pub fn reason(&self) -> Option<Reason> {
        match self {
            AuthorizationError::Fatal(reason) | AuthorizationError::Redirect { reason, .. } => {
                Some(*reason)
            }
            AuthorizationError::Misuse(_) => None,
        }
    }

    /// The response to send: the redirect, or a minimal error page with anti-framing
    /// headers (a host usually renders its own page for [`AuthorizationError::Fatal`]).
    #[must_use]
    pub fn into_response(self) -> HttpResponse {
        match self {
            AuthorizationError::Fatal(reason) => error_page(reason),
            AuthorizationError::Redirect { response, .. } => *response,
            AuthorizationError::Misuse(_) => error_page(Reason::InternalFailure),
        }
    }
}

impl std::fmt::Display for AuthorizationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthorizationError::Fatal(reason) => write!(f, "authorization refused: {reason}"),
            AuthorizationError::Redirect { reason, .. } => {
                write!(f, "authorization error redirected: {reason}")
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
    AuthorizationError::Redirect {
        reason,
        response: Box::new(redirect(&redirect_uri.with_query(&pairs), after_post)),
    }
}
