//! Redirect URIs: what may be registered, and exact matching at the authorization endpoint.
//!
//! Matching is simple string comparison with no normalisation (OAuth 2.1 §4.1.1, RFC 9700
//! §4.1.3). The one exception is RFC 8252 §7.3 / OAuth 2.1 §8.4.2: for a loopback IP
//! literal (`http://127.0.0.1`, `http://[::1]`) the port may differ, because native apps
//! get an ephemeral port from the OS. Scheme, host, path and query still match exactly.
//! `localhost` gets the exception only when the host enables it (checklist conflict C-6).
//!
//! An authorization error may be redirected only through a [`ValidatedRedirectUri`], which
//! only [`match_redirect_uri`] can construct: an error about an untrusted redirect URI or
//! an unknown client can never be sent to that URI.

use std::fmt;

use crate::error::Reason;

/// Why a URI cannot be registered as a redirect URI.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistrationError {
    /// Not an absolute URI.
    #[error("redirect URI must be absolute")]
    NotAbsolute,
    /// Carries a fragment (OAuth 2.1 §2.3).
    #[error("redirect URI must not have a fragment")]
    Fragment,
    /// `http` for a host that is not loopback (RFC 9700 §2.6).
    #[error("http redirect URIs are allowed only for loopback")]
    InsecureHttp,
    /// A scheme that can run code or carry content (`javascript:`, `data:`, ...).
    #[error("redirect URI scheme is not allowed")]
    DangerousScheme,
    /// A private-use scheme that is not reverse-domain (OAuth 2.1 §8.4.3).
    #[error("private-use schemes must be reverse-domain names")]
    PrivateSchemeNotReverseDomain,
    /// Contains user information (`user@host`), whitespace or control characters.
    #[error("redirect URI contains forbidden characters or userinfo")]
    Forbidden,
    /// Contains `*`. Matching is exact, so a wildcard would never match anything; it is
    /// refused so that nobody registers one believing it does (RFC 9700 §2.1).
    #[error("redirect URIs must not contain wildcards")]
    Wildcard,
}

/// Schemes that must never receive an authorization response.
const DANGEROUS_SCHEMES: &[&str] = &[
    "javascript",
    "data",
    "vbscript",
    "file",
    "blob",
    "about",
    "filesystem",
    "ftp",
    "ws",
    "wss",
];

/// Whether `host` is a loopback IP literal as RFC 8252 §7.3 means it.
fn is_loopback_ip(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
        url::Host::Domain(_) => false,
    }
}

/// Checks a URI offered for registration.
pub fn validate_for_registration(uri: &str) -> Result<(), RegistrationError> {
    if uri
        .bytes()
        .any(|b| b.is_ascii_whitespace() || b.is_ascii_control() || !b.is_ascii())
    {
        return Err(RegistrationError::Forbidden);
    }
    if uri.contains('#') {
        return Err(RegistrationError::Fragment);
    }
    if uri.contains('*') {
        return Err(RegistrationError::Wildcard);
    }
    let url = url::Url::parse(uri).map_err(|_| RegistrationError::NotAbsolute)?;
    let scheme = url.scheme();
    if DANGEROUS_SCHEMES.contains(&scheme) {
        return Err(RegistrationError::DangerousScheme);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(RegistrationError::Forbidden);
    }
    match scheme {
        "https" => {
            if url.host().is_none() {
                return Err(RegistrationError::NotAbsolute);
            }
            Ok(())
        }
        "http" => match url.host() {
            Some(host) if is_loopback_ip(&host) => Ok(()),
            Some(url::Host::Domain("localhost")) => Ok(()),
            _ => Err(RegistrationError::InsecureHttp),
        },
        private => {
            // OAuth 2.1 §8.4.3: reverse-domain, so at least one dot.
            if private.contains('.') {
                Ok(())
            } else {
                Err(RegistrationError::PrivateSchemeNotReverseDomain)
            }
        }
    }
}

/// A redirect URI that matched the client's registration: the only value an authorization
/// response or error may be sent to.
#[derive(Clone, PartialEq, Eq)]
pub struct ValidatedRedirectUri {
    uri: String,
}

impl ValidatedRedirectUri {
    /// The URI as it was requested (and matched).
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.uri
    }

    /// This URI with `pairs` appended to its query, keeping any query it already has
    /// (OAuth 2.1 §4.1.2).
    #[must_use]
    pub fn with_query(&self, pairs: &[(&str, &str)]) -> String {
        let (base, existing) = match self.uri.split_once('?') {
            Some((base, query)) => (base, query.to_owned()),
            None => (self.uri.as_str(), String::new()),
        };
        let mut query = existing;
        crate::params::append_pairs(&mut query, pairs);
        format!("{base}?{query}")
    }

    #[cfg(test)]
    pub(crate) fn from_trusted(uri: String) -> Self {
        ValidatedRedirectUri { uri }
    }
}

impl fmt::Debug for ValidatedRedirectUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ValidatedRedirectUri({:?})", self.uri)
    }
}

