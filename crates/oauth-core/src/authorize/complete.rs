//! Completing an authorization: the host's decision becomes the redirect.

use sha2::{Digest, Sha256};

use super::{error_redirect, AuthorizationError, PendingAuthorization};
use crate::crypto::{new_props_key, Props, TokenKind};
use crate::error::{ApiMisuse, Reason, StoreError};
use crate::machine::Machine;
use crate::model::{CodeRecord, GrantId, GrantRecord, Subject, UserId};
use crate::response::{redirect, HttpResponse};
use crate::scope::Scope;
use crate::secret::Secret;
use crate::store::OnceKey;
use crate::time::UnixTime;

/// What the resource owner decided.
#[derive(Debug)]
#[non_exhaustive]
pub enum Decision {
    /// The user approved.
    Approve(Approval),
    /// The user denied: `access_denied` goes back to the client. A denial completes the
    /// pending authorization like an approval does, so its ticket cannot be replayed into
    /// an approval afterwards.
    Deny,
}

/// What the user approved. `Debug` never shows the props.
pub struct Approval {
    /// The authenticated user (OAuth 2.1 §3.1: authenticate before issuing a code).
    pub user_id: UserId,
    /// The approved scope, within the requested one; `None` approves all of it.
    pub scope: Option<Scope>,
    /// Host data to attach to the grant, returned with every access; stored encrypted.
    pub props: Option<Props>,
}

impl std::fmt::Debug for Approval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Approval")
            .field("user_id", &self.user_id)
            .field("scope", &self.scope)
            .field(
                "props",
                &self.props.as_ref().map(|_| crate::crypto::REDACTED),
            )
            .finish()
    }
}

impl Approval {
    /// Approval of everything requested, for `user_id`.
    #[must_use]
    pub fn new(user_id: UserId) -> Self {
        Approval {
            user_id,
            scope: None,
            props: None,
        }
    }
}

/// What completing an authorization needs next.
#[allow(
    clippy::large_enum_variant,
    reason = "short-lived values moved a few times per request; boxing would allocate per step"
)]
#[must_use = "a step must be answered or its result used"]
#[non_exhaustive]
pub enum CompleteStep<'m> {
    /// Mark the pending authorization used: [`Store::insert_once`](crate::Store::insert_once).
    NeedsMarker(PendingMarker<'m>),
    /// Store the grant and its code: [`Store::create_grant_with_code`](crate::Store::create_grant_with_code).
    Persist(GrantCreation<'m>),
    /// Done: the redirect to send, or an error.
    Done(Result<HttpResponse, AuthorizationError>),
}

/// Asks to mark a pending authorization as completed (approved or denied), so it
/// completes once.
pub struct PendingMarker<'m> {
    machine: &'m Machine,
    now: UnixTime,
    pending: PendingAuthorization,
    decision: Decision,
    key: OnceKey,
}

impl<'m> PendingMarker<'m> {
    /// The machine this step belongs to.
    pub(crate) fn machine(&self) -> &'m Machine {
        self.machine
    }

    /// The one-time marker.
    #[must_use]
    pub fn key(&self) -> OnceKey {
        self.key
    }

    /// How long the marker must be kept: as long as the ticket could be presented.
    #[must_use]
    pub fn expires_at(&self) -> UnixTime {
        self.pending.expires_at
    }

    /// The time of the request.
    #[must_use]
    pub fn now(&self) -> UnixTime {
        self.now
    }

    /// Continues with the store's answer (`true`: the marker was new).
    pub fn resume(self, answer: Result<bool, StoreError>) -> CompleteStep<'m> {
        match answer {
            Ok(true) => match self.decision {
                Decision::Approve(approval) => {
                    issue_code(self.machine, self.now, self.pending, approval)
                }
                Decision::Deny => CompleteStep::Done(Err(error_redirect(
                    &self.pending.redirect_uri,
                    self.pending.state.as_deref(),
                    self.machine.config.issuer.as_str(),
                    Reason::UserDenied,
                    true,
                ))),
            },
            Ok(false) => {
                self.machine
                    .event(crate::events::SecurityEvent::PendingAuthorizationReplayed {
                        client_id: &self.pending.client_id,
                    });
                CompleteStep::Done(Err(AuthorizationError::Fatal(Reason::TicketReplayed)))
            }
            Err(e) => {
                tracing::error!(error = %e, "store failed while completing an authorization");
                CompleteStep::Done(Err(unavailable(self.machine, &self.pending)))
            }
        }
    }
}

/// Asks to store a new grant with its first code.
pub struct GrantCreation<'m> {
    machine: &'m Machine,
    pending: PendingAuthorization,
    grant: GrantRecord,
    code_record: CodeRecord,
    location: String,
}

impl<'m> GrantCreation<'m> {
    /// The grant to store.
    #[must_use]
    pub fn grant(&self) -> &GrantRecord {
        &self.grant
    }

    /// The code to store with it.
    #[must_use]
    pub fn code(&self) -> &CodeRecord {
        &self.code_record
    }

