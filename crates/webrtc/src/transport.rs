//! One call leg's WebRTC media transport: ICE, then DTLS, then SRTP, demultiplexed on
//! one socket by the first byte of each datagram (RFC 7983).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Instant;

use bytes::BytesMut;

use crate::dtls::{DtlsEvent, DtlsFailure, DtlsRole, DtlsSession};
use crate::ice::{IceAgent, IceEvent, IceRole};
use crate::srtp::SrtpSession;
use crate::{
    DtlsIdentity, DtlsSetup, IceCredentials, LocalParameters, RemoteParameters, WebRtcError,
};

/// Which ICE agent this side runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The gateway: answers connectivity checks, never sends them (RFC 8445 §2.5).
    IceLite,
    /// A client: sends checks with USE-CANDIDATE. Used by tests and by a load
    /// generator that plays the browser.
    IceControlling,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransportState {
    /// Waiting for ICE nomination and the DTLS handshake.
    Checking,
    /// SRTP keyed and a pair selected: media flows.
    Connected,
    /// For good; the reason names what failed.
    Failed(String),
    /// Closed by us or by the peer's close_notify.
    Closed,
}

/// What a datagram carried for the application.
#[derive(Debug, PartialEq, Eq)]
pub enum Received<'a> {
    /// A decrypted RTP packet.
    Rtp(&'a [u8]),
    /// A decrypted RTCP compound packet.
    Rtcp(&'a [u8]),
    /// Nothing for the application (STUN, DTLS, or a datagram that was dropped).
    Nothing,
}

/// DTLS records a server may receive before the peer's SDP tells it its role (a
/// browser's ClientHello can overtake the SIP answer carrying its fingerprint).
const EARLY_DTLS_RECORDS: usize = 4;

pub struct WebRtcTransport {
    identity: DtlsIdentity,
    ice: IceAgent,
    dtls: Option<DtlsSession>,
    srtp: Option<SrtpSession>,
    state: TransportState,
    transmits: VecDeque<(SocketAddr, Vec<u8>)>,
    early_dtls: Vec<(SocketAddr, Vec<u8>)>,
    /// Where DTLS goes before a pair is selected: the last validated address that sent
    /// DTLS (a server answering a ClientHello that beat the nomination).
    dtls_peer: Option<SocketAddr>,
    decrypted: BytesMut,
    /// Datagrams dropped as unauthenticated, malformed or out of place.
    dropped: u64,
    /// The latest `now` seen, to stamp what `close` queues.
    now: Instant,
}

impl std::fmt::Debug for WebRtcTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebRtcTransport")
            .field("state", &self.state)
            .field("selected", &self.selected_address())
            .finish_non_exhaustive()
    }
}

impl WebRtcTransport {
    pub fn new(identity: &DtlsIdentity, role: Role, now: Instant) -> Self {
        let ice_role = match role {
            Role::IceLite => IceRole::Lite,
            Role::IceControlling => IceRole::Controlling,
        };
        WebRtcTransport {
            identity: identity.clone(),
            ice: IceAgent::new(ice_role),
            dtls: None,
            srtp: None,
            state: TransportState::Checking,
            transmits: VecDeque::new(),
            early_dtls: Vec::new(),
            dtls_peer: None,
            decrypted: BytesMut::with_capacity(1500),
            dropped: 0,
            now,
        }
    }

    /// What to put into our SDP. The gateway offers ActPass; answering an offer it
    /// says Passive. The ICE credentials are the current ones (new after a restart).
    pub fn local_parameters(&self, setup: DtlsSetup) -> LocalParameters {
        LocalParameters {
            ice: self.ice.local_credentials().clone(),
            fingerprint: self.identity.fingerprint().clone(),
            setup,
            ice_lite: self.ice_role() == IceRole::Lite,
        }
    }

    fn ice_role(&self) -> IceRole {
        self.ice.role()
    }

    /// From the peer's SDP. The DTLS role follows its a=setup: active makes us the
    /// server, passive the client, actpass (we answer) the server. Its certificate is
    /// checked against `remote.fingerprint` when the handshake ends.
    pub fn set_remote(
        &mut self,
        remote: RemoteParameters,
        now: Instant,
    ) -> Result<(), WebRtcError> {
        self.now = now;
        if self.dtls.is_some() {
            return Err(WebRtcError::InvalidState(
                "already set up; use restart_ice to change the ICE credentials",
            ));
        }
        if !matches!(self.state, TransportState::Checking) {
            return Err(WebRtcError::InvalidState("no longer checking"));
        }
        let role = match remote.setup {
            DtlsSetup::Active | DtlsSetup::ActPass => DtlsRole::Server,
            DtlsSetup::Passive => DtlsRole::Client,
        };
        let dtls = DtlsSession::new(&self.identity, role, remote.fingerprint)
            .map_err(WebRtcError::Dtls)?;
        self.dtls = Some(dtls);
        self.ice.set_remote(remote.ice, remote.candidates, now);
        if self.ice.selected().is_some() {
            self.start_dtls(now);
        }
        for (from, record) in std::mem::take(&mut self.early_dtls) {
            self.handle_dtls(now, from, &record);
        }
        self.handle_timeout(now);
        Ok(())
    }

