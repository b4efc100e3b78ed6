//! Deadlines and reminder moments on the working-day calendar.
