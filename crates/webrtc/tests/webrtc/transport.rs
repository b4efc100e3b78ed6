use std::time::{Duration, Instant};

use hotline_webrtc::{DtlsIdentity, DtlsSetup, Received, Role, TransportState, WebRtcTransport};

use crate::pair::{Packet, Pair, Side, pcmu_packet, receiver_report};

fn media_flows_both_ways(pair: &mut Pair) {
    for sequence in 0..50u16 {
        let from_client = pcmu_packet(sequence, 0xC11E_0001);
        pair.send_rtp(Side::Client, &from_client)
            .expect("client connected");
        let from_lite = pcmu_packet(1000 + sequence, 0x6A7E_0001);
        let to = pair
            .send_rtp(Side::Lite, &from_lite)
            .expect("lite connected");
        assert_eq!(to, pair.client_addr);
        assert_eq!(pair.lite_received.last(), Some(&Packet::Rtp(from_client)));
        assert_eq!(pair.client_received.last(), Some(&Packet::Rtp(from_lite)));
    }
    let report = receiver_report(0x6A7E_0001);
    pair.send_rtcp(Side::Lite, &report);
    assert_eq!(pair.client_received.last(), Some(&Packet::Rtcp(report)));
    let report = receiver_report(0xC11E_0001);
    pair.send_rtcp(Side::Client, &report);
    assert_eq!(pair.lite_received.last(), Some(&Packet::Rtcp(report)));
    assert_eq!(pair.lite.dropped_datagrams(), 0);
    assert_eq!(pair.client.dropped_datagrams(), 0);
}

#[test]
fn remote_active_makes_the_gateway_dtls_server_and_media_flows() {
    let mut pair = Pair::new(DtlsSetup::Active);
    pair.connect(Duration::from_secs(2));
    assert_eq!(pair.lite.selected_address(), Some(pair.client_addr));
    assert_eq!(pair.client.selected_address(), Some(pair.lite_addr));
    assert_eq!(pair.lite.srtp_profile(), pair.client.srtp_profile());
    assert_eq!(pair.lite.srtp_profile(), Some("SRTP_AEAD_AES_128_GCM"));
    media_flows_both_ways(&mut pair);
}

#[test]
fn remote_passive_makes_the_gateway_dtls_client_and_media_flows() {
    let mut pair = Pair::new(DtlsSetup::Passive);
    pair.connect(Duration::from_secs(2));
    media_flows_both_ways(&mut pair);
}

#[test]
fn the_lite_side_never_sends_a_check() {
    let mut pair = Pair::new(DtlsSetup::Active);
    pair.connect(Duration::from_secs(2));
    pair.advance(Duration::from_secs(20));
    let lite_requests = pair
        .lite_sent
        .iter()
        .filter(|(_, bytes)| bytes.len() > 1 && bytes[0] == 0x00 && bytes[1] == 0x01)
        .count();
    assert_eq!(lite_requests, 0);
    assert_eq!(
        *pair.lite.state(),
        TransportState::Connected,
        "consent checks kept it up"
    );
}

#[test]
fn a_lost_first_dtls_flight_is_retransmitted_on_the_timer() {
    for client_setup in [DtlsSetup::Active, DtlsSetup::Passive] {
        let mut pair = Pair::new(client_setup);
        let mut dtls_seen = 0;
        pair.deliver = Box::new(move |flight| {
            if (20..=63).contains(&flight.bytes[0]) {
                dtls_seen += 1;
                // The first flight is the ClientHello (one datagram).
                return dtls_seen > 1;
            }
            true
        });
        pair.advance(Duration::from_millis(500));
        assert_eq!(
            *pair.lite.state(),
            TransportState::Checking,
            "{client_setup:?}"
        );
        pair.connect(Duration::from_secs(5));
        media_flows_both_ways(&mut pair);
    }
}

#[test]
fn protect_rtp_before_connected_gives_nothing_to_send() {
    let identity = DtlsIdentity::generate().unwrap();
    let mut transport = WebRtcTransport::new(&identity, Role::IceLite, Instant::now());
    let mut out = Vec::new();
    assert_eq!(transport.protect_rtp(&pcmu_packet(1, 1), &mut out), None);
    assert!(out.is_empty());
}

