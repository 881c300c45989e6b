//! The provider on the SQLite store, end to end: the authorization-code flow with PKCE,
//! refresh rotation, and what a restart on the same database file keeps (tokens stay
//! valid, a redeemed code stays redeemed, and replaying it still revokes its grant).

mod common;

use std::path::Path;

use http::{Request, StatusCode};
use oauth_core::model::{ClientId, UserId};
use oauth_core::{
    Approval, Decision, Issuer, KeyId, Keyring, NewClient, OsRandom, Provider, SecureRandom,
};
use oauth_store_sqlite::SqliteStore;

const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const REDIRECT: &str = "http://127.0.0.1/callback";

async fn provider(path: &Path, secret: &[u8; 32]) -> (Provider<SqliteStore>, SqliteStore) {
    let store = SqliteStore::open(path).await.unwrap();
    let provider = Provider::builder(Issuer::new("https://auth.example.com").unwrap())
        .keys(Keyring::from_secret(KeyId::new("k1").unwrap(), secret).unwrap())
        .store(store.clone())
        .scopes(["read", "write"])
        .resource("https://api.example.com/")
        .build()
        .unwrap();
    (provider, store)
}

/// Runs the authorization endpoint for `client` and returns the code.
async fn authorize(provider: &Provider<SqliteStore>, client: &ClientId) -> String {
    let request = Request::get(format!(
        "https://auth.example.com/authorize?response_type=code&client_id={client}\
         &redirect_uri=http%3A%2F%2F127.0.0.1%2Fcallback&scope=read%20write&state=s1\
         &code_challenge={CHALLENGE}&code_challenge_method=S256"
    ))
    .body(Vec::new())
    .unwrap();
    let pending = provider.begin_authorization(&request).await.unwrap();
    let redirect = provider
        .complete_authorization(
            pending,
            Decision::Approve(Approval::new(UserId::new("alice"))),
        )
        .await
        .unwrap();
    let location = redirect.headers()["location"].to_str().unwrap();
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap()
}

async fn token(
    provider: &Provider<SqliteStore>,
    pairs: &[(&str, &str)],
) -> (StatusCode, serde_json::Value) {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    let request = Request::post("https://auth.example.com/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.into_bytes())
        .unwrap();
    let response = provider.token(&request).await;
    (
        response.status(),
        serde_json::from_slice(response.body()).unwrap(),
    )
}

async fn redeem(
    provider: &Provider<SqliteStore>,
    client: &ClientId,
    code: &str,
) -> (StatusCode, serde_json::Value) {
    token(
        provider,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("client_id", client.as_str()),
            ("code_verifier", VERIFIER),
        ],
    )
    .await
}

async fn bearer_ok(provider: &Provider<SqliteStore>, access_token: &str) -> bool {
    let request = Request::get("https://api.example.com/")
        .header("authorization", format!("Bearer {access_token}"))
        .body(Vec::new())
        .unwrap();
    provider.authenticate(&request).await.is_ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_flow_refresh_and_replay_hold_across_a_restart_on_the_same_file() {
    let path = common::fresh_db_path();
    let mut secret = [0u8; 32];
    OsRandom.fill(&mut secret).unwrap();

    // First process: register, authorize, redeem, rotate once.
    let (first, store) = provider(&path, &secret).await;
    let client = first
        .register_client(NewClient::public(vec![REDIRECT.into()]))
        .await
        .unwrap()
        .client
        .id;
    let code = authorize(&first, &client).await;
    let (status, issued) = redeem(&first, &client, &code).await;
    assert_eq!(status, StatusCode::OK, "{issued}");
    let access = issued["access_token"].as_str().unwrap().to_owned();
    let refresh = issued["refresh_token"].as_str().unwrap().to_owned();
    assert!(bearer_ok(&first, &access).await);
    let (status, rotated) = refresh_with(&first, &client, &refresh).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let rotated_access = rotated["access_token"].as_str().unwrap().to_owned();
    drop(first);
    store.close().await;

    // Second process: same file, same keys.
    let (second, _store) = provider(&path, &secret).await;
    assert!(
        bearer_ok(&second, &access).await,
        "tokens survive the restart"
    );
    assert!(bearer_ok(&second, &rotated_access).await);

    // The code is still redeemed: a replay fails, and revokes everything it issued.
    let (status, error) = redeem(&second, &client, &code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["error"], "invalid_grant");
    assert!(
        !bearer_ok(&second, &access).await,
        "replay revoked the grant"
    );
    assert!(!bearer_ok(&second, &rotated_access).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_token_reuse_after_rotation_revokes_the_grant() {
    let path = common::fresh_db_path();
    let mut secret = [0u8; 32];
    OsRandom.fill(&mut secret).unwrap();
    let (provider, _store) = provider(&path, &secret).await;
    let client = provider
        .register_client(NewClient::public(vec![REDIRECT.into()]))
        .await
        .unwrap()
        .client
        .id;
    let code = authorize(&provider, &client).await;
    let (_, issued) = redeem(&provider, &client, &code).await;
    let refresh = issued["refresh_token"].as_str().unwrap().to_owned();
    let (status, rotated) = refresh_with(&provider, &client, &refresh).await;
    assert_eq!(status, StatusCode::OK);
    let successor = rotated["refresh_token"].as_str().unwrap().to_owned();
    let successor_access = rotated["access_token"].as_str().unwrap().to_owned();

    let (status, error) = refresh_with(&provider, &client, &refresh).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(error["error"], "invalid_grant");
    assert!(!bearer_ok(&provider, &successor_access).await);
    let (status, _) = refresh_with(&provider, &client, &successor).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "the successor died with the grant"
    );
}

async fn refresh_with(
    provider: &Provider<SqliteStore>,
    client: &ClientId,
    refresh: &str,
) -> (StatusCode, serde_json::Value) {
    token(
        provider,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", client.as_str()),
        ],
    )
    .await
}
