//! Conversions between protobuf messages and domain records.

use hotline_api::ticket::v1 as pb;
use hotline_workflow::work_order::{CallbackResult, ReplyOutcome};

use crate::domain::records::{
    CallRecord, Caller, Channel, Employer, EventRecord, OrgRecord, Priority, TicketKind,
    TicketView, UserRecord, WorkOrderRecord,
};

pub fn channel_from(value: i32) -> Option<Channel> {
    match pb::Channel::try_from(value).ok()? {
        pb::Channel::Phone => Some(Channel::Phone),
        pb::Channel::Letter => Some(Channel::Letter),
        pb::Channel::Visit => Some(Channel::Visit),
        pb::Channel::Web => Some(Channel::Web),
        pb::Channel::Wechat => Some(Channel::Wechat),
        pb::Channel::Unspecified => None,
    }
}

fn channel_to(channel: Channel) -> pb::Channel {
    match channel {
        Channel::Phone => pb::Channel::Phone,
        Channel::Letter => pb::Channel::Letter,
        Channel::Visit => pb::Channel::Visit,
        Channel::Web => pb::Channel::Web,
        Channel::Wechat => pb::Channel::Wechat,
    }
}

pub fn kind_from(value: i32) -> Option<TicketKind> {
    match pb::TicketKind::try_from(value).ok()? {
        pb::TicketKind::Consultation => Some(TicketKind::Consultation),
        pb::TicketKind::Request => Some(TicketKind::Request),
        pb::TicketKind::Complaint => Some(TicketKind::Complaint),
        pb::TicketKind::Suggestion => Some(TicketKind::Suggestion),
        pb::TicketKind::LegalAid => Some(TicketKind::LegalAid),
        pb::TicketKind::Hardship => Some(TicketKind::Hardship),
        pb::TicketKind::Unspecified => None,
    }
}

fn kind_to(kind: TicketKind) -> pb::TicketKind {
    match kind {
        TicketKind::Consultation => pb::TicketKind::Consultation,
        TicketKind::Request => pb::TicketKind::Request,
        TicketKind::Complaint => pb::TicketKind::Complaint,
        TicketKind::Suggestion => pb::TicketKind::Suggestion,
        TicketKind::LegalAid => pb::TicketKind::LegalAid,
        TicketKind::Hardship => pb::TicketKind::Hardship,
    }
}

fn priority_to(priority: Priority) -> pb::Priority {
    match priority {
        Priority::Normal => pb::Priority::Normal,
        Priority::Collective => pb::Priority::Collective,
        Priority::Urgent => pb::Priority::Urgent,
    }
}

pub fn caller_from(caller: Option<pb::Caller>) -> Caller {
    let c = caller.unwrap_or_default();
    Caller {
        phone: c.phone.trim().to_owned(),
        name: c.name.trim().to_owned(),
        resident_id: c.resident_id.trim().to_owned(),
        email: c.email.trim().to_owned(),
    }
}

pub fn employer_from(employer: Option<pb::Employer>) -> Employer {
    let e = employer.unwrap_or_default();
    Employer {
        name: e.name.trim().to_owned(),
        uscc: e.uscc.trim().to_owned(),
        region_code: e.region_code.trim().to_owned(),
        industry_code: e.industry_code.trim().to_owned(),
    }
}

pub fn ticket_to(view: TicketView) -> pb::Ticket {
    let t = view.ticket;
    pb::Ticket {
        id: t.id,
        number: t.number,
        channel: channel_to(t.channel) as i32,
        kind: kind_to(t.kind) as i32,
        priority: priority_to(t.priority) as i32,
        state: t.state.as_str().to_owned(),
        topic: t.topic,
        caller: Some(pb::Caller {
            phone: t.caller.phone,
            name: t.caller.name,
            resident_id: t.caller.resident_id,
            email: t.caller.email,
        }),
        employer: Some(pb::Employer {
            name: t.employer.name,
            uscc: t.employer.uscc,
            region_code: t.employer.region_code,
            industry_code: t.employer.industry_code,
        }),
        place_region_code: t.place_region_code,
        place_detail: t.place_detail,
        workers: t.workers,
        description: t.description,
        urgent: t.urgent,
        created_at_ms: t.created_at,
        updated_at_ms: t.updated_at,
        closed_at_ms: t.closed_at.unwrap_or(0),
        created_by: t.created_by,
        intake_org_code: t.intake_org_code,
        call_ids: view.call_ids,
        notes: view
            .notes
            .into_iter()
            .map(|n| pb::Note {
                at_ms: n.at,
                author: n.author,
                text: n.text,
            })
            .collect(),
        possible_duplicates: view.possible_duplicates,
        disposition_reason: t.disposition_reason,
        duplicate_of: t.duplicate_of.unwrap_or(0),
        forwarded_to: t.forwarded_to,
        work_orders: view
            .work_orders
            .into_iter()
            .map(|w| pb::WorkOrderSummary {
                id: w.id,
                org_code: w.org_code,
                org_name: w.org_name,
                state: w.state,
            })
            .collect(),
        version: t.version,
        submitted_at_ms: t.submitted_at.unwrap_or(0),
        manual_dispatch_reason: t.manual_dispatch_reason,
    }
}

