//! One or two `Authorization` header values and an optional form body, through
//! `oauth_core::bearer::extract` (RFC 6750 §2).
//!
//! Input layout: byte 0 is a set of flags (method, form content type, whether a header is
//! sent, whether two, an `access_token` in the query string); then the first header value
//! up to a NUL byte, the second up to the next NUL byte, and the rest is the body.
//!
//! Oracles:
//! - never panics; two `Authorization` headers are always an error;
//! - the result equals a reference reading of RFC 6750 §2.1/§2.2: a token from the header
//!   is non-empty `token68` and exactly what follows the `Bearer` scheme (any case) and its
//!   spaces; a token from the body is non-empty and exactly the single `access_token`
//!   parameter of a non-GET/HEAD, all-ASCII `application/x-www-form-urlencoded` body; a
//!   token in both is an error; a malformed body is an error only without a header token;
//!   `Ok(None)` only when neither carries a token;
//! - a token in the query string is never returned (OAuth 2.1 §5.1).
#![no_main]

use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderValue, Method, Request};
use libfuzzer_sys::fuzz_target;
use oauth_core::bearer::extract;
use oauth_core::params::Params;
use oauth_core::Reason;
use oauth_fuzz::{form_pairs, is_token68, split_once, values};

const QUERY_TOKEN: &str = "token-from-the-query-string";

/// The bearer token of a header value as RFC 6750 §2.1 reads it (scheme, one or more
/// spaces, the rest), before the `token68` check; `None` for another scheme.
fn header_bearer(value: &HeaderValue) -> Option<String> {
    let text = std::str::from_utf8(value.as_bytes()).ok()?;
    let (scheme, rest) = text.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| rest.trim_start_matches(' ').to_owned())
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let method = match flags & 0b11 {
        0 => Method::GET,
        1 => Method::PUT,
        _ => Method::POST,
    };
    let form = flags & 0b100 != 0;
    let header_count = match (flags >> 3) & 0b11 {
        0 => 0,
        3 => 2,
        _ => 1,
    };
    let query_token = flags & 0b10_0000 != 0;

    let (first, rest) = split_once(rest, 0);
    let (second, body) = match rest {
        Some(rest) => {
            let (second, body) = split_once(rest, 0);
            (second, body.unwrap_or_default())
        }
        None => (&[][..], &[][..]),
    };
    let uri = if query_token {
        format!("https://rs.example/r?access_token={QUERY_TOKEN}")
    } else {
        "https://rs.example/r".to_owned()
    };
    let mut builder = Request::builder().method(method.clone()).uri(uri);
    if form {
        builder = builder.header(CONTENT_TYPE, "application/x-www-form-urlencoded");
    }
    let mut request = builder.body(body.to_vec()).expect("request");
    let mut headers = Vec::new();
    for value in [first, second].into_iter().take(header_count) {
        let Ok(value) = HeaderValue::from_bytes(value) else {
            return; // not a header value any HTTP stack would deliver
        };
        request.headers_mut().append(AUTHORIZATION, value.clone());
        headers.push(value);
    }

    let result = extract(&request);
    if headers.len() == 2 {
        assert_eq!(
            result,
            Err(Reason::DuplicateAuthorizationHeader),
            "two Authorization headers must be refused: {data:?}"
        );
        return;
    }
    // The expected answer, from RFC 6750 §2.1/§2.2 as the module documents it.
    let header = match headers.first() {
        None => Header::Absent,
        Some(value) if value.to_str().is_err() => Header::Unreadable,
        Some(value) => match header_bearer(value) {
            None => Header::OtherScheme,
            Some(token) => Header::Bearer(token),
        },
    };
    let body_token = body_token(&method, form, body);
    let expected: Result<Option<String>, ()> = match (header, body_token) {
        (Header::Unreadable, _) => Err(()),
        (Header::Bearer(token), _) if !is_token68(&token) => Err(()),
        (Header::Bearer(_), BodyToken::One(_)) => Err(()),
        (Header::Bearer(token), _) => Ok(Some(token)),
        (_, BodyToken::One(token)) => Ok(Some(token)),
        (_, BodyToken::Absent) => Ok(None),
        (_, BodyToken::Malformed) => Err(()),
    };
    let got = result.clone().map_err(|_| ());
    assert_eq!(got, expected, "extract gave {result:?} for {data:?}");
    if let Ok(Some(token)) = &result {
        assert!(!token.is_empty(), "empty token: {data:?}");
        assert!(
            token != QUERY_TOKEN
                || data
                    .windows(QUERY_TOKEN.len())
                    .any(|w| w == QUERY_TOKEN.as_bytes()),
            "a token from the query string was accepted: {data:?}"
        );
    }
});

enum Header {
    Absent,
    /// Not visible ASCII: cannot be read as a credential.
    Unreadable,
    OtherScheme,
    Bearer(String),
}

enum BodyToken {
    Absent,
    One(String),
    /// A body that is not a strict form, or a repeated `access_token`.
    Malformed,
}

/// The `access_token` of the body: only for a method other than GET and HEAD, with a form
/// content type and an all-ASCII body (RFC 6750 §2.2).
fn body_token(method: &Method, form: bool, body: &[u8]) -> BodyToken {
    if *method == Method::GET || *method == Method::HEAD || !form || !body.is_ascii() {
        return BodyToken::Absent;
    }
    // Strictness of the form syntax is the params module's rule; its own target is
    // `token_request` and its unit tests.
    if Params::parse(body).is_err() {
        return BodyToken::Malformed;
    }
    match values(&form_pairs(body), "access_token").as_slice() {
        [] => BodyToken::Absent,
        [""] => BodyToken::Absent,
        [token] => BodyToken::One((*token).to_owned()),
        _ => BodyToken::Malformed,
    }
}
