//! The outgoing stream of one leg stays continuous while its source changes, on a
//! virtual clock.

use std::time::{Duration, Instant};

use hotline_media::{RtpHeader, StreamRewriter};

const OUR_SSRC: u32 = 0x1235_1001;
const AGENT_SSRC: u32 = 0xa9e7_0001;
const LAWYER_SSRC: u32 = 0x1a3e_0002;

fn ms(start: Instant, millis: u64) -> Instant {
    start + Duration::from_millis(millis)
}

fn from(ssrc: u32, sequence: u16, timestamp: u32) -> RtpHeader {
    RtpHeader {
        marker: false,
        payload_type: 8,
        sequence,
        timestamp,
        ssrc,
    }
}

/// Sends `count` packets of a relayed source at 20 ms spacing, from `first_ms`.
fn relay_run(
    rewriter: &mut StreamRewriter,
    start: Instant,
    first_ms: u64,
    ssrc: u32,
    (sequence, timestamp): (u16, u32),
    count: u16,
) -> Vec<RtpHeader> {
    (0..count)
        .map(|i| {
            let incoming = from(
                ssrc,
                sequence.wrapping_add(i),
                timestamp.wrapping_add(160 * u32::from(i)),
            );
            rewriter.relay(&incoming, ms(start, first_ms + 20 * u64::from(i)))
        })
        .collect()
}

fn assert_continuous(headers: &[RtpHeader]) {
    for pair in headers.windows(2) {
        assert_eq!(
            pair[1].sequence,
            pair[0].sequence.wrapping_add(1),
            "{pair:?}"
        );
        assert_eq!(
            pair[1].timestamp,
            pair[0].timestamp.wrapping_add(160),
            "{pair:?}"
        );
        assert!(!pair[1].marker, "{pair:?}");
    }
}

#[test]
fn prompt_then_agent_then_lawyer_is_one_continuous_stream() {
    let start = Instant::now();
    let mut rewriter = StreamRewriter::new(OUR_SSRC, 1000, 50_000);
    rewriter.set_generated_payload_type(8);

    // Greeting: 10 frames we produce, 0..180 ms.
    let prompt: Vec<RtpHeader> = (0..10)
        .map(|i| rewriter.generated(160, ms(start, 20 * i)))
        .collect();
    assert!(prompt[0].marker, "the stream starts with a marked packet");
    assert_eq!((prompt[0].sequence, prompt[0].timestamp), (1000, 50_000));
    assert_continuous(&prompt);
    assert!(
        prompt
            .iter()
            .all(|h| h.payload_type == 8 && h.ssrc == OUR_SSRC)
    );

    // The agent answers; their first packet arrives 20 ms after our last frame.
    let agent = relay_run(
        &mut rewriter,
        start,
        200,
        AGENT_SSRC,
        (31_000, 7_777_777),
        50,
    );
    assert!(agent[0].marker, "a new source is marked");
    assert_eq!(agent[0].sequence, 1010);
    assert_eq!(agent[0].timestamp, 50_000 + 10 * 160);
    assert_continuous(&agent);
    assert!(agent.iter().all(|h| h.ssrc == OUR_SSRC));

    // Transfer to the lawyer; 1.5 s of nothing while the lawyer's phone answers.
    // The agent's last packet left at 1180 ms.
    let lawyer = relay_run(&mut rewriter, start, 2680, LAWYER_SSRC, (2, 400), 20);
    assert!(lawyer[0].marker);
    assert_eq!(lawyer[0].sequence, 1060);
    assert_eq!(
        lawyer[0].timestamp,
        agent[49].timestamp + 12_000,
        "1.5 s of wall time is 12 000 samples"
    );
    assert_continuous(&lawyer);
}

#[test]
fn the_incoming_marker_is_kept_and_payload_types_pass_through() {
    let start = Instant::now();
    let mut rewriter = StreamRewriter::new(OUR_SSRC, 0, 0);
    rewriter.relay(&from(AGENT_SSRC, 10, 1600), start);
    let mut talkspurt = from(AGENT_SSRC, 11, 4800);
    talkspurt.marker = true;
    talkspurt.payload_type = 0;
    let out = rewriter.relay(&talkspurt, ms(start, 400));
    assert!(out.marker);
    assert_eq!(out.payload_type, 0);
    assert_eq!(
        (out.sequence, out.timestamp),
        (1, 3200),
        "the source's silence gap is kept"
    );
}

