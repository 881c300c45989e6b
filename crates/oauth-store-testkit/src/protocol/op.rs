//! The operations of a run, and their fixed-width byte encoding.
//!
//! Every operation is [`Op::WIDTH`] bytes: a tag that chooses the kind (weighted by the
//! width of its tag range, so that the operations that need earlier ones, redemptions
//! and refreshes, stay frequent) and two argument bytes. Every byte string decodes, and a
//! trailing partial operation is padded with zeros. Because the width is fixed, removing
//! an operation's bytes removes exactly that operation: proptest's shrinking of a byte
//! vector and libFuzzer's mutations stay aligned on operations.

/// The clock steps [`Op::Advance`] takes, chosen to land just before, exactly at and just
/// after each lifetime of [`lifetimes`](super::lifetimes) (code 60 s, access token 300 s,
/// public refresh token 600 s, confidential refresh token and grant 1200 s), and at the
/// point after which a refresh's access token is cut at the grant's end (900 s).
pub const ADVANCES: [u64; 16] = [
    1, 5, 10, 30, 59, 60, 61, 150, 299, 300, 301, 599, 600, 899, 1199, 1200,
];

/// Which kind of token an operation picks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// An access token.
    Access,
    /// A refresh token (active or retired).
    Refresh,
}

/// A token chosen among the tokens of its kind issued so far (see [`Op`] for indices).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TokenRef {
    /// Access or refresh token.
    pub kind: Kind,
    /// The choice (see [`Op`]).
    pub index: u8,
}

/// Who sends a request about a credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Caller {
    /// The client the credential was issued to.
    Owner,
    /// Another registered client, chosen among the others (newest first, modulo their
    /// number); an unregistered `client_id` when there is no other client.
    Other(u8),
}

/// How [`Op::Redeem`] presents a code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Redemption {
    /// The code's client, authenticated, with the right verifier and redirect URI.
    Valid,
    /// The right client, with a well-formed verifier that does not match the challenge.
    WrongVerifier,
    /// Another client (authenticated) with the right verifier.
    WrongClient,
}

/// Where [`Op::Replay`] presents a previously seen value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// As `code` of an authorization-code token request (with the code's own verifier
    /// when the value is a code).
    Code,
    /// As `refresh_token` of a refresh-token request.
    RefreshToken,
    /// As a bearer token at the resource server.
    Bearer,
    /// As `token` at the introspection endpoint.
    Introspection,
    /// As `token` at the revocation endpoint.
    Revocation,
    /// As the caller's client secret (HTTP Basic) at the introspection endpoint.
    ClientSecret,
}

const TARGETS: [Target; 6] = [
    Target::Code,
    Target::RefreshToken,
    Target::Bearer,
    Target::Introspection,
    Target::Revocation,
    Target::ClientSecret,
];

