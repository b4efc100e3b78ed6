//! Work-order rows: indexed columns for queries, and the whole lifecycle state as JSON.

use hotline_workflow::work_order::{CallbackResult, WorkOrder};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use super::storage;
use crate::domain::CoreError;
use crate::domain::records::WorkOrderRecord;

pub const WORK_ORDER_SELECT: &str =
    "SELECT w.id, w.ticket_id, t.number, w.org_id, o.code, o.name, w.rule,
        w.dispatch_reason, w.body, w.version, w.updated_at, o.path
   FROM work_orders w JOIN tickets t ON t.id = w.ticket_id JOIN organisations o ON o.id = w.org_id";

/// A work order with the tree path of its organisation, for scope checks.
pub struct ScopedWorkOrder {
    pub record: WorkOrderRecord,
    pub org_path: String,
}

fn from_row(row: &rusqlite::Row) -> rusqlite::Result<ScopedWorkOrder> {
    let body: String = row.get(8)?;
    let lifecycle: WorkOrder = serde_json::from_str(&body).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(8, rusqlite::types::Type::Text, Box::new(e))
    })?;
    Ok(ScopedWorkOrder {
        record: WorkOrderRecord {
            id: row.get(0)?,
            ticket_id: row.get(1)?,
            ticket_number: row.get(2)?,
            org_id: row.get(3)?,
            org_code: row.get(4)?,
            org_name: row.get(5)?,
            rule: row.get(6)?,
            dispatch_reason: row.get(7)?,
            lifecycle,
            version: row.get(9)?,
            updated_at: row.get(10)?,
        },
        org_path: row.get(11)?,
    })
}

pub fn get(conn: &Connection, id: i64) -> Result<Option<ScopedWorkOrder>, CoreError> {
    conn.prepare_cached(&format!("{WORK_ORDER_SELECT} WHERE w.id = ?1"))
        .map_err(storage)?
        .query_row([id], from_row)
        .optional()
        .map_err(storage)
}

pub fn query(
    conn: &Connection,
    sql: &str,
    params: Vec<Value>,
) -> Result<Vec<ScopedWorkOrder>, CoreError> {
    conn.prepare_cached(sql)
        .map_err(storage)?
        .query_map(params_from_iter(params), from_row)
        .map_err(storage)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(storage)
}

pub fn has_open(conn: &Connection, ticket_id: i64) -> Result<bool, CoreError> {
    conn.prepare_cached(
        "SELECT EXISTS(SELECT 1 FROM work_orders WHERE ticket_id = ?1 AND state NOT IN ('closed', 'returned'))",
    )
    .map_err(storage)?
    .query_row([ticket_id], |row| row.get(0))
    .map_err(storage)
}

fn callback_text(result: CallbackResult) -> &'static str {
    match result {
        CallbackResult::Satisfied => "satisfied",
        CallbackResult::BasicallySatisfied => "basically_satisfied",
        CallbackResult::Unsatisfied => "unsatisfied",
        CallbackResult::Unreachable => "unreachable",
    }
}

fn body(lifecycle: &WorkOrder) -> String {
    serde_json::to_string(lifecycle).expect("a work order always serialises")
}

pub fn insert(
    conn: &Connection,
    ticket_id: i64,
    org_id: i64,
    rule: &str,
    dispatch_reason: &str,
    lifecycle: &WorkOrder,
) -> Result<i64, CoreError> {
    conn.prepare_cached(
        "INSERT INTO work_orders(ticket_id, org_id, state, rule, dispatch_reason, dispatched_at, body, version,
            updated_at)
         VALUES (?1, ?2, 'dispatched', ?3, ?4, ?5, '{}', 0, ?5)",
    )
    .map_err(storage)?
    .execute(params![ticket_id, org_id, rule, dispatch_reason, lifecycle.dispatched_at])
    .map_err(storage)?;
    let id = conn.last_insert_rowid();
    // One place writes the lifecycle columns: the same update every later step uses.
    update(conn, id, 0, lifecycle, lifecycle.dispatched_at)?;
    Ok(id)
}

/// Stores a new lifecycle state if the row is still at `version`; returns the new version.
pub fn update(
    conn: &Connection,
    id: i64,
    version: i64,
    lifecycle: &WorkOrder,
    now: i64,
) -> Result<i64, CoreError> {
    let changed = conn
        .prepare_cached(
            "UPDATE work_orders SET state = ?3, sign_due_at = ?4, reply_due_at = ?5, closed_at = ?6,
                body = ?7, version = version + 1, updated_at = ?8, signed_at = ?9, replied_at = ?10,
                callback_result = ?11, amount_recovered_fen = ?12, workers_helped = ?13, urge_count = ?14
             WHERE id = ?1 AND version = ?2",
        )
        .map_err(storage)?
        .execute(params![
            id,
            version,
            lifecycle.state.as_str(),
            lifecycle.sign_due_at,
            lifecycle.reply_due_at,
            lifecycle.closed_at,
            body(lifecycle),
            now,
            lifecycle.signed_at,
            lifecycle.replied_at,
            lifecycle.callback_result.map(callback_text).unwrap_or(""),
            lifecycle.reply.as_ref().map_or(0, |r| r.amount_recovered_fen),
            lifecycle.reply.as_ref().map_or(0, |r| r.workers_helped),
            lifecycle.urge_count,
        ])
        .map_err(storage)?;
    if changed == 0 {
        return Err(CoreError::Conflict(format!(
            "work order {id} was changed by someone else (expected version {version})"
        )));
    }
    Ok(version + 1)
}
