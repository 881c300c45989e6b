//! The demo API: `GET /api/me` answers who the bearer token speaks for.

use oauth_core::model::UserId;
use oauth_core::Access;
use serde_json::{json, Value};

/// The token's user (absent for a client-credentials token), client, scope and
/// audience. The framework's bearer middleware has already checked the token and the
/// `profile` scope.
#[must_use]
pub fn me(access: &Access) -> Value {
    json!({
        "user": access.user_id.as_ref().map(UserId::as_str),
        "client_id": access.client_id.as_str(),
        "scope": access.scope.to_string(),
        "audience": access.audience.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        "expires_at": access.expires_at.0,
    })
}
