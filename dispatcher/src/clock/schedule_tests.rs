use chrono::NaiveDateTime;

use super::*;
use crate::clock::deadlines::deadlines_at_dispatch;

fn ms(china_time: &str) -> i64 {
    let time = NaiveDateTime::parse_from_str(china_time, "%Y-%m-%d %H:%M").unwrap();
    ms_from_china_time(time)
}

fn cst(ms: i64) -> String {
    describe_ms(ms)
}

fn dispatched(kind: Kind, priority: Priority, at: &str) -> WorkOrderSnapshot {
    let deadlines = deadlines_at_dispatch(
        &Policy::default(),
        &Calendar::builtin(),
        kind,
        priority,
        ms(at),
    )
    .unwrap();
    WorkOrderSnapshot {
        state: WorkOrderState::Dispatched,
        kind,
        priority,
        dispatched_at_ms: ms(at),
        sign_due_at_ms: Some(deadlines.sign_due_at_ms),
        reply_clock_started_at_ms: None,
        reply_due_at_ms: Some(deadlines.reply_due_at_ms),
        replied_at_ms: None,
        approved_at_ms: None,
    }
}

fn plan(snapshot: &WorkOrderSnapshot) -> DeadlinePlan {
    DeadlinePlan::new(&Policy::default(), &Calendar::builtin(), snapshot).unwrap()
}

/// Every scheduled moment as `(stage, level, "YYYY-MM-DD HH:MM:SS CST")`.
fn moments(plan: &DeadlinePlan) -> Vec<(Stage, Level, String)> {
    plan.moments()
        .map(|(key, moment)| (key.stage, key.level, cst(moment)))
        .collect()
}

fn expected(rows: &[(Stage, Level, &str)]) -> Vec<(Stage, Level, String)> {
    rows.iter()
        .map(|(stage, level, at)| (*stage, *level, format!("{at}:00 CST")))
        .collect()
}

fn due_at(snapshot: &WorkOrderSnapshot, sent: &SentNotifications, now: &str) -> Vec<Due> {
    schedule(
        &Policy::default(),
        &Calendar::builtin(),
        snapshot,
        sent,
        ms(now),
    )
    .unwrap()
    .due
}

#[test]
fn a_normal_order_across_national_day_has_these_moments() {
    use Level::*;
    use Stage::*;
    let plan = plan(&dispatched(
        Kind::Request,
        Priority::Normal,
        "2026-09-28 10:00",
    ));
    assert_eq!(
        moments(&plan),
        expected(&[
            // Sign-for due Tuesday 29 September: 75 % of 14 h + 24 h is gone at 14:30. The
            // working day before the deadline day is the dispatch day, before the clock
            // started, so there is no day-before reminder.
            (SignFor, Reminder75, "2026-09-29 14:30"),
            (SignFor, Urge, "2026-09-30 09:00"),
            // Working days after 29 September: 30 September, 8 and 9 October.
            (SignFor, Escalation, "2026-10-09 09:00"),
            // Reply due Friday 23 October: 75 % of 14 h + 15 × 24 h = 280.5 h of working
            // time, reached on 20 October at 02:30 (the holiday uses none of it).
            (Reply, Reminder75, "2026-10-20 02:30"),
            (Reply, ReminderDayBefore, "2026-10-22 09:00"),
            (Reply, Urge, "2026-10-26 09:00"),
            (Reply, Escalation, "2026-10-28 09:00"),
        ])
    );
}

#[test]
fn the_seventy_five_percent_reminder_is_the_first_minute_the_calendar_says_it_is_gone() {
    let snapshot = dispatched(Kind::Complaint, Priority::Normal, "2026-09-30 15:00");
    let plan = plan(&snapshot);
    let calendar = Calendar::builtin();
    let (_, reminder) = plan
        .moments()
        .find(|(key, _)| key.stage == Stage::Reply && key.level == Level::Reminder75)
        .unwrap();
    let time = |ms| china_time_from_ms(ms, "t").unwrap();
    let start = time(snapshot.dispatched_at_ms);
    let deadline = time(snapshot.reply_due_at_ms.unwrap());
    let at = calendar
        .fraction_elapsed(start, deadline, time(reminder))
        .unwrap();
    let just_before = calendar
        .fraction_elapsed(start, deadline, time(reminder - 60_000))
        .unwrap();
    assert!(at >= 0.75 && just_before < 0.75, "{just_before} {at}");
}

