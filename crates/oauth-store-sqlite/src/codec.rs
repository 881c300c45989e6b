//! Records to columns and back.
//!
//! Scalars are real columns (ids and names as `TEXT`, times as `INTEGER` Unix seconds,
//! hashes and sealed values as `BLOB`); list-valued fields (redirect URIs, grant types,
//! resources, descriptive metadata) are JSON text, since nothing ever queries inside
//! them. Each `*_COLUMNS` list below is read back, in that order, by the decoder beside
//! it; the table aliases (`g`, `c`, `a`, `r`) are the ones every query uses.

use oauth_core::crypto::{SealedProps, WrappedPropsKey};
use oauth_core::model::{
    AccessTokenRecord, AuthMethod, Client, ClientId, CodeRecord, GrantId, GrantRecord,
    RefreshTokenRecord, SecretDigest, Subject, UserId,
};
use oauth_core::pkce::CodeChallenge;
use oauth_core::{KeyId, StoreError, TokenHash, UnixTime};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Decode, Row, Sqlite, Type};

use crate::error::{classify, corrupt, misuse};

/// A query with its arguments, as the binders below extend it.
pub(crate) type Query<'q> = sqlx::query::Query<'q, Sqlite, SqliteArguments<'q>>;

// ---- scalars ----

/// A time as SQLite stores and compares it. SQLite integers are signed 64-bit; a later
/// time (after the year 292 billion: a saturated "never") becomes `i64::MAX`. Saturating
/// keeps every comparison exact: `expires_at > now` means the same for any two times at
/// or above `i64::MAX`.
pub(crate) fn db_time(time: UnixTime) -> i64 {
    i64::try_from(time.0).unwrap_or(i64::MAX)
}

/// A row limit for SQL `LIMIT`, saturating (SQLite's limits are signed 64-bit).
pub(crate) fn query_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

fn loaded_time(seconds: i64) -> Result<UnixTime, StoreError> {
    u64::try_from(seconds)
        .map(UnixTime)
        .map_err(|_| corrupt("a stored timestamp is negative"))
}

fn loaded_hash(bytes: Vec<u8>) -> Result<TokenHash, StoreError> {
    <[u8; 32]>::try_from(bytes)
        .map(TokenHash)
        .map_err(|_| corrupt("a stored hash is not 32 bytes"))
}

/// A value as JSON text.
fn json<T: Serialize + ?Sized>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|_| misuse("a record field could not be encoded as JSON"))
}

fn from_json<T: DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|_| corrupt("a stored JSON field is malformed"))
}

/// A value whose serde form is a string (names of enums, scopes), from its text.
fn from_text<T: DeserializeOwned>(text: String) -> Result<T, StoreError> {
    serde_json::from_value(serde_json::Value::String(text))
        .map_err(|_| corrupt("a stored name or scope is malformed"))
}

fn key_id(text: String) -> Result<KeyId, StoreError> {
    KeyId::new(text).map_err(|_| corrupt("a stored key id is malformed"))
}

fn digest(
    key_id_text: Option<String>,
    hash: Option<Vec<u8>>,
) -> Result<Option<SecretDigest>, StoreError> {
    match (key_id_text, hash) {
        (Some(id), Some(hash)) => Ok(Some(SecretDigest {
            key_id: key_id(id)?,
            hash: loaded_hash(hash)?,
        })),
        (None, None) => Ok(None),
        _ => Err(corrupt("a stored digest lacks its key id or its hash")),
    }
}

// ---- reading rows ----

/// Reads a row's columns in order, so a decoder mirrors its column list.
pub(crate) struct Columns<'r> {
    row: &'r SqliteRow,
    next: usize,
}

impl<'r> Columns<'r> {
    pub(crate) fn new(row: &'r SqliteRow) -> Self {
        Columns { row, next: 0 }
    }

    /// The next column, decoded as `T`.
    pub(crate) fn next<T>(&mut self) -> Result<T, StoreError>
    where
        T: Decode<'r, Sqlite> + Type<Sqlite>,
    {
        let index = self.next;
        self.next += 1;
        self.row.try_get(index).map_err(classify)
    }

    pub(crate) fn time(&mut self) -> Result<UnixTime, StoreError> {
        loaded_time(self.next()?)
    }

    pub(crate) fn optional_time(&mut self) -> Result<Option<UnixTime>, StoreError> {
        self.next::<Option<i64>>()?.map(loaded_time).transpose()
    }

    fn hash(&mut self) -> Result<TokenHash, StoreError> {
        loaded_hash(self.next()?)
    }

    fn text<T: DeserializeOwned>(&mut self) -> Result<T, StoreError> {
        from_text(self.next()?)
    }

    fn json<T: DeserializeOwned>(&mut self) -> Result<T, StoreError> {
        from_json(&self.next::<String>()?)
    }

