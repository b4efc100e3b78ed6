//! Property tests: generated messages survive serialize → parse unchanged, the stream
//! framer cuts any chunking of a byte stream into the same messages, and the parser
//! never panics on arbitrary or mutated input.

use proptest::prelude::*;
use sip_proto::{
    CSeq, Contact, HeaderName, Headers, Host, Message, Method, NameAddr, Params, Request, Response,
    Scheme, SipUri, StatusCode, StreamFramer, StreamItem, Transport, Uri, Via, parse_message,
};

fn token() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9.!%*_+`'~-]{1,10}"
}

fn host() -> impl Strategy<Value = Host> {
    prop_oneof![
        "[a-z][a-z0-9-]{0,8}(\\.[a-z][a-z0-9-]{0,8}){0,3}".prop_map(Host::Domain),
        any::<[u8; 4]>().prop_map(|octets| Host::V4(octets.into())),
        any::<[u16; 8]>().prop_map(|segments| Host::V6(segments.into())),
    ]
}

fn uri_params() -> impl Strategy<Value = Params> {
    proptest::collection::vec(
        (
            "[a-z][a-z0-9-]{0,8}",
            proptest::option::of("[a-zA-Z0-9._~-]{1,8}"),
        ),
        0..4,
    )
    .prop_map(|params| params.into_iter().collect())
}

fn header_params() -> impl Strategy<Value = Params> {
    proptest::collection::vec(
        (
            "[a-z][a-z0-9-]{0,8}",
            proptest::option::of(prop_oneof![
                token(),
                "[a-z ,;=]{0,8}".prop_map(|v| format!("\"{v}\""))
            ]),
        ),
        0..4,
    )
    .prop_map(|params| params.into_iter().collect())
}

fn sip_uri() -> impl Strategy<Value = SipUri> {
    (
        prop_oneof![Just(Scheme::Sip), Just(Scheme::Sips)],
        proptest::option::of((
            "([a-zA-Z0-9_.!~*'()&=+$,;?/-]|%[0-9A-F]{2}){1,12}",
            proptest::option::of("[a-z0-9]{1,8}"),
        )),
        host(),
        proptest::option::of(any::<u16>()),
        uri_params(),
        proptest::collection::vec(("[A-Za-z]{1,8}", "[a-zA-Z0-9._-]{0,8}"), 0..3),
    )
        .prop_map(|(scheme, userinfo, host, port, params, headers)| {
            let (user, password) = match userinfo {
                Some((user, password)) => (Some(user), password),
                None => (None, None),
            };
            SipUri {
                scheme,
                user,
                password,
                host,
                port,
                params,
                headers,
            }
        })
}

fn uri() -> impl Strategy<Value = Uri> {
    prop_oneof![
        4 => sip_uri().prop_map(Uri::Sip),
        1 => "tel:\\+[0-9]{3,12}".prop_map(Uri::Other),
    ]
}

fn name_addr() -> impl Strategy<Value = NameAddr> {
    (
        proptest::option::of("[^\r\n]{0,16}"),
        uri(),
        header_params(),
    )
        .prop_map(|(display_name, uri, params)| NameAddr {
            display_name,
            uri,
            params,
        })
}

fn via() -> impl Strategy<Value = Via> {
    (
        prop_oneof![
            Just(Transport::Udp),
            Just(Transport::Tcp),
            Just(Transport::Tls),
            Just(Transport::Ws),
            Just(Transport::Wss),
            Just(Transport::Other("XYZ".into())),
        ],
        host(),
        proptest::option::of(any::<u16>()),
        "z9hG4bK[a-zA-Z0-9.!%*_+`'~-]{1,16}",
        any::<bool>(),
    )
        .prop_map(|(transport, host, port, branch, rport)| {
            let mut via = Via::new(transport, host, port, &branch);
            if rport {
                via.params.set("rport", None);
            }
            via
        })
}

fn method() -> impl Strategy<Value = Method> {
    prop_oneof![
        Just(Method::Invite),
        Just(Method::Ack),
        Just(Method::Bye),
        Just(Method::Cancel),
        Just(Method::Register),
        Just(Method::Options),
        "[A-Z]{3,10}".prop_map(|name| Method::from_token(&name).unwrap()),
    ]
}

