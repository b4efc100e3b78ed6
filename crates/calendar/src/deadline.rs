//! Deadlines in working days, working days between dates, and working time elapsed.

use std::fmt;

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta};

use crate::calendar::{Calendar, DayKind};
use crate::error::CalendarError;
use crate::year_file::HolidayName;

/// A deadline and the non-working days that pushed it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deadline {
    /// The last second of the deadline day, 23:59:59 China Standard Time.
    pub at: NaiveDateTime,
    /// The non-working days skipped, grouped by cause in the order first met, and each
    /// make-up working day that counted, so a person can check the deadline by hand.
    pub explanation: Vec<Adjustment>,
}

impl Deadline {
    /// The explanation as one line of text, e.g.
    /// `+2 days: weekend; +7 days: National Day (国庆节)`.
    pub fn explain(&self) -> Explanation<'_> {
        Explanation(&self.explanation)
    }
}

impl fmt::Display for Deadline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.at, self.explain())
    }
}

/// One reason a deadline moved, or one make-up working day that counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Adjustment {
    /// Days off of one holiday skipped (weekend days inside the holiday's run included).
    HolidaySkipped { holiday: HolidayName, days: u32 },
    /// Ordinary Saturdays and Sundays skipped.
    WeekendSkipped { days: u32 },
    /// A weekend day that counted as a working day because of a holiday's make-up rule.
    MakeUpWorkdayCounted {
        date: NaiveDate,
        for_holiday: HolidayName,
    },
}

impl fmt::Display for Adjustment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Adjustment::HolidaySkipped { holiday, days } => {
                write!(f, "+{days} {}: {holiday}", plural_days(*days))
            }
            Adjustment::WeekendSkipped { days } => {
                write!(f, "+{days} {}: weekend", plural_days(*days))
            }
            Adjustment::MakeUpWorkdayCounted { date, for_holiday } => write!(
                f,
                "{} {date} counted: make-up working day for {for_holiday}",
                crate::weekday_name(date.weekday())
            ),
        }
    }
}

fn plural_days(days: u32) -> &'static str {
    if days == 1 { "day" } else { "days" }
}

/// A deadline's explanation displayed as one line, entries separated by `; `.
#[derive(Debug, Clone, Copy)]
pub struct Explanation<'a>(pub &'a [Adjustment]);

impl fmt::Display for Explanation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("no non-working days skipped");
        }
        for (index, adjustment) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{adjustment}")?;
        }
        Ok(())
    }
}

/// Collects skipped days into one entry per cause.
#[derive(Default)]
struct ExplanationBuilder {
    adjustments: Vec<Adjustment>,
}

impl ExplanationBuilder {
    fn weekend_skipped(&mut self) {
        for adjustment in &mut self.adjustments {
            if let Adjustment::WeekendSkipped { days } = adjustment {
                *days += 1;
                return;
            }
        }
        self.adjustments
            .push(Adjustment::WeekendSkipped { days: 1 });
    }

    fn holiday_skipped(&mut self, name: HolidayName) {
        for adjustment in &mut self.adjustments {
            if let Adjustment::HolidaySkipped { holiday, days } = adjustment
                && *holiday == name
            {
                *days += 1;
                return;
            }
        }
        self.adjustments.push(Adjustment::HolidaySkipped {
            holiday: name,
            days: 1,
        });
    }

    fn make_up_workday_counted(&mut self, date: NaiveDate, for_holiday: HolidayName) {
        self.adjustments
            .push(Adjustment::MakeUpWorkdayCounted { date, for_holiday });
    }
}

/// 23:59:59 of `date`: the deadline instant of a deadline day.
pub fn end_of_day(date: NaiveDate) -> NaiveDateTime {
    date.and_time(NaiveTime::from_hms_opt(23, 59, 59).expect("23:59:59 is a valid time"))
}

