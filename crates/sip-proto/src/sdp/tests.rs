use std::net::IpAddr;

use super::*;

const CARRIER_OFFER: &str = "v=0\r
o=carrier 2890844526 2890842807 IN IP4 203.0.113.1\r
s=Call\r
i=Inbound trunk call\r
c=IN IP4 203.0.113.1\r
b=AS:64\r
t=0 0\r
a=sendrecv\r
m=audio 49170 RTP/AVP 18 8 0 101\r
a=rtpmap:18 G729/8000\r
a=rtpmap:8 PCMA/8000\r
a=rtpmap:0 PCMU/8000\r
a=rtpmap:101 telephone-event/8000\r
a=fmtp:101 0-15\r
a=ptime:30\r
m=video 51372 RTP/AVP 31\r
a=rtpmap:31 H261/90000\r
";

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn gateway() -> AudioConfig {
    AudioConfig::new(ip("198.51.100.10"), 30000, 42)
}

#[test]
fn parses_and_writes_back_unchanged() {
    let sdp = SessionDescription::parse(CARRIER_OFFER.as_bytes()).unwrap();
    assert_eq!(sdp.origin.username, "carrier");
    assert_eq!(sdp.origin.session_version, 2890842807);
    assert_eq!(sdp.session_name, "Call");
    assert_eq!(
        sdp.connection.as_ref().unwrap().ip(),
        Some(ip("203.0.113.1"))
    );
    assert_eq!(sdp.media.len(), 2);
    let audio = &sdp.media[0];
    assert_eq!(audio.port, 49170);
    assert_eq!(audio.formats, vec!["18", "8", "0", "101"]);
    assert_eq!(audio.rtpmap(8).unwrap().encoding, "PCMA");
    assert_eq!(audio.fmtp(101), Some("0-15"));
    assert_eq!(audio.ptime(), Some(30));
    assert_eq!(sdp.direction_of(audio), Direction::SendRecv);
    assert_eq!(sdp.to_string(), CARRIER_OFFER);
    assert_eq!(SessionDescription::parse(&sdp.to_bytes()).unwrap(), sdp);
}

#[test]
fn out_of_order_lines_are_stored_in_writing_order() {
    let text = "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nk=prompt\r\nt=0 0\r\ni=info\r\nm=audio 1 RTP/AVP 0\r\nk=clear:x\r\ni=media\r\n";
    let sdp = SessionDescription::parse(text.as_bytes()).unwrap();
    assert_eq!(
        sdp.other_lines,
        vec![('i', "info".to_owned()), ('k', "prompt".to_owned())]
    );
    assert_eq!(SessionDescription::parse(&sdp.to_bytes()).unwrap(), sdp);
}

