use std::net::SocketAddr;

use hotline_webrtc::{
    DtlsIdentity, DtlsSetup, LocalParameters, WebRtcError, add_local_parameters, is_webrtc,
    remote_parameters,
};
use sip_proto::sdp::{AudioConfig, SessionDescription, create_offer, read_answer};

use crate::pair::addr;

/// What Chromium answers to a gateway offer: trickle ICE candidates including an mDNS
/// name and a TCP one, a=setup:active, msid and ssrc lines.
const CHROMIUM_ANSWER: &str = "v=0\r\n\
o=- 4611731400430051336 2 IN IP4 127.0.0.1\r\n\
s=-\r\n\
t=0 0\r\n\
a=group:BUNDLE 0\r\n\
a=extmap-allow-mixed\r\n\
a=msid-semantic: WMS 3a7f2c1e-5b9d-4e08-a2f6-9c1d7e4b8a03\r\n\
m=audio 54321 UDP/TLS/RTP/SAVPF 0 101\r\n\
c=IN IP4 192.168.1.23\r\n\
a=rtcp:9 IN IP4 0.0.0.0\r\n\
a=candidate:3892553203 1 udp 2122260223 192.168.1.23 54321 typ host generation 0 network-id 1 network-cost 10\r\n\
a=candidate:1718512345 1 udp 2122194687 6cb3b27e-1f0b-4a1d-9d3c-2f6f0b4e7a11.local 54322 typ host generation 0 network-id 2\r\n\
a=candidate:2999745851 1 tcp 1518280447 192.168.1.23 9 typ host tcptype active generation 0 network-id 1 network-cost 10\r\n\
a=candidate:842163049 1 udp 1686052607 203.0.113.77 61234 typ srflx raddr 192.168.1.23 rport 54321 generation 0 network-id 1 network-cost 10\r\n\
a=candidate:4234997325 1 udp 2122262783 2001:db8::23 54323 typ host generation 0 network-id 3\r\n\
a=ice-ufrag:Wq3x\r\n\
a=ice-pwd:O4pKf9qN3bLx7ZrT2yVhUe1s\r\n\
a=ice-options:trickle\r\n\
a=fingerprint:sha-256 5C:2B:91:0E:7A:44:D3:18:F6:0C:9B:AE:21:73:E5:4F:88:1D:C2:6A:B7:30:59:E4:0F:93:7C:16:A8:D5:42:BB\r\n\
a=setup:active\r\n\
a=mid:0\r\n\
a=sendrecv\r\n\
a=msid:3a7f2c1e-5b9d-4e08-a2f6-9c1d7e4b8a03 b1e4c7d2-0a9f-4c35-8e61-7d2b3f9a0c54\r\n\
a=rtcp-mux\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-16\r\n\
a=ptime:20\r\n\
a=ssrc:2863921427 cname:Hk2mX9pQ4rT7vYw1\r\n\
a=ssrc:2863921427 msid:3a7f2c1e-5b9d-4e08-a2f6-9c1d7e4b8a03 b1e4c7d2-0a9f-4c35-8e61-7d2b3f9a0c54\r\n";

fn gateway_offer(candidate: SocketAddr) -> (SessionDescription, LocalParameters) {
    let identity = DtlsIdentity::generate().unwrap();
    let local = LocalParameters {
        ice: hotline_webrtc::IceCredentials::random(),
        fingerprint: identity.fingerprint().clone(),
        setup: DtlsSetup::ActPass,
        ice_lite: true,
    };
    let mut offer = create_offer(&AudioConfig::new(candidate.ip(), candidate.port(), 42));
    add_local_parameters(&mut offer, &local, candidate);
    (offer, local)
}

#[test]
fn local_parameters_round_trip_through_sdp_text() {
    let candidate = addr("192.0.2.10:40000");
    let (offer, local) = gateway_offer(candidate);
    let text = offer.to_string();
    for line in [
        "a=ice-lite\r\n",
        "a=group:BUNDLE 0\r\n",
        "m=audio 40000 UDP/TLS/RTP/SAVPF 8 0 101\r\n",
        "a=mid:0\r\n",
        "a=setup:actpass\r\n",
        "a=rtcp-mux\r\n",
        "a=rtcp:40000\r\n",
        "a=candidate:1 1 udp 2130706431 192.0.2.10 40000 typ host\r\n",
        "a=end-of-candidates\r\n",
        "a=rtpmap:8 PCMA/8000\r\n",
        "a=ptime:20\r\n",
        "a=sendrecv\r\n",
    ] {
        assert!(text.contains(line), "{line:?} missing from\n{text}");
    }
    assert!(text.find("a=ice-lite").unwrap() < text.find("m=audio").unwrap());
    let parsed = SessionDescription::parse(text.as_bytes()).unwrap();
    assert!(is_webrtc(&parsed));
    let remote = remote_parameters(&parsed).unwrap();
    assert_eq!(remote.ice, local.ice);
    assert_eq!(remote.fingerprint, local.fingerprint);
    assert_eq!(remote.setup, DtlsSetup::ActPass);
    assert_eq!(remote.candidates, vec![candidate]);

    // Doing it again (a re-offer) replaces rather than duplicates.
    let mut again = parsed.clone();
    add_local_parameters(&mut again, &local, candidate);
    assert_eq!(again.to_string().matches("a=ice-ufrag").count(), 1);
    assert_eq!(again.to_string().matches("a=group").count(), 1);
}

