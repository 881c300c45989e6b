//! The browser side of the pages: two cookies, CSRF tokens and login sessions.
//!
//! - The *browser cookie* is 256 random bits given to every visitor of a page. It binds
//!   pending-authorization tickets to this browser (`Provider::seal_ticket`) and is the
//!   root of the CSRF tokens, so no state is kept for anonymous visitors.
//! - The *session cookie* is 256 random bits issued at login, and replaced at every login
//!   (no session fixation). The server keeps only its SHA-256, with the user, the browser
//!   cookie's digest (a session cookie presented without its browser cookie is refused),
//!   and the times.
//! - A *CSRF token* is `HMAC-SHA256(process key, browser cookie)`, compared in constant
//!   time, in every form; POSTs from another origin are refused before that
//!   (`Origin`, `Sec-Fetch-Site`).
//!
//! Both cookies are `HttpOnly`, `SameSite=Lax`, `Path=/`; over https they are `Secure`
//! with the `__Host-` prefix.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use http::header::{COOKIE, ORIGIN};
use http::{HeaderMap, HeaderValue};
use oauth_core::model::UserId;
use oauth_core::{OsRandom, SecureRandom};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Random bytes in a cookie value.
const COOKIE_BYTES: usize = 32;

/// A login session ends after this long without a request…
const SESSION_IDLE: Duration = Duration::from_secs(30 * 60);
/// …and after this long in any case.
const SESSION_MAX: Duration = Duration::from_secs(8 * 60 * 60);
/// At most this many live sessions are kept; a login beyond it is refused (503) rather
/// than letting memory grow.
const MAX_SESSIONS: usize = 100_000;
/// At most this many sessions per user: a new login ends that user's oldest, so one
/// account cannot fill the table and lock everyone else out.
const MAX_SESSIONS_PER_USER: usize = 16;

/// The cookie names, `__Host-` prefixed when the server is reached over https.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CookieNames {
    secure: bool,
}

impl CookieNames {
    pub(crate) fn new(secure: bool) -> Self {
        CookieNames { secure }
    }

    /// Whether the cookies are `Secure` (the site is https).
    pub(crate) fn secure(self) -> bool {
        self.secure
    }

    fn browser(self) -> &'static str {
        if self.secure {
            "__Host-browser"
        } else {
            "browser"
        }
    }

    fn session(self) -> &'static str {
        if self.secure {
            "__Host-session"
        } else {
            "session"
        }
    }

    fn set(self, name: &str, value: &str, max_age: Option<u64>) -> Option<HeaderValue> {
        let secure = if self.secure { "; Secure" } else { "" };
        let max_age = max_age
            .map(|s| format!("; Max-Age={s}"))
            .unwrap_or_default();
        HeaderValue::from_str(&format!(
            "{name}={value}; Path=/; HttpOnly; SameSite=Lax{secure}{max_age}"
        ))
        .ok()
    }

    /// `Set-Cookie` for a new browser cookie (lives as long as the browser session).
    pub(crate) fn set_browser(self, value: &str) -> Option<HeaderValue> {
        self.set(self.browser(), value, None)
    }

    /// `Set-Cookie` for a new session cookie.
    pub(crate) fn set_session(self, value: &str) -> Option<HeaderValue> {
        self.set(self.session(), value, Some(SESSION_MAX.as_secs()))
    }

    /// `Set-Cookie` that deletes the session cookie.
    pub(crate) fn clear_session(self) -> Option<HeaderValue> {
        self.set(self.session(), "", Some(0))
    }

    /// The browser and session cookies of a request. A cookie sent twice is ignored
    /// (a sibling site could have planted the second one).
    pub(crate) fn read(self, headers: &HeaderMap) -> (Option<String>, Option<String>) {
        (
            single_cookie(headers, self.browser()).filter(|v| well_formed(v)),
            single_cookie(headers, self.session()).filter(|v| well_formed(v)),
        )
    }
}

fn single_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut found = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned());
    let first = found.next()?;
    found.next().is_none().then_some(first)
}

