//! What the run has issued, and what the protocol says about each item now.
//!
//! The model is written from the specification of the library (OAuth 2.1, RFC 7009,
//! RFC 7662, and the documented choices of `oauth-core` and its store contract), not from
//! its code: a code is redeemable once within its lifetime and a replay revokes its grant
//! while the code's record lives; a refresh token is usable until rotated, expired or its
//! grant ends; a retired refresh token presented by its client revokes the grant while
//! its record lives (until the token's own expiry); nothing outlives its grant.

use std::collections::{BTreeSet, HashMap};

use oauth_core::model::GrantId;

/// Why a grant was revoked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum RevokedBy {
    /// A redeemed code was redeemed again (OAuth 2.1 §4.1.3, §7.5.2).
    CodeReplay,
    /// A retired refresh token was presented again by its client (OAuth 2.1 §4.3.1).
    RefreshReuse,
    /// Its client revoked a refresh token of it (RFC 7009 §2.1).
    RefreshRevoked,
    /// The host revoked it ([`Provider::revoke_grant`](oauth_core::Provider::revoke_grant)).
    Host,
}

/// Why a credential is not usable (or that it is).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Status {
    /// Usable.
    Live,
    /// Its grant was revoked.
    GrantRevoked(RevokedBy),
    /// The access token itself was revoked.
    Revoked,
    /// The refresh token was rotated.
    Retired,
    /// Its own lifetime is over.
    Expired,
    /// Its grant's lifetime is over (before its own would have been).
    GrantExpired,
}

impl Status {
    pub(crate) fn is_live(self) -> bool {
        self == Status::Live
    }
}

/// The state of a code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CodeState {
    /// Redeemable.
    Active,
    /// Redeemed, and its record (the tombstone) still there: a valid replay revokes.
    Used,
    /// Expired, or its grant revoked: unknown to the server.
    Gone,
}

#[derive(Debug)]
pub(crate) struct ClientM {
    pub(crate) id: String,
    pub(crate) secret: Option<String>,
}

impl ClientM {
    pub(crate) fn is_public(&self) -> bool {
        self.secret.is_none()
    }
}

#[derive(Debug)]
pub(crate) struct GrantM {
    pub(crate) id: GrantId,
    pub(crate) user: usize,
    pub(crate) client: usize,
    pub(crate) scope: BTreeSet<String>,
    pub(crate) props: Option<serde_json::Value>,
    pub(crate) expires_at: u64,
    pub(crate) revoked: Option<RevokedBy>,
    pub(crate) latest_refresh: Option<usize>,
}

#[derive(Debug)]
pub(crate) struct CodeM {
    pub(crate) value: String,
    pub(crate) verifier: String,
    pub(crate) client: usize,
    pub(crate) grant: usize,
    pub(crate) expires_at: u64,
    pub(crate) redeemed: bool,
}

#[derive(Debug)]
pub(crate) struct AccessM {
    pub(crate) value: String,
    pub(crate) grant: usize,
    pub(crate) client: usize,
    /// Its expiry as issued: the lifetime, cut at the grant's end.
    pub(crate) expires_at: u64,
    /// Its expiry by its own lifetime alone.
    pub(crate) natural_expiry: u64,
    pub(crate) revoked: bool,
}

#[derive(Debug)]
pub(crate) struct RefreshM {
    pub(crate) value: String,
    pub(crate) grant: usize,
    pub(crate) client: usize,
    pub(crate) expires_at: u64,
    pub(crate) natural_expiry: u64,
    pub(crate) retired: bool,
}

/// What a seen value is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Seen {
    Code(usize),
    Access(usize),
    Refresh(usize),
    ClientSecret(usize),
    /// A PKCE verifier (right or wrong): never echoed.
    Verifier,
    /// A secret inside a grant's props: never in any response.
    PropsSecret,
}

/// Every value the run has seen that is a secret: never echoed where it should not be.
#[derive(Debug)]
pub(crate) struct SeenValue {
    pub(crate) value: String,
    pub(crate) what: Seen,
}