#[test]
fn urgent_sign_for_is_reminded_urged_and_escalated_in_hours() {
    use Level::*;
    use Stage::*;
    let plan = plan(&dispatched(
        Kind::Hardship,
        Priority::Urgent,
        "2026-10-03 22:30",
    ));
    let sign_for: Vec<_> = moments(&plan)
        .into_iter()
        .filter(|(stage, _, _)| *stage == SignFor)
        .collect();
    assert_eq!(
        sign_for,
        expected(&[
            (SignFor, Reminder75, "2026-10-04 00:00"),
            (SignFor, Urge, "2026-10-04 00:30"),
            (SignFor, Escalation, "2026-10-04 02:30"),
        ])
    );
}

#[test]
fn each_key_fires_once() {
    let snapshot = dispatched(Kind::Request, Priority::Normal, "2026-09-28 10:00");
    let mut sent = SentNotifications::new();
    let first = due_at(&snapshot, &sent, "2026-09-29 14:30");
    assert_eq!(first.len(), 1);
    assert_eq!(
        (first[0].stage, first[0].level),
        (Stage::SignFor, Level::Reminder75)
    );
    assert!(sent.insert(first[0].key()));
    assert!(!sent.insert(first[0].key()));
    assert!(due_at(&snapshot, &sent, "2026-09-29 14:30").is_empty());
    assert!(due_at(&snapshot, &sent, "2026-09-29 20:00").is_empty());
}

#[test]
fn nothing_is_due_a_moment_early_and_next_wake_says_when() {
    let snapshot = dispatched(Kind::Request, Priority::Normal, "2026-09-28 10:00");
    let result = schedule(
        &Policy::default(),
        &Calendar::builtin(),
        &snapshot,
        &SentNotifications::new(),
        ms("2026-09-29 14:30") - 1,
    )
    .unwrap();
    assert!(result.due.is_empty());
    assert_eq!(result.due.capacity(), 0, "nothing due must not allocate");
    assert_eq!(result.next_wake_ms, Some(ms("2026-09-29 14:30")));
}

#[test]
fn reminders_are_dropped_once_the_deadline_has_passed() {
    let snapshot = dispatched(Kind::Request, Priority::Normal, "2026-09-28 10:00");
    // First look after the sign-for urge moment, e.g. after the service was down.
    let due = due_at(&snapshot, &SentNotifications::new(), "2026-09-30 10:00");
    let levels: Vec<_> = due.iter().map(|due| (due.stage, due.level)).collect();
    assert_eq!(levels, vec![(Stage::SignFor, Level::Urge)]);
    assert!(
        due[0]
            .explanation
            .starts_with("sign-for overdue since 2026-09-29 23:59:59 CST: urge"),
        "{}",
        due[0].explanation
    );
}

#[test]
fn a_moved_deadline_gets_fresh_keys() {
    let mut snapshot = dispatched(Kind::Request, Priority::Normal, "2026-09-28 10:00");
    snapshot.state = WorkOrderState::Signed;
    let mut sent = SentNotifications::new();
    for due in due_at(&snapshot, &sent, "2026-10-26 09:00") {
        sent.insert(due.key());
    }
    assert_eq!(
        sent.len(),
        1,
        "only the urge: reminders lapsed at the deadline"
    );
    // An extension to 30 October: the old urge stays sent, the new deadline starts over.
    snapshot.reply_due_at_ms = Some(ms("2026-10-30 23:59") + 59_000);
    let due = due_at(&snapshot, &sent, "2026-10-29 09:00");
    let levels: Vec<_> = due.iter().map(|due| due.level).collect();
    assert_eq!(levels, vec![Level::Reminder75, Level::ReminderDayBefore]);
    assert!(
        due.iter()
            .all(|due| due.deadline_ms == ms("2026-10-30 23:59") + 59_000)
    );
    let plan = plan(&snapshot);
    sent.retain_current(&plan);
    assert!(sent.is_empty(), "the old deadline's key is forgotten");
}

#[test]
fn replied_runs_only_the_review_clock() {
    use Level::*;
    let mut snapshot = dispatched(Kind::Complaint, Priority::Normal, "2026-09-30 15:00");
    snapshot.state = WorkOrderState::Replied;
    snapshot.replied_at_ms = Some(ms("2026-10-21 14:00"));
    let plan = plan(&snapshot);
    assert_eq!(
        plan.deadlines().collect::<Vec<_>>(),
        vec![(Stage::Review, ms("2026-10-23 23:59") + 59_000)]
    );
    assert_eq!(
        moments(&plan),
        expected(&[
            // 10 h + 24 h + 24 h of working time; 75 % = 43.5 h.
            (Stage::Review, Reminder75, "2026-10-23 09:30"),
            (Stage::Review, ReminderDayBefore, "2026-10-22 09:00"),
            (Stage::Review, Urge, "2026-10-26 09:00"),
            (Stage::Review, Escalation, "2026-10-28 09:00"),
        ])
    );
}

