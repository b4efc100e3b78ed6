//! Helpers shared by the end-to-end tests: they build and start the real `hotline`
//! binary on a temporary data directory, wait for it to listen, and hand out gRPC
//! clients that carry a user's bearer token.
//!
//! Every wait here is bounded by a deadline and ends on an event (a line of output, a
//! process exit), never on a fixed sleep, so the tests stay fast on an idle machine and
//! still pass on a busy one.

pub mod binary;
pub mod client;
pub mod sample;
pub mod server;
pub mod tools;

pub use binary::hotline_binary;
pub use client::{AuthedChannel, BearerToken, connect};
pub use server::{HotlineServer, issue_token, run_hotline};
