//! Tickets: intake, changes, outcomes, search and the caller's history.

use hotline_workflow::ticket::{self as lifecycle, TicketAction, TicketState};
use hotline_workflow::validate;
use rusqlite::Connection;
use rusqlite::types::Value;

use super::records::{
    Caller, Employer, NewTicket, Priority, TicketPatch, TicketRecord, TicketView,
};
use super::{Actor, CoreError, Role, TicketCore, Violations, text};
use crate::store::events::{self, NewEvent};
use crate::store::{calls, tickets, work_orders};

const INTAKE_ROLES: &[Role] = &[
    Role::Agent,
    Role::Lawyer,
    Role::Dispatcher,
    Role::Admin,
    Role::Service,
];
const HISTORY_ROLES: &[Role] = &[
    Role::Agent,
    Role::Lawyer,
    Role::Dispatcher,
    Role::Supervisor,
    Role::Admin,
    Role::Service,
];
const MAX_DESCRIPTION: usize = 10_000;
const MAX_SHORT: usize = 200;

/// How a ticket ends without a work order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    ResolvedOnCall,
    NotAccepted,
    NoLongerAccepted,
    Duplicate { of: i64 },
    Forwarded,
    Close,
}

fn short_text(v: &mut Violations, field: &str, value: &str, required: bool, max: usize) {
    let chars = value.chars().count();
    if required && value.trim().is_empty() {
        v.push(field, "is required");
    } else if chars > max {
        v.push(field, format!("must be at most {max} characters"));
    }
}

impl TicketCore {
    fn today(&self) -> (i32, u32, u32) {
        use chrono::Datelike;
        let china =
            chrono::DateTime::from_timestamp_millis(self.now() + 8 * 3_600_000).unwrap_or_default();
        (china.year(), china.month(), china.day())
    }

    /// Checks and normalises caller and employer fields in place, collecting every violation.
    fn validate_parties(
        &self,
        v: &mut Violations,
        caller: &mut Caller,
        employer: &mut Employer,
        place: &str,
    ) {
        if let Some(phone) = v.check(validate::phone("caller.phone", &caller.phone)) {
            caller.phone = phone;
        }
        short_text(v, "caller.name", &caller.name, false, MAX_SHORT);
        if !caller.resident_id.is_empty()
            && let Some(id) = v.check(validate::resident_id(
                "caller.resident_id",
                &caller.resident_id,
                self.today(),
            ))
        {
            caller.resident_id = id;
        }
        if !caller.email.is_empty()
            && let Some(email) = v.check(validate::email("caller.email", &caller.email))
        {
            caller.email = email;
        }
        short_text(v, "employer.name", &employer.name, false, MAX_SHORT);
        if !employer.uscc.is_empty()
            && let Some(uscc) = v.check(validate::uscc("employer.uscc", &employer.uscc))
        {
            employer.uscc = uscc;
        }
        for (field, code) in [
            ("employer.region_code", &employer.region_code),
            ("place_region_code", &place.to_owned()),
        ] {
            if !code.is_empty() && hotline_reference::region(code).is_none() {
                v.push(
                    field,
                    "must be a GB/T 2260 region code present in the region table",
                );
            }
        }
        employer.industry_code = employer.industry_code.trim().to_uppercase();
        if !employer.industry_code.is_empty()
            && hotline_reference::industry(&employer.industry_code).is_none()
        {
            v.push(
                "employer.industry_code",
                "must be a GB/T 4754-2017 section letter (A–T) or 2-digit division present in the table",
            );
        }
    }

    fn priority(&self, urgent: bool, workers: i32) -> Priority {
        if urgent {
            Priority::Urgent
        } else if workers >= self.config.collective_threshold {
            Priority::Collective
        } else {
            Priority::Normal
        }
    }

