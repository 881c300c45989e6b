//! The harness: a [`Provider`] on a store with a manual clock, the model of what it
//! issued, and the checks run after every step.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use http::{Request, StatusCode};
use oauth_core::model::{GrantType, UserId};
use oauth_core::response::HttpResponse;
use oauth_core::{
    Approval, AuthorizationError, Clock, Decision, Issuer, KeyId, Keyring, NewClient, Provider,
    RandomError, Reason, RegistrationError, Scope, SecureRandom, Store, UnixTime,
};
use oauth_store_memory::MemoryStore;
use serde_json::{json, Value};

use super::model::{
    newest, AccessM, ClientM, CodeM, CodeState, GrantM, Model, RefreshM, RevokedBy, Seen, Snapshot,
    Status,
};
use super::op::{Caller, Kind, Op, Redemption, Target};
use super::report::{Invariant, Stats, Violation};
use super::{lifetimes, ISSUER, MAX_CLIENTS, REDIRECT, RESOURCE, SCOPES, START, USERS};

/// The `client_id` of requests from a client that does not exist.
const UNREGISTERED: &str = "unregistered-client";

/// A clock the harness moves by hand.
#[derive(Debug)]
struct ManualClock(AtomicU64);

impl Clock for ManualClock {
    fn now(&self) -> UnixTime {
        UnixTime(self.0.load(Ordering::SeqCst))
    }
}

/// A deterministic random source (SplitMix64), so that a run is reproducible from its
/// operations alone: the same input draws the same codes and tokens.
#[derive(Debug)]
struct SeededRandom(Mutex<u64>);

impl SecureRandom for SeededRandom {
    fn fill(&self, dest: &mut [u8]) -> Result<(), RandomError> {
        let mut state = self.0.lock().map_err(|_| RandomError)?;
        for chunk in dest.chunks_mut(8) {
            *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = *state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
        }
        Ok(())
    }
}

/// Runs operations against a real [`Provider`] through its HTTP-level API and checks the
/// protocol's invariants after every step against a model of what was issued.
///
/// The provider has the issuer [`ISSUER`], one resource [`RESOURCE`], the scopes
/// [`SCOPES`] (default `read`), the short [`lifetimes`] (so a few clock steps cross every
/// expiry), a fixed key, a seeded random source and a manual clock starting at
/// [`START`]. Refresh-token grace is off (the default): every reuse is a reuse.
///
/// After each operation the harness
/// - compares every answer with the model's prediction (status, error code, token
///   fields, `expires_in`, introspection fields, the bearer [`Access`](oauth_core::Access)),
/// - probes every credential whose usability the step changed: an access token at the
///   resource server, a refresh token by introspection (confidential owner) or, when it
///   died other than by rotation, at the token endpoint; a code that died unredeemed at
///   the token endpoint (all of these are side-effect free when the server is right),
/// - compares `grants_for_user` of every user with the model,
/// - searches every response (body and headers) for every secret seen so far except the
///   ones that response issues.
///
/// See [`Invariant`] for what is reported.
pub struct Harness<S: Store = MemoryStore> {
    runtime: tokio::runtime::Runtime,
    driver: Driver<S>,
}

impl std::fmt::Debug for Harness<MemoryStore> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Harness")
            .field("step", &self.driver.step)
            .field("stats", &self.driver.stats)
            .finish_non_exhaustive()
    }
}

impl Harness<MemoryStore> {
    /// A harness on a fresh [`MemoryStore`].
    #[must_use]
    pub fn new() -> Self {
        Self::with_store(MemoryStore::new())
    }
}

impl Default for Harness<MemoryStore> {
    fn default() -> Self {
        Self::new()
    }
}

impl<S: Store> Harness<S> {
    /// A harness on `store`, which must be empty (and, to pass, must never fail: a store
    /// error is a violation). Wrapping a store lets a test prove that the checks catch a
    /// misbehaving one.
    ///
    /// # Panics
    ///
    /// If the current-thread tokio runtime cannot be built.
    pub fn with_store(store: S) -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime");
        let clock = Arc::new(ManualClock(AtomicU64::new(START)));
        // A fresh server secret per harness (never a constant); runs stay reproducible,
        // since every credential comes from the seeded random source below.
        let mut secret = [0u8; 32];
        oauth_core::OsRandom.fill(&mut secret).unwrap();
        let keyring = Keyring::from_secret(KeyId::new("protocol").unwrap(), &secret).unwrap();
        let provider = Provider::builder(Issuer::new(ISSUER).unwrap())
            .keys(keyring)
            .random(Arc::new(SeededRandom(Mutex::new(0x0a11_2026))))
            .clock(clock.clone())
            .scopes(SCOPES)
            .default_scope(["read"])
            .resource(RESOURCE)
            .lifetimes(lifetimes())
            .store(store)
            .build()
            .expect("the protocol harness configuration is valid");
        Harness {
            runtime,
            driver: Driver {
                provider,
                clock,
                model: Model::starting_at(START),
                stats: Stats::default(),
                step: 0,
                op: None,
                counter: 0,
            },
        }
    }

    /// Applies one operation and checks every invariant afterwards.
    ///
    /// # Errors
    ///
    /// The first invariant the step broke.
    pub fn apply(&mut self, op: &Op) -> Result<(), Violation> {
        let Harness { runtime, driver } = self;
        runtime.block_on(driver.apply(*op))
    }

    /// The final sweep: every access token at the resource server, every refresh token of
    /// a confidential client by introspection, every user's grants.
    ///
    /// # Errors
    ///
    /// The first invariant found broken.
    pub fn finish(&mut self) -> Result<(), Violation> {
        let Harness { runtime, driver } = self;
        runtime.block_on(driver.sweep())
    }

    /// What the run observed so far.
    #[must_use]
    pub fn stats(&self) -> &Stats {
        &self.driver.stats
    }

    /// The provider under test (for its store, to inject faults).
    #[must_use]
    pub fn provider(&self) -> &Provider<S> {
        &self.driver.provider
    }

    /// The harness's current time.
    #[must_use]
    pub fn now(&self) -> UnixTime {
        self.driver.clock.now()
    }
}

/// Who sends a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Client(usize),
    Unregistered,
}

/// What the model predicts of a token request.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// Tokens, from this code or refresh token.
    Issue(Source),
    /// `invalid_grant`, nothing changes; accepting it breaks the invariant.
    Refuse(Invariant),
    /// `invalid_grant`, and the grant is revoked.
    Revoke(usize, RevokedBy),
    /// `invalid_client`, nothing changes.
    BadClient,
}

#[derive(Clone, Copy, Debug)]
enum Source {
    Code(usize),
    Refresh(usize),
}

