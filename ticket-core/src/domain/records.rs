//! The domain's records: what is stored, logged as JSON in events, and returned.

use hotline_workflow::ticket::TicketState;
use hotline_workflow::work_order::WorkOrder;
use serde::{Deserialize, Serialize};

macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &[$name] = &[$(Self::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }

            pub fn parse(text: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str() == text)
            }
        }
    };
}

text_enum!(
    /// How the matter came in: the "网、电、信、访" channels.
    Channel { Phone => "phone", Letter => "letter", Visit => "visit", Web => "web", Wechat => "wechat" }
);
text_enum!(
    TicketKind {
        Consultation => "consultation",
        Request => "request",
        Complaint => "complaint",
        Suggestion => "suggestion",
        LegalAid => "legal_aid",
        Hardship => "hardship",
    }
);
text_enum!(
    Priority { Normal => "normal", Collective => "collective", Urgent => "urgent" }
);

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    pub phone: String,
    pub name: String,
    pub resident_id: String,
    pub email: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Employer {
    pub name: String,
    pub uscc: String,
    pub region_code: String,
    pub industry_code: String,
}

/// A ticket as the caller wants it created (already type-checked, not yet validated).
#[derive(Clone, Debug)]
pub struct NewTicket {
    pub channel: Option<Channel>,
    pub kind: Option<TicketKind>,
    pub topic: String,
    pub caller: Caller,
    pub employer: Employer,
    pub place_region_code: String,
    pub place_detail: String,
    pub workers: i32,
    pub description: String,
    pub call_ids: Vec<i64>,
    pub urgent: bool,
    pub request_id: String,
}

/// The fields of a ticket an agent may change after creation.
#[derive(Clone, Debug, Default)]
pub struct TicketPatch {
    pub kind: Option<Option<TicketKind>>,
    pub topic: Option<String>,
    pub caller: Option<Caller>,
    pub employer: Option<Employer>,
    pub place_region_code: Option<String>,
    pub place_detail: Option<String>,
    pub workers: Option<i32>,
    pub description: Option<String>,
    pub urgent: Option<bool>,
}

/// The stored ticket row; its JSON is the before/after of ticket events.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TicketRecord {
    pub id: i64,
    pub number: String,
    pub channel: Channel,
    pub kind: TicketKind,
    pub priority: Priority,
    pub state: TicketState,
    pub topic: String,
    pub caller: Caller,
    pub employer: Employer,
    pub place_region_code: String,
    pub place_detail: String,
    pub workers: i32,
    pub description: String,
    pub urgent: bool,
    pub disposition_reason: String,
    pub duplicate_of: Option<i64>,
    pub forwarded_to: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub closed_at: Option<i64>,
    pub created_by: String,
    pub intake_org_code: String,
    pub version: i64,
    /// When an agent handed it to the dispatcher for routing.
    pub submitted_at: Option<i64>,
    /// Set while the ticket waits for a person to choose its union.
    pub manual_dispatch_reason: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Note {
    pub at: i64,
    pub author: String,
    pub text: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct WorkOrderSummary {
    pub id: i64,
    pub org_code: String,
    pub org_name: String,
    pub state: String,
}

/// A ticket with what the agent's screen shows around it.
#[derive(Clone, Debug)]
pub struct TicketView {
    pub ticket: TicketRecord,
    pub call_ids: Vec<i64>,
    pub notes: Vec<Note>,
    pub possible_duplicates: Vec<i64>,
    pub work_orders: Vec<WorkOrderSummary>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorkOrderRecord {
    pub id: i64,
    pub ticket_id: i64,
    pub ticket_number: String,
    pub org_id: i64,
    pub org_code: String,
    pub org_name: String,
    pub rule: String,
    pub dispatch_reason: String,
    pub lifecycle: WorkOrder,
    pub version: i64,
    pub updated_at: i64,
}

#[derive(Clone, Debug, Serialize)]
pub struct CallEventEntry {
    pub kind: String,
    pub at: i64,
    pub queue: String,
    pub agent: String,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct CallRecord {
    pub id: i64,
    pub call_uuid: String,
    pub caller_phone: String,
    pub state: String,
    pub offered_at: Option<i64>,
    pub answered_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub answered_by: String,
    pub queue: String,
    pub recording_path: String,
    pub recording_sha256: String,
    pub events: Vec<CallEventEntry>,
    pub ticket_ids: Vec<i64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OrgRecord {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub parent_code: String,
    pub region_code: String,
    pub industry_scope: Vec<String>,
    pub contact_emails: Vec<String>,
    pub path: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct UserRecord {
    pub id: i64,
    pub name: String,
    pub display_name: String,
    pub role: String,
    pub org_code: String,
    pub email: String,
    pub active: bool,
}

#[derive(Clone, Debug)]
pub struct EventRecord {
    pub seq: i64,
    pub at: i64,
    pub actor: String,
    pub entity: String,
    pub entity_id: i64,
    pub action: String,
    pub reason: String,
    pub before_json: String,
    pub after_json: String,
    pub ticket_id: i64,
}
