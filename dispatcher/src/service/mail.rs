//! The emails the dispatcher queues: the dispatch notice to the handling union's contacts.
//! They go through the durable outbox, keyed by what caused them, so a replayed event
//! queues nothing twice.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use hotline_api::ticket::v1 as pb;
use serde_json::Value;

use crate::notify::{DispatchNotice, Email, Priority, TicketFacts, render_dispatch};

/// Contact addresses and names of every organisation, by code.
#[derive(Default)]
pub struct Contacts {
    by_code: HashMap<String, (String, Vec<String>)>,
}

impl Contacts {
    pub fn new(organisations: &[pb::Organisation]) -> Self {
        Self {
            by_code: organisations
                .iter()
                .map(|o| (o.code.clone(), (o.name.clone(), o.contact_emails.clone())))
                .collect(),
        }
    }

    pub fn name(&self, code: &str) -> &str {
        self.by_code.get(code).map_or("", |(name, _)| name.as_str())
    }

    pub fn emails(&self, code: &str) -> &[String] {
        self.by_code
            .get(code)
            .map_or(&[], |(_, emails)| emails.as_slice())
    }
}

/// "2026年11月24日 23:59" in China time.
pub fn china_time(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms + 8 * 3_600_000)
        .map(|t| t.format("%Y年%m月%d日 %H:%M").to_string())
        .unwrap_or_default()
}

fn priority(ticket: &pb::Ticket) -> Priority {
    match pb::Priority::try_from(ticket.priority) {
        Ok(pb::Priority::Urgent) => Priority::Urgent,
        Ok(pb::Priority::Collective) => Priority::Collective,
        _ => Priority::Normal,
    }
}

/// The 交办通知 for a `work_order.dispatched` event, or `None` when the union has no
/// contact address (the work order is still visible to it in the system).
pub fn dispatch_email(
    contacts: &Contacts,
    hotline_name: &str,
    work_order: &Value,
    ticket: &pb::Ticket,
) -> Option<Email> {
    let org_code = work_order["org_code"].as_str().unwrap_or_default();
    let to = contacts.emails(org_code).to_vec();
    if to.is_empty() {
        return None;
    }
    let employer = ticket.employer.clone().unwrap_or_default();
    let region = if employer.region_code.is_empty() {
        &ticket.place_region_code
    } else {
        &employer.region_code
    };
    let due = |field: &str| {
        work_order["lifecycle"][field]
            .as_i64()
            .map(china_time)
            .unwrap_or_default()
    };
    let notice = DispatchNotice {
        to,
        union_name: work_order["org_name"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        ticket: TicketFacts {
            ticket_number: ticket.number.clone(),
            topic: ticket.topic.clone(),
            employer_name: employer.name.clone(),
            region_name: hotline_reference::region_full_name(region).unwrap_or_default(),
            summary: ticket.description.clone(),
        },
        priority: priority(ticket),
        sign_deadline: due("sign_due_at"),
        reply_deadline: due("reply_due_at"),
        working_day_note: "按工作日计算，已扣除周末及法定节假日".into(),
        hotline_name: hotline_name.to_owned(),
    };
    Some(render_dispatch(&notice))
}