    pub async fn create_ticket(
        &self,
        actor: &Actor,
        mut new: NewTicket,
    ) -> Result<TicketView, CoreError> {
        actor.require(INTAKE_ROLES, "create tickets")?;
        let mut v = Violations::default();
        if new.channel.is_none() {
            v.push(
                "channel",
                "is required: phone, letter, visit, web or wechat",
            );
        }
        if new.kind.is_none() {
            v.push(
                "kind",
                "is required: consultation, request, complaint, suggestion, legal_aid or hardship",
            );
        }
        short_text(&mut v, "topic", &new.topic, true, MAX_SHORT);
        short_text(
            &mut v,
            "description",
            &new.description,
            true,
            MAX_DESCRIPTION,
        );
        short_text(&mut v, "place_detail", &new.place_detail, false, MAX_SHORT);
        short_text(&mut v, "request_id", &new.request_id, false, MAX_SHORT);
        if new.workers < 1 {
            v.push("workers", "must be at least 1");
        }
        let place = new.place_region_code.clone();
        self.validate_parties(&mut v, &mut new.caller, &mut new.employer, &place);
        v.into_result()?;

        let now = self.now();
        let day = chrono::DateTime::from_timestamp_millis(now + 8 * 3_600_000)
            .unwrap_or_default()
            .format("%Y%m%d")
            .to_string();
        let words = segment(format!(
            "{} {} {} {}",
            new.topic, new.description, new.employer.name, new.place_detail
        ))
        .await?;
        let employer_key =
            hotline_workflow::employer::employer_key(&new.employer.uscc, &new.employer.name);
        let record = TicketRecord {
            id: 0,
            number: String::new(),
            channel: new.channel.expect("checked above"),
            kind: new.kind.expect("checked above"),
            priority: self.priority(new.urgent, new.workers),
            state: TicketState::Registered,
            topic: new.topic.trim().to_owned(),
            caller: new.caller,
            employer: new.employer,
            place_region_code: new.place_region_code,
            place_detail: new.place_detail,
            workers: new.workers,
            description: new.description,
            urgent: new.urgent,
            disposition_reason: String::new(),
            duplicate_of: None,
            forwarded_to: String::new(),
            created_at: now,
            updated_at: now,
            closed_at: None,
            created_by: actor.name.clone(),
            intake_org_code: actor.org_code.clone(),
            version: 1,
            submitted_at: None,
            manual_dispatch_reason: String::new(),
        };
        let prefix = self.config.ticket_prefix.clone();
        let since = now - self.config.duplicate_window_days * 86_400_000;
        let actor = actor.clone();
        let request_id = new.request_id;
        let call_ids = new.call_ids;
        let created = self
            .db
            .write(move |conn| {
                if !request_id.is_empty()
                    && let Some(existing) = tickets::id_by_request(conn, &request_id)?
                {
                    return Ok(Err(existing));
                }
                for (i, call_id) in call_ids.iter().enumerate() {
                    if calls::by_id(conn, *call_id)?.is_none() {
                        return Err(CoreError::invalid(
                            format!("call_ids[{i}]"),
                            format!("call {call_id} does not exist"),
                        ));
                    }
                }
                let mut record = record;
                record.number = tickets::next_number(conn, &prefix, &day)?;
                let duplicates = tickets::duplicate_candidates(
                    conn,
                    &record.caller.phone,
                    &employer_key,
                    &record.topic,
                    since,
                )?;
                let id = tickets::insert(
                    conn,
                    &tickets::InsertTicket {
                        record: &record,
                        employer_key: &employer_key,
                        request_id: (!request_id.is_empty()).then_some(request_id.as_str()),
                        created_by: actor.user_id,
                        intake_org_id: actor.org_id,
                        words: &words,
                    },
                )?;
                record.id = id;
                tickets::link_duplicates(conn, id, &duplicates)?;
                for call_id in &call_ids {
                    tickets::link_call(conn, id, *call_id)?;
                }
                let reason = if duplicates.is_empty() {
                    String::new()
                } else {
                    format!("possible duplicate of {duplicates:?}")
                };
                events::append(
                    conn,
                    &NewEvent {
                        at: now,
                        actor: &actor.name,
                        entity: "ticket",
                        entity_id: id,
                        action: "ticket.created",
                        reason: &reason,
                        before_json: String::new(),
                        after_json: to_json(&record),
                        ticket_id: id,
                    },
                )?;
                Ok(Ok(TicketView {
                    ticket: record,
                    call_ids,
                    notes: Vec::new(),
                    possible_duplicates: duplicates,
                    work_orders: Vec::new(),
                }))
            })
            .await?;
        match created {
            Ok(view) => {
                tracing::info!(
                    ticket = %view.ticket.number,
                    caller = %hotline_workflow::mask::phone(&view.ticket.caller.phone),
                    duplicates = view.possible_duplicates.len(),
                    "ticket created"
                );
                Ok(view)
            }
            // A retried create: answer with the ticket the first attempt made.
            Err(existing) => {
                self.get_ticket(&self.system_view_of(existing), existing)
                    .await
            }
        }
    }

