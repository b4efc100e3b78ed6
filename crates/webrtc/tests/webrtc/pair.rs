use std::net::SocketAddr;
use std::time::{Duration, Instant};

use hotline_webrtc::{
    DtlsIdentity, DtlsSetup, Fingerprint, Received, RemoteParameters, Role, TransportState,
    WebRtcTransport,
};

pub const LITE_ADDR: &str = "192.0.2.10:40000";
pub const CLIENT_ADDR: &str = "198.51.100.7:50000";

pub fn addr(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Lite,
    Client,
}

/// What a datagram in flight looks like to a loss filter.
pub struct InFlight<'a> {
    pub from_side: Side,
    pub bytes: &'a [u8],
}

pub struct Pair {
    pub now: Instant,
    pub lite: WebRtcTransport,
    pub client: WebRtcTransport,
    pub client_identity: DtlsIdentity,
    pub lite_addr: SocketAddr,
    /// Where the client sends from; a test moves it to play a network change.
    pub client_addr: SocketAddr,
    /// Returns false for datagrams the network loses.
    pub deliver: Box<dyn FnMut(&InFlight<'_>) -> bool>,
    pub lite_received: Vec<Packet>,
    pub client_received: Vec<Packet>,
    /// Every datagram the lite side sent, with its destination.
    pub lite_sent: Vec<(SocketAddr, Vec<u8>)>,
    pub client_sent: Vec<(SocketAddr, Vec<u8>)>,
    /// The client's answer while the lite side has not seen it.
    pub lite_pending_answer: Option<RemoteParameters>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Packet {
    Rtp(Vec<u8>),
    Rtcp(Vec<u8>),
}

impl Pair {
    /// The gateway offers actpass; the client answers with `client_setup` (Chromium
    /// says active) and runs the DTLS role that implies.
    pub fn new(client_setup: DtlsSetup) -> Pair {
        Pair::with_identities(
            client_setup,
            DtlsIdentity::generate().unwrap(),
            DtlsIdentity::generate().unwrap(),
        )
    }

    pub fn with_identities(
        client_setup: DtlsSetup,
        lite_identity: DtlsIdentity,
        client_identity: DtlsIdentity,
    ) -> Pair {
        Pair::build(client_setup, lite_identity, client_identity, None)
    }

    /// As [`Pair::with_identities`], but the client's SDP claims `claimed_fingerprint`.
    pub fn build(
        client_setup: DtlsSetup,
        lite_identity: DtlsIdentity,
        client_identity: DtlsIdentity,
        claimed_fingerprint: Option<Fingerprint>,
    ) -> Pair {
        Pair::assemble(
            client_setup,
            lite_identity,
            client_identity,
            claimed_fingerprint,
            true,
        )
    }

    fn assemble(
        client_setup: DtlsSetup,
        lite_identity: DtlsIdentity,
        client_identity: DtlsIdentity,
        claimed_fingerprint: Option<Fingerprint>,
        answer_now: bool,
    ) -> Pair {
        let now = Instant::now();
        let lite = WebRtcTransport::new(&lite_identity, Role::IceLite, now);
        let client = WebRtcTransport::new(&client_identity, Role::IceControlling, now);
        Pair {
            now,
            lite,
            client,
            client_identity,
            lite_addr: addr(LITE_ADDR),
            client_addr: addr(CLIENT_ADDR),
            deliver: Box::new(|_| true),
            lite_received: Vec::new(),
            client_received: Vec::new(),
            lite_sent: Vec::new(),
            client_sent: Vec::new(),
            lite_pending_answer: None,
        }
        .signalled(client_setup, claimed_fingerprint, answer_now)
    }

    /// The client has the gateway's offer and has answered, but the answer has not
    /// reached the gateway yet: its checks and DTLS may overtake the SIP 200 OK.
    pub fn with_answer_delayed(client_setup: DtlsSetup) -> Pair {
        Pair::assemble(
            client_setup,
            DtlsIdentity::generate().unwrap(),
            DtlsIdentity::generate().unwrap(),
            None,
            false,
        )
    }

    fn signalled(
        mut self,
        client_setup: DtlsSetup,
        claimed: Option<Fingerprint>,
        answer_now: bool,
    ) -> Pair {
        let offer = self.lite.local_parameters(DtlsSetup::ActPass);
        let mut answer = self.client.local_parameters(client_setup);
        if let Some(claimed) = claimed {
            answer.fingerprint = claimed;
        }
        let client_view_of_lite_setup = match client_setup {
            DtlsSetup::Active => DtlsSetup::Passive,
            _ => DtlsSetup::Active,
        };
        self.client
            .set_remote(
                RemoteParameters {
                    ice: offer.ice,
                    fingerprint: offer.fingerprint,
                    setup: client_view_of_lite_setup,
                    candidates: vec![self.lite_addr],
                },
                self.now,
            )
            .unwrap();
        self.lite_pending_answer = Some(RemoteParameters {
            ice: answer.ice,
            fingerprint: answer.fingerprint,
            setup: client_setup,
            candidates: vec![self.client_addr],
        });
        if answer_now {
            self.answer_reaches_lite();
        }
        self
    }

    /// Gives the lite side the client's answer (done by [`Pair::new`] unless a test
    /// took it away to let the media overtake the signalling).
    pub fn answer_reaches_lite(&mut self) {
        let answer = self
            .lite_pending_answer
            .take()
            .expect("answer not yet given");
        self.lite.set_remote(answer, self.now).unwrap();
    }

    /// Delivers what is queued, both ways, until nothing is.
    pub fn exchange(&mut self) {
        for _ in 0..1000 {
            let mut moved = false;
            while let Some((to, bytes)) = self.lite.poll_transmit() {
                moved = true;
                self.lite_sent.push((to, bytes.clone()));
                let flight = InFlight {
                    from_side: Side::Lite,
                    bytes: &bytes,
                };
                if to == self.client_addr && (self.deliver)(&flight) {
                    let received = self
                        .client
                        .handle_datagram(self.now, self.lite_addr, &bytes);
                    record(&mut self.client_received, received);
                }
            }
            while let Some((to, bytes)) = self.client.poll_transmit() {
                moved = true;
                self.client_sent.push((to, bytes.clone()));
                let flight = InFlight {
                    from_side: Side::Client,
                    bytes: &bytes,
                };
                if to == self.lite_addr && (self.deliver)(&flight) {
                    let received = self
                        .lite
                        .handle_datagram(self.now, self.client_addr, &bytes);
                    record(&mut self.lite_received, received);
                }
            }
            if !moved {
                return;
            }
        }
        panic!("the transports never went quiet");
    }

    /// Moves the clock to `now + step` firing every timer due on the way, delivering
    /// after each.
    pub fn advance(&mut self, step: Duration) {
        let until = self.now + step;
        loop {
            self.exchange();
            let next = [self.lite.poll_timeout(), self.client.poll_timeout()]
                .into_iter()
                .flatten()
                .min();
            match next {
                Some(next) if next <= until => {
                    self.now = self.now.max(next);
                    self.lite.handle_timeout(self.now);
                    self.client.handle_timeout(self.now);
                }
                _ => break,
            }
        }
        self.now = until;
        self.lite.handle_timeout(self.now);
        self.client.handle_timeout(self.now);
        self.exchange();
    }

    /// Runs until both sides are connected, or panics after `limit` of virtual time.
    pub fn connect(&mut self, limit: Duration) {
        let deadline = self.now + limit;
        while self.now < deadline {
            self.advance(Duration::from_millis(10));
            if *self.lite.state() == TransportState::Connected
                && *self.client.state() == TransportState::Connected
            {
                return;
            }
        }
        panic!(
            "not connected: lite {:?}, client {:?}",
            self.lite.state(),
            self.client.state()
        );
    }

    /// Protects `rtp` on one side and delivers it to the other.
    pub fn send_rtp(&mut self, from_side: Side, rtp: &[u8]) -> Option<SocketAddr> {
        let mut out = Vec::new();
        let (sender, destination) = match from_side {
            Side::Lite => (&mut self.lite, None),
            Side::Client => (&mut self.client, Some(self.lite_addr)),
        };
        let to = sender.protect_rtp(rtp, &mut out)?;
        if let Some(expected) = destination {
            assert_eq!(to, expected);
        }
        self.deliver_protected(from_side, &out);
        Some(to)
    }

    pub fn send_rtcp(&mut self, from_side: Side, rtcp: &[u8]) {
        let mut out = Vec::new();
        let sender = match from_side {
            Side::Lite => &mut self.lite,
            Side::Client => &mut self.client,
        };
        sender.protect_rtcp(rtcp, &mut out).expect("connected");
        self.deliver_protected(from_side, &out);
    }

    pub fn deliver_protected(&mut self, from_side: Side, bytes: &[u8]) {
        match from_side {
            Side::Lite => {
                let received = self.client.handle_datagram(self.now, self.lite_addr, bytes);
                record(&mut self.client_received, received);
            }
            Side::Client => {
                let received = self.lite.handle_datagram(self.now, self.client_addr, bytes);
                record(&mut self.lite_received, received);
            }
        }
    }
}

fn record(log: &mut Vec<Packet>, received: Received<'_>) {
    match received {
        Received::Rtp(bytes) => log.push(Packet::Rtp(bytes.to_vec())),
        Received::Rtcp(bytes) => log.push(Packet::Rtcp(bytes.to_vec())),
        Received::Nothing => {}
    }
}

/// A 172-byte PCMU packet: 12-byte header, 160 bytes of 20 ms audio.
pub fn pcmu_packet(sequence: u16, ssrc: u32) -> Vec<u8> {
    let mut packet = vec![0x80, 0x00];
    packet.extend_from_slice(&sequence.to_be_bytes());
    packet.extend_from_slice(&(u32::from(sequence) * 160).to_be_bytes());
    packet.extend_from_slice(&ssrc.to_be_bytes());
    packet.extend((0..160).map(|index| (index as u8).wrapping_mul(sequence as u8) ^ 0xFF));
    packet
}

/// An RTCP receiver report with one report block.
pub fn receiver_report(ssrc: u32) -> Vec<u8> {
    let mut packet = vec![0x81, 201, 0x00, 0x07];
    packet.extend_from_slice(&ssrc.to_be_bytes());
    packet.extend_from_slice(&0x5555_0001u32.to_be_bytes());
    packet.extend_from_slice(&[0u8; 20]);
    packet
}
