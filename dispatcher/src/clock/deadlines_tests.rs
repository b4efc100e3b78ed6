use chrono::NaiveDateTime;

use super::*;
use crate::clock::china_time::describe_ms;

fn ms(china_time: &str) -> i64 {
    let time = NaiveDateTime::parse_from_str(china_time, "%Y-%m-%d %H:%M").unwrap();
    ms_from_china_time(time)
}

fn dispatch(kind: Kind, priority: Priority, at: &str) -> DispatchDeadlines {
    deadlines_at_dispatch(
        &Policy::default(),
        &Calendar::builtin(),
        kind,
        priority,
        ms(at),
    )
    .unwrap()
}

#[test]
fn a_normal_request_gets_one_day_to_sign_and_fifteen_to_reply() {
    let deadlines = dispatch(Kind::Request, Priority::Normal, "2026-09-28 10:00");
    assert_eq!(
        describe_ms(deadlines.sign_due_at_ms),
        "2026-09-29 23:59:59 CST"
    );
    // 29, 30 Sep; 8, 9, 10 (make-up Saturday) Oct; then two full weeks.
    assert_eq!(
        describe_ms(deadlines.reply_due_at_ms),
        "2026-10-23 23:59:59 CST"
    );
    assert!(
        deadlines.explanation.contains("National Day (国庆节)"),
        "{}",
        deadlines.explanation
    );
}

#[test]
fn the_afternoon_before_national_day_skips_the_whole_holiday() {
    let deadlines = dispatch(Kind::Complaint, Priority::Normal, "2026-09-30 15:00");
    assert_eq!(
        describe_ms(deadlines.sign_due_at_ms),
        "2026-10-08 23:59:59 CST"
    );
    assert_eq!(
        describe_ms(deadlines.reply_due_at_ms),
        "2026-10-27 23:59:59 CST"
    );
    assert!(
        deadlines.explanation.starts_with(
            "complaint, normal: sign for: 1 working day from 2026-09-30 15:00 → \
                         2026-10-08 23:59:59 (+7 days: National Day (国庆节))"
        ),
        "{}",
        deadlines.explanation
    );
}

#[test]
fn the_friday_before_the_spring_festival_is_followed_by_a_make_up_saturday() {
    let deadlines = dispatch(Kind::Request, Priority::Normal, "2026-02-13 15:00");
    assert_eq!(
        describe_ms(deadlines.sign_due_at_ms),
        "2026-02-14 23:59:59 CST"
    );
    assert_eq!(
        describe_ms(deadlines.reply_due_at_ms),
        "2026-03-12 23:59:59 CST"
    );
}

#[test]
fn urgent_sign_for_runs_on_calendar_hours_even_on_a_holiday() {
    let deadlines = dispatch(Kind::Hardship, Priority::Urgent, "2026-10-03 22:30");
    assert_eq!(
        describe_ms(deadlines.sign_due_at_ms),
        "2026-10-04 00:30:00 CST"
    );
    assert_eq!(
        describe_ms(deadlines.reply_due_at_ms),
        "2026-10-08 23:59:59 CST"
    );
    assert!(deadlines.explanation.contains("calendar hours"));
}

#[test]
fn a_collective_matter_dispatched_on_friday_skips_the_weekend() {
    let deadlines = dispatch(Kind::Request, Priority::Collective, "2026-10-16 16:00");
    assert_eq!(
        describe_ms(deadlines.sign_due_at_ms),
        "2026-10-19 23:59:59 CST"
    );
    assert_eq!(
        describe_ms(deadlines.reply_due_at_ms),
        "2026-10-23 23:59:59 CST"
    );
}

#[test]
fn a_deadline_in_an_uncovered_year_is_a_calendar_gap() {
    let result = deadlines_at_dispatch(
        &Policy::default(),
        &Calendar::builtin(),
        Kind::Request,
        Priority::Normal,
        ms("2026-12-20 10:00"),
    );
    assert_eq!(result, Err(ClockError::CalendarGap { year: 2027 }));
    let result = review_deadline(
        &Policy::default(),
        &Calendar::builtin(),
        ms("2026-12-31 10:00"),
    );
    assert_eq!(result, Err(ClockError::CalendarGap { year: 2027 }));
}

#[test]
fn rework_and_reopen_restart_the_full_reply_limit_from_now() {
    let policy = Policy::default();
    let calendar = Calendar::builtin();
    let rework = reply_deadline_after_rework(
        &policy,
        &calendar,
        Kind::Request,
        Priority::Collective,
        ms("2026-10-21 10:00"),
    )
    .unwrap();
    assert_eq!(describe_ms(rework.due_at_ms), "2026-10-28 23:59:59 CST");
    assert!(
        rework
            .explanation
            .starts_with("rework: 5 working days from")
    );
    let reopen = reply_deadline_after_reopen(
        &policy,
        &calendar,
        Kind::Request,
        Priority::Normal,
        ms("2026-09-30 20:00"),
    )
    .unwrap();
    assert_eq!(describe_ms(reopen.due_at_ms), "2026-10-27 23:59:59 CST");
}

#[test]
fn review_and_callback_count_make_up_saturdays() {
    let policy = Policy::default();
    let calendar = Calendar::builtin();
    let review = review_deadline(&policy, &calendar, ms("2026-10-09 11:00")).unwrap();
    assert_eq!(describe_ms(review.due_at_ms), "2026-10-12 23:59:59 CST");
    assert!(review.explanation.contains("make-up working day"));
    let callback = callback_deadline(&policy, &calendar, ms("2026-10-10 10:00")).unwrap();
    assert_eq!(describe_ms(callback.due_at_ms), "2026-10-14 23:59:59 CST");
}

#[test]
fn per_kind_limits_are_used() {
    let policy =
        Policy::from_toml_str("[deadlines.reply.legal_aid]\nnormal = \"20 working days\"\n")
            .unwrap();
    let deadlines = deadlines_at_dispatch(
        &policy,
        &Calendar::builtin(),
        Kind::LegalAid,
        Priority::Normal,
        ms("2026-03-02 09:00"),
    )
    .unwrap();
    // 20 working days after Monday 2 March 2026: Monday 30 March (no holiday in between).
    assert_eq!(
        describe_ms(deadlines.reply_due_at_ms),
        "2026-03-30 23:59:59 CST"
    );
}

#[test]
fn extensions_are_capped_in_calendar_days_from_the_original_deadline() {
    let original = ms("2026-10-23 23:59");
    assert_eq!(
        describe_ms(latest_extension_ms(&Policy::default(), original)),
        "2026-11-22 23:59:00 CST"
    );
}

#[test]
fn an_unrepresentable_dispatch_moment_is_refused() {
    let result = deadlines_at_dispatch(
        &Policy::default(),
        &Calendar::builtin(),
        Kind::Request,
        Priority::Normal,
        i64::MAX,
    );
    assert!(matches!(
        result,
        Err(ClockError::TimeOutOfRange {
            field: "dispatched_at_ms",
            ..
        })
    ));
}
