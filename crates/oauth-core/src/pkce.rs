//! Proof Key for Code Exchange (RFC 7636, as tightened by OAuth 2.1 §4.1 and RFC 9700).
//!
//! Both values follow `43*128( ALPHA / DIGIT / "-" / "." / "_" / "~" )`. Only `S256` is
//! accepted unless the host enables `plain`; a missing method means `plain` (RFC 7636
//! §4.3), so an S256-only server rejects it rather than assuming S256. The transformed
//! verifier is compared with the stored challenge in constant time.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A code challenge transformation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum CodeChallengeMethod {
    /// `BASE64URL(SHA256(ASCII(code_verifier)))`.
    S256,
    /// The challenge is the verifier. Off unless the host enables it.
    #[serde(rename = "plain")]
    Plain,
}

impl CodeChallengeMethod {
    /// The registered name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            CodeChallengeMethod::S256 => "S256",
            CodeChallengeMethod::Plain => "plain",
        }
    }
}

/// A validated code challenge, stored with the code it protects.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeChallenge {
    /// The transformation.
    pub method: CodeChallengeMethod,
    /// The challenge value.
    pub value: String,
}

/// Why a PKCE parameter was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PkceError {
    /// The challenge is not 43 to 128 unreserved characters.
    #[error("code_challenge is malformed")]
    MalformedChallenge,
    /// The verifier is not 43 to 128 unreserved characters.
    #[error("code_verifier is malformed")]
    MalformedVerifier,
    /// The method is not one this server accepts (including a missing method, which
    /// means `plain`, on an S256-only server).
    #[error("code_challenge_method is not supported")]
    UnsupportedMethod,
    /// A method was sent without a challenge.
    #[error("code_challenge_method without code_challenge")]
    MethodWithoutChallenge,
}

/// `43*128( ALPHA / DIGIT / "-" / "." / "_" / "~" )`.
#[must_use]
pub fn is_valid_pkce_value(value: &str) -> bool {
    (43..=128).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Parses the challenge parameters of an authorization request.
///
/// Returns `Ok(None)` when neither parameter was sent; whether that is acceptable is the
/// caller's policy decision (PKCE is required by default).
pub fn parse_challenge(
    challenge: Option<&str>,
    method: Option<&str>,
    allow_plain: bool,
) -> Result<Option<CodeChallenge>, PkceError> {
    let Some(challenge) = challenge else {
        return match method {
            Some(_) => Err(PkceError::MethodWithoutChallenge),
            None => Ok(None),
        };
    };
    // RFC 7636 §4.3: absent means "plain".
    let method = match method.unwrap_or("plain") {
        "S256" => CodeChallengeMethod::S256,
        "plain" if allow_plain => CodeChallengeMethod::Plain,
        _ => return Err(PkceError::UnsupportedMethod),
    };
    if !is_valid_pkce_value(challenge) {
        return Err(PkceError::MalformedChallenge);
    }
    Ok(Some(CodeChallenge {
        method,
        value: challenge.to_owned(),
    }))
}

/// `BASE64URL(SHA256(ASCII(verifier)))`.
#[must_use]
pub fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Whether `verifier` is well-formed and matches `challenge`, compared in constant time.
#[must_use]
pub fn verify(challenge: &CodeChallenge, verifier: &str) -> bool {
    if !is_valid_pkce_value(verifier) {
        return false;
    }
    let derived = match challenge.method {
        CodeChallengeMethod::S256 => s256(verifier),
        CodeChallengeMethod::Plain => verifier.to_owned(),
    };
    derived.as_bytes().ct_eq(challenge.value.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const V1_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn s256_challenge(value: &str) -> CodeChallenge {
        CodeChallenge {
            method: CodeChallengeMethod::S256,
            value: value.to_owned(),
        }
    }

    #[test]
    fn pkce_1_rfc7636_appendix_b_vector() {
        assert_eq!(s256(V1_VERIFIER), V1_CHALLENGE);
        assert!(verify(&s256_challenge(V1_CHALLENGE), V1_VERIFIER));
    }

    #[test]
    fn pkce_1_oauth21_example_pair() {
        assert_eq!(
            s256("3641a2d12d66101249cdf7a79c000c1f8c05d2aafcf14bf146497bed"),
            "6fdkQaPm51l13DSukcAH3Mdx7_ntecHYd1vi3n0hMZY"
        );
    }

    #[test]
    fn pkce_4_missing_method_means_plain_and_is_rejected_on_an_s256_only_server() {
        assert_eq!(
            parse_challenge(Some(V1_CHALLENGE), None, false),
            Err(PkceError::UnsupportedMethod)
        );
        let plain = parse_challenge(Some(V1_CHALLENGE), None, true)
            .unwrap()
            .unwrap();
        assert_eq!(plain.method, CodeChallengeMethod::Plain);
        assert!(verify(&plain, V1_CHALLENGE));
        assert!(!verify(&plain, V1_VERIFIER));
    }

    #[test]
    fn pkce_5_unsupported_method_is_rejected_including_wrong_case() {
        for method in ["S512", "s256", "PLAIN", ""] {
            assert_eq!(
                parse_challenge(Some(V1_CHALLENGE), Some(method), true),
                Err(PkceError::UnsupportedMethod),
                "{method}"
            );
        }
    }

    #[test]
    fn pkce_6_challenge_must_be_43_to_128_unreserved_characters() {
        let ok43 = "a".repeat(43);
        let ok128 = "a".repeat(128);
        assert!(parse_challenge(Some(&ok43), Some("S256"), false).is_ok());
        assert!(parse_challenge(Some(&ok128), Some("S256"), false).is_ok());
        for bad in [
            "a".repeat(42),
            "a".repeat(129),
            format!("{}=", "a".repeat(42)),
            format!("{}+", "a".repeat(42)),
            format!("{}/", "a".repeat(42)),
        ] {
            assert_eq!(
                parse_challenge(Some(&bad), Some("S256"), false),
                Err(PkceError::MalformedChallenge),
                "{bad}"
            );
        }
    }

    #[test]
    fn pkce_7_one_changed_character_fails() {
        let mut wrong = V1_VERIFIER.to_owned();
        wrong.replace_range(0..1, "e");
        assert!(!verify(&s256_challenge(V1_CHALLENGE), &wrong));
    }

    #[test]
    fn pkce_11_verifier_shorter_than_43_chars_is_rejected_even_if_it_hashes_correctly() {
        let short = "a".repeat(42);
        let challenge = s256_challenge(&s256(&short));
        assert!(!verify(&challenge, &short));
        let long = "a".repeat(129);
        assert!(!verify(&s256_challenge(&s256(&long)), &long));
    }

    #[test]
    fn pkce_14_plain_is_off_by_default() {
        assert_eq!(
            parse_challenge(Some(V1_CHALLENGE), Some("plain"), false),
            Err(PkceError::UnsupportedMethod)
        );
    }

    #[test]
    fn pkce_method_without_challenge_is_rejected() {
        assert_eq!(
            parse_challenge(None, Some("S256"), false),
            Err(PkceError::MethodWithoutChallenge)
        );
        assert_eq!(parse_challenge(None, None, false), Ok(None));
    }
}
