//! Checks a UAS or proxy makes before handing a parsed message to a transaction
//! (RFC 3261 §8.2 and §16.3): the headers everything else relies on exist, appear once
//! where they must, and are well-formed.

use crate::error::ParseError;
use crate::header::{HeaderName, Headers};
use crate::message::{Request, Response};

impl Request {
    /// Rejects what RFC 4475 lists as invalid: missing or malformed core headers,
    /// out-of-range scalars, a CSeq method that differs from the request method, and a
    /// Request-URI that carries URI headers. Answer a failure with `400 Bad Request`.
    pub fn validate(&self) -> Result<(), ParseError> {
        validate_common(&self.headers, !self.body.is_empty())?;
        self.headers.max_forwards()?;
        let cseq = self.headers.cseq()?;
        if cseq.method != self.method {
            return Err(ParseError::CSeqMethodMismatch {
                method: self.method.to_string(),
                cseq: cseq.method.to_string(),
            });
        }
        if let Some(sip) = self.uri.as_sip()
            && !sip.headers.is_empty()
        {
            return Err(ParseError::HeadersInRequestUri(self.uri.to_string()));
        }
        Ok(())
    }
}

impl Response {
    /// The checks a UAC applies before matching a response to a transaction; a
    /// response that fails them is dropped (RFC 3261 §8.1.3.3).
    pub fn validate(&self) -> Result<(), ParseError> {
        validate_common(&self.headers, !self.body.is_empty())
    }
}

fn validate_common(headers: &Headers, has_body: bool) -> Result<(), ParseError> {
    for (name, header) in [
        ("From", HeaderName::From),
        ("To", HeaderName::To),
        ("Call-ID", HeaderName::CallId),
        ("CSeq", HeaderName::CSeq),
        ("Max-Forwards", HeaderName::MaxForwards),
        ("Content-Type", HeaderName::ContentType),
    ] {
        if headers.get_all(&header).count() > 1 {
            let value = headers.get_all(&header).collect::<Vec<_>>().join(", ");
            return Err(ParseError::header(name, &value, "appears more than once"));
        }
    }
    if headers.vias()?.is_empty() {
        return Err(ParseError::MissingHeader("Via"));
    }
    headers.from()?;
    headers.to()?;
    headers.call_id()?;
    headers.cseq()?;
    headers.contacts()?;
    headers.routes()?;
    headers.record_routes()?;
    // A malformed Expires is not checked here: RFC 3261 §10.3 has the registrar
    // treat it as the default, which the caller does when `Headers::expires` fails.
    if headers.content_type()?.is_none() && has_body {
        return Err(ParseError::MissingHeader("Content-Type"));
    }
    Ok(())
}
