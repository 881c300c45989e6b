//! RFC 9112 §6.3 over a real socket (`oauth_glue_scenarios::wire`): request framing as
//! hyper decides it under `axum::serve`, in front of the protocol router.

use std::net::SocketAddr;

use oauth_axum::ProtocolRouter;
use oauth_glue_scenarios::{harness, wire};

/// The protocol endpoints of a fresh provider, served on a loopback port.
async fn serve() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let addr = listener.local_addr().expect("its address");
    let app: axum::Router = ProtocolRouter::new(harness::provider()).build();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

#[tokio::test]
async fn ambiguous_framing_never_smuggles_a_second_request() {
    wire::ambiguous_framing_never_smuggles_a_second_request(serve().await).await;
}

#[tokio::test]
async fn body_cut_before_its_declared_length_is_never_processed() {
    wire::body_cut_before_its_declared_length_is_never_processed(serve().await).await;
}

#[tokio::test]
async fn chunked_body_without_its_last_chunk_is_never_processed() {
    wire::chunked_body_without_its_last_chunk_is_never_processed(serve().await).await;
}
