//! What the example server's HTTP tests share: `example-support`'s test helpers, with
//! test servers started by this crate's `start`.
#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;

use clap::Parser;
use example_axum_server::{start, RunningServer, Settings, StartError};
pub use example_support::testing::*;

/// The axum example, for `example-support`'s scenarios.
pub struct Axum;

impl Starter for Axum {
    const NAME: &'static str = "example-axum-server";

    fn binary() -> &'static str {
        env!("CARGO_BIN_EXE_example-axum-server")
    }

    async fn try_start(args: Vec<String>) -> Result<RunningServer, StartError> {
        start(Settings::try_parse_from(args).unwrap()).await
    }
}

/// Starting a [`TestServer`] of this example: a random port, files in a temporary
/// directory, two users.
pub(crate) trait Start {
    /// Starts a server with the base flags plus `extra`.
    async fn start(extra: &[&str]) -> TestServer;
    /// Starts a server whose files live in `dir`.
    async fn start_in(dir: PathBuf, extra: &[&str]) -> TestServer;
}

impl Start for TestServer {
    async fn start(extra: &[&str]) -> TestServer {
        TestServer::start_with::<Axum>(extra).await
    }

    async fn start_in(dir: PathBuf, extra: &[&str]) -> TestServer {
        TestServer::start_in_with::<Axum>(dir, extra).await
    }
}
