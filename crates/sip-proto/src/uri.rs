//! SIP and SIPS URIs (RFC 3261 §19.1) and other absolute URIs such as `tel:`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use crate::error::ParseError;
use crate::params::Params;
use crate::text::{escapes_are_valid, parse_decimal, percent_decode};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    Sip,
    Sips,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Sip => "sip",
            Scheme::Sips => "sips",
        }
    }
}

/// The host part of a URI or a Via sent-by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// A domain name, kept as written (compare with [`Host::eq_ignore_case`]).
    Domain(String),
    V4(Ipv4Addr),
    V6(Ipv6Addr),
}

impl Host {
    /// Parses a host: an IPv4 address, an IPv6 reference in brackets, or a domain name.
    pub fn parse(input: &str) -> Result<Host, &'static str> {
        if let Some(inner) = input.strip_prefix('[') {
            let inner = inner
                .strip_suffix(']')
                .ok_or("IPv6 reference without closing bracket")?;
            return inner
                .parse()
                .map(Host::V6)
                .map_err(|_| "invalid IPv6 address");
        }
        if input.is_empty() {
            return Err("empty host");
        }
        if let Ok(v4) = input.parse() {
            return Ok(Host::V4(v4));
        }
        // `_` is not in the RFC 3261 grammar but appears in container and lab host
        // names; accepting it costs nothing.
        let valid_domain = input
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
            && !input.starts_with('.')
            && !input.starts_with('-');
        if valid_domain {
            Ok(Host::Domain(input.to_owned()))
        } else {
            Err("invalid host name")
        }
    }

    pub fn ip(&self) -> Option<IpAddr> {
        match self {
            Host::Domain(_) => None,
            Host::V4(v4) => Some(IpAddr::V4(*v4)),
            Host::V6(v6) => Some(IpAddr::V6(*v6)),
        }
    }

    /// Host comparison as RFC 3261 §19.1.4 asks: domain names are case-insensitive.
    pub fn eq_ignore_case(&self, other: &Host) -> bool {
        match (self, other) {
            (Host::Domain(a), Host::Domain(b)) => a.eq_ignore_ascii_case(b),
            _ => self == other,
        }
    }
}

impl From<IpAddr> for Host {
    fn from(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Host::V4(v4),
            IpAddr::V6(v6) => Host::V6(v6),
        }
    }
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Domain(domain) => f.write_str(domain),
            Host::V4(v4) => write!(f, "{v4}"),
            Host::V6(v6) => write!(f, "[{v6}]"),
        }
    }
}

/// Splits `host[:port]` (with `[v6]:port`), checking both parts.
pub(crate) fn parse_host_port(input: &str) -> Result<(Host, Option<u16>), &'static str> {
    let (host_text, port_text) = if input.starts_with('[') {
        let close = input
            .find(']')
            .ok_or("IPv6 reference without closing bracket")?;
        let rest = &input[close + 1..];
        let port = match rest.strip_prefix(':') {
            Some(port) => Some(port),
            None if rest.is_empty() => None,
            None => return Err("text after IPv6 reference"),
        };
        (&input[..=close], port)
    } else {
        match input.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (input, None),
        }
    };
    let host = Host::parse(host_text)?;
    let port = match port_text {
        Some(text) => Some(parse_decimal::<u16>(text).ok_or("invalid port")?),
        None => None,
    };
    Ok((host, port))
}

/// A `sip:` or `sips:` URI. User, password, parameter values and headers are kept in
/// their escaped form so the URI is forwarded byte for byte; use
/// [`SipUri::user_decoded`] to compare user names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipUri {
    pub scheme: Scheme,
    pub user: Option<String>,
    pub password: Option<String>,
    pub host: Host,
    pub port: Option<u16>,
    pub params: Params,
    /// `?name=value&...` headers, escaped.
    pub headers: Vec<(String, String)>,
}

impl SipUri {
    pub fn new(host: Host) -> Self {
        SipUri {
            scheme: Scheme::Sip,
            user: None,
            password: None,
            host,
            port: None,
            params: Params::new(),
            headers: Vec::new(),
        }
    }

