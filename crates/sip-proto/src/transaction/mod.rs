//! Transactions (RFC 3261 §17, with the RFC 6026 "Accepted" state for INVITE).
//!
//! Each transaction is a sans-io state machine. The owner:
//! 1. creates it with the request and `now` (clients transmit the request at once),
//! 2. feeds it matching messages with `handle_message(msg, now)` (see
//!    [`TransactionKey`] for matching),
//! 3. calls `handle_timeout(now)` when `poll_timeout()` is due,
//! 4. after each call drains `poll_transmit()` (messages to send, to the same peer as
//!    the request) and `poll_event()` (what the transaction user must know), and
//! 5. drops the transaction once it reports [`TransactionEvent::Terminated`].
//!
//! Retransmission timers run only on unreliable transports; on reliable ones the
//! waiting timers (D, I, J, K) are zero, as Table 4 of RFC 3261 says.
//!
//! [`TransactionLayer`] does the matching and bookkeeping for many transactions at
//! once; the individual machines are public for callers that want their own.
//! [`SuccessRetransmitter`] covers what RFC 3261 leaves to the UAS core: resending a
//! 2xx to an INVITE until its ACK arrives.

mod client;
mod layer;
mod server;
mod success;
mod timers;

use thiserror::Error;

pub use client::{
    ClientInviteState, ClientInviteTransaction, ClientNonInviteState, ClientNonInviteTransaction,
};
pub use layer::{Incoming, TransactionLayer};
pub use server::{
    ServerInviteState, ServerInviteTransaction, ServerNonInviteState, ServerNonInviteTransaction,
};
pub use success::{SuccessRetransmitter, SuccessState};
pub use timers::{TRYING_DELAY, TimerConfig};

use crate::error::ParseError;
use crate::header::HeaderName;
use crate::message::{Method, Request, Response};
use crate::typed::CSeq;

/// What a transaction tells its user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransactionEvent {
    /// A response for the user: provisional or final, first copy only (client side).
    /// In the Accepted state every 2xx is passed up, since each may come from a
    /// different fork and needs its own ACK.
    Response(Response),
    /// No final response in time (Timer B or F; act as if a 408 arrived), or no ACK
    /// for a final response (Timer H on the server side).
    Timeout,
    /// The transport reported a failure to send.
    TransportError,
    /// The transaction is over and can be dropped. Always the last event.
    Terminated,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TransactionError {
    #[error("a {expected} transaction cannot carry a {found} request")]
    WrongMethod {
        expected: &'static str,
        found: String,
    },
    #[error("request cannot start a transaction: {0}")]
    InvalidRequest(#[from] ParseError),
    #[error("cannot {action} in state {state}")]
    InvalidState {
        state: &'static str,
        action: &'static str,
    },
    #[error("a transaction with branch {0:?} already exists")]
    DuplicateTransaction(String),
    #[error("no such transaction")]
    UnknownTransaction,
}

/// Identifies a transaction (RFC 3261 §17.1.3 and §17.2.3): the top Via branch, its
/// sent-by, and the method, where an ACK matches the INVITE it acknowledges.
///
/// Only RFC 3261 branches (starting with `z9hG4bK`) are unique; for older peers the
/// branch is used as is, which matches their retransmissions but not a stray ACK.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TransactionKey {
    pub branch: String,
    pub sent_by: String,
    pub method: Method,
}

impl TransactionKey {
    /// The key of the server transaction a received request belongs to.
    pub fn for_request(request: &Request) -> Result<TransactionKey, ParseError> {
        let method = match &request.method {
            Method::Ack => Method::Invite,
            other => other.clone(),
        };
        Self::from_top_via(request.headers.top_via()?, method)
    }

    /// The key of the client transaction a received response belongs to: the top Via
    /// and the CSeq method.
    pub fn for_response(response: &Response) -> Result<TransactionKey, ParseError> {
        let method = response.headers.cseq()?.method;
        Self::from_top_via(response.headers.top_via()?, method)
    }

    /// The key of the INVITE server transaction that a CANCEL targets (RFC 3261 §9.2).
    pub fn cancelled_by(cancel: &Request) -> Result<TransactionKey, ParseError> {
        Self::from_top_via(cancel.headers.top_via()?, Method::Invite)
    }

    fn from_top_via(via: crate::typed::Via, method: Method) -> Result<TransactionKey, ParseError> {
        let branch = via
            .branch()
            .ok_or_else(|| ParseError::header("Via", &via.to_string(), "no branch parameter"))?;
        Ok(TransactionKey {
            branch: branch.to_owned(),
            sent_by: via.sent_by().to_ascii_lowercase(),
            method,
        })
    }
}

/// The ACK a client INVITE transaction sends for a 300-699 response (RFC 3261
/// §17.1.1.3): same Request-URI, Call-ID, From, CSeq number and top Via as the INVITE,
/// the To of the response (with its tag), and the INVITE's Route set.
pub fn build_ack_for_failure(invite: &Request, response: &Response) -> Request {
    let mut ack = Request::new(Method::Ack, invite.uri.clone());
    let headers = &invite.headers;
    if let Some(via) = headers.get(&HeaderName::Via) {
        ack.headers.push(HeaderName::Via, via);
    }
    copy_header(&mut ack, headers, HeaderName::MaxForwards);
    copy_header(&mut ack, headers, HeaderName::From);
    match response.headers.get(&HeaderName::To) {
        Some(to) => ack.headers.push(HeaderName::To, to),
        None => copy_header(&mut ack, headers, HeaderName::To),
    }
    copy_header(&mut ack, headers, HeaderName::CallId);
    if let Ok(cseq) = headers.cseq() {
        let cseq = CSeq {
            seq: cseq.seq,
            method: Method::Ack,
        };
        ack.headers.push(HeaderName::CSeq, cseq.to_string());
    }
    for route in headers.get_all(&HeaderName::Route) {
        ack.headers.push(HeaderName::Route, route);
    }
    ack
}

/// A CANCEL for a pending INVITE (RFC 3261 §9.1): same Request-URI, Call-ID, From, To,
/// CSeq number, top Via (so it reaches the same server transaction's peer) and Route.
/// It runs in its own non-INVITE client transaction.
pub fn build_cancel(invite: &Request) -> Request {
    let mut cancel = Request::new(Method::Cancel, invite.uri.clone());
    let headers = &invite.headers;
    if let Some(via) = headers.get(&HeaderName::Via) {
        cancel.headers.push(HeaderName::Via, via);
    }
    copy_header(&mut cancel, headers, HeaderName::MaxForwards);
    copy_header(&mut cancel, headers, HeaderName::From);
    copy_header(&mut cancel, headers, HeaderName::To);
    copy_header(&mut cancel, headers, HeaderName::CallId);
    if let Ok(cseq) = headers.cseq() {
        let cseq = CSeq {
            seq: cseq.seq,
            method: Method::Cancel,
        };
        cancel.headers.push(HeaderName::CSeq, cseq.to_string());
    }
    for route in headers.get_all(&HeaderName::Route) {
        cancel.headers.push(HeaderName::Route, route);
    }
    cancel
}

fn copy_header(target: &mut Request, source: &crate::header::Headers, name: HeaderName) {
    if let Some(value) = source.get(&name) {
        target.headers.push(name, value);
    }
}