    /// Continues with the store's answer: the redirect carrying the code, or an error
    /// redirect (OAuth 2.1 §4.1.2.1: never a bare 500 after the redirect URI is known).
    pub fn resume(self, answer: Result<(), StoreError>) -> CompleteStep<'m> {
        match answer {
            Ok(()) => CompleteStep::Done(Ok(redirect(&self.location, true))),
            Err(e) => {
                tracing::error!(error = %e, "store failed while issuing a code");
                CompleteStep::Done(Err(unavailable(self.machine, &self.pending)))
            }
        }
    }
}

fn unavailable(machine: &Machine, pending: &PendingAuthorization) -> AuthorizationError {
    error_redirect(
        &pending.redirect_uri,
        pending.state.as_deref(),
        machine.config.issuer.as_str(),
        Reason::StoreUnavailable,
        true,
    )
}

impl Machine {
    /// Completes a pending authorization with the host's decision.
    pub fn complete_authorization(
        &self,
        pending: PendingAuthorization,
        decision: Decision,
        now: UnixTime,
    ) -> CompleteStep<'_> {
        if pending.expires_at.is_expired_at(now) {
            return CompleteStep::Done(Err(AuthorizationError::Fatal(Reason::InvalidTicket)));
        }
        // A wider approval is the host's bug: refused before the pending authorization is
        // marked used, so a corrected approval can still complete it.
        if let Decision::Approve(approval) = &decision {
            if let Some(scope) = &approval.scope {
                if !scope.is_subset_of(&pending.scope) {
                    return CompleteStep::Done(Err(AuthorizationError::Misuse(
                        ApiMisuse::ApprovedScopeWidened,
                    )));
                }
                // Approving nothing is a denial; a token response would otherwise carry no
                // `scope` and look like a grant of everything requested (OAuth 2.1 §3.2.3).
                if scope.is_empty() && !pending.scope.is_empty() {
                    return CompleteStep::Done(Err(AuthorizationError::Misuse(
                        ApiMisuse::ApprovedScopeEmpty,
                    )));
                }
            }
        }
        let digest = Sha256::new()
            .chain_update(b"oauth21-core/pending\0")
            .chain_update(pending.id.as_bytes())
            .finalize();
        CompleteStep::NeedsMarker(PendingMarker {
            machine: self,
            now,
            key: OnceKey {
                namespace: "pending",
                key: digest.into(),
            },
            pending,
            decision,
        })
    }
}

fn issue_code(
    machine: &Machine,
    now: UnixTime,
    pending: PendingAuthorization,
    approval: Approval,
) -> CompleteStep<'_> {
    match build_grant(machine, now, &pending, approval) {
        Ok((grant, code_record, code)) => {
            let mut pairs = vec![("code", code.expose())];
            // `state` is echoed exactly when it was sent (an empty one counts as absent).
            if let Some(state) = pending.state.as_deref() {
                pairs.push(("state", state));
            }
            pairs.push(("iss", machine.config.issuer.as_str()));
            let location = pending.redirect_uri.with_query(&pairs);
            CompleteStep::Persist(GrantCreation {
                machine,
                pending,
                grant,
                code_record,
                location,
            })
        }
        Err(reason) => CompleteStep::Done(Err(error_redirect(
            &pending.redirect_uri,
            pending.state.as_deref(),
            machine.config.issuer.as_str(),
            reason,
            true,
        ))),
    }
}

fn build_grant(
    machine: &Machine,
    now: UnixTime,
    pending: &PendingAuthorization,
    approval: Approval,
) -> Result<(GrantRecord, CodeRecord, Secret), Reason> {
    let config = &machine.config;
    let random = config.random.as_ref();
    let grant_id = GrantId::new(machine.new_id()?);
    let scope = approval.scope.unwrap_or_else(|| pending.scope.clone());
    let code = machine.new_token(TokenKind::AuthorizationCode)?;
    let (props, props_key) = match &approval.props {
        None => (None, None),
        Some(props) => {
            let key = new_props_key(random).map_err(|_| Reason::InternalFailure)?;
            let sealed = key
                .seal_props(props, grant_id.as_str(), pending.client_id.as_str(), random)
                .map_err(|_| Reason::InternalFailure)?;
            let wrapped = key
                .wrap(
                    &config.keyring,
                    TokenKind::AuthorizationCode,
                    code.expose(),
                    grant_id.as_str(),
                    random,
                )
                .map_err(|_| Reason::InternalFailure)?;
            (Some(sealed), Some(wrapped))
        }
    };
    let grant_expires_at = now.plus(config.lifetimes.grant);
    let grant = GrantRecord {
        id: grant_id.clone(),
        subject: Subject::User(approval.user_id),
        client_id: pending.client_id.clone(),
        scope: scope.clone(),
        resources: pending.resources.clone(),
        props,
        created_at: now,
        expires_at: grant_expires_at,
    };
    let code_record = CodeRecord {
        hash: machine.hash(&code),
        grant_id,
        client_id: pending.client_id.clone(),
        redirect_uri: pending.redirect_uri.as_str().to_owned(),
        redirect_uri_in_request: pending.redirect_uri_in_request,
        challenge: pending.challenge.clone(),
        scope,
        resources: pending.resources.clone(),
        props_key,
        grant_expires_at,
        expires_at: now.plus(config.lifetimes.authorization_code),
    };
    Ok((grant, code_record, code))
}
