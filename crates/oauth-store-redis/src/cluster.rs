//! Cluster mode: every operation as a sequence of single-slot steps.
//!
//! In a Redis Cluster a script may only touch keys of one hash slot, so an operation
//! cannot read a lookup pointer (in the hash's slot), the grant's records (in the grant's
//! slot, `{g:E}`) and the user, client and expiry indexes (each in its own slot) in one
//! script. The layout is the same as on one server; what changes is who writes what, and
//! in which order:
//!
//! - **The grant slot is the only authority.** Every decision (is the code unused, is the
//!   refresh token active, does the grant exist and live, is a hash taken under this
//!   grant) is made by one script on the grant's slot, exactly as on one server: of
//!   concurrent redemptions or rotations exactly one wins, and a tombstone answers
//!   replays. Pointers and indexes are hints, re-checked against that slot on every read.
//! - **Pointers first.** The pointers of new codes and tokens are written (`SET NX`, so a
//!   hash taken by any grant is a conflict) before the grant-slot script that stores their
//!   records. A pointer without its record reads as absent; pointers written for a write
//!   that then failed or lost a race are removed again, best effort (they expire with the
//!   record's TTL otherwise).
//! - **Index hints first, removal last.** A grant's user and client index entries and its
//!   expiry-index entry are written before the grant-slot script, and removed only after
//!   the grant-slot revocation: an index never misses a live grant. Revoking a user's or a
//!   client's grants revokes each grant its index lists whose record names that user or
//!   client (or has no record left), then removes exactly the entries of the grants it
//!   revoked. A listed grant with no record may be one whose creation has written its
//!   hints but not yet run its grant-slot script: the revocation leaves a marker
//!   (`P:{g:E}:revoked`, living as long as the index) that makes that script refuse, so
//!   the creation fails rather than store a live grant no index lists.
//! - **Redemption and rotation go straight to the grant.** The tokens issued from a code
//!   or a refresh token name their grant, so `consume_code` and `rotate_refresh` run the
//!   grant-slot script of that grant without reading the pointer; only when it finds
//!   nothing is the pointer read, to answer exactly as on one server.
//! - **Expiry index per grant.** `P:expiry` holds one entry per grant (`grant:E`), scored
//!   by the earliest expiry under it (writers only ever lower it, `ZADD LT`), and one per
//!   one-time marker; purge re-checks each against the grant's child index and re-scores
//!   or removes it only if no writer changed it meanwhile. Writers also keep, in
//!   `P:{P:expiry}:latest` (the same slot), the latest expiry under each entry (`ZADD GT`)
//!   and drop from both the entries under which everything has expired at their `now`, so
//!   the index stays bounded by the live grants and markers without any purge.
//!
//! A step that fails is an error, never a success: the grant-slot script either ran or
//! did not (as on one server, a lost answer is `Unavailable`), and a hint left behind by a
//! failure is one that reads already re-check.

use futures_util::future::{join_all, try_join_all};
use oauth_core::model::{
    AccessTokenWithGrant, ClientId, CodeRecord, GrantId, GrantRecord, IssuedTokens,
    RefreshTokenRecord, UserId,
};
use oauth_core::store::{
    ClientAndCode, CodeLookup, ConsumeOutcome, OnceKey, RefreshGrace, RefreshLookup, RotateOutcome,
};
use oauth_core::{StoreError, TokenHash, UnixTime};
use redis::{Script, ScriptInvocation};

use crate::codec::{decode, encode};
use crate::error::{conflict, corrupt};
use crate::keys::{escape, hex, parse_time, time, ttl_ms};
use crate::scripts::ClusterScripts;
use crate::{
    check_tokens_name, push_grant, push_tokens, RedisStore, Reply, PURGE_BATCH, PURGE_EXAMINE,
    PURGE_MAX_SCRIPTS,
};

/// Most expiry-index entries one read of the index returns.
const PURGE_PAGE: usize = 64;

/// The shortest life of a revocation marker (`P:{g:E}:revoked`), in milliseconds.
const MARKER_MIN_MS: i64 = 60_000;

/// The life of a revocation marker left for an index without a TTL (which this store
/// never writes): a day.
const MARKER_FALLBACK_MS: i64 = 86_400_000;

/// The TTL of the revocation markers a walk of an index leaves, from the index's PTTL:
/// every add lengthens that TTL to the grant's lifetime, so it outlasts every grant the
/// index lists (a creation whose script runs after the marker expired stores a grant
/// that is expired already).
fn marker_ttl(pttl: &[u8]) -> String {
    let pttl = std::str::from_utf8(pttl)
        .ok()
        .and_then(|p| p.parse::<i64>().ok())
        .unwrap_or(-1);
    let ttl = if pttl > 0 { pttl } else { MARKER_FALLBACK_MS };
    ttl.max(MARKER_MIN_MS).to_string()
}

