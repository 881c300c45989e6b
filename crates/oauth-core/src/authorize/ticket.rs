//! Sealed tickets: a pending authorization carried through the host's pages.
//!
//! The ticket is a 16-byte random salt followed by a [versioned AES-256-GCM
//! envelope](crate::crypto) under `HMAC(ticket subkey, salt)`, base64url-encoded. Inside: the validated request, its expiry, and a
//! SHA-256 of the host's session binding. Opening checks integrity, expiry and binding
//! (in constant time); resuming then re-validates the client, which may have changed.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::request::{rematch_redirect, AuthorizeStep, ClientDisplay, Source};
use super::{error_redirect, AuthorizationError, PendingAuthorization};
use crate::crypto::{open, seal, Purpose, SubkeyPurpose};
use crate::error::{ApiMisuse, Reason};
use crate::machine::Machine;
use crate::model::{Client, ClientId, GrantType};
use crate::pkce::CodeChallenge;
use crate::resource::ResourceSet;
use crate::scope::{self, ClientScope, Scope};
use crate::time::UnixTime;

/// The largest ticket accepted, before decoding.
const MAX_TICKET_LEN: usize = 8 * 1024;
const TICKET_CONTEXT: &str = "oauth21-core/pending-authorization";
const TICKET_VERSION: u8 = 1;

/// The sealed contents of a ticket. Only validated, allow-listed fields: never the raw
/// request.
#[derive(Serialize, Deserialize)]
pub(crate) struct TicketPayload {
    v: u8,
    id: String,
    client_id: ClientId,
    redirect_uri: String,
    redirect_uri_in_request: bool,
    scope: Scope,
    resources: ResourceSet,
    state: Option<String>,
    challenge: Option<CodeChallenge>,
    binding: [u8; 32],
    expires_at: UnixTime,
}

/// The associated data of a ticket: the purpose and this server's issuer, so a ticket of
/// one issuer never opens at another that shares its keyring.
fn ticket_context(machine: &Machine) -> Vec<u8> {
    [
        TICKET_CONTEXT.as_bytes(),
        b"\0",
        machine.config.issuer.as_str().as_bytes(),
    ]
    .concat()
}

/// Random bytes per ticket from which its key is derived. Tickets are sealed on
/// unauthenticated requests, so their number is the attacker's to choose: a key per ticket
/// keeps every key far below AES-GCM's limit for random 96-bit nonces.
const SALT_LEN: usize = 16;

fn ticket_key(subkey: &[u8; 32], salt: &[u8]) -> [u8; 32] {
    crate::crypto::hmac(subkey, &[b"ticket-key\0", salt])
}

/// The shortest session binding accepted: 128 bits of a session identifier.
pub const MIN_SESSION_BINDING_LEN: usize = 16;

/// A binding that any browser could present (empty, a constant) would make the ticket
/// usable from any session, defeating its CSRF protection.
fn check_binding(binding: &[u8]) -> Result<(), AuthorizationError> {
    if binding.len() < MIN_SESSION_BINDING_LEN {
        return Err(AuthorizationError::Misuse(ApiMisuse::WeakSessionBinding));
    }
    Ok(())
}

fn binding_digest(binding: &[u8]) -> [u8; 32] {
    Sha256::digest(binding).into()
}

impl Machine {
    /// Seals a pending authorization into a ticket for the login and consent pages, bound
    /// to `session_binding`: a value tied to the user's browser session (for example the
    /// session cookie's id), which must be presented again to resume.
    pub fn seal_ticket(
        &self,
        pending: &PendingAuthorization,
        session_binding: &[u8],
    ) -> Result<String, AuthorizationError> {
        check_binding(session_binding)?;
        let payload = TicketPayload {
            v: TICKET_VERSION,
            id: pending.id.clone(),
            client_id: pending.client_id.clone(),
            redirect_uri: pending.redirect_uri.as_str().to_owned(),
            redirect_uri_in_request: pending.redirect_uri_in_request,
            scope: pending.scope.clone(),
            resources: pending.resources.clone(),
            state: pending.state.clone(),
            challenge: pending.challenge.clone(),
            binding: binding_digest(session_binding),
            expires_at: pending.expires_at,
        };
        let json = serde_json::to_vec(&payload)
            .map_err(|_| AuthorizationError::Fatal(Reason::InternalFailure))?;
        let key = self.config.keyring.primary();
        let salt: [u8; SALT_LEN] = crate::random::random_array(self.config.random.as_ref())
            .map_err(|_| AuthorizationError::Fatal(Reason::InternalFailure))?;
        let sealed = seal(
            &ticket_key(key.subkey(SubkeyPurpose::Ticket), &salt),
            &key.id,
            Purpose::Ticket,
            &ticket_context(self),
            &json,
            self.config.random.as_ref(),
        )
        .map_err(|_| AuthorizationError::Fatal(Reason::InternalFailure))?;
        Ok(URL_SAFE_NO_PAD.encode([salt.as_slice(), &sealed].concat()))
    }

