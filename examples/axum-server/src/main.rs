//! `cargo run -p example-axum-server`: starts the server, prints where to go and the demo
//! credentials, and stops gracefully on Ctrl-C or SIGTERM.

use std::process::ExitCode;

use clap::Parser;
use example_axum_server::{start, Settings};

#[tokio::main]
async fn main() -> ExitCode {
    let settings = Settings::parse();
    example_support::server::run_until_stopped(start(settings)).await
}
