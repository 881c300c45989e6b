//! Records written by an earlier version of this crate stay readable: the fixtures below
//! are committed byte for byte as format 1 wrote them (and one client record as written
//! before `oauth-core` added RFC 7591 metadata to clients). Each is put on the server
//! under the documented key layout and read back through the store. A record of a format
//! this code does not know is refused as corrupt, never half-read.

mod common;

use oauth_core::crypto::{KeyId, SealedProps, WrappedPropsKey};
use oauth_core::model::{
    AccessTokenRecord, AuthMethod, Client, ClientId, ClientMetadata, CodeRecord, GrantId,
    GrantRecord, GrantType, RefreshTokenRecord, SecretDigest, Subject, UserId,
};
use oauth_core::pkce::{CodeChallenge, CodeChallengeMethod};
use oauth_core::resource::{Resource, ResourceSet};
use oauth_core::scope::Scope;
use oauth_core::store::{CodeLookup, RefreshLookup};
use oauth_core::{Store, StoreErrorKind, TokenHash, UnixTime};
use oauth_store_redis::redis;

// ---- format 1, as written by oauth-store-redis 0.1 (do not edit: these pin the format) ----

/// A client written before clients carried `metadata` and `registration_token`.
const CLIENT_BEFORE_METADATA: &str = r#"{"v":1,"record":{"id":"client-1","auth_method":"client_secret_basic","secret":{"key_id":"k1","hash":[68,68,68,68,68,68,68,68,68,68,68,68,68,68,68,68,68,68,68,68,68,68,68,68,68,68,68,68,68,68,68,68]},"secret_expires_at":null,"redirect_uris":["https://app.example.com/cb"],"grant_types":["authorization_code","refresh_token"],"scope":"read write","name":"App","created_at":1700000000}}"#;

/// A grant (`P:{g:grant-1}:grant` field `rec`).
const GRANT_V1: &str = r#"{"v":1,"record":{"id":"grant-1","subject":{"kind":"user","id":"alice@example.com"},"client_id":"client-1","scope":"read write","resources":["https://api.example.com/mcp"],"props":[1,2,3],"created_at":1700000000,"expires_at":1700086400}}"#;

/// A code (`P:{g:grant-1}:code:11..11` field `rec`).
const CODE_V1: &str = r#"{"v":1,"record":{"hash":[17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17,17],"grant_id":"grant-1","client_id":"client-1","redirect_uri":"https://app.example.com/cb","redirect_uri_in_request":true,"challenge":{"method":"S256","value":"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"},"scope":"read","resources":["https://api.example.com/mcp"],"props_key":[4,5],"grant_expires_at":1700086400,"expires_at":1700000600}}"#;

/// An access token (`P:{g:grant-1}:at:22..22` field `rec`).
const ACCESS_V1: &str = r#"{"v":1,"record":{"hash":[34,34,34,34,34,34,34,34,34,34,34,34,34,34,34,34,34,34,34,34,34,34,34,34,34,34,34,34,34,34,34,34],"grant_id":"grant-1","client_id":"client-1","scope":"read","audience":["https://api.example.com/mcp"],"props_key":null,"issued_at":1700000000,"expires_at":1700003600}}"#;

/// A refresh token (`P:{g:grant-1}:rt:33..33` field `rec`).
const REFRESH_V1: &str = r#"{"v":1,"record":{"hash":[51,51,51,51,51,51,51,51,51,51,51,51,51,51,51,51,51,51,51,51,51,51,51,51,51,51,51,51,51,51,51,51],"grant_id":"grant-1","client_id":"client-1","scope":"read","resources":["https://api.example.com/mcp"],"props_key":[6],"issued_at":1700000000,"grant_expires_at":1700086400,"expires_at":1700007200}}"#;

const NOW: UnixTime = UnixTime(1_700_000_000);

fn resources() -> ResourceSet {
    std::iter::once(Resource::parse("https://api.example.com/mcp").unwrap()).collect()
}

fn grant() -> GrantRecord {
    GrantRecord {
        id: GrantId::new("grant-1"),
        subject: Subject::User(UserId::new("alice@example.com")),
        client_id: ClientId::new("client-1"),
        scope: Scope::parse("read write").unwrap(),
        resources: resources(),
        props: Some(SealedProps(vec![1, 2, 3])),
        created_at: NOW,
        expires_at: NOW.plus(86_400),
    }
}

