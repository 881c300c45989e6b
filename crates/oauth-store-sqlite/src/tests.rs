//! Schema migrations against real database files: an old database opened by the latest
//! code, the refusals (outdated with migration on open off, too new, changed
//! migration, failed migration), concurrent migration, and table prefixes as independent
//! schemas.
//!
//! Old databases are built with [`migrate::migrate`] up to an older target version and
//! filled by raw SQL with the columns of that version, as the code of that version wrote
//! them.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::SystemTime;

use oauth_core::crypto::{KeyId, SealedProps, WrappedPropsKey};
use oauth_core::model::{
    AccessTokenRecord, AccessTokenWithGrant, AuthMethod, Client, ClientId, ClientMetadata,
    CodeRecord, GrantId, GrantRecord, GrantType, RefreshTokenRecord, SecretDigest, Subject, UserId,
};
use oauth_core::pkce::{CodeChallenge, CodeChallengeMethod};
use oauth_core::resource::ResourceSet;
use oauth_core::scope::Scope;
use oauth_core::store::{CodeLookup, OnceKey, RefreshLookup};
use oauth_core::{Store, TokenHash, UnixTime};
use oauth_store_testkit::fixtures;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
use sqlx::SqlitePool;

use crate::migrate::{self, MIGRATIONS};
use crate::{OpenError, SqliteStore, SqliteStoreOptions};

/// A database file under the system's temporary directory, removed with its `-wal` and
/// `-shm` files when dropped (at the end of the test, passed or failed).
struct TempDb(PathBuf);

impl TempDb {
    fn new() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        TempDb(std::env::temp_dir().join(format!(
            "oauth-store-sqlite-migrations-{}-{}-{nanos}.db",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        )))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut file = self.0.as_os_str().to_owned();
            file.push(suffix);
            let _ = std::fs::remove_file(file);
        }
    }
}

/// A plain pool on `path` (as another version of the code, or a host, would open it).
async fn raw_pool(path: &Path) -> SqlitePool {
    SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(
            SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .foreign_keys(true),
        )
        .await
        .unwrap()
}

/// A pool on `path` whose tables under `prefix` are at schema `version`.
async fn database_at(path: &Path, prefix: &str, version: i64) -> SqlitePool {
    let pool = raw_pool(path).await;
    assert_eq!(
        migrate::migrate(&pool, prefix, version).await.unwrap(),
        version
    );
    pool
}

/// The recorded migrations under `prefix`: `(version, name)`, in order.
async fn recorded(pool: &SqlitePool, prefix: &str) -> Vec<(i64, String)> {
    sqlx::query_as(&format!(
        "SELECT version, name FROM {prefix}schema_migrations ORDER BY version"
    ))
    .fetch_all(pool)
    .await
    .unwrap()
}

/// Every embedded migration, as [`recorded`] lists them once all are applied.
fn all_recorded() -> Vec<(i64, String)> {
    MIGRATIONS
        .iter()
        .map(|m| (m.version, m.name.to_owned()))
        .collect()
}

/// The column names of `table`.
async fn columns(pool: &SqlitePool, table: &str) -> Vec<String> {
    sqlx::query_scalar("SELECT name FROM pragma_table_info(?1) ORDER BY cid")
        .bind(table)
        .fetch_all(pool)
        .await
        .unwrap()
}

async fn execute(pool: &SqlitePool, sql: &str) {
    sqlx::raw_sql(sql).execute(pool).await.unwrap();
}

fn latest() -> i64 {
    migrate::latest_version()
}

// ---- a version-1 database under the latest code ----

const NOW: UnixTime = UnixTime(1_000_000);
const GRANT_EXPIRES: UnixTime = UnixTime(3_592_000);

fn hash(byte: u8) -> TokenHash {
    TokenHash([byte; 32])
}

