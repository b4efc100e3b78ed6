//! SDP (RFC 4566): the session description model, parser and serializer, plus the
//! audio offer/answer of RFC 3264 in [`offer_answer`].
//!
//! Lines this model does not interpret (`i=`, `u=`, `e=`, `p=`, `r=`, `z=`, `k=`, and
//! all attributes) are kept, so a description survives parse → write unchanged.

pub mod offer_answer;

use std::fmt;
use std::net::IpAddr;

use thiserror::Error;

pub use offer_answer::{
    AudioCodec, AudioConfig, NegotiatedAudio, create_answer, create_offer, read_answer,
};

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SdpError {
    #[error("line {line}: {reason}")]
    Syntax { line: usize, reason: &'static str },
    #[error("SDP is not valid UTF-8")]
    InvalidUtf8,
    #[error("missing {0}= line")]
    MissingLine(char),
    #[error("no audio stream with a codec we support (PCMU, PCMA)")]
    NoCommonCodec,
    #[error("answer does not match the offer: {0}")]
    AnswerMismatch(&'static str),
    #[error("no connection address for the audio stream")]
    NoConnectionAddress,
}

/// `o=<username> <sess-id> <sess-version> IN IP4 <address>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub username: String,
    pub session_id: String,
    pub session_version: u64,
    pub net_type: String,
    pub addr_type: String,
    pub address: String,
}

/// `c=IN IP4 <address>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    pub net_type: String,
    pub addr_type: String,
    /// The address as written (may carry `/ttl` for multicast, or be a name).
    pub address: String,
}

impl Connection {
    pub fn new(ip: IpAddr) -> Self {
        Connection {
            net_type: "IN".to_owned(),
            addr_type: if ip.is_ipv4() { "IP4" } else { "IP6" }.to_owned(),
            address: ip.to_string(),
        }
    }

    pub fn ip(&self) -> Option<IpAddr> {
        self.address.split('/').next()?.parse().ok()
    }
}

/// `a=<name>[:<value>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub name: String,
    pub value: Option<String>,
}

impl Attribute {
    pub fn flag(name: &str) -> Self {
        Attribute {
            name: name.to_owned(),
            value: None,
        }
    }

    pub fn new(name: &str, value: impl Into<String>) -> Self {
        Attribute {
            name: name.to_owned(),
            value: Some(value.into()),
        }
    }
}

/// Media direction attributes (RFC 4566 §6, RFC 3264 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::SendRecv => "sendrecv",
            Direction::SendOnly => "sendonly",
            Direction::RecvOnly => "recvonly",
            Direction::Inactive => "inactive",
        }
    }

    fn from_attribute(name: &str) -> Option<Direction> {
        match name {
            "sendrecv" => Some(Direction::SendRecv),
            "sendonly" => Some(Direction::SendOnly),
            "recvonly" => Some(Direction::RecvOnly),
            "inactive" => Some(Direction::Inactive),
            _ => None,
        }
    }

    /// The direction as seen from the other side.
    pub fn reversed(self) -> Direction {
        match self {
            Direction::SendOnly => Direction::RecvOnly,
            Direction::RecvOnly => Direction::SendOnly,
            other => other,
        }
    }

    pub fn sends(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::SendOnly)
    }

    pub fn receives(self) -> bool {
        matches!(self, Direction::SendRecv | Direction::RecvOnly)
    }

    /// What both allow: sending only if both send, receiving only if both receive.
    pub fn intersect(self, other: Direction) -> Direction {
        match (
            self.sends() && other.sends(),
            self.receives() && other.receives(),
        ) {
            (true, true) => Direction::SendRecv,
            (true, false) => Direction::SendOnly,
            (false, true) => Direction::RecvOnly,
            (false, false) => Direction::Inactive,
        }
    }
}

/// `a=rtpmap:<pt> <encoding>/<clock rate>[/<channels>]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpMap {
    pub payload_type: u8,
    pub encoding: String,
    pub clock_rate: u32,
    pub channels: Option<u8>,
}

impl RtpMap {
    fn parse(value: &str) -> Option<RtpMap> {
        let (payload_type, rest) = value.split_once(' ')?;
        let mut parts = rest.trim().split('/');
        let encoding = parts.next()?.to_owned();
        let clock_rate = parts.next()?.parse().ok()?;
        let channels = match parts.next() {
            Some(channels) => Some(channels.parse().ok()?),
            None => None,
        };
        Some(RtpMap {
            payload_type: payload_type.parse().ok()?,
            encoding,
            clock_rate,
            channels,
        })
    }
}

impl fmt::Display for RtpMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}/{}",
            self.payload_type, self.encoding, self.clock_rate
        )?;
        if let Some(channels) = self.channels {
            write!(f, "/{channels}")?;
        }
        Ok(())
    }
}

/// One `m=` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaDescription {
    pub media: String,
    pub port: u16,
    pub port_count: Option<u16>,
    pub protocol: String,
    /// Payload types (for RTP) in preference order, as written.
    pub formats: Vec<String>,
    pub connection: Option<Connection>,
    pub bandwidths: Vec<String>,
    pub attributes: Vec<Attribute>,
    /// Uninterpreted `i=` and `k=` lines, in order.
    pub other_lines: Vec<(char, String)>,
}

