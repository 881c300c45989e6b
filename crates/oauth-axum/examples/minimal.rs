//! The smallest complete axum integration, shown verbatim in the README (between the
//! markers; `tests/readme.rs` keeps the two identical). `cargo run -p oauth-axum
//! --example minimal` builds the router and prints the routes it serves.

use oauth_core::{OsRandom, SecureRandom};

// README: begin
use std::sync::Arc;

use axum::{routing::get, Router};
use oauth_axum::{Bearer, ProtocolRouter, RequireBearer};
use oauth_core::{Issuer, KeyId, Keyring, Provider};
use oauth_store_sqlite::SqliteStore;

/// Your API handler: `Bearer` hands it the validated token.
async fn me(Bearer(access, _): Bearer<SqliteStore>) -> String {
    format!("{:?} via {}", access.user_id, access.client_id)
}

/// The wiring: a provider on SQLite, the protocol endpoints, a protected API.
async fn app(key: &[u8]) -> Result<Router, Box<dyn std::error::Error>> {
    let provider = Arc::new(
        Provider::builder(Issuer::new("https://auth.example.com")?)
            .keys(Keyring::from_secret(KeyId::new("k1")?, key)?) // >= 32 bytes, from the host
            .store(SqliteStore::open("oauth.db").await?)
            .scopes(["read"])
            .build()?,
    );
    let api = Router::new()
        .route("/api/me", get(me))
        .route_layer(RequireBearer::new(Arc::clone(&provider)).scope("read"))
        .with_state(Arc::clone(&provider));
    // Token, revocation, introspection, metadata; add your /authorize login + consent page.
    Ok(ProtocolRouter::new(provider).build().merge(api))
}
// README: end

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A real host reads its key from a secret store; the example makes a throwaway one.
    let mut key = [0u8; 32];
    OsRandom.fill(&mut key)?;
    let dir = std::env::temp_dir().join(format!("oauth-axum-minimal-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    std::env::set_current_dir(&dir)?;
    let _router = app(&key).await?;
    println!("router built; database in {}", dir.display());
    Ok(())
}
