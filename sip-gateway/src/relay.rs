//! The media of one call: a task owning the call's RTP sockets.
//!
//! A call has up to [`MAX_LEGS`] legs: slot 0 is the caller (the trunk leg), the other
//! slots are agents and lawyers (the answering leg, and during an attended transfer a
//! consultation leg). What each leg hears is set by the signalling core with
//! [`MediaCommand`]s: the caller hears prompts, hold music, or the leg bridged to it;
//! two bridged legs hear each other. Every leg has its own [`StreamRewriter`], so what
//! leaves towards a leg is one continuous RTP stream (our SSRC, sequence and timestamp
//! without jumps) whatever its source, which keeps the peer's jitter buffer happy when
//! the caller moves from a prompt to an agent to a lawyer.
//!
//! The recording is written here: left the caller, right what the caller hears (the
//! prompts, then the agent, then the lawyer), under one file for the whole call.
//!
//! A leg only needs "packets in, packets out" of G.711 audio, so a WebRTC leg can take
//! a slot later by bringing its own socket type: queues, IVR and recording never see
//! the difference.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hotline_media::dtmf::DtmfDetector;
use hotline_media::g711::G711;
use hotline_media::prompt::{Prompt, PromptPlayer};
use hotline_media::recording::{Channel, RecordingSummary, StereoRecorder};
use hotline_media::rewrite::StreamRewriter;
use hotline_media::rtp::{RtpHeader, is_rtcp, parse_rtp, write_rtp};
use hotline_webrtc::{IceCredentials, Received, RemoteParameters, TransportState, WebRtcTransport};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

/// Packet counters of every media task in the process, for benchmarks and the
/// supervisor wall: datagrams received on any leg (RTP, and on a WebRTC leg also STUN
/// and DTLS), datagrams sent (relayed, generated, or a WebRTC leg's STUN and DTLS),
/// sends the socket refused (a full buffer: loss inside the gateway).
pub struct MediaCounters {
    pub received: AtomicU64,
    pub sent: AtomicU64,
    pub send_failed: AtomicU64,
    pub active_calls: AtomicU64,
}

pub static COUNTERS: MediaCounters = MediaCounters {
    received: AtomicU64::new(0),
    sent: AtomicU64::new(0),
    send_failed: AtomicU64::new(0),
    active_calls: AtomicU64::new(0),
};

fn count_send(result: std::io::Result<usize>) {
    match result {
        Ok(_) => COUNTERS.sent.fetch_add(1, Ordering::Relaxed),
        Err(_) => COUNTERS.send_failed.fetch_add(1, Ordering::Relaxed),
    };
}

/// Caller, answering leg, consultation leg.
pub const MAX_LEGS: usize = 3;
pub const CALLER: usize = 0;
const FRAME: Duration = Duration::from_millis(20);
const FRAME_SAMPLES: usize = 160;

/// How to talk to one leg, from the SDP negotiation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LegMedia {
    pub remote: SocketAddr,
    pub codec: G711,
    pub telephone_event: Option<u8>,
}

#[derive(Debug)]
pub enum MediaCommand {
    /// Opens a leg on a socket the core bound (it needed the port for the SDP).
    /// `media` is `None` until the peer's SDP answer arrives.
    AddLeg {
        slot: usize,
        socket: std::net::UdpSocket,
        media: Option<LegMedia>,
        /// A browser's leg: the transport whose ICE and DTLS parameters went into the
        /// SDP offer.
        webrtc: Option<Box<WebRtcTransport>>,
    },
    SetMedia {
        slot: usize,
        media: LegMedia,
        /// The browser's ICE and DTLS parameters from its SDP answer.
        webrtc: Option<RemoteParameters>,
    },
    /// A browser restarted ICE in a re-INVITE (its network changed or dropped): our
    /// new credentials went into the answer; DTLS and SRTP carry on.
    RestartIce {
        slot: usize,
        local: IceCredentials,
        remote: IceCredentials,
        candidates: Vec<SocketAddr>,
    },
    RemoveLeg {
        slot: usize,
    },
    /// The caller hears these prompts in order, then hold music if `then_music`;
    /// the caller is unbridged.
    Play {
        prompts: Vec<Prompt>,
        then_music: bool,
    },
    /// Legs `a` and `b` hear each other.
    Bridge {
        a: usize,
        b: usize,
    },
    /// Leg `slot` hears hold music (an agent while consulting a lawyer… or the caller).
    Hold {
        slot: usize,
    },
    /// Finishes the recording and ends the task.
    Stop,
}

