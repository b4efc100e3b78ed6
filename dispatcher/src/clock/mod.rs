//! Deadlines and reminder moments on the working-day calendar.
//!
//! Pure: no I/O and no clock of its own; every function that depends on the time takes
//! `now` (Unix milliseconds, as ticket-core stores them). China Standard Time is used only
//! inside, converted in [`china_time`].
//!
//! - [`policy`]: the limits of each step per kind and priority, and when to remind, urge
//!   and escalate; read from the `[deadlines]` section of a TOML file
//!   (`deploy/deadlines.example.toml`).
//! - [`deadlines`]: the deadlines passed to ticket-core with a dispatch, rework or reopen,
//!   and the review and callback deadlines.
//! - [`schedule`](mod@schedule): which reminders, urge notices and escalations are due now
//!   for one open work order, and when to look again.
//!
//! A deadline in a year the working-day calendar lacks is refused with
//! [`ClockError::CalendarGap`]; the caller raises an alert rather than guessing.

pub mod china_time;
pub mod deadlines;
mod error;
pub mod policy;
pub mod schedule;
mod working_time;

#[cfg(test)]
mod properties;
#[cfg(test)]
mod simulated_month;

pub use deadlines::{
    DispatchDeadlines, StageDeadline, callback_deadline, deadlines_at_dispatch,
    latest_extension_ms, reply_deadline_after_reopen, reply_deadline_after_rework, review_deadline,
};
pub use error::ClockError;
pub use policy::{Kind, Limit, Policy, PolicyError, Priority, Urging};
pub use schedule::{
    DeadlinePlan, Due, Level, NotificationKey, Schedule, SentNotifications, Stage,
    WorkOrderSnapshot, WorkOrderState, schedule,
};
