//! # The example authorization server on axum
//!
//! A complete OAuth 2.1 authorization server with a protected demo API and a minimal MCP
//! endpoint, built on `oauth-core` and `oauth-axum`: what a service needs around the
//! library (login, consent and "authorized apps" pages, sessions, CSRF, keys, TLS,
//! shutdown, housekeeping), written the way we would ship it. Everything that does not
//! depend on the web framework is in `example-support`, shared with the actix-web
//! example; this crate is the axum wiring.
//!
//! ```text
//! cargo run -p example-axum-server            # http://127.0.0.1:8080, SQLite file
//! cargo run -p example-axum-server -- --store redis   # or memory, kv (redb file)
//! cargo run -p example-axum-server -- --help  # every flag and environment variable
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
//! | `/token`, `/revoke`, `/introspect`, `/register`, `/.well-known/*` | `oauth-axum`'s protocol router |
//!
//! The protected resource (the tokens' audience) is the MCP endpoint's URL, as the MCP
//! authorization profile requires; the demo API is part of the same resource server and
//! accepts the same tokens.
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
mod serve;
mod settings;
mod tls;

use std::sync::Arc;

use example_support::{App, Flavor, Frontend, Listening};
use oauth_core::Store;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

pub use example_support::{RunningServer, StartError, StoreKind};
pub use settings::Settings;

use crate::app::{router, AppState};
use crate::serve::serve;
use crate::tls::TlsListener;

/// What this server calls itself.
const FLAVOR: Flavor = Flavor {
    name: "example-axum-server",
    framework: "axum",
    glue: "oauth-axum",
};

/// Starts the server described by `settings`.
pub async fn start(settings: Settings) -> Result<RunningServer, StartError> {
    let tls = example_support::tls::configure(settings.addr, &settings.common)?;
    let listener = TcpListener::bind(settings.addr)
        .await
        .map_err(StartError::Bind)?;
    let local_addr = listener.local_addr().map_err(StartError::Bind)?;
    let listening = Listening {
        local_addr,
        tls: tls.is_some(),
        generated_cert: tls.as_ref().and_then(|tls| tls.generated_cert.clone()),
    };
    let acceptor = tls.map(|tls| TlsAcceptor::from(Arc::new(tls.config)));
    let frontend = Axum { listener, acceptor };
    example_support::start(FLAVOR, &settings.common, listening, frontend).await
}

/// The axum router on a hyper connection loop, over plain TCP or TLS.
struct Axum {
    listener: TcpListener,
    acceptor: Option<TlsAcceptor>,
}

impl Frontend for Axum {
    fn serve<S: Store>(
        self,
        app: Arc<App<S>>,
        stop: watch::Receiver<bool>,
    ) -> Result<JoinHandle<std::io::Result<()>>, StartError> {
        let router = router(AppState(app));
        Ok(match self.acceptor {
            Some(acceptor) => {
                let tls = TlsListener::new(self.listener, acceptor).map_err(StartError::Bind)?;
                tokio::spawn(serve(tls, router, stop))
            }
            None => tokio::spawn(serve(self.listener, router, stop)),
        })
    }
}
