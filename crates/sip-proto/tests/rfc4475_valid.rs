//! RFC 4475 §3.1.1: torture-test messages that must parse and validate.

mod common;

use common::{SDP_150, crlf, parse_request};
use sip_proto::{Contact, Host, Message, Method, Rport, StatusCode, Transport, Uri, parse_message};

// 3.1.1.1 A Short Tortuous INVITE
#[test]
fn wsinv() {
    let text = format!(
        "INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0
TO :
 sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n
from   : \"J Rosenberg \\\\\\\"\"       <sip:jdrosen@example.com>
  ;
  tag = 98asjd8
MaX-fOrWaRdS: 0068
Call-ID: wsinv.ndaksdj@192.0.2.1
Content-Length   : 150
cseq: 0009
  INVITE
Via  : SIP  /   2.0
 /UDP
    192.0.2.2;branch=390skdjuw
s :
NewFangledHeader:   newfangled value
 continued newfangled value
UnknownHeaderWithUnusualValue: ;;,,;;,;
Content-Type: application/sdp
Route:
 <sip:services.example.com;lr;unknownwith=value;unknown-no-value>
v:  SIP  / 2.0  / TCP     spindle.example.com   ;
  branch  =   z9hG4bK9ikj8  ,
 SIP  /    2.0   / UDP  192.168.255.111   ; branch=
 z9hG4bK30239
m:\"Quoted string \\\"\\\"\" <sip:jdrosen@example.com> ; newparam =
      newvalue ;
  secondparam ; q = 0.33

{SDP_150}"
    );
    let request = parse_request(&text);
    let headers = &request.headers;
    assert_eq!(request.method, Method::Invite);
    let ruri = request.uri.as_sip().unwrap();
    assert_eq!(ruri.user.as_deref(), Some("vivekg"));
    assert_eq!(ruri.params.get("unknownparam"), Some(None));
    assert_eq!(headers.to().unwrap().tag(), Some("1918181833n"));
    let from = headers.from().unwrap();
    assert_eq!(from.display_name.as_deref(), Some("J Rosenberg \\\""));
    assert_eq!(from.tag(), Some("98asjd8"));
    assert_eq!(headers.max_forwards().unwrap(), Some(68));
    assert_eq!(headers.call_id().unwrap(), "wsinv.ndaksdj@192.0.2.1");
    let cseq = headers.cseq().unwrap();
    assert_eq!((cseq.seq, cseq.method), (9, Method::Invite));
    let vias = headers.vias().unwrap();
    assert_eq!(vias.len(), 3);
    assert_eq!(vias[0].branch(), Some("390skdjuw"));
    assert!(!vias[0].has_rfc3261_branch());
    assert_eq!(vias[1].transport, Transport::Tcp);
    assert_eq!(vias[1].host, Host::Domain("spindle.example.com".into()));
    assert_eq!(vias[2].branch(), Some("z9hG4bK30239"));
    assert_eq!(headers.get(&"Subject".into()), Some(""));
    assert_eq!(
        headers.get(&"newfangledheader".into()),
        Some("newfangled value continued newfangled value")
    );
    assert_eq!(
        headers.get(&"UnknownHeaderWithUnusualValue".into()),
        Some(";;,,;;,;")
    );
    let routes = headers.routes().unwrap();
    assert!(routes[0].uri.as_sip().unwrap().is_loose_route());
    let contacts = headers.contacts().unwrap();
    assert_eq!(contacts.len(), 1);
    let contact = contacts[0].address().unwrap();
    assert_eq!(contact.display_name.as_deref(), Some("Quoted string \"\""));
    assert_eq!(contact.params.get("newparam"), Some(Some("newvalue")));
    assert_eq!(contact.params.get("secondparam"), Some(None));
    assert_eq!(contacts[0].q_millis(), Some(330));
    assert_eq!(request.body.len(), 150);
    assert!(
        headers
            .content_type()
            .unwrap()
            .unwrap()
            .is("application", "sdp")
    );
}

