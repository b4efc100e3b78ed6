//! `name-addr / addr-spec` values: From, To, Contact, Route, Record-Route, Refer-To.

use std::fmt;

use crate::error::ParseError;
use crate::params::Params;
use crate::text::{is_lws, is_token_char, parse_decimal, quote, take_quoted_string, trim_lws};
use crate::uri::Uri;

/// An address with optional display name and header parameters (`tag`, `expires`, `q`…).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    /// The display name, unquoted and unescaped.
    pub display_name: Option<String>,
    pub uri: Uri,
    pub params: Params,
}

impl NameAddr {
    pub fn new(uri: impl Into<Uri>) -> Self {
        NameAddr {
            display_name: None,
            uri: uri.into(),
            params: Params::new(),
        }
    }

    pub fn with_display_name(mut self, name: &str) -> Self {
        self.display_name = Some(name.to_owned());
        self
    }

    pub fn with_param(mut self, name: &str, value: Option<&str>) -> Self {
        self.params.set(name, value);
        self
    }

    pub fn tag(&self) -> Option<&str> {
        self.params.get("tag").flatten()
    }

    /// Parses one value; `header` names the header in errors.
    pub fn parse(value: &str, header: &str) -> Result<NameAddr, ParseError> {
        let err = |reason| ParseError::header(header, value, reason);
        let text = trim_lws(value);
        if text.starts_with('"') {
            let (display_name, rest) = take_quoted_string(text).map_err(err)?;
            let rest = trim_lws(rest);
            if !rest.starts_with('<') {
                return Err(err("quoted display name must be followed by <URI>"));
            }
            return Self::parse_bracketed(Some(display_name), rest, value, header);
        }
        if let Some(open) = text.find('<') {
            let display = trim_lws(&text[..open]);
            let display_name = if display.is_empty() {
                None
            } else {
                let words: Vec<&str> = display
                    .split(is_lws)
                    .filter(|word| !word.is_empty())
                    .collect();
                // RFC 3261 allows only tokens here. Non-ASCII letters are accepted too,
                // because carriers send unquoted Chinese names; ASCII separators such as
                // the comma of RFC 4475's `baddn` are still refused.
                let is_display_word =
                    |word: &&str| word.chars().all(|c| is_token_char(c) || !c.is_ascii());
                if !words.iter().all(is_display_word) {
                    return Err(err("display name is neither a quoted string nor tokens"));
                }
                Some(words.join(" "))
            };
            return Self::parse_bracketed(display_name, &text[open..], value, header);
        }
        // addr-spec form: every `;` after the URI starts a header parameter, and a URI
        // with `?`, `,` or `;` of its own would have needed angle brackets.
        let (uri_text, params_text) = match text.split_once(';') {
            Some((uri, params)) => (trim_lws(uri), Some(params)),
            None => (text, None),
        };
        if uri_text.contains(['?', ',']) {
            return Err(err("URI with headers or commas must be enclosed in <>"));
        }
        let uri = Uri::parse(uri_text)?;
        let params = match params_text {
            Some(params) => Params::parse_header_params(params, header)?,
            None => Params::new(),
        };
        Ok(NameAddr {
            display_name: None,
            uri,
            params,
        })
    }

    fn parse_bracketed(
        display_name: Option<String>,
        bracketed: &str,
        value: &str,
        header: &str,
    ) -> Result<NameAddr, ParseError> {
        let err = |reason| ParseError::header(header, value, reason);
        let inner = &bracketed[1..];
        let close = inner.find('>').ok_or_else(|| err("missing >"))?;
        let uri = Uri::parse(&inner[..close])?;
        let rest = trim_lws(&inner[close + 1..]);
        let params = if rest.is_empty() {
            Params::new()
        } else {
            let params = rest.strip_prefix(';').ok_or_else(|| err("text after >"))?;
            Params::parse_header_params(params, header)?
        };
        Ok(NameAddr {
            display_name,
            uri,
            params,
        })
    }
}

impl fmt::Display for NameAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(display_name) = &self.display_name {
            write!(f, "{} ", quote(display_name))?;
        }
        write!(f, "<{}>{}", self.uri, self.params)
    }
}

