//! Server transactions (RFC 3261 §17.2, RFC 6026 §7.1).

use std::time::{Duration, Instant};

use super::client::Outputs;
use super::timers::{Deadline, TRYING_DELAY, TimerConfig, earliest};
use super::{TransactionError, TransactionEvent, TransactionKey};
use crate::message::{Message, Method, Request, Response, StatusCode};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerInviteState {
    Proceeding,
    Completed,
    Confirmed,
    /// A 2xx was sent; the user retransmits it until the ACK (RFC 6026).
    Accepted,
    Terminated,
}

impl ServerInviteState {
    fn name(self) -> &'static str {
        match self {
            ServerInviteState::Proceeding => "Proceeding",
            ServerInviteState::Completed => "Completed",
            ServerInviteState::Confirmed => "Confirmed",
            ServerInviteState::Accepted => "Accepted",
            ServerInviteState::Terminated => "Terminated",
        }
    }
}

/// The INVITE server transaction (RFC 3261 Figure 7 as amended by RFC 6026).
///
/// If the user sends no response within 200 ms, the transaction sends `100 Trying`
/// itself, which stops the client's INVITE retransmissions.
#[derive(Debug)]
pub struct ServerInviteTransaction {
    key: TransactionKey,
    request: Request,
    state: ServerInviteState,
    reliable: bool,
    config: TimerConfig,
    last_response: Option<Response>,
    timer_trying: Deadline,
    timer_g: Deadline,
    g_interval: Duration,
    timer_h: Deadline,
    timer_i: Deadline,
    timer_l: Deadline,
    outputs: Outputs,
}

impl ServerInviteTransaction {
    /// Creates the transaction for a received INVITE. The caller hands the INVITE to its
    /// user itself; the transaction keeps a copy to build `100 Trying`.
    pub fn new(
        request: Request,
        reliable: bool,
        config: TimerConfig,
        now: Instant,
    ) -> Result<Self, TransactionError> {
        if request.method != Method::Invite {
            return Err(TransactionError::WrongMethod {
                expected: "INVITE",
                found: request.method.to_string(),
            });
        }
        let key = TransactionKey::for_request(&request)?;
        let mut timer_trying = Deadline::default();
        timer_trying.start(now, TRYING_DELAY);
        Ok(ServerInviteTransaction {
            key,
            request,
            state: ServerInviteState::Proceeding,
            reliable,
            config,
            last_response: None,
            timer_trying,
            timer_g: Deadline::default(),
            g_interval: config.t1,
            timer_h: Deadline::default(),
            timer_i: Deadline::default(),
            timer_l: Deadline::default(),
            outputs: Outputs::default(),
        })
    }

    pub fn key(&self) -> &TransactionKey {
        &self.key
    }

    pub fn request(&self) -> &Request {
        &self.request
    }

    pub fn state(&self) -> ServerInviteState {
        self.state
    }

    pub fn is_terminated(&self) -> bool {
        self.state == ServerInviteState::Terminated
    }

    /// Sends a response from the user. Provisional responses are allowed in
    /// Proceeding; a 2xx also in Accepted (the user's own retransmissions).
    pub fn send_response(
        &mut self,
        response: Response,
        now: Instant,
    ) -> Result<(), TransactionError> {
        let status = response.status;
        match self.state {
            ServerInviteState::Proceeding => {
                self.timer_trying.stop();
                self.outputs.send(response.clone());
                if status.is_success() {
                    self.state = ServerInviteState::Accepted;
                    self.timer_l.start(now, self.config.transaction_timeout());
                } else if status.is_final() {
                    self.state = ServerInviteState::Completed;
                    if !self.reliable {
                        self.timer_g.start(now, self.g_interval);
                    }
                    self.timer_h.start(now, self.config.transaction_timeout());
                }
                self.last_response = Some(response);
                Ok(())
            }
            ServerInviteState::Accepted if status.is_success() => {
                self.outputs.send(response);
                Ok(())
            }
            state => Err(TransactionError::InvalidState {
                state: state.name(),
                action: "send this response",
            }),
        }
    }