pub fn reply_outcome_from(value: i32) -> Option<ReplyOutcome> {
    match pb::ReplyOutcome::try_from(value).ok()? {
        pb::ReplyOutcome::Resolved => Some(ReplyOutcome::Resolved),
        pb::ReplyOutcome::PartlyResolved => Some(ReplyOutcome::PartlyResolved),
        pb::ReplyOutcome::NotResolved => Some(ReplyOutcome::NotResolved),
        pb::ReplyOutcome::Explained => Some(ReplyOutcome::Explained),
        pb::ReplyOutcome::Unspecified => None,
    }
}

fn reply_outcome_to(outcome: ReplyOutcome) -> pb::ReplyOutcome {
    match outcome {
        ReplyOutcome::Resolved => pb::ReplyOutcome::Resolved,
        ReplyOutcome::PartlyResolved => pb::ReplyOutcome::PartlyResolved,
        ReplyOutcome::NotResolved => pb::ReplyOutcome::NotResolved,
        ReplyOutcome::Explained => pb::ReplyOutcome::Explained,
    }
}

pub fn callback_from(value: i32) -> Option<CallbackResult> {
    match pb::CallbackResult::try_from(value).ok()? {
        pb::CallbackResult::Satisfied => Some(CallbackResult::Satisfied),
        pb::CallbackResult::BasicallySatisfied => Some(CallbackResult::BasicallySatisfied),
        pb::CallbackResult::Unsatisfied => Some(CallbackResult::Unsatisfied),
        pb::CallbackResult::Unreachable => Some(CallbackResult::Unreachable),
        pb::CallbackResult::Unspecified => None,
    }
}

fn callback_to(result: CallbackResult) -> pb::CallbackResult {
    match result {
        CallbackResult::Satisfied => pb::CallbackResult::Satisfied,
        CallbackResult::BasicallySatisfied => pb::CallbackResult::BasicallySatisfied,
        CallbackResult::Unsatisfied => pb::CallbackResult::Unsatisfied,
        CallbackResult::Unreachable => pb::CallbackResult::Unreachable,
    }
}

pub fn work_order_to(w: WorkOrderRecord) -> pb::WorkOrder {
    let l = w.lifecycle;
    let reply = l.reply.clone();
    pb::WorkOrder {
        id: w.id,
        ticket_id: w.ticket_id,
        ticket_number: w.ticket_number,
        org_code: w.org_code,
        org_name: w.org_name,
        state: l.state.as_str().to_owned(),
        rule: w.rule,
        dispatch_reason: w.dispatch_reason,
        dispatched_at_ms: l.dispatched_at,
        sign_due_at_ms: l.sign_due_at.unwrap_or(0),
        signed_at_ms: l.signed_at.unwrap_or(0),
        reply_due_at_ms: l.reply_due_at.unwrap_or(0),
        original_reply_due_at_ms: l.original_reply_due_at.unwrap_or(0),
        replied_at_ms: l.replied_at.unwrap_or(0),
        reply_outcome: reply
            .as_ref()
            .map_or(0, |r| reply_outcome_to(r.outcome) as i32),
        reply_text: reply.as_ref().map(|r| r.text.clone()).unwrap_or_default(),
        amount_recovered_fen: reply.as_ref().map_or(0, |r| r.amount_recovered_fen),
        workers_helped: reply.as_ref().map_or(0, |r| r.workers_helped),
        extension_requested_until_ms: l.extension_requested_until.unwrap_or(0),
        return_reason: l.return_reason.unwrap_or_default(),
        callback_result: l.callback_result.map_or(0, |c| callback_to(c) as i32),
        closed_at_ms: l.closed_at.unwrap_or(0),
        rework_count: l.rework_count as i32,
        reopen_count: l.reopen_count as i32,
        urge_count: l.urge_count as i32,
        version: w.version,
        updated_at_ms: w.updated_at,
    }
}

