//! DTMF as RFC 4733 telephone-events: the payload format, a detector that turns the
//! redundant packet stream into one key press each, and a sender for the reverse.
//!
//! A sender reports one key press as a series of packets that all carry the RTP
//! timestamp of the moment the key went down: start packets every 20 ms with a growing
//! duration, then the end packet (E bit) three times because it has no retransmission
//! otherwise (§2.5.1.4). The timestamp is therefore the identity of the press.

use thiserror::Error;

/// Length of one event block in the payload (§2.3).
pub const TELEPHONE_EVENT_LEN: usize = 4;

/// The largest volume value: the field is 6 bits, in -dBm0 (§2.3.4).
pub const MAX_VOLUME: u8 = 63;

/// How far back, in 8 kHz timestamp units, a packet may be and still count as a late
/// duplicate of an event already reported: 5 s covers any network reordering, while a
/// sender restarting its timestamps (a new SSRC after a re-INVITE) jumps much further.
const STALE_WINDOW: u32 = 5 * 8000;

/// How close to the 16-bit duration limit a press must have grown before a new
/// timestamp with the same key is taken as its continuation (§2.5.1.3) rather than a
/// second press: one second of margin below the limit.
const LONG_EVENT_THRESHOLD: u16 = u16::MAX - 8000;

/// One telephone-event block (RFC 4733 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TelephoneEvent {
    /// Event code: 0-9, 10 = `*`, 11 = `#`, 12-15 = A-D, others are tones (§3.2).
    pub event: u8,
    /// The E bit: this packet reports the end of the event.
    pub end: bool,
    /// Power level in -dBm0, 0..=63.
    pub volume: u8,
    /// Duration so far, in RTP timestamp units (samples at 8 kHz).
    pub duration: u16,
}

impl TelephoneEvent {
    /// The four payload bytes. The reserved R bit is always written as zero.
    pub fn to_bytes(&self) -> [u8; TELEPHONE_EVENT_LEN] {
        let [high, low] = self.duration.to_be_bytes();
        [
            self.event,
            u8::from(self.end) << 7 | (self.volume & MAX_VOLUME),
            high,
            low,
        ]
    }
}

/// A telephone-event payload or a DTMF request the code cannot use.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DtmfError {
    #[error("telephone-event payload of {len} bytes is shorter than {TELEPHONE_EVENT_LEN}")]
    TooShort { len: usize },
    #[error("telephone-event volume {volume} is out of range: must be 0..=63 (-dBm0)")]
    VolumeOutOfRange { volume: u8 },
    #[error("DTMF duration must be at least 1 sample")]
    ZeroDuration,
    #[error("{digit:?} is not a DTMF key: must be 0-9, *, #, or A-D")]
    NotADigit { digit: char },
}

/// Parses the first event block of a telephone-event payload.
///
/// Further blocks (§2.5.1.5, several events packed into one packet) are ignored:
/// they only ever repeat the end of earlier events, which the detector has already
/// seen or no longer needs. The reserved R bit is ignored, as §2.3 asks of receivers.
pub fn parse_telephone_event(payload: &[u8]) -> Result<TelephoneEvent, DtmfError> {
    let &[event, flags, high, low, ..] = payload else {
        return Err(DtmfError::TooShort { len: payload.len() });
    };
    Ok(TelephoneEvent {
        event,
        end: flags & 0x80 != 0,
        volume: flags & MAX_VOLUME,
        duration: u16::from_be_bytes([high, low]),
    })
}

/// Writes one event block into `out`, which is cleared first (like
/// [`crate::rtp::write_rtp`]) so one buffer can serve every packet.
pub fn write_telephone_event(event: &TelephoneEvent, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(&event.to_bytes());
}

/// The key for a DTMF event code (§3.2), `None` for codes that are not keys.
pub fn event_to_digit(event: u8) -> Option<char> {
    match event {
        0..=9 => Some(char::from(b'0' + event)),
        10 => Some('*'),
        11 => Some('#'),
        12..=15 => Some(char::from(b'A' + event - 12)),
        _ => None,
    }
}

