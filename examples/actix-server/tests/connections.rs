//! Connection handling: slow clients are cut off, and shutdown lets requests in flight
//! finish and waits for an idle keep-alive connection no longer than its keep-alive time
//! (actix's graceful shutdown; the axum example closes idle connections at once).
//!
//! The shared scenarios are `example-support`'s (`testing::connections`), run by both
//! examples; the bound on shutdown and the request in flight are this example's.

mod common;

use std::time::Duration;

use common::*;

example_support::connection_tests!(Actix);

#[tokio::test]
async fn shutdown_waits_for_an_idle_keep_alive_connection_only_until_its_keep_alive_ends() {
    connections::shutdown_with_an_idle_keep_alive_connection_takes_less_than::<Actix>(
        Duration::from_secs(8),
    )
    .await;
}

#[tokio::test]
async fn shutdown_lets_a_request_in_flight_finish() {
    let server = TestServer::start_with::<Actix>(&["--store", "memory"]).await;
    let client = server.client();
    let redirect = "http://localhost:9/callback";
    let client_id = server.register("Shutdown client", redirect).await;
    // A login takes an Argon2 check: start one, then ask the server to stop.
    let browser = server.browser();
    let login = browser.get("/login").await;
    let csrf = login.hidden("csrf");
    let signing_in = tokio::spawn({
        let browser_client = browser.client.clone();
        let url = server.url("/login");
        let origin = server.base.clone();
        async move {
            browser_client
                .post(url)
                .header("origin", origin)
                .header("sec-fetch-site", "same-origin")
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("username", USER),
                    ("password", PASSWORD),
                ])
                .send()
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    server.stop().await;
    let answered = signing_in.await.unwrap().unwrap();
    assert_eq!(answered.status(), reqwest::StatusCode::SEE_OTHER);
    assert_eq!(answered.headers()["connection"], "close");
    drop((client, client_id));
}
