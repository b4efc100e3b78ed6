//! Valid requests built from the sample province, for tests that need plenty of them.

use hotline_api::ticket::v1::{Caller, Channel, CreateTicketRequest, TicketKind};

/// A mainland mobile number that differs for each `n` (below 10^8).
pub fn mobile_number(n: u32) -> String {
    format!("138{:08}", n % 100_000_000)
}

/// A valid phone request about unpaid wages, with an idempotency key.
pub fn unpaid_wages_ticket(request_id: &str, phone: &str) -> CreateTicketRequest {
    CreateTicketRequest {
        channel: Channel::Phone as i32,
        kind: TicketKind::Request as i32,
        topic: "欠薪".to_owned(),
        caller: Some(Caller {
            phone: phone.to_owned(),
            ..Default::default()
        }),
        workers: 1,
        description: "工地拖欠工资三个月".to_owned(),
        request_id: request_id.to_owned(),
        ..Default::default()
    }
}
