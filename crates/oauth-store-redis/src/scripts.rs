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
//!
//! With the `cluster` feature there is a second set, [`ClusterScripts`], for a Redis
//! Cluster: `src/lua/common.lua`, then `src/lua/cluster/common.lua` (slot-local steps),
//! then the body from `src/lua/cluster/`. Each of them touches the keys of one hash slot
//! only (the slot of its `KEYS[1]`), which the cluster enforces: a script that strayed
//! would fail rather than run.

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

#[cfg(feature = "cluster")]
const CLUSTER_COMMON: &str = include_str!("lua/cluster/common.lua");

#[cfg(feature = "cluster")]
fn cluster_write(body: &str) -> String {
    format!("#!lua\n{COMMON}\n{CLUSTER_COMMON}\n{body}")
}

#[cfg(feature = "cluster")]
fn cluster_read(body: &str) -> String {
    format!("#!lua flags=no-writes\n{COMMON}\n{CLUSTER_COMMON}\n{body}")
}

/// The single-slot scripts of cluster mode (see `crate::cluster`).
#[cfg(feature = "cluster")]
pub(crate) struct ClusterScripts {
    pub(crate) create_grant_with_code: Script,
    pub(crate) find_code: Script,
    pub(crate) consume_code: Script,
    pub(crate) store_tokens: Script,
    pub(crate) access_token: Script,
    pub(crate) revoke_access_token: Script,
    pub(crate) find_refresh: Script,
    pub(crate) rotate_refresh: Script,
    pub(crate) claim_refresh_grace: Script,
    pub(crate) revoke_grant: Script,
    pub(crate) purge: Script,
    pub(crate) once_insert: Script,
    pub(crate) once_purge: Script,
    pub(crate) pointer_del: Script,
    pub(crate) index_add: Script,
    pub(crate) index_remove: Script,
    pub(crate) index_list: Script,
    pub(crate) delete_client_record: Script,
    pub(crate) expiry_hint: Script,
    pub(crate) expiry_settle: Script,
    /// The source of every cluster script, for loading them on every node.
    pub(crate) sources: Vec<String>,
}

#[cfg(feature = "cluster")]
impl ClusterScripts {
    pub(crate) fn new() -> Self {
        let mut src = Vec::new();
        let s = &mut src;
        ClusterScripts {
            create_grant_with_code: compile(
                s,
                cluster_write(include_str!("lua/cluster/g_create_grant_with_code.lua")),
            ),
            find_code: compile(s, cluster_read(include_str!("lua/cluster/g_find_code.lua"))),
            consume_code: compile(
                s,
                cluster_write(include_str!("lua/cluster/g_consume_code.lua")),
            ),
            store_tokens: compile(
                s,
                cluster_write(include_str!("lua/cluster/g_store_tokens.lua")),
            ),
            access_token: compile(
                s,
                cluster_read(include_str!("lua/cluster/g_access_token.lua")),
            ),
            revoke_access_token: compile(
                s,
                cluster_write(include_str!("lua/cluster/g_revoke_access_token.lua")),
            ),
            find_refresh: compile(
                s,
                cluster_read(include_str!("lua/cluster/g_find_refresh.lua")),
            ),
            rotate_refresh: compile(
                s,
                cluster_write(include_str!("lua/cluster/g_rotate_refresh.lua")),
            ),
            claim_refresh_grace: compile(
                s,
                cluster_write(include_str!("lua/cluster/g_claim_refresh_grace.lua")),
            ),
            revoke_grant: compile(
                s,
                cluster_write(include_str!("lua/cluster/g_revoke_grant.lua")),
            ),
            purge: compile(s, cluster_write(include_str!("lua/cluster/g_purge.lua"))),
            once_insert: compile(
                s,
                cluster_write(include_str!("lua/cluster/once_insert.lua")),
            ),
            once_purge: compile(s, cluster_write(include_str!("lua/cluster/once_purge.lua"))),
            pointer_del: compile(
                s,
                cluster_write(include_str!("lua/cluster/pointer_del.lua")),
            ),
            index_add: compile(s, cluster_write(include_str!("lua/cluster/index_add.lua"))),
            index_remove: compile(
                s,
                cluster_write(include_str!("lua/cluster/index_remove.lua")),
            ),
            index_list: compile(s, cluster_read(include_str!("lua/cluster/index_list.lua"))),
            delete_client_record: compile(
                s,
                cluster_write(include_str!("lua/cluster/delete_client_record.lua")),
            ),
            expiry_hint: compile(
                s,
                cluster_write(include_str!("lua/cluster/expiry_hint.lua")),
            ),
            expiry_settle: compile(
                s,
                cluster_write(include_str!("lua/cluster/expiry_settle.lua")),
            ),
            sources: src,
        }
    }
}

/// Every script of the store, compiled once per store.
pub(crate) struct Scripts {
    pub(crate) create_grant_with_code: Script,
    pub(crate) find_code: Script,
    pub(crate) client_and_code: Script,
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
    /// The single-slot scripts of cluster mode.
    #[cfg(feature = "cluster")]
    pub(crate) cluster: ClusterScripts,
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
            client_and_code: compile(s, read_source(include_str!("lua/client_and_code.lua"))),
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
            #[cfg(feature = "cluster")]
            cluster: ClusterScripts::new(),
        }
    }
}