#[derive(Debug)]
pub enum MediaEvent {
    Digit(char),
    PromptsFinished,
    Recorded(Result<RecordingSummary, String>),
    /// No RTP from the caller for a long time: the trunk leg is probably dead.
    CallerSilent,
}

/// What the core needs to talk to a running call's media.
#[derive(Debug, Clone)]
pub struct MediaHandle {
    commands: mpsc::UnboundedSender<MediaCommand>,
}

impl MediaHandle {
    pub fn send(&self, command: MediaCommand) {
        // The task only ends after Stop; a send after that has nothing left to do.
        let _ = self.commands.send(command);
    }
}

/// Everything the media task needs at start.
pub struct MediaSetup {
    pub call: u64,
    pub recording: Option<PathBuf>,
    pub hold_music: Prompt,
    pub caller_silence_timeout: Duration,
}

/// Starts the task. Events come back tagged with the call number.
pub fn spawn(setup: MediaSetup, events: mpsc::UnboundedSender<(u64, MediaEvent)>) -> MediaHandle {
    let (commands, receiver) = mpsc::unbounded_channel();
    tokio::spawn(run(setup, receiver, events));
    MediaHandle { commands }
}

/// How a leg's packets travel. Everything above this type (bridging, prompts, DTMF,
/// recording) sees plain RTP: a WebRTC leg decrypts SRTP on the way in and encrypts
/// on the way out, and nothing else in the call changes.
enum LegTransport {
    /// Plain RTP over UDP (trunk, desk phones, SIP softphones).
    Rtp(UdpSocket),
    /// A browser: ICE-lite, DTLS-SRTP, on one UDP socket (RTP and RTCP multiplexed).
    WebRtc(Box<WebRtcLeg>),
}

struct WebRtcLeg {
    socket: UdpSocket,
    transport: WebRtcTransport,
    /// Reused for every packet we encrypt.
    sealed: Vec<u8>,
    failure_reported: bool,
}

impl WebRtcLeg {
    /// Sends what the transport has queued: connectivity-check answers, DTLS flights.
    /// They count as sent like media, since the checks they answer count as received:
    /// otherwise every consent check would look like a packet lost inside the relay.
    fn flush(&mut self) {
        while let Some((to, datagram)) = self.transport.poll_transmit() {
            count_send(self.socket.try_send_to(&datagram, to));
        }
    }
}

impl LegTransport {
    /// The leg's socket. Waiting for a packet borrows only the socket, never the
    /// WebRTC state, which is not `Sync`.
    fn socket(&self) -> &UdpSocket {
        match self {
            LegTransport::Rtp(socket) => socket,
            LegTransport::WebRtc(webrtc) => &webrtc.socket,
        }
    }

    /// Never waits: a full socket buffer drops the packet, as the network would.
    /// `to` is the SDP's (or the latched) address; a WebRTC leg sends where ICE chose.
    fn send(&mut self, packet: &[u8], to: SocketAddr) {
        match self {
            LegTransport::Rtp(socket) => count_send(socket.try_send_to(packet, to)),
            LegTransport::WebRtc(webrtc) => {
                let WebRtcLeg {
                    socket,
                    transport,
                    sealed,
                    ..
                } = webrtc.as_mut();
                // Until DTLS is done there are no keys: the packet is dropped, as a
                // plain leg's packets are before its peer's first one arrives.
                if let Some(to) = transport.protect_rtp(packet, sealed) {
                    count_send(socket.try_send_to(sealed, to));
                }
            }
        }
    }
}

