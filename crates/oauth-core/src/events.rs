//! Security events: what an audit log, a metrics system or a rate limiter wants to know.
//!
//! The machine reports each event to the configured [`EventSink`] as it decides, so the
//! host can throttle clients that fail authentication (OAuth 2.1 §2.4.1 requires brute-force
//! protection wherever secrets are accepted), alert on code replay, and keep an audit trail.
//! Events never carry a credential, a secret or props.

use crate::crypto::TokenKind;
use crate::error::Reason;
use crate::model::{ClientId, GrantId};

/// A security-relevant decision.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecurityEvent<'a> {
    /// A client failed to authenticate at the token endpoint.
    ClientAuthenticationFailed {
        /// The client id presented (it may name no client).
        client_id: &'a ClientId,
        /// Why.
        reason: Reason,
    },
    /// A redeemed authorization code was presented again, validly: its grant is revoked.
    CodeReplayed {
        /// The client.
        client_id: &'a ClientId,
        /// The grant being revoked.
        grant_id: &'a GrantId,
    },
    /// A retired refresh token was presented again by its client: its grant is revoked.
    RefreshTokenReused {
        /// The client.
        client_id: &'a ClientId,
        /// The grant being revoked.
        grant_id: &'a GrantId,
    },
    /// A pending authorization was completed a second time (ticket replay).
    PendingAuthorizationReplayed {
        /// The client of the pending authorization.
        client_id: &'a ClientId,
    },
    /// A client revoked one of its tokens (RFC 7009), for the audit trail: an access
    /// token (that token only) or a refresh token (its whole grant).
    TokenRevoked {
        /// The client that revoked its token.
        client_id: &'a ClientId,
        /// The grant the token belongs to (revoked entirely for a refresh token).
        grant_id: &'a GrantId,
        /// The kind of token revoked.
        kind: TokenKind,
    },
    /// A registration request (initial access token) or a client-management request
    /// (registration access token) presented a credential that was refused: throttle the
    /// caller as for a failed client authentication.
    RegistrationCredentialRejected {
        /// Why.
        reason: Reason,
    },
}

/// Receives security events. Called synchronously on the request path: keep it cheap
/// (hand the event to a channel for anything slow).
pub trait EventSink: Send + Sync + 'static {
    /// Records one event.
    fn record(&self, event: &SecurityEvent<'_>);
}

/// The default sink: each event becomes a `tracing` event at `warn` level (`info` for a
/// token revocation, which is routine), with the target `oauth_core::security`.
#[derive(Clone, Copy, Debug, Default)]
pub struct TracingEvents;

impl EventSink for TracingEvents {
    fn record(&self, event: &SecurityEvent<'_>) {
        match event {
            SecurityEvent::ClientAuthenticationFailed { client_id, reason } => tracing::warn!(
                target: "oauth_core::security",
                event = "client_authentication_failed",
                client_id = ?client_id.as_str(),
                reason = ?reason,
            ),
            SecurityEvent::CodeReplayed {
                client_id,
                grant_id,
            } => tracing::warn!(
                target: "oauth_core::security",
                event = "code_replayed",
                client_id = ?client_id.as_str(),
                grant_id = %grant_id,
                "authorization code redeemed twice; revoking its grant"
            ),
            SecurityEvent::RefreshTokenReused {
                client_id,
                grant_id,
            } => tracing::warn!(
                target: "oauth_core::security",
                event = "refresh_token_reused",
                client_id = ?client_id.as_str(),
                grant_id = %grant_id,
                "retired refresh token presented again; revoking its grant"
            ),
            SecurityEvent::PendingAuthorizationReplayed { client_id } => tracing::warn!(
                target: "oauth_core::security",
                event = "pending_authorization_replayed",
                client_id = ?client_id.as_str(),
            ),
            // An expected, client-initiated action: recorded, not a warning.
            SecurityEvent::TokenRevoked {
                client_id,
                grant_id,
                kind,
            } => tracing::info!(
                target: "oauth_core::security",
                event = "token_revoked",
                client_id = ?client_id.as_str(),
                grant_id = %grant_id,
                kind = ?kind,
            ),
            SecurityEvent::RegistrationCredentialRejected { reason } => tracing::warn!(
                target: "oauth_core::security",
                event = "registration_credential_rejected",
                reason = ?reason,
            ),
        }
    }
}
