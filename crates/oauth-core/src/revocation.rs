//! Token revocation (RFC 7009): a client asks the server to invalidate one of its own
//! access or refresh tokens.
//!
//! The request is parsed and the client authenticated exactly as at the token endpoint
//! ([`ClientLookup`], RFC 7009 §2.1). Then the presented token is searched as each kind it
//! may be (its prefix says which; `token_type_hint` only orders the search, and an unknown
//! hint is ignored) under every key of the ring.
//!
//! - **Refresh token**: its whole grant is revoked, with every access token issued under
//!   it (RFC 7009 §2.1 SHOULD). A *retired* refresh token (rotated already) presented by
//!   its own client revokes the grant too, as its reuse at the token endpoint would
//!   (OAuth 2.1 §4.3.1): the client is ending that authorization, and a successor it may
//!   never have received must not outlive it.
//! - **Access token**: that token only (revoking the grant is a MAY that would surprise a
//!   client merely discarding a token).
//! - **Another client's token** (checklist conflict C-7): answered 200 *without*
//!   revoking anything. RFC 7009 §2.1 says to refuse with an error, but an error would
//!   tell the caller that the value is a live token of some other client; 200 keeps the
//!   endpoint from being an oracle, and the token stays valid either way.
//! - **Unknown, malformed, expired or already revoked**: 200 (RFC 7009 §2.2): the purpose
//!   of the request is achieved.
//! - **Public clients** may revoke their own tokens: they authenticate with `client_id`
//!   alone, as at the token endpoint (RFC 7009 §2.1 requires authentication only of
//!   confidential clients). Whoever holds a public client's token can use it anyway;
//!   being able to revoke it gives nothing more.
//! - **A store failure** is 503 `temporarily_unavailable`, never 200: the client must not
//!   believe a token dead that still works.
//!
//! Success is 200 with an empty body and `Cache-Control: no-store`. Both kinds are
//! revocable, so `unsupported_token_type` is never answered. Token values are never
//! logged; a completed revocation is reported as [`SecurityEvent::TokenRevoked`].

use bytes::Bytes;
use http::Request;

use crate::client_metadata_document::FetchError;

use crate::crypto::{TokenHash, TokenKind};
use crate::error::StoreError;
use crate::events::SecurityEvent;
use crate::machine::Machine;
use crate::model::{AccessTokenWithGrant, Client, ClientId, GrantId};
use crate::response::{empty_no_store, HttpResponse};
use crate::store::RefreshLookup;
use crate::time::UnixTime;
use crate::token::endpoint::{
    refused, store_failure, Authenticated, ClientAnswer, ClientLookup, ClientMetadataLookup,
    ClientQuestion,
};
use crate::token::presented::{PresentedToken, Probe};

