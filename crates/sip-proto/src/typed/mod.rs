//! Typed views of header values. Headers are stored as text (so unknown syntax is
//! forwarded untouched) and parsed on access; [`crate::Request::validate`] parses the ones a
//! UAS relies on once, up front.

mod name_addr;
mod via;

use std::fmt;

pub use name_addr::{Contact, NameAddr};
pub use via::{BRANCH_MAGIC_COOKIE, Rport, Transport, Via};

use crate::error::ParseError;
use crate::header::{HeaderName, Headers};
use crate::message::Method;
use crate::params::Params;
use crate::text::{is_lws, is_token, is_word_char, parse_decimal, split_top_level, trim_lws};

/// `CSeq: 4711 INVITE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CSeq {
    pub seq: u32,
    pub method: Method,
}

impl CSeq {
    pub fn parse(value: &str) -> Result<CSeq, ParseError> {
        let err = |reason| ParseError::header("CSeq", value, reason);
        let mut words = value.split(is_lws).filter(|word| !word.is_empty());
        let (Some(number), Some(method), None) = (words.next(), words.next(), words.next()) else {
            return Err(err("expected a sequence number and a method"));
        };
        let seq = parse_decimal(number)
            .ok_or_else(|| err("sequence number is not a 32-bit unsigned integer"))?;
        let method = Method::from_token(method).ok_or_else(|| err("method is not a token"))?;
        Ok(CSeq { seq, method })
    }
}

impl fmt::Display for CSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.seq, self.method)
    }
}

/// A media type such as `application/sdp` (Content-Type, Accept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaType {
    pub kind: String,
    pub subtype: String,
    pub params: Params,
}

impl MediaType {
    pub fn new(kind: &str, subtype: &str) -> Self {
        MediaType {
            kind: kind.to_owned(),
            subtype: subtype.to_owned(),
            params: Params::new(),
        }
    }

    pub fn sdp() -> Self {
        MediaType::new("application", "sdp")
    }

    pub fn is(&self, kind: &str, subtype: &str) -> bool {
        self.kind.eq_ignore_ascii_case(kind) && self.subtype.eq_ignore_ascii_case(subtype)
    }

    pub fn parse(value: &str, header: &str) -> Result<MediaType, ParseError> {
        let err = |reason| ParseError::header(header, value, reason);
        let pieces = split_top_level(value, ';').map_err(err)?;
        let (kind, subtype) = pieces[0]
            .split_once('/')
            .ok_or_else(|| err("expected type/subtype"))?;
        let (kind, subtype) = (trim_lws(kind), trim_lws(subtype));
        if !is_token(kind) || !is_token(subtype) {
            return Err(err("type and subtype must be tokens"));
        }
        let params = if pieces.len() > 1 {
            Params::parse_header_params(&value[pieces[0].len() + 1..], header)?
        } else {
            Params::new()
        };
        Ok(MediaType {
            kind: kind.to_owned(),
            subtype: subtype.to_owned(),
            params,
        })
    }
}

impl fmt::Display for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}{}", self.kind, self.subtype, self.params)
    }
}

fn require<'a>(
    headers: &'a Headers,
    name: &'static str,
    header: &HeaderName,
) -> Result<&'a str, ParseError> {
    headers.get(header).ok_or(ParseError::MissingHeader(name))
}

/// Typed accessors. Required headers return [`ParseError::MissingHeader`] when absent;
/// optional ones return `Ok(None)`.
impl Headers {
    /// All Via values, topmost first.
    pub fn vias(&self) -> Result<Vec<Via>, ParseError> {
        self.get_all(&HeaderName::Via).map(Via::parse).collect()
    }

    pub fn top_via(&self) -> Result<Via, ParseError> {
        Via::parse(require(self, "Via", &HeaderName::Via)?)
    }

    pub fn from(&self) -> Result<NameAddr, ParseError> {
        NameAddr::parse(require(self, "From", &HeaderName::From)?, "From")
    }

    pub fn to(&self) -> Result<NameAddr, ParseError> {
        NameAddr::parse(require(self, "To", &HeaderName::To)?, "To")
    }

    /// The Call-ID, checked to be `word [@ word]`.
    pub fn call_id(&self) -> Result<&str, ParseError> {
        let value = require(self, "Call-ID", &HeaderName::CallId)?;
        let is_word = |part: &str| !part.is_empty() && part.chars().all(is_word_char);
        let valid = match value.split_once('@') {
            Some((left, right)) => is_word(left) && is_word(right),
            None => is_word(value),
        };
        if valid {
            Ok(value)
        } else {
            Err(ParseError::header("Call-ID", value, "not word[@word]"))
        }
    }

