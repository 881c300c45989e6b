//! # The example authorization server on actix-web
//!
//! The axum example's server (`example-axum-server`) on actix-web 4 and `oauth-actix`:
//! the same OAuth 2.1 authorization server with the same login, consent and "authorized
//! apps" pages, protected demo API and minimal MCP endpoint. Everything that does not
//! depend on the web framework (settings, keys, users, sessions and CSRF, the pages and
//! their flow, the MCP logic, store and provider, start-up) is `example-support`'s,
//! shared with the axum example; this crate is the actix wiring.
//!
//! ```text
//! cargo run -p example-actix-server            # http://127.0.0.1:8081, SQLite file
//! cargo run -p example-actix-server -- --store redis   # or memory, kv (redb file)
//! cargo run -p example-actix-server -- --help  # every flag and environment variable
//! ```
//!
//! | route | what |
//! |---|---|
//! | `GET /` | home page |
//! | `GET, POST /authorize` | authorization endpoint: login, then consent |
//! | `GET, POST /login`, `POST /consent`, `POST /logout` | the pages' forms |
//! | `GET /account`, `POST /account/revoke` | the user's authorized apps |
//! | `GET /api/me` | demo API (bearer, scope `profile`) |
//! | `POST /mcp` | MCP endpoint (bearer, scope `mcp:tools`) |
//! | `/token`, `/revoke`, `/introspect`, `/register`, `/.well-known/*` | `oauth-actix`'s protocol service |
//!
//! Where it differs from the axum example, it is actix's doing:
//!
//! - With `--tls-cert`/`--tls-self-signed`, actix's rustls integration offers HTTP/2 as
//!   well as HTTP/1.1 (ALPN); the axum example speaks HTTP/1.1 only. Over HTTP/2 the MCP
//!   endpoint's host check reads `:authority` (and `Host`, if sent, must agree).
//! - Graceful shutdown is actix's: it stops accepting, lets requests in flight finish,
//!   and waits for the open connections to close, at most [`SHUTDOWN_GRACE`]. Responses
//!   sent once stopping end their connection, but an idle HTTP/1.1 keep-alive connection
//!   stays until its keep-alive time (5 s) runs out, and an idle HTTP/2 one until the
//!   grace ends, where the axum example closes idle connections at once.
//! - Connection limits are per worker thread: [`MAX_CONNECTIONS`] is shared out between
//!   the workers, and beyond it new connections wait in the listen backlog (the axum
//!   example closes them).
//!
//! The limits are the axum example's: request headers within
//! [`HEADER_TIMEOUT`], every request within
//! [`REQUEST_TIMEOUT`](example_support::REQUEST_TIMEOUT) (408), forms up to
//! [`MAX_FORM_BYTES`](example_support::MAX_FORM_BYTES) and MCP messages up to
//! [`MAX_MESSAGE_BYTES`](example_support::mcp::MAX_MESSAGE_BYTES) (413), protocol
//! requests up to the provider's limit (`oauth-actix`); a request head is bounded by
//! actix itself (128 KiB, 96 headers: 431 beyond).
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod app;
mod settings;

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header::HeaderValue as ActixHeaderValue;
use actix_web::middleware::{from_fn, Next};
use actix_web::HttpServer;
use example_support::{
    App, Flavor, Frontend, Listening, HEADER_TIMEOUT, MAX_CONNECTIONS, SHUTDOWN_GRACE,
};
use oauth_core::Store;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use example_support::{RunningServer, StartError, StoreKind};
pub use settings::Settings;

use crate::app::{around, configure, Stopping};

/// What this server calls itself.
const FLAVOR: Flavor = Flavor {
    name: "example-actix-server",
    framework: "actix-web",
    glue: "oauth-actix",
};

/// How long an idle keep-alive connection stays open.
const KEEP_ALIVE: Duration = Duration::from_secs(5);
/// A TLS handshake that takes longer is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// Starts the server described by `settings`.
pub async fn start(settings: Settings) -> Result<RunningServer, StartError> {
    let tls = example_support::tls::configure(settings.addr, &settings.common)?;
    let listener = std::net::TcpListener::bind(settings.addr).map_err(StartError::Bind)?;
    let local_addr = listener.local_addr().map_err(StartError::Bind)?;
    let listening = Listening {
        local_addr,
        tls: tls.is_some(),
        generated_cert: tls.as_ref().and_then(|tls| tls.generated_cert.clone()),
    };
    let frontend = Actix {
        listener,
        tls: tls.map(|tls| tls.config),
    };
    example_support::start(FLAVOR, &settings.common, listening, frontend).await
}

/// actix-web's `HttpServer` on the bound listener, plain or over rustls.
struct Actix {
    listener: std::net::TcpListener,
    tls: Option<rustls::ServerConfig>,
}

impl Frontend for Actix {
    fn serve<S: Store>(
        self,
        app: Arc<App<S>>,
        mut stop: watch::Receiver<bool>,
    ) -> Result<JoinHandle<std::io::Result<()>>, StartError> {
        let workers = std::thread::available_parallelism().map_or(1, usize::from);
        let hsts = app
            .hsts()
            .and_then(|value| ActixHeaderValue::from_bytes(value.as_bytes()).ok());
        let stopping = Stopping::default();
        let factory = {
            let stopping = stopping.clone();
            move || {
                let (hsts, stopping) = (hsts.clone(), stopping.clone());
                actix_web::App::new()
                    .configure(|cfg| configure(&app, cfg))
                    .wrap(from_fn(
                        move |request, next: Next<actix_web::body::BoxBody>| {
                            around(hsts.clone(), stopping.clone(), request, next)
                        },
                    ))
            }
        };
        let server = HttpServer::new(factory)
            .workers(workers)
            .max_connections(MAX_CONNECTIONS.div_ceil(workers))
            .client_request_timeout(HEADER_TIMEOUT)
            .keep_alive(KEEP_ALIVE)
            .tls_handshake_timeout(HANDSHAKE_TIMEOUT)
            .shutdown_timeout(SHUTDOWN_GRACE.as_secs())
            // Ctrl-C and SIGTERM are the binary's to handle (`run_until_stopped`).
            .disable_signals();
        let server = match self.tls {
            Some(config) => server.listen_rustls_0_23(self.listener, config),
            None => server.listen(self.listener),
        }
        .map_err(StartError::Bind)?
        .run();
        let handle = server.handle();
        let serving = tokio::spawn(server);
        Ok(tokio::spawn(async move {
            let _ = stop.wait_for(|stop| *stop).await;
            stopping.set();
            // Stop accepting, let requests in flight finish, wait for the connections.
            handle.stop(true).await;
            serving.await.map_err(std::io::Error::other)?
        }))
    }
}
