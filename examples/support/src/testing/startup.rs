//! Starting the server: what it prints, what it refuses, the development modes.

use reqwest::StatusCode;

use super::*;
use crate::server::StartError;

/// Listening on loopback only.
const LOOPBACK: &str = "127.0.0.1:0";
/// Listening on every interface, as in a container.
const EVERY_INTERFACE: &str = "0.0.0.0:0";
/// A public issuer: development modes are off for it.
const PUBLIC_ISSUER: &str = "https://auth.example.com";
/// A loopback issuer, as a container's setup names it.
const LOOPBACK_ISSUER: &str = "http://127.0.0.1:8080";

/// A command line: the program name, then a listener on `addr` with the memory store,
/// then `flags`.
fn memory_server(addr: &str, flags: &[&str]) -> Vec<String> {
    ["server", "--addr", addr, "--store", "memory"]
        .iter()
        .chain(flags)
        .copied()
        .map(str::to_owned)
        .collect()
}

/// The flags of a user `alice` whom auto-consent signs in.
const AUTO_CONSENT_ALICE: [&str; 4] = ["--user", "alice:password1", "--auto-consent", "alice"];

/// Why a server of `F` with the command line `args` refuses to start (panics if it starts).
async fn refusal<F: Starter>(args: Vec<String>) -> StartError {
    match F::try_start(args).await {
        Err(error) => error,
        Ok(_) => panic!("the server started"),
    }
}

