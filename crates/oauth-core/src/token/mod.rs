//! The token endpoint (OAuth 2.1 §3.2): request parsing, client authentication, dispatch
//! to the grants, and the steps the driver answers.
//!
//! Request parsing and client authentication are shared with the revocation and
//! introspection endpoints ([`ClientLookup`]), as is the search for a presented access or
//! refresh token under each key of the ring.

pub(crate) mod endpoint;
pub(crate) mod issue;
pub(crate) mod presented;
pub(crate) mod steps;

use http::Request;

use crate::crypto::{parse_token, TokenKind};
use crate::error::Reason;
use crate::machine::Machine;
use crate::model::GrantType;
use crate::params::Params;
use crate::secret::Secret;
use crate::time::UnixTime;

pub(crate) use endpoint::Authenticated;
pub use endpoint::{ClientLookup, ClientMetadataLookup};
pub(crate) use issue::{issue_tokens, refresh_eligible, Issue};
pub use steps::{
    CodeConsumption, CodeLookupStep, GraceClaim, GrantRevocation, RefreshLookupStep,
    RefreshRotation, SuccessorCheck, TokenPersistence, TokenRequest, TokenStep,
};

impl<'m> Authenticated<'m> {
    /// The credential in parameter `name`: required (`invalid_request` when missing or
    /// repeated) and of the shape of a `kind` credential (`unknown` otherwise, before any
    /// store lookup).
    pub(crate) fn credential(
        &self,
        name: &str,
        kind: TokenKind,
        unknown: Reason,
    ) -> Result<Secret, Reason> {
        credential(&self.params, name, kind, unknown)
    }

    /// Ends the request with an error response.
    pub(crate) fn fail(&self, reason: Reason) -> TokenStep<'m> {
        fail(self.machine, reason, self.used_authorization_header)
    }
}

/// The credential in parameter `name` of `params`: see [`Authenticated::credential`].
pub(crate) fn credential(
    params: &Params,
    name: &str,
    kind: TokenKind,
    unknown: Reason,
) -> Result<Secret, Reason> {
    let value = params.single(name)?.ok_or(Reason::MissingParameter)?;
    parse_token(kind, value).map(Secret::new).ok_or(unknown)
}

pub(crate) fn fail(machine: &Machine, reason: Reason, used_header: bool) -> TokenStep<'_> {
    TokenStep::Respond(endpoint::error_response(machine, reason, used_header))
}

impl Machine {
    /// Starts handling a token-endpoint request.
    pub fn token_request<B: AsRef<[u8]>>(
        &self,
        request: &Request<B>,
        now: UnixTime,
    ) -> TokenStep<'_> {
        let parsed = self.client_request(request, now, |params| {
            let grant_type = params
                .single("grant_type")?
                .ok_or(Reason::MissingParameter)?;
            let grant_type = GrantType::parse(grant_type).ok_or(Reason::UnsupportedGrantType)?;
            Ok(TokenRequest { grant_type })
        });
        match parsed.map(ClientLookup::route) {
            Ok(endpoint::ClientQuestion::Store(lookup)) => TokenStep::NeedsClient(lookup),
            Ok(endpoint::ClientQuestion::Document(lookup)) => {
                TokenStep::NeedsClientMetadata(lookup)
            }
            Ok(endpoint::ClientQuestion::Refused(response)) => TokenStep::Respond(response),
            Err(reason) => TokenStep::Respond(endpoint::refused(self, request, reason)),
        }
    }
}
