//! Dispatcher: decides which union handles each work order, runs the deadline clock,
//! urges and escalates, notifies by email, and builds reports.
//!
//! - [`routing`]: the pure core that maps a ticket's facts to a handling union.
//! - [`clock`]: deadlines and reminder moments on the working-day calendar; pure.
//! - [`notify`]: Chinese emails and worker notices, and the durable outbox that sends them.

pub mod clock;
pub mod notify;
pub mod routing;
pub mod service;
