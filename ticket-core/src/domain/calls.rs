//! Calls as the SIP gateway reports them, one event at a time.

use super::records::CallRecord;
use super::{Actor, CoreError, Role, TicketCore};
use crate::store::calls;
use crate::store::events::{self, NewEvent};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallEventKind {
    Offered,
    Queued,
    Answered,
    Transferred,
    Ended,
    Abandoned,
    RecordingReady,
}

impl CallEventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Offered => "offered",
            Self::Queued => "queued",
            Self::Answered => "answered",
            Self::Transferred => "transferred",
            Self::Ended => "ended",
            Self::Abandoned => "abandoned",
            Self::RecordingReady => "recording_ready",
        }
    }
}

#[derive(Clone, Debug)]
pub struct CallEvent {
    pub event_id: String,
    pub call_uuid: String,
    pub kind: CallEventKind,
    pub at: i64,
    pub caller_phone: String,
    pub queue: String,
    pub agent: String,
    pub recording_path: String,
    pub recording_sha256: String,
    pub end_reason: String,
}

impl TicketCore {
    /// Records one call event; a repeated `event_id` is acknowledged and ignored, so the
    /// gateway's outbox may deliver at least once and every event still counts once.
    /// Returns the call id and whether the event had been seen before.
    pub async fn record_call_event(
        &self,
        actor: &Actor,
        event: CallEvent,
    ) -> Result<(i64, bool), CoreError> {
        let mut results = self.record_call_events(actor, vec![event]).await?;
        results.pop().unwrap_or_else(|| {
            Err(CoreError::invalid(
                "events",
                "one event was sent, none came back",
            ))
        })
    }

    /// Records events in order in one transaction, so a backlog costs one durable
    /// commit rather than one per event. Each event gets its own result: an invalid
    /// one is refused (naming the field) and the others are still recorded.
    pub async fn record_call_events(
        &self,
        actor: &Actor,
        events: Vec<CallEvent>,
    ) -> Result<Vec<Result<(i64, bool), CoreError>>, CoreError> {
        actor.require(&[Role::Service, Role::Admin], "record call events")?;
        if events.len() > MAX_EVENTS_PER_BATCH {
            return Err(CoreError::invalid(
                "events",
                "at most 500 events in one request",
            ));
        }
        let checked: Vec<Result<(CallEvent, String), CoreError>> =
            events.into_iter().map(check_event).collect();
        if checked.iter().all(Result::is_err) {
            return Ok(checked.into_iter().map(|r| r.map(|_| (0, false))).collect());
        }
        let actor = actor.clone();
        let now = self.now();
        self.db
            .write(move |conn| {
                let mut results = Vec::with_capacity(checked.len());
                for item in checked {
                    results.push(match item {
                        Ok((event, caller_phone)) => {
                            Ok(store_event(conn, &actor, now, &event, &caller_phone)?)
                        }
                        Err(error) => Err(error),
                    });
                }
                Ok(results)
            })
            .await
    }

    pub async fn get_call(
        &self,
        actor: &Actor,
        id: Option<i64>,
        uuid: Option<String>,
    ) -> Result<CallRecord, CoreError> {
        actor.require(
            &[
                Role::Agent,
                Role::Lawyer,
                Role::Dispatcher,
                Role::Supervisor,
                Role::Admin,
                Role::Service,
            ],
            "read calls",
        )?;
        self.db
            .read(move |conn| {
                let call = match (id, uuid) {
                    (Some(id), _) => calls::by_id(conn, id)?,
                    (None, Some(uuid)) => calls::by_uuid(conn, &uuid)?,
                    (None, None) => {
                        return Err(CoreError::invalid("call_id", "give call_id or call_uuid"));
                    }
                }
                .ok_or_else(|| CoreError::NotFound("call not found".into()))?;
                calls::with_details(conn, call)
            })
            .await
    }
}

const MAX_EVENTS_PER_BATCH: usize = 500;

