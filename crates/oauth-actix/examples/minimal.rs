//! The smallest complete actix-web integration, shown verbatim in the README (between the
//! markers; `tests/readme.rs` keeps the two identical). `cargo run -p oauth-actix
//! --example minimal` builds the app once and prints the paths the protocol serves.

use oauth_core::{OsRandom, SecureRandom};

// README: begin
use std::sync::Arc;

use actix_web::web;
use oauth_actix::{Bearer, ProtocolService, RequireBearer};
use oauth_core::{Issuer, KeyId, Keyring, Provider};
use oauth_store_sqlite::SqliteStore;

/// Your API handler: `Bearer` hands it the validated token.
async fn me(Bearer(access, _): Bearer<SqliteStore>) -> String {
    format!("{:?} via {}", access.user_id, access.client_id)
}

/// A provider on SQLite, built once and shared by every worker.
async fn provider(key: &[u8]) -> Result<Arc<Provider<SqliteStore>>, Box<dyn std::error::Error>> {
    Ok(Arc::new(
        Provider::builder(Issuer::new("https://auth.example.com")?)
            .keys(Keyring::from_secret(KeyId::new("k1")?, key)?) // >= 32 bytes, from the host
            .store(SqliteStore::open("oauth.db").await?)
            .scopes(["read"])
            .build()?,
    ))
}

/// The wiring, for `App::new().configure(routes(provider))` in each worker.
fn routes(provider: Arc<Provider<SqliteStore>>) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        // Token, revocation, introspection, metadata; add your /authorize login + consent page.
        ProtocolService::new(Arc::clone(&provider)).configure(cfg);
        cfg.app_data(web::Data::from(Arc::clone(&provider)))
            .service(
                web::resource("/api/me")
                    .wrap(RequireBearer::new(provider).scope("read"))
                    .get(me),
            );
    }
}
// README: end

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A real host reads its key from a secret store; the example makes a throwaway one.
    let mut key = [0u8; 32];
    OsRandom.fill(&mut key)?;
    let dir = std::env::temp_dir().join(format!("oauth-actix-minimal-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    std::env::set_current_dir(&dir)?;
    let provider = provider(&key).await?;
    let paths = ProtocolService::new(Arc::clone(&provider)).paths();
    // What `HttpServer::new(move || App::new().configure(routes(provider.clone())))` runs
    // in each worker.
    let _app = actix_web::App::new().configure(routes(provider));
    println!(
        "app built, serving {paths:?}; database in {}",
        dir.display()
    );
    Ok(())
}
