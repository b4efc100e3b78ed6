//! Parsing of whole messages (RFC 3261 §7): start line, header folding, list splitting,
//! Content-Length and body.

use crate::error::ParseError;
use crate::header::{HeaderName, Headers};
use crate::message::{Message, Method, Request, Response, StatusCode};
use crate::text::{is_lws, is_token, parse_decimal, split_top_level, trim_lws};
use crate::uri::Uri;

/// Parses one message from a datagram (UDP, or one WebSocket message as RFC 7118 has it).
///
/// Leading CRLFs are skipped (RFC 3261 §7.5). If Content-Length is present, the body is
/// exactly that long and any further bytes are ignored (RFC 3261 §18.3); if absent, the
/// body is the rest of the datagram. A body shorter than Content-Length is an error.
pub fn parse_message(bytes: &[u8]) -> Result<Message, ParseError> {
    let bytes = &bytes[leading_crlf_len(bytes)..];
    if bytes.is_empty() {
        return Err(ParseError::Empty);
    }
    let head_end = find_head_end(bytes).ok_or(ParseError::UnterminatedHeaders)?;
    let head = parse_head(&bytes[..head_end])?;
    let rest = &bytes[head_end..];
    let body = match head.content_length {
        Some(declared) if declared > rest.len() => {
            return Err(ParseError::BodyTooShort {
                declared,
                available: rest.len(),
            });
        }
        Some(declared) => &rest[..declared],
        None => rest,
    };
    Ok(head.into_message(body.to_vec()))
}

/// Number of CR and LF bytes at the start of `bytes`.
pub(crate) fn leading_crlf_len(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .take_while(|&&b| b == b'\r' || b == b'\n')
        .count()
}

/// Index just past the empty line that ends the header section. Bare LF line ends are
/// accepted as well as CRLF, since some peers send them.
pub(crate) fn find_head_end(bytes: &[u8]) -> Option<usize> {
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'\n' {
            match bytes.get(index + 1..) {
                Some([b'\n', ..]) => return Some(index + 2),
                Some([b'\r', b'\n', ..]) => return Some(index + 3),
                _ => {}
            }
        }
        index += 1;
    }
    None
}

pub(crate) enum StartLine {
    Request { method: Method, uri: Uri },
    Response { status: StatusCode, reason: String },
}

/// The start line and headers; Content-Length is taken out of the headers because the
/// body length is the single source of truth once a message is in memory.
pub(crate) struct Head {
    pub start_line: StartLine,
    pub headers: Headers,
    pub content_length: Option<usize>,
}

impl Head {
    pub(crate) fn into_message(self, body: Vec<u8>) -> Message {
        match self.start_line {
            StartLine::Request { method, uri } => Message::Request(Request {
                method,
                uri,
                headers: self.headers,
                body,
            }),
            StartLine::Response { status, reason } => Message::Response(Response {
                status,
                reason,
                headers: self.headers,
                body,
            }),
        }
    }
}

/// Parses the header section (start line up to and including the empty line).
pub(crate) fn parse_head(bytes: &[u8]) -> Result<Head, ParseError> {
    let text = std::str::from_utf8(bytes).map_err(|error| {
        let line = bytes[..error.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        ParseError::InvalidUtf8 { line }
    })?;
    let mut lines = text
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line));
    let start_line = parse_start_line(lines.next().unwrap_or_default())?;

    // Unfold: a line starting with SP or HT continues the previous header (RFC 3261 §7.3.1).
    let mut raw_headers: Vec<(&str, String)> = Vec::new();
    for (index, line) in lines.enumerate() {
        let line_number = index + 2;
        if line.is_empty() {
            break;
        }
        if line.starts_with(is_lws) {
            let (_, value) = raw_headers
                .last_mut()
                .ok_or(ParseError::OrphanContinuation { line: line_number })?;
            value.push(' ');
            value.push_str(trim_lws(line));
            continue;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or(ParseError::MissingColon { line: line_number })?;
        let name = name.trim_end_matches(is_lws);
        if !is_token(name) {
            return Err(ParseError::InvalidHeaderName {
                line: line_number,
                name: name.to_owned(),
            });
        }
        raw_headers.push((name, trim_lws(value).to_owned()));
    }

    let mut headers = Headers::new();
    let mut content_length = None;
    for (name, value) in raw_headers {
        let value = trim_lws(&value);
        let name = HeaderName::from_wire(name);
        if name == HeaderName::ContentLength {
            let length = parse_decimal::<usize>(value)
                .ok_or_else(|| ParseError::InvalidContentLength(value.to_owned()))?;
            if content_length.is_some_and(|previous| previous != length) {
                return Err(ParseError::ConflictingContentLength);
            }
            content_length = Some(length);
        } else if name.is_list() {
            let elements = split_top_level(value, ',')
                .map_err(|reason| ParseError::header(name.as_str(), value, reason))?;
            let elements: Vec<&str> = elements
                .into_iter()
                .map(trim_lws)
                .filter(|e| !e.is_empty())
                .collect();
            if elements.is_empty() {
                // An empty list (`Supported:`) is legal and must survive forwarding.
                headers.push(name.clone(), "");
            }
            for element in elements {
                headers.push(name.clone(), element);
            }
        } else {
            headers.push(name, value);
        }
    }
    Ok(Head {
        start_line,
        headers,
        content_length,
    })
}

