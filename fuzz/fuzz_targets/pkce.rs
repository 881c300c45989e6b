//! A verifier, a challenge and a method, through `pkce::is_valid_pkce_value`,
//! `pkce::parse_challenge`, `pkce::s256` and `pkce::verify` (RFC 7636).
//!
//! Input layout: the verifier up to a NUL byte, the challenge up to the next NUL byte, and
//! the method (each read as UTF-8, invalid sequences replaced).
//!
//! Oracles:
//! - `is_valid_pkce_value(v)` exactly when `v` is 43 to 128 unreserved characters
//!   (`ALPHA / DIGIT / "-" / "." / "_" / "~"`), checked against an independent reading;
//! - `parse_challenge` accepts exactly a valid challenge with method `S256` (or `plain`
//!   when allowed; a missing method means `plain`), keeps the value as sent, and refuses a
//!   method without a challenge;
//! - `s256(v)` is 43 base64url characters, itself a valid PKCE value;
//! - for a valid verifier `v`: `s256(v)` verifies with `v`, and never with a valid
//!   verifier that differs from `v` in one character; the input challenge verifies with
//!   `v` exactly when it equals `s256(v)` (or `v` itself for `plain`);
//! - an invalid verifier never verifies.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oauth_core::pkce::{
    is_valid_pkce_value, parse_challenge, s256, verify, CodeChallenge, CodeChallengeMethod,
    PkceError,
};
use oauth_fuzz::{is_pkce_value, split_once};

const UNRESERVED: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";

fuzz_target!(|data: &[u8]| {
    let (verifier, rest) = split_once(data, 0);
    let (challenge, method) = split_once(rest.unwrap_or_default(), 0);
    let verifier = String::from_utf8_lossy(verifier).into_owned();
    let challenge = String::from_utf8_lossy(challenge).into_owned();
    let method = method.map(|m| String::from_utf8_lossy(m).into_owned());

    for value in [&verifier, &challenge] {
        assert_eq!(
            is_valid_pkce_value(value),
            is_pkce_value(value),
            "is_valid_pkce_value({value:?})"
        );
    }

    // parse_challenge, for both policies.
    for allow_plain in [false, true] {
        let parsed = parse_challenge(Some(&challenge), method.as_deref(), allow_plain);
        let expected_method = match method.as_deref().unwrap_or("plain") {
            "S256" => Some(CodeChallengeMethod::S256),
            "plain" if allow_plain => Some(CodeChallengeMethod::Plain),
            _ => None,
        };
        match (&parsed, expected_method) {
            (Ok(Some(parsed)), Some(method)) => {
                assert!(
                    is_pkce_value(&challenge),
                    "accepted challenge {challenge:?}"
                );
                assert_eq!(parsed.method, method);
                assert_eq!(parsed.value, challenge);
            }
            (Err(PkceError::UnsupportedMethod), None) => {}
            (Err(PkceError::MalformedChallenge), Some(_)) => {
                assert!(
                    !is_pkce_value(&challenge),
                    "refused challenge {challenge:?}"
                );
            }
            _ => panic!("parse_challenge({challenge:?}, {method:?}, {allow_plain}) = {parsed:?}"),
        }
        if method.is_some() {
            assert_eq!(
                parse_challenge(None, method.as_deref(), allow_plain),
                Err(PkceError::MethodWithoutChallenge)
            );
        }
    }

    let derived = s256(&verifier);
    assert_eq!(derived.len(), 43, "s256({verifier:?}) = {derived:?}");
    assert!(is_pkce_value(&derived), "s256({verifier:?}) = {derived:?}");
    assert_eq!(derived, s256(&verifier), "s256 is deterministic");

    let s256_of = |value: String| CodeChallenge {
        method: CodeChallengeMethod::S256,
        value,
    };
    let plain_of = |value: String| CodeChallenge {
        method: CodeChallengeMethod::Plain,
        value,
    };
    let valid = is_pkce_value(&verifier);
    for presented in [s256_of(challenge.clone()), plain_of(challenge.clone())] {
        let expected = valid
            && match presented.method {
                CodeChallengeMethod::S256 => challenge == derived,
                _ => challenge == verifier,
            };
        assert_eq!(
            verify(&presented, &verifier),
            expected,
            "verify({presented:?}, {verifier:?})"
        );
    }
    if !valid {
        assert!(
            !verify(&s256_of(derived), &verifier),
            "invalid verifier verified"
        );
        assert!(
            !verify(&plain_of(verifier.clone()), &verifier),
            "invalid verifier verified"
        );
        return;
    }
    assert!(
        verify(&s256_of(derived.clone()), &verifier),
        "s256(v) must verify v"
    );

    // One character changed, at a position and to a character chosen by the input: the
    // result is still a valid verifier, and must not verify.
    let seed = data.iter().fold(0usize, |acc, b| {
        acc.wrapping_mul(31).wrapping_add(usize::from(*b))
    });
    let mut other = verifier.clone().into_bytes();
    let position = seed % other.len();
    let current = other[position];
    let mut replacement = UNRESERVED[(seed / 7) % UNRESERVED.len()];
    if replacement == current {
        replacement = UNRESERVED
            [(UNRESERVED.iter().position(|c| *c == current).unwrap_or(0) + 1) % UNRESERVED.len()];
    }
    other[position] = replacement;
    let other = String::from_utf8(other).expect("unreserved characters are ASCII");
    assert!(is_pkce_value(&other));
    assert_ne!(other, verifier);
    assert!(
        !verify(&s256_of(derived), &other),
        "s256({verifier:?}) verified with {other:?}"
    );
});
