use std::time::Duration;

use hotline_webrtc::{DtlsSetup, Received, TransportState};

use crate::pair::{Packet, Pair, Side, addr, pcmu_packet};

#[test]
fn ice_restart_moves_media_to_the_new_address_without_a_new_handshake() {
    let mut pair = Pair::new(DtlsSetup::Active);
    pair.connect(Duration::from_secs(2));
    pair.send_rtp(Side::Client, &pcmu_packet(1, 77)).unwrap();
    let old_check = pair
        .client_sent
        .iter()
        .rev()
        .find(|(_, bytes)| bytes[0] <= 3)
        .unwrap()
        .1
        .clone();
    let old_address = pair.client_addr;

    // The browser's network changed: a re-INVITE with new credentials, then checks
    // from a new address.
    let lite_old = pair.lite.local_parameters(DtlsSetup::ActPass).ice;
    let client_new = pair.client.prepare_ice_restart();
    let lite_new = pair.lite.restart_ice(
        client_new.clone(),
        vec![addr("198.51.100.99:50002")],
        pair.now,
    );
    assert_ne!(lite_new, lite_old);
    let now = pair.now;
    let client_after = pair
        .client
        .restart_ice(lite_new.clone(), vec![pair.lite_addr], now);
    assert_eq!(client_after, client_new);
    assert_eq!(pair.lite.local_parameters(DtlsSetup::ActPass).ice, lite_new);

    // A check with the old credentials is ignored now.
    let answered_before = pair.lite_sent.len();
    let now = pair.now;
    assert_eq!(
        pair.lite.handle_datagram(now, old_address, &old_check),
        Received::Nothing
    );
    assert!(pair.lite.poll_transmit().is_none());
    assert_eq!(pair.lite_sent.len(), answered_before);
    assert_eq!(pair.lite.selected_address(), Some(old_address));

    pair.client_addr = addr("198.51.100.99:50002");
    let dtls_records_before = count_dtls(&pair);
    pair.advance(Duration::from_millis(200));
    assert_eq!(pair.lite.selected_address(), Some(pair.client_addr));
    assert_eq!(count_dtls(&pair), dtls_records_before, "no new handshake");
    assert_eq!(*pair.lite.state(), TransportState::Connected);
    assert_eq!(*pair.client.state(), TransportState::Connected);

    // SRTP carries on, both ways, with the same keys.
    pair.send_rtp(Side::Client, &pcmu_packet(2, 77)).unwrap();
    assert_eq!(
        pair.lite_received.last(),
        Some(&Packet::Rtp(pcmu_packet(2, 77)))
    );
    let to = pair.send_rtp(Side::Lite, &pcmu_packet(500, 88)).unwrap();
    assert_eq!(to, addr("198.51.100.99:50002"));
    assert_eq!(
        pair.client_received.last(),
        Some(&Packet::Rtp(pcmu_packet(500, 88)))
    );
}

fn count_dtls(pair: &Pair) -> usize {
    pair.lite_sent
        .iter()
        .chain(&pair.client_sent)
        .filter(|(_, bytes)| (20..=63).contains(&bytes[0]))
        .count()
}
