//! What is due now for one open work order, and when to look again.
//!
//! Each deadline of a work order (sign for, reply, review, callback) has up to four
//! notification levels: a reminder when most of the time is gone, a reminder the working
//! day before, an urge notice after the deadline and an escalation to the supervisor.
//!
//! Computing the moments needs the calendar, which is the costly part, so it happens once
//! per work-order change in [`DeadlinePlan::new`]; [`DeadlinePlan::poll`] then answers
//! "what is due at `now`" with a few comparisons and no allocation unless something is due,
//! and returns the next moment worth waking for. [`schedule`] does both in one call.
//!
//! # Rules
//! - Which deadlines run depends on the state: `dispatched` runs sign-for and reply (the
//!   reply limit counts from the dispatch), `signed` runs reply, `replied` runs review,
//!   `approved` runs callback; `called_back`, `closed` and `returned` run none.
//! - Every notification is identified by `(stage, level, deadline)`: a key fires at most
//!   once, and a deadline moved by an extension, a rework or a reopen starts fresh keys.
//! - Reminders are dropped once their deadline has passed: a "75 % gone" after the deadline
//!   would only confuse the union, which gets the urge notice instead.
//! - Day-based notices (the reminder the working day before, urge, escalation) go out at the
//!   policy's `notice_time` on a working day; the 75 % reminder fires at the first whole
//!   minute by which that share of the working time is gone, whatever the hour.
//!   Hour-based limits (an urgent sign-for) have no day-before reminder, and are urged and
//!   escalated a configured number of hours after the deadline.
//! - A notice moment in a year the calendar lacks is not scheduled; the plan reports the
//!   year in [`DeadlinePlan::calendar_gap`] so the caller raises an alert, and is rebuilt
//!   once the year is added.
//!
//! # Use in a service
//! Keep per open work order its [`DeadlinePlan`], its [`SentNotifications`] and the
//! `next_wake_ms` the last poll returned. On each tick, poll only the work orders whose
//! wake-up has come, send what is due, record each [`Due::key`] as sent, and store the new
//! wake-up. Rebuild the plan (and call [`SentNotifications::retain_current`]) whenever the
//! work order changes state or a deadline moves.

use std::fmt;

use chrono::NaiveDateTime;
use hotline_calendar::Calendar;

use super::china_time::{china_time_from_ms, describe_ms, ms_from_china_time};
use super::deadlines::{callback_deadline, review_deadline};
use super::error::ClockError;
use super::policy::{Kind, Limit, Policy, Priority, Urging};
use super::working_time::{
    after_working_time, working_day_after, working_day_before, working_time_ms,
};

const HOUR_MS: i64 = 60 * 60 * 1000;
/// A level that will never be due.
const NEVER: i64 = i64::MAX;

/// State of a work order: the same states ticket-core's lifecycle uses.
pub use hotline_workflow::work_order::WorkOrderState;

/// Which deadline a notification is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stage {
    /// The handling union must sign for the work order.
    SignFor,
    /// The handling union must reply with the result.
    Reply,
    /// The province must review the reply.
    Review,
    /// The hotline must call the worker back. Its notices are for the hotline's own staff:
    /// ticket-core records urges only while the work order is with the union or the
    /// reviewers (dispatched, signed, replied), not once it is approved.
    Callback,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::SignFor => "sign_for",
            Stage::Reply => "reply",
            Stage::Review => "review",
            Stage::Callback => "callback",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How far along the deadline a notification is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    /// Most of the time is gone (75 % by default).
    Reminder75,
    /// The working day before the deadline day.
    ReminderDayBefore,
    /// The deadline has passed: urge notice to the handling party.
    Urge,
    /// Still overdue later: escalation to the supervisor.
    Escalation,
}

