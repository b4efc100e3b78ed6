//! The UAS core's retransmission of a 2xx to an INVITE until the ACK arrives
//! (RFC 3261 §13.3.1.4). No transaction does this: the 2xx ends the INVITE server
//! transaction's own retransmissions (it enters Accepted, RFC 6026), and the ACK for
//! a 2xx is a request of its own.

use std::time::{Duration, Instant};

use super::timers::{Deadline, TimerConfig, earliest};
use crate::message::Response;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuccessState {
    /// Retransmitting and waiting for the ACK.
    AwaitingAck,
    Acknowledged,
    /// No ACK within 64*T1: the session should be ended with a BYE.
    TimedOut,
}

/// Retransmits a 2xx with intervals doubling from T1 up to T2 on unreliable
/// transports, and gives up after 64*T1 on any transport.
#[derive(Debug)]
pub struct SuccessRetransmitter {
    response: Response,
    state: SuccessState,
    t2: Duration,
    interval: Duration,
    next_retransmission: Deadline,
    give_up: Deadline,
    pending: Option<Response>,
}

impl SuccessRetransmitter {
    /// Starts after the 2xx was first sent at `now`.
    pub fn new(response: Response, reliable: bool, config: TimerConfig, now: Instant) -> Self {
        let mut next_retransmission = Deadline::default();
        if !reliable {
            next_retransmission.start(now, config.t1);
        }
        let mut give_up = Deadline::default();
        give_up.start(now, config.transaction_timeout());
        SuccessRetransmitter {
            response,
            state: SuccessState::AwaitingAck,
            t2: config.t2,
            interval: config.t1,
            next_retransmission,
            give_up,
            pending: None,
        }
    }

    pub fn state(&self) -> SuccessState {
        self.state
    }

    /// The ACK for this 2xx arrived.
    pub fn handle_ack(&mut self) {
        if self.state == SuccessState::AwaitingAck {
            self.state = SuccessState::Acknowledged;
            self.stop();
        }
    }

    /// A retransmitted INVITE arrived (the 2xx was lost): send the 2xx again now.
    pub fn handle_invite_retransmission(&mut self) {
        if self.state == SuccessState::AwaitingAck {
            self.pending = Some(self.response.clone());
        }
    }

    pub fn handle_timeout(&mut self, now: Instant) {
        if self.give_up.fire(now) && self.state == SuccessState::AwaitingAck {
            self.state = SuccessState::TimedOut;
            self.stop();
            return;
        }
        if self.next_retransmission.fire(now) && self.state == SuccessState::AwaitingAck {
            self.pending = Some(self.response.clone());
            self.interval = (self.interval * 2).min(self.t2);
            self.next_retransmission.start(now, self.interval);
        }
    }

    /// The 2xx to send again, if it is time.
    pub fn poll_transmit(&mut self) -> Option<Response> {
        self.pending.take()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        earliest(&[self.next_retransmission, self.give_up])
    }

    fn stop(&mut self) {
        self.next_retransmission.stop();
        self.give_up.stop();
        self.pending = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::StatusCode;

    fn run(retransmitter: &mut SuccessRetransmitter, start: Instant, until: Duration) -> Vec<f64> {
        let mut sent = Vec::new();
        while let Some(at) = retransmitter.poll_timeout() {
            if at > start + until {
                break;
            }
            retransmitter.handle_timeout(at);
            if retransmitter.poll_transmit().is_some() {
                sent.push((at - start).as_secs_f64());
            }
        }
        sent
    }

    #[test]
    fn retransmits_with_doubling_capped_at_t2_then_gives_up() {
        let start = Instant::now();
        let mut retransmitter = SuccessRetransmitter::new(
            Response::new(StatusCode::OK),
            false,
            TimerConfig::default(),
            start,
        );
        let sent = run(&mut retransmitter, start, Duration::from_secs(40));
        assert_eq!(
            sent,
            vec![0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
        );
        assert_eq!(retransmitter.state(), SuccessState::TimedOut);
        assert_eq!(retransmitter.poll_timeout(), None);
    }

    #[test]
    fn ack_stops_it() {
        let start = Instant::now();
        let mut retransmitter = SuccessRetransmitter::new(
            Response::new(StatusCode::OK),
            false,
            TimerConfig::default(),
            start,
        );
        assert_eq!(
            run(&mut retransmitter, start, Duration::from_secs(2)),
            vec![0.5, 1.5]
        );
        retransmitter.handle_invite_retransmission();
        assert!(retransmitter.poll_transmit().is_some());
        retransmitter.handle_ack();
        assert_eq!(retransmitter.state(), SuccessState::Acknowledged);
        assert_eq!(retransmitter.poll_timeout(), None);
        retransmitter.handle_invite_retransmission();
        assert!(retransmitter.poll_transmit().is_none());
    }

    #[test]
    fn reliable_transport_only_waits_for_the_ack() {
        let start = Instant::now();
        let mut retransmitter = SuccessRetransmitter::new(
            Response::new(StatusCode::OK),
            true,
            TimerConfig::default(),
            start,
        );
        assert!(run(&mut retransmitter, start, Duration::from_secs(40)).is_empty());
        assert_eq!(retransmitter.state(), SuccessState::TimedOut);
    }
}