/// What a token request did (as predicted: a mismatch is a violation already).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Issued,
    Refused,
    Revoked,
    ClientRefused,
}

/// The `n`-th index counted from the newest, modulo `len`.
fn newest_index(len: usize, n: u8) -> Option<usize> {
    (len > 0).then(|| len - 1 - usize::from(n) % len)
}

/// An index of [`Op`]: below 128, among the `usable` candidates (all of them if none
/// is usable); from 128, among all `candidates`.
fn choose(n: u8, candidates: &[usize], usable: impl Fn(usize) -> bool) -> Option<usize> {
    let live: Vec<usize> = candidates.iter().copied().filter(|c| usable(*c)).collect();
    if n < 128 && !live.is_empty() {
        newest(&live, n)
    } else {
        newest(candidates, n & 0x7f)
    }
}

fn form(pairs: &[(&str, String)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str())))
        .finish()
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))` (OAuth 2.1 §2.4.1).
fn basic_header(id: &str, secret: &str) -> String {
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "Basic {}",
        STANDARD.encode(format!("{}:{}", encode(id), encode(secret)))
    )
}

fn post(path: &str, pairs: &[(&str, String)], basic: Option<(&str, &str)>) -> Request<Vec<u8>> {
    let mut builder = Request::post(format!("{ISSUER}{path}"))
        .header("content-type", "application/x-www-form-urlencoded");
    if let Some((id, secret)) = basic {
        builder = builder.header("authorization", basic_header(id, secret));
    }
    builder.body(form(pairs).into_bytes()).unwrap()
}

fn json_of(response: &HttpResponse) -> Value {
    serde_json::from_slice(response.body()).unwrap_or(Value::Null)
}

fn scope_set(scope: &str) -> BTreeSet<String> {
    scope
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn scope_of(scope: &Scope) -> BTreeSet<String> {
    scope.iter().map(str::to_owned).collect()
}

fn body_text(response: &HttpResponse) -> String {
    format!(
        "{} {}",
        response.status(),
        String::from_utf8_lossy(response.body())
    )
}

struct Driver<S> {
    provider: Provider<S>,
    clock: Arc<ManualClock>,
    model: Model,
    stats: Stats,
    step: usize,
    op: Option<Op>,
    /// Numbers verifiers, wrong verifiers and props secrets.
    counter: u64,
}

impl<S: Store> Driver<S> {
    fn fail<T>(&self, invariant: Invariant, detail: impl Into<String>) -> Result<T, Violation> {
        Err(Violation {
            step: self.step,
            op: self.op,
            invariant,
            detail: detail.into(),
        })
    }

    fn mismatch<T>(&self, detail: impl Into<String>) -> Result<T, Violation> {
        self.fail(Invariant::ModelMismatch, detail)
    }

    fn next(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    async fn apply(&mut self, op: Op) -> Result<(), Violation> {
        self.step += 1;
        self.op = Some(op);
        self.stats.steps += 1;
        let before = self.model.snapshot();
        let ran = match op {
            Op::RegisterPublic => self.register(false).await?,
            Op::RegisterConfidential => self.register(true).await?,
            Op::Authorize {
                client,
                user,
                scope,
                resource,
                narrow,
                props,
            } => {
                self.authorize(client, user, scope, resource, narrow, props)
                    .await?
            }
            Op::Deny { client } => self.deny(client).await?,
            Op::Redeem { code, with } => self.redeem_op(code, with).await?,
            Op::RedeemAgain { code } => {
                let redeemed: Vec<usize> = (0..self.model.codes.len())
                    .filter(|i| self.model.codes[*i].redeemed)
                    .collect();
                let used = |i| self.model.code_state(i) == CodeState::Used;
                match choose(code, &redeemed, used) {
                    Some(i) => {
                        let c = &self.model.codes[i];
                        let (value, verifier, owner) =
                            (c.value.clone(), c.verifier.clone(), c.client);
                        self.redeem(&value, Some(i), Who::Client(owner), &verifier)
                            .await?;
                        true
                    }
                    None => false,
                }
            }
            Op::Refresh { grant } => {
                let chains: Vec<usize> = self
                    .model
                    .grants
                    .iter()
                    .filter_map(|g| g.latest_refresh)
                    .collect();
                let live = |r| self.model.refresh_status(r).is_live();
                match choose(grant, &chains, live) {
                    Some(r) => {
                        let (value, owner) = self.refresh_parts(r);
                        self.refresh(&value, Some(r), Who::Client(owner)).await?;
                        true
                    }
                    None => false,
                }
            }
            Op::RefreshRetired { token } => {
                let retired: Vec<usize> = (0..self.model.refresh.len())
                    .filter(|r| self.model.refresh[*r].retired)
                    .collect();
                let tombstoned = |r| self.model.refresh_tombstoned(r);
                match choose(token, &retired, tombstoned) {
                    Some(r) => {
                        let (value, owner) = self.refresh_parts(r);
                        self.refresh(&value, Some(r), Who::Client(owner)).await?;
                        true
                    }
                    None => false,
                }
            }
            Op::Revoke { token, by } => match self.pick(token.kind, token.index) {
                Some((value, owner, index)) => {
                    let who = self.resolve(by, Some(owner));
                    self.revoke(&value, Some((token.kind, index)), who).await?;
                    true
                }
                None => false,
            },
            Op::Introspect { token, by } => match self.pick(token.kind, token.index) {
                Some((value, owner, index)) => {
                    let who = self.resolve(by, Some(owner));
                    self.introspect(&value, Some((token.kind, index)), who)
                        .await?;
                    true
                }
                None => false,
            },
            Op::RevokeUserGrants { user } => {
                self.revoke_user_grants(usize::from(user) % USERS.len())
                    .await?;
                true
            }
            Op::Authenticate { token } => {
                let all: Vec<usize> = (0..self.model.access.len()).collect();
                match choose(token, &all, |i| self.model.access_status(i).is_live()) {
                    Some(i) => {
                        let value = self.model.access[i].value.clone();
                        self.bearer(&value, Some(i)).await?;
                        true
                    }
                    None => false,
                }
            }
            Op::Advance { seconds } => {
                self.clock.0.fetch_add(seconds, Ordering::SeqCst);
                self.model.now += seconds;
                true
            }
            Op::Replay { value, at, by } => self.replay(value, at, by).await?,
        };
        if !ran {
            self.stats.skipped += 1;
        }
        self.probe_changes(&before).await?;
        self.check_grant_listings().await
    }

    // ---- resolving choices ----

    fn refresh_parts(&self, r: usize) -> (String, usize) {
        let token = &self.model.refresh[r];
        (token.value.clone(), token.client)
    }

    /// A token of `kind` (see [`Op`]): (value, owner, index).
    fn pick(&self, kind: Kind, n: u8) -> Option<(String, usize, usize)> {
        match kind {
            Kind::Access => {
                let all: Vec<usize> = (0..self.model.access.len()).collect();
                choose(n, &all, |i| self.model.access_status(i).is_live()).map(|i| {
                    let a = &self.model.access[i];
                    (a.value.clone(), a.client, i)
                })
            }
            Kind::Refresh => {
                let all: Vec<usize> = (0..self.model.refresh.len()).collect();
                choose(n, &all, |r| self.model.refresh_status(r).is_live()).map(|r| {
                    let t = &self.model.refresh[r];
                    (t.value.clone(), t.client, r)
                })
            }
        }
    }

    fn resolve(&self, by: Caller, owner: Option<usize>) -> Who {
        let clients = self.model.clients.len();
        match (by, owner) {
            (Caller::Owner, Some(owner)) => Who::Client(owner),
            (Caller::Owner, None) => {
                newest_index(clients, 0).map_or(Who::Unregistered, Who::Client)
            }
            (Caller::Other(n), None) => {
                newest_index(clients, n).map_or(Who::Unregistered, Who::Client)
            }
            (Caller::Other(n), Some(owner)) => {
                let others: Vec<usize> = (0..clients).filter(|c| *c != owner).collect();
                newest(&others, n).map_or(Who::Unregistered, Who::Client)
            }
        }
    }

    /// The request to `path` with `pairs`, authenticated as `who` (public clients by
    /// `client_id`, confidential ones by HTTP Basic).
    fn request_as(&self, path: &str, mut pairs: Vec<(&str, String)>, who: Who) -> Request<Vec<u8>> {
        match who {
            Who::Client(c) => {
                let client = &self.model.clients[c];
                match &client.secret {
                    None => {
                        pairs.push(("client_id", client.id.clone()));
                        post(path, &pairs, None)
                    }
                    Some(secret) => post(path, &pairs, Some((&client.id, secret))),
                }
            }
            Who::Unregistered => {
                pairs.push(("client_id", UNREGISTERED.to_owned()));
                post(path, &pairs, None)
            }
        }
    }

    // ---- response checks ----

    /// No 5xx, and no secret seen so far in the body or a header, except `allowed` (the
    /// values this response issues).
    fn check_response(
        &mut self,
        context: &str,
        response: &HttpResponse,
        allowed: &[&str],
    ) -> Result<(), Violation> {
        self.stats.responses_checked += 1;
        if response.status().is_server_error() {
            return self.fail(
                Invariant::ServerError,
                format!("{context}: {}", body_text(response)),
            );
        }
        let mut text = response.body().to_vec();
        for (name, value) in response.headers() {
            text.push(b'\n');
            text.extend_from_slice(name.as_str().as_bytes());
            text.extend_from_slice(b": ");
            text.extend_from_slice(value.as_bytes());
        }
        if let Some(seen) = self.model.find_seen_in(&text, allowed) {
            return self.fail(
                Invariant::SecretLeaked,
                format!(
                    "{context}: the response carries a {:?} ({}): {}",
                    seen.what,
                    seen.value,
                    String::from_utf8_lossy(&text)
                ),
            );
        }
        Ok(())
    }

    fn check_no_store(&self, context: &str, response: &HttpResponse) -> Result<(), Violation> {
        match response.headers().get("cache-control") {
            Some(value) if value == "no-store" => Ok(()),
            other => self.mismatch(format!("{context}: Cache-Control {other:?}, not no-store")),
        }
    }

    fn check_error(
        &self,
        context: &str,
        response: &HttpResponse,
        statuses: &[StatusCode],
        error: &str,
    ) -> Result<(), Violation> {
        let body = json_of(response);
        if !statuses.contains(&response.status()) || body["error"] != error {
            return self.mismatch(format!(
                "{context}: expected {error} ({statuses:?}), got {}",
                body_text(response)
            ));
        }
        Ok(())
    }

    // ---- registration and authorization ----

    async fn register(&mut self, confidential: bool) -> Result<bool, Violation> {
        if self.model.clients.len() >= MAX_CLIENTS {
            return Ok(false);
        }
        let new = if confidential {
            NewClient::confidential(
                vec![REDIRECT.to_owned()],
                vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            )
        } else {
            NewClient::public(vec![REDIRECT.to_owned()])
        };
        let registered = match self.provider.register_client(new).await {
            Ok(registered) => registered,
            Err(RegistrationError::Store(e)) => {
                return self.fail(Invariant::ServerError, format!("registration: {e}"))
            }
            Err(e) => return self.mismatch(format!("registration refused: {e}")),
        };
        let secret = registered.secret.map(|s| s.expose().to_owned());
        if confidential != secret.is_some() {
            return self.mismatch("a confidential client gets a secret, a public one none");
        }
        let index = self.model.clients.len();
        if let Some(secret) = &secret {
            if self.model.is_seen(secret) {
                return self.mismatch("a client secret was drawn twice");
            }
            self.model.see(secret, Seen::ClientSecret(index));
        }
        self.model.clients.push(ClientM {
            id: registered.client.id.as_str().to_owned(),
            secret,
        });
        self.stats.clients += 1;
        Ok(true)
    }

    /// The client `n` (newest first); without any client, registers one first (public
    /// for an even `n`, confidential for an odd one).
    async fn some_client(&mut self, n: u8) -> Result<usize, Violation> {
        if self.model.clients.is_empty() {
            self.register(n % 2 == 1).await?;
        }
        Ok(newest_index(self.model.clients.len(), n).unwrap_or_default())
    }

    fn authorization_failed<T>(
        &self,
        stage: &str,
        error: &AuthorizationError,
    ) -> Result<T, Violation> {
        match error.reason() {
            Some(Reason::StoreUnavailable | Reason::InternalFailure) => {
                self.fail(Invariant::ServerError, format!("{stage}: {error:?}"))
            }
            _ => self.mismatch(format!("{stage}: {error:?}")),
        }
    }

    /// `begin_authorization` for client `c` with a fresh verifier: (pending, verifier).
    async fn begin(
        &mut self,
        c: usize,
        scope: Option<&BTreeSet<String>>,
        resource: bool,
    ) -> Result<(oauth_core::PendingAuthorization, String), Violation> {
        let verifier = format!("verifier-{:040}", self.next());
        let mut pairs = vec![
            ("response_type", "code".to_owned()),
            ("client_id", self.model.clients[c].id.clone()),
            ("redirect_uri", REDIRECT.to_owned()),
            ("state", "xyz".to_owned()),
            ("code_challenge", oauth_core::pkce::s256(&verifier)),
            ("code_challenge_method", "S256".to_owned()),
        ];
        if let Some(scope) = scope {
            pairs.push(("scope", scope.iter().cloned().collect::<Vec<_>>().join(" ")));
        }
        if resource {
            pairs.push(("resource", RESOURCE.to_owned()));
        }
        let request = Request::get(format!("{ISSUER}/authorize?{}", form(&pairs)))
            .body(Vec::new())
            .unwrap();
        match self.provider.begin_authorization(&request).await {
            Ok(pending) => Ok((pending, verifier)),
            Err(e) => self.authorization_failed("begin_authorization", &e),
        }
    }

    async fn authorize(
        &mut self,
        client: u8,
        user: u8,
        scope_bits: u8,
        resource: bool,
        narrow: bool,
        props: bool,
    ) -> Result<bool, Violation> {
        let c = self.some_client(client).await?;
        let user = usize::from(user) % USERS.len();
        let requested: BTreeSet<String> = SCOPES
            .iter()
            .enumerate()
            .filter(|(bit, _)| scope_bits & (1 << bit) != 0)
            .map(|(_, s)| (*s).to_owned())
            .collect();
        let (pending, verifier) = self
            .begin(c, (!requested.is_empty()).then_some(&requested), resource)
            .await?;
        let requested = if requested.is_empty() {
            BTreeSet::from(["read".to_owned()])
        } else {
            requested
        };
        if scope_of(pending.scope()) != requested {
            return self.mismatch(format!(
                "pending scope {:?}, requested {requested:?}",
                pending.scope()
            ));
        }
        let approved: BTreeSet<String> = if narrow {
            requested.iter().take(1).cloned().collect()
        } else {
            requested
        };
        let mut approval = Approval::new(UserId::new(USERS[user]));
        if narrow {
            approval.scope = Some(Scope::from_tokens(approved.iter().cloned()).unwrap());
        }
        let props = props.then(|| {
            let secret = format!("props-secret-{:030}", self.next());
            self.model.see(&secret, Seen::PropsSecret);
            json!({ "upstream_token": secret })
        });
        approval.props = props.clone();
        let response = match self
            .provider
            .complete_authorization(pending, Decision::Approve(approval))
            .await
        {
            Ok(response) => response,
            Err(e) => return self.authorization_failed("complete_authorization", &e),
        };
        let params = self.redirect_params("approval", &response)?;
        let Some(code) = params
            .iter()
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.clone())
        else {
            return self.mismatch(format!("approval without a code: {params:?}"));
        };
        if self.model.is_seen(&code) {
            return self.mismatch("a code was issued twice");
        }
        self.check_response("approval", &response, &[&code])?;

        // The grant the approval created: the one new grant of the user.
        let listed = match self
            .provider
            .grants_for_user(&UserId::new(USERS[user]))
            .await
        {
            Ok(listed) => listed,
            Err(e) => return self.fail(Invariant::ServerError, format!("grants_for_user: {e}")),
        };
        let new: Vec<_> = listed
            .iter()
            .filter(|g| self.model.grant_by_id(g.id.as_str()).is_none())
            .collect();
        let [grant] = new.as_slice() else {
            return self.mismatch(format!("{} new grants after one approval", new.len()));
        };
        let now = self.model.now;
        let life = lifetimes();
        if grant.client_id.as_str() != self.model.clients[c].id
            || grant.expires_at != UnixTime(now + life.grant)
            || scope_of(&grant.scope) != approved
        {
            return self.mismatch(format!("the new grant {grant:?}"));
        }
        let g = self.model.grants.len();
        self.model.add_grant(GrantM {
            id: grant.id.clone(),
            user,
            client: c,
            scope: approved,
            props,
            expires_at: now + life.grant,
            revoked: None,
            latest_refresh: None,
        });
        let i = self.model.codes.len();
        self.model.see(&code, Seen::Code(i));
        self.model.see(&verifier, Seen::Verifier);
        self.model.codes.push(CodeM {
            value: code,
            verifier,
            client: c,
            grant: g,
            expires_at: (now + life.authorization_code).min(now + life.grant),
            redeemed: false,
        });
        self.stats.codes_issued += 1;
        Ok(true)
    }

    /// The query of a redirect's `Location`, after checking the status, `state` and `iss`.
    fn redirect_params(
        &self,
        context: &str,
        response: &HttpResponse,
    ) -> Result<Vec<(String, String)>, Violation> {
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| url::Url::parse(v).ok());
        let Some(location) = location.filter(|_| response.status() == StatusCode::SEE_OTHER) else {
            return self.mismatch(format!("{context}: no redirect: {response:?}"));
        };
        if !location.as_str().starts_with(REDIRECT) {
            return self.mismatch(format!("{context}: redirected to {location}"));
        }
        let params: Vec<(String, String)> = location.query_pairs().into_owned().collect();
        let has = |k: &str, v: &str| params.iter().any(|(a, b)| a == k && b == v);
        if !has("state", "xyz") || !has("iss", ISSUER) {
            return self.mismatch(format!("{context}: state or iss missing: {params:?}"));
        }
        Ok(params)
    }

    async fn deny(&mut self, client: u8) -> Result<bool, Violation> {
        let c = self.some_client(client).await?;
        let (pending, verifier) = self.begin(c, None, false).await?;
        self.model.see(&verifier, Seen::Verifier);
        let redirect = match self
            .provider
            .complete_authorization(pending, Decision::Deny)
            .await
        {
            Err(AuthorizationError::Redirect(redirect))
                if redirect.reason() == Reason::UserDenied =>
            {
                redirect
            }
            Err(e) => return self.authorization_failed("denial", &e),
            Ok(response) => return self.mismatch(format!("a denial answered {response:?}")),
        };
        let response = redirect.into_response(&UserId::new(USERS[0]));
        let params = self.redirect_params("denial", &response)?;
        if params.iter().any(|(k, _)| k == "code")
            || !params
                .iter()
                .any(|(k, v)| k == "error" && v == "access_denied")
        {
            return self.mismatch(format!("denial redirect {params:?}"));
        }
        self.check_response("denial", &response, &[])?;
        self.stats.denials += 1;
        Ok(true)
    }

    // ---- the token endpoint ----

    async fn redeem_op(&mut self, code: u8, with: Redemption) -> Result<bool, Violation> {
        let all: Vec<usize> = (0..self.model.codes.len()).collect();
        let active = |i| self.model.code_state(i) == CodeState::Active;
        let Some(i) = choose(code, &all, active) else {
            return Ok(false);
        };
        let c = &self.model.codes[i];
        let (value, verifier, owner) = (c.value.clone(), c.verifier.clone(), c.client);
        match with {
            Redemption::Valid => {
                self.redeem(&value, Some(i), Who::Client(owner), &verifier)
                    .await?;
            }
            Redemption::WrongVerifier => {
                let wrong = format!("wrong-verifier-{:040}", self.next());
                self.model.see(&wrong, Seen::Verifier);
                self.redeem(&value, Some(i), Who::Client(owner), &wrong)
                    .await?;
            }
            Redemption::WrongClient => {
                let who = self.resolve(Caller::Other(0), Some(owner));
                self.redeem(&value, Some(i), who, &verifier).await?;
            }
        }
        Ok(true)
    }

    /// Presents `value` as a code (the model's code `code`, if it is one).
    async fn redeem(
        &mut self,
        value: &str,
        code: Option<usize>,
        who: Who,
        verifier: &str,
    ) -> Result<(), Violation> {
        let expect = match (who, code) {
            (Who::Unregistered, _) => Expect::BadClient,
            (Who::Client(_), None) => Expect::Refuse(Invariant::ModelMismatch),
            (Who::Client(k), Some(i)) => {
                let c = &self.model.codes[i];
                let state = self.model.code_state(i);
                if k != c.client || verifier != c.verifier || state == CodeState::Gone {
                    Expect::Refuse(if c.redeemed {
                        Invariant::CodeRedeemedTwice
                    } else if state == CodeState::Gone {
                        match self.model.grants[c.grant].revoked {
                            Some(by) => Invariant::for_accepted(Status::GrantRevoked(by)),
                            None => Invariant::DeadTokenAccepted,
                        }
                    } else {
                        // Another client or a wrong verifier: a binding or PKCE bypass.
                        Invariant::ModelMismatch
                    })
                } else if state == CodeState::Active {
                    Expect::Issue(Source::Code(i))
                } else {
                    Expect::Revoke(c.grant, RevokedBy::CodeReplay)
                }
            }
        };
        let pairs = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", value.to_owned()),
            ("redirect_uri", REDIRECT.to_owned()),
            ("code_verifier", verifier.to_owned()),
        ];
        let request = self.request_as("/token", pairs, who);
        match self
            .token_exchange("code redemption", &request, expect)
            .await?
        {
            Outcome::Issued => self.stats.codes_redeemed += 1,
            Outcome::Revoked => self.stats.code_replays += 1,
            Outcome::Refused | Outcome::ClientRefused => self.stats.redemptions_refused += 1,
        }
        Ok(())
    }

    /// Presents `value` as a refresh token (the model's refresh token `token`, if it is one).
    async fn refresh(
        &mut self,
        value: &str,
        token: Option<usize>,
        who: Who,
    ) -> Result<(), Violation> {
        let mut dead = None;
        let expect = match (who, token) {
            (Who::Unregistered, _) => Expect::BadClient,
            (Who::Client(_), None) => Expect::Refuse(Invariant::ModelMismatch),
            (Who::Client(k), Some(r)) => {
                let status = self.model.refresh_status(r);
                let owner = self.model.refresh[r].client;
                if k != owner {
                    Expect::Refuse(Invariant::ModelMismatch)
                } else if status.is_live() {
                    Expect::Issue(Source::Refresh(r))
                } else if self.model.refresh_tombstoned(r) {
                    Expect::Revoke(self.model.refresh[r].grant, RevokedBy::RefreshReuse)
                } else {
                    dead = Some(status);
                    Expect::Refuse(Invariant::for_accepted(status))
                }
            }
        };
        let pairs = vec![
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", value.to_owned()),
        ];
        let request = self.request_as("/token", pairs, who);
        match self.token_exchange("refresh", &request, expect).await? {
            Outcome::Issued => self.stats.rotations += 1,
            Outcome::Revoked => self.stats.refresh_reuses += 1,
            Outcome::Refused | Outcome::ClientRefused => {
                self.stats.refreshes_refused += 1;
                if let Some(status) = dead {
                    self.stats.count_refused(status);
                }
            }
        }
        Ok(())
    }

    async fn token_exchange(
        &mut self,
        context: &str,
        request: &Request<Vec<u8>>,
        expect: Expect,
    ) -> Result<Outcome, Violation> {
        let response = self.provider.token(request).await;
        let body = json_of(&response);
        if response.status() == StatusCode::OK {
            let issued: Vec<&str> = ["access_token", "refresh_token"]
                .iter()
                .filter_map(|k| body[*k].as_str())
                .collect();
            self.check_response(context, &response, &issued)?;
            self.check_no_store(context, &response)?;
            return match expect {
                Expect::Issue(source) => {
                    self.record_issue(context, source, &body)?;
                    Ok(Outcome::Issued)
                }
                Expect::Refuse(invariant) => self.fail(
                    invariant,
                    format!("{context}: accepted, must be refused: {body}"),
                ),
                Expect::Revoke(_, RevokedBy::CodeReplay) => self.fail(
                    Invariant::CodeRedeemedTwice,
                    format!("{context}: a redeemed code yielded tokens again: {body}"),
                ),
                Expect::Revoke(..) => self.fail(
                    Invariant::RetiredRefreshAccepted,
                    format!("{context}: a rotated refresh token yielded tokens: {body}"),
                ),
                Expect::BadClient => {
                    self.mismatch(format!("{context}: an unknown client got tokens: {body}"))
                }
            };
        }
        self.check_response(context, &response, &[])?;
        self.check_no_store(context, &response)?;
        let invalid_grant = [StatusCode::BAD_REQUEST];
        match expect {
            Expect::Issue(_) => self.mismatch(format!(
                "{context}: refused, the model expects tokens: {}",
                body_text(&response)
            )),
            Expect::Refuse(_) => {
                self.check_error(context, &response, &invalid_grant, "invalid_grant")?;
                Ok(Outcome::Refused)
            }
            Expect::Revoke(grant, by) => {
                self.check_error(context, &response, &invalid_grant, "invalid_grant")?;
                self.model.revoke_grant(grant, by);
                Ok(Outcome::Revoked)
            }
            Expect::BadClient => {
                self.check_error(
                    context,
                    &response,
                    &[StatusCode::BAD_REQUEST, StatusCode::UNAUTHORIZED],
                    "invalid_client",
                )?;
                Ok(Outcome::ClientRefused)
            }
        }
    }

    /// Checks a token response against the model and records its tokens.
    fn record_issue(
        &mut self,
        context: &str,
        source: Source,
        body: &Value,
    ) -> Result<(), Violation> {
        let (grant, client) = match source {
            Source::Code(i) => (self.model.codes[i].grant, self.model.codes[i].client),
            Source::Refresh(r) => (self.model.refresh[r].grant, self.model.refresh[r].client),
        };
        let (Some(access), Some(refresh), Some(expires_in), Some(scope)) = (
            body["access_token"].as_str(),
            body["refresh_token"].as_str(),
            body["expires_in"].as_u64(),
            body["scope"].as_str(),
        ) else {
            return self.mismatch(format!("{context}: incomplete token response {body}"));
        };
        if !body["token_type"]
            .as_str()
            .is_some_and(|t| t.eq_ignore_ascii_case("bearer"))
        {
            return self.mismatch(format!("{context}: token_type in {body}"));
        }
        if self.model.is_seen(access) || self.model.is_seen(refresh) || access == refresh {
            return self.mismatch(format!("{context}: a credential was issued twice: {body}"));
        }
        let now = self.model.now;
        let life = lifetimes();
        let grant_end = self.model.grants[grant].expires_at;
        if now + expires_in > grant_end {
            return self.fail(
                Invariant::OutlivesGrant,
                format!("{context}: expires_in {expires_in} reaches past the grant's end at {grant_end} (now {now})"),
            );
        }
        let natural = now + life.access_token;
        if now + expires_in != natural.min(grant_end) {
            return self.mismatch(format!(
                "{context}: expires_in {expires_in}, the model expects {}",
                natural.min(grant_end) - now
            ));
        }
        if scope_set(scope) != self.model.grants[grant].scope {
            return self.mismatch(format!(
                "{context}: scope {scope:?}, the grant's is {:?}",
                self.model.grants[grant].scope
            ));
        }
        match source {
            Source::Code(i) => self.model.codes[i].redeemed = true,
            Source::Refresh(r) => self.model.refresh[r].retired = true,
        }
        let a = self.model.access.len();
        self.model.see(access, Seen::Access(a));
        self.model.access.push(AccessM {
            value: access.to_owned(),
            grant,
            client,
            expires_at: natural.min(grant_end),
            natural_expiry: natural,
            revoked: false,
        });
        let refresh_life = if self.model.clients[client].is_public() {
            life.public_refresh_token
        } else {
            life.refresh_token
        };
        let r = self.model.refresh.len();
        self.model.see(refresh, Seen::Refresh(r));
        self.model.refresh.push(RefreshM {
            value: refresh.to_owned(),
            grant,
            client,
            expires_at: (now + refresh_life).min(grant_end),
            natural_expiry: now + refresh_life,
            retired: false,
        });
        self.model.grants[grant].latest_refresh = Some(r);
        Ok(())
    }

    // ---- revocation and introspection ----

    /// A `token_type_hint` that varies between none, the right one and the wrong one
    /// (the hint only orders the search, RFC 7009 §2.1, RFC 7662 §2.1).
    fn hint(&mut self, pairs: &mut Vec<(&str, String)>, kind: Option<Kind>) {
        let names = ["access_token", "refresh_token"];
        let right = usize::from(kind == Some(Kind::Refresh));
        match self.next() % 3 {
            1 => pairs.push(("token_type_hint", names[right].to_owned())),
            2 => pairs.push(("token_type_hint", names[1 - right].to_owned())),
            _ => {}
        }
    }

    async fn revoke(
        &mut self,
        value: &str,
        token: Option<(Kind, usize)>,
        who: Who,
    ) -> Result<(), Violation> {
        let mut pairs = vec![("token", value.to_owned())];
        self.hint(&mut pairs, token.map(|(kind, _)| kind));
        let request = self.request_as("/revoke", pairs, who);
        let response = self.provider.revocation(&request).await;
        let context = "revocation";
        self.check_response(context, &response, &[])?;
        self.check_no_store(context, &response)?;
        let Who::Client(caller) = who else {
            self.check_error(
                context,
                &response,
                &[StatusCode::BAD_REQUEST, StatusCode::UNAUTHORIZED],
                "invalid_client",
            )?;
            self.stats.revocations_without_effect += 1;
            return Ok(());
        };
        if response.status() != StatusCode::OK || !response.body().is_empty() {
            return self.mismatch(format!("{context}: {}", body_text(&response)));
        }
        match token {
            Some((Kind::Access, i))
                if self.model.access[i].client == caller
                    && self.model.access_status(i).is_live() =>
            {
                self.model.access[i].revoked = true;
                self.stats.access_revocations += 1;
            }
            Some((Kind::Refresh, r))
                if self.model.refresh[r].client == caller
                    && (self.model.refresh_status(r).is_live()
                        || self.model.refresh_tombstoned(r)) =>
            {
                let grant = self.model.refresh[r].grant;
                self.model.revoke_grant(grant, RevokedBy::RefreshRevoked);
                self.stats.refresh_revocations += 1;
            }
            _ => self.stats.revocations_without_effect += 1,
        }
        Ok(())
    }

    async fn introspect(
        &mut self,
        value: &str,
        token: Option<(Kind, usize)>,
        who: Who,
    ) -> Result<(), Violation> {
        let mut pairs = vec![("token", value.to_owned())];
        self.hint(&mut pairs, token.map(|(kind, _)| kind));
        let request = self.request_as("/introspect", pairs, who);
        let response = self.provider.introspection(&request).await;
        self.introspection_answer(&response, token, who)
    }

    /// Checks an introspection response for `token` asked by `who`.
    fn introspection_answer(
        &mut self,
        response: &HttpResponse,
        token: Option<(Kind, usize)>,
        who: Who,
    ) -> Result<(), Violation> {
        let context = "introspection";
        self.check_response(context, response, &[])?;
        self.check_no_store(context, response)?;
        let caller = match who {
            Who::Client(c) if !self.model.clients[c].is_public() => c,
            _ => {
                self.check_error(
                    context,
                    response,
                    &[StatusCode::BAD_REQUEST, StatusCode::UNAUTHORIZED],
                    "invalid_client",
                )?;
                self.stats.introspections_refused += 1;
                return Ok(());
            }
        };
        if response.status() != StatusCode::OK {
            return self.mismatch(format!("{context}: {}", body_text(response)));
        }
        let body = json_of(response);
        // (status, owner, grant, expires_at) of the token as the model sees it.
        let known = token.map(|(kind, i)| match kind {
            Kind::Access => {
                let a = &self.model.access[i];
                (
                    kind,
                    self.model.access_status(i),
                    a.client,
                    a.grant,
                    a.expires_at,
                )
            }
            Kind::Refresh => {
                let r = &self.model.refresh[i];
                (
                    kind,
                    self.model.refresh_status(i),
                    r.client,
                    r.grant,
                    r.expires_at,
                )
            }
        });
        let visible = known.filter(|(_, _, owner, _, _)| *owner == caller);
        let active = body["active"] == true;
        match (active, visible) {
            (false, Some((_, status, ..))) if status.is_live() => self.mismatch(format!(
                "{context}: a live token of the caller is inactive: {body}"
            )),
            (false, _) => {
                if response.body().as_ref() != br#"{"active":false}"# {
                    return self.mismatch(format!("{context}: inactive answer {body}"));
                }
                if let Some((_, status, ..)) = visible {
                    self.stats.count_refused(status);
                }
                self.stats.introspected_inactive += 1;
                Ok(())
            }
            (true, None) => self.mismatch(format!(
                "{context}: active for a value that is no token of the caller: {body}"
            )),
            (true, Some((_, status, ..))) if !status.is_live() => self.fail(
                Invariant::for_accepted(status),
                format!("{context}: active although {status:?}: {body}"),
            ),
            (true, Some((kind, _, owner, grant, expires_at))) => {
                let g = &self.model.grants[grant];
                if body["exp"].as_u64().is_some_and(|exp| exp > g.expires_at) {
                    return self.fail(
                        Invariant::OutlivesGrant,
                        format!(
                            "{context}: exp after the grant's end {}: {body}",
                            g.expires_at
                        ),
                    );
                }
                let scope_ok = body["scope"].as_str().map(scope_set).as_ref() == Some(&g.scope);
                let mut ok = body["exp"] == expires_at
                    && body["client_id"] == self.model.clients[owner].id.as_str()
                    && body["iss"] == ISSUER
                    && scope_ok;
                if kind == Kind::Access {
                    ok = ok
                        && body["sub"] == USERS[g.user]
                        && body["aud"] == RESOURCE
                        && body["token_type"] == "Bearer";
                }
                if !ok {
                    return self.mismatch(format!(
                        "{context}: the answer differs from the model (exp {expires_at}, scope {:?}): {body}",
                        g.scope
                    ));
                }
                self.stats.introspected_active += 1;
                Ok(())
            }
        }
    }

    // ---- the resource server ----

    /// Presents `value` as a bearer token (the model's access token `token`, if it is one).
    async fn bearer(&mut self, value: &str, token: Option<usize>) -> Result<(), Violation> {
        let request = Request::get(RESOURCE)
            .header("authorization", format!("Bearer {value}"))
            .body(Vec::new())
            .unwrap();
        let result = self.provider.authenticate(&request).await;
        let status = token.map(|i| self.model.access_status(i));
        match result {
            Ok(access) => {
                let (Some(i), Some(status)) = (token, status) else {
                    return self.mismatch(format!(
                        "bearer: a value that is no access token was accepted: {access:?}"
                    ));
                };
                if !status.is_live() {
                    return self.fail(
                        Invariant::for_accepted(status),
                        format!("bearer: accepted although {status:?}: {access:?}"),
                    );
                }
                let a = &self.model.access[i];
                let g = &self.model.grants[a.grant];
                if access.expires_at.0 > g.expires_at {
                    return self.fail(
                        Invariant::OutlivesGrant,
                        format!(
                            "bearer: the token expires after its grant ({}): {access:?}",
                            g.expires_at
                        ),
                    );
                }
                let user_ok = access.user_id.as_ref().map(UserId::as_str) == Some(USERS[g.user]);
                if access.grant_id != g.id
                    || access.client_id.as_str() != self.model.clients[a.client].id
                    || !user_ok
                    || access.expires_at != UnixTime(a.expires_at)
                    || scope_of(&access.scope) != g.scope
                    || access.props != g.props
                {
                    return self.mismatch(format!(
                        "bearer: the access differs from the model: {access:?}"
                    ));
                }
                self.stats.bearer_accepted += 1;
                Ok(())
            }
            Err(error) => {
                if error.status().is_server_error() {
                    return self.fail(Invariant::ServerError, format!("bearer: {error:?}"));
                }
                let response = error.into_response();
                self.check_response("bearer refusal", &response, &[])?;
                match status {
                    Some(status) if status.is_live() => {
                        return self.mismatch(format!(
                            "bearer: a live token was refused: {}",
                            body_text(&response)
                        ));
                    }
                    Some(status) => self.stats.count_refused(status),
                    None => {}
                }
                self.stats.bearer_refused += 1;
                Ok(())
            }
        }
    }

    // ---- the host ----

    async fn revoke_user_grants(&mut self, user: usize) -> Result<(), Violation> {
        let listed = self.listed_grants(user).await?;
        for id in listed {
            let Some(g) = self.model.grant_by_id(&id) else {
                return self.mismatch(format!("grants_for_user lists an unknown grant {id}"));
            };
            let grant_id = self.model.grants[g].id.clone();
            if let Err(e) = self.provider.revoke_grant(&grant_id).await {
                return self.fail(Invariant::ServerError, format!("revoke_grant: {e}"));
            }
            self.model.revoke_grant(g, RevokedBy::Host);
            self.stats.host_revocations += 1;
        }
        Ok(())
    }

    /// `grants_for_user`, checked against the model: exactly the user's live grants.
    async fn listed_grants(&mut self, user: usize) -> Result<BTreeSet<String>, Violation> {
        let listed = match self
            .provider
            .grants_for_user(&UserId::new(USERS[user]))
            .await
        {
            Ok(listed) => listed,
            Err(e) => return self.fail(Invariant::ServerError, format!("grants_for_user: {e}")),
        };
        let ids: BTreeSet<String> = listed.iter().map(|g| g.id.as_str().to_owned()).collect();
        let expected = self.model.live_grants_of(user);
        if let Some(id) = ids.difference(&expected).next() {
            let Some(g) = self.model.grant_by_id(id) else {
                return self.mismatch(format!("grants_for_user lists an unknown grant {id}"));
            };
            let status = match self.model.grants[g].revoked {
                Some(by) => Status::GrantRevoked(by),
                None => Status::GrantExpired,
            };
            return self.fail(
                Invariant::for_accepted(status),
                format!(
                    "grants_for_user({}) lists grant {id}, which is {status:?}",
                    USERS[user]
                ),
            );
        }
        if let Some(id) = expected.difference(&ids).next() {
            return self.mismatch(format!(
                "grants_for_user({}) misses the live grant {id}",
                USERS[user]
            ));
        }
        for record in &listed {
            let model = self
                .model
                .grant_by_id(record.id.as_str())
                .map(|g| &self.model.grants[g]);
            let client = model.map(|g| self.model.clients[g.client].id.as_str());
            if model.map(|g| g.expires_at) != Some(record.expires_at.0)
                || client != Some(record.client_id.as_str())
            {
                return self.mismatch(format!(
                    "grant {:?} expires at {:?}",
                    record.id, record.expires_at
                ));
            }
        }
        Ok(ids)
    }

    async fn check_grant_listings(&mut self) -> Result<(), Violation> {
        for user in 0..USERS.len() {
            self.listed_grants(user).await?;
        }
        Ok(())
    }

    // ---- replays ----

    async fn replay(&mut self, value: u8, at: Target, by: Caller) -> Result<bool, Violation> {
        let Some(seen) = newest_index(self.model.seen.len(), value) else {
            return Ok(false);
        };
        let (value, what) = {
            let seen = &self.model.seen[seen];
            (seen.value.clone(), seen.what)
        };
        let who = self.resolve(by, self.model.owner_of(what));
        self.stats.replays += 1;
        match at {
            Target::Code => {
                let (code, verifier) = match what {
                    Seen::Code(i) => (Some(i), self.model.codes[i].verifier.clone()),
                    _ => (None, format!("verifier-{:040}", 0)),
                };
                self.redeem(&value, code, who, &verifier).await?;
            }
            Target::RefreshToken => {
                let token = match what {
                    Seen::Refresh(r) => Some(r),
                    _ => None,
                };
                self.refresh(&value, token, who).await?;
            }
            Target::Bearer => {
                let token = match what {
                    Seen::Access(i) => Some(i),
                    _ => None,
                };
                self.bearer(&value, token).await?;
            }
            Target::Introspection | Target::Revocation => {
                let token = match what {
                    Seen::Access(i) => Some((Kind::Access, i)),
                    Seen::Refresh(r) => Some((Kind::Refresh, r)),
                    _ => None,
                };
                if at == Target::Introspection {
                    self.introspect(&value, token, who).await?;
                } else {
                    self.revoke(&value, token, who).await?;
                }
            }
            Target::ClientSecret => self.secret_replay(&value, who).await?,
        }
        Ok(true)
    }

    /// Uses `value` as `who`'s client secret (HTTP Basic) to introspect `value` itself:
    /// only the client's own secret authenticates it (and no secret is a token).
    async fn secret_replay(&mut self, value: &str, who: Who) -> Result<(), Violation> {
        let id = match who {
            Who::Client(c) => self.model.clients[c].id.clone(),
            Who::Unregistered => UNREGISTERED.to_owned(),
        };
        let request = post(
            "/introspect",
            &[("token", value.to_owned())],
            Some((&id, value)),
        );
        let response = self.provider.introspection(&request).await;
        let context = "introspection with a replayed secret";
        self.check_response(context, &response, &[])?;
        let right =
            matches!(who, Who::Client(c) if self.model.clients[c].secret.as_deref() == Some(value));
        if right {
            if response.status() != StatusCode::OK
                || response.body().as_ref() != br#"{"active":false}"#
            {
                return self.mismatch(format!("{context}: {}", body_text(&response)));
            }
            self.stats.introspected_inactive += 1;
        } else {
            self.check_error(
                context,
                &response,
                &[StatusCode::BAD_REQUEST, StatusCode::UNAUTHORIZED],
                "invalid_client",
            )?;
            self.stats.introspections_refused += 1;
        }
        Ok(())
    }

    // ---- probes ----

    /// Probes every credential whose usability this step changed (see [`Harness`]).
    async fn probe_changes(&mut self, before: &Snapshot) -> Result<(), Violation> {
        let after = self.model.snapshot();
        let changed =
            |was: Option<&Status>, is: Status| was.map(|s| s.is_live()) != Some(is.is_live());
        for (i, status) in after.access.iter().enumerate() {
            if changed(before.access.get(i), *status) {
                self.probe_access(i).await?;
            }
        }
        for (r, status) in after.refresh.iter().enumerate() {
            if changed(before.refresh.get(r), *status) {
                self.probe_refresh(r, *status).await?;
            }
        }
        for (i, state) in after.codes.iter().enumerate() {
            if before.codes.get(i) == Some(&CodeState::Active) && *state == CodeState::Gone {
                let c = &self.model.codes[i];
                let (value, verifier, owner) = (c.value.clone(), c.verifier.clone(), c.client);
                self.redeem(&value, Some(i), Who::Client(owner), &verifier)
                    .await?;
            }
        }
        Ok(())
    }

    /// Presents an access token at the resource server and, for a confidential owner,
    /// introspects it.
    async fn probe_access(&mut self, i: usize) -> Result<(), Violation> {
        let (value, owner) = (
            self.model.access[i].value.clone(),
            self.model.access[i].client,
        );
        self.bearer(&value, Some(i)).await?;
        if self.model.clients[owner].is_public() {
            return Ok(());
        }
        self.introspect_as_owner(&value, Kind::Access, i, owner)
            .await
    }

    /// Introspects a token as its (confidential) owner, without a `token_type_hint`.
    async fn introspect_as_owner(
        &mut self,
        value: &str,
        kind: Kind,
        i: usize,
        owner: usize,
    ) -> Result<(), Violation> {
        let client = &self.model.clients[owner];
        let secret = client.secret.as_deref().unwrap_or_default();
        let request = post(
            "/introspect",
            &[("token", value.to_owned())],
            Some((&client.id, secret)),
        );
        let response = self.provider.introspection(&request).await;
        self.introspection_answer(&response, Some((kind, i)), Who::Client(owner))
    }

    /// Introspects a refresh token as its confidential owner; for a public owner,
    /// presents a dead one (not retired: that would be a reuse) at the token endpoint.
    async fn probe_refresh(&mut self, r: usize, status: Status) -> Result<(), Violation> {
        let (value, owner) = self.refresh_parts(r);
        if !self.model.clients[owner].is_public() {
            self.introspect_as_owner(&value, Kind::Refresh, r, owner)
                .await
        } else if !status.is_live() && status != Status::Retired {
            self.refresh(&value, Some(r), Who::Client(owner)).await
        } else {
            Ok(())
        }
    }

    async fn sweep(&mut self) -> Result<(), Violation> {
        self.op = None;
        for i in 0..self.model.access.len() {
            self.probe_access(i).await?;
        }
        for r in 0..self.model.refresh.len() {
            let owner = self.model.refresh[r].client;
            if !self.model.clients[owner].is_public() {
                self.probe_refresh(r, self.model.refresh_status(r)).await?;
            }
        }
        self.check_grant_listings().await
    }
}
