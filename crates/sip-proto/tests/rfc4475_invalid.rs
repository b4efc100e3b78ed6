//! RFC 4475 §3.1.2 and §3.3.1: torture-test messages the parser or validation must reject.

mod common;

use common::{SDP_150, reject};
use sip_proto::ParseError;

// 3.1.2.1 Extraneous Header Field Separators
#[test]
fn badinv01() {
    let error = reject(&format!(
        "INVITE sip:user@example.com SIP/2.0
To: sip:j.user@example.com
From: sip:caller@example.net;tag=134161461246
Max-Forwards: 7
Call-ID: badinv01.0ha0isndaksdjasdf3234nas
CSeq: 8 INVITE
Via: SIP/2.0/UDP 192.0.2.15;;,;,,
Contact: \"Joe\" <sip:joe@example.org>;;;;
Content-Length: 150
Content-Type: application/sdp

{SDP_150}"
    ));
    assert!(
        matches!(error, ParseError::InvalidHeader { ref name, .. } if name == "Via"),
        "{error}"
    );
}

// 3.1.2.2 Content Length Larger Than Message
#[test]
fn clerr() {
    let error = reject(&format!(
        "INVITE sip:user@example.com SIP/2.0
Max-Forwards: 80
To: sip:j.user@example.com
From: sip:caller@example.net;tag=93942939o2
Contact: <sip:caller@hungry.example.net>
Call-ID: clerr.0ha0isndaksdjweiafasdk3
CSeq: 8 INVITE
Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bK-39234-23523
Content-Type: application/sdp
Content-Length: 9999

{SDP_150}"
    ));
    assert!(matches!(
        error,
        ParseError::BodyTooShort { declared: 9999, .. }
    ));
}

// 3.1.2.3 Negative Content-Length
#[test]
fn ncl() {
    let error = reject(&format!(
        "INVITE sip:user@example.com SIP/2.0
Max-Forwards: 254
To: sip:j.user@example.com
From: sip:caller@example.net;tag=32394234
Call-ID: ncl.0ha0isndaksdj2193423r542w35
CSeq: 0 INVITE
Via: SIP/2.0/UDP 192.0.2.53;branch=z9hG4bKkdjuw
Contact: <sip:caller@example53.example.net>
Content-Type: application/sdp
Content-Length: -999

{SDP_150}"
    ));
    assert_eq!(error, ParseError::InvalidContentLength("-999".into()));
}

// 3.1.2.4 Request Scalar Fields with Overlarge Values
#[test]
fn scalar02() {
    let error = reject(&format!(
        "REGISTER sip:example.com SIP/2.0
Via: SIP/2.0/TCP host129.example.com;branch=z9hG4bK342sdfoi3
To: <sip:user@example.com>
From: <sip:user@example.com>;tag=239232jh3
CSeq: 36893488147419103232 REGISTER
Call-ID: scalar02.23o0pd9vanlq3wnrlnewofjas9ui32
Max-Forwards: 300
Expires: 1{}
Contact: <sip:user@host129.example.com>
  ;expires=280297596632815
Content-Length: 0

",
        "0".repeat(100)
    ));
    assert!(matches!(error, ParseError::InvalidHeader { .. }), "{error}");
}

// 3.1.2.5 Response Scalar Fields with Overlarge Values
#[test]
fn scalarlg() {
    let error = reject(
        "SIP/2.0 503 Service Unavailable
Via: SIP/2.0/TCP host129.example.com;branch=z9hG4bKzzxdiwo34sw;received=192.0.2.129
To: <sip:user@example.com>
From: <sip:other@example.net>;tag=2easdjfejw
CSeq: 9292394834772304023312 OPTIONS
Call-ID: scalarlg.noase0of0234hn2qofoaf0232aewf2394r
Retry-After: 949302838503028349304023988
Warning: 1812 overture \"In Progress\"
Content-Length: 0

",
    );
    assert!(matches!(error, ParseError::InvalidHeader { ref name, .. } if name == "CSeq"));
}

// 3.1.2.6 Unterminated Quoted String in Display Name
#[test]
fn quotbal() {
    let error = reject(&format!(
        "INVITE sip:user@example.com SIP/2.0
To: \"Mr. J. User <sip:j.user@example.com>
From: sip:caller@example.net;tag=93334
Max-Forwards: 10
Call-ID: quotbal.aksdj
Contact: <sip:caller@host59.example.net>
CSeq: 8 INVITE
Via: SIP/2.0/UDP 192.0.2.59:5050;branch=z9hG4bKkdjuw39234
Content-Type: application/sdp
Content-Length: 150

{SDP_150}"
    ));
    assert!(matches!(error, ParseError::InvalidHeader { ref name, .. } if name == "To"));
}