impl MediaDescription {
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes
            .iter()
            .find(|attribute| attribute.name == name)
    }

    pub fn rtpmaps(&self) -> Vec<RtpMap> {
        self.attributes
            .iter()
            .filter(|attribute| attribute.name == "rtpmap")
            .filter_map(|attribute| attribute.value.as_deref().and_then(RtpMap::parse))
            .collect()
    }

    pub fn rtpmap(&self, payload_type: u8) -> Option<RtpMap> {
        self.rtpmaps()
            .into_iter()
            .find(|map| map.payload_type == payload_type)
    }

    /// The `a=fmtp` parameters for a payload type.
    pub fn fmtp(&self, payload_type: u8) -> Option<&str> {
        self.attributes
            .iter()
            .filter(|attribute| attribute.name == "fmtp")
            .filter_map(|attribute| attribute.value.as_deref())
            .find_map(|value| {
                let (pt, params) = value.split_once(' ')?;
                (pt.parse() == Ok(payload_type)).then_some(params.trim())
            })
    }

    /// The media-level direction attribute, if any.
    pub fn direction_attribute(&self) -> Option<Direction> {
        self.attributes
            .iter()
            .find_map(|attribute| Direction::from_attribute(&attribute.name))
    }

    pub fn ptime(&self) -> Option<u32> {
        self.attribute("ptime")?
            .value
            .as_deref()?
            .trim()
            .parse()
            .ok()
    }

    /// Port 0 marks a rejected or disabled stream (RFC 3264 §6).
    pub fn is_rejected(&self) -> bool {
        self.port == 0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    pub origin: Origin,
    pub session_name: String,
    pub connection: Option<Connection>,
    pub bandwidths: Vec<String>,
    /// `t=` start and stop (0 0 for a permanent session).
    pub timing: (u64, u64),
    pub attributes: Vec<Attribute>,
    pub media: Vec<MediaDescription>,
    /// Uninterpreted session-level lines (`i= u= e= p= r= z= k=`), in order.
    pub other_lines: Vec<(char, String)>,
}

impl SessionDescription {
    /// The direction in force for a media section: its own attribute, else the
    /// session's, else sendrecv.
    pub fn direction_of(&self, media: &MediaDescription) -> Direction {
        media
            .direction_attribute()
            .or_else(|| {
                self.attributes
                    .iter()
                    .find_map(|attribute| Direction::from_attribute(&attribute.name))
            })
            .unwrap_or(Direction::SendRecv)
    }

    /// The connection for a media section: its own `c=`, else the session's.
    pub fn connection_of<'a>(&'a self, media: &'a MediaDescription) -> Option<&'a Connection> {
        media.connection.as_ref().or(self.connection.as_ref())
    }

    pub fn parse(bytes: &[u8]) -> Result<SessionDescription, SdpError> {
        parse::parse(bytes)
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        self.to_string().into_bytes()
    }
}

mod parse;

impl fmt::Display for SessionDescription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let origin = &self.origin;
        write!(
            f,
            "v=0\r\no={} {} {} {} {} {}\r\ns={}\r\n",
            origin.username,
            origin.session_id,
            origin.session_version,
            origin.net_type,
            origin.addr_type,
            origin.address,
            self.session_name
        )?;
        write_other_lines(f, &self.other_lines, &['i', 'u', 'e', 'p'])?;
        if let Some(connection) = &self.connection {
            write_connection(f, connection)?;
        }
        for bandwidth in &self.bandwidths {
            write!(f, "b={bandwidth}\r\n")?;
        }
        write!(f, "t={} {}\r\n", self.timing.0, self.timing.1)?;
        write_other_lines(f, &self.other_lines, &['r', 'z', 'k'])?;
        write_attributes(f, &self.attributes)?;
        for media in &self.media {
            write!(f, "m={} {}", media.media, media.port)?;
            if let Some(count) = media.port_count {
                write!(f, "/{count}")?;
            }
            write!(f, " {}", media.protocol)?;
            for format in &media.formats {
                write!(f, " {format}")?;
            }
            f.write_str("\r\n")?;
            write_other_lines(f, &media.other_lines, &['i'])?;
            if let Some(connection) = &media.connection {
                write_connection(f, connection)?;
            }
            for bandwidth in &media.bandwidths {
                write!(f, "b={bandwidth}\r\n")?;
            }
            write_other_lines(f, &media.other_lines, &['k'])?;
            write_attributes(f, &media.attributes)?;
        }
        Ok(())
    }
}

fn write_connection(f: &mut fmt::Formatter<'_>, connection: &Connection) -> fmt::Result {
    write!(
        f,
        "c={} {} {}\r\n",
        connection.net_type, connection.addr_type, connection.address
    )
}

fn write_attributes(f: &mut fmt::Formatter<'_>, attributes: &[Attribute]) -> fmt::Result {
    for attribute in attributes {
        match &attribute.value {
            Some(value) => write!(f, "a={}:{value}\r\n", attribute.name)?,
            None => write!(f, "a={}\r\n", attribute.name)?,
        }
    }
    Ok(())
}

fn write_other_lines(
    f: &mut fmt::Formatter<'_>,
    lines: &[(char, String)],
    kinds: &[char],
) -> fmt::Result {
    for (kind, value) in lines {
        if kinds.contains(kind) {
            write!(f, "{kind}={value}\r\n")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
