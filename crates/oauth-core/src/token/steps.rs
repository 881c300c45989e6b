//! The steps of a token request. Each asks the caller for one piece of stored data and is
//! answered by `resume`, which consumes it.

use bytes::Bytes;

use crate::client_metadata_document::FetchError;
use crate::crypto::TokenHash;
use crate::error::{Reason, StoreError};
use crate::grant::{authorization_code, client_credentials, refresh_token};
use crate::machine::Machine;
use crate::model::{Client, GrantId, GrantRecord, GrantType, IssuedTokens};
use crate::response::{json_no_store, HttpResponse};
use crate::secret::Secret;
use crate::store::{
    ClientAndCode, CodeLookup, ConsumeOutcome, RefreshGrace, RefreshLookup, RotateOutcome,
};
use crate::time::UnixTime;

use super::endpoint::{store_failure, ClientAnswer, ClientLookup, ClientMetadataLookup};
use super::issue::TokenResponse;
use super::{fail, Authenticated};

/// What the token endpoint needs next.
#[must_use = "a step must be answered or its response sent"]
#[non_exhaustive]
pub enum TokenStep<'m> {
    /// Look up the client: [`Store::client`](crate::Store::client).
    NeedsClient(ClientLookup<'m, TokenRequest>),
    /// Fetch the client's metadata document (its `client_id` is an https URL):
    /// [`ClientMetadataFetcher::fetch`](crate::ClientMetadataFetcher::fetch).
    NeedsClientMetadata(ClientMetadataLookup<'m, TokenRequest>),
    /// Read a code: [`Store::find_code`](crate::Store::find_code).
    NeedsCode(CodeLookupStep<'m>),
    /// Redeem a code and store its tokens: [`Store::consume_code`](crate::Store::consume_code).
    NeedsConsume(CodeConsumption<'m>),
    /// Read a refresh token: [`Store::find_refresh`](crate::Store::find_refresh).
    NeedsRefresh(RefreshLookupStep<'m>),
    /// Rotate a refresh token: [`Store::rotate_refresh`](crate::Store::rotate_refresh).
    NeedsRotation(RefreshRotation<'m>),
    /// Claim the grace of a retired refresh token:
    /// [`Store::claim_refresh_grace`](crate::Store::claim_refresh_grace).
    NeedsGraceClaim(GraceClaim<'m>),
    /// Check that a grace's successor is still the live refresh token:
    /// [`Store::find_refresh`](crate::Store::find_refresh).
    NeedsSuccessorCheck(SuccessorCheck<'m>),
    /// Revoke a grant after a replay: [`Store::revoke_grant`](crate::Store::revoke_grant).
    NeedsRevocation(GrantRevocation<'m>),
    /// Persist issued tokens: [`Store::store_tokens`](crate::Store::store_tokens).
    Persist(TokenPersistence<'m>),
    /// Send this response; the request is complete.
    Respond(HttpResponse),
}

/// 503 `temporarily_unavailable` for a store failure, with the failure logged.
pub(crate) fn store_failed<'m>(
    machine: &'m Machine,
    error: &StoreError,
    used_header: bool,
) -> TokenStep<'m> {
    TokenStep::Respond(store_failure(machine, error, used_header))
}

/// A token request's own part, held while its client is authenticated: the grant type.
#[derive(Debug)]
pub struct TokenRequest {
    pub(crate) grant_type: GrantType,
}

impl TokenRequest {
    /// The requested grant type.
    #[must_use]
    pub fn grant_type(&self) -> GrantType {
        self.grant_type
    }
}

impl<'m> ClientLookup<'m, TokenRequest> {
    /// Continues with the store's answer: authenticates the client, checks that it may
    /// use the grant type, and dispatches to the grant.
    pub fn resume(self, answer: Result<Option<Client>, StoreError>) -> TokenStep<'m> {
        self.proceed(answer, None)
    }

    /// The keyed hash of the code a code redemption presents, under the current key, so
    /// that the client and the code can be read together
    /// ([`Store::client_and_code`](crate::Store::client_and_code)) and answered with
    /// [`resume_with_code`](Self::resume_with_code). `None` for the other grants and for
    /// a `code` that is missing, repeated or not shaped like a code: those requests go on
    /// with [`resume`](Self::resume).
    ///
    /// Reading the code before the client is authenticated changes nothing but the
    /// number of round trips: the code's answer is used only once the client has
    /// authenticated and may use the grant, exactly as if it had been asked for then.
    #[must_use]
    pub fn code_hash(&self) -> Option<TokenHash> {
        if self.endpoint.grant_type != GrantType::AuthorizationCode {
            return None;
        }
        let code = authorization_code::presented_code(&self.request.params).ok()?;
        self.request.machine.lookup_hash(code.expose(), 0)
    }

    /// The time of the request.
    #[must_use]
    pub fn now(&self) -> UnixTime {
        self.request.now
    }

    /// Continues with the store's answer to
    /// [`Store::client_and_code`](crate::Store::client_and_code) for
    /// [`code_hash`](Self::code_hash): as [`resume`](Self::resume) with the client's
    /// part, and then, for an authenticated client that may use the grant, with the code
    /// already read (a failed code read then answers 503, as a failed
    /// [`Store::find_code`](crate::Store::find_code) would).
    pub fn resume_with_code(self, answer: ClientAndCode) -> TokenStep<'m> {
        let ClientAndCode { client, code } = answer;
        self.proceed(client, code)
    }

    /// Authenticates the client, checks that it may use the grant type, and dispatches;
    /// `code` is the code's answer when it was read with the client.
    fn proceed(
        self,
        answer: impl Into<ClientAnswer>,
        code: Option<Result<CodeLookup, StoreError>>,
    ) -> TokenStep<'m> {
        let (authed, TokenRequest { grant_type }) = match self.authenticate(answer) {
            Ok(authenticated) => authenticated,
            Err(refusal) => return TokenStep::Respond(refusal.into_response()),
        };
        if !authed.client.allows_grant(grant_type) {
            return authed.fail(Reason::GrantTypeNotAllowed);
        }
        match grant_type {
            GrantType::AuthorizationCode => authorization_code::start(authed, code),
            GrantType::RefreshToken => refresh_token::start(authed),
            GrantType::ClientCredentials => client_credentials::start(authed),
        }
    }
}

impl<'m> ClientMetadataLookup<'m, TokenRequest> {
    /// Continues with the fetcher's answer: validates the document into the client, then
    /// goes on as [`ClientLookup::resume`] does.
    pub fn resume(self, fetched: Result<Bytes, FetchError>) -> TokenStep<'m> {
        let (lookup, answer) = self.answer(fetched);
        lookup.proceed(answer, None)
    }
}

/// Asks for the code presented, by its keyed hash.
pub struct CodeLookupStep<'m> {
    pub(crate) request: Authenticated<'m>,
    pub(crate) code: Secret,
    pub(crate) key_index: usize,
    pub(crate) hash: TokenHash,
}

impl<'m> CodeLookupStep<'m> {
    /// The code's keyed hash.
    #[must_use]
    pub fn hash(&self) -> &TokenHash {
        &self.hash
    }

    /// The time of the request.
    #[must_use]
    pub fn now(&self) -> UnixTime {
        self.request.now
    }

    /// Continues with the store's answer.
    pub fn resume(self, answer: Result<CodeLookup, StoreError>) -> TokenStep<'m> {
        authorization_code::on_lookup(self, answer)
    }
}

/// Asks to redeem a code that passed every check, storing the tokens issued from it in
/// the same atomic step.
pub struct CodeConsumption<'m> {
    pub(crate) request: Authenticated<'m>,
    pub(crate) hash: TokenHash,
    pub(crate) tokens: IssuedTokens,
    pub(crate) response: TokenResponse,
}