    /// The retried-create path reads back a ticket its caller made; no scope applies.
    fn system_view_of(&self, _ticket_id: i64) -> Actor {
        Actor {
            user_id: 0,
            name: "system".into(),
            role: Role::Service,
            org_id: 0,
            org_code: String::new(),
            org_path: "/".into(),
            org_region: String::new(),
        }
    }

    pub async fn get_ticket(&self, actor: &Actor, id: i64) -> Result<TicketView, CoreError> {
        let actor = actor.clone();
        self.db
            .read(move |conn| load_visible(conn, &actor, id))
            .await
    }

    pub async fn ticket_id_by_number(&self, number: String) -> Result<i64, CoreError> {
        let lookup = number.clone();
        self.db
            .read(move |conn| tickets::id_by_number(conn, &lookup))
            .await?
            .ok_or_else(|| CoreError::NotFound(format!("ticket {number} not found")))
    }

    pub async fn update_ticket(
        &self,
        actor: &Actor,
        id: i64,
        patch: TicketPatch,
        reason: String,
    ) -> Result<TicketView, CoreError> {
        actor.require(INTAKE_ROLES, "change tickets")?;
        let today = self.today();
        let threshold = self.config.collective_threshold;
        let core = self.clone();
        let now = self.now();
        let actor = actor.clone();
        self.db
            .write(move |conn| {
                let before = load_visible(conn, &actor, id)?.ticket;
                lifecycle::apply(before.state, TicketAction::Edit, false)?;
                let mut after = before.clone();
                let mut v = Violations::default();
                if let Some(kind) = patch.kind {
                    match kind {
                        Some(kind) => after.kind = kind,
                        None => v.push("kind", "must be one of consultation, request, complaint, suggestion, legal_aid, hardship"),
                    }
                }
                if let Some(topic) = patch.topic {
                    short_text(&mut v, "topic", &topic, true, MAX_SHORT);
                    after.topic = topic.trim().to_owned();
                }
                if let Some(description) = patch.description {
                    short_text(&mut v, "description", &description, true, MAX_DESCRIPTION);
                    after.description = description;
                }
                if let Some(detail) = patch.place_detail {
                    short_text(&mut v, "place_detail", &detail, false, MAX_SHORT);
                    after.place_detail = detail;
                }
                if let Some(workers) = patch.workers {
                    if workers < 1 {
                        v.push("workers", "must be at least 1");
                    }
                    after.workers = workers;
                }
                if let Some(urgent) = patch.urgent {
                    after.urgent = urgent;
                }
                if let Some(caller) = patch.caller {
                    after.caller = caller;
                }
                if let Some(employer) = patch.employer {
                    after.employer = employer;
                }
                if let Some(place) = patch.place_region_code {
                    after.place_region_code = place;
                }
                let _ = today;
                let place = after.place_region_code.clone();
                core.validate_parties(&mut v, &mut after.caller, &mut after.employer, &place);
                v.into_result()?;
                after.priority = if after.urgent {
                    Priority::Urgent
                } else if after.workers >= threshold {
                    Priority::Collective
                } else {
                    Priority::Normal
                };
                if after == before {
                    return load_visible(conn, &actor, id);
                }
                after.updated_at = now;
                after.version += 1;
                tickets::update(conn, &after)?;
                tickets::set_words(
                    conn,
                    id,
                    &text::index_words(&format!(
                        "{} {} {} {}",
                        after.topic, after.description, after.employer.name, after.place_detail
                    )),
                )?;
                log_ticket_change(conn, &actor, now, "ticket.updated", &reason, &before, &after)?;
                load_visible(conn, &actor, id)
            })
            .await
    }

    pub async fn add_note(
        &self,
        actor: &Actor,
        id: i64,
        note: String,
    ) -> Result<TicketView, CoreError> {
        actor.require(HISTORY_ROLES, "add notes")?;
        let mut v = Violations::default();
        short_text(&mut v, "text", &note, true, MAX_DESCRIPTION);
        v.into_result()?;
        let now = self.now();
        let actor = actor.clone();
        self.db
            .write(move |conn| {
                load_visible(conn, &actor, id)?;
                tickets::add_note(conn, id, now, actor.user_id, &note)?;
                log_ticket_fact(
                    conn,
                    &actor,
                    now,
                    id,
                    "ticket.note_added",
                    serde_json::json!({ "note": note }),
                )?;
                load_visible(conn, &actor, id)
            })
            .await
    }

