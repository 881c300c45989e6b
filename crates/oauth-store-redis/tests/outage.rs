//! Outages: a server that is not there, and a connection that stops forwarding in the
//! middle of an operation. Every failure is a `StoreError` within the store's timeout
//! (the provider answers 503 `temporarily_unavailable` and issues nothing), never a false
//! success; and once the connection heals the state is consistent: a code whose
//! redemption failed was either redeemed or not, never twice.

mod common;

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::StatusCode;
use oauth_core::store::{CodeLookup, ConsumeOutcome};
use oauth_core::{Store, StoreErrorKind};
use oauth_store_redis::{OpenError, RedisStore, RedisStoreOptions};
use oauth_store_testkit::fixtures::{
    client_id, code_for, once_key, token_hash, tokens_for, tokens_for_code, user_grant, user_id,
    NOW,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use common::provider::{code_exchange_request, obtain_code, provider, public_client};

const TIMEOUT: Duration = Duration::from_millis(400);
/// How long a failing operation may take: the timeout plus scheduling slack.
const PROMPTLY: Duration = Duration::from_millis(2_000);

/// A port on the loopback where nothing listens.
async fn dead_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

fn store_at(port: u16, prefix: &str) -> RedisStore {
    RedisStoreOptions::new(&format!("redis://127.0.0.1:{port}"))
        .unwrap()
        .prefix(prefix)
        .timeout(TIMEOUT)
        .connect_timeout(Duration::from_millis(200))
        .connect_lazy()
        .unwrap()
}

#[tokio::test]
async fn a_server_that_is_not_there_fails_every_operation_promptly() {
    let port = dead_port().await;
    let started = Instant::now();
    let refused = RedisStoreOptions::new(&format!("redis://127.0.0.1:{port}"))
        .unwrap()
        .timeout(TIMEOUT)
        .connect()
        .await;
    assert!(matches!(refused, Err(OpenError::Connect(_))), "{refused:?}");
    assert!(started.elapsed() < PROMPTLY);

    let store = store_at(port, &common::fresh_prefix());
    let grant = user_grant(&user_id(), &client_id());
    let code = code_for(&grant);
    let checks: Vec<(&str, Result<(), oauth_core::StoreError>)> = vec![
        ("client", store.client(&client_id()).await.map(drop)),
        (
            "create_grant_with_code",
            store.create_grant_with_code(&grant, &code).await,
        ),
        (
            "consume_code",
            store
                .consume_code(&code.hash, &tokens_for_code(&code), NOW)
                .await
                .map(drop),
        ),
        (
            "access_token",
            store.access_token(&token_hash(), NOW).await.map(drop),
        ),
        ("revoke_grant", store.revoke_grant(&grant.id).await),
        (
            "revoke_user_grants",
            store.revoke_user_grants(&user_id()).await,
        ),
        ("delete_client", store.delete_client(&client_id()).await),
        (
            "insert_once",
            store
                .insert_once(once_key("t"), NOW.plus(5), NOW)
                .await
                .map(drop),
        ),
    ];
    for (operation, result) in checks {
        let error = result.expect_err(operation);
        assert_eq!(
            error.kind(),
            StoreErrorKind::Unavailable,
            "{operation}: {error}"
        );
    }
    assert!(
        started.elapsed() < PROMPTLY * 8,
        "each failure is bounded by the timeout: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn the_provider_answers_503_and_issues_nothing_when_redis_is_down() {
    let store = store_at(dead_port().await, &common::fresh_prefix());
    let provider = provider(store);
    let started = Instant::now();
    let response = provider
        .token(&code_exchange_request("some-client", "some-code"))
        .await;
    assert!(started.elapsed() < PROMPTLY);
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    assert!(body.get("access_token").is_none(), "{body}");

    // A well-formed access token (prefix and 43 base64url characters): only the store
    // can tell whether it exists.
    let token = format!("oa2at_{}", "A".repeat(43));
    let bearer = provider
        .authenticate(&common::provider::bearer_request(&token))
        .await
        .unwrap_err();
    assert_eq!(bearer.status(), StatusCode::SERVICE_UNAVAILABLE);
}

// ---- a TCP proxy the test controls ----

const FORWARD: u8 = 0;
/// Requests reach Redis, answers are held back: the operation runs, its reply is lost.
const HOLD_REPLIES: u8 = 1;
/// Nothing is forwarded either way: the operation never reaches Redis.
const HOLD_ALL: u8 = 2;

/// A proxy to the test server on a loopback port. `set` changes what it forwards;
/// `heal` closes every connection (the held bytes are lost with them, as in a network
/// partition that ends in a reset) and forwards again.
struct Proxy {
    port: u16,
    mode: Arc<AtomicU8>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
    accept: JoinHandle<()>,
}

impl Proxy {
    async fn start() -> Proxy {
        let upstream = common::redis_url()
            .trim_start_matches("redis://")
            .split('/')
            .next()
            .unwrap()
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let mode = Arc::new(AtomicU8::new(FORWARD));
        let connections = Arc::new(Mutex::new(Vec::new()));
        let accept = {
            let mode = Arc::clone(&mode);
            let connections = Arc::clone(&connections);
            tokio::spawn(async move {
                while let Ok((client, _)) = listener.accept().await {
                    let Ok(server) = TcpStream::connect(&upstream).await else {
                        continue;
                    };
                    let task = tokio::spawn(pump(client, server, Arc::clone(&mode)));
                    connections.lock().unwrap().push(task);
                }
            })
        };
        Proxy {
            port,
            mode,
            connections,
            accept,
        }
    }

    fn set(&self, mode: u8) {
        self.mode.store(mode, Ordering::SeqCst);
    }

    fn heal(&self) {
        for task in self.connections.lock().unwrap().drain(..) {
            task.abort();
        }
        self.set(FORWARD);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        for task in self.connections.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

/// Copies bytes both ways, holding back what the mode says (bytes read while held are
/// kept and never sent: the connection is closed by `heal` before it could send them).
async fn pump(client: TcpStream, server: TcpStream, mode: Arc<AtomicU8>) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let requests = {
        let mode = Arc::clone(&mode);
        async move {
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = match client_read.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                if mode.load(Ordering::SeqCst) == HOLD_ALL {
                    continue;
                }
                if server_write.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        }
    };
    let replies = async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match server_read.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if mode.load(Ordering::SeqCst) != FORWARD {
                continue;
            }
            if client_write.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    tokio::join!(requests, replies);
}

/// A store through the proxy and one direct, on one fresh prefix.
async fn through_proxy() -> (Proxy, RedisStore, RedisStore, common::Cleanup) {
    let proxy = Proxy::start().await;
    let prefix = common::fresh_prefix();
    let proxied = store_at(proxy.port, &prefix);
    let direct = common::connect(&prefix).await;
    (proxy, proxied, direct, common::Cleanup(prefix))
}

/// Retries `op` until it succeeds, while the store reconnects after a heal.
async fn after_heal<T, F, Fut>(mut op: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, oauth_core::StoreError>>,
{
    for _ in 0..20 {
        match op().await {
            Ok(value) => return value,
            Err(error) => {
                assert_eq!(error.kind(), StoreErrorKind::Unavailable, "{error}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    panic!("the store did not recover after the proxy healed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redemption_whose_reply_is_lost_is_an_error_and_never_issues_twice() {
    let (proxy, proxied, direct, _cleanup) = through_proxy().await;
    let grant = user_grant(&user_id(), &client_id());
    let code = code_for(&grant);
    direct.create_grant_with_code(&grant, &code).await.unwrap();
    assert!(matches!(
        proxied.find_code(&code.hash, NOW).await.unwrap(),
        CodeLookup::Active(_)
    ));

    proxy.set(HOLD_REPLIES);
    let first = tokens_for_code(&code);
    let started = Instant::now();
    let lost = proxied.consume_code(&code.hash, &first, NOW).await;
    assert!(started.elapsed() < PROMPTLY);
    assert_eq!(lost.unwrap_err().kind(), StoreErrorKind::Unavailable);
    // The script ran: the code is redeemed and the first tokens exist, once.
    assert_eq!(
        direct.find_code(&code.hash, NOW).await.unwrap(),
        CodeLookup::Used(code.clone())
    );
    assert!(direct
        .access_token(&first.access.hash, NOW)
        .await
        .unwrap()
        .is_some());

    // A revocation whose reply is lost is an error too, not a success.
    let lost = proxied.revoke_grant(&grant.id).await;
    assert_eq!(lost.unwrap_err().kind(), StoreErrorKind::Unavailable);

    proxy.heal();
    let second = tokens_for_code(&code);
    let outcome = after_heal(|| proxied.consume_code(&code.hash, &second, NOW)).await;
    assert!(
        matches!(
            outcome,
            ConsumeOutcome::AlreadyUsed { .. } | ConsumeOutcome::NotFound
        ),
        "never redeemed twice: {outcome:?}"
    );
    assert!(direct
        .access_token(&second.access.hash, NOW)
        .await
        .unwrap()
        .is_none());
    after_heal(|| proxied.revoke_grant(&grant.id)).await;
    assert!(direct
        .access_token(&first.access.hash, NOW)
        .await
        .unwrap()
        .is_none());
    assert_eq!(direct.grant(&grant.id, NOW).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redemption_that_never_arrives_is_an_error_and_the_code_stays_redeemable() {
    let (proxy, proxied, direct, _cleanup) = through_proxy().await;
    let grant = user_grant(&user_id(), &client_id());
    let code = code_for(&grant);
    direct.create_grant_with_code(&grant, &code).await.unwrap();
    let tokens = tokens_for(&grant);
    direct.store_tokens(None, &tokens).await.unwrap();
    proxied.client(&client_id()).await.unwrap();

    proxy.set(HOLD_ALL);
    let first = tokens_for_code(&code);
    let lost = proxied.consume_code(&code.hash, &first, NOW).await;
    assert_eq!(lost.unwrap_err().kind(), StoreErrorKind::Unavailable);
    let lost = proxied.revoke_grant(&grant.id).await;
    assert_eq!(lost.unwrap_err().kind(), StoreErrorKind::Unavailable);
    // Nothing ran.
    assert_eq!(
        direct.find_code(&code.hash, NOW).await.unwrap(),
        CodeLookup::Active(code.clone())
    );
    assert!(direct
        .access_token(&first.access.hash, NOW)
        .await
        .unwrap()
        .is_none());
    assert!(direct
        .access_token(&tokens.access.hash, NOW)
        .await
        .unwrap()
        .is_some());

    proxy.heal();
    let second = tokens_for_code(&code);
    let outcome = after_heal(|| proxied.consume_code(&code.hash, &second, NOW)).await;
    assert_eq!(outcome, ConsumeOutcome::Consumed);
    assert!(direct
        .access_token(&second.access.hash, NOW)
        .await
        .unwrap()
        .is_some());
    assert!(direct
        .access_token(&first.access.hash, NOW)
        .await
        .unwrap()
        .is_none());
    after_heal(|| proxied.revoke_grant(&grant.id)).await;
    assert!(direct
        .access_token(&tokens.access.hash, NOW)
        .await
        .unwrap()
        .is_none());
    assert!(direct
        .access_token(&second.access.hash, NOW)
        .await
        .unwrap()
        .is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_provider_answers_503_while_the_connection_hangs_and_200_after() {
    let (proxy, proxied, _direct, _cleanup) = through_proxy().await;
    let provider = provider(proxied);
    let client_id = public_client(&provider).await;
    let code = obtain_code(&provider, &client_id).await;

    proxy.set(HOLD_ALL);
    let response = provider
        .token(&code_exchange_request(&client_id, &code))
        .await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
    assert!(body.get("access_token").is_none());

    proxy.heal();
    let mut status = StatusCode::SERVICE_UNAVAILABLE;
    for _ in 0..20 {
        let response = provider
            .token(&code_exchange_request(&client_id, &code))
            .await;
        status = response.status();
        if status != StatusCode::SERVICE_UNAVAILABLE {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        status,
        StatusCode::OK,
        "the untouched code redeems after the heal"
    );
}