struct Leg {
    transport: LegTransport,
    media: Option<LegMedia>,
    latched: bool,
    rewriter: StreamRewriter,
    last_received: Instant,
}

/// What a leg hears.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Silence,
    Prompts,
    Music,
    Leg(usize),
}

struct Session {
    call: u64,
    legs: [Option<Leg>; MAX_LEGS],
    hears: [Source; MAX_LEGS],
    player: Option<PromptPlayer>,
    then_music: bool,
    music: PromptPlayer,
    hold_music: Prompt,
    dtmf: DtmfDetector,
    recorder: Option<StereoRecorder>,
    recording_failed: Option<String>,
    events: mpsc::UnboundedSender<(u64, MediaEvent)>,
    ticks_done: u64,
    started: Instant,
    silence_timeout: Duration,
    silence_reported: bool,
    scratch_pcm: Vec<i16>,
    scratch_payload: Vec<u8>,
    scratch_packet: Vec<u8>,
    /// A WebRTC leg's decrypted packet, while the rest of the session handles it.
    scratch_decrypted: Vec<u8>,
}

async fn run(
    setup: MediaSetup,
    mut commands: mpsc::UnboundedReceiver<MediaCommand>,
    events: mpsc::UnboundedSender<(u64, MediaEvent)>,
) {
    let now = Instant::now();
    let (recorder, recording_failed) = match &setup.recording {
        Some(path) => match StereoRecorder::create(path) {
            Ok(recorder) => (Some(recorder), None),
            Err(error) => {
                tracing::error!(call = setup.call, path = %path.display(), %error, "cannot record");
                (None, Some(error.to_string()))
            }
        },
        None => (None, None),
    };
    let mut session = Session {
        call: setup.call,
        legs: [None, None, None],
        hears: [Source::Silence; MAX_LEGS],
        player: None,
        then_music: false,
        music: PromptPlayer::new(setup.hold_music.clone()).looping(true),
        hold_music: setup.hold_music,
        dtmf: DtmfDetector::default(),
        recorder,
        recording_failed,
        events,
        ticks_done: 0,
        started: now,
        silence_timeout: setup.caller_silence_timeout,
        silence_reported: false,
        scratch_pcm: Vec::with_capacity(FRAME_SAMPLES * 2),
        scratch_payload: Vec::with_capacity(FRAME_SAMPLES * 2),
        scratch_packet: Vec::with_capacity(256),
        scratch_decrypted: Vec::with_capacity(256),
    };
    COUNTERS.active_calls.fetch_add(1, Ordering::Relaxed);
    let mut buffers = [[0u8; 1500]; MAX_LEGS];
    let mut paced = true;
    let mut ticker = new_ticker(paced);
    loop {
        let [b0, b1, b2] = &mut buffers;
        let webrtc_deadline = session.next_webrtc_timer();
        tokio::select! {
            command = commands.recv() => {
                match command {
                    Some(MediaCommand::Stop) | None => break,
                    Some(command) => session.apply(command),
                }
            }
            _ = ticker.tick() => session.on_tick(Instant::now()),
            _ = sleep_until(webrtc_deadline) => session.on_webrtc_timers(Instant::now()),
            received = receive(session.legs[0].as_ref().map(|leg| leg.transport.socket()), b0) => {
                if let Some((len, source)) = received { session.on_datagram(0, len, source, b0); }
            }
            received = receive(session.legs[1].as_ref().map(|leg| leg.transport.socket()), b1) => {
                if let Some((len, source)) = received { session.on_datagram(1, len, source, b1); }
            }
            received = receive(session.legs[2].as_ref().map(|leg| leg.transport.socket()), b2) => {
                if let Some((len, source)) = received { session.on_datagram(2, len, source, b2); }
            }
        }
        // Prompts and music are paced frame by frame; a bridged call only needs the
        // recorder fed, which catches up several frames per wake-up. Fewer wake-ups
        // per call is what lets one core carry hundreds of calls.
        let needs_pacing = session.generates_audio();
        if needs_pacing != paced {
            paced = needs_pacing;
            ticker = new_ticker(paced);
        }
    }
    COUNTERS.active_calls.fetch_sub(1, Ordering::Relaxed);
    session.finish().await;
}

