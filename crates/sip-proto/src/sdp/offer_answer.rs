//! Audio offer/answer (RFC 3264) for the codecs the hotline speaks: G.711 µ-law
//! (PCMU, PT 0), A-law (PCMA, PT 8) and RFC 4733 telephone-events at 8000 Hz.
//!
//! The answerer takes the first codec in the offer's order that it supports, keeps
//! the offer's payload type numbers, and rejects every other stream with port 0.

use std::net::IpAddr;

use super::{
    Attribute, Connection, Direction, MediaDescription, Origin, RtpMap, SdpError,
    SessionDescription,
};

const AUDIO: &str = "audio";
const RTP_AVP: &str = "RTP/AVP";
const TELEPHONE_EVENT: &str = "telephone-event";
const DTMF_EVENTS: &str = "0-16";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AudioCodec {
    Pcmu,
    Pcma,
}

impl AudioCodec {
    pub fn static_payload_type(self) -> u8 {
        match self {
            AudioCodec::Pcmu => 0,
            AudioCodec::Pcma => 8,
        }
    }

    pub fn encoding_name(self) -> &'static str {
        match self {
            AudioCodec::Pcmu => "PCMU",
            AudioCodec::Pcma => "PCMA",
        }
    }

    fn rtpmap(self, payload_type: u8) -> RtpMap {
        RtpMap {
            payload_type,
            encoding: self.encoding_name().to_owned(),
            clock_rate: 8000,
            channels: None,
        }
    }

    /// The codec an offered payload type stands for: its rtpmap if present, else the
    /// static assignment of RFC 3551.
    fn for_payload_type(media: &MediaDescription, payload_type: u8) -> Option<AudioCodec> {
        match media.rtpmap(payload_type) {
            Some(map) => {
                let mono = map.channels.is_none_or(|channels| channels == 1);
                if map.clock_rate != 8000 || !mono {
                    return None;
                }
                [AudioCodec::Pcmu, AudioCodec::Pcma]
                    .into_iter()
                    .find(|codec| map.encoding.eq_ignore_ascii_case(codec.encoding_name()))
            }
            None => match payload_type {
                0 => Some(AudioCodec::Pcmu),
                8 => Some(AudioCodec::Pcma),
                _ => None,
            },
        }
    }
}

/// Our side of the negotiation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioConfig {
    /// Where we receive RTP.
    pub address: IpAddr,
    pub port: u16,
    /// Codecs we support, preferred first (the order matters only in offers).
    pub codecs: Vec<AudioCodec>,
    /// Payload type for telephone-events in our offers; `None` to not offer or accept DTMF events.
    pub telephone_event_payload_type: Option<u8>,
    pub ptime: Option<u32>,
    /// What we are willing to do (sendrecv normally; sendonly to put the peer on hold).
    pub direction: Direction,
    pub session_id: u64,
    /// Increment for every new offer or answer in the same session (RFC 3264 §8).
    pub session_version: u64,
}

impl AudioConfig {
    /// A-law first (the usual codec of Chinese carriers), then µ-law, DTMF on PT 101,
    /// 20 ms packets, sendrecv.
    pub fn new(address: IpAddr, port: u16, session_id: u64) -> Self {
        AudioConfig {
            address,
            port,
            codecs: vec![AudioCodec::Pcma, AudioCodec::Pcmu],
            telephone_event_payload_type: Some(101),
            ptime: Some(20),
            direction: Direction::SendRecv,
            session_id,
            session_version: 1,
        }
    }

    fn session(&self, media: Vec<MediaDescription>) -> SessionDescription {
        let connection = Connection::new(self.address);
        SessionDescription {
            origin: Origin {
                username: "-".to_owned(),
                session_id: self.session_id.to_string(),
                session_version: self.session_version,
                net_type: connection.net_type.clone(),
                addr_type: connection.addr_type.clone(),
                address: connection.address.clone(),
            },
            session_name: "-".to_owned(),
            connection: Some(connection),
            bandwidths: Vec::new(),
            timing: (0, 0),
            attributes: Vec::new(),
            media,
            other_lines: Vec::new(),
        }
    }
}

