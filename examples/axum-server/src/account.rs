//! "Authorized apps": the signed-in user's grants, each revocable. Revoking a grant
//! revokes every code, access token and refresh token issued under it.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Extension;
use http::{HeaderMap, StatusCode};
use oauth_axum::Page;
use oauth_core::model::GrantRecord;
use oauth_core::{Store, UnixTime};
use serde::Deserialize;

use crate::app::{error_page, AppState, PageForm, Visitor};
use crate::authorize::refuse_forged;
use crate::pages::{self, GrantView};

/// The page; an anonymous visitor signs in first.
pub(crate) async fn page<S: Store>(
    State(app): State<AppState<S>>,
    Extension(visitor): Extension<Visitor>,
) -> Response {
    let Some(user) = &visitor.user else {
        return Redirect::to("/login?return_to=/account").into_response();
    };
    let grants = match app.provider.grants_for_user(user).await {
        Ok(grants) => grants,
        Err(error) => return unavailable(&error),
    };
    let mut views = Vec::with_capacity(grants.len());
    for grant in &grants {
        views.push(view(&app, grant).await);
    }
    let csrf = app.csrf_token(&visitor);
    Page::ok(pages::account(user.as_str(), &csrf, &views)).into_response()
}

async fn view<S: Store>(app: &AppState<S>, grant: &GrantRecord) -> GrantView {
    // A deleted client still shows, by id.
    let client = match app.provider.store().client(&grant.client_id).await {
        Ok(Some(client)) => client
            .name
            .unwrap_or_else(|| grant.client_id.as_str().to_owned()),
        _ => grant.client_id.as_str().to_owned(),
    };
    GrantView {
        id: grant.id.as_str().to_owned(),
        client,
        scope: grant.scope.to_string(),
        resources: grant
            .resources
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        since: utc(grant.created_at),
    }
}

/// What the Revoke button posts.
#[derive(Deserialize)]
pub(crate) struct RevokeForm {
    csrf: String,
    grant: String,
}

/// Revokes one of the signed-in user's grants (and only theirs).
pub(crate) async fn revoke<S: Store>(
    State(app): State<AppState<S>>,
    Extension(visitor): Extension<Visitor>,
    headers: HeaderMap,
    PageForm(form): PageForm<RevokeForm>,
) -> Response {
    if let Some(refused) = refuse_forged(&app, &visitor, &headers, &form.csrf) {
        return refused;
    }
    let Some(user) = &visitor.user else {
        return Redirect::to("/login?return_to=/account").into_response();
    };
    let grants = match app.provider.grants_for_user(user).await {
        Ok(grants) => grants,
        Err(error) => return unavailable(&error),
    };
    let Some(grant) = grants.iter().find(|g| g.id.as_str() == form.grant) else {
        return error_page(
            StatusCode::NOT_FOUND,
            "Not found",
            "You have no such authorized app.",
        );
    };
    if let Err(error) = app.provider.revoke_grant(&grant.id).await {
        return unavailable(&error);
    }
    tracing::info!(event = "grant_revoked_by_user", user = %user, client_id = %grant.client_id);
    Redirect::to("/account").into_response()
}

fn unavailable(error: &oauth_core::StoreError) -> Response {
    tracing::error!(%error, "store unavailable");
    error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Unavailable",
        "Your apps cannot be shown right now. Please try again later.",
    )
}

/// An HTTP date (`Tue, 24 Nov 2026 19:14:49 GMT`).
fn utc(time: UnixTime) -> String {
    httpdate::fmt_http_date(std::time::UNIX_EPOCH + std::time::Duration::from_secs(time.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grant_times_are_shown_as_utc_dates() {
        assert_eq!(utc(UnixTime(0)), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(utc(UnixTime(951_782_400)), "Tue, 29 Feb 2000 00:00:00 GMT");
    }
}
