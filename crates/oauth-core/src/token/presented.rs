//! A token presented for revocation (RFC 7009 §2.1) or introspection (RFC 7662 §2.1):
//! the required `token` parameter, its optional `token_type_hint`, and the search for it.
//!
//! Every credential this server issues carries its kind in its prefix, so the kinds a
//! presented value could be are known before any lookup, and a value of neither shape is
//! unknown without a store call. The hint only orders the lookups: a token not found
//! under the hinted type is searched under the other (RFC 7009 §2.1), and a hint value
//! other than `access_token` or `refresh_token` is ignored (the server MAY ignore it).
//! Each kind is tried under every key of the ring, primary first, as every lookup is
//! (see `Machine::lookup_hash`). The value is held as a [`Secret`]: never logged.

use crate::crypto::{parse_token, TokenHash, TokenKind};
use crate::error::Reason;
use crate::machine::Machine;
use crate::params::Params;
use crate::secret::Secret;

/// The next lookup of a search: the presented value's keyed hash as a credential of one
/// kind.
pub(crate) enum Probe {
    /// Look it up as an access token.
    Access(TokenHash),
    /// Look it up as a refresh token.
    Refresh(TokenHash),
}

/// The presented token and how far the search for it has come.
pub(crate) struct PresentedToken {
    token: Secret,
    kinds: Vec<TokenKind>,
    kind_index: usize,
    key_index: usize,
}

/// The order in which to try the kinds: the hinted kind first.
fn search_order(hint: Option<&str>) -> [TokenKind; 2] {
    match hint {
        Some("refresh_token") => [TokenKind::RefreshToken, TokenKind::AccessToken],
        // `access_token`, no hint, or an unknown hint (ignored, RFC 7009 §2.1).
        _ => [TokenKind::AccessToken, TokenKind::RefreshToken],
    }
}

/// The kinds `token` may be, in the order to try them: only kinds whose shape the value
/// has.
fn candidate_kinds(token: &str, hint: Option<&str>) -> Vec<TokenKind> {
    search_order(hint)
        .into_iter()
        .filter(|kind| parse_token(*kind, token).is_some())
        .collect()
}

impl PresentedToken {
    /// Reads `token` (required: `invalid_request` when missing or repeated) and
    /// `token_type_hint` (optional; repeated is `invalid_request`).
    pub(crate) fn from_params(params: &Params) -> Result<PresentedToken, Reason> {
        let token = params.single("token")?.ok_or(Reason::MissingParameter)?;
        let hint = params.single("token_type_hint")?;
        Ok(PresentedToken {
            kinds: candidate_kinds(token, hint),
            token: Secret::new(token),
            kind_index: 0,
            key_index: 0,
        })
    }

    /// The next lookup, or `None` when every kind has been tried under every key (the
    /// token is unknown).
    pub(crate) fn next_probe(&mut self, machine: &Machine) -> Option<Probe> {
        loop {
            let kind = *self.kinds.get(self.kind_index)?;
            match machine.lookup_hash(self.token.expose(), self.key_index) {
                Some(hash) => {
                    self.key_index += 1;
                    return match kind {
                        TokenKind::RefreshToken => Some(Probe::Refresh(hash)),
                        _ => Some(Probe::Access(hash)),
                    };
                }
                None => {
                    self.kind_index += 1;
                    self.key_index = 0;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::generate_token;
    use crate::random::OsRandom;

    #[test]
    fn rev_7_only_kinds_of_the_right_shape_are_candidates_whatever_the_hint() {
        let access = generate_token(TokenKind::AccessToken, &OsRandom).unwrap();
        let refresh = generate_token(TokenKind::RefreshToken, &OsRandom).unwrap();
        for hint in [
            None,
            Some("access_token"),
            Some("refresh_token"),
            Some("foo"),
        ] {
            assert_eq!(
                candidate_kinds(access.expose(), hint),
                vec![TokenKind::AccessToken]
            );
            assert_eq!(
                candidate_kinds(refresh.expose(), hint),
                vec![TokenKind::RefreshToken]
            );
            assert!(candidate_kinds("not-a-token", hint).is_empty());
        }
    }

    #[test]
    fn rev_7_the_hint_orders_the_search_and_an_unknown_hint_is_ignored() {
        // Today no value has the shape of both kinds (prefixes differ), so the order is
        // checked on its own: it matters once a kind without a prefix exists.
        assert_eq!(
            search_order(Some("refresh_token")),
            [TokenKind::RefreshToken, TokenKind::AccessToken]
        );
        assert_eq!(
            search_order(Some("access_token")),
            [TokenKind::AccessToken, TokenKind::RefreshToken]
        );
        assert_eq!(search_order(Some("foo")), search_order(None));
    }

    #[test]
    fn rev_1_token_is_required_and_parameters_appear_once() {
        let missing = Params::parse(b"token_type_hint=access_token").unwrap();
        assert!(matches!(
            PresentedToken::from_params(&missing),
            Err(Reason::MissingParameter)
        ));
        let twice = Params::parse(b"token=a&token=b").unwrap();
        assert!(matches!(
            PresentedToken::from_params(&twice),
            Err(Reason::DuplicateParameter)
        ));
        let hint_twice =
            Params::parse(b"token=a&token_type_hint=access_token&token_type_hint=x").unwrap();
        assert!(matches!(
            PresentedToken::from_params(&hint_twice),
            Err(Reason::DuplicateParameter)
        ));
    }
}