    pub fn cseq(&self) -> Result<CSeq, ParseError> {
        CSeq::parse(require(self, "CSeq", &HeaderName::CSeq)?)
    }

    /// Max-Forwards (0..=255).
    pub fn max_forwards(&self) -> Result<Option<u8>, ParseError> {
        self.get(&HeaderName::MaxForwards)
            .map(|value| {
                parse_decimal(trim_lws(value)).ok_or_else(|| {
                    ParseError::header("Max-Forwards", value, "not a number in 0..=255")
                })
            })
            .transpose()
    }

    pub fn contacts(&self) -> Result<Vec<Contact>, ParseError> {
        self.get_all(&HeaderName::Contact)
            .map(Contact::parse)
            .collect()
    }

    /// Route values, in order.
    pub fn routes(&self) -> Result<Vec<NameAddr>, ParseError> {
        self.get_all(&HeaderName::Route)
            .map(|value| NameAddr::parse(value, "Route"))
            .collect()
    }

    /// Record-Route values, in order.
    pub fn record_routes(&self) -> Result<Vec<NameAddr>, ParseError> {
        self.get_all(&HeaderName::RecordRoute)
            .map(|value| NameAddr::parse(value, "Record-Route"))
            .collect()
    }

    /// P-Asserted-Identity values (RFC 3325): the caller identity a trusted carrier
    /// vouches for, often a `tel:` URI next to a `sip:` one.
    pub fn asserted_identities(&self) -> Result<Vec<NameAddr>, ParseError> {
        self.get_all(&HeaderName::PAssertedIdentity)
            .map(|value| NameAddr::parse(value, "P-Asserted-Identity"))
            .collect()
    }

    pub fn content_type(&self) -> Result<Option<MediaType>, ParseError> {
        self.get(&HeaderName::ContentType)
            .map(|value| MediaType::parse(value, "Content-Type"))
            .transpose()
    }

    /// The Expires header in seconds.
    pub fn expires(&self) -> Result<Option<u32>, ParseError> {
        self.get(&HeaderName::Expires)
            .map(|value| {
                parse_decimal(trim_lws(value)).ok_or_else(|| {
                    ParseError::header("Expires", value, "not a 32-bit number of seconds")
                })
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cseq_parses_with_leading_zeros_and_folding() {
        let cseq = CSeq::parse("0009  INVITE").unwrap();
        assert_eq!(
            cseq,
            CSeq {
                seq: 9,
                method: Method::Invite
            }
        );
        assert!(CSeq::parse("36893488147419103232 OPTIONS").is_err());
        assert!(CSeq::parse("-1 INVITE").is_err());
        assert!(CSeq::parse("1").is_err());
    }

    #[test]
    fn media_type_with_params() {
        let media = MediaType::parse(
            "multipart/mixed ; boundary=7a9cbec02ceef655",
            "Content-Type",
        )
        .unwrap();
        assert!(media.is("Multipart", "MIXED"));
        assert_eq!(
            media.params.value("boundary").as_deref(),
            Some("7a9cbec02ceef655")
        );
    }

    #[test]
    fn accessors_report_missing_headers() {
        let headers = Headers::new();
        assert_eq!(headers.call_id(), Err(ParseError::MissingHeader("Call-ID")));
        assert_eq!(headers.max_forwards(), Ok(None));
    }

    #[test]
    fn asserted_identities_split_on_commas() {
        let text = "INVITE sip:12351@gw SIP/2.0\r\nP-Asserted-Identity: \"Caller, Zhang\" <sip:+8613800000000@carrier.cn>, <tel:+8613800000000>\r\n\r\n";
        let message = crate::parse_message(text.as_bytes()).unwrap();
        let identities = message.headers().asserted_identities().unwrap();
        assert_eq!(identities.len(), 2);
        assert_eq!(identities[0].display_name.as_deref(), Some("Caller, Zhang"));
        assert_eq!(identities[1].uri.to_string(), "tel:+8613800000000");
    }

    #[test]
    fn max_forwards_range() {
        let mut headers = Headers::new();
        headers.push(HeaderName::MaxForwards, "0068");
        assert_eq!(headers.max_forwards(), Ok(Some(68)));
        headers.set(HeaderName::MaxForwards, "300");
        assert!(headers.max_forwards().is_err());
    }
}
