//! The refresh-token grant (OAuth 2.1 §4.3) with rotation.
//!
//! Every refresh retires the presented token and issues a successor with exactly the
//! presented token's scope and resources (§4.3.3), even when this request narrowed the
//! access token. Presenting a retired token again, by the client it was issued to, is
//! reuse: the whole grant is revoked (§4.3.1, RFC 9700 §4.14.2).

use crate::crypto::TokenKind;
use crate::error::{Reason, StoreError};
use crate::grant::refresh_grace;
use crate::model::GrantId;
use crate::resource;
use crate::scope;
use crate::secret::Secret;
use crate::store::{RefreshLookup, RotateOutcome};
use crate::token::steps::store_failed;
use crate::token::{
    issue_tokens, Authenticated, GraceClaim, GrantRevocation, Issue, RefreshLookupStep,
    RefreshRotation, SuccessorCheck, TokenStep,
};

pub(crate) fn start(request: Authenticated<'_>) -> TokenStep<'_> {
    match request.credential(
        "refresh_token",
        TokenKind::RefreshToken,
        Reason::RefreshTokenNotFound,
    ) {
        Ok(token) => lookup(request, token, 0),
        Err(reason) => request.fail(reason),
    }
}

fn lookup(request: Authenticated<'_>, token: Secret, key_index: usize) -> TokenStep<'_> {
    match request.machine.lookup_hash(token.expose(), key_index) {
        Some(hash) => TokenStep::NeedsRefresh(RefreshLookupStep {
            request,
            token,
            key_index,
            hash,
        }),
        None => request.fail(Reason::RefreshTokenNotFound),
    }
}

fn reused<'m>(
    machine: &'m crate::machine::Machine,
    used_header: bool,
    client_id: &crate::model::ClientId,
    grant_id: GrantId,
) -> TokenStep<'m> {
    machine.event(crate::events::SecurityEvent::RefreshTokenReused {
        client_id,
        grant_id: &grant_id,
    });
    TokenStep::NeedsRevocation(GrantRevocation {
        machine,
        used_authorization_header: used_header,
        grant_id,
        reason: Reason::RefreshTokenReused,
    })
}

pub(crate) fn on_lookup(
    step: RefreshLookupStep<'_>,
    answer: Result<RefreshLookup, StoreError>,
) -> TokenStep<'_> {
    let RefreshLookupStep {
        request,
        token,
        key_index,
        hash,
    } = step;
    let record = match answer {
        Err(e) => return store_failed(request.machine, &e, request.used_authorization_header),
        Ok(RefreshLookup::NotFound) => return lookup(request, token, key_index + 1),
        Ok(RefreshLookup::Retired {
            grant_id,
            client_id,
            retired_at,
        }) => {
            // Only the client the token was issued to triggers revocation; anyone else
            // learns nothing and revokes nothing.
            if client_id != request.client.id {
                return request.fail(Reason::RefreshTokenClientMismatch);
            }
            if refresh_grace::within(request.machine, retired_at, request.now) {
                return TokenStep::NeedsGraceClaim(GraceClaim {
                    request,
                    token,
                    hash,
                    grant_id,
                });
            }
            return reused(
                request.machine,
                request.used_authorization_header,
                &request.client.id,
                grant_id,
            );
        }
        Ok(RefreshLookup::Active(record)) => record,
    };
    if record.client_id != request.client.id {
        return request.fail(Reason::RefreshTokenClientMismatch);
    }
    if record.expires_at.is_expired_at(request.now) {
        return request.fail(Reason::RefreshTokenNotFound);
    }
    let access_scope = match request
        .params
        .single("scope")
        .and_then(|requested| scope::narrow(requested, &record.scope))
    {
        Ok(scope) => scope,
        Err(reason) => return request.fail(reason),
    };
    let audience = match resource::narrow(request.params.all("resource"), &record.resources) {
        Ok(audience) => audience,
        Err(reason) => return request.fail(reason),
    };
    let config = &request.machine.config;
    let props_key = match record
        .props_key
        .as_ref()
        .map(|wrapped| {
            wrapped.unwrap(
                &config.keyring,
                TokenKind::RefreshToken,
                token.expose(),
                record.grant_id.as_str(),
            )
        })
        .transpose()
    {
        Ok(key) => key,
        Err(_) => return request.fail(Reason::InternalFailure),
    };
    let issued = issue_tokens(
        request.machine,
        request.now,
        Issue {
            client: &request.client,
            grant_id: &record.grant_id,
            grant_expires_at: record.grant_expires_at,
            scope: access_scope,
            audience,
            refresh: Some((record.scope.clone(), record.resources.clone())),
            props_key: props_key.as_ref(),
        },
    );
    let issued = issued.and_then(|(successor, response)| {
        let grace = refresh_grace::keep(
            request.machine,
            request.now,
            &token,
            &record.grant_id,
            &response,
        )?;
        Ok((successor, response, grace))
    });
    match issued {
        Err(reason) => request.fail(reason),
        Ok((successor, response, grace)) => TokenStep::NeedsRotation(RefreshRotation {
            request,
            token,
            old: hash,
            successor,
            grace,
            response,
        }),
    }
}