impl Calendar {
    /// The deadline `n` working days after `start`: the end (23:59:59) of the `n`-th working
    /// day after the start date. The start day itself never counts, whatever the hour, so an
    /// order dispatched at 08:00 or at 23:00 on a Monday with `n = 1` is due at the end of
    /// Tuesday (if Tuesday is a working day).
    ///
    /// `n = 0` means "by the end of the start day itself", whatever kind of day it is, with an
    /// empty explanation; it consults no table, since nothing is counted.
    ///
    /// Every day after the start date up to the deadline must lie in a covered year; the
    /// start date itself need not, since it never counts.
    pub fn add_working_days(
        &self,
        start: NaiveDateTime,
        n: u32,
    ) -> Result<Deadline, CalendarError> {
        let mut day = start.date();
        let mut counted = 0;
        let mut explanation = ExplanationBuilder::default();
        while counted < n {
            day = next_day(day)?;
            match self.day_kind(day)? {
                DayKind::Working => counted += 1,
                DayKind::MakeUpWorkday { for_holiday } => {
                    counted += 1;
                    explanation.make_up_workday_counted(day, for_holiday);
                }
                DayKind::Weekend => explanation.weekend_skipped(),
                DayKind::Holiday { name } => explanation.holiday_skipped(name),
            }
        }
        Ok(Deadline {
            at: end_of_day(day),
            explanation: explanation.adjustments,
        })
    }

    /// Working days after `from` up to and including `to`; negative when `to` is before
    /// `from`. So `working_days_between(start, deadline) == n` for a deadline of `n` working
    /// days, and `working_days_between(deadline, today)` is how many working days a work
    /// order is overdue (0 on the deadline day itself, and on non-working days straight after
    /// it). `from` itself need not be covered; every later day up to `to` must be.
    pub fn working_days_between(
        &self,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<i64, CalendarError> {
        let (earlier, later, sign) = if from <= to {
            (from, to, 1)
        } else {
            (to, from, -1)
        };
        let mut count = 0_i64;
        let mut day = earlier;
        while day < later {
            day = next_day(day)?;
            if self.is_working_day(day)? {
                count += 1;
            }
        }
        Ok(sign * count)
    }

    /// The share of the working time from `start` to `deadline` that has gone by at `now`,
    /// between 0.0 and 1.0, for reminders such as "75 % of the time is gone".
    ///
    /// Working time is the part of an interval lying on working days, each working day
    /// counting its full 24 hours and the current day counting up to `now`, so time spent
    /// over a weekend or a holiday does not use up the limit. The value is 0.0 at or before
    /// `start` and 1.0 at or after `deadline`. If the whole interval lies on non-working days
    /// there is no working time to share: the value is 0.0 before the deadline and 1.0 from it.
    ///
    /// Every date from `start` to `deadline` must lie in a covered year.
    pub fn fraction_elapsed(
        &self,
        start: NaiveDateTime,
        deadline: NaiveDateTime,
        now: NaiveDateTime,
    ) -> Result<f64, CalendarError> {
        if deadline < start {
            return Err(CalendarError::DeadlineBeforeStart { start, deadline });
        }
        let total = self.working_time(start, deadline)?;
        if now >= deadline {
            return Ok(1.0);
        }
        if now <= start || total.is_zero() {
            return Ok(0.0);
        }
        let elapsed = self.working_time(start, now)?;
        let ratio = elapsed.num_milliseconds() as f64 / total.num_milliseconds() as f64;
        Ok(ratio.clamp(0.0, 1.0))
    }

    /// The part of `[from, to]` that lies on working days; `from <= to`.
    fn working_time(
        &self,
        from: NaiveDateTime,
        to: NaiveDateTime,
    ) -> Result<TimeDelta, CalendarError> {
        let mut total = TimeDelta::zero();
        let mut day = from.date();
        loop {
            let day_start = day.and_time(NaiveTime::MIN);
            let next = next_day(day)?;
            let next_start = next.and_time(NaiveTime::MIN);
            if self.is_working_day(day)? {
                let overlap_start = from.max(day_start);
                let overlap_end = to.min(next_start);
                if overlap_end > overlap_start {
                    total += overlap_end - overlap_start;
                }
            }
            if day >= to.date() {
                return Ok(total);
            }
            day = next;
        }
    }
}

/// The day after `day`. chrono's calendar ends in year 262143, far beyond any table, so
/// running off its end is reported as that year not being covered.
fn next_day(day: NaiveDate) -> Result<NaiveDate, CalendarError> {
    day.succ_opt().ok_or(CalendarError::YearNotCovered {
        year: day.year().saturating_add(1),
    })
}
