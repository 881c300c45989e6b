//! Durability with the default options (`synchronous = FULL`): what a clean close keeps,
//! what a close racing writes keeps, and what a writer process killed in the middle of
//! its writes leaves behind (every commit it reported, and nothing half-written).
//!
//! The kill test re-executes this test binary as the writer: the child runs only
//! [`child_writer_process_when_spawned_by_kill_test`], which does nothing unless the
//! environment variable [`CHILD_DB_ENV`] names a database.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use oauth_core::crypto::{SealedProps, WrappedPropsKey};
use oauth_core::model::{
    AccessTokenWithGrant, AuthMethod, ClientId, ClientMetadata, CodeRecord, GrantId, GrantRecord,
    IssuedTokens, UserId,
};
use oauth_core::store::{CodeLookup, ConsumeOutcome, RefreshGrace, RefreshLookup, RotateOutcome};
use oauth_core::{Store, StoreErrorKind, TokenHash, UnixTime};
use oauth_store_sqlite::sqlx::{self, Row};
use oauth_store_sqlite::{SqliteStore, SqliteStoreOptions};
use oauth_store_testkit::fixtures::{
    access_only_for, client, client_grant, client_id, code_for, once_key, tokens_for,
    tokens_for_code, user_grant, user_id, NOW,
};

// ---------------------------------------------------------------------------------------
// Close and reopen
// ---------------------------------------------------------------------------------------

/// Everything [`write_history`] wrote, to compare with what a reopened store reads.
struct History {
    clients: Vec<oauth_core::model::Client>,
    user: UserId,
    /// A grant whose code was never redeemed.
    pending: (GrantRecord, CodeRecord),
    /// A grant whose code was redeemed, with the tokens stored by the redemption.
    redeemed: (GrantRecord, CodeRecord, IssuedTokens),
    /// A grant redeemed (`[0]`), rotated with a grace (`[1]`), rotated again without
    /// (`[2]`).
    rotated: (GrantRecord, CodeRecord, [IssuedTokens; 3]),
    grace: RefreshGrace,
    /// A grant redeemed, rotated and then revoked.
    revoked: (GrantRecord, CodeRecord, [IssuedTokens; 2]),
    /// A client-credentials grant created together with its access token.
    credentials: (GrantRecord, IssuedTokens),
    /// An access token revoked on its own.
    revoked_access: IssuedTokens,
    markers: Vec<oauth_core::store::OnceKey>,
}

/// The time of the second rotation of `History::rotated`.
const SECOND_ROTATION: UnixTime = UnixTime(NOW.0 + 10);

fn refresh_hash(tokens: &IssuedTokens) -> &TokenHash {
    &tokens.refresh.as_ref().unwrap().hash
}