/// Which credentials are usable, for comparing before and after a step.
#[derive(Debug)]
pub(crate) struct Snapshot {
    pub(crate) access: Vec<Status>,
    pub(crate) refresh: Vec<Status>,
    pub(crate) codes: Vec<CodeState>,
}

#[derive(Debug, Default)]
pub(crate) struct Model {
    pub(crate) now: u64,
    pub(crate) clients: Vec<ClientM>,
    pub(crate) grants: Vec<GrantM>,
    pub(crate) codes: Vec<CodeM>,
    pub(crate) access: Vec<AccessM>,
    pub(crate) refresh: Vec<RefreshM>,
    pub(crate) seen: Vec<SeenValue>,
    /// The seen values by their first [`KEY`] bytes (every secret is longer).
    seen_index: HashMap<[u8; KEY], Vec<usize>>,
    /// The grants by id.
    grant_ids: HashMap<String, usize>,
}

/// The length of the prefix the seen values are indexed by.
const KEY: usize = 8;

fn key_of(bytes: &[u8]) -> Option<[u8; KEY]> {
    bytes.get(..KEY).and_then(|k| k.try_into().ok())
}

/// The `n`-th candidate counted from the newest, modulo their number.
pub(crate) fn newest<T: Copy>(candidates: &[T], n: u8) -> Option<T> {
    if candidates.is_empty() {
        return None;
    }
    let back = usize::from(n) % candidates.len();
    candidates.get(candidates.len() - 1 - back).copied()
}

impl Model {
    /// An empty model at `now`.
    pub(crate) fn starting_at(now: u64) -> Model {
        Model {
            now,
            ..Model::default()
        }
    }

    fn grant_status(&self, grant: usize) -> Option<Status> {
        let g = &self.grants[grant];
        g.revoked.map(Status::GrantRevoked)
    }

    /// Whether a grant is live (not revoked, not expired).
    pub(crate) fn grant_live(&self, grant: usize) -> bool {
        let g = &self.grants[grant];
        g.revoked.is_none() && self.now < g.expires_at
    }

    pub(crate) fn access_status(&self, i: usize) -> Status {
        let a = &self.access[i];
        if let Some(status) = self.grant_status(a.grant) {
            return status;
        }
        if a.revoked {
            Status::Revoked
        } else if self.now >= a.natural_expiry {
            Status::Expired
        } else if self.now >= self.grants[a.grant].expires_at {
            Status::GrantExpired
        } else {
            Status::Live
        }
    }

    pub(crate) fn refresh_status(&self, i: usize) -> Status {
        let r = &self.refresh[i];
        if let Some(status) = self.grant_status(r.grant) {
            return status;
        }
        if r.retired {
            Status::Retired
        } else if self.now >= r.natural_expiry {
            Status::Expired
        } else if self.now >= self.grants[r.grant].expires_at {
            Status::GrantExpired
        } else {
            Status::Live
        }
    }

    /// Whether presenting this retired refresh token again is a reuse the server still
    /// recognizes (its record kept until the token's own expiry, its grant not revoked).
    pub(crate) fn refresh_tombstoned(&self, i: usize) -> bool {
        let r = &self.refresh[i];
        r.retired && self.grants[r.grant].revoked.is_none() && self.now < r.expires_at
    }

    pub(crate) fn code_state(&self, i: usize) -> CodeState {
        let c = &self.codes[i];
        if self.grants[c.grant].revoked.is_some() || self.now >= c.expires_at {
            CodeState::Gone
        } else if c.redeemed {
            CodeState::Used
        } else if self.now >= self.grants[c.grant].expires_at {
            CodeState::Gone
        } else {
            CodeState::Active
        }
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        Snapshot {
            access: (0..self.access.len())
                .map(|i| self.access_status(i))
                .collect(),
            refresh: (0..self.refresh.len())
                .map(|i| self.refresh_status(i))
                .collect(),
            codes: (0..self.codes.len()).map(|i| self.code_state(i)).collect(),
        }
    }

