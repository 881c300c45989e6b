//! OAuth 2.1 §4.1.1-§4.1.2 and DESIGN §3: the sealed pending-authorization ticket.
//!
//! The ticket carries a validated authorization request across the host's login and
//! consent pages: sealed, expiring and bound to the browser session; completing it is
//! re-validated against the client as it is now, and happens once (approve or deny).

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use common::*;
use http::StatusCode;
use oauth_core::model::{Client, GrantType, UserId};
use oauth_core::scope::Scope;
use oauth_core::{
    ApiMisuse, Approval, AuthorizationError, Decision, KeyId, Keyring, NewClient,
    PendingAuthorization, Provider, Reason, SecureRandom, Store,
};
use oauth_store_testkit::instrumented::Op;

const BINDING: &[u8] = b"session-cookie-id-1";

/// Begins the usual request (scope `read write`, the resource, state `xyz`) and seals it
/// to `BINDING`.
async fn sealed(h: &Harness, client_id: &str) -> (PendingAuthorization, String) {
    let pending = h
        .begin_with(
            client_id,
            &[("scope", "read write"), ("resource", RESOURCE)],
        )
        .await
        .unwrap();
    let ticket = h.provider.seal_ticket(&pending, BINDING).unwrap();
    (pending, ticket)
}

async fn resume(
    h: &Harness,
    ticket: &str,
    binding: &[u8],
) -> Result<PendingAuthorization, AuthorizationError> {
    h.provider.resume_authorization(ticket, binding).await
}

fn approval(user: &str, scope: Option<&str>) -> Decision {
    Decision::Approve(Approval {
        scope: scope.map(|s| Scope::parse(s).unwrap()),
        ..Approval::new(UserId::new(user))
    })
}

async fn grants_of(h: &Harness, user: &str) -> usize {
    h.provider
        .grants_for_user(&UserId::new(user))
        .await
        .unwrap()
        .len()
}

// ---- Round trip ----

#[tokio::test]
async fn ticket_round_trip_keeps_client_scope_resources_and_state() {
    let h = Harness::new();
    let client = h
        .register(NewClient {
            name: Some("Example App".to_owned()),
            ..NewClient::public(vec![REDIRECT.to_owned()])
        })
        .await
        .0;
    let (pending, ticket) = sealed(&h, client.id.as_str()).await;
    // The ticket is opaque: neither its text nor its bytes show what it carries.
    let bytes = URL_SAFE_NO_PAD.decode(&ticket).unwrap();
    for secret in [client.id.as_str(), REDIRECT, CHALLENGE] {
        assert!(!ticket.contains(secret));
        assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()));
    }
    let resumed = resume(&h, &ticket, BINDING).await.unwrap();
    assert_eq!(resumed.client_id(), pending.client_id());
    assert_eq!(resumed.client_name(), Some("Example App"));
    assert_eq!(resumed.scope(), pending.scope());
    assert_eq!(resumed.scope(), &Scope::parse("read write").unwrap());
    assert_eq!(resumed.resources(), pending.resources());
    assert_eq!(resumed.redirect_uri(), REDIRECT);
    assert_eq!(resumed.expires_at(), pending.expires_at());

    // State, redirect URI and PKCE challenge survive: the code redeems with the verifier.
    let response = h.approve(resumed, "alice").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let params = location_params(&response);
    assert_eq!(params["state"], "xyz");
    assert_eq!(params["iss"], ISSUER);
    let (status, body, _) = h.redeem_public(client.id.as_str(), &params["code"]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "read write");
}

#[tokio::test]
async fn ticket_round_trip_without_state_sends_no_state() {
    let h = Harness::new();
    let client = h.public_client().await;
    let pending = h
        .begin_with(client.id.as_str(), &[("state", "")])
        .await
        .unwrap();
    let ticket = h.provider.seal_ticket(&pending, BINDING).unwrap();
    let resumed = resume(&h, &ticket, BINDING).await.unwrap();
    let response = h.approve(resumed, "alice").await;
    assert!(!location_params(&response).contains_key("state"));
}

#[tokio::test]
async fn ticket_redirect_uri_omitted_in_the_request_stays_omitted() {
    // The code remembers whether redirect_uri was sent (OAuth 2.1 §4.1.3): a ticket must
    // not turn an omitted one into a sent one.
    let h = Harness::new();
    let client = h.public_client().await;
    let pending = h
        .begin_with(client.id.as_str(), &[("redirect_uri", "")])
        .await
        .unwrap();
    let ticket = h.provider.seal_ticket(&pending, BINDING).unwrap();
    let resumed = resume(&h, &ticket, BINDING).await.unwrap();
    let code = location_params(&h.approve(resumed, "alice").await)["code"].clone();
    let (status, body, _) = h
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("client_id", client.id.as_str()),
                ("code_verifier", VERIFIER),
            ],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