/// Writes clients, grants with codes, redemptions, rotations, a revocation and once
/// markers, checking each outcome.
async fn write_history(store: &SqliteStore) -> History {
    let confidential = client(&client_id());
    let public = oauth_core::model::Client {
        auth_method: AuthMethod::None,
        secret: None,
        secret_expires_at: None,
        scope: None,
        name: None,
        metadata: ClientMetadata::default(),
        registration_token: None,
        ..client(&client_id())
    };
    store.put_client(&confidential).await.unwrap();
    assert!(store.insert_client(&public).await.unwrap());

    let user = user_id();
    let new_grant = || {
        let grant = user_grant(&user, &confidential.id);
        let code = code_for(&grant);
        (grant, code)
    };

    let pending = new_grant();
    store
        .create_grant_with_code(&pending.0, &pending.1)
        .await
        .unwrap();

    let (grant, code) = new_grant();
    store.create_grant_with_code(&grant, &code).await.unwrap();
    let issued = tokens_for_code(&code);
    assert_eq!(
        store.consume_code(&code.hash, &issued, NOW).await.unwrap(),
        ConsumeOutcome::Consumed
    );
    let redeemed = (grant, code, issued);

    let (grant, code) = new_grant();
    store.create_grant_with_code(&grant, &code).await.unwrap();
    let first = tokens_for_code(&code);
    assert_eq!(
        store.consume_code(&code.hash, &first, NOW).await.unwrap(),
        ConsumeOutcome::Consumed
    );
    let grace = RefreshGrace {
        sealed_successor: b"sealed successor response".to_vec(),
        until: NOW.plus(60),
    };
    let second = tokens_for(&grant);
    assert_eq!(
        store
            .rotate_refresh(refresh_hash(&first), &second, Some(&grace), NOW)
            .await
            .unwrap(),
        RotateOutcome::Rotated
    );
    let third = tokens_for(&grant);
    assert_eq!(
        store
            .rotate_refresh(refresh_hash(&second), &third, None, SECOND_ROTATION)
            .await
            .unwrap(),
        RotateOutcome::Rotated
    );
    let rotated = (grant, code, [first, second, third]);

    let (grant, code) = new_grant();
    store.create_grant_with_code(&grant, &code).await.unwrap();
    let first = tokens_for_code(&code);
    assert_eq!(
        store.consume_code(&code.hash, &first, NOW).await.unwrap(),
        ConsumeOutcome::Consumed
    );
    let second = tokens_for(&grant);
    assert_eq!(
        store
            .rotate_refresh(refresh_hash(&first), &second, None, NOW)
            .await
            .unwrap(),
        RotateOutcome::Rotated
    );
    store.revoke_grant(&grant.id).await.unwrap();
    let revoked = (grant, code, [first, second]);

    let grant = client_grant(&confidential.id);
    let issued = access_only_for(&grant);
    store.store_tokens(Some(&grant), &issued).await.unwrap();
    let credentials = (grant, issued);

    let revoked_access = access_only_for(&credentials.0);
    store.store_tokens(None, &revoked_access).await.unwrap();
    store
        .revoke_access_token(&revoked_access.access.hash)
        .await
        .unwrap();

    let markers = vec![once_key("ticket"), once_key("ticket"), once_key("jti")];
    for marker in &markers {
        assert!(store
            .insert_once(*marker, NOW.plus(600), NOW)
            .await
            .unwrap());
    }

    History {
        clients: vec![confidential, public],
        user,
        pending,
        redeemed,
        rotated,
        grace,
        revoked,
        credentials,
        revoked_access,
        markers,
    }
}

/// Writes the history, closes the store, drops it and opens the file again.
async fn history_then_reopen() -> (std::path::PathBuf, History, SqliteStore) {
    let path = common::fresh_db_path();
    let store = SqliteStoreOptions::new(&path).open().await.unwrap();
    let history = write_history(&store).await;
    store.close().await;
    drop(store);
    let reopened = SqliteStoreOptions::new(&path).open().await.unwrap();
    (path, history, reopened)
}

async fn access(store: &SqliteStore, tokens: &IssuedTokens) -> Option<AccessTokenWithGrant> {
    store.access_token(&tokens.access.hash, NOW).await.unwrap()
}

async fn refresh(store: &SqliteStore, tokens: &IssuedTokens) -> RefreshLookup {
    store.find_refresh(refresh_hash(tokens), NOW).await.unwrap()
}

