//! Notices to the worker (告知书): rendered when a ticket's outcome is decided, stored
//! with the ticket in ticket-core, and emailed when the worker gave an address.

use chrono::{DateTime, NaiveDate, Utc};
use hotline_api::ticket::v1 as pb;
use serde_json::Value;

use crate::notify::{NoticeDetails, NoticeKind, NoticeRequest, RenderedNotice, render_notice};

fn china_date(ms: i64) -> NaiveDate {
    DateTime::<Utc>::from_timestamp_millis(ms + 8 * 3_600_000)
        .unwrap_or_default()
        .date_naive()
}

fn reply_outcome(value: &Value) -> &'static str {
    match value.as_str() {
        Some("resolved") => "已解决",
        Some("partly_resolved") => "部分解决",
        Some("not_resolved") => "未解决",
        _ => "已解释说明",
    }
}

/// The notice an event calls for, if any. `earlier` is the ticket a duplicate repeats.
pub fn notice_for(
    event: &pb::Event,
    ticket: &pb::Ticket,
    earlier: Option<&pb::Ticket>,
    issuer: &str,
    now: i64,
) -> Option<Result<RenderedNotice, String>> {
    let details = match event.action.as_str() {
        "ticket.not_accepted" => NoticeDetails::NotAccepted {
            reason: ticket.disposition_reason.clone(),
            lawful_channel: ticket.forwarded_to.clone(),
        },
        "ticket.no_longer_accepted" => NoticeDetails::NoLongerAccepted {
            final_review_basis: ticket.disposition_reason.clone(),
        },
        "ticket.forwarded" => NoticeDetails::Forwarded {
            forwarded_to: ticket.forwarded_to.clone(),
            reason: ticket.disposition_reason.clone(),
        },
        "ticket.duplicate" => NoticeDetails::Duplicate {
            earlier_ticket_number: earlier.map(|t| t.number.clone()).unwrap_or_default(),
            earlier_status: earlier
                .map(|t| {
                    if t.closed_at_ms > 0 {
                        "已办结".to_owned()
                    } else {
                        "正在办理中".to_owned()
                    }
                })
                .unwrap_or_default(),
        },
        "work_order.closed" => {
            let work_order: Value = serde_json::from_str(&event.after_json).unwrap_or_default();
            let reply = &work_order["lifecycle"]["reply"];
            NoticeDetails::Outcome {
                handling_union: work_order["org_name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                outcome: reply_outcome(&reply["outcome"]).to_owned(),
                result: reply["text"].as_str().unwrap_or_default().to_owned(),
            }
        }
        _ => return None,
    };
    let caller = ticket.caller.clone().unwrap_or_default();
    let request = NoticeRequest {
        worker_name: if caller.name.is_empty() {
            "来电职工".into()
        } else {
            caller.name
        },
        ticket_number: ticket.number.clone(),
        received_on: china_date(ticket.created_at_ms),
        matter_summary: ticket.topic.clone(),
        issuer_name: issuer.to_owned(),
        issued_on: china_date(now),
        details,
    };
    Some(render_notice(&request).map_err(|e| e.to_string()))
}

pub fn notice_kind(kind: NoticeKind) -> pb::NoticeKind {
    match kind {
        NoticeKind::Outcome => pb::NoticeKind::Outcome,
        NoticeKind::NotAccepted => pb::NoticeKind::NotAccepted,
        NoticeKind::Duplicate => pb::NoticeKind::Duplicate,
        NoticeKind::NoLongerAccepted => pb::NoticeKind::NoLonger,
        NoticeKind::Forwarded => pb::NoticeKind::Forwarded,
    }
}