#[test]
fn reordering_and_loss_within_a_source_stay_visible() {
    let start = Instant::now();
    let mut rewriter = StreamRewriter::new(OUR_SSRC, 500, 0);
    let arrivals = [100u16, 102, 101, 103, 106, 107];
    let out: Vec<RtpHeader> = arrivals
        .iter()
        .enumerate()
        .map(|(i, &sequence)| {
            let timestamp = 8000 + 160 * u32::from(sequence - 100);
            rewriter.relay(
                &from(AGENT_SSRC, sequence, timestamp),
                ms(start, 20 * i as u64),
            )
        })
        .collect();
    let sequences: Vec<u16> = out.iter().map(|h| h.sequence).collect();
    assert_eq!(sequences, [500, 502, 501, 503, 506, 507]);
    let timestamps: Vec<u32> = out.iter().map(|h| h.timestamp).collect();
    assert_eq!(timestamps, [0, 320, 160, 480, 960, 1120]);

    // The late packet did not move the stream backwards: hold music continues
    // after the highest number sent, 60 ms of wall time after the newest frame.
    let music = rewriter.generated(160, ms(start, 160));
    assert!(music.marker);
    assert_eq!(music.sequence, 508);
    assert_eq!(music.timestamp, 1120 + 480);
}

#[test]
fn a_change_soon_after_the_last_packet_still_advances_one_frame() {
    let start = Instant::now();
    let mut rewriter = StreamRewriter::new(OUR_SSRC, 0, 0);
    let prompt = rewriter.generated(160, start);
    let agent = rewriter.relay(&from(AGENT_SSRC, 9, 9), ms(start, 1));
    assert_eq!(agent.timestamp, prompt.timestamp + 160);
    // Our frames may be longer than 20 ms; the next source starts after the whole frame.
    let long = rewriter.generated(480, ms(start, 2));
    let lawyer = rewriter.relay(&from(LAWYER_SSRC, 1, 1), ms(start, 3));
    assert_eq!(lawyer.timestamp, long.timestamp + 480);
    // A clock that goes backwards counts as no time at all.
    let back = rewriter.relay(&from(AGENT_SSRC, 50, 50), start);
    assert_eq!(back.timestamp, lawyer.timestamp + 160);
    assert_eq!(back.sequence, lawyer.sequence + 1);
}

#[test]
fn our_frames_follow_the_sample_count_not_timer_jitter() {
    let start = Instant::now();
    let mut rewriter = StreamRewriter::new(OUR_SSRC, 0, 0);
    // The driver's timer fires a little early and late; the media clock must not care.
    let jittery_ms = [0u64, 19, 41, 60, 79, 103, 120];
    let frames: Vec<RtpHeader> = jittery_ms
        .iter()
        .map(|&t| rewriter.generated(160, ms(start, t)))
        .collect();
    assert_continuous(&frames);

    // A real pause (the prompt ended, the next starts 2 s later) is a new talkspurt.
    let next = rewriter.generated(160, ms(start, 2120));
    assert!(next.marker);
    assert_eq!(next.sequence, 7);
    assert_eq!(next.timestamp, frames[6].timestamp + 16_000);
}

#[test]
fn sequence_numbers_and_timestamps_wrap() {
    let start = Instant::now();
    let mut rewriter = StreamRewriter::new(OUR_SSRC, u16::MAX - 1, u32::MAX - 200);
    let prompt: Vec<RtpHeader> = (0..4)
        .map(|i| rewriter.generated(160, ms(start, 20 * i)))
        .collect();
    assert_continuous(&prompt);
    assert_eq!(prompt[3].sequence, 1);
    assert_eq!(prompt[3].timestamp, (u32::MAX - 200).wrapping_add(480));

    // A source whose own numbers wrap while we are relaying it.
    let agent = relay_run(
        &mut rewriter,
        start,
        80,
        AGENT_SSRC,
        (u16::MAX - 2, u32::MAX - 320),
        6,
    );
    assert!(agent[0].marker);
    assert_eq!(agent[0].sequence, 2);
    assert_eq!(agent[0].timestamp, prompt[3].timestamp.wrapping_add(160));
    assert_continuous(&agent);

    // Reordering across the source's wrap point is still just reordering.
    let late = rewriter.relay(&from(AGENT_SSRC, u16::MAX, u32::MAX), ms(start, 200));
    assert_eq!(late.sequence, agent[2].sequence);
    assert_eq!(late.timestamp, agent[2].timestamp);
    let music = rewriter.generated(160, ms(start, 200));
    assert_eq!(music.sequence, agent[5].sequence.wrapping_add(1));
}

#[test]
fn returning_to_an_earlier_source_is_a_new_change() {
    let start = Instant::now();
    let mut rewriter = StreamRewriter::new(OUR_SSRC, 0, 0);
    let agent = relay_run(&mut rewriter, start, 0, AGENT_SSRC, (10, 1000), 5);
    // Consultation hold: music for 1 s, then the same agent again.
    let music: Vec<RtpHeader> = (0..50)
        .map(|i| rewriter.generated(160, ms(start, 100 + 20 * i)))
        .collect();
    assert!(music[0].marker);
    assert_eq!(music[0].sequence, agent[4].sequence + 1);
    let back = relay_run(&mut rewriter, start, 1100, AGENT_SSRC, (15, 1800), 3);
    assert!(back[0].marker);
    assert_eq!(back[0].sequence, music[49].sequence + 1);
    assert_eq!(back[0].timestamp, music[49].timestamp + 160);
    assert_continuous(&back);
}