fn code() -> CodeRecord {
    CodeRecord {
        hash: TokenHash([0x11; 32]),
        grant_id: GrantId::new("grant-1"),
        client_id: ClientId::new("client-1"),
        redirect_uri: "https://app.example.com/cb".to_owned(),
        redirect_uri_in_request: true,
        challenge: Some(CodeChallenge {
            method: CodeChallengeMethod::S256,
            value: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".to_owned(),
        }),
        scope: Scope::parse("read").unwrap(),
        resources: resources(),
        props_key: Some(WrappedPropsKey(vec![4, 5])),
        grant_expires_at: NOW.plus(86_400),
        expires_at: NOW.plus(600),
    }
}

fn access() -> AccessTokenRecord {
    AccessTokenRecord {
        hash: TokenHash([0x22; 32]),
        grant_id: GrantId::new("grant-1"),
        client_id: ClientId::new("client-1"),
        scope: Scope::parse("read").unwrap(),
        audience: resources(),
        props_key: None,
        issued_at: NOW,
        expires_at: NOW.plus(3_600),
    }
}

fn refresh() -> RefreshTokenRecord {
    RefreshTokenRecord {
        hash: TokenHash([0x33; 32]),
        grant_id: GrantId::new("grant-1"),
        client_id: ClientId::new("client-1"),
        scope: Scope::parse("read").unwrap(),
        resources: resources(),
        props_key: Some(WrappedPropsKey(vec![6])),
        issued_at: NOW,
        grant_expires_at: NOW.plus(86_400),
        expires_at: NOW.plus(7_200),
    }
}

fn client() -> Client {
    Client {
        id: ClientId::new("client-1"),
        auth_method: AuthMethod::ClientSecretBasic,
        secret: Some(SecretDigest {
            key_id: KeyId::new("k1").unwrap(),
            hash: TokenHash([0x44; 32]),
        }),
        secret_expires_at: None,
        redirect_uris: vec!["https://app.example.com/cb".to_owned()],
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        scope: Some(Scope::parse("read write").unwrap()),
        name: Some("App".to_owned()),
        created_at: NOW,
        metadata: ClientMetadata::default(),
        registration_token: None,
    }
}

#[tokio::test]
#[ignore = "prints the current encodings, to make new fixtures when the format changes"]
async fn print_current_encodings() {
    let prefix = common::fresh_prefix();
    let _cleanup = common::Cleanup(prefix.clone());
    let store = common::connect(&prefix).await;
    store.put_client(&client()).await.unwrap();
    store
        .create_grant_with_code(&grant(), &code())
        .await
        .unwrap();
    let tokens = oauth_core::model::IssuedTokens {
        access: access(),
        refresh: Some(refresh()),
    };
    store.store_tokens(None, &tokens).await.unwrap();
    let mut conn = common::raw().await;
    for key in common::keys_of(&prefix).await {
        let kind: String = redis::cmd("TYPE")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        let value: redis::Value = match kind.as_str() {
            "hash" => redis::cmd("HGETALL")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .unwrap(),
            "string" => redis::cmd("GET")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .unwrap(),
            _ => continue,
        };
        println!("{key} => {value:?}");
    }
}