impl Level {
    pub const ALL: [Level; 4] = [
        Level::Reminder75,
        Level::ReminderDayBefore,
        Level::Urge,
        Level::Escalation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Reminder75 => "reminder_75",
            Level::ReminderDayBefore => "reminder_day_before",
            Level::Urge => "urge",
            Level::Escalation => "escalation",
        }
    }

    /// Reminders come before the deadline; they are dropped once it has passed.
    pub fn is_reminder(self) -> bool {
        matches!(self, Level::Reminder75 | Level::ReminderDayBefore)
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Identifies one notification: it is sent at most once. The deadline is part of the key,
/// so a moved deadline gets fresh notifications.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NotificationKey {
    pub stage: Stage,
    pub level: Level,
    pub deadline_ms: i64,
}

/// The notifications already sent for one work order. Small (a handful per deadline), so a
/// vector searched linearly beats any hashing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SentNotifications {
    keys: Vec<NotificationKey>,
}

impl SentNotifications {
    pub fn new() -> SentNotifications {
        SentNotifications::default()
    }

    /// Records a sent notification; false if it was already recorded.
    pub fn insert(&mut self, key: NotificationKey) -> bool {
        if self.contains(&key) {
            return false;
        }
        self.keys.push(key);
        true
    }

    pub fn contains(&self, key: &NotificationKey) -> bool {
        self.keys.contains(key)
    }

    pub fn iter(&self) -> impl Iterator<Item = &NotificationKey> {
        self.keys.iter()
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Forgets keys of deadlines the plan no longer runs (moved or finished), so the set
    /// stays small over a long-lived work order.
    pub fn retain_current(&mut self, plan: &DeadlinePlan) {
        self.keys.retain(|key| {
            plan.stages
                .iter()
                .flatten()
                .any(|stage| stage.stage == key.stage && stage.deadline_ms == key.deadline_ms)
        });
    }
}

impl FromIterator<NotificationKey> for SentNotifications {
    fn from_iter<I: IntoIterator<Item = NotificationKey>>(keys: I) -> Self {
        let mut sent = SentNotifications::new();
        for key in keys {
            sent.insert(key);
        }
        sent
    }
}

/// What the clock needs to know about one work order. All moments are Unix milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkOrderSnapshot {
    pub state: WorkOrderState,
    pub kind: Kind,
    pub priority: Priority,
    pub dispatched_at_ms: i64,
    pub sign_due_at_ms: Option<i64>,
    /// When the current reply limit started: the last rework or reopen, or `None` for the
    /// dispatch. The 75 % reminder measures from here; an extension does not restart it.
    pub reply_clock_started_at_ms: Option<i64>,
    pub reply_due_at_ms: Option<i64>,
    pub replied_at_ms: Option<i64>,
    pub approved_at_ms: Option<i64>,
}

/// One notification due now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Due {
    pub stage: Stage,
    pub level: Level,
    pub deadline_ms: i64,
    /// The moment it became due (at or before `now`).
    pub due_at_ms: i64,
    /// One line for the notice and the event log, e.g. `reply overdue since 2026-10-23
    /// 23:59:59 CST: urge on working day 1 after the deadline`.
    pub explanation: String,
}

impl Due {
    pub fn key(&self) -> NotificationKey {
        NotificationKey {
            stage: self.stage,
            level: self.level,
            deadline_ms: self.deadline_ms,
        }
    }
}

/// Everything due now for one work order, and when to look again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    pub due: Vec<Due>,
    /// The next moment something becomes due, assuming everything in `due` gets sent;
    /// `None` when nothing more will fall due in the current state.
    pub next_wake_ms: Option<i64>,
    /// A year the calendar lacks that some notice moment falls in: raise an alert.
    pub calendar_gap: Option<i32>,
}

/// The notifications due for `snapshot` at `now_ms`, given those already sent.
pub fn schedule(
    policy: &Policy,
    calendar: &Calendar,
    snapshot: &WorkOrderSnapshot,
    sent: &SentNotifications,
    now_ms: i64,
) -> Result<Schedule, ClockError> {
    let plan = DeadlinePlan::new(policy, calendar, snapshot)?;
    let mut due = Vec::new();
    let next_wake_ms = plan.poll(sent, now_ms, &mut due);
    Ok(Schedule {
        due,
        next_wake_ms,
        calendar_gap: plan.calendar_gap,
    })
}