/// Every 20 ms while we generate audio, every 100 ms otherwise.
fn new_ticker(paced: bool) -> tokio::time::Interval {
    let period = if paced { FRAME } else { FRAME * 5 };
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker
}

/// Waits until `deadline`; forever when there is none.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
        None => std::future::pending().await,
    }
}

/// Waits for a packet on a leg's socket; never resolves for an empty slot.
async fn receive(socket: Option<&UdpSocket>, buffer: &mut [u8]) -> Option<(usize, SocketAddr)> {
    match socket {
        Some(socket) => socket.recv_from(buffer).await.ok(),
        None => std::future::pending().await,
    }
}

impl Session {
    fn emit(&self, event: MediaEvent) {
        let _ = self.events.send((self.call, event));
    }

    fn apply(&mut self, command: MediaCommand) {
        let now = Instant::now();
        match command {
            MediaCommand::AddLeg {
                slot,
                socket,
                media,
                webrtc,
            } => {
                let socket = match socket
                    .set_nonblocking(true)
                    .and_then(|()| UdpSocket::from_std(socket))
                {
                    Ok(socket) => socket,
                    Err(error) => {
                        tracing::error!(call = self.call, slot, %error, "cannot use an RTP socket");
                        return;
                    }
                };
                let ssrc = rand::random::<u32>();
                let transport = match webrtc {
                    None => LegTransport::Rtp(socket),
                    Some(transport) => LegTransport::WebRtc(Box::new(WebRtcLeg {
                        socket,
                        transport: *transport,
                        sealed: Vec::with_capacity(256),
                        failure_reported: false,
                    })),
                };
                self.legs[slot] = Some(Leg {
                    transport,
                    media,
                    latched: false,
                    rewriter: StreamRewriter::new(ssrc, rand::random(), rand::random()),
                    last_received: now,
                });
            }
            MediaCommand::SetMedia {
                slot,
                media,
                webrtc,
            } => {
                if let Some(leg) = &mut self.legs[slot] {
                    leg.media = Some(media);
                    leg.latched = false;
                    if let (LegTransport::WebRtc(leg), Some(remote)) = (&mut leg.transport, webrtc)
                    {
                        if let Err(error) = leg.transport.set_remote(remote, now) {
                            tracing::warn!(call = self.call, slot, %error, "browser's WebRTC parameters refused");
                        }
                        leg.flush();
                    }
                }
            }
            MediaCommand::RestartIce {
                slot,
                local,
                remote,
                candidates,
            } => {
                if let Some(Leg {
                    transport: LegTransport::WebRtc(leg),
                    ..
                }) = &mut self.legs[slot]
                {
                    leg.transport
                        .restart_ice_with(local, remote, candidates, now);
                    leg.flush();
                }
            }
            MediaCommand::RemoveLeg { slot } => {
                if let Some(Leg {
                    transport: LegTransport::WebRtc(webrtc),
                    ..
                }) = &mut self.legs[slot]
                {
                    // close_notify: the browser learns at once that the media is over.
                    webrtc.transport.close();
                    webrtc.flush();
                }
                self.legs[slot] = None;
                for hears in &mut self.hears {
                    if *hears == Source::Leg(slot) {
                        *hears = Source::Silence;
                    }
                }
                self.hears[slot] = Source::Silence;
            }
            MediaCommand::Play {
                prompts,
                then_music,
            } => {
                self.player = Some(PromptPlayer::sequence(prompts));
                self.then_music = then_music;
                self.unbridge(CALLER);
                self.hears[CALLER] = Source::Prompts;
            }
            MediaCommand::Bridge { a, b } => {
                self.unbridge(a);
                self.unbridge(b);
                self.hears[a] = Source::Leg(b);
                self.hears[b] = Source::Leg(a);
                if a == CALLER || b == CALLER {
                    self.player = None;
                }
            }
            MediaCommand::Hold { slot } => {
                self.unbridge(slot);
                if slot == CALLER {
                    self.player = None;
                }
                self.hears[slot] = Source::Music;
            }
            MediaCommand::Stop => {}
        }
    }