#[test]
fn a_chromium_answer_parses() {
    let answer = SessionDescription::parse(CHROMIUM_ANSWER.as_bytes()).unwrap();
    assert!(is_webrtc(&answer));
    let remote = remote_parameters(&answer).unwrap();
    assert_eq!(remote.ice.ufrag, "Wq3x");
    assert_eq!(remote.ice.pwd, "O4pKf9qN3bLx7ZrT2yVhUe1s");
    assert_eq!(remote.setup, DtlsSetup::Active);
    assert_eq!(remote.fingerprint.algorithm, "sha-256");
    assert!(remote.fingerprint.value.starts_with("5C:2B:91"));
    assert_eq!(
        remote.candidates,
        vec![
            addr("192.168.1.23:54321"),
            addr("203.0.113.77:61234"),
            addr("[2001:db8::23]:54323"),
        ]
    );
}

#[test]
fn sip_proto_reads_a_webrtc_answer_to_a_webrtc_offer() {
    let (offer, _) = gateway_offer(addr("192.0.2.10:40000"));
    let answer = SessionDescription::parse(CHROMIUM_ANSWER.as_bytes()).unwrap();
    let negotiated = read_answer(&offer, &answer).unwrap();
    assert_eq!(negotiated.payload_type, 0);
    assert_eq!(negotiated.telephone_event_payload_type, Some(101));
    assert_eq!(negotiated.remote_ptime, Some(20));
}

#[test]
fn session_level_attributes_are_the_fallback() {
    let text = CHROMIUM_ANSWER
        .replace("a=ice-ufrag:Wq3x\r\n", "")
        .replace("t=0 0\r\n", "t=0 0\r\na=ice-ufrag:Sess\r\n");
    let answer = SessionDescription::parse(text.as_bytes()).unwrap();
    assert_eq!(remote_parameters(&answer).unwrap().ice.ufrag, "Sess");
}

#[test]
fn missing_or_bad_attributes_are_named() {
    let cases = [
        ("a=fingerprint:", "a=fingerprint: missing"),
        ("a=ice-ufrag:", "a=ice-ufrag: missing"),
        ("a=ice-pwd:", "a=ice-pwd: missing"),
    ];
    for (prefix, message) in cases {
        let text: String = CHROMIUM_ANSWER
            .split_inclusive("\r\n")
            .filter(|line| !line.starts_with(prefix))
            .collect();
        let answer = SessionDescription::parse(text.as_bytes()).unwrap();
        let error = remote_parameters(&answer).unwrap_err();
        assert_eq!(error.to_string(), message);
    }
    let sha1 = CHROMIUM_ANSWER.replace("a=fingerprint:sha-256 5C:2B", "a=fingerprint:sha-1 5C:2B");
    let answer = SessionDescription::parse(sha1.as_bytes()).unwrap();
    assert!(matches!(
        remote_parameters(&answer),
        Err(WebRtcError::BadAttribute {
            attribute: "fingerprint",
            ..
        })
    ));
    let bad_setup = CHROMIUM_ANSWER.replace("a=setup:active", "a=setup:sideways");
    let answer = SessionDescription::parse(bad_setup.as_bytes()).unwrap();
    assert!(
        remote_parameters(&answer)
            .unwrap_err()
            .to_string()
            .starts_with("a=setup:")
    );
}

#[test]
fn plain_sip_sdp_is_not_webrtc() {
    let offer = create_offer(&AudioConfig::new("192.0.2.1".parse().unwrap(), 4000, 1));
    assert!(!is_webrtc(&offer));
    assert!(matches!(
        remote_parameters(&offer),
        Err(WebRtcError::MissingAttribute("ice-ufrag"))
    ));
}
