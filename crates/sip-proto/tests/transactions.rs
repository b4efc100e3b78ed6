//! Client and server transactions run against each other on a virtual clock, through a
//! network that delivers instantly but can lose chosen messages.

mod common;

use std::time::Instant;

use common::pair::*;
use sip_proto::transaction::{
    ClientInviteState, ClientInviteTransaction, ClientNonInviteState, ClientNonInviteTransaction,
    ServerInviteState, ServerInviteTransaction, ServerNonInviteState, ServerNonInviteTransaction,
    TimerConfig, TransactionError, TransactionEvent, TransactionKey, build_cancel,
};
use sip_proto::{HeaderName, Message, Method, Response, StatusCode};

#[test]
fn timer_b_fires_after_64_t1_without_answer() {
    let mut pair = invite_pair(false);
    pair.drop_rule = Box::new(|direction, _| direction == Direction::ToServer);
    // The first INVITE was sent (and lost) before the rule was set; count from there.
    pair.wire[0].dropped = true;
    pair.server = None;
    pair.run_until(secs(40.0));
    // Timer A doubles from T1: 0.5, 1, 2, 4, 8, 16 s.
    assert_eq!(
        pair.sent_times(Direction::ToServer, "INVITE"),
        vec![0.0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    );
    assert_eq!(
        event_time(&pair.client_events, &TransactionEvent::Timeout),
        Some(32.0)
    );
    assert_eq!(
        pair.client_events.last().unwrap().1,
        TransactionEvent::Terminated
    );
    assert_eq!(pair.client.state(), ClientInviteState::Terminated);
}

#[test]
fn lost_invite_is_retransmitted_and_answered() {
    let start = Instant::now();
    let config = TimerConfig::default();
    let client =
        ClientInviteTransaction::new(request("INVITE", "z9hG4bKinv2"), false, config, start)
            .unwrap();
    let mut first = true;
    let mut pair: InvitePair = Pair {
        start,
        now: start,
        client,
        server: None,
        make_server: Box::new(move |request, now| {
            ServerInviteTransaction::new(request, false, config, now).unwrap()
        }),
        drop_rule: Box::new(move |direction, _| {
            let drop = first && direction == Direction::ToServer;
            first = false;
            drop
        }),
        wire: Vec::new(),
        client_events: Vec::new(),
        server_events: Vec::new(),
    };
    pair.deliver();
    pair.run_until(secs(0.6));
    assert!(
        pair.server.is_some(),
        "the retransmission reached the server"
    );
    let invite = pair.server().request().clone();
    pair.with_server(|server, now| server.send_response(response(&invite, 180), now).unwrap());
    pair.run_until(secs(3.0));
    pair.with_server(|server, now| server.send_response(response(&invite, 200), now).unwrap());
    assert_eq!(responses(&pair.client_events), vec![180, 200]);
    assert_eq!(pair.client.state(), ClientInviteState::Accepted);
    assert_eq!(pair.server().state(), ServerInviteState::Accepted);
    // No INVITE retransmission after the 180.
    assert_eq!(
        pair.sent_times(Direction::ToServer, "INVITE"),
        vec![0.0, 0.5]
    );
    // Timers M and L end both sides 64*T1 after the 2xx.
    pair.run_until(secs(40.0));
    assert_eq!(
        event_time(&pair.client_events, &TransactionEvent::Terminated),
        Some(35.0)
    );
    assert_eq!(
        event_time(&pair.server_events, &TransactionEvent::Terminated),
        Some(35.0)
    );
}

#[test]
fn retransmitted_invite_gets_the_last_provisional_again() {
    let mut pair = invite_pair(false);
    let invite = pair.server().request().clone();
    let mut drops = 1;
    pair.drop_rule = Box::new(move |direction, message| {
        let is_180 = matches!(message, Message::Response(r) if r.status == StatusCode::RINGING);
        let drop = direction == Direction::ToClient && is_180 && drops > 0;
        if drop {
            drops -= 1;
        }
        drop
    });
    pair.with_server(|server, now| server.send_response(response(&invite, 180), now).unwrap());
    pair.run_until(secs(1.0));
    assert_eq!(pair.sent_times(Direction::ToClient, "180"), vec![0.0, 0.5]);
    assert_eq!(
        pair.sent_times(Direction::ToServer, "INVITE"),
        vec![0.0, 0.5]
    );
    assert_eq!(responses(&pair.client_events), vec![180]);
    assert_eq!(pair.client.state(), ClientInviteState::Proceeding);
}

#[test]
fn server_sends_100_trying_when_the_user_is_slow() {
    let mut pair = invite_pair(false);
    pair.run_until(secs(10.0));
    assert_eq!(pair.sent_times(Direction::ToClient, "100"), vec![0.2]);
    // The 100 stopped Timer A before its first retransmission at 0.5 s, and Timer B.
    assert_eq!(pair.sent_times(Direction::ToServer, "INVITE"), vec![0.0]);
    assert_eq!(pair.client.state(), ClientInviteState::Proceeding);
    assert_eq!(pair.client.poll_timeout(), None);
    // A retransmitted INVITE now gets the 100 again.
    let invite = pair.client.request().clone();
    let now = pair.now;
    let server = pair.server();
    server.handle_message(Message::Request(invite), now);
    assert!(
        matches!(server.poll_transmit(), Some(Message::Response(r)) if r.status == StatusCode::TRYING)
    );
}

#[test]
fn failure_response_is_acked_and_lost_ack_is_repeated() {
    let mut pair = invite_pair(false);
    let invite = pair.server().request().clone();
    let mut acks_to_drop = 1;
    pair.drop_rule = Box::new(move |direction, message| {
        let is_ack = matches!(message, Message::Request(r) if r.method == Method::Ack);
        let drop = direction == Direction::ToServer && is_ack && acks_to_drop > 0;
        if drop {
            acks_to_drop -= 1;
        }
        drop
    });
    pair.with_server(|server, now| server.send_response(response(&invite, 486), now).unwrap());
    assert_eq!(pair.client.state(), ClientInviteState::Completed);
    assert_eq!(pair.server().state(), ServerInviteState::Completed);
    pair.run_until(secs(1.0));
    // Timer G resent the 486 at T1; the client answered with its ACK again.
    assert_eq!(pair.sent_times(Direction::ToClient, "486"), vec![0.0, 0.5]);
    assert_eq!(pair.sent_times(Direction::ToServer, "ACK"), vec![0.0, 0.5]);
    assert_eq!(pair.server().state(), ServerInviteState::Confirmed);
    assert_eq!(responses(&pair.client_events), vec![486]);
    pair.run_until(secs(40.0));
    // Timer I (T4) on the server, Timer D (32 s) on the client.
    assert_eq!(
        event_time(&pair.server_events, &TransactionEvent::Terminated),
        Some(5.5)
    );
    assert_eq!(
        event_time(&pair.client_events, &TransactionEvent::Terminated),
        Some(32.0)
    );

    let ack = pair
        .wire
        .iter()
        .filter(|sent| sent.summary == "ACK")
        .count();
    assert_eq!(ack, 2);
}

#[test]
fn ack_for_failure_copies_the_right_headers() {
    let start = Instant::now();
    let invite = request("INVITE", "z9hG4bKack");
    let mut client =
        ClientInviteTransaction::new(invite.clone(), true, TimerConfig::default(), start).unwrap();
    client.poll_transmit();
    client.handle_message(Message::Response(response(&invite, 603)), start);
    let Some(Message::Request(ack)) = client.poll_transmit() else {
        panic!("expected an ACK")
    };
    assert_eq!(ack.method, Method::Ack);
    assert_eq!(ack.uri, invite.uri);
    assert_eq!(ack.headers.top_via().unwrap().branch(), Some("z9hG4bKack"));
    assert_eq!(ack.headers.to().unwrap().tag(), Some("callee1"));
    assert_eq!(ack.headers.cseq().unwrap().method, Method::Ack);
    assert_eq!(ack.headers.cseq().unwrap().seq, 1);
    ack.validate().unwrap();
    // Reliable transport: Timer D is zero.
    client.handle_timeout(start);
    assert!(client.is_terminated());
}

#[test]
fn timer_h_fires_when_the_ack_never_comes() {
    let mut pair = invite_pair(false);
    let invite = pair.server().request().clone();
    pair.drop_rule = Box::new(|direction, message| {
        direction == Direction::ToServer
            && matches!(message, Message::Request(r) if r.method == Method::Ack)
    });
    pair.with_server(|server, now| server.send_response(response(&invite, 480), now).unwrap());
    pair.run_until(secs(40.0));
    // Timer G doubles up to T2 (4 s).
    assert_eq!(
        pair.sent_times(Direction::ToClient, "480"),
        vec![0.0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    );
    assert_eq!(
        event_time(&pair.server_events, &TransactionEvent::Timeout),
        Some(32.0)
    );
}

#[test]
fn reliable_transport_never_retransmits() {
    let mut pair = invite_pair(true);
    let invite = pair.server().request().clone();
    pair.with_server(|server, now| server.send_response(response(&invite, 486), now).unwrap());
    pair.run_until(secs(1.0));
    assert_eq!(pair.sent_times(Direction::ToServer, "INVITE"), vec![0.0]);
    assert_eq!(pair.sent_times(Direction::ToClient, "486"), vec![0.0]);
    assert_eq!(
        event_time(&pair.client_events, &TransactionEvent::Terminated),
        Some(0.0)
    );
    assert_eq!(
        event_time(&pair.server_events, &TransactionEvent::Terminated),
        Some(0.0)
    );
}

#[test]
fn forked_2xx_are_all_passed_up_in_accepted() {
    let start = Instant::now();
    let invite = request("INVITE", "z9hG4bKfork");
    let mut client =
        ClientInviteTransaction::new(invite.clone(), false, TimerConfig::default(), start).unwrap();
    client.poll_transmit();
    let first = Response::for_request(&invite, StatusCode::OK, Some("fork-a"));
    let second = Response::for_request(&invite, StatusCode::OK, Some("fork-b"));
    client.handle_message(Message::Response(first), start);
    client.handle_message(Message::Response(second), start);
    client.handle_message(Message::Response(response(&invite, 486)), start);
    let mut tags = Vec::new();
    while let Some(event) = client.poll_event() {
        if let TransactionEvent::Response(response) = event {
            tags.push(response.headers.to().unwrap().tag().unwrap().to_owned());
        }
    }
    assert_eq!(tags, vec!["fork-a", "fork-b"]);
    assert!(
        client.poll_transmit().is_none(),
        "the transaction never ACKs a 2xx"
    );
}

#[test]
fn server_invite_refuses_responses_after_the_final_one() {
    let start = Instant::now();
    let invite = request("INVITE", "z9hG4bKstate");
    let mut server =
        ServerInviteTransaction::new(invite.clone(), false, TimerConfig::default(), start).unwrap();
    server.send_response(response(&invite, 200), start).unwrap();
    assert!(matches!(
        server.send_response(response(&invite, 180), start),
        Err(TransactionError::InvalidState {
            state: "Accepted",
            ..
        })
    ));
    // The user's own 2xx retransmissions go through.
    server.send_response(response(&invite, 200), start).unwrap();
    assert_eq!(std::iter::from_fn(|| server.poll_transmit()).count(), 2);
}

#[test]
fn timer_f_fires_for_unanswered_non_invite() {
    let mut pair = non_invite_pair(false);
    pair.drop_rule = Box::new(|direction, _| direction == Direction::ToServer);
    pair.server = None;
    pair.run_until(secs(40.0));
    // Timer E doubles up to T2.
    assert_eq!(
        pair.sent_times(Direction::ToServer, "OPTIONS"),
        vec![0.0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    );
    assert_eq!(
        event_time(&pair.client_events, &TransactionEvent::Timeout),
        Some(32.0)
    );
}

#[test]
fn lost_non_invite_response_is_resent_from_completed() {
    let mut pair = non_invite_pair(false);
    let request = request("OPTIONS", "z9hG4bKopt1");
    let mut drops = 1;
    pair.drop_rule = Box::new(move |direction, _| {
        let drop = direction == Direction::ToClient && drops > 0;
        if drop {
            drops -= 1;
        }
        drop
    });
    pair.with_server(|server, now| server.send_response(response(&request, 200), now).unwrap());
    assert_eq!(pair.server().state(), ServerNonInviteState::Completed);
    pair.run_until(secs(40.0));
    assert_eq!(pair.sent_times(Direction::ToClient, "200"), vec![0.0, 0.5]);
    assert_eq!(responses(&pair.client_events), vec![200]);
    // Timer K = T4 after the response; Timer J = 64*T1 after the server's final.
    assert_eq!(
        event_time(&pair.client_events, &TransactionEvent::Terminated),
        Some(5.5)
    );
    assert_eq!(
        event_time(&pair.server_events, &TransactionEvent::Terminated),
        Some(32.0)
    );
}

#[test]
fn non_invite_proceeding_retransmits_every_t2() {
    let mut pair = non_invite_pair(false);
    let request = request("OPTIONS", "z9hG4bKopt1");
    // Provisional responses reach the client, but every retransmitted request is lost
    // from then on, so only the client's timers act.
    pair.with_server(|server, now| server.send_response(response(&request, 100), now).unwrap());
    assert_eq!(pair.client.state(), ClientNonInviteState::Proceeding);
    pair.drop_rule = Box::new(|direction, _| direction == Direction::ToServer);
    pair.run_until(secs(13.0));
    assert_eq!(
        pair.sent_times(Direction::ToServer, "OPTIONS"),
        vec![0.0, 0.5, 4.5, 8.5, 12.5]
    );
}

#[test]
fn transport_error_terminates() {
    let start = Instant::now();
    let mut client = ClientNonInviteTransaction::new(
        request("BYE", "z9hG4bKbye"),
        true,
        TimerConfig::default(),
        start,
    )
    .unwrap();
    client.handle_transport_error();
    assert_eq!(client.poll_event(), Some(TransactionEvent::TransportError));
    assert_eq!(client.poll_event(), Some(TransactionEvent::Terminated));
    assert!(client.is_terminated());
}

#[test]
fn constructors_check_the_method() {
    let start = Instant::now();
    let config = TimerConfig::default();
    assert!(
        ClientInviteTransaction::new(request("BYE", "z9hG4bK1"), false, config, start).is_err()
    );
    assert!(
        ClientNonInviteTransaction::new(request("INVITE", "z9hG4bK1"), false, config, start)
            .is_err()
    );
    assert!(ServerNonInviteTransaction::new(&request("ACK", "z9hG4bK1"), false, config).is_err());
    let mut no_branch = request("INVITE", "z9hG4bK1");
    no_branch
        .headers
        .set(HeaderName::Via, "SIP/2.0/UDP 203.0.113.1");
    assert!(matches!(
        ServerInviteTransaction::new(no_branch, false, config, start),
        Err(TransactionError::InvalidRequest(_))
    ));
}

#[test]
fn keys_match_ack_to_invite_but_not_cancel() {
    let invite = request("INVITE", "z9hG4bKkey");
    let invite_key = TransactionKey::for_request(&invite).unwrap();
    let failure = response(&invite, 486);
    assert_eq!(TransactionKey::for_response(&failure).unwrap(), invite_key);

    let mut ack = request("ACK", "z9hG4bKkey");
    ack.headers.set(HeaderName::CSeq, "1 ACK");
    assert_eq!(TransactionKey::for_request(&ack).unwrap(), invite_key);

    let cancel = build_cancel(&invite);
    cancel.validate().unwrap();
    let cancel_key = TransactionKey::for_request(&cancel).unwrap();
    assert_ne!(cancel_key, invite_key);
    assert_eq!(cancel_key.method, Method::Cancel);
    assert_eq!(TransactionKey::cancelled_by(&cancel).unwrap(), invite_key);

    let other_branch = request("INVITE", "z9hG4bKother");
    assert_ne!(
        TransactionKey::for_request(&other_branch).unwrap(),
        invite_key
    );
}
