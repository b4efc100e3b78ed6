//! The Via header (RFC 3261 §20.42) with the rport extension (RFC 3581).

use std::fmt;
use std::net::IpAddr;

use crate::error::ParseError;
use crate::params::Params;
use crate::text::{is_lws, is_token, parse_decimal, split_top_level, trim_lws};
use crate::uri::{Host, parse_host_port};

/// The branch prefix that marks an RFC 3261 branch (§8.1.1.7); only such branches are
/// used for transaction matching.
pub const BRANCH_MAGIC_COOKIE: &str = "z9hG4bK";

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Transport {
    Udp,
    Tcp,
    Tls,
    Sctp,
    /// SIP over WebSocket (RFC 7118).
    Ws,
    Wss,
    Other(String),
}

impl Transport {
    pub fn parse(token: &str) -> Transport {
        match token.to_ascii_uppercase().as_str() {
            "UDP" => Transport::Udp,
            "TCP" => Transport::Tcp,
            "TLS" => Transport::Tls,
            "SCTP" => Transport::Sctp,
            "WS" => Transport::Ws,
            "WSS" => Transport::Wss,
            _ => Transport::Other(token.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::Tls => "TLS",
            Transport::Sctp => "SCTP",
            Transport::Ws => "WS",
            Transport::Wss => "WSS",
            Transport::Other(other) => other,
        }
    }

    /// Reliable transports need no retransmissions (RFC 3261 §17).
    pub fn is_reliable(&self) -> bool {
        !matches!(self, Transport::Udp | Transport::Other(_))
    }

    pub fn default_port(&self) -> u16 {
        match self {
            Transport::Tls | Transport::Wss => 5061,
            _ => 5060,
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `rport` parameter of RFC 3581.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rport {
    /// The client asked for it (`;rport` without a value).
    Requested,
    /// The server filled in the source port it saw.
    Filled(u16),
}

/// One Via value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    pub transport: Transport,
    pub host: Host,
    pub port: Option<u16>,
    pub params: Params,
}

impl Via {
    pub fn new(transport: Transport, host: Host, port: Option<u16>, branch: &str) -> Self {
        let mut params = Params::new();
        params.set("branch", Some(branch));
        Via {
            transport,
            host,
            port,
            params,
        }
    }

    pub fn parse(value: &str) -> Result<Via, ParseError> {
        let err = |reason| ParseError::header("Via", value, reason);
        let pieces = split_top_level(value, ';').map_err(err)?;
        let (head, param_pieces) = pieces.split_first().ok_or_else(|| err("empty Via"))?;
        let parts: Vec<&str> = head.splitn(3, '/').collect();
        let [protocol, version, rest] = parts[..] else {
            return Err(err("expected SIP/2.0/transport"));
        };
        if !trim_lws(protocol).eq_ignore_ascii_case("SIP") || trim_lws(version) != "2.0" {
            return Err(err("protocol is not SIP/2.0"));
        }
        let rest = trim_lws(rest);
        let transport_end = rest
            .find(is_lws)
            .ok_or_else(|| err("no sent-by after transport"))?;
        let transport = &rest[..transport_end];
        if !is_token(transport) {
            return Err(err("transport is not a token"));
        }
        let sent_by = join_around_colons(&rest[transport_end..])
            .ok_or_else(|| err("space inside sent-by"))?;
        let (host, port) = parse_host_port(&sent_by).map_err(err)?;
        let params = if param_pieces.is_empty() {
            Params::new()
        } else {
            let start = head.len() + 1;
            Params::parse_header_params(&value[start..], "Via")?
        };
        let via = Via {
            transport: Transport::parse(transport),
            host,
            port,
            params,
        };
        via.check_known_params().map_err(err)?;
        Ok(via)
    }

    fn check_known_params(&self) -> Result<(), &'static str> {
        if let Some(value) = self.params.get("rport").flatten()
            && parse_decimal::<u16>(value).is_none()
        {
            return Err("rport is not a port number");
        }
        if let Some(received) = self.params.get("received") {
            let received = received.ok_or("received without a value")?;
            let bare = received.trim_start_matches('[').trim_end_matches(']');
            if bare.parse::<IpAddr>().is_err() {
                return Err("received is not an IP address");
            }
        }
        if let Some(branch) = self.params.get("branch")
            && branch.is_none()
        {
            return Err("branch without a value");
        }
        Ok(())
    }

    pub fn branch(&self) -> Option<&str> {
        self.params.get("branch").flatten()
    }

    /// Whether the branch starts with the RFC 3261 magic cookie.
    pub fn has_rfc3261_branch(&self) -> bool {
        self.branch()
            .is_some_and(|branch| branch.starts_with(BRANCH_MAGIC_COOKIE))
    }

    pub fn received(&self) -> Option<IpAddr> {
        let received = self.params.get("received").flatten()?;
        received
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse()
            .ok()
    }

    pub fn rport(&self) -> Option<Rport> {
        match self.params.get("rport")? {
            None => Some(Rport::Requested),
            Some(value) => parse_decimal(value).map(Rport::Filled),
        }
    }

    /// What a server does on receipt (RFC 3261 §18.2.1, RFC 3581 §4): add `received` if
    /// the packet came from another address than sent-by, and fill in `rport` if asked.
    pub fn stamp_source(&mut self, source_ip: IpAddr, source_port: u16) {
        let rport_requested = self.params.contains("rport");
        if self.host.ip() != Some(source_ip) || rport_requested {
            self.params.set("received", Some(&source_ip.to_string()));
        }
        if rport_requested {
            self.params.set("rport", Some(&source_port.to_string()));
        }
    }

    /// Where responses go for an unreliable transport (RFC 3261 §18.2.2 and RFC 3581):
    /// `received`/`rport` when present, else sent-by with the transport's default port.
    pub fn response_address(&self) -> (Host, u16) {
        let host = match self.received() {
            Some(ip) => Host::from(ip),
            None => self.host.clone(),
        };
        let port = match self.rport() {
            Some(Rport::Filled(port)) => port,
            _ => self.port.unwrap_or_else(|| self.transport.default_port()),
        };
        (host, port)
    }

    /// `host[:port]` as used for transaction matching.
    pub fn sent_by(&self) -> String {
        match self.port {
            Some(port) => format!("{}:{port}", self.host),
            None => self.host.to_string(),
        }
    }
}

/// Removes LWS next to `:` in `host : port`; any other inner LWS makes it invalid.
fn join_around_colons(text: &str) -> Option<String> {
    let words: Vec<&str> = text.split(is_lws).filter(|word| !word.is_empty()).collect();
    for pair in words.windows(2) {
        if !pair[0].ends_with(':') && !pair[1].starts_with(':') {
            return None;
        }
    }
    Some(words.concat())
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SIP/2.0/{} {}", self.transport, self.host)?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        write!(f, "{}", self.params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_spaced_via() {
        let via =
            Via::parse("SIP  /   2.0 /UDP    192.0.2.2 : 5070 ;  branch = z9hG4bK9ikj8 ;rport")
                .unwrap();
        assert_eq!(via.transport, Transport::Udp);
        assert_eq!(via.host, Host::V4("192.0.2.2".parse().unwrap()));
        assert_eq!(via.port, Some(5070));
        assert_eq!(via.branch(), Some("z9hG4bK9ikj8"));
        assert!(via.has_rfc3261_branch());
        assert_eq!(via.rport(), Some(Rport::Requested));
        assert_eq!(
            via.to_string(),
            "SIP/2.0/UDP 192.0.2.2:5070;branch=z9hG4bK9ikj8;rport"
        );
    }

    #[test]
    fn rport_and_received_stamping() {
        let mut via = Via::parse("SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKa;rport").unwrap();
        via.stamp_source("203.0.113.9".parse().unwrap(), 40000);
        assert_eq!(via.received(), Some("203.0.113.9".parse().unwrap()));
        assert_eq!(via.rport(), Some(Rport::Filled(40000)));
        assert_eq!(
            via.response_address(),
            (Host::V4("203.0.113.9".parse().unwrap()), 40000)
        );
    }

    #[test]
    fn ipv6_sent_by() {
        let via = Via::parse(
            "SIP/2.0/TCP [2001:db8::9:1]:5061;branch=z9hG4bKx;received=[2001:db8::9:255]",
        )
        .unwrap();
        assert_eq!(via.port, Some(5061));
        assert_eq!(via.received(), Some("2001:db8::9:255".parse().unwrap()));
    }

    #[test]
    fn rejects_bad_vias() {
        for bad in [
            "SIP/2.0/UDP 192.0.2.15;;",
            "SIP/2.0/UDP",
            "SIP/3.0/UDP host",
            "SIP/2.0/UDP host;rport=abc",
            "SIP/2.0/UDP host;received=not-an-ip",
            "SIP/2.0/UDP ho st",
        ] {
            assert!(Via::parse(bad).is_err(), "{bad}");
        }
    }
}