    /// ICE restart (RFC 8445 §9): the peer's new credentials and candidates; returns
    /// ours for the SDP answer. DTLS and SRTP carry on; media moves to whichever
    /// address the next valid nomination comes from.
    pub fn restart_ice(
        &mut self,
        remote_ice: IceCredentials,
        candidates: Vec<SocketAddr>,
        now: Instant,
    ) -> IceCredentials {
        self.now = now;
        let local = self.ice.restart(remote_ice, candidates, now);
        self.handle_timeout(now);
        local
    }

    /// [`Self::restart_ice`] for an answerer whose new credentials were chosen before
    /// the transport sees the restart: the gateway's signalling writes them into its
    /// SDP answer while the transport lives in the call's media task.
    pub fn restart_ice_with(
        &mut self,
        local: IceCredentials,
        remote_ice: IceCredentials,
        candidates: Vec<SocketAddr>,
        now: Instant,
    ) {
        self.ice.prepare_restart_with(local);
        self.restart_ice(remote_ice, candidates, now);
    }

    /// For the side that offers an ICE restart (a browser, or a client playing one):
    /// the new local credentials for the offer. The current ones stay in force until
    /// [`Self::restart_ice`] is called with the answer's, which then keeps these.
    pub fn prepare_ice_restart(&mut self) -> IceCredentials {
        self.ice.prepare_restart()
    }

