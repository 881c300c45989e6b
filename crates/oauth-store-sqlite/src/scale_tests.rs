//! The store at scale: 100,000 grants (10,000 users, 1,000 clients), each with a code,
//! an access token and a refresh token.
//!
//! - Every statement of [`Statements`](crate::sql::Statements), and the child-table
//!   lookups that `ON DELETE CASCADE` performs, are checked with `EXPLAIN QUERY PLAN`:
//!   each reads the store's tables only through a primary key or an index, never by a
//!   full scan.
//! - Revocation, listing, client deletion and purging are checked by counting rows: each
//!   removes exactly what it should and nothing else.
//!
//! The rows are copied, inside SQLite, from one template of each record written through
//! the store itself, so they decode exactly as the store's own writes do.

use std::path::PathBuf;
use std::time::{Instant, SystemTime};

use oauth_core::model::{ClientId, GrantId, UserId};
use oauth_core::{Store, UnixTime};
use oauth_store_testkit::fixtures;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, Row, SqliteConnection, SqlitePool};

use crate::codec::{
    unaliased, ACCESS_COLUMNS, CLIENT_COLUMNS, CODE_COLUMNS, GRANT_COLUMNS, REFRESH_COLUMNS,
};
use crate::{Durability, SqliteStore, SqliteStoreOptions};

const GRANTS: i64 = 100_000;
const USERS: i64 = 10_000;
const CLIENTS: i64 = 1_000;
const MARKERS: i64 = 10_000;

/// The "current time" of the test.
const NOW: i64 = 1_000_000;
/// Grants `i < EXPIRED_CODES` have an expired code.
const EXPIRED_CODES: i64 = 60;
/// Grants `EXPIRED_CODES <= i < EXPIRED_ACCESS_END` have an expired access token.
const EXPIRED_ACCESS_END: i64 = 1_060;
/// Grants `i >= EXPIRED_GRANTS_FROM` have expired themselves (their children have not);
/// the lower `i`, the older the expiry.
const EXPIRED_GRANTS_FROM: i64 = 99_900;

/// The tables counted, in the order of [`Counts`].
const TABLES: [&str; 6] = [
    "clients",
    "grants",
    "codes",
    "access_tokens",
    "refresh_tokens",
    "once_markers",
];

/// Row counts of [`TABLES`].
type Counts = [i64; 6];

fn grant_id(i: i64) -> String {
    format!("g{i:06}")
}

fn user_id(i: i64) -> String {
    format!("u{:05}", i % USERS)
}

fn client_id(i: i64) -> String {
    format!("c{:04}", i % CLIENTS)
}

/// A database file removed (with its WAL and shared-memory files) when dropped.
struct TempDb(PathBuf);

impl TempDb {
    fn new() -> Self {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        TempDb(std::env::temp_dir().join(format!(
            "oauth-store-sqlite-scale-{}-{nanos}.db",
            std::process::id()
        )))
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut path = self.0.clone().into_os_string();
            path.push(suffix);
            let _ = std::fs::remove_file(path);
        }
    }
}

async fn counts(pool: &SqlitePool) -> Counts {
    let mut counts = [0; 6];
    for (count, table) in counts.iter_mut().zip(TABLES) {
        *count = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(pool)
            .await
            .unwrap();
    }
    counts
}

/// `after - before`, per table.
fn delta(before: Counts, after: Counts) -> Counts {
    let mut delta = [0; 6];
    for ((d, b), a) in delta.iter_mut().zip(before).zip(after) {
        *d = a - b;
    }
    delta
}

async fn count_where(pool: &SqlitePool, table: &str, filter: &str, value: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table} WHERE {filter}"))
        .bind(value)
        .fetch_one(pool)
        .await
        .unwrap()
}

