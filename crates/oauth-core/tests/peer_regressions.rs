//! Regression tests for failures found in other OAuth servers (RFC 9700 §4.1, §4.8,
//! §4.14; OAuth 2.1 §4.1.3): each test names the failure it pins.

mod common;

use common::*;
use http::StatusCode;
use oauth_core::model::{AuthMethod, Client, ClientId, GrantType, UserId};
use oauth_core::{
    Approval, AuthorizationError, Decision, Issuer, KeyId, Keyring, PkcePolicy, Provider, Reason,
    Secret, Store,
};
use oauth_store_memory::MemoryStore;
use oauth_store_testkit::instrumented::InstrumentedStore;

#[tokio::test]
async fn redirect_uri_is_not_case_folded() {
    let h = Harness::new();
    let client = h.public_client().await;
    for variant in [
        "https://CLIENT.example/cb",
        "HTTPS://client.example/cb",
        "https://client.example/CB",
    ] {
        let error = h
            .begin_with(client.id.as_str(), &[("redirect_uri", variant)])
            .await
            .unwrap_err();
        assert!(
            matches!(
                error,
                AuthorizationError::Fatal(Reason::RedirectUriMismatch)
            ),
            "{variant}"
        );
    }
}

#[tokio::test]
async fn loopback_redirect_with_another_path_or_query_is_refused() {
    let h = Harness::new();
    let (client, _) = h
        .register(oauth_core::NewClient::public(vec![
            "http://127.0.0.1/cb".to_owned()
        ]))
        .await;
    let ok = h
        .begin_with(
            client.id.as_str(),
            &[("redirect_uri", "http://127.0.0.1:49152/cb")],
        )
        .await;
    assert!(ok.is_ok());
    for bad in [
        "http://127.0.0.1:49152/cb2",
        "http://127.0.0.1:49152/cb?x=1",
        "http://127.0.0.1:49152/",
    ] {
        let error = h
            .begin_with(client.id.as_str(), &[("redirect_uri", bad)])
            .await
            .unwrap_err();
        assert!(matches!(error, AuthorizationError::Fatal(_)), "{bad}");
    }
}

#[tokio::test]
async fn no_error_redirect_before_the_client_is_validated() {
    let h = Harness::new();
    // Unknown client, with an attacker's redirect URI and an invalid scope: the error must
    // not go to that URI.
    let error = h
        .begin(&[
            ("response_type", "token"),
            ("client_id", "no-such-client"),
            ("redirect_uri", "https://attacker.example/cb"),
            ("scope", "bad\"scope"),
        ])
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        AuthorizationError::Fatal(Reason::UnknownClient)
    ));
    assert!(error
        .into_response(None)
        .headers()
        .get("location")
        .is_none());
}

#[tokio::test]
async fn pkce_downgrade_verifier_without_challenge_is_refused() {
    let h = Harness::with(|b| {
        b.pkce(PkcePolicy {
            require_for_confidential_clients: false,
            allow_plain: false,
        })
    });
    let (client, secret) = h
        .confidential_client(vec![GrantType::AuthorizationCode])
        .await;
    let pending = h
        .begin_with(
            client.id.as_str(),
            &[("code_challenge", ""), ("code_challenge_method", "")],
        )
        .await
        .unwrap();
    let code = location_params(&h.approve(pending, "alice").await)["code"].clone();
    let (status, body, _) = h
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
            ],
            Some((client.id.as_str(), secret.expose())),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body), "invalid_request");
}

