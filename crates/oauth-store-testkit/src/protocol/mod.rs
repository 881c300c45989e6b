//! A stateful, model-based checker of the whole protocol, shared by a proptest test
//! (`tests/protocol_state_machine.rs`) and the `protocol` cargo-fuzz target.
//!
//! A run is a sequence of [`Op`]s (register clients, authorize and deny, redeem codes
//! validly, with a wrong verifier or by the wrong client, redeem them again, refresh with
//! the latest or a retired token, revoke and introspect tokens, revoke a user's grants,
//! call the resource server, move the clock, replay any value seen anywhere). A
//! [`Harness`] sends each one to a real [`Provider`](oauth_core::Provider) on the memory
//! store through its HTTP-level API (`begin_authorization`/`complete_authorization`,
//! `token`, `revocation`, `introspection`, `authenticate`, `grants_for_user`,
//! `revoke_grant`), keeps a model of everything issued, and after *every* step checks:
//!
//! - **(a)** a code yields tokens at most once; a valid second redemption is refused and
//!   revokes everything the code issued (its tokens stop working at once);
//! - **(b)** no access token authenticates, and introspection says `{"active":false}`,
//!   after its grant was revoked, after it was revoked, or at and after its expiry;
//!   likewise refresh tokens;
//! - **(c)** a rotated refresh token is refused, and its reuse revokes the grant (its
//!   successor stops working);
//! - **(d)** no response (body or header) carries a client secret, a code, a token, a PKCE
//!   verifier or a props secret other than the ones that response issues: errors never
//!   echo what was submitted, introspection never returns the token;
//! - **(e)** no panic, no 5xx and no store error (the memory store never fails);
//! - **(f)** no credential expires after its grant, or works after the grant ended;
//!
//! and that everything else the server answers is what the model predicts (live tokens
//! work, fields are right), so that the safety checks cannot pass vacuously. See
//! [`Invariant`] and [`Harness`].
//!
//! ## Inputs: bytes, decoded
//!
//! Both drivers feed bytes through one decoder, [`Op::decode_all`] (three bytes per
//! operation). The fuzz target passes libFuzzer's input; the proptest test generates
//! vectors of three-byte chunks and decodes them. That is simpler than a second,
//! hand-written proptest `Strategy` for `Op`: the operation mix is defined once (by the
//! tag ranges) for both drivers, no optional dependency or cargo feature is needed (an
//! integration test cannot switch on a feature of its own crate without
//! `required-features`, which would drop it from a plain `cargo test`), and because
//! operations have a fixed width, shrinking the chunk vector removes or simplifies whole
//! operations.
//!
//! ## Determinism
//!
//! The clock starts at [`START`] and moves only by [`Op::Advance`]; the key is fixed and
//! the random source is seeded, so a run is a function of its operations: a failing
//! input reproduces exactly.
//!
//! ```
//! use oauth_store_testkit::protocol::{run, Op, Redemption};
//!
//! let ops = [
//!     Op::RegisterPublic,
//!     Op::Authorize { client: 0, user: 0, scope: 0, resource: false, narrow: false, props: false },
//!     Op::Redeem { code: 0, with: Redemption::Valid },
//!     Op::RedeemAgain { code: 0 },
//!     Op::Authenticate { token: 0 },
//! ];
//! run(&ops).unwrap();
//! ```

mod harness;
mod model;
mod op;
mod report;

use oauth_core::Lifetimes;

pub use harness::Harness;
pub use op::{Caller, Kind, Op, Redemption, Target, TokenRef, ADVANCES};
pub use report::{Invariant, Stats, Violation};

/// The issuer of the provider under test.
pub const ISSUER: &str = "https://as.example";
/// Its one resource: every token's audience, and the resource server of
/// [`Op::Authenticate`].
pub const RESOURCE: &str = "https://api.example/mcp";
/// The redirect URI of every client.
pub const REDIRECT: &str = "https://client.example/cb";
/// The scopes offered (`read` is the default).
pub const SCOPES: [&str; 3] = ["read", "write", "admin"];
/// The users who approve.
pub const USERS: [&str; 3] = ["alice", "bob", "carol"];
/// The harness clock's start (a fixed Unix time).
pub const START: u64 = 1_800_000_000;
/// At most this many clients are registered; further registrations are skipped (more
/// would only dilute the interactions between the ones there are).
pub const MAX_CLIENTS: usize = 6;

/// The lifetimes of the provider under test: short, so that [`ADVANCES`] cross each.
/// Code 60 s, access token 300 s, refresh token of a public client 600 s (renewed at
/// each rotation until the grant ends), of a confidential client 1200 s, grant 1200 s:
/// every confidential refresh token is cut at its grant's end, and so is every access
/// token issued in the grant's last 300 s.
#[must_use]
pub fn lifetimes() -> Lifetimes {
    Lifetimes {
        authorization_code: 60,
        access_token: 300,
        refresh_token: 1200,
        public_refresh_token: 600,
        grant: 1200,
        ticket: 600,
    }
}

/// Runs `ops` on a fresh [`Harness`] (memory store) and the final sweep.
///
/// # Errors
///
/// The first invariant broken.
pub fn run(ops: &[Op]) -> Result<(), Violation> {
    run_counted(ops).map(|_| ())
}

/// [`run`], returning what the run observed (for tests that must show the checks saw
/// the events they are about).
///
/// # Errors
///
/// The first invariant broken.
pub fn run_counted(ops: &[Op]) -> Result<Stats, Violation> {
    let mut harness = Harness::new();
    for op in ops {
        harness.apply(op)?;
    }
    harness.finish()?;
    Ok(harness.stats().clone())
}
