//! Command-line flags and environment variables: every setting has both, the flag wins.
//! All but the address are the examples' [`CommonSettings`].

use std::net::SocketAddr;

use clap::Parser;
use example_support::CommonSettings;

/// How the example server is configured (`--help` lists every flag and its variable).
#[derive(Clone, Debug, Parser)]
#[command(
    name = "example-axum-server",
    version,
    about = "An OAuth 2.1 authorization server with a protected demo API and MCP endpoint, on axum."
)]
pub struct Settings {
    /// The address to listen on. Port 0 picks a free port.
    #[arg(long, env = "OAUTH_SERVER_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,

    /// Everything else: issuer, store, keys, users, TLS, development modes.
    #[command(flatten)]
    pub common: CommonSettings,
}
