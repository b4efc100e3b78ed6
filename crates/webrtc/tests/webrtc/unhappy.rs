use std::time::Duration;

use hotline_webrtc::{
    DtlsIdentity, DtlsSetup, Fingerprint, Received, RemoteParameters, TransportState,
};

use crate::pair::{Pair, Side, addr, pcmu_packet};
use crate::stun::check;

fn is_stun(bytes: &[u8]) -> bool {
    bytes.first().is_some_and(|byte| *byte <= 3)
}

#[test]
fn a_wrong_fingerprint_fails_the_handshake_naming_it() {
    for client_setup in [DtlsSetup::Active, DtlsSetup::Passive] {
        let lite_identity = DtlsIdentity::generate().unwrap();
        let client_identity = DtlsIdentity::generate().unwrap();
        let someone_else = DtlsIdentity::generate().unwrap();
        // The client's SDP names another certificate than the one it presents.
        let mut pair = Pair::build(
            client_setup,
            lite_identity,
            client_identity,
            Some(someone_else.fingerprint().clone()),
        );
        pair.advance(Duration::from_secs(3));
        let TransportState::Failed(reason) = pair.lite.state().clone() else {
            panic!("{client_setup:?}: lite is {:?}", pair.lite.state());
        };
        assert!(
            reason.starts_with("peer certificate does not match a=fingerprint:sha-256 "),
            "{client_setup:?}: {reason}"
        );
        assert!(
            !matches!(
                pair.client.state(),
                hotline_webrtc::TransportState::Connected
            ),
            "{client_setup:?}: the client must not be connected to a refusing gateway"
        );
        let mut out = Vec::new();
        assert_eq!(pair.lite.protect_rtp(&pcmu_packet(1, 1), &mut out), None);
    }
}

#[test]
fn checks_with_bad_integrity_or_unknown_ufrag_get_no_answer() {
    let mut pair = Pair::new(DtlsSetup::Active);
    let lite = pair.lite.local_parameters(DtlsSetup::ActPass).ice;
    let client = pair.client.local_parameters(DtlsSetup::Active).ice;
    let from = pair.client_addr;
    let now = pair.now;

    let wrong_pwd = check(
        &format!("{}:{}", lite.ufrag, client.ufrag),
        "not-the-password-at-all",
    );
    assert_eq!(
        pair.lite.handle_datagram(now, from, &wrong_pwd),
        Received::Nothing
    );
    let unknown_ufrag = check(&format!("nobody:{}", client.ufrag), &lite.pwd);
    assert_eq!(
        pair.lite.handle_datagram(now, from, &unknown_ufrag),
        Received::Nothing
    );
    let wrong_remote_ufrag = check(&format!("{}:nobody", lite.ufrag), &lite.pwd);
    assert_eq!(
        pair.lite.handle_datagram(now, from, &wrong_remote_ufrag),
        Received::Nothing
    );
    assert!(pair.lite.poll_transmit().is_none());
    assert_eq!(pair.lite.dropped_datagrams(), 3);
    assert_eq!(pair.lite.selected_address(), None);

    let good = check(&format!("{}:{}", lite.ufrag, client.ufrag), &lite.pwd);
    pair.lite.handle_datagram(now, from, &good);
    let (to, answer) = pair
        .lite
        .poll_transmit()
        .expect("a valid check is answered");
    assert_eq!(to, from);
    assert!(is_stun(&answer));
    assert_eq!(pair.lite.selected_address(), Some(from));
}