pub(crate) fn on_rotate(
    step: RefreshRotation<'_>,
    answer: Result<RotateOutcome, StoreError>,
) -> TokenStep<'_> {
    let RefreshRotation {
        request,
        token,
        old,
        response,
        ..
    } = step;
    let used_header = request.used_authorization_header;
    match answer {
        Err(e) => store_failed(request.machine, &e, used_header),
        Ok(RotateOutcome::Rotated) => TokenStep::Respond(response.into_response()),
        // A concurrent rotation won, just now. With a grace configured, this is the same
        // client racing itself (two tabs, a retry): it gets the winner's successor once.
        Ok(RotateOutcome::Reused { grant_id }) if refresh_grace::enabled(request.machine) => {
            TokenStep::NeedsGraceClaim(GraceClaim {
                request,
                token,
                hash: old,
                grant_id,
            })
        }
        // Otherwise this presentation is a reuse of a retired token.
        Ok(RotateOutcome::Reused { grant_id }) => {
            reused(request.machine, used_header, &request.client.id, grant_id)
        }
        Ok(RotateOutcome::NotFound) => request.fail(Reason::RefreshTokenNotFound),
    }
}

pub(crate) fn on_grace_claim(
    step: GraceClaim<'_>,
    answer: Result<Option<Vec<u8>>, StoreError>,
) -> TokenStep<'_> {
    let GraceClaim {
        request,
        token,
        grant_id,
        ..
    } = step;
    let used_header = request.used_authorization_header;
    let sealed = match answer {
        Err(e) => return store_failed(request.machine, &e, used_header),
        // Claimed already, or none kept: an ordinary reuse.
        Ok(None) => return reused(request.machine, used_header, &request.client.id, grant_id),
        Ok(Some(sealed)) => sealed,
    };
    let reopened = refresh_grace::reopen(request.machine, request.now, &token, &grant_id, &sealed);
    let successor = reopened.as_ref().ok().and_then(|response| {
        response
            .refresh_token()
            .and_then(|t| request.machine.lookup_hash(t.expose(), 0))
    });
    match (reopened, successor) {
        (Ok(response), Some(hash)) => TokenStep::NeedsSuccessorCheck(SuccessorCheck {
            request,
            grant_id,
            hash,
            response,
        }),
        // A grace that does not open with the token that claims it fails closed.
        _ => reused(request.machine, used_header, &request.client.id, grant_id),
    }
}

pub(crate) fn on_successor_check(
    step: SuccessorCheck<'_>,
    answer: Result<RefreshLookup, StoreError>,
) -> TokenStep<'_> {
    let SuccessorCheck {
        request,
        grant_id,
        response,
        ..
    } = step;
    let used_header = request.used_authorization_header;
    match answer {
        Err(e) => store_failed(request.machine, &e, used_header),
        Ok(RefreshLookup::Active(record)) if record.client_id == request.client.id => {
            tracing::info!(
                client_id = %request.client.id,
                grant_id = %grant_id,
                "refresh retried within the grace period; answering the same successor"
            );
            TokenStep::Respond(response.into_response())
        }
        // The successor moved on (or is gone): the retry is a reuse after all.
        Ok(_) => reused(request.machine, used_header, &request.client.id, grant_id),
    }
}
