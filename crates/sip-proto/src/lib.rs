//! Sans-io SIP: the protocol core of the hotline's SIP gateway.
//!
//! # Shape
//!
//! Nothing in this crate opens a socket, spawns a task, sleeps or reads the clock.
//! Every function takes bytes or messages and, where time matters, a
//! `now: std::time::Instant` supplied by the caller, and returns what to send and
//! when to be called again. The gateway's transport layer (tokio, in `sip-gateway`)
//! owns the sockets and the timers and drives this crate; tests drive it the same way
//! with a virtual clock (`start + Duration`), so timer behaviour is tested in
//! microseconds without sleeping. This is the str0m / quinn-proto style.
//!
//! The layers, bottom up:
//!
//! - [`parse_message`] turns a datagram (UDP, or one WebSocket message, RFC 7118) into
//!   a [`Message`]; [`StreamFramer`] cuts messages out of a TCP/TLS byte stream by
//!   Content-Length and reports CRLF keep-alives. [`Message::to_bytes`] writes the
//!   canonical form: long header names, one value per line, a correct Content-Length.
//! - [`Headers`] keeps header values as text in arrival order (unknown headers are
//!   forwarded untouched) and offers typed views: [`Via`], [`NameAddr`] (From, To,
//!   Route, Record-Route), [`Contact`], [`CSeq`], [`MediaType`], Max-Forwards,
//!   Expires, and Digest challenges and credentials ([`digest`]).
//!   [`Request::validate`] and [`Response::validate`] check what a UAS relies on,
//!   rejecting what RFC 4475 calls invalid.
//! - [`transaction`]: the four RFC 3261 §17 state machines. The driver feeds
//!   `handle_message(msg, now)` and `handle_timeout(now)`, then drains
//!   `poll_transmit()` and `poll_event()`, and arms one timer at `poll_timeout()`.
//!   Retransmissions happen only on unreliable transports; the caller says which.
//! - [`dialog`]: dialog state (§12) and in-dialog request building (BYE, re-INVITE,
//!   REFER, INFO, ACK for 2xx) with loose and strict routing.
//! - [`digest`]: RFC 2617/7616/8760 Digest (MD5, SHA-256), client and server.
//! - [`sdp`]: SDP parse/serialize and audio offer/answer for PCMU, PCMA and
//!   telephone-event.
//!
//! # Example: one request, driven by hand
//!
//! ```
//! use std::time::{Duration, Instant};
//! use sip_proto::transaction::{ClientNonInviteTransaction, TimerConfig};
//! use sip_proto::{Message, parse_message};
//!
//! let bytes = b"OPTIONS sip:gw.example.cn SIP/2.0\r\n\
//!     Via: SIP/2.0/UDP 10.0.0.7:5062;branch=z9hG4bKping1\r\n\
//!     Max-Forwards: 70\r\n\
//!     From: <sip:agent7@gw.example.cn>;tag=a7\r\n\
//!     To: <sip:gw.example.cn>\r\n\
//!     Call-ID: ping-1@10.0.0.7\r\n\
//!     CSeq: 1 OPTIONS\r\n\
//!     Content-Length: 0\r\n\r\n";
//! let Message::Request(options) = parse_message(bytes)? else { unreachable!() };
//! options.validate()?;
//!
//! let start = Instant::now();
//! let mut transaction = ClientNonInviteTransaction::new(options, false, TimerConfig::default(), start)?;
//! let first = transaction.poll_transmit(); // the driver writes it to the UDP socket
//! assert!(first.is_some());
//! // No answer: the driver sleeps until poll_timeout, then the request goes out again.
//! let wake_up = transaction.poll_timeout().unwrap();
//! assert_eq!(wake_up, start + Duration::from_millis(500));
//! transaction.handle_timeout(wake_up);
//! assert!(transaction.poll_transmit().is_some());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Who does what
//!
//! Randomness (branches, tags, cnonces, nonce secrets) comes from the caller, so
//! every function here is deterministic. Matching a message to its transaction is
//! done with [`transaction::TransactionKey`]; the caller keeps the map. Transport
//! selection, DNS, and the `received`/`rport` stamping of incoming requests
//! ([`Via::stamp_source`]) are the transport layer's job, using the helpers here.
//!
//! # Tests
//!
//! - `tests/rfc4475_*.rs`: the RFC 4475 torture messages, valid and invalid.
//! - `tests/roundtrip.rs`: property tests (generated message → bytes → parse is the
//!   identity; the stream framer cuts any chunking correctly; SDP likewise).
//! - `tests/transactions.rs`, `tests/transaction_properties.rs`,
//!   `tests/transaction_layer.rs`: client and server transactions against each other
//!   on a virtual clock through a lossy network, with the RFC timer values checked to
//!   the millisecond.
//! - `fuzz/`: a cargo-fuzz target outside the workspace. From `crates/sip-proto/fuzz`:
//!   `cargo +nightly fuzz run parse_message`.

pub mod dialog;
pub mod digest;
pub mod error;
pub mod framer;
pub mod header;
pub mod message;
pub mod params;
pub mod parse;
pub mod sdp;
mod text;
pub mod transaction;
pub mod typed;
pub mod uri;
mod validate;

pub use error::ParseError;
pub use framer::{StreamFramer, StreamItem};
pub use header::{Header, HeaderName, Headers};
pub use message::{Message, Method, Request, Response, StatusCode};
pub use params::{Param, Params};
pub use parse::parse_message;
pub use text::percent_decode;
pub use typed::{BRANCH_MAGIC_COOKIE, CSeq, Contact, MediaType, NameAddr, Rport, Transport, Via};
pub use uri::{Host, Scheme, SipUri, Uri};
