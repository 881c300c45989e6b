//! What the actix example's HTTP tests share: `example-support`'s test helpers, with
//! test servers started by this crate's `start`.
#![allow(dead_code, unreachable_pub)]

use clap::Parser;
use example_actix_server::{start, RunningServer, Settings, StartError};
pub use example_support::testing::*;

/// The actix-web example, for `example-support`'s scenarios.
pub struct Actix;

impl Starter for Actix {
    const NAME: &'static str = "example-actix-server";

    fn binary() -> &'static str {
        env!("CARGO_BIN_EXE_example-actix-server")
    }

    async fn try_start(args: Vec<String>) -> Result<RunningServer, StartError> {
        start(Settings::try_parse_from(args).unwrap()).await
    }
}