impl<'m> CodeConsumption<'m> {
    /// The code's keyed hash.
    #[must_use]
    pub fn hash(&self) -> &TokenHash {
        &self.hash
    }

    /// The tokens to store if, and only if, this call redeems the code.
    #[must_use]
    pub fn tokens(&self) -> &IssuedTokens {
        &self.tokens
    }

    /// The time of the request.
    #[must_use]
    pub fn now(&self) -> UnixTime {
        self.request.now
    }

    /// Continues with the store's answer.
    pub fn resume(self, answer: Result<ConsumeOutcome, StoreError>) -> TokenStep<'m> {
        authorization_code::on_consume(self, answer)
    }
}

/// Asks for the refresh token presented, by its keyed hash.
pub struct RefreshLookupStep<'m> {
    pub(crate) request: Authenticated<'m>,
    pub(crate) token: Secret,
    pub(crate) key_index: usize,
    pub(crate) hash: TokenHash,
}

impl<'m> RefreshLookupStep<'m> {
    /// The refresh token's keyed hash.
    #[must_use]
    pub fn hash(&self) -> &TokenHash {
        &self.hash
    }

    /// The time of the request.
    #[must_use]
    pub fn now(&self) -> UnixTime {
        self.request.now
    }

    /// Continues with the store's answer.
    pub fn resume(self, answer: Result<RefreshLookup, StoreError>) -> TokenStep<'m> {
        refresh_token::on_lookup(self, answer)
    }
}

/// Asks to retire a refresh token and store its successors in one step.
pub struct RefreshRotation<'m> {
    pub(crate) request: Authenticated<'m>,
    pub(crate) token: Secret,
    pub(crate) old: TokenHash,
    pub(crate) successor: IssuedTokens,
    pub(crate) grace: Option<RefreshGrace>,
    pub(crate) response: TokenResponse,
}

