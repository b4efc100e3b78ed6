//! SDP glue: the WebRTC attributes (RFC 8839 ICE, RFC 8122/8842 DTLS, RFC 8843 BUNDLE)
//! on top of the plain audio descriptions `sip_proto` makes and reads.

use std::net::{IpAddr, SocketAddr};

use sip_proto::sdp::{Attribute, MediaDescription, SessionDescription};

use crate::identity::SHA_256;
use crate::{Fingerprint, IceCredentials, WebRtcError};

/// The profile browsers require for DTLS-SRTP with RTCP feedback (RFC 5764 §8).
const WEBRTC_PROTOCOL: &str = "UDP/TLS/RTP/SAVPF";

/// `a=setup` (RFC 4145, RFC 8842): which side opens the DTLS handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DtlsSetup {
    /// Opens the handshake (DTLS client).
    Active,
    /// Waits for it (DTLS server).
    Passive,
    /// Either: the offerer's choice, leaving it to the answerer.
    ActPass,
}

impl DtlsSetup {
    pub fn as_str(self) -> &'static str {
        match self {
            DtlsSetup::Active => "active",
            DtlsSetup::Passive => "passive",
            DtlsSetup::ActPass => "actpass",
        }
    }

    fn parse(value: &str) -> Option<DtlsSetup> {
        match value.trim().to_ascii_lowercase().as_str() {
            "active" => Some(DtlsSetup::Active),
            "passive" => Some(DtlsSetup::Passive),
            "actpass" => Some(DtlsSetup::ActPass),
            _ => None,
        }
    }
}

/// What our side puts into its SDP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalParameters {
    pub ice: IceCredentials,
    pub fingerprint: Fingerprint,
    pub setup: DtlsSetup,
    pub ice_lite: bool,
}

/// What the peer's SDP says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteParameters {
    pub ice: IceCredentials,
    pub fingerprint: Fingerprint,
    pub setup: DtlsSetup,
    /// UDP host and server-reflexive candidates with a literal address (IPv4 and IPv6),
    /// in SDP order; mDNS `.local` names and TCP candidates are left out.
    pub candidates: Vec<SocketAddr>,
}

/// Reads the WebRTC parameters of the first audio m-line: each attribute from the
/// media level, else the session level (RFC 8839 and RFC 8122 allow both).
pub fn remote_parameters(sdp: &SessionDescription) -> Result<RemoteParameters, WebRtcError> {
    let media = first_audio(sdp).ok_or(WebRtcError::NoAudioStream)?;
    let value_of = |name: &'static str| -> Result<&str, WebRtcError> {
        media
            .attributes
            .iter()
            .chain(&sdp.attributes)
            .find(|attribute| attribute.name == name)
            .and_then(|attribute| attribute.value.as_deref())
            .map(str::trim)
            .filter(|value| !value.is_empty())
            .ok_or(WebRtcError::MissingAttribute(name))
    };
    let ice = IceCredentials {
        ufrag: value_of("ice-ufrag")?.to_owned(),
        pwd: value_of("ice-pwd")?.to_owned(),
    };
    let fingerprint = sha256_fingerprint(media, sdp)?;
    // RFC 8842 §5.2 makes a=setup mandatory; an old endpoint that leaves it out can
    // only mean the RFC 4145 default for an offer, which leaves the choice to us.
    let setup = match value_of("setup") {
        Ok(value) => DtlsSetup::parse(value).ok_or_else(|| WebRtcError::BadAttribute {
            attribute: "setup",
            reason: "expected active, passive or actpass",
            value: value.to_owned(),
        })?,
        Err(_) => DtlsSetup::ActPass,
    };
    let mut candidates: Vec<SocketAddr> = media
        .attributes
        .iter()
        .filter(|attribute| attribute.name == "candidate")
        .filter_map(|attribute| attribute.value.as_deref())
        .filter_map(usable_candidate)
        .collect();
    candidates.dedup();
    if candidates.is_empty() {
        // No usable candidate (all mDNS, or a non-trickle peer that gave none): the
        // m-line's own address is the RFC 8839 §4.2.1.1 default candidate.
        if let Some(default) = default_candidate(sdp, media) {
            candidates.push(default);
        }
    }
    Ok(RemoteParameters {
        ice,
        fingerprint,
        setup,
        candidates,
    })
}

fn first_audio(sdp: &SessionDescription) -> Option<&MediaDescription> {
    sdp.media.iter().find(|media| media.media == "audio")
}