// ---- Integrity ----

#[tokio::test]
async fn ticket_with_any_byte_flipped_is_invalid() {
    let h = Harness::new();
    let client = h.public_client().await;
    let (_, ticket) = sealed(&h, client.id.as_str()).await;
    let bytes = URL_SAFE_NO_PAD.decode(&ticket).unwrap();
    for i in 0..bytes.len() {
        for mask in [0x01u8, 0x80] {
            let mut tampered = bytes.clone();
            tampered[i] ^= mask;
            let forged = URL_SAFE_NO_PAD.encode(&tampered);
            assert_eq!(
                expect_fatal(resume(&h, &forged, BINDING).await),
                Reason::InvalidTicket,
                "byte {i} ^ {mask:#x}"
            );
        }
    }
    // Characters of the text form too (some of these only break the encoding).
    for i in 0..ticket.len() {
        let mut chars: Vec<char> = ticket.chars().collect();
        chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
        let forged: String = chars.into_iter().collect();
        assert_eq!(
            expect_fatal(resume(&h, &forged, BINDING).await),
            Reason::InvalidTicket,
            "char {i}"
        );
    }
    // The genuine ticket still opens.
    assert!(resume(&h, &ticket, BINDING).await.is_ok());
}

#[tokio::test]
async fn truncated_or_extended_ticket_is_invalid() {
    let h = Harness::new();
    let client = h.public_client().await;
    let (_, ticket) = sealed(&h, client.id.as_str()).await;
    for len in 0..ticket.len() {
        assert_eq!(
            expect_fatal(resume(&h, &ticket[..len], BINDING).await),
            Reason::InvalidTicket,
            "length {len}"
        );
    }
    for extended in [
        format!("{ticket}A"),
        format!("{ticket}AAAA"),
        format!("A{ticket}"),
    ] {
        assert_eq!(
            expect_fatal(resume(&h, &extended, BINDING).await),
            Reason::InvalidTicket
        );
    }
}

#[tokio::test]
async fn garbage_ticket_is_invalid() {
    let h = Harness::new();
    let mut random = [0u8; 300];
    oauth_core::OsRandom.fill(&mut random).unwrap();
    let garbage = [
        String::new(),
        "garbage".to_owned(),
        "!!!!".to_owned(),
        "ticket with spaces".to_owned(),
        "\u{0}\u{1}".to_owned(),
        "é".repeat(50),
        URL_SAFE_NO_PAD.encode(random),
        URL_SAFE_NO_PAD.encode(b"{\"v\":1,\"client_id\":\"x\"}"),
        "A".repeat(100_000),
    ];
    for ticket in &garbage {
        assert_eq!(
            expect_fatal(resume(&h, ticket, BINDING).await),
            Reason::InvalidTicket,
            "{:?}",
            &ticket[..ticket.len().min(40)]
        );
    }
}

#[tokio::test]
async fn ticket_sealed_under_another_keyring_does_not_open() {
    let sealer = Harness::new();
    let other = Harness::new();
    let client = sealer.public_client().await;
    other.provider.store().put_client(&client).await.unwrap();
    let (_, ticket) = sealed(&sealer, client.id.as_str()).await;
    assert_eq!(
        expect_fatal(resume(&other, &ticket, BINDING).await),
        Reason::InvalidTicket
    );
    assert!(resume(&sealer, &ticket, BINDING).await.is_ok());
}

#[tokio::test]
async fn ticket_sealed_before_a_key_rotation_still_opens() {
    let mut old_secret = [0u8; 32];
    let mut new_secret = [0u8; 32];
    oauth_core::OsRandom.fill(&mut old_secret).unwrap();
    oauth_core::OsRandom.fill(&mut new_secret).unwrap();
    let old_keys = || Keyring::from_secret(KeyId::new("2026-01").unwrap(), &old_secret).unwrap();
    let before = Harness::with(|b| b.keys(old_keys()));
    let client = before.public_client().await;
    let (_, ticket) = sealed(&before, client.id.as_str()).await;

    let rotated = Keyring::from_secret(KeyId::new("2026-02").unwrap(), &new_secret)
        .unwrap()
        .with_previous(KeyId::new("2026-01").unwrap(), &old_secret)
        .unwrap();
    let after = Harness::with(|b| b.keys(rotated));
    after.provider.store().put_client(&client).await.unwrap();
    let resumed = resume(&after, &ticket, BINDING).await.unwrap();
    assert_eq!(resumed.client_id(), &client.id);
    // A ring that dropped the old key no longer opens it.
    let dropped = Harness::with(|b| {
        b.keys(Keyring::from_secret(KeyId::new("2026-02").unwrap(), &new_secret).unwrap())
    });
    dropped.provider.store().put_client(&client).await.unwrap();
    assert_eq!(
        expect_fatal(resume(&dropped, &ticket, BINDING).await),
        Reason::InvalidTicket
    );
}

