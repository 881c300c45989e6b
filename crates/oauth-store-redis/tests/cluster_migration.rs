//! Cluster: operations on keys of a slot being migrated. The node that owns the slot
//! answers `ASK` for keys it no longer (or does not yet) hold; the store then sends the
//! command to the importing node preceded by `ASKING`, so operations go on during a
//! migration instead of failing (503) until it ends.
//!
//! The test puts one slot in migration (`CLUSTER SETSLOT ... MIGRATING/IMPORTING`) for a
//! few hundred milliseconds and sets it back (`STABLE`) when it ends, pass or fail.

mod common;

use std::time::Duration;

use oauth_core::Store;
use oauth_store_redis::redis;
use oauth_store_testkit::fixtures::{client_id, code_for, user_grant, user_id, NOW};

fn sync_conn(node: &str) -> redis::Connection {
    redis::Client::open(node)
        .unwrap()
        .get_connection_with_timeout(Duration::from_secs(2))
        .unwrap()
}

/// The master that serves `slot`, by the slot map of any node.
fn owner_of(slot: u16) -> String {
    let mut conn = sync_conn(&common::cluster_masters()[0]);
    let shards: Vec<(u16, u16, (String, u16))> = redis::cmd("CLUSTER")
        .arg("SLOTS")
        .query::<Vec<redis::Value>>(&mut conn)
        .unwrap()
        .into_iter()
        .map(|range| {
            let redis::Value::Array(parts) = range else {
                panic!("unexpected CLUSTER SLOTS reply");
            };
            let start: u16 = redis::from_redis_value(&parts[0]).unwrap();
            let end: u16 = redis::from_redis_value(&parts[1]).unwrap();
            let redis::Value::Array(master) = &parts[2] else {
                panic!("unexpected CLUSTER SLOTS reply");
            };
            let host: String = redis::from_redis_value(&master[0]).unwrap();
            let port: u16 = redis::from_redis_value(&master[1]).unwrap();
            (start, end, (host, port))
        })
        .collect();
    let (_, _, (_, port)) = shards
        .into_iter()
        .find(|(start, end, _)| (*start..=*end).contains(&slot))
        .unwrap();
    common::cluster_masters()
        .into_iter()
        .find(|node| node.ends_with(&format!(":{port}")))
        .unwrap()
}

/// Puts back a slot in migration, and removes the test's keys the importing node took
/// meanwhile (they would be unreachable once the slot is stable again).
struct Migration {
    slot: u16,
    source: String,
    target: String,
    prefix: String,
}

impl Migration {
    fn start(slot: u16, source: &str, target: &str, prefix: &str) -> Self {
        let id = |node: &str| -> String {
            redis::cmd("CLUSTER")
                .arg("MYID")
                .query(&mut sync_conn(node))
                .unwrap()
        };
        let (source_id, target_id) = (id(source), id(target));
        let migration = Migration {
            slot,
            source: source.to_owned(),
            target: target.to_owned(),
            prefix: prefix.to_owned(),
        };
        let () = redis::cmd("CLUSTER")
            .arg("SETSLOT")
            .arg(slot)
            .arg("IMPORTING")
            .arg(&source_id)
            .query(&mut sync_conn(target))
            .unwrap();
        let () = redis::cmd("CLUSTER")
            .arg("SETSLOT")
            .arg(slot)
            .arg("MIGRATING")
            .arg(&target_id)
            .query(&mut sync_conn(source))
            .unwrap();
        migration
    }
}

impl Drop for Migration {
    fn drop(&mut self) {
        let mut target = sync_conn(&self.target);
        let keys: Vec<String> = redis::cmd("CLUSTER")
            .arg("GETKEYSINSLOT")
            .arg(self.slot)
            .arg(1000)
            .query(&mut target)
            .unwrap_or_default();
        for key in keys
            .iter()
            .filter(|k| k.starts_with(&format!("{}:", self.prefix)))
        {
            let _: redis::RedisResult<()> = redis::pipe()
                .cmd("ASKING")
                .ignore()
                .cmd("DEL")
                .arg(key)
                .ignore()
                .query(&mut target);
        }
        for node in [&self.source, &self.target] {
            let _: redis::RedisResult<()> = redis::cmd("CLUSTER")
                .arg("SETSLOT")
                .arg(self.slot)
                .arg("STABLE")
                .query(&mut sync_conn(node));
        }
    }
}

#[tokio::test]
async fn operations_on_a_slot_in_migration_follow_ask_to_the_importing_node() {
    let prefix = common::fresh_prefix();
    let _cleanup = common::ClusterCleanup(prefix.clone());
    let store = common::connect_cluster(&prefix).await;
    let grant = user_grant(&user_id(), &client_id());
    let code = code_for(&grant);
    let key = format!("{prefix}:{{g:{}}}:grant", grant.id.as_str());
    let slot: u16 = redis::cmd("CLUSTER")
        .arg("KEYSLOT")
        .arg(&key)
        .query(&mut sync_conn(&common::cluster_masters()[0]))
        .unwrap();
    let source = owner_of(slot);
    let target = common::cluster_masters()
        .into_iter()
        .find(|node| *node != source)
        .unwrap();

    let migration = Migration::start(slot, &source, &target, &prefix);
    // The grant's keys are new: the source answers ASK, the target serves them.
    let created = store.create_grant_with_code(&grant, &code).await;
    let read = store.grant(&grant.id, NOW).await;
    let revoked = store.revoke_grant(&grant.id).await;
    let gone = store.grant(&grant.id, NOW).await;
    drop(migration);
    created.unwrap();
    assert_eq!(read.unwrap(), Some(grant.clone()));
    revoked.unwrap();
    assert_eq!(gone.unwrap(), None);
}
