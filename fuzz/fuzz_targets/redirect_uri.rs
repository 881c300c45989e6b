//! A registered and a presented redirect URI, through
//! `redirect_uri::validate_for_registration` and `redirect_uri::match_redirect_uri`.
//!
//! Input layout: byte 0 is a set of flags (bit 0: the `localhost` port exception); then
//! the registered URI up to a NUL byte, and the presented URI (both UTF-8).
//!
//! Oracles (exact matching, OAuth 2.1 §4.1.1, RFC 9700 §4.1.3):
//! - a match returns the presented string, which passes the registration rules, and
//!   equals the registered one exactly, or both are `http` loopback IP literals
//!   (`127.0.0.1`, `[::1]`; `localhost` with the exception on) that differ only in the
//!   port (RFC 8252 §7.3): the same as strings once the port is removed, and, parsed by
//!   the `url` crate, the same scheme, host, path and query, without userinfo or fragment;
//! - a match between two registrable URIs is symmetric;
//! - a registered URI that validates matches itself, and is chosen when the request names
//!   none; one that does not validate is never chosen.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oauth_core::redirect_uri::{match_redirect_uri, validate_for_registration, MatchOptions};
use oauth_fuzz::split_once;

/// The URI without the port of its loopback authority: `(authority prefix, rest)`.
fn without_port(uri: &str, localhost: bool) -> Option<(&'static str, &str)> {
    let prefixes: &[&'static str] = if localhost {
        &["http://127.0.0.1", "http://[::1]", "http://localhost"]
    } else {
        &["http://127.0.0.1", "http://[::1]"]
    };
    prefixes.iter().find_map(|prefix| {
        let rest = uri.strip_prefix(prefix)?;
        match rest.strip_prefix(':') {
            None if rest.is_empty() || rest.starts_with(['/', '?']) => Some((*prefix, rest)),
            None => None,
            Some(port_and_rest) => {
                let digits = port_and_rest.bytes().take_while(u8::is_ascii_digit).count();
                Some((*prefix, &port_and_rest[digits..]))
            }
        }
    })
}

/// The loopback case of the oracle, checked at the `url` level.
fn same_but_port(registered: &str, presented: &str, localhost: bool) -> bool {
    let (Ok(a), Ok(b)) = (url::Url::parse(registered), url::Url::parse(presented)) else {
        return false;
    };
    let loopback_host = match b.host() {
        Some(url::Host::Ipv4(ip)) => ip == std::net::Ipv4Addr::LOCALHOST,
        Some(url::Host::Ipv6(ip)) => ip == std::net::Ipv6Addr::LOCALHOST,
        Some(url::Host::Domain(d)) => localhost && d == "localhost",
        None => false,
    };
    a.scheme() == "http"
        && b.scheme() == "http"
        && loopback_host
        && a.host() == b.host()
        && a.path() == b.path()
        && a.query() == b.query()
        && b.username().is_empty()
        && b.password().is_none()
        && b.fragment().is_none()
        && matches!(
            (without_port(registered, localhost), without_port(presented, localhost)),
            (Some(x), Some(y)) if x == y
        )
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let localhost = flags & 1 != 0;
    let options = MatchOptions {
        localhost_port_exception: localhost,
    };
    let (registered, presented) = split_once(rest, 0);
    let (Ok(registered), Ok(presented)) = (
        std::str::from_utf8(registered),
        std::str::from_utf8(presented.unwrap_or_default()),
    ) else {
        return;
    };
    let list = [registered.to_owned()];
    let registrable = validate_for_registration(registered).is_ok();

    // A registered URI that validates always matches itself; one that does not never
    // receives a response.
    let itself = match_redirect_uri(&list, Some(registered), options);
    let chosen = match_redirect_uri(&list, None, options);
    if registrable {
        assert_eq!(
            itself.map(|v| v.as_str().to_owned()).ok().as_deref(),
            Some(registered)
        );
        assert_eq!(
            chosen.map(|v| v.as_str().to_owned()).ok().as_deref(),
            Some(registered)
        );
    } else {
        assert!(
            itself.is_err(),
            "unregistrable {registered:?} matched itself"
        );
        assert!(chosen.is_err(), "unregistrable {registered:?} was chosen");
    }

    let Ok(matched) = match_redirect_uri(&list, Some(presented), options) else {
        return;
    };
    assert_eq!(
        matched.as_str(),
        presented,
        "the match must be the presented URI"
    );
    assert!(
        validate_for_registration(presented).is_ok(),
        "matched {presented:?}, which could not be registered"
    );
    assert!(
        presented == registered || same_but_port(registered, presented, localhost),
        "{presented:?} matched {registered:?} without being equal to it or the same \
         loopback URI with another port"
    );
    if registrable {
        let back = [presented.to_owned()];
        assert!(
            match_redirect_uri(&back, Some(registered), options).is_ok(),
            "matching is not symmetric: {registered:?} / {presented:?}"
        );
    }
});