fn parse_start_line(line: &str) -> Result<StartLine, ParseError> {
    let invalid = |reason| ParseError::InvalidStartLine {
        line: line.to_owned(),
        reason,
    };
    if line.is_empty() {
        return Err(invalid("empty start line"));
    }
    if line
        .get(..4)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case("SIP/"))
    {
        let (version, rest) = line
            .split_once(' ')
            .ok_or_else(|| invalid("status line without status code"))?;
        check_version(version)?;
        let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
        let status = (code.len() == 3)
            .then(|| parse_decimal::<u16>(code))
            .flatten()
            .and_then(StatusCode::new)
            .ok_or_else(|| ParseError::InvalidStatusCode(code.to_owned()))?;
        if reason.chars().any(|c| c.is_control() && c != '\t') {
            return Err(invalid("control character in reason phrase"));
        }
        return Ok(StartLine::Response {
            status,
            reason: reason.to_owned(),
        });
    }
    // Request-Line = Method SP Request-URI SP SIP-Version: exactly one space each, so a
    // URI containing spaces or extra spaces anywhere is rejected (RFC 4475 §3.1.2.8-10).
    let parts: Vec<&str> = line.split(' ').collect();
    let [method, uri, version] = parts[..] else {
        return Err(invalid(
            "request line must be `METHOD SP Request-URI SP SIP/2.0`",
        ));
    };
    let method =
        Method::from_token(method).ok_or_else(|| ParseError::InvalidMethod(method.to_owned()))?;
    check_version(version)?;
    let uri = Uri::parse(uri)?;
    Ok(StartLine::Request { method, uri })
}

fn check_version(version: &str) -> Result<(), ParseError> {
    if version.eq_ignore_ascii_case("SIP/2.0") {
        Ok(())
    } else {
        Err(ParseError::UnsupportedVersion(version.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_minimal_request_with_folding_and_lists() {
        let text = b"\r\nOPTIONS sip:a@example.com SIP/2.0\r\nv: SIP/2.0/UDP h1;branch=z9hG4bK1,\r\n SIP/2.0/TCP h2;branch=z9hG4bK2\r\nl: 4\r\nX-Long: one\r\n\ttwo\r\n\r\nbodyextra";
        let Message::Request(request) = parse_message(text).unwrap() else {
            panic!("expected a request")
        };
        assert_eq!(request.method, Method::Options);
        assert_eq!(request.headers.get_all(&HeaderName::Via).count(), 2);
        assert_eq!(
            request.headers.get(&HeaderName::from_wire("x-long")),
            Some("one two")
        );
        assert_eq!(request.body, b"body");
        assert!(!request.headers.contains(&HeaderName::ContentLength));
    }

    #[test]
    fn multibyte_start_line_is_rejected_without_panicking() {
        // Found by fuzzing: the fourth byte falls inside a multi-byte character.
        let text = "IV\r\u{3c411}dvent: x\r\n\r\n";
        assert!(parse_message(text.as_bytes()).is_err());
        assert!(parse_message("SIP\u{e9}/2.0 200 OK\r\n\r\n".as_bytes()).is_err());
    }

    #[test]
    fn datagram_without_content_length_takes_the_rest() {
        let text = b"SIP/2.0 200 OK\r\nCall-ID: x\r\n\r\nhello";
        let message = parse_message(text).unwrap();
        assert_eq!(message.body(), b"hello");
    }

    #[test]
    fn lf_only_line_ends_are_accepted() {
        let text = b"SIP/2.0 180 Ringing\nCall-ID: x\n\n";
        assert!(parse_message(text).is_ok());
    }

    #[test]
    fn reports_errors_with_location() {
        assert_eq!(
            parse_message(b"SIP/2.0 200 OK\r\nCall-ID x\r\n\r\n"),
            Err(ParseError::MissingColon { line: 2 })
        );
        assert_eq!(
            parse_message(b"SIP/2.0 200 OK\r\n continued\r\n\r\n"),
            Err(ParseError::OrphanContinuation { line: 2 })
        );
        assert_eq!(
            parse_message(b"SIP/2.0 200 OK\r\nBad Name: x\r\n\r\n"),
            Err(ParseError::InvalidHeaderName {
                line: 2,
                name: "Bad Name".into()
            })
        );
        assert_eq!(
            parse_message(b"SIP/2.0 200 OK\r\nl: 10\r\n\r\nshort"),
            Err(ParseError::BodyTooShort {
                declared: 10,
                available: 5
            })
        );
        assert_eq!(
            parse_message(b"SIP/2.0 200 OK\r\n"),
            Err(ParseError::UnterminatedHeaders)
        );
        assert_eq!(parse_message(b"\r\n\r\n"), Err(ParseError::Empty));
        assert_eq!(
            parse_message(b"SIP/2.0 200 OK\r\nl: 1\r\nContent-Length: 2\r\n\r\nab"),
            Err(ParseError::ConflictingContentLength)
        );
        assert!(matches!(
            parse_message(b"SIP/2.0 200 OK\r\nX: \xff\r\n\r\n"),
            Err(ParseError::InvalidUtf8 { line: 2 })
        ));
    }
}
