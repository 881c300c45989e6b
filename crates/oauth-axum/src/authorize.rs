//! The authorization endpoint: the host's own route, with its login and consent pages.

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRef, FromRequest};
use axum::response::{Html, IntoResponse, Response};
use http::header::CONTENT_SECURITY_POLICY;
use http::{HeaderValue, Request, StatusCode};
use oauth_core::model::UserId;
use oauth_core::response::add_page_security_headers;
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
/// third-party resources, `nosniff`, `no-store`. The host escapes what it renders.
///
/// Forms may only be submitted to this origin (CSP `form-action 'self'`). Browsers apply
/// `form-action` to the redirects that follow a submission too, so a consent page, whose
/// form answers with a redirect to the client, must be built with [`Page::consent`],
/// which also allows the client's validated redirect URI.
#[derive(Clone, Debug)]
pub struct Page {
    status: StatusCode,
    html: String,
    /// An extra `form-action` source: the consent redirect's origin (or scheme).
    form_action: Option<String>,
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
            form_action: form_action_source(pending.redirect_uri()),
            ..Page::ok(html)
        }
    }

    /// An error page with `status`.
    #[must_use]
    pub fn error(status: StatusCode, html: impl Into<String>) -> Self {
        Page {
            status,
            html: html.into(),
            form_action: None,
        }
    }
}

/// The CSP source that allows navigating to `redirect_uri`: its origin for `http(s)`
/// (`https://client.example:8443`), its scheme for a private-use scheme
/// (`com.example.app:`). Only characters that cannot end a CSP source are kept; anything
/// else yields `None` (the page then keeps `'self'` only).
fn form_action_source(redirect_uri: &str) -> Option<String> {
    let (scheme, rest) = redirect_uri.split_once(':')?;
    let scheme_ok = !scheme.is_empty()
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if !scheme_ok {
        return None;
    }
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return Some(format!("{scheme}:"));
    }
    let authority = rest.strip_prefix("//")?.split(['/', '?', '#']).next()?;
    let authority_ok = !authority.is_empty()
        && !authority.contains('@')
        && authority
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    authority_ok.then(|| format!("{scheme}://{authority}"))
}

impl IntoResponse for Page {
    fn into_response(self) -> Response {
        let mut response = (self.status, Html(self.html)).into_response();
        add_page_security_headers(response.headers_mut());
        if let Some(source) = self.form_action {
            let csp = response
                .headers()
                .get(CONTENT_SECURITY_POLICY)
                .and_then(|value| value.to_str().ok())
                .map(|csp| {
                    csp.replace(
                        "form-action 'self'",
                        &format!("form-action 'self' {source}"),
                    )
                });
            if let Some(value) = csp.and_then(|csp| HeaderValue::from_str(&csp).ok()) {
                response
                    .headers_mut()
                    .insert(CONTENT_SECURITY_POLICY, value);
            }
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::form_action_source;

    #[test]
    fn consent_form_action_allows_the_redirect_origin_or_private_scheme_only() {
        assert_eq!(
            form_action_source("https://client.example:8443/cb?x=1").as_deref(),
            Some("https://client.example:8443")
        );
        assert_eq!(
            form_action_source("http://127.0.0.1:53117/callback").as_deref(),
            Some("http://127.0.0.1:53117")
        );
        assert_eq!(
            form_action_source("http://[::1]:8080/cb").as_deref(),
            Some("http://[::1]:8080")
        );
        assert_eq!(
            form_action_source("com.example.app:/oauth").as_deref(),
            Some("com.example.app:")
        );
        for hostile in [
            "https://a.example; script-src *",
            "https://user@a.example/cb",
            "https:no-authority",
            "ja vascript:x",
            "noscheme",
        ] {
            assert_eq!(form_action_source(hostile), None, "{hostile}");
        }
    }
}