    pub fn with_user(mut self, user: &str) -> Self {
        self.user = Some(user.to_owned());
        self
    }

    pub fn with_port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    pub fn with_param(mut self, name: &str, value: Option<&str>) -> Self {
        self.params.set(name, value);
        self
    }

    /// The user part with `%HH` escapes decoded.
    pub fn user_decoded(&self) -> Option<Vec<u8>> {
        self.user.as_deref().map(percent_decode)
    }

    /// `transport` URI parameter, lower-cased.
    pub fn transport_param(&self) -> Option<String> {
        self.params
            .value("transport")
            .map(|t| t.to_ascii_lowercase())
    }

    /// Loose routing flag of a Route/Record-Route URI (RFC 3261 §16.12).
    pub fn is_loose_route(&self) -> bool {
        self.params.contains("lr")
    }

    /// URI equivalence of RFC 3261 §19.1.4, as a registrar compares addresses of
    /// record: escapes are decoded, the host is case-insensitive, an absent port is not
    /// 5060, the `user`, `ttl`, `method`, `maddr` and `transport` parameters must agree
    /// when either side has them, other parameters only when both have them, and URI
    /// headers must agree.
    pub fn equivalent(&self, other: &SipUri) -> bool {
        let decoded = |part: &Option<String>| part.as_deref().map(percent_decode);
        if self.scheme != other.scheme
            || decoded(&self.user) != decoded(&other.user)
            || decoded(&self.password) != decoded(&other.password)
            || !self.host.eq_ignore_case(&other.host)
            || self.port != other.port
        {
            return false;
        }
        let param = |uri: &SipUri, name: &str| {
            uri.params
                .get(name)
                .map(|value| value.map(|v| percent_decode(v).to_ascii_lowercase()))
        };
        for name in ["user", "ttl", "method", "maddr", "transport"] {
            if param(self, name) != param(other, name) {
                return false;
            }
        }
        for mine in self.params.iter() {
            if let (Some(a), Some(b)) = (param(self, &mine.name), param(other, &mine.name))
                && a != b
            {
                return false;
            }
        }
        let headers = |uri: &SipUri| {
            let mut headers: Vec<(String, Vec<u8>)> = uri
                .headers
                .iter()
                .map(|(name, value)| (name.to_ascii_lowercase(), percent_decode(value)))
                .collect();
            headers.sort();
            headers
        };
        headers(self) == headers(other)
    }

    fn parse(input: &str) -> Result<SipUri, ParseError> {
        let err = |reason| ParseError::uri(input, reason);
        let (scheme, rest) = if let Some(rest) = strip_prefix_ignore_case(input, "sips:") {
            (Scheme::Sips, rest)
        } else if let Some(rest) = strip_prefix_ignore_case(input, "sip:") {
            (Scheme::Sip, rest)
        } else {
            return Err(err("not a sip: or sips: URI"));
        };
        if !rest.chars().all(is_uri_char) {
            return Err(err("character not allowed in a URI"));
        }
        if !escapes_are_valid(rest) {
            return Err(err("invalid % escape"));
        }
        let (userinfo, host_and_rest) = match rest.split_once('@') {
            Some((userinfo, host)) => (Some(userinfo), host),
            None => (None, rest),
        };
        let (user, password) = match userinfo {
            Some(userinfo) => {
                let (user, password) = match userinfo.split_once(':') {
                    Some((user, password)) => (user, Some(password.to_owned())),
                    None => (userinfo, None),
                };
                if user.is_empty() {
                    return Err(err("empty user part before @"));
                }
                (Some(user.to_owned()), password)
            }
            None => (None, None),
        };
        let host_end = host_and_rest
            .find([';', '?'])
            .unwrap_or(host_and_rest.len());
        let (host, port) = parse_host_port(&host_and_rest[..host_end]).map_err(err)?;
        let after_host = &host_and_rest[host_end..];
        let (params_text, headers_text) = match after_host.split_once('?') {
            Some((params, headers)) => (params, Some(headers)),
            None => (after_host, None),
        };
        let mut params = Params::new();
        if let Some(params_text) = params_text.strip_prefix(';') {
            for piece in params_text.split(';') {
                let (name, value) = match piece.split_once('=') {
                    Some((name, value)) => (name, Some(value)),
                    None => (piece, None),
                };
                if name.is_empty() || value == Some("") {
                    return Err(err("empty URI parameter"));
                }
                params.push(name.to_owned(), value.map(str::to_owned));
            }
        }
        let mut headers = Vec::new();
        if let Some(headers_text) = headers_text {
            for piece in headers_text.split('&') {
                let (name, value) = piece
                    .split_once('=')
                    .ok_or_else(|| err("URI header without ="))?;
                if name.is_empty() {
                    return Err(err("empty URI header name"));
                }
                headers.push((name.to_owned(), value.to_owned()));
            }
        }
        Ok(SipUri {
            scheme,
            user,
            password,
            host,
            port,
            params,
            headers,
        })
    }
}