impl<'m> RefreshRotation<'m> {
    /// The grace to keep with the retired token, when the server allows one.
    #[must_use]
    pub fn grace(&self) -> Option<&RefreshGrace> {
        self.grace.as_ref()
    }

    /// The keyed hash of the token being retired.
    #[must_use]
    pub fn old(&self) -> &TokenHash {
        &self.old
    }

    /// The tokens that replace it.
    #[must_use]
    pub fn successor(&self) -> &IssuedTokens {
        &self.successor
    }

    /// The time of the request.
    #[must_use]
    pub fn now(&self) -> UnixTime {
        self.request.now
    }

    /// Continues with the store's answer.
    pub fn resume(self, answer: Result<RotateOutcome, StoreError>) -> TokenStep<'m> {
        refresh_token::on_rotate(self, answer)
    }
}

/// Asks for the grace a rotation left with a retired refresh token (at most once).
pub struct GraceClaim<'m> {
    pub(crate) request: Authenticated<'m>,
    pub(crate) token: Secret,
    pub(crate) hash: TokenHash,
    pub(crate) grant_id: GrantId,
}

impl<'m> GraceClaim<'m> {
    /// The retired token's keyed hash.
    #[must_use]
    pub fn hash(&self) -> &TokenHash {
        &self.hash
    }

    /// The time of the request.
    #[must_use]
    pub fn now(&self) -> UnixTime {
        self.request.now
    }

    /// Continues with the store's answer.
    pub fn resume(self, answer: Result<Option<Vec<u8>>, StoreError>) -> TokenStep<'m> {
        refresh_token::on_grace_claim(self, answer)
    }
}

/// Asks whether the successor kept in a grace is still the live refresh token: a grace
/// never answers for a token older than the immediately previous one.
pub struct SuccessorCheck<'m> {
    pub(crate) request: Authenticated<'m>,
    pub(crate) grant_id: GrantId,
    pub(crate) hash: TokenHash,
    pub(crate) response: TokenResponse,
}

impl<'m> SuccessorCheck<'m> {
    /// The successor refresh token's keyed hash.
    #[must_use]
    pub fn hash(&self) -> &TokenHash {
        &self.hash
    }

    /// The time of the request.
    #[must_use]
    pub fn now(&self) -> UnixTime {
        self.request.now
    }

    /// Continues with the store's answer.
    pub fn resume(self, answer: Result<RefreshLookup, StoreError>) -> TokenStep<'m> {
        refresh_token::on_successor_check(self, answer)
    }
}

/// Asks to revoke a grant whose code or refresh token was replayed.
pub struct GrantRevocation<'m> {
    pub(crate) machine: &'m Machine,
    pub(crate) used_authorization_header: bool,
    pub(crate) grant_id: GrantId,
    pub(crate) reason: Reason,
}

impl<'m> GrantRevocation<'m> {
    /// The grant to revoke.
    #[must_use]
    pub fn grant_id(&self) -> &GrantId {
        &self.grant_id
    }

    /// Continues with the store's answer. A failed revocation answers 503, never the
    /// ordinary error, so it is not mistaken for done.
    pub fn resume(self, answer: Result<(), StoreError>) -> TokenStep<'m> {
        match answer {
            Ok(()) => fail(self.machine, self.reason, self.used_authorization_header),
            Err(e) => store_failed(self.machine, &e, self.used_authorization_header),
        }
    }
}

/// Asks to persist issued tokens (and the grant they create, for client credentials).
pub struct TokenPersistence<'m> {
    pub(crate) machine: &'m Machine,
    pub(crate) used_authorization_header: bool,
    pub(crate) new_grant: Option<GrantRecord>,
    pub(crate) tokens: IssuedTokens,
    pub(crate) response: TokenResponse,
}

impl<'m> TokenPersistence<'m> {
    /// The grant to create with the tokens, if any.
    #[must_use]
    pub fn new_grant(&self) -> Option<&GrantRecord> {
        self.new_grant.as_ref()
    }

    /// The tokens to store.
    #[must_use]
    pub fn tokens(&self) -> &IssuedTokens {
        &self.tokens
    }

    /// Continues with the store's answer: the token response, or 503.
    pub fn resume(self, answer: Result<(), StoreError>) -> TokenStep<'m> {
        match answer {
            Ok(()) => TokenStep::Respond(self.response.into_response()),
            Err(e) => store_failed(self.machine, &e, self.used_authorization_header),
        }
    }
}

impl TokenResponse {
    /// The 200 response (OAuth 2.1 §3.2.3).
    pub(crate) fn into_response(self) -> HttpResponse {
        json_no_store(http::StatusCode::OK, &self.body())
    }
}
