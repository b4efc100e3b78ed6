//! Small builders for the messages the gateway sends.

use std::net::SocketAddr;

use sip_proto::{HeaderName, Host, Request, Response, StatusCode, Transport, Via};

use crate::transport::Peer;

pub const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, REFER, NOTIFY, REGISTER";
pub const USER_AGENT: &str = "hotline-12351-gateway";

pub fn random_token(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::fill(&mut buffer[..]);
    hex::encode(buffer)
}

pub fn new_branch() -> String {
    format!("{}{}", sip_proto::BRANCH_MAGIC_COOKIE, random_token(8))
}

/// Our Via for a request to `peer`, with rport so the answer finds us behind NAT.
pub fn our_via(local: SocketAddr, public_ip: std::net::IpAddr, peer: Peer) -> Via {
    let mut via = Via::new(
        peer.via_transport(),
        Host::from(public_ip),
        Some(local.port()),
        &new_branch(),
    );
    via.params.set("rport", None);
    via
}

/// Our Contact, as a header value.
pub fn our_contact(user: &str, public_ip: std::net::IpAddr, port: u16, peer: Peer) -> String {
    let transport = match peer.via_transport() {
        Transport::Udp => "",
        Transport::Ws => ";transport=ws",
        Transport::Wss => ";transport=wss",
        _ => ";transport=tcp",
    };
    let host = Host::from(public_ip);
    format!("<sip:{user}@{host}:{port}{transport}>")
}

pub fn status(code: u16) -> StatusCode {
    StatusCode::new(code).expect("a valid status code literal")
}

/// A response with our identity headers; `to_tag` for dialog-forming answers. Any
/// other final response gets a fresh tag (RFC 3261 §8.2.6.2: every response but 100
/// carries one); a To that has a tag already keeps it.
pub fn respond(request: &Request, code: u16, to_tag: Option<&str>) -> Response {
    let fresh_tag;
    let to_tag = match to_tag {
        None if code >= 200 => {
            fresh_tag = random_token(6);
            Some(fresh_tag.as_str())
        }
        given => given,
    };
    let mut response = Response::for_request(request, status(code), to_tag);
    response.headers.push(HeaderName::Server, USER_AGENT);
    response
}

/// A response with a Warning explaining why, for humans reading a trace.
pub fn respond_with_warning(request: &Request, code: u16, text: &str) -> Response {
    let mut response = respond(request, code, None);
    let text = text.replace('"', "'");
    response
        .headers
        .push(HeaderName::Warning, format!("399 hotline \"{text}\""));
    response
}

/// The user part of the From (or P-Asserted-Identity, when a trusted trunk sends one):
/// the caller's phone number as the carrier gives it.
pub fn caller_number(request: &Request) -> String {
    let from_identity = request
        .headers
        .asserted_identities()
        .ok()
        .and_then(|ids| ids.into_iter().next());
    let address = from_identity.or_else(|| request.headers.from().ok());
    address
        .and_then(|address| address.uri.as_sip().and_then(|sip| sip.user.clone()))
        .or_else(|| {
            // tel:+86138… URIs
            let address = request.headers.from().ok()?;
            match &address.uri {
                sip_proto::Uri::Other(text) => text.strip_prefix("tel:").map(str::to_owned),
                sip_proto::Uri::Sip(_) => None,
            }
        })
        .unwrap_or_default()
}

/// The Request-URI user, for matching the dialled number.
pub fn dialled_user(request: &Request) -> Option<String> {
    request.uri.as_sip().and_then(|sip| sip.user.clone())
}

/// Reads DTMF from a SIP INFO body: `application/dtmf-relay` (`Signal=5`) or
/// `application/dtmf` (just the key).
pub fn info_digit(request: &Request) -> Option<char> {
    let media_type = request.headers.content_type().ok().flatten()?;
    let body = std::str::from_utf8(&request.body).ok()?;
    let key = if media_type.is("application", "dtmf-relay") {
        body.lines().find_map(|line| {
            let (name, value) = line.split_once('=')?;
            name.trim()
                .eq_ignore_ascii_case("signal")
                .then(|| value.trim())
        })?
    } else if media_type.is("application", "dtmf") {
        body.trim()
    } else {
        return None;
    };
    let mut chars = key.chars();
    let digit = chars.next()?;
    let valid = chars.next().is_none()
        && (digit.is_ascii_digit() || matches!(digit, '*' | '#' | 'A'..='D'));
    valid.then_some(digit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sip_proto::{Message, parse_message};

    fn info(content_type: &str, body: &str) -> Request {
        let text = format!(
            "INFO sip:12351@gw SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKi\r\n\
             From: <sip:13800138000@carrier>;tag=1\r\nTo: <sip:12351@gw>;tag=2\r\n\
             Call-ID: c\r\nCSeq: 2 INFO\r\nMax-Forwards: 70\r\nContent-Type: {content_type}\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let Message::Request(request) = parse_message(text.as_bytes()).unwrap() else {
            unreachable!()
        };
        request
    }

    #[test]
    fn dtmf_in_info_bodies() {
        assert_eq!(
            info_digit(&info(
                "application/dtmf-relay",
                "Signal=2\r\nDuration=160\r\n"
            )),
            Some('2')
        );
        assert_eq!(
            info_digit(&info("application/dtmf-relay", "signal= #\r\n")),
            Some('#')
        );
        assert_eq!(info_digit(&info("application/dtmf", "0")), Some('0'));
        assert_eq!(
            info_digit(&info("application/dtmf-relay", "Signal=12\r\n")),
            None
        );
        assert_eq!(info_digit(&info("text/plain", "1")), None);
        assert_eq!(caller_number(&info("application/dtmf", "0")), "13800138000");
    }
}