/// Rows under `grant` in `table`, counted with raw SQL (tombstones included).
async fn rows_under(store: &SqliteStore, table: &str, grant: &GrantId) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table} WHERE grant_id = ?1"))
        .bind(grant.as_str())
        .fetch_one(store.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn committed_writes_survive_close_and_reopen() {
    let (path, h, store) = history_then_reopen().await;
    assert_eq!(
        store.schema_version().await.unwrap(),
        SqliteStore::latest_schema_version()
    );

    for client in &h.clients {
        assert_eq!(
            store.client(&client.id).await.unwrap().as_ref(),
            Some(client)
        );
    }

    // The user's grants, whole, in the store's order (all created at NOW: by id).
    let mut expected = vec![
        h.pending.0.clone(),
        h.redeemed.0.clone(),
        h.rotated.0.clone(),
    ];
    expected.sort_by(|a, b| a.id.as_str().cmp(b.id.as_str()));
    assert_eq!(store.grants_for_user(&h.user, NOW).await.unwrap(), expected);
    let (cc_grant, cc_tokens) = &h.credentials;
    assert_eq!(
        store.grant(&cc_grant.id, NOW).await.unwrap().as_ref(),
        Some(cc_grant)
    );

    // The unredeemed code is still active; the redeemed one is a tombstone.
    assert_eq!(
        store.find_code(&h.pending.1.hash, NOW).await.unwrap(),
        CodeLookup::Active(h.pending.1.clone())
    );
    let (grant, code, issued) = &h.redeemed;
    assert_eq!(
        store.find_code(&code.hash, NOW).await.unwrap(),
        CodeLookup::Used(code.clone())
    );
    assert_eq!(
        access(&store, issued).await,
        Some(AccessTokenWithGrant {
            token: issued.access.clone(),
            grant: grant.clone(),
        })
    );
    assert_eq!(
        refresh(&store, issued).await,
        RefreshLookup::Active(issued.refresh.clone().unwrap())
    );

    // Both rotations: two retired tokens with their retirement times, one successor.
    let (grant, code, [first, second, third]) = &h.rotated;
    assert_eq!(
        store.find_code(&code.hash, NOW).await.unwrap(),
        CodeLookup::Used(code.clone())
    );
    for (tokens, retired_at) in [(first, NOW), (second, SECOND_ROTATION)] {
        assert_eq!(
            refresh(&store, tokens).await,
            RefreshLookup::Retired {
                grant_id: grant.id.clone(),
                client_id: grant.client_id.clone(),
                retired_at,
            }
        );
    }
    assert_eq!(
        refresh(&store, third).await,
        RefreshLookup::Active(third.refresh.clone().unwrap())
    );
    for tokens in [first, second, third] {
        assert_eq!(
            access(&store, tokens).await,
            Some(AccessTokenWithGrant {
                token: tokens.access.clone(),
                grant: grant.clone(),
            })
        );
    }

    // The revoked grant and everything under it (tombstones included) are gone.
    let (grant, code, [first, second]) = &h.revoked;
    assert_eq!(store.grant(&grant.id, NOW).await.unwrap(), None);
    assert_eq!(
        store.find_code(&code.hash, NOW).await.unwrap(),
        CodeLookup::NotFound
    );
    for tokens in [first, second] {
        assert_eq!(access(&store, tokens).await, None);
        assert_eq!(refresh(&store, tokens).await, RefreshLookup::NotFound);
    }
    for table in ["codes", "access_tokens", "refresh_tokens"] {
        assert_eq!(rows_under(&store, table, &grant.id).await, 0, "{table}");
    }

    // The client-credentials token is there; the one revoked on its own is not.
    assert_eq!(
        access(&store, cc_tokens).await,
        Some(AccessTokenWithGrant {
            token: cc_tokens.access.clone(),
            grant: cc_grant.clone(),
        })
    );
    assert_eq!(access(&store, &h.revoked_access).await, None);

    // Every marker is still live: inserting it again is refused.
    for marker in &h.markers {
        assert!(!store
            .insert_once(*marker, NOW.plus(600), NOW)
            .await
            .unwrap());
    }

    store.close().await;
    common::remove_db_files(&path);
}

#[tokio::test]
async fn single_use_state_survives_reopen_so_replays_are_still_detected() {
    let (path, h, store) = history_then_reopen().await;

    // The redeemed code is refused as used and stores nothing.
    let (grant, code, _) = &h.redeemed;
    let replayed = tokens_for_code(code);
    assert_eq!(
        store
            .consume_code(&code.hash, &replayed, NOW)
            .await
            .unwrap(),
        ConsumeOutcome::AlreadyUsed {
            grant_id: grant.id.clone()
        }
    );
    assert_eq!(access(&store, &replayed).await, None);

    // The retired refresh token is a replay; the successor still rotates.
    let (grant, _, [first, _, third]) = &h.rotated;
    let attempt = tokens_for(grant);
    assert_eq!(
        store
            .rotate_refresh(refresh_hash(first), &attempt, None, NOW)
            .await
            .unwrap(),
        RotateOutcome::Reused {
            grant_id: grant.id.clone()
        }
    );
    assert_eq!(access(&store, &attempt).await, None);
    assert_eq!(
        store
            .rotate_refresh(refresh_hash(third), &attempt, None, NOW)
            .await
            .unwrap(),
        RotateOutcome::Rotated
    );

    // The grace kept with the first tombstone is handed out once, after the reopen.
    let claim = |at| store.claim_refresh_grace(refresh_hash(first), at);
    assert_eq!(
        claim(NOW.plus(1)).await.unwrap(),
        Some(h.grace.sealed_successor.clone())
    );
    assert_eq!(claim(NOW.plus(2)).await.unwrap(), None);

    // The code never redeemed still redeems exactly once.
    let (_, code) = &h.pending;
    let issued = tokens_for_code(code);
    assert_eq!(
        store.consume_code(&code.hash, &issued, NOW).await.unwrap(),
        ConsumeOutcome::Consumed
    );

    store.close().await;
    common::remove_db_files(&path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_racing_close_either_fail_as_unavailable_or_survive_reopen() {
    const WRITERS: usize = 40;
    let path = common::fresh_db_path();
    let store = SqliteStoreOptions::new(&path).open().await.unwrap();
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
    let writers: Vec<_> = (0..WRITERS)
        .map(|_| {
            let store = store.clone();
            let done = done_tx.clone();
            tokio::spawn(async move {
                let grant = user_grant(&user_id(), &client_id());
                let code = code_for(&grant);
                let result = store.create_grant_with_code(&grant, &code).await;
                let _ = done.send(());
                (grant, code, result)
            })
        })
        .collect();
    // Close once a few writes have finished, while the rest are queued or in flight.
    for _ in 0..3 {
        done_rx.recv().await.unwrap();
    }
    store.close().await;

    let mut outcomes = Vec::new();
    for writer in writers {
        outcomes.push(writer.await.unwrap());
    }
    let reopened = SqliteStoreOptions::new(&path).open().await.unwrap();
    let mut committed = 0;
    for (grant, code, result) in &outcomes {
        match result {
            Ok(()) => {
                committed += 1;
                assert_eq!(
                    reopened.grant(&grant.id, NOW).await.unwrap().as_ref(),
                    Some(grant)
                );
                assert_eq!(
                    reopened.find_code(&code.hash, NOW).await.unwrap(),
                    CodeLookup::Active(code.clone())
                );
            }
            Err(error) => {
                assert_eq!(error.kind(), StoreErrorKind::Unavailable, "{error:?}");
                assert_eq!(reopened.grant(&grant.id, NOW).await.unwrap(), None);
                assert_eq!(
                    reopened.find_code(&code.hash, NOW).await.unwrap(),
                    CodeLookup::NotFound
                );
            }
        }
    }
    eprintln!("{committed} of {WRITERS} writes committed around the close");
    assert!(
        committed >= 3,
        "the writes seen before close were committed"
    );
    let grants: i64 = sqlx::query_scalar("SELECT count(*) FROM grants")
        .fetch_one(reopened.pool())
        .await
        .unwrap();
    assert_eq!(grants, committed, "no write reported failed was stored");
    reopened.close().await;
    common::remove_db_files(&path);
}

// ---------------------------------------------------------------------------------------
// A writer process killed mid-write
// ---------------------------------------------------------------------------------------

/// Names the database the child writes; unset in normal runs.
const CHILD_DB_ENV: &str = "OAUTH_SQLITE_DURABILITY_CHILD";
/// The round the child writes (part of its grant ids).
const CHILD_ROUND_ENV: &str = "OAUTH_SQLITE_DURABILITY_CHILD_ROUND";
/// The child's test, run by exact name.
const CHILD_TEST: &str = "child_writer_process_when_spawned_by_kill_test";
/// What the child prints after each call returns.
const REPORT: &str = "committed ";
/// Reported commits after which the child is killed; see [`kill_point`].
const KILL_AFTER: usize = 300;
/// Children killed in turn on the same database: each later one starts on a database
/// recovered from the previous kill.
const ROUNDS: u8 = 6;
/// How long one round may take before the test fails (rather than hangs).
const ROUND_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the child's pipes may stay open after it was killed.
const PIPE_GRACE: Duration = Duration::from_secs(10);
/// A bound on the child's work, should it never be killed.
const CHILD_MAX_GRANTS: u32 = 1_000_000;

/// When round `round` kills its child: after `KILL_AFTER + round % 3` reports, so that
/// the rounds kill the child in each of its three calls, and `round / 3 * 500` µs after
/// that report arrived, so that the kill lands at different points inside the call (the
/// pause only moves the kill point; nothing waits on it).
fn kill_point(round: u8) -> (usize, Duration) {
    (
        KILL_AFTER + usize::from(round % 3),
        Duration::from_micros(500 * u64::from(round / 3)),
    )
}

/// How far the child got with one grant. Each stage is one store call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    /// `create_grant_with_code` returned.
    Created,
    /// `consume_code` returned: the code is used, the first tokens stored.
    Consumed,
    /// `rotate_refresh` returned: the first refresh token retired, the successors stored.
    Rotated,
}

const STAGES: [Stage; 3] = [Stage::Created, Stage::Consumed, Stage::Rotated];

impl Stage {
    fn name(self) -> &'static str {
        match self {
            Stage::Created => "created",
            Stage::Consumed => "consumed",
            Stage::Rotated => "rotated",
        }
    }

    fn parse(name: &str) -> Option<Stage> {
        STAGES.into_iter().find(|stage| stage.name() == name)
    }

    fn next(self) -> Option<Stage> {
        match self {
            Stage::Created => Some(Stage::Consumed),
            Stage::Consumed => Some(Stage::Rotated),
            Stage::Rotated => None,
        }
    }
}

/// The child's `n`th grant of a round: grant, code, and the tokens of the redemption and
/// of the rotation. Deterministic, so that the parent rebuilds exactly what the child
/// wrote from the grant id alone.
struct Lifecycle {
    grant: GrantRecord,
    code: CodeRecord,
    issued: IssuedTokens,
    successor: IssuedTokens,
    grace: RefreshGrace,
}

/// A grant position: (round, index in the round).
type Position = (u8, u32);

fn grant_id_of((round, n): Position) -> GrantId {
    GrantId::new(format!("kill-r{round}-g{n:07}"))
}

fn position_of(id: &str) -> Option<Position> {
    let rest = id.strip_prefix("kill-r")?;
    let (round, n) = rest.split_once("-g")?;
    Some((round.parse().ok()?, n.parse().ok()?))
}

fn lifecycle(position: Position) -> Lifecycle {
    let (round, n) = position;
    // Distinct bytes per record kind, round and index.
    let bytes = |kind: u8| {
        let mut b = [0xA5u8; 32];
        b[0] = kind;
        b[1] = round;
        b[2..6].copy_from_slice(&n.to_le_bytes());
        b
    };
    let hash = |kind| TokenHash(bytes(kind));
    let key = |kind| Some(WrappedPropsKey(bytes(kind).to_vec()));

    let mut grant = user_grant(&UserId::new("kill-user"), &ClientId::new("kill-client"));
    grant.id = grant_id_of(position);
    grant.props = Some(SealedProps(bytes(0).to_vec()));
    let mut code = code_for(&grant);
    code.hash = hash(1);
    code.props_key = key(2);
    let tokens = |access_kind: u8| {
        let mut tokens = tokens_for(&grant);
        tokens.access.hash = hash(access_kind);
        tokens.access.props_key = key(access_kind + 1);
        let refresh = tokens.refresh.as_mut().unwrap();
        refresh.hash = hash(access_kind + 2);
        refresh.props_key = key(access_kind + 3);
        tokens
    };
    let issued = tokens(10);
    let successor = tokens(20);
    let grace = RefreshGrace {
        sealed_successor: bytes(30).to_vec(),
        until: NOW.plus(60),
    };
    Lifecycle {
        grant,
        code,
        issued,
        successor,
        grace,
    }
}

/// The writer. A no-op pass in normal runs; the kill test runs it in a child process
/// with [`CHILD_DB_ENV`] set, and kills it while it writes.
#[test]
fn child_writer_process_when_spawned_by_kill_test() {
    let Some(path) = std::env::var_os(CHILD_DB_ENV) else {
        return;
    };
    let round: u8 = std::env::var(CHILD_ROUND_ENV).unwrap().parse().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = SqliteStoreOptions::new(path).open().await.unwrap();
        // Written straight to the file descriptor (not through the test harness's
        // capture), one line per call that returned, flushed before the next call.
        let mut out = std::io::stdout().lock();
        let mut report = |grant: &GrantRecord, stage: Stage| {
            writeln!(out, "{REPORT}{} {}", grant.id, stage.name()).unwrap();
            out.flush().unwrap();
        };
        for n in 0..CHILD_MAX_GRANTS {
            let l = lifecycle((round, n));
            store
                .create_grant_with_code(&l.grant, &l.code)
                .await
                .unwrap();
            report(&l.grant, Stage::Created);
            assert_eq!(
                store
                    .consume_code(&l.code.hash, &l.issued, NOW)
                    .await
                    .unwrap(),
                ConsumeOutcome::Consumed
            );
            report(&l.grant, Stage::Consumed);
            assert_eq!(
                store
                    .rotate_refresh(refresh_hash(&l.issued), &l.successor, Some(&l.grace), NOW)
                    .await
                    .unwrap(),
                RotateOutcome::Rotated
            );
            report(&l.grant, Stage::Rotated);
        }
    });
}