    /// The earliest timer of any WebRTC leg (DTLS retransmission, ICE consent).
    fn next_webrtc_timer(&self) -> Option<Instant> {
        self.legs
            .iter()
            .flatten()
            .filter_map(|leg| match &leg.transport {
                LegTransport::WebRtc(webrtc) => webrtc.transport.poll_timeout(),
                LegTransport::Rtp(_) => None,
            })
            .min()
    }

    fn on_webrtc_timers(&mut self, now: Instant) {
        for (slot, leg) in self.legs.iter_mut().enumerate() {
            let Some(Leg {
                transport: LegTransport::WebRtc(webrtc),
                ..
            }) = leg
            else {
                continue;
            };
            webrtc.transport.handle_timeout(now);
            webrtc.flush();
            if let TransportState::Failed(reason) = webrtc.transport.state()
                && !webrtc.failure_reported
            {
                // The browser stopped answering (network gone for longer than an ICE
                // restart can bridge): say so once; the SIP side decides the call.
                tracing::warn!(call = self.call, slot, reason = %reason, "browser media failed");
                webrtc.failure_reported = true;
            }
        }
    }

    /// Some leg hears prompts or music, produced here frame by frame.
    fn generates_audio(&self) -> bool {
        self.hears
            .iter()
            .any(|source| matches!(source, Source::Prompts | Source::Music))
    }

    /// Whoever was bridged to `slot` hears silence from now on.
    fn unbridge(&mut self, slot: usize) {
        if let Source::Leg(other) = self.hears[slot]
            && self.hears[other] == Source::Leg(slot)
        {
            self.hears[other] = Source::Silence;
        }
        self.hears[slot] = Source::Silence;
    }

    /// A datagram from a leg's socket: plain RTP, or for a WebRTC leg anything its
    /// transport demultiplexes (STUN, DTLS, SRTP), of which only decrypted RTP goes on.
    fn on_datagram(&mut self, slot: usize, len: usize, source: SocketAddr, buffer: &[u8]) {
        let now = Instant::now();
        COUNTERS.received.fetch_add(1, Ordering::Relaxed);
        let Some(leg) = self.legs[slot].as_mut() else {
            return;
        };
        let datagram = &buffer[..len];
        match &mut leg.transport {
            LegTransport::Rtp(_) => self.on_rtp(slot, source, datagram, now),
            LegTransport::WebRtc(webrtc) => {
                let mut plain = std::mem::take(&mut self.scratch_decrypted);
                plain.clear();
                if let Received::Rtp(packet) =
                    webrtc.transport.handle_datagram(now, source, datagram)
                {
                    plain.extend_from_slice(packet);
                }
                webrtc.flush();
                if !plain.is_empty() {
                    self.on_rtp(slot, source, &plain, now);
                }
                self.scratch_decrypted = plain;
            }
        }
    }