fn strip_prefix_ignore_case<'a>(input: &'a str, prefix: &str) -> Option<&'a str> {
    let head = input.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &input[prefix.len()..])
}

/// Characters that may appear (unescaped) somewhere in a SIP URI. Structure is
/// checked separately; this rejects whitespace, controls, `<>"` and non-ASCII.
fn is_uri_char(c: char) -> bool {
    c.is_ascii_graphic()
        && !matches!(
            c,
            '<' | '>' | '"' | '\\' | '{' | '}' | '|' | '^' | '`' | '#'
        )
}

impl fmt::Display for SipUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.scheme.as_str())?;
        if let Some(user) = &self.user {
            f.write_str(user)?;
            if let Some(password) = &self.password {
                write!(f, ":{password}")?;
            }
            f.write_str("@")?;
        }
        write!(f, "{}", self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        write!(f, "{}", self.params)?;
        for (index, (name, value)) in self.headers.iter().enumerate() {
            let separator = if index == 0 { '?' } else { '&' };
            write!(f, "{separator}{name}={value}")?;
        }
        Ok(())
    }
}

/// Any URI that can appear in a Request-URI or a name-addr.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Uri {
    Sip(SipUri),
    /// Another absolute URI (`tel:`, `urn:`, `http:` …), kept verbatim.
    Other(String),
}

impl Uri {
    pub fn parse(input: &str) -> Result<Uri, ParseError> {
        let scheme_end = input
            .find(':')
            .ok_or_else(|| ParseError::uri(input, "no scheme"))?;
        let scheme = &input[..scheme_end];
        let scheme_valid = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
        if !scheme_valid {
            return Err(ParseError::uri(input, "invalid scheme"));
        }
        if scheme.eq_ignore_ascii_case("sip") || scheme.eq_ignore_ascii_case("sips") {
            return SipUri::parse(input).map(Uri::Sip);
        }
        let rest = &input[scheme_end + 1..];
        if rest.is_empty() || !rest.chars().all(is_uri_char) {
            return Err(ParseError::uri(input, "invalid absolute URI"));
        }
        Ok(Uri::Other(input.to_owned()))
    }

    pub fn as_sip(&self) -> Option<&SipUri> {
        match self {
            Uri::Sip(sip) => Some(sip),
            Uri::Other(_) => None,
        }
    }

    pub fn scheme(&self) -> &str {
        match self {
            Uri::Sip(sip) => sip.scheme.as_str(),
            Uri::Other(text) => text.split(':').next().unwrap_or_default(),
        }
    }
}

impl FromStr for Uri {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uri::parse(s)
    }
}

impl From<SipUri> for Uri {
    fn from(sip: SipUri) -> Self {
        Uri::Sip(sip)
    }
}

