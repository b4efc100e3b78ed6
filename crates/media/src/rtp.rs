//! RTP packets (RFC 3550 §5.1) and telling them apart from RTCP (RFC 5761 §4).
//!
//! Only what a relay and a G.711 endpoint need: the fixed header fields, the payload
//! with padding removed. CSRC lists and header extensions are skipped on input and
//! never written, because the gateway terminates every stream and originates its own
//! (see [`crate::rewrite`]); nothing downstream could use a mixer's CSRCs.

use thiserror::Error;

/// Length of the fixed RTP header without CSRCs or extension.
pub const RTP_HEADER_LEN: usize = 12;

/// The only RTP version in use (RFC 3550).
pub const RTP_VERSION: u8 = 2;

/// The fields of the RTP header the gateway reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RtpHeader {
    pub marker: bool,
    /// 7 bits; [`write_rtp`] keeps only the low 7.
    pub payload_type: u8,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
}

/// A parsed packet borrowing its payload from the datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    pub header: RtpHeader,
    /// The payload with CSRCs, header extension and padding already removed.
    pub payload: &'a [u8],
}

/// Why a datagram is not a usable RTP packet. The relay drops such datagrams; they
/// are counted, never answered.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RtpError {
    #[error("RTP packet of {len} bytes is shorter than the {RTP_HEADER_LEN}-byte fixed header")]
    TooShort { len: usize },
    #[error("RTP version {version}, must be 2")]
    BadVersion { version: u8 },
    #[error("RTP CSRC count {count} needs {needed} header bytes, packet has {len}")]
    TruncatedCsrcList {
        count: u8,
        needed: usize,
        len: usize,
    },
    #[error("RTP header extension needs {needed} header bytes, packet has {len}")]
    TruncatedExtension { needed: usize, len: usize },
    #[error(
        "RTP padding count {count} is invalid: must be at least 1 and at most the {available} bytes after the header"
    )]
    BadPadding { count: u8, available: usize },
}

/// Parses an RTP packet (RFC 3550 §5.1).
///
/// The CSRC list and a header extension (§5.3.1) are skipped; when the P bit is set
/// the last byte says how many bytes of padding to remove, counting itself.
pub fn parse_rtp(buf: &[u8]) -> Result<RtpPacket<'_>, RtpError> {
    if buf.len() < RTP_HEADER_LEN {
        return Err(RtpError::TooShort { len: buf.len() });
    }
    let version = buf[0] >> 6;
    if version != RTP_VERSION {
        return Err(RtpError::BadVersion { version });
    }
    let has_padding = buf[0] & 0x20 != 0;
    let has_extension = buf[0] & 0x10 != 0;
    let csrc_count = buf[0] & 0x0f;
    let header = RtpHeader {
        marker: buf[1] & 0x80 != 0,
        payload_type: buf[1] & 0x7f,
        sequence: u16::from_be_bytes([buf[2], buf[3]]),
        timestamp: u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]),
        ssrc: u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]),
    };

    let mut offset = RTP_HEADER_LEN + 4 * usize::from(csrc_count);
    if buf.len() < offset {
        return Err(RtpError::TruncatedCsrcList {
            count: csrc_count,
            needed: offset,
            len: buf.len(),
        });
    }
    if has_extension {
        // 16-bit profile-defined id, then the extension length in 32-bit words.
        if buf.len() < offset + 4 {
            return Err(RtpError::TruncatedExtension {
                needed: offset + 4,
                len: buf.len(),
            });
        }
        let words = u16::from_be_bytes([buf[offset + 2], buf[offset + 3]]);
        let needed = offset + 4 + 4 * usize::from(words);
        if buf.len() < needed {
            return Err(RtpError::TruncatedExtension {
                needed,
                len: buf.len(),
            });
        }
        offset = needed;
    }

    let mut end = buf.len();
    if has_padding {
        let available = end - offset;
        // The count includes the count byte itself, so 0 is as wrong as too many.
        let count = if available == 0 { 0 } else { buf[end - 1] };
        if count == 0 || usize::from(count) > available {
            return Err(RtpError::BadPadding { count, available });
        }
        end -= usize::from(count);
    }
    Ok(RtpPacket {
        header,
        payload: &buf[offset..end],
    })
}

/// Writes a 12-byte header (no padding, extension or CSRCs) and the payload into
/// `out`, which is cleared first so one buffer can be reused for every packet.
pub fn write_rtp(header: &RtpHeader, payload: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.reserve(RTP_HEADER_LEN + payload.len());
    out.push(RTP_VERSION << 6);
    out.push(u8::from(header.marker) << 7 | (header.payload_type & 0x7f));
    out.extend_from_slice(&header.sequence.to_be_bytes());
    out.extend_from_slice(&header.timestamp.to_be_bytes());
    out.extend_from_slice(&header.ssrc.to_be_bytes());
    out.extend_from_slice(payload);
}

