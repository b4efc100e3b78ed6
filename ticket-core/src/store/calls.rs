//! Calls and their events, as reported by the SIP gateway.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, params};

use super::storage;
use super::tickets::{id_array, rows_by_owner};
use crate::domain::CoreError;
use crate::domain::calls::CallEvent;
use crate::domain::records::{CallEventEntry, CallRecord};

const CALL_SELECT: &str =
    "SELECT id, call_uuid, caller_phone, state, offered_at, answered_at, ended_at,
        answered_by, queue, recording_path, recording_sha256 FROM calls";

fn from_row(row: &rusqlite::Row) -> rusqlite::Result<CallRecord> {
    Ok(CallRecord {
        id: row.get(0)?,
        call_uuid: row.get(1)?,
        caller_phone: row.get(2)?,
        state: row.get(3)?,
        offered_at: row.get(4)?,
        answered_at: row.get(5)?,
        ended_at: row.get(6)?,
        answered_by: row.get(7)?,
        queue: row.get(8)?,
        recording_path: row.get(9)?,
        recording_sha256: row.get(10)?,
        events: Vec::new(),
        ticket_ids: Vec::new(),
    })
}

pub fn by_uuid(conn: &Connection, uuid: &str) -> Result<Option<CallRecord>, CoreError> {
    conn.prepare_cached(&format!("{CALL_SELECT} WHERE call_uuid = ?1"))
        .map_err(storage)?
        .query_row([uuid], from_row)
        .optional()
        .map_err(storage)
}

pub fn by_id(conn: &Connection, id: i64) -> Result<Option<CallRecord>, CoreError> {
    conn.prepare_cached(&format!("{CALL_SELECT} WHERE id = ?1"))
        .map_err(storage)?
        .query_row([id], from_row)
        .optional()
        .map_err(storage)
}

pub fn by_caller(conn: &Connection, phone: &str, limit: i64) -> Result<Vec<CallRecord>, CoreError> {
    conn.prepare_cached(&format!(
        "{CALL_SELECT} WHERE caller_phone = ?1 ORDER BY id DESC LIMIT ?2"
    ))
    .map_err(storage)?
    .query_map(params![phone, limit], from_row)
    .map_err(storage)?
    .collect::<Result<Vec<_>, _>>()
    .map_err(storage)
}

/// Fills in the call's event history and the tickets it is linked to.
pub fn with_details(conn: &Connection, mut call: CallRecord) -> Result<CallRecord, CoreError> {
    call.events = conn
        .prepare_cached(
            "SELECT kind, at, queue, agent FROM call_events WHERE call_id = ?1 ORDER BY at, rowid",
        )
        .map_err(storage)?
        .query_map([call.id], |row| {
            Ok(CallEventEntry {
                kind: row.get(0)?,
                at: row.get(1)?,
                queue: row.get(2)?,
                agent: row.get(3)?,
            })
        })
        .map_err(storage)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(storage)?;
    call.ticket_ids = conn
        .prepare_cached("SELECT ticket_id FROM ticket_calls WHERE call_id = ?1 ORDER BY ticket_id")
        .map_err(storage)?
        .query_map([call.id], |row| row.get(0))
        .map_err(storage)?
        .collect::<Result<Vec<i64>, _>>()
        .map_err(storage)?;
    Ok(call)
}

/// `with_details` for many calls at once: two statements whatever their number.
pub fn with_details_all(
    conn: &Connection,
    mut calls: Vec<CallRecord>,
) -> Result<Vec<CallRecord>, CoreError> {
    if calls.is_empty() {
        return Ok(calls);
    }
    let ids: Vec<i64> = calls.iter().map(|call| call.id).collect();
    let ids = id_array(&ids);
    let mut events: HashMap<i64, Vec<CallEventEntry>> = HashMap::new();
    for (call_id, event) in rows_by_owner(
        conn,
        "SELECT e.call_id, e.at, e.rowid, e.kind, e.queue, e.agent FROM json_each(?1) j
           CROSS JOIN call_events e ON e.call_id = j.value",
        &ids,
        |row| {
            let event = CallEventEntry {
                kind: row.get(3)?,
                at: row.get(1)?,
                queue: row.get(4)?,
                agent: row.get(5)?,
            };
            Ok((row.get(0)?, (row.get(1)?, row.get(2)?), event))
        },
    )? {
        events.entry(call_id).or_default().push(event);
    }
    let mut tickets: HashMap<i64, Vec<i64>> = HashMap::new();
    for (call_id, ticket_id) in rows_by_owner(
        conn,
        "SELECT tc.call_id, tc.ticket_id FROM json_each(?1) j
           CROSS JOIN ticket_calls tc ON tc.call_id = j.value",
        &ids,
        |row| Ok((row.get(0)?, (row.get(1)?, 0), row.get(1)?)),
    )? {
        tickets.entry(call_id).or_default().push(ticket_id);
    }
    for call in &mut calls {
        call.events = events.get(&call.id).cloned().unwrap_or_default();
        call.ticket_ids = tickets.get(&call.id).cloned().unwrap_or_default();
    }
    Ok(calls)
}

pub fn event_seen(conn: &Connection, event_id: &str) -> Result<Option<i64>, CoreError> {
    conn.prepare_cached("SELECT call_id FROM call_events WHERE event_id = ?1")
        .map_err(storage)?
        .query_row([event_id], |row| row.get(0))
        .optional()
        .map_err(storage)
}

pub fn insert_call(conn: &Connection, uuid: &str) -> Result<i64, CoreError> {
    conn.prepare_cached("INSERT INTO calls(call_uuid, state) VALUES (?1, 'offered')")
        .map_err(storage)?
        .execute([uuid])
        .map_err(storage)?;
    Ok(conn.last_insert_rowid())
}

pub fn insert_event(conn: &Connection, call_id: i64, event: &CallEvent) -> Result<(), CoreError> {
    conn.prepare_cached(
        "INSERT INTO call_events(event_id, call_id, kind, at, queue, agent, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .map_err(storage)?
    .execute(params![
        event.event_id,
        call_id,
        event.kind.as_str(),
        event.at,
        event.queue,
        event.agent,
        event.end_reason
    ])
    .map_err(storage)?;
    Ok(())
}

pub fn update(conn: &Connection, call: &CallRecord) -> Result<(), CoreError> {
    conn.prepare_cached(
        "UPDATE calls SET caller_phone = ?2, state = ?3, offered_at = ?4, answered_at = ?5, ended_at = ?6,
            answered_by = ?7, queue = ?8, recording_path = ?9, recording_sha256 = ?10 WHERE id = ?1",
    )
    .map_err(storage)?
    .execute(params![
        call.id,
        call.caller_phone,
        call.state,
        call.offered_at,
        call.answered_at,
        call.ended_at,
        call.answered_by,
        call.queue,
        call.recording_path,
        call.recording_sha256,
    ])
    .map_err(storage)?;
    Ok(())
}
