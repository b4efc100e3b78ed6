//! Alerts for supervisors: early warnings about employers and group matters, and
//! operational problems such as a deadline the calendar cannot compute.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::{Actor, CoreError, Role, TicketCore, Violations};
use crate::store::events::{self, NewEvent};
use crate::store::storage;

#[derive(Clone, Debug, Serialize)]
pub struct AlertRecord {
    pub id: i64,
    pub key: String,
    pub kind: String,
    pub message: String,
    pub ticket_ids: Vec<i64>,
    pub region_code: String,
    pub raised_at: i64,
    pub raised_by: String,
    pub acknowledged_at: Option<i64>,
    pub acknowledged_by: String,
}

pub struct NewAlert {
    pub key: String,
    pub kind: String,
    pub message: String,
    pub ticket_ids: Vec<i64>,
    pub region_code: String,
}

const ALERT_SELECT: &str =
    "SELECT id, key, kind, message, ticket_ids, region_code, raised_at, raised_by,
        acknowledged_at, acknowledged_by FROM alerts";

fn from_row(row: &rusqlite::Row) -> rusqlite::Result<AlertRecord> {
    let ids: String = row.get(4)?;
    Ok(AlertRecord {
        id: row.get(0)?,
        key: row.get(1)?,
        kind: row.get(2)?,
        message: row.get(3)?,
        ticket_ids: serde_json::from_str(&ids).unwrap_or_default(),
        region_code: row.get(5)?,
        raised_at: row.get(6)?,
        raised_by: row.get(7)?,
        acknowledged_at: row.get(8)?,
        acknowledged_by: row.get(9)?,
    })
}

/// Whether a supervisor's region covers an alert's: province-wide alerts concern everyone.
fn concerns(actor: &Actor, alert: &AlertRecord) -> bool {
    actor.role != Role::Supervisor
        || alert.region_code.is_empty()
        || actor.org_region.is_empty()
        || hotline_reference::region_within(&alert.region_code, &actor.org_region)
}

fn append_event(
    conn: &rusqlite::Connection,
    actor: &Actor,
    now: i64,
    action: &str,
    alert: &AlertRecord,
) -> Result<(), CoreError> {
    events::append(
        conn,
        &NewEvent {
            at: now,
            actor: &actor.name,
            entity: "alert",
            entity_id: alert.id,
            action,
            reason: &alert.message,
            before_json: String::new(),
            after_json: serde_json::to_string(alert).unwrap_or_default(),
            ticket_id: alert.ticket_ids.first().copied().unwrap_or(0),
        },
    )?;
    Ok(())
}

impl TicketCore {
    pub async fn raise_alert(
        &self,
        actor: &Actor,
        alert: NewAlert,
    ) -> Result<AlertRecord, CoreError> {
        actor.require(
            &[
                Role::Service,
                Role::Dispatcher,
                Role::Supervisor,
                Role::Admin,
            ],
            "raise alerts",
        )?;
        let mut v = Violations::default();
        if alert.key.trim().is_empty() {
            v.push(
                "key",
                "is required: the same key raises the same alert once",
            );
        }
        if alert.kind.trim().is_empty() {
            v.push("kind", "is required");
        }
        if alert.message.trim().is_empty() {
            v.push("message", "is required");
        }
        if !alert.region_code.is_empty() && hotline_reference::region(&alert.region_code).is_none()
        {
            v.push(
                "region_code",
                "must be a GB/T 2260 region code present in the region table",
            );
        }
        v.into_result()?;
        let now = self.now();
        let actor = actor.clone();
        self.db
            .write(move |conn| {
                let existing = conn
                    .prepare_cached(&format!("{ALERT_SELECT} WHERE key = ?1"))
                    .map_err(storage)?
                    .query_row([&alert.key], from_row)
                    .optional()
                    .map_err(storage)?;
                if let Some(existing) = existing {
                    return Ok(existing);
                }
                conn.execute(
                    "INSERT INTO alerts(key, kind, message, ticket_ids, region_code, raised_at, raised_by)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        alert.key,
                        alert.kind,
                        alert.message,
                        serde_json::to_string(&alert.ticket_ids).unwrap_or_else(|_| "[]".into()),
                        alert.region_code,
                        now,
                        actor.name
                    ],
                )
                .map_err(storage)?;
                let record = AlertRecord {
                    id: conn.last_insert_rowid(),
                    key: alert.key,
                    kind: alert.kind,
                    message: alert.message,
                    ticket_ids: alert.ticket_ids,
                    region_code: alert.region_code,
                    raised_at: now,
                    raised_by: actor.name.clone(),
                    acknowledged_at: None,
                    acknowledged_by: String::new(),
                };
                append_event(conn, &actor, now, "alert.raised", &record)?;
                tracing::warn!(kind = %record.kind, key = %record.key, "alert raised");
                Ok(record)
            })
            .await
    }

    pub async fn list_alerts(
        &self,
        actor: &Actor,
        open_only: bool,
        since: i64,
        limit: i64,
    ) -> Result<Vec<AlertRecord>, CoreError> {
        actor.require(
            &[
                Role::Supervisor,
                Role::Dispatcher,
                Role::Admin,
                Role::Service,
            ],
            "read alerts",
        )?;
        let limit = if limit <= 0 { 100 } else { limit.min(1000) };
        let actor = actor.clone();
        self.db
            .read(move |conn| {
                let sql = format!(
                    "{ALERT_SELECT} WHERE raised_at >= ?1 AND (?2 = 0 OR acknowledged_at IS NULL) ORDER BY id DESC"
                );
                let mut found = Vec::new();
                let mut stmt = conn.prepare_cached(&sql).map_err(storage)?;
                let rows = stmt.query_map(params![since, open_only as i64], from_row).map_err(storage)?;
                for alert in rows {
                    let alert = alert.map_err(storage)?;
                    if concerns(&actor, &alert) {
                        found.push(alert);
                        if found.len() as i64 >= limit {
                            break;
                        }
                    }
                }
                Ok(found)
            })
            .await
    }

    pub async fn acknowledge_alert(
        &self,
        actor: &Actor,
        id: i64,
    ) -> Result<AlertRecord, CoreError> {
        actor.require(
            &[Role::Supervisor, Role::Dispatcher, Role::Admin],
            "acknowledge alerts",
        )?;
        let now = self.now();
        let actor = actor.clone();
        self.db
            .write(move |conn| {
                let alert = conn
                    .prepare_cached(&format!("{ALERT_SELECT} WHERE id = ?1"))
                    .map_err(storage)?
                    .query_row([id], from_row)
                    .optional()
                    .map_err(storage)?
                    .filter(|a| concerns(&actor, a))
                    .ok_or_else(|| CoreError::NotFound(format!("alert {id} not found")))?;
                if alert.acknowledged_at.is_some() {
                    return Ok(alert);
                }
                conn.execute(
                    "UPDATE alerts SET acknowledged_at = ?2, acknowledged_by = ?3 WHERE id = ?1",
                    params![id, now, actor.name],
                )
                .map_err(storage)?;
                let record = AlertRecord {
                    acknowledged_at: Some(now),
                    acknowledged_by: actor.name.clone(),
                    ..alert
                };
                append_event(conn, &actor, now, "alert.acknowledged", &record)?;
                Ok(record)
            })
            .await
    }
}
