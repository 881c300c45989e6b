//! RFC 9112 §6.3 over a real socket (`oauth_glue_scenarios::wire`): request framing as
//! actix-http decides it under `HttpServer`, in front of the protocol service. (actix-http
//! before 3.12.1 failed the first two: it read a smuggled second request out of a body
//! with both framings, and ended a cut body as if it were whole.)

use std::net::SocketAddr;

use actix_web::{App, HttpServer};
use oauth_actix::ProtocolService;
use oauth_glue_scenarios::{harness, wire};

/// The protocol endpoints of a fresh provider, served on a loopback port by an actix
/// system on its own thread.
fn serve() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let addr = listener.local_addr().expect("its address");
    let protocol = ProtocolService::new(harness::provider());
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(move || {
                let protocol = protocol.clone();
                App::new().configure(move |cfg| protocol.configure(cfg))
            })
            .workers(1)
            .listen(listener)
            .expect("the listener")
            .run();
            let _ = server.await;
        });
    });
    addr
}

#[tokio::test]
async fn ambiguous_framing_never_smuggles_a_second_request() {
    wire::ambiguous_framing_never_smuggles_a_second_request(serve()).await;
}

#[tokio::test]
async fn body_cut_before_its_declared_length_is_never_processed() {
    wire::body_cut_before_its_declared_length_is_never_processed(serve()).await;
}

#[tokio::test]
async fn chunked_body_without_its_last_chunk_is_never_processed() {
    wire::chunked_body_without_its_last_chunk_is_never_processed(serve()).await;
}
