//! Helpers shared by the RFC 4475 torture tests.
#![allow(dead_code)]

pub mod pair;

use sip_proto::{Message, ParseError, Request, parse_message};

/// Messages are written with `\n` line ends and converted to CRLF, so the
/// Content-Length values match the RFC's.
pub fn crlf(text: &str) -> Vec<u8> {
    text.replace('\n', "\r\n").into_bytes()
}

pub fn parse_request(text: &str) -> Request {
    match parse_message(&crlf(text)).expect("message should parse") {
        Message::Request(request) => {
            request.validate().expect("request should validate");
            request
        }
        Message::Response(_) => panic!("expected a request"),
    }
}

/// Parsing or validation must fail; returns the error for closer checks.
pub fn reject(text: &str) -> ParseError {
    match parse_message(&crlf(text)) {
        Err(error) => error,
        Ok(Message::Request(request)) => {
            request.validate().expect_err("request should be rejected")
        }
        Ok(Message::Response(response)) => response
            .validate()
            .expect_err("response should be rejected"),
    }
}

pub const SDP_150: &str = "v=0
o=mhandley 29739 7272939 IN IP4 192.0.2.3
s=-
c=IN IP4 192.0.2.4
t=0 0
m=audio 49217 RTP/AVP 0 12
m=video 3227 RTP/AVP 31
a=rtpmap:31 LPC
";
