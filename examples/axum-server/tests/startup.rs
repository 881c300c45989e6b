//! Starting the server: what it prints, what it refuses, the development modes.

mod common;

use clap::Parser;
use common::*;
use example_axum_server::{start, Settings, StartError};
use reqwest::StatusCode;
use serde_json::Value;

fn settings(args: &[&str]) -> Settings {
    Settings::try_parse_from(std::iter::once("server").chain(args.iter().copied())).unwrap()
}

#[tokio::test]
async fn banner_prints_the_urls_and_generated_demo_credentials() {
    let dir = temp_dir();
    let key_file = dir.join("server.key");
    let server = start(settings(&[
        "--addr",
        "127.0.0.1:0",
        "--store",
        "memory",
        "--dev-key-file",
        key_file.to_str().unwrap(),
    ]))
    .await
    .unwrap();
    let banner = server.banner();
    let base = server.base_url().to_owned();
    for expected in [
        format!("listening on {base}"),
        format!("{base}/.well-known/oauth-authorization-server"),
        format!("{base}/mcp"),
        format!("{base}/api/me"),
        "Demo user:".to_owned(),
        "alice / ".to_owned(),
        "WARNING: development key".to_owned(),
    ] {
        assert!(
            banner.contains(&expected),
            "banner lacks {expected}:\n{banner}"
        );
    }
    // The printed password signs in.
    let password = banner
        .lines()
        .find_map(|line| line.split("alice / ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .to_owned();
    let test = TestServer {
        running: Some(server),
        base: base.clone(),
        cert: None,
        dir,
    };
    let browser = test.browser();
    let signed_in = browser
        .sign_in(&browser.get("/login").await, "alice", &password)
        .await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    test.stop().await;
}

#[tokio::test]
async fn without_a_key_a_server_with_a_public_issuer_refuses_to_start() {
    let dir = temp_dir();
    let dev_key = dir.join("server.key");
    let result = start(settings(&[
        "--addr",
        "127.0.0.1:0",
        "--store",
        "memory",
        "--issuer",
        "https://auth.example.com",
        "--dev-key-file",
        dev_key.to_str().unwrap(),
    ]))
    .await;
    assert!(
        matches!(result, Err(StartError::NoKey)),
        "{:?}",
        result.err()
    );
    assert!(!dev_key.exists());
}

#[tokio::test]
async fn plain_http_is_refused_for_a_non_loopback_issuer_and_issuers_with_a_path() {
    for issuer in ["http://auth.example.com", "https://auth.example.com/tenant"] {
        let key = random(32);
        let result = start(settings(&[
            "--addr",
            "127.0.0.1:0",
            "--store",
            "memory",
            "--issuer",
            issuer,
            "--key",
            &key,
        ]))
        .await;
        assert!(
            matches!(result, Err(StartError::Issuer(_))),
            "{issuer}: {:?}",
            result.err()
        );
    }
}

#[tokio::test]
async fn auto_consent_is_refused_unless_the_issuer_is_loopback_and_the_user_exists() {
    let key = random(32);
    let public = start(settings(&[
        "--addr",
        "127.0.0.1:0",
        "--store",
        "memory",
        "--issuer",
        "https://auth.example.com",
        "--key",
        &key,
        "--user",
        "alice:password1",
        "--auto-consent",
        "alice",
    ]))
    .await;
    assert!(
        matches!(public, Err(StartError::AutoConsent(_))),
        "{:?}",
        public.err()
    );
    let dir = temp_dir();
    let unknown = start(settings(&[
        "--addr",
        "127.0.0.1:0",
        "--store",
        "memory",
        "--dev-key-file",
        dir.join("k").to_str().unwrap(),
        "--user",
        "alice:password1",
        "--auto-consent",
        "mallory",
    ]))
    .await;
    assert!(
        matches!(unknown, Err(StartError::AutoConsent(_))),
        "{:?}",
        unknown.err()
    );
}

#[tokio::test]
async fn development_modes_are_refused_on_a_non_loopback_address_even_with_a_loopback_issuer() {
    // A container's usual setup: listening on every interface, issuer naming 127.0.0.1.
    let dir = temp_dir();
    let dev_key = dir.join("k");
    let no_key = start(settings(&[
        "--addr",
        "0.0.0.0:0",
        "--issuer",
        "http://127.0.0.1:8080",
        "--store",
        "memory",
        "--dev-key-file",
        dev_key.to_str().unwrap(),
    ]))
    .await;
    assert!(
        matches!(no_key, Err(StartError::NoKey)),
        "{:?}",
        no_key.err()
    );
    assert!(!dev_key.exists());
    let key = random(32);
    let auto = start(settings(&[
        "--addr",
        "0.0.0.0:0",
        "--issuer",
        "http://127.0.0.1:8080",
        "--store",
        "memory",
        "--key",
        &key,
        "--user",
        "alice:password1",
        "--auto-consent",
        "alice",
    ]))
    .await;
    assert!(
        matches!(auto, Err(StartError::AutoConsent(_))),
        "{:?}",
        auto.err()
    );
}

#[tokio::test]
async fn an_https_issuer_behind_a_plain_listener_gets_secure_host_cookies_and_hsts() {
    // A TLS-terminating proxy in front: browsers speak https to auth.example.com.
    let key = random(32);
    let server = start(settings(&[
        "--addr",
        "127.0.0.1:0",
        "--issuer",
        "https://auth.example.com",
        "--store",
        "memory",
        "--key",
        &key,
        "--user",
        "alice:password1",
    ]))
    .await
    .unwrap();
    let response = reqwest::get(format!("http://{}/login", server.local_addr()))
        .await
        .unwrap();
    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.starts_with("__Host-browser=") && cookie.contains("; Secure"),
        "{cookie}"
    );
    assert_eq!(
        response.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn tls_with_a_plain_http_issuer_is_refused() {
    let dir = temp_dir();
    let result = start(settings(&[
        "--addr",
        "127.0.0.1:0",
        "--issuer",
        "http://127.0.0.1:8080",
        "--store",
        "memory",
        "--tls-self-signed",
        "--dev-cert-file",
        dir.join("c.pem").to_str().unwrap(),
        "--dev-key-file",
        dir.join("k").to_str().unwrap(),
    ]))
    .await;
    assert!(
        matches!(result, Err(StartError::Issuer(_))),
        "{:?}",
        result.err()
    );
}

#[tokio::test]
async fn auto_consent_answers_a_valid_request_with_code_state_and_iss_and_still_validates() {
    let server = TestServer::start(&["--store", "memory", "--auto-consent", USER]).await;
    assert!(server.banner().contains("WARNING: auto-consent"));
    let redirect = "http://localhost:9/callback";
    let client_id = server.register("Conformance tool", redirect).await;
    let request = AuthorizeRequest::new(&client_id, redirect);
    let answer = server.browser().get(&request.path()).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    let query = redirect_query(&answer, redirect);
    assert_eq!(param(&query, "state"), Some(request.state.as_str()));
    assert_eq!(param(&query, "iss"), Some(server.base.as_str()));
    let tokens: Value = request
        .redeem(&server, param(&query, "code").unwrap())
        .await
        .json()
        .await
        .unwrap();
    let me: Value = bearer_get(&server, "/api/me", tokens["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["user"], USER);

    // Client, redirect URI and PKCE checks still apply.
    let wrong_redirect = AuthorizeRequest::new(&client_id, "http://evil.example/cb");
    let page = server.browser().get(&wrong_redirect.path()).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.location().is_none());
    // A client that could receive the code elsewhere than on this machine is refused.
    let remote = "https://client.example/callback";
    let remote_id = server.register("Remote client", remote).await;
    let refused = server
        .browser()
        .get(&AuthorizeRequest::new(&remote_id, remote).path())
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.location().is_none());
    // Nor is an error redirected to it.
    let remote_without_pkce = AuthorizeRequest::new(&remote_id, remote);
    let path = remote_without_pkce.path().replace(
        &format!("&code_challenge={}", remote_without_pkce.pkce.challenge),
        "",
    );
    let refused = server.browser().get(&path).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.location().is_none());
    let no_pkce = request
        .path()
        .replace(&format!("&code_challenge={}", request.pkce.challenge), "");
    let error = redirect_query(&server.browser().get(&no_pkce).await, redirect);
    assert_eq!(param(&error, "error"), Some("invalid_request"));
    assert_eq!(param(&error, "code"), None);
}

#[tokio::test]
async fn the_redis_store_option_serves_the_whole_flow() {
    use oauth_store_redis::redis;
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let prefix = format!("example-test-{}", random(9).replace(['-', '_'], "x"));
    let server = TestServer::start(&[
        "--store",
        "redis",
        "--redis-url",
        &url,
        "--redis-prefix",
        &prefix,
    ])
    .await;
    assert!(server.banner().contains("Redis at"), "{}", server.banner());
    let redirect = "http://localhost:9/callback";
    let client_id = server.register("Redis client", redirect).await;
    let tokens = tokens_for(&server, &client_id, redirect, "profile").await;
    let me: Value = bearer_get(&server, "/api/me", tokens["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["user"], USER);
    server.stop().await;

    // Clean up this test's keys.
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}:*"))
        .query_async(&mut connection)
        .await
        .unwrap();
    assert!(!keys.is_empty(), "the flow wrote nothing to Redis");
    let _: () = redis::cmd("UNLINK")
        .arg(&keys)
        .query_async(&mut connection)
        .await
        .unwrap();
}

#[tokio::test]
async fn the_key_value_store_option_serves_the_whole_flow_and_keeps_tokens_in_its_file() {
    let dir = temp_dir();
    let file = dir.join("oauth.redb");
    let server = TestServer::start_in(
        dir.clone(),
        &["--store", "kv", "--kv-file", file.to_str().unwrap()],
    )
    .await;
    assert!(
        server.banner().contains("key-value (redb)"),
        "{}",
        server.banner()
    );
    let redirect = "http://localhost:9/callback";
    let client_id = server.register("KV client", redirect).await;
    let tokens = tokens_for(&server, &client_id, redirect, "profile").await;
    let me: Value = bearer_get(&server, "/api/me", tokens["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["user"], USER);
    server.stop().await;
    assert!(std::fs::metadata(&file).unwrap().len() > 0);
}
