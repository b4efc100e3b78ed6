//! Incoming requests and transaction events, sorted to the call and leg they concern.

use std::time::Instant;

use sip_proto::transaction::{TransactionEvent, TransactionKey};
use sip_proto::{HeaderName, Method, Request, Response};

use super::sip_util::{self, ALLOW, respond, respond_with_warning};
use super::{CallPhase, Core, LegRef};
use crate::registrar::RegisterOutcome;

/// REGISTER answers held back for slowed sources, at most.
const MAX_DELAYED_ANSWERS: usize = 10_000;
use crate::transport::Peer;

impl Core {
    pub(super) fn handle_request(
        &mut self,
        key: TransactionKey,
        request: Request,
        peer: Peer,
        now: Instant,
    ) {
        let in_dialog = request
            .headers
            .to()
            .ok()
            .and_then(|to| to.tag().map(str::to_owned));
        match (&request.method, in_dialog) {
            (Method::Register, _) => self.handle_register(key, &request, peer, now),
            (Method::Options, None) => {
                let mut response = respond(&request, 200, None);
                response.headers.push(HeaderName::Allow, ALLOW);
                response.headers.push(HeaderName::Accept, "application/sdp");
                let _ = self.layer.send_response(&key, response, now);
            }
            (Method::Invite, None) => self.handle_new_invite(key, request, peer, now),
            (Method::Cancel, _) => self.handle_cancel(key, &request, now),
            (_, Some(our_tag)) => self.handle_in_dialog(key, request, &our_tag, now),
            (Method::Bye | Method::Info | Method::Refer | Method::Notify, None) => {
                let response = respond_with_warning(&request, 481, "no such dialog");
                let _ = self.layer.send_response(&key, response, now);
            }
            (_, None) => {
                let mut response = respond(&request, 405, None);
                response.headers.push(HeaderName::Allow, ALLOW);
                let _ = self.layer.send_response(&key, response, now);
            }
        }
    }

    fn handle_register(
        &mut self,
        key: TransactionKey,
        request: &Request,
        peer: Peer,
        now: Instant,
    ) {
        let credentials = self.credentials.clone();
        let outcome = self.registrar.handle_register(
            request,
            peer.address(),
            |user: &str| credentials(user),
            now,
        );
        match outcome {
            RegisterOutcome::Respond(response) => {
                let _ = self.layer.send_response(&key, response, now);
            }
            // A source that keeps failing waits for its answer; the transaction layer
            // absorbs its retransmissions meanwhile.
            // Bounded: a scanner sending hundreds of REGISTERs a second while slowed
            // gets silence beyond this many held answers.
            RegisterOutcome::RespondAt { response, at } => {
                if self.delayed.len() < MAX_DELAYED_ANSWERS {
                    self.delayed.push((at, key, response));
                }
            }
            RegisterOutcome::Drop { .. } => {}
        }
        self.drain_registrar(now);
    }

    fn handle_cancel(&mut self, key: TransactionKey, cancel: &Request, now: Instant) {
        let Ok(invite_key) = TransactionKey::cancelled_by(cancel) else {
            return;
        };
        let answered = self.layer.server_invite_state(&invite_key);
        let response = if answered.is_some() {
            respond(cancel, 200, None)
        } else {
            respond_with_warning(cancel, 481, "no such transaction")
        };
        let _ = self.layer.send_response(&key, response, now);
        // The gateway answers every accepted INVITE at once (the IVR picks up), so a
        // CANCEL always finds a call already answered: the caller's BYE follows.
    }

    fn handle_in_dialog(
        &mut self,
        key: TransactionKey,
        request: Request,
        our_tag: &str,
        now: Instant,
    ) {
        let call_id = request.headers.call_id().unwrap_or_default().to_owned();
        let Some(&(call, leg)) = self.dialogs.get(&(call_id, our_tag.to_owned())) else {
            let response = respond_with_warning(&request, 481, "no such dialog");
            let _ = self.layer.send_response(&key, response, now);
            return;
        };
        match request.method {
            Method::Bye => {
                let _ = self
                    .layer
                    .send_response(&key, respond(&request, 200, None), now);
                match leg {
                    LegRef::Caller => self.end_call(call, "caller hung up", now),
                    LegRef::Agent(leg) => self.agent_hung_up(call, leg, now),
                }
            }
            Method::Info => {
                let digit = sip_util::info_digit(&request);
                let _ = self
                    .layer
                    .send_response(&key, respond(&request, 200, None), now);
                if let (LegRef::Caller, Some(digit)) = (leg, digit) {
                    self.caller_digit(call, digit, now);
                }
            }
            Method::Refer => self.handle_refer(key, &request, call, leg, now),
            Method::Invite => self.handle_reinvite(key, &request, call, leg, now),
            Method::Options | Method::Notify | Method::Update => {
                let _ = self
                    .layer
                    .send_response(&key, respond(&request, 200, None), now);
            }
            _ => {
                let mut response = respond(&request, 405, None);
                response.headers.push(HeaderName::Allow, ALLOW);
                let _ = self.layer.send_response(&key, response, now);
            }
        }
    }

