//! Sans-io media for the SIP gateway: RTP, G.711, RFC 4733 DTMF, stream rewriting,
//! IVR prompts and stereo call recording.
//!
//! # Shape
//!
//! Nothing in this crate opens a socket, spawns a task, sleeps or reads the clock.
//! Functions take datagrams, payloads or samples and, where time matters, a
//! `now: std::time::Instant` or a sample count supplied by the caller. The gateway's
//! media tasks (tokio, in `sip-gateway`) own the UDP sockets and the 20 ms timers and
//! drive these types; tests drive them the same way on a virtual clock
//! (`start + Duration`), so a minute of call runs in microseconds.
//!
//! The one exception to "no I/O" is deliberate and contained: [`Prompt::load_wav`]
//! reads a file at start-up, and [`StereoRecorder`] writes the recording file through
//! a buffer. Both are blocking; the gateway runs them off the async runtime.
//!
//! The pieces, in the order a packet meets them:
//!
//! - [`rtp`]: [`parse_rtp`] and [`write_rtp`] (RFC 3550), and [`is_rtcp`] to let RTCP
//!   on a multiplexed port (RFC 5761) pass by.
//! - [`dtmf`]: telephone-event payloads (RFC 4733). [`DtmfDetector`] turns the
//!   redundant packets of a key press into one digit, reported on the first packet
//!   so the IVR can cut its prompt at once; [`DtmfSender`] produces the packets.
//! - [`g711`]: μ-law and A-law, and the [`G711`] payload formats (PCMU 0, PCMA 8).
//!   Decoded audio feeds the recorder; prompts are encoded on the way out.
//! - [`rewrite`]: [`StreamRewriter`] gives each outgoing leg one continuous stream
//!   (one SSRC, continuing sequence numbers and timestamps, marker bit on a change)
//!   while its source changes from prompt to hold music to agent to lawyer.
//! - [`prompt`]: [`Prompt`] (8 kHz mono audio shared between calls) and
//!   [`PromptPlayer`], which cuts a prompt or a gapless sequence of prompts into
//!   20 ms frames, optionally looping.
//! - [`recording`]: [`StereoRecorder`], caller left and agent right, aligned by the
//!   driver's tick rather than by packet arrival, finished with a SHA-256 of the file.
//! - [`tone`]: sine generation, Goertzel tone detection for tests, and the
//!   synthesised hold music.
//!
//! # Example: a caller's key press reaches the IVR, the prompt is cut
//!
//! ```
//! use std::time::Instant;
//! use hotline_media::{
//!     DtmfDetector, DtmfSender, FRAME_SAMPLES, G711, Prompt, PromptPlayer, RtpHeader,
//!     StreamRewriter, parse_rtp, write_rtp,
//! };
//!
//! let start = Instant::now();
//! let menu = Prompt::from_samples("menu", vec![1000; 8000]);
//! let mut player = PromptPlayer::new(menu);
//! let mut outgoing = StreamRewriter::new(0x1235_1000, 4000, 160_000);
//! outgoing.set_generated_payload_type(G711::Pcma.payload_type());
//!
//! // Every 20 ms the driver sends the next prompt frame to the caller.
//! let (mut frame, mut payload, mut datagram) = ([0i16; FRAME_SAMPLES], Vec::new(), Vec::new());
//! assert!(player.next_frame(&mut frame));
//! let header = outgoing.generated(FRAME_SAMPLES as u32, start);
//! G711::Pcma.encode(&frame, &mut payload);
//! write_rtp(&header, &payload, &mut datagram);
//! assert_eq!(datagram.len(), 12 + 160);
//!
//! // The caller presses 2: its phone sends RFC 4733 packets with payload type 101.
//! let mut detector = DtmfDetector::new();
//! let mut pressed = Vec::new();
//! for packet in DtmfSender::default().packets('2')? {
//!     let header = RtpHeader { marker: packet.marker, payload_type: 101, sequence: 7,
//!                              timestamp: 48_000, ssrc: 0xcafe };
//!     write_rtp(&header, &packet.payload(), &mut datagram);
//!     let received = parse_rtp(&datagram)?;
//!     pressed.extend(detector.on_packet(received.header.timestamp, received.payload));
//! }
//! assert_eq!(pressed, ['2']); // once, although seven packets arrived
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Tests
//!
//! - Unit tests beside each module: G.711 for all 256 codes and all 65 536 samples,
//!   malformed RTP and telephone-event packets, prompt framing.
//! - `tests/rtp_properties.rs`: write then parse is the identity for any header and
//!   payload; the rewriter keeps any in-order mix of sources continuous.
//! - `tests/rewrite.rs`: prompt → agent → lawyer on a virtual clock, reordering and
//!   loss within a source, wraparound of sequence numbers and timestamps.
//! - `tests/wav_files.rs`: prompt files in wrong formats are refused with the rule;
//!   recordings put each tone in its channel, fill silence, bound their buffers and
//!   hash what is on disk.
//! - `tests/gateway_prompts.rs`: every WAV in `sip-gateway/prompts` loads.

pub mod dtmf;
pub mod g711;
pub mod prompt;
pub mod recording;
pub mod rewrite;
pub mod rtp;
pub mod tone;

pub use dtmf::{
    DtmfDetector, DtmfError, DtmfPacket, DtmfSender, TelephoneEvent, digit_to_event,
    event_to_digit, parse_telephone_event, write_telephone_event,
};
pub use g711::{G711, alaw_decode, alaw_encode, ulaw_decode, ulaw_encode};
pub use prompt::{FRAME_SAMPLES, Prompt, PromptError, PromptPlayer, SAMPLE_RATE};
pub use recording::{Channel, RecordingError, RecordingSummary, StereoRecorder};
pub use rewrite::StreamRewriter;
pub use rtp::{RtpError, RtpHeader, RtpPacket, is_rtcp, parse_rtp, write_rtp};
pub use tone::{dominant_tone, goertzel_power, hold_music, sine};