// ---- Session binding (CSRF) ----

#[tokio::test]
async fn ticket_resumed_with_another_session_binding_is_refused() {
    let h = Harness::new();
    let client = h.public_client().await;
    let (_, ticket) = sealed(&h, client.id.as_str()).await;
    for binding in [
        &b"session-cookie-id-2"[..],
        b"session-cookie-id-1 ",
        b"SESSION-COOKIE-ID-1",
    ] {
        assert_eq!(
            expect_fatal(resume(&h, &ticket, binding).await),
            Reason::TicketBindingMismatch,
            "{binding:?}"
        );
    }
    // The right session still can.
    assert!(resume(&h, &ticket, BINDING).await.is_ok());
}

#[tokio::test]
async fn a_session_binding_shorter_than_128_bits_is_refused_as_misuse() {
    let h = Harness::new();
    let client = h.public_client().await;
    let (pending, ticket) = sealed(&h, client.id.as_str()).await;
    for weak in [&b""[..], b"x", b"fifteen-bytes!!"] {
        assert!(matches!(
            h.provider.seal_ticket(&pending, weak),
            Err(AuthorizationError::Misuse(ApiMisuse::WeakSessionBinding))
        ));
        assert!(matches!(
            resume(&h, &ticket, weak).await,
            Err(AuthorizationError::Misuse(ApiMisuse::WeakSessionBinding))
        ));
    }
}

// ---- Expiry ----

#[tokio::test]
async fn expired_ticket_is_refused() {
    let h = Harness::new();
    let client = h.public_client().await;
    let (pending, ticket) = sealed(&h, client.id.as_str()).await;
    let lifetime = h.provider.config().lifetimes().ticket;
    assert_eq!(pending.expires_at(), h.now().plus(lifetime));

    h.advance(lifetime - 1);
    let in_time = resume(&h, &ticket, BINDING).await.unwrap();
    h.advance(1);
    assert_eq!(
        expect_fatal(resume(&h, &ticket, BINDING).await),
        Reason::InvalidTicket
    );
    // A pending authorization resumed in time cannot be completed after expiry either.
    let error = h
        .complete(in_time, approval("alice", None))
        .await
        .unwrap_err();
    assert_eq!(expect_fatal::<()>(Err(error)), Reason::InvalidTicket);
    assert_eq!(grants_of(&h, "alice").await, 0);
}

#[tokio::test]
async fn expired_pending_authorization_without_a_ticket_cannot_complete() {
    let h = Harness::new();
    let client = h.public_client().await;
    let pending = h.begin_with(client.id.as_str(), &[]).await.unwrap();
    h.advance(h.provider.config().lifetimes().ticket + 1);
    let result = h.complete(pending, approval("alice", None)).await;
    assert_eq!(expect_fatal(result), Reason::InvalidTicket);
    assert_eq!(grants_of(&h, "alice").await, 0);
}

// ---- Single completion ----

#[tokio::test]
async fn ticket_completed_twice_is_replayed_and_issues_no_second_code() {
    let h = Harness::new();
    let client = h.public_client().await;
    let (_, ticket) = sealed(&h, client.id.as_str()).await;
    let first = resume(&h, &ticket, BINDING).await.unwrap();
    let second = resume(&h, &ticket, BINDING).await.unwrap();

    let response = h.complete(first, approval("alice", None)).await.unwrap();
    assert!(location_params(&response).contains_key("code"));

    let error = h
        .complete(second, approval("mallory", None))
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        AuthorizationError::Fatal(Reason::TicketReplayed)
    ));
    assert!(error
        .into_response(None)
        .headers()
        .get("location")
        .is_none());
    assert_eq!(grants_of(&h, "alice").await, 1);
    assert_eq!(grants_of(&h, "mallory").await, 0);
}

