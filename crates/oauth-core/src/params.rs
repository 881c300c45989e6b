//! Strict `application/x-www-form-urlencoded` parameters (OAuth 2.1 Appendix B).
//!
//! Decoding turns `+` into a space, then percent-decodes, then decodes UTF-8 strictly:
//! a malformed `%` escape or invalid UTF-8 is an error, never a lossy replacement.
//! Parameters are kept in order with repeats, so the caller decides per parameter:
//! a spec-defined parameter read with [`Params::single`] that appears twice is
//! `invalid_request` (OAuth 2.1 §3.1, §3.2), while [`Params::all`] serves the ones that may
//! repeat (RFC 8707 `resource`). Unknown parameters are simply never read, hence ignored.
//! An empty value is treated as absent (OAuth 2.1 §3.1).

use crate::error::Reason;

/// The most parameters one request may carry; more is `invalid_request`.
pub const MAX_PARAMETERS: usize = 64;

/// Decoded parameters of one request. `Debug` shows the names only: values include
/// secrets, codes, verifiers and tokens.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl std::fmt::Debug for Params {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Params")
            .field(
                "names",
                &self
                    .pairs
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl Params {
    /// Parses a form-urlencoded body or query string.
    pub fn parse(input: &[u8]) -> Result<Params, Reason> {
        let mut pairs = Vec::new();
        for part in input.split(|b| *b == b'&') {
            if part.is_empty() {
                continue;
            }
            if pairs.len() == MAX_PARAMETERS {
                return Err(Reason::TooManyParameters);
            }
            let (name, value) = match part.iter().position(|b| *b == b'=') {
                Some(i) => (
                    part.get(..i).unwrap_or_default(),
                    part.get(i + 1..).unwrap_or_default(),
                ),
                None => (part, &[][..]),
            };
            pairs.push((decode(name)?, decode(value)?));
        }
        Ok(Params { pairs })
    }

    /// The value of a parameter that may appear at most once.
    ///
    /// `Ok(None)` if absent or empty; `Err(DuplicateParameter)` if it appears more than
    /// once (counting empty occurrences, which are still occurrences on the wire).
    pub fn single(&self, name: &str) -> Result<Option<&str>, Reason> {
        let mut found = None;
        let mut count = 0usize;
        for (n, v) in &self.pairs {
            if n == name {
                count += 1;
                found = Some(v.as_str());
            }
        }
        match count {
            0 => Ok(None),
            1 => Ok(found.filter(|v| !v.is_empty())),
            _ => Err(Reason::DuplicateParameter),
        }
    }

    /// Every non-empty value of a parameter that may repeat.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// Whether the parameter appears at all (even empty).
    #[must_use]
    pub fn contains(&self, name: &str) -> bool {
        self.pairs.iter().any(|(n, _)| n == name)
    }
}

/// Whether the request body is declared `application/x-www-form-urlencoded` (media-type
/// parameters such as `charset` allowed, case-insensitive).
pub(crate) fn is_form_content_type(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// Decodes one form-urlencoded component strictly.
pub fn decode(raw: &[u8]) -> Result<String, Reason> {
    let mut bytes = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        match b {
            b'+' => bytes.push(b' '),
            b'%' => {
                let hi = raw.get(i + 1).and_then(|h| hex_value(*h));
                let lo = raw.get(i + 2).and_then(|l| hex_value(*l));
                match (hi, lo) {
                    (Some(hi), Some(lo)) => bytes.push(hi << 4 | lo),
                    _ => return Err(Reason::MalformedEncoding),
                }
                i += 2;
            }
            other => bytes.push(other),
        }
        i += 1;
    }
    String::from_utf8(bytes).map_err(|_| Reason::MalformedEncoding)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Appends `name=value` pairs to a form-urlencoded string (used to build redirect queries).
pub(crate) fn append_pairs(query: &mut String, pairs: &[(&str, &str)]) {
    let mut serializer = url::form_urlencoded::Serializer::for_suffix(std::mem::take(query), 0);
    serializer.extend_pairs(pairs);
    *query = serializer.finish();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_debug_shows_names_not_values() {
        let p = Params::parse(b"client_secret=hunter2&code=oa2c_x").unwrap();
        let shown = format!("{p:?}");
        assert!(shown.contains("client_secret") && shown.contains("code"));
        assert!(!shown.contains("hunter2") && !shown.contains("oa2c_x"));
    }

    #[test]
    fn o21_7_form_decoding_vector_v3() {
        let p = Params::parse(b"client_secret=+%25%26%2B%C2%A3%E2%82%AC").unwrap();
        assert_eq!(p.single("client_secret").unwrap(), Some(" %&+£€"));
    }

    #[test]
    fn o21_4_repeated_parameter_is_invalid_request() {
        let p = Params::parse(b"scope=a&scope=b").unwrap();
        assert_eq!(p.single("scope"), Err(Reason::DuplicateParameter));
        let p = Params::parse(b"scope=a&scope=").unwrap();
        assert_eq!(p.single("scope"), Err(Reason::DuplicateParameter));
    }

    #[test]
    fn o21_3_empty_parameter_is_absent() {
        let p = Params::parse(b"state=&scope").unwrap();
        assert_eq!(p.single("state").unwrap(), None);
        assert_eq!(p.single("scope").unwrap(), None);
    }

    #[test]
    fn o21_2_unknown_parameters_are_ignored_even_when_repeated() {
        let p = Params::parse(b"foo=1&foo=2&grant_type=x").unwrap();
        assert_eq!(p.single("grant_type").unwrap(), Some("x"));
    }

    #[test]
    fn ri_2_resource_may_repeat() {
        let p = Params::parse(b"resource=https%3A%2F%2Fa&resource=https%3A%2F%2Fb").unwrap();
        assert_eq!(
            p.all("resource").collect::<Vec<_>>(),
            ["https://a", "https://b"]
        );
    }

    #[test]
    fn malformed_percent_escapes_are_rejected() {
        for bad in [&b"a=%"[..], b"a=%4", b"a=%zz", b"a=%%41", b"%g0=1"] {
            assert_eq!(
                Params::parse(bad),
                Err(Reason::MalformedEncoding),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn invalid_utf8_is_rejected_not_replaced() {
        assert_eq!(Params::parse(b"a=%FF"), Err(Reason::MalformedEncoding));
        assert_eq!(Params::parse(b"a=\xC3"), Err(Reason::MalformedEncoding));
        assert_eq!(Params::parse(b"a=%C3%28"), Err(Reason::MalformedEncoding));
    }

    #[test]
    fn too_many_parameters_are_rejected() {
        let body: Vec<u8> = (0..=MAX_PARAMETERS)
            .map(|i| format!("p{i}=1"))
            .collect::<Vec<_>>()
            .join("&")
            .into_bytes();
        assert_eq!(Params::parse(&body), Err(Reason::TooManyParameters));
    }

    #[test]
    fn append_pairs_encodes_values() {
        let mut s = String::from("tenant=1");
        append_pairs(&mut s, &[("state", "a b&c"), ("iss", "https://as.example")]);
        assert_eq!(s, "tenant=1&state=a+b%26c&iss=https%3A%2F%2Fas.example");
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(input in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = Params::parse(&input);
        }

        #[test]
        fn encode_then_decode_round_trips(value in "\\PC{0,40}") {
            let mut encoded = String::new();
            append_pairs(&mut encoded, &[("v", value.as_str())]);
            let p = Params::parse(encoded.as_bytes()).unwrap();
            let expected = if value.is_empty() { None } else { Some(value.as_str()) };
            proptest::prop_assert_eq!(p.single("v").unwrap(), expected);
        }
    }
}
