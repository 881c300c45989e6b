//! The Lua scripts, one per atomic operation, run with `EVALSHA`.
//!
//! Each script is `src/lua/common.lua` (key layout and shared steps) followed by the
//! operation's body (`src/lua/<operation>.lua`), behind a Redis 7 shebang: `#!lua` for
//! scripts that write, which the server refuses to start when it is out of memory (so a
//! write script never stops halfway for lack of memory), and `#!lua flags=no-writes` for
//! reads, which may then run on replicas and can never write by mistake.
//!
//! [`redis::Script`] sends `EVALSHA` and falls back to `SCRIPT LOAD` on `NOSCRIPT` (a
//! server restarted or failed over without its script cache): a `NOSCRIPT` answer means
//! the script did not run, so the fallback never runs an operation twice. The store loads
//! every script when it connects, so the fallback is the exception.

use redis::Script;

const COMMON: &str = include_str!("lua/common.lua");

fn write_source(body: &str) -> String {
    format!("#!lua\n{COMMON}\n{body}")
}

fn read_source(body: &str) -> String {
    format!("#!lua flags=no-writes\n{COMMON}\n{body}")
}

/// Compiles a script and keeps its source for `SCRIPT LOAD`.
fn compile(sources: &mut Vec<String>, source: String) -> Script {
    let script = Script::new(&source);
    sources.push(source);
    script
}

/// Every script of the store, compiled once per store.
pub(crate) struct Scripts {
    pub(crate) create_grant_with_code: Script,
    pub(crate) find_code: Script,
    pub(crate) consume_code: Script,
    pub(crate) grants_for_user: Script,
    pub(crate) revoke_grant: Script,
    pub(crate) revoke_user_grants: Script,
    pub(crate) delete_client: Script,
    pub(crate) store_tokens: Script,
    pub(crate) access_token: Script,
    pub(crate) revoke_access_token: Script,
    pub(crate) find_refresh: Script,
    pub(crate) rotate_refresh: Script,
    pub(crate) claim_refresh_grace: Script,
    pub(crate) insert_once: Script,
    pub(crate) purge: Script,
    /// The source of every script, for loading them all when a connection is made.
    pub(crate) sources: Vec<String>,
}

impl Scripts {
    pub(crate) fn new() -> Self {
        let mut src = Vec::new();
        let s = &mut src;
        Scripts {
            create_grant_with_code: compile(
                s,
                write_source(include_str!("lua/create_grant_with_code.lua")),
            ),
            find_code: compile(s, read_source(include_str!("lua/find_code.lua"))),
            consume_code: compile(s, write_source(include_str!("lua/consume_code.lua"))),
            grants_for_user: compile(s, read_source(include_str!("lua/grants_for_user.lua"))),
            revoke_grant: compile(s, write_source(include_str!("lua/revoke_grant.lua"))),
            revoke_user_grants: compile(
                s,
                write_source(include_str!("lua/revoke_user_grants.lua")),
            ),
            delete_client: compile(s, write_source(include_str!("lua/delete_client.lua"))),
            store_tokens: compile(s, write_source(include_str!("lua/store_tokens.lua"))),
            access_token: compile(s, read_source(include_str!("lua/access_token.lua"))),
            revoke_access_token: compile(
                s,
                write_source(include_str!("lua/revoke_access_token.lua")),
            ),
            find_refresh: compile(s, read_source(include_str!("lua/find_refresh.lua"))),
            rotate_refresh: compile(s, write_source(include_str!("lua/rotate_refresh.lua"))),
            claim_refresh_grace: compile(
                s,
                write_source(include_str!("lua/claim_refresh_grace.lua")),
            ),
            insert_once: compile(s, write_source(include_str!("lua/insert_once.lua"))),
            purge: compile(s, write_source(include_str!("lua/purge.lua"))),
            sources: src,
        }
    }
}
