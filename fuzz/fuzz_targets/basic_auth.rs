//! Arbitrary bytes as an `Authorization: Basic` value, through
//! `oauth_core::client_auth::parse_basic`.
//!
//! Oracles (for every `Ok((id, secret))`):
//! - the value is `Basic` (any case), a space, then base64 of `id ":" secret`, each part
//!   form-urlencoded (OAuth 2.1 §2.4.1): decoding it independently (the `base64` and `url`
//!   crates) gives the same pair, and the id is never empty;
//! - round trip: re-encoding the pair the way a client must
//!   (`base64(form_urlencode(id) ":" form_urlencode(secret))`) parses back to the same
//!   pair, whatever characters (`:`, `%`, `+`, spaces, non-ASCII) it holds.
#![no_main]

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use oauth_core::client_auth::parse_basic;
use oauth_fuzz::form_decode;

fn form_encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

fuzz_target!(|value: &[u8]| {
    let Ok((id, secret)) = parse_basic(value) else {
        return;
    };
    assert!(!id.is_empty(), "empty client id accepted: {value:?}");

    // The accepted value, read independently.
    let text = std::str::from_utf8(value).expect("accepted a value that is not UTF-8");
    let (scheme, rest) = text
        .split_once(' ')
        .expect("accepted a value without a space");
    assert!(
        scheme.eq_ignore_ascii_case("basic"),
        "accepted scheme {scheme:?}"
    );
    let decoded = STANDARD
        .decode(rest.trim_start_matches(' '))
        .expect("accepted credentials that are not base64");
    let colon = decoded
        .iter()
        .position(|b| *b == b':')
        .expect("accepted credentials without a colon");
    assert_eq!(form_decode(&decoded[..colon]), id, "id of {value:?}");
    assert_eq!(
        form_decode(&decoded[colon + 1..]),
        secret,
        "secret of {value:?}"
    );

    // The round trip through the encoding a client must use.
    let encoded = format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", form_encode(&id), form_encode(&secret)))
    );
    assert_eq!(
        parse_basic(encoded.as_bytes()),
        Ok((id.clone(), secret.clone())),
        "re-encoded credentials {encoded:?} (from {value:?}) do not parse back"
    );
});
