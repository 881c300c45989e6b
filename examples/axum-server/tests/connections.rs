//! Connection handling: slow clients are cut off, and shutdown does not wait for idle
//! keep-alive connections.

mod common;

use std::time::{Duration, Instant};

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let server = TestServer::start(&["--store", "memory"]).await;
    let address = server.base.trim_start_matches("http://").to_owned();
    let mut slow = TcpStream::connect(&address).await.unwrap();
    slow.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let mut buffer = [0u8; 256];
    // The server answers 408 or just closes; either way the read ends.
    let ended = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match slow.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(_) => continue,
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the connection stayed open for 20 s");
    assert!(
        started.elapsed() >= Duration::from_secs(5),
        "closed too early"
    );
    server.stop().await;
}

#[tokio::test]
async fn shutdown_does_not_wait_for_idle_keep_alive_connections() {
    let server = TestServer::start(&["--store", "memory"]).await;
    let client = server.client();
    // The pooled connection stays open after the answer.
    let response = client.get(server.url("/")).send().await.unwrap();
    assert!(response.status().is_success());
    let started = Instant::now();
    server.stop().await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "shutdown took {:?}",
        started.elapsed()
    );
    drop(client);
}
