//! Invariants of deadlines and schedules for random dispatch moments in the covered years.

use chrono::{NaiveDate, NaiveDateTime};
use hotline_calendar::Calendar;
use proptest::prelude::*;

use super::china_time::{china_time_from_ms, ms_from_china_time};
use super::*;

const HOUR_MS: i64 = 3_600_000;

fn first_covered_ms() -> i64 {
    ms_from_china_time(
        NaiveDate::from_ymd_opt(2024, 1, 1)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap(),
    )
}

fn last_covered_ms() -> i64 {
    ms_from_china_time(
        NaiveDate::from_ymd_opt(2026, 12, 31)
            .unwrap()
            .and_hms_opt(23, 59, 59)
            .unwrap(),
    )
}

fn china(ms: i64) -> NaiveDateTime {
    china_time_from_ms(ms, "t").unwrap()
}

fn kind() -> impl Strategy<Value = Kind> {
    proptest::sample::select(Kind::ALL.to_vec())
}

fn priority() -> impl Strategy<Value = Priority> {
    proptest::sample::select(Priority::ALL.to_vec())
}

fn open_state() -> impl Strategy<Value = WorkOrderState> {
    proptest::sample::select(vec![
        WorkOrderState::Dispatched,
        WorkOrderState::Signed,
        WorkOrderState::Replied,
        WorkOrderState::Approved,
    ])
}

fn dispatch_moment() -> impl Strategy<Value = i64> {
    first_covered_ms()..last_covered_ms()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn dispatch_deadlines_are_on_working_days_and_in_order(
        kind in kind(),
        priority in priority(),
        dispatched_at in dispatch_moment(),
    ) {
        let policy = Policy::default();
        let calendar = Calendar::builtin();
        let deadlines =
            match deadlines_at_dispatch(&policy, &calendar, kind, priority, dispatched_at) {
                Ok(deadlines) => deadlines,
                Err(ClockError::CalendarGap { year }) => {
                    // Only the year after the last table can be missing.
                    prop_assert_eq!(year, 2027);
                    return Ok(());
                }
                Err(other) => return Err(TestCaseError::fail(other.to_string())),
            };
        prop_assert!(deadlines.sign_due_at_ms > dispatched_at);
        prop_assert!(deadlines.reply_due_at_ms >= deadlines.sign_due_at_ms);
        let sign_is_hour_based = policy.sign_for(kind, priority).is_hour_based();
        if sign_is_hour_based {
            prop_assert_eq!(deadlines.sign_due_at_ms - dispatched_at, 2 * HOUR_MS);
        } else {
            let day = china(deadlines.sign_due_at_ms).date();
            prop_assert!(calendar.is_working_day(day).unwrap(), "sign-for due {}", day);
        }
        let day = china(deadlines.reply_due_at_ms).date();
        prop_assert!(calendar.is_working_day(day).unwrap(), "reply due {}", day);
    }

    #[test]
    fn reminders_precede_deadlines_and_urges_follow_them(
        kind in kind(),
        priority in priority(),
        state in open_state(),
        dispatched_at in dispatch_moment(),
        replied_after_hours in 1_i64..400,
        approved_after_hours in 1_i64..100,
    ) {
        let policy = Policy::default();
        let calendar = Calendar::builtin();
        let Some(snapshot) = snapshot(
            &policy, &calendar, kind, priority, state, dispatched_at,
            replied_after_hours, approved_after_hours,
        ) else {
            return Ok(());
        };
        let plan = match DeadlinePlan::new(&policy, &calendar, &snapshot) {
            Ok(plan) => plan,
            Err(ClockError::CalendarGap { year }) => {
                prop_assert_eq!(year, 2027);
                return Ok(());
            }
            Err(other) => return Err(TestCaseError::fail(other.to_string())),
        };
        for (key, moment) in plan.moments() {
            if key.level.is_reminder() {
                prop_assert!(moment < key.deadline_ms, "{:?} at {}", key, china(moment));
            } else {
                prop_assert!(moment >= key.deadline_ms, "{:?} at {}", key, china(moment));
            }
        }
        let moment_of = |stage: Stage, level: Level| {
            plan.moments()
                .find(|(key, _)| key.stage == stage && key.level == level)
                .map(|(_, moment)| moment)
        };
        for (stage, _) in plan.deadlines() {
            if let (Some(urge), Some(escalation)) =
                (moment_of(stage, Level::Urge), moment_of(stage, Level::Escalation))
            {
                prop_assert!(urge <= escalation);
            }
        }
    }

    #[test]
    fn schedule_never_emits_the_same_key_twice(
        kind in kind(),
        priority in priority(),
        state in open_state(),
        dispatched_at in dispatch_moment(),
        replied_after_hours in 1_i64..400,
        approved_after_hours in 1_i64..100,
        nows in proptest::collection::vec(-24_i64..1_500, 1..40),
    ) {
        let policy = Policy::default();
        let calendar = Calendar::builtin();
        let Some(snapshot) = snapshot(
            &policy, &calendar, kind, priority, state, dispatched_at,
            replied_after_hours, approved_after_hours,
        ) else {
            return Ok(());
        };
        let mut sent = SentNotifications::new();
        for offset_hours in nows {
            let now = dispatched_at + offset_hours * HOUR_MS;
            let result = match schedule(&policy, &calendar, &snapshot, &sent, now) {
                Ok(result) => result,
                Err(ClockError::CalendarGap { year }) => {
                    prop_assert_eq!(year, 2027);
                    return Ok(());
                }
                Err(other) => return Err(TestCaseError::fail(other.to_string())),
            };
            if let Some(wake) = result.next_wake_ms {
                prop_assert!(wake > now);
            }
            for due in result.due {
                prop_assert!(due.due_at_ms <= now);
                prop_assert!(sent.insert(due.key()), "{:?} emitted twice", due.key());
            }
        }
    }
}

/// A snapshot in `state` whose moments follow the dispatch, or `None` if its deadlines would
/// leave the covered years.
#[allow(clippy::too_many_arguments)]
fn snapshot(
    policy: &Policy,
    calendar: &Calendar,
    kind: Kind,
    priority: Priority,
    state: WorkOrderState,
    dispatched_at_ms: i64,
    replied_after_hours: i64,
    approved_after_hours: i64,
) -> Option<WorkOrderSnapshot> {
    let deadlines =
        deadlines_at_dispatch(policy, calendar, kind, priority, dispatched_at_ms).ok()?;
    let replied_at_ms = dispatched_at_ms + replied_after_hours * HOUR_MS;
    let approved_at_ms = replied_at_ms + approved_after_hours * HOUR_MS;
    Some(WorkOrderSnapshot {
        state,
        kind,
        priority,
        dispatched_at_ms,
        sign_due_at_ms: Some(deadlines.sign_due_at_ms),
        reply_clock_started_at_ms: None,
        reply_due_at_ms: Some(deadlines.reply_due_at_ms),
        replied_at_ms: Some(replied_at_ms),
        approved_at_ms: Some(approved_at_ms),
    })
}