    pub async fn link_call(
        &self,
        actor: &Actor,
        id: i64,
        call_id: i64,
    ) -> Result<TicketView, CoreError> {
        actor.require(INTAKE_ROLES, "link calls to tickets")?;
        let now = self.now();
        let actor = actor.clone();
        self.db
            .write(move |conn| {
                load_visible(conn, &actor, id)?;
                if calls::by_id(conn, call_id)?.is_none() {
                    return Err(CoreError::invalid(
                        "call_id",
                        format!("call {call_id} does not exist"),
                    ));
                }
                if tickets::link_call(conn, id, call_id)? {
                    let linked = serde_json::json!({ "call_id": call_id });
                    log_ticket_fact(conn, &actor, now, id, "ticket.call_linked", linked)?;
                }
                load_visible(conn, &actor, id)
            })
            .await
    }

    pub async fn dispose(
        &self,
        actor: &Actor,
        id: i64,
        disposition: Disposition,
        reason: String,
        forwarded_to: String,
    ) -> Result<TicketView, CoreError> {
        actor.require(INTAKE_ROLES, "decide a ticket's outcome")?;
        let (action, event) = match disposition {
            Disposition::ResolvedOnCall => (TicketAction::ResolveOnCall, "ticket.resolved_on_call"),
            Disposition::NotAccepted => (TicketAction::NotAccept, "ticket.not_accepted"),
            // The same matter again after its final review (《信访工作条例》 art. 36): not
            // accepted, with the review as the reason.
            Disposition::NoLongerAccepted => (TicketAction::NotAccept, "ticket.no_longer_accepted"),
            Disposition::Duplicate { .. } => (TicketAction::MarkDuplicate, "ticket.duplicate"),
            Disposition::Forwarded => (TicketAction::Forward, "ticket.forwarded"),
            Disposition::Close => (TicketAction::Close, "ticket.closed"),
        };
        let mut v = Violations::default();
        // What the worker is told matters for these: the lawful channel, the earlier
        // ticket, the body it went to.
        if matches!(
            disposition,
            Disposition::NotAccepted
                | Disposition::NoLongerAccepted
                | Disposition::Duplicate { .. }
                | Disposition::Forwarded
        ) {
            short_text(&mut v, "reason", &reason, true, MAX_DESCRIPTION);
        }
        // The worker must be told where to go: the body it went to, or the lawful channel.
        if matches!(
            disposition,
            Disposition::Forwarded | Disposition::NotAccepted
        ) {
            short_text(&mut v, "forwarded_to", &forwarded_to, true, MAX_SHORT);
        }
        if let Disposition::Duplicate { of } = disposition
            && (of <= 0 || of == id)
        {
            v.push("duplicate_of", "must name another existing ticket");
        }
        v.into_result()?;
        let now = self.now();
        let actor = actor.clone();
        self.db
            .write(move |conn| {
                let before = load_visible(conn, &actor, id)?.ticket;
                let open = work_orders::has_open(conn, id)?;
                let mut after = before.clone();
                after.state = lifecycle::apply(before.state, action, open)?;
                if let Disposition::Duplicate { of } = disposition {
                    if tickets::get(conn, of)?.is_none() {
                        return Err(CoreError::invalid(
                            "duplicate_of",
                            format!("ticket {of} does not exist"),
                        ));
                    }
                    after.duplicate_of = Some(of);
                }
                if matches!(
                    disposition,
                    Disposition::Forwarded | Disposition::NotAccepted
                ) {
                    after.forwarded_to = forwarded_to.trim().to_owned();
                }
                if disposition != Disposition::Close {
                    after.disposition_reason = reason.trim().to_owned();
                }
                if after.closed_at.is_none() {
                    after.closed_at = Some(now);
                }
                after.updated_at = now;
                after.version += 1;
                tickets::update(conn, &after)?;
                log_ticket_change(conn, &actor, now, event, &reason, &before, &after)?;
                load_visible(conn, &actor, id)
            })
            .await
    }
}