/// Puts the fixtures on the server as format 1 laid them out, under `prefix`.
async fn put_fixtures(prefix: &str, code_used: bool, refresh_retired: bool) {
    let mut conn = common::raw().await;
    let hex = |b: u8| format!("{b:02x}").repeat(32);
    let g = format!("{prefix}:{{g:grant-1}}");
    let mut pipe = redis::pipe();
    pipe.cmd("SET")
        .arg(format!("{prefix}:{{c:client-1}}:client"))
        .arg(CLIENT_BEFORE_METADATA)
        .ignore();
    pipe.cmd("HSET")
        .arg(format!("{g}:grant"))
        .arg("exp")
        .arg("00000000001700086400")
        .arg("rec")
        .arg(GRANT_V1)
        .arg("user")
        .arg("alice%40example.com")
        .arg("client")
        .arg("client-1")
        .ignore();
    pipe.cmd("HSET")
        .arg(format!("{g}:code:{}", hex(0x11)))
        .arg("exp")
        .arg("00000000001700000600")
        .arg("used")
        .arg(if code_used { "1" } else { "0" })
        .arg("rec")
        .arg(CODE_V1)
        .ignore();
    pipe.cmd("HSET")
        .arg(format!("{g}:at:{}", hex(0x22)))
        .arg("exp")
        .arg("00000000001700003600")
        .arg("rec")
        .arg(ACCESS_V1)
        .ignore();
    let mut rt = redis::cmd("HSET");
    rt.arg(format!("{g}:rt:{}", hex(0x33)))
        .arg("exp")
        .arg("00000000001700007200")
        .arg("rec")
        .arg(REFRESH_V1);
    if refresh_retired {
        rt.arg("retired").arg("00000000001700000100");
    }
    pipe.add_command(rt).ignore();
    for (kind, byte) in [("code", 0x11), ("at", 0x22), ("rt", 0x33)] {
        pipe.cmd("SET")
            .arg(format!("{prefix}:loc:{kind}:{}", hex(byte)))
            .arg("grant-1")
            .ignore();
        pipe.cmd("ZADD")
            .arg(format!("{g}:kids"))
            .arg(1_700_000_000)
            .arg(format!("{kind}:{}", hex(byte)))
            .ignore();
    }
    pipe.cmd("ZADD")
        .arg(format!("{prefix}:{{u:alice%40example.com}}:grants"))
        .arg(1_700_086_400)
        .arg("grant-1")
        .ignore();
    let () = pipe.query_async(&mut conn).await.unwrap();
}

#[tokio::test]
async fn format_1_records_read_back_whole() {
    let prefix = common::fresh_prefix();
    let _cleanup = common::Cleanup(prefix.clone());
    put_fixtures(&prefix, false, false).await;
    let store = common::connect(&prefix).await;

    assert_eq!(store.client(&client().id).await.unwrap(), Some(client()));
    assert_eq!(store.grant(&grant().id, NOW).await.unwrap(), Some(grant()));
    assert_eq!(
        store
            .grants_for_user(&UserId::new("alice@example.com"), NOW)
            .await
            .unwrap(),
        vec![grant()]
    );
    assert_eq!(
        store.find_code(&code().hash, NOW).await.unwrap(),
        CodeLookup::Active(code())
    );
    let found = store
        .access_token(&access().hash, NOW)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((found.token, found.grant), (access(), grant()));
    assert_eq!(
        store.find_refresh(&refresh().hash, NOW).await.unwrap(),
        RefreshLookup::Active(refresh())
    );

    // And the records keep working: revoking the grant takes all of them.
    store.revoke_grant(&grant().id).await.unwrap();
    assert_eq!(
        store.find_code(&code().hash, NOW).await.unwrap(),
        CodeLookup::NotFound
    );
    assert_eq!(
        common::keys_of(&prefix).await,
        vec![format!("{prefix}:{{c:client-1}}:client")]
    );
}

#[tokio::test]
async fn format_1_tombstones_read_back() {
    let prefix = common::fresh_prefix();
    let _cleanup = common::Cleanup(prefix.clone());
    put_fixtures(&prefix, true, true).await;
    let store = common::connect(&prefix).await;
    assert_eq!(
        store.find_code(&code().hash, NOW).await.unwrap(),
        CodeLookup::Used(code())
    );
    assert_eq!(
        store.find_refresh(&refresh().hash, NOW).await.unwrap(),
        RefreshLookup::Retired {
            grant_id: grant().id,
            client_id: client().id,
            retired_at: UnixTime(1_700_000_100),
        }
    );
}

#[tokio::test]
async fn a_record_of_an_unknown_format_is_corrupt_not_misread() {
    let prefix = common::fresh_prefix();
    let _cleanup = common::Cleanup(prefix.clone());
    put_fixtures(&prefix, false, false).await;
    let mut conn = common::raw().await;
    let newer = ACCESS_V1.replacen(r#""v":1"#, r#""v":2"#, 1);
    let () = redis::cmd("HSET")
        .arg(format!("{prefix}:{{g:grant-1}}:at:{}", "22".repeat(32)))
        .arg("rec")
        .arg(newer)
        .query_async(&mut conn)
        .await
        .unwrap();
    let store = common::connect(&prefix).await;
    let error = store.access_token(&access().hash, NOW).await.unwrap_err();
    assert_eq!(error.kind(), StoreErrorKind::Corrupt);
    assert!(!error.to_string().contains("api.example.com"), "{error}");
}
