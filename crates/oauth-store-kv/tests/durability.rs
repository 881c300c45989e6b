//! Durability of the redb backend: what a close and reopen keeps, and what a writer
//! process killed (SIGKILL) in the middle of its writes leaves behind: every commit it
//! reported, and nothing half-written. Also the file's mode and its exclusive lock.
//!
//! The kill test re-executes this test binary as the writer: the child runs only
//! [`child_writer_process_when_spawned_by_kill_test`], which does nothing unless the
//! environment variable [`CHILD_DB_ENV`] names a database.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use oauth_core::model::{ClientId, CodeRecord, GrantId, GrantRecord, IssuedTokens, UserId};
use oauth_core::store::{CodeLookup, ConsumeOutcome, RefreshGrace, RefreshLookup, RotateOutcome};
use oauth_core::{Store, TokenHash};
use oauth_store_kv::{KvStore, RedbBackend, RedbOpenError};
use oauth_store_testkit::fixtures::{
    client, client_id, code_for, once_key, tokens_for, tokens_for_code, user_grant, user_id, NOW,
};

fn refresh_hash(tokens: &IssuedTokens) -> &TokenHash {
    &tokens.refresh.as_ref().unwrap().hash
}

async fn open(path: &Path) -> KvStore<RedbBackend> {
    KvStore::new(RedbBackend::open(path).await.unwrap()).unwrap()
}

// ---------------------------------------------------------------------------------------
// Close and reopen
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_writes_survive_close_and_reopen() {
    let path = common::fresh_db_path();
    let store = open(&path).await;

    let c = client(&client_id());
    store.put_client(&c).await.unwrap();
    let user = user_id();
    // Pending: a grant whose code was never redeemed.
    let pending = user_grant(&user, &c.id);
    let pending_code = code_for(&pending);
    store
        .create_grant_with_code(&pending, &pending_code)
        .await
        .unwrap();
    // Redeemed and rotated with a grace.
    let rotated = user_grant(&user, &c.id);
    let rotated_code = code_for(&rotated);
    store
        .create_grant_with_code(&rotated, &rotated_code)
        .await
        .unwrap();
    let first = tokens_for_code(&rotated_code);
    assert_eq!(
        store
            .consume_code(&rotated_code.hash, &first, NOW)
            .await
            .unwrap(),
        ConsumeOutcome::Consumed
    );
    let second = tokens_for(&rotated);
    let grace = RefreshGrace {
        sealed_successor: b"sealed".to_vec(),
        until: NOW.plus(60),
    };
    assert_eq!(
        store
            .rotate_refresh(refresh_hash(&first), &second, Some(&grace), NOW)
            .await
            .unwrap(),
        RotateOutcome::Rotated
    );
    // Revoked.
    let revoked = user_grant(&user_id(), &c.id);
    let revoked_code = code_for(&revoked);
    store
        .create_grant_with_code(&revoked, &revoked_code)
        .await
        .unwrap();
    let revoked_tokens = tokens_for_code(&revoked_code);
    store
        .consume_code(&revoked_code.hash, &revoked_tokens, NOW)
        .await
        .unwrap();
    store.revoke_grant(&revoked.id).await.unwrap();
    let marker = once_key("ticket");
    assert!(store.insert_once(marker, NOW.plus(600), NOW).await.unwrap());

    drop(store);
    let store = open(&path).await;

    assert_eq!(store.client(&c.id).await.unwrap(), Some(c.clone()));
    assert_eq!(
        store.find_code(&pending_code.hash, NOW).await.unwrap(),
        CodeLookup::Active(pending_code)
    );
    assert_eq!(
        store.find_code(&rotated_code.hash, NOW).await.unwrap(),
        CodeLookup::Used(rotated_code.clone()),
        "the tombstone survives, so a replay is still recognised"
    );
    assert_eq!(
        store
            .consume_code(&rotated_code.hash, &tokens_for_code(&rotated_code), NOW)
            .await
            .unwrap(),
        ConsumeOutcome::AlreadyUsed {
            grant_id: rotated.id.clone()
        }
    );
    assert!(matches!(
        store.find_refresh(refresh_hash(&first), NOW).await.unwrap(),
        RefreshLookup::Retired { .. }
    ));
    assert_eq!(
        store
            .find_refresh(refresh_hash(&second), NOW)
            .await
            .unwrap(),
        RefreshLookup::Active(second.refresh.clone().unwrap())
    );
    assert_eq!(
        store
            .claim_refresh_grace(refresh_hash(&first), NOW)
            .await
            .unwrap(),
        Some(b"sealed".to_vec())
    );
    assert!(store
        .access_token(&second.access.hash, NOW)
        .await
        .unwrap()
        .is_some());
    assert_eq!(store.grant(&revoked.id, NOW).await.unwrap(), None);
    assert_eq!(
        store
            .access_token(&revoked_tokens.access.hash, NOW)
            .await
            .unwrap(),
        None
    );
    assert!(!store.insert_once(marker, NOW.plus(600), NOW).await.unwrap());
    let mut expected = vec![pending, rotated];
    expected.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(store.grants_for_user(&user, NOW).await.unwrap(), expected);
    drop(store);
    let _ = std::fs::remove_file(&path);
}