/// Our cookie values are base64url of 32 bytes; anything else was not set by us.
fn well_formed(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A new cookie value: 256 bits from the OS, base64url (unbiased: whole bytes).
pub(crate) fn new_cookie_value() -> Option<String> {
    let mut bytes = [0u8; COOKIE_BYTES];
    OsRandom.fill(&mut bytes).ok()?;
    Some(URL_SAFE_NO_PAD.encode(bytes))
}

/// CSRF tokens derived from the browser cookie with a per-process key.
pub(crate) struct Csrf {
    key: [u8; 32],
}

impl Csrf {
    /// A CSRF keyed with 256 bits from the OS (forms from before a restart are refused
    /// once and shown again).
    pub(crate) fn new() -> Option<Self> {
        let mut key = [0u8; 32];
        OsRandom.fill(&mut key).ok()?;
        Some(Csrf { key })
    }

    fn mac(&self, browser: &str) -> [u8; 32] {
        // HMAC accepts keys of any length; `new_from_slice` cannot fail here.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(b"csrf\0");
        mac.update(browser.as_bytes());
        mac.finalize().into_bytes().into()
    }

    /// The token for forms shown to this browser.
    pub(crate) fn token(&self, browser: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(browser))
    }

    /// Whether `presented` is this browser's token (constant time).
    pub(crate) fn verify(&self, browser: &str, presented: &str) -> bool {
        let Ok(presented) = URL_SAFE_NO_PAD.decode(presented) else {
            return false;
        };
        bool::from(presented.as_slice().ct_eq(&self.mac(browser)))
    }
}

/// Whether a form POST comes from a page of `origin`: a browser's `Sec-Fetch-Site` must
/// be same-origin (or a direct navigation) and its `Origin` ours. Our pages are served
/// with `Referrer-Policy: no-referrer`, under which browsers send `Origin: null` even for
/// same-origin POSTs (Fetch §3.2.5), so `null` is accepted only when `Sec-Fetch-Site`
/// vouches for the same origin. Clients that send neither header are judged by the CSRF
/// token alone.
pub(crate) fn same_origin_post(headers: &HeaderMap, origin: &str) -> bool {
    let site = headers.get("sec-fetch-site");
    let site_ok = site.is_none_or(|value| value == "same-origin" || value == "none");
    let origin_ok = match headers.get(ORIGIN) {
        None => true,
        Some(value) if value.as_bytes() == origin.as_bytes() => true,
        Some(value) => value == "null" && site.is_some_and(|site| site == "same-origin"),
    };
    origin_ok && site_ok
}

/// A logged-in session.
struct Session {
    user: UserId,
    browser: [u8; 32],
    created: Instant,
    last_seen: Instant,
}

/// The live login sessions, by the SHA-256 of their cookie.
#[derive(Default)]
pub(crate) struct Sessions {
    live: Mutex<HashMap<[u8; 32], Session>>,
}

/// Why a session could not be created.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SessionError {
    /// The OS random source failed.
    #[error("no randomness for a session id")]
    Random,
    /// Too many live sessions.
    #[error("too many live sessions")]
    Full,
}

fn digest(value: &str) -> [u8; 32] {
    Sha256::digest(value.as_bytes()).into()
}

impl Sessions {
    /// Starts a session for `user` in this browser, ending `previous` (the cookie the
    /// browser had, if any). Returns the new cookie value.
    pub(crate) fn login(
        &self,
        user: UserId,
        browser: &str,
        previous: Option<&str>,
    ) -> Result<String, SessionError> {
        let cookie = new_cookie_value().ok_or(SessionError::Random)?;
        let now = Instant::now();
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(previous) = previous {
            live.remove(&digest(previous));
        }
        let mine: Vec<([u8; 32], Instant)> = live
            .iter()
            .filter(|(_, session)| session.user == user)
            .map(|(key, session)| (*key, session.created))
            .collect();
        if mine.len() >= MAX_SESSIONS_PER_USER {
            if let Some((oldest, _)) = mine.iter().min_by_key(|(_, created)| *created) {
                live.remove(oldest);
            }
        }
        if live.len() >= MAX_SESSIONS {
            live.retain(|_, session| alive(session, now));
            if live.len() >= MAX_SESSIONS {
                return Err(SessionError::Full);
            }
        }
        live.insert(
            digest(&cookie),
            Session {
                user,
                browser: digest(browser),
                created: now,
                last_seen: now,
            },
        );
        Ok(cookie)
    }

    /// The user of a live session presented together with the browser cookie it was
    /// created with.
    pub(crate) fn user(&self, session: &str, browser: &str) -> Option<UserId> {
        let now = Instant::now();
        let key = digest(session);
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        let found = live.get_mut(&key)?;
        if !alive(found, now) {
            live.remove(&key);
            return None;
        }
        if !bool::from(found.browser.ct_eq(&digest(browser))) {
            return None;
        }
        found.last_seen = now;
        Some(found.user.clone())
    }

    /// Ends a session (logout).
    pub(crate) fn logout(&self, session: &str) {
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        live.remove(&digest(session));
    }
}

