//! The authorization-code grant at the token endpoint (OAuth 2.1 §4.1.3).
//!
//! The code is first *read*, and every check (client binding, redirect URI, PKCE,
//! resource) runs against the record; only then is it *consumed* atomically. So a request
//! with a wrong verifier or from the wrong client neither burns the code nor, for a code
//! already used, revokes its grant (§7.5.2: that would hand attackers a denial of
//! service). A replay that would otherwise succeed revokes everything the code issued.

use crate::crypto::TokenKind;
use crate::error::{Reason, StoreError, StoreErrorKind};
use crate::model::CodeRecord;
use crate::params::Params;
use crate::pkce;
use crate::resource::{self, ResourceSet};
use crate::secret::Secret;
use crate::store::{CodeLookup, ConsumeOutcome};
use crate::token::steps::store_failed;
use crate::token::{
    credential, issue_tokens, Authenticated, CodeConsumption, CodeLookupStep, GrantRevocation,
    Issue, TokenStep,
};

/// The `code` parameter: required, single, and shaped like a code (`invalid_grant`
/// otherwise, before any store lookup).
pub(crate) fn presented_code(params: &Params) -> Result<Secret, Reason> {
    credential(
        params,
        "code",
        TokenKind::AuthorizationCode,
        Reason::CodeNotFound,
    )
}

/// Starts the grant for an authenticated client: asks for the code, or goes on with the
/// answer already read together with the client (`prefetched`, read under the current
/// key as [`ClientLookup::code_hash`](crate::token::ClientLookup::code_hash) names it).
pub(crate) fn start(
    request: Authenticated<'_>,
    prefetched: Option<Result<CodeLookup, StoreError>>,
) -> TokenStep<'_> {
    let code = match presented_code(&request.params) {
        Ok(code) => code,
        Err(reason) => return request.fail(reason),
    };
    match (lookup(request, code, 0), prefetched) {
        (TokenStep::NeedsCode(step), Some(answer)) => on_lookup(step, answer),
        (step, _) => step,
    }
}

fn lookup(request: Authenticated<'_>, code: Secret, key_index: usize) -> TokenStep<'_> {
    match request.machine.lookup_hash(code.expose(), key_index) {
        Some(hash) => TokenStep::NeedsCode(CodeLookupStep {
            request,
            code,
            key_index,
            hash,
        }),
        None => request.fail(Reason::CodeNotFound),
    }
}

/// The checks of OAuth 2.1 §4.1.3 and RFC 8707 §2.2; returns the access token's audience.
fn validate(request: &Authenticated<'_>, record: &CodeRecord) -> Result<ResourceSet, Reason> {
    let params = &request.params;
    let redirect_uri = params.single("redirect_uri")?;
    let verifier = params.single("code_verifier")?;
    if record.expires_at.is_expired_at(request.now) {
        return Err(Reason::CodeNotFound);
    }
    if record.client_id != request.client.id {
        return Err(Reason::CodeClientMismatch);
    }
    // OAuth 2.1 §10.2 (RFC 6749 §4.1.3): required and identical when the authorization
    // request carried it; when it was omitted there, a value sent here must still match.
    let redirect_ok = match redirect_uri {
        Some(sent) => sent == record.redirect_uri,
        None => !record.redirect_uri_in_request,
    };
    if !redirect_ok {
        return Err(Reason::CodeRedirectUriMismatch);
    }
    match (&record.challenge, verifier) {
        (Some(challenge), Some(verifier)) => {
            if !pkce::verify(challenge, verifier) {
                return Err(Reason::CodeVerifierMismatch);
            }
        }
        (Some(_), None) => return Err(Reason::CodeVerifierMissing),
        // RFC 9700 §4.8.2: a verifier for a code issued without a challenge is a downgrade.
        (None, Some(_)) => return Err(Reason::CodeVerifierWithoutChallenge),
        // Only reachable when the host turned off PKCE for confidential clients (C-1).
        (None, None) => {}
    }
    resource::narrow(params.all("resource"), &record.resources)
}

pub(crate) fn on_lookup(
    step: CodeLookupStep<'_>,
    answer: Result<CodeLookup, StoreError>,
) -> TokenStep<'_> {
    let CodeLookupStep {
        request,
        code,
        key_index,
        hash,
    } = step;
    match answer {
        Err(e) => store_failed(request.machine, &e, request.used_authorization_header),
        // A record filed under another hash is a corrupt store, never a code to redeem.
        Ok(CodeLookup::Active(record) | CodeLookup::Used(record)) if !record.hash.ct_eq(&hash) => {
            let e = StoreError::new(
                StoreErrorKind::Corrupt,
                "the store answered a code lookup with another code's record",
            );
            store_failed(request.machine, &e, request.used_authorization_header)
        }
        Ok(CodeLookup::NotFound) => lookup(request, code, key_index + 1),
        Ok(CodeLookup::Active(record)) => {
            let issued = validate(&request, &record)
                .and_then(|audience| issue_from(&request, &code, &record, audience));
            match issued {
                Err(reason) => request.fail(reason),
                Ok((tokens, response)) => TokenStep::NeedsConsume(CodeConsumption {
                    request,
                    hash,
                    tokens,
                    response,
                }),
            }
        }
        Ok(CodeLookup::Used(record)) => match validate(&request, &record) {
            Err(reason) => request.fail(reason),
            Ok(_) => replayed(request, record.grant_id),
        },
    }
}