/// Texts up to this many bytes are segmented where the request is handled. Jieba takes
/// about 45 µs a kilobyte (a typical ticket of 300–700 bytes, 25–40 µs; 2 KB, 0.1 ms), so
/// these stay well under the half millisecond an async task may hold its worker, while
/// the hand-off to the blocking pool and back (two thread wake-ups) cost about as much
/// CPU as the segmentation itself and added to every creation's latency.
const SEGMENT_INLINE_BYTES: usize = 2_048;

/// Segments for the index. A long description takes jieba milliseconds, too long to hold
/// an async worker: those go to a blocking thread.
async fn segment(text: String) -> Result<String, CoreError> {
    if text.len() <= SEGMENT_INLINE_BYTES {
        return Ok(text::index_words(&text));
    }
    tokio::task::spawn_blocking(move || text::index_words(&text))
        .await
        .map_err(|e| CoreError::Storage(format!("segmentation task failed: {e}")))
}

/// SQL condition on `t` that holds when `actor` may see the ticket: it was taken in
/// within the actor's reach, or one of its work orders went to a union within reach.
pub(crate) fn visibility_sql(actor: &Actor, params: &mut Vec<Value>) -> String {
    if matches!(actor.role, Role::Admin | Role::Service) {
        return "1".into();
    }
    let intake = actor.scope_sql("io.path", params);
    let handling = actor.scope_sql("wo.path", params);
    format!(
        "(EXISTS (SELECT 1 FROM organisations io WHERE io.id = t.intake_org_id AND {intake})
          OR EXISTS (SELECT 1 FROM work_orders w JOIN organisations wo ON wo.id = w.org_id
                     WHERE w.ticket_id = t.id AND {handling}))"
    )
}

/// The ticket with its notes, links and work orders, if `actor` may see it. A ticket out
/// of reach is reported as not found, so ids cannot be probed.
pub(crate) fn load_visible(
    conn: &Connection,
    actor: &Actor,
    id: i64,
) -> Result<TicketView, CoreError> {
    let mut params: Vec<Value> = vec![id.into()];
    let scope = visibility_sql(actor, &mut params);
    let sql = format!("{} WHERE t.id = ? AND {scope}", tickets::TICKET_SELECT);
    let record = tickets::query(conn, &sql, params)?
        .pop()
        .ok_or_else(|| CoreError::NotFound(format!("ticket {id} not found")))?;
    view_of(conn, record)
}

pub(crate) fn view_of(conn: &Connection, ticket: TicketRecord) -> Result<TicketView, CoreError> {
    let mut views = views_of(conn, vec![ticket])?;
    Ok(views.pop().expect("one view per record"))
}

/// The views of many tickets, with four statements in all rather than four per ticket.
pub(crate) fn views_of(
    conn: &Connection,
    records: Vec<TicketRecord>,
) -> Result<Vec<TicketView>, CoreError> {
    let ids: Vec<i64> = records.iter().map(|record| record.id).collect();
    let mut details = tickets::details(conn, &ids)?;
    Ok(records
        .into_iter()
        .map(|ticket| {
            let found = details.remove(&ticket.id).unwrap_or_default();
            TicketView {
                ticket,
                call_ids: found.call_ids,
                notes: found.notes,
                possible_duplicates: found.duplicate_ids,
                work_orders: found.work_orders,
            }
        })
        .collect())
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("records always serialise")
}

/// Logs something added to a ticket (a note, a linked call): no before, only what was added.
fn log_ticket_fact(
    conn: &Connection,
    actor: &Actor,
    now: i64,
    id: i64,
    action: &str,
    added: serde_json::Value,
) -> Result<(), CoreError> {
    events::append(
        conn,
        &NewEvent {
            at: now,
            actor: &actor.name,
            entity: "ticket",
            entity_id: id,
            action,
            reason: "",
            before_json: String::new(),
            after_json: added.to_string(),
            ticket_id: id,
        },
    )?;
    Ok(())
}

pub(crate) fn log_ticket_change(
    conn: &Connection,
    actor: &Actor,
    now: i64,
    action: &str,
    reason: &str,
    before: &TicketRecord,
    after: &TicketRecord,
) -> Result<(), CoreError> {
    events::append(
        conn,
        &NewEvent {
            at: now,
            actor: &actor.name,
            entity: "ticket",
            entity_id: after.id,
            action,
            reason,
            before_json: to_json(before),
            after_json: to_json(after),
            ticket_id: after.id,
        },
    )?;
    Ok(())
}
