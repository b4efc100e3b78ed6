//! Deadlines, their explanations, working days between dates and working time elapsed.

use chrono::{NaiveDate, NaiveDateTime};
use hotline_calendar::{Adjustment, Calendar, CalendarError, Deadline, end_of_day};

fn date(text: &str) -> NaiveDate {
    text.parse().expect("test dates are valid")
}

fn at(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").expect("test instants are valid")
}

fn deadline(start: &str, n: u32) -> Deadline {
    Calendar::builtin().add_working_days(at(start), n).unwrap()
}

#[test]
fn reply_deadline_across_mid_autumn_and_national_day_2026() {
    // A request dispatched on Friday 2026-09-18 with 15 working days to reply.
    let due = deadline("2026-09-18 10:00", 15);
    assert_eq!(due.at, end_of_day(date("2026-10-15")));
    assert_eq!(
        due.explain().to_string(),
        "+2 days: weekend; \
         Sunday 2026-09-20 counted: make-up working day for National Day (国庆节); \
         +3 days: Mid-Autumn Festival (中秋节); \
         +7 days: National Day (国庆节); \
         Saturday 2026-10-10 counted: make-up working day for National Day (国庆节)"
    );
    assert!(matches!(
        due.explanation[3],
        Adjustment::HolidaySkipped { days: 7, .. }
    ));
    assert_eq!(
        due.to_string(),
        format!("2026-10-15 23:59:59 ({})", due.explain())
    );
}

#[test]
fn sign_for_deadline_over_national_day_2024() {
    // Dispatched the last working day before the holiday: due the first day after it.
    let due = deadline("2024-09-30 17:30", 1);
    assert_eq!(due.at, end_of_day(date("2024-10-08")));
    assert_eq!(due.explain().to_string(), "+7 days: National Day (国庆节)");

    // Dispatched on Friday: the Saturday is skipped and the make-up Sunday counts.
    let due = deadline("2024-09-27 09:00", 1);
    assert_eq!(due.at, end_of_day(date("2024-09-29")));
    assert_eq!(
        due.explain().to_string(),
        "+1 day: weekend; Sunday 2024-09-29 counted: make-up working day for National Day (国庆节)"
    );
}

#[test]
fn the_start_day_never_counts_whatever_the_hour() {
    assert_eq!(
        deadline("2026-11-16 00:00", 1).at,
        end_of_day(date("2026-11-17"))
    );
    assert_eq!(
        deadline("2026-11-16 23:59", 1).at,
        end_of_day(date("2026-11-17"))
    );
    // A start on a holiday counts from the next day too.
    assert_eq!(
        deadline("2026-10-03 12:00", 1).at,
        end_of_day(date("2026-10-08"))
    );
}

#[test]
fn spring_festival_2025_starts_on_the_eve() {
    // Monday 2025-01-27 dispatch, 2 working days: the eve (01-28) is already off.
    let due = deadline("2025-01-27 10:00", 2);
    assert_eq!(due.at, end_of_day(date("2025-02-06")));
    assert_eq!(due.explain().to_string(), "+8 days: Spring Festival (春节)");
}

#[test]
fn zero_working_days_means_the_end_of_the_start_day() {
    let due = deadline("2026-11-21 10:00", 0); // a Saturday
    assert_eq!(due.at, end_of_day(date("2026-11-21")));
    assert!(due.explanation.is_empty());
    assert_eq!(
        due.to_string(),
        "2026-11-21 23:59:59 (no non-working days skipped)"
    );
}

#[test]
fn deadlines_reaching_an_uncovered_year_are_refused() {
    let calendar = Calendar::builtin();
    assert_eq!(
        calendar.add_working_days(at("2026-12-30 09:00"), 3),
        Err(CalendarError::YearNotCovered { year: 2027 })
    );
    assert_eq!(
        calendar.add_working_days(at("2023-12-28 09:00"), 2),
        Err(CalendarError::YearNotCovered { year: 2023 })
    );
    // The start day itself is never counted, so it may lie in an uncovered year.
    assert_eq!(
        calendar
            .add_working_days(at("2023-12-31 09:00"), 1)
            .unwrap()
            .at,
        end_of_day(date("2024-01-02"))
    );
}

