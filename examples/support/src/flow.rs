//! The pages' handlers, whatever the web framework: home, the authorization endpoint's
//! login and consent pages and their forms, logout, and "authorized apps". Each takes the
//! [`App`], the [`Visitor`] and what the framework extracted (headers, a parsed form or
//! query), and gives a [`Reply`].
//!
//! The pending request travels through the pages as a ticket sealed by the core and bound
//! to the browser cookie, so nothing is stored for a visitor who never finishes. A
//! request the core rejects is shown as a page; an error that belongs to the client is
//! redirected to it only once the user is signed in (OAuth 2.1 §7.13.2): an anonymous
//! visitor signs in first and the request is handled again.

use http::{HeaderMap, StatusCode};
use oauth_core::mcp::RedirectTarget;
use oauth_core::model::{GrantRecord, UserId};
use oauth_core::{
    Approval, AuthorizationError, Decision, ErrorCode, PendingAuthorization, Reason, Store,
    UnixTime,
};
use serde::Deserialize;

use crate::app::{
    continue_page, cookie_leak_page, error_page, ok_page, Answer, App, Reply, Visitor,
};
use crate::browser::same_origin_post;
use crate::pages::{self, ConsentView, GrantView, LoginView};

/// The "authorized apps" page, where a login without a pending request ends.
pub const ACCOUNT_PAGE: &str = "/account";

/// What the login form posts.
#[derive(Deserialize)]
pub struct LoginForm {
    csrf: String,
    username: String,
    password: String,
    ticket: Option<String>,
    return_to: Option<String>,
}

/// Where `/login` may send the browser afterwards (its query).
#[derive(Deserialize)]
pub struct ReturnTo {
    return_to: Option<String>,
}

/// What the consent form posts.
#[derive(Deserialize)]
pub struct ConsentForm {
    csrf: String,
    ticket: String,
    decision: String,
}

/// A form that carries only its CSRF token (logout).
#[derive(Deserialize)]
pub struct CsrfOnly {
    csrf: String,
}

/// What the Revoke button of the "authorized apps" page posts.
#[derive(Deserialize)]
pub struct RevokeForm {
    csrf: String,
    grant: String,
}

/// The home page.
pub fn home<S: Store>(app: &App<S>, visitor: &Visitor) -> Reply {
    let csrf = app.csrf_token(visitor);
    let header = pages::Header {
        user: visitor.user.as_ref().map(UserId::as_str),
        csrf: &csrf,
    };
    ok_page(pages::home(&app.base, app.flavor.glue, &header))
}

/// The authorization endpoint (GET or POST, OAuth 2.1 §4.1.1), given the outcome of the
/// glue's validation. `replay` is the request's path and query when it is a GET, which
/// can be handled again after login (a POST's body is gone).
pub async fn authorize<S: Store>(
    app: &App<S>,
    visitor: &Visitor,
    replay: Option<&str>,
    result: Result<PendingAuthorization, AuthorizationError>,
) -> Reply {
    let pending = match result {
        Ok(pending) => pending,
        Err(error) => return failed(app, visitor, error, replay),
    };
    if app.leaks_cookies(pending.redirect_uri()) {
        return cookie_leak_page();
    }
    if let Some(user) = &app.auto_consent {
        // Any web page the developer opens could register a client with its own https
        // redirect URI and send the browser here: auto-consent serves local tools only.
        if !pending.redirect_uris_loopback_only() {
            tracing::warn!(client_id = %pending.client_id(), "auto-consent refused: a redirect URI is not loopback");
            return error_page(
                StatusCode::FORBIDDEN,
                "Auto-consent refused",
                "Development auto-consent approves only clients whose redirect URIs are all loopback addresses.",
            );
        }
        tracing::warn!(
            user = %user,
            client_id = %pending.client_id(),
            "DEVELOPMENT AUTO-CONSENT: approving without login or consent"
        );
        let decision = Decision::Approve(Approval::new(user.clone()));
        return complete(app, visitor, pending, decision).await;
    }
    let ticket = match app
        .provider
        .seal_ticket(&pending, visitor.browser.as_bytes())
    {
        Ok(ticket) => ticket,
        Err(error) => return failed(app, visitor, error, None),
    };
    match &visitor.user {
        Some(user) => consent_page(app, visitor, user, pending, &ticket),
        None => {
            let csrf = app.csrf_token(visitor);
            login_view(
                StatusCode::OK,
                &LoginView {
                    csrf: &csrf,
                    ticket: Some(&ticket),
                    return_to: None,
                    client: Some(client_label(&pending)),
                    error: None,
                },
            )
        }
    }
}