fn headers() -> impl Strategy<Value = Headers> {
    (
        proptest::collection::vec(via(), 1..4),
        name_addr(),
        name_addr(),
        "[a-zA-Z0-9.!%*_+`'~()<>:\\\\\"/\\[\\]?{}-]{1,20}(@[a-z0-9.]{1,10})?",
        (any::<u32>(), method()),
        proptest::collection::vec(
            prop_oneof![1 => Just(Contact::Wildcard), 4 => name_addr().prop_map(Contact::Address)],
            0..3,
        ),
        proptest::collection::vec(name_addr(), 0..3),
        proptest::collection::vec(
            (
                "X-[A-Za-z0-9-]{1,10}",
                "([!-~\u{a0}-\u{2000}]([ -~\u{a0}-\u{2000}]{0,30}[!-~])?)?",
            ),
            0..4,
        ),
    )
        .prop_map(
            |(vias, from, to, call_id, (seq, method), contacts, routes, extensions)| {
                let mut headers = Headers::new();
                for via in vias {
                    headers.push(HeaderName::Via, via.to_string());
                }
                headers.push(HeaderName::From, from.to_string());
                headers.push(HeaderName::To, to.to_string());
                headers.push(HeaderName::CallId, call_id);
                headers.push(HeaderName::CSeq, CSeq { seq, method }.to_string());
                headers.push(HeaderName::MaxForwards, "70");
                for contact in contacts {
                    headers.push(HeaderName::Contact, contact.to_string());
                }
                for route in routes {
                    headers.push(HeaderName::Route, route.to_string());
                }
                for (name, value) in extensions {
                    headers.push(HeaderName::from_wire(&name), value);
                }
                headers
            },
        )
}

