//! The message model: requests, responses, methods, status codes, and serialization.

use std::fmt;

use crate::header::{HeaderName, Headers};
use crate::text::is_token;
use crate::uri::Uri;

/// A request method. Methods are case-sensitive (RFC 3261 §7.1): `invite` is an
/// unknown extension method, not INVITE.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    Invite,
    Ack,
    Bye,
    Cancel,
    Register,
    Options,
    Info,
    Update,
    Prack,
    Subscribe,
    Notify,
    Refer,
    Message,
    Publish,
    Other(String),
}

impl Method {
    /// Maps a token to a method; `None` if it is not a token.
    pub fn from_token(token: &str) -> Option<Method> {
        if !is_token(token) {
            return None;
        }
        Some(match token {
            "INVITE" => Method::Invite,
            "ACK" => Method::Ack,
            "BYE" => Method::Bye,
            "CANCEL" => Method::Cancel,
            "REGISTER" => Method::Register,
            "OPTIONS" => Method::Options,
            "INFO" => Method::Info,
            "UPDATE" => Method::Update,
            "PRACK" => Method::Prack,
            "SUBSCRIBE" => Method::Subscribe,
            "NOTIFY" => Method::Notify,
            "REFER" => Method::Refer,
            "MESSAGE" => Method::Message,
            "PUBLISH" => Method::Publish,
            other => Method::Other(other.to_owned()),
        })
    }