impl fmt::Display for Uri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Uri::Sip(sip) => sip.fmt(f),
            Uri::Other(text) => f.write_str(text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sip(input: &str) -> SipUri {
        match Uri::parse(input).unwrap() {
            Uri::Sip(sip) => sip,
            other => panic!("not a SIP URI: {other:?}"),
        }
    }

    #[test]
    fn parses_all_parts() {
        let uri =
            sip("sips:alice:secret@[2001:db8::1]:5061;transport=tcp;lr?Subject=hi&Priority=urgent");
        assert_eq!(uri.scheme, Scheme::Sips);
        assert_eq!(uri.user.as_deref(), Some("alice"));
        assert_eq!(uri.password.as_deref(), Some("secret"));
        assert_eq!(uri.host, Host::V6("2001:db8::1".parse().unwrap()));
        assert_eq!(uri.port, Some(5061));
        assert_eq!(uri.transport_param().as_deref(), Some("tcp"));
        assert!(uri.is_loose_route());
        assert_eq!(uri.headers.len(), 2);
        assert_eq!(
            uri.to_string(),
            "sips:alice:secret@[2001:db8::1]:5061;transport=tcp;lr?Subject=hi&Priority=urgent"
        );
    }

    #[test]
    fn user_part_may_hold_semicolons_and_escapes() {
        let uri = sip("sip:user;par=u%40example.net@example.com");
        assert_eq!(uri.user.as_deref(), Some("user;par=u%40example.net"));
        assert_eq!(uri.user_decoded().unwrap(), b"user;par=u@example.net");
        assert_eq!(uri.host, Host::Domain("example.com".into()));
        assert!(uri.params.is_empty());
    }

    #[test]
    fn rejects_bad_uris() {
        for bad in [
            "sip:user@example.com; lr",
            "<sip:user@example.com>",
            "sip:user@exa mple.com",
            "sip:@example.com",
            "sip:example.com:99999",
            "sip:example.com:5060x",
            "sip:[::1",
            "sip:us%zzer@example.com",
            "sip:example.com;=x",
            "no-scheme",
        ] {
            assert!(Uri::parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn equivalence_follows_rfc3261_19_1_4() {
        let same = [
            (
                "sip:%61lice@atlanta.com;transport=TCP",
                "sip:alice@AtLanTa.CoM;Transport=tcp",
            ),
            ("sip:carol@chicago.com", "sip:carol@chicago.com;newparam=5"),
            (
                "sip:carol@chicago.com;security=on",
                "sip:carol@chicago.com;newparam=5",
            ),
            (
                "sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com",
                "sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com",
            ),
            (
                "sip:alice@atlanta.com?subject=project%20x&priority=urgent",
                "sip:alice@atlanta.com?priority=urgent&subject=project%20x",
            ),
        ];
        for (a, b) in same {
            assert!(sip(a).equivalent(&sip(b)), "{a} == {b}");
            assert!(sip(b).equivalent(&sip(a)), "{b} == {a}");
        }
        let different = [
            (
                "SIP:ALICE@AtLanTa.CoM;Transport=udp",
                "sip:alice@AtLanTa.CoM;Transport=UDP",
            ),
            ("sip:bob@biloxi.com", "sip:bob@biloxi.com:5060"),
            ("sip:bob@biloxi.com", "sip:bob@biloxi.com;transport=udp"),
            (
                "sip:bob@biloxi.com:6000;transport=tcp",
                "sip:bob@biloxi.com:6000",
            ),
            (
                "sip:carol@chicago.com",
                "sip:carol@chicago.com?Subject=next%20meeting",
            ),
            ("sip:bob@phone21.boxesbybob.com", "sip:bob@192.0.2.4"),
            (
                "sip:carol@chicago.com;security=on",
                "sip:carol@chicago.com;security=off",
            ),
        ];
        for (a, b) in different {
            assert!(!sip(a).equivalent(&sip(b)), "{a} != {b}");
        }
    }

    #[test]
    fn keeps_other_schemes() {
        let uri = Uri::parse("tel:+86-12351").unwrap();
        assert_eq!(uri.scheme(), "tel");
        assert_eq!(uri.to_string(), "tel:+86-12351");
    }
}
