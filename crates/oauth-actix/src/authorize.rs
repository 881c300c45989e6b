//! The authorization endpoint: the host's own route, with its login and consent pages.

use actix_web::body::BoxBody;
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, Responder};
use futures_core::future::LocalBoxFuture;
use oauth_core::model::UserId;
use oauth_core::response::html_page;
use oauth_core::{AuthorizationError, PendingAuthorization, Store};

use crate::body::bounded;
use crate::convert::{core_request, core_response, core_status};
use crate::provider::{registered, ProviderMissing};

/// A validated authorization request (OAuth 2.1 §4.1.1), GET or POST, or why it failed.
///
/// Extracting never fails on the request: the outcome is for the handler, because what
/// to do with an error depends on who is logged in. A [`AuthorizationError::Redirect`]
/// may only be sent to the client for an authenticated user (OAuth 2.1 §7.13.2): show
/// the login page first, and answer with [`authorization_error_response`] afterwards. A
/// [`AuthorizationError::Fatal`] (unknown client, untrusted redirect URI) is always a
/// page, never a redirect.
///
/// The body of a POST is read up to the provider's limit, like every protocol request
/// (actix's `PayloadConfig` and `FormConfig` do not apply); a body that fails while being
/// read is [`AuthorizationError::Fatal`].
///
/// The provider is the application's `web::Data<Provider<S>>`
/// (`App::app_data(web::Data::from(provider))`); without it, extraction fails with
/// [`ProviderMissing`] (500, "you forgot to register the provider").
///
/// ```
/// use actix_web::{web, HttpResponse};
/// use oauth_actix::{AuthorizationRequest, Page};
/// use oauth_store_memory::MemoryStore;
///
/// async fn authorize(request: AuthorizationRequest<MemoryStore>) -> HttpResponse {
///     match request.into_result() {
///         // Real hosts escape what they render.
///         Ok(pending) => Page::consent(format!("<p>{}</p>", pending.client_id()), &pending).into(),
///         Err(error) => oauth_actix::authorization_error_response(error, None),
///     }
/// }
/// # let _ = web::resource("/authorize").get(authorize).post(authorize);
/// ```
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

impl<S: Store> FromRequest for AuthorizationRequest<S> {
    type Error = ProviderMissing;
    type Future = LocalBoxFuture<'static, Result<Self, ProviderMissing>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let request = request.clone();
        let payload = payload.take();
        Box::pin(async move {
            let provider = registered::<S>(&request)?;
            let max = provider.config().max_body_bytes();
            let outcome = match bounded(&request, payload, max).await {
                Ok(body) => match core_request(&request, body) {
                    Ok(core) => provider.begin_authorization(&core).await,
                    Err(_) => Err(AuthorizationError::Fatal(
                        oauth_core::Reason::MalformedEncoding,
                    )),
                },
                // Not received whole: never validated as if it were.
                Err(failure) => Err(AuthorizationError::Fatal(failure.reason())),
            };
            Ok(AuthorizationRequest(outcome, std::marker::PhantomData))
        })
    }
}

/// The response for a failed authorization request: the error redirect for an
/// authenticated user, otherwise a minimal error page with anti-framing headers.
#[must_use]
pub fn authorization_error_response(
    error: AuthorizationError,
    user: Option<&UserId>,
) -> HttpResponse {
    core_response(error.into_response(user))
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
///
/// A [`Responder`]; `HttpResponse::from(page)` where a handler answers one type.
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

impl From<Page> for HttpResponse {
    fn from(page: Page) -> HttpResponse {
        core_response(html_page(
            core_status(page.status),
            page.html,
            page.consent_redirect_uri.as_deref(),
        ))
    }
}

impl Responder for Page {
    type Body = BoxBody;

    fn respond_to(self, _request: &HttpRequest) -> HttpResponse {
        self.into()
    }
}
