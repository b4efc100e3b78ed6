//! Why the deadline clock refused to answer.

use hotline_calendar::CalendarError;
use thiserror::Error;

use super::schedule::WorkOrderState;

/// Why a deadline or a reminder moment could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ClockError {
    /// The deadline reaches into a year the working-day calendar has no State Council notice
    /// for. The clock never guesses: the caller raises an alert so an administrator adds the
    /// year's table, then asks again.
    #[error(
        "the working-day calendar has no table for {year}; add the State Council holiday notice \
         for {year} before computing deadlines in it"
    )]
    CalendarGap { year: i32 },

    /// The calendar refused for another reason.
    #[error("working-day calendar: {0}")]
    Calendar(CalendarError),

    /// A timestamp outside the range China Standard Time wall-clock dates can represent.
    #[error("{field} = {ms}: not a representable moment")]
    TimeOutOfRange { field: &'static str, ms: i64 },

    /// A work order snapshot lacks a moment its state needs, e.g. a replied work order
    /// without `replied_at_ms`.
    #[error("a work order that is {state} needs {field}")]
    MissingMoment {
        state: WorkOrderState,
        field: &'static str,
    },
}

impl From<CalendarError> for ClockError {
    fn from(error: CalendarError) -> Self {
        match error {
            CalendarError::YearNotCovered { year } => ClockError::CalendarGap { year },
            other => ClockError::Calendar(other),
        }
    }
}
