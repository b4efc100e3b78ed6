//! Errors of the message layer: parsing, framing and validation.

use thiserror::Error;

/// What is wrong with a SIP message and where. The transport layer answers most of
/// these with `400 Bad Request` (or `505` for [`ParseError::UnsupportedVersion`]) when it
/// could still read enough of the request to build a response, and drops the message
/// otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    #[error("message is empty")]
    Empty,
    #[error("header section is not terminated by an empty line")]
    UnterminatedHeaders,
    #[error("line {line}: header section is not valid UTF-8")]
    InvalidUtf8 { line: usize },
    #[error("start line {line:?}: {reason}")]
    InvalidStartLine { line: String, reason: &'static str },
    #[error("unsupported SIP version {0:?} (only SIP/2.0)")]
    UnsupportedVersion(String),
    #[error("invalid method {0:?}: not a token")]
    InvalidMethod(String),
    #[error("invalid status code {0:?}: must be three digits between 100 and 699")]
    InvalidStatusCode(String),
    #[error("line {line}: header line has no colon")]
    MissingColon { line: usize },
    #[error("line {line}: invalid header name {name:?}")]
    InvalidHeaderName { line: usize, name: String },
    #[error("line {line}: continuation line before the first header")]
    OrphanContinuation { line: usize },
    #[error("invalid Content-Length {0:?}")]
    InvalidContentLength(String),
    #[error("several Content-Length headers with different values")]
    ConflictingContentLength,
    #[error("body is shorter than Content-Length: declared {declared}, received {available}")]
    BodyTooShort { declared: usize, available: usize },
    #[error("Content-Length is required on stream transports")]
    MissingContentLength,
    #[error("invalid URI {uri:?}: {reason}")]
    InvalidUri { uri: String, reason: &'static str },
    #[error("invalid {name} header {value:?}: {reason}")]
    InvalidHeader {
        name: String,
        value: String,
        reason: &'static str,
    },
    #[error("missing {0} header")]
    MissingHeader(&'static str),
    #[error("CSeq method {cseq} does not match the request method {method}")]
    CSeqMethodMismatch { method: String, cseq: String },
    #[error("Request-URI must not carry URI headers: {0:?}")]
    HeadersInRequestUri(String),
    #[error("header section exceeds {limit} bytes")]
    HeadersTooLarge { limit: usize },
    #[error("body of {declared} bytes exceeds the limit of {limit} bytes")]
    BodyTooLarge { declared: usize, limit: usize },
}

impl ParseError {
    pub(crate) fn header(name: &str, value: &str, reason: &'static str) -> Self {
        ParseError::InvalidHeader {
            name: name.to_owned(),
            value: value.to_owned(),
            reason,
        }
    }

    pub(crate) fn uri(uri: &str, reason: &'static str) -> Self {
        ParseError::InvalidUri {
            uri: uri.to_owned(),
            reason,
        }
    }
}