/// One reported commit: `committed <grant id> <stage>`, wherever it starts in the line
/// (the test harness may print the test's name just before the child's first line).
fn parse_report(line: &str) -> Option<(Position, Stage)> {
    let (_, report) = line.split_once(REPORT)?;
    let mut words = report.split_whitespace();
    let position = position_of(words.next()?)?;
    let stage = Stage::parse(words.next()?)?;
    Some((position, stage))
}

/// What one child reported before it died, and how it ended.
struct ChildRun {
    reports: Vec<(Position, Stage)>,
    status: ExitStatus,
    stderr: String,
}

/// Runs the writer for `round` on `path`, kills it at its [`kill_point`]
/// and collects every report it made, including those still in the pipe when it died.
fn run_child_until_killed(path: &Path, round: u8) -> ChildRun {
    let (kill_after, pause) = kill_point(round);
    let deadline = Instant::now() + ROUND_TIMEOUT;
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", CHILD_TEST, "--nocapture", "--test-threads=1"])
        .env(CHILD_DB_ENV, path)
        .env(CHILD_ROUND_ENV, round.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (lines_tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    // Read stderr all along, so the child never blocks on a full pipe.
    let (stderr_tx, stderr_text) = mpsc::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = BufReader::new(stderr).read_to_string(&mut text);
        let _ = stderr_tx.send(text);
    });

    let mut reports = Vec::new();
    let mut failure = None;
    while reports.len() < kill_after {
        match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => reports.extend(parse_report(&line)),
            Err(RecvTimeoutError::Timeout) => {
                failure = Some(format!(
                    "the child reported {} commits in {ROUND_TIMEOUT:?}",
                    reports.len()
                ));
                break;
            }
            Err(RecvTimeoutError::Disconnected) => {
                failure = Some(format!(
                    "the child ended its output after {} commits, before it was killed",
                    reports.len()
                ));
                break;
            }
        }
    }
    if failure.is_none() {
        std::thread::sleep(pause);
    }
    // SIGKILL on Unix: no destructor, no rollback, no checkpoint runs in the child.
    let killed = child.kill();
    let status = child.wait().unwrap();
    // Lines the child wrote before it died report commits too. Its pipes close as it
    // dies; the bound only guards against a pipe held open by something else.
    let drained_by = Instant::now() + PIPE_GRACE;
    loop {
        match lines.recv_timeout(drained_by.saturating_duration_since(Instant::now())) {
            Ok(line) => reports.extend(parse_report(&line)),
            Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => {
                failure.get_or_insert_with(|| "the child's stdout stayed open".to_owned());
                break;
            }
        }
    }
    let stderr = stderr_text
        .recv_timeout(drained_by.saturating_duration_since(Instant::now()))
        .unwrap_or_else(|_| "(stderr stayed open)".to_owned());
    if let Some(failure) = failure {
        panic!("round {round}: {failure}; child {status}; kill: {killed:?}; stderr:\n{stderr}");
    }
    killed.unwrap();
    ChildRun {
        reports,
        status,
        stderr,
    }
}