#[test]
fn garbage_and_truncated_datagrams_are_dropped() {
    let mut pair = Pair::new(DtlsSetup::Active);
    pair.connect(Duration::from_secs(2));
    let mut samples: Vec<Vec<u8>> = vec![
        vec![],
        vec![0],
        vec![1, 1],
        vec![0x00, 0x01, 0x00, 0x08, 0x21, 0x12, 0xA4, 0x42],
        vec![22; 5],
        vec![22, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF],
        vec![0x80; 3],
        vec![0x80, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1],
        vec![0x80, 200, 0, 1, 0, 0, 0, 1],
        vec![255; 100],
        vec![64; 100],
    ];
    // Every prefix of real traffic, of each kind.
    let check_bytes = pair
        .client_sent
        .iter()
        .find(|(_, bytes)| is_stun(bytes))
        .unwrap()
        .1
        .clone();
    let mut out = Vec::new();
    pair.client
        .protect_rtp(&pcmu_packet(7, 9), &mut out)
        .unwrap();
    for length in 0..check_bytes.len() {
        samples.push(check_bytes[..length].to_vec());
    }
    for length in 0..out.len() {
        samples.push(out[..length].to_vec());
    }
    let mut state = 0x1234_5678u32;
    for _ in 0..2000 {
        let length = (state % 300) as usize;
        let bytes: Vec<u8> = (0..length)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                state as u8
            })
            .collect();
        samples.push(bytes);
    }
    let dropped_before = pair.lite.dropped_datagrams();
    for sample in &samples {
        let now = pair.now;
        let from = pair.client_addr;
        assert_eq!(
            pair.lite.handle_datagram(now, from, sample),
            Received::Nothing
        );
    }
    assert!(pair.lite.dropped_datagrams() > dropped_before);
    pair.exchange();
    assert_eq!(*pair.lite.state(), TransportState::Connected);
    pair.send_rtp(Side::Client, &pcmu_packet(8, 9)).unwrap();
    assert_eq!(pair.lite_received.len(), 1, "media still flows");
}

#[test]
fn srtp_with_a_tampered_tag_is_dropped() {
    let mut pair = Pair::new(DtlsSetup::Active);
    pair.connect(Duration::from_secs(2));
    let mut out = Vec::new();
    pair.client
        .protect_rtp(&pcmu_packet(1, 42), &mut out)
        .unwrap();
    let last = out.len() - 1;
    out[last] ^= 0x01;
    let now = pair.now;
    let from = pair.client_addr;
    assert_eq!(
        pair.lite.handle_datagram(now, from, &out),
        Received::Nothing
    );
    assert_eq!(pair.lite.dropped_datagrams(), 1);
    out[last] ^= 0x01;
    assert!(matches!(
        pair.lite.handle_datagram(now, from, &out),
        Received::Rtp(_)
    ));
    assert_eq!(
        pair.lite.handle_datagram(now, from, &out),
        Received::Nothing,
        "replay"
    );
}

#[test]
fn srtp_from_an_unchecked_address_is_dropped() {
    let mut pair = Pair::new(DtlsSetup::Active);
    pair.connect(Duration::from_secs(2));
    let mut out = Vec::new();
    pair.client
        .protect_rtp(&pcmu_packet(1, 42), &mut out)
        .unwrap();
    let now = pair.now;
    assert_eq!(
        pair.lite
            .handle_datagram(now, addr("203.0.113.9:1234"), &out),
        Received::Nothing
    );
}

#[test]
fn consent_expires_after_thirty_seconds_of_silence() {
    let mut pair = Pair::new(DtlsSetup::Active);
    pair.connect(Duration::from_secs(2));
    // The client goes silent: nothing it sends arrives any more.
    pair.deliver = Box::new(|flight| flight.from_side == Side::Lite);
    pair.advance(Duration::from_secs(29));
    assert_eq!(*pair.lite.state(), TransportState::Connected);
    pair.advance(Duration::from_secs(2));
    assert_eq!(
        *pair.lite.state(),
        TransportState::Failed("consent expired".to_owned())
    );
    assert_eq!(pair.lite.poll_timeout(), None);
}

#[test]
fn set_remote_twice_is_refused() {
    let mut pair = Pair::new(DtlsSetup::Active);
    let fingerprint: Fingerprint = pair.client_identity.fingerprint().clone();
    let again = RemoteParameters {
        ice: pair.client.local_parameters(DtlsSetup::Active).ice,
        fingerprint,
        setup: DtlsSetup::Active,
        candidates: vec![],
    };
    let now = pair.now;
    assert!(pair.lite.set_remote(again, now).is_err());
}