/// `INSERT INTO table SELECT ...`: `count` copies of the table's only row, numbered
/// `n.i` from 0, with the columns in `overrides` computed from `n.i` and every other
/// column copied from the template.
fn copy_rows(table: &str, columns: &str, count: i64, overrides: &[(&str, String)]) -> String {
    let columns = unaliased(columns);
    let names: Vec<&str> = columns.split(", ").collect();
    for (name, _) in overrides {
        assert!(names.contains(name), "{table} has no column {name}");
    }
    let select = names
        .iter()
        .map(|name| {
            overrides
                .iter()
                .find(|(column, _)| column == name)
                .map_or_else(|| format!("t.{name}"), |(_, value)| value.clone())
        })
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "INSERT INTO {table} ({columns}) \
         WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < {count}) \
         SELECT {select} FROM n, {table} t"
    )
}

/// Fills the store: one template of each record through the store, then the copies in
/// one transaction, then the templates removed.
async fn populate(store: &SqliteStore) {
    let template_client = ClientId::new("template-client");
    let template_user = UserId::new("template-user");
    store
        .put_client(&fixtures::client(&template_client))
        .await
        .unwrap();
    let grant = fixtures::user_grant(&template_user, &template_client);
    store
        .create_grant_with_code(&grant, &fixtures::code_for(&grant))
        .await
        .unwrap();
    store
        .store_tokens(None, &fixtures::tokens_for(&grant))
        .await
        .unwrap();

    let pool = store.pool();
    assert_eq!(counts(pool).await, [1, 1, 1, 1, 1, 0]);

    let grant_expiry = format!(
        "CASE WHEN n.i >= {EXPIRED_GRANTS_FROM} \
         THEN {NOW} - 1000 + (n.i - {EXPIRED_GRANTS_FROM}) ELSE {NOW} + 2592000 END"
    );
    let child = |kind: &str| {
        vec![
            ("hash", format!("CAST(printf('{kind}%028d', n.i) AS BLOB)")),
            ("grant_id", "printf('g%06d', n.i)".to_owned()),
            ("client_id", format!("printf('c%04d', n.i % {CLIENTS})")),
        ]
    };
    let mut codes = child("code");
    codes.push(("grant_expires_at", grant_expiry.clone()));
    codes.push((
        "expires_at",
        format!("CASE WHEN n.i < {EXPIRED_CODES} THEN {NOW} - 10 ELSE {NOW} + 600 END"),
    ));
    let mut access = child("acc_");
    access.push((
        "expires_at",
        format!(
            "CASE WHEN n.i >= {EXPIRED_CODES} AND n.i < {EXPIRED_ACCESS_END} \
             THEN {NOW} - 10 ELSE {NOW} + 3600 END"
        ),
    ));
    let mut refresh = child("ref_");
    refresh.push(("grant_expires_at", grant_expiry.clone()));
    refresh.push(("expires_at", format!("{NOW} + 86400")));

    let statements = [
        copy_rows(
            "clients",
            CLIENT_COLUMNS,
            CLIENTS,
            &[("id", "printf('c%04d', n.i)".to_owned())],
        ),
        copy_rows(
            "grants",
            GRANT_COLUMNS,
            GRANTS,
            &[
                ("id", "printf('g%06d', n.i)".to_owned()),
                ("user_id", format!("printf('u%05d', n.i % {USERS})")),
                ("client_id", format!("printf('c%04d', n.i % {CLIENTS})")),
                ("created_at", format!("{NOW} - 200000 + n.i")),
                ("expires_at", grant_expiry),
            ],
        ),
        copy_rows("codes", CODE_COLUMNS, GRANTS, &codes),
        copy_rows("access_tokens", ACCESS_COLUMNS, GRANTS, &access),
        copy_rows("refresh_tokens", REFRESH_COLUMNS, GRANTS, &refresh),
        format!(
            "INSERT INTO once_markers (namespace, key, expires_at) \
             WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < {MARKERS}) \
             SELECT 'scale', CAST(printf('once%028d', n.i) AS BLOB), {NOW} + 3600 FROM n"
        ),
    ];
    let mut tx = pool.begin().await.unwrap();
    for statement in &statements {
        sqlx::query(statement).execute(&mut *tx).await.unwrap();
    }
    // The templates go, and everything under them (the cascade at work once already).
    sqlx::query("DELETE FROM grants WHERE id = ?1")
        .bind(grant.id.as_str())
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query("DELETE FROM clients WHERE id = ?1")
        .bind(template_client.as_str())
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();

    assert_eq!(
        counts(pool).await,
        [CLIENTS, GRANTS, GRANTS, GRANTS, GRANTS, MARKERS]
    );
}