    fn on_rtp(&mut self, slot: usize, source: SocketAddr, datagram: &[u8], now: Instant) {
        if is_rtcp(datagram) {
            return;
        }
        let Ok(packet) = parse_rtp(datagram) else {
            return;
        };
        let Some(leg) = self.legs[slot].as_mut() else {
            return;
        };
        let Some(media) = leg.media.as_mut() else {
            return;
        };
        // Symmetric RTP (RFC 4961): send back to where the peer's packets come from,
        // which behind NAT is not the address in its SDP. Latch once per negotiation so
        // a stray packet from elsewhere cannot steal the stream later. A WebRTC leg
        // needs none of this: ICE chose the address, and SRTP authenticated the packet.
        if let LegTransport::Rtp(_) = leg.transport {
            if !leg.latched {
                media.remote = source;
                leg.latched = true;
            } else if media.remote != source {
                return;
            }
        }
        leg.last_received = now;
        let media = *media;
        if Some(packet.header.payload_type) == media.telephone_event {
            if slot == CALLER
                && let Some(digit) = self.dtmf.on_packet(packet.header.timestamp, packet.payload)
            {
                self.emit(MediaEvent::Digit(digit));
            }
            // Keys pressed on one side of a bridge reach the other, as over a plain
            // phone line (an agent's softphone pad, a caller answering a lawyer's
            // question). Events are never transcoded into audio: a leg that did not
            // negotiate telephone-event does not get them.
            for target in 0..MAX_LEGS {
                if self.hears[target] == Source::Leg(slot) {
                    self.forward_event(target, &packet.header, packet.payload, now);
                }
            }
            return;
        }
        if packet.header.payload_type != media.codec.payload_type() {
            return; // comfort noise and codecs we did not negotiate
        }
        self.scratch_pcm.clear();
        media.codec.decode(packet.payload, &mut self.scratch_pcm);
        if let Some(recorder) = &mut self.recorder {
            match slot {
                CALLER => recorder.push(Channel::Caller, &self.scratch_pcm),
                _ if self.hears[CALLER] == Source::Leg(slot) => {
                    recorder.push(Channel::Agent, &self.scratch_pcm)
                }
                _ => {}
            }
        }
        for target in 0..MAX_LEGS {
            if self.hears[target] != Source::Leg(slot) {
                continue;
            }
            self.forward(target, &packet.header, media.codec, packet.payload, now);
        }
    }

    /// Sends a packet's audio to `target`, transcoding (from `scratch_pcm`, the decoded
    /// payload) only when the two legs negotiated different codecs.
    fn forward(
        &mut self,
        target: usize,
        incoming: &RtpHeader,
        codec: G711,
        payload: &[u8],
        now: Instant,
    ) {
        let Some(leg) = self.legs[target].as_mut() else {
            return;
        };
        let Some(media) = leg.media else {
            return;
        };
        self.scratch_payload.clear();
        if media.codec == codec {
            self.scratch_payload.extend_from_slice(payload);
        } else {
            media
                .codec
                .encode(&self.scratch_pcm, &mut self.scratch_payload);
        }
        let mut header = leg.rewriter.relay(incoming, now);
        header.payload_type = media.codec.payload_type();
        write_rtp(&header, &self.scratch_payload, &mut self.scratch_packet);
        leg.transport.send(&self.scratch_packet, media.remote);
    }

    /// Relays an RFC 4733 event packet to `target` under the payload type that leg
    /// negotiated for events.
    fn forward_event(&mut self, target: usize, incoming: &RtpHeader, payload: &[u8], now: Instant) {
        let Some(leg) = self.legs[target].as_mut() else {
            return;
        };
        let Some(media) = leg.media else {
            return;
        };
        let Some(event_type) = media.telephone_event else {
            return;
        };
        let mut header = leg.rewriter.relay(incoming, now);
        header.payload_type = event_type;
        write_rtp(&header, payload, &mut self.scratch_packet);
        leg.transport.send(&self.scratch_packet, media.remote);
    }

