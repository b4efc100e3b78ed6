//! The deadlines the dispatcher hands to ticket-core with each dispatch, rework and reopen,
//! and the review and callback deadlines it keeps for the province's own staff.
//!
//! Every function takes and returns Unix milliseconds (ticket-core's unit) and works in
//! China Standard Time in between. A deadline reaching into a year the calendar lacks is
//! [`ClockError::CalendarGap`], never a guess.

use chrono::{NaiveDateTime, TimeDelta};
use hotline_calendar::Calendar;

use super::china_time::{china_time_from_ms, ms_from_china_time};
use super::error::ClockError;
use super::policy::{Kind, Limit, Policy, Priority};

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// The deadlines of a fresh work order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DispatchDeadlines {
    pub sign_due_at_ms: i64,
    pub reply_due_at_ms: i64,
    /// How both were counted, to store with the dispatch event, e.g.
    /// `sign for: 1 working day from 2026-09-30 16:00 → 2026-10-08 23:59:59 (+7 days:
    /// National Day (国庆节)); reply: 15 working days → …`.
    pub explanation: String,
}

/// One deadline and how it was counted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageDeadline {
    pub due_at_ms: i64,
    pub explanation: String,
}

/// Sign-for and reply deadlines of a work order dispatched at `dispatched_at_ms`. Both run
/// from the dispatch: signing late does not buy the union time to reply.
pub fn deadlines_at_dispatch(
    policy: &Policy,
    calendar: &Calendar,
    kind: Kind,
    priority: Priority,
    dispatched_at_ms: i64,
) -> Result<DispatchDeadlines, ClockError> {
    let start = china_time_from_ms(dispatched_at_ms, "dispatched_at_ms")?;
    let sign_limit = policy.sign_for(kind, priority);
    let reply_limit = policy.reply(kind, priority);
    let (sign_due, sign_reason) = apply_limit(calendar, start, sign_limit)?;
    let (reply_due, reply_reason) = apply_limit(calendar, start, reply_limit)?;
    Ok(DispatchDeadlines {
        sign_due_at_ms: ms_from_china_time(sign_due),
        reply_due_at_ms: ms_from_china_time(reply_due),
        explanation: format!(
            "{kind}, {priority}: sign for: {sign_limit} from {} → {}; reply: {reply_limit} → {}",
            minutes(start),
            with_reason(sign_due, &sign_reason),
            with_reason(reply_due, &reply_reason)
        ),
    })
}

/// The new reply deadline when the province sends a reply back for rework: the full reply
/// limit again, counted from the rework decision, since the union starts over.
pub fn reply_deadline_after_rework(
    policy: &Policy,
    calendar: &Calendar,
    kind: Kind,
    priority: Priority,
    reworked_at_ms: i64,
) -> Result<StageDeadline, ClockError> {
    stage_deadline(
        calendar,
        "rework",
        policy.reply(kind, priority),
        reworked_at_ms,
        "reworked_at_ms",
    )
}

/// The new reply deadline when an unsatisfied callback (or a later complaint) reopens a work
/// order: the full reply limit, counted from the reopening.
pub fn reply_deadline_after_reopen(
    policy: &Policy,
    calendar: &Calendar,
    kind: Kind,
    priority: Priority,
    reopened_at_ms: i64,
) -> Result<StageDeadline, ClockError> {
    stage_deadline(
        calendar,
        "reopen",
        policy.reply(kind, priority),
        reopened_at_ms,
        "reopened_at_ms",
    )
}

/// When the province must have reviewed a reply received at `replied_at_ms`.
pub fn review_deadline(
    policy: &Policy,
    calendar: &Calendar,
    replied_at_ms: i64,
) -> Result<StageDeadline, ClockError> {
    stage_deadline(
        calendar,
        "review",
        policy.review(),
        replied_at_ms,
        "replied_at_ms",
    )
}

/// When the hotline must have called the worker back after the approval at `approved_at_ms`.
pub fn callback_deadline(
    policy: &Policy,
    calendar: &Calendar,
    approved_at_ms: i64,
) -> Result<StageDeadline, ClockError> {
    stage_deadline(
        calendar,
        "callback",
        policy.callback(),
        approved_at_ms,
        "approved_at_ms",
    )
}

/// The latest reply deadline an extension may grant: the original deadline (before any
/// extension) plus the cap in calendar days, the way the statute counts it.
pub fn latest_extension_ms(policy: &Policy, original_reply_due_at_ms: i64) -> i64 {
    original_reply_due_at_ms
        .saturating_add(i64::from(policy.extension_cap_calendar_days()).saturating_mul(DAY_MS))
}

/// The deadline a limit gives from `start`, and the non-working days that pushed it back.
pub(crate) fn apply_limit(
    calendar: &Calendar,
    start: NaiveDateTime,
    limit: Limit,
) -> Result<(NaiveDateTime, String), ClockError> {
    match limit {
        Limit::WorkingDays(n) => {
            let deadline = calendar.add_working_days(start, n)?;
            Ok((deadline.at, deadline.explain().to_string()))
        }
        Limit::Hours(hours) => Ok((
            start + TimeDelta::hours(i64::from(hours)),
            "calendar hours, nights and holidays included".to_owned(),
        )),
    }
}

fn stage_deadline(
    calendar: &Calendar,
    what: &str,
    limit: Limit,
    start_ms: i64,
    field: &'static str,
) -> Result<StageDeadline, ClockError> {
    let start = china_time_from_ms(start_ms, field)?;
    let (due, reason) = apply_limit(calendar, start, limit)?;
    Ok(StageDeadline {
        due_at_ms: ms_from_china_time(due),
        explanation: format!(
            "{what}: {limit} from {} → {}",
            minutes(start),
            with_reason(due, &reason)
        ),
    })
}

fn minutes(time: NaiveDateTime) -> String {
    time.format("%Y-%m-%d %H:%M").to_string()
}

fn with_reason(due: NaiveDateTime, reason: &str) -> String {
    format!("{} ({reason})", due.format("%Y-%m-%d %H:%M:%S"))
}

#[cfg(test)]
#[path = "deadlines_tests.rs"]
mod tests;