/// The outcome of a negotiation, from our point of view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegotiatedAudio {
    /// Where to send RTP.
    pub remote_address: IpAddr,
    pub remote_port: u16,
    pub codec: AudioCodec,
    /// The payload type to put in (and expect in) RTP packets for `codec`.
    pub payload_type: u8,
    /// Payload type for RFC 4733 events, if both sides support them.
    pub telephone_event_payload_type: Option<u8>,
    /// The peer's requested packetization time.
    pub remote_ptime: Option<u32>,
    /// What we may do: send, receive, both or neither.
    pub direction: Direction,
}

/// A single-stream audio offer.
pub fn create_offer(config: &AudioConfig) -> SessionDescription {
    let payload_types: Vec<(AudioCodec, u8)> = config
        .codecs
        .iter()
        .map(|&codec| (codec, codec.static_payload_type()))
        .collect();
    let media = audio_media(
        config,
        &payload_types,
        config.telephone_event_payload_type,
        None,
        config.direction,
    );
    config.session(vec![media])
}

/// Answers an offer: the first audio stream with a codec we support is accepted with
/// the offer's first such codec; all other streams are rejected. Fails with
/// [`SdpError::NoCommonCodec`] when nothing can be accepted (answer 488).
pub fn create_answer(
    offer: &SessionDescription,
    config: &AudioConfig,
) -> Result<(SessionDescription, NegotiatedAudio), SdpError> {
    let mut negotiated = None;
    let mut answer_media = Vec::with_capacity(offer.media.len());
    for offered in &offer.media {
        let choice = if negotiated.is_none() && is_usable_audio(offered) {
            choose_codec(offered, &config.codecs)
        } else {
            None
        };
        let Some((codec, payload_type)) = choice else {
            answer_media.push(rejected(offered));
            continue;
        };
        let remote_address = offer
            .connection_of(offered)
            .and_then(Connection::ip)
            .ok_or(SdpError::NoConnectionAddress)?;
        let telephone_event = config
            .telephone_event_payload_type
            .and_then(|_| telephone_event_payload_type(offered));
        let direction = offer
            .direction_of(offered)
            .reversed()
            .intersect(config.direction);
        let events_fmtp = telephone_event.and_then(|pt| offered.fmtp(pt));
        answer_media.push(audio_media(
            config,
            &[(codec, payload_type)],
            telephone_event,
            events_fmtp,
            direction,
        ));
        negotiated = Some(NegotiatedAudio {
            remote_address,
            remote_port: offered.port,
            codec,
            payload_type,
            telephone_event_payload_type: telephone_event,
            remote_ptime: offered.ptime(),
            direction,
        });
    }
    let negotiated = negotiated.ok_or(SdpError::NoCommonCodec)?;
    Ok((config.session(answer_media), negotiated))
}

/// Reads the answer to our offer: the accepted audio stream, its codec and address.
pub fn read_answer(
    offer: &SessionDescription,
    answer: &SessionDescription,
) -> Result<NegotiatedAudio, SdpError> {
    if offer.media.len() != answer.media.len() {
        return Err(SdpError::AnswerMismatch("number of m= lines differs"));
    }
    for (offered, answered) in offer.media.iter().zip(&answer.media) {
        if offered.media != answered.media {
            return Err(SdpError::AnswerMismatch(
                "m= lines are in a different order",
            ));
        }
        if !is_answered_audio(answered) {
            continue;
        }
        let offered_codecs: Vec<AudioCodec> = offered
            .formats
            .iter()
            .filter_map(|format| format.parse().ok())
            .filter_map(|pt| AudioCodec::for_payload_type(offered, pt))
            .collect();
        let Some((codec, payload_type)) = choose_codec(answered, &offered_codecs) else {
            continue;
        };
        let remote_address = answer
            .connection_of(answered)
            .and_then(Connection::ip)
            .ok_or(SdpError::NoConnectionAddress)?;
        let telephone_event =
            telephone_event_payload_type(offered).and(telephone_event_payload_type(answered));
        return Ok(NegotiatedAudio {
            remote_address,
            remote_port: answered.port,
            codec,
            payload_type,
            telephone_event_payload_type: telephone_event,
            remote_ptime: answered.ptime(),
            direction: answer.direction_of(answered).reversed(),
        });
    }
    Err(SdpError::NoCommonCodec)
}

