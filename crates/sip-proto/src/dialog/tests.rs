use super::*;
use crate::message::Message;
use crate::parse::parse_message;
use crate::typed::Transport;
use crate::uri::Host;

fn invite() -> Request {
    let text = "INVITE sip:12351@gw.example.cn SIP/2.0\r\n\
        Via: SIP/2.0/UDP 203.0.113.1:5060;branch=z9hG4bKa1\r\n\
        Max-Forwards: 70\r\n\
        From: \"Caller\" <sip:+8613800000000@carrier.example.cn>;tag=caller-tag\r\n\
        To: <sip:12351@gw.example.cn>\r\n\
        Call-ID: dialog-test@203.0.113.1\r\n\
        CSeq: 10 INVITE\r\n\
        Contact: <sip:+8613800000000@203.0.113.1:5060>\r\n\
        Record-Route: <sip:p2.example.cn;lr>, <sip:p1.example.cn;lr>\r\n\
        Content-Length: 0\r\n\r\n";
    match parse_message(text.as_bytes()).unwrap() {
        Message::Request(request) => request,
        Message::Response(_) => unreachable!(),
    }
}

fn answer(request: &Request, code: u16) -> Response {
    let mut response =
        Response::for_request(request, StatusCode::new(code).unwrap(), Some("gw-tag"));
    for record_route in request.headers.get_all(&HeaderName::RecordRoute) {
        response.headers.push(HeaderName::RecordRoute, record_route);
    }
    response
        .headers
        .push(HeaderName::Contact, "<sip:agent7@10.0.0.7:5062>");
    response
}

fn via(branch: &str) -> Via {
    Via::new(
        Transport::Udp,
        Host::V4([10, 0, 0, 7].into()),
        Some(5062),
        branch,
    )
}

#[test]
fn uac_and_uas_see_the_same_dialog_from_both_ends() {
    let invite = invite();
    let ok = answer(&invite, 200);
    let uac = Dialog::from_uac(&invite, &ok).unwrap();
    let uas = Dialog::from_uas(&invite, &ok).unwrap();
    assert_eq!(uac.state, DialogState::Confirmed);
    assert_eq!(uac.id.local_tag, "caller-tag");
    assert_eq!(uac.id.remote_tag, "gw-tag");
    assert_eq!(uas.id.local_tag, "gw-tag");
    assert_eq!(uas.id.remote_tag, "caller-tag");
    assert_eq!(uac.id.call_id, uas.id.call_id);
    // The UAC reverses Record-Route; the UAS keeps its order.
    let hosts = |dialog: &Dialog| -> Vec<String> {
        dialog
            .route_set
            .iter()
            .map(|route| route.uri.as_sip().unwrap().host.to_string())
            .collect()
    };
    assert_eq!(hosts(&uac), vec!["p1.example.cn", "p2.example.cn"]);
    assert_eq!(hosts(&uas), vec!["p2.example.cn", "p1.example.cn"]);
    assert_eq!(uac.remote_target.to_string(), "sip:agent7@10.0.0.7:5062");
    assert_eq!(
        uas.remote_target.to_string(),
        "sip:+8613800000000@203.0.113.1:5060"
    );
    assert_eq!(
        DialogId::for_received_response(&ok).unwrap(),
        Some(uac.id.clone())
    );
}

#[test]
fn bye_from_the_uas_travels_the_route_set_and_is_accepted_by_the_uac() {
    let invite = invite();
    let ok = answer(&invite, 200);
    let mut uac = Dialog::from_uac(&invite, &ok).unwrap();
    let mut uas = Dialog::from_uas(&invite, &ok).unwrap();

    let bye = uas.create_request(Method::Bye, &via("z9hG4bKbye1"));
    bye.validate().unwrap();
    assert_eq!(bye.uri.to_string(), "sip:+8613800000000@203.0.113.1:5060");
    let routes: Vec<&str> = bye.headers.get_all(&HeaderName::Route).collect();
    assert_eq!(
        routes,
        vec!["<sip:p2.example.cn;lr>", "<sip:p1.example.cn;lr>"]
    );
    assert_eq!(bye.headers.cseq().unwrap().seq, 1);
    assert!(!bye.headers.contains(&HeaderName::Contact));
    assert_eq!(bye.headers.from().unwrap().tag(), Some("gw-tag"));
    assert_eq!(bye.headers.to().unwrap().tag(), Some("caller-tag"));

    // Through the wire and back.
    let Message::Request(received) = parse_message(&bye.to_bytes()).unwrap() else {
        unreachable!()
    };
    assert_eq!(
        DialogId::for_received_request(&received).unwrap(),
        Some(uac.id.clone())
    );
    uac.handle_request(&received).unwrap();
    assert_eq!(uac.remote_seq, Some(1));
}

