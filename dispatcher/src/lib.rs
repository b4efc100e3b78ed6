//! Dispatcher: decides which union handles each work order, runs the deadline clock,
//! urges and escalates, and builds reports.
//!
//! [`routing`] is the pure core that maps a ticket's facts to a handling union.

pub mod routing;
