//! Helpers shared by the end-to-end tests: they build and start the real `hotline`
//! binary on a temporary data directory, wait for it to listen, and hand out gRPC
//! clients that carry a user's bearer token.
//!
//! Every wait here is bounded by a deadline and ends on an event (a line of output, a
//! process exit), never on a fixed sleep, so the tests stay fast on an idle machine and
//! still pass on a busy one.
//!
//! ```no_run
//! # async fn example() -> anyhow::Result<()> {
//! use hotline_tests::HotlineServer;
//! use hotline_tests::sample::unpaid_wages_ticket;
//!
//! let data = tempfile::tempdir()?;
//! let server = HotlineServer::start(data.path()).await?;
//! let mut tickets = server.ticket_client(&server.token("agent01")?).await?;
//! let ticket = tickets
//!     .create_ticket(unpaid_wages_ticket("example-1", "13800138000"))
//!     .await?
//!     .into_inner();
//! assert!(ticket.number.starts_with("GD"));
//! # Ok(())
//! # }
//! ```

pub mod binary;
pub mod browser;
pub mod client;
pub mod gateway;
pub mod http;
pub mod sample;
pub mod server;
pub mod sip_probe;
pub mod tools;
pub mod webrtc_agents;
pub mod ws_phone;

pub use binary::hotline_binary;
pub use client::{AuthedChannel, BearerToken, connect};
pub use server::{HotlineServer, issue_token, run_hotline};
