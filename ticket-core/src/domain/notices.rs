//! Notices to the worker (告知书), kept with their ticket.

use rusqlite::{OptionalExtension, params};
use serde::Serialize;

use super::tickets::load_visible;
use super::{Actor, CoreError, Role, TicketCore, Violations};
use crate::store::events::{self, NewEvent};
use crate::store::storage;

/// The five notices of the 信访 practice.
pub const NOTICE_KINDS: &[&str] = &[
    "outcome",
    "not_accepted",
    "duplicate",
    "no_longer",
    "forwarded",
];

#[derive(Clone, Debug, Serialize)]
pub struct NoticeRecord {
    pub id: i64,
    pub ticket_id: i64,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub emailed_to: String,
    pub created_at: i64,
    pub created_by: String,
}

pub struct NewNotice {
    pub ticket_id: i64,
    pub kind: Option<&'static str>,
    pub title: String,
    pub body: String,
    pub emailed_to: String,
    pub dedup_key: String,
}

const NOTICE_SELECT: &str =
    "SELECT n.id, n.ticket_id, n.kind, n.title, n.body, n.emailed_to, n.created_at, u.name
   FROM notices n JOIN users u ON u.id = n.created_by";

fn from_row(row: &rusqlite::Row) -> rusqlite::Result<NoticeRecord> {
    Ok(NoticeRecord {
        id: row.get(0)?,
        ticket_id: row.get(1)?,
        kind: row.get(2)?,
        title: row.get(3)?,
        body: row.get(4)?,
        emailed_to: row.get(5)?,
        created_at: row.get(6)?,
        created_by: row.get(7)?,
    })
}

impl TicketCore {
    pub async fn add_notice(
        &self,
        actor: &Actor,
        notice: NewNotice,
    ) -> Result<NoticeRecord, CoreError> {
        actor.require(
            &[
                Role::Agent,
                Role::Lawyer,
                Role::Dispatcher,
                Role::Admin,
                Role::Service,
            ],
            "store notices",
        )?;
        let mut v = Violations::default();
        if notice.kind.is_none() {
            v.push(
                "kind",
                "is required: OUTCOME, NOT_ACCEPTED, DUPLICATE, NO_LONGER or FORWARDED",
            );
        }
        if notice.title.trim().is_empty() {
            v.push("title", "is required");
        }
        if notice.body.trim().is_empty() {
            v.push("body", "is required");
        }
        if !notice.emailed_to.is_empty() {
            v.check(hotline_workflow::validate::email(
                "emailed_to",
                &notice.emailed_to,
            ));
        }
        v.into_result()?;
        let now = self.now();
        let actor = actor.clone();
        self.db
            .write(move |conn| {
                load_visible(conn, &actor, notice.ticket_id)?;
                if !notice.dedup_key.is_empty() {
                    let existing = conn
                        .prepare_cached(&format!("{NOTICE_SELECT} WHERE n.dedup_key = ?1"))
                        .map_err(storage)?
                        .query_row([&notice.dedup_key], from_row)
                        .optional()
                        .map_err(storage)?;
                    if let Some(existing) = existing {
                        return Ok(existing);
                    }
                }
                let kind = notice.kind.expect("checked above");
                conn.execute(
                    "INSERT INTO notices(ticket_id, kind, title, body, emailed_to, dedup_key, created_at, created_by)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    params![
                        notice.ticket_id,
                        kind,
                        notice.title,
                        notice.body,
                        notice.emailed_to,
                        (!notice.dedup_key.is_empty()).then_some(&notice.dedup_key),
                        now,
                        actor.user_id
                    ],
                )
                .map_err(storage)?;
                let record = NoticeRecord {
                    id: conn.last_insert_rowid(),
                    ticket_id: notice.ticket_id,
                    kind: kind.to_owned(),
                    title: notice.title,
                    body: notice.body,
                    emailed_to: notice.emailed_to,
                    created_at: now,
                    created_by: actor.name.clone(),
                };
                events::append(
                    conn,
                    &NewEvent {
                        at: now,
                        actor: &actor.name,
                        entity: "notice",
                        entity_id: record.id,
                        action: "ticket.notice_issued",
                        reason: &record.title,
                        before_json: String::new(),
                        after_json: serde_json::to_string(&record).unwrap_or_default(),
                        ticket_id: record.ticket_id,
                    },
                )?;
                Ok(record)
            })
            .await
    }

    pub async fn list_notices(
        &self,
        actor: &Actor,
        ticket_id: i64,
    ) -> Result<Vec<NoticeRecord>, CoreError> {
        let actor = actor.clone();
        self.db
            .read(move |conn| {
                load_visible(conn, &actor, ticket_id)?;
                conn.prepare_cached(&format!(
                    "{NOTICE_SELECT} WHERE n.ticket_id = ?1 ORDER BY n.id"
                ))
                .map_err(storage)?
                .query_map([ticket_id], from_row)
                .map_err(storage)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(storage)
            })
            .await
    }
}
