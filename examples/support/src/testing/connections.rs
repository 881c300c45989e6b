//! Connection handling: slow clients are cut off, and shutdown does not hang on an idle
//! keep-alive connection.
//!
//! How long shutdown may wait for an idle connection depends on the web framework, so
//! each server's tests name that bound and call
//! [`shutdown_with_an_idle_keep_alive_connection_takes_less_than`].

use std::io::ErrorKind;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

use super::*;

/// Writes all of `bytes` to `stream`.
async fn write_all(stream: &TcpStream, mut bytes: &[u8]) {
    while !bytes.is_empty() {
        stream.writable().await.unwrap();
        match stream.try_write(bytes) {
            Ok(written) => bytes = &bytes[written..],
            Err(error) if error.kind() == ErrorKind::WouldBlock => continue,
            Err(error) => panic!("write: {error}"),
        }
    }
}

/// Reads (and drops) what `stream` receives until the peer closes it or it fails.
async fn read_until_closed(stream: &TcpStream) {
    let mut buffer = [0u8; 256];
    loop {
        if stream.readable().await.is_err() {
            break;
        }
        match stream.try_read(&mut buffer) {
            Ok(0) => break,
            Ok(_) => continue,
            Err(error) if error.kind() == ErrorKind::WouldBlock => continue,
            Err(_) => break,
        }
    }
}

/// A scenario: see the test of the same name.
pub async fn a_client_that_never_finishes_its_headers_is_disconnected<F: Starter>() {
    let server = TestServer::start_with::<F>(&["--store", "memory"]).await;
    let address = server.base.trim_start_matches("http://").to_owned();
    let slow = TcpStream::connect(&address).await.unwrap();
    write_all(&slow, b"GET / HTTP/1.1\r\nHost: x\r\n").await;
    let started = Instant::now();
    // The server answers 408 or just closes; either way the read ends.
    let ended = tokio::time::timeout(Duration::from_secs(20), read_until_closed(&slow)).await;
    assert!(ended.is_ok(), "the connection stayed open for 20 s");
    assert!(
        started.elapsed() >= Duration::from_secs(5),
        "closed too early"
    );
    server.stop().await;
}

/// Starts a server of `F`, leaves a keep-alive connection to it idle after one answer,
/// and asserts that shutdown takes less than `limit`.
pub async fn shutdown_with_an_idle_keep_alive_connection_takes_less_than<F: Starter>(
    limit: Duration,
) {
    let server = TestServer::start_with::<F>(&["--store", "memory"]).await;
    let client = server.client();
    // The pooled connection stays open after the answer.
    let response = client.get(server.url("/")).send().await.unwrap();
    assert!(response.status().is_success());
    let started = Instant::now();
    server.stop().await;
    assert!(
        started.elapsed() < limit,
        "shutdown took {:?}",
        started.elapsed()
    );
    drop(client);
}
