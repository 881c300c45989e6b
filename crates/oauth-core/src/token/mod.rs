//! The token endpoint (OAuth 2.1 §3.2): request parsing, client authentication, dispatch
//! to the grants, and the steps the driver answers.

pub(crate) mod issue;
pub(crate) mod steps;

use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{Method, Request};

use crate::client_auth::{presented_client, PresentedClient};
use crate::crypto::{parse_token, TokenKind};
use crate::error::Reason;
use crate::machine::Machine;
use crate::model::{Client, GrantType};
use crate::params::Params;
use crate::response::token_error;
use crate::secret::Secret;
use crate::time::UnixTime;

pub(crate) use issue::{issue_tokens, Issue};
pub use steps::{
    ClientLookup, CodeConsumption, CodeLookupStep, GraceClaim, GrantRevocation, RefreshLookupStep,
    RefreshRotation, SuccessorCheck, TokenPersistence, TokenStep,
};

/// A parsed token request whose client has not been authenticated yet.
pub(crate) struct Unauthenticated<'m> {
    pub(crate) machine: &'m Machine,
    pub(crate) now: UnixTime,
    pub(crate) params: Params,
    pub(crate) grant_type: GrantType,
    pub(crate) presented: PresentedClient,
}

/// A token request from an authenticated client allowed to use its grant type.
pub(crate) struct Authenticated<'m> {
    pub(crate) machine: &'m Machine,
    pub(crate) now: UnixTime,
    pub(crate) params: Params,
    pub(crate) client: Client,
    pub(crate) used_authorization_header: bool,
}

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
        let value = self.params.single(name)?.ok_or(Reason::MissingParameter)?;
        parse_token(kind, value).map(Secret::new).ok_or(unknown)
    }

    /// Ends the request with an error response.
    pub(crate) fn fail(&self, reason: Reason) -> TokenStep<'m> {
        fail(self.machine, reason, self.used_authorization_header)
    }
}

pub(crate) fn fail(machine: &Machine, reason: Reason, used_header: bool) -> TokenStep<'_> {
    tracing::debug!(?reason, "token request refused");
    TokenStep::Respond(token_error(reason, used_header, &machine.config.realm))
}

fn is_form_content_type<B>(request: &Request<B>) -> bool {
    request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// Client credentials in the request URI are refused (OAuth 2.1 §2.4.1).
fn has_credentials_in_query<B>(request: &Request<B>) -> bool {
    request.uri().query().is_some_and(|query| {
        Params::parse(query.as_bytes()).map_or(true, |params| {
            ["client_secret", "client_assertion"]
                .iter()
                .any(|name| params.contains(name))
        })
    })
}

impl Machine {
    /// Starts handling a token-endpoint request.
    pub fn token_request<B: AsRef<[u8]>>(
        &self,
        request: &Request<B>,
        now: UnixTime,
    ) -> TokenStep<'_> {
        match self.parse_token_request(request, now) {
            Ok(unauthenticated) => TokenStep::NeedsClient(ClientLookup {
                request: unauthenticated,
            }),
            // A client that tried the `Authorization` header, even with a malformed
            // value, gets its 401 with a `Basic` challenge (OAuth 2.1 §3.2.4).
            Err(reason) => fail(self, reason, request.headers().contains_key(AUTHORIZATION)),
        }
    }

    fn parse_token_request<B: AsRef<[u8]>>(
        &self,
        request: &Request<B>,
        now: UnixTime,
    ) -> Result<Unauthenticated<'_>, Reason> {
        if request.method() != Method::POST {
            return Err(Reason::MethodNotAllowed);
        }
        let body = request.body().as_ref();
        if body.len() > self.config.max_body_bytes {
            return Err(Reason::BodyTooLarge);
        }
        if !is_form_content_type(request) {
            return Err(Reason::WrongContentType);
        }
        if has_credentials_in_query(request) {
            return Err(Reason::CredentialsInQuery);
        }
        let params = Params::parse(body)?;
        let grant_type = params
            .single("grant_type")?
            .ok_or(Reason::MissingParameter)?;
        let grant_type = GrantType::parse(grant_type).ok_or(Reason::UnsupportedGrantType)?;
        let presented =
            presented_client(request.headers(), &params)?.ok_or(Reason::MissingClientId)?;
        Ok(Unauthenticated {
            machine: self,
            now,
            params,
            grant_type,
            presented,
        })
    }
}