#[test]
fn working_days_between_counts_after_from_up_to_to() {
    let calendar = Calendar::builtin();
    let between = |from: &str, to: &str| calendar.working_days_between(date(from), date(to));
    assert_eq!(between("2026-09-30", "2026-10-08"), Ok(1));
    assert_eq!(between("2026-10-08", "2026-09-30"), Ok(-1));
    assert_eq!(between("2026-10-08", "2026-10-08"), Ok(0));
    // Due 2026-09-30; on 2026-10-09 the order is 2 working days overdue.
    assert_eq!(between("2026-09-30", "2026-10-09"), Ok(2));
    // Overdue by 0 on the holiday days straight after the deadline.
    assert_eq!(between("2026-09-30", "2026-10-05"), Ok(0));
    // A make-up Sunday counts.
    assert_eq!(between("2026-09-18", "2026-09-20"), Ok(1));
    assert_eq!(
        between("2026-12-31", "2027-01-04"),
        Err(CalendarError::YearNotCovered { year: 2027 })
    );
    // Whole years: weekdays − weekday holidays + make-up days.
    // 2024: 262 − 19 + 8; 2025: 261 − 18 + 5; 2026: 261 − 19 + 6.
    assert_eq!(between("2023-12-31", "2024-12-31"), Ok(251));
    assert_eq!(between("2024-12-31", "2025-12-31"), Ok(248));
    assert_eq!(between("2025-12-31", "2026-12-31"), Ok(248));
}

#[test]
fn fraction_elapsed_counts_working_time_only() {
    let calendar = Calendar::builtin();
    // Monday 00:00 start, due end of Tuesday: midday Tuesday is three quarters through.
    let start = at("2026-11-16 00:00");
    let due = calendar.add_working_days(start, 1).unwrap().at;
    let fraction = calendar
        .fraction_elapsed(start, due, at("2026-11-17 12:00"))
        .unwrap();
    assert!((fraction - 0.75).abs() < 1e-4, "{fraction}");

    // Friday noon start, due end of Monday: the weekend does not use up the time.
    let start = at("2026-11-20 12:00");
    let due = calendar.add_working_days(start, 1).unwrap().at;
    assert_eq!(due, end_of_day(date("2026-11-23")));
    let saturday = calendar
        .fraction_elapsed(start, due, at("2026-11-21 18:00"))
        .unwrap();
    let sunday = calendar
        .fraction_elapsed(start, due, at("2026-11-22 23:00"))
        .unwrap();
    assert!((saturday - 1.0 / 3.0).abs() < 1e-4, "{saturday}");
    assert_eq!(saturday, sunday);
    let monday = calendar
        .fraction_elapsed(start, due, at("2026-11-23 06:00"))
        .unwrap();
    assert!((monday - 0.5).abs() < 1e-4, "{monday}");

    assert_eq!(
        calendar.fraction_elapsed(start, due, at("2026-11-19 06:00")),
        Ok(0.0)
    );
    assert_eq!(calendar.fraction_elapsed(start, due, due), Ok(1.0));
    assert_eq!(
        calendar.fraction_elapsed(start, due, at("2026-12-01 06:00")),
        Ok(1.0)
    );
}

#[test]
fn fraction_elapsed_edge_cases() {
    let calendar = Calendar::builtin();
    // A same-day deadline on a Saturday has no working time: nothing elapses until it passes.
    let start = at("2026-11-21 10:00");
    let due = end_of_day(date("2026-11-21"));
    assert_eq!(
        calendar.fraction_elapsed(start, due, at("2026-11-21 20:00")),
        Ok(0.0)
    );
    assert_eq!(calendar.fraction_elapsed(start, due, due), Ok(1.0));

    assert_eq!(
        calendar.fraction_elapsed(due, start, start),
        Err(CalendarError::DeadlineBeforeStart {
            start: due,
            deadline: start
        })
    );
    assert_eq!(
        calendar.fraction_elapsed(
            at("2026-12-30 10:00"),
            end_of_day(date("2027-01-05")),
            at("2026-12-31 10:00")
        ),
        Err(CalendarError::YearNotCovered { year: 2027 })
    );
}