fn v1_resources() -> ResourceSet {
    serde_json::from_str(r#"["https://api.example.com/mcp"]"#).unwrap()
}

/// The records that [`write_v1_rows`] writes, as the Store API must read them back.
struct V1Records {
    confidential: Client,
    public: Client,
    user_grant: GrantRecord,
    pending_grant: GrantRecord,
    client_grant: GrantRecord,
    active_code: CodeRecord,
    used_code: CodeRecord,
    access: AccessTokenRecord,
    client_access: AccessTokenRecord,
    retired_refresh: RefreshTokenRecord,
    retired_at: UnixTime,
    grace: Vec<u8>,
    active_refresh: RefreshTokenRecord,
    marker: OnceKey,
}

fn v1_records() -> V1Records {
    let client_id = ClientId::new("legacy-client");
    let scope = Scope::parse("read write").unwrap();
    let user_grant = GrantRecord {
        id: GrantId::new("legacy-grant"),
        subject: Subject::User(UserId::new("alice")),
        client_id: client_id.clone(),
        scope: scope.clone(),
        resources: v1_resources(),
        props: Some(SealedProps(vec![0xAA; 40])),
        created_at: UnixTime(900_000),
        expires_at: GRANT_EXPIRES,
    };
    let pending_grant = GrantRecord {
        id: GrantId::new("legacy-pending"),
        created_at: UnixTime(950_000),
        ..user_grant.clone()
    };
    let client_grant = GrantRecord {
        id: GrantId::new("legacy-cc"),
        subject: Subject::Client,
        props: None,
        resources: ResourceSet::empty(),
        ..user_grant.clone()
    };
    let code = |grant: &GrantRecord, byte| CodeRecord {
        hash: hash(byte),
        grant_id: grant.id.clone(),
        client_id: client_id.clone(),
        redirect_uri: "https://legacy.example.com/cb".to_owned(),
        redirect_uri_in_request: true,
        challenge: Some(CodeChallenge {
            method: CodeChallengeMethod::S256,
            value: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_owned(),
        }),
        scope: Scope::parse("read").unwrap(),
        resources: v1_resources(),
        props_key: Some(WrappedPropsKey(vec![0xBB; 24])),
        grant_expires_at: GRANT_EXPIRES,
        expires_at: NOW.plus(600),
    };
    let refresh = |byte| RefreshTokenRecord {
        hash: hash(byte),
        grant_id: user_grant.id.clone(),
        client_id: client_id.clone(),
        scope: scope.clone(),
        resources: v1_resources(),
        props_key: Some(WrappedPropsKey(vec![0xCC; 24])),
        issued_at: UnixTime(990_000),
        grant_expires_at: GRANT_EXPIRES,
        expires_at: NOW.plus(86_400),
    };
    V1Records {
        confidential: Client {
            id: client_id.clone(),
            auth_method: AuthMethod::ClientSecretPost,
            secret: Some(SecretDigest {
                key_id: KeyId::new("k-2023").unwrap(),
                hash: hash(7),
            }),
            secret_expires_at: Some(UnixTime(2_000_000)),
            redirect_uris: vec![
                "https://legacy.example.com/cb".to_owned(),
                "http://127.0.0.1/cb".to_owned(),
            ],
            grant_types: vec![
                GrantType::AuthorizationCode,
                GrantType::RefreshToken,
                GrantType::ClientCredentials,
            ],
            scope: Some(scope.clone()),
            name: Some("Legacy app".to_owned()),
            created_at: UnixTime(800_000),
            // Fields 0002 added: what a v1 client must read back as.
            metadata: ClientMetadata::default(),
            registration_token: None,
        },
        public: Client {
            id: ClientId::new("legacy-public"),
            auth_method: AuthMethod::None,
            secret: None,
            secret_expires_at: None,
            redirect_uris: vec!["http://127.0.0.1/cb".to_owned()],
            grant_types: vec![GrantType::AuthorizationCode],
            scope: None,
            name: None,
            created_at: UnixTime(800_001),
            metadata: ClientMetadata::default(),
            registration_token: None,
        },
        active_code: code(&pending_grant, 1),
        used_code: code(&user_grant, 2),
        access: AccessTokenRecord {
            hash: hash(3),
            grant_id: user_grant.id.clone(),
            client_id: client_id.clone(),
            scope: scope.clone(),
            audience: v1_resources(),
            props_key: Some(WrappedPropsKey(vec![0xDD; 24])),
            issued_at: UnixTime(990_000),
            expires_at: NOW.plus(3_600),
        },
        client_access: AccessTokenRecord {
            hash: hash(6),
            grant_id: client_grant.id.clone(),
            client_id: client_id.clone(),
            scope: scope.clone(),
            audience: ResourceSet::empty(),
            props_key: None,
            issued_at: UnixTime(990_000),
            expires_at: NOW.plus(3_600),
        },
        retired_refresh: refresh(4),
        retired_at: UnixTime(995_000),
        grace: b"sealed v1 successor".to_vec(),
        active_refresh: refresh(5),
        marker: OnceKey {
            namespace: "ticket",
            key: [8; 32],
        },
        user_grant,
        pending_grant,
        client_grant,
    }
}

/// `len` bytes of `byte`, as an SQL blob literal.
fn blob(byte: u8, len: usize) -> String {
    format!("x'{}'", format!("{byte:02x}").repeat(len))
}

/// Writes [`v1_records`] with the columns of schema version 1, by hand.
async fn write_v1_rows(pool: &SqlitePool) {
    let (h1, h2, h3, h4, h5, h6, h7, h8) = (
        blob(1, 32),
        blob(2, 32),
        blob(3, 32),
        blob(4, 32),
        blob(5, 32),
        blob(6, 32),
        blob(7, 32),
        blob(8, 32),
    );
    let (props, code_key, access_key, refresh_key) = (
        blob(0xAA, 40),
        blob(0xBB, 24),
        blob(0xDD, 24),
        blob(0xCC, 24),
    );
    execute(
        pool,
        &format!(
            r#"
        INSERT INTO clients (id, auth_method, secret_key_id, secret_hash, secret_expires_at,
                             redirect_uris, grant_types, scope, name, created_at)
        VALUES
          ('legacy-client', 'client_secret_post', 'k-2023', {h7}, 2000000,
           '["https://legacy.example.com/cb","http://127.0.0.1/cb"]',
           '["authorization_code","refresh_token","client_credentials"]',
           'read write', 'Legacy app', 800000),
          ('legacy-public', 'none', NULL, NULL, NULL, '["http://127.0.0.1/cb"]',
           '["authorization_code"]', NULL, NULL, 800001);

        INSERT INTO grants (id, subject_kind, user_id, client_id, scope, resources, props,
                            created_at, expires_at)
        VALUES
          ('legacy-grant', 'user', 'alice', 'legacy-client', 'read write',
           '["https://api.example.com/mcp"]', {props}, 900000, 3592000),
          ('legacy-pending', 'user', 'alice', 'legacy-client', 'read write',
           '["https://api.example.com/mcp"]', {props}, 950000, 3592000),
          ('legacy-cc', 'client', NULL, 'legacy-client', 'read write', '[]', NULL,
           900000, 3592000);

        INSERT INTO codes (hash, grant_id, client_id, redirect_uri, redirect_uri_in_request,
                           challenge_method, challenge, scope, resources, props_key,
                           grant_expires_at, expires_at, consumed_at)
        VALUES
          ({h1}, 'legacy-pending', 'legacy-client', 'https://legacy.example.com/cb', 1,
           'S256', 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', 'read',
           '["https://api.example.com/mcp"]', {code_key}, 3592000, 1000600, NULL),
          ({h2}, 'legacy-grant', 'legacy-client', 'https://legacy.example.com/cb', 1,
           'S256', 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', 'read',
           '["https://api.example.com/mcp"]', {code_key}, 3592000, 1000600, 990000);

        INSERT INTO access_tokens (hash, grant_id, client_id, scope, audience, props_key,
                                   issued_at, expires_at)
        VALUES
          ({h3}, 'legacy-grant', 'legacy-client', 'read write',
           '["https://api.example.com/mcp"]', {access_key}, 990000, 1003600),
          ({h6}, 'legacy-cc', 'legacy-client', 'read write', '[]', NULL, 990000, 1003600);

        INSERT INTO refresh_tokens (hash, grant_id, client_id, scope, resources, props_key,
                                    issued_at, grant_expires_at, expires_at, retired_at,
                                    grace_successor, grace_until)
        VALUES
          ({h4}, 'legacy-grant', 'legacy-client', 'read write',
           '["https://api.example.com/mcp"]', {refresh_key}, 990000, 3592000, 1086400,
           995000, CAST('sealed v1 successor' AS BLOB), 1000060),
          ({h5}, 'legacy-grant', 'legacy-client', 'read write',
           '["https://api.example.com/mcp"]', {refresh_key}, 990000, 3592000, 1086400,
           NULL, NULL, NULL);

        INSERT INTO once_markers (namespace, key, expires_at)
        VALUES ('ticket', {h8}, 1000600);
        "#
        ),
    )
    .await;
}

#[tokio::test]
async fn version_1_database_opens_migrated_and_its_records_read_back_intact() {
    let db = TempDb::new();
    let pool = database_at(db.path(), "", 1).await;
    assert!(!columns(&pool, "clients")
        .await
        .contains(&"metadata".to_owned()));
    write_v1_rows(&pool).await;
    pool.close().await;

    let store = SqliteStoreOptions::new(db.path()).open().await.unwrap();
    assert_eq!(store.schema_version().await.unwrap(), latest());
    assert_eq!(recorded(store.pool(), "").await, all_recorded());
    let v1 = v1_records();

    // Clients written before 0002: default metadata, no registration token.
    assert_eq!(
        store.client(&v1.confidential.id).await.unwrap().as_ref(),
        Some(&v1.confidential)
    );
    assert_eq!(
        store.client(&v1.public.id).await.unwrap().as_ref(),
        Some(&v1.public)
    );

    assert_eq!(
        store
            .grants_for_user(&UserId::new("alice"), NOW)
            .await
            .unwrap(),
        [v1.user_grant.clone(), v1.pending_grant.clone()]
    );
    assert_eq!(
        store
            .grant(&v1.client_grant.id, NOW)
            .await
            .unwrap()
            .as_ref(),
        Some(&v1.client_grant)
    );
    assert_eq!(
        store.find_code(&v1.active_code.hash, NOW).await.unwrap(),
        CodeLookup::Active(v1.active_code.clone())
    );
    assert_eq!(
        store.find_code(&v1.used_code.hash, NOW).await.unwrap(),
        CodeLookup::Used(v1.used_code.clone())
    );
    assert_eq!(
        store.access_token(&v1.access.hash, NOW).await.unwrap(),
        Some(AccessTokenWithGrant {
            token: v1.access.clone(),
            grant: v1.user_grant.clone(),
        })
    );
    assert_eq!(
        store
            .access_token(&v1.client_access.hash, NOW)
            .await
            .unwrap(),
        Some(AccessTokenWithGrant {
            token: v1.client_access.clone(),
            grant: v1.client_grant.clone(),
        })
    );
    assert_eq!(
        store
            .find_refresh(&v1.retired_refresh.hash, NOW)
            .await
            .unwrap(),
        RefreshLookup::Retired {
            grant_id: v1.user_grant.id.clone(),
            client_id: v1.confidential.id.clone(),
            retired_at: v1.retired_at,
        }
    );
    assert_eq!(
        store
            .claim_refresh_grace(&v1.retired_refresh.hash, NOW)
            .await
            .unwrap(),
        Some(v1.grace.clone())
    );
    assert_eq!(
        store
            .find_refresh(&v1.active_refresh.hash, NOW)
            .await
            .unwrap(),
        RefreshLookup::Active(v1.active_refresh.clone())
    );
    assert!(!store
        .insert_once(v1.marker, NOW.plus(600), NOW)
        .await
        .unwrap());

    // The new columns take new values: a new client, and a v1 client updated.
    let registered = fixtures::client(&fixtures::client_id());
    assert!(registered.registration_token.is_some());
    assert_ne!(registered.metadata, ClientMetadata::default());
    store.put_client(&registered).await.unwrap();
    assert_eq!(
        store.client(&registered.id).await.unwrap(),
        Some(registered.clone())
    );
    let updated = Client {
        metadata: registered.metadata.clone(),
        registration_token: registered.registration_token.clone(),
        ..v1.confidential.clone()
    };
    assert!(store.replace_client(&updated).await.unwrap());
    assert_eq!(store.client(&updated.id).await.unwrap(), Some(updated));

    store.close().await;
}

// ---- refusals ----

#[tokio::test]
async fn without_migrate_on_open_a_version_1_database_is_refused_as_outdated_and_left_unchanged() {
    let db = TempDb::new();
    let pool = database_at(db.path(), "", 1).await;

    let result = SqliteStoreOptions::new(db.path())
        .migrate_on_open(false)
        .open()
        .await;
    assert!(
        matches!(result, Err(OpenError::SchemaOutdated { found: 1, latest: l }) if l == latest()),
        "{result:?}"
    );
    assert_eq!(latest(), 2);
    assert_eq!(recorded(&pool, "").await, all_recorded()[..1]);
    assert!(!columns(&pool, "clients")
        .await
        .contains(&"metadata".to_owned()));

    // Once migrated, the same options open it.
    SqliteStoreOptions::new(db.path())
        .open()
        .await
        .unwrap()
        .close()
        .await;
    let store = SqliteStoreOptions::new(db.path())
        .migrate_on_open(false)
        .open()
        .await
        .unwrap();
    assert_eq!(store.schema_version().await.unwrap(), latest());
    store.close().await;
    pool.close().await;
}

#[tokio::test]
async fn without_migrate_on_open_an_empty_file_is_refused_as_version_0_and_gets_no_tables() {
    let db = TempDb::new();
    std::fs::File::create(db.path()).unwrap();

    let result = SqliteStoreOptions::new(db.path())
        .migrate_on_open(false)
        .open()
        .await;
    assert!(
        matches!(result, Err(OpenError::SchemaOutdated { found: 0, latest: l }) if l == latest()),
        "{result:?}"
    );
    let pool = raw_pool(db.path()).await;
    let tables: i64 = sqlx::query_scalar("SELECT count(*) FROM sqlite_schema")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(tables, 0);
    pool.close().await;
}

#[tokio::test]
async fn database_recording_a_newer_schema_version_is_refused_as_too_new() {
    let db = TempDb::new();
    let pool = database_at(db.path(), "", latest()).await;
    let future = latest() + 1;
    sqlx::query(
        "INSERT INTO schema_migrations (version, name, checksum) VALUES (?1, 'future', x'00')",
    )
    .bind(future)
    .execute(&pool)
    .await
    .unwrap();

    for migrate_on_open in [true, false] {
        let result = SqliteStoreOptions::new(db.path())
            .migrate_on_open(migrate_on_open)
            .open()
            .await;
        assert!(
            matches!(result, Err(OpenError::SchemaTooNew { found, latest: l })
                if found == future && l == latest()),
            "migrate_on_open({migrate_on_open}): {result:?}"
        );
    }
    let mut expected = all_recorded();
    expected.push((future, "future".to_owned()));
    assert_eq!(recorded(&pool, "").await, expected);
    pool.close().await;
}

#[tokio::test]
async fn applied_migration_whose_checksum_differs_from_the_embedded_one_is_refused() {
    // At the latest version, whichever migration was changed.
    for changed in MIGRATIONS.iter().map(|m| m.version) {
        let db = TempDb::new();
        let pool = database_at(db.path(), "", latest()).await;
        sqlx::query("UPDATE schema_migrations SET checksum = zeroblob(32) WHERE version = ?1")
            .bind(changed)
            .execute(&pool)
            .await
            .unwrap();
        for migrate_on_open in [true, false] {
            let result = SqliteStoreOptions::new(db.path())
                .migrate_on_open(migrate_on_open)
                .open()
                .await;
            assert!(
                matches!(result, Err(OpenError::MigrationChanged { version }) if version == changed),
                "changed {changed}, migrate_on_open({migrate_on_open}): {result:?}"
            );
        }
        pool.close().await;
    }

    // At an older version: refused before anything pending is applied.
    let db = TempDb::new();
    let pool = database_at(db.path(), "", 1).await;
    execute(
        &pool,
        "UPDATE schema_migrations SET checksum = x'00' WHERE version = 1",
    )
    .await;
    let result = SqliteStoreOptions::new(db.path()).open().await;
    assert!(
        matches!(result, Err(OpenError::MigrationChanged { version: 1 })),
        "{result:?}"
    );
    assert_eq!(recorded(&pool, "").await, all_recorded()[..1]);
    assert!(!columns(&pool, "clients")
        .await
        .contains(&"metadata".to_owned()));
    pool.close().await;
}

#[tokio::test]
async fn failed_migration_is_reported_with_its_version_and_applies_nothing() {
    let db = TempDb::new();
    let pool = database_at(db.path(), "", 1).await;
    // A column of 0002's last statement exists already: its first statements succeed,
    // its last fails.
    execute(
        &pool,
        "ALTER TABLE clients ADD COLUMN registration_hash BLOB",
    )
    .await;

    let result = SqliteStoreOptions::new(db.path()).open().await;
    assert!(
        matches!(result, Err(OpenError::Migration { version: 2, .. })),
        "{result:?}"
    );
    assert_eq!(recorded(&pool, "").await, all_recorded()[..1]);
    let client_columns = columns(&pool, "clients").await;
    assert!(!client_columns.contains(&"metadata".to_owned()));
    assert!(!client_columns.contains(&"registration_key_id".to_owned()));
    pool.close().await;
}

// ---- concurrency and prefixes ----

/// Opens a store on `path` once every thread of `start` is ready, each thread with its
/// own runtime (as separate processes would); returns the store's schema version.
fn open_in_thread(path: PathBuf, start: Arc<Barrier>) -> std::thread::JoinHandle<i64> {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            start.wait();
            let store = SqliteStoreOptions::new(path).open().await.unwrap();
            let version = store.schema_version().await.unwrap();
            store.close().await;
            version
        })
    })
}