    pub fn as_str(&self) -> &str {
        match self {
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Register => "REGISTER",
            Method::Options => "OPTIONS",
            Method::Info => "INFO",
            Method::Update => "UPDATE",
            Method::Prack => "PRACK",
            Method::Subscribe => "SUBSCRIBE",
            Method::Notify => "NOTIFY",
            Method::Refer => "REFER",
            Method::Message => "MESSAGE",
            Method::Publish => "PUBLISH",
            Method::Other(other) => other,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A response status code, always within 100..=699.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StatusCode(u16);

impl StatusCode {
    pub const TRYING: StatusCode = StatusCode(100);
    pub const RINGING: StatusCode = StatusCode(180);
    pub const SESSION_PROGRESS: StatusCode = StatusCode(183);
    pub const OK: StatusCode = StatusCode(200);
    pub const BAD_REQUEST: StatusCode = StatusCode(400);
    pub const UNAUTHORIZED: StatusCode = StatusCode(401);
    pub const FORBIDDEN: StatusCode = StatusCode(403);
    pub const NOT_FOUND: StatusCode = StatusCode(404);
    pub const PROXY_AUTHENTICATION_REQUIRED: StatusCode = StatusCode(407);
    pub const REQUEST_TIMEOUT: StatusCode = StatusCode(408);
    pub const TEMPORARILY_UNAVAILABLE: StatusCode = StatusCode(480);
    pub const CALL_DOES_NOT_EXIST: StatusCode = StatusCode(481);
    pub const BUSY_HERE: StatusCode = StatusCode(486);
    pub const REQUEST_TERMINATED: StatusCode = StatusCode(487);
    pub const NOT_ACCEPTABLE_HERE: StatusCode = StatusCode(488);
    pub const SERVER_INTERNAL_ERROR: StatusCode = StatusCode(500);
    pub const NOT_IMPLEMENTED: StatusCode = StatusCode(501);
    pub const SERVICE_UNAVAILABLE: StatusCode = StatusCode(503);
    pub const VERSION_NOT_SUPPORTED: StatusCode = StatusCode(505);
    pub const DECLINE: StatusCode = StatusCode(603);

    /// `None` outside 100..=699.
    pub fn new(code: u16) -> Option<StatusCode> {
        (100..=699).contains(&code).then_some(StatusCode(code))
    }

    pub fn as_u16(self) -> u16 {
        self.0
    }

    pub fn is_provisional(self) -> bool {
        self.0 < 200
    }

    pub fn is_success(self) -> bool {
        (200..300).contains(&self.0)
    }

    pub fn is_final(self) -> bool {
        self.0 >= 200
    }

    /// The reason phrase RFC 3261 §21 suggests; `""` for codes it does not name.
    pub fn default_reason(self) -> &'static str {
        match self.0 {
            100 => "Trying",
            180 => "Ringing",
            181 => "Call Is Being Forwarded",
            182 => "Queued",
            183 => "Session Progress",
            200 => "OK",
            202 => "Accepted",
            300 => "Multiple Choices",
            301 => "Moved Permanently",
            302 => "Moved Temporarily",
            400 => "Bad Request",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "Not Found",
            405 => "Method Not Allowed",
            407 => "Proxy Authentication Required",
            408 => "Request Timeout",
            415 => "Unsupported Media Type",
            420 => "Bad Extension",
            423 => "Interval Too Brief",
            480 => "Temporarily Unavailable",
            481 => "Call/Transaction Does Not Exist",
            482 => "Loop Detected",
            483 => "Too Many Hops",
            486 => "Busy Here",
            487 => "Request Terminated",
            488 => "Not Acceptable Here",
            491 => "Request Pending",
            500 => "Server Internal Error",
            501 => "Not Implemented",
            503 => "Service Unavailable",
            504 => "Server Time-out",
            505 => "Version Not Supported",
            600 => "Busy Everywhere",
            603 => "Decline",
            _ => "",
        }
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    pub uri: Uri,
    /// All headers except Content-Length, which is derived from `body` when writing.
    pub headers: Headers,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: StatusCode,
    pub reason: String,
    /// All headers except Content-Length, which is derived from `body` when writing.
    pub headers: Headers,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Request(Request),
    Response(Response),
}

impl Request {
    pub fn new(method: Method, uri: Uri) -> Self {
        Request {
            method,
            uri,
            headers: Headers::new(),
            body: Vec::new(),
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let start_line = format!("{} {} SIP/2.0", self.method, self.uri);
        write_message(&start_line, &self.headers, &self.body)
    }
}

impl Response {
    /// A response with the default reason phrase and no headers.
    pub fn new(status: StatusCode) -> Self {
        Response {
            status,
            reason: status.default_reason().to_owned(),
            headers: Headers::new(),
            body: Vec::new(),
        }
    }

    /// Builds a response to `request` as RFC 3261 §8.2.6.2 asks: Via, From, To, Call-ID
    /// and CSeq copied; the To tag is added only if `to_tag` is given and the request's
    /// To has none. Dialog-creating responses also need [`Response::copy_record_route`]
    /// and a Contact.
    pub fn for_request(request: &Request, status: StatusCode, to_tag: Option<&str>) -> Self {
        let mut response = Response::new(status);
        for header in &request.headers {
            let copied = matches!(
                header.name,
                HeaderName::Via | HeaderName::From | HeaderName::CallId | HeaderName::CSeq
            );
            if copied {
                response
                    .headers
                    .push(header.name.clone(), header.value.clone());
            } else if header.name == HeaderName::To {
                let mut value = header.value.clone();
                if let Some(tag) = to_tag
                    && let Ok(to) = crate::typed::NameAddr::parse(&value, "To")
                    && to.tag().is_none()
                {
                    value = to.with_param("tag", Some(tag)).to_string();
                }
                response.headers.push(HeaderName::To, value);
            }
        }
        response
    }

    /// Copies the request's Record-Route values, as a response that creates a dialog
    /// must (RFC 3261 §12.1.1).
    pub fn copy_record_route(&mut self, request: &Request) {
        for record_route in request.headers.get_all(&HeaderName::RecordRoute) {
            self.headers.push(HeaderName::RecordRoute, record_route);
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let start_line = if self.reason.is_empty() {
            format!("SIP/2.0 {} ", self.status)
        } else {
            format!("SIP/2.0 {} {}", self.status, self.reason)
        };
        write_message(&start_line, &self.headers, &self.body)
    }
}

impl Message {
    pub fn headers(&self) -> &Headers {
        match self {
            Message::Request(request) => &request.headers,
            Message::Response(response) => &response.headers,
        }
    }

    pub fn headers_mut(&mut self) -> &mut Headers {
        match self {
            Message::Request(request) => &mut request.headers,
            Message::Response(response) => &mut response.headers,
        }
    }

    pub fn body(&self) -> &[u8] {
        match self {
            Message::Request(request) => &request.body,
            Message::Response(response) => &response.body,
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Message::Request(request) => request.to_bytes(),
            Message::Response(response) => response.to_bytes(),
        }
    }

    pub fn as_request(&self) -> Option<&Request> {
        match self {
            Message::Request(request) => Some(request),
            Message::Response(_) => None,
        }
    }

    pub fn as_response(&self) -> Option<&Response> {
        match self {
            Message::Response(response) => Some(response),
            Message::Request(_) => None,
        }
    }
}

impl From<Request> for Message {
    fn from(request: Request) -> Self {
        Message::Request(request)
    }
}

impl From<Response> for Message {
    fn from(response: Response) -> Self {
        Message::Response(response)
    }
}

/// Canonical form: long header names, one value per line, and a Content-Length that
/// always matches the body (any stored Content-Length is ignored).
fn write_message(start_line: &str, headers: &Headers, body: &[u8]) -> Vec<u8> {
    let mut text = String::with_capacity(256 + headers.len() * 48);
    text.push_str(start_line);
    text.push_str("\r\n");
    for header in headers {
        if header.name == HeaderName::ContentLength {
            continue;
        }
        text.push_str(header.name.as_str());
        text.push_str(": ");
        text.push_str(&header.value);
        text.push_str("\r\n");
    }
    text.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

impl fmt::Display for Message {
    /// Lossy for non-UTF-8 bodies; meant for logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.to_bytes()))
    }
}
