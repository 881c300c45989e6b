//! # The example authorization server
//!
//! A complete OAuth 2.1 authorization server with a protected demo API and a minimal MCP
//! endpoint, built on `oauth-core` and `oauth-axum`: what a service needs around the
//! library (login, consent and "authorized apps" pages, sessions, CSRF, keys, TLS,
//! shutdown, housekeeping), written the way we would ship it.
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

mod account;
mod api;
mod app;
mod authorize;
mod browser;
mod keys;
mod mcp;
mod pages;
mod serve;
mod server;
mod settings;
mod throttle;
mod tls;
mod users;

pub use server::{start, RunningServer, StartError};
pub use settings::{Settings, StoreKind};