// ---- plans ----

/// What a plan line may say. A `SEARCH` through a primary key or an index is a lookup;
/// `LIST SUBQUERY` is the `IN (SELECT ... LIMIT ?2)` list of a bounded purge, itself
/// filled by an index `SEARCH` and at most `?2` long. Anything else (`SCAN` of a table,
/// `USE TEMP B-TREE` for a sort, an automatic index) fails.
fn is_lookup(line: &str) -> bool {
    let indexed = [
        " USING INDEX ",
        " USING COVERING INDEX ",
        " USING PRIMARY KEY (",
        " USING INTEGER PRIMARY KEY (",
    ];
    (line.starts_with("SEARCH ")
        && indexed.iter().any(|how| line.contains(how))
        && !line.contains("AUTOMATIC"))
        || line
            .strip_prefix("LIST SUBQUERY ")
            .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
}

/// The lookups `ON DELETE CASCADE` adds to every `DELETE FROM grants`: one per child
/// table, through its by-grant index (SQLite lists them, child tables in reverse order
/// of creation, after the grants themselves).
const CASCADE: [&str; 3] = [
    "SEARCH refresh_tokens USING COVERING INDEX refresh_tokens_by_grant (grant_id=?)",
    "SEARCH access_tokens USING COVERING INDEX access_tokens_by_grant (grant_id=?)",
    "SEARCH codes USING COVERING INDEX codes_by_grant (grant_id=?)",
];

