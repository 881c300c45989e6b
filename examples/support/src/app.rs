//! The application state every handler shares, the visitor of a page, and the answers
//! the page handlers give ([`Reply`]), which each web framework turns into its response
//! with its glue crate's `Page` (the pages' security headers).

use std::sync::Arc;

use http::header::LOCATION;
use http::{HeaderMap, HeaderValue, StatusCode};
use oauth_core::model::UserId;
use oauth_core::response::HttpResponse;
use oauth_core::{PendingAuthorization, Provider, Store};

use crate::browser::{new_cookie_value, CookieNames, Csrf, Sessions};
use crate::pages;
use crate::throttle::LoginGate;
use crate::users::Users;

/// The scope the demo API requires.
pub const PROFILE_SCOPE: &str = "profile";
/// The scope the MCP endpoint requires.
pub const MCP_SCOPE: &str = "mcp:tools";

/// A request that takes longer is answered 408 (slow bodies, stuck stores).
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
/// Largest form the pages accept (login, consent, revoke): far above any real one.
pub const MAX_FORM_BYTES: usize = 16 * 1024;
/// Time allowed for a request's headers to arrive.
pub const HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// Connections open at once.
pub const MAX_CONNECTIONS: usize = 4096;
/// In-flight requests get this long to finish at shutdown.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// Which example server this is: what its pages and its MCP endpoint call it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flavor {
    /// The server's name (the binary's, and the MCP `serverInfo.name`).
    pub name: &'static str,
    /// The web framework, for the start banner (`axum`, `actix-web`).
    pub framework: &'static str,
    /// The glue crate the home page names (`oauth-axum`, `oauth-actix`).
    pub glue: &'static str,
}

/// Everything the handlers share.
pub struct App<S: Store> {
    pub(crate) provider: Arc<Provider<S>>,
    pub(crate) users: Arc<Users>,
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
    pub(crate) flavor: Flavor,
}

/// The browser behind a page request: its browser cookie (new if it had none), and the
/// logged-in user, if any.
#[derive(Clone, Debug)]
pub struct Visitor {
    pub(crate) browser: String,
    pub(crate) session: Option<String>,
    pub(crate) user: Option<UserId>,
}

impl Visitor {
    /// The signed-in user, if any.
    #[must_use]
    pub fn user(&self) -> Option<&UserId> {
        self.user.as_ref()
    }
}

impl<S: Store> App<S> {
    /// The provider.
    #[must_use]
    pub fn provider(&self) -> &Arc<Provider<S>> {
        &self.provider
    }

    /// The public base URL (the issuer), without a trailing slash.
    #[must_use]
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The `Host` requests must carry: `host[:port]` of the base URL.
    #[must_use]
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// Which example server this is.
    #[must_use]
    pub fn flavor(&self) -> Flavor {
        self.flavor
    }

    /// The `Strict-Transport-Security` value every response carries, if any (an https
    /// issuer that is not loopback).
    #[must_use]
    pub fn hsts(&self) -> Option<HeaderValue> {
        self.hsts
            .then_some(HeaderValue::from_static("max-age=31536000"))
    }

    /// Identifies the visitor of a page from the request's cookies. A browser without
    /// a browser cookie gets a new one: the `Set-Cookie` to add to the response is
    /// returned alongside. `Err` is the page to answer instead (no randomness).
    pub fn visit(&self, headers: &HeaderMap) -> Result<(Visitor, Option<HeaderValue>), Reply> {
        let (browser, session) = self.cookies.read(headers);
        let (browser, set) = match browser {
            Some(browser) => (browser, None),
            None => match new_cookie_value() {
                Some(fresh) => {
                    let set = self.cookies.set_browser(&fresh);
                    (fresh, set)
                }
                None => {
                    return Err(error_page(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "Unavailable",
                        "Please try again.",
                    ))
                }
            },
        };
        let user = session
            .as_deref()
            .and_then(|session| self.sessions.user(session, &browser));
        Ok((
            Visitor {
                browser,
                session,
                user,
            },
            set,
        ))
    }

    /// The CSRF token of this visitor's forms.
    pub(crate) fn csrf_token(&self, visitor: &Visitor) -> String {
        self.csrf.token(&visitor.browser)
    }

