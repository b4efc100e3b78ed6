//! The SIP gateway: answers 12351 calls from the carrier trunk, plays the IVR menu,
//! queues callers to agents' and lawyers' softphones, bridges and records the audio,
//! and tells ticket-core about every call.
//!
//! # Where things are
//!
//! - [`transport`]: UDP and TCP sockets; parsed messages in, bytes out.
//! - [`websocket`]: SIP over WebSocket (ws, wss) for browser softphones, on listeners
//!   that also serve the page over HTTP.
//! - [`core`]: the signalling core, one task owning all call state; it drives the
//!   sans-io machines below and the per-call media tasks.
//! - [`registrar`]: softphone registrations with digest auth (HA1 only) and the
//!   throttle for repeated failures.
//! - [`ivr`], [`acd`]: pure state machines for the menu and the queues.
//! - [`relay`]: one task per call relaying RTP between legs, playing prompts and hold
//!   music, detecting DTMF and writing the stereo recording.
//! - [`call_events`]: the durable outbox of call events for ticket-core.
//! - [`grpc`]: `AgentService` for agents' screens and supervisors.
//! - [`web`]: the browser softphone page (JsSIP) and its JSON API, on the WebSocket
//!   listeners; [`agent_feed`] is what both APIs tell an agent's screen.
//! - [`app`]: wiring it together; `hotline serve` starts it beside ticket-core.
//!
//! The SIP protocol itself (parsing, transactions, dialogs, digest, SDP) lives in the
//! sans-io `sip-proto` crate, and RTP, G.711, DTMF and WAV in `hotline-media`.

pub mod acd;
pub mod agent_feed;
pub mod app;
pub mod call_events;
pub mod config;
pub mod core;
pub mod grpc;
pub mod ivr;
pub mod limits;
pub mod prompts;
pub mod registrar;
pub mod relay;
pub mod transport;
pub mod web;
pub mod websocket;