/// The rows a grant's lifecycle has in each child table, read with raw SQL.
#[derive(Debug, PartialEq, Eq)]
struct Rows {
    /// `(hash, consumed_at)`.
    codes: Vec<(Vec<u8>, Option<i64>)>,
    /// `hash`, sorted.
    access: Vec<Vec<u8>>,
    /// Sorted by hash.
    refresh: Vec<RefreshRow>,
}

/// A row of `refresh_tokens`, the columns a rotation sets.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
struct RefreshRow {
    hash: Vec<u8>,
    retired_at: Option<i64>,
    grace_successor: Option<Vec<u8>>,
    grace_until: Option<i64>,
}

impl RefreshRow {
    fn active(hash: &TokenHash) -> Self {
        RefreshRow {
            hash: hash.0.to_vec(),
            retired_at: None,
            grace_successor: None,
            grace_until: None,
        }
    }
}

/// The rows of `l` exactly as the child leaves them after `stage`.
fn expected_rows(l: &Lifecycle, stage: Stage) -> Rows {
    let now = i64::try_from(NOW.0).unwrap();
    let hash = |h: &TokenHash| h.0.to_vec();
    let mut rows = Rows {
        codes: vec![(hash(&l.code.hash), None)],
        access: Vec::new(),
        refresh: Vec::new(),
    };
    if stage >= Stage::Consumed {
        rows.codes[0].1 = Some(now);
        rows.access.push(hash(&l.issued.access.hash));
        rows.refresh
            .push(RefreshRow::active(refresh_hash(&l.issued)));
    }
    if stage >= Stage::Rotated {
        rows.refresh[0].retired_at = Some(now);
        rows.refresh[0].grace_successor = Some(l.grace.sealed_successor.clone());
        rows.refresh[0].grace_until = Some(i64::try_from(l.grace.until.0).unwrap());
        rows.access.push(hash(&l.successor.access.hash));
        rows.refresh
            .push(RefreshRow::active(refresh_hash(&l.successor)));
    }
    rows.access.sort();
    rows.refresh.sort();
    rows
}

