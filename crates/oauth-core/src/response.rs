//! Complete HTTP responses: status, headers and body, built in one place.
//!
//! Every response that can carry a token, a credential or an error about one gets
//! `Cache-Control: no-store` and `Pragma: no-cache` (OAuth 2.1 §3.2.3, §3.2.4); error
//! fields come only from [`Reason`], never from request data.

use bytes::Bytes;
use http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION, PRAGMA, REFERRER_POLICY,
    WWW_AUTHENTICATE, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use http::{HeaderValue, Response, StatusCode};
use serde::Serialize;

use crate::error::{ErrorCode, Reason};

/// An HTTP response as the core builds it.
pub type HttpResponse = Response<Bytes>;

fn with_no_store(mut response: HttpResponse) -> HttpResponse {
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

fn build(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> HttpResponse {
    let mut response = Response::new(Bytes::from(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// A JSON response that must not be cached (it carries tokens or secrets).
pub(crate) fn json_no_store(status: StatusCode, body: &impl Serialize) -> HttpResponse {
    match serde_json::to_vec(body) {
        Ok(json) => with_no_store(build(status, "application/json", json)),
        Err(_) => server_error(),
    }
}

/// A response without a body that must not be cached (RFC 7009 §2.2: a revocation's
/// answer is its status code alone; RFC 7592 §2: 204, 403 and 404 of the client
/// configuration endpoint).
pub(crate) fn empty_no_store(status: StatusCode) -> HttpResponse {
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = status;
    with_no_store(response)
}

fn server_error() -> HttpResponse {
    with_no_store(build(
        StatusCode::INTERNAL_SERVER_ERROR,
        "application/json",
        br#"{"error":"server_error"}"#.to_vec(),
    ))
}

/// The body of an OAuth error response (OAuth 2.1 §3.2.4).
#[derive(Serialize)]
struct ErrorBody {
    error: &'static str,
    error_description: &'static str,
}

/// The status of a token-endpoint error (OAuth 2.1 §3.2.4; RFC 6749 §5.2).
///
/// `invalid_client` is 401 when the client used the `Authorization` header, with a
/// `Basic` challenge; otherwise 400, since a 401 must carry a challenge (RFC 9110 §15.5.2)
/// and there is no scheme to challenge a body credential with.
fn token_error_status(reason: Reason, used_authorization_header: bool) -> StatusCode {
    match reason.code() {
        ErrorCode::InvalidClient if used_authorization_header => StatusCode::UNAUTHORIZED,
        ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        _ if reason == Reason::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        _ if reason == Reason::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// A JSON error response of the token endpoint (and of other JSON endpoints).
///
/// `invalid_client` is 401; when the client used the `Authorization` header the response
/// carries a `WWW-Authenticate: Basic` challenge (OAuth 2.1 §3.2.4).
pub(crate) fn token_error(
    reason: Reason,
    used_authorization_header: bool,
    realm: &str,
) -> HttpResponse {
    let body = ErrorBody {
        error: reason.code().as_str(),
        error_description: reason.description(),
    };
    let mut response = json_no_store(token_error_status(reason, used_authorization_header), &body);
    if reason.code() == ErrorCode::InvalidClient && used_authorization_header {
        if let Ok(challenge) = HeaderValue::from_str(&format!("Basic realm=\"{realm}\"")) {
            response.headers_mut().insert(WWW_AUTHENTICATE, challenge);
        }
    }
    if reason == Reason::MethodNotAllowed {
        response
            .headers_mut()
            .insert(http::header::ALLOW, HeaderValue::from_static("POST"));
    }
    response
}

/// An error response of the registration and client configuration endpoints
/// (RFC 7591 §3.2.2): JSON, `no-store`; 405 (with `Allow: allow`) for a wrong method, 413
/// for an oversized body, 503/500 for server-side failures, otherwise 400.
pub(crate) fn registration_error(reason: Reason, allow: &'static str) -> HttpResponse {
    let status = match reason.code() {
        ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        _ if reason == Reason::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
        _ if reason == Reason::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        _ => StatusCode::BAD_REQUEST,
    };
    let body = ErrorBody {
        error: reason.code().as_str(),
        error_description: reason.description(),
    };
    let mut response = json_no_store(status, &body);
    if reason == Reason::MethodNotAllowed {
        response
            .headers_mut()
            .insert(http::header::ALLOW, HeaderValue::from_static(allow));
    }
    response
}

/// A redirect to a validated client URI. 303 after a form post, so the browser never
/// re-posts credentials to the client (OAuth 2.1 §7.5.3); 302 after a GET.
pub(crate) fn redirect(location: &str, after_post: bool) -> HttpResponse {
    let status = if after_post {
        StatusCode::SEE_OTHER
    } else {
        StatusCode::FOUND
    };
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = status;
    match HeaderValue::from_str(location) {
        Ok(value) => {
            response.headers_mut().insert(LOCATION, value);
        }
        Err(_) => return server_error(),
    }
    // The Location carries a code; keep it out of caches and Referer headers.
    response
        .headers_mut()
        .insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    with_no_store(response)
}

/// The content security policy of every page: nothing from elsewhere, no framing, forms
/// to this origin only.
const PAGE_CSP: &str = "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self'; \
                        form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Headers every HTML page of the authorization UI carries: no framing (clickjacking,
/// OAuth 2.1 §7.11), no referrer, no third-party resources (RFC 9700 §4.2.4).
pub fn add_page_security_headers(headers: &mut http::HeaderMap) {
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(PAGE_CSP));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
}

/// An HTML page of the authorization UI (login, consent, errors): `html` with `status`,
/// `text/html; charset=utf-8` and [`add_page_security_headers`]. The host escapes what it
/// renders.
///
/// Forms may only be submitted to this origin (CSP `form-action 'self'`). Browsers apply
/// `form-action` to the redirects that follow a submission too, so a consent page, whose
/// form answers with a redirect to the client, names the pending request's validated
/// redirect URI as `consent_redirect_uri`: its origin (its scheme, for a private-use
/// scheme) is allowed as well. A redirect URI that cannot be written as a CSP source
/// safely adds nothing.
#[must_use]
pub fn html_page(
    status: StatusCode,
    html: impl Into<String>,
    consent_redirect_uri: Option<&str>,
) -> HttpResponse {
    let mut response = build(status, "text/html; charset=utf-8", html.into().into_bytes());
    add_page_security_headers(response.headers_mut());
    let source = consent_redirect_uri.and_then(form_action_source);
    if let Some(csp) = source.and_then(|source| {
        HeaderValue::from_str(&PAGE_CSP.replace(
            "form-action 'self'",
            &format!("form-action 'self' {source}"),
        ))
        .ok()
    }) {
        response.headers_mut().insert(CONTENT_SECURITY_POLICY, csp);
    }
    response
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

/// A plain-text error page for authorization errors that must not be redirected
/// (unknown client, untrusted redirect URI). The text is fixed per [`Reason`].
pub(crate) fn error_page(reason: Reason) -> HttpResponse {
    let status = match reason.code() {
        ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    let body = format!(
        "Authorization request rejected: {} ({}).\n",
        reason.description(),
        reason.code()
    );
    let mut response = build(status, "text/plain; charset=utf-8", body.into_bytes());
    add_page_security_headers(response.headers_mut());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn html_page_has_the_security_headers_and_a_consent_page_allows_its_redirect() {
        let page = html_page(StatusCode::OK, "<h1>Sign in</h1>", None);
        assert_eq!(page.status(), StatusCode::OK);
        assert_eq!(page.body().as_ref(), b"<h1>Sign in</h1>");
        assert_eq!(page.headers()[CONTENT_TYPE], "text/html; charset=utf-8");
        assert_eq!(page.headers()[CONTENT_SECURITY_POLICY], PAGE_CSP);
        assert_eq!(page.headers()[X_FRAME_OPTIONS], "DENY");
        assert_eq!(page.headers()[CACHE_CONTROL], "no-store");
        let consent = html_page(
            StatusCode::OK,
            "<form method=post></form>",
            Some("https://client.example/cb"),
        );
        assert_eq!(
            consent.headers()[CONTENT_SECURITY_POLICY],
            PAGE_CSP.replace(
                "form-action 'self'",
                "form-action 'self' https://client.example"
            )
        );
        let hostile = html_page(StatusCode::OK, "", Some("https://a.example; script-src *"));
        assert_eq!(hostile.headers()[CONTENT_SECURITY_POLICY], PAGE_CSP);
    }

    #[test]
    fn o21_18_invalid_client_with_basic_is_401_with_challenge() {
        let r = token_error(Reason::ClientSecretMismatch, true, "as");
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(r.headers()[WWW_AUTHENTICATE], "Basic realm=\"as\"");
        let body: serde_json::Value = serde_json::from_slice(r.body()).unwrap();
        assert_eq!(body["error"], "invalid_client");
    }

    #[test]
    fn o21_52_error_responses_are_no_store() {
        let r = token_error(Reason::CodeNotFound, false, "as");
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert_eq!(r.headers()[CACHE_CONTROL], "no-store");
        assert_eq!(r.headers()[PRAGMA], "no-cache");
    }

    #[test]
    fn o21_41_redirect_after_post_is_303_never_307() {
        assert_eq!(
            redirect("https://c/cb", true).status(),
            StatusCode::SEE_OTHER
        );
        assert_eq!(redirect("https://c/cb", false).status(), StatusCode::FOUND);
    }

    #[test]
    fn o21_42_error_pages_forbid_framing() {
        let r = error_page(Reason::RedirectUriMismatch);
        assert_eq!(r.headers()[X_FRAME_OPTIONS], "DENY");
        assert!(r.headers()[CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'"));
        assert!(r.headers().get(LOCATION).is_none());
    }
}
