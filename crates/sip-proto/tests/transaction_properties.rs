//! Property tests of the transaction state machines: whatever the network loses (on
//! UDP) and whenever the server's user answers, both sides end within the RFC 3261
//! bounds and the client's user hears exactly one outcome.

mod common;

use std::time::Duration;

use common::pair::*;
use proptest::prelude::*;
use sip_proto::transaction::TransactionEvent;

/// Drops the n-th message on the wire if `pattern[n]` is true; never on reliable transports.
fn drop_pattern(reliable: bool, pattern: Vec<bool>) -> DropRule {
    let mut index = 0;
    Box::new(move |_, _| {
        let drop = !reliable && pattern.get(index).copied().unwrap_or(false);
        index += 1;
        drop
    })
}

/// Runs until the server transaction exists (the request may need retransmissions).
fn run_until_server_exists<C: Machine, S: Machine>(pair: &mut Pair<C, S>, at_least: Duration) {
    pair.run_until(at_least);
    while pair.server.is_none() && pair.elapsed() < Duration::from_secs(60) {
        let next = pair.elapsed() + Duration::from_millis(100);
        pair.run_until(next);
    }
}

fn count(events: &[(Duration, TransactionEvent)], wanted: &TransactionEvent) -> usize {
    events.iter().filter(|(_, event)| event == wanted).count()
}

fn finals(events: &[(Duration, TransactionEvent)]) -> Vec<u16> {
    responses(events)
        .into_iter()
        .filter(|&code| code >= 200)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn failed_invite_always_ends_with_one_outcome(
        reliable in any::<bool>(),
        pattern in proptest::collection::vec(any::<bool>(), 0..6),
        ring_after_ms in proptest::option::of(0u64..3_000),
        answer_after_ms in 0u64..20_000,
        code in prop_oneof![Just(404u16), Just(486), Just(603)],
    ) {
        let mut pair = invite_pair_with(reliable, drop_pattern(reliable, pattern));
        if let Some(ring) = ring_after_ms {
            run_until_server_exists(&mut pair, Duration::from_millis(ring));
            if let Some(server) = pair.server.as_mut() {
                let invite = server.request().clone();
                pair.with_server(|server, now| { let _ = server.send_response(response(&invite, 180), now); });
            }
        }
        run_until_server_exists(&mut pair, Duration::from_millis(answer_after_ms));
        if let Some(server) = pair.server.as_mut() {
            let invite = server.request().clone();
            pair.with_server(|server, now| { let _ = server.send_response(response(&invite, code), now); });
        }
        pair.run_until(Duration::from_secs(200));

        prop_assert!(pair.client.is_terminated());
        prop_assert!(pair.server.as_ref().is_none_or(|server| server.is_terminated()));
        prop_assert_eq!(count(&pair.client_events, &TransactionEvent::Terminated), 1);
        prop_assert_eq!(&pair.client_events.last().unwrap().1, &TransactionEvent::Terminated);
        let finals = finals(&pair.client_events);
        let timeouts = count(&pair.client_events, &TransactionEvent::Timeout);
        prop_assert_eq!(finals.len() + timeouts, 1, "exactly one outcome: {:?}", pair.client_events);
        if let Some(&final_code) = finals.first() {
            prop_assert_eq!(final_code, code);
        }
        // Timer B (32 s) or the answer time plus Timer D (32 s) bound the client.
        let ended = pair.client_events.last().unwrap().0;
        prop_assert!(ended <= Duration::from_millis(answer_after_ms) + Duration::from_secs(64));
    }

    #[test]
    fn non_invite_always_ends_with_one_outcome(
        reliable in any::<bool>(),
        pattern in proptest::collection::vec(any::<bool>(), 0..6),
        trying_after_ms in proptest::option::of(0u64..3_000),
        answer_after_ms in 0u64..20_000,
    ) {
        let mut pair = non_invite_pair_with(reliable, drop_pattern(reliable, pattern));
        let options = request("OPTIONS", "z9hG4bKoptp");
        if let Some(trying) = trying_after_ms {
            run_until_server_exists(&mut pair, Duration::from_millis(trying));
            if pair.server.is_some() {
                pair.with_server(|server, now| { let _ = server.send_response(response(&options, 100), now); });
            }
        }
        run_until_server_exists(&mut pair, Duration::from_millis(answer_after_ms));
        if pair.server.is_some() {
            pair.with_server(|server, now| { let _ = server.send_response(response(&options, 200), now); });
        }
        pair.run_until(Duration::from_secs(200));

        prop_assert!(pair.client.is_terminated());
        prop_assert!(pair.server.as_ref().is_none_or(|server| server.is_terminated()));
        prop_assert_eq!(count(&pair.client_events, &TransactionEvent::Terminated), 1);
        let finals = finals(&pair.client_events);
        let timeouts = count(&pair.client_events, &TransactionEvent::Timeout);
        prop_assert_eq!(finals.len() + timeouts, 1, "exactly one outcome: {:?}", pair.client_events);
        // Timer F (32 s) bounds the wait for a final; Timer K (5 s) follows it.
        let ended = pair.client_events.last().unwrap().0;
        prop_assert!(ended <= Duration::from_secs(37));
    }
}