/// What the revocation endpoint needs next.
#[must_use = "a step must be answered or its response sent"]
#[non_exhaustive]
pub enum RevocationStep<'m> {
    /// Look up the client: [`Store::client`](crate::Store::client).
    NeedsClient(ClientLookup<'m, RevocationRequest>),
    /// Fetch the client's metadata document (its `client_id` is an https URL):
    /// [`ClientMetadataFetcher::fetch`](crate::ClientMetadataFetcher::fetch).
    NeedsClientMetadata(ClientMetadataLookup<'m, RevocationRequest>),
    /// Look the token up as an access token:
    /// [`Store::access_token`](crate::Store::access_token).
    NeedsAccessToken(RevocationAccessLookup<'m>),
    /// Look the token up as a refresh token:
    /// [`Store::find_refresh`](crate::Store::find_refresh).
    NeedsRefresh(RevocationRefreshLookup<'m>),
    /// Delete the access token:
    /// [`Store::revoke_access_token`](crate::Store::revoke_access_token).
    NeedsAccessTokenRevocation(AccessTokenRevocation<'m>),
    /// Revoke the refresh token's grant:
    /// [`Store::revoke_grant`](crate::Store::revoke_grant).
    NeedsGrantRevocation(RefreshGrantRevocation<'m>),
    /// Send this response; the request is complete.
    Respond(HttpResponse),
}

/// A revocation request's own part, held while its client is authenticated: the
/// presented token (never shown).
pub struct RevocationRequest {
    token: PresentedToken,
}

impl std::fmt::Debug for RevocationRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RevocationRequest(<redacted>)")
    }
}

/// An authenticated revocation request and its search.
struct Revocation<'m> {
    request: Authenticated<'m>,
    token: PresentedToken,
}

impl<'m> Revocation<'m> {
    /// Looks the token up as the next kind or under the next key; 200 once every lookup
    /// missed (an unknown token, RFC 7009 §2.2).
    fn search(mut self) -> RevocationStep<'m> {
        match self.token.next_probe(self.request.machine) {
            Some(Probe::Access(hash)) => RevocationStep::NeedsAccessToken(RevocationAccessLookup {
                revocation: self,
                hash,
            }),
            Some(Probe::Refresh(hash)) => RevocationStep::NeedsRefresh(RevocationRefreshLookup {
                revocation: self,
                hash,
            }),
            None => done(),
        }
    }

    /// Continues with `revoke` for a token found in the store, issued to `owner`, if it
    /// is live and the caller's own. Otherwise 200 and nothing: an expired token is dead
    /// already, and another client's token is left alone with the same 200 as an
    /// unknown one (C-7).
    fn if_own(
        self,
        owner: &ClientId,
        live: bool,
        revoke: impl FnOnce(Self) -> RevocationStep<'m>,
    ) -> RevocationStep<'m> {
        if !live {
            return done();
        }
        if *owner != self.request.client.id {
            tracing::info!(
                client_id = %self.request.client.id,
                "revocation of a token issued to another client ignored"
            );
            return done();
        }
        revoke(self)
    }

    /// The store revoked the token (or its grant): reported for the audit trail, 200.
    fn revoked(&self, grant_id: &GrantId, kind: TokenKind) -> RevocationStep<'m> {
        self.request.machine.event(SecurityEvent::TokenRevoked {
            client_id: &self.request.client.id,
            grant_id,
            kind,
        });
        done()
    }

    fn store_failed(&self, error: &StoreError) -> RevocationStep<'m> {
        RevocationStep::Respond(store_failure(
            self.request.machine,
            error,
            self.request.used_authorization_header,
        ))
    }
}

/// 200 with an empty body (RFC 7009 §2.2).
fn done<'m>() -> RevocationStep<'m> {
    RevocationStep::Respond(empty_no_store(http::StatusCode::OK))
}

impl<'m> ClientLookup<'m, RevocationRequest> {
    /// Continues with the store's answer: authenticates the client, then searches the
    /// token.
    pub fn resume(self, answer: Result<Option<Client>, StoreError>) -> RevocationStep<'m> {
        self.proceed(answer)
    }

    fn proceed(self, answer: impl Into<ClientAnswer>) -> RevocationStep<'m> {
        match self.authenticate(answer) {
            Err(refusal) => RevocationStep::Respond(refusal.into_response()),
            Ok((request, RevocationRequest { token })) => Revocation { request, token }.search(),
        }
    }
}

impl<'m> ClientMetadataLookup<'m, RevocationRequest> {
    /// Continues with the fetcher's answer: validates the document into the client, then
    /// goes on as [`ClientLookup::resume`] does.
    pub fn resume(self, fetched: Result<Bytes, FetchError>) -> RevocationStep<'m> {
        let (lookup, answer) = self.answer(fetched);
        lookup.proceed(answer)
    }
}

/// Asks for the presented token as an access token, by its keyed hash.
pub struct RevocationAccessLookup<'m> {
    revocation: Revocation<'m>,
    hash: TokenHash,
}

impl<'m> RevocationAccessLookup<'m> {
    /// The token's keyed hash.
    #[must_use]
    pub fn hash(&self) -> &TokenHash {
        &self.hash
    }

    /// The time of the request.
    #[must_use]
    pub fn now(&self) -> UnixTime {
        self.revocation.request.now
    }

    /// Continues with the store's answer.
    pub fn resume(
        self,
        answer: Result<Option<AccessTokenWithGrant>, StoreError>,
    ) -> RevocationStep<'m> {
        let RevocationAccessLookup { revocation, hash } = self;
        match answer {
            Err(e) => revocation.store_failed(&e),
            Ok(None) => revocation.search(),
            // The presented token: the search ends here whatever the answer. (A store
            // never returns an expired token; the machine does not rely on it.)
            Ok(Some(found)) => {
                let token = found.token;
                let live = !token.expires_at.is_expired_at(revocation.request.now);
                revocation.if_own(&token.client_id, live, |revocation| {
                    RevocationStep::NeedsAccessTokenRevocation(AccessTokenRevocation {
                        revocation,
                        hash,
                        grant_id: token.grant_id,
                    })
                })
            }
        }
    }
}