    /// The live grants of `user`, by id.
    pub(crate) fn live_grants_of(&self, user: usize) -> BTreeSet<String> {
        (0..self.grants.len())
            .filter(|g| self.grants[*g].user == user && self.grant_live(*g))
            .map(|g| self.grants[g].id.as_str().to_owned())
            .collect()
    }

    pub(crate) fn grant_by_id(&self, id: &str) -> Option<usize> {
        self.grant_ids.get(id).copied()
    }

    pub(crate) fn add_grant(&mut self, grant: GrantM) {
        self.grant_ids
            .insert(grant.id.as_str().to_owned(), self.grants.len());
        self.grants.push(grant);
    }

    pub(crate) fn revoke_grant(&mut self, grant: usize, by: RevokedBy) {
        let g = &mut self.grants[grant];
        if g.revoked.is_none() {
            g.revoked = Some(by);
        }
    }

    pub(crate) fn is_seen(&self, value: &str) -> bool {
        key_of(value.as_bytes())
            .and_then(|key| self.seen_index.get(&key))
            .is_some_and(|list| list.iter().any(|i| self.seen[*i].value == value))
    }

    pub(crate) fn see(&mut self, value: &str, what: Seen) {
        let key = key_of(value.as_bytes()).expect("every secret of a run is 8 bytes or longer");
        self.seen_index
            .entry(key)
            .or_default()
            .push(self.seen.len());
        self.seen.push(SeenValue {
            value: value.to_owned(),
            what,
        });
    }

    /// The first seen value that occurs in `text` and is not `allowed`.
    pub(crate) fn find_seen_in(&self, text: &[u8], allowed: &[&str]) -> Option<&SeenValue> {
        (0..text.len()).find_map(|at| {
            let candidates = key_of(&text[at..]).and_then(|key| self.seen_index.get(&key))?;
            candidates.iter().map(|i| &self.seen[*i]).find(|seen| {
                text[at..].starts_with(seen.value.as_bytes())
                    && !allowed.contains(&seen.value.as_str())
            })
        })
    }

    /// The client a seen value belongs to, if any.
    pub(crate) fn owner_of(&self, what: Seen) -> Option<usize> {
        match what {
            Seen::Code(i) => Some(self.codes[i].client),
            Seen::Access(i) => Some(self.access[i].client),
            Seen::Refresh(i) => Some(self.refresh[i].client),
            Seen::ClientSecret(i) => Some(i),
            Seen::Verifier | Seen::PropsSecret => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_leak_search_finds_every_seen_value_anywhere_except_the_allowed_ones() {
        let mut model = Model::starting_at(0);
        let secret = "oa2cs_SECRETSECRETSECRET";
        let token = "oa2rt_TOKENTOKENTOKEN";
        let sibling = "oa2rt_TOKENTOKENOTHER";
        model.see(secret, Seen::ClientSecret(0));
        model.see(token, Seen::Refresh(0));
        model.see(sibling, Seen::Refresh(1));
        assert!(model.is_seen(token) && !model.is_seen("oa2rt_TOKENTOKENTOKEX"));
        for text in [
            format!("{{\"error\":\"invalid_grant\",\"x\":\"{secret}\"}}"),
            secret.to_owned(),
            format!("location: https://c.example/cb?code=1&t={token}"),
            format!("www-authenticate: Bearer error=\"{token}\""),
        ] {
            assert!(model.find_seen_in(text.as_bytes(), &[]).is_some(), "{text}");
        }
        // A value is found even right after a longer value sharing its prefix.
        let found = model.find_seen_in(sibling.as_bytes(), &[token]);
        assert_eq!(found.map(|s| s.what), Some(Seen::Refresh(1)));
        // Allowed values (the ones a response issues) are not leaks; near misses neither.
        let issued = format!("{{\"refresh_token\":\"{token}\"}}");
        assert!(model.find_seen_in(issued.as_bytes(), &[token]).is_none());
        assert!(model
            .find_seen_in(b"oa2rt_TOKENTOKENTOKE oa2cs_SECRET", &[])
            .is_none());
        assert!(model.find_seen_in(b"short", &[]).is_none());
    }
}
