//! The settings every example server shares: every setting is a flag and an environment
//! variable, the flag wins. Each server flattens [`CommonSettings`] into its own
//! command line (`#[command(flatten)]`), next to its own name and listening address.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

/// The settings the example servers share (`--help` lists every flag and its variable).
#[derive(Clone, Args)]
pub struct CommonSettings {
    /// The public base URL, which is also the issuer: `https://…`, or `http://` on a
    /// loopback host for development. Default: `http(s)://<addr>` as bound.
    #[arg(long, env = "OAUTH_SERVER_ISSUER")]
    pub issuer: Option<String>,

    /// Where grants, codes, tokens and clients are kept.
    #[arg(long, env = "OAUTH_SERVER_STORE", value_enum, default_value_t = StoreKind::Sqlite)]
    pub store: StoreKind,

    /// The Redis server (`--store redis`), for several instances sharing state.
    #[arg(
        long,
        env = "OAUTH_SERVER_REDIS_URL",
        default_value = "redis://127.0.0.1:6379"
    )]
    pub redis_url: String,

    /// The key prefix in Redis (`--store redis`): one per deployment sharing a server.
    #[arg(
        long,
        env = "OAUTH_SERVER_REDIS_PREFIX",
        default_value = "oauth-example"
    )]
    pub redis_prefix: String,

    /// The key-value file (`--store kv`, redb); created if missing.
    #[arg(
        long,
        env = "OAUTH_SERVER_KV_FILE",
        default_value = "oauth-example.redb"
    )]
    pub kv_file: PathBuf,

    /// The SQLite database file (`--store sqlite`); created if missing.
    #[arg(
        long,
        env = "OAUTH_SERVER_DATABASE",
        default_value = "oauth-example.db"
    )]
    pub database: PathBuf,

    /// The server key: at least 32 random bytes, base64url without padding. Prefer
    /// `--key-file`: a flag's value shows in the process list, and environments leak
    /// into crash reports and child processes.
    ///
    /// A base64url key may begin with `-`, so the value is taken as given.
    #[arg(
        long,
        env = "OAUTH_SERVER_KEY",
        hide_env_values = true,
        allow_hyphen_values = true
    )]
    pub key: Option<String>,

    /// A file holding the server key (as for `--key`); it must not be readable by group
    /// or others.
    #[arg(long, env = "OAUTH_SERVER_KEY_FILE", conflicts_with = "key")]
    pub key_file: Option<PathBuf>,

    /// The key's identifier, stored with everything it protects.
    #[arg(long, env = "OAUTH_SERVER_KEY_ID", default_value = "k1")]
    pub key_id: String,

    /// Development only (a loopback issuer on a loopback address): where a generated key
    /// is kept when neither `--key` nor `--key-file` is given. Any other server refuses to
    /// start without a key.
    #[arg(
        long,
        env = "OAUTH_SERVER_DEV_KEY_FILE",
        default_value = "oauth-example.key"
    )]
    pub dev_key_file: PathBuf,

    /// A demo user, `name:password`; repeat the flag or separate with commas. Without
    /// any, the user `alice` gets a random password, printed at start.
    #[arg(
        long = "user",
        env = "OAUTH_SERVER_USERS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub users: Vec<String>,

    /// Development only (a loopback issuer on a loopback address): approve every valid
    /// authorization request of a client whose redirect URIs are all loopback as this
    /// user, without login or consent, for conformance tools that cannot fill in forms.
    /// Every use is logged as a warning.
    #[arg(long, env = "OAUTH_SERVER_AUTO_CONSENT")]
    pub auto_consent: Option<String>,

    /// Serve https with a self-signed certificate generated at start (development); its
    /// PEM is written to `--dev-cert-file` for clients to trust.
    #[arg(
        long,
        env = "OAUTH_SERVER_TLS_SELF_SIGNED",
        conflicts_with = "tls_cert"
    )]
    pub tls_self_signed: bool,

    /// Where `--tls-self-signed` writes its certificate (public, no key).
    #[arg(
        long,
        env = "OAUTH_SERVER_DEV_CERT_FILE",
        default_value = "oauth-example-cert.pem"
    )]
    pub dev_cert_file: PathBuf,

    /// Serve https with this certificate chain (PEM).
    #[arg(long, env = "OAUTH_SERVER_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// The private key of `--tls-cert` (PEM).
    #[arg(long, env = "OAUTH_SERVER_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// Issue refresh tokens only when the approved scope contains `offline_access`
    /// (the OpenID Connect convention). By default every client registered for the
    /// `refresh_token` grant gets one.
    #[arg(long, env = "OAUTH_SERVER_REQUIRE_OFFLINE_ACCESS")]
    pub require_offline_access: bool,

    /// Seconds between purges of expired records.
    #[arg(long, env = "OAUTH_SERVER_PURGE_EVERY", default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    pub purge_every: u64,
}

/// The store behind the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StoreKind {
    /// The SQLite file of `--database` (durable; the default).
    Sqlite,
    /// A Redis server (`--redis-url`): state shared by several instances.
    Redis,
    /// The generic key-value store on an embedded redb file (`--kv-file`).
    Kv,
    /// In process memory: everything is lost at exit.
    Memory,
}

impl CommonSettings {
    /// Whether the server speaks https itself (a self-signed or a given certificate).
    #[must_use]
    pub fn tls(&self) -> bool {
        self.tls_self_signed || self.tls_cert.is_some()
    }
}

impl std::fmt::Debug for CommonSettings {
    /// Never prints the key or the users' passwords.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommonSettings")
            .field("issuer", &self.issuer)
            .field("store", &self.store)
            .field("database", &self.database)
            .field("key", &self.key.as_ref().map(|_| "<redacted>"))
            .field("key_file", &self.key_file)
            .field("key_id", &self.key_id)
            .field("users", &self.users.len())
            .field("auto_consent", &self.auto_consent)
            .field("tls", &self.tls())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use clap::Parser;

    use super::CommonSettings;

    /// A command line made of the common settings alone.
    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        common: CommonSettings,
    }

    /// The common settings of `args` (without the program name).
    pub(crate) fn settings(args: &[&str]) -> CommonSettings {
        Cli::parse_from(std::iter::once("server").chain(args.iter().copied())).common
    }

    #[test]
    fn the_key_and_passwords_are_never_printed() {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine;
        use oauth_core::{OsRandom, SecureRandom};
        let mut bytes = [0u8; 32];
        OsRandom.fill(&mut bytes).unwrap();
        let secret = URL_SAFE_NO_PAD.encode(bytes);
        let user = format!("bob:{secret}");
        let shown = format!("{:?}", settings(&["--key", &secret, "--user", &user]));
        assert!(!shown.contains(&secret), "{shown}");
        assert!(shown.contains("<redacted>"));
    }

    /// One base64url key in 64 begins with `-`; clap must not read it as a flag.
    #[test]
    fn a_key_beginning_with_a_hyphen_is_the_value_of_key() {
        let key = "-O8Lr0w7JY1n2eHqzY5uQmVxwXH0Gk2sJtq6xQy8dA";
        let parsed = settings(&["--key", key, "--user", "alice:password1"]);
        assert_eq!(parsed.key.as_deref(), Some(key));
        assert_eq!(parsed.users.len(), 1);
    }
}
