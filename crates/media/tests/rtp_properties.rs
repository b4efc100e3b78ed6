//! Properties of the packet codecs and of the stream rewriter, for generated inputs.

use std::time::{Duration, Instant};

use hotline_media::{
    RtpHeader, StreamRewriter, TelephoneEvent, parse_rtp, parse_telephone_event, write_rtp,
    write_telephone_event,
};
use proptest::prelude::*;

fn any_header() -> impl Strategy<Value = RtpHeader> {
    (
        any::<bool>(),
        0u8..128,
        any::<u16>(),
        any::<u32>(),
        any::<u32>(),
    )
        .prop_map(
            |(marker, payload_type, sequence, timestamp, ssrc)| RtpHeader {
                marker,
                payload_type,
                sequence,
                timestamp,
                ssrc,
            },
        )
}

/// One step of a leg's life: a run of in-order packets from a relayed source, or a
/// run of our own frames, after a pause.
#[derive(Debug, Clone)]
enum Run {
    Relayed {
        ssrc: u32,
        first_sequence: u16,
        first_timestamp: u32,
        packets: u16,
        pause_ms: u64,
    },
    Generated {
        frames: u16,
        pause_ms: u64,
    },
}

fn any_run() -> impl Strategy<Value = Run> {
    prop_oneof![
        (0u32..4, any::<u16>(), any::<u32>(), 1u16..40, 0u64..3000).prop_map(
            |(ssrc, first_sequence, first_timestamp, packets, pause_ms)| Run::Relayed {
                ssrc,
                first_sequence,
                first_timestamp,
                packets,
                pause_ms,
            }
        ),
        (1u16..40, 0u64..3000).prop_map(|(frames, pause_ms)| Run::Generated { frames, pause_ms }),
    ]
}

proptest! {
    #[test]
    fn write_then_parse_is_the_identity(
        header in any_header(),
        payload in proptest::collection::vec(any::<u8>(), 0..400),
        stale in proptest::collection::vec(any::<u8>(), 0..40),
    ) {
        let mut out = stale;
        write_rtp(&header, &payload, &mut out);
        let parsed = parse_rtp(&out).unwrap();
        prop_assert_eq!(parsed.header, header);
        prop_assert_eq!(parsed.payload, payload.as_slice());
    }

    #[test]
    fn parse_never_panics_and_never_reads_past_the_datagram(
        bytes in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        if let Ok(packet) = parse_rtp(&bytes) {
            prop_assert!(packet.payload.len() + 12 <= bytes.len());
        }
    }

    #[test]
    fn telephone_events_roundtrip(
        event in any::<u8>(), end in any::<bool>(), volume in 0u8..64, duration in any::<u16>(),
    ) {
        let event = TelephoneEvent { event, end, volume, duration };
        let mut out = Vec::new();
        write_telephone_event(&event, &mut out);
        prop_assert_eq!(parse_telephone_event(&out).unwrap(), event);
    }

    /// Whatever the sources and pauses, as long as each source is in order, the
    /// output is one SSRC with sequence numbers going up by exactly one, timestamps
    /// that only move forward, and a marker exactly where a run starts.
    #[test]
    fn in_order_sources_give_a_continuous_stream(
        our_ssrc in any::<u32>(),
        initial_sequence in any::<u16>(),
        initial_timestamp in any::<u32>(),
        runs in proptest::collection::vec(any_run(), 1..8),
    ) {
        let start = Instant::now();
        let mut clock_ms = 0u64;
        let mut rewriter = StreamRewriter::new(our_ssrc, initial_sequence, initial_timestamp);
        let mut out: Vec<(bool, RtpHeader)> = Vec::new();
        // None: nothing yet; Some(None): our frames; Some(Some(ssrc)): relayed.
        let mut previous_source: Option<Option<u32>> = None;
        let mut last_relayed: Option<(u16, u32)> = None;
        for run in &runs {
            match *run {
                Run::Relayed { ssrc, mut first_sequence, mut first_timestamp, packets, pause_ms } => {
                    clock_ms += pause_ms;
                    // The same source after a pause simply continues its own numbering,
                    // its timestamps covering the pause (discontinuous transmission).
                    if let (Some(Some(previous)), Some((sequence, timestamp))) =
                        (previous_source, last_relayed)
                        && previous == ssrc
                    {
                        first_sequence = sequence.wrapping_add(1);
                        first_timestamp = timestamp.wrapping_add(160 + 8 * pause_ms as u32);
                    }
                    for i in 0..packets {
                        let incoming = RtpHeader {
                            marker: false,
                            payload_type: 8,
                            sequence: first_sequence.wrapping_add(i),
                            timestamp: first_timestamp.wrapping_add(160 * u32::from(i)),
                            ssrc,
                        };
                        let now = start + Duration::from_millis(clock_ms);
                        let expect_marker = i == 0 && previous_source != Some(Some(ssrc));
                        out.push((expect_marker, rewriter.relay(&incoming, now)));
                        last_relayed = Some((incoming.sequence, incoming.timestamp));
                        clock_ms += 20;
                    }
                    previous_source = Some(Some(ssrc));
                }
                Run::Generated { frames, pause_ms } => {
                    clock_ms += pause_ms;
                    for i in 0..frames {
                        let now = start + Duration::from_millis(clock_ms);
                        let expect_marker = i == 0
                            && (previous_source != Some(None) || pause_ms > 60);
                        out.push((expect_marker, rewriter.generated(160, now)));
                        clock_ms += 20;
                    }
                    previous_source = Some(None);
                }
            }
        }
        prop_assert_eq!(out[0].1.sequence, initial_sequence);
        prop_assert_eq!(out[0].1.timestamp, initial_timestamp);
        for (i, (expect_marker, header)) in out.iter().enumerate() {
            prop_assert_eq!(header.ssrc, our_ssrc);
            prop_assert_eq!(header.marker, *expect_marker, "packet {}", i);
        }
        for pair in out.windows(2) {
            let (before, after) = (pair[0].1, pair[1].1);
            prop_assert_eq!(after.sequence, before.sequence.wrapping_add(1));
            let advance = after.timestamp.wrapping_sub(before.timestamp);
            prop_assert!((160..0x8000_0000).contains(&advance), "{:?} -> {:?}", before, after);
        }
    }
}