/// Registers a client on `server`, runs the page flow and calls the API with the token:
/// the whole flow, on whatever store `server` was given.
async fn assert_serves_the_whole_flow(server: &TestServer, client_name: &str) {
    let redirect = "http://localhost:9/callback";
    let client_id = server.register(client_name, redirect).await;
    let tokens = tokens_for(server, &client_id, redirect, "profile").await;
    let me = api_me(server, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(me["user"], USER);
}

/// A scenario: see the test of the same name.
pub async fn banner_prints_the_urls_and_generated_demo_credentials<F: Starter>() {
    let dir = temp_dir();
    let key_file = dir.join("server.key");
    let server = F::try_start(memory_server(
        LOOPBACK,
        &["--dev-key-file", key_file.to_str().unwrap()],
    ))
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
    let signed_in = browser.sign_in_fresh("alice", &password).await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    test.stop().await;
}

/// A scenario: see the test of the same name.
pub async fn without_a_key_a_server_with_a_public_issuer_refuses_to_start<F: Starter>() {
    let dir = temp_dir();
    let dev_key = dir.join("server.key");
    let error = refusal::<F>(memory_server(
        LOOPBACK,
        &[
            "--issuer",
            PUBLIC_ISSUER,
            "--dev-key-file",
            dev_key.to_str().unwrap(),
        ],
    ))
    .await;
    assert!(matches!(error, StartError::NoKey), "{error:?}");
    assert!(!dev_key.exists());
}

/// A scenario: see the test of the same name.
pub async fn plain_http_is_refused_for_a_non_loopback_issuer_and_issuers_with_a_path<F: Starter>() {
    for issuer in ["http://auth.example.com", "https://auth.example.com/tenant"] {
        let key = random(32);
        let error = refusal::<F>(memory_server(
            LOOPBACK,
            &["--issuer", issuer, "--key", &key],
        ))
        .await;
        assert!(
            matches!(error, StartError::Issuer(_)),
            "{issuer}: {error:?}"
        );
    }
}

/// A scenario: see the test of the same name.
pub async fn auto_consent_is_refused_unless_the_issuer_is_loopback_and_the_user_exists<
    F: Starter,
>() {
    let key = random(32);
    let public = refusal::<F>(memory_server(
        LOOPBACK,
        &[
            &["--issuer", PUBLIC_ISSUER, "--key", &key][..],
            &AUTO_CONSENT_ALICE,
        ]
        .concat(),
    ))
    .await;
    assert!(matches!(public, StartError::AutoConsent(_)), "{public:?}");
    let dir = temp_dir();
    let unknown = refusal::<F>(memory_server(
        LOOPBACK,
        &[
            "--dev-key-file",
            dir.join("k").to_str().unwrap(),
            "--user",
            "alice:password1",
            "--auto-consent",
            "mallory",
        ],
    ))
    .await;
    assert!(matches!(unknown, StartError::AutoConsent(_)), "{unknown:?}");
}

/// A scenario: see the test of the same name.
pub async fn development_modes_are_refused_on_a_non_loopback_address_even_with_a_loopback_issuer<
    F: Starter,
>() {
    // A container's usual setup: listening on every interface, issuer naming 127.0.0.1.
    let dir = temp_dir();
    let dev_key = dir.join("k");
    let no_key = refusal::<F>(memory_server(
        EVERY_INTERFACE,
        &[
            "--issuer",
            LOOPBACK_ISSUER,
            "--dev-key-file",
            dev_key.to_str().unwrap(),
        ],
    ))
    .await;
    assert!(matches!(no_key, StartError::NoKey), "{no_key:?}");
    assert!(!dev_key.exists());
    let key = random(32);
    let auto = refusal::<F>(memory_server(
        EVERY_INTERFACE,
        &[
            &["--issuer", LOOPBACK_ISSUER, "--key", &key][..],
            &AUTO_CONSENT_ALICE,
        ]
        .concat(),
    ))
    .await;
    assert!(matches!(auto, StartError::AutoConsent(_)), "{auto:?}");
}

/// A scenario: see the test of the same name.
pub async fn an_https_issuer_behind_a_plain_listener_gets_secure_host_cookies_and_hsts<
    F: Starter,
>() {
    // A TLS-terminating proxy in front: browsers speak https to auth.example.com.
    let key = random(32);
    let server = F::try_start(memory_server(
        LOOPBACK,
        &[
            "--issuer",
            PUBLIC_ISSUER,
            "--key",
            &key,
            "--user",
            "alice:password1",
        ],
    ))
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

/// A scenario: see the test of the same name.
pub async fn tls_with_a_plain_http_issuer_is_refused<F: Starter>() {
    let dir = temp_dir();
    let error = refusal::<F>(memory_server(
        LOOPBACK,
        &[
            "--issuer",
            LOOPBACK_ISSUER,
            "--tls-self-signed",
            "--dev-cert-file",
            dir.join("c.pem").to_str().unwrap(),
            "--dev-key-file",
            dir.join("k").to_str().unwrap(),
        ],
    ))
    .await;
    assert!(matches!(error, StartError::Issuer(_)), "{error:?}");
}
/// A scenario: see the test of the same name.
pub async fn auto_consent_answers_a_valid_request_with_code_state_and_iss_and_still_validates<
    F: Starter,
>() {
    let server = TestServer::start_with::<F>(&["--store", "memory", "--auto-consent", USER]).await;
    assert!(server.banner().contains("WARNING: auto-consent"));
    let redirect = "http://localhost:9/callback";
    let client_id = server.register("Conformance tool", redirect).await;
    let request = AuthorizeRequest::new(&client_id, redirect);
    let answer = server.browser().get(&request.path()).await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    let query = redirect_query(&answer, redirect);
    assert_eq!(param(&query, "state"), Some(request.state.as_str()));
    assert_eq!(param(&query, "iss"), Some(server.base.as_str()));
    let tokens = request.redeem_query(&server, &query).await;
    let me = api_me(&server, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(me["user"], USER);

    // Client, redirect URI and PKCE checks still apply.
    let wrong_redirect = AuthorizeRequest::new(&client_id, "http://evil.example/cb");
    let page = server.browser().get(&wrong_redirect.path()).await;
    assert_not_redirected(&page, StatusCode::BAD_REQUEST);
    // A client that could receive the code elsewhere than on this machine is refused.
    let remote = "https://client.example/callback";
    let remote_id = server.register("Remote client", remote).await;
    let refused = server
        .browser()
        .get(&AuthorizeRequest::new(&remote_id, remote).path())
        .await;
    assert_not_redirected(&refused, StatusCode::FORBIDDEN);
    // Nor is an error redirected to it.
    let remote_without_pkce = AuthorizeRequest::new(&remote_id, remote);
    let path = remote_without_pkce.path().replace(
        &format!("&code_challenge={}", remote_without_pkce.pkce.challenge),
        "",
    );
    let refused = server.browser().get(&path).await;
    assert_not_redirected(&refused, StatusCode::FORBIDDEN);
    let no_pkce = request
        .path()
        .replace(&format!("&code_challenge={}", request.pkce.challenge), "");
    let error = redirect_query(&server.browser().get(&no_pkce).await, redirect);
    assert_eq!(param(&error, "error"), Some("invalid_request"));
    assert_eq!(param(&error, "code"), None);
}

/// A scenario: see the test of the same name.
pub async fn the_redis_store_option_serves_the_whole_flow<F: Starter>() {
    use oauth_store_redis::redis;
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let prefix = format!("example-test-{}", random(9).replace(['-', '_'], "x"));
    let server = TestServer::start_with::<F>(&[
        "--store",
        "redis",
        "--redis-url",
        &url,
        "--redis-prefix",
        &prefix,
    ])
    .await;
    assert!(server.banner().contains("Redis at"), "{}", server.banner());
    assert_serves_the_whole_flow(&server, "Redis client").await;
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

/// A scenario: see the test of the same name.
pub async fn the_key_value_store_option_serves_the_whole_flow_and_keeps_tokens_in_its_file<
    F: Starter,
>() {
    let dir = temp_dir();
    let file = dir.join("oauth.redb");
    let server = TestServer::start_in_with::<F>(
        dir.clone(),
        &["--store", "kv", "--kv-file", file.to_str().unwrap()],
    )
    .await;
    assert!(
        server.banner().contains("key-value (redb)"),
        "{}",
        server.banner()
    );
    assert_serves_the_whole_flow(&server, "KV client").await;
    server.stop().await;
    assert!(std::fs::metadata(&file).unwrap().len() > 0);
}