fn sha256_fingerprint(
    media: &MediaDescription,
    sdp: &SessionDescription,
) -> Result<Fingerprint, WebRtcError> {
    let values: Vec<&str> = media
        .attributes
        .iter()
        .filter(|attribute| attribute.name == "fingerprint")
        .chain(
            sdp.attributes
                .iter()
                .filter(|attribute| attribute.name == "fingerprint"),
        )
        .filter_map(|attribute| attribute.value.as_deref())
        .collect();
    let Some(first) = values.first() else {
        return Err(WebRtcError::MissingAttribute("fingerprint"));
    };
    values
        .iter()
        .find_map(|value| {
            let (algorithm, hex) = value.trim().split_once(' ')?;
            let hex = hex.trim();
            let well_formed = hex.len() == 32 * 3 - 1
                && hex.split(':').all(|byte| {
                    byte.len() == 2 && byte.bytes().all(|digit| digit.is_ascii_hexdigit())
                });
            (algorithm.eq_ignore_ascii_case(SHA_256) && well_formed).then(|| Fingerprint {
                algorithm: SHA_256.to_owned(),
                value: hex.to_ascii_uppercase(),
            })
        })
        .ok_or_else(|| WebRtcError::BadAttribute {
            attribute: "fingerprint",
            reason: "no well-formed sha-256 fingerprint",
            value: (*first).to_owned(),
        })
}

/// `<foundation> <component> <transport> <priority> <address> <port> typ <type> ...`
/// (RFC 8839 §5.1): component 1 (RTCP is multiplexed), UDP, a literal address.
fn usable_candidate(value: &str) -> Option<SocketAddr> {
    let fields: Vec<&str> = value.split_ascii_whitespace().collect();
    let [
        _foundation,
        component,
        transport,
        _priority,
        address,
        port,
        typ,
        kind,
        ..,
    ] = fields.as_slice()
    else {
        return None;
    };
    let wanted = *component == "1"
        && transport.eq_ignore_ascii_case("udp")
        && *typ == "typ"
        && matches!(*kind, "host" | "srflx");
    if !wanted {
        return None;
    }
    let ip: IpAddr = address.parse().ok()?;
    let port: u16 = port.parse().ok()?;
    (port != 0 && !ip.is_unspecified()).then_some(SocketAddr::new(ip, port))
}

/// The c=/m= address, unless it is the RFC 8840 placeholder (0.0.0.0 or port 9).
fn default_candidate(sdp: &SessionDescription, media: &MediaDescription) -> Option<SocketAddr> {
    let ip = sdp.connection_of(media)?.ip()?;
    (!ip.is_unspecified() && media.port != 0 && media.port != 9)
        .then_some(SocketAddr::new(ip, media.port))
}

/// The attributes this module writes; they are replaced, not duplicated, when a
/// description is made WebRTC again (an ICE restart re-offer).
const MEDIA_ATTRIBUTES: &[&str] = &[
    "mid",
    "ice-ufrag",
    "ice-pwd",
    "ice-options",
    "fingerprint",
    "setup",
    "rtcp-mux",
    "rtcp",
    "candidate",
    "end-of-candidates",
];
const SESSION_ATTRIBUTES: &[&str] = &["ice-lite", "group"];

/// Turns a plain audio description (sip_proto's `create_offer`/`create_answer`) into a
/// WebRTC one on its first audio m-line: the DTLS-SRTP profile, our ICE credentials,
/// certificate fingerprint and DTLS role, BUNDLE with mid 0, RTCP multiplexed, and
/// `candidate` as the one host candidate. Codecs, ptime and direction stay as they are.
pub fn add_local_parameters(
    sdp: &mut SessionDescription,
    local: &LocalParameters,
    candidate: SocketAddr,
) {
    sdp.attributes
        .retain(|attribute| !SESSION_ATTRIBUTES.contains(&attribute.name.as_str()));
    let mut session_attributes = Vec::with_capacity(2);
    if local.ice_lite {
        session_attributes.push(Attribute::flag("ice-lite"));
    }
    session_attributes.push(Attribute::new("group", "BUNDLE 0"));
    sdp.attributes.splice(0..0, session_attributes);

    let Some(media) = sdp.media.iter_mut().find(|media| media.media == "audio") else {
        return;
    };
    media.protocol = WEBRTC_PROTOCOL.to_owned();
    media.port = candidate.port();
    media
        .attributes
        .retain(|attribute| !MEDIA_ATTRIBUTES.contains(&attribute.name.as_str()));
    let webrtc_attributes = [
        Attribute::new("mid", "0"),
        Attribute::new("ice-ufrag", local.ice.ufrag.clone()),
        Attribute::new("ice-pwd", local.ice.pwd.clone()),
        Attribute::new("fingerprint", local.fingerprint.to_string()),
        Attribute::new("setup", local.setup.as_str()),
        Attribute::flag("rtcp-mux"),
        Attribute::new("rtcp", candidate.port().to_string()),
        Attribute::new(
            "candidate",
            format!(
                "1 1 udp 2130706431 {} {} typ host",
                candidate.ip(),
                candidate.port()
            ),
        ),
        Attribute::flag("end-of-candidates"),
    ];
    media.attributes.splice(0..0, webrtc_attributes);
}

/// Whether a description (offer or answer) asks for WebRTC media: a secure RTP profile
/// with feedback, or a DTLS fingerprint.
pub fn is_webrtc(sdp: &SessionDescription) -> bool {
    let fingerprint = |attributes: &[Attribute]| {
        attributes
            .iter()
            .any(|attribute| attribute.name == "fingerprint")
    };
    fingerprint(&sdp.attributes)
        || sdp.media.iter().any(|media| {
            media.protocol.to_ascii_uppercase().contains("SAVPF") || fingerprint(&media.attributes)
        })
}