async fn actual_rows(store: &SqliteStore, grant: &GrantId) -> Rows {
    let pool = store.pool();
    let codes = sqlx::query("SELECT hash, consumed_at FROM codes WHERE grant_id = ?1")
        .bind(grant.as_str())
        .fetch_all(pool)
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    let access =
        sqlx::query_scalar("SELECT hash FROM access_tokens WHERE grant_id = ?1 ORDER BY hash")
            .bind(grant.as_str())
            .fetch_all(pool)
            .await
            .unwrap();
    let refresh = sqlx::query(
        "SELECT hash, retired_at, grace_successor, grace_until FROM refresh_tokens \
         WHERE grant_id = ?1 ORDER BY hash",
    )
    .bind(grant.as_str())
    .fetch_all(pool)
    .await
    .unwrap()
    .iter()
    .map(|row| RefreshRow {
        hash: row.get(0),
        retired_at: row.get(1),
        grace_successor: row.get(2),
        grace_until: row.get(3),
    })
    .collect();
    Rows {
        codes,
        access,
        refresh,
    }
}

/// Checks through the Store API that what `stage` reported committed is visible.
/// (The grant may be one call further, uncommitted-looking to the parent but committed.)
async fn assert_reported_visible(store: &SqliteStore, l: &Lifecycle, stage: Stage) {
    let id = &l.grant.id;
    assert_eq!(
        store.grant(id, NOW).await.unwrap().as_ref(),
        Some(&l.grant),
        "{id}"
    );
    let code = store.find_code(&l.code.hash, NOW).await.unwrap();
    if stage == Stage::Created {
        assert!(
            code == CodeLookup::Active(l.code.clone()) || code == CodeLookup::Used(l.code.clone()),
            "{id}: {code:?}"
        );
        return;
    }
    assert_eq!(code, CodeLookup::Used(l.code.clone()), "{id}");
    let with_grant = |tokens: &IssuedTokens| {
        Some(AccessTokenWithGrant {
            token: tokens.access.clone(),
            grant: l.grant.clone(),
        })
    };
    assert_eq!(
        access(store, &l.issued).await,
        with_grant(&l.issued),
        "{id}"
    );
    let first = refresh(store, &l.issued).await;
    let retired = RefreshLookup::Retired {
        grant_id: id.clone(),
        client_id: l.grant.client_id.clone(),
        retired_at: NOW,
    };
    if stage == Stage::Consumed {
        assert!(
            first == RefreshLookup::Active(l.issued.refresh.clone().unwrap()) || first == retired,
            "{id}: {first:?}"
        );
        return;
    }
    assert_eq!(first, retired, "{id}");
    assert_eq!(
        refresh(store, &l.successor).await,
        RefreshLookup::Active(l.successor.refresh.clone().unwrap()),
        "{id}"
    );
    assert_eq!(
        access(store, &l.successor).await,
        with_grant(&l.successor),
        "{id}"
    );
}