/// Whether a datagram on a multiplexed RTP/RTCP port is RTCP (RFC 5761 §4).
///
/// RTCP packet types 192..=223 occupy the byte where RTP keeps the marker bit and
/// payload type; RTP payload types 64..=95 are never assigned for this reason, so the
/// second byte alone decides.
pub fn is_rtcp(buf: &[u8]) -> bool {
    buf.len() >= 2 && (192..=223).contains(&buf[1])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> RtpHeader {
        RtpHeader {
            marker: true,
            payload_type: 8,
            sequence: 0xbeef,
            timestamp: 0x0102_0304,
            ssrc: 0xdead_cafe,
        }
    }

    fn packet(payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        write_rtp(&header(), payload, &mut out);
        out
    }

    #[test]
    fn writes_the_fixed_header_in_network_order() {
        let bytes = packet(&[0xaa, 0xbb]);
        assert_eq!(
            bytes,
            [
                0x80, 0x88, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04, 0xde, 0xad, 0xca, 0xfe, 0xaa, 0xbb
            ]
        );
    }

    #[test]
    fn write_clears_the_buffer_and_masks_the_payload_type() {
        let mut out = vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
        let mut h = header();
        h.marker = false;
        h.payload_type = 0xff;
        write_rtp(&h, &[], &mut out);
        assert_eq!(out.len(), RTP_HEADER_LEN);
        assert_eq!(out[1], 0x7f, "marker must stay clear, PT keeps 7 bits");
    }

    #[test]
    fn parses_what_it_writes() {
        let bytes = packet(b"voice");
        let parsed = parse_rtp(&bytes).unwrap();
        assert_eq!(parsed.header, header());
        assert_eq!(parsed.payload, b"voice");
    }

    #[test]
    fn skips_csrcs_and_extension_and_removes_padding() {
        let mut bytes = packet(&[]);
        bytes[0] = 0x80 | 0x20 | 0x10 | 2; // padding, extension, two CSRCs
        bytes.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2]); // CSRCs
        bytes.extend_from_slice(&[0xbe, 0xde, 0, 1, 0x10, 0xff, 0, 0]); // one-word extension
        bytes.extend_from_slice(&[7, 8, 9]); // payload
        bytes.extend_from_slice(&[0, 0, 3]); // three bytes of padding
        let parsed = parse_rtp(&bytes).unwrap();
        assert_eq!(parsed.header, header());
        assert_eq!(parsed.payload, [7, 8, 9]);
    }

    #[test]
    fn rejects_truncated_headers() {
        assert_eq!(parse_rtp(&[]), Err(RtpError::TooShort { len: 0 }));
        let bytes = packet(&[]);
        assert_eq!(parse_rtp(&bytes[..11]), Err(RtpError::TooShort { len: 11 }));
    }

    #[test]
    fn rejects_other_versions() {
        for version in [0u8, 1, 3] {
            let mut bytes = packet(&[1, 2, 3]);
            bytes[0] = version << 6;
            assert_eq!(parse_rtp(&bytes), Err(RtpError::BadVersion { version }));
        }
    }

    #[test]
    fn rejects_a_csrc_list_longer_than_the_packet() {
        let mut bytes = packet(&[1, 2, 3, 4]);
        bytes[0] |= 3;
        assert_eq!(
            parse_rtp(&bytes),
            Err(RtpError::TruncatedCsrcList {
                count: 3,
                needed: 24,
                len: 16
            })
        );
    }

    #[test]
    fn rejects_truncated_extensions() {
        let mut bytes = packet(&[0xbe, 0xde]);
        bytes[0] |= 0x10;
        assert_eq!(
            parse_rtp(&bytes),
            Err(RtpError::TruncatedExtension {
                needed: 16,
                len: 14
            })
        );
        let mut bytes = packet(&[0xbe, 0xde, 0, 2, 1, 2, 3, 4]);
        bytes[0] |= 0x10;
        assert_eq!(
            parse_rtp(&bytes),
            Err(RtpError::TruncatedExtension {
                needed: 24,
                len: 20
            })
        );
    }

    #[test]
    fn rejects_bad_padding() {
        let mut bytes = packet(&[1, 2, 0]);
        bytes[0] |= 0x20;
        assert_eq!(
            parse_rtp(&bytes),
            Err(RtpError::BadPadding {
                count: 0,
                available: 3
            })
        );
        let mut bytes = packet(&[1, 2, 4]);
        bytes[0] |= 0x20;
        assert_eq!(
            parse_rtp(&bytes),
            Err(RtpError::BadPadding {
                count: 4,
                available: 3
            })
        );
        let mut bytes = packet(&[]);
        bytes[0] |= 0x20;
        assert_eq!(
            parse_rtp(&bytes),
            Err(RtpError::BadPadding {
                count: 0,
                available: 0
            })
        );
        // Padding may take the whole payload.
        let mut bytes = packet(&[0, 0, 3]);
        bytes[0] |= 0x20;
        assert_eq!(parse_rtp(&bytes).unwrap().payload, b"");
    }

    #[test]
    fn tells_rtcp_from_rtp() {
        // Sender report, receiver report, BYE, and the edges of the range.
        for packet_type in [200u8, 201, 203, 192, 223] {
            assert!(is_rtcp(&[0x80, packet_type, 0, 6]), "{packet_type}");
        }
        assert!(!is_rtcp(&packet(&[1]))); // PT 8 with marker = 0x88
        assert!(!is_rtcp(&[0x80, 0x00]));
        assert!(!is_rtcp(&[0x80, 191]));
        assert!(!is_rtcp(&[0x80, 224]));
        assert!(!is_rtcp(&[0x80]));
        assert!(!is_rtcp(&[]));
    }
}