    /// A re-INVITE (session refresh, hold): answered with the SDP we already gave, so
    /// media keeps flowing where it flows. Changing codec mid-call is not supported.
    fn handle_reinvite(
        &mut self,
        key: TransactionKey,
        request: &Request,
        call: u64,
        leg: LegRef,
        now: Instant,
    ) {
        let browser_leg = match leg {
            LegRef::Agent(leg) => self
                .calls
                .get(&call)
                .and_then(|state| state.legs.get(&leg))
                .is_some_and(|agent_leg| agent_leg.browser.is_some()),
            LegRef::Caller => false,
        };
        let browser_answer = match leg {
            LegRef::Agent(leg) if browser_leg => {
                match self.browser_reinvite(call, leg, &request.body) {
                    Some(body) => Some(body),
                    None => {
                        let response = respond_with_warning(
                            request,
                            488,
                            "a browser's re-INVITE needs a WebRTC offer with G.711",
                        );
                        let _ = self.layer.send_response(&key, response, now);
                        return;
                    }
                }
            }
            _ => None,
        };
        let Some(state) = self.calls.get(&call) else {
            return;
        };
        let body = match (leg, browser_answer) {
            (_, Some(body)) => body,
            (LegRef::Caller, None) => state.caller.answer_sdp.clone(),
            (LegRef::Agent(leg), None) => match state.legs.get(&leg) {
                Some(agent_leg) => agent_leg.offer.to_bytes(),
                None => return,
            },
        };
        let local_tag = match leg {
            LegRef::Caller => state.caller.dialog.local.tag().map(str::to_owned),
            LegRef::Agent(_) => None,
        };
        // The Contact names the transport the leg uses (a browser's is its WebSocket).
        let peer = match leg {
            LegRef::Caller => state.caller.peer,
            LegRef::Agent(leg) => state
                .legs
                .get(&leg)
                .map_or(Peer::Udp(self.transport.local_addr()), |agent_leg| {
                    agent_leg.peer
                }),
        };
        let mut response = respond(request, 200, local_tag.as_deref());
        response.headers.push(
            HeaderName::Contact,
            sip_util::our_contact(
                &self.config.service_number,
                self.config.public_ip(),
                self.transport.local_addr().port(),
                peer,
            ),
        );
        response
            .headers
            .push(HeaderName::ContentType, "application/sdp");
        response.body = body;
        let _ = self.layer.send_response(&key, response, now);
    }

    pub(super) fn handle_ack(&mut self, ack: &Request, _now: Instant) {
        let (Ok(call_id), Ok(to)) = (ack.headers.call_id(), ack.headers.to()) else {
            return;
        };
        let Some(tag) = to.tag() else {
            return;
        };
        let Some(&(call, LegRef::Caller)) = self.dialogs.get(&(call_id.to_owned(), tag.to_owned()))
        else {
            return;
        };
        if let Some(state) = self.calls.get_mut(&call)
            && let Some(success) = &mut state.caller.success
        {
            success.handle_ack();
        }
    }

    /// A 2xx retransmitted after our INVITE transaction ended: our ACK was lost.
    pub(super) fn handle_stray_response(&mut self, response: &Response, peer: Peer) {
        if !response.status.is_success() {
            return;
        }
        let (Ok(call_id), Ok(from)) = (response.headers.call_id(), response.headers.from()) else {
            return;
        };
        let Some(tag) = from.tag() else {
            return;
        };
        let Some(&(call, LegRef::Agent(leg))) =
            self.dialogs.get(&(call_id.to_owned(), tag.to_owned()))
        else {
            return;
        };
        if let Some(ack) = self
            .calls
            .get(&call)
            .and_then(|state| state.legs.get(&leg))
            .and_then(|leg| leg.ack.clone())
        {
            self.layer.send_stateless(peer, ack);
        }
    }

    pub(super) fn drain_transaction_events(&mut self, now: Instant) {
        while let Some((key, event)) = self.layer.poll_event() {
            let Some(&(call, leg)) = self.invites.get(&key) else {
                continue; // BYE, CANCEL, NOTIFY answers and server transactions
            };
            match event {
                TransactionEvent::Response(response) => {
                    self.agent_invite_response(call, leg, response, now);
                }
                TransactionEvent::Timeout | TransactionEvent::TransportError => {
                    self.agent_invite_failed(call, leg, now);
                }
                TransactionEvent::Terminated => {
                    self.invites.remove(&key);
                }
            }
        }
    }

    pub(super) fn call_timers(&mut self, call: u64, now: Instant) {
        let mut retransmit = Vec::new();
        let mut timed_out = false;
        if let Some(state) = self.calls.get_mut(&call) {
            if let Some(success) = &mut state.caller.success {
                success.handle_timeout(now);
                while let Some(response) = success.poll_transmit() {
                    retransmit.push((state.caller.peer, response));
                }
                timed_out = success.state() == sip_proto::transaction::SuccessState::TimedOut;
                if success.state() != sip_proto::transaction::SuccessState::AwaitingAck {
                    state.caller.success = None;
                }
            }
            if let Some(ivr) = &mut state.ivr {
                ivr.handle_timeout(now);
            }
        }
        for (peer, response) in retransmit {
            self.layer.send_stateless(peer, response);
        }
        if timed_out {
            self.end_call(call, "no ACK from the trunk", now);
            return;
        }
        self.drain_ivr(call, now);
    }

    pub(super) fn is_live(&self, call: u64) -> bool {
        self.calls
            .get(&call)
            .is_some_and(|state| state.phase != CallPhase::Ended)
    }
}