fn message() -> impl Strategy<Value = Message> {
    let body = proptest::collection::vec(any::<u8>(), 0..64);
    prop_oneof![
        (method(), uri(), headers(), body.clone()).prop_map(|(method, uri, headers, body)| {
            Message::Request(Request {
                method,
                uri,
                headers,
                body,
            })
        }),
        (100u16..=699, "[ -~]{0,20}", headers(), body).prop_map(|(code, reason, headers, body)| {
            Message::Response(Response {
                status: StatusCode::new(code).unwrap(),
                reason,
                headers,
                body,
            })
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn uri_round_trip(uri in uri()) {
        prop_assert_eq!(Uri::parse(&uri.to_string()).unwrap(), uri);
    }

    #[test]
    fn name_addr_round_trip(address in name_addr()) {
        prop_assert_eq!(NameAddr::parse(&address.to_string(), "To").unwrap(), address);
    }

    #[test]
    fn via_round_trip(via in via()) {
        prop_assert_eq!(Via::parse(&via.to_string()).unwrap(), via);
    }

    #[test]
    fn message_round_trip(message in message()) {
        let bytes = message.to_bytes();
        let parsed = parse_message(&bytes).unwrap();
        prop_assert_eq!(&parsed, &message);
        // Typed views agree with what was generated.
        let headers = parsed.headers();
        prop_assert!(headers.vias().is_ok());
        prop_assert!(headers.from().is_ok());
        prop_assert!(headers.to().is_ok());
        prop_assert!(headers.call_id().is_ok());
        prop_assert!(headers.cseq().is_ok());
        prop_assert!(headers.contacts().is_ok());
        prop_assert!(headers.routes().is_ok());
    }

    #[test]
    fn framer_reassembles_any_chunking(
        messages in proptest::collection::vec(message(), 1..4),
        chunk_sizes in proptest::collection::vec(1usize..200, 1..50),
    ) {
        let stream: Vec<u8> = messages.iter().flat_map(Message::to_bytes).collect();
        let mut framer = StreamFramer::default();
        let mut received = Vec::new();
        let mut offset = 0;
        let mut sizes = chunk_sizes.iter().cycle();
        while offset < stream.len() {
            let end = (offset + sizes.next().unwrap()).min(stream.len());
            framer.push(&stream[offset..end]);
            offset = end;
            while let Some(item) = framer.next_item().unwrap() {
                match item {
                    StreamItem::Message(message) => received.push(message),
                    other => prop_assert!(false, "unexpected {:?}", other),
                }
            }
        }
        prop_assert_eq!(received, messages);
    }

    #[test]
    fn parser_never_panics_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_message(&bytes);
    }

    #[test]
    fn parser_never_panics_on_mutated_messages(
        message in message(),
        mutations in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let mut bytes = message.to_bytes();
        for (index, byte) in mutations {
            let position = index.index(bytes.len());
            bytes[position] = byte;
        }
        if let Ok(Message::Request(request)) = parse_message(&bytes) {
            let _ = request.validate();
        }
    }
}

mod sdp_round_trip {
    use proptest::prelude::*;
    use sip_proto::sdp::{Attribute, Connection, MediaDescription, Origin, SessionDescription};

    fn word() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9.+-]{1,10}"
    }

    fn connection() -> impl Strategy<Value = Connection> {
        (word(), word(), word()).prop_map(|(net_type, addr_type, address)| Connection {
            net_type,
            addr_type,
            address,
        })
    }

    fn attributes() -> impl Strategy<Value = Vec<Attribute>> {
        proptest::collection::vec(
            ("[a-z][a-z0-9-]{0,10}", proptest::option::of("[ -~]{0,20}"))
                .prop_map(|(name, value)| Attribute { name, value }),
            0..4,
        )
    }

    fn other_lines(
        first: &'static str,
        second: &'static str,
    ) -> impl Strategy<Value = Vec<(char, String)>> {
        let line = |kinds: &'static str| {
            (
                proptest::sample::select(kinds.chars().collect::<Vec<_>>()),
                "[ -~]{0,16}",
            )
        };
        (
            proptest::collection::vec(line(first), 0..3),
            proptest::collection::vec(line(second), 0..3),
        )
            .prop_map(|(mut before, after)| {
                before.extend(after);
                before
            })
    }

    fn media() -> impl Strategy<Value = MediaDescription> {
        (
            "[a-z]{1,8}",
            any::<u16>(),
            proptest::option::of(any::<u16>()),
            "[A-Z][A-Z/]{0,10}",
            proptest::collection::vec("[0-9a-z]{1,3}", 1..5),
            proptest::option::of(connection()),
            proptest::collection::vec("[A-Z]{1,4}:[0-9]{1,5}", 0..2),
            attributes(),
            other_lines("i", "k"),
        )
            .prop_map(
                |(
                    media,
                    port,
                    port_count,
                    protocol,
                    formats,
                    connection,
                    bandwidths,
                    attributes,
                    other_lines,
                )| {
                    MediaDescription {
                        media,
                        port,
                        port_count,
                        protocol,
                        formats,
                        connection,
                        bandwidths,
                        attributes,
                        other_lines,
                    }
                },
            )
    }

    fn session() -> impl Strategy<Value = SessionDescription> {
        (
            (word(), "[0-9]{1,12}", any::<u64>(), word(), word(), word()),
            "[ -~]{0,20}",
            proptest::option::of(connection()),
            proptest::collection::vec("[A-Z]{1,4}:[0-9]{1,5}", 0..2),
            (any::<u64>(), any::<u64>()),
            attributes(),
            proptest::collection::vec(media(), 0..3),
            other_lines("iuep", "rzk"),
        )
            .prop_map(
                |(
                    (username, session_id, session_version, net_type, addr_type, address),
                    session_name,
                    connection,
                    bandwidths,
                    timing,
                    attributes,
                    media,
                    other_lines,
                )| SessionDescription {
                    origin: Origin {
                        username,
                        session_id,
                        session_version,
                        net_type,
                        addr_type,
                        address,
                    },
                    session_name,
                    connection,
                    bandwidths,
                    timing,
                    attributes,
                    media,
                    other_lines,
                },
            )
    }

    proptest! {
        #[test]
        fn sdp_survives_write_and_parse(session in session()) {
            let parsed = SessionDescription::parse(&session.to_bytes()).unwrap();
            prop_assert_eq!(parsed, session);
        }

        #[test]
        fn sdp_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = SessionDescription::parse(&bytes);
        }
    }
}