/// One step of a protocol run.
///
/// Indices choose among what the run has produced so far, counted from the newest (0)
/// and taken modulo the number of candidates, so every operation is meaningful in every
/// state; an operation without any candidate is skipped (and counted as such). For
/// credentials, an index below 128 chooses among the *usable* candidates (an active
/// code, a live token; all of them if none is usable) and one of 128 and above, minus
/// 128, among all of them, dead ones included: runs go deep and still present dead
/// credentials often. [`Op::Authorize`] and [`Op::Deny`] without any client register
/// one first (public for an even `client`, confidential for an odd one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// Registers a public client (`none` authentication; code and refresh grants).
    RegisterPublic,
    /// Registers a confidential `client_secret_basic` client (code and refresh grants).
    RegisterConfidential,
    /// Starts an authorization with a fresh PKCE S256 challenge and approves it.
    Authorize {
        /// The client, newest first.
        client: u8,
        /// The user (modulo the three users).
        user: u8,
        /// Bit set of the scopes `read`, `write`, `admin` to request; 0 sends no `scope`
        /// (the default, `read`).
        scope: u8,
        /// Whether the request names the resource (`resource=`).
        resource: bool,
        /// Whether the user approves only part of the requested scope (its first token).
        narrow: bool,
        /// Whether the approval attaches props to the grant.
        props: bool,
    },
    /// Starts an authorization and denies it.
    Deny {
        /// The client, newest first.
        client: u8,
    },
    /// Redeems a code at the token endpoint.
    Redeem {
        /// The code.
        code: u8,
        /// How it is presented.
        with: Redemption,
    },
    /// Redeems an already redeemed code again, validly (a replay).
    RedeemAgain {
        /// The code, among the redeemed codes (usable: their record still there).
        code: u8,
    },
    /// Refreshes with the latest refresh token of a grant.
    Refresh {
        /// The grant, among those with a refresh token (usable: a live latest one).
        grant: u8,
    },
    /// Presents a retired (rotated) refresh token again.
    RefreshRetired {
        /// The token, among the retired ones (usable: their record still there).
        token: u8,
    },
    /// Revokes a token at the revocation endpoint.
    Revoke {
        /// The token.
        token: TokenRef,
        /// Who asks.
        by: Caller,
    },
    /// Introspects a token.
    Introspect {
        /// The token.
        token: TokenRef,
        /// Who asks.
        by: Caller,
    },
    /// Lists a user's grants ([`Provider::grants_for_user`]) and revokes each
    /// ([`Provider::revoke_grant`]).
    ///
    /// [`Provider::grants_for_user`]: oauth_core::Provider::grants_for_user
    /// [`Provider::revoke_grant`]: oauth_core::Provider::revoke_grant
    RevokeUserGrants {
        /// The user (modulo the three users).
        user: u8,
    },
    /// Calls the resource server with an access token.
    Authenticate {
        /// The access token.
        token: u8,
    },
    /// Moves the clock forward.
    Advance {
        /// Seconds, one of [`ADVANCES`].
        seconds: u64,
    },
    /// Presents any value seen so far (code, token, client secret, verifier, props
    /// secret) somewhere.
    Replay {
        /// The value, among every value seen, newest first (no usable subset).
        value: u8,
        /// Where.
        at: Target,
        /// Who sends it (the owner of the value when it has one).
        by: Caller,
    },
}

impl Op {
    /// The number of bytes each operation takes.
    pub const WIDTH: usize = 3;

    /// Decodes one operation. Every chunk is an operation.
    #[must_use]
    pub fn decode(chunk: [u8; Op::WIDTH]) -> Op {
        let [tag, a, b] = chunk;
        let caller = |bits: u8| {
            if bits & 1 == 0 {
                Caller::Owner
            } else {
                Caller::Other(bits >> 1)
            }
        };
        let token = |index: u8, bits: u8| TokenRef {
            kind: if bits & 1 == 0 {
                Kind::Access
            } else {
                Kind::Refresh
            },
            index,
        };
        match tag {
            0..=9 => Op::RegisterPublic,
            10..=19 => Op::RegisterConfidential,
            20..=59 => Op::Authorize {
                client: a,
                user: (b & 0b11) % 3,
                scope: (b >> 2) & 0b111,
                resource: b & 0x20 != 0,
                narrow: b & 0x40 != 0,
                props: b & 0x80 != 0,
            },
            60..=65 => Op::Deny { client: a },
            66..=103 => Op::Redeem {
                code: a,
                with: match b % 8 {
                    6 => Redemption::WrongVerifier,
                    7 => Redemption::WrongClient,
                    _ => Redemption::Valid,
                },
            },
            104..=115 => Op::RedeemAgain { code: a },
            116..=143 => Op::Refresh { grant: a },
            144..=155 => Op::RefreshRetired { token: a },
            156..=169 => Op::Revoke {
                token: token(a, b),
                by: caller(b >> 1),
            },
            170..=183 => Op::Introspect {
                token: token(a, b),
                by: caller(b >> 1),
            },
            184..=189 => Op::RevokeUserGrants { user: a % 3 },
            190..=213 => Op::Authenticate { token: a },
            214..=235 => Op::Advance {
                seconds: ADVANCES[usize::from(a) % ADVANCES.len()],
            },
            236..=255 => Op::Replay {
                value: a,
                at: TARGETS[usize::from(b) % TARGETS.len()],
                by: caller(b / 6),
            },
        }
    }