fn call_event_kind_to(kind: &str) -> pb::CallEventKind {
    match kind {
        "offered" => pb::CallEventKind::Offered,
        "queued" => pb::CallEventKind::Queued,
        "answered" => pb::CallEventKind::Answered,
        "transferred" => pb::CallEventKind::Transferred,
        "ended" => pb::CallEventKind::Ended,
        "abandoned" => pb::CallEventKind::Abandoned,
        "recording_ready" => pb::CallEventKind::RecordingReady,
        _ => pb::CallEventKind::Unspecified,
    }
}

pub fn call_to(c: CallRecord) -> pb::Call {
    pb::Call {
        id: c.id,
        call_uuid: c.call_uuid,
        caller_phone: c.caller_phone,
        state: c.state,
        offered_at_ms: c.offered_at.unwrap_or(0),
        answered_at_ms: c.answered_at.unwrap_or(0),
        ended_at_ms: c.ended_at.unwrap_or(0),
        answered_by: c.answered_by,
        queue: c.queue,
        recording_path: c.recording_path,
        recording_sha256: c.recording_sha256,
        events: c
            .events
            .into_iter()
            .map(|e| pb::CallEventEntry {
                kind: call_event_kind_to(&e.kind) as i32,
                at_ms: e.at,
                queue: e.queue,
                agent: e.agent,
            })
            .collect(),
        ticket_ids: c.ticket_ids,
    }
}

pub fn event_to(e: EventRecord) -> pb::Event {
    pb::Event {
        seq: e.seq,
        at_ms: e.at,
        actor: e.actor,
        entity: e.entity,
        entity_id: e.entity_id,
        action: e.action,
        reason: e.reason,
        before_json: e.before_json,
        after_json: e.after_json,
        ticket_id: e.ticket_id,
    }
}

pub fn org_to(o: OrgRecord) -> pb::Organisation {
    pb::Organisation {
        id: o.id,
        code: o.code,
        name: o.name,
        kind: o.kind,
        parent_code: o.parent_code,
        region_code: o.region_code,
        industry_scope: o.industry_scope,
        contact_emails: o.contact_emails,
    }
}

pub fn user_to(u: UserRecord) -> pb::User {
    pb::User {
        id: u.id,
        name: u.name,
        display_name: u.display_name,
        role: u.role,
        org_code: u.org_code,
        email: u.email,
        active: u.active,
    }
}

pub fn notice_kind_from(value: i32) -> Option<&'static str> {
    match pb::NoticeKind::try_from(value).ok()? {
        pb::NoticeKind::Outcome => Some("outcome"),
        pb::NoticeKind::NotAccepted => Some("not_accepted"),
        pb::NoticeKind::Duplicate => Some("duplicate"),
        pb::NoticeKind::NoLonger => Some("no_longer"),
        pb::NoticeKind::Forwarded => Some("forwarded"),
        pb::NoticeKind::Unspecified => None,
    }
}

fn notice_kind_to(kind: &str) -> pb::NoticeKind {
    match kind {
        "outcome" => pb::NoticeKind::Outcome,
        "not_accepted" => pb::NoticeKind::NotAccepted,
        "duplicate" => pb::NoticeKind::Duplicate,
        "no_longer" => pb::NoticeKind::NoLonger,
        "forwarded" => pb::NoticeKind::Forwarded,
        _ => pb::NoticeKind::Unspecified,
    }
}

pub fn notice_to(n: crate::domain::notices::NoticeRecord) -> pb::Notice {
    pb::Notice {
        id: n.id,
        ticket_id: n.ticket_id,
        kind: notice_kind_to(&n.kind) as i32,
        title: n.title,
        body: n.body,
        emailed_to: n.emailed_to,
        created_at_ms: n.created_at,
        created_by: n.created_by,
    }
}

pub fn alert_to(a: crate::domain::alerts::AlertRecord) -> pb::Alert {
    pb::Alert {
        id: a.id,
        key: a.key,
        kind: a.kind,
        message: a.message,
        ticket_ids: a.ticket_ids,
        region_code: a.region_code,
        raised_at_ms: a.raised_at,
        raised_by: a.raised_by,
        acknowledged_at_ms: a.acknowledged_at.unwrap_or(0),
        acknowledged_by: a.acknowledged_by,
    }
}