/// The running deadlines of one work order with every notification moment precomputed.
/// Rebuild it when the work order changes state or a deadline moves, and when the calendar
/// gains a year.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeadlinePlan {
    /// At most two deadlines run at once (sign-for and reply while dispatched).
    stages: [Option<StagePlan>; 2],
    urging: Urging,
    calendar_gap: Option<i32>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct StagePlan {
    stage: Stage,
    started_at_ms: i64,
    deadline_ms: i64,
    hour_based: bool,
    /// Indexed like [`Level::ALL`]; [`NEVER`] for a level that does not apply.
    moments_ms: [i64; 4],
}

impl DeadlinePlan {
    /// Computes the notification moments of the deadlines running in the snapshot's state.
    pub fn new(
        policy: &Policy,
        calendar: &Calendar,
        snapshot: &WorkOrderSnapshot,
    ) -> Result<DeadlinePlan, ClockError> {
        let mut builder = PlanBuilder {
            calendar,
            urging: *policy.urging(),
            calendar_gap: None,
        };
        let kind = snapshot.kind;
        let priority = snapshot.priority;
        let reply_start = snapshot
            .reply_clock_started_at_ms
            .unwrap_or(snapshot.dispatched_at_ms);
        let mut stages = [None, None];
        match snapshot.state {
            WorkOrderState::Dispatched => {
                if let Some(due) = snapshot.sign_due_at_ms {
                    stages[0] = Some(builder.stage(
                        Stage::SignFor,
                        snapshot.dispatched_at_ms,
                        due,
                        policy.sign_for(kind, priority),
                    )?);
                }
                if let Some(due) = snapshot.reply_due_at_ms {
                    stages[1] = Some(builder.stage(
                        Stage::Reply,
                        reply_start,
                        due,
                        policy.reply(kind, priority),
                    )?);
                }
            }
            WorkOrderState::Signed => {
                if let Some(due) = snapshot.reply_due_at_ms {
                    stages[0] = Some(builder.stage(
                        Stage::Reply,
                        reply_start,
                        due,
                        policy.reply(kind, priority),
                    )?);
                }
            }
            WorkOrderState::Replied => {
                let replied_at = required(snapshot.replied_at_ms, snapshot, "replied_at_ms")?;
                let deadline = review_deadline(policy, calendar, replied_at);
                if let Some(deadline) = builder.tolerate_gap(deadline.map(|d| d.due_at_ms))? {
                    stages[0] = Some(builder.stage(
                        Stage::Review,
                        replied_at,
                        deadline,
                        policy.review(),
                    )?);
                }
            }
            WorkOrderState::Approved => {
                let approved_at = required(snapshot.approved_at_ms, snapshot, "approved_at_ms")?;
                let deadline = callback_deadline(policy, calendar, approved_at);
                if let Some(deadline) = builder.tolerate_gap(deadline.map(|d| d.due_at_ms))? {
                    stages[0] = Some(builder.stage(
                        Stage::Callback,
                        approved_at,
                        deadline,
                        policy.callback(),
                    )?);
                }
            }
            WorkOrderState::CalledBack | WorkOrderState::Closed | WorkOrderState::Returned => {}
        }
        Ok(DeadlinePlan {
            stages,
            urging: builder.urging,
            calendar_gap: builder.calendar_gap,
        })
    }

    /// Appends to `due` every notification due at `now_ms` and not in `sent`, and returns
    /// the next moment something becomes due (`None`: nothing more in this state). Allocates
    /// only for the explanations of what is due.
    pub fn poll(&self, sent: &SentNotifications, now_ms: i64, due: &mut Vec<Due>) -> Option<i64> {
        let mut next_wake = NEVER;
        for stage in self.stages.iter().flatten() {
            for (level, &moment) in Level::ALL.iter().zip(&stage.moments_ms) {
                if moment == NEVER || (level.is_reminder() && now_ms >= stage.deadline_ms) {
                    continue;
                }
                if moment > now_ms {
                    next_wake = next_wake.min(moment);
                    continue;
                }
                let key = NotificationKey {
                    stage: stage.stage,
                    level: *level,
                    deadline_ms: stage.deadline_ms,
                };
                if sent.contains(&key) {
                    continue;
                }
                due.push(Due {
                    stage: stage.stage,
                    level: *level,
                    deadline_ms: stage.deadline_ms,
                    due_at_ms: moment,
                    explanation: stage.explain(*level, &self.urging),
                });
            }
        }
        (next_wake != NEVER).then_some(next_wake)
    }

