//! Invariants of deadlines over every start in the built-in years.

use chrono::{Datelike, NaiveDate, NaiveDateTime, TimeDelta};
use hotline_calendar::{Calendar, CalendarError, end_of_day};
use proptest::prelude::*;
use std::sync::LazyLock;

/// Parsed once: the tables do not change between cases.
static CALENDAR: LazyLock<Calendar> = LazyLock::new(Calendar::builtin);

/// Any instant from 2024-01-01 00:00 for `days` days, to the second.
fn instant(days: i64) -> impl Strategy<Value = NaiveDateTime> {
    let first = NaiveDate::from_ymd_opt(2024, 1, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap();
    (0..days * 86_400).prop_map(move |seconds| first + TimeDelta::seconds(seconds))
}

fn days_from_2024_to(year: i32) -> i64 {
    (NaiveDate::from_ymd_opt(year, 1, 1).unwrap() - NaiveDate::from_ymd_opt(2024, 1, 1).unwrap())
        .num_days()
}

/// Starts early enough that 30 working days stay inside 2026 (the last built-in year).
fn start_within_table() -> impl Strategy<Value = NaiveDateTime> {
    let days_to_end_of_october_2026 = (NaiveDate::from_ymd_opt(2026, 10, 31).unwrap()
        - NaiveDate::from_ymd_opt(2024, 1, 1).unwrap())
    .num_days();
    instant(days_to_end_of_october_2026)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn deadline_is_the_end_of_a_working_day_after_the_start(
        start in start_within_table(),
        n in 1_u32..=30,
    ) {
        let calendar = &*CALENDAR;
        let deadline = calendar.add_working_days(start, n).unwrap();
        prop_assert!(calendar.is_working_day(deadline.at.date()).unwrap());
        prop_assert!(deadline.at.date() > start.date());
        prop_assert_eq!(deadline.at, end_of_day(deadline.at.date()));
    }

    #[test]
    fn working_days_between_start_and_deadline_is_n(
        start in start_within_table(),
        n in 0_u32..=30,
    ) {
        let calendar = &*CALENDAR;
        let deadline = calendar.add_working_days(start, n).unwrap();
        prop_assert_eq!(
            calendar.working_days_between(start.date(), deadline.at.date()).unwrap(),
            i64::from(n)
        );
        prop_assert_eq!(
            calendar.working_days_between(deadline.at.date(), start.date()).unwrap(),
            -i64::from(n)
        );
    }

    #[test]
    fn deadlines_are_strictly_monotonic_in_n(
        start in start_within_table(),
        n in 0_u32..30,
        more in 1_u32..=10,
    ) {
        let calendar = &*CALENDAR;
        let earlier = calendar.add_working_days(start, n).unwrap();
        let later = calendar.add_working_days(start, n + more).unwrap();
        prop_assert!(later.at > earlier.at);
    }

    #[test]
    fn skipped_days_add_up_to_the_calendar_days_taken(
        start in start_within_table(),
        n in 1_u32..=30,
    ) {
        use hotline_calendar::Adjustment;
        let deadline = CALENDAR.add_working_days(start, n).unwrap();
        let skipped: i64 = deadline.explanation.iter().map(|adjustment| match adjustment {
            Adjustment::HolidaySkipped { days, .. } | Adjustment::WeekendSkipped { days } => {
                i64::from(*days)
            }
            Adjustment::MakeUpWorkdayCounted { .. } => 0,
        }).sum();
        prop_assert_eq!((deadline.at.date() - start.date()).num_days(), i64::from(n) + skipped);
    }

    #[test]
    fn deadlines_never_guess_beyond_the_table(
        start in instant(days_from_2024_to(2027)),
        n in 0_u32..=60,
    ) {
        match CALENDAR.add_working_days(start, n) {
            Ok(deadline) => prop_assert!(deadline.at.year() <= 2026),
            Err(error) => prop_assert_eq!(error, CalendarError::YearNotCovered { year: 2027 }),
        }
    }

    #[test]
    fn fraction_elapsed_grows_from_zero_to_one(
        start in start_within_table(),
        n in 0_u32..=20,
        first_offset in 0_i64..40 * 86_400,
        second_offset in 0_i64..40 * 86_400,
    ) {
        let calendar = &*CALENDAR;
        let deadline = calendar.add_working_days(start, n).unwrap().at;
        let (sooner, later) = (
            start + TimeDelta::seconds(first_offset.min(second_offset)),
            start + TimeDelta::seconds(first_offset.max(second_offset)),
        );
        let at_sooner = calendar.fraction_elapsed(start, deadline, sooner).unwrap();
        let at_later = calendar.fraction_elapsed(start, deadline, later).unwrap();
        prop_assert!((0.0..=1.0).contains(&at_sooner));
        prop_assert!(at_sooner <= at_later);
        prop_assert_eq!(calendar.fraction_elapsed(start, deadline, start).unwrap(), 0.0);
        prop_assert_eq!(calendar.fraction_elapsed(start, deadline, deadline).unwrap(), 1.0);
    }
}
