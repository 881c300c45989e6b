//! The application state and the router: the host's pages, the protected API and MCP
//! endpoint, and `oauth-axum`'s protocol endpoints.

use std::ops::Deref;
use std::sync::Arc;

use axum::extract::{
    DefaultBodyLimit, FromRef, FromRequest, FromRequestParts, Query, Request, State,
};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use http::header::{HeaderValue, LOCATION, SET_COOKIE, STRICT_TRANSPORT_SECURITY};
use http::request::Parts;
use http::StatusCode;
use oauth_axum::{CorsPolicy, Page, ProtocolRouter, RequireBearer};
use oauth_core::model::UserId;
use oauth_core::{Provider, Store};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::browser::{new_cookie_value, CookieNames, Csrf, Sessions};
use crate::throttle::LoginGate;
use crate::users::Users;
use crate::{account, api, authorize, mcp, pages};

/// A request that takes longer is answered 408 (slow bodies, stuck stores).
const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Largest form the pages accept (login, consent, revoke): far above any real one.
const MAX_FORM_BYTES: usize = 16 * 1024;

/// The scope the demo API requires.
pub(crate) const PROFILE_SCOPE: &str = "profile";
/// The scope the MCP endpoint requires.
pub(crate) const MCP_SCOPE: &str = "mcp:tools";

/// Everything the handlers share.
pub(crate) struct App<S: Store> {
    pub(crate) provider: Arc<Provider<S>>,
    pub(crate) users: Users,
    pub(crate) login_gate: LoginGate,
    pub(crate) sessions: Sessions,
    pub(crate) csrf: Csrf,
    pub(crate) cookies: CookieNames,
    /// The issuer: the public base URL, without a trailing slash.
    pub(crate) base: String,
    /// `scheme://host[:port]` of the base URL, as browsers send it in `Origin`.
    pub(crate) origin: String,
    /// The `Host` requests must carry (`host[:port]` of the base URL).
    pub(crate) authority: String,
    /// The host of the base URL.
    pub(crate) host: String,
    /// The development auto-consent user, if enabled.
    pub(crate) auto_consent: Option<UserId>,
    /// Whether to send `Strict-Transport-Security` (an https issuer that is not
    /// loopback: HSTS on `127.0.0.1` would bind every local server to https).
    pub(crate) hsts: bool,
}

/// The handlers' state: the shared [`App`].
pub(crate) struct AppState<S: Store>(pub(crate) Arc<App<S>>);

impl<S: Store> Clone for AppState<S> {
    fn clone(&self) -> Self {
        AppState(Arc::clone(&self.0))
    }
}

impl<S: Store> Deref for AppState<S> {
    type Target = App<S>;
    fn deref(&self) -> &App<S> {
        &self.0
    }
}

/// `oauth-axum`'s extractors find the provider in the application state.
impl<S: Store> FromRef<AppState<S>> for Arc<Provider<S>> {
    fn from_ref(state: &AppState<S>) -> Self {
        Arc::clone(&state.provider)
    }
}

/// The browser behind a page request: its browser cookie (new if it had none), and the
/// logged-in user, if any.
#[derive(Clone)]
pub(crate) struct Visitor {
    pub(crate) browser: String,
    pub(crate) session: Option<String>,
    pub(crate) user: Option<UserId>,
}

impl<S: Store> App<S> {
    /// The CSRF token of this visitor's forms.
    pub(crate) fn csrf_token(&self, visitor: &Visitor) -> String {
        self.csrf.token(&visitor.browser)
    }
}

/// Identifies the visitor of every page route, and gives a new browser its cookie.
async fn visitor<S: Store>(
    State(app): State<AppState<S>>,
    mut request: Request,
    next: Next,
) -> Response {
    let (browser, session) = app.cookies.read(request.headers());
    let (browser, set) = match browser {
        Some(browser) => (browser, None),
        None => match new_cookie_value() {
            Some(fresh) => {
                let set = app.cookies.set_browser(&fresh);
                (fresh, set)
            }
            None => {
                return error_page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Unavailable",
                    "Please try again.",
                )
            }
        },
    };
    let user = session
        .as_deref()
        .and_then(|session| app.sessions.user(session, &browser));
    request.extensions_mut().insert(Visitor {
        browser,
        session,
        user,
    });
    let mut response = next.run(request).await;
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok());
    if location.is_some_and(|location| app.leaks_cookies(location)) {
        response = cookie_leak_page();
    }
    if let Some(set) = set {
        response.headers_mut().append(SET_COOKIE, set);
    }
    response
}

/// A form body, with a malformed one (missing or duplicated fields, bad encoding)
/// answered by an error page.
pub(crate) struct PageForm<T>(pub(crate) T);

