//! Organisations (the union tree) and users.

use rusqlite::{Connection, OptionalExtension, params};

use super::storage;
use crate::domain::CoreError;
use crate::domain::records::{OrgRecord, UserRecord};

const ORG_SELECT: &str =
    "SELECT o.id, o.code, o.name, o.kind, COALESCE(p.code, ''), COALESCE(o.region_code, ''),
        o.industry_scope, o.contact_emails, o.path
   FROM organisations o LEFT JOIN organisations p ON p.id = o.parent_id";

fn org_from_row(row: &rusqlite::Row) -> rusqlite::Result<OrgRecord> {
    let scope: String = row.get(6)?;
    let emails: String = row.get(7)?;
    Ok(OrgRecord {
        id: row.get(0)?,
        code: row.get(1)?,
        name: row.get(2)?,
        kind: row.get(3)?,
        parent_code: row.get(4)?,
        region_code: row.get(5)?,
        industry_scope: serde_json::from_str(&scope).unwrap_or_default(),
        contact_emails: serde_json::from_str(&emails).unwrap_or_default(),
        path: row.get(8)?,
    })
}

pub fn by_code(conn: &Connection, code: &str) -> Result<Option<OrgRecord>, CoreError> {
    conn.prepare_cached(&format!("{ORG_SELECT} WHERE o.code = ?1"))
        .map_err(storage)?
        .query_row([code], org_from_row)
        .optional()
        .map_err(storage)
}

pub fn by_id(conn: &Connection, id: i64) -> Result<Option<OrgRecord>, CoreError> {
    conn.prepare_cached(&format!("{ORG_SELECT} WHERE o.id = ?1"))
        .map_err(storage)?
        .query_row([id], org_from_row)
        .optional()
        .map_err(storage)
}

/// Every organisation whose path starts with `path_prefix`, in tree order.
pub fn subtree(conn: &Connection, path_prefix: &str) -> Result<Vec<OrgRecord>, CoreError> {
    conn.prepare_cached(&format!(
        "{ORG_SELECT} WHERE o.path LIKE ?1 ORDER BY o.path"
    ))
    .map_err(storage)?
    .query_map([format!("{path_prefix}%")], org_from_row)
    .map_err(storage)?
    .collect::<Result<Vec<_>, _>>()
    .map_err(storage)
}

pub struct NewOrg<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub kind: &'a str,
    pub parent_code: Option<&'a str>,
    pub region_code: Option<&'a str>,
    pub industry_scope: &'a [String],
    pub contact_emails: &'a [String],
}

/// Inserts or updates (by code) one organisation; its parent must exist already.
pub fn upsert(conn: &Connection, org: &NewOrg) -> Result<i64, CoreError> {
    let parent = match org.parent_code {
        Some(code) if !code.is_empty() => Some(by_code(conn, code)?.ok_or_else(|| {
            CoreError::invalid("parent", format!("organisation {code} does not exist"))
        })?),
        _ => None,
    };
    let scope = serde_json::to_string(org.industry_scope).unwrap_or_else(|_| "[]".into());
    let emails = serde_json::to_string(org.contact_emails).unwrap_or_else(|_| "[]".into());
    let existing = by_code(conn, org.code)?;
    let id = match existing {
        Some(existing) => {
            conn.execute(
                "UPDATE organisations SET name = ?2, kind = ?3, region_code = ?4, industry_scope = ?5,
                        contact_emails = ?6 WHERE id = ?1",
                params![existing.id, org.name, org.kind, org.region_code, scope, emails],
            )
            .map_err(storage)?;
            return Ok(existing.id);
        }
        None => {
            conn.execute(
                "INSERT INTO organisations(code, name, kind, parent_id, region_code, industry_scope, contact_emails, path)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, '')",
                params![org.code, org.name, org.kind, parent.as_ref().map(|p| p.id), org.region_code, scope, emails],
            )
            .map_err(storage)?;
            conn.last_insert_rowid()
        }
    };
    let path = format!(
        "{}{id}/",
        parent.map(|p| p.path).unwrap_or_else(|| "/".into())
    );
    conn.execute(
        "UPDATE organisations SET path = ?2 WHERE id = ?1",
        params![id, path],
    )
    .map_err(storage)?;
    Ok(id)
}

const USER_SELECT: &str =
    "SELECT u.id, u.name, u.display_name, u.role, o.code, COALESCE(u.email, ''), u.active
   FROM users u JOIN organisations o ON o.id = u.org_id";

fn user_from_row(row: &rusqlite::Row) -> rusqlite::Result<UserRecord> {
    Ok(UserRecord {
        id: row.get(0)?,
        name: row.get(1)?,
        display_name: row.get(2)?,
        role: row.get(3)?,
        org_code: row.get(4)?,
        email: row.get(5)?,
        active: row.get(6)?,
    })
}

pub fn user_by_name(conn: &Connection, name: &str) -> Result<Option<UserRecord>, CoreError> {
    conn.prepare_cached(&format!("{USER_SELECT} WHERE u.name = ?1"))
        .map_err(storage)?
        .query_row([name], user_from_row)
        .optional()
        .map_err(storage)
}

pub fn users_under(conn: &Connection, path_prefix: &str) -> Result<Vec<UserRecord>, CoreError> {
    conn.prepare_cached(&format!(
        "{USER_SELECT} WHERE o.path LIKE ?1 ORDER BY u.name"
    ))
    .map_err(storage)?
    .query_map([format!("{path_prefix}%")], user_from_row)
    .map_err(storage)?
    .collect::<Result<Vec<_>, _>>()
    .map_err(storage)
}

pub fn insert_user(
    conn: &Connection,
    name: &str,
    display_name: &str,
    role: &str,
    org_id: i64,
    email: Option<&str>,
    now: i64,
) -> Result<i64, CoreError> {
    conn.execute(
        "INSERT INTO users(name, display_name, role, org_id, email, active, created_at) VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6)",
        params![name, display_name, role, org_id, email, now],
    )
    .map_err(|e| match e {
        rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation => {
            CoreError::invalid("name", format!("a user named {name} already exists"))
        }
        other => storage(other),
    })?;
    Ok(conn.last_insert_rowid())
}

pub fn insert_token(
    conn: &Connection,
    hash: &str,
    user_id: i64,
    label: &str,
    now: i64,
) -> Result<(), CoreError> {
    conn.execute(
        "INSERT INTO tokens(hash, user_id, label, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![hash, user_id, label, now],
    )
    .map_err(storage)?;
    Ok(())
}

pub fn revoke_tokens(conn: &Connection, user_id: i64, now: i64) -> Result<usize, CoreError> {
    conn.execute(
        "UPDATE tokens SET revoked_at = ?2 WHERE user_id = ?1 AND revoked_at IS NULL",
        params![user_id, now],
    )
    .map_err(storage)
}
