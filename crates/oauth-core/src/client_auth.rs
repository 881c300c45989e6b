//! Client authentication at the token endpoint (OAuth 2.1 §2.4, §3.2.1).
//!
//! Supported methods: `client_secret_basic` (both parts form-urlencoded before base64,
//! and form-decoded here before comparison, OAuth 2.1 §2.4.1), `client_secret_post`, and
//! `none` for public clients. A request using more than one method is `invalid_request`
//! (§2.4). The registered method is enforced exactly, and the secret is checked against
//! its keyed hash in constant time.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use http::header::AUTHORIZATION;
use http::HeaderMap;

use crate::crypto::{Keyring, TokenHash};
use crate::error::Reason;
use crate::model::{AuthMethod, Client, ClientId, ClientType};
use crate::params::{decode, Params};
use crate::secret::Secret;
use crate::time::UnixTime;

/// How the client presented itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Presented {
    /// HTTP Basic credentials.
    Basic(Secret),
    /// `client_secret` in the body.
    Post(Secret),
    /// Only `client_id` in the body.
    IdOnly,
}

/// A client's identification, as found in the request, before it is checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresentedClient {
    /// The claimed client id.
    pub id: ClientId,
    /// How it claims to authenticate.
    pub credentials: Presented,
}

impl PresentedClient {
    /// Whether the client used the `Authorization` header, so that a failure is a 401
    /// with a `WWW-Authenticate: Basic` challenge (OAuth 2.1 §3.2.4).
    #[must_use]
    pub fn used_authorization_header(&self) -> bool {
        matches!(self.credentials, Presented::Basic(_))
    }
}

/// Parses `Authorization: Basic ...` into form-decoded id and secret.
pub fn parse_basic(value: &[u8]) -> Result<(String, String), Reason> {
    let value = std::str::from_utf8(value).map_err(|_| Reason::MalformedBasicCredentials)?;
    let (scheme, rest) = value
        .split_once(' ')
        .ok_or(Reason::MalformedBasicCredentials)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(Reason::MalformedBasicCredentials);
    }
    let decoded = STANDARD
        .decode(rest.trim_start_matches(' '))
        .map_err(|_| Reason::MalformedBasicCredentials)?;
    // The separator is the first colon: a colon inside the id is percent-encoded.
    let colon = decoded
        .iter()
        .position(|b| *b == b':')
        .ok_or(Reason::MalformedBasicCredentials)?;
    let (id, secret) = decoded.split_at(colon);
    let secret = secret.get(1..).unwrap_or_default();
    let id = decode(id).map_err(|_| Reason::MalformedBasicCredentials)?;
    let secret = decode(secret).map_err(|_| Reason::MalformedBasicCredentials)?;
    if id.is_empty() {
        return Err(Reason::MalformedBasicCredentials);
    }
    Ok((id, secret))
}

/// Finds the client's identification in a token-endpoint request.
///
/// `Ok(None)` means no client identified itself at all (the grant decides whether that is
/// acceptable; for the token endpoint it never is).
pub fn presented_client(
    headers: &HeaderMap,
    body: &Params,
) -> Result<Option<PresentedClient>, Reason> {
    let mut auth_headers = headers.get_all(AUTHORIZATION).iter();
    let auth = auth_headers.next();
    if auth_headers.next().is_some() {
        return Err(Reason::DuplicateAuthorizationHeader);
    }
    let body_id = body.single("client_id")?;
    let body_secret = body.single("client_secret")?;
    if body.contains("client_assertion") || body.contains("client_assertion_type") {
        // JWT client authentication is not implemented: refuse rather than ignore a
        // credential (OAuth 2.1 §3.2.1: any credentials sent must be verified).
        return Err(if auth.is_some() || body_secret.is_some() {
            Reason::MultipleAuthMethods
        } else {
            Reason::AuthMethodMismatch
        });
    }
    match auth {
        Some(value) => {
            if body_secret.is_some() {
                return Err(Reason::MultipleAuthMethods);
            }
            let (id, secret) = parse_basic(value.as_bytes())?;
            if body_id.is_some_and(|b| b != id) {
                return Err(Reason::MultipleAuthMethods);
            }
            Ok(Some(PresentedClient {
                id: ClientId::new(id),
                credentials: Presented::Basic(Secret::new(secret)),
            }))
        }
        None => match (body_id, body_secret) {
            (Some(id), Some(secret)) => Ok(Some(PresentedClient {
                id: ClientId::new(id),
                credentials: Presented::Post(Secret::new(secret)),
            })),
            (Some(id), None) => Ok(Some(PresentedClient {
                id: ClientId::new(id),
                credentials: Presented::IdOnly,
            })),
            (None, Some(_)) => Err(Reason::MissingClientId),
            (None, None) => Ok(None),
        },
    }
}

