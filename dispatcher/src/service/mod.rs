//! The dispatcher as a running service: it follows ticket-core's event log from a
//! durable cursor and acts through ticket-core's API only.
//!
//! - a submitted ticket, or one whose work order came back, is routed ([`routes`]) and
//!   dispatched with deadlines from the working-day clock, or put on the manual queue;
//! - a collective or urgent ticket, or the fifth ticket about one employer within seven
//!   days, raises an early-warning alert;
//! - a dispatched work order is announced to the union's contacts by email (outbox);
//! - an outcome decided (not accepted, duplicate, forwarded, work order closed) gives
//!   the worker a notice, stored with the ticket and emailed where an address is known;
//! - the deadline clock ([`urger`]) reminds before each deadline, urges after it and
//!   escalates to the supervisors, as events on the work order and as emails;
//! - a deadline that falls in a year the calendar lacks raises an alert instead of a guess.

pub mod client;
pub mod follower;
pub mod mail;
pub mod notices;
pub mod routes;
pub mod state;
pub mod urger;
pub mod warnings;

pub use follower::{Dispatcher, DispatcherSettings};