    fn on_tick(&mut self, now: Instant) {
        // Work out how many 20 ms frames are due since the start, so a late wake-up
        // catches up instead of shortening the recording or the prompt.
        let due = (now.duration_since(self.started).as_millis() / FRAME.as_millis()) as u64;
        let frames = due.saturating_sub(self.ticks_done).min(10);
        self.ticks_done = due;
        for _ in 0..frames {
            self.generate_frame(now);
            // hound buffers its writes, so a tick is a memory copy and, now and then, a
            // write into the page cache: cheap enough for the media task.
            if let Some(recorder) = &mut self.recorder
                && let Err(error) = recorder.tick()
            {
                tracing::error!(call = self.call, %error, "recording stopped");
                self.recording_failed = Some(error.to_string());
                self.recorder = None;
            }
        }
        self.check_caller_silence(now);
    }

    /// Produces one frame for every leg that hears prompts or music.
    fn generate_frame(&mut self, now: Instant) {
        let mut prompt_frame = [0i16; FRAME_SAMPLES];
        let mut prompt_frame_ready = false;
        let mut music_frame = [0i16; FRAME_SAMPLES];
        let mut music_frame_ready = false;
        for slot in 0..MAX_LEGS {
            let frame = match self.hears[slot] {
                Source::Prompts => {
                    if !prompt_frame_ready {
                        let more = self
                            .player
                            .as_mut()
                            .is_some_and(|player| player.next_frame(&mut prompt_frame));
                        prompt_frame_ready = true;
                        if !more {
                            self.player = None;
                            self.hears[slot] = if self.then_music {
                                Source::Music
                            } else {
                                Source::Silence
                            };
                            self.emit(MediaEvent::PromptsFinished);
                        }
                    }
                    prompt_frame
                }
                Source::Music => {
                    if !music_frame_ready {
                        self.music.next_frame(&mut music_frame);
                        music_frame_ready = true;
                    }
                    music_frame
                }
                Source::Silence | Source::Leg(_) => continue,
            };
            if slot == CALLER
                && let Some(recorder) = &mut self.recorder
            {
                recorder.push(Channel::Agent, &frame);
            }
            self.send_generated(slot, &frame, now);
        }
        if !music_frame_ready && self.hears.iter().all(|h| *h != Source::Music) {
            // Restart the tune the next time someone is put on hold.
            self.music = PromptPlayer::new(self.hold_music.clone()).looping(true);
        }
    }

    fn send_generated(&mut self, slot: usize, frame: &[i16; FRAME_SAMPLES], now: Instant) {
        let Some(leg) = self.legs[slot].as_mut() else {
            return;
        };
        let Some(media) = leg.media else {
            return;
        };
        self.scratch_payload.clear();
        media.codec.encode(frame, &mut self.scratch_payload);
        let mut header = leg.rewriter.generated(FRAME_SAMPLES as u32, now);
        header.payload_type = media.codec.payload_type();
        write_rtp(&header, &self.scratch_payload, &mut self.scratch_packet);
        leg.transport.send(&self.scratch_packet, media.remote);
    }

    fn check_caller_silence(&mut self, now: Instant) {
        if self.silence_reported {
            return;
        }
        let Some(caller) = &self.legs[CALLER] else {
            return;
        };
        if caller.media.is_some() && now.duration_since(caller.last_received) > self.silence_timeout
        {
            self.silence_reported = true;
            self.emit(MediaEvent::CallerSilent);
        }
    }

    async fn finish(self) {
        let call = self.call;
        let events = self.events;
        let outcome = match (self.recorder, self.recording_failed) {
            (_, Some(error)) => Some(Err(error)),
            (Some(recorder), None) => {
                match tokio::task::spawn_blocking(move || recorder.finish()).await {
                    Ok(Ok(summary)) => Some(Ok(summary)),
                    Ok(Err(error)) => Some(Err(error.to_string())),
                    Err(error) => Some(Err(error.to_string())),
                }
            }
            (None, None) => None,
        };
        if let Some(outcome) = outcome {
            let _ = events.send((call, MediaEvent::Recorded(outcome)));
        }
    }
}
