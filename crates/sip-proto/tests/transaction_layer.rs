//! Two transaction layers (a caller's and the gateway's) talking through a virtual
//! network: a full call set-up, a CANCEL, and stray messages.

mod common;

use std::time::{Duration, Instant};

use common::pair::{request, response};
use sip_proto::dialog::Dialog;
use sip_proto::transaction::{
    Incoming, ServerInviteState, TimerConfig, TransactionError, TransactionEvent, TransactionKey,
    TransactionLayer, build_cancel,
};
use sip_proto::{Host, Message, Method, StatusCode, Transport, Via};

struct Network {
    start: Instant,
    now: Instant,
    caller: TransactionLayer<&'static str>,
    gateway: TransactionLayer<&'static str>,
    at_caller: Vec<Incoming>,
    at_gateway: Vec<Incoming>,
    caller_events: Vec<(TransactionKey, TransactionEvent)>,
    /// Messages that reached the gateway, for counting.
    gateway_received: Vec<String>,
}

impl Network {
    fn new() -> Self {
        let now = Instant::now();
        Network {
            start: now,
            now,
            caller: TransactionLayer::new(TimerConfig::default()),
            gateway: TransactionLayer::new(TimerConfig::default()),
            at_caller: Vec::new(),
            at_gateway: Vec::new(),
            caller_events: Vec::new(),
            gateway_received: Vec::new(),
        }
    }

    /// Delivers everything queued on both sides, over UDP.
    fn pump(&mut self) {
        loop {
            let mut moved = false;
            while let Some((peer, message)) = self.caller.poll_transmit() {
                assert_eq!(peer, "gateway");
                moved = true;
                self.gateway_received.push(match &message {
                    Message::Request(request) => request.method.to_string(),
                    Message::Response(response) => response.status.to_string(),
                });
                if let Some(incoming) = self
                    .gateway
                    .handle_message(message, "caller", false, self.now)
                    .unwrap()
                {
                    self.at_gateway.push(incoming);
                }
            }
            while let Some((peer, message)) = self.gateway.poll_transmit() {
                assert_eq!(peer, "caller");
                moved = true;
                if let Some(incoming) = self
                    .caller
                    .handle_message(message, "gateway", false, self.now)
                    .unwrap()
                {
                    self.at_caller.push(incoming);
                }
            }
            while let Some(event) = self.caller.poll_event() {
                self.caller_events.push(event);
            }
            while self.gateway.poll_event().is_some() {}
            if !moved {
                break;
            }
        }
    }

    fn advance(&mut self, by: Duration) {
        let until = self.now + by;
        loop {
            let next = [self.caller.poll_timeout(), self.gateway.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(at) if at <= until => {
                    self.now = self.now.max(at);
                    self.caller.handle_timeout(self.now);
                    self.gateway.handle_timeout(self.now);
                    self.pump();
                }
                _ => break,
            }
        }
        self.now = until;
    }

    fn caller_responses(&self) -> Vec<u16> {
        self.caller_events
            .iter()
            .filter_map(|(_, event)| match event {
                TransactionEvent::Response(response) => Some(response.status.as_u16()),
                _ => None,
            })
            .collect()
    }

    fn new_request_at_gateway(&mut self) -> (TransactionKey, sip_proto::Request) {
        match self.at_gateway.remove(0) {
            Incoming::Request { key, request } => (key, request),
            other => panic!("expected a new request, got {other:?}"),
        }
    }
}

#[test]
fn call_setup_with_2xx_ack_outside_the_transaction() {
    let mut net = Network::new();
    let invite = request("INVITE", "z9hG4bKcall");
    let client_key = net
        .caller
        .send_request(invite.clone(), "gateway", false, net.now)
        .unwrap();
    net.pump();
    let (server_key, received) = net.new_request_at_gateway();
    assert_eq!(received, invite);
    assert_eq!(server_key, client_key);

    net.gateway
        .send_response(&server_key, response(&received, 180), net.now)
        .unwrap();
    let mut ok = response(&received, 200);
    ok.headers
        .push(sip_proto::HeaderName::Contact, "<sip:agent7@10.0.0.7:5062>");
    net.gateway
        .send_response(&server_key, ok.clone(), net.now)
        .unwrap();
    net.pump();
    assert_eq!(net.caller_responses(), vec![180, 200]);

    // The caller's dialog layer sends the ACK for the 2xx outside any transaction.
    let dialog = Dialog::from_uac(&invite, &ok).unwrap();
    let via = Via::new(
        Transport::Udp,
        Host::V4([203, 0, 113, 1].into()),
        Some(5060),
        "z9hG4bKack2xx",
    );
    net.caller
        .send_stateless("gateway", dialog.create_ack(1, &via));
    net.pump();
    assert!(matches!(&net.at_gateway[..], [Incoming::Ack(ack)] if ack.method == Method::Ack));

    // An ACK that reuses the INVITE's branch still reaches the dialog layer.
    let mut same_branch_ack = dialog.create_ack(1, &via);
    same_branch_ack.headers.set(
        sip_proto::HeaderName::Via,
        invite.headers.get(&sip_proto::HeaderName::Via).unwrap(),
    );
    net.caller.send_stateless("gateway", same_branch_ack);
    net.pump();
    assert_eq!(net.at_gateway.len(), 2);
    assert!(matches!(&net.at_gateway[1], Incoming::Ack(_)));
    net.at_gateway.pop();

    // A retransmitted INVITE is absorbed by the gateway's transaction (Accepted state).
    net.caller.send_stateless("gateway", invite.clone());
    net.pump();
    assert_eq!(net.at_gateway.len(), 1, "no new request reported");

    // After 64*T1 both layers are empty; a late 2xx retransmission is then stray.
    net.advance(Duration::from_secs(40));
    assert!(net.caller.is_empty());
    assert!(net.gateway.is_empty());
    net.gateway.send_stateless("caller", ok);
    net.pump();
    assert!(
        matches!(&net.at_caller[..], [Incoming::StrayResponse(r)] if r.status == StatusCode::OK)
    );
}

