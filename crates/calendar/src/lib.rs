//! China's official working-day calendar, for the deadlines of work orders.
//!
//! Work-order limits ("sign for within 1 working day", "reply within 15 working days") run
//! on the State Council's yearly holiday arrangement (国务院办公厅关于XXXX年部分节假日安排的
//! 通知): Saturdays and Sundays are off, public holidays are off, and some weekend days are
//! make-up working days (调休补班). No rule computes this; each year is transcribed from its
//! notice into `data/YYYY.toml` and embedded here (see `data/README.md`). An administrator
//! can add or replace years at run time with [`Calendar::add_year_file`].
//!
//! A date in a year the calendar has no table for is refused with
//! [`CalendarError::YearNotCovered`], never guessed.
//!
//! # Time
//! All dates and times are China Standard Time wall-clock values (`NaiveDate`,
//! `NaiveDateTime` in Asia/Shanghai, UTC+8). China has no daylight saving time, so wall-clock
//! arithmetic is exact; callers convert from UTC at the edge.
//!
//! # Counting rules
//! - A deadline of `n` working days ends at 23:59:59 of the `n`-th working day after the start
//!   date; the start day never counts, whatever the hour. `n = 0` means the end of the start
//!   day itself. See [`Calendar::add_working_days`].
//! - Working days are Monday to Friday plus make-up working days, minus holiday days off.
//!   Weekend days inside a holiday's run count as that holiday's days (the notice's "共7天").
//! - [`Calendar::working_days_between`] is the inverse: `working_days_between(start, deadline)
//!   == n`, and `working_days_between(deadline, today)` is how many working days a work order
//!   is overdue.
//! - [`Calendar::fraction_elapsed`] measures working time, for "75 % of the time is gone".
//! - A date in a covered year whose last days of December a later notice may still rearrange
//!   (the 2019 notice did so for 29 to 31 December 2018) is answered from the tables loaded
//!   now; loading the new year's file updates the answer.
//!
//! # What this crate does not do
//! Limits given in hours (an urgent order signed for within 2 hours) are calendar time, not
//! working time: the caller adds them to the start instant itself. This crate only counts
//! working days.
//!
//! # Example
//! ```
//! use chrono::NaiveDate;
//! use hotline_calendar::Calendar;
//!
//! let calendar = Calendar::builtin();
//! let dispatched = NaiveDate::from_ymd_opt(2026, 9, 30)
//!     .unwrap()
//!     .and_hms_opt(16, 0, 0)
//!     .unwrap();
//! let deadline = calendar.add_working_days(dispatched, 1).unwrap();
//! assert_eq!(deadline.at.to_string(), "2026-10-08 23:59:59");
//! assert_eq!(deadline.explain().to_string(), "+7 days: National Day (国庆节)");
//! ```

mod calendar;
mod deadline;
mod error;
mod year_file;

pub use calendar::{Calendar, DayKind};
pub use deadline::{Adjustment, Deadline, Explanation, end_of_day};
pub use error::CalendarError;
pub use year_file::{Holiday, HolidayName, Notice, YearTable};

use chrono::Weekday;

/// The English weekday name, as written in explanations ("Sunday 2026-09-20").
fn weekday_name(weekday: Weekday) -> &'static str {
    match weekday {
        Weekday::Mon => "Monday",
        Weekday::Tue => "Tuesday",
        Weekday::Wed => "Wednesday",
        Weekday::Thu => "Thursday",
        Weekday::Fri => "Friday",
        Weekday::Sat => "Saturday",
        Weekday::Sun => "Sunday",
    }
}
