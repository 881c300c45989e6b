//! Scenarios over a real socket, for what only the server's HTTP/1 parser decides: how a
//! request's body is framed. Each takes the address of the glue's protocol endpoints
//! served on loopback (any path not served is that server's 404).
//!
//! RFC 9112 §6.3: a request with both `Transfer-Encoding` and `Content-Length` is a
//! smuggling attempt; the server must not read a second request out of its body, and
//! ought to close the connection. A body that ends before the length it declared was not
//! received: processing what arrived could act on another request than the one sent
//! (a revocation cut inside its token answers 200 and revokes nothing).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// How long a server has to answer and close.
const WAIT: Duration = Duration::from_secs(5);

/// Writes `bytes`, closes the writing half, and returns everything the server sends
/// until it closes the connection (or [`WAIT`] passes).
async fn exchange(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.expect("the server listens");
    stream.write_all(bytes).await.expect("the request is sent");
    stream.shutdown().await.expect("the writing half closes");
    let mut received = Vec::new();
    let _ = tokio::time::timeout(WAIT, stream.read_to_end(&mut received)).await;
    String::from_utf8_lossy(&received).into_owned()
}

/// The status lines in what a server sent.
fn status_lines(received: &str) -> Vec<&str> {
    received
        .split("\r\n")
        .filter(|line| line.starts_with("HTTP/1.1 ") || line.starts_with("HTTP/1.0 "))
        .collect()
}

/// A token request with `Content-Length` and `Transfer-Encoding: chunked` whose chunked
/// body ends at once and is followed by a second request: one answer at most, never an
/// answer to the second request.
pub async fn ambiguous_framing_never_smuggles_a_second_request(addr: SocketAddr) {
    let request = "POST /token HTTP/1.1\r\n\
                   Host: 127.0.0.1\r\n\
                   Content-Type: application/x-www-form-urlencoded\r\n\
                   Content-Length: 48\r\n\
                   Transfer-Encoding: chunked\r\n\
                   \r\n\
                   0\r\n\
                   \r\n\
                   GET /smuggled HTTP/1.1\r\n\
                   Host: 127.0.0.1\r\n\
                   \r\n";
    let received = exchange(addr, request.as_bytes()).await;
    let statuses = status_lines(&received);
    assert!(
        statuses.len() <= 1,
        "a second request was read from the body: {received}"
    );
    assert!(
        !received.contains("404"),
        "the smuggled request was answered: {received}"
    );
}

/// A token request declaring 100 bytes whose client stops after fewer: never processed
/// (no error of the core's about its parameters); at most a bodiless 400.
pub async fn body_cut_before_its_declared_length_is_never_processed(addr: SocketAddr) {
    let body = "grant_type=authorization_code&code=abc&client_id=x";
    let request = format!(
        "POST /token HTTP/1.1\r\n\
         Host: 127.0.0.1\r\n\
         Content-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: 100\r\n\
         \r\n\
         {body}"
    );
    let received = exchange(addr, request.as_bytes()).await;
    assert!(
        !received.contains("\"error\""),
        "the cut body was processed: {received}"
    );
    for status in status_lines(&received) {
        assert!(status.contains(" 400 "), "{received}");
    }
}

/// A chunked token request whose client stops before the last chunk: never processed.
pub async fn chunked_body_without_its_last_chunk_is_never_processed(addr: SocketAddr) {
    let request = "POST /token HTTP/1.1\r\n\
                   Host: 127.0.0.1\r\n\
                   Content-Type: application/x-www-form-urlencoded\r\n\
                   Transfer-Encoding: chunked\r\n\
                   \r\n\
                   10\r\n\
                   grant_type=autho\r\n";
    let received = exchange(addr, request.as_bytes()).await;
    assert!(
        !received.contains("\"error\""),
        "the cut body was processed: {received}"
    );
    for status in status_lines(&received) {
        assert!(status.contains(" 400 "), "{received}");
    }
}