/// A pointer this operation created, to remove again if the operation does not store
/// its record.
struct Claimed {
    kind: &'static str,
    hash: String,
}

/// Whether `tag` is an escaped id as [`escape`] writes them: a value read back from a
/// pointer or an index must not be able to name a key outside its grant's slot.
fn valid_tag(tag: &str) -> bool {
    tag.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'%'))
}

fn tag_from(bytes: Vec<u8>) -> Result<String, StoreError> {
    String::from_utf8(bytes)
        .ok()
        .filter(|tag| valid_tag(tag))
        .ok_or_else(|| corrupt("a stored grant reference is malformed"))
}

/// The earliest and latest expiry and the longest TTL among records written together.
struct Span {
    first: UnixTime,
    last: UnixTime,
    ttl: u64,
}

impl Span {
    fn new() -> Self {
        Span {
            first: UnixTime(u64::MAX),
            last: UnixTime(0),
            ttl: 1,
        }
    }

    fn add(&mut self, expires_at: UnixTime, base: UnixTime) {
        self.first = self.first.min(expires_at);
        self.last = self.last.max(expires_at);
        // ttl_ms is a decimal number of milliseconds.
        let ttl = ttl_ms(expires_at, base).parse::<u64>().unwrap_or(1);
        self.ttl = self.ttl.max(ttl);
    }

    fn tokens(&mut self, tokens: &IssuedTokens, base: Option<UnixTime>) {
        self.add(
            tokens.access.expires_at,
            base.unwrap_or(tokens.access.issued_at),
        );
        if let Some(refresh) = &tokens.refresh {
            self.add(refresh.expires_at, base.unwrap_or(refresh.issued_at));
        }
    }
}

impl RedisStore {
    fn cs(&self) -> &ClusterScripts {
        &self.inner.scripts.cluster
    }