    /// Every datagram received on the leg's socket.
    pub fn handle_datagram(
        &mut self,
        now: Instant,
        from: SocketAddr,
        datagram: &[u8],
    ) -> Received<'_> {
        self.now = now;
        if matches!(
            self.state,
            TransportState::Failed(_) | TransportState::Closed
        ) {
            return Received::Nothing;
        }
        // RFC 7983 §7: 0-3 STUN, 20-63 DTLS, 128-191 RTP and RTCP.
        match datagram.first() {
            Some(0..=3) => self.handle_stun(now, from, datagram),
            Some(20..=63) => self.handle_dtls(now, from, datagram),
            Some(128..=191) => return self.handle_srtp(from, datagram),
            _ => self.dropped += 1,
        }
        Received::Nothing
    }

    fn handle_stun(&mut self, now: Instant, from: SocketAddr, datagram: &[u8]) {
        let crypto = self.identity.crypto().clone();
        match self
            .ice
            .handle_stun(now, from, datagram, crypto.crypto(), &mut self.transmits)
        {
            None => self.dropped += 1,
            Some(IceEvent::Nothing) => {}
            Some(IceEvent::Selected(_)) => {
                self.start_dtls(now);
                self.update_connected();
            }
        }
    }

    fn handle_dtls(&mut self, now: Instant, from: SocketAddr, record: &[u8]) {
        if !self.ice.is_validated(from) {
            self.dropped += 1;
            return;
        }
        let Some(dtls) = self.dtls.as_mut() else {
            if self.early_dtls.len() < EARLY_DTLS_RECORDS {
                self.early_dtls.push((from, record.to_vec()));
            } else {
                self.dropped += 1;
            }
            return;
        };
        self.dtls_peer = Some(from);
        match dtls.handle_datagram(now, record) {
            Ok(None) => {}
            Ok(Some(DtlsEvent::Connected(srtp))) => {
                self.srtp = Some(*srtp);
                self.update_connected();
            }
            Ok(Some(DtlsEvent::PeerClosed)) => {
                self.flush_dtls();
                self.shut_down(TransportState::Closed);
                return;
            }
            Err(DtlsFailure::Fatal(reason)) => {
                self.flush_dtls();
                self.shut_down(TransportState::Failed(reason));
                return;
            }
            // RFC 6347 §4.1.2.7: a record that cannot be used is discarded; if the
            // handshake never recovers, its retransmit limit fails the transport.
            Err(DtlsFailure::Discarded) => self.dropped += 1,
        }
        self.flush_dtls();
    }

    fn handle_srtp(&mut self, from: SocketAddr, datagram: &[u8]) -> Received<'_> {
        let Some(srtp) = self.srtp.as_mut().filter(|_| self.ice.is_validated(from)) else {
            self.dropped += 1;
            return Received::Nothing;
        };
        // RFC 5761 §4: RTCP packet types 192-223 sit where RTP has marker + payload type.
        let is_rtcp = datagram.len() >= 2 && (192..=223).contains(&datagram[1]);
        let plain = if is_rtcp {
            srtp.unprotect_rtcp(datagram)
        } else {
            srtp.unprotect_rtp(datagram)
        };
        let Some(plain) = plain else {
            self.dropped += 1;
            return Received::Nothing;
        };
        self.decrypted = plain;
        if is_rtcp {
            Received::Rtcp(&self.decrypted)
        } else {
            Received::Rtp(&self.decrypted)
        }
    }

    fn start_dtls(&mut self, now: Instant) {
        let Some(dtls) = self.dtls.as_mut() else {
            return;
        };
        if let Err(reason) = dtls.start(now) {
            self.shut_down(TransportState::Failed(reason));
            return;
        }
        self.flush_dtls();
    }

    fn flush_dtls(&mut self) {
        let Some(dtls) = self.dtls.as_mut() else {
            return;
        };
        let destination = self.ice.selected().or(self.dtls_peer);
        while let Some(record) = dtls.poll_transmit() {
            if let Some(destination) = destination {
                self.transmits.push_back((destination, record.to_vec()));
            }
        }
    }

    fn update_connected(&mut self) {
        if self.state == TransportState::Checking
            && self.srtp.is_some()
            && self.ice.selected().is_some()
        {
            self.state = TransportState::Connected;
        }
    }

    /// Encrypts one plain RTP packet into `out`; returns where to send it (the
    /// selected pair's remote address), or `None` until connected or if `rtp` is not
    /// an RTP packet.
    pub fn protect_rtp(&mut self, rtp: &[u8], out: &mut Vec<u8>) -> Option<SocketAddr> {
        self.protect(rtp, out, SrtpSession::protect_rtp)
    }

    /// Encrypts one plain RTCP compound packet into `out`, as [`Self::protect_rtp`].
    pub fn protect_rtcp(&mut self, rtcp: &[u8], out: &mut Vec<u8>) -> Option<SocketAddr> {
        self.protect(rtcp, out, SrtpSession::protect_rtcp)
    }

    fn protect(
        &mut self,
        plain: &[u8],
        out: &mut Vec<u8>,
        encrypt: fn(&mut SrtpSession, &[u8]) -> Option<BytesMut>,
    ) -> Option<SocketAddr> {
        if self.state != TransportState::Connected {
            return None;
        }
        let destination = self.ice.selected()?;
        let protected = encrypt(self.srtp.as_mut()?, plain)?;
        out.clear();
        out.extend_from_slice(&protected);
        Some(destination)
    }

    /// STUN answers and checks, DTLS flights, close_notify.
    pub fn poll_transmit(&mut self) -> Option<(SocketAddr, Vec<u8>)> {
        self.transmits.pop_front()
    }

    pub fn poll_timeout(&self) -> Option<Instant> {
        if matches!(
            self.state,
            TransportState::Failed(_) | TransportState::Closed
        ) {
            return None;
        }
        let dtls = self.dtls.as_ref().and_then(DtlsSession::poll_timeout);
        [self.ice.poll_timeout(), dtls].into_iter().flatten().min()
    }

    /// DTLS retransmits, the client's check pacing, and consent: no valid check (or
    /// answer, for a client) for 30 s fails the transport with "consent expired".
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        if matches!(
            self.state,
            TransportState::Failed(_) | TransportState::Closed
        ) {
            return;
        }
        if self.ice.consent_expired(now) {
            self.shut_down(TransportState::Failed("consent expired".to_owned()));
            return;
        }
        let crypto = self.identity.crypto().clone();
        self.ice
            .handle_timeout(now, crypto.crypto(), &mut self.transmits);
        if let Some(dtls) = self.dtls.as_mut()
            && let Err(reason) = dtls.handle_timeout(now)
        {
            self.shut_down(TransportState::Failed(reason));
            return;
        }
        self.flush_dtls();
    }

    pub fn state(&self) -> &TransportState {
        &self.state
    }

    /// The negotiated SRTP profile once connected, as RFC 5764 names it.
    pub fn srtp_profile(&self) -> Option<&'static str> {
        self.srtp.as_ref().map(SrtpSession::profile_name)
    }

    /// Where media goes now: the nominated pair's remote address.
    pub fn selected_address(&self) -> Option<SocketAddr> {
        self.ice.selected()
    }

    /// Datagrams dropped so far: failed authentication, malformed, or from an address
    /// that never passed a check.
    pub fn dropped_datagrams(&self) -> u64 {
        self.dropped
    }

    /// Sends DTLS close_notify (through `poll_transmit`) when connected, and frees the
    /// keys and the association.
    pub fn close(&mut self) {
        if matches!(
            self.state,
            TransportState::Failed(_) | TransportState::Closed
        ) {
            return;
        }
        if let Some(dtls) = self.dtls.as_mut() {
            dtls.close(self.now);
        }
        self.flush_dtls();
        self.shut_down(TransportState::Closed);
    }

    fn shut_down(&mut self, state: TransportState) {
        self.state = state;
        self.dtls = None;
        self.srtp = None;
        self.early_dtls = Vec::new();
        self.decrypted = BytesMut::new();
    }
}