    /// Opens a ticket and asks for its client, to re-validate the request as of now.
    pub fn resume_authorization(
        &self,
        ticket: &str,
        session_binding: &[u8],
        now: UnixTime,
    ) -> AuthorizeStep<'_> {
        if let Err(misuse) = check_binding(session_binding) {
            return AuthorizeStep::Done(Err(misuse));
        }
        match self.open_ticket(ticket, session_binding, now) {
            Ok(payload) => self.authorize_client(
                now,
                payload.client_id.clone(),
                Source::Ticket(Box::new(payload)),
            ),
            Err(reason) => {
                tracing::warn!(?reason, "pending-authorization ticket refused");
                AuthorizeStep::Done(Err(AuthorizationError::Fatal(reason)))
            }
        }
    }

    fn open_ticket(
        &self,
        ticket: &str,
        session_binding: &[u8],
        now: UnixTime,
    ) -> Result<TicketPayload, Reason> {
        if ticket.len() > MAX_TICKET_LEN {
            return Err(Reason::InvalidTicket);
        }
        let sealed = URL_SAFE_NO_PAD
            .decode(ticket)
            .map_err(|_| Reason::InvalidTicket)?;
        if sealed.len() < SALT_LEN {
            return Err(Reason::InvalidTicket);
        }
        let (salt, sealed) = sealed.split_at(SALT_LEN);
        let json = open(sealed, Purpose::Ticket, &ticket_context(self), |kid| {
            self.config
                .keyring
                .by_id(kid)
                .map(|key| ticket_key(key.subkey(SubkeyPurpose::Ticket), salt))
        })
        .map_err(|_| Reason::InvalidTicket)?;
        let payload: TicketPayload =
            serde_json::from_slice(&json).map_err(|_| Reason::InvalidTicket)?;
        if payload.v != TICKET_VERSION || payload.expires_at.is_expired_at(now) {
            return Err(Reason::InvalidTicket);
        }
        let expected = binding_digest(session_binding);
        if !bool::from(payload.binding.ct_eq(&expected)) {
            return Err(Reason::TicketBindingMismatch);
        }
        Ok(payload)
    }
}

/// Re-validates a resumed request against the client as it is now.
pub(crate) fn revalidate(
    machine: &Machine,
    client: &Client,
    payload: TicketPayload,
    shown: ClientDisplay,
) -> Result<PendingAuthorization, AuthorizationError> {
    let redirect_uri = rematch_redirect(
        machine,
        client,
        &payload.redirect_uri,
        payload.redirect_uri_in_request,
    )
    .map_err(AuthorizationError::Fatal)?;
    // The same order and reasons as a fresh request: a withdrawn grant type is
    // `unauthorized_client`, a scope the client may no longer request `invalid_scope`.
    let withdrawn = if !client.allows_grant(GrantType::AuthorizationCode) {
        Some(Reason::GrantTypeNotAllowed)
    } else if !scope::client_allows(
        &payload.scope,
        &machine.config.scopes,
        ClientScope::of(&machine.config, client),
    ) {
        Some(Reason::ScopeNotAllowed)
    } else {
        None
    };
    if let Some(reason) = withdrawn {
        return Err(error_redirect(
            &redirect_uri,
            payload.state.as_deref(),
            machine.config.issuer.as_str(),
            reason,
            true,
        ));
    }
    Ok(PendingAuthorization {
        id: payload.id,
        client_id: client.id.clone(),
        client_name: client.name.clone(),
        redirect_uri,
        redirect_uri_in_request: payload.redirect_uri_in_request,
        scope: payload.scope,
        resources: payload.resources,
        state: payload.state,
        challenge: payload.challenge,
        expires_at: payload.expires_at,
        client_id_host: shown.client_id_host,
        redirect_uris_loopback_only: shown.redirect_uris_loopback_only,
    })
}