    fn props_key(&mut self) -> Result<Option<WrappedPropsKey>, StoreError> {
        Ok(self.next::<Option<Vec<u8>>>()?.map(WrappedPropsKey))
    }
}

// ---- clients ----

pub(crate) const CLIENT_COLUMNS: &str = "id, auth_method, secret_key_id, secret_hash, \
     secret_expires_at, redirect_uris, grant_types, scope, name, created_at, metadata, \
     registration_key_id, registration_hash";

pub(crate) fn decode_client(columns: &mut Columns<'_>) -> Result<Client, StoreError> {
    Ok(Client {
        id: ClientId::new(columns.next::<String>()?),
        auth_method: columns.text::<AuthMethod>()?,
        secret: {
            let key = columns.next()?;
            digest(key, columns.next()?)?
        },
        secret_expires_at: columns.optional_time()?,
        redirect_uris: columns.json()?,
        grant_types: columns.json()?,
        scope: columns
            .next::<Option<String>>()?
            .map(from_text)
            .transpose()?,
        name: columns.next()?,
        created_at: columns.time()?,
        metadata: columns.json()?,
        registration_token: {
            let key = columns.next()?;
            digest(key, columns.next()?)?
        },
    })
}

/// Binds the columns of [`CLIENT_COLUMNS`], in order.
pub(crate) fn bind_client<'q>(
    query: Query<'q>,
    client: &'q Client,
) -> Result<Query<'q>, StoreError> {
    let (secret_key, secret_hash) = split_digest(client.secret.as_ref());
    let (registration_key, registration_hash) = split_digest(client.registration_token.as_ref());
    Ok(query
        .bind(client.id.as_str())
        .bind(client.auth_method.as_str())
        .bind(secret_key)
        .bind(secret_hash)
        .bind(client.secret_expires_at.map(db_time))
        .bind(json(&client.redirect_uris)?)
        .bind(json(&client.grant_types)?)
        .bind(client.scope.as_ref().map(ToString::to_string))
        .bind(client.name.as_deref())
        .bind(db_time(client.created_at))
        .bind(json(&client.metadata)?)
        .bind(registration_key)
        .bind(registration_hash))
}

fn split_digest(digest: Option<&SecretDigest>) -> (Option<&str>, Option<&[u8]>) {
    match digest {
        Some(digest) => (Some(digest.key_id.as_str()), Some(&digest.hash.0[..])),
        None => (None, None),
    }
}

// ---- grants ----

pub(crate) const GRANT_COLUMNS: &str = "g.id, g.subject_kind, g.user_id, g.client_id, \
     g.scope, g.resources, g.props, g.created_at, g.expires_at";

pub(crate) fn decode_grant(columns: &mut Columns<'_>) -> Result<GrantRecord, StoreError> {
    let id = GrantId::new(columns.next::<String>()?);
    let kind: String = columns.next()?;
    let user: Option<String> = columns.next()?;
    let subject = match (kind.as_str(), user) {
        ("user", Some(user)) => Subject::User(UserId::new(user)),
        ("client", None) => Subject::Client,
        _ => return Err(corrupt("a stored grant subject is inconsistent")),
    };
    Ok(GrantRecord {
        id,
        subject,
        client_id: ClientId::new(columns.next::<String>()?),
        scope: columns.text()?,
        resources: columns.json()?,
        props: columns.next::<Option<Vec<u8>>>()?.map(SealedProps),
        created_at: columns.time()?,
        expires_at: columns.time()?,
    })
}

pub(crate) fn bind_grant<'q>(
    query: Query<'q>,
    grant: &'q GrantRecord,
) -> Result<Query<'q>, StoreError> {
    let (kind, user) = match &grant.subject {
        Subject::User(user) => ("user", Some(user.as_str())),
        Subject::Client => ("client", None),
    };
    Ok(query
        .bind(grant.id.as_str())
        .bind(kind)
        .bind(user)
        .bind(grant.client_id.as_str())
        .bind(grant.scope.to_string())
        .bind(json(&grant.resources)?)
        .bind(grant.props.as_ref().map(|props| &props.0[..]))
        .bind(db_time(grant.created_at))
        .bind(db_time(grant.expires_at)))
}

// ---- codes ----

pub(crate) const CODE_COLUMNS: &str = "c.hash, c.grant_id, c.client_id, c.redirect_uri, \
     c.redirect_uri_in_request, c.challenge_method, c.challenge, c.scope, c.resources, \
     c.props_key, c.grant_expires_at, c.expires_at";

