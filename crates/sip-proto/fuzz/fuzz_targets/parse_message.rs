//! Feeds arbitrary bytes to the datagram parser and the stream framer. Whatever parses
//! must also survive validation, typed access, and a serialize → parse round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
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
    let reparsed = parse_message(&message.to_bytes()).expect("a written message must parse again");
    assert_eq!(&reparsed, message, "serialize → parse changed the message");
}
