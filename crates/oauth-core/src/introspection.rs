//! Token introspection (RFC 7662): an authenticated client asks whether a token is
//! active, and what it carries.
//!
//! The request is parsed and the client authenticated exactly as at the token endpoint
//! ([`ClientLookup`]). Then:
//!
//! - **Only confidential clients may introspect** (RFC 7662 §2.1 requires authorization
//!   of the caller, against token scanning). A public client proves nothing by sending its
//!   `client_id`, so it is refused as unauthenticated: `invalid_client`, reported to the
//!   event sink like any failed authentication. It is 400, not 401, for the reason every
//!   `invalid_client` without the `Authorization` header is (OAuth 2.1 §3.2.4, RFC 6749
//!   §5.2, to which RFC 7662 §2.3 defers): a 401 must carry a challenge, and there is no
//!   scheme to challenge a body credential with. A public client cannot use Basic.
//!   A `client_id` that is a Client Identifier URL (with client ID metadata documents
//!   on) names a public client whatever its document says, so it is refused the same way
//!   *before* its document is fetched: introspection never causes an outbound request.
//! - **Who may see a token.** A client may introspect the tokens issued to it, and a
//!   resource server may introspect every access token whose audience contains a resource
//!   it is declared for ([`ConfigBuilder::introspection_resource`]). Refresh tokens are
//!   never shown to resource servers (they are never sent to one): only to their client.
//! - **`{"active":false}` and nothing else** (RFC 7662 §2.2) for anything not valid *for
//!   this caller*: unknown, malformed, expired, revoked, rotated, or a token the caller
//!   may not see. The caller cannot tell these apart.
//! - **Active access tokens**: `active`, `scope`, `client_id`, `sub` (the user; omitted
//!   for a client-credentials token, whose subject is the client itself, so that a
//!   resource server never mistakes a client for a user, OAuth 2.1 §7.4), `exp`, `iat`,
//!   `aud` (a string for one audience, an array for several, omitted for none), `iss`
//!   (the configured issuer) and `token_type` (`Bearer`).
//! - **Active refresh tokens**: `active`, `scope`, `client_id`, `exp`, `iat` and `iss`.
//!   No `token_type`: RFC 7662 defines it as an access token type (RFC 6749 §7.1), and a
//!   refresh token has none. No `sub` (the refresh token's record does not name the
//!   user, and its client knows whom it acts for) and no `aud` (a refresh token is meant
//!   for this server only).
//! - **A store failure** is 503 `temporarily_unavailable`, never an answer about the
//!   token.
//!
//! Every answer has `Cache-Control: no-store`. Token values are never logged.
//!
//! [`ConfigBuilder::introspection_resource`]: crate::ConfigBuilder::introspection_resource

use http::Request;
use serde_json::{json, Map, Value};

use crate::client_metadata_document::FetchError;
use crate::crypto::TokenHash;
use crate::error::{Reason, StoreError};
use crate::machine::Machine;
use crate::model::{AccessTokenWithGrant, Client, ClientId, ClientType, RefreshTokenRecord};
use crate::resource::ResourceSet;
use crate::response::{json_no_store, HttpResponse};
use crate::store::RefreshLookup;
use crate::time::UnixTime;
use crate::token::endpoint::{
    refused, store_failure, Authenticated, ClientAnswer, ClientLookup, ClientMetadataLookup,
    ClientQuestion,
};
use crate::token::presented::{PresentedToken, Probe};

/// What the introspection endpoint needs next.
#[must_use = "a step must be answered or its response sent"]
#[non_exhaustive]
pub enum IntrospectionStep<'m> {
    /// Look up the client: [`Store::client`](crate::Store::client).
    NeedsClient(ClientLookup<'m, IntrospectionRequest>),
    /// Fetch the client's metadata document:
    /// [`ClientMetadataFetcher::fetch`](crate::ClientMetadataFetcher::fetch).
    ///
    /// Never returned by this version: a client whose `client_id` is a Client Identifier
    /// URL is public, so it is refused like any public client before any fetch. Kept so
    /// that drivers matching on it keep compiling; answering it still refuses the client.
    NeedsClientMetadata(ClientMetadataLookup<'m, IntrospectionRequest>),
    /// Look the token up as an access token:
    /// [`Store::access_token`](crate::Store::access_token).
    NeedsAccessToken(IntrospectionAccessLookup<'m>),
    /// Look the token up as a refresh token:
    /// [`Store::find_refresh`](crate::Store::find_refresh).
    NeedsRefresh(IntrospectionRefreshLookup<'m>),
    /// Send this response; the request is complete.
    Respond(HttpResponse),
}

/// An introspection request's own part, held while its client is authenticated: the
/// presented token (never shown).
pub struct IntrospectionRequest {
    token: PresentedToken,
}

impl std::fmt::Debug for IntrospectionRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IntrospectionRequest(<redacted>)")
    }
}

/// An authenticated introspection request and its search.
struct Introspection<'m> {
    request: Authenticated<'m>,
    token: PresentedToken,
}