    /// Decodes a byte string into operations, [`Op::WIDTH`] bytes each; a trailing
    /// partial operation is padded with zeros. Deterministic and total: the fuzz target's
    /// decoder.
    #[must_use]
    pub fn decode_all(bytes: &[u8]) -> Vec<Op> {
        bytes
            .chunks(Op::WIDTH)
            .map(|chunk| {
                let mut padded = [0u8; Op::WIDTH];
                padded[..chunk.len()].copy_from_slice(chunk);
                Op::decode(padded)
            })
            .collect()
    }

    /// An encoding of this operation that [`Op::decode`] maps back to it (for operations
    /// with canonical fields: `user < 3`, `scope < 8`, `seconds` in [`ADVANCES`] and
    /// `Caller::Other(n)` with `n < 64`, `n < 21` in a replay). Used to write fuzz seeds.
    #[must_use]
    pub fn encode(&self) -> [u8; Op::WIDTH] {
        let caller = |by: Caller| match by {
            Caller::Owner => 0u8,
            Caller::Other(n) => (n << 1) | 1,
        };
        let kind = |k: Kind| u8::from(k == Kind::Refresh);
        match *self {
            Op::RegisterPublic => [0, 0, 0],
            Op::RegisterConfidential => [10, 0, 0],
            Op::Authorize {
                client,
                user,
                scope,
                resource,
                narrow,
                props,
            } => [
                20,
                client,
                (user % 3)
                    | ((scope & 0b111) << 2)
                    | (u8::from(resource) << 5)
                    | (u8::from(narrow) << 6)
                    | (u8::from(props) << 7),
            ],
            Op::Deny { client } => [60, client, 0],
            Op::Redeem { code, with } => [
                66,
                code,
                match with {
                    Redemption::Valid => 0,
                    Redemption::WrongVerifier => 6,
                    Redemption::WrongClient => 7,
                },
            ],
            Op::RedeemAgain { code } => [104, code, 0],
            Op::Refresh { grant } => [116, grant, 0],
            Op::RefreshRetired { token } => [144, token, 0],
            Op::Revoke { token, by } => [156, token.index, kind(token.kind) | (caller(by) << 1)],
            Op::Introspect { token, by } => {
                [170, token.index, kind(token.kind) | (caller(by) << 1)]
            }
            Op::RevokeUserGrants { user } => [184, user % 3, 0],
            Op::Authenticate { token } => [190, token, 0],
            Op::Advance { seconds } => {
                let index = ADVANCES.iter().position(|s| *s == seconds).unwrap_or(0);
                [214, u8::try_from(index).unwrap_or(0), 0]
            }
            Op::Replay { value, at, by } => {
                let target = TARGETS.iter().position(|t| *t == at).unwrap_or(0);
                let by = match by {
                    Caller::Owner => 0,
                    Caller::Other(n) => (n << 1) | 1,
                };
                let target = u8::try_from(target).unwrap_or(0);
                [236, value, target.wrapping_add(by.wrapping_mul(6))]
            }
        }
    }

    /// The encoding of a whole run (see [`Op::encode`]).
    #[must_use]
    pub fn encode_all(ops: &[Op]) -> Vec<u8> {
        ops.iter().flat_map(Op::encode).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_chunk_round_trips_through_its_encoding() {
        for tag in 0..=255u8 {
            for a in [0u8, 1, 7, 200, 255] {
                for b in 0..=255u8 {
                    let op = Op::decode([tag, a, b]);
                    assert_eq!(Op::decode(op.encode()), op, "{:?}", [tag, a, b]);
                }
            }
        }
    }

    #[test]
    fn a_partial_trailing_operation_is_padded() {
        assert_eq!(Op::decode_all(&[]), Vec::<Op>::new());
        assert_eq!(Op::decode_all(&[10]), vec![Op::RegisterConfidential]);
        assert_eq!(Op::decode_all(&[0, 0, 0, 10, 0]).len(), 2);
    }
}
