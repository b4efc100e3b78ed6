//! The SDP line parser (RFC 4566 §5). Accepts CRLF or bare LF line ends.

use super::{Attribute, Connection, MediaDescription, Origin, SdpError, SessionDescription};

pub(super) fn parse(bytes: &[u8]) -> Result<SessionDescription, SdpError> {
    let text = std::str::from_utf8(bytes).map_err(|_| SdpError::InvalidUtf8)?;
    let mut lines = text
        .split('\n')
        .map(|line| line.strip_suffix('\r').unwrap_or(line))
        .enumerate()
        .map(|(index, line)| (index + 1, line))
        .filter(|(_, line)| !line.is_empty())
        .peekable();

    let syntax = |line, reason| SdpError::Syntax { line, reason };
    match lines.next() {
        Some((_, "v=0")) => {}
        Some((line, _)) => return Err(syntax(line, "first line must be v=0")),
        None => return Err(SdpError::MissingLine('v')),
    }

    let mut origin = None;
    let mut session_name = None;
    let mut connection = None;
    let mut bandwidths = Vec::new();
    let mut timing = None;
    let mut attributes = Vec::new();
    let mut other_lines = Vec::new();
    let mut media: Vec<MediaDescription> = Vec::new();

    for (number, line) in lines {
        let (kind, value) = split_line(line).ok_or(syntax(number, "expected <type>=<value>"))?;
        if let Some(current) = media.last_mut()
            && kind != 'm'
        {
            match kind {
                'c' => {
                    current.connection =
                        Some(parse_connection(value).ok_or(syntax(number, "invalid c= line"))?)
                }
                'b' => current.bandwidths.push(value.to_owned()),
                'a' => current.attributes.push(parse_attribute(value)),
                'i' | 'k' => current.other_lines.push((kind, value.to_owned())),
                _ => return Err(syntax(number, "line type not allowed in a media section")),
            }
            continue;
        }
        match kind {
            'o' => origin = Some(parse_origin(value).ok_or(syntax(number, "invalid o= line"))?),
            's' => session_name = Some(value.to_owned()),
            'c' => {
                connection = Some(parse_connection(value).ok_or(syntax(number, "invalid c= line"))?)
            }
            'b' => bandwidths.push(value.to_owned()),
            't' => timing = Some(parse_timing(value).ok_or(syntax(number, "invalid t= line"))?),
            'a' => attributes.push(parse_attribute(value)),
            'm' => media.push(parse_media(value).ok_or(syntax(number, "invalid m= line"))?),
            'i' | 'u' | 'e' | 'p' | 'r' | 'z' | 'k' => other_lines.push((kind, value.to_owned())),
            _ => return Err(syntax(number, "unknown line type")),
        }
    }

    // RFC 4566 fixes the order (i u e p before c b t, then r z k); keep the lines in
    // that order so that writing them back reproduces what was stored.
    other_lines.sort_by_key(|(kind, _)| !"iuep".contains(*kind));
    for section in &mut media {
        section
            .other_lines
            .sort_by_key(|(kind, _)| u8::from(*kind == 'k'));
    }
    Ok(SessionDescription {
        origin: origin.ok_or(SdpError::MissingLine('o'))?,
        session_name: session_name.ok_or(SdpError::MissingLine('s'))?,
        connection,
        bandwidths,
        timing: timing.ok_or(SdpError::MissingLine('t'))?,
        attributes,
        media,
        other_lines,
    })
}

fn split_line(line: &str) -> Option<(char, &str)> {
    let mut chars = line.chars();
    let kind = chars.next().filter(char::is_ascii_lowercase)?;
    let value = chars.as_str().strip_prefix('=')?;
    Some((kind, value))
}

fn parse_origin(value: &str) -> Option<Origin> {
    let parts: Vec<&str> = value.split(' ').collect();
    let [username, session_id, version, net_type, addr_type, address] = parts[..] else {
        return None;
    };
    if session_id.is_empty() || !session_id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(Origin {
        username: username.to_owned(),
        session_id: session_id.to_owned(),
        session_version: version.parse().ok()?,
        net_type: net_type.to_owned(),
        addr_type: addr_type.to_owned(),
        address: address.to_owned(),
    })
}

fn parse_connection(value: &str) -> Option<Connection> {
    let parts: Vec<&str> = value.split(' ').collect();
    let [net_type, addr_type, address] = parts[..] else {
        return None;
    };
    if address.is_empty() {
        return None;
    }
    Some(Connection {
        net_type: net_type.to_owned(),
        addr_type: addr_type.to_owned(),
        address: address.to_owned(),
    })
}

fn parse_timing(value: &str) -> Option<(u64, u64)> {
    let (start, stop) = value.split_once(' ')?;
    Some((start.parse().ok()?, stop.parse().ok()?))
}

fn parse_attribute(value: &str) -> Attribute {
    match value.split_once(':') {
        Some((name, value)) => Attribute::new(name, value),
        None => Attribute::flag(value),
    }
}

fn parse_media(value: &str) -> Option<MediaDescription> {
    let mut parts = value.split(' ');
    let media = parts.next().filter(|media| !media.is_empty())?.to_owned();
    let port_text = parts.next()?;
    let (port, port_count) = match port_text.split_once('/') {
        Some((port, count)) => (port.parse().ok()?, Some(count.parse().ok()?)),
        None => (port_text.parse().ok()?, None),
    };
    let protocol = parts
        .next()
        .filter(|protocol| !protocol.is_empty())?
        .to_owned();
    let formats: Vec<String> = parts.map(str::to_owned).collect();
    if formats.is_empty() || formats.iter().any(String::is_empty) {
        return None;
    }
    Some(MediaDescription {
        media,
        port,
        port_count,
        protocol,
        formats,
        connection: None,
        bandwidths: Vec::new(),
        attributes: Vec::new(),
        other_lines: Vec::new(),
    })
}