    /// The earliest moment any notification of this plan can become due, ignoring what was
    /// sent: a scan can skip the work order until then.
    pub fn first_moment_ms(&self) -> Option<i64> {
        self.moments().map(|(_, moment)| moment).min()
    }

    /// A year the calendar lacks that some notice moment falls in.
    pub fn calendar_gap(&self) -> Option<i32> {
        self.calendar_gap
    }

    /// The running deadlines, by stage.
    pub fn deadlines(&self) -> impl Iterator<Item = (Stage, i64)> + '_ {
        self.stages
            .iter()
            .flatten()
            .map(|stage| (stage.stage, stage.deadline_ms))
    }

    /// Every scheduled notification and its moment, in stage and level order.
    pub fn moments(&self) -> impl Iterator<Item = (NotificationKey, i64)> + '_ {
        self.stages.iter().flatten().flat_map(|stage| {
            Level::ALL
                .iter()
                .zip(stage.moments_ms)
                .filter(|(_, moment)| *moment != NEVER)
                .map(|(level, moment)| {
                    let key = NotificationKey {
                        stage: stage.stage,
                        level: *level,
                        deadline_ms: stage.deadline_ms,
                    };
                    (key, moment)
                })
        })
    }
}

impl StagePlan {
    fn explain(&self, level: Level, urging: &Urging) -> String {
        let stage = match self.stage {
            Stage::SignFor => "sign-for",
            Stage::Reply => "reply",
            Stage::Review => "review",
            Stage::Callback => "callback",
        };
        let deadline = describe_ms(self.deadline_ms);
        match level {
            Level::Reminder75 => format!(
                "{stage} due {deadline}: {} % of the {} since {} is gone",
                urging.reminder_at_percent,
                if self.hour_based {
                    "time"
                } else {
                    "working time"
                },
                describe_ms(self.started_at_ms)
            ),
            Level::ReminderDayBefore => format!(
                "{stage} due {deadline}: working day {} before the deadline",
                urging.reminder_working_days_before
            ),
            Level::Urge if self.hour_based => format!(
                "{stage} overdue since {deadline}: urge {} h after the deadline",
                urging.urge_hours_after_hour_limit
            ),
            Level::Urge => format!(
                "{stage} overdue since {deadline}: urge on working day {} after the deadline",
                urging.urge_working_days_after
            ),
            Level::Escalation if self.hour_based => format!(
                "{stage} overdue since {deadline}: escalate to the supervisor {} h after the \
                 deadline",
                urging.escalation_hours_after_hour_limit
            ),
            Level::Escalation => format!(
                "{stage} overdue since {deadline}: escalate to the supervisor on working day {} \
                 after the deadline",
                urging.escalation_working_days_after
            ),
        }
    }
}

struct PlanBuilder<'a> {
    calendar: &'a Calendar,
    urging: Urging,
    calendar_gap: Option<i32>,
}