#[test]
fn approved_runs_only_the_callback_clock() {
    let mut snapshot = dispatched(Kind::Request, Priority::Urgent, "2026-09-30 15:00");
    snapshot.state = WorkOrderState::Approved;
    snapshot.replied_at_ms = Some(ms("2026-10-09 11:00"));
    snapshot.approved_at_ms = Some(ms("2026-10-10 10:00"));
    let deadlines: Vec<_> = plan(&snapshot).deadlines().collect();
    assert_eq!(
        deadlines,
        vec![(Stage::Callback, ms("2026-10-14 23:59") + 59_000)]
    );
}

#[test]
fn finished_work_orders_have_nothing_due_ever() {
    for state in [
        WorkOrderState::CalledBack,
        WorkOrderState::Closed,
        WorkOrderState::Returned,
    ] {
        let mut snapshot = dispatched(Kind::Request, Priority::Normal, "2026-09-28 10:00");
        snapshot.state = state;
        let result = schedule(
            &Policy::default(),
            &Calendar::builtin(),
            &snapshot,
            &SentNotifications::new(),
            ms("2026-12-01 09:00"),
        )
        .unwrap();
        assert!(result.due.is_empty(), "{state}");
        assert_eq!(result.next_wake_ms, None, "{state}");
    }
}

#[test]
fn a_state_without_its_moment_is_refused() {
    let mut snapshot = dispatched(Kind::Request, Priority::Normal, "2026-09-28 10:00");
    snapshot.state = WorkOrderState::Replied;
    assert_eq!(
        DeadlinePlan::new(&Policy::default(), &Calendar::builtin(), &snapshot),
        Err(ClockError::MissingMoment {
            state: WorkOrderState::Replied,
            field: "replied_at_ms"
        })
    );
}

#[test]
fn a_notice_in_an_uncovered_year_is_reported_not_guessed() {
    let mut snapshot = dispatched(Kind::Request, Priority::Normal, "2026-12-01 10:00");
    snapshot.state = WorkOrderState::Signed;
    // Extended to the last day of the last covered year: the urge would fall in 2027.
    snapshot.reply_due_at_ms = Some(ms("2026-12-31 23:59"));
    let plan = plan(&snapshot);
    assert_eq!(plan.calendar_gap(), Some(2027));
    let levels: Vec<_> = plan.moments().map(|(key, _)| key.level).collect();
    assert_eq!(levels, vec![Level::Reminder75, Level::ReminderDayBefore]);
}

#[test]
fn the_day_before_reminder_can_be_switched_off() {
    let policy =
        Policy::from_toml_str("[deadlines.urging]\nreminder_working_days_before = 0\n").unwrap();
    let snapshot = dispatched(Kind::Request, Priority::Normal, "2026-09-28 10:00");
    let plan = DeadlinePlan::new(&policy, &Calendar::builtin(), &snapshot).unwrap();
    assert!(
        plan.moments()
            .all(|(key, _)| key.level != Level::ReminderDayBefore)
    );
}

#[test]
fn a_rework_measures_the_reminder_from_the_rework() {
    let mut snapshot = dispatched(Kind::Request, Priority::Collective, "2026-10-12 10:00");
    snapshot.state = WorkOrderState::Signed;
    snapshot.reply_clock_started_at_ms = Some(ms("2026-10-21 10:00"));
    snapshot.reply_due_at_ms = Some(ms("2026-10-28 23:59") + 59_000);
    let (_, reminder) = plan(&snapshot)
        .moments()
        .find(|(key, _)| key.level == Level::Reminder75)
        .unwrap();
    // 14 h + 5 × 24 h = 134 h; 75 % = 100.5 h after 21 October 10:00, weekend skipped.
    assert_eq!(cst(reminder), "2026-10-27 14:30:00 CST");
}

#[test]
fn states_round_trip_their_names() {
    for state in WorkOrderState::ALL {
        assert_eq!(WorkOrderState::parse(state.as_str()), Some(state));
    }
}