/// Starts `STORES` threads opening a store on `path` at once; checks that each opened at
/// the latest version.
fn open_concurrently(path: &Path) {
    const STORES: usize = 4;
    let start = Arc::new(Barrier::new(STORES));
    let opens: Vec<_> = (0..STORES)
        .map(|_| open_in_thread(path.to_owned(), Arc::clone(&start)))
        .collect();
    for open in opens {
        assert_eq!(open.join().unwrap(), latest());
    }
}

#[tokio::test]
async fn concurrent_migrations_of_one_fresh_file_all_succeed_and_record_each_version_once() {
    for _round in 0..10 {
        let db = TempDb::new();
        // A database without any table, already in WAL mode: concurrent first
        // connections to a file not yet in WAL mode can fail (see the ignored test
        // below), which is not what this test is about.
        raw_pool(db.path()).await.close().await;
        open_concurrently(db.path());

        let pool = raw_pool(db.path()).await;
        let counts: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT version, count(*) FROM schema_migrations GROUP BY version ORDER BY version",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        let expected: Vec<(i64, i64)> = MIGRATIONS.iter().map(|m| (m.version, 1)).collect();
        assert_eq!(counts, expected);
        // Each table was created once, by one of them, and is usable.
        let clients: i64 =
            sqlx::query_scalar("SELECT count(*) FROM sqlite_schema WHERE name = 'clients'")
                .fetch_one(&pool)
                .await
                .unwrap();
        assert_eq!(clients, 1);
        pool.close().await;
        let store = SqliteStoreOptions::new(db.path())
            .migrate_on_open(false)
            .open()
            .await
            .unwrap();
        let client = fixtures::client(&fixtures::client_id());
        store.put_client(&client).await.unwrap();
        assert_eq!(store.client(&client.id).await.unwrap(), Some(client));
        store.close().await;
    }
}