#[test]
fn close_sends_close_notify_and_the_peer_closes_too() {
    let mut pair = Pair::new(DtlsSetup::Active);
    pair.connect(Duration::from_secs(2));
    pair.lite.close();
    assert_eq!(*pair.lite.state(), TransportState::Closed);
    let (to, alert) = pair.lite.poll_transmit().expect("close_notify queued");
    assert_eq!(to, pair.client_addr);
    assert_eq!(alert[0], 21, "an alert record");
    let received = pair
        .client
        .handle_datagram(pair.now, pair.lite_addr, &alert);
    assert_eq!(received, Received::Nothing);
    assert_eq!(*pair.client.state(), TransportState::Closed);
    assert_eq!(pair.lite.poll_timeout(), None);
    let mut out = Vec::new();
    assert_eq!(pair.lite.protect_rtp(&pcmu_packet(1, 1), &mut out), None);
}

#[test]
fn many_calls_share_one_identity_and_each_closes_cleanly() {
    // Each transport owns all of its state (the identity's Arc is the only thing
    // shared), so a closed or dropped one leaves nothing behind.
    let lite_identity = DtlsIdentity::generate().unwrap();
    let client_identity = DtlsIdentity::generate().unwrap();
    for _ in 0..20 {
        let mut pair = Pair::with_identities(
            DtlsSetup::Active,
            lite_identity.clone(),
            client_identity.clone(),
        );
        pair.connect(Duration::from_secs(2));
        pair.lite.close();
        assert_eq!(pair.lite.poll_timeout(), None);
    }
}

#[test]
fn checks_and_a_client_hello_that_overtake_the_answer_are_kept() {
    let mut pair = Pair::with_answer_delayed(DtlsSetup::Active);
    pair.advance(Duration::from_millis(200));
    // The lite side answered the checks with only its own password, and held the
    // ClientHello it could not yet place.
    assert_eq!(pair.lite.selected_address(), Some(pair.client_addr));
    assert_eq!(*pair.lite.state(), TransportState::Checking);
    pair.answer_reaches_lite();
    pair.connect(Duration::from_millis(100));
    media_flows_both_ways(&mut pair);
}

/// Resident memory in KiB, from Linux's /proc.
fn resident_kib() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4)
}

fn one_call(lite_identity: &DtlsIdentity, client_identity: &DtlsIdentity) {
    let mut pair = Pair::with_identities(
        DtlsSetup::Active,
        lite_identity.clone(),
        client_identity.clone(),
    );
    pair.connect(Duration::from_secs(2));
    for sequence in 0..50u16 {
        pair.send_rtp(Side::Client, &pcmu_packet(sequence, 7));
        pair.send_rtp(Side::Lite, &pcmu_packet(sequence, 8));
    }
    pair.lite.close();
    pair.exchange();
}

/// A soak: resident memory after 1,000 calls (handshake, 50 packets each way, close,
/// drop) stays where it was after the first 100. It reads the process's own resident
/// size, so it needs a process of its own: nextest (what `tests/run.sh` uses) runs
/// every test in one; under plain `cargo test` run it alone (`-- thousand_calls`).
/// The gateway-level soak is `sip-gateway/benches/webrtc.sh soak` (BENCHMARKS.md §8).
#[test]
fn thousand_calls_keep_memory_flat() {
    let lite_identity = DtlsIdentity::generate().unwrap();
    let client_identity = DtlsIdentity::generate().unwrap();
    for _ in 0..100 {
        one_call(&lite_identity, &client_identity);
    }
    let before = resident_kib().expect("Linux /proc");
    for _ in 0..1000 {
        one_call(&lite_identity, &client_identity);
    }
    let after = resident_kib().unwrap();
    println!(
        "thousand_calls_keep_memory_flat: resident {before} KiB after 100 calls, {after} KiB after 1,100"
    );
    assert!(
        after < before + 2048,
        "grew by {} KiB over 1,000 calls",
        after - before
    );
}

#[test]
fn a_transport_can_move_to_another_thread() {
    fn assert_send<T: Send + 'static>() {}
    assert_send::<WebRtcTransport>();
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<DtlsIdentity>();
}