/// The event code for a key; lower-case a-d are accepted as well.
pub fn digit_to_event(digit: char) -> Option<u8> {
    match digit {
        '0'..='9' => Some(digit as u8 - b'0'),
        '*' => Some(10),
        '#' => Some(11),
        'A'..='D' => Some(digit as u8 - b'A' + 12),
        'a'..='d' => Some(digit as u8 - b'a' + 12),
        _ => None,
    }
}

/// Whether `timestamp` lies before `reference` in RTP serial arithmetic by no more
/// than `window`.
fn is_recently_before(timestamp: u32, reference: u32, window: u32) -> bool {
    let behind = reference.wrapping_sub(timestamp);
    behind != 0 && behind <= window
}

#[derive(Debug, Clone, Copy)]
struct SeenEvent {
    timestamp: u32,
    event: u8,
    ended: bool,
    duration: u16,
}

/// Turns the packets of one RTP stream's telephone-events into key presses.
///
/// A press is reported on the first packet that reveals it, so the IVR can react
/// (stop the prompt) before the key is released; the repeated start packets and the
/// three end packets that follow carry the same timestamp and are swallowed. Packets
/// whose timestamp is a little older than the last press are late duplicates and are
/// swallowed too.
#[derive(Debug, Clone, Default)]
pub struct DtmfDetector {
    last: Option<SeenEvent>,
}

impl DtmfDetector {
    pub fn new() -> Self {
        DtmfDetector::default()
    }

    /// Feeds one telephone-event packet: its RTP timestamp and payload. Returns the
    /// key if this packet starts a press not reported before. Malformed payloads and
    /// non-key events (tones such as fax CNG) give `None`.
    pub fn on_packet(&mut self, rtp_timestamp: u32, payload: &[u8]) -> Option<char> {
        let event = parse_telephone_event(payload).ok()?;
        let digit = event_to_digit(event.event)?;
        if let Some(last) = &mut self.last {
            if last.timestamp == rtp_timestamp {
                last.ended |= event.end;
                last.duration = last.duration.max(event.duration);
                return None;
            }
            if is_recently_before(rtp_timestamp, last.timestamp, STALE_WINDOW) {
                return None;
            }
            // A press longer than the duration field allows continues under a new
            // timestamp (§2.5.1.3); the key is still the same one.
            let continues = !last.ended
                && last.event == event.event
                && last.duration >= LONG_EVENT_THRESHOLD
                && rtp_timestamp.wrapping_sub(last.timestamp) <= u32::from(u16::MAX) + 8000;
            if continues {
                *last = SeenEvent {
                    timestamp: rtp_timestamp,
                    event: event.event,
                    ended: event.end,
                    duration: event.duration,
                };
                return None;
            }
        }
        self.last = Some(SeenEvent {
            timestamp: rtp_timestamp,
            event: event.event,
            ended: event.end,
            duration: event.duration,
        });
        Some(digit)
    }

    /// Forgets the last press. The driver calls it when the stream's source changes
    /// (new SSRC), whose timestamps bear no relation to the old ones.
    pub fn reset(&mut self) {
        self.last = None;
    }
}

/// One packet of an outgoing key press. All packets of a press share the RTP
/// timestamp of its start; the caller gives each its own sequence number and sends
/// them [`DtmfSender::PACKET_INTERVAL_SAMPLES`] apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfPacket {
    /// Set on the first packet of the press (§2.5.1.3).
    pub marker: bool,
    pub event: TelephoneEvent,
}

impl DtmfPacket {
    pub fn payload(&self) -> [u8; TELEPHONE_EVENT_LEN] {
        self.event.to_bytes()
    }
}

/// Produces the RFC 4733 packet sequence for a key press.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfSender {
    volume: u8,
    duration_samples: u16,
}

impl Default for DtmfSender {
    /// -10 dBm0 for 100 ms, what common softphones send.
    fn default() -> Self {
        DtmfSender {
            volume: 10,
            duration_samples: 800,
        }
    }
}

impl DtmfSender {
    /// One packet per 20 ms frame.
    pub const PACKET_INTERVAL_SAMPLES: u16 = 160;
    /// The end packet is sent this many times (§2.5.1.4).
    pub const END_REPEATS: usize = 3;

