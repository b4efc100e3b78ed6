//! Client transactions (RFC 3261 §17.1, RFC 6026 §7.2).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::timers::{Deadline, TimerConfig, earliest};
use super::{TransactionError, TransactionEvent, TransactionKey, build_ack_for_failure};
use crate::message::{Message, Method, Request};

/// Output queues shared by all transaction kinds.
#[derive(Debug, Default)]
pub(super) struct Outputs {
    transmit: VecDeque<Message>,
    events: VecDeque<TransactionEvent>,
}

impl Outputs {
    pub(super) fn send(&mut self, message: impl Into<Message>) {
        self.transmit.push_back(message.into());
    }

    pub(super) fn event(&mut self, event: TransactionEvent) {
        self.events.push_back(event);
    }

    pub(super) fn poll_transmit(&mut self) -> Option<Message> {
        self.transmit.pop_front()
    }

    pub(super) fn poll_event(&mut self) -> Option<TransactionEvent> {
        self.events.pop_front()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientInviteState {
    Calling,
    Proceeding,
    Completed,
    /// A 2xx arrived; further 2xx (from other forks) are still passed up (RFC 6026).
    Accepted,
    Terminated,
}

/// The INVITE client transaction (RFC 3261 Figure 5 as amended by RFC 6026).
#[derive(Debug)]
pub struct ClientInviteTransaction {
    key: TransactionKey,
    request: Request,
    ack: Option<Request>,
    state: ClientInviteState,
    reliable: bool,
    config: TimerConfig,
    timer_a: Deadline,
    a_interval: Duration,
    timer_b: Deadline,
    timer_d: Deadline,
    timer_m: Deadline,
    outputs: Outputs,
}

impl ClientInviteTransaction {
    /// Starts the transaction and queues the INVITE for sending.
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
        let mut transaction = ClientInviteTransaction {
            key,
            request: request.clone(),
            ack: None,
            state: ClientInviteState::Calling,
            reliable,
            config,
            timer_a: Deadline::default(),
            a_interval: config.t1,
            timer_b: Deadline::default(),
            timer_d: Deadline::default(),
            timer_m: Deadline::default(),
            outputs: Outputs::default(),
        };
        transaction.outputs.send(request);
        if !reliable {
            transaction.timer_a.start(now, config.t1);
        }
        transaction.timer_b.start(now, config.transaction_timeout());
        Ok(transaction)
    }

    pub fn key(&self) -> &TransactionKey {
        &self.key
    }

    pub fn request(&self) -> &Request {
        &self.request
    }

    pub fn state(&self) -> ClientInviteState {
        self.state
    }

    pub fn is_terminated(&self) -> bool {
        self.state == ClientInviteState::Terminated
    }

    /// Feeds a response matching [`Self::key`]; requests are ignored.
    pub fn handle_message(&mut self, message: Message, now: Instant) {
        let Message::Response(response) = message else {
            return;
        };
        let status = response.status;
        match self.state {
            ClientInviteState::Calling | ClientInviteState::Proceeding => {
                if status.is_provisional() {
                    // The request got through: stop retransmitting. Timer B only covers
                    // Calling; how long a call may ring is the user's decision (CANCEL).
                    self.state = ClientInviteState::Proceeding;
                    self.timer_a.stop();
                    self.timer_b.stop();
                    self.outputs.event(TransactionEvent::Response(response));
                } else if status.is_success() {
                    self.state = ClientInviteState::Accepted;
                    self.stop_request_timers();
                    self.timer_m.start(now, self.config.transaction_timeout());
                    self.outputs.event(TransactionEvent::Response(response));
                } else {
                    self.state = ClientInviteState::Completed;
                    self.stop_request_timers();
                    let ack = build_ack_for_failure(&self.request, &response);
                    self.outputs.send(ack.clone());
                    self.ack = Some(ack);
                    self.timer_d.start(now, self.config.timer_d(self.reliable));
                    self.outputs.event(TransactionEvent::Response(response));
                }
            }
            ClientInviteState::Completed => {
                // A retransmitted failure response means our ACK was lost.
                if status.is_final()
                    && !status.is_success()
                    && let Some(ack) = &self.ack
                {
                    self.outputs.send(ack.clone());
                }
            }
            ClientInviteState::Accepted => {
                if status.is_success() {
                    self.outputs.event(TransactionEvent::Response(response));
                }
            }
            ClientInviteState::Terminated => {}
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if self.timer_a.fire(now) && self.state == ClientInviteState::Calling {
            self.outputs.send(self.request.clone());
            self.a_interval *= 2;
            self.timer_a.start(now, self.a_interval);
        }
        if self.timer_b.fire(now) && self.state == ClientInviteState::Calling {
            self.outputs.event(TransactionEvent::Timeout);
            self.terminate();
        }
        if self.timer_d.fire(now) && self.state == ClientInviteState::Completed {
            self.terminate();
        }
        if self.timer_m.fire(now) && self.state == ClientInviteState::Accepted {
            self.terminate();
        }
    }

    /// The transport could not send the request or the ACK.
    pub fn handle_transport_error(&mut self) {
        if self.state != ClientInviteState::Terminated {
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
        earliest(&[self.timer_a, self.timer_b, self.timer_d, self.timer_m])
    }

    fn stop_request_timers(&mut self) {
        self.timer_a.stop();
        self.timer_b.stop();
    }

    fn terminate(&mut self) {
        self.state = ClientInviteState::Terminated;
        self.timer_a.stop();
        self.timer_b.stop();
        self.timer_d.stop();
        self.timer_m.stop();
        self.outputs.event(TransactionEvent::Terminated);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientNonInviteState {
    Trying,
    Proceeding,
    Completed,
    Terminated,
}

/// The non-INVITE client transaction (RFC 3261 Figure 6).
#[derive(Debug)]
pub struct ClientNonInviteTransaction {
    key: TransactionKey,
    request: Request,
    state: ClientNonInviteState,
    reliable: bool,
    config: TimerConfig,
    timer_e: Deadline,
    e_interval: Duration,
    timer_f: Deadline,
    timer_k: Deadline,
    outputs: Outputs,
}

impl ClientNonInviteTransaction {
    /// Starts the transaction and queues the request for sending.
    pub fn new(
        request: Request,
        reliable: bool,
        config: TimerConfig,
        now: Instant,
    ) -> Result<Self, TransactionError> {
        if matches!(request.method, Method::Invite | Method::Ack) {
            return Err(TransactionError::WrongMethod {
                expected: "non-INVITE",
                found: request.method.to_string(),
            });
        }
        let key = TransactionKey::for_request(&request)?;
        let mut transaction = ClientNonInviteTransaction {
            key,
            request: request.clone(),
            state: ClientNonInviteState::Trying,
            reliable,
            config,
            timer_e: Deadline::default(),
            e_interval: config.t1,
            timer_f: Deadline::default(),
            timer_k: Deadline::default(),
            outputs: Outputs::default(),
        };
        transaction.outputs.send(request);
        if !reliable {
            transaction.timer_e.start(now, config.t1);
        }
        transaction.timer_f.start(now, config.transaction_timeout());
        Ok(transaction)
    }

    pub fn key(&self) -> &TransactionKey {
        &self.key
    }

    pub fn request(&self) -> &Request {
        &self.request
    }

    pub fn state(&self) -> ClientNonInviteState {
        self.state
    }

    pub fn is_terminated(&self) -> bool {
        self.state == ClientNonInviteState::Terminated
    }

    /// Feeds a response matching [`Self::key`]; requests are ignored.
    pub fn handle_message(&mut self, message: Message, now: Instant) {
        let Message::Response(response) = message else {
            return;
        };
        match self.state {
            ClientNonInviteState::Trying | ClientNonInviteState::Proceeding => {
                if response.status.is_provisional() {
                    self.state = ClientNonInviteState::Proceeding;
                } else {
                    self.state = ClientNonInviteState::Completed;
                    self.timer_e.stop();
                    self.timer_f.stop();
                    self.timer_k
                        .start(now, self.config.wait_for_retransmissions(self.reliable));
                }
                self.outputs.event(TransactionEvent::Response(response));
            }
            // Retransmitted responses are absorbed.
            ClientNonInviteState::Completed | ClientNonInviteState::Terminated => {}
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if self.timer_e.fire(now) {
            match self.state {
                ClientNonInviteState::Trying => {
                    self.outputs.send(self.request.clone());
                    self.e_interval = (self.e_interval * 2).min(self.config.t2);
                    self.timer_e.start(now, self.e_interval);
                }
                ClientNonInviteState::Proceeding => {
                    self.outputs.send(self.request.clone());
                    self.timer_e.start(now, self.config.t2);
                }
                _ => {}
            }
        }
        if self.timer_f.fire(now)
            && matches!(
                self.state,
                ClientNonInviteState::Trying | ClientNonInviteState::Proceeding
            )
        {
            self.outputs.event(TransactionEvent::Timeout);
            self.terminate();
        }
        if self.timer_k.fire(now) && self.state == ClientNonInviteState::Completed {
            self.terminate();
        }
    }

    pub fn handle_transport_error(&mut self) {
        if self.state != ClientNonInviteState::Terminated {
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
        earliest(&[self.timer_e, self.timer_f, self.timer_k])
    }

    fn terminate(&mut self) {
        self.state = ClientNonInviteState::Terminated;
        self.timer_e.stop();
        self.timer_f.stop();
        self.timer_k.stop();
        self.outputs.event(TransactionEvent::Terminated);
    }
}