fn replayed(request: Authenticated<'_>, grant_id: crate::model::GrantId) -> TokenStep<'_> {
    request
        .machine
        .event(crate::events::SecurityEvent::CodeReplayed {
            client_id: &request.client.id,
            grant_id: &grant_id,
        });
    TokenStep::NeedsRevocation(GrantRevocation {
        machine: request.machine,
        used_authorization_header: request.used_authorization_header,
        grant_id,
        reason: Reason::CodeReplayed,
    })
}

/// Draws the tokens a redemption of `record` issues, so that the store can redeem the
/// code and store them in one atomic step.
fn issue_from(
    request: &Authenticated<'_>,
    code: &Secret,
    record: &CodeRecord,
    audience: ResourceSet,
) -> Result<
    (
        crate::model::IssuedTokens,
        crate::token::issue::TokenResponse,
    ),
    Reason,
> {
    let config = &request.machine.config;
    let props_key = record
        .props_key
        .as_ref()
        .map(|wrapped| {
            wrapped.unwrap(
                &config.keyring,
                TokenKind::AuthorizationCode,
                code.expose(),
                record.grant_id.as_str(),
            )
        })
        .transpose()
        .map_err(|_| Reason::InternalFailure)?;
    let refresh =
        crate::token::issue::refresh_allowed(request.machine, &request.client, &record.scope)
            .then(|| (record.scope.clone(), record.resources.clone()));
    issue_tokens(
        request.machine,
        request.now,
        Issue {
            client: &request.client,
            grant_id: &record.grant_id,
            grant_expires_at: record.grant_expires_at,
            scope: record.scope.clone(),
            audience,
            refresh,
            props_key: props_key.as_ref(),
        },
    )
}

pub(crate) fn on_consume(
    step: CodeConsumption<'_>,
    answer: Result<ConsumeOutcome, StoreError>,
) -> TokenStep<'_> {
    let CodeConsumption {
        request, response, ..
    } = step;
    match answer {
        Err(e) => store_failed(request.machine, &e, request.used_authorization_header),
        Ok(ConsumeOutcome::NotFound) => request.fail(Reason::CodeNotFound),
        // Lost a race against another valid redemption: that is a replay too. The
        // winner's tokens exist already and are revoked with the grant.
        Ok(ConsumeOutcome::AlreadyUsed { grant_id }) => replayed(request, grant_id),
        Ok(ConsumeOutcome::Consumed) => TokenStep::Respond(response.into_response()),
    }
}
