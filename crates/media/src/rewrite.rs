//! One continuous outgoing RTP stream per call leg, whatever feeds it.
//!
//! Over one call the caller's leg hears a prompt, hold music, an agent, then maybe a
//! lawyer. Each of those sources has its own SSRC, sequence numbers and timestamps.
//! Passing them through unchanged would look to the caller's phone (or the carrier's
//! media gateway) like a stream that keeps jumping; many drop the new stream until
//! its jitter buffer resets, which clips the first words of the agent. So the leg
//! keeps one SSRC, and every source's numbers are shifted to continue ours.
//!
//! Within one source the shift is a constant offset: the source's own gaps (loss)
//! and reorderings show up unchanged, so RTCP and the receiver's loss concealment
//! still see them. When the source changes, the new offsets make the sequence
//! continue at the next number and the timestamp advance by the wall time since the
//! last packet, and the marker bit tells the receiver to resynchronise its playout.

use std::time::Instant;

use crate::rtp::RtpHeader;

/// RTP clock of every payload the gateway sends (G.711 and telephone-event).
pub const CLOCK_RATE: u32 = 8000;

/// The least a timestamp advances when the source changes: one 20 ms frame, so the
/// new source's first frame never overlaps the last frame of the old one.
const MIN_ADVANCE_SAMPLES: u32 = 160;

/// A pause in our own frames longer than this (beyond the frame length) starts a new
/// talkspurt. Smaller lateness is timer jitter and must not bend the media clock.
const TALKSPURT_GAP_SAMPLES: u32 = 3 * 160;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Relayed { ssrc: u32 },
    Generated,
}

#[derive(Debug, Clone, Copy)]
struct Sent {
    source: Source,
    /// Output = input + offset (wrapping) for the current relayed source.
    sequence_offset: u16,
    timestamp_offset: u32,
    highest_sequence: u16,
    highest_timestamp: u32,
    /// When the packet with `highest_timestamp` went out.
    highest_at: Instant,
    /// Samples covered by that packet, where known.
    frame_samples: u32,
}

/// Rewrites the headers of one outgoing leg. See the module documentation.
#[derive(Debug, Clone)]
pub struct StreamRewriter {
    ssrc: u32,
    initial_sequence: u16,
    initial_timestamp: u32,
    generated_payload_type: u8,
    sent: Option<Sent>,
}

impl StreamRewriter {
    /// `ssrc`, `initial_sequence` and `initial_timestamp` should be random (RFC 3550
    /// §5.1); the caller supplies them so this type stays deterministic.
    pub fn new(ssrc: u32, initial_sequence: u16, initial_timestamp: u32) -> Self {
        StreamRewriter {
            ssrc,
            initial_sequence,
            initial_timestamp,
            generated_payload_type: 0,
            sent: None,
        }
    }

    /// Our SSRC, the one every output packet carries.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// The payload type put on [`StreamRewriter::generated`] headers: the codec
    /// negotiated on this leg. Defaults to 0 (PCMU).
    pub fn set_generated_payload_type(&mut self, payload_type: u8) {
        self.generated_payload_type = payload_type & 0x7f;
    }

    /// The header to send for a packet relayed from another leg, which the caller
    /// forwards with its payload unchanged (or transcoded with the same framing).
    ///
    /// The caller feeds only the source currently connected to this leg: a packet
    /// from any other SSRC is taken as a change of source.
    pub fn relay(&mut self, incoming: &RtpHeader, now: Instant) -> RtpHeader {
        let source = Source::Relayed {
            ssrc: incoming.ssrc,
        };
        let switched = self.sent.is_none_or(|sent| sent.source != source);
        let (sequence_offset, timestamp_offset) = match self.sent {
            Some(sent) if !switched => (sent.sequence_offset, sent.timestamp_offset),
            _ => {
                let (sequence, timestamp) = self.start_of_new_source(now);
                (
                    sequence.wrapping_sub(incoming.sequence),
                    timestamp.wrapping_sub(incoming.timestamp),
                )
            }
        };
        let header = RtpHeader {
            marker: incoming.marker || switched,
            payload_type: incoming.payload_type,
            sequence: incoming.sequence.wrapping_add(sequence_offset),
            timestamp: incoming.timestamp.wrapping_add(timestamp_offset),
            ssrc: self.ssrc,
        };
        self.record(
            &header,
            source,
            (sequence_offset, timestamp_offset),
            MIN_ADVANCE_SAMPLES,
            now,
        );
        header
    }