/// Validates an event; gives it back with the caller's number as stored.
fn check_event(event: CallEvent) -> Result<(CallEvent, String), CoreError> {
    let mut v = super::Violations::default();
    if event.event_id.trim().is_empty() || event.event_id.len() > 200 {
        v.push(
            "event_id",
            "is required (at most 200 characters): a unique id for this event",
        );
    }
    if event.call_uuid.trim().is_empty() || event.call_uuid.len() > 200 {
        v.push("call_uuid", "is required (at most 200 characters)");
    }
    if event.at <= 0 {
        v.push(
            "at_ms",
            "is required: when it happened, in Unix milliseconds",
        );
    }
    let caller_phone = if event.caller_phone.is_empty() {
        String::new()
    } else {
        // A withheld or foreign number is still a call; keep what the trunk sent.
        hotline_workflow::validate::phone("caller_phone", &event.caller_phone)
            .unwrap_or(event.caller_phone.clone())
    };
    if event.kind == CallEventKind::RecordingReady {
        if event.recording_path.is_empty() {
            v.push("recording_path", "is required for a recording-ready event");
        }
        let sha = &event.recording_sha256;
        if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
            v.push(
                "recording_sha256",
                "must be the recording's SHA-256 as 64 hex digits",
            );
        }
    }
    v.into_result()?;
    Ok((event, caller_phone))
}

/// Stores one checked event inside the caller's transaction; a seen `event_id` is
/// acknowledged as a duplicate.
fn store_event(
    conn: &rusqlite::Connection,
    actor: &Actor,
    now: i64,
    event: &CallEvent,
    caller_phone: &str,
) -> Result<(i64, bool), CoreError> {
    if let Some(call_id) = calls::event_seen(conn, &event.event_id)? {
        return Ok((call_id, true));
    }
    let mut call = match calls::by_uuid(conn, &event.call_uuid)? {
        Some(call) => call,
        None => {
            let id = calls::insert_call(conn, &event.call_uuid)?;
            CallRecord {
                id,
                call_uuid: event.call_uuid.clone(),
                state: "offered".into(),
                ..Default::default()
            }
        }
    };
    let before = serde_json::to_string(&call).unwrap_or_default();
    apply_event(&mut call, event, caller_phone);
    calls::insert_event(conn, call.id, event)?;
    calls::update(conn, &call)?;
    events::append(
        conn,
        &NewEvent {
            at: now,
            actor: &actor.name,
            entity: "call",
            entity_id: call.id,
            action: &format!("call.{}", event.kind.as_str()),
            reason: &event.end_reason,
            before_json: before,
            after_json: serde_json::to_string(&call).unwrap_or_default(),
            ticket_id: 0,
        },
    )?;
    Ok((call.id, false))
}

/// Folds one event into the call's current state. Events may arrive out of order after
/// an outage (the outbox retries), so terminal facts are never undone by a late one.
fn apply_event(call: &mut CallRecord, event: &CallEvent, caller_phone: &str) {
    let ended = matches!(call.state.as_str(), "ended" | "abandoned");
    match event.kind {
        CallEventKind::Offered => {
            call.offered_at = Some(call.offered_at.map_or(event.at, |at| at.min(event.at)));
            if !caller_phone.is_empty() {
                call.caller_phone = caller_phone.to_owned();
            }
        }
        CallEventKind::Queued => {
            call.queue = event.queue.clone();
            if !ended && call.answered_at.is_none() {
                call.state = "queued".into();
            }
        }
        CallEventKind::Answered => {
            call.answered_at.get_or_insert(event.at);
            call.answered_by = event.agent.clone();
            if !ended {
                call.state = "answered".into();
            }
        }
        CallEventKind::Transferred => {
            if !event.queue.is_empty() {
                call.queue = event.queue.clone();
            }
            if !event.agent.is_empty() {
                call.answered_by = event.agent.clone();
            }
        }
        CallEventKind::Ended => {
            call.ended_at = Some(event.at);
            call.state = if call.answered_at.is_some() {
                "ended"
            } else {
                "abandoned"
            }
            .into();
        }
        CallEventKind::Abandoned => {
            call.ended_at = Some(event.at);
            call.state = "abandoned".into();
        }
        CallEventKind::RecordingReady => {
            call.recording_path = event.recording_path.clone();
            call.recording_sha256 = event.recording_sha256.to_lowercase();
        }
    }
}
