//! ticket-core's settings. Loaded and validated once by the binary; every field has
//! a default that a provincial centre can run with.

use serde::Deserialize;

use hotline_workflow::work_order::Policy;

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CoreConfig {
    /// Letters in front of ticket numbers: the province's abbreviation, "GD" for Guangdong.
    pub ticket_prefix: String,
    /// A new ticket is flagged as a possible duplicate of open tickets this recent.
    pub duplicate_window_days: i64,
    /// Workers concerned from which a ticket is a collective matter (群体).
    pub collective_threshold: i32,
    /// Total extension allowed beyond a work order's original reply deadline.
    pub extension_cap_days: i64,
}

impl Default for CoreConfig {
    fn default() -> Self {
        Self {
            ticket_prefix: "GD".into(),
            duplicate_window_days: 30,
            collective_threshold: 5,
            extension_cap_days: 30,
        }
    }
}

impl CoreConfig {
    /// Every problem with the settings, each naming its key.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.ticket_prefix.is_empty()
            || self.ticket_prefix.len() > 4
            || !self.ticket_prefix.bytes().all(|b| b.is_ascii_uppercase())
        {
            problems.push("ticket_prefix: must be 1 to 4 upper-case letters".to_owned());
        }
        if !(1..=365).contains(&self.duplicate_window_days) {
            problems.push("duplicate_window_days: must be between 1 and 365".to_owned());
        }
        if !(2..=1000).contains(&self.collective_threshold) {
            problems.push("collective_threshold: must be between 2 and 1000".to_owned());
        }
        if !(0..=90).contains(&self.extension_cap_days) {
            problems.push(
                "extension_cap_days: must be between 0 and 90 (the statutory cap)".to_owned(),
            );
        }
        problems
    }

    pub fn work_order_policy(&self) -> Policy {
        Policy {
            extension_cap_ms: self.extension_cap_days * 86_400_000,
        }
    }
}