fn request_with_line(request_line: &str, call_id: &str) -> String {
    format!(
        "{request_line}
To: sip:user@example.com
From: sip:caller@example.net;tag=39291
Max-Forwards: 23
Call-ID: {call_id}
CSeq: 1 INVITE
Via: SIP/2.0/UDP 192.0.2.5;branch=z9hG4bKkdjuw
Contact: <sip:caller@host5.example.net>
Content-Type: application/sdp
Content-Length: 150

{SDP_150}"
    )
}

// 3.1.2.7 <> Enclosing Request-URI
#[test]
fn ltgtruri() {
    let error = reject(&request_with_line(
        "INVITE <sip:user@example.com> SIP/2.0",
        "ltgtruri.1@192.0.2.5",
    ));
    assert!(matches!(error, ParseError::InvalidUri { .. }), "{error}");
}

// 3.1.2.8 Malformed SIP Request-URI (embedded LWS)
#[test]
fn lwsruri() {
    let error = reject(&request_with_line(
        "INVITE sip:user@example.com; lr SIP/2.0",
        "lwsruri.asdfasdoeoi2323-asdfwrn23-asd834rk423",
    ));
    assert!(
        matches!(error, ParseError::InvalidStartLine { .. }),
        "{error}"
    );
}

// 3.1.2.9 Multiple SP Separating Request-Line Elements
#[test]
fn lwsstart() {
    let error = reject(&request_with_line(
        "INVITE  sip:user@example.com  SIP/2.0",
        "lwsstart.dfknq234oi243099adsdfnawe3@example.com",
    ));
    assert!(
        matches!(error, ParseError::InvalidStartLine { .. }),
        "{error}"
    );
}

// 3.1.2.10 SP Characters at End of Request-Line
#[test]
fn trws() {
    let error = reject(&request_with_line(
        "OPTIONS sip:remote-target@example.com SIP/2.0  ",
        "trws.oicu34958239neffasdhr2345r",
    ));
    assert!(
        matches!(error, ParseError::InvalidStartLine { .. }),
        "{error}"
    );
}

// 3.1.2.11 Escaped Headers in SIP Request-URI
#[test]
fn escruri() {
    let error = reject(&request_with_line(
        "INVITE sip:user@example.com?Route=%3Csip:example.com%3E SIP/2.0",
        "escruri.23940-asdfhj-aje3br-234q098w-fawerh2q-h4n5",
    ));
    assert!(
        matches!(error, ParseError::HeadersInRequestUri(_)),
        "{error}"
    );
}

// 3.1.2.13 Failure to Enclose name-addr URI in <>
#[test]
fn regbadct() {
    let error = reject(
        "REGISTER sip:example.com SIP/2.0
To: sip:user@example.com
From: sip:user@example.com;tag=998332
Max-Forwards: 70
Call-ID: regbadct.k345asrl3fdbv@10.0.0.1
CSeq: 1 REGISTER
Via: SIP/2.0/UDP 135.180.130.133:5060;branch=z9hG4bKkdjuw
Contact: sip:user@example.com?Route=%3Csip:sip.example.com%3E
l: 0

",
    );
    assert!(matches!(error, ParseError::InvalidHeader { ref name, .. } if name == "Contact"));
}

// 3.1.2.14 Spaces within addr-spec
#[test]
fn badaspec() {
    let error = reject(
        "OPTIONS sip:user@example.org SIP/2.0
Via: SIP/2.0/UDP host4.example.com:5060;branch=z9hG4bKkdju43234
Max-Forwards: 70
From: \"Bell, Alexander\" <sip:a.g.bell@example.com>;tag=433423
To: \"Watson, Thomas\" < sip:t.watson@example.org >
Call-ID: badaspec.sdf0234n2nds0a099u23h3hnnw009cdkne3
Accept: application/sdp
CSeq: 3923239 OPTIONS
l: 0

",
    );
    assert!(matches!(error, ParseError::InvalidUri { .. }), "{error}");
}

// 3.1.2.15 Non-token Characters in Display Name
#[test]
fn baddn() {
    let error = reject(
        "OPTIONS sip:t.watson@example.org SIP/2.0
Via:     SIP/2.0/UDP c.example.com:5060;branch=z9hG4bKkdjuw
Max-Forwards:      70
From:    Bell, Alexander <sip:a.g.bell@example.com>;tag=43
To:      Watson, Thomas <sip:t.watson@example.org>
Call-ID: baddn.31415@c.example.com
Accept: application/sdp
CSeq:    3923239 OPTIONS
l: 0

",
    );
    assert!(matches!(error, ParseError::InvalidHeader { ref name, .. } if name == "From"));
}