/// Several processes starting at once on a database file that does not exist yet.
/// (The WAL switch that a first open makes answers `SQLITE_BUSY` at once to the others;
/// `open` retries it.)
#[test]
fn concurrent_first_opens_of_a_new_database_file_all_succeed() {
    for _round in 0..50 {
        let db = TempDb::new();
        open_concurrently(db.path());
    }
}

#[tokio::test]
async fn table_prefixes_in_one_file_are_independent_schemas() {
    use fixtures::NOW;
    let db = TempDb::new();
    let open = |prefix: &str| {
        SqliteStoreOptions::new(db.path())
            .table_prefix(prefix)
            .open()
    };
    let a = open("tenant_a_").await.unwrap();
    let b = open("tenant_b_").await.unwrap();
    for (store, prefix) in [(&a, "tenant_a_"), (&b, "tenant_b_")] {
        assert_eq!(store.schema_version().await.unwrap(), latest());
        assert_eq!(recorded(store.pool(), prefix).await, all_recorded());
    }

    // Records of one prefix are invisible to the other, and unaffected by its writes.
    let client = fixtures::client(&fixtures::client_id());
    a.put_client(&client).await.unwrap();
    let grant = fixtures::user_grant(&fixtures::user_id(), &client.id);
    let code = fixtures::code_for(&grant);
    a.create_grant_with_code(&grant, &code).await.unwrap();
    let tokens = fixtures::tokens_for(&grant);
    a.store_tokens(None, &tokens).await.unwrap();
    let refresh = tokens.refresh.clone().unwrap();
    let marker = fixtures::once_key("ticket");
    assert!(a.insert_once(marker, NOW.plus(60), NOW).await.unwrap());

    assert_eq!(b.client(&client.id).await.unwrap(), None);
    assert_eq!(b.grant(&grant.id, NOW).await.unwrap(), None);
    assert_eq!(
        b.find_code(&code.hash, NOW).await.unwrap(),
        CodeLookup::NotFound
    );
    assert_eq!(
        b.access_token(&tokens.access.hash, NOW).await.unwrap(),
        None
    );
    assert_eq!(
        b.find_refresh(&refresh.hash, NOW).await.unwrap(),
        RefreshLookup::NotFound
    );
    assert!(b.insert_once(marker, NOW.plus(60), NOW).await.unwrap());
    b.revoke_grant(&grant.id).await.unwrap();
    b.delete_client(&client.id).await.unwrap();

    assert_eq!(a.client(&client.id).await.unwrap(), Some(client));
    assert_eq!(a.grant(&grant.id, NOW).await.unwrap(), Some(grant.clone()));
    assert_eq!(
        a.find_refresh(&refresh.hash, NOW).await.unwrap(),
        RefreshLookup::Active(refresh)
    );

    // Versions are per prefix too: a third prefix left at version 1 is outdated on its
    // own, and migrating it leaves the others' records alone.
    database_at(db.path(), "old_", 1).await.close().await;
    let result = SqliteStoreOptions::new(db.path())
        .table_prefix("old_")
        .migrate_on_open(false)
        .open()
        .await;
    assert!(
        matches!(result, Err(OpenError::SchemaOutdated { found: 1, .. })),
        "{result:?}"
    );
    let old = open("old_").await.unwrap();
    assert_eq!(old.schema_version().await.unwrap(), latest());
    assert_eq!(old.grant(&grant.id, NOW).await.unwrap(), None);
    assert_eq!(a.grant(&grant.id, NOW).await.unwrap(), Some(grant));
    assert_eq!(recorded(a.pool(), "tenant_a_").await, all_recorded());

    for store in [a, b, old] {
        store.close().await;
    }
}

/// `SqliteStore::latest_schema_version` is the last embedded migration.
#[test]
fn latest_schema_version_is_the_last_embedded_migration() {
    assert_eq!(
        SqliteStore::latest_schema_version(),
        MIGRATIONS.last().unwrap().version
    );
}