#[test]
fn rejects_malformed_descriptions() {
    let cases: [(&str, SdpError); 6] = [
        ("", SdpError::MissingLine('v')),
        (
            "v=1\r\n",
            SdpError::Syntax {
                line: 1,
                reason: "first line must be v=0",
            },
        ),
        ("v=0\r\ns=-\r\nt=0 0\r\n", SdpError::MissingLine('o')),
        (
            "v=0\r\no=- x 1 IN IP4 a\r\n",
            SdpError::Syntax {
                line: 2,
                reason: "invalid o= line",
            },
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nt=0 0\r\nm =video 3227 RTP/AVP 31\r\n",
            SdpError::Syntax {
                line: 5,
                reason: "expected <type>=<value>",
            },
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 a\r\ns=-\r\nt=0 0\r\nm=audio 70000 RTP/AVP 0\r\n",
            SdpError::Syntax {
                line: 5,
                reason: "invalid m= line",
            },
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(
            SessionDescription::parse(text.as_bytes()),
            Err(expected),
            "{text:?}"
        );
    }
}

#[test]
fn answer_takes_the_first_supported_codec_of_the_offer() {
    let offer = SessionDescription::parse(CARRIER_OFFER.as_bytes()).unwrap();
    let (answer, negotiated) = create_answer(&offer, &gateway()).unwrap();
    // G.729 (18) is not supported; PCMA (8) comes next in the offer's order.
    assert_eq!(negotiated.codec, AudioCodec::Pcma);
    assert_eq!(negotiated.payload_type, 8);
    assert_eq!(negotiated.telephone_event_payload_type, Some(101));
    assert_eq!(negotiated.remote_address, ip("203.0.113.1"));
    assert_eq!(negotiated.remote_port, 49170);
    assert_eq!(negotiated.remote_ptime, Some(30));
    assert_eq!(negotiated.direction, Direction::SendRecv);

    assert_eq!(answer.media.len(), 2, "one answer line per offered line");
    let audio = &answer.media[0];
    assert_eq!(audio.port, 30000);
    assert_eq!(audio.formats, vec!["8", "101"]);
    assert_eq!(audio.fmtp(101), Some("0-15"));
    assert_eq!(answer.direction_of(audio), Direction::SendRecv);
    assert_eq!(
        answer.connection.as_ref().unwrap().ip(),
        Some(ip("198.51.100.10"))
    );
    let video = &answer.media[1];
    assert!(video.is_rejected());
    assert_eq!(video.media, "video");

    // The offerer reads the same result from the answer.
    let seen_by_offerer = read_answer(&offer, &answer).unwrap();
    assert_eq!(seen_by_offerer.codec, AudioCodec::Pcma);
    assert_eq!(seen_by_offerer.remote_address, ip("198.51.100.10"));
    assert_eq!(seen_by_offerer.remote_port, 30000);
    assert_eq!(seen_by_offerer.telephone_event_payload_type, Some(101));
}

fn offer_with(media_lines: &str) -> SessionDescription {
    let text = format!(
        "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n{media_lines}"
    );
    SessionDescription::parse(text.as_bytes()).unwrap()
}

#[test]
fn pcmu_first_in_the_offer_wins_over_our_preference() {
    let offer = offer_with("m=audio 4000 RTP/AVP 0 8\r\n");
    let (_, negotiated) = create_answer(&offer, &gateway()).unwrap();
    assert_eq!(negotiated.codec, AudioCodec::Pcmu);
    assert_eq!(negotiated.telephone_event_payload_type, None);
}

#[test]
fn dynamic_payload_types_are_recognised_by_rtpmap() {
    let offer = offer_with(
        "m=audio 4000 RTP/AVP 96 97 98\r\na=rtpmap:96 opus/48000/2\r\na=rtpmap:97 pcmu/8000\r\na=rtpmap:98 telephone-event/8000\r\n",
    );
    let (answer, negotiated) = create_answer(&offer, &gateway()).unwrap();
    assert_eq!(
        (negotiated.codec, negotiated.payload_type),
        (AudioCodec::Pcmu, 97)
    );
    assert_eq!(negotiated.telephone_event_payload_type, Some(98));
    assert_eq!(answer.media[0].formats, vec!["97", "98"]);
    assert_eq!(answer.media[0].rtpmap(97).unwrap().encoding, "PCMU");
}

#[test]
fn wideband_telephone_events_are_not_taken() {
    let offer = offer_with("m=audio 4000 RTP/AVP 8 100\r\na=rtpmap:100 telephone-event/16000\r\n");
    let (_, negotiated) = create_answer(&offer, &gateway()).unwrap();
    assert_eq!(negotiated.telephone_event_payload_type, None);
}

#[test]
fn no_common_codec_means_488() {
    let offer = offer_with("m=audio 4000 RTP/AVP 18 9\r\n");
    assert_eq!(
        create_answer(&offer, &gateway()),
        Err(SdpError::NoCommonCodec)
    );
    let secure = offer_with("m=audio 4000 RTP/SAVP 0\r\n");
    assert_eq!(
        create_answer(&secure, &gateway()),
        Err(SdpError::NoCommonCodec)
    );
}

#[test]
fn directions_are_mirrored() {
    for (offered, answered) in [
        ("sendonly", Direction::RecvOnly),
        ("recvonly", Direction::SendOnly),
        ("inactive", Direction::Inactive),
        ("sendrecv", Direction::SendRecv),
    ] {
        let offer = offer_with(&format!("m=audio 4000 RTP/AVP 0\r\na={offered}\r\n"));
        let (answer, negotiated) = create_answer(&offer, &gateway()).unwrap();
        assert_eq!(answer.direction_of(&answer.media[0]), answered, "{offered}");
        assert_eq!(negotiated.direction, answered);
    }
    // Putting the caller on hold: we only send (music on hold).
    let mut on_hold = gateway();
    on_hold.direction = Direction::SendOnly;
    let offer = offer_with("m=audio 4000 RTP/AVP 0\r\n");
    let (_, negotiated) = create_answer(&offer, &on_hold).unwrap();
    assert_eq!(negotiated.direction, Direction::SendOnly);
}

#[test]
fn media_level_connection_overrides_session_level() {
    let offer = offer_with("m=audio 4000 RTP/AVP 8\r\nc=IN IP4 192.0.2.99\r\n");
    let (_, negotiated) = create_answer(&offer, &gateway()).unwrap();
    assert_eq!(negotiated.remote_address, ip("192.0.2.99"));
}

#[test]
fn first_usable_audio_stream_is_taken_and_later_ones_rejected() {
    let offer = offer_with(
        "m=audio 0 RTP/AVP 0\r\nm=audio 4000 RTP/AVP 18\r\nm=audio 5000 RTP/AVP 8\r\nm=audio 6000 RTP/AVP 0\r\n",
    );
    let (answer, negotiated) = create_answer(&offer, &gateway()).unwrap();
    assert_eq!(negotiated.remote_port, 5000);
    let ports: Vec<u16> = answer.media.iter().map(|media| media.port).collect();
    assert_eq!(ports, vec![0, 0, 30000, 0]);
}

#[test]
fn our_offer_lists_codecs_events_ptime_and_direction() {
    let offer = create_offer(&gateway());
    let text = offer.to_string();
    assert!(text.contains("m=audio 30000 RTP/AVP 8 0 101\r\n"), "{text}");
    assert!(text.contains("a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n"));
    assert!(text.contains("a=ptime:20\r\na=sendrecv\r\n"));
    assert!(text.starts_with(
        "v=0\r\no=- 42 1 IN IP4 198.51.100.10\r\ns=-\r\nc=IN IP4 198.51.100.10\r\nt=0 0\r\n"
    ));
    // A softphone that only knows PCMU answers with it.
    let mut softphone = AudioConfig::new(ip("10.0.0.7"), 7078, 1);
    softphone.codecs = vec![AudioCodec::Pcmu];
    let (answer, _) = create_answer(&offer, &softphone).unwrap();
    let negotiated = read_answer(&offer, &answer).unwrap();
    assert_eq!(
        (negotiated.codec, negotiated.payload_type),
        (AudioCodec::Pcmu, 0)
    );
    assert_eq!(negotiated.remote_address, ip("10.0.0.7"));
}

#[test]
fn read_answer_refuses_a_mismatched_answer() {
    let offer = create_offer(&gateway());
    let two_lines = offer_with("m=audio 4000 RTP/AVP 8\r\nm=video 0 RTP/AVP 31\r\n");
    assert!(matches!(
        read_answer(&offer, &two_lines),
        Err(SdpError::AnswerMismatch(_))
    ));
    let rejected = offer_with("m=audio 0 RTP/AVP 8\r\n");
    assert_eq!(read_answer(&offer, &rejected), Err(SdpError::NoCommonCodec));
}

#[test]
fn ipv6_connection() {
    let config = AudioConfig::new(ip("2001:db8::10"), 30000, 7);
    let offer = create_offer(&config);
    assert!(offer.to_string().contains("c=IN IP6 2001:db8::10\r\n"));
    let parsed = SessionDescription::parse(&offer.to_bytes()).unwrap();
    assert_eq!(parsed.connection.unwrap().ip(), Some(ip("2001:db8::10")));
}

#[test]
fn read_answer_accepts_every_rtp_audio_profile() {
    let offer = create_offer(&gateway());
    for profile in [
        "RTP/AVP",
        "RTP/AVPF",
        "RTP/SAVP",
        "RTP/SAVPF",
        "UDP/TLS/RTP/SAVP",
        "UDP/TLS/RTP/SAVPF",
        "udp/tls/rtp/savpf",
    ] {
        let answer = offer_with(&format!("m=audio 4000 {profile} 8\r\n"));
        let negotiated = read_answer(&offer, &answer).unwrap();
        assert_eq!(negotiated.codec, AudioCodec::Pcma, "{profile}");
    }
    let not_rtp = offer_with("m=audio 4000 udp 8\r\n");
    assert_eq!(read_answer(&offer, &not_rtp), Err(SdpError::NoCommonCodec));
}