pub(crate) fn decode_code(columns: &mut Columns<'_>) -> Result<CodeRecord, StoreError> {
    Ok(CodeRecord {
        hash: columns.hash()?,
        grant_id: GrantId::new(columns.next::<String>()?),
        client_id: ClientId::new(columns.next::<String>()?),
        redirect_uri: columns.next()?,
        redirect_uri_in_request: columns.next()?,
        challenge: {
            let method: Option<String> = columns.next()?;
            let value: Option<String> = columns.next()?;
            match (method, value) {
                (Some(method), Some(value)) => Some(CodeChallenge {
                    method: from_text(method)?,
                    value,
                }),
                (None, None) => None,
                _ => return Err(corrupt("a stored code challenge lacks its method or value")),
            }
        },
        scope: columns.text()?,
        resources: columns.json()?,
        props_key: columns.props_key()?,
        grant_expires_at: columns.time()?,
        expires_at: columns.time()?,
    })
}

pub(crate) fn bind_code<'q>(
    query: Query<'q>,
    code: &'q CodeRecord,
) -> Result<Query<'q>, StoreError> {
    let (method, challenge) = match &code.challenge {
        Some(challenge) => (
            Some(challenge.method.as_str()),
            Some(challenge.value.as_str()),
        ),
        None => (None, None),
    };
    Ok(query
        .bind(&code.hash.0[..])
        .bind(code.grant_id.as_str())
        .bind(code.client_id.as_str())
        .bind(code.redirect_uri.as_str())
        .bind(code.redirect_uri_in_request)
        .bind(method)
        .bind(challenge)
        .bind(code.scope.to_string())
        .bind(json(&code.resources)?)
        .bind(code.props_key.as_ref().map(|key| &key.0[..]))
        .bind(db_time(code.grant_expires_at))
        .bind(db_time(code.expires_at)))
}

// ---- access tokens ----

pub(crate) const ACCESS_COLUMNS: &str = "a.hash, a.grant_id, a.client_id, a.scope, \
     a.audience, a.props_key, a.issued_at, a.expires_at";

pub(crate) fn decode_access(columns: &mut Columns<'_>) -> Result<AccessTokenRecord, StoreError> {
    Ok(AccessTokenRecord {
        hash: columns.hash()?,
        grant_id: GrantId::new(columns.next::<String>()?),
        client_id: ClientId::new(columns.next::<String>()?),
        scope: columns.text()?,
        audience: columns.json()?,
        props_key: columns.props_key()?,
        issued_at: columns.time()?,
        expires_at: columns.time()?,
    })
}

pub(crate) fn bind_access<'q>(
    query: Query<'q>,
    token: &'q AccessTokenRecord,
) -> Result<Query<'q>, StoreError> {
    Ok(query
        .bind(&token.hash.0[..])
        .bind(token.grant_id.as_str())
        .bind(token.client_id.as_str())
        .bind(token.scope.to_string())
        .bind(json(&token.audience)?)
        .bind(token.props_key.as_ref().map(|key| &key.0[..]))
        .bind(db_time(token.issued_at))
        .bind(db_time(token.expires_at)))
}

// ---- refresh tokens ----

pub(crate) const REFRESH_COLUMNS: &str = "r.hash, r.grant_id, r.client_id, r.scope, \
     r.resources, r.props_key, r.issued_at, r.grant_expires_at, r.expires_at";

pub(crate) fn decode_refresh(columns: &mut Columns<'_>) -> Result<RefreshTokenRecord, StoreError> {
    Ok(RefreshTokenRecord {
        hash: columns.hash()?,
        grant_id: GrantId::new(columns.next::<String>()?),
        client_id: ClientId::new(columns.next::<String>()?),
        scope: columns.text()?,
        resources: columns.json()?,
        props_key: columns.props_key()?,
        issued_at: columns.time()?,
        grant_expires_at: columns.time()?,
        expires_at: columns.time()?,
    })
}

pub(crate) fn bind_refresh<'q>(
    query: Query<'q>,
    token: &'q RefreshTokenRecord,
) -> Result<Query<'q>, StoreError> {
    Ok(query
        .bind(&token.hash.0[..])
        .bind(token.grant_id.as_str())
        .bind(token.client_id.as_str())
        .bind(token.scope.to_string())
        .bind(json(&token.resources)?)
        .bind(token.props_key.as_ref().map(|key| &key.0[..]))
        .bind(db_time(token.issued_at))
        .bind(db_time(token.grant_expires_at))
        .bind(db_time(token.expires_at)))
}

/// `?1, ?2, ..., ?n`: the placeholders for an insert of `n` columns.
pub(crate) fn placeholders(n: usize) -> String {
    (1..=n)
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How many columns a column list names.
pub(crate) fn column_count(columns: &str) -> usize {
    columns.split(',').count()
}

/// A column list without its table alias (`g.id, g.scope` → `id, scope`), for inserts.
pub(crate) fn unaliased(columns: &str) -> String {
    columns
        .split(',')
        .map(|column| {
            let column = column.trim();
            column.split_once('.').map_or(column, |(_, name)| name)
        })
        .collect::<Vec<_>>()
        .join(", ")
}
