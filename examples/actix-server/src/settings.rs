//! Command-line flags and environment variables: every setting has both, the flag wins.
//! All but the address are the examples' [`CommonSettings`], as for the axum example.

use std::net::SocketAddr;

use clap::Parser;
use example_support::CommonSettings;

/// How the example server is configured (`--help` lists every flag and its variable).
#[derive(Clone, Debug, Parser)]
#[command(
    name = "example-actix-server",
    version,
    about = "An OAuth 2.1 authorization server with a protected demo API and MCP endpoint, on actix-web."
)]
pub struct Settings {
    /// The address to listen on. Port 0 picks a free port. (8081, beside the axum
    /// example's 8080.)
    #[arg(long, env = "OAUTH_SERVER_ADDR", default_value = "127.0.0.1:8081")]
    pub addr: SocketAddr,

    /// Everything else: issuer, store, keys, users, TLS, development modes.
    #[command(flatten)]
    pub common: CommonSettings,
}