    /// Whether sending the browser to `location` would hand it our cookies: over plain
    /// http the cookies are not `Secure`, and browsers send a host's cookies to every port
    /// of it, so a client redirect URI on the issuer's own host (a loopback callback
    /// beside a loopback development server) would receive the user's session.
    #[must_use]
    pub fn leaks_cookies(&self, location: &str) -> bool {
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

/// What a page handler answers: [`Answer`] and the cookies to set with it.
#[derive(Debug)]
#[must_use]
pub struct Reply {
    answer: Answer,
    cookies: Vec<HeaderValue>,
}

/// The body of a [`Reply`].
#[derive(Debug)]
pub enum Answer {
    /// An HTML page of the authorization UI, sent with the glue's `Page` (`Page::error`
    /// with this status): no framing, no referrer, no caching, forms to this origin only.
    Page {
        /// The status.
        status: StatusCode,
        /// The page, escaped.
        html: String,
    },
    /// A consent page (200), sent with the glue's `Page::consent`: its form may also
    /// lead to the pending request's redirect URI.
    Consent {
        /// The page, escaped.
        html: String,
        /// The request it answers.
        pending: Box<PendingAuthorization>,
    },
    /// `303 See Other` to a page of this site.
    SeeOther(String),
    /// A response the core built: the redirect to the client with a code or an error.
    Core(Box<HttpResponse>),
}

impl Reply {
    pub(crate) fn new(answer: Answer) -> Reply {
        Reply {
            answer,
            cookies: Vec::new(),
        }
    }

    /// `303 See Other` to `path` on this site.
    pub(crate) fn see_other(path: &str) -> Reply {
        Reply::new(Answer::SeeOther(path.to_owned()))
    }

    /// Adds a `Set-Cookie` (none when the cookie could not be made a header).
    pub(crate) fn with_cookie(mut self, cookie: Option<HeaderValue>) -> Reply {
        self.cookies.extend(cookie);
        self
    }

    /// The status the response will have.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match &self.answer {
            Answer::Page { status, .. } => *status,
            Answer::Consent { .. } => StatusCode::OK,
            Answer::SeeOther(_) => StatusCode::SEE_OTHER,
            Answer::Core(response) => response.status(),
        }
    }

    /// Where the response sends the browser, if anywhere.
    #[must_use]
    pub fn location(&self) -> Option<&str> {
        match &self.answer {
            Answer::SeeOther(path) => Some(path),
            Answer::Core(response) => response
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok()),
            Answer::Page { .. } | Answer::Consent { .. } => None,
        }
    }

    /// The answer, and the `Set-Cookie` values to send with it.
    #[must_use]
    pub fn into_parts(self) -> (Answer, Vec<HeaderValue>) {
        (self.answer, self.cookies)
    }
}

/// An error page.
pub fn error_page(status: StatusCode, title: &str, message: &str) -> Reply {
    Reply::new(Answer::Page {
        status,
        html: pages::error(title, message),
    })
}

/// A 200 page.
pub(crate) fn ok_page(html: String) -> Reply {
    Reply::new(Answer::Page {
        status: StatusCode::OK,
        html,
    })
}

/// The page shown instead of a redirect that would leak the cookies.
pub fn cookie_leak_page() -> Reply {
    error_page(
        StatusCode::BAD_REQUEST,
        "Redirect refused",
        "This server speaks plain http on the same host as the application's redirect \
         address, so the browser would send the application this server's cookies. Start \
         the server with --tls-self-signed, or give one of them another loopback name \
         (localhost instead of 127.0.0.1, or the other way round).",
    )
}

/// The page for a form that could not be read (missing or duplicated fields, bad
/// encoding), with the status the framework's form reader chose.
pub fn bad_form(status: StatusCode) -> Reply {
    error_page(status, "Bad request", "The form could not be read.")
}

/// The page for a query string that could not be read.
pub fn bad_query(status: StatusCode) -> Reply {
    error_page(status, "Bad request", "The address could not be read.")
}

/// A form's answer that leaves the site: a page that continues there by itself, instead
/// of a redirect the submitting page's CSP `form-action` would block.
pub(crate) fn continue_page(target: &str) -> Reply {
    ok_page(pages::continue_to(target))
}