#[tokio::test]
async fn ticket_sealed_twice_still_completes_once() {
    let h = Harness::new();
    let client = h.public_client().await;
    let (pending, first_ticket) = sealed(&h, client.id.as_str()).await;
    let second_ticket = h
        .provider
        .seal_ticket(&pending, b"another-session-cookie")
        .unwrap();
    assert_ne!(first_ticket, second_ticket, "fresh nonce per seal");

    // The pending value itself completes...
    h.approve(pending, "alice").await;
    // ...and neither ticket of it completes again.
    for (ticket, binding) in [
        (&first_ticket, BINDING),
        (&second_ticket, &b"another-session-cookie"[..]),
    ] {
        let resumed = resume(&h, ticket, binding).await.unwrap();
        let result = h.complete(resumed, approval("alice", None)).await;
        assert_eq!(expect_fatal(result), Reason::TicketReplayed);
    }
    assert_eq!(grants_of(&h, "alice").await, 1);
}

#[tokio::test]
async fn ticket_denied_then_replayed_cannot_be_approved() {
    // A denial is final too: the ticket cannot be replayed into an approval.
    let h = Harness::new();
    let client = h.public_client().await;
    let (_, ticket) = sealed(&h, client.id.as_str()).await;
    let (reason, _) = expect_redirect(h.deny(resume(&h, &ticket, BINDING).await.unwrap()).await);
    assert_eq!(reason, Reason::UserDenied);
    let resumed = resume(&h, &ticket, BINDING).await.unwrap();
    let result = h.complete(resumed, approval("alice", None)).await;
    assert_eq!(expect_fatal(result), Reason::TicketReplayed);
    assert_eq!(grants_of(&h, "alice").await, 0);
}

// ---- Re-validation against the client as it is now ----

#[tokio::test]
async fn ticket_whose_client_was_deleted_is_refused() {
    let h = Harness::new();
    let client = h.public_client().await;
    let (_, ticket) = sealed(&h, client.id.as_str()).await;
    h.provider.store().delete_client(&client.id).await.unwrap();
    assert_eq!(
        expect_fatal(resume(&h, &ticket, BINDING).await),
        Reason::UnknownClient
    );
}

#[tokio::test]
async fn ticket_whose_redirect_uri_was_removed_is_refused() {
    let h = Harness::new();
    let client = h.public_client().await;
    let (_, ticket) = sealed(&h, client.id.as_str()).await;
    let changed = Client {
        redirect_uris: vec!["https://client.example/new-cb".to_owned()],
        ..client
    };
    h.provider.store().put_client(&changed).await.unwrap();
    assert_eq!(
        expect_fatal(resume(&h, &ticket, BINDING).await),
        Reason::RedirectUriMismatch
    );
}

#[tokio::test]
async fn ticket_whose_client_lost_the_code_grant_is_redirected_unauthorized_client() {
    let h = Harness::new();
    let client = h.public_client().await;
    let (_, ticket) = sealed(&h, client.id.as_str()).await;
    let changed = Client {
        grant_types: vec![GrantType::RefreshToken],
        ..client
    };
    h.provider.store().put_client(&changed).await.unwrap();
    let (reason, response) = expect_redirect(resume(&h, &ticket, BINDING).await);
    assert_eq!(reason, Reason::GrantTypeNotAllowed);
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let params = location_params(&response);
    assert_eq!(params["error"], "unauthorized_client");
    assert_eq!(params["state"], "xyz");
    assert_eq!(params["iss"], ISSUER);
}

#[tokio::test]
async fn ticket_whose_client_scope_was_narrowed_is_redirected_invalid_scope() {
    let h = Harness::new();
    let client = h.public_client().await;
    let (_, ticket) = sealed(&h, client.id.as_str()).await;
    let changed = Client {
        scope: Some(Scope::parse("read").unwrap()),
        ..client
    };
    h.provider.store().put_client(&changed).await.unwrap();
    let (reason, response) = expect_redirect(resume(&h, &ticket, BINDING).await);
    assert_eq!(reason, Reason::ScopeNotAllowed);
    let params = location_params(&response);
    assert_eq!(params["error"], "invalid_scope");
    assert_eq!(params["state"], "xyz");
}

/// A harness offering `offline_access`, and a public client registered for `read` only
/// with the given grant types.
async fn offline_access_client(grant_types: Vec<GrantType>) -> (Harness, Client) {
    let h = Harness::with(|b| b.scopes(["read", "write", "admin", "offline_access"]));
    let client = h
        .register(NewClient {
            scope: Some(Scope::parse("read").unwrap()),
            grant_types,
            ..NewClient::public(vec![REDIRECT.to_owned()])
        })
        .await
        .0;
    (h, client)
}

