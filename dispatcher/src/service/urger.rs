//! The deadline clock at work: reminders before a deadline, urges after it, escalation to
//! the supervisors, as events on the work order (through ticket-core) and as emails.
//!
//! Every open work order is watched with a snapshot kept in the dispatcher's state, built
//! from the work-order events it follows. A notice is sent once: its key
//! (`stage/level@deadline`) is stored when done, travels in the urge event's reason (so a
//! crash between acting and storing is detected in the ticket's history rather than
//! repeated), and is the email's dedup key.

use chrono::{DateTime, Utc};
use hotline_api::ticket::v1 as pb;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tonic::Code;

use super::follower::{Dispatcher, Failure};
use super::mail::china_time;
use super::state::Watched;
use crate::clock::{
    DeadlinePlan, Due, Kind, Level, Priority, SentNotifications, Stage, WorkOrderSnapshot,
    WorkOrderState,
};
use crate::notify::{
    self, DeadlineKind, DeadlineReminder, EscalationNotice, TicketFacts, UrgeNotice,
};

/// How long a work order whose notice could not be sent waits before the next try.
const RETRY_MS: i64 = 60_000;

/// What the clock keeps about one watched work order.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Tracked {
    pub state: String,
    pub kind: String,
    pub priority: String,
    pub union_name: String,
    pub dispatched_at: i64,
    pub sign_due_at: Option<i64>,
    pub reply_clock_started_at: Option<i64>,
    pub reply_due_at: Option<i64>,
    pub replied_at: Option<i64>,
    pub approved_at: Option<i64>,
    pub urge_count: u32,
}

impl Tracked {
    fn snapshot(&self) -> Option<WorkOrderSnapshot> {
        Some(WorkOrderSnapshot {
            state: WorkOrderState::parse(&self.state)?,
            kind: Kind::parse(&self.kind)?,
            priority: Priority::parse(&self.priority)?,
            dispatched_at_ms: self.dispatched_at,
            sign_due_at_ms: self.sign_due_at,
            reply_clock_started_at_ms: self.reply_clock_started_at,
            reply_due_at_ms: self.reply_due_at,
            replied_at_ms: self.replied_at,
            approved_at_ms: self.approved_at,
        })
    }
}

fn key_text(due: &Due) -> String {
    format!("{}/{}@{}", due.stage, due.level, due.deadline_ms)
}

fn sent_from_json(text: &str) -> SentNotifications {
    let keys: Vec<(String, String, i64)> = serde_json::from_str(text).unwrap_or_default();
    keys.into_iter()
        .filter_map(|(stage, level, deadline_ms)| {
            let stage = [Stage::SignFor, Stage::Reply, Stage::Review, Stage::Callback]
                .into_iter()
                .find(|s| s.as_str() == stage)?;
            let level = Level::ALL.into_iter().find(|l| l.as_str() == level)?;
            Some(crate::clock::NotificationKey {
                stage,
                level,
                deadline_ms,
            })
        })
        .collect()
}

fn sent_to_json(sent: &SentNotifications) -> String {
    let keys: Vec<(&str, &str, i64)> = sent
        .iter()
        .map(|k| (k.stage.as_str(), k.level.as_str(), k.deadline_ms))
        .collect();
    serde_json::to_string(&keys).unwrap_or_else(|_| "[]".into())
}

fn deadline_kind(stage: Stage) -> DeadlineKind {
    match stage {
        Stage::SignFor => DeadlineKind::SignFor,
        Stage::Reply => DeadlineKind::Reply,
        Stage::Review => DeadlineKind::Review,
        Stage::Callback => DeadlineKind::Callback,
    }
}