/// After a kill: opens the database as a restarted server would and checks it against
/// `known` (each grant's stage as verified after earlier rounds) and this round's
/// reports. Returns every grant's actual stage.
async fn verify_after_kill(
    path: &Path,
    round: u8,
    known: &BTreeMap<Position, Stage>,
    reported: &BTreeMap<Position, Stage>,
) -> BTreeMap<Position, Stage> {
    let store = SqliteStoreOptions::new(path).open().await.unwrap();
    let pool = store.pool();
    let integrity: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(pool)
        .await
        .unwrap();
    assert_eq!(integrity, ["ok"], "round {round}");
    let violations = sqlx::query("PRAGMA foreign_key_check")
        .fetch_all(pool)
        .await
        .unwrap();
    assert!(violations.is_empty(), "round {round}: orphaned rows");
    for table in ["codes", "access_tokens", "refresh_tokens"] {
        let orphans: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM {table} WHERE grant_id NOT IN (SELECT id FROM grants)"
        ))
        .fetch_one(pool)
        .await
        .unwrap();
        assert_eq!(orphans, 0, "round {round}: orphans in {table}");
    }

    // Every reported commit is visible, whole.
    for (&position, &stage) in reported {
        assert_reported_visible(&store, &lifecycle(position), stage).await;
    }

    // Every grant in the table is exactly at one stage: nothing half-written.
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM grants ORDER BY id")
        .fetch_all(pool)
        .await
        .unwrap();
    let mut actual = BTreeMap::new();
    for id in &ids {
        let position = position_of(id).unwrap_or_else(|| panic!("unexpected grant {id}"));
        let l = lifecycle(position);
        let rows = actual_rows(&store, &l.grant.id).await;
        let stage = STAGES
            .into_iter()
            .find(|&stage| expected_rows(&l, stage) == rows)
            .unwrap_or_else(|| panic!("round {round}: grant {id} is half-written: {rows:?}"));
        actual.insert(position, stage);
    }

    // Earlier rounds' grants are as verified before; this round's are as reported, or
    // one call further for the call in flight when the child died.
    let last = reported.keys().next_back().copied();
    for (position, &stage) in &actual {
        if let Some(&before) = known.get(position) {
            assert_eq!(stage, before, "round {round}: {position:?} changed");
        } else if let Some(&said) = reported.get(position) {
            assert!(
                stage == said || (Some(*position) == last && Some(stage) == said.next()),
                "round {round}: {position:?} is {stage:?}, reported {said:?}"
            );
        } else {
            let (r, n) = last.unwrap();
            assert!(
                *position == (r, n + 1) && stage == Stage::Created,
                "round {round}: {position:?} is {stage:?} but was never reported"
            );
        }
    }
    for position in known.keys().chain(reported.keys()) {
        assert!(
            actual.contains_key(position),
            "round {round}: {position:?} lost"
        );
    }
    store.close().await;
    actual
}