    /// The header for a frame of `samples` samples that we produce ourselves
    /// (prompt, hold music, comfort noise). Our frames are one source of their own:
    /// consecutive ones advance the timestamp by the previous frame's length; after
    /// another source, or after a pause of more than a few frames, the stream is
    /// resynchronised to the wall clock and the marker bit is set.
    pub fn generated(&mut self, samples: u32, now: Instant) -> RtpHeader {
        let (sequence, timestamp, marker) = match self.sent {
            Some(sent) if sent.source == Source::Generated => {
                let sequence = sent.highest_sequence.wrapping_add(1);
                let elapsed = elapsed_samples(sent.highest_at, now);
                if elapsed > sent.frame_samples.saturating_add(TALKSPURT_GAP_SAMPLES) {
                    (sequence, sent.highest_timestamp.wrapping_add(elapsed), true)
                } else {
                    let timestamp = sent.highest_timestamp.wrapping_add(sent.frame_samples);
                    (sequence, timestamp, false)
                }
            }
            _ => {
                let (sequence, timestamp) = self.start_of_new_source(now);
                (sequence, timestamp, true)
            }
        };
        let header = RtpHeader {
            marker,
            payload_type: self.generated_payload_type,
            sequence,
            timestamp,
            ssrc: self.ssrc,
        };
        self.record(&header, Source::Generated, (0, 0), samples, now);
        header
    }

    /// Sequence number and timestamp for the first packet of a new source.
    fn start_of_new_source(&self, now: Instant) -> (u16, u32) {
        match self.sent {
            None => (self.initial_sequence, self.initial_timestamp),
            Some(sent) => {
                let advance = elapsed_samples(sent.highest_at, now)
                    .max(sent.frame_samples)
                    .max(MIN_ADVANCE_SAMPLES);
                (
                    sent.highest_sequence.wrapping_add(1),
                    sent.highest_timestamp.wrapping_add(advance),
                )
            }
        }
    }

    fn record(
        &mut self,
        header: &RtpHeader,
        source: Source,
        (sequence_offset, timestamp_offset): (u16, u32),
        frame_samples: u32,
        now: Instant,
    ) {
        let first = Sent {
            source,
            sequence_offset,
            timestamp_offset,
            highest_sequence: header.sequence,
            highest_timestamp: header.timestamp,
            highest_at: now,
            frame_samples,
        };
        let sent = self.sent.get_or_insert(first);
        sent.source = source;
        sent.sequence_offset = sequence_offset;
        sent.timestamp_offset = timestamp_offset;
        if is_newer_sequence(header.sequence, sent.highest_sequence) {
            sent.highest_sequence = header.sequence;
        }
        // Only a packet that moves the media clock forward says where the clock was
        // at `now`; telephone-events repeat one timestamp for the whole key press.
        if is_newer_timestamp(header.timestamp, sent.highest_timestamp) {
            sent.highest_timestamp = header.timestamp;
            sent.highest_at = now;
            sent.frame_samples = frame_samples;
        }
    }
}

/// RFC 3550 serial-number comparison: `a` is ahead of `b` by less than half the range.
fn is_newer_sequence(a: u16, b: u16) -> bool {
    a != b && a.wrapping_sub(b) < 0x8000
}

fn is_newer_timestamp(a: u32, b: u32) -> bool {
    a != b && a.wrapping_sub(b) < 0x8000_0000
}

/// Wall time between two instants in RTP clock units, rounded to the nearest
/// sample. An instant before `since` (a caller's mistake) counts as no time.
fn elapsed_samples(since: Instant, now: Instant) -> u32 {
    let nanos = now.saturating_duration_since(since).as_nanos();
    let samples = (nanos * u128::from(CLOCK_RATE) + 500_000_000) / 1_000_000_000;
    // Timestamps are modulo 2^32 anyway; a pause of six days may as well saturate.
    u32::try_from(samples).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn serial_comparison_wraps() {
        assert!(is_newer_sequence(1, 0));
        assert!(is_newer_sequence(0, u16::MAX));
        assert!(!is_newer_sequence(u16::MAX, 0));
        assert!(!is_newer_sequence(5, 5));
        assert!(is_newer_timestamp(10, u32::MAX - 10));
        assert!(!is_newer_timestamp(u32::MAX - 10, 10));
    }

    #[test]
    fn elapsed_time_is_rounded_to_samples_and_never_negative() {
        let start = Instant::now();
        assert_eq!(
            elapsed_samples(start, start + Duration::from_millis(20)),
            160
        );
        assert_eq!(
            elapsed_samples(start, start + Duration::from_micros(19_990)),
            160
        );
        assert_eq!(elapsed_samples(start, start + Duration::from_secs(1)), 8000);
        assert_eq!(elapsed_samples(start + Duration::from_secs(1), start), 0);
    }
}
