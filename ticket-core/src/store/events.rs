//! The append-only event log. Every change writes its event in the same transaction
//! as the current-state row, so the two never disagree.

use rusqlite::{Connection, params};

use super::storage;
use crate::domain::CoreError;
use crate::domain::records::EventRecord;

pub struct NewEvent<'a> {
    pub at: i64,
    pub actor: &'a str,
    pub entity: &'a str,
    pub entity_id: i64,
    pub action: &'a str,
    pub reason: &'a str,
    pub before_json: String,
    pub after_json: String,
    pub ticket_id: i64,
}

pub fn append(conn: &Connection, e: &NewEvent) -> Result<i64, CoreError> {
    conn.prepare_cached(
        "INSERT INTO events(at, actor, entity, entity_id, action, reason, before_json, after_json, ticket_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )
    .map_err(storage)?
    .execute(params![
        e.at,
        e.actor,
        e.entity,
        e.entity_id,
        e.action,
        e.reason,
        e.before_json,
        e.after_json,
        e.ticket_id
    ])
    .map_err(storage)?;
    Ok(conn.last_insert_rowid())
}

pub fn last_seq(conn: &Connection) -> Result<i64, CoreError> {
    // Cached: the writer asks after every commit.
    conn.prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM events")
        .map_err(storage)?
        .query_row([], |row| row.get(0))
        .map_err(storage)
}

fn from_row(row: &rusqlite::Row) -> rusqlite::Result<EventRecord> {
    Ok(EventRecord {
        seq: row.get(0)?,
        at: row.get(1)?,
        actor: row.get(2)?,
        entity: row.get(3)?,
        entity_id: row.get(4)?,
        action: row.get(5)?,
        reason: row.get(6)?,
        before_json: row.get(7)?,
        after_json: row.get(8)?,
        ticket_id: row.get(9)?,
    })
}

const EVENT_COLUMNS: &str = "SELECT seq, at, actor, entity, entity_id, action, reason, before_json, after_json, ticket_id FROM events";

/// Events after `after_seq`, oldest first; of one ticket only when `ticket_id` is given.
pub fn list(
    conn: &Connection,
    after_seq: i64,
    ticket_id: Option<i64>,
    limit: i64,
) -> Result<Vec<EventRecord>, CoreError> {
    let rows = match ticket_id {
        Some(ticket_id) => conn
            .prepare_cached(&format!(
                "{EVENT_COLUMNS} WHERE ticket_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3"
            ))
            .map_err(storage)?
            .query_map(params![ticket_id, after_seq, limit], from_row)
            .map_err(storage)?
            .collect::<Result<Vec<_>, _>>(),
        None => conn
            .prepare_cached(&format!(
                "{EVENT_COLUMNS} WHERE seq > ?1 ORDER BY seq LIMIT ?2"
            ))
            .map_err(storage)?
            .query_map(params![after_seq, limit], from_row)
            .map_err(storage)?
            .collect::<Result<Vec<_>, _>>(),
    };
    rows.map_err(storage)
}
