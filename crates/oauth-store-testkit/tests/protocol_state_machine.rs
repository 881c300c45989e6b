//! The protocol model (`oauth_store_testkit::protocol`) under proptest: random operation
//! sequences against a real provider on the memory store, every invariant checked after
//! every step; deterministic regressions for each invariant, each asserting that the
//! event it is about really happened; and proof that the checker catches a broken store.
//!
//! `PROTOCOL_CASES` (default 512) and `PROTOCOL_OPS` (default 64, the longest sequence)
//! scale the random test: the defaults take about 2.5 s in a debug build; for a long run,
//! `PROTOCOL_CASES=100000 PROTOCOL_OPS=100 cargo test --release -p oauth-store-testkit
//! --test protocol_state_machine -- --nocapture` (about 80 s, 5 million operations). The
//! counts of what the runs observed are printed with `--nocapture`.

use std::cell::RefCell;

use oauth_core::Store;
use oauth_store_memory::MemoryStore;
use oauth_store_testkit::instrumented::{self, InstrumentedStore};
use oauth_store_testkit::protocol::{
    run, run_counted, Caller, Harness, Invariant, Kind, Op, Redemption, Stats, Target, TokenRef,
    Violation,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Operation sequences: vectors of three-byte chunks decoded by the fuzz target's
/// decoder, so both explore the same operation mix and shrinking drops whole operations.
fn operations(max: usize) -> impl Strategy<Value = Vec<Op>> {
    proptest::collection::vec(any::<[u8; Op::WIDTH]>(), 0..=max)
        .prop_map(|chunks| Op::decode_all(&chunks.concat()))
}

#[test]
fn protocol_invariants_hold_for_random_operation_sequences() {
    let cases = env_or("PROTOCOL_CASES", 512);
    let max_ops = env_or("PROTOCOL_OPS", 64);
    let mut runner = TestRunner::new(Config {
        cases: u32::try_from(cases).unwrap(),
        source_file: Some(file!()),
        ..Config::default()
    });
    let totals = RefCell::new(Stats::default());
    let started = std::time::Instant::now();
    let result = runner.run(&operations(max_ops), |ops| match run_counted(&ops) {
        Ok(stats) => {
            totals.borrow_mut().add(&stats);
            Ok(())
        }
        Err(violation) => Err(TestCaseError::fail(format!("{violation}\nops: {ops:#?}"))),
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
    let totals = totals.into_inner();
    eprintln!(
        "{cases} cases of up to {max_ops} operations in {:?}: {totals:#?}",
        started.elapsed()
    );
    // The random runs reach the events the invariants are about (not vacuous).
    if cases >= 256 && max_ops >= 40 {
        for (what, count) in [
            ("codes redeemed", totals.codes_redeemed),
            ("code replays", totals.code_replays),
            ("rotations", totals.rotations),
            ("refresh-token reuses", totals.refresh_reuses),
            ("access revocations", totals.access_revocations),
            ("refresh revocations", totals.refresh_revocations),
            ("host revocations", totals.host_revocations),
            ("active introspections", totals.introspected_active),
            (
                "refused after a code replay",
                totals.refused_after_code_replay,
            ),
            ("refused after a reuse", totals.refused_after_refresh_reuse),
            (
                "refused after a revocation",
                totals.refused_after_revocation,
            ),
            ("refused after a rotation", totals.refused_after_rotation),
            ("refused after expiry", totals.refused_after_expiry),
            (
                "refused after the grant's end",
                totals.refused_after_grant_expiry,
            ),
            ("replays", totals.replays),
        ] {
            assert!(count > 0, "no {what} in {cases} random runs: {totals:#?}");
        }
    }
}

// ---- deterministic regressions, one per invariant ----

const fn authorize(client: u8, user: u8) -> Op {
    Op::Authorize {
        client,
        user,
        scope: 0b011,
        resource: false,
        narrow: false,
        props: false,
    }
}

const REDEEM: Op = Op::Redeem {
    code: 0,
    with: Redemption::Valid,
};

fn advance(seconds: u64) -> Op {
    Op::Advance { seconds }
}

fn ok(ops: &[Op]) -> Stats {
    run_counted(ops).unwrap_or_else(|v| panic!("{v}"))
}

#[test]
fn replayed_code_revokes_everything_it_issued() {
    for register in [Op::RegisterPublic, Op::RegisterConfidential] {
        let stats = ok(&[
            register,
            authorize(0, 0),
            REDEEM,
            Op::Refresh { grant: 0 },
            // A second, valid redemption: refused, and the grant with both access tokens
            // and the live refresh token is revoked.
            Op::RedeemAgain { code: 0 },
            Op::Authenticate { token: 0 },
            Op::Authenticate { token: 1 },
            Op::Refresh { grant: 0 },
        ]);
        assert_eq!(stats.codes_redeemed, 1, "{stats:#?}");
        assert_eq!(stats.code_replays, 1, "{stats:#?}");
        // The probes after the replay (two access tokens, the refresh token), then the
        // two bearer calls and the refresh.
        assert!(stats.refused_after_code_replay >= 6, "{stats:#?}");
    }
}

#[test]
fn code_is_redeemed_at_most_once_and_refusals_burn_nothing() {
    let stats = ok(&[
        Op::RegisterPublic,
        Op::RegisterPublic,
        authorize(0, 0),
        Op::Redeem {
            code: 0,
            with: Redemption::WrongVerifier,
        },
        Op::Redeem {
            code: 0,
            with: Redemption::WrongClient,
        },
        REDEEM,
        // Wrong verifier or client on a used code: refused, nothing revoked.
        Op::Redeem {
            code: 0,
            with: Redemption::WrongVerifier,
        },
        Op::Redeem {
            code: 0,
            with: Redemption::WrongClient,
        },
        Op::Authenticate { token: 0 },
    ]);
    assert_eq!(stats.codes_redeemed, 1, "{stats:#?}");
    assert_eq!(stats.redemptions_refused, 4, "{stats:#?}");
    assert_eq!(stats.code_replays, 0, "{stats:#?}");
    assert!(stats.bearer_accepted >= 2, "{stats:#?}");
}

#[test]
fn expired_code_is_refused_and_its_late_replay_revokes_nothing() {
    let stats = ok(&[
        Op::RegisterPublic,
        authorize(0, 0),
        REDEEM,
        authorize(0, 1),
        advance(60),
        // The unredeemed code is dead (probed), the redeemed one's record is gone: a
        // replay now is an unknown code, which revokes nothing.
        Op::Redeem {
            code: 0,
            with: Redemption::Valid,
        },
        Op::RedeemAgain { code: 0 },
        Op::Authenticate { token: 0 },
    ]);
    assert_eq!(stats.codes_redeemed, 1, "{stats:#?}");
    assert_eq!(stats.code_replays, 0, "{stats:#?}");
    assert!(stats.redemptions_refused >= 3, "{stats:#?}");
    assert!(stats.bearer_accepted >= 2, "{stats:#?}");
}

#[test]
fn rotated_refresh_token_reuse_revokes_the_grant() {
    for register in [Op::RegisterPublic, Op::RegisterConfidential] {
        let stats = ok(&[
            register,
            authorize(0, 0),
            REDEEM,
            Op::Refresh { grant: 0 },
            Op::RefreshRetired { token: 0 },
            // The successor and both access tokens are dead.
            Op::Refresh { grant: 0 },
            Op::Authenticate { token: 0 },
            Op::Authenticate { token: 1 },
        ]);
        assert_eq!(stats.rotations, 1, "{stats:#?}");
        assert_eq!(stats.refresh_reuses, 1, "{stats:#?}");
        assert!(stats.refused_after_refresh_reuse >= 5, "{stats:#?}");
        if register == Op::RegisterConfidential {
            // The rotated token was probed by introspection: inactive at once.
            assert!(stats.refused_after_rotation >= 1, "{stats:#?}");
        }
    }
}

#[test]
fn retired_refresh_token_past_its_own_expiry_revokes_nothing() {
    let stats = ok(&[
        Op::RegisterPublic,
        authorize(0, 0),
        REDEEM,
        // Public refresh tokens last 600 s; the retired token's record lives as long.
        Op::Refresh { grant: 0 },
        advance(599),
        Op::Refresh { grant: 0 },
        advance(1),
        // Both retired tokens expired: unknown now, refused without revoking the grant,
        // whose third token still refreshes.
        Op::RefreshRetired { token: 0 },
        Op::RefreshRetired { token: 1 },
        Op::Refresh { grant: 0 },
        Op::Authenticate { token: 0 },
    ]);
    assert_eq!(stats.rotations, 3, "{stats:#?}");
    assert_eq!(stats.refresh_reuses, 0, "{stats:#?}");
    assert_eq!(stats.refreshes_refused, 2, "{stats:#?}");
    assert!(stats.bearer_accepted >= 4, "{stats:#?}");
}

#[test]
fn expired_access_token_never_authenticates() {
    let stats = ok(&[
        Op::RegisterConfidential,
        authorize(0, 0),
        REDEEM,
        advance(299),
        Op::Authenticate { token: 0 },
        advance(1),
        // Probed at the step that crossed the expiry, then again.
        Op::Authenticate { token: 0 },
        Op::Introspect {
            token: TokenRef {
                kind: Kind::Access,
                index: 0,
            },
            by: Caller::Owner,
        },
    ]);
    assert!(stats.bearer_accepted >= 2, "{stats:#?}");
    assert!(stats.refused_after_expiry >= 3, "{stats:#?}");
}

#[test]
fn expired_refresh_token_is_refused() {
    let stats = ok(&[
        Op::RegisterPublic,
        Op::RegisterConfidential,
        // Grant 0: the confidential client (newest); grant 1: the public one.
        authorize(0, 0),
        authorize(1, 1),
        Op::Redeem {
            code: 0,
            with: Redemption::Valid,
        },
        Op::Redeem {
            code: 0,
            with: Redemption::Valid,
        },
        // Public refresh tokens last 600 s, confidential ones 1200 s. The public one is
        // probed at the step that expires it.
        advance(600),
        Op::Refresh { grant: 0 },
        // 128 + 0: the newest chain, dead or not: the public one.
        Op::Refresh { grant: 128 },
    ]);
    assert_eq!(stats.codes_redeemed, 2, "{stats:#?}");
    assert_eq!(stats.rotations, 1, "{stats:#?}");
    assert!(stats.refused_after_expiry >= 2, "{stats:#?}");
}

#[test]
fn tokens_never_outlive_their_grant() {
    // Grant 1200 s from the approval; confidential refresh tokens would live 1200 s from
    // issue, access tokens 300 s.
    let stats = ok(&[
        Op::RegisterConfidential,
        authorize(0, 0),
        advance(30),
        // Refresh token: min(30 + 1200, 1200).
        REDEEM,
        advance(899),
        // At 929: access token min(929 + 300, 1200), expires_in 271.
        Op::Refresh { grant: 0 },
        advance(150),
        advance(61),
        advance(59),
        // At 1199 both still work (introspection checks exp = 1200) ...
        Op::Authenticate { token: 0 },
        Op::Introspect {
            token: TokenRef {
                kind: Kind::Refresh,
                index: 0,
            },
            by: Caller::Owner,
        },
        // ... and at 1200 nothing does, though their own lifetimes have not run out.
        advance(1),
        Op::Authenticate { token: 0 },
        Op::Refresh { grant: 0 },
    ]);
    assert_eq!(stats.rotations, 1, "{stats:#?}");
    assert!(stats.refused_after_grant_expiry >= 4, "{stats:#?}");
}

#[test]
fn revoked_tokens_and_grants_never_work_again() {
    let access = |index| TokenRef {
        kind: Kind::Access,
        index,
    };
    let refresh = |index| TokenRef {
        kind: Kind::Refresh,
        index,
    };
    let stats = ok(&[
        Op::RegisterConfidential,
        Op::RegisterPublic,
        // Alice with the public client (the newest), Bob with the confidential one,
        // Carol with the public one: access and refresh tokens 0, 1, 2.
        authorize(0, 0),
        REDEEM,
        authorize(1, 1),
        REDEEM,
        authorize(0, 2),
        REDEEM,
        // Alice's access token: that token only. (128 + n: among all tokens, live or
        // not, newest first.)
        Op::Revoke {
            token: access(2),
            by: Caller::Owner,
        },
        Op::Authenticate { token: 128 + 2 },
        // Bob's refresh token: his whole grant.
        Op::Revoke {
            token: refresh(1),
            by: Caller::Owner,
        },
        Op::Authenticate { token: 128 + 1 },
        // Carol's grants, by the host.
        Op::RevokeUserGrants { user: 2 },
        Op::Authenticate { token: 128 },
        Op::Introspect {
            token: refresh(128 + 1),
            by: Caller::Owner,
        },
        // Alice's refresh token still works.
        Op::Refresh { grant: 0 },
    ]);
    assert_eq!(stats.access_revocations, 1, "{stats:#?}");
    assert_eq!(stats.refresh_revocations, 1, "{stats:#?}");
    assert_eq!(stats.host_revocations, 1, "{stats:#?}");
    assert_eq!(stats.rotations, 1, "{stats:#?}");
    assert!(stats.refused_after_revocation >= 9, "{stats:#?}");
}

#[test]
fn another_clients_revocation_and_introspection_change_and_show_nothing() {
    let stats = ok(&[
        Op::RegisterConfidential,
        Op::RegisterConfidential,
        authorize(0, 0),
        REDEEM,
        Op::Revoke {
            token: TokenRef {
                kind: Kind::Refresh,
                index: 0,
            },
            by: Caller::Other(0),
        },
        Op::Revoke {
            token: TokenRef {
                kind: Kind::Access,
                index: 0,
            },
            by: Caller::Other(0),
        },
        Op::Introspect {
            token: TokenRef {
                kind: Kind::Access,
                index: 0,
            },
            by: Caller::Other(0),
        },
        Op::Authenticate { token: 0 },
        Op::Refresh { grant: 0 },
    ]);
    assert_eq!(stats.revocations_without_effect, 2, "{stats:#?}");
    assert!(stats.introspected_inactive >= 1, "{stats:#?}");
    assert_eq!(stats.rotations, 1, "{stats:#?}");
}

#[test]
fn no_response_echoes_a_secret_wherever_a_value_is_replayed() {
    // Two clients of each kind, a grant with props, rotated and live tokens, a denial:
    // then every value seen is replayed at every target, by its owner and another client.
    let mut ops = vec![
        Op::RegisterPublic,
        Op::RegisterConfidential,
        Op::Authorize {
            client: 0,
            user: 0,
            scope: 0b111,
            resource: true,
            narrow: true,
            props: true,
        },
        REDEEM,
        Op::Refresh { grant: 0 },
        Op::Deny { client: 1 },
        Op::Authorize {
            client: 1,
            user: 1,
            scope: 0,
            resource: false,
            narrow: false,
            props: true,
        },
        Op::Redeem {
            code: 0,
            with: Redemption::WrongVerifier,
        },
    ];
    let targets = [
        Target::Code,
        Target::RefreshToken,
        Target::Bearer,
        Target::Introspection,
        Target::Revocation,
        Target::ClientSecret,
    ];
    // Revocations and reuses are part of it: they change which answers are right, and the
    // model follows.
    for value in 0..12 {
        for at in targets {
            for by in [Caller::Owner, Caller::Other(0)] {
                ops.push(Op::Replay { value, at, by });
            }
        }
    }
    let stats = ok(&ops);
    assert_eq!(stats.replays, 12 * 6 * 2, "{stats:#?}");
    assert!(stats.responses_checked > 150, "{stats:#?}");
}

#[test]
fn every_operation_decodes_from_bytes_and_runs() {
    // The fuzz target's path: bytes through the decoder. Every tag, twice, on one
    // growing state.
    let mut bytes = Vec::new();
    for tag in 0..=255u8 {
        bytes.extend_from_slice(&[tag, tag.wrapping_mul(7), tag.wrapping_mul(13)]);
    }
    bytes.extend_from_within(..);
    let ops = Op::decode_all(&bytes);
    assert_eq!(ops.len(), 512);
    run(&ops).unwrap_or_else(|v| panic!("{v}"));
}

// ---- the checker catches what it is meant to catch ----

/// A memory store that acknowledges some revocations without doing them.
fn forgetful(grants: bool, access: bool) -> InstrumentedStore<MemoryStore> {
    let store = InstrumentedStore::new(MemoryStore::new());
    if grants {
        store.ignore(instrumented::Op::RevokeGrant);
    }
    if access {
        store.ignore(instrumented::Op::RevokeAccessToken);
    }
    store
}

/// Applies `ops` on `harness` and returns the first violation.
fn first_violation<S: Store>(mut harness: Harness<S>, ops: &[Op]) -> Violation {
    for op in ops {
        if let Err(violation) = harness.apply(op) {
            return violation;
        }
    }
    match harness.finish() {
        Err(violation) => violation,
        Ok(()) => panic!("no violation found: {:#?}", harness.stats()),
    }
}

#[test]
fn checker_catches_a_code_replay_whose_revocation_silently_failed() {
    let ops = [
        Op::RegisterPublic,
        authorize(0, 0),
        REDEEM,
        Op::RedeemAgain { code: 0 },
    ];
    // The same run passes on an honest store.
    ok(&ops);
    let violation = first_violation(Harness::with_store(forgetful(true, false)), &ops);
    assert_eq!(
        violation.invariant,
        Invariant::ReplayedCodeTokenLive,
        "{violation}"
    );
    assert_eq!(
        violation.step, 4,
        "caught at the replay's own step: {violation}"
    );
}

#[test]
fn checker_catches_a_refresh_reuse_whose_revocation_silently_failed() {
    let ops = [
        Op::RegisterConfidential,
        authorize(0, 0),
        REDEEM,
        Op::Refresh { grant: 0 },
        Op::RefreshRetired { token: 0 },
    ];
    ok(&ops);
    let violation = first_violation(Harness::with_store(forgetful(true, false)), &ops);
    assert_eq!(
        violation.invariant,
        Invariant::RetiredRefreshAccepted,
        "{violation}"
    );
    assert_eq!(violation.step, 5, "{violation}");
}

#[test]
fn checker_catches_an_access_token_revocation_that_silently_failed() {
    let ops = [
        Op::RegisterPublic,
        authorize(0, 0),
        REDEEM,
        Op::Revoke {
            token: TokenRef {
                kind: Kind::Access,
                index: 0,
            },
            by: Caller::Owner,
        },
    ];
    ok(&ops);
    let violation = first_violation(Harness::with_store(forgetful(false, true)), &ops);
    assert_eq!(
        violation.invariant,
        Invariant::DeadTokenAccepted,
        "{violation}"
    );
    assert_eq!(violation.step, 4, "{violation}");
}

#[test]
fn checker_reports_a_store_failure_as_a_server_error() {
    let mut harness = Harness::with_store(InstrumentedStore::new(MemoryStore::new()));
    for op in [Op::RegisterPublic, authorize(0, 0), REDEEM] {
        harness.apply(&op).unwrap();
    }
    harness
        .provider()
        .store()
        .fail(instrumented::Op::RevokeGrant);
    let violation = harness.apply(&Op::RedeemAgain { code: 0 }).unwrap_err();
    assert_eq!(violation.invariant, Invariant::ServerError, "{violation}");
}
