//! OAuth 2.1 §2.4.1 (brute-force protection where secrets are accepted) and §7.5.2:
//! security decisions are reported to the host's event sink, which throttles and audits.

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use http::StatusCode;
use oauth_core::model::GrantType;
use oauth_core::{EventSink, SecurityEvent};

#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl EventSink for Recorder {
    fn record(&self, event: &SecurityEvent<'_>) {
        let line = match event {
            SecurityEvent::ClientAuthenticationFailed { client_id, reason } => {
                format!("auth_failed {client_id} {reason:?}")
            }
            SecurityEvent::CodeReplayed { client_id, .. } => format!("code_replayed {client_id}"),
            SecurityEvent::RefreshTokenReused { client_id, .. } => {
                format!("refresh_reused {client_id}")
            }
            SecurityEvent::RegistrationCredentialRejected { reason } => {
                format!("registration_rejected {reason:?}")
            }
            SecurityEvent::PendingAuthorizationReplayed { client_id } => {
                format!("pending_replayed {client_id}")
            }
            _ => "other".to_owned(),
        };
        self.0.lock().unwrap().push(line);
    }
}

fn recording_harness() -> (Harness, Arc<Recorder>) {
    let recorder = Arc::new(Recorder::default());
    let sink = recorder.clone();
    (Harness::with(move |b| b.events(sink)), recorder)
}

#[tokio::test]
async fn o21_19_every_failed_client_authentication_reaches_the_event_sink() {
    let (h, events) = recording_harness();
    let (client, _secret) = h
        .confidential_client(vec![GrantType::ClientCredentials])
        .await;
    for _ in 0..3 {
        let (status, _, _) = h
            .token(
                &[("grant_type", "client_credentials")],
                Some((client.id.as_str(), "wrong-secret")),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, _, _) = h
        .token(
            &[("grant_type", "client_credentials")],
            Some(("no-such-client", "x")),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let lines = events.0.lock().unwrap().clone();
    let for_client = lines
        .iter()
        .filter(|l| l.starts_with(&format!("auth_failed {} ClientSecretMismatch", client.id)))
        .count();
    assert_eq!(for_client, 3, "{lines:?}");
    assert!(lines
        .iter()
        .any(|l| l == "auth_failed no-such-client UnknownClient"));
}

#[tokio::test]
async fn code_replay_and_refresh_reuse_are_reported() {
    let (h, events) = recording_harness();
    let client = h.public_client().await;
    let code = h.obtain_code(client.id.as_str()).await;
    let (status, body, _) = h.redeem_public(client.id.as_str(), &code).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = h.redeem_public(client.id.as_str(), &code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let client2 = h.public_client().await;
    let code2 = h.obtain_code(client2.id.as_str()).await;
    let (_, body2, _) = h.redeem_public(client2.id.as_str(), &code2).await;
    let rt = body2["refresh_token"].as_str().unwrap();
    let (status, _, _) = h.refresh(client2.id.as_str(), rt, &[]).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = h.refresh(client2.id.as_str(), rt, &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let lines = events.0.lock().unwrap().clone();
    assert!(
        lines.contains(&format!("code_replayed {}", client.id)),
        "{lines:?}"
    );
    assert!(
        lines.contains(&format!("refresh_reused {}", client2.id)),
        "{lines:?}"
    );
    assert!(body["access_token"].is_string());
}

#[tokio::test]
async fn dcr_2_refused_initial_access_tokens_reach_the_event_sink() {
    let recorder = Arc::new(Recorder::default());
    let sink = recorder.clone();
    let token = "initial-access-token-0123456789abcdefghij";
    let h = Harness::with(move |b| {
        b.events(sink)
            .endpoints(oauth_core::Endpoints {
                registration: Some("/register".into()),
                ..Default::default()
            })
            .registration(oauth_core::RegistrationPolicy::initial_access_tokens([(
                "partner",
                oauth_core::Secret::new(token),
            )]))
    });
    let body = serde_json::to_vec(&serde_json::json!({"redirect_uris": [REDIRECT]})).unwrap();
    let wrong = format!("Bearer {token}x");
    let response = h
        .provider
        .handle(&registration_request(
            &body,
            &[
                ("content-type", "application/json"),
                ("authorization", &wrong),
            ],
        ))
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let lines = recorder.0.lock().unwrap().clone();
    assert!(
        lines.iter().any(|l| l.starts_with("registration_rejected")),
        "{lines:?}"
    );
    assert!(!lines.iter().any(|l| l.contains(token)));
}
