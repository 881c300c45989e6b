//! A load generator for the example server (`scripts/load-example` runs it against the
//! server on each store and prints the ratios). Two workloads, each for a fixed time
//! with a fixed number of concurrent clients over keep-alive connections:
//!
//! - `bearer`: `GET /api/me` with one valid token (bearer validation, one store read);
//! - `code-flow`: the authorization request (answered by the development auto-consent
//!   mode, so no pages) followed by the code exchange at `/token`.
//!
//! Usage: `load <base-url> [seconds] [concurrency]`; the server must run with
//! `--auto-consent <user>` and a `localhost` redirect must be acceptable (any loopback
//! server is).

use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use oauth_core::{OsRandom, SecureRandom};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const REDIRECT: &str = "http://localhost:9/callback";

fn random(bytes: usize) -> Result<String, BoxError> {
    let mut buffer = vec![0u8; bytes];
    OsRandom.fill(&mut buffer).map_err(|_| "no randomness")?;
    Ok(URL_SAFE_NO_PAD.encode(buffer))
}

/// One client of the load: a registered OAuth client and an HTTP connection pool.
#[derive(Clone)]
struct Agent {
    http: Client,
    base: String,
    client_id: String,
}

impl Agent {
    async fn register(base: &str) -> Result<Agent, BoxError> {
        let http = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let registered: Value = http
            .post(format!("{base}/register"))
            .json(&json!({
                "client_name": "load",
                "redirect_uris": [REDIRECT],
                "grant_types": ["authorization_code", "refresh_token"],
                "token_endpoint_auth_method": "none",
            }))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let client_id = registered["client_id"]
            .as_str()
            .ok_or("no client_id")?
            .to_owned();
        Ok(Agent {
            http,
            base: base.to_owned(),
            client_id,
        })
    }

    /// The authorization request and the code exchange; the token response.
    async fn code_flow(&self) -> Result<Value, BoxError> {
        let verifier = random(32)?;
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let response = self
            .http
            .get(format!("{}/authorize", self.base))
            .query(&[
                ("response_type", "code"),
                ("client_id", &self.client_id),
                ("redirect_uri", REDIRECT),
                ("state", "load"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ])
            .send()
            .await?;
        if response.status() != StatusCode::SEE_OTHER {
            return Err(format!("authorize answered {}", response.status()).into());
        }
        let location = response
            .headers()
            .get("location")
            .ok_or("no Location")?
            .to_str()?;
        let code = url::Url::parse(location)?
            .query_pairs()
            .find(|(key, _)| key == "code")
            .map(|(_, value)| value.into_owned())
            .ok_or("no code")?;
        let tokens = self
            .http
            .post(format!("{}/token", self.base))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("client_id", &self.client_id),
                ("code_verifier", &verifier),
            ])
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        Ok(tokens)
    }

    async fn bearer(&self, token: &str) -> Result<(), BoxError> {
        self.http
            .get(format!("{}/api/me", self.base))
            .bearer_auth(token)
            .send()
            .await?
            .error_for_status()?;
        Ok(())
    }
}

/// Latencies of one workload, in microseconds.
struct Sample {
    latencies: Vec<u64>,
    errors: u64,
    elapsed: Duration,
}

impl Sample {
    fn report(mut self, name: &str) {
        self.latencies.sort_unstable();
        let count = self.latencies.len();
        let at = |q: f64| {
            let index = ((count as f64 - 1.0) * q).round() as usize;
            self.latencies.get(index).copied().unwrap_or(0)
        };
        println!(
            "{name:<10} {:>9.0} ops/s   p50 {:>6} µs   p99 {:>7} µs   errors {}",
            count as f64 / self.elapsed.as_secs_f64(),
            at(0.50),
            at(0.99),
            self.errors
        );
    }
}

/// Runs `operation` from `concurrency` tasks for `duration`.
async fn run<F, Fut>(agents: &[Agent], duration: Duration, operation: F) -> Sample
where
    F: Fn(Agent) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = Result<(), BoxError>> + Send,
{
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = agents
        .iter()
        .cloned()
        .map(|agent| {
            let operation = operation.clone();
            tokio::spawn(async move {
                let (mut latencies, mut errors) = (Vec::new(), 0u64);
                while Instant::now() < deadline {
                    let begun = Instant::now();
                    match operation(agent.clone()).await {
                        Ok(()) => latencies.push(begun.elapsed().as_micros() as u64),
                        Err(_) => errors += 1,
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut sample = Sample {
        latencies: Vec::new(),
        errors: 0,
        elapsed: Duration::ZERO,
    };
    for task in tasks {
        if let Ok((latencies, errors)) = task.await {
            sample.latencies.extend(latencies);
            sample.errors += errors;
        }
    }
    sample.elapsed = started.elapsed();
    sample
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let mut args = std::env::args().skip(1);
    let base = args
        .next()
        .ok_or("usage: load <base-url> [seconds] [concurrency]")?;
    let seconds: u64 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(10);
    let concurrency: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(16);
    let duration = Duration::from_secs(seconds);

    let mut agents = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        agents.push(Agent::register(&base).await?);
    }
    let first = agents.first().ok_or("concurrency must be at least 1")?;
    let token = first.code_flow().await?["access_token"]
        .as_str()
        .ok_or("no access_token")?
        .to_owned();

    let bearer = run(&agents, duration, move |agent: Agent| {
        let token = token.clone();
        async move { agent.bearer(&token).await }
    })
    .await;
    bearer.report("bearer");
    let flow = run(&agents, duration, |agent: Agent| async move {
        agent.code_flow().await.map(drop)
    })
    .await;
    flow.report("code-flow");
    Ok(())
}
