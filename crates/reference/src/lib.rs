//! Reference tables.
