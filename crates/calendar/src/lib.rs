//! Working-day calendar.
