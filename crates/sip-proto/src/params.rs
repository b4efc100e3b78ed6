//! Generic `;name=value` parameters of headers and URIs.

use std::fmt;

use crate::error::ParseError;
use crate::text::{is_token, split_top_level, take_quoted_string, trim_lws, unquote};

/// One parameter. `value` is kept exactly as written (a quoted value keeps its quotes),
/// so that unknown parameters are forwarded unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    pub name: String,
    pub value: Option<String>,
}

/// An ordered list of parameters whose names compare case-insensitively.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<Param>);

impl Params {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Param> {
        self.0.iter()
    }

    /// `None` if absent, `Some(None)` for a flag parameter such as `lr`.
    pub fn get(&self, name: &str) -> Option<Option<&str>> {
        self.0
            .iter()
            .find(|param| param.name.eq_ignore_ascii_case(name))
            .map(|param| param.value.as_deref())
    }

    /// The value of a parameter that has one, with quotes removed.
    pub fn value(&self, name: &str) -> Option<String> {
        self.get(name).flatten().map(unquote)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Replaces the first parameter of that name or appends a new one.
    pub fn set(&mut self, name: &str, value: Option<&str>) {
        let value = value.map(str::to_owned);
        match self
            .0
            .iter_mut()
            .find(|param| param.name.eq_ignore_ascii_case(name))
        {
            Some(param) => param.value = value,
            None => self.0.push(Param {
                name: name.to_owned(),
                value,
            }),
        }
    }

    pub fn remove(&mut self, name: &str) {
        self.0
            .retain(|param| !param.name.eq_ignore_ascii_case(name));
    }

    pub(crate) fn push(&mut self, name: String, value: Option<String>) {
        self.0.push(Param { name, value });
    }

    /// Parses header parameters, `input` being the text after the first `;`
    /// (for example `tag=1 ; lr`). LWS around `;` and `=` is allowed.
    pub(crate) fn parse_header_params(input: &str, header: &str) -> Result<Params, ParseError> {
        let mut params = Params::new();
        let pieces = split_top_level(input, ';')
            .map_err(|reason| ParseError::header(header, input, reason))?;
        for piece in pieces {
            let piece = trim_lws(piece);
            if piece.is_empty() {
                return Err(ParseError::header(header, input, "empty parameter"));
            }
            let (name, value) = match piece.split_once('=') {
                Some((name, value)) => (trim_lws(name), Some(trim_lws(value))),
                None => (piece, None),
            };
            if !is_token(name) {
                return Err(ParseError::header(
                    header,
                    input,
                    "parameter name is not a token",
                ));
            }
            if let Some(value) = value {
                check_header_param_value(value)
                    .map_err(|reason| ParseError::header(header, input, reason))?;
            }
            params.push(name.to_owned(), value.map(str::to_owned));
        }
        Ok(params)
    }
}

/// `gen-value = token / host / quoted-string`, read liberally: an unquoted value may
/// hold any visible character but `"` (some clients send `+sip.instance=<urn:…>`
/// without quotes), since `;` and `,` have already been split off.
fn check_header_param_value(value: &str) -> Result<(), &'static str> {
    if value.starts_with('"') {
        let (_, rest) = take_quoted_string(value)?;
        if !rest.is_empty() {
            return Err("text after a quoted parameter value");
        }
        return Ok(());
    }
    if value.is_empty() {
        return Err("empty parameter value");
    }
    if value
        .chars()
        .all(|c| !c.is_whitespace() && !c.is_control() && c != '"')
    {
        Ok(())
    } else {
        Err("parameter value has spaces or quotes outside a quoted string")
    }
}

impl fmt::Display for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for param in &self.0 {
            write!(f, ";{}", param.name)?;
            if let Some(value) = &param.value {
                write!(f, "={value}")?;
            }
        }
        Ok(())
    }
}

impl FromIterator<(String, Option<String>)> for Params {
    fn from_iter<I: IntoIterator<Item = (String, Option<String>)>>(iter: I) -> Self {
        Params(
            iter.into_iter()
                .map(|(name, value)| Param { name, value })
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_with_lws_and_flags() {
        let params = Params::parse_header_params(" tag = 98asjd8 ;lr; q=0.33", "From").unwrap();
        assert_eq!(params.get("TAG"), Some(Some("98asjd8")));
        assert_eq!(params.get("lr"), Some(None));
        assert_eq!(params.to_string(), ";tag=98asjd8;lr;q=0.33");
    }

    #[test]
    fn rejects_empty_parameters() {
        assert!(Params::parse_header_params(";", "Via").is_err());
        assert!(Params::parse_header_params("a;;b", "Via").is_err());
    }

    #[test]
    fn unquoted_values_are_read_liberally() {
        let params = Params::parse_header_params(
            "+sip.instance=<urn:uuid:00000000-0000-1000-8000-000A95A0E128>;reg-id=1",
            "Contact",
        )
        .unwrap();
        assert_eq!(params.get("reg-id"), Some(Some("1")));
        assert!(Params::parse_header_params("a=b c", "Contact").is_err());
        assert!(Params::parse_header_params("a=b\"c", "Contact").is_err());
    }

    #[test]
    fn quoted_values_keep_quotes_but_value_unquotes() {
        let params = Params::parse_header_params(r#"x="a;b""#, "Foo").unwrap();
        assert_eq!(params.get("x"), Some(Some(r#""a;b""#)));
        assert_eq!(params.value("x").as_deref(), Some("a;b"));
    }
}
