//! Connection handling: slow clients are cut off, and shutdown does not wait for idle
//! keep-alive connections.
//!
//! The shared scenarios are `example-support`'s (`testing::connections`), run by both
//! examples; the bound on shutdown is this example's.

mod common;

use std::time::Duration;

use common::*;

example_support::connection_tests!(Axum);

#[tokio::test]
async fn shutdown_does_not_wait_for_idle_keep_alive_connections() {
    connections::shutdown_with_an_idle_keep_alive_connection_takes_less_than::<Axum>(
        Duration::from_secs(3),
    )
    .await;
}
