//! A token-endpoint request built from the input, through `Provider::token`.
//!
//! Input layout: byte 0 is a set of flags (content type, method, whether an
//! `Authorization` header is sent and whether twice, credentials in the query); with an
//! `Authorization` header, its value is what follows up to the first NUL byte; the rest is
//! the body. No code or refresh token exists in the store, and no client may use the
//! client credentials grant, so nothing can succeed.
//!
//! Oracles:
//! - never panics; never 200 (nothing valid exists to redeem);
//! - the status is 400, 401, 405 (exactly for a method other than POST, with
//!   `Allow: POST`) or 413 (exactly for a POST body over the limit); never 5xx from a
//!   healthy store;
//! - every response has `Cache-Control: no-store` and `Pragma: no-cache`, and a JSON body
//!   `{"error", "error_description"}` with a token-endpoint error code;
//! - `invalid_client` is 401 with a `WWW-Authenticate: Basic` challenge exactly when an
//!   `Authorization` header was sent, otherwise 400 without a challenge (OAuth 2.1
//!   §3.2.4); no other response carries a challenge.
#![no_main]

use http::header::{ALLOW, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderValue, Method, Request, StatusCode};
use libfuzzer_sys::fuzz_target;
use oauth_fuzz::{assert_no_store, block_on, provider, split_once, ISSUER, MAX_BODY_BYTES};

const CONTENT_TYPES: [Option<&str>; 8] = [
    None,
    Some("application/x-www-form-urlencoded"),
    Some("application/x-www-form-urlencoded; charset=UTF-8"),
    Some("Application/X-WWW-Form-Urlencoded"),
    Some("application/json"),
    Some("text/plain"),
    Some("application/x-www-form-urlencoded"),
    Some("application/x-www-form-urlencoded"),
];

/// The error codes a token endpoint may answer with (OAuth 2.1 §3.2.4, RFC 8707 §2).
const TOKEN_ERRORS: &[&str] = &[
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "invalid_target",
];

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let content_type = CONTENT_TYPES[usize::from(flags & 0b111)];
    let method = match (flags >> 3) & 0b11 {
        2 => Method::GET,
        3 => Method::PUT,
        _ => Method::POST,
    };
    let send_auth = flags & 0b0010_0000 != 0;
    let twice = flags & 0b0100_0000 != 0;
    let query_secret = flags & 0b1000_0000 != 0;

    let (auth, body) = if send_auth {
        let (auth, body) = split_once(rest, 0);
        (Some(auth), body.unwrap_or_default())
    } else {
        (None, rest)
    };
    let uri = if query_secret {
        format!("{ISSUER}/token?client_secret=x")
    } else {
        format!("{ISSUER}/token")
    };
    let mut builder = Request::builder().method(method.clone()).uri(uri);
    if let Some(content_type) = content_type {
        builder = builder.header(CONTENT_TYPE, content_type);
    }
    let Ok(mut request) = builder.body(body.to_vec()) else {
        return;
    };
    if let Some(auth) = auth {
        let Ok(value) = HeaderValue::from_bytes(auth) else {
            return; // not a header value any HTTP stack would deliver
        };
        request.headers_mut().append(AUTHORIZATION, value.clone());
        if twice {
            request.headers_mut().append(AUTHORIZATION, value);
        }
    }
    let sent_auth = auth.is_some();

    let response = block_on(provider().token(&request));
    let status = response.status();
    assert_ne!(status, StatusCode::OK, "a token was issued: {data:?}");
    assert!(
        matches!(status.as_u16(), 400 | 401 | 405 | 413),
        "unexpected status {status} for {data:?}"
    );
    assert_no_store(&response, "token endpoint");
    assert_eq!(
        status == StatusCode::METHOD_NOT_ALLOWED,
        method != Method::POST,
        "405 exactly for a method other than POST: {status} for {data:?}"
    );
    if status == StatusCode::METHOD_NOT_ALLOWED {
        assert_eq!(
            response.headers().get(ALLOW).map(|v| v.as_bytes()),
            Some(&b"POST"[..])
        );
    }
    assert_eq!(
        status == StatusCode::PAYLOAD_TOO_LARGE,
        method == Method::POST && body.len() > MAX_BODY_BYTES,
        "413 exactly for an oversized POST body: {status} for {data:?}"
    );

    let json: serde_json::Value = serde_json::from_slice(response.body())
        .unwrap_or_else(|e| panic!("error body is not JSON ({e}): {response:?}"));
    let error = json["error"].as_str().unwrap_or_default();
    assert!(
        TOKEN_ERRORS.contains(&error),
        "error code {error:?} for {data:?}"
    );
    assert!(json["error_description"].is_string(), "{json}");
    assert_eq!(
        response.headers().get(CONTENT_TYPE).map(|v| v.as_bytes()),
        Some(&b"application/json"[..])
    );

    let challenge = response.headers().get(WWW_AUTHENTICATE);
    if error == "invalid_client" {
        assert_eq!(
            status == StatusCode::UNAUTHORIZED,
            sent_auth,
            "invalid_client is 401 exactly when the Authorization header was used: {status} \
             for {data:?}"
        );
    } else {
        assert_ne!(
            status,
            StatusCode::UNAUTHORIZED,
            "401 without invalid_client: {data:?}"
        );
    }
    assert_eq!(
        challenge.is_some(),
        status == StatusCode::UNAUTHORIZED,
        "a 401 carries WWW-Authenticate, and nothing else does: {response:?}"
    );
    if let Some(challenge) = challenge {
        assert_eq!(
            challenge.as_bytes(),
            format!("Basic realm=\"{ISSUER}\"").as_bytes(),
            "the challenge of a token-endpoint 401"
        );
    }
});