/// Options of redirect-URI matching.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MatchOptions {
    /// Let `http://localhost` vary its port like a loopback IP literal. Off by default
    /// (RFC 8252 §8.3 recommends IP literals); on in the MCP profile (conflict C-6).
    pub localhost_port_exception: bool,
}

/// Chooses the redirect URI of an authorization request.
///
/// With exactly one registered URI the parameter may be omitted (OAuth 2.1 §2.3.2);
/// with several it is required. A requested URI must equal a registered one, except for
/// the port of a loopback redirect.
///
/// The URI chosen must also pass the registration rules ([`validate_for_registration`]):
/// a client record that did not go through registration (imported, or written straight to
/// the store) never gets a response sent to an `http` non-loopback URI, a `javascript:`
/// URI or a URI with a fragment (RFC 9700 §2.6, OAuth 2.1 §2.3, §7.12).
pub fn match_redirect_uri(
    registered: &[String],
    requested: Option<&str>,
    options: MatchOptions,
) -> Result<ValidatedRedirectUri, Reason> {
    let usable = |uri: &str| validate_for_registration(uri).is_ok();
    let Some(requested) = requested else {
        return match registered {
            [] => Err(Reason::NoRegisteredRedirectUri),
            [only] if usable(only) => Ok(ValidatedRedirectUri { uri: only.clone() }),
            [_] => Err(Reason::NoRegisteredRedirectUri),
            _ => Err(Reason::RedirectUriRequired),
        };
    };
    if registered.is_empty() {
        return Err(Reason::NoRegisteredRedirectUri);
    }
    let matches = usable(requested)
        && registered
            .iter()
            .any(|r| r == requested || loopback_port_match(r, requested, options));
    if matches {
        Ok(ValidatedRedirectUri {
            uri: requested.to_owned(),
        })
    } else {
        Err(Reason::RedirectUriMismatch)
    }
}

/// The loopback authorities that may vary their port.
fn loopback_prefix(uri: &str, options: MatchOptions) -> Option<&'static str> {
    const PREFIXES: &[&str] = &["http://127.0.0.1", "http://[::1]"];
    PREFIXES
        .iter()
        .copied()
        .chain(
            options
                .localhost_port_exception
                .then_some("http://localhost"),
        )
        .find(|p| {
            uri.strip_prefix(p)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with([':', '/', '?']))
        })
}

/// Splits `rest` (what follows the authority's host) into an optional `:port` and the
/// remainder, which must then match exactly.
fn strip_port(rest: &str) -> Option<&str> {
    let Some(after_colon) = rest.strip_prefix(':') else {
        return Some(rest);
    };
    let digits = after_colon.bytes().take_while(u8::is_ascii_digit).count();
    let (port, tail) = after_colon.split_at(digits);
    let valid_port =
        !port.is_empty() && port.len() <= 5 && port.parse::<u16>().is_ok_and(|p| p > 0);
    valid_port.then_some(tail)
}