/// The login page on its own (`/login?return_to=/account`).
pub fn login_page<S: Store>(app: &App<S>, visitor: &Visitor, query: &ReturnTo) -> Reply {
    let csrf = app.csrf_token(visitor);
    let return_to = query
        .return_to
        .as_deref()
        .filter(|target| safe_return_to(app, target));
    login_view(
        StatusCode::OK,
        &LoginView {
            csrf: &csrf,
            ticket: None,
            return_to,
            client: None,
            error: None,
        },
    )
}

/// The login form: check the password, start a session, then continue to the consent
/// page (with a ticket) or back to where the user came from.
pub async fn login<S: Store>(
    app: &App<S>,
    visitor: &Visitor,
    headers: &HeaderMap,
    form: LoginForm,
) -> Reply {
    if let Some(refused) = refuse_forged(app, visitor, headers, &form.csrf) {
        return refused;
    }
    if app.login_gate.locked(&form.username) {
        tracing::warn!(
            event = "login_locked",
            "too many failed logins for one name"
        );
        return error_page(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many attempts",
            "Too many failed sign-ins for this name. Try again in 15 minutes.",
        );
    }
    let Some(permit) = app.login_gate.permit() else {
        return error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Busy",
            "Too many sign-ins at once. Please try again in a moment.",
        );
    };
    let users = std::sync::Arc::clone(&app.users);
    let (name, password) = (form.username.clone(), form.password);
    // Argon2 takes tens of milliseconds of CPU: keep it off the async workers, and hold
    // the permit until it is done.
    let user = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        users.verify(&name, &password)
    })
    .await
    .ok()
    .flatten();
    let Some(user) = user else {
        app.login_gate.failed(&form.username);
        tracing::warn!(event = "login_failed", "wrong user name or password");
        let csrf = app.csrf_token(visitor);
        let return_to = form
            .return_to
            .as_deref()
            .filter(|target| safe_return_to(app, target));
        return login_view(
            StatusCode::UNAUTHORIZED,
            &LoginView {
                csrf: &csrf,
                ticket: form.ticket.as_deref(),
                return_to,
                client: None,
                error: Some("Wrong user name or password."),
            },
        );
    };
    let cookie =
        match app
            .sessions
            .login(user.clone(), &visitor.browser, visitor.session.as_deref())
        {
            Ok(cookie) => cookie,
            Err(error) => {
                tracing::error!(%error, "session not created");
                return error_page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Unavailable",
                    "Signing in is not possible right now. Please try again later.",
                );
            }
        };
    app.login_gate.succeeded(&form.username);
    tracing::info!(event = "login", user = %user);
    let signed_in = Visitor {
        user: Some(user.clone()),
        session: Some(cookie.clone()),
        ..visitor.clone()
    };
    after_login(
        app,
        &signed_in,
        &user,
        form.ticket.as_deref(),
        form.return_to.as_deref(),
    )
    .await
    .with_cookie(app.cookies.set_session(&cookie))
}

/// Where a successful login leads: the consent page of the pending request (`ticket`),
/// or back to `return_to`, or the account page. Anything that leaves the site does so by
/// a new navigation: browsers hold every redirect that follows a form submission to the
/// submitting page's CSP `form-action`, and the login page's does not name the client.
async fn after_login<S: Store>(
    app: &App<S>,
    signed_in: &Visitor,
    user: &UserId,
    ticket: Option<&str>,
    return_to: Option<&str>,
) -> Reply {
    if let Some(ticket) = ticket {
        return match app
            .provider
            .resume_authorization(ticket, signed_in.browser.as_bytes())
            .await
        {
            Ok(pending) => consent_page(app, signed_in, user, pending, ticket),
            Err(error) => {
                let answer = failed(app, signed_in, error, None);
                match answer.location() {
                    Some(target) if app.leaks_cookies(target) => cookie_leak_page(),
                    Some(target) if answer.status().is_redirection() => continue_page(target),
                    _ => answer,
                }
            }
        };
    }
    match return_to.filter(|target| safe_return_to(app, target)) {
        // Back to the authorization request, whose answer may redirect to the client.
        Some(target) if target != ACCOUNT_PAGE => continue_page(target),
        _ => Reply::see_other(ACCOUNT_PAGE),
    }
}

