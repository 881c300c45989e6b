//! Every statement the store runs, with the table prefix filled in once at open.
//!
//! Reads of codes and tokens join their grant, so a record under a grant that is gone
//! can never be returned, whatever the connection's foreign-key setting. Each lookup is
//! by primary key (a hash or an id) or by one of the indexes of the schema; the scale
//! test checks the plans with `EXPLAIN QUERY PLAN`.

use crate::codec::{
    column_count, placeholders, unaliased, ACCESS_COLUMNS, CLIENT_COLUMNS, CODE_COLUMNS,
    GRANT_COLUMNS, REFRESH_COLUMNS,
};

/// The statements of one store, for one table prefix.
#[derive(Debug)]
pub(crate) struct Statements {
    pub(crate) client_get: String,
    pub(crate) client_upsert: String,
    pub(crate) client_insert: String,
    pub(crate) client_replace: String,
    pub(crate) client_delete: String,

    pub(crate) grant_insert: String,
    pub(crate) grant_get: String,
    pub(crate) grant_exists: String,
    pub(crate) grants_for_user: String,
    pub(crate) grant_delete: String,
    pub(crate) grants_delete_by_user: String,
    pub(crate) grants_delete_by_client: String,

    pub(crate) code_insert: String,
    pub(crate) code_find: String,
    pub(crate) code_mark_consumed: String,

    pub(crate) access_insert: String,
    pub(crate) access_get: String,
    pub(crate) access_delete: String,

    pub(crate) refresh_insert: String,
    pub(crate) refresh_find: String,
    pub(crate) refresh_retire: String,
    pub(crate) grace_get: String,
    pub(crate) grace_clear: String,

    pub(crate) once_insert: String,

    pub(crate) purge: Purge,
}

/// The statements of [`purge_expired`](crate::SqliteStore): each deletes at most `?2`
/// rows, found through an expiry or grant index.
#[derive(Debug)]
pub(crate) struct Purge {
    /// Expired rows of each child table and of the marker table (`?1` now, `?2` limit).
    pub(crate) expired: [String; 4],
    /// Expired grants, oldest first (`?1` now, `?2` limit).
    pub(crate) expired_grants: String,
    /// Rows of each child table under one grant (`?1` grant id, `?2` limit).
    pub(crate) children: [String; 3],
}

impl Statements {
    /// Every statement, named, for the plan checks of the scale test. The destructuring
    /// is exhaustive on purpose: a new statement fails to compile until it is listed here.
    #[cfg(test)]
    pub(crate) fn all(&self) -> Vec<(&'static str, &str)> {
        let Statements {
            client_get,
            client_upsert,
            client_insert,
            client_replace,
            client_delete,
            grant_insert,
            grant_get,
            grant_exists,
            grants_for_user,
            grant_delete,
            grants_delete_by_user,
            grants_delete_by_client,
            code_insert,
            code_find,
            code_mark_consumed,
            access_insert,
            access_get,
            access_delete,
            refresh_insert,
            refresh_find,
            refresh_retire,
            grace_get,
            grace_clear,
            once_insert,
            purge:
                Purge {
                    expired: [expired_codes, expired_access, expired_refresh, expired_once],
                    expired_grants,
                    children: [children_codes, children_access, children_refresh],
                },
        } = self;
        vec![
            ("client_get", client_get),
            ("client_upsert", client_upsert),
            ("client_insert", client_insert),
            ("client_replace", client_replace),
            ("client_delete", client_delete),
            ("grant_insert", grant_insert),
            ("grant_get", grant_get),
            ("grant_exists", grant_exists),
            ("grants_for_user", grants_for_user),
            ("grant_delete", grant_delete),
            ("grants_delete_by_user", grants_delete_by_user),
            ("grants_delete_by_client", grants_delete_by_client),
            ("code_insert", code_insert),
            ("code_find", code_find),
            ("code_mark_consumed", code_mark_consumed),
            ("access_insert", access_insert),
            ("access_get", access_get),
            ("access_delete", access_delete),
            ("refresh_insert", refresh_insert),
            ("refresh_find", refresh_find),
            ("refresh_retire", refresh_retire),
            ("grace_get", grace_get),
            ("grace_clear", grace_clear),
            ("once_insert", once_insert),
            ("purge.expired.codes", expired_codes),
            ("purge.expired.access_tokens", expired_access),
            ("purge.expired.refresh_tokens", expired_refresh),
            ("purge.expired.once_markers", expired_once),
            ("purge.expired_grants", expired_grants),
            ("purge.children.codes", children_codes),
            ("purge.children.access_tokens", children_access),
            ("purge.children.refresh_tokens", children_refresh),
        ]
    }