// 3.1.1.2 Wide Range of Valid Characters
#[test]
fn intmeth() {
    let text = "!interesting-Method0123456789_*+`.%indeed'~ sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com SIP/2.0
Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+`'~
To: \"BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f\" <sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com>
From: token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;fromParam''~+*_!.-%=\"\u{440}\u{430}\u{431}\u{43e}\u{442}\u{430}\u{44e}\u{449}\u{438}\u{439}\";tag=_token~1'+`*%!-.
Call-ID: intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{
CSeq: 139122385 !interesting-Method0123456789_*+`.%indeed'~
Max-Forwards: 255
extensionHeader-!.%*+_`'~:\u{feff}\u{5927}\u{505c}\u{96fb}
Content-Length: 0

";
    let request = parse_request(text);
    assert_eq!(
        request.method,
        Method::Other("!interesting-Method0123456789_*+`.%indeed'~".into())
    );
    let ruri = request.uri.as_sip().unwrap();
    assert_eq!(
        ruri.user.as_deref(),
        Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
    );
    assert_eq!(
        ruri.password.as_deref(),
        Some("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)")
    );
    let to = request.headers.to().unwrap();
    assert_eq!(
        to.display_name.as_deref(),
        Some("BEL:\x07 NUL:\x00 DEL:\x7f")
    );
    let from = request.headers.from().unwrap();
    assert_eq!(
        from.display_name.as_deref(),
        Some("token1~` token2'+_ token3*%!.-")
    );
    assert_eq!(from.tag(), Some("_token~1'+`*%!-."));
    assert_eq!(request.headers.max_forwards().unwrap(), Some(255));
    assert!(
        request
            .headers
            .get(&"extensionHeader-!.%*+_`'~".into())
            .is_some()
    );
}

// 3.1.1.3 Valid Use of the % Escaping Mechanism
#[test]
fn esc01() {
    let text = format!(
        "INVITE sip:sips%3Auser%40example.com@example.net SIP/2.0
To: sip:%75se%72@example.com
From: <sip:I%20have%20spaces@example.net>;tag=938
Max-Forwards: 87
i: esc01.239409asdfakjkn23onasd0-3234
CSeq: 234234 INVITE
Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bKkdjuw
C: application/sdp
Contact:
  <sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31>
Content-Length: 150

{SDP_150}"
    );
    let request = parse_request(&text);
    let ruri = request.uri.as_sip().unwrap();
    assert_eq!(ruri.user_decoded().unwrap(), b"sips:user@example.com");
    assert_eq!(ruri.host, Host::Domain("example.net".into()));
    let to = request.headers.to().unwrap();
    assert_eq!(to.uri.as_sip().unwrap().user_decoded().unwrap(), b"user");
    let from = request.headers.from().unwrap();
    assert_eq!(
        from.uri.as_sip().unwrap().user_decoded().unwrap(),
        b"I have spaces"
    );
}

// 3.1.1.4 Escaped Nulls in URIs
#[test]
fn escnull() {
    let request = parse_request(
        "REGISTER sip:example.com SIP/2.0
To: sip:null-%00-null@example.com
From: sip:null-%00-null@example.com;tag=839923423
Max-Forwards: 70
Call-ID: escnull.39203ndfvkjdasfkq3w4otrq0adsfdfnavd
CSeq: 14398234 REGISTER
Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw
Contact: <sip:%00@host5.example.com>
Contact: <sip:%00%00@host5.example.com>
L:0

",
    );
    let to = request.headers.to().unwrap();
    assert_eq!(
        to.uri.as_sip().unwrap().user_decoded().unwrap(),
        b"null-\0-null"
    );
    let contacts = request.headers.contacts().unwrap();
    let second = contacts[1].address().unwrap().uri.as_sip().unwrap();
    assert_eq!(second.user_decoded().unwrap(), b"\0\0");
}

// 3.1.1.5 Use of % When It Is Not an Escape
#[test]
fn esc02() {
    let request = parse_request(
        "RE%47IST%45R sip:registrar.example.com SIP/2.0
To: \"%Z%45\" <sip:resource@example.com>
From: \"%Z%45\" <sip:resource@example.com>;tag=f232jadfj23
Call-ID: esc02.asdfnqwo34rq23i34jrjasdcnl23nrlknsdf
Via: SIP/2.0/TCP host.example.com;rport;branch=z9hG4bK209%fzsnel234
CSeq: 29344 RE%47IST%45R
Max-Forwards: 70
Contact: <sip:alias1@host1.example.com>
C%6Fntact: <sip:alias2@host2.example.com>
Contact: <sip:alias3@host3.example.com>
l: 0

",
    );
    assert_eq!(request.method, Method::Other("RE%47IST%45R".into()));
    assert_eq!(
        request.headers.to().unwrap().display_name.as_deref(),
        Some("%Z%45")
    );
    assert_eq!(
        request.headers.top_via().unwrap().rport(),
        Some(Rport::Requested)
    );
    // C%6Fntact is an unknown header, not Contact.
    assert_eq!(request.headers.contacts().unwrap().len(), 2);
    assert!(request.headers.get(&"C%6Fntact".into()).is_some());
}

// 3.1.1.6 Message with No LWS between Display Name and <
#[test]
fn lwsdisp() {
    let request = parse_request(
        "OPTIONS sip:user@example.com SIP/2.0
To: sip:user@example.com
From: caller<sip:caller@example.com>;tag=323
Max-Forwards: 70
Call-ID: lwsdisp.1234abcd@funky.example.com
CSeq: 60 OPTIONS
Via: SIP/2.0/UDP funky.example.com;branch=z9hG4bKkdjuw
l: 0

",
    );
    assert_eq!(
        request.headers.from().unwrap().display_name.as_deref(),
        Some("caller")
    );
}

// 3.1.1.7 Long Values in Header Fields
#[test]
fn longreq() {
    let long = "extreme".repeat(10);
    let tag = "1298".repeat(40);
    let vias: String = (0..12)
        .map(|i| {
            format!(
                "Via: SIP/2.0/TCP sip{i}.example.com;branch=z9hG4bK{}\n",
                "a".repeat(200)
            )
        })
        .collect();
    let text = format!(
        "INVITE sip:user@example.com SIP/2.0
To: \"I have a user name of {long} proportion\"<sip:user@example.com:6000;unknownparam1={long}value;{long}ParameterNameWithNoValue>
F: sip:amazinglylongcallername{long}@example.net;tag={tag};unknownheaderparam{long}=unknowheaderparamvalue{long};noValueParam{long}
Call-ID: longreq.onereallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallyreallylongcallid
CSeq: 3882340 INVITE
Unknown-{long}-Header: {long}value
{vias}Max-Forwards: 70
Contact: <sip:amazinglylongcallername{long}@host5.example.net>
Content-Type: application/sdp
l: 150

{SDP_150}"
    );
    let request = parse_request(&text);
    assert_eq!(request.headers.vias().unwrap().len(), 12);
    assert_eq!(request.headers.from().unwrap().tag(), Some(tag.as_str()));
    assert_eq!(
        request.headers.to().unwrap().uri.as_sip().unwrap().port,
        Some(6000)
    );
}

// 3.1.1.8 Extra Trailing Octets in a UDP Datagram
#[test]
fn dblreq() {
    let request = parse_request(
        "REGISTER sip:example.com SIP/2.0
To: sip:j.user@example.com
From: sip:j.user@example.com;tag=43251j3j324
Max-Forwards: 8
I: dblreq.0ha0isndaksdj99sdfafnl3lk233412
Contact: sip:j.user@host.example.com
CSeq: 8 REGISTER
Via: SIP/2.0/UDP 192.0.2.125;branch=z9hG4bKkdjuw23492
Content-Length: 0

INVITE sip:joe@example.com SIP/2.0
t: sip:joe@example.com
From: sip:caller@example.net;tag=141334
Max-Forwards: 8
Call-ID: dblreq.0ha0isnda977644900765@192.0.2.15
CSeq: 8 INVITE
Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bKkdjuw380234
Content-Type: application/sdp
Content-Length: 150

v=0
",
    );
    assert_eq!(request.method, Method::Register);
    assert!(request.body.is_empty());
}

// 3.1.1.9 Semicolon-Separated Parameters in URI User Part
#[test]
fn semiuri() {
    let request = parse_request(
        "OPTIONS sip:user;par=u%40example.net@example.com SIP/2.0
To: sip:j_user@example.com
From: sip:caller@example.org;tag=33242
Max-Forwards: 3
Call-ID: semiuri.0ha0isndaksdj
CSeq: 8 OPTIONS
Accept: application/sdp, application/pkcs7-mime,
        multipart/mixed, multipart/signed,
        message/sip, message/sipfrag
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKkdjuw
l: 0

",
    );
    let ruri = request.uri.as_sip().unwrap();
    assert_eq!(ruri.user.as_deref(), Some("user;par=u%40example.net"));
    assert!(ruri.params.is_empty());
    assert_eq!(request.headers.get_all(&"Accept".into()).count(), 6);
}

// 3.1.1.10 Varied and Unknown Transport Types
#[test]
fn transports() {
    let request = parse_request(
        "OPTIONS sip:user@example.com SIP/2.0
To: sip:user@example.com
From: <sip:caller@example.com>;tag=323
Max-Forwards: 70
Call-ID:  transports.kijh4akdnaqjkwendsasfdj
Accept: application/sdp
CSeq: 60 OPTIONS
Via: SIP/2.0/UDP t1.example.com;branch=z9hG4bKkdjuw
Via: SIP/2.0/SCTP t2.example.com;branch=z9hG4bKklasjdhf
Via: SIP/2.0/TLS t3.example.com;branch=z9hG4bK2980unddj
Via: SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en
Via: SIP/2.0/TCP t5.example.com;branch=z9hG4bK0a9idfnee
l: 0

",
    );
    let transports: Vec<Transport> = request
        .headers
        .vias()
        .unwrap()
        .into_iter()
        .map(|via| via.transport)
        .collect();
    assert_eq!(
        transports,
        vec![
            Transport::Udp,
            Transport::Sctp,
            Transport::Tls,
            Transport::Other("UNKNOWN".into()),
            Transport::Tcp
        ]
    );
}

// 3.1.1.11 Multipart MIME Message (binary S/MIME part replaced by arbitrary bytes)
#[test]
fn mpart01() {
    let mut body = crlf(
        "--++
Content-Type: application/sdp

v=0
o=- 3 3 IN IP4 192.0.2.2
s=-
c=IN IP4 192.0.2.2
t=0 0
m=audio 49217 RTP/AVP 0

--++
Content-Type: application/pkcs7-signature
Content-Transfer-Encoding: binary

",
    );
    body.extend_from_slice(&[
        0x30, 0x82, 0x01, 0x52, 0x06, 0x09, 0x2a, 0x86, 0x00, 0xff, 0xfe,
    ]);
    body.extend_from_slice(b"\r\n--++--");
    let mut message = crlf(&format!(
        "MESSAGE sip:kumiko@example.org SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-d87543-4dade06d0bdb11ee-1--d87543-;rport
Max-Forwards: 70
Route: <sip:127.0.0.1:5080>
Identity: r5mwreLuyDRYBi/0TiPwEsY3rEVsk/G2WxhgTV1PF7hHuPDWRRV4IZFLcmedNh9OwAK0o5yb5Tcoswpf8KL/zT8vbtCC9uKlZKxJVKWP0kgTLBGoSkmuJvZXGjOcwcWS6FMSbDMWfpYAl0h4p/ho+fpVb02RPBm8WOUxPEgBVdg=
Content-Type: multipart/mixed;boundary=++
From: <sip:bob@example.com>;tag=ba2c3d0b
To: <sip:kumiko@example.org>
Call-ID: mpart01.a8a1dc82
CSeq: 1 MESSAGE
Content-Length: {}

",
        body.len()
    ));
    message.extend_from_slice(&body);
    let Message::Request(request) = parse_message(&message).unwrap() else {
        panic!("expected a request")
    };
    request.validate().unwrap();
    assert_eq!(request.body, body);
    let content_type = request.headers.content_type().unwrap().unwrap();
    assert_eq!(content_type.params.value("boundary").as_deref(), Some("++"));
}

// 3.1.1.12 Unusual Reason Phrase
#[test]
fn unreason() {
    let text = format!(
        "SIP/2.0 200 = 2**3 * 5**2 \u{43d}\u{43e} \u{441}\u{442}\u{43e} \u{434}\u{435}\u{432}\u{44f}\u{43d}\u{43e}\u{441}\u{442}\u{43e} \u{434}\u{435}\u{432}\u{44f}\u{442}\u{44c} - \u{43f}\u{440}\u{43e}\u{441}\u{442}\u{43e}\u{435}
Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923
Call-ID: unreason.1234ksdfak3j2erwedfsASdf
CSeq: 35 INVITE
From: sip:user@example.com;tag=11141343
To: sip:user@example.edu;tag=2229
Content-Length: 150
Content-Type: application/sdp
Contact: <sip:user@host198.example.com>

{SDP_150}"
    );
    let Message::Response(response) = parse_message(&crlf(&text)).unwrap() else {
        panic!("expected a response")
    };
    response.validate().unwrap();
    assert_eq!(response.status, StatusCode::OK);
    assert!(response.reason.starts_with("= 2**3 * 5**2 "));
}

// 3.1.1.13 Empty Reason Phrase
#[test]
fn noreason() {
    let text = "SIP/2.0 100 \nVia: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe
Call-ID: noreason.asndj203insdf99223ndf
CSeq: 35 INVITE
From: <sip:user@example.com>;tag=39ansfi3
To: <sip:user@example.edu>;tag=902jndnke3
Content-Length: 0
Contact: <sip:user@host105.example.com>

";
    let Message::Response(response) = parse_message(&crlf(text)).unwrap() else {
        panic!("expected a response")
    };
    response.validate().unwrap();
    assert_eq!(response.status, StatusCode::TRYING);
    assert_eq!(response.reason, "");
}

// 3.1.1.6 and friends: a parsed message survives a write and a second parse unchanged.
#[test]
fn torture_messages_round_trip() {
    let text = "OPTIONS sip:user@example.com SIP/2.0
To: sip:user@example.com
From: caller<sip:caller@example.com>;tag=323
Max-Forwards: 70
Call-ID: lwsdisp.1234abcd@funky.example.com
CSeq: 60 OPTIONS
v: SIP/2.0/UDP funky.example.com;branch=z9hG4bKkdjuw, SIP/2.0/TCP [2001:db8::1]:5061;branch=z9hG4bKx;received=2001:db8::2
m: *
l: 0

";
    let parsed = parse_message(&crlf(text)).unwrap();
    let written = parsed.to_bytes();
    let written_text = String::from_utf8(written.clone()).unwrap();
    assert!(
        written_text.contains("\r\nVia: SIP/2.0/UDP funky.example.com;branch=z9hG4bKkdjuw\r\n")
    );
    assert!(written_text.contains("\r\nContact: *\r\n"));
    assert!(written_text.ends_with("Content-Length: 0\r\n\r\n"));
    assert_eq!(parse_message(&written).unwrap(), parsed);
    let Message::Request(request) = parsed else {
        unreachable!()
    };
    assert_eq!(request.headers.contacts().unwrap(), vec![Contact::Wildcard]);
    assert_eq!(request.uri, Uri::parse("sip:user@example.com").unwrap());
}

// 3.2.1/3.3.x: messages that are well formed, whatever the application does with them.

// 3.3.4 Unknown Request-URI scheme (a UAS answers 416).
#[test]
fn unkscm() {
    let request = parse_request(
        "OPTIONS nobodyKnowsThisScheme:totallyopaquecontent SIP/2.0
To: sip:user@example.com
From: sip:caller@example.net;tag=384
Max-Forwards: 3
Call-ID: unkscm.nasdfasser0q239nwsdfasdkl34
CSeq: 3923423 OPTIONS
Via: SIP/2.0/TCP host9.example.com;branch=z9hG4bKkdjuw39234
Content-Length: 0

",
    );
    assert_eq!(request.uri.scheme(), "nobodyKnowsThisScheme");
    assert!(request.uri.as_sip().is_none());
}

// 3.3.5 Request-URI with a novel scheme containing dots.
#[test]
fn novelsc() {
    let request = parse_request(
        "OPTIONS soap.beep://192.0.2.103:3002 SIP/2.0
To: sip:user@example.com
From: sip:caller@example.net;tag=384
Max-Forwards: 3
Call-ID: novelsc.asdfasser0q239nwsdfasdkl34
CSeq: 3923423 OPTIONS
Via: SIP/2.0/TCP host9.example.com;branch=z9hG4bKkdjuw39234
Content-Length: 0

",
    );
    assert_eq!(request.uri.to_string(), "soap.beep://192.0.2.103:3002");
}

// 3.3.6 Unknown scheme in a header field.
#[test]
fn unksm2() {
    let request = parse_request(
        "REGISTER sip:example.com SIP/2.0
To: isbn:2983792873
From: <http://www.example.com>;tag=3234233
Call-ID: unksm2.daksdj@hyphenated-host.example.com
CSeq: 234902 REGISTER
Max-Forwards: 70
Via: SIP/2.0/UDP 192.0.2.21:5060;branch=z9hG4bKkdjuw
Contact: <name:John_Smith>
l: 0

",
    );
    assert_eq!(request.headers.to().unwrap().uri.scheme(), "isbn");
    assert_eq!(request.headers.from().unwrap().tag(), Some("3234233"));
}

// 3.3.8 A branch that is only the magic cookie is still well formed.
#[test]
fn badbranch() {
    let request = parse_request(
        "OPTIONS sip:user@example.com SIP/2.0
To: sip:user@example.com
From: sip:caller@example.org;tag=33242
Max-Forwards: 3
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK
Accept: application/sdp
Call-ID: badbranch.sadonfo23i420jv0as0derf3j3n
CSeq: 8 OPTIONS
l: 0

",
    );
    assert_eq!(request.headers.top_via().unwrap().branch(), Some("z9hG4bK"));
}

// 3.3.9 Max-Forwards of zero: well formed (a proxy answers 483).
#[test]
fn zeromf() {
    let request = parse_request(
        "OPTIONS sip:user@example.com SIP/2.0
To: sip:user@example.com
From: sip:caller@example.net;tag=3ghsd41
Call-ID: zeromf.jfasdlfnm2o2l43r5u0asdfas
CSeq: 39234321 OPTIONS
Via: SIP/2.0/UDP host1.example.com;branch=z9hG4bKkdjuw2349i
Max-Forwards: 0
Content-Length: 0

",
    );
    assert_eq!(request.headers.max_forwards().unwrap(), Some(0));
}

// 3.3.10/11 Contact parameters with and without angle brackets.
#[test]
fn cparam01_and_cparam02() {
    let without = parse_request(
        "REGISTER sip:example.com SIP/2.0
Via: SIP/2.0/UDP saturn.example.com:5060;branch=z9hG4bKkdjuw
Max-Forwards: 70
From: sip:watson@example.com;tag=DkfVgjkrtMwaerKKpe
To: sip:watson@example.com
Call-ID: cparam01.70710@saturn.example.com
CSeq: 2 REGISTER
Contact: sip:+19725552222@gw1.example.net;unknownparam
l: 0

",
    );
    let contact = without.headers.contacts().unwrap().remove(0);
    let address = contact.address().unwrap();
    assert!(
        address.params.contains("unknownparam"),
        "a header parameter without <>"
    );
    assert!(address.uri.as_sip().unwrap().params.is_empty());

    let with = parse_request(
        "REGISTER sip:example.com SIP/2.0
Via: SIP/2.0/UDP saturn.example.com:5060;branch=z9hG4bKkdjuw
Max-Forwards: 70
From: sip:watson@example.com;tag=838293
To: sip:watson@example.com
Call-ID: cparam02.70710@saturn.example.com
CSeq: 3 REGISTER
Contact: <sip:+19725552222@gw1.example.net;unknownparam>
l: 0

",
    );
    let contact = with.headers.contacts().unwrap().remove(0);
    let address = contact.address().unwrap();
    assert!(address.params.is_empty());
    assert!(
        address
            .uri
            .as_sip()
            .unwrap()
            .params
            .contains("unknownparam"),
        "a URI parameter inside <>"
    );
}

// 3.3.12 An escaped Route in a Contact URI is fine inside angle brackets.
#[test]
fn regescrt() {
    let request = parse_request(
        "REGISTER sip:example.com SIP/2.0
To: sip:user@example.com
From: sip:user@example.com;tag=8
Max-Forwards: 70
Call-ID: regescrt.k345asrl3fdbv@192.0.2.1
CSeq: 14398234 REGISTER
Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw
M: <sip:user@example.com?Route=%3Csip:sip.example.com%3E>
L:0

",
    );
    let contact = request.headers.contacts().unwrap().remove(0);
    let uri = contact.address().unwrap().uri.as_sip().unwrap().clone();
    assert_eq!(
        uri.headers,
        vec![("Route".to_owned(), "%3Csip:sip.example.com%3E".to_owned())]
    );
}