    /// A script on grant `e`'s slot: `KEYS[1]` its grant key, `ARGV[2]` the tag.
    fn on_grant<'a>(&self, script: &'a Script, e: &str) -> ScriptInvocation<'a> {
        let mut invocation = self.invoke(script, self.inner.keys.grant(e));
        invocation.arg(e);
        invocation
    }

    /// The grant tag a pointer names, if any.
    async fn c_locate(&self, kind: &str, hash: &TokenHash) -> Result<Option<String>, StoreError> {
        let found: Option<Vec<u8>> = self
            .query(
                redis::cmd("GET")
                    .arg(self.inner.keys.locator(kind, hash))
                    .clone(),
            )
            .await?;
        found.map(tag_from).transpose()
    }

    /// Writes the pointer of a new record (`SET NX`): `false` if the hash is taken.
    async fn c_pointer(
        &self,
        kind: &'static str,
        hash: &TokenHash,
        e: &str,
        ttl: String,
    ) -> Result<bool, StoreError> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.inner.keys.locator(kind, hash))
            .arg(e)
            .arg("NX")
            .arg("PX")
            .arg(ttl);
        let done: Option<String> = self.query(cmd).await?;
        Ok(done.is_some())
    }

    /// Writes the pointers of `tokens` under `e`, or none: a hash that is taken is a
    /// conflict, and the pointers written meanwhile are removed again.
    async fn c_claim_tokens(
        &self,
        e: &str,
        tokens: &IssuedTokens,
        base: Option<UnixTime>,
    ) -> Result<Vec<Claimed>, StoreError> {
        let access = &tokens.access;
        let at = self.c_pointer(
            "at",
            &access.hash,
            e,
            ttl_ms(access.expires_at, base.unwrap_or(access.issued_at)),
        );
        let rt = async {
            match &tokens.refresh {
                Some(refresh) => self
                    .c_pointer(
                        "rt",
                        &refresh.hash,
                        e,
                        ttl_ms(refresh.expires_at, base.unwrap_or(refresh.issued_at)),
                    )
                    .await
                    .map(Some),
                None => Ok(None),
            }
        };
        let (at, rt) = tokio::join!(at, rt);
        let mut claimed = Vec::new();
        if matches!(at, Ok(true)) {
            claimed.push(Claimed {
                kind: "at",
                hash: hex(&access.hash),
            });
        }
        if let (Ok(Some(true)), Some(refresh)) = (&rt, &tokens.refresh) {
            claimed.push(Claimed {
                kind: "rt",
                hash: hex(&refresh.hash),
            });
        }
        let refused = match (at, rt) {
            (Err(error), _) | (_, Err(error)) => Some(error),
            (Ok(false), _) => Some(conflict("an access token with this hash exists already")),
            (_, Ok(Some(false))) => Some(conflict("a refresh token with this hash exists already")),
            _ => None,
        };
        match refused {
            Some(error) => {
                self.c_release(e, claimed).await;
                Err(error)
            }
            None => Ok(claimed),
        }
    }

    /// Removes pointers this operation wrote, if they still name `e`. Best effort: a
    /// pointer without its record reads as absent and expires with the record's TTL.
    async fn c_release(&self, e: &str, claimed: Vec<Claimed>) {
        let _ = join_all(
            claimed
                .into_iter()
                .map(|c| self.c_drop_pointer(e, c.kind, c.hash)),
        )
        .await;
    }

    async fn c_drop_pointer(&self, e: &str, kind: &str, hash: String) -> Result<(), StoreError> {
        let mut invocation = self.invoke(
            &self.cs().pointer_del,
            self.inner.keys.locator_hex(kind, &hash),
        );
        invocation.arg(kind).arg(hash).arg(e);
        self.eval_status(invocation).await
    }

    /// Lowers the expiry-index entry of `member` to `span.first` (and raises its latest
    /// expiry to `span.last`); drops entries under which everything expired at `now`.
    async fn c_expiry_hint(
        &self,
        member: String,
        span: &Span,
        now: UnixTime,
    ) -> Result<(), StoreError> {
        let mut invocation = self.invoke(&self.cs().expiry_hint, self.inner.keys.expiry());
        invocation
            .arg(member)
            .arg(time(span.first))
            .arg(span.ttl.to_string())
            .arg(time(span.last))
            .arg(time(now));
        self.eval_status(invocation).await
    }

    /// Adds grant `e` to the user's (`u`) or client's (`c`) index.
    async fn c_index_add(
        &self,
        which: &'static str,
        tag: String,
        e: &str,
        grant: &GrantRecord,
    ) -> Result<(), StoreError> {
        let key = match which {
            "u" => self.inner.keys.user_index(&tag),
            _ => self.inner.keys.client_index(&tag),
        };
        let mut invocation = self.invoke(&self.cs().index_add, key);
        invocation
            .arg(which)
            .arg(tag)
            .arg(e)
            .arg(time(grant.expires_at))
            .arg(ttl_ms(grant.expires_at, grant.created_at))
            .arg(time(grant.created_at));
        self.eval_status(invocation).await
    }

    /// Removes grants from the user's (`u`) or client's (`c`) index.
    async fn c_index_remove(
        &self,
        which: &'static str,
        tag: &str,
        grants: &[String],
    ) -> Result<(), StoreError> {
        if grants.is_empty() || tag.is_empty() {
            return Ok(());
        }
        let key = match which {
            "u" => self.inner.keys.user_index(tag),
            _ => self.inner.keys.client_index(tag),
        };
        let mut invocation = self.invoke(&self.cs().index_remove, key);
        invocation.arg(which).arg(tag);
        for e in grants {
            invocation.arg(e);
        }
        self.eval_status(invocation).await
    }

    /// The hints a new grant needs before its records: user and client index entries.
    async fn c_grant_hints(&self, e: &str, grant: &GrantRecord) -> Result<(), StoreError> {
        let user = async {
            match grant.subject.user() {
                Some(user) => self.c_index_add("u", escape(user.as_str()), e, grant).await,
                None => Ok(()),
            }
        };
        let client = self.c_index_add("c", escape(grant.client_id.as_str()), e, grant);
        let (user, client) = tokio::join!(user, client);
        user.and(client)
    }

    /// Removes what pointed at grant `e` once its records are gone: the pointers of the
    /// records (`kind:hash` members), and its user and client index entries.
    async fn c_unlink(
        &self,
        e: &str,
        members: &[Option<Vec<u8>>],
        user: &str,
        client: &str,
    ) -> Result<(), StoreError> {
        let pointers = members.iter().flatten().filter_map(|m| {
            let m = std::str::from_utf8(m).ok()?;
            let (kind, hash) = m.split_once(':')?;
            let kind = match kind {
                "code" => "code",
                "at" => "at",
                "rt" => "rt",
                _ => return None,
            };
            hash.bytes()
                .all(|b| b.is_ascii_hexdigit())
                .then(|| self.c_drop_pointer(e, kind, hash.to_owned()))
        });
        let grants = [e.to_owned()];
        let (pointers, user, client) = tokio::join!(
            try_join_all(pointers),
            self.c_index_remove("u", user, &grants),
            self.c_index_remove("c", client, &grants),
        );
        pointers.map(drop).and(user).and(client)
    }

    /// Revokes grant `e` on its slot (if its record names `owner`, when given, or is
    /// gone), then unlinks it. `true` if it was revoked (or, having no record, marked
    /// revoked when `marker_ttl` is given), `false` if it is another owner's.
    async fn c_revoke(
        &self,
        e: &str,
        owner: Option<(&str, &str)>,
        marker_ttl: Option<&str>,
    ) -> Result<bool, StoreError> {
        let mut invocation = self.on_grant(&self.cs().revoke_grant, e);
        let (field, value) = owner.unwrap_or(("", ""));
        invocation
            .arg(field)
            .arg(value)
            .arg(marker_ttl.unwrap_or_default());
        let reply = self.eval(invocation).await?;
        match reply.status()? {
            b"skip" => Ok(false),
            b"ok" => {
                let user = String::from_utf8_lossy(reply.field(2)?).into_owned();
                let client = String::from_utf8_lossy(reply.field(3)?).into_owned();
                let members = reply.0.get(4..).unwrap_or_default();
                let unlink = self.c_unlink(e, members, &user, &client);
                let expiry = async {
                    let mut cmd = redis::cmd("ZREM");
                    cmd.arg(self.inner.keys.expiry()).arg(format!("grant:{e}"));
                    self.query::<i64>(cmd).await.map(drop)
                };
                let (unlink, expiry) = tokio::join!(unlink, expiry);
                unlink.and(expiry)?;
                Ok(true)
            }
            _ => Err(reply.refusal()),
        }
    }

    /// Revokes every grant an index lists whose record names the owner, then removes the
    /// entries of the grants revoked (entries added meanwhile, and those of grants that
    /// are another owner's, stay). `listed` is the index's PTTL, then its members.
    ///
    /// A listed grant without a record may be one being created: its index hints are
    /// written before its grant-slot script. The revocation then leaves a marker on the
    /// grant's slot, living as long as the index (and so as any grant it lists), which
    /// makes that script refuse: the creation fails (503) rather than store a live grant
    /// that no index lists any more.
    async fn c_revoke_listed(
        &self,
        which: &'static str,
        tag: &str,
        listed: Vec<Option<Vec<u8>>>,
    ) -> Result<(), StoreError> {
        let field = if which == "u" { "user" } else { "client" };
        let mut listed = listed.into_iter();
        let ttl = marker_ttl(listed.next().flatten().as_deref().unwrap_or_default());
        let grants = listed
            .flatten()
            .map(tag_from)
            .collect::<Result<Vec<_>, _>>()?;
        let revoked = try_join_all(
            grants
                .iter()
                .map(|e| self.c_revoke(e, Some((field, tag)), Some(&ttl))),
        )
        .await?;
        let done: Vec<String> = grants
            .into_iter()
            .zip(revoked)
            .filter_map(|(e, revoked)| revoked.then_some(e))
            .collect();
        self.c_index_remove(which, tag, &done).await
    }

    // ---- the Store operations ----

    pub(crate) async fn c_delete_client(&self, id: &ClientId) -> Result<(), StoreError> {
        let tag = escape(id.as_str());
        let mut invocation = self.invoke(
            &self.cs().delete_client_record,
            self.inner.keys.client_index(&tag),
        );
        invocation.arg(&tag);
        let listed = self.eval(invocation).await?;
        self.c_revoke_listed("c", &tag, listed.0).await
    }

    pub(crate) async fn c_create_grant_with_code(
        &self,
        grant: &GrantRecord,
        code: &CodeRecord,
    ) -> Result<(), StoreError> {
        let e = escape(grant.id.as_str());
        let code_ttl = ttl_ms(code.expires_at, grant.created_at);
        let mut span = Span::new();
        span.add(grant.expires_at, grant.created_at);
        span.add(code.expires_at, grant.created_at);
        let (pointer, hints, expiry) = tokio::join!(
            self.c_pointer("code", &code.hash, &e, code_ttl.clone()),
            self.c_grant_hints(&e, grant),
            self.c_expiry_hint(format!("grant:{e}"), &span, grant.created_at),
        );
        let claimed = match pointer {
            Ok(true) => vec![Claimed {
                kind: "code",
                hash: hex(&code.hash),
            }],
            Ok(false) => return Err(conflict("a code with this hash exists already")),
            Err(error) => return Err(error),
        };
        if let Err(error) = hints.and(expiry) {
            self.c_release(&e, claimed).await;
            return Err(error);
        }
        let mut invocation = self.on_grant(&self.cs().create_grant_with_code, &e);
        push_grant(&mut invocation, grant)?;
        invocation
            .arg(hex(&code.hash))
            .arg(time(code.expires_at))
            .arg(code_ttl)
            .arg(encode(code)?);
        let result = self.eval_status(invocation).await;
        if let Err(error) = &result {
            if error.kind() == oauth_core::StoreErrorKind::Conflict {
                self.c_release(&e, claimed).await;
            }
        }
        result
    }

    /// The client, with the code read concurrently: two sequential round trips (those
    /// of `find_code`) for a registered client; for an unknown one the answer comes with
    /// the client's read, and the code's read is dropped.
    pub(crate) async fn c_client_and_code(
        &self,
        id: &ClientId,
        code: &TokenHash,
        now: UnixTime,
    ) -> ClientAndCode {
        let client_read = oauth_core::Store::client(self, id);
        let code_read = self.c_find_code(code, now);
        tokio::pin!(client_read, code_read);
        let mut found = None;
        let client = loop {
            tokio::select! {
                client = &mut client_read => break client,
                answer = &mut code_read, if found.is_none() => found = Some(answer),
            }
        };
        let code = match client {
            Ok(Some(_)) => Some(match found {
                Some(answer) => answer,
                None => code_read.await,
            }),
            _ => None,
        };
        ClientAndCode { client, code }
    }

    pub(crate) async fn c_find_code(
        &self,
        hash: &TokenHash,
        now: UnixTime,
    ) -> Result<CodeLookup, StoreError> {
        let Some(e) = self.c_locate("code", hash).await? else {
            return Ok(CodeLookup::NotFound);
        };
        let mut invocation = self.on_grant(&self.cs().find_code, &e);
        invocation.arg(hex(hash)).arg(time(now));
        let reply = self.eval(invocation).await?;
        reply.code_lookup()
    }

    /// One run of the grant-slot redemption on grant `e`.
    async fn c_consume_on(
        &self,
        e: &str,
        hash: &TokenHash,
        issued: &IssuedTokens,
        now: UnixTime,
    ) -> Result<Reply, StoreError> {
        let mut invocation = self.on_grant(&self.cs().consume_code, e);
        invocation
            .arg(hex(hash))
            .arg(time(now))
            .arg(escape(issued.access.grant_id.as_str()));
        push_tokens(&mut invocation, issued, Some(now))?;
        self.eval(invocation).await
    }

    pub(crate) async fn c_consume_code(
        &self,
        hash: &TokenHash,
        issued: &IssuedTokens,
        now: UnixTime,
    ) -> Result<ConsumeOutcome, StoreError> {
        check_tokens_name(&issued.access.grant_id, issued)?;
        let e = escape(issued.access.grant_id.as_str());
        let mut span = Span::new();
        span.tokens(issued, Some(now));
        let (claimed, expiry) = tokio::join!(
            self.c_claim_tokens(&e, issued, Some(now)),
            self.c_expiry_hint(format!("grant:{e}"), &span, now),
        );
        let claimed = claimed?;
        if let Err(error) = expiry {
            self.c_release(&e, claimed).await;
            return Err(error);
        }
        // The tokens name the code's grant, so its slot decides.
        let mut reply = self.c_consume_on(&e, hash, issued, now).await?;
        if reply.status()? == b"consumed" {
            return Ok(ConsumeOutcome::Consumed);
        }
        self.c_release(&e, claimed).await;
        if reply.status()? == b"notfound" {
            // Not under the grant the tokens name: answer as one server would, from the
            // grant the code's pointer names (notfound, used or misuse; it writes nothing,
            // since the tokens name another grant).
            match self.c_locate("code", hash).await? {
                Some(other) if other != e => {
                    reply = self.c_consume_on(&other, hash, issued, now).await?;
                }
                _ => return Ok(ConsumeOutcome::NotFound),
            }
        }
        match reply.status()? {
            b"notfound" => Ok(ConsumeOutcome::NotFound),
            b"used" => {
                let code: CodeRecord = decode(reply.field(1)?, "code")?;
                Ok(ConsumeOutcome::AlreadyUsed {
                    grant_id: code.grant_id,
                })
            }
            b"consumed" => Err(corrupt("a redemption under another grant succeeded")),
            _ => Err(reply.refusal()),
        }
    }

    pub(crate) async fn c_grants_for_user(
        &self,
        user: &UserId,
        now: UnixTime,
    ) -> Result<Vec<GrantRecord>, StoreError> {
        let tag = escape(user.as_str());
        let mut cmd = redis::cmd("ZRANGE");
        cmd.arg(self.inner.keys.user_index(&tag)).arg(0).arg(-1);
        let listed: Vec<Vec<u8>> = self.query(cmd).await?;
        let grants = listed
            .into_iter()
            .map(tag_from)
            .collect::<Result<Vec<_>, _>>()?;
        let records = try_join_all(grants.iter().map(|e| {
            let mut cmd = redis::cmd("HMGET");
            cmd.arg(self.inner.keys.grant(e))
                .arg("exp")
                .arg("rec")
                .arg("user");
            self.query::<(Option<Vec<u8>>, Option<Vec<u8>>, Option<Vec<u8>>)>(cmd)
        }))
        .await?;
        let mut out = Vec::new();
        for (exp, rec, owner) in records {
            // The index held candidates; the record is the truth.
            let (Some(exp), Some(rec), Some(owner)) = (exp, rec, owner) else {
                continue;
            };
            let exp =
                parse_time(&exp).ok_or_else(|| corrupt("a stored grant expiry is malformed"))?;
            if owner != tag.as_bytes() || exp.is_expired_at(now) {
                continue;
            }
            let grant: GrantRecord = decode(&rec, "grant")?;
            if grant.subject.user() == Some(user) && !grant.expires_at.is_expired_at(now) {
                out.push(grant);
            }
        }
        out.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(out)
    }

    pub(crate) async fn c_revoke_grant(&self, id: &GrantId) -> Result<(), StoreError> {
        self.c_revoke(&escape(id.as_str()), None, None)
            .await
            .map(drop)
    }

    pub(crate) async fn c_revoke_user_grants(&self, user: &UserId) -> Result<(), StoreError> {
        let tag = escape(user.as_str());
        let mut invocation = self.invoke(&self.cs().index_list, self.inner.keys.user_index(&tag));
        invocation.arg("u").arg(&tag);
        let listed = self.eval(invocation).await?;
        self.c_revoke_listed("u", &tag, listed.0).await
    }

    pub(crate) async fn c_store_tokens(
        &self,
        new_grant: Option<&GrantRecord>,
        tokens: &IssuedTokens,
    ) -> Result<(), StoreError> {
        let grant_id = new_grant.map_or(&tokens.access.grant_id, |grant| &grant.id);
        check_tokens_name(grant_id, tokens)?;
        let e = escape(grant_id.as_str());
        let mut span = Span::new();
        span.tokens(tokens, None);
        if let Some(grant) = new_grant {
            span.add(grant.expires_at, grant.created_at);
        }
        let hints = async {
            match new_grant {
                Some(grant) => self.c_grant_hints(&e, grant).await,
                None => Ok(()),
            }
        };
        let (claimed, hints, expiry) = tokio::join!(
            self.c_claim_tokens(&e, tokens, None),
            hints,
            self.c_expiry_hint(format!("grant:{e}"), &span, tokens.access.issued_at),
        );
        let claimed = claimed?;
        if let Err(error) = hints.and(expiry) {
            self.c_release(&e, claimed).await;
            return Err(error);
        }
        let mut invocation = self.on_grant(&self.cs().store_tokens, &e);
        match new_grant {
            Some(grant) => {
                invocation.arg("1");
                push_grant(&mut invocation, grant)?;
            }
            None => {
                invocation.arg("0").arg("").arg("").arg("").arg("").arg("");
            }
        }
        push_tokens(&mut invocation, tokens, None)?;
        // The grant must be live when the tokens are issued.
        invocation.arg(time(tokens.access.issued_at));
        let result = self.eval_status(invocation).await;
        if let Err(error) = &result {
            if error.kind() != oauth_core::StoreErrorKind::Unavailable {
                self.c_release(&e, claimed).await;
            }
        }
        result
    }

    pub(crate) async fn c_access_token(
        &self,
        hash: &TokenHash,
        now: UnixTime,
    ) -> Result<Option<AccessTokenWithGrant>, StoreError> {
        let Some(e) = self.c_locate("at", hash).await? else {
            return Ok(None);
        };
        let mut invocation = self.on_grant(&self.cs().access_token, &e);
        invocation.arg(hex(hash)).arg(time(now));
        let reply = self.eval(invocation).await?;
        reply.access_token(hash)
    }

    pub(crate) async fn c_revoke_access_token(&self, hash: &TokenHash) -> Result<(), StoreError> {
        let Some(e) = self.c_locate("at", hash).await? else {
            return Ok(());
        };
        let mut invocation = self.on_grant(&self.cs().revoke_access_token, &e);
        invocation.arg(hex(hash));
        // The record and its pointer, each on its slot; either gone makes the token
        // unusable, and only both done is reported as done.
        let (record, pointer) = tokio::join!(
            self.eval_status(invocation),
            self.c_drop_pointer(&e, "at", hex(hash)),
        );
        record.and(pointer)
    }

    pub(crate) async fn c_find_refresh(
        &self,
        hash: &TokenHash,
        now: UnixTime,
    ) -> Result<RefreshLookup, StoreError> {
        let Some(e) = self.c_locate("rt", hash).await? else {
            return Ok(RefreshLookup::NotFound);
        };
        let mut invocation = self.on_grant(&self.cs().find_refresh, &e);
        invocation.arg(hex(hash)).arg(time(now));
        let reply = self.eval(invocation).await?;
        reply.refresh_lookup()
    }

    /// One run of the grant-slot rotation on grant `e`.
    async fn c_rotate_on(
        &self,
        e: &str,
        old: &TokenHash,
        successor: &IssuedTokens,
        grace: Option<&RefreshGrace>,
        now: UnixTime,
    ) -> Result<Reply, StoreError> {
        let mut invocation = self.on_grant(&self.cs().rotate_refresh, e);
        invocation
            .arg(hex(old))
            .arg(time(now))
            .arg(escape(successor.access.grant_id.as_str()));
        match grace {
            Some(grace) => invocation
                .arg("1")
                .arg(&grace.sealed_successor[..])
                .arg(time(grace.until)),
            None => invocation.arg("0").arg("").arg(""),
        };
        push_tokens(&mut invocation, successor, Some(now))?;
        self.eval(invocation).await
    }

    pub(crate) async fn c_rotate_refresh(
        &self,
        old: &TokenHash,
        successor: &IssuedTokens,
        grace: Option<&RefreshGrace>,
        now: UnixTime,
    ) -> Result<RotateOutcome, StoreError> {
        check_tokens_name(&successor.access.grant_id, successor)?;
        let e = escape(successor.access.grant_id.as_str());
        let mut span = Span::new();
        span.tokens(successor, Some(now));
        let (claimed, expiry) = tokio::join!(
            self.c_claim_tokens(&e, successor, Some(now)),
            self.c_expiry_hint(format!("grant:{e}"), &span, now),
        );
        let claimed = claimed?;
        if let Err(error) = expiry {
            self.c_release(&e, claimed).await;
            return Err(error);
        }
        let mut reply = self.c_rotate_on(&e, old, successor, grace, now).await?;
        if reply.status()? == b"rotated" {
            return Ok(RotateOutcome::Rotated);
        }
        self.c_release(&e, claimed).await;
        if reply.status()? == b"notfound" {
            match self.c_locate("rt", old).await? {
                Some(other) if other != e => {
                    reply = self.c_rotate_on(&other, old, successor, grace, now).await?;
                }
                _ => return Ok(RotateOutcome::NotFound),
            }
        }
        match reply.status()? {
            b"notfound" => Ok(RotateOutcome::NotFound),
            b"reused" => {
                let record: RefreshTokenRecord = decode(reply.field(1)?, "refresh token")?;
                Ok(RotateOutcome::Reused {
                    grant_id: record.grant_id,
                })
            }
            b"rotated" => Err(corrupt("a rotation under another grant succeeded")),
            _ => Err(reply.refusal()),
        }
    }

    pub(crate) async fn c_claim_refresh_grace(
        &self,
        retired: &TokenHash,
        now: UnixTime,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(e) = self.c_locate("rt", retired).await? else {
            return Ok(None);
        };
        let mut invocation = self.on_grant(&self.cs().claim_refresh_grace, &e);
        invocation.arg(hex(retired)).arg(time(now));
        let reply = self.eval(invocation).await?;
        reply.grace()
    }

    pub(crate) async fn c_insert_once(
        &self,
        key: OnceKey,
        expires_at: UnixTime,
        now: UnixTime,
    ) -> Result<bool, StoreError> {
        let namespace = escape(key.namespace);
        let key_hex = hex(&TokenHash(key.key));
        let mut invocation = self.invoke(
            &self.cs().once_insert,
            self.inner.keys.once(&namespace, &key_hex),
        );
        invocation
            .arg(&namespace)
            .arg(&key_hex)
            .arg(time(expires_at))
            .arg(ttl_ms(expires_at, now))
            .arg(time(now));
        let mut span = Span::new();
        span.add(expires_at, now);
        // The hint may run first: purge re-checks a marker before deleting it.
        let (inserted, hint) = tokio::join!(
            self.conn()
                .run(|mut conn| async move { invocation.invoke_async::<i64>(&mut conn).await }),
            self.c_expiry_hint(format!("once:{namespace}:{key_hex}"), &span, now),
        );
        let inserted = inserted?;
        hint?;
        Ok(inserted == 1)
    }

    /// Sets an expiry-index entry to `next` (or removes it), unless a writer changed it
    /// since purge read `score`.
    async fn c_settle(&self, member: &[u8], score: &str, next: &str) -> Result<(), StoreError> {
        let mut invocation = self.invoke(&self.cs().expiry_settle, self.inner.keys.expiry());
        invocation.arg(member).arg(score).arg(next);
        self.eval_status(invocation).await
    }

    /// Purges what is expired under one expiry-index entry, within `budget`; how many
    /// records went.
    async fn c_purge_entry(
        &self,
        raw: &[u8],
        score: &str,
        now: UnixTime,
        budget: usize,
    ) -> Result<usize, StoreError> {
        // Only this store writes the index; a member that is not UTF-8 is damage, which
        // must not stop every later purge: it goes.
        let Ok(member) = std::str::from_utf8(raw) else {
            self.c_settle(raw, score, "").await?;
            return Ok(0);
        };
        let count = |bytes: &[u8]| {
            std::str::from_utf8(bytes)
                .ok()
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or_else(|| corrupt("a purge script answered with a malformed count"))
        };
        if let Some(e) = member.strip_prefix("grant:") {
            if !valid_tag(e) {
                self.c_settle(raw, score, "").await?;
                return Ok(0);
            }
            let mut invocation = self.on_grant(&self.cs().purge, e);
            invocation.arg(time(now)).arg(budget);
            let reply = self.eval(invocation).await?;
            let removed = count(reply.field(1)?)?;
            let members = reply.0.get(5..).unwrap_or_default();
            match reply.status()? {
                b"live" => {
                    let next = String::from_utf8_lossy(reply.field(2)?).into_owned();
                    let (unlink, settle) = tokio::join!(
                        self.c_unlink(e, members, "", ""),
                        self.c_settle(raw, score, &next),
                    );
                    unlink.and(settle)?;
                }
                b"more" => self.c_unlink(e, members, "", "").await?,
                b"gone" => {
                    let user = String::from_utf8_lossy(reply.field(3)?).into_owned();
                    let client = String::from_utf8_lossy(reply.field(4)?).into_owned();
                    let (unlink, settle) = tokio::join!(
                        self.c_unlink(e, members, &user, &client),
                        self.c_settle(raw, score, ""),
                    );
                    unlink.and(settle)?;
                }
                _ => return Err(reply.refusal()),
            }
            return Ok(removed);
        }
        let once = member
            .strip_prefix("once:")
            .and_then(|rest| rest.split_once(':'))
            .filter(|(ns, key)| valid_tag(ns) && key.bytes().all(|b| b.is_ascii_hexdigit()));
        let Some((namespace, key_hex)) = once else {
            self.c_settle(raw, score, "").await?;
            return Ok(0);
        };
        let mut invocation = self.invoke(
            &self.cs().once_purge,
            self.inner.keys.once(namespace, key_hex),
        );
        invocation.arg(namespace).arg(key_hex).arg(time(now));
        let reply = self.eval(invocation).await?;
        let removed = count(reply.field(1)?)?;
        match reply.status()? {
            b"gone" => self.c_settle(raw, score, "").await?,
            b"live" => {
                let next = String::from_utf8_lossy(reply.field(2)?).into_owned();
                self.c_settle(raw, score, &next).await?;
            }
            _ => return Err(reply.refusal()),
        }
        Ok(removed)
    }

    pub(crate) async fn c_purge_expired(
        &self,
        now: UnixTime,
        limit: usize,
    ) -> Result<usize, StoreError> {
        let mut removed = 0usize;
        let mut examined = 0usize;
        let mut pages = 0usize;
        while removed < limit && examined < PURGE_EXAMINE && pages < PURGE_MAX_SCRIPTS {
            pages += 1;
            let mut cmd = redis::cmd("ZRANGEBYSCORE");
            cmd.arg(self.inner.keys.expiry())
                .arg("-inf")
                .arg(time(now))
                .arg("WITHSCORES")
                .arg("LIMIT")
                .arg(0)
                .arg(PURGE_PAGE);
            let entries: Vec<(Vec<u8>, String)> = self.query(cmd).await?;
            if entries.is_empty() {
                break;
            }
            for (member, score) in entries {
                let budget = limit.saturating_sub(removed).min(PURGE_BATCH);
                if budget == 0 || examined >= PURGE_EXAMINE {
                    break;
                }
                examined += 1;
                let n = self.c_purge_entry(&member, &score, now, budget).await?;
                removed = removed.saturating_add(n);
            }
        }
        Ok(removed)
    }
}
