//! DESIGN §5 (refresh rotation with an optional bounded grace) and OAuth 2.1 §4.3.1: a
//! retry of the immediately previous refresh token within the grace gets the same
//! successor once; every other reuse still revokes the grant. Off by default.

mod common;

use common::*;
use http::StatusCode;
use oauth_core::{ConfigError, Issuer, Provider};
use oauth_store_memory::MemoryStore;

fn with_grace(seconds: u64) -> Harness {
    Harness::with(move |b| b.refresh_token_grace(seconds))
}

#[tokio::test]
async fn grace_is_off_by_default_and_a_retry_revokes_the_grant() {
    let h = Harness::new();
    let (client, first) = h.public_tokens().await;
    let rt1 = first["refresh_token"].as_str().unwrap();
    let (status, second, _) = h.refresh(client.id.as_str(), rt1, &[]).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body, _) = h.refresh(client.id.as_str(), rt1, &[]).await;
    assert_eq!(
        (status, error_of(&body)),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    assert!(h
        .bearer(second["access_token"].as_str().unwrap())
        .await
        .is_err());
}

#[tokio::test]
async fn a_retry_within_the_grace_gets_the_same_successor_once() {
    let h = with_grace(30);
    let (client, first) = h.public_tokens().await;
    let rt1 = first["refresh_token"].as_str().unwrap();
    let (status, second, _) = h.refresh(client.id.as_str(), rt1, &[]).await;
    assert_eq!(status, StatusCode::OK);

    h.advance(10);
    let (status, retried, headers) = h.refresh(client.id.as_str(), rt1, &[]).await;
    assert_eq!(status, StatusCode::OK, "{retried}");
    assert_eq!(retried["access_token"], second["access_token"]);
    assert_eq!(retried["refresh_token"], second["refresh_token"]);
    assert_eq!(retried["expires_in"], 3600 - 10);
    assert_eq!(headers["cache-control"], "no-store");

    // A second retry is reuse: the grant is revoked, the successor with it.
    let (status, body, _) = h.refresh(client.id.as_str(), rt1, &[]).await;
    assert_eq!(
        (status, error_of(&body)),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    let rt2 = second["refresh_token"].as_str().unwrap();
    assert_eq!(
        h.refresh(client.id.as_str(), rt2, &[]).await.0,
        StatusCode::BAD_REQUEST
    );
    assert!(h
        .bearer(second["access_token"].as_str().unwrap())
        .await
        .is_err());
}

#[tokio::test]
async fn a_retry_after_the_grace_revokes_the_grant() {
    let h = with_grace(30);
    let (client, first) = h.public_tokens().await;
    let rt1 = first["refresh_token"].as_str().unwrap();
    let (_, second, _) = h.refresh(client.id.as_str(), rt1, &[]).await;
    h.advance(30);
    let (status, _, _) = h.refresh(client.id.as_str(), rt1, &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(h
        .bearer(second["access_token"].as_str().unwrap())
        .await
        .is_err());
}

#[tokio::test]
async fn the_grace_never_answers_for_a_token_older_than_the_previous_one() {
    let h = with_grace(60);
    let (client, first) = h.public_tokens().await;
    let rt1 = first["refresh_token"].as_str().unwrap();
    let (_, second, _) = h.refresh(client.id.as_str(), rt1, &[]).await;
    let rt2 = second["refresh_token"].as_str().unwrap();
    let (status, third, _) = h.refresh(client.id.as_str(), rt2, &[]).await;
    assert_eq!(status, StatusCode::OK);
    // RT1 is two generations old: its successor RT2 is retired, so this is reuse.
    let (status, _, _) = h.refresh(client.id.as_str(), rt1, &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(h
        .bearer(third["access_token"].as_str().unwrap())
        .await
        .is_err());
}

#[tokio::test]
async fn another_client_presenting_a_retired_token_gets_nothing_and_revokes_nothing() {
    let h = with_grace(60);
    let (client, first) = h.public_tokens().await;
    let other = h.public_client().await;
    let rt1 = first["refresh_token"].as_str().unwrap();
    let (_, second, _) = h.refresh(client.id.as_str(), rt1, &[]).await;
    let (status, body, _) = h.refresh(other.id.as_str(), rt1, &[]).await;
    assert_eq!(
        (status, error_of(&body)),
        (StatusCode::BAD_REQUEST, "invalid_grant")
    );
    assert!(body.get("access_token").is_none());
    assert!(h
        .bearer(second["access_token"].as_str().unwrap())
        .await
        .is_ok());
    // The grace is still there for the real client.
    let (status, retried, _) = h.refresh(client.id.as_str(), rt1, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(retried["refresh_token"], second["refresh_token"]);
}

#[test]
fn grace_is_bounded_to_a_minute() {
    let build = |seconds| {
        Provider::builder(Issuer::new(ISSUER).unwrap())
            .keys(test_keyring())
            .store(MemoryStore::new())
            .refresh_token_grace(seconds)
            .build()
    };
    assert_eq!(
        build(61).unwrap_err(),
        ConfigError::InvalidLifetime("refresh_token_grace")
    );
    assert!(build(60).is_ok());
}

#[tokio::test]
async fn a_client_racing_itself_within_the_grace_gets_one_successor_twice() {
    use oauth_core::token::TokenStep;
    let h = with_grace(30);
    let (client, first) = h.public_tokens().await;
    let rt1 = first["refresh_token"].as_str().unwrap();
    let request = || {
        token_request(
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", rt1),
                ("client_id", client.id.as_str()),
            ],
            None,
        )
    };
    let (a_request, b_request) = (request(), request());
    let machine = h.provider.machine();
    let store = h.provider.store();
    let at_rotation = |s: &TokenStep<'_>| matches!(s, TokenStep::NeedsRotation(_));
    // Both requests validate against the same active token, then race at the swap.
    let a = drive_token_until(
        store,
        machine.token_request(&a_request, h.now()),
        at_rotation,
    )
    .await;
    let b = drive_token_until(
        store,
        machine.token_request(&b_request, h.now()),
        at_rotation,
    )
    .await;
    let (a_status, a_body, _) = finish_token(store, a).await;
    let (b_status, b_body, _) = finish_token(store, b).await;
    assert_eq!(
        (a_status, b_status),
        (StatusCode::OK, StatusCode::OK),
        "{b_body}"
    );
    assert_eq!(a_body["refresh_token"], b_body["refresh_token"]);
    assert_eq!(a_body["access_token"], b_body["access_token"]);
    assert!(h
        .bearer(a_body["access_token"].as_str().unwrap())
        .await
        .is_ok());
}