#[tokio::test]
async fn a_new_file_is_private_and_a_second_open_is_refused() {
    let path = common::fresh_db_path();
    let backend = RedbBackend::open(&path).await.unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
    }
    assert!(matches!(
        RedbBackend::open(&path).await.unwrap_err(),
        RedbOpenError::AlreadyOpen
    ));
    // Once closed, it opens again (`close` waits for the file to be released; a plain
    // drop on this current-thread runtime closes it on the blocking pool, shortly after).
    backend.close().await;
    RedbBackend::open(&path).await.unwrap().close().await;
    let _ = std::fs::remove_file(&path);
}

// ---------------------------------------------------------------------------------------
// A writer killed with SIGKILL
// ---------------------------------------------------------------------------------------

/// Names the database the child writes; unset in normal runs.
const CHILD_DB_ENV: &str = "OAUTH_KV_DURABILITY_CHILD";
/// The round the child writes (part of its grant ids).
const CHILD_ROUND_ENV: &str = "OAUTH_KV_DURABILITY_CHILD_ROUND";
const CHILD_TEST: &str = "child_writer_process_when_spawned_by_kill_test";
const REPORT: &str = "committed ";
/// Reported commits after which the child is killed (plus the round, so the kill lands
/// after each of the three calls in turn).
const KILL_AFTER: usize = 60;
const ROUNDS: u8 = 3;
const ROUND_TIMEOUT: Duration = Duration::from_secs(120);

/// The child's `n`th grant of a round, deterministic so that the parent rebuilds exactly
/// what the child wrote.
struct Lifecycle {
    grant: GrantRecord,
    code: CodeRecord,
    issued: IssuedTokens,
    successor: IssuedTokens,
}

fn lifecycle(round: u8, n: u32) -> Lifecycle {
    let bytes = |kind: u8| {
        let mut b = [0x5Au8; 32];
        b[0] = kind;
        b[1] = round;
        b[2..6].copy_from_slice(&n.to_le_bytes());
        TokenHash(b)
    };
    let mut grant = user_grant(&UserId::new("kill-user"), &ClientId::new("kill-client"));
    grant.id = GrantId::new(format!("kill-r{round}-g{n:07}"));
    let mut code = code_for(&grant);
    code.hash = bytes(1);
    let tokens = |kind: u8| {
        let mut t = tokens_for(&grant);
        t.access.hash = bytes(kind);
        t.refresh.as_mut().unwrap().hash = bytes(kind + 1);
        t
    };
    Lifecycle {
        issued: tokens(10),
        successor: tokens(20),
        grant,
        code,
    }
}

/// The writer. A no-op pass in normal runs.
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
        let store = open(Path::new(&path)).await;
        let mut out = std::io::stdout().lock();
        let mut report = |n: u32, stage: u8| {
            writeln!(out, "{REPORT}{n} {stage}").unwrap();
            out.flush().unwrap();
        };
        for n in 0..1_000_000 {
            let l = lifecycle(round, n);
            store
                .create_grant_with_code(&l.grant, &l.code)
                .await
                .unwrap();
            report(n, 1);
            assert_eq!(
                store
                    .consume_code(&l.code.hash, &l.issued, NOW)
                    .await
                    .unwrap(),
                ConsumeOutcome::Consumed
            );
            report(n, 2);
            assert_eq!(
                store
                    .rotate_refresh(refresh_hash(&l.issued), &l.successor, None, NOW)
                    .await
                    .unwrap(),
                RotateOutcome::Rotated
            );
            report(n, 3);
        }
    });
}

