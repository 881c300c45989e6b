//! Starting and stopping a server: settings → issuer, keys, users, store, provider →
//! [`App`] → the framework's [`Frontend`] serving it, with a purge timer and graceful
//! shutdown.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use oauth_core::mcp::McpProfile;
use oauth_core::model::UserId;
use oauth_core::{
    Clock, ConfigError, Issuer, KeyError, OfflineAccess, Provider, Store, SystemClock,
};
use oauth_store_kv::{KvStore, RedbBackend};
use oauth_store_memory::MemoryStore;
use oauth_store_redis::RedisStoreOptions;
use oauth_store_sqlite::SqliteStore;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::app::{App, Flavor, MCP_SCOPE, PROFILE_SCOPE, SHUTDOWN_GRACE};
use crate::browser::{CookieNames, Csrf, Sessions};
use crate::keys::{self, KeySource};
use crate::settings::{CommonSettings, StoreKind};
use crate::throttle::LoginGate;
use crate::users::{GeneratedPassword, Users};

/// Records purged per store call; the timer repeats until a batch comes back short.
const PURGE_BATCH: usize = 1_000;

/// Why the server did not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The address could not be bound.
    #[error("cannot listen: {0}")]
    Bind(#[source] std::io::Error),
    /// The issuer is not usable.
    #[error("issuer: {0}")]
    Issuer(String),
    /// No key was given, and this is not a development server (loopback issuer on a
    /// loopback address).
    #[error("no server key: set OAUTH_SERVER_KEY_FILE (or OAUTH_SERVER_KEY) to at least 32 random bytes, base64url; a development key is generated only for a loopback issuer on a loopback address")]
    NoKey,
    /// The key is malformed.
    #[error("server key: {0}")]
    BadKey(&'static str),
    /// The key file could not be read or created.
    #[error("key file {0}: {1}")]
    KeyFile(PathBuf, #[source] std::io::Error),
    /// The key file is readable by others.
    #[error("key file {0} has mode {1:o}: make it readable by its owner only (chmod 600)")]
    KeyFilePermissions(PathBuf, u32),
    /// The key or key id was refused.
    #[error("server key: {0}")]
    Key(#[source] KeyError),
    /// The OS random source failed.
    #[error("the OS random source failed")]
    Random,
    /// A `--user` is malformed.
    #[error("demo user: {0}")]
    BadUser(&'static str),
    /// `--auto-consent` is not allowed here.
    #[error("auto-consent: {0}")]
    AutoConsent(&'static str),
    /// The TLS certificate or key is unusable.
    #[error("TLS: {0}")]
    Tls(String),
    /// The SQLite store did not open.
    #[error("store: {0}")]
    Store(#[source] oauth_store_sqlite::OpenError),
    /// The key-value store did not open.
    #[error("store: {0}")]
    Kv(String),
    /// The Redis store did not connect.
    #[error("store: {0}")]
    Redis(#[source] oauth_store_redis::OpenError),
    /// The provider's configuration was refused.
    #[error("configuration: {0}")]
    Config(#[source] ConfigError),
}

/// The web framework's part of a server: it serves an [`App`] on the listener it bound
/// until told to stop.
pub trait Frontend {
    /// Starts serving `app` (every route: pages, API, MCP endpoint and the glue's
    /// protocol endpoints) in a task of its own, which returns once `stop` turns true and
    /// the requests in flight are done.
    fn serve<S: Store>(
        self,
        app: Arc<App<S>>,
        stop: watch::Receiver<bool>,
    ) -> Result<JoinHandle<std::io::Result<()>>, StartError>;
}

/// Where a server listens, as the framework bound it.
#[derive(Clone, Debug)]
pub struct Listening {
    /// The bound address (useful with port 0).
    pub local_addr: SocketAddr,
    /// Whether the listener speaks https itself.
    pub tls: bool,
    /// The certificate file to trust, when a self-signed one was generated.
    pub generated_cert: Option<PathBuf>,
}

/// What the server was started with, for the banner.
struct Facts {
    flavor: Flavor,
    store: String,
    key: KeySource,
    dev_key_file: PathBuf,
    generated: Option<GeneratedPassword>,
    generated_cert: Option<PathBuf>,
    auto_consent: Option<UserId>,
}

/// A started server. Dropping it does not stop it; call [`RunningServer::shutdown`].
pub struct RunningServer {
    base: String,
    local_addr: SocketAddr,
    facts: Facts,
    stop: watch::Sender<bool>,
    serving: JoinHandle<std::io::Result<()>>,
    purging: JoinHandle<()>,
}

impl std::fmt::Debug for RunningServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningServer")
            .field("base", &self.base)
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl RunningServer {
    /// The public base URL (the issuer), without a trailing slash.
    #[must_use]
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The bound address (useful with port 0).
    #[must_use]
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The certificate to trust, when a self-signed one was generated.
    #[must_use]
    pub fn generated_certificate(&self) -> Option<&std::path::Path> {
        self.facts.generated_cert.as_deref()
    }

    /// The start banner: where to go, and the demo credentials.
    #[must_use]
    pub fn banner(&self) -> String {
        let base = &self.base;
        let facts = &self.facts;
        let mut lines = vec![
            format!(
                "OAuth 2.1 example server ({}) listening on {base} ({})",
                facts.flavor.framework, self.local_addr
            ),
            format!("  Home and your authorized apps:   {base}/"),
            format!("  Authorization server metadata:   {base}/.well-known/oauth-authorization-server"),
            format!("  MCP endpoint:                    {base}/mcp"),
            format!("  Protected resource metadata:     {base}/.well-known/oauth-protected-resource/mcp"),
            format!("  Demo API:                        {base}/api/me"),
            format!("  Store:                           {}", facts.store),
        ];
        match &facts.generated {
            Some(generated) => lines.push(format!(
                "  Demo user:                       {} / {}   (password generated for this run; choose with --user name:password)",
                generated.user, generated.password
            )),
            None => lines.push("  Demo users:                      as configured (--user)".to_owned()),
        }
        if let Some(cert) = &facts.generated_cert {
            lines.push(format!(
                "  Self-signed certificate:         {} (trust it in your client)",
                cert.display()
            ));
        }
        if let KeySource::Development { .. } = facts.key {
            lines.push(format!(
                "  WARNING: development key in {} - set OAUTH_SERVER_KEY_FILE in production",
                facts.dev_key_file.display()
            ));
        }
        if let Some(user) = &facts.auto_consent {
            lines.push(format!(
                "  WARNING: auto-consent approves every valid request as {user} (development only)"
            ));
        }
        lines.join("\n")
    }

    /// Stops accepting connections, lets in-flight requests finish, stops the purge
    /// timer, and closes the store.
    pub async fn shutdown(self) -> std::io::Result<()> {
        let _ = self.stop.send(true);
        let served = self
            .serving
            .await
            .map_err(std::io::Error::other)
            .and_then(|served| served);
        let _ = self.purging.await;
        served
    }
}

/// Starts the server described by `settings` on a listener already bound
/// (`listening`), served by `frontend`.
pub async fn start<F: Frontend>(
    flavor: Flavor,
    settings: &CommonSettings,
    listening: Listening,
    frontend: F,
) -> Result<RunningServer, StartError> {
    let local_addr = listening.local_addr;
    let scheme = if listening.tls { "https" } else { "http" };
    let base = settings
        .issuer
        .clone()
        .unwrap_or_else(|| format!("{scheme}://{local_addr}"));
    let public = PublicUrl::parse(&base)?;
    if listening.tls && !public.https {
        return Err(StartError::Issuer(
            "the server speaks https: the issuer must be an https URL".to_owned(),
        ));
    }
    // Development conveniences need a loopback issuer *and* a loopback listener: an
    // issuer that says 127.0.0.1 on a server reachable from the network is not local.
    let development = public.loopback && local_addr.ip().is_loopback();
    let (keyring, key_source) = keys::load(settings, development)?;
    if let KeySource::Development { created } = key_source {
        tracing::warn!(
            file = %settings.dev_key_file.display(),
            created,
            "DEVELOPMENT KEY: the server key was generated on this machine; set OAUTH_SERVER_KEY_FILE in production"
        );
    }
    let (users, generated) = Users::from_specs(&settings.users)?;
    let auto_consent = match &settings.auto_consent {
        None => None,
        Some(_) if !development => {
            return Err(StartError::AutoConsent(
                "allowed only with a loopback issuer on a loopback address",
            ))
        }
        Some(name) if !users.exists(name) => {
            return Err(StartError::AutoConsent("names an unknown user"))
        }
        Some(name) => {
            tracing::warn!(user = %name, "DEVELOPMENT AUTO-CONSENT is on: every valid authorization request is approved without login or consent");
            Some(UserId::new(name.as_str()))
        }
    };
    let parts = Parts {
        issuer: public.issuer,
        keyring,
        app: AppParts {
            users,
            base: public.base,
            origin: public.origin,
            authority: public.authority,
            host: public.host,
            loopback: public.loopback,
            // Behind a TLS-terminating proxy the listener is plain but browsers speak
            // https: the issuer's scheme decides.
            secure: public.https,
            auto_consent: auto_consent.clone(),
            flavor,
        },
        offline_access: if settings.require_offline_access {
            OfflineAccess::Required
        } else {
            OfflineAccess::Offered
        },
        purge_every: Duration::from_secs(settings.purge_every),
    };
    let facts = Facts {
        flavor,
        store: String::new(),
        key: key_source,
        dev_key_file: settings.dev_key_file.clone(),
        generated,
        generated_cert: listening.generated_cert,
        auto_consent,
    };
    match settings.store {
        StoreKind::Memory => {
            let facts = Facts {
                store: "in memory (lost at exit)".to_owned(),
                ..facts
            };
            launch(MemoryStore::new(), parts, frontend, local_addr, facts)
        }
        StoreKind::Redis => {
            let store = RedisStoreOptions::new(&settings.redis_url)
                .map(|options| options.prefix(settings.redis_prefix.clone()))
                .map_err(StartError::Redis)?
                .connect()
                .await
                .map_err(StartError::Redis)?;
            let facts = Facts {
                store: format!(
                    "Redis at {} (prefix {})",
                    redacted_url(&settings.redis_url),
                    settings.redis_prefix
                ),
                ..facts
            };
            launch(store, parts, frontend, local_addr, facts)
        }
        StoreKind::Kv => {
            let backend = RedbBackend::open(&settings.kv_file)
                .await
                .map_err(|e| StartError::Kv(e.to_string()))?;
            let store = KvStore::new(backend).map_err(|e| StartError::Kv(e.to_string()))?;
            let facts = Facts {
                store: format!("key-value (redb) file {}", settings.kv_file.display()),
                ..facts
            };
            launch(store, parts, frontend, local_addr, facts)
        }
        StoreKind::Sqlite => {
            let store = SqliteStore::open(&settings.database)
                .await
                .map_err(StartError::Store)?;
            let facts = Facts {
                store: format!("SQLite file {}", settings.database.display()),
                ..facts
            };
            launch(store, parts, frontend, local_addr, facts)
        }
    }
}

/// A Redis URL without its password, for the banner.
fn redacted_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// The base URL taken apart.
struct PublicUrl {
    issuer: Issuer,
    base: String,
    origin: String,
    authority: String,
    host: String,
    loopback: bool,
    https: bool,
}

impl PublicUrl {
    /// An origin (no path, query or fragment): the pages and endpoints are served at the
    /// root. `https`, or `http` on a loopback host (logged development mode).
    fn parse(base: &str) -> Result<PublicUrl, StartError> {
        let base = base.trim_end_matches('/');
        let url = url::Url::parse(base).map_err(|e| StartError::Issuer(e.to_string()))?;
        if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
            return Err(StartError::Issuer(
                "must be an origin such as https://auth.example.com (no path)".to_owned(),
            ));
        }
        let host = url
            .host()
            .ok_or_else(|| StartError::Issuer("no host".to_owned()))?;
        let loopback = match host {
            url::Host::Ipv4(ip) => ip.is_loopback(),
            url::Host::Ipv6(ip) => ip.is_loopback(),
            url::Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
        };
        let issuer = if url.scheme() == "https" {
            Issuer::new(base)
        } else {
            Issuer::insecure_loopback_for_development(base)
        }
        .map_err(|e| {
            StartError::Issuer(format!("{e} (use https, or http on a loopback address)"))
        })?;
        let authority = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        };
        Ok(PublicUrl {
            issuer,
            base: base.to_owned(),
            origin: url.origin().ascii_serialization(),
            authority,
            host: url.host_str().unwrap_or_default().to_owned(),
            loopback,
            https: url.scheme() == "https",
        })
    }
}

/// Everything [`launch`] needs besides the store.
struct Parts {
    issuer: Issuer,
    keyring: oauth_core::Keyring,
    app: AppParts,
    offline_access: OfflineAccess,
    purge_every: Duration,
}

struct AppParts {
    users: Users,
    base: String,
    origin: String,
    authority: String,
    host: String,
    loopback: bool,
    secure: bool,
    auto_consent: Option<UserId>,
    flavor: Flavor,
}

/// The provider on `store`, the application, the purge timer, and the serving task.
fn launch<S: Store, F: Frontend>(
    store: S,
    parts: Parts,
    frontend: F,
    local_addr: SocketAddr,
    facts: Facts,
) -> Result<RunningServer, StartError> {
    let base = parts.app.base.clone();
    let profile = McpProfile::new(format!("{base}/mcp"))
        .scopes([MCP_SCOPE, PROFILE_SCOPE])
        .default_scope([MCP_SCOPE, PROFILE_SCOPE])
        .offline_access(parts.offline_access);
    let provider = Provider::builder(parts.issuer)
        .keys(parts.keyring)
        .store(store)
        .mcp(profile)
        .build()
        .map_err(StartError::Config)?;
    let provider = Arc::new(provider);
    let csrf = Csrf::new().ok_or(StartError::Random)?;
    let app = Arc::new(App {
        provider: Arc::clone(&provider),
        users: Arc::new(parts.app.users),
        login_gate: LoginGate::default(),
        sessions: Sessions::default(),
        csrf,
        cookies: CookieNames::new(parts.app.secure),
        base: parts.app.base,
        origin: parts.app.origin,
        authority: parts.app.authority,
        host: parts.app.host,
        auto_consent: parts.app.auto_consent,
        hsts: parts.app.secure && !parts.app.loopback,
        flavor: parts.app.flavor,
    });
    let (stop, stopped) = watch::channel(false);
    let serving = frontend.serve(app, stopped.clone())?;
    let purging = tokio::spawn(purge_timer(provider, parts.purge_every, stopped));
    Ok(RunningServer {
        base,
        local_addr,
        facts,
        stop,
        serving,
        purging,
    })
}

/// Purges expired records every `every`, in bounded batches, until told to stop.
async fn purge_timer<S: Store>(
    provider: Arc<Provider<S>>,
    every: Duration,
    mut stopped: watch::Receiver<bool>,
) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stopped.wait_for(|stop| *stop) => return,
        }
        loop {
            match provider
                .store()
                .purge_expired(SystemClock.now(), PURGE_BATCH)
                .await
            {
                Ok(purged) if purged >= PURGE_BATCH => continue,
                Ok(purged) => {
                    tracing::debug!(purged, "expired records purged");
                    break;
                }
                Err(error) => {
                    tracing::warn!(%error, "purge failed; retrying at the next tick");
                    break;
                }
            }
        }
    }
}

/// Resolves on Ctrl-C, or SIGTERM (how service managers and `kill` ask a process to
/// stop).
pub async fn stop_requested() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// What a server binary's `main` does once its settings are parsed: logs on stderr
/// (`RUST_LOG`, default `info`), starts, prints the banner on stdout, and on Ctrl-C or
/// SIGTERM shuts down gracefully, giving requests in flight [`SHUTDOWN_GRACE`].
pub async fn run_until_stopped(
    starting: impl std::future::Future<Output = Result<RunningServer, StartError>>,
) -> std::process::ExitCode {
    use std::process::ExitCode;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Logs on stderr; stdout carries only the banner.
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let server = match starting.await {
        Ok(server) => server,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!("{}", server.banner());
    stop_requested().await;
    tracing::info!("shutting down");
    match tokio::time::timeout(SHUTDOWN_GRACE, server.shutdown()).await {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(error)) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!("requests still running after {SHUTDOWN_GRACE:?}; exiting");
            ExitCode::FAILURE
        }
    }
}