#[test]
fn caller_hangs_up_while_ringing_with_cancel() {
    let mut net = Network::new();
    let invite = request("INVITE", "z9hG4bKring");
    let invite_key = net
        .caller
        .send_request(invite.clone(), "gateway", false, net.now)
        .unwrap();
    net.pump();
    let (invite_server_key, received) = net.new_request_at_gateway();
    net.gateway
        .send_response(&invite_server_key, response(&received, 180), net.now)
        .unwrap();
    net.pump();

    net.caller
        .send_request(build_cancel(&invite), "gateway", false, net.now)
        .unwrap();
    net.pump();
    let (cancel_key, cancel) = net.new_request_at_gateway();
    assert_eq!(cancel.method, Method::Cancel);
    // The gateway finds the INVITE the CANCEL is for, answers both.
    assert_eq!(
        TransactionKey::cancelled_by(&cancel).unwrap(),
        invite_server_key
    );
    assert_eq!(
        net.gateway.server_invite_state(&invite_server_key),
        Some(ServerInviteState::Proceeding)
    );
    net.gateway
        .send_response(&cancel_key, response(&cancel, 200), net.now)
        .unwrap();
    net.gateway
        .send_response(&invite_server_key, response(&received, 487), net.now)
        .unwrap();
    net.pump();

    assert_eq!(net.caller_responses(), vec![180, 200, 487]);
    let invite_events: Vec<&TransactionEvent> = net
        .caller_events
        .iter()
        .filter(|(key, _)| *key == invite_key)
        .map(|(_, event)| event)
        .collect();
    assert_eq!(invite_events.len(), 2);
    // The caller's INVITE transaction ACKed the 487 by itself.
    assert_eq!(net.gateway_received, vec!["INVITE", "CANCEL", "ACK"]);
    assert!(
        net.at_gateway.is_empty(),
        "the ACK for a 487 belongs to the transaction"
    );

    net.advance(Duration::from_secs(40));
    assert!(net.caller.is_empty());
    assert!(net.gateway.is_empty());
}

#[test]
fn lost_request_is_retransmitted_by_the_layer_timers() {
    let mut net = Network::new();
    net.caller
        .send_request(request("OPTIONS", "z9hG4bKping"), "gateway", false, net.now)
        .unwrap();
    // Lose the first transmission.
    assert!(net.caller.poll_transmit().is_some());
    assert_eq!(
        net.caller.poll_timeout(),
        Some(net.start + Duration::from_millis(500))
    );
    net.advance(Duration::from_millis(600));
    let (key, options) = net.new_request_at_gateway();
    net.gateway
        .send_response(&key, response(&options, 200), net.now)
        .unwrap();
    net.pump();
    assert_eq!(net.caller_responses(), vec![200]);
}

#[test]
fn layer_refuses_ack_duplicates_and_unknown_keys() {
    let mut layer: TransactionLayer<()> = TransactionLayer::new(TimerConfig::default());
    let now = Instant::now();
    assert!(matches!(
        layer.send_request(request("ACK", "z9hG4bK1"), (), false, now),
        Err(TransactionError::WrongMethod { .. })
    ));
    let key = layer
        .send_request(request("BYE", "z9hG4bK2"), (), false, now)
        .unwrap();
    assert!(matches!(
        layer.send_request(request("BYE", "z9hG4bK2"), (), false, now),
        Err(TransactionError::DuplicateTransaction(_))
    ));
    let bye = request("BYE", "z9hG4bK2");
    assert_eq!(
        layer.send_response(&key, response(&bye, 200), now),
        Err(TransactionError::UnknownTransaction),
        "client keys are not server keys"
    );
    layer.handle_transport_error(&key);
    assert_eq!(
        layer.poll_event(),
        Some((key.clone(), TransactionEvent::TransportError))
    );
    assert_eq!(
        layer.poll_event(),
        Some((key, TransactionEvent::Terminated))
    );
    assert!(layer.is_empty());
}