fn alive(session: &Session, now: Instant) -> bool {
    now.duration_since(session.last_seen) < SESSION_IDLE
        && now.duration_since(session.created) < SESSION_MAX
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    #[test]
    fn csrf_token_is_bound_to_the_browser_cookie() {
        let csrf = Csrf::new().unwrap();
        let a = new_cookie_value().unwrap();
        let b = new_cookie_value().unwrap();
        assert!(csrf.verify(&a, &csrf.token(&a)));
        assert!(!csrf.verify(&b, &csrf.token(&a)));
        assert!(!csrf.verify(&a, ""));
        assert!(!csrf.verify(&a, "not base64!"));
        let other_process = Csrf::new().unwrap();
        assert!(!other_process.verify(&a, &csrf.token(&a)));
    }

    #[test]
    fn session_needs_the_browser_cookie_it_was_created_with() {
        let sessions = Sessions::default();
        let browser = new_cookie_value().unwrap();
        let cookie = sessions
            .login(UserId::new("alice"), &browser, None)
            .unwrap();
        assert_eq!(sessions.user(&cookie, &browser), Some(UserId::new("alice")));
        let other = new_cookie_value().unwrap();
        assert_eq!(sessions.user(&cookie, &other), None);
    }

    #[test]
    fn login_replaces_the_previous_session_and_logout_ends_it() {
        let sessions = Sessions::default();
        let browser = new_cookie_value().unwrap();
        let first = sessions
            .login(UserId::new("alice"), &browser, None)
            .unwrap();
        let second = sessions
            .login(UserId::new("bob"), &browser, Some(&first))
            .unwrap();
        assert_ne!(first, second);
        assert_eq!(sessions.user(&first, &browser), None);
        assert_eq!(sessions.user(&second, &browser), Some(UserId::new("bob")));
        sessions.logout(&second);
        assert_eq!(sessions.user(&second, &browser), None);
    }

    #[test]
    fn one_user_cannot_hold_more_than_the_per_user_session_limit() {
        let sessions = Sessions::default();
        let browser = new_cookie_value().unwrap();
        let cookies: Vec<String> = (0..MAX_SESSIONS_PER_USER + 3)
            .map(|_| {
                sessions
                    .login(UserId::new("alice"), &browser, None)
                    .unwrap()
            })
            .collect();
        let live = cookies
            .iter()
            .filter(|c| sessions.user(c, &browser).is_some())
            .count();
        assert_eq!(live, MAX_SESSIONS_PER_USER);
        assert!(
            sessions.user(&cookies[0], &browser).is_none(),
            "the oldest ends"
        );
        assert!(sessions.user(cookies.last().unwrap(), &browser).is_some());
    }

    #[test]
    fn cookies_sent_twice_or_malformed_are_ignored() {
        let names = CookieNames::new(false);
        let value = new_cookie_value().unwrap();
        let one = headers(&[("cookie", &format!("browser={value}; other=1"))]);
        assert_eq!(names.read(&one).0, Some(value.clone()));
        let twice = headers(&[
            ("cookie", &format!("browser={value}")),
            ("cookie", &format!("browser={value}")),
        ]);
        assert_eq!(names.read(&twice).0, None);
        let malformed = headers(&[("cookie", "browser=abc")]);
        assert_eq!(names.read(&malformed).0, None);
    }

    #[test]
    fn secure_cookies_use_the_host_prefix() {
        let set = CookieNames::new(true).set_browser("v").unwrap();
        let set = set.to_str().unwrap();
        assert!(set.starts_with("__Host-browser=v; Path=/; HttpOnly; SameSite=Lax; Secure"));
        let plain = CookieNames::new(false).set_browser("v").unwrap();
        assert!(!plain.to_str().unwrap().contains("Secure"));
    }

    #[test]
    fn cross_origin_form_posts_are_refused() {
        let origin = "http://127.0.0.1:8080";
        assert!(same_origin_post(&headers(&[]), origin));
        assert!(same_origin_post(&headers(&[("origin", origin)]), origin));
        assert!(!same_origin_post(
            &headers(&[("origin", "http://evil.example")]),
            origin
        ));
        assert!(!same_origin_post(
            &headers(&[("sec-fetch-site", "cross-site")]),
            origin
        ));
        assert!(!same_origin_post(
            &headers(&[("sec-fetch-site", "same-site")]),
            origin
        ));
        // `no-referrer` pages make browsers send `Origin: null`.
        assert!(same_origin_post(
            &headers(&[("origin", "null"), ("sec-fetch-site", "same-origin")]),
            origin
        ));
        assert!(!same_origin_post(
            &headers(&[("origin", "null"), ("sec-fetch-site", "cross-site")]),
            origin
        ));
        assert!(!same_origin_post(&headers(&[("origin", "null")]), origin));
    }
}