/// The consent form: the signed-in user's decision completes the request, and the
/// browser goes back to the client with a code or `access_denied`.
pub async fn consent<S: Store>(
    app: &App<S>,
    visitor: &Visitor,
    headers: &HeaderMap,
    form: ConsentForm,
) -> Reply {
    if let Some(refused) = refuse_forged(app, visitor, headers, &form.csrf) {
        return refused;
    }
    let Some(user) = visitor.user.clone() else {
        // The session ended while the page was open: sign in again, same request.
        let csrf = app.csrf_token(visitor);
        return login_view(
            StatusCode::UNAUTHORIZED,
            &LoginView {
                csrf: &csrf,
                ticket: Some(&form.ticket),
                return_to: None,
                client: None,
                error: Some("Your session ended. Sign in again to continue."),
            },
        );
    };
    let decision = match form.decision.as_str() {
        "approve" => Decision::Approve(Approval::new(user.clone())),
        "deny" => Decision::Deny,
        _ => return error_page(StatusCode::BAD_REQUEST, "Bad request", "Unknown decision."),
    };
    let pending = match app
        .provider
        .resume_authorization(&form.ticket, visitor.browser.as_bytes())
        .await
    {
        Ok(pending) => pending,
        Err(error) => return failed(app, visitor, error, None),
    };
    tracing::info!(
        event = "consent",
        user = %user,
        client_id = %pending.client_id(),
        approved = matches!(decision, Decision::Approve(_)),
    );
    complete(app, visitor, pending, decision).await
}

/// Ends the session.
pub fn logout<S: Store>(
    app: &App<S>,
    visitor: &Visitor,
    headers: &HeaderMap,
    form: &CsrfOnly,
) -> Reply {
    if let Some(refused) = refuse_forged(app, visitor, headers, &form.csrf) {
        return refused;
    }
    if let Some(session) = &visitor.session {
        app.sessions.logout(session);
    }
    Reply::see_other("/").with_cookie(app.cookies.clear_session())
}

/// Refuses a form that came from another site or without this browser's CSRF token.
fn refuse_forged<S: Store>(
    app: &App<S>,
    visitor: &Visitor,
    headers: &HeaderMap,
    csrf: &str,
) -> Option<Reply> {
    if same_origin_post(headers, &app.origin) && app.csrf.verify(&visitor.browser, csrf) {
        return None;
    }
    tracing::warn!(event = "form_refused", "cross-site or stale form");
    Some(error_page(
        StatusCode::FORBIDDEN,
        "Form expired",
        "This form expired or came from another site. Go back, reload the page and try again (cookies must be enabled).",
    ))
}

async fn complete<S: Store>(
    app: &App<S>,
    visitor: &Visitor,
    pending: PendingAuthorization,
    decision: Decision,
) -> Reply {
    match app.provider.complete_authorization(pending, decision).await {
        Ok(redirect) => Reply::new(Answer::Core(Box::new(redirect))),
        Err(error) => failed(app, visitor, error, None),
    }
}