impl PlanBuilder<'_> {
    fn stage(
        &mut self,
        stage: Stage,
        started_at_ms: i64,
        deadline_ms: i64,
        limit: Limit,
    ) -> Result<StagePlan, ClockError> {
        let hour_based = limit.is_hour_based();
        let start = china_time_from_ms(started_at_ms, "clock start")?;
        let deadline = china_time_from_ms(deadline_ms, "deadline")?;
        let urging = self.urging;
        let mut moments_ms = [NEVER; 4];
        if hour_based {
            if deadline_ms > started_at_ms {
                moments_ms[0] = round_up_to_minute(
                    started_at_ms
                        + ceil_percent(deadline_ms - started_at_ms, urging.reminder_at_percent),
                );
            }
            moments_ms[2] = deadline_ms + i64::from(urging.urge_hours_after_hour_limit) * HOUR_MS;
            moments_ms[3] =
                deadline_ms + i64::from(urging.escalation_hours_after_hour_limit) * HOUR_MS;
        } else {
            moments_ms[0] = self.working_time_reminder(start, deadline)?;
            moments_ms[1] = self.day_before_reminder(start, deadline)?;
            moments_ms[2] = self.notice_after(deadline, urging.urge_working_days_after)?;
            moments_ms[3] = self.notice_after(deadline, urging.escalation_working_days_after)?;
        }
        // A reminder is only a reminder if it comes after the clock started and before the
        // deadline; otherwise the level does not apply to this deadline.
        for moment in &mut moments_ms[..2] {
            if *moment <= started_at_ms || *moment >= deadline_ms {
                *moment = NEVER;
            }
        }
        Ok(StagePlan {
            stage,
            started_at_ms,
            deadline_ms,
            hour_based,
            moments_ms,
        })
    }

    fn working_time_reminder(
        &mut self,
        start: NaiveDateTime,
        deadline: NaiveDateTime,
    ) -> Result<i64, ClockError> {
        let percent = self.urging.reminder_at_percent;
        let moment = working_time_ms(self.calendar, start, deadline).and_then(|total| {
            if total == 0 {
                return Ok(None);
            }
            after_working_time(self.calendar, start, ceil_percent(total, percent)).map(Some)
        });
        Ok(self
            .tolerate_gap(moment)?
            .flatten()
            .map_or(NEVER, |moment| {
                round_up_to_minute(ms_from_china_time(moment))
            }))
    }

    fn day_before_reminder(
        &mut self,
        start: NaiveDateTime,
        deadline: NaiveDateTime,
    ) -> Result<i64, ClockError> {
        let days_before = u32::from(self.urging.reminder_working_days_before);
        if days_before == 0 {
            return Ok(NEVER);
        }
        let day = working_day_before(self.calendar, deadline.date(), days_before, start.date());
        Ok(self.tolerate_gap(day)?.flatten().map_or(NEVER, |day| {
            ms_from_china_time(day.and_time(self.urging.notice_time))
        }))
    }

    fn notice_after(
        &mut self,
        deadline: NaiveDateTime,
        working_days: u8,
    ) -> Result<i64, ClockError> {
        let day = working_day_after(self.calendar, deadline.date(), u32::from(working_days));
        Ok(self.tolerate_gap(day)?.map_or(NEVER, |day| {
            ms_from_china_time(day.and_time(self.urging.notice_time))
        }))
    }

    /// A moment in a year the calendar lacks is left out and the year remembered; other
    /// errors stop the plan.
    fn tolerate_gap<T, E: Into<ClockError>>(
        &mut self,
        result: Result<T, E>,
    ) -> Result<Option<T>, ClockError> {
        match result.map_err(Into::into) {
            Ok(value) => Ok(Some(value)),
            Err(ClockError::CalendarGap { year }) => {
                self.calendar_gap = Some(self.calendar_gap.map_or(year, |known| known.min(year)));
                Ok(None)
            }
            Err(other) => Err(other),
        }
    }
}

/// `percent` % of `total`, rounded up so the reminder never comes before the share is gone.
fn ceil_percent(total: i64, percent: u8) -> i64 {
    (total.saturating_mul(i64::from(percent)) + 99) / 100
}

/// Deadlines end at 23:59:59, a second short of the day, so the exact share lands a fraction
/// of a second before a round time; reminders go out on the next whole minute instead.
fn round_up_to_minute(ms: i64) -> i64 {
    const MINUTE_MS: i64 = 60_000;
    ms.div_euclid(MINUTE_MS) * MINUTE_MS
        + if ms.rem_euclid(MINUTE_MS) == 0 {
            0
        } else {
            MINUTE_MS
        }
}

fn required(
    moment: Option<i64>,
    snapshot: &WorkOrderSnapshot,
    field: &'static str,
) -> Result<i64, ClockError> {
    moment.ok_or(ClockError::MissingMoment {
        state: snapshot.state,
        field,
    })
}

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;
