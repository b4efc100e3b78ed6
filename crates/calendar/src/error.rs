//! Errors of the working-day calendar.

use chrono::{NaiveDate, NaiveDateTime};
use thiserror::Error;

/// Why the calendar refused to answer or to load a year file.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CalendarError {
    /// The date lies in a year the table has no State Council notice for. The calendar never
    /// guesses: an administrator must add that year's file first.
    #[error(
        "the working-day calendar has no table for {year}; add the State Council holiday notice \
         for {year} before computing dates in it"
    )]
    YearNotCovered { year: i32 },

    /// The year file is not valid TOML or does not have the expected fields and types.
    #[error("holiday table for {}: malformed: {reason}", describe_year(.year))]
    MalformedYearFile {
        /// The year the file declares, when it could be read at all.
        year: Option<i32>,
        reason: String,
    },

    /// The year file parses but contradicts itself or another loaded year, for example a day
    /// listed both as a day off and as a make-up working day.
    #[error("holiday table for {year}: {date}: {problem}")]
    InconsistentYearFile {
        year: i32,
        date: NaiveDate,
        problem: String,
    },

    /// `fraction_elapsed` was given a deadline earlier than the start.
    #[error("deadline {deadline} is before the start {start}")]
    DeadlineBeforeStart {
        start: NaiveDateTime,
        deadline: NaiveDateTime,
    },
}

fn describe_year(year: &Option<i32>) -> String {
    match year {
        Some(year) => year.to_string(),
        None => "an unknown year".to_owned(),
    }
}