/// The exact plan of every statement, by name (`SQLite` 3.46, bundled by
/// libsqlite3-sys 0.30). An `INSERT ... VALUES` has no plan: its only lookups are the
/// uniqueness checks of the primary key and, for a child table, the foreign-key probe
/// of the grant's primary key, which `EXPLAIN QUERY PLAN` does not list.
fn expected_plan(name: &str) -> Vec<&'static str> {
    let client_by_id = "SEARCH clients USING INDEX sqlite_autoindex_clients_1 (id=?)";
    let with_cascade = |first: &'static str| {
        let mut plan = vec![first];
        plan.extend(CASCADE);
        plan
    };
    let bounded = |table_search: &'static str, subquery_search: &'static str| {
        vec![table_search, "LIST SUBQUERY 1", subquery_search]
    };
    match name {
        "client_upsert" | "client_insert" | "grant_insert" | "code_insert" | "access_insert"
        | "refresh_insert" | "once_insert" => vec![],
        "client_get" | "client_replace" | "client_delete" => vec![client_by_id],
        "grant_get" => vec!["SEARCH g USING INDEX sqlite_autoindex_grants_1 (id=?)"],
        "grant_exists" => {
            vec!["SEARCH grants USING COVERING INDEX sqlite_autoindex_grants_1 (id=?)"]
        }
        // The index's order (user_id, created_at, id) is the ORDER BY: no sort.
        "grants_for_user" => vec!["SEARCH g USING INDEX grants_by_user (user_id=?)"],
        "grant_delete" => {
            with_cascade("SEARCH grants USING INDEX sqlite_autoindex_grants_1 (id=?)")
        }
        "grants_delete_by_user" => {
            with_cascade("SEARCH grants USING COVERING INDEX grants_by_user (user_id=?)")
        }
        "grants_delete_by_client" => {
            with_cascade("SEARCH grants USING COVERING INDEX grants_by_client (client_id=?)")
        }
        "code_find" => vec![
            "SEARCH c USING PRIMARY KEY (hash=?)",
            "SEARCH g USING INDEX sqlite_autoindex_grants_1 (id=?)",
        ],
        "code_mark_consumed" => vec!["SEARCH codes USING PRIMARY KEY (hash=?)"],
        "access_get" => vec![
            "SEARCH a USING PRIMARY KEY (hash=?)",
            "SEARCH g USING INDEX sqlite_autoindex_grants_1 (id=?)",
        ],
        "access_delete" => vec!["SEARCH access_tokens USING PRIMARY KEY (hash=?)"],
        "refresh_find" => vec![
            "SEARCH r USING PRIMARY KEY (hash=?)",
            "SEARCH g USING INDEX sqlite_autoindex_grants_1 (id=?)",
        ],
        "refresh_retire" | "grace_clear" => {
            vec!["SEARCH refresh_tokens USING PRIMARY KEY (hash=?)"]
        }
        // Joins the grant: a grace under a revoked grant is never handed out.
        "grace_get" => vec![
            "SEARCH r USING PRIMARY KEY (hash=?)",
            "SEARCH g USING COVERING INDEX sqlite_autoindex_grants_1 (id=?)",
        ],
        "purge.expired.codes" => bounded(
            "SEARCH codes USING PRIMARY KEY (hash=?)",
            "SEARCH codes USING COVERING INDEX codes_by_expiry (expires_at<?)",
        ),
        "purge.expired.access_tokens" => bounded(
            "SEARCH access_tokens USING PRIMARY KEY (hash=?)",
            "SEARCH access_tokens USING COVERING INDEX access_tokens_by_expiry (expires_at<?)",
        ),
        "purge.expired.refresh_tokens" => bounded(
            "SEARCH refresh_tokens USING PRIMARY KEY (hash=?)",
            "SEARCH refresh_tokens USING COVERING INDEX refresh_tokens_by_expiry (expires_at<?)",
        ),
        "purge.expired.once_markers" => bounded(
            "SEARCH once_markers USING PRIMARY KEY (namespace=? AND key=?)",
            "SEARCH once_markers USING COVERING INDEX once_markers_by_expiry (expires_at<?)",
        ),
        // The index's order is the ORDER BY: no sort.
        "purge.expired_grants" => {
            vec!["SEARCH grants USING INDEX grants_by_expiry (expires_at<?)"]
        }
        "purge.children.codes" => bounded(
            "SEARCH codes USING PRIMARY KEY (hash=?)",
            "SEARCH codes USING COVERING INDEX codes_by_grant (grant_id=?)",
        ),
        "purge.children.access_tokens" => bounded(
            "SEARCH access_tokens USING PRIMARY KEY (hash=?)",
            "SEARCH access_tokens USING COVERING INDEX access_tokens_by_grant (grant_id=?)",
        ),
        "purge.children.refresh_tokens" => bounded(
            "SEARCH refresh_tokens USING PRIMARY KEY (hash=?)",
            "SEARCH refresh_tokens USING COVERING INDEX refresh_tokens_by_grant (grant_id=?)",
        ),
        other => panic!("no expected plan for statement {other}: add one"),
    }
}

async fn plan(conn: &mut SqliteConnection, sql: &str) -> Vec<String> {
    sqlx::query(&format!("EXPLAIN QUERY PLAN {sql}"))
        .fetch_all(conn)
        .await
        .unwrap()
        .iter()
        .map(|row| row.get::<String, _>("detail"))
        .collect()
}

