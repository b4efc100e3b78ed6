//! Working time and working-day steps the calendar crate does not offer directly: the
//! inverse of "share of the working time gone", and counting working days backwards.
//!
//! Working time follows `Calendar::fraction_elapsed`: each working day counts its full
//! 24 hours, every other day counts nothing, so a weekend or a holiday does not use up a limit.

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};
use hotline_calendar::{Calendar, CalendarError};

/// Milliseconds of working time in `[from, to]`; 0 when `to <= from`.
pub(crate) fn working_time_ms(
    calendar: &Calendar,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<i64, CalendarError> {
    if to <= from {
        return Ok(0);
    }
    let mut total = TimeDelta::zero();
    let mut day = from.date();
    loop {
        let day_start = day.and_time(NaiveTime::MIN);
        let next_start = day_start + TimeDelta::days(1);
        if calendar.is_working_day(day)? {
            let overlap = to.min(next_start) - from.max(day_start);
            if overlap > TimeDelta::zero() {
                total += overlap;
            }
        }
        if day >= to.date() {
            return Ok(total.num_milliseconds());
        }
        day = next_day(day)?;
    }
}

/// The first instant at which `amount_ms` of working time has gone by since `from`.
pub(crate) fn after_working_time(
    calendar: &Calendar,
    from: NaiveDateTime,
    amount_ms: i64,
) -> Result<NaiveDateTime, CalendarError> {
    let mut remaining = TimeDelta::milliseconds(amount_ms.max(0));
    let mut day = from.date();
    loop {
        if calendar.is_working_day(day)? {
            let day_start = day.and_time(NaiveTime::MIN);
            let begin = from.max(day_start);
            let available = day_start + TimeDelta::days(1) - begin;
            if remaining <= available {
                return Ok(begin + remaining);
            }
            remaining -= available;
        }
        day = next_day(day)?;
    }
}

/// The `n`-th working day after `date` (`n >= 1`).
pub(crate) fn working_day_after(
    calendar: &Calendar,
    date: NaiveDate,
    n: u32,
) -> Result<NaiveDate, CalendarError> {
    Ok(calendar
        .add_working_days(date.and_time(NaiveTime::MIN), n)?
        .at
        .date())
}

/// The `n`-th working day before `date` (`n >= 1`), or `None` if it would be earlier than
/// `not_before`. Days before `not_before` are never looked at, so a start early in a covered
/// year does not trip over the uncovered year before it.
pub(crate) fn working_day_before(
    calendar: &Calendar,
    date: NaiveDate,
    n: u32,
    not_before: NaiveDate,
) -> Result<Option<NaiveDate>, CalendarError> {
    let mut day = date;
    let mut counted = 0;
    while counted < n {
        day = match day.pred_opt() {
            Some(previous) if previous >= not_before => previous,
            _ => return Ok(None),
        };
        if calendar.is_working_day(day)? {
            counted += 1;
        }
    }
    Ok(Some(day))
}

fn next_day(day: NaiveDate) -> Result<NaiveDate, CalendarError> {
    day.succ_opt().ok_or(CalendarError::YearNotCovered {
        year: day.year().saturating_add(1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
    }

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn holidays_and_weekends_use_up_no_working_time() {
        let calendar = Calendar::builtin();
        // Wednesday 16:00 before National Day to Thursday 8 October 06:00: 8 h + 6 h.
        let ms = working_time_ms(&calendar, at("2026-09-30 16:00"), at("2026-10-08 06:00"));
        assert_eq!(ms.unwrap(), 14 * 3_600_000);
    }

    #[test]
    fn after_working_time_inverts_fraction_elapsed() {
        let calendar = Calendar::builtin();
        let start = at("2026-09-28 10:00");
        let deadline = at("2026-10-23 23:59");
        let total = working_time_ms(&calendar, start, deadline).unwrap();
        let moment = after_working_time(&calendar, start, total * 3 / 4).unwrap();
        let fraction = calendar.fraction_elapsed(start, deadline, moment).unwrap();
        assert!((fraction - 0.75).abs() < 1e-9, "{fraction}");
    }

    #[test]
    fn after_working_time_starting_on_a_holiday_begins_on_the_next_working_day() {
        let calendar = Calendar::builtin();
        let moment = after_working_time(&calendar, at("2026-10-03 12:00"), 3_600_000).unwrap();
        assert_eq!(moment, at("2026-10-08 01:00"));
    }

    #[test]
    fn counting_back_skips_holidays_and_counts_make_up_days() {
        let calendar = Calendar::builtin();
        // Before Thursday 8 October comes Wednesday 30 September.
        let before = working_day_before(&calendar, date("2026-10-08"), 1, date("2026-09-01"));
        assert_eq!(before.unwrap(), Some(date("2026-09-30")));
        // Before Monday 12 October comes make-up Saturday 10 October.
        let before = working_day_before(&calendar, date("2026-10-12"), 1, date("2026-09-01"));
        assert_eq!(before.unwrap(), Some(date("2026-10-10")));
        // Not before the start.
        let before = working_day_before(&calendar, date("2026-10-08"), 1, date("2026-10-01"));
        assert_eq!(before.unwrap(), None);
    }

    #[test]
    fn counting_forward_reports_an_uncovered_year() {
        let calendar = Calendar::builtin();
        assert_eq!(
            working_day_after(&calendar, date("2026-12-31"), 1),
            Err(CalendarError::YearNotCovered { year: 2027 })
        );
    }
}