/// Asks for the presented token as a refresh token, by its keyed hash.
pub struct RevocationRefreshLookup<'m> {
    revocation: Revocation<'m>,
    hash: TokenHash,
}

impl<'m> RevocationRefreshLookup<'m> {
    /// The token's keyed hash.
    #[must_use]
    pub fn hash(&self) -> &TokenHash {
        &self.hash
    }

    /// The time of the request.
    #[must_use]
    pub fn now(&self) -> UnixTime {
        self.revocation.request.now
    }

    /// Continues with the store's answer.
    pub fn resume(self, answer: Result<RefreshLookup, StoreError>) -> RevocationStep<'m> {
        let revocation = self.revocation;
        let (grant_id, owner, live) = match answer {
            Err(e) => return revocation.store_failed(&e),
            Ok(RefreshLookup::NotFound) => return revocation.search(),
            Ok(RefreshLookup::Active(record)) => {
                let live = !record.expires_at.is_expired_at(revocation.request.now);
                (record.grant_id, record.client_id, live)
            }
            // Retired by a rotation: its own client ending the authorization revokes the
            // grant, as a reuse would (see the module documentation).
            Ok(RefreshLookup::Retired {
                grant_id,
                client_id,
                ..
            }) => (grant_id, client_id, true),
        };
        revocation.if_own(&owner, live, |revocation| {
            RevocationStep::NeedsGrantRevocation(RefreshGrantRevocation {
                revocation,
                grant_id,
            })
        })
    }
}

/// Asks to delete one access token of the caller.
pub struct AccessTokenRevocation<'m> {
    revocation: Revocation<'m>,
    hash: TokenHash,
    grant_id: GrantId,
}

impl<'m> AccessTokenRevocation<'m> {
    /// The access token's keyed hash.
    #[must_use]
    pub fn hash(&self) -> &TokenHash {
        &self.hash
    }

    /// Continues with the store's answer: 200, or 503 if the token may still be live.
    pub fn resume(self, answer: Result<(), StoreError>) -> RevocationStep<'m> {
        match answer {
            Err(e) => self.revocation.store_failed(&e),
            Ok(()) => self
                .revocation
                .revoked(&self.grant_id, TokenKind::AccessToken),
        }
    }
}

/// Asks to revoke the grant of one refresh token of the caller, with every code and
/// token issued under it.
pub struct RefreshGrantRevocation<'m> {
    revocation: Revocation<'m>,
    grant_id: GrantId,
}

impl<'m> RefreshGrantRevocation<'m> {
    /// The grant to revoke.
    #[must_use]
    pub fn grant_id(&self) -> &GrantId {
        &self.grant_id
    }

    /// Continues with the store's answer: 200, or 503 if the grant may still be live.
    pub fn resume(self, answer: Result<(), StoreError>) -> RevocationStep<'m> {
        match answer {
            Err(e) => self.revocation.store_failed(&e),
            Ok(()) => self
                .revocation
                .revoked(&self.grant_id, TokenKind::RefreshToken),
        }
    }
}

impl Machine {
    /// Starts handling a revocation request (RFC 7009 §2.1).
    pub fn revocation_request<B: AsRef<[u8]>>(
        &self,
        request: &Request<B>,
        now: UnixTime,
    ) -> RevocationStep<'_> {
        let parsed = self.client_request(request, now, |params| {
            PresentedToken::from_params(params).map(|token| RevocationRequest { token })
        });
        match parsed {
            Ok(lookup) => match lookup.route() {
                ClientQuestion::Store(lookup) => RevocationStep::NeedsClient(lookup),
                ClientQuestion::Document(lookup) => RevocationStep::NeedsClientMetadata(lookup),
                ClientQuestion::Refused(response) => RevocationStep::Respond(response),
            },
            Err(reason) => RevocationStep::Respond(refused(self, request, reason)),
        }
    }
}