#[tokio::test]
async fn o21_78_mcp_14_offline_access_passes_the_ticket_like_the_request() {
    // Registered `read` and the refresh grant: `offline_access` is exempt from the
    // registered scope at the request, and the same rule holds when the ticket resumes.
    let (h, client) =
        offline_access_client(vec![GrantType::AuthorizationCode, GrantType::RefreshToken]).await;
    let pending = h
        .begin_with(client.id.as_str(), &[("scope", "read offline_access")])
        .await
        .unwrap();
    let ticket = h.provider.seal_ticket(&pending, BINDING).unwrap();
    let resumed = resume(&h, &ticket, BINDING).await.unwrap();
    assert_eq!(
        resumed.scope(),
        &Scope::parse("read offline_access").unwrap()
    );
    let response = h.complete(resumed, approval("alice", None)).await.unwrap();
    let code = location_params(&response)["code"].clone();
    let (status, body, _) = h.redeem_public(client.id.as_str(), &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["scope"], "offline_access read");
    assert!(body.get("refresh_token").is_some(), "{body}");

    // The exemption is no door to other scopes, at either step.
    let (reason, _) = expect_redirect(
        h.begin_with(client.id.as_str(), &[("scope", "write offline_access")])
            .await,
    );
    assert_eq!(reason, Reason::ScopeNotAllowed);

    // The client loses the refresh grant while the user is on the consent page: the
    // resumed ticket is judged by the same rule as a new request, so it is refused.
    let pending = h
        .begin_with(client.id.as_str(), &[("scope", "read offline_access")])
        .await
        .unwrap();
    let ticket = h.provider.seal_ticket(&pending, BINDING).unwrap();
    let changed = Client {
        grant_types: vec![GrantType::AuthorizationCode],
        ..client.clone()
    };
    h.provider.store().put_client(&changed).await.unwrap();
    let (reason, response) = expect_redirect(resume(&h, &ticket, BINDING).await);
    assert_eq!(reason, Reason::ScopeNotAllowed);
    assert_eq!(location_params(&response)["error"], "invalid_scope");
    // ... exactly as a new request now is.
    let (reason, _) = expect_redirect(
        h.begin_with(client.id.as_str(), &[("scope", "read offline_access")])
            .await,
    );
    assert_eq!(reason, Reason::ScopeNotAllowed);
}

#[tokio::test]
async fn o21_78_mcp_14_offline_access_is_restricted_for_clients_without_the_refresh_grant() {
    // A client that can never get a refresh token has no exemption: its registered scope
    // decides, for `offline_access` as for any other scope.
    let (h, client) = offline_access_client(vec![GrantType::AuthorizationCode]).await;
    let (reason, _) = expect_redirect(
        h.begin_with(client.id.as_str(), &[("scope", "read offline_access")])
            .await,
    );
    assert_eq!(reason, Reason::ScopeNotAllowed);
    // Nor when the server issues no refresh tokens at all.
    let h = Harness::with(|b| {
        b.scopes(["read", "offline_access"])
            .issue_refresh_tokens(false)
    });
    let client = h
        .register(NewClient {
            scope: Some(Scope::parse("read").unwrap()),
            ..NewClient::public(vec![REDIRECT.to_owned()])
        })
        .await
        .0;
    let (reason, _) = expect_redirect(
        h.begin_with(client.id.as_str(), &[("scope", "read offline_access")])
            .await,
    );
    assert_eq!(reason, Reason::ScopeNotAllowed);
    // A client that registered `offline_access` itself may ask for it (and still gets no
    // refresh token without the grant).
    let h = Harness::with(|b| b.scopes(["read", "offline_access"]));
    let client = h
        .register(NewClient {
            scope: Some(Scope::parse("read offline_access").unwrap()),
            grant_types: vec![GrantType::AuthorizationCode],
            ..NewClient::public(vec![REDIRECT.to_owned()])
        })
        .await
        .0;
    let pending = h
        .begin_with(client.id.as_str(), &[("scope", "read offline_access")])
        .await
        .unwrap();
    let ticket = h.provider.seal_ticket(&pending, BINDING).unwrap();
    let resumed = resume(&h, &ticket, BINDING).await.unwrap();
    let response = h.complete(resumed, approval("alice", None)).await.unwrap();
    let code = location_params(&response)["code"].clone();
    let (status, body, _) = h.redeem_public(client.id.as_str(), &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("refresh_token").is_none(), "{body}");
}