/// Every statement of the store, and the child deletions of the cascade, plan as
/// expected: only lookups, exactly the expected ones.
///
/// The plans are taken on a new connection (with foreign keys on, as the store's are, so
/// the cascade shows): `EXPLAIN QUERY PLAN` does not start a read transaction, so on a
/// pooled connection it can answer from a schema and statistics cached before the last
/// change by another connection (seen here: a dropped index still "used").
async fn check_plans(store: &SqliteStore, db: &TempDb, when: &str) {
    let mut conn = SqliteConnection::connect_with(
        &SqliteConnectOptions::new()
            .filename(&db.0)
            .foreign_keys(true),
    )
    .await
    .unwrap();
    let mut failures = Vec::new();
    let mut statements: Vec<(String, String, Vec<&str>)> = store
        .inner
        .sql
        .all()
        .into_iter()
        .map(|(name, sql)| (name.to_owned(), sql.to_owned(), expected_plan(name)))
        .collect();
    assert_eq!(
        statements.len(),
        32,
        "a statement was added: list it in all()"
    );
    // What `ON DELETE CASCADE` runs for each deleted grant, on its own.
    for (table, line) in ["refresh_tokens", "access_tokens", "codes"]
        .into_iter()
        .zip(CASCADE)
    {
        statements.push((
            format!("cascade.{table}"),
            format!("DELETE FROM {table} WHERE grant_id = ?1"),
            vec![line],
        ));
    }
    for (name, sql, expected) in &statements {
        let actual = plan(&mut conn, sql).await;
        let not_lookups: Vec<&String> = actual.iter().filter(|line| !is_lookup(line)).collect();
        if !not_lookups.is_empty() || actual != *expected {
            failures.push(format!(
                "{name}: {sql}\n  plan:     {actual:?}\n  expected: {expected:?}\n  not lookups: {not_lookups:?}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "plans {when} differ from the expected lookups (after a SQLite upgrade, a plan \
         made only of lookups may be accepted by updating expected_plan):\n{}",
        failures.join("\n")
    );
    conn.close().await.unwrap();
}

// ---- the test ----

fn ids(grants: &[oauth_core::model::GrantRecord]) -> Vec<String> {
    grants.iter().map(|g| g.id.as_str().to_owned()).collect()
}

/// How many grants have a row in each child table (each grant has at most one).
async fn grants_with_children(pool: &SqlitePool) -> [i64; 3] {
    let mut counts = [0; 3];
    for (count, table) in counts
        .iter_mut()
        .zip(["codes", "access_tokens", "refresh_tokens"])
    {
        *count = sqlx::query_scalar(&format!("SELECT count(DISTINCT grant_id) FROM {table}"))
            .fetch_one(pool)
            .await
            .unwrap();
    }
    counts
}

#[tokio::test]
async fn scale_plans_use_indexes_and_effects_are_exact() {
    let started = Instant::now();
    let db = TempDb::new();
    let store = SqliteStoreOptions::new(&db.0)
        .durability(Durability::Normal)
        .open()
        .await
        .unwrap();
    populate(&store).await;
    let pool = store.pool();
    eprintln!(
        "scale: setup of {GRANTS} grants took {:?}",
        started.elapsed()
    );

    // Plans as the store runs them (it never runs ANALYZE), then with statistics, as a
    // host running ANALYZE or `PRAGMA optimize` on the file would have them.
    check_plans(&store, &db, "without statistics").await;
    sqlx::query("ANALYZE").execute(pool).await.unwrap();
    let statistics: i64 = sqlx::query_scalar("SELECT count(*) FROM sqlite_stat1")
        .fetch_one(pool)
        .await
        .unwrap();
    assert!(
        statistics >= 12,
        "ANALYZE wrote {statistics} rows of statistics"
    );
    check_plans(&store, &db, "after ANALYZE").await;
    eprintln!("scale: plans checked at {:?}", started.elapsed());

    let now = UnixTime(u64::try_from(NOW).unwrap());

    // Purge: 60 expired codes, then 40 of the 1,000 expired access tokens.
    let before = counts(pool).await;
    assert_eq!(store.purge_expired(now, 100).await.unwrap(), 100);
    assert_eq!(delta(before, counts(pool).await), [0, 0, -60, -40, 0, 0]);
    // The other 960 access tokens, then the 10 oldest expired grants (g099900 to
    // g099909) with their code, access and refresh token: 4 records each.
    let before = counts(pool).await;
    assert_eq!(store.purge_expired(now, 1_000).await.unwrap(), 1_000);
    assert_eq!(
        delta(before, counts(pool).await),
        [0, -10, -10, -970, -10, 0]
    );
    for i in EXPIRED_GRANTS_FROM..EXPIRED_GRANTS_FROM + 11 {
        let left = count_where(pool, "grants", "id = ?1", &grant_id(i)).await;
        assert_eq!(
            left,
            i64::from(i >= EXPIRED_GRANTS_FROM + 10),
            "{}",
            grant_id(i)
        );
    }

    // Listing: exactly the user's grants, oldest first; expired ones left out.
    let listed = store
        .grants_for_user(&UserId::new(user_id(4_321)), now)
        .await
        .unwrap();
    let expected: Vec<String> = (0..10).map(|k| grant_id(4_321 + k * USERS)).collect();
    assert_eq!(ids(&listed), expected);
    for grant in &listed {
        assert_eq!(grant.client_id.as_str(), client_id(4_321));
        assert!(matches!(&grant.subject,
            oauth_core::model::Subject::User(u) if u.as_str() == user_id(4_321)));
    }
    // u09950 has g099950, expired but not yet purged.
    let listed = store
        .grants_for_user(&UserId::new(user_id(9_950)), now)
        .await
        .unwrap();
    let expected: Vec<String> = (0..9).map(|k| grant_id(9_950 + k * USERS)).collect();
    assert_eq!(ids(&listed), expected);

    // Revoking one grant: exactly its grant, code, access and refresh token.
    let before = counts(pool).await;
    let with_children = grants_with_children(pool).await;
    store
        .revoke_grant(&GrantId::new(grant_id(50_000)))
        .await
        .unwrap();
    assert_eq!(delta(before, counts(pool).await), [0, -1, -1, -1, -1, 0]);
    // Every other grant still has its code and tokens.
    assert_eq!(
        grants_with_children(pool).await,
        with_children.map(|n| n - 1)
    );
    for table in ["codes", "access_tokens", "refresh_tokens"] {
        assert_eq!(
            count_where(pool, table, "grant_id = ?1", &grant_id(50_000)).await,
            0
        );
    }

    // Revoking a user's grants: exactly its 10 grants and their children.
    let user = UserId::new(user_id(1_234));
    let before = counts(pool).await;
    let with_children = grants_with_children(pool).await;
    store.revoke_user_grants(&user).await.unwrap();
    assert_eq!(
        delta(before, counts(pool).await),
        [0, -10, -10, -10, -10, 0]
    );
    assert_eq!(
        grants_with_children(pool).await,
        with_children.map(|n| n - 10)
    );
    assert!(store.grants_for_user(&user, now).await.unwrap().is_empty());
    assert_eq!(
        count_where(pool, "grants", "user_id = ?1", user.as_str()).await,
        0
    );

    // Deleting a client: the client, its 100 grants and their children. g000567's
    // access token expired and was purged above, hence 99.
    let client = ClientId::new(client_id(567));
    let before = counts(pool).await;
    let with_children = grants_with_children(pool).await;
    store.delete_client(&client).await.unwrap();
    assert_eq!(
        delta(before, counts(pool).await),
        [-1, -100, -100, -99, -100, 0]
    );
    let mut expected_children = with_children.map(|n| n - 100);
    expected_children[1] += 1;
    assert_eq!(grants_with_children(pool).await, expected_children);
    for table in ["grants", "codes", "access_tokens", "refresh_tokens"] {
        assert_eq!(
            count_where(pool, table, "client_id = ?1", client.as_str()).await,
            0
        );
    }

    // Everything else is where it was.
    assert_eq!(
        counts(pool).await,
        [
            CLIENTS - 1,
            GRANTS - 10 - 1 - 10 - 100,
            GRANTS - 60 - 10 - 1 - 10 - 100,
            GRANTS - 1_000 - 10 - 1 - 10 - 99,
            GRANTS - 10 - 1 - 10 - 100,
            MARKERS,
        ]
    );
    store.close().await;
    eprintln!("scale: done in {:?}", started.elapsed());
}