    /// `volume` in -dBm0 (0..=63), `duration_samples` at 8 kHz.
    pub fn new(volume: u8, duration_samples: u16) -> Result<Self, DtmfError> {
        if volume > MAX_VOLUME {
            return Err(DtmfError::VolumeOutOfRange { volume });
        }
        if duration_samples == 0 {
            return Err(DtmfError::ZeroDuration);
        }
        Ok(DtmfSender {
            volume,
            duration_samples,
        })
    }

    /// The packets for one press, in sending order: start packets with durations
    /// 160, 320, ... below the full duration, then three end packets with the full
    /// duration.
    pub fn packets(&self, digit: char) -> Result<Vec<DtmfPacket>, DtmfError> {
        let code = digit_to_event(digit).ok_or(DtmfError::NotADigit { digit })?;
        let event = |end, duration| TelephoneEvent {
            event: code,
            end,
            volume: self.volume,
            duration,
        };
        let mut packets: Vec<DtmfPacket> = (1..)
            .map(|frame| u32::from(Self::PACKET_INTERVAL_SAMPLES) * frame)
            .take_while(|&duration| duration < u32::from(self.duration_samples))
            .map(|duration| DtmfPacket {
                marker: false,
                event: event(false, duration as u16),
            })
            .collect();
        packets.extend((0..Self::END_REPEATS).map(|_| DtmfPacket {
            marker: false,
            event: event(true, self.duration_samples),
        }));
        packets[0].marker = true;
        Ok(packets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_writes_an_event_block() {
        let payload = [11, 0x80 | 0x40 | 10, 0x03, 0x20];
        let event = parse_telephone_event(&payload).unwrap();
        assert_eq!(
            event,
            TelephoneEvent {
                event: 11,
                end: true,
                volume: 10,
                duration: 800
            },
            "the reserved bit must be ignored"
        );
        let mut out = vec![9, 9, 9, 9, 9, 9];
        write_telephone_event(&event, &mut out);
        assert_eq!(out, [11, 0x80 | 10, 0x03, 0x20]);
        assert_eq!(parse_telephone_event(&out).unwrap(), event);
    }

    #[test]
    fn rejects_short_payloads() {
        assert_eq!(
            parse_telephone_event(&[1, 2, 3]),
            Err(DtmfError::TooShort { len: 3 })
        );
        assert_eq!(
            parse_telephone_event(&[]),
            Err(DtmfError::TooShort { len: 0 })
        );
    }

    #[test]
    fn maps_event_codes_to_keys_and_back() {
        let keys = "0123456789*#ABCD";
        for (code, key) in keys.chars().enumerate() {
            assert_eq!(event_to_digit(code as u8), Some(key));
            assert_eq!(digit_to_event(key), Some(code as u8));
        }
        assert_eq!(digit_to_event('c'), Some(14));
        assert_eq!(event_to_digit(16), None); // flash
        assert_eq!(event_to_digit(36), None); // fax CNG tone
        assert_eq!(digit_to_event('E'), None);
        assert_eq!(digit_to_event('五'), None);
    }

    #[test]
    fn sender_rejects_bad_parameters() {
        assert_eq!(
            DtmfSender::new(64, 800),
            Err(DtmfError::VolumeOutOfRange { volume: 64 })
        );
        assert_eq!(DtmfSender::new(10, 0), Err(DtmfError::ZeroDuration));
        let sender = DtmfSender::default();
        assert_eq!(
            sender.packets('x'),
            Err(DtmfError::NotADigit { digit: 'x' })
        );
    }

    #[test]
    fn sender_emits_growing_start_packets_then_three_ends() {
        let packets = DtmfSender::new(10, 800).unwrap().packets('5').unwrap();
        let durations: Vec<(bool, u16)> = packets
            .iter()
            .map(|p| (p.event.end, p.event.duration))
            .collect();
        assert_eq!(
            durations,
            [
                (false, 160),
                (false, 320),
                (false, 480),
                (false, 640),
                (true, 800),
                (true, 800),
                (true, 800)
            ]
        );
        assert!(packets[0].marker);
        assert!(packets[1..].iter().all(|p| !p.marker));
        assert!(
            packets
                .iter()
                .all(|p| p.event.event == 5 && p.event.volume == 10)
        );

        // Shorter than a frame: the first packet is already the end, and marked.
        let short = DtmfSender::new(0, 100).unwrap().packets('#').unwrap();
        assert_eq!(short.len(), 3);
        assert!(short[0].marker && short[0].event.end);
        assert_eq!(short[0].payload(), [11, 0x80, 0, 100]);
    }

    fn feed(detector: &mut DtmfDetector, timestamp: u32, packets: &[DtmfPacket]) -> String {
        packets
            .iter()
            .filter_map(|p| detector.on_packet(timestamp, &p.payload()))
            .collect()
    }

    #[test]
    fn detector_reports_each_press_once_on_its_first_packet() {
        let sender = DtmfSender::default();
        let mut detector = DtmfDetector::new();
        let one = sender.packets('1').unwrap();
        assert_eq!(detector.on_packet(1000, &one[0].payload()), Some('1'));
        assert_eq!(feed(&mut detector, 1000, &one[1..]), "");
        // The same key again is a new press: it has a new timestamp.
        assert_eq!(feed(&mut detector, 3000, &one), "1");
        assert_eq!(
            feed(&mut detector, 5000, &sender.packets('#').unwrap()),
            "#"
        );
    }

    #[test]
    fn detector_reports_a_press_whose_start_packets_were_lost() {
        let packets = DtmfSender::default().packets('0').unwrap();
        let mut detector = DtmfDetector::new();
        let ends = &packets[packets.len() - 3..];
        assert_eq!(feed(&mut detector, 42, ends), "0");
    }

    #[test]
    fn detector_ignores_late_duplicates_and_garbage() {
        let sender = DtmfSender::default();
        let mut detector = DtmfDetector::new();
        let two = sender.packets('2').unwrap();
        let three = sender.packets('3').unwrap();
        assert_eq!(feed(&mut detector, 8000, &two[..2]), "2");
        assert_eq!(feed(&mut detector, 9600, &three[..1]), "3");
        // An end packet of the '2' press, delayed behind the start of '3'.
        assert_eq!(detector.on_packet(8000, &two[6].payload()), None);
        assert_eq!(detector.on_packet(9600, &[3, 0]), None);
        assert_eq!(detector.on_packet(12000, &[36, 0, 0, 160]), None);
        assert_eq!(feed(&mut detector, 9600, &three[1..]), "");
    }

    #[test]
    fn detector_accepts_a_new_stream_whose_timestamps_went_backwards() {
        let sender = DtmfSender::default();
        let mut detector = DtmfDetector::new();
        assert_eq!(
            feed(&mut detector, 4_000_000, &sender.packets('1').unwrap()),
            "1"
        );
        // Far behind the window: a different timestamp origin, not a late packet.
        assert_eq!(
            feed(&mut detector, 1_000, &sender.packets('2').unwrap()),
            "2"
        );
        detector.reset();
        assert_eq!(
            feed(&mut detector, 1_000, &sender.packets('2').unwrap()),
            "2"
        );
    }

    #[test]
    fn detector_handles_timestamp_wraparound() {
        let sender = DtmfSender::default();
        let mut detector = DtmfDetector::new();
        let start = u32::MAX - 100;
        assert_eq!(
            feed(&mut detector, start, &sender.packets('7').unwrap()),
            "7"
        );
        let after_wrap = start.wrapping_add(1600);
        assert_eq!(
            feed(&mut detector, after_wrap, &sender.packets('8').unwrap()),
            "8"
        );
        assert_eq!(
            feed(&mut detector, start, &sender.packets('7').unwrap()),
            ""
        );
    }

    #[test]
    fn detector_treats_a_segmented_long_press_as_one() {
        let mut detector = DtmfDetector::new();
        let segment = |end, duration| {
            TelephoneEvent {
                event: 9,
                end,
                volume: 10,
                duration,
            }
            .to_bytes()
        };
        assert_eq!(detector.on_packet(500, &segment(false, 160)), Some('9'));
        assert_eq!(detector.on_packet(500, &segment(false, 65_440)), None);
        // The duration is about to overflow, so the sender starts a new segment.
        let next = 500 + u32::from(u16::MAX);
        assert_eq!(detector.on_packet(next, &segment(false, 160)), None);
        assert_eq!(detector.on_packet(next, &segment(true, 4000)), None);
        // After the end, the same key is a new press.
        assert_eq!(
            detector.on_packet(next + 8000, &segment(false, 160)),
            Some('9')
        );
    }
}