impl<'m> Introspection<'m> {
    /// Looks the token up as the next kind or under the next key; inactive once every
    /// lookup missed.
    fn search(mut self) -> IntrospectionStep<'m> {
        match self.token.next_probe(self.request.machine) {
            Some(Probe::Access(hash)) => {
                IntrospectionStep::NeedsAccessToken(IntrospectionAccessLookup {
                    introspection: self,
                    hash,
                })
            }
            Some(Probe::Refresh(hash)) => {
                IntrospectionStep::NeedsRefresh(IntrospectionRefreshLookup {
                    introspection: self,
                    hash,
                })
            }
            None => inactive(),
        }
    }

    /// Whether the caller may see a token issued to `issued_to` for `audience`: its own
    /// token, or an access token for a resource the caller serves.
    fn may_see(&self, issued_to: &ClientId, audience: &ResourceSet) -> bool {
        let caller = &self.request.client.id;
        *issued_to == *caller
            || self
                .request
                .machine
                .config
                .introspection_resources
                .get(caller)
                .is_some_and(|served| served.iter().any(|r| audience.contains(r)))
    }

    fn store_failed(&self, error: &StoreError) -> IntrospectionStep<'m> {
        IntrospectionStep::Respond(store_failure(
            self.request.machine,
            error,
            self.request.used_authorization_header,
        ))
    }

    /// The answer for an access token found in the store.
    fn access_token(&self, found: AccessTokenWithGrant) -> IntrospectionStep<'m> {
        let AccessTokenWithGrant { token, grant } = found;
        let now = self.request.now;
        let valid = !token.expires_at.is_expired_at(now)
            && !grant.expires_at.is_expired_at(now)
            && token.grant_id == grant.id;
        if !valid || !self.may_see(&token.client_id, &token.audience) {
            return inactive();
        }
        let mut body = self.common(
            &token.scope.to_string(),
            &token.client_id,
            token.expires_at,
            token.issued_at,
        );
        if let Some(user) = grant.subject.user() {
            body.insert("sub".into(), json!(user.as_str()));
        }
        let audience: Vec<&str> = token.audience.iter().map(|r| r.as_str()).collect();
        match audience.as_slice() {
            [] => {}
            [one] => {
                body.insert("aud".into(), json!(one));
            }
            several => {
                body.insert("aud".into(), json!(several));
            }
        }
        body.insert("token_type".into(), json!("Bearer"));
        active(body)
    }

    /// The answer for a refresh token found in the store.
    fn refresh_token(&self, record: &RefreshTokenRecord) -> IntrospectionStep<'m> {
        // Only its own client: a refresh token is never sent to a resource server.
        let valid = !record.expires_at.is_expired_at(self.request.now)
            && record.client_id == self.request.client.id;
        if !valid {
            return inactive();
        }
        let body = self.common(
            &record.scope.to_string(),
            &record.client_id,
            record.expires_at,
            record.issued_at,
        );
        active(body)
    }

    /// The members every active answer has.
    fn common(
        &self,
        scope: &str,
        client_id: &ClientId,
        expires_at: UnixTime,
        issued_at: UnixTime,
    ) -> Map<String, Value> {
        let mut body = Map::new();
        body.insert("active".into(), json!(true));
        if !scope.is_empty() {
            body.insert("scope".into(), json!(scope));
        }
        body.insert("client_id".into(), json!(client_id.as_str()));
        body.insert("exp".into(), json!(expires_at.0));
        body.insert("iat".into(), json!(issued_at.0));
        body.insert(
            "iss".into(),
            json!(self.request.machine.config.issuer.as_str()),
        );
        body
    }
}

/// `{"active":false}` and nothing else (RFC 7662 §2.2).
fn inactive<'m>() -> IntrospectionStep<'m> {
    IntrospectionStep::Respond(json_no_store(
        http::StatusCode::OK,
        &json!({ "active": false }),
    ))
}