/// Checks a presented identification against the registered client.
pub fn authenticate(
    client: &Client,
    presented: &PresentedClient,
    keyring: &Keyring,
    now: UnixTime,
) -> Result<(), Reason> {
    let secret = match (&presented.credentials, client.auth_method) {
        (Presented::IdOnly, AuthMethod::None) => return Ok(()),
        (Presented::Basic(_) | Presented::Post(_), AuthMethod::None) => {
            return Err(Reason::PublicClientSentSecret)
        }
        (Presented::IdOnly, _) => return Err(Reason::ClientCredentialsMissing),
        (Presented::Basic(secret), AuthMethod::ClientSecretBasic)
        | (Presented::Post(secret), AuthMethod::ClientSecretPost) => secret,
        (Presented::Basic(_) | Presented::Post(_), _) => return Err(Reason::AuthMethodMismatch),
    };
    debug_assert_eq!(client.client_type(), ClientType::Confidential);
    let Some(digest) = &client.secret else {
        return Err(Reason::ClientSecretMismatch);
    };
    if client
        .secret_expires_at
        .is_some_and(|t| t.is_expired_at(now))
    {
        return Err(Reason::ClientSecretExpired);
    }
    let Some(key) = keyring.by_id(&digest.key_id) else {
        return Err(Reason::ClientSecretMismatch);
    };
    let presented_digest = TokenHash::compute(key, secret.expose());
    if presented_digest.ct_eq(&digest.hash) {
        Ok(())
    } else {
        Err(Reason::ClientSecretMismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(auth: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for a in auth {
            h.append(AUTHORIZATION, HeaderValue::from_str(a).unwrap());
        }
        h
    }

    #[test]
    fn o21_16_basic_vectors_v2() {
        assert_eq!(
            parse_basic(b"Basic czZCaGRSa3F0Mzo3RmpmcDBaQnIxS3REUmJuZlZkbUl3").unwrap(),
            ("s6BhdRkqt3".to_owned(), "7Fjfp0ZBr1KtDRbnfVdmIw".to_owned())
        );
        assert_eq!(
            parse_basic(b"Basic czZCaGRSa3F0MzpnWDFmQmF0M2JW").unwrap(),
            ("s6BhdRkqt3".to_owned(), "gX1fBat3bV".to_owned())
        );
    }

    #[test]
    fn o21_16_basic_parts_are_form_decoded() {
        let encoded = STANDARD.encode("my%3Aclient:a%2Bb%3Ac%25");
        let (id, secret) = parse_basic(format!("Basic {encoded}").as_bytes()).unwrap();
        assert_eq!(id, "my:client");
        assert_eq!(secret, "a+b:c%");
        let plus = STANDARD.encode("id:a+b");
        assert_eq!(
            parse_basic(format!("Basic {plus}").as_bytes()).unwrap().1,
            "a b"
        );
    }

    #[test]
    fn basic_scheme_is_case_insensitive_and_malformed_values_are_refused() {
        let v = STANDARD.encode("id:s");
        assert!(parse_basic(format!("bAsIc {v}").as_bytes()).is_ok());
        for bad in [
            "Basic",
            "Basic !!!",
            "Bearer abc",
            &format!("Basic {}", STANDARD.encode("nocolon")),
        ] {
            assert_eq!(
                parse_basic(bad.as_bytes()),
                Err(Reason::MalformedBasicCredentials),
                "{bad}"
            );
        }
        let bad_utf8 = STANDARD.encode(b"id:%FF");
        assert_eq!(
            parse_basic(format!("Basic {bad_utf8}").as_bytes()),
            Err(Reason::MalformedBasicCredentials)
        );
    }

    #[test]
    fn o21_17_basic_plus_body_secret_is_invalid_request() {
        let v = STANDARD.encode("id:s");
        let body = Params::parse(b"client_secret=s").unwrap();
        assert_eq!(
            presented_client(&headers(&[&format!("Basic {v}")]), &body),
            Err(Reason::MultipleAuthMethods)
        );
        assert_eq!(
            Reason::MultipleAuthMethods.code(),
            crate::ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn o21_17_basic_plus_client_assertion_is_invalid_request() {
        let v = STANDARD.encode("id:s");
        let body = Params::parse(b"client_assertion=x&client_assertion_type=y").unwrap();
        assert_eq!(
            presented_client(&headers(&[&format!("Basic {v}")]), &body),
            Err(Reason::MultipleAuthMethods)
        );
    }

    #[test]
    fn two_authorization_headers_are_refused() {
        let v = format!("Basic {}", STANDARD.encode("id:s"));
        assert_eq!(
            presented_client(&headers(&[&v, &v]), &Params::default()),
            Err(Reason::DuplicateAuthorizationHeader)
        );
    }

    #[test]
    fn body_client_id_must_agree_with_basic() {
        let v = format!("Basic {}", STANDARD.encode("id:s"));
        let same = Params::parse(b"client_id=id").unwrap();
        assert!(presented_client(&headers(&[&v]), &same).unwrap().is_some());
        let other = Params::parse(b"client_id=other").unwrap();
        assert!(presented_client(&headers(&[&v]), &other).is_err());
    }
}