fn is_usable_audio(media: &MediaDescription) -> bool {
    media.media == AUDIO && media.protocol.eq_ignore_ascii_case(RTP_AVP) && !media.is_rejected()
}

/// RTP audio profiles an answer may carry: plain, with feedback, SDES-secured, and
/// DTLS-SRTP (WebRTC, RFC 5764 §8). Which keying an answer needs is the caller's
/// concern; the codec negotiation is the same for all of them.
const ANSWER_RTP_PROFILES: [&str; 6] = [
    RTP_AVP,
    "RTP/AVPF",
    "RTP/SAVP",
    "RTP/SAVPF",
    "UDP/TLS/RTP/SAVP",
    "UDP/TLS/RTP/SAVPF",
];

fn is_answered_audio(media: &MediaDescription) -> bool {
    media.media == AUDIO
        && ANSWER_RTP_PROFILES
            .iter()
            .any(|profile| media.protocol.eq_ignore_ascii_case(profile))
        && !media.is_rejected()
}

/// The first format of `media`, in its order, that is one of `supported`.
fn choose_codec(media: &MediaDescription, supported: &[AudioCodec]) -> Option<(AudioCodec, u8)> {
    media.formats.iter().find_map(|format| {
        let payload_type: u8 = format.parse().ok()?;
        let codec = AudioCodec::for_payload_type(media, payload_type)?;
        supported.contains(&codec).then_some((codec, payload_type))
    })
}

fn telephone_event_payload_type(media: &MediaDescription) -> Option<u8> {
    media
        .rtpmaps()
        .into_iter()
        .find(|map| map.encoding.eq_ignore_ascii_case(TELEPHONE_EVENT) && map.clock_rate == 8000)
        .map(|map| map.payload_type)
        .filter(|pt| media.formats.iter().any(|format| format.parse() == Ok(*pt)))
}

/// An answer's copy of a stream it refuses: same media and protocol, port 0.
fn rejected(offered: &MediaDescription) -> MediaDescription {
    MediaDescription {
        media: offered.media.clone(),
        port: 0,
        port_count: None,
        protocol: offered.protocol.clone(),
        formats: offered.formats.clone(),
        connection: None,
        bandwidths: Vec::new(),
        attributes: Vec::new(),
        other_lines: Vec::new(),
    }
}

fn audio_media(
    config: &AudioConfig,
    codecs: &[(AudioCodec, u8)],
    telephone_event: Option<u8>,
    events_fmtp: Option<&str>,
    direction: Direction,
) -> MediaDescription {
    let mut formats: Vec<String> = codecs.iter().map(|(_, pt)| pt.to_string()).collect();
    let mut attributes: Vec<Attribute> = codecs
        .iter()
        .map(|(codec, pt)| Attribute::new("rtpmap", codec.rtpmap(*pt).to_string()))
        .collect();
    if let Some(pt) = telephone_event {
        formats.push(pt.to_string());
        attributes.push(Attribute::new(
            "rtpmap",
            format!("{pt} {TELEPHONE_EVENT}/8000"),
        ));
        attributes.push(Attribute::new(
            "fmtp",
            format!("{pt} {}", events_fmtp.unwrap_or(DTMF_EVENTS)),
        ));
    }
    if let Some(ptime) = config.ptime {
        attributes.push(Attribute::new("ptime", ptime.to_string()));
    }
    attributes.push(Attribute::flag(direction.as_str()));
    MediaDescription {
        media: AUDIO.to_owned(),
        port: config.port,
        port_count: None,
        protocol: RTP_AVP.to_owned(),
        formats,
        connection: None,
        bandwidths: Vec::new(),
        attributes,
        other_lines: Vec::new(),
    }
}
