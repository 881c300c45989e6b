//! Arbitrary bytes as the query of a GET authorization request, through
//! `Provider::begin_authorization`.
//!
//! Oracles:
//! - never panics; never `AuthorizationError::Misuse` (the host did nothing wrong);
//! - an error (fatal or for the client) shown to a visitor who is not logged in
//!   (`into_response(None)`) never redirects: no open redirector (OAuth 2.1 §7.13.2);
//! - an error for the client, once a user is logged in, redirects only to the URI the
//!   request named (or the client's only one), with `iss` (RFC 9207);
//! - success only for `response_type=code` with an S256 `code_challenge` (PKCE is
//!   required by default), a registered client, and the redirect URI it registered (or,
//!   for a loopback one, that URI with another port).
#![no_main]

use http::header::LOCATION;
use libfuzzer_sys::fuzz_target;
use oauth_core::model::UserId;
use oauth_core::AuthorizationError;
use oauth_fuzz::{
    assert_no_location, authorization_request, block_on, form_pairs, is_pkce_value, provider,
    values, NATIVE_CLIENT, NATIVE_REDIRECT, PUBLIC_CLIENT, PUBLIC_REDIRECT,
};

/// The registered redirect URI of a harness client.
fn registered_redirect(client_id: &str) -> Option<&'static str> {
    match client_id {
        PUBLIC_CLIENT => Some(PUBLIC_REDIRECT),
        NATIVE_CLIENT => Some(NATIVE_REDIRECT),
        oauth_fuzz::CONFIDENTIAL_CLIENT => Some(PUBLIC_REDIRECT),
        _ => None,
    }
}

/// Whether `uri` may be the redirect URI of a request of a client that registered
/// `registered`: the same string, or for `http://127.0.0.1/cb` the same with a port.
fn acceptable_redirect(registered: &str, uri: &str) -> bool {
    if uri == registered {
        return true;
    }
    if registered != NATIVE_REDIRECT {
        return false;
    }
    let Some(rest) = uri.strip_prefix("http://127.0.0.1:") else {
        return false;
    };
    let Some((port, path)) = rest.split_once('/') else {
        return false;
    };
    path == "cb"
        && !port.is_empty()
        && port.len() <= 5
        && port.bytes().all(|b| b.is_ascii_digit())
        && port.parse::<u16>().is_ok_and(|p| p > 0)
}

fuzz_target!(|query: &[u8]| {
    let Some(request) = authorization_request(query) else {
        return;
    };
    // What the request says, read independently of the core (through the URI the core
    // sees: `http` drops a fragment).
    let seen_query = request.uri().query().unwrap_or("").as_bytes().to_vec();
    let pairs = form_pairs(&seen_query);
    // A parameter sent once (an empty value counts as absent, OAuth 2.1 §3.1).
    let one = |name: &str| match values(&pairs, name).as_slice() {
        [value] if !value.is_empty() => Some((*value).to_owned()),
        _ => None,
    };

    match block_on(provider().begin_authorization(&request)) {
        Ok(pending) => {
            assert_eq!(
                one("response_type").as_deref(),
                Some("code"),
                "accepted without response_type=code: {query:?}"
            );
            let challenge = one("code_challenge").unwrap_or_default();
            assert!(
                is_pkce_value(&challenge),
                "accepted without a well-formed code_challenge (PKCE is required): {query:?}"
            );
            assert_eq!(
                one("code_challenge_method").as_deref(),
                Some("S256"),
                "accepted without code_challenge_method=S256 (plain is off): {query:?}"
            );
            let client_id = pending.client_id().as_str();
            assert_eq!(one("client_id").as_deref(), Some(client_id), "{query:?}");
            let registered = registered_redirect(client_id)
                .unwrap_or_else(|| panic!("accepted an unknown client {client_id:?}"));
            match one("redirect_uri") {
                Some(requested) => assert_eq!(pending.redirect_uri(), requested, "{query:?}"),
                None => assert!(
                    values(&pairs, "redirect_uri").iter().all(|v| v.is_empty()),
                    "{query:?}"
                ),
            }
            assert!(
                acceptable_redirect(registered, pending.redirect_uri()),
                "accepted redirect URI {:?} for {client_id:?}: {query:?}",
                pending.redirect_uri()
            );
        }
        Err(AuthorizationError::Misuse(misuse)) => {
            panic!("API misuse reported for a request: {misuse} ({query:?})")
        }
        Err(AuthorizationError::Fatal(reason)) => {
            let response = AuthorizationError::Fatal(reason).into_response(None);
            assert_no_location(&response, "fatal authorization error");
        }
        Err(AuthorizationError::Redirect(redirect)) => {
            let reason = redirect.reason();
            // For a visitor nobody authenticated: an error page, never the redirect.
            let page = AuthorizationError::Redirect(redirect).into_response(None);
            assert_no_location(&page, "authorization error for an unauthenticated user");
            // Handled again for a logged-in user, the same error is redirected, only to
            // the client's validated redirect URI.
            let again = block_on(provider().begin_authorization(&request));
            let Err(AuthorizationError::Redirect(redirect)) = again else {
                panic!("the same request must fail the same way: {query:?}");
            };
            assert_eq!(redirect.reason(), reason);
            let response = redirect.into_response(&UserId::new("fuzz-user"));
            let location = response
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_else(|| panic!("error redirect without Location: {query:?}"));
            let client_id = one("client_id").unwrap_or_default();
            let registered = registered_redirect(&client_id)
                .unwrap_or_else(|| panic!("redirected an error of an unknown client: {query:?}"));
            let (target, error_query) = location.split_once('?').unwrap_or((location, ""));
            let redirected_to = match one("redirect_uri") {
                Some(requested) => requested,
                None => registered.to_owned(),
            };
            assert!(
                acceptable_redirect(registered, &redirected_to)
                    && redirected_to.split('?').next() == Some(target),
                "error redirected to {location:?}, not to the validated URI: {query:?}"
            );
            let error_pairs = form_pairs(error_query.as_bytes());
            assert_eq!(
                values(&error_pairs, "iss"),
                [oauth_fuzz::ISSUER],
                "error redirect without iss: {location:?}"
            );
            assert_eq!(values(&error_pairs, "error").len(), 1, "{location:?}");
            // `state` is echoed exactly when it was sent once (a repeated one cannot be).
            let sent_state = values(&pairs, "state");
            let expected_state: Vec<&str> = match sent_state.as_slice() {
                [state] if !state.is_empty() => vec![*state],
                _ => Vec::new(),
            };
            assert_eq!(
                values(&error_pairs, "state"),
                expected_state,
                "state not echoed exactly: {location:?} for {query:?}"
            );
        }
        Err(other) => panic!("unexpected error kind {other:?}"),
    }
});
