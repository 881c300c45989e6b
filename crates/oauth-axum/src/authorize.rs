//! The authorization endpoint: the host's own route, with its login and consent pages.

use std::convert::Infallible;
use std::sync::Arc;

use axum_core::body::Body;
use axum_core::extract::{FromRef, FromRequest};
use axum_core::response::{IntoResponse, Response};
use http::{Request, StatusCode};
use oauth_core::model::UserId;
use oauth_core::response::html_page;
use oauth_core::{AuthorizationError, PendingAuthorization, Provider, Store};

use crate::body::{bounded, into_axum};

/// A validated authorization request (OAuth 2.1 §4.1.1), GET or POST, or why it failed.
///
/// Extracting never fails: the outcome is for the handler, because what to do with an
/// error depends on who is logged in. A [`AuthorizationError::Redirect`] may only be sent
/// to the client for an authenticated user (OAuth 2.1 §7.13.2): show the login page
/// first, and answer with [`authorization_error_response`] afterwards. A
/// [`AuthorizationError::Fatal`] (unknown client, untrusted redirect URI) is always a
/// page, never a redirect.
///
/// The body of a POST is read up to the provider's limit, like every protocol request; a
/// body that fails while being read is [`AuthorizationError::Fatal`].
#[derive(Debug)]
pub struct AuthorizationRequest<S: Store>(
    pub Result<PendingAuthorization, AuthorizationError>,
    /// Only carries the store type.
    pub std::marker::PhantomData<fn() -> S>,
);

impl<S: Store> AuthorizationRequest<S> {
    /// The outcome of the validation.
    pub fn into_result(self) -> Result<PendingAuthorization, AuthorizationError> {
        self.0
    }
}

impl<S, T> FromRequest<T> for AuthorizationRequest<S>
where
    S: Store,
    Arc<Provider<S>>: FromRef<T>,
    T: Send + Sync,
{
    type Rejection = Infallible;

    async fn from_request(request: Request<Body>, state: &T) -> Result<Self, Self::Rejection> {
        let provider = Arc::<Provider<S>>::from_ref(state);
        let outcome = match bounded(request, provider.config().max_body_bytes()).await {
            Ok(request) => provider.begin_authorization(&request).await,
            // Not received whole: never validated as if it were.
            Err(failure) => Err(AuthorizationError::Fatal(failure.reason())),
        };
        Ok(AuthorizationRequest(outcome, std::marker::PhantomData))
    }
}

/// The response for a failed authorization request: the error redirect for an
/// authenticated user, otherwise a minimal error page with anti-framing headers.
#[must_use]
pub fn authorization_error_response(error: AuthorizationError, user: Option<&UserId>) -> Response {
    into_axum(error.into_response(user))
}

/// An HTML page of the authorization UI (login, consent, error), with the headers every
/// such page needs: no framing (`X-Frame-Options: DENY`, CSP `frame-ancestors 'none'`,
/// against clickjacking, OAuth 2.1 §7.11), no referrer (the URL carries the request), no
/// third-party resources, `nosniff`, `no-store`. The host escapes what it renders. The
/// page and its headers are the core's ([`oauth_core::response::html_page`]).
///
/// Forms may only be submitted to this origin (CSP `form-action 'self'`). Browsers apply
/// `form-action` to the redirects that follow a submission too, so a consent page, whose
/// form answers with a redirect to the client, must be built with [`Page::consent`],
/// which also allows the client's validated redirect URI.
#[derive(Clone, Debug)]
pub struct Page {
    status: StatusCode,
    html: String,
    /// The pending request's validated redirect URI, for a consent page.
    consent_redirect_uri: Option<String>,
}

impl Page {
    /// A 200 page (a login or consent form).
    #[must_use]
    pub fn ok(html: impl Into<String>) -> Self {
        Page::error(StatusCode::OK, html)
    }

    /// A consent page for `pending`: its form may also lead to the client's redirect URI
    /// (validated by the core against the client's registration), where the browser is
    /// sent with the code or the denial.
    #[must_use]
    pub fn consent(html: impl Into<String>, pending: &PendingAuthorization) -> Self {
        Page {
            consent_redirect_uri: Some(pending.redirect_uri().to_owned()),
            ..Page::ok(html)
        }
    }

    /// An error page with `status`.
    #[must_use]
    pub fn error(status: StatusCode, html: impl Into<String>) -> Self {
        Page {
            status,
            html: html.into(),
            consent_redirect_uri: None,
        }
    }
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        into_axum(html_page(
            self.status,
            self.html,
            self.consent_redirect_uri.as_deref(),
        ))
    }
}