impl<T, S> FromRequest<S> for PageForm<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Form::<T>::from_request(request, state).await {
            Ok(Form(value)) => Ok(PageForm(value)),
            Err(rejection) => Err(error_page(
                rejection.status(),
                "Bad request",
                "The form could not be read.",
            )),
        }
    }
}

impl<S: Store> App<S> {
    /// Whether sending the browser to `location` would hand it our cookies: over plain
    /// http the cookies are not `Secure`, and browsers send a host's cookies to every port
    /// of it, so a client redirect URI on the issuer's own host (a loopback callback
    /// beside a loopback development server) would receive the user's session.
    pub(crate) fn leaks_cookies(&self, location: &str) -> bool {
        if self.cookies.secure() {
            return false;
        }
        let Ok(target) = url::Url::parse(location) else {
            return false; // a relative Location stays on this origin
        };
        let ours = target.origin().ascii_serialization() == self.origin;
        !ours
            && target
                .host_str()
                .is_some_and(|host| host.eq_ignore_ascii_case(&self.host))
    }
}

/// The page shown instead of a redirect that would leak the cookies.
pub(crate) fn cookie_leak_page() -> Response {
    error_page(
        StatusCode::BAD_REQUEST,
        "Redirect refused",
        "This server speaks plain http on the same host as the application's redirect \
         address, so the browser would send the application this server's cookies. Start \
         the server with --tls-self-signed, or give one of them another loopback name \
         (localhost instead of 127.0.0.1, or the other way round).",
    )
}

/// A form's answer that leaves the site: a page that continues there by itself, instead
/// of a redirect the submitting page's CSP `form-action` would block.
pub(crate) fn continue_page(target: &str) -> Response {
    Page::ok(pages::continue_to(target)).into_response()
}

/// A query string, with a malformed one answered by an error page.
pub(crate) struct PageQuery<T>(pub(crate) T);

impl<T, S> FromRequestParts<S> for PageQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(PageQuery(value)),
            Err(rejection) => Err(error_page(
                rejection.status(),
                "Bad request",
                "The address could not be read.",
            )),
        }
    }
}

/// An error page with the page security headers.
pub(crate) fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    Page::error(status, pages::error(title, message)).into_response()
}

/// The whole application.
pub(crate) fn router<S: Store>(state: AppState<S>) -> Router {
    let provider = Arc::clone(&state.provider);
    let authorization_path = provider.config().endpoints().authorization.clone();

    let pages = Router::new()
        .route("/", get(home::<S>))
        .route(
            &authorization_path,
            get(authorize::authorize::<S>).post(authorize::authorize::<S>),
        )
        .route(
            "/login",
            get(authorize::login_page::<S>).post(authorize::login::<S>),
        )
        .route("/consent", post(authorize::consent::<S>))
        .route("/logout", post(authorize::logout::<S>))
        .route("/account", get(account::page::<S>))
        .route("/account/revoke", post(account::revoke::<S>))
        .layer(DefaultBodyLimit::max(MAX_FORM_BYTES))
        .route_layer(middleware::from_fn_with_state(state.clone(), visitor::<S>));

    let cors = CorsPolicy::AnyOrigin.layer();
    let mut api = Router::new()
        .route("/api/me", get(api::me::<S>))
        .route_layer(RequireBearer::new(Arc::clone(&provider)).scope(PROFILE_SCOPE));
    let mut mcp = Router::new()
        .route(
            "/mcp",
            post(mcp::endpoint::<S>)
                .get(mcp::no_stream)
                .delete(mcp::no_stream),
        )
        .route_layer(RequireBearer::new(Arc::clone(&provider)).scope(MCP_SCOPE))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            mcp::check_host::<S>,
        ))
        .layer(DefaultBodyLimit::max(mcp::MAX_MESSAGE_BYTES));
    if let Some(cors) = cors {
        api = api.layer(cors.clone());
        mcp = mcp.layer(cors);
    }

    let hsts = state.hsts;
    pages
        .merge(api)
        .merge(mcp)
        .with_state(state)
        .merge(ProtocolRouter::new(provider).build())
        .layer(middleware::map_response(move |mut response: Response| async move {
            if hsts {
                response.headers_mut().insert(
                    STRICT_TRANSPORT_SECURITY,
                    HeaderValue::from_static("max-age=31536000"),
                );
            }
            response
        }))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request| {
                    // The path only: queries carry `state`, challenges and the like.
                    tracing::info_span!("request", method = %request.method(), path = %request.uri().path())
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
}

async fn home<S: Store>(
    State(app): State<AppState<S>>,
    Extension(visitor): Extension<Visitor>,
) -> Response {
    let csrf = app.csrf_token(&visitor);
    let header = pages::Header {
        user: visitor.user.as_ref().map(UserId::as_str),
        csrf: &csrf,
    };
    Page::ok(pages::home(&app.base, &header)).into_response()
}