/// Runs the writer for `round`, kills it after `kill_after` reports and returns every
/// `(grant index, stage)` it reported, including lines still in the pipe.
fn run_child_until_killed(path: &Path, round: u8, kill_after: usize) -> Vec<(u32, u8)> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", CHILD_TEST, "--nocapture", "--test-threads=1"])
        .env(CHILD_DB_ENV, path)
        .env(CHILD_ROUND_ENV, round.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let parse = |line: &str| -> Option<(u32, u8)> {
        let (_, rest) = line.split_once(REPORT)?;
        let mut words = rest.split_whitespace();
        Some((words.next()?.parse().ok()?, words.next()?.parse().ok()?))
    };
    let deadline = Instant::now() + ROUND_TIMEOUT;
    let mut reports = Vec::new();
    while reports.len() < kill_after {
        match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => reports.extend(parse(&line)),
            Err(RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                panic!("round {round}: only {} reports in time", reports.len());
            }
            Err(RecvTimeoutError::Disconnected) => {
                panic!(
                    "round {round}: the child stopped after {} reports",
                    reports.len()
                )
            }
        }
    }
    // SIGKILL on Unix: no destructor runs in the child.
    child.kill().unwrap();
    let status = child.wait().unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(9), "round {round}: {status}");
    }
    let _ = status;
    while let Ok(line) = lines.recv_timeout(Duration::from_secs(10)) {
        reports.extend(parse(&line));
    }
    reports
}

/// How far grant `n` of `round` got, as read back; panics on a half-written state.
async fn stage_of(store: &KvStore<RedbBackend>, round: u8, n: u32) -> u8 {
    let l = lifecycle(round, n);
    let code = store.find_code(&l.code.hash, NOW).await.unwrap();
    let issued = store
        .access_token(&l.issued.access.hash, NOW)
        .await
        .unwrap();
    let first = store
        .find_refresh(refresh_hash(&l.issued), NOW)
        .await
        .unwrap();
    let successor = store
        .access_token(&l.successor.access.hash, NOW)
        .await
        .unwrap();
    let next = store
        .find_refresh(refresh_hash(&l.successor), NOW)
        .await
        .unwrap();
    match code {
        CodeLookup::NotFound => {
            assert!(
                issued.is_none() && successor.is_none(),
                "grant {n}: tokens without a code"
            );
            0
        }
        CodeLookup::Active(_) => {
            // Redemption is atomic: no tokens without the tombstone.
            assert!(issued.is_none(), "grant {n}: tokens of an unredeemed code");
            assert_eq!(first, RefreshLookup::NotFound);
            1
        }
        CodeLookup::Used(_) => {
            assert!(
                issued.is_some(),
                "grant {n}: a tombstone without its tokens"
            );
            match first {
                RefreshLookup::Active(_) => {
                    assert!(
                        successor.is_none(),
                        "grant {n}: a successor of a live token"
                    );
                    assert_eq!(next, RefreshLookup::NotFound);
                    2
                }
                RefreshLookup::Retired { .. } => {
                    assert!(
                        successor.is_some(),
                        "grant {n}: a retired token without successor"
                    );
                    assert!(matches!(next, RefreshLookup::Active(_)));
                    3
                }
                RefreshLookup::NotFound => panic!("grant {n}: redeemed, refresh token lost"),
                other => panic!("grant {n}: {other:?}"),
            }
        }
        other => panic!("grant {n}: {other:?}"),
    }
}

#[test]
fn killed_writer_loses_no_reported_commit_and_leaves_nothing_half_written() {
    let path = common::fresh_db_path();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    for round in 0..ROUNDS {
        let reports = run_child_until_killed(&path, round, KILL_AFTER + usize::from(round));
        let (last_n, last_stage) = *reports.last().unwrap();
        runtime.block_on(async {
            let store = open(&path).await;
            for n in 0..=last_n + 1 {
                let reported = if n < last_n {
                    3
                } else if n == last_n {
                    last_stage
                } else {
                    0
                };
                let actual = stage_of(&store, round, n).await;
                assert!(
                    actual >= reported,
                    "round {round}, grant {n}: reported stage {reported}, found {actual}"
                );
                // At most the one call in flight when the child died committed unreported.
                assert!(actual <= reported + 1, "round {round}, grant {n}");
            }
            // Earlier rounds are intact too.
            for earlier in 0..round {
                assert_eq!(stage_of(&store, earlier, 0).await, 3);
            }
        });
    }
    // Still writable after the last kill.
    runtime.block_on(async {
        let store = open(&path).await;
        let grant = user_grant(&user_id(), &client_id());
        let code = code_for(&grant);
        store.create_grant_with_code(&grant, &code).await.unwrap();
        assert_eq!(
            store.find_code(&code.hash, NOW).await.unwrap(),
            CodeLookup::Active(code)
        );
    });
    let _ = std::fs::remove_file(&path);
}