fn loopback_port_match(registered: &str, requested: &str, options: MatchOptions) -> bool {
    let Some(prefix) = loopback_prefix(registered, options) else {
        return false;
    };
    let (Some(reg_rest), Some(req_rest)) = (
        registered.strip_prefix(prefix),
        requested.strip_prefix(prefix),
    ) else {
        return false;
    };
    match (strip_port(reg_rest), strip_port(req_rest)) {
        (Some(reg_tail), Some(req_tail)) => reg_tail == req_tail,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(uri: &str) -> Vec<String> {
        vec![uri.to_owned()]
    }

    fn matches(registered: &str, requested: &str) -> bool {
        match_redirect_uri(&one(registered), Some(requested), MatchOptions::default()).is_ok()
    }

    #[test]
    fn o21_27_registered_uri_must_be_absolute_without_fragment() {
        assert_eq!(
            validate_for_registration("https://c.example/cb#x"),
            Err(RegistrationError::Fragment)
        );
        assert_eq!(
            validate_for_registration("/cb"),
            Err(RegistrationError::NotAbsolute)
        );
        assert_eq!(
            validate_for_registration("https://c.example/cb?t=1"),
            Ok(())
        );
    }

    #[test]
    fn o21_28_redirect_uri_exact_match_without_normalisation() {
        let reg = "https://c.example/cb";
        assert!(matches(reg, reg));
        for variant in [
            "https://c.example/cb/",
            "https://C.example/cb",
            "https://c.example:443/cb",
            "https://c.example/cb?x=1",
            "https://c.example/CB",
            "https://c.example/c%62",
            "HTTPS://c.example/cb",
            "https://c.example/cb#",
        ] {
            assert!(!matches(reg, variant), "{variant} must not match");
        }
    }

    #[test]
    fn o21_29_loopback_ip_literal_may_vary_the_port_only() {
        assert!(matches("http://127.0.0.1/cb", "http://127.0.0.1:51004/cb"));
        assert!(matches("http://[::1]/cb", "http://[::1]:61023/cb"));
        assert!(matches(
            "http://127.0.0.1:8080/cb",
            "http://127.0.0.1:9999/cb"
        ));
        assert!(matches("http://127.0.0.1:8080/cb", "http://127.0.0.1/cb"));
        assert!(!matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:51004/other"
        ));
        assert!(!matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:51004/cb?x=1"
        ));
        assert!(!matches(
            "http://127.0.0.1/cb?a=1",
            "http://127.0.0.1:5/cb?a=2"
        ));
        assert!(!matches(
            "https://c.example/cb",
            "https://c.example:8443/cb"
        ));
        assert!(!matches("http://127.0.0.1/cb", "https://127.0.0.1:5/cb"));
        assert!(!matches("http://127.0.0.1/cb", "http://127.0.0.1:0/cb"));
        assert!(!matches("http://127.0.0.1/cb", "http://127.0.0.1:99999/cb"));
        assert!(!matches("http://127.0.0.1/cb", "http://127.0.0.1:/cb"));
        assert!(!matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1.evil.example/cb"
        ));
        assert!(!matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:80@evil.example/cb"
        ));
    }

    #[test]
    fn c6_localhost_port_exception_is_off_by_default_and_configurable() {
        assert!(!matches("http://localhost/cb", "http://localhost:3000/cb"));
        let on = MatchOptions {
            localhost_port_exception: true,
        };
        assert!(match_redirect_uri(
            &one("http://localhost/cb"),
            Some("http://localhost:3000/cb"),
            on
        )
        .is_ok());
        assert!(match_redirect_uri(
            &one("http://localhost/cb"),
            Some("http://localhost.evil.example:3000/cb"),
            on
        )
        .is_err());
    }

    #[test]
    fn o21_30_private_use_scheme_must_be_reverse_domain() {
        assert_eq!(
            validate_for_registration("myapp:/cb"),
            Err(RegistrationError::PrivateSchemeNotReverseDomain)
        );
        assert_eq!(
            validate_for_registration("com.example.app:/oauth2redirect"),
            Ok(())
        );
    }

    #[test]
    fn o21_31_redirect_uri_required_with_several_registered() {
        let two = vec![
            "https://a.example/cb".to_owned(),
            "https://b.example/cb".to_owned(),
        ];
        assert_eq!(
            match_redirect_uri(&two, None, MatchOptions::default()),
            Err(Reason::RedirectUriRequired)
        );
        let chosen =
            match_redirect_uri(&one("https://a.example/cb"), None, MatchOptions::default())
                .unwrap();
        assert_eq!(chosen.as_str(), "https://a.example/cb");
    }

    #[test]
    fn o21_26_client_without_redirect_uris_cannot_use_the_code_flow() {
        assert_eq!(
            match_redirect_uri(&[], None, MatchOptions::default()),
            Err(Reason::NoRegisteredRedirectUri)
        );
        assert_eq!(
            match_redirect_uri(&[], Some("https://a.example/cb"), MatchOptions::default()),
            Err(Reason::NoRegisteredRedirectUri)
        );
    }

    #[test]
    fn bcp_2_unregistrable_uris_of_a_stored_client_are_never_matched() {
        for bad in [
            "http://c.example/cb",
            "javascript:alert(1)",
            "https://c.example/cb#f",
        ] {
            assert_eq!(
                match_redirect_uri(&one(bad), Some(bad), MatchOptions::default()),
                Err(Reason::RedirectUriMismatch),
                "{bad}"
            );
            assert_eq!(
                match_redirect_uri(&one(bad), None, MatchOptions::default()),
                Err(Reason::NoRegisteredRedirectUri),
                "{bad}"
            );
        }
    }

    #[test]
    fn o21_33_existing_query_is_kept_when_appending() {
        let v = ValidatedRedirectUri::from_trusted("https://c.example/cb?tenant=1".to_owned());
        assert_eq!(
            v.with_query(&[("code", "x"), ("state", "s")]),
            "https://c.example/cb?tenant=1&code=x&state=s"
        );
    }

    #[test]
    fn bcp_2_http_redirect_uris_only_for_loopback() {
        assert_eq!(
            validate_for_registration("http://c.example/cb"),
            Err(RegistrationError::InsecureHttp)
        );
        assert_eq!(
            validate_for_registration("http://127.0.0.1:8080/cb"),
            Ok(())
        );
        assert_eq!(validate_for_registration("http://[::1]/cb"), Ok(()));
    }

    #[test]
    fn dcr_8_wildcards_are_refused() {
        for bad in [
            "https://*.c.example/cb",
            "https://c.example/*",
            "http://127.0.0.1:*/cb",
        ] {
            assert_eq!(
                validate_for_registration(bad),
                Err(RegistrationError::Wildcard),
                "{bad}"
            );
        }
    }

    #[test]
    fn o21_44_dangerous_schemes_and_userinfo_are_refused() {
        for bad in [
            "javascript:alert(1)",
            "data:text/html,hi",
            "vbscript:x",
            "file:///etc/passwd",
        ] {
            assert_eq!(
                validate_for_registration(bad),
                Err(RegistrationError::DangerousScheme),
                "{bad}"
            );
        }
        assert_eq!(
            validate_for_registration("https://user:pw@c.example/cb"),
            Err(RegistrationError::Forbidden)
        );
        assert_eq!(
            validate_for_registration("https://c.example/c b"),
            Err(RegistrationError::Forbidden)
        );
    }
}
