//! OAuth 2.1 §4.1.3 through the provider on the fault-injecting backend: when the store
//! fails (commit errors, conflicts beyond the retry bound) the token endpoint answers 503
//! `temporarily_unavailable` and no token exists; with the faults gone the same code
//! redeems normally.

mod common;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use common::FaultyKv;
use http::StatusCode;
use oauth_core::{Clock, Provider, UnixTime};
use oauth_store_kv::KvStore;
use oauth_store_testkit::flow;

#[derive(Debug)]
struct FixedClock(UnixTime);

impl Clock for FixedClock {
    fn now(&self) -> UnixTime {
        self.0
    }
}

/// A provider on the fault-injecting backend (the testkit's `flow` provider, at a fixed
/// time) and one public client.
struct Harness {
    kv: Arc<FaultyKv>,
    provider: Provider<KvStore<Arc<FaultyKv>>>,
    client_id: String,
}

impl Harness {
    async fn new() -> Self {
        let kv = FaultyKv::new();
        let store = KvStore::new(kv.clone()).unwrap();
        let clock = Arc::new(FixedClock(UnixTime(1_800_000_000)));
        let provider = flow::provider(store, Some(clock));
        let client_id = flow::public_client(&provider).await;
        Harness {
            kv,
            provider,
            client_id,
        }
    }

    async fn code(&self) -> String {
        flow::obtain_code(&self.provider, &self.client_id).await
    }

    async fn exchange(&self, code: &str) -> (StatusCode, serde_json::Value) {
        let request = flow::code_exchange_request(&self.client_id, code);
        let response = self.provider.token(&request).await;
        let body = serde_json::from_slice(response.body()).unwrap();
        (response.status(), body)
    }

    fn tokens_stored(&self) -> usize {
        self.kv.keys_under("oauth/at/").len() + self.kv.keys_under("oauth/rt/").len()
    }
}

fn assert_unavailable(status: StatusCode, body: &serde_json::Value) {
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"], "temporarily_unavailable");
    assert!(body.get("access_token").is_none());
    assert!(body.get("refresh_token").is_none());
}

#[tokio::test]
async fn a_failing_commit_answers_503_and_issues_no_token() {
    let h = Harness::new().await;
    let code = h.code().await;
    h.kv.fail_commits.store(1, Ordering::SeqCst);
    let (status, body) = h.exchange(&code).await;
    assert_unavailable(status, &body);
    assert_eq!(h.tokens_stored(), 0);

    // The code was not consumed: the client's retry succeeds.
    let (status, body) = h.exchange(&code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["access_token"].is_string());
    assert_eq!(h.tokens_stored(), 2);
}

#[tokio::test]
async fn conflicts_beyond_the_retry_bound_answer_503_and_issue_no_token() {
    let h = Harness::new().await;
    let code = h.code().await;
    h.kv.always_conflict.store(true, Ordering::SeqCst);
    let (status, body) = h.exchange(&code).await;
    assert_unavailable(status, &body);
    assert_eq!(h.tokens_stored(), 0);
    h.kv.always_conflict.store(false, Ordering::SeqCst);
    let (status, _) = h.exchange(&code).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_failing_read_answers_503() {
    let h = Harness::new().await;
    let code = h.code().await;
    h.kv.fail_reads.store(1, Ordering::SeqCst);
    let (status, body) = h.exchange(&code).await;
    assert_unavailable(status, &body);
    assert_eq!(h.tokens_stored(), 0);
}

#[tokio::test]
async fn a_lost_reply_answers_503_and_the_code_is_not_redeemed_twice() {
    let h = Harness::new().await;
    let code = h.code().await;
    h.kv.fail_after_commit.store(1, Ordering::SeqCst);
    let (status, body) = h.exchange(&code).await;
    assert_unavailable(status, &body);
    assert_eq!(
        h.tokens_stored(),
        2,
        "the lost redemption did commit its tokens"
    );
    // The retry is a replay (invalid_grant), never a second set of tokens, and the
    // replay revokes the grant with the lost redemption's tokens (OAuth 2.1 §4.1.3).
    let (status, body) = h.exchange(&code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(h.tokens_stored(), 0, "{:?}", h.kv.keys_under(""));
    assert!(
        h.kv.keys_under("oauth/g/").is_empty(),
        "the grant is revoked"
    );
}