#[test]
fn garbage_dtls_during_the_handshake_is_discarded_and_the_handshake_recovers() {
    let mut pair = Pair::new(DtlsSetup::Active);
    // ICE completes but every DTLS record is lost for a while.
    pair.deliver = Box::new(|flight| !(20..=63).contains(&flight.bytes[0]));
    pair.advance(Duration::from_millis(300));
    assert_eq!(pair.lite.selected_address(), Some(pair.client_addr));
    let now = pair.now;
    let from = pair.client_addr;
    for garbage in [
        vec![22u8; 3],
        vec![22, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 0, 0, 40, 1, 2, 3],
        vec![23, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, 9, 0, 2, 0xAA, 0xBB],
        vec![22, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        vec![63, 0xFE, 0xFD, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    ] {
        assert_eq!(
            pair.lite.handle_datagram(now, from, &garbage),
            Received::Nothing
        );
        assert_eq!(*pair.lite.state(), TransportState::Checking, "{garbage:?}");
    }
    pair.deliver = Box::new(|_| true);
    pair.connect(Duration::from_secs(5));
}

#[test]
fn a_callee_may_ring_for_a_minute_before_ice_starts() {
    let identity = DtlsIdentity::generate().unwrap();
    let now = std::time::Instant::now();
    let mut lite =
        hotline_webrtc::WebRtcTransport::new(&identity, hotline_webrtc::Role::IceLite, now);
    assert_eq!(
        lite.poll_timeout(),
        None,
        "nothing to time until the answer"
    );
    lite.handle_timeout(now + Duration::from_secs(60));
    assert_eq!(*lite.state(), TransportState::Checking);

    // The answer arrives; a browser that then never checks loses consent after 30 s.
    let peer = DtlsIdentity::generate().unwrap();
    let answered = now + Duration::from_secs(60);
    lite.set_remote(
        RemoteParameters {
            ice: hotline_webrtc::IceCredentials::random(),
            fingerprint: peer.fingerprint().clone(),
            setup: DtlsSetup::Active,
            candidates: vec![addr("198.51.100.7:50000")],
        },
        answered,
    )
    .unwrap();
    assert_eq!(
        lite.poll_timeout(),
        Some(answered + Duration::from_secs(30))
    );
    lite.handle_timeout(answered + Duration::from_secs(29));
    assert_eq!(*lite.state(), TransportState::Checking);
    lite.handle_timeout(answered + Duration::from_secs(30));
    assert_eq!(
        *lite.state(),
        TransportState::Failed("consent expired".to_owned())
    );
}

#[test]
fn no_datagram_of_any_kind_panics_or_disturbs_a_connected_leg() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};

    let mut pair = Pair::new(DtlsSetup::Active);
    pair.connect(Duration::from_secs(2));
    let from = pair.client_addr;
    let now = pair.now;
    // One strategy per RFC 7983 range, so each demultiplexed path gets its share.
    let datagram = (
        prop_oneof![0u8..=3, 20u8..=63, 128u8..=191, any::<u8>()],
        proptest::collection::vec(any::<u8>(), 0..400),
    )
        .prop_map(|(first, mut rest)| {
            rest.insert(0, first);
            rest
        });
    // The runner takes a `Fn`; the cell lends it the transport for the run only.
    let lite = std::cell::RefCell::new(&mut pair.lite);
    let mut runner = TestRunner::new(Config {
        cases: 3000,
        ..Config::default()
    });
    runner
        .run(&datagram, |bytes| {
            let mut lite = lite.borrow_mut();
            let nothing = lite.handle_datagram(now, from, &bytes) == Received::Nothing;
            prop_assert!(nothing);
            prop_assert_eq!(lite.state(), &TransportState::Connected);
            Ok(())
        })
        .unwrap();
    while pair.lite.poll_transmit().is_some() {}
    pair.send_rtp(Side::Client, &pcmu_packet(9, 9)).unwrap();
    assert_eq!(pair.lite_received.len(), 1, "media still flows");
}