impl Dispatcher {
    /// Keeps the watched snapshot of a work order in step with its latest event.
    pub(super) async fn track(&self, event: &pb::Event) -> Result<(), Failure> {
        let work_order: Value = serde_json::from_str(&event.after_json).unwrap_or_default();
        let lifecycle = &work_order["lifecycle"];
        let state = lifecycle["state"].as_str().unwrap_or_default().to_owned();
        let id = event.entity_id;
        if matches!(state.as_str(), "called_back" | "closed" | "returned" | "") {
            self.with_state(move |s| s.unwatch(id)).await?;
            return Ok(());
        }
        let existing = self.with_state(move |s| s.watched(id)).await?;
        let previous: Option<Tracked> = existing
            .as_ref()
            .and_then(|w| serde_json::from_str(&w.snapshot).ok());
        let (kind, priority) = match &previous {
            Some(p) => (p.kind.clone(), p.priority.clone()),
            None => {
                let ticket = self.get_ticket(event.ticket_id).await?;
                (
                    super::follower::kind_of(&ticket).as_str().to_owned(),
                    super::follower::priority_of(&ticket).as_str().to_owned(),
                )
            }
        };
        // A rework or a reopening starts the reply clock again; an extension does not.
        let restarted = matches!(
            event.action.as_str(),
            "work_order.rework" | "work_order.reopened"
        ) || (event.action == "work_order.called_back" && state == "signed");
        let millis = |field: &str| lifecycle[field].as_i64();
        let tracked = Tracked {
            state,
            kind,
            priority,
            union_name: work_order["org_name"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            dispatched_at: millis("dispatched_at").unwrap_or(event.at_ms),
            sign_due_at: millis("sign_due_at"),
            reply_clock_started_at: if restarted {
                Some(event.at_ms)
            } else {
                previous.as_ref().and_then(|p| p.reply_clock_started_at)
            },
            reply_due_at: millis("reply_due_at"),
            replied_at: millis("replied_at"),
            approved_at: millis("approved_at"),
            urge_count: lifecycle["urge_count"].as_u64().unwrap_or(0) as u32,
        };
        let row = Watched {
            work_order_id: id,
            ticket_id: event.ticket_id,
            org_code: work_order["org_code"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            snapshot: serde_json::to_string(&tracked).unwrap_or_default(),
            sent: existing.map_or_else(|| "[]".to_owned(), |w| w.sent),
            next_wake_ms: None,
        };
        let now = (self.now)();
        self.with_state(move |s| s.watch(&row, now)).await?;
        self.wake.notify_one();
        Ok(())
    }

    /// Sends whatever is due now on every watched work order; returns the next moment to look.
    pub(super) async fn urge_due(&self) -> Result<Option<i64>, Failure> {
        let now = (self.now)();
        loop {
            let batch = self.with_state(move |s| s.due_watched(now, 200)).await?;
            if batch.is_empty() {
                break;
            }
            for row in batch {
                let id = row.work_order_id;
                if let Err(failure) = self.urge_one(row, now).await {
                    let why = match failure {
                        Failure::Transient(why) | Failure::Permanent(why) => why,
                    };
                    tracing::warn!(work_order = id, "deadline notices not sent yet: {why}");
                    let retry_at = now + RETRY_MS;
                    self.with_state(move |s| {
                        let sent = s
                            .watched(id)?
                            .map(|w| w.sent)
                            .unwrap_or_else(|| "[]".into());
                        s.set_progress(id, &sent, Some(retry_at))
                    })
                    .await?;
                }
            }
        }
        Ok(self.with_state(|s| s.next_wake()).await?)
    }

    async fn urge_one(&self, row: Watched, now: i64) -> Result<(), Failure> {
        let id = row.work_order_id;
        let tracked: Tracked =
            serde_json::from_str(&row.snapshot).map_err(|e| Failure::Permanent(e.to_string()))?;
        let Some(snapshot) = tracked.snapshot() else {
            self.with_state(move |s| s.unwatch(id)).await?;
            return Err(Failure::Permanent(format!(
                "work order {id}: unreadable snapshot"
            )));
        };
        let plan = DeadlinePlan::new(&self.policy, &self.calendar, &snapshot)
            .map_err(|e| Failure::Permanent(format!("work order {id}: {e}")))?;
        if let Some(year) = plan.calendar_gap() {
            self.raise(
                format!("calendar_gap:{year}"),
                "calendar_gap",
                format!("工作日历缺少{year}年节假日安排，部分催办时点无法计算；请管理员补充"),
                vec![row.ticket_id],
                String::new(),
            )
            .await?;
        }
        let mut sent = sent_from_json(&row.sent);
        sent.retain_current(&plan);
        let mut due = Vec::new();
        let next = plan.poll(&sent, now, &mut due);
        let mut ticket = None;
        for notice in &due {
            if ticket.is_none() {
                ticket = Some(self.get_ticket(row.ticket_id).await?);
            }
            self.send_notice(
                &row,
                &tracked,
                notice,
                ticket.as_ref().expect("fetched above"),
                now,
            )
            .await?;
            sent.insert(notice.key());
            let json = sent_to_json(&sent);
            self.with_state(move |s| s.set_progress(id, &json, Some(now)))
                .await?;
        }
        let json = sent_to_json(&sent);
        self.with_state(move |s| s.set_progress(id, &json, next))
            .await?;
        Ok(())
    }

    async fn send_notice(
        &self,
        row: &Watched,
        tracked: &Tracked,
        due: &Due,
        ticket: &pb::Ticket,
        now: i64,
    ) -> Result<(), Failure> {
        let key = key_text(due);
        // The callback is the hotline's own step: ticket-core records no urge on it.
        if due.stage != Stage::Callback {
            let marker = format!("[{key}]");
            let history = self
                .clients
                .events()
                .list_events(pb::ListEventsRequest {
                    ticket_id: row.ticket_id,
                    limit: 5000,
                    ..Default::default()
                })
                .await?
                .into_inner()
                .events;
            if !history.iter().any(|e| e.reason.starts_with(&marker)) {
                let level = match due.level {
                    Level::Reminder75 | Level::ReminderDayBefore => "reminder",
                    Level::Urge => "urge",
                    Level::Escalation => "escalation",
                };
                let acted = self
                    .clients
                    .work_orders()
                    .act(pb::ActRequest {
                        work_order_id: row.work_order_id,
                        reason: format!("{marker} {}", due.explanation),
                        action: Some(pb::act_request::Action::Urge(pb::Urge {
                            level: level.into(),
                        })),
                        ..Default::default()
                    })
                    .await;
                match acted {
                    Ok(_) => {}
                    // The work order moved on meanwhile; its new snapshot follows.
                    Err(status) if status.code() == Code::FailedPrecondition => return Ok(()),
                    Err(status) => return Err(status.into()),
                }
            }
        }
        let Some(outbox) = &self.outbox else {
            return Ok(());
        };
        let Some(email) = self.notice_email(row, tracked, due, ticket, now) else {
            return Ok(());
        };
        let at = DateTime::<Utc>::from_timestamp_millis(now).unwrap_or_default();
        notify::enqueue(
            outbox,
            email,
            format!("clock:{}:{key}", row.work_order_id),
            at,
        )
        .await
        .map_err(|e| Failure::Transient(e.to_string()))?;
        Ok(())
    }

    fn notice_email(
        &self,
        row: &Watched,
        tracked: &Tracked,
        due: &Due,
        ticket: &pb::Ticket,
        now: i64,
    ) -> Option<notify::Email> {
        let employer = ticket.employer.clone().unwrap_or_default();
        let region = if employer.region_code.is_empty() {
            &ticket.place_region_code
        } else {
            &employer.region_code
        };
        let facts = TicketFacts {
            ticket_number: ticket.number.clone(),
            topic: ticket.topic.clone(),
            employer_name: employer.name.clone(),
            region_name: hotline_reference::region_full_name(region).unwrap_or_default(),
            summary: ticket.description.clone(),
        };
        let deadline = china_time(due.deadline_ms);
        let working_days = |from: i64, to: i64| {
            let day = |ms: i64| {
                DateTime::<Utc>::from_timestamp_millis(ms + 8 * 3_600_000)
                    .unwrap_or_default()
                    .date_naive()
            };
            self.calendar
                .working_days_between(day(from), day(to))
                .unwrap_or(0)
                .max(0)
        };
        // The province's own steps (review, callback) concern the hotline centre's staff.
        let handler_contacts = match due.stage {
            Stage::SignFor | Stage::Reply => self.contacts.emails(&row.org_code).to_vec(),
            Stage::Review | Stage::Callback => self.contacts.emails(&self.centre_code).to_vec(),
        };
        let email = match due.level {
            Level::Reminder75 | Level::ReminderDayBefore => {
                notify::render_reminder(&DeadlineReminder {
                    to: handler_contacts,
                    union_name: tracked.union_name.clone(),
                    ticket: facts,
                    deadline_kind: deadline_kind(due.stage),
                    deadline,
                    time_left: match working_days(now, due.deadline_ms) {
                        0 => "今日到期".to_owned(),
                        n => format!("剩余{n}个工作日"),
                    },
                    hotline_name: self.hotline_name.clone(),
                })
            }
            Level::Urge => notify::render_urge(&UrgeNotice {
                to: handler_contacts,
                union_name: tracked.union_name.clone(),
                ticket: facts,
                deadline_kind: deadline_kind(due.stage),
                deadline,
                overdue_by: format!(
                    "已超期{}个工作日",
                    working_days(due.deadline_ms, now).max(1)
                ),
                urge_number: tracked.urge_count.max(1),
                hotline_name: self.hotline_name.clone(),
            }),
            Level::Escalation => notify::render_escalation(&EscalationNotice {
                to: self.contacts.emails(&self.province_code).to_vec(),
                supervisor_name: self.contacts.name(&self.province_code).to_owned(),
                union_name: tracked.union_name.clone(),
                ticket: facts,
                deadline_kind: deadline_kind(due.stage),
                deadline,
                overdue_by: format!(
                    "已超期{}个工作日",
                    working_days(due.deadline_ms, now).max(1)
                ),
                urges_sent: tracked.urge_count,
                hotline_name: self.hotline_name.clone(),
            }),
        };
        (!email.to.is_empty()).then_some(email)
    }
}