#[tokio::test]
async fn pkce_downgrade_challenge_without_verifier_is_refused() {
    let h = Harness::new();
    let client = h.public_client().await;
    let code = h.obtain_code(client.id.as_str()).await;
    let (status, body, _) = h
        .token(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("client_id", client.id.as_str()),
            ],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body), "invalid_grant");
    // The failed attempt did not burn the code.
    assert_eq!(
        h.redeem_public(client.id.as_str(), &code).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn code_redeemed_by_another_client_is_refused_and_stays_valid_for_its_own() {
    let h = Harness::new();
    let victim = h.public_client().await;
    let attacker = h.public_client().await;
    let code = h.obtain_code(victim.id.as_str()).await;
    let (status, body, _) = h.redeem_public(attacker.id.as_str(), &code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error_of(&body), "invalid_grant");
    assert_eq!(
        h.redeem_public(victim.id.as_str(), &code).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn refresh_token_reuse_revokes_the_whole_grant() {
    let h = Harness::new();
    let (client, first) = h.public_tokens().await;
    let rt1 = first["refresh_token"].as_str().unwrap();
    let (status, second, _) = h.refresh(client.id.as_str(), rt1, &[]).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = h.refresh(client.id.as_str(), rt1, &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let rt2 = second["refresh_token"].as_str().unwrap();
    assert_eq!(
        h.refresh(client.id.as_str(), rt2, &[]).await.0,
        StatusCode::BAD_REQUEST
    );
    assert!(h
        .bearer(second["access_token"].as_str().unwrap())
        .await
        .is_err());
    assert!(h
        .bearer(first["access_token"].as_str().unwrap())
        .await
        .is_err());
}

#[tokio::test]
async fn no_stored_record_contains_a_client_secret_or_credential_from_the_request() {
    let mut key = [0u8; 32];
    oauth_core::SecureRandom::fill(&oauth_core::OsRandom, &mut key).unwrap();
    let keyring = Keyring::from_secret(KeyId::new("k").unwrap(), &key).unwrap();
    let secret = "very-distinctive-client-secret-value";
    let provider = Provider::builder(Issuer::new(ISSUER).unwrap())
        .keys(keyring.clone())
        .scopes(["read"])
        .default_scope(["read"])
        .resource(RESOURCE)
        .store(InstrumentedStore::new(MemoryStore::new()))
        .build()
        .unwrap();
    provider
        .store()
        .put_client(&Client {
            id: ClientId::new("web-app"),
            auth_method: AuthMethod::ClientSecretPost,
            secret: Some(keyring.digest_secret(&Secret::new(secret))),
            secret_expires_at: None,
            redirect_uris: vec![REDIRECT.to_owned()],
            grant_types: vec![
                GrantType::AuthorizationCode,
                GrantType::RefreshToken,
                GrantType::ClientCredentials,
            ],
            scope: None,
            name: None,
            created_at: oauth_core::UnixTime(0),
            metadata: Default::default(),
            registration_token: None,
        })
        .await
        .unwrap();

    // The authorization request carries the secret too (some clients send everything).
    let request = Harness::authorize_request(&[
        ("response_type", "code"),
        ("client_id", "web-app"),
        ("client_secret", secret),
        ("redirect_uri", REDIRECT),
        ("state", "s"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]);
    let pending = provider.begin_authorization(&request).await.unwrap();
    let ticket = provider
        .seal_ticket(&pending, b"session-cookie-0123456789")
        .unwrap();
    assert!(!ticket.contains(secret));
    let pending = provider
        .resume_authorization(&ticket, b"session-cookie-0123456789")
        .await
        .unwrap();
    let redirect = provider
        .complete_authorization(
            pending,
            Decision::Approve(Approval::new(UserId::new("alice"))),
        )
        .await
        .unwrap();
    let code = location_params(&redirect)["code"].clone();
    let response = provider
        .token(&token_request(
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("client_id", "web-app"),
                ("client_secret", secret),
                ("code_verifier", VERIFIER),
            ],
            None,
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let tokens: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    let response = provider
        .token(&token_request(
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "web-app"),
                ("client_secret", secret),
            ],
            None,
        ))
        .await;
    assert_eq!(response.status(), StatusCode::OK);

    let writes = provider.store().writes().join("\n");
    assert!(writes.contains("CreateGrantWithCode") && writes.contains("StoreTokens"));
    for credential in [
        secret,
        code.as_str(),
        tokens["access_token"].as_str().unwrap(),
        tokens["refresh_token"].as_str().unwrap(),
        VERIFIER,
    ] {
        assert!(
            !writes.contains(credential),
            "a stored record contains {credential}"
        );
    }
}