/// A Contact value: an address, or `*` (only in a REGISTER that removes all bindings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contact {
    Wildcard,
    Address(NameAddr),
}

impl Contact {
    pub fn parse(value: &str) -> Result<Contact, ParseError> {
        if trim_lws(value) == "*" {
            return Ok(Contact::Wildcard);
        }
        NameAddr::parse(value, "Contact").map(Contact::Address)
    }

    pub fn address(&self) -> Option<&NameAddr> {
        match self {
            Contact::Wildcard => None,
            Contact::Address(address) => Some(address),
        }
    }

    /// The `expires` parameter. An unreadable value (for example one above 2^32-1) reads
    /// as absent, so the caller falls back to the Expires header or its default, as
    /// RFC 3261 §10.3 suggests for malformed values.
    pub fn expires(&self) -> Option<u32> {
        self.address()?
            .params
            .get("expires")
            .flatten()
            .and_then(parse_decimal)
    }

    /// The `q` preference in thousandths (`q=0.33` gives 330).
    pub fn q_millis(&self) -> Option<u16> {
        let q = self.address()?.params.get("q").flatten()?;
        let (whole, fraction) = q.split_once('.').unwrap_or((q, ""));
        let whole: u16 = parse_decimal(whole)?;
        if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let padded = format!("{fraction:0<3}");
        let millis = whole * 1000 + padded.parse::<u16>().ok()?;
        (millis <= 1000).then_some(millis)
    }
}

impl fmt::Display for Contact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Contact::Wildcard => f.write_str("*"),
            Contact::Address(address) => address.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_display_name_with_escapes() {
        let from = NameAddr::parse(
            r#""J Rosenberg \\\""       <sip:jdrosen@example.com> ; tag = 98asjd8"#,
            "From",
        )
        .unwrap();
        assert_eq!(from.display_name.as_deref(), Some(r#"J Rosenberg \""#));
        assert_eq!(from.tag(), Some("98asjd8"));
        assert_eq!(
            from.to_string(),
            r#""J Rosenberg \\\"" <sip:jdrosen@example.com>;tag=98asjd8"#
        );
    }

    #[test]
    fn unquoted_chinese_display_name_is_accepted() {
        let from = NameAddr::parse("张三 <sip:+8613800000000@carrier.cn>;tag=1", "From").unwrap();
        assert_eq!(from.display_name.as_deref(), Some("张三"));
    }

    #[test]
    fn addr_spec_params_belong_to_the_header() {
        let to = NameAddr::parse("sip:user@example.com;tag=abc", "To").unwrap();
        assert_eq!(to.tag(), Some("abc"));
        assert!(to.uri.as_sip().unwrap().params.is_empty());
    }

    #[test]
    fn token_display_name_without_space_before_bracket() {
        let from = NameAddr::parse("caller<sip:caller@example.com>;tag=323", "From").unwrap();
        assert_eq!(from.display_name.as_deref(), Some("caller"));
    }

    #[test]
    fn rejects_malformed_addresses() {
        for bad in [
            r#""Mr. J. User <sip:j.user@example.com>"#,
            "Bell, Alexander <sip:a.g.bell@example.com>;tag=43",
            "\"Watson, Thomas\" < sip:t.watson@example.org >",
            "sip:user@example.com?Route=%3Csip:sip.example.com%3E",
            "<sip:user@example.com",
            "<sip:user@example.com> junk",
            "\"Joe\" <sip:joe@example.org>;;;;",
        ] {
            assert!(NameAddr::parse(bad, "To").is_err(), "{bad}");
        }
    }

    #[test]
    fn contact_wildcard_expires_and_q() {
        assert_eq!(Contact::parse(" * ").unwrap(), Contact::Wildcard);
        let contact = Contact::parse("<sip:a@b>;expires=3600;q=0.5").unwrap();
        assert_eq!(contact.expires(), Some(3600));
        assert_eq!(contact.q_millis(), Some(500));
        let huge = Contact::parse("<sip:a@b>;expires=280297596632815").unwrap();
        assert_eq!(huge.expires(), None);
    }
}