#[test]
fn killed_writer_loses_no_reported_commit_and_leaves_nothing_half_written() {
    let path = common::fresh_db_path();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut known = BTreeMap::new();
    let mut unreported_commits = 0;
    for round in 0..ROUNDS {
        let run = run_child_until_killed(&path, round);
        // Shown only if this test fails.
        eprintln!(
            "round {round}: child {}; stderr:\n{}",
            run.status, run.stderr
        );
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(
                run.status.signal(),
                Some(9),
                "round {round}: the child did not die of SIGKILL"
            );
        }
        assert!(run.reports.len() >= kill_point(round).0);

        // The reports come in the child's order: grant after grant, stage after stage.
        let mut expected_next = ((round, 0), Stage::Created);
        let mut reported = BTreeMap::new();
        for &(position, stage) in &run.reports {
            assert_eq!((position, stage), expected_next, "round {round}");
            reported.insert(position, stage);
            expected_next = match stage.next() {
                Some(next) => (position, next),
                None => ((round, position.1 + 1), Stage::Created),
            };
        }

        let actual = runtime.block_on(verify_after_kill(&path, round, &known, &reported));
        unreported_commits += actual
            .iter()
            .filter(|&(position, stage)| {
                position.0 == round && reported.get(position).is_none_or(|said| said < stage)
            })
            .count();
        known = actual;
    }
    eprintln!("{unreported_commits} of {ROUNDS} kills fell after a commit and before its report");

    // The database is still writable after the last kill.
    runtime.block_on(async {
        let store = SqliteStoreOptions::new(&path).open().await.unwrap();
        let grant = user_grant(&user_id(), &client_id());
        let code = code_for(&grant);
        store.create_grant_with_code(&grant, &code).await.unwrap();
        assert_eq!(
            store.find_code(&code.hash, NOW).await.unwrap(),
            CodeLookup::Active(code)
        );
        store.close().await;
    });
    common::remove_db_files(&path);
}