/// A failed authorization request: the error redirect for a signed-in user, the login
/// page first for an anonymous one when the request can be replayed (`again`), otherwise
/// an error page.
fn failed<S: Store>(
    app: &App<S>,
    visitor: &Visitor,
    error: AuthorizationError,
    again: Option<&str>,
) -> Reply {
    match (&error, visitor.user.as_ref(), again) {
        (AuthorizationError::Redirect(_), Some(user), _) => {
            Reply::new(Answer::Core(Box::new(error.into_response(Some(user)))))
        }
        // Development auto-consent answers for its user, to loopback clients only (as
        // it approves only them).
        (AuthorizationError::Redirect(_), None, _) if app.auto_consent.is_some() => {
            let answer = Reply::new(Answer::Core(Box::new(
                error.into_response(app.auto_consent.as_ref()),
            )));
            let loopback = answer
                .location()
                .and_then(RedirectTarget::of_uri)
                .is_some_and(|target| target.loopback);
            if loopback {
                answer
            } else {
                error_page(
                    StatusCode::FORBIDDEN,
                    "Auto-consent refused",
                    "Development auto-consent answers only clients on this computer.",
                )
            }
        }
        (AuthorizationError::Redirect(_), None, Some(again)) if safe_return_to(app, again) => {
            let csrf = app.csrf_token(visitor);
            login_view(
                StatusCode::OK,
                &LoginView {
                    csrf: &csrf,
                    ticket: None,
                    return_to: Some(again),
                    client: None,
                    error: None,
                },
            )
        }
        _ => {
            let reason = error.reason().unwrap_or(Reason::InternalFailure);
            tracing::info!(event = "authorization_refused", reason = ?reason);
            let status = match reason.code() {
                ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
                _ => StatusCode::BAD_REQUEST,
            };
            error_page(
                status,
                "Authorization request refused",
                reason.description(),
            )
        }
    }
}

/// Only this server's own pages: the authorization endpoint with its query, or the
/// account page. Anything else (another host, `//host`, a scheme) would make login an
/// open redirector.
fn safe_return_to<S: Store>(app: &App<S>, target: &str) -> bool {
    let authorize = &app.provider.config().endpoints().authorization;
    let ours = target == ACCOUNT_PAGE
        || target
            .strip_prefix(authorize.as_str())
            .is_some_and(|rest| rest.starts_with('?'));
    ours && target.bytes().all(|b| b.is_ascii_graphic())
}

fn client_label(pending: &PendingAuthorization) -> &str {
    pending
        .client_name()
        .unwrap_or(pending.client_id().as_str())
}

fn login_view(status: StatusCode, view: &LoginView<'_>) -> Reply {
    Reply::new(Answer::Page {
        status,
        html: pages::login(view),
    })
}

fn consent_page<S: Store>(
    app: &App<S>,
    visitor: &Visitor,
    user: &UserId,
    pending: PendingAuthorization,
    ticket: &str,
) -> Reply {
    let csrf = app.csrf_token(visitor);
    let target = RedirectTarget::of(&pending);
    let view = ConsentView {
        user: user.as_str(),
        csrf: &csrf,
        ticket,
        client_name: pending.client_name(),
        client_id: pending.client_id().as_str(),
        redirect_host: target
            .as_ref()
            .map(|t| t.host.clone())
            .or_else(|| pending.redirect_uri_host()),
        loopback: target.as_ref().is_some_and(|t| t.loopback),
        scopes: pending.scope().iter().collect(),
        resources: pending.resources().iter().map(|r| r.as_str()).collect(),
    };
    let html = pages::consent(&view);
    Reply::new(Answer::Consent {
        html,
        pending: Box::new(pending),
    })
}

/// "Authorized apps": the signed-in user's grants, each revocable; an anonymous visitor
/// signs in first. Revoking a grant revokes every code, access token and refresh token
/// issued under it.
pub async fn account<S: Store>(app: &App<S>, visitor: &Visitor) -> Reply {
    let Some(user) = &visitor.user else {
        return Reply::see_other("/login?return_to=/account");
    };
    let grants = match app.provider.grants_for_user(user).await {
        Ok(grants) => grants,
        Err(error) => return unavailable(&error),
    };
    let mut views = Vec::with_capacity(grants.len());
    for grant in &grants {
        views.push(grant_view(app, grant).await);
    }
    let csrf = app.csrf_token(visitor);
    ok_page(pages::account(user.as_str(), &csrf, &views))
}

async fn grant_view<S: Store>(app: &App<S>, grant: &GrantRecord) -> GrantView {
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

/// Revokes one of the signed-in user's grants (and only theirs).
pub async fn revoke<S: Store>(
    app: &App<S>,
    visitor: &Visitor,
    headers: &HeaderMap,
    form: &RevokeForm,
) -> Reply {
    if let Some(refused) = refuse_forged(app, visitor, headers, &form.csrf) {
        return refused;
    }
    let Some(user) = &visitor.user else {
        return Reply::see_other("/login?return_to=/account");
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
    Reply::see_other(ACCOUNT_PAGE)
}

fn unavailable(error: &oauth_core::StoreError) -> Reply {
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