    /// The statements for tables named `{prefix}clients`, `{prefix}grants`, ...
    /// The prefix has been validated (`[a-z0-9_]*`), so it is safe to splice in.
    pub(crate) fn new(prefix: &str) -> Self {
        let t = |template: &str| template.replace("{p}", prefix);
        let client_columns = CLIENT_COLUMNS;
        let client_values = placeholders(column_count(CLIENT_COLUMNS));
        let client_updates = CLIENT_COLUMNS
            .split(',')
            .map(str::trim)
            .skip(1)
            .map(|column| format!("{column} = excluded.{column}"))
            .collect::<Vec<_>>()
            .join(", ");
        let client_sets = CLIENT_COLUMNS
            .split(',')
            .map(str::trim)
            .enumerate()
            .skip(1)
            .map(|(i, column)| format!("{column} = ?{}", i + 1))
            .collect::<Vec<_>>()
            .join(", ");
        let insert = |table: &str, columns: &str| {
            t(&format!(
                "INSERT INTO {{p}}{table} ({}) VALUES ({})",
                unaliased(columns),
                placeholders(column_count(columns))
            ))
        };
        // `key` is the primary key, `(a, b)` for a composite one.
        let bounded_delete = |table: &str, key: &str, filter: &str| {
            let selected = key.trim_start_matches('(').trim_end_matches(')');
            t(&format!(
                "DELETE FROM {{p}}{table} WHERE {key} IN \
                 (SELECT {selected} FROM {{p}}{table} WHERE {filter} LIMIT ?2)"
            ))
        };

        Statements {
            client_get: t(&format!(
                "SELECT {client_columns} FROM {{p}}clients WHERE id = ?1"
            )),
            client_upsert: t(&format!(
                "INSERT INTO {{p}}clients ({client_columns}) VALUES ({client_values}) \
                 ON CONFLICT (id) DO UPDATE SET {client_updates}"
            )),
            client_insert: t(&format!(
                "INSERT INTO {{p}}clients ({client_columns}) VALUES ({client_values}) \
                 ON CONFLICT (id) DO NOTHING"
            )),
            client_replace: t(&format!(
                "UPDATE {{p}}clients SET {client_sets} WHERE id = ?1"
            )),
            client_delete: t("DELETE FROM {p}clients WHERE id = ?1"),

            grant_insert: insert("grants", GRANT_COLUMNS),
            grant_get: t(&format!(
                "SELECT {GRANT_COLUMNS} FROM {{p}}grants g WHERE g.id = ?1 AND g.expires_at > ?2"
            )),
            grant_exists: t("SELECT 1 FROM {p}grants WHERE id = ?1"),
            grants_for_user: t(&format!(
                "SELECT {GRANT_COLUMNS} FROM {{p}}grants g \
                 WHERE g.user_id = ?1 AND g.expires_at > ?2 ORDER BY g.created_at, g.id"
            )),
            // Codes and tokens go with their grant: ON DELETE CASCADE, in the same statement.
            grant_delete: t("DELETE FROM {p}grants WHERE id = ?1"),
            grants_delete_by_user: t("DELETE FROM {p}grants WHERE user_id = ?1"),
            grants_delete_by_client: t("DELETE FROM {p}grants WHERE client_id = ?1"),

            code_insert: insert("codes", CODE_COLUMNS),
            code_find: t(&format!(
                "SELECT {CODE_COLUMNS}, c.consumed_at, g.expires_at \
                 FROM {{p}}codes c JOIN {{p}}grants g ON g.id = c.grant_id \
                 WHERE c.hash = ?1 AND c.expires_at > ?2"
            )),
            code_mark_consumed: t(
                "UPDATE {p}codes SET consumed_at = ?2 WHERE hash = ?1 AND consumed_at IS NULL",
            ),

            access_insert: insert("access_tokens", ACCESS_COLUMNS),
            access_get: t(&format!(
                "SELECT {ACCESS_COLUMNS}, {GRANT_COLUMNS} \
                 FROM {{p}}access_tokens a JOIN {{p}}grants g ON g.id = a.grant_id \
                 WHERE a.hash = ?1 AND a.expires_at > ?2 AND g.expires_at > ?2"
            )),
            access_delete: t("DELETE FROM {p}access_tokens WHERE hash = ?1"),

            refresh_insert: insert("refresh_tokens", REFRESH_COLUMNS),
            refresh_find: t(&format!(
                "SELECT {REFRESH_COLUMNS}, r.retired_at, g.expires_at \
                 FROM {{p}}refresh_tokens r JOIN {{p}}grants g ON g.id = r.grant_id \
                 WHERE r.hash = ?1 AND r.expires_at > ?2"
            )),
            refresh_retire: t(
                "UPDATE {p}refresh_tokens SET retired_at = ?2, grace_successor = ?3, \
                 grace_until = ?4 WHERE hash = ?1 AND retired_at IS NULL",
            ),
            grace_get: t("SELECT r.grace_successor, r.grace_until \
                 FROM {p}refresh_tokens r JOIN {p}grants g ON g.id = r.grant_id \
                 WHERE r.hash = ?1 AND r.retired_at IS NOT NULL \
                 AND r.grace_successor IS NOT NULL"),
            grace_clear: t(
                "UPDATE {p}refresh_tokens SET grace_successor = NULL, grace_until = NULL \
                 WHERE hash = ?1",
            ),

            // A live marker is kept as it is (no change: 0 rows); an expired one is
            // replaced as if absent (1 row), and so is a new one.
            once_insert: t(
                "INSERT INTO {p}once_markers (namespace, key, expires_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (namespace, key) DO UPDATE SET expires_at = excluded.expires_at \
                 WHERE {p}once_markers.expires_at <= ?4",
            ),

            purge: Purge {
                expired: [
                    bounded_delete("codes", "hash", "expires_at <= ?1"),
                    bounded_delete("access_tokens", "hash", "expires_at <= ?1"),
                    bounded_delete("refresh_tokens", "hash", "expires_at <= ?1"),
                    bounded_delete("once_markers", "(namespace, key)", "expires_at <= ?1"),
                ],
                expired_grants: t(
                    "SELECT id FROM {p}grants WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2",
                ),
                children: [
                    bounded_delete("codes", "hash", "grant_id = ?1"),
                    bounded_delete("access_tokens", "hash", "grant_id = ?1"),
                    bounded_delete("refresh_tokens", "hash", "grant_id = ?1"),
                ],
            },
        }
    }
}
