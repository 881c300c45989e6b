//! The server binary itself, run as a child process: it prints its banner, stops
//! gracefully on SIGTERM, and a restart on the same SQLite file and key keeps every
//! issued token and refresh token working.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use super::*;

/// A loopback callback on another name than the server's host (`127.0.0.1`): over plain
/// http, a callback on the server's own host would receive its cookies.
const REDIRECT: &str = "http://localhost:9/callback";

/// The server binary running in `dir` (its default files land there), killed on drop.
struct Process {
    child: Child,
    base: String,
}

impl Process {
    fn start<F: Starter>(dir: &Path, port: u16) -> Process {
        let mut child = Command::new(F::binary())
            .current_dir(dir)
            .args([
                "--addr",
                &format!("127.0.0.1:{port}"),
                "--user",
                &format!("{USER}:{PASSWORD}"),
            ])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let first = lines.next().expect("a banner").unwrap();
        let base = first
            .split("listening on ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("unexpected banner: {first}"))
            .to_owned();
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Process { child, base }
    }

    /// SIGTERM, then wait for a clean exit.
    fn stop(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                assert!(status.success(), "server exited with {status}");
                return;
            }
            assert!(Instant::now() < deadline, "server did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A free loopback port. The issuer, and with it the tokens' audience, includes the
/// port, so a restarted server must come back on the same one.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A scenario: see the test of the same name.
pub async fn tokens_survive_a_restart_on_the_same_sqlite_file<F: Starter>() {
    let (dir, port) = (temp_dir(), free_port());
    let first = Process::start::<F>(&dir, port);
    assert!(
        dir.join("oauth-example.db").exists(),
        "the default store is a SQLite file in the working directory"
    );
    let server = TestServer::external(&first.base, dir.clone());
    let client_id = server.register("Restart client", REDIRECT).await;
    let tokens = tokens_for(&server, &client_id, REDIRECT, "mcp:tools profile").await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(
        bearer_get(&server, "/api/me", &access).await.status(),
        StatusCode::OK
    );
    first.stop();

    // Same directory and port: same database, same development key, same issuer.
    let second = Process::start::<F>(&dir, port);
    let server = TestServer::external(&second.base, dir.clone());
    let me = api_me(&server, &access).await;
    assert_eq!(me["user"], USER);
    assert_eq!(me["client_id"], client_id.as_str());
    let refreshed = server.refresh(&refresh, &client_id).await;
    assert_eq!(refreshed.status(), StatusCode::OK);
    second.stop();
}

/// A scenario: see the test of the same name.
pub async fn a_restart_with_another_key_accepts_none_of_the_old_tokens<F: Starter>() {
    let (dir, port) = (temp_dir(), free_port());
    let first = Process::start::<F>(&dir, port);
    let server = TestServer::external(&first.base, dir.clone());
    let client_id = server.register("Rekey client", REDIRECT).await;
    let tokens = tokens_for(&server, &client_id, REDIRECT, "profile").await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    first.stop();
    std::fs::remove_file(dir.join("oauth-example.key")).unwrap();
    let second = Process::start::<F>(&dir, port);
    let server = TestServer::external(&second.base, dir.clone());
    assert_eq!(
        bearer_get(&server, "/api/me", &access).await.status(),
        StatusCode::UNAUTHORIZED
    );
    second.stop();
}