#[test]
fn local_cseq_increments_and_ack_reuses_the_invite_number() {
    let invite = invite();
    let ok = answer(&invite, 200);
    let mut uac = Dialog::from_uac(&invite, &ok).unwrap();
    let ack = uac.create_ack(10, &via("z9hG4bKack"));
    assert_eq!(
        ack.headers.cseq().unwrap(),
        CSeq {
            seq: 10,
            method: Method::Ack
        }
    );
    assert_eq!(ack.uri.to_string(), "sip:agent7@10.0.0.7:5062");
    ack.validate().unwrap();
    let reinvite = uac.create_request(Method::Invite, &via("z9hG4bKre"));
    assert_eq!(reinvite.headers.cseq().unwrap().seq, 11);
    assert_eq!(
        reinvite.headers.get(&HeaderName::Contact),
        Some("<sip:+8613800000000@203.0.113.1:5060>")
    );
    let refer = uac.create_request(Method::Refer, &via("z9hG4bKrefer"));
    assert_eq!(refer.headers.cseq().unwrap().seq, 12);
    let info = uac.create_request(Method::Info, &via("z9hG4bKinfo"));
    assert_eq!(info.headers.cseq().unwrap().seq, 13);
    assert!(!info.headers.contains(&HeaderName::Contact));
}

#[test]
fn out_of_order_and_foreign_requests_are_refused() {
    let invite = invite();
    let ok = answer(&invite, 200);
    let mut uas = Dialog::from_uas(&invite, &ok).unwrap();
    let mut uac = Dialog::from_uac(&invite, &ok).unwrap();
    uac.local_seq = Some(3);
    let stale = uac.create_request(Method::Info, &via("z9hG4bKold"));
    assert_eq!(
        uas.handle_request(&stale),
        Err(DialogError::OutOfOrder {
            received: 4,
            last: 10
        })
    );
    let mut foreign = stale.clone();
    foreign.headers.set(HeaderName::To, "<sip:x@y>;tag=other");
    assert_eq!(uas.handle_request(&foreign), Err(DialogError::NotInDialog));
    // ACK reuses the INVITE's CSeq and is always in order.
    let ack = uac.create_ack(10, &via("z9hG4bKack"));
    assert_eq!(uas.handle_request(&ack), Ok(()));
}

#[test]
fn early_dialog_is_confirmed_and_refreshed_by_the_2xx() {
    let invite = invite();
    let mut ringing = answer(&invite, 180);
    ringing.headers.remove(&HeaderName::Contact);
    let mut uac = Dialog::from_uac(&invite, &ringing).unwrap();
    assert_eq!(uac.state, DialogState::Early);
    assert_eq!(uac.remote_target, invite.uri);
    let mut ok = answer(&invite, 200);
    ok.headers
        .set(HeaderName::RecordRoute, "<sip:p9.example.cn;lr>");
    uac.handle_response(&Method::Invite, &ok).unwrap();
    assert_eq!(uac.state, DialogState::Confirmed);
    assert_eq!(uac.remote_target.to_string(), "sip:agent7@10.0.0.7:5062");
    assert_eq!(uac.route_set.len(), 1);
}

#[test]
fn reinvite_from_the_peer_refreshes_the_target() {
    let invite = invite();
    let ok = answer(&invite, 200);
    let mut uas = Dialog::from_uas(&invite, &ok).unwrap();
    let mut uac = Dialog::from_uac(&invite, &ok).unwrap();
    uac.local_contact = Some("<sip:+8613800000000@198.51.100.4:5070>".into());
    let reinvite = uac.create_request(Method::Invite, &via("z9hG4bKre"));
    uas.handle_request(&reinvite).unwrap();
    assert_eq!(
        uas.remote_target.to_string(),
        "sip:+8613800000000@198.51.100.4:5070"
    );
    assert_eq!(uas.remote_seq, Some(11));
}

#[test]
fn strict_router_gets_the_request_uri() {
    let invite = invite();
    let mut ok = answer(&invite, 200);
    ok.headers.set(
        HeaderName::RecordRoute,
        "<sip:strict.example.cn;transport=udp>",
    );
    let mut uac = Dialog::from_uac(&invite, &ok).unwrap();
    let bye = uac.create_request(Method::Bye, &via("z9hG4bKs"));
    assert_eq!(bye.uri.to_string(), "sip:strict.example.cn;transport=udp");
    let routes: Vec<&str> = bye.headers.get_all(&HeaderName::Route).collect();
    assert_eq!(routes, vec!["<sip:agent7@10.0.0.7:5062>"]);
}

#[test]
fn non_dialog_responses_are_refused() {
    let invite = invite();
    assert_eq!(
        Dialog::from_uac(&invite, &answer(&invite, 100)),
        Err(DialogError::NotDialogCreating(StatusCode::TRYING))
    );
    assert_eq!(
        Dialog::from_uac(&invite, &answer(&invite, 486)),
        Err(DialogError::NotDialogCreating(StatusCode::BUSY_HERE))
    );
    let untagged = Response::for_request(&invite, StatusCode::OK, None);
    assert_eq!(
        Dialog::from_uac(&invite, &untagged),
        Err(DialogError::MissingTag("To"))
    );
    let mut no_contact = answer(&invite, 200);
    no_contact.headers.remove(&HeaderName::Contact);
    assert_eq!(
        Dialog::from_uac(&invite, &no_contact),
        Err(DialogError::MissingContact)
    );
}
