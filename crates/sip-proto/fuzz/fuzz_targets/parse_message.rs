//! Feeds arbitrary bytes to the datagram parser and the stream framer. Whatever parses
//! must also survive validation, typed access, and a serialize → parse round trip; a
//! body that parses as SDP goes through offer/answer and its own round trip.
#![no_main]

use std::net::IpAddr;

use libfuzzer_sys::fuzz_target;
use sip_proto::sdp::{AudioConfig, SessionDescription, create_answer, read_answer};
use sip_proto::{Message, StreamFramer, StreamItem, parse_message};

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = parse_message(data) {
        check(&message);
    }
    let mut framer = StreamFramer::default();
    for chunk in data.chunks(7) {
        framer.push(chunk);
        while let Ok(Some(item)) = framer.next_item() {
            if let StreamItem::Message(message) = item {
                check(&message);
            }
        }
    }
});

fn check(message: &Message) {
    match message {
        Message::Request(request) => {
            let _ = request.validate();
        }
        Message::Response(response) => {
            let _ = response.validate();
        }
    }
    let headers = message.headers();
    let _ = headers.vias();
    let _ = headers.from();
    let _ = headers.to();
    let _ = headers.cseq();
    let _ = headers.contacts();
    let _ = headers.routes();
    let _ = headers.digest_challenges(false);
    let _ = headers.digest_credentials(true, "realm");
    // Bodies are often SDP; run the offer/answer code on whatever parses.
    if let Ok(offer) = SessionDescription::parse(message.body()) {
        let config = AudioConfig::new(IpAddr::from([192, 0, 2, 1]), 30000, 1);
        if let Ok((answer, _)) = create_answer(&offer, &config) {
            read_answer(&offer, &answer).expect("our own answer must be readable");
        }
        let reparsed =
            SessionDescription::parse(&offer.to_bytes()).expect("written SDP must parse again");
        assert_eq!(reparsed, offer, "SDP write → parse changed the description");
    }
    let reparsed = parse_message(&message.to_bytes()).expect("a written message must parse again");
    assert_eq!(&reparsed, message, "serialize → parse changed the message");
}