// 3.1.2.16 Unknown Protocol Version
#[test]
fn badvers() {
    let error = reject(
        "OPTIONS sip:t.watson@example.org SIP/7.0
Via:     SIP/7.0/UDP c.example.com;branch=z9hG4bKkdjuw
Max-Forwards:     70
From:    A. Bell <sip:a.g.bell@example.com>;tag=qweoiqpe
To:      T. Watson <sip:t.watson@example.org>
Call-ID: badvers.31417@c.example.com
CSeq:    1 OPTIONS
l: 0

",
    );
    assert_eq!(error, ParseError::UnsupportedVersion("SIP/7.0".into()));
}

// 3.1.2.17 Start Line and CSeq Method Mismatch
#[test]
fn mismatch01() {
    let error = reject(
        "OPTIONS sip:user@example.com SIP/2.0
To: sip:j.user@example.com
From: sip:caller@example.net;tag=34525
Max-Forwards: 6
Call-ID: mismatch01.dj0234sxdfl3
CSeq: 8 INVITE
Via: SIP/2.0/UDP host.example.com;branch=z9hG4bKkdjuw
l: 0

",
    );
    assert!(matches!(error, ParseError::CSeqMethodMismatch { .. }));
}

// 3.1.2.18 Unknown Method with CSeq Method Mismatch
#[test]
fn mismatch02() {
    let error = reject(
        "NEWMETHOD sip:user@example.com SIP/2.0
To: sip:j.user@example.com
From: sip:caller@example.net;tag=34525
Max-Forwards: 6
Call-ID: mismatch02.dj0234sxdfl3
CSeq: 8 INVITE
Contact: <sip:caller@host.example.net>
Via: SIP/2.0/UDP host.example.net;branch=z9hG4bKkdjuw
Content-Type: application/sdp
l: 138

v=0
o=mhandley 29739 7272939 IN IP4 192.0.2.1
c=IN IP4 192.0.2.1
m=audio 49217 RTP/AVP 0 12
m=video 3227 RTP/AVP 31
a=rtpmap:31 LPC
",
    );
    assert!(matches!(error, ParseError::CSeqMethodMismatch { .. }));
}

// 3.1.2.19 Overlarge Response Code
#[test]
fn bigcode() {
    let error = reject(
        "SIP/2.0 4294967301 better not break the receiver
Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe
Call-ID: bigcode.asdof3uj203asdnf3429uasdhfas3ehjasdfas9i
CSeq: 353494 INVITE
From: <sip:user@example.com>;tag=39ansfi3
To: <sip:user@example.edu>;tag=902jndnke3
Content-Length: 0
Contact: <sip:user@host105.example.com>

",
    );
    assert_eq!(error, ParseError::InvalidStatusCode("4294967301".into()));
}

// 3.3.1 Missing Required Header Fields
#[test]
fn insuf() {
    let error = reject(&format!(
        "INVITE sip:user@example.com SIP/2.0
CSeq: 193942 INVITE
Via: SIP/2.0/UDP 192.0.2.95;branch=z9hG4bKkdj.insuf
Content-Type: application/sdp
l: 150

{SDP_150}"
    ));
    assert!(matches!(error, ParseError::MissingHeader(_)));
}

// 3.3.2 Multiple values in single-value required fields.
#[test]
fn multi01() {
    let error = reject(&format!(
        "INVITE sip:user@company.com SIP/2.0
Contact: <sip:caller@host25.example.net>
Via: SIP/2.0/UDP 192.0.2.25;branch=z9hG4bKkdjuw
Max-Forwards: 70
CSeq: 5 INVITE
Call-ID: multi01.98asdh@192.0.2.1
CSeq: 59 INVITE
Call-ID: multi01.98asdh@192.0.2.2
From: sip:caller@example.com;tag=3413415
To: sip:user@example.com
To: sip:other@example.net
From: sip:caller@example.net;tag=2923420123
Content-Type: application/sdp
l: 150
Call-ID: multi01.98asdh@192.0.2.3
Max-Forwards: 5

{SDP_150}"
    ));
    assert!(
        matches!(
            error,
            ParseError::InvalidHeader {
                reason: "appears more than once",
                ..
            }
        ),
        "{error}"
    );
}

// 3.3.3 Multiple Content-Length values.
#[test]
fn mcl01() {
    let error = reject(
        "OPTIONS sip:user@example.com SIP/2.0
Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bK293423
To: sip:user@example.com
From: sip:other@example.net;tag=3923942
Call-ID: mcl01.fhn2323orihawfdoa3o4r52o3irsdf
CSeq: 15932 OPTIONS
Content-Length: 13
Max-Forwards: 60
Content-Length: 5
Content-Type: text/plain

There's no way to know how many octets are supposed to be here.
",
    );
    assert_eq!(error, ParseError::ConflictingContentLength);
}