// ---- The host's approval ----

#[tokio::test]
async fn approval_wider_than_the_requested_scope_is_api_misuse() {
    let h = Harness::new();
    let client = h.public_client().await;
    let (_, ticket) = sealed(&h, client.id.as_str()).await;
    let resumed = resume(&h, &ticket, BINDING).await.unwrap();
    let error = h
        .complete(resumed, approval("alice", Some("read write admin")))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            AuthorizationError::Misuse(ApiMisuse::ApprovedScopeWidened)
        ),
        "{error:?}"
    );
    assert!(error.reason().is_none());
    assert!(error
        .into_response(None)
        .headers()
        .get("location")
        .is_none());
    assert_eq!(grants_of(&h, "alice").await, 0);
    // The host's mistake did not burn the ticket: a correct approval still completes.
    let resumed = resume(&h, &ticket, BINDING).await.unwrap();
    let response = h.complete(resumed, approval("alice", Some("read"))).await;
    assert!(location_params(&response.unwrap()).contains_key("code"));
}

#[tokio::test]
async fn o21_40_approval_narrower_than_requested_narrows_the_tokens() {
    let h = Harness::new();
    let client = h.public_client().await;
    let (_, ticket) = sealed(&h, client.id.as_str()).await;
    let resumed = resume(&h, &ticket, BINDING).await.unwrap();
    let response = h
        .complete(resumed, approval("alice", Some("read")))
        .await
        .unwrap();
    let code = location_params(&response)["code"].clone();
    let (status, body, _) = h.redeem_public(client.id.as_str(), &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Requested `read write`, granted `read`: the response says so.
    assert_eq!(body["scope"], "read");
    let access = h
        .bearer(body["access_token"].as_str().unwrap())
        .await
        .unwrap();
    assert!(access.scope.contains("read"));
    assert!(!access.scope.contains("write"));
    assert!(access.require_scope("write").is_err());
}

// ---- Store failures while completing (O21-37) ----

fn failing_provider() -> Provider<Instrumented> {
    instrumented_provider(|b| b)
}

async fn failing_pending(p: &Provider<Instrumented>) -> PendingAuthorization {
    let client = p
        .register_client(NewClient::public(vec![REDIRECT.to_owned()]))
        .await
        .unwrap()
        .client;
    let pairs = Harness::code_request_pairs(client.id.as_str());
    let ticket = {
        let pending = p
            .begin_authorization(&Harness::authorize_request(&borrow_pairs(&pairs)))
            .await
            .unwrap();
        p.seal_ticket(&pending, BINDING).unwrap()
    };
    p.resume_authorization(&ticket, BINDING).await.unwrap()
}

fn assert_unavailable_redirect(result: Result<http::Response<bytes::Bytes>, AuthorizationError>) {
    let (reason, response) = expect_redirect(result);
    assert_eq!(reason, Reason::StoreUnavailable);
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert!(location(&response).starts_with(&format!("{REDIRECT}?error=")));
    let params = location_params(&response);
    assert_eq!(params["error"], "temporarily_unavailable");
    assert_eq!(params["state"], "xyz");
    assert_eq!(params["iss"], ISSUER);
    assert!(!params.contains_key("code"));
}

#[tokio::test]
async fn o21_37_store_failure_while_issuing_the_code_is_an_error_redirect() {
    let p = failing_provider();
    let pending = failing_pending(&p).await;
    p.store().fail(Op::CreateGrantWithCode);
    let result = p
        .complete_authorization(pending, approval("alice", None))
        .await;
    assert_unavailable_redirect(result);
    p.store().heal();
    assert!(p
        .grants_for_user(&UserId::new("alice"))
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn o21_37_store_failure_while_marking_the_ticket_used_is_an_error_redirect() {
    let p = failing_provider();
    let pending = failing_pending(&p).await;
    p.store().fail(Op::InsertOnce);
    let result = p
        .complete_authorization(pending, approval("alice", None))
        .await;
    assert_unavailable_redirect(result);
    assert!(p
        .grants_for_user(&UserId::new("alice"))
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn o21_37_store_failure_while_recording_a_denial_is_an_error_redirect() {
    let p = failing_provider();
    let pending = failing_pending(&p).await;
    p.store().fail(Op::InsertOnce);
    assert_unavailable_redirect(p.complete_authorization(pending, Decision::Deny).await);
}