    /// Feeds a retransmitted INVITE or an ACK matching [`Self::key`]; responses are ignored.
    pub fn handle_message(&mut self, message: Message, now: Instant) {
        let Message::Request(request) = message else {
            return;
        };
        match (self.state, &request.method) {
            (ServerInviteState::Proceeding | ServerInviteState::Completed, Method::Invite) => {
                // The client did not get our last response: send it again.
                if let Some(response) = &self.last_response {
                    self.outputs.send(response.clone());
                }
            }
            (ServerInviteState::Completed, Method::Ack) => {
                self.state = ServerInviteState::Confirmed;
                self.timer_g.stop();
                self.timer_h.stop();
                self.timer_i
                    .start(now, self.config.wait_for_retransmissions(self.reliable));
            }
            // Confirmed absorbs ACK retransmissions; Accepted absorbs INVITE
            // retransmissions (the user retransmits the 2xx on its own schedule). An
            // ACK in Accepted is for the dialog layer, which the caller must give it to
            // (TransactionLayer does).
            _ => {}
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if self.timer_trying.fire(now)
            && self.state == ServerInviteState::Proceeding
            && self.last_response.is_none()
        {
            let trying = Response::for_request(&self.request, StatusCode::TRYING, None);
            self.outputs.send(trying.clone());
            self.last_response = Some(trying);
        }
        if self.timer_g.fire(now)
            && self.state == ServerInviteState::Completed
            && let Some(response) = &self.last_response
        {
            self.outputs.send(response.clone());
            self.g_interval = (self.g_interval * 2).min(self.config.t2);
            self.timer_g.start(now, self.g_interval);
        }
        if self.timer_h.fire(now) && self.state == ServerInviteState::Completed {
            self.outputs.event(TransactionEvent::Timeout);
            self.terminate();
        }
        if self.timer_i.fire(now) && self.state == ServerInviteState::Confirmed {
            self.terminate();
        }
        if self.timer_l.fire(now) && self.state == ServerInviteState::Accepted {
            self.terminate();
        }
    }

    pub fn handle_transport_error(&mut self) {
        if self.state != ServerInviteState::Terminated {
            self.outputs.event(TransactionEvent::TransportError);
            self.terminate();
        }
    }

    pub fn poll_transmit(&mut self) -> Option<Message> {
        self.outputs.poll_transmit()
    }

    pub fn poll_event(&mut self) -> Option<TransactionEvent> {
        self.outputs.poll_event()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        earliest(&[
            self.timer_trying,
            self.timer_g,
            self.timer_h,
            self.timer_i,
            self.timer_l,
        ])
    }

    fn terminate(&mut self) {
        self.state = ServerInviteState::Terminated;
        for timer in [
            &mut self.timer_trying,
            &mut self.timer_g,
            &mut self.timer_h,
            &mut self.timer_i,
            &mut self.timer_l,
        ] {
            timer.stop();
        }
        self.outputs.event(TransactionEvent::Terminated);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerNonInviteState {
    Trying,
    Proceeding,
    Completed,
    Terminated,
}

/// The non-INVITE server transaction (RFC 3261 Figure 8).
#[derive(Debug)]
pub struct ServerNonInviteTransaction {
    key: TransactionKey,
    state: ServerNonInviteState,
    reliable: bool,
    config: TimerConfig,
    last_response: Option<Response>,
    timer_j: Deadline,
    outputs: Outputs,
}

impl ServerNonInviteTransaction {
    pub fn new(
        request: &Request,
        reliable: bool,
        config: TimerConfig,
    ) -> Result<Self, TransactionError> {
        if matches!(request.method, Method::Invite | Method::Ack) {
            return Err(TransactionError::WrongMethod {
                expected: "non-INVITE",
                found: request.method.to_string(),
            });
        }
        Ok(ServerNonInviteTransaction {
            key: TransactionKey::for_request(request)?,
            state: ServerNonInviteState::Trying,
            reliable,
            config,
            last_response: None,
            timer_j: Deadline::default(),
            outputs: Outputs::default(),
        })
    }

    pub fn key(&self) -> &TransactionKey {
        &self.key
    }

    pub fn state(&self) -> ServerNonInviteState {
        self.state
    }

    pub fn is_terminated(&self) -> bool {
        self.state == ServerNonInviteState::Terminated
    }

    pub fn send_response(
        &mut self,
        response: Response,
        now: Instant,
    ) -> Result<(), TransactionError> {
        match self.state {
            ServerNonInviteState::Trying | ServerNonInviteState::Proceeding => {
                if response.status.is_provisional() {
                    self.state = ServerNonInviteState::Proceeding;
                } else {
                    self.state = ServerNonInviteState::Completed;
                    self.timer_j.start(now, self.config.timer_j(self.reliable));
                }
                self.outputs.send(response.clone());
                self.last_response = Some(response);
                Ok(())
            }
            ServerNonInviteState::Completed => Err(TransactionError::InvalidState {
                state: "Completed",
                action: "send another response",
            }),
            ServerNonInviteState::Terminated => Err(TransactionError::InvalidState {
                state: "Terminated",
                action: "send a response",
            }),
        }
    }

    /// Feeds a retransmitted request matching [`Self::key`]: it gets the last response
    /// again (nothing while Trying, when there is none yet).
    pub fn handle_message(&mut self, message: Message, _now: Instant) {
        if let Message::Request(_) = message
            && matches!(
                self.state,
                ServerNonInviteState::Proceeding | ServerNonInviteState::Completed
            )
            && let Some(response) = &self.last_response
        {
            self.outputs.send(response.clone());
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if self.timer_j.fire(now) && self.state == ServerNonInviteState::Completed {
            self.terminate();
        }
    }

    pub fn handle_transport_error(&mut self) {
        if self.state != ServerNonInviteState::Terminated {
            self.outputs.event(TransactionEvent::TransportError);
            self.terminate();
        }
    }

    pub fn poll_transmit(&mut self) -> Option<Message> {
        self.outputs.poll_transmit()
    }

    pub fn poll_event(&mut self) -> Option<TransactionEvent> {
        self.outputs.poll_event()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timer_j.at()
    }

    fn terminate(&mut self) {
        self.state = ServerNonInviteState::Terminated;
        self.timer_j.stop();
        self.outputs.event(TransactionEvent::Terminated);
    }
}