fn active<'m>(body: Map<String, Value>) -> IntrospectionStep<'m> {
    IntrospectionStep::Respond(json_no_store(http::StatusCode::OK, &Value::Object(body)))
}

impl<'m> ClientLookup<'m, IntrospectionRequest> {
    /// Continues with the store's answer: authenticates the client, refuses a public
    /// one, then searches the token.
    pub fn resume(self, answer: Result<Option<Client>, StoreError>) -> IntrospectionStep<'m> {
        self.proceed(answer)
    }

    fn proceed(self, answer: impl Into<ClientAnswer>) -> IntrospectionStep<'m> {
        match self.authenticate(answer) {
            Err(refusal) => IntrospectionStep::Respond(refusal.into_response()),
            Ok((request, _)) if request.client.client_type() == ClientType::Public => {
                IntrospectionStep::Respond(request.reject_client(Reason::PublicClientIntrospection))
            }
            Ok((request, IntrospectionRequest { token })) => {
                Introspection { request, token }.search()
            }
        }
    }
}

impl<'m> ClientMetadataLookup<'m, IntrospectionRequest> {
    /// Continues with the fetcher's answer: validates the document into the client, then
    /// goes on as [`ClientLookup::resume`] does.
    pub fn resume(self, fetched: Result<bytes::Bytes, FetchError>) -> IntrospectionStep<'m> {
        let (lookup, answer) = self.answer(fetched);
        lookup.proceed(answer)
    }
}

/// Asks for the presented token as an access token, by its keyed hash.
pub struct IntrospectionAccessLookup<'m> {
    introspection: Introspection<'m>,
    hash: TokenHash,
}

impl<'m> IntrospectionAccessLookup<'m> {
    /// The token's keyed hash.
    #[must_use]
    pub fn hash(&self) -> &TokenHash {
        &self.hash
    }

    /// The time of the request.
    #[must_use]
    pub fn now(&self) -> UnixTime {
        self.introspection.request.now
    }

    /// Continues with the store's answer.
    pub fn resume(
        self,
        answer: Result<Option<AccessTokenWithGrant>, StoreError>,
    ) -> IntrospectionStep<'m> {
        match answer {
            Err(e) => self.introspection.store_failed(&e),
            Ok(None) => self.introspection.search(),
            Ok(Some(found)) => self.introspection.access_token(found),
        }
    }
}

/// Asks for the presented token as a refresh token, by its keyed hash.
pub struct IntrospectionRefreshLookup<'m> {
    introspection: Introspection<'m>,
    hash: TokenHash,
}

impl<'m> IntrospectionRefreshLookup<'m> {
    /// The token's keyed hash.
    #[must_use]
    pub fn hash(&self) -> &TokenHash {
        &self.hash
    }

    /// The time of the request.
    #[must_use]
    pub fn now(&self) -> UnixTime {
        self.introspection.request.now
    }

    /// Continues with the store's answer.
    pub fn resume(self, answer: Result<RefreshLookup, StoreError>) -> IntrospectionStep<'m> {
        match answer {
            Err(e) => self.introspection.store_failed(&e),
            Ok(RefreshLookup::NotFound) => self.introspection.search(),
            Ok(RefreshLookup::Active(record)) => self.introspection.refresh_token(&record),
            // Rotated already: the presented token is no longer usable.
            Ok(RefreshLookup::Retired { .. }) => inactive(),
        }
    }
}

impl Machine {
    /// Starts handling an introspection request (RFC 7662 §2.1).
    pub fn introspection_request<B: AsRef<[u8]>>(
        &self,
        request: &Request<B>,
        now: UnixTime,
    ) -> IntrospectionStep<'_> {
        let parsed = self.client_request(request, now, |params| {
            PresentedToken::from_params(params).map(|token| IntrospectionRequest { token })
        });
        match parsed {
            Ok(lookup) => match lookup.route() {
                ClientQuestion::Store(lookup) => IntrospectionStep::NeedsClient(lookup),
                // A client described by a document is public whatever the document says:
                // refused without fetching it (no outbound request for introspection).
                ClientQuestion::Document(lookup) => {
                    IntrospectionStep::Respond(lookup.refuse(Reason::PublicClientIntrospection))
                }
                ClientQuestion::Refused(response) => IntrospectionStep::Respond(response),
            },
            Err(reason) => IntrospectionStep::Respond(refused(self, request, reason)),
        }
    }
}
