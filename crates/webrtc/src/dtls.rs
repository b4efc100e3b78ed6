//! The DTLS association of a leg: rtc-dtls's sans-io endpoint with one connection.
//!
//! The endpoint keys connections by remote address; ICE can move the peer to another
//! address (consent, restart) while the association must stay, so, as webrtc-rs's
//! own peer connection does, every record goes to and comes from one fixed stand-in
//! address and the transport routes it to the selected pair.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::BytesMut;
use rtc_dtls::config::{ClientAuthType, ConfigBuilder, ExtendedMasterSecretType, HandshakeConfig};
use rtc_dtls::endpoint::{Endpoint, EndpointEvent};
use rtc_shared::TransportProtocol;

use crate::srtp::{SRTP_PROFILES, SrtpSession};
use crate::{DtlsIdentity, Fingerprint};

/// The stand-in peer address of the single association (never sent to).
const TUNNEL: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 65535);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DtlsRole {
    Client,
    Server,
}

pub(crate) enum DtlsEvent {
    /// Handshake done, peer certificate matched, SRTP keyed.
    Connected(Box<SrtpSession>),
    PeerClosed,
}

pub(crate) enum DtlsFailure {
    /// The association cannot go on: the peer's certificate was refused, or the peer
    /// sent a fatal alert.
    Fatal(String),
    /// The datagram was unusable and is dropped.
    Discarded,
}

pub(crate) struct DtlsSession {
    endpoint: Endpoint,
    role: DtlsRole,
    /// The client's configuration until it starts the handshake.
    client_config: Option<Arc<HandshakeConfig>>,
    identity: DtlsIdentity,
    /// Why the peer certificate was refused, set from inside rtc-dtls's verify
    /// callback, whose own error only says that verification failed.
    refusal: Arc<Mutex<Option<String>>>,
    connected: bool,
    /// The last discarded datagram's error, to explain a handshake that then times out.
    last_error: Option<String>,
}

impl DtlsSession {
    pub(crate) fn new(
        identity: &DtlsIdentity,
        role: DtlsRole,
        remote_fingerprint: Fingerprint,
    ) -> Result<DtlsSession, String> {
        let refusal = Arc::new(Mutex::new(None));
        let config = Arc::new(handshake_config(
            identity,
            role,
            remote_fingerprint,
            refusal.clone(),
        )?);
        let (server_config, client_config) = match role {
            DtlsRole::Server => (Some(config), None),
            DtlsRole::Client => (None, Some(config)),
        };
        Ok(DtlsSession {
            endpoint: Endpoint::new(TUNNEL, TransportProtocol::UDP, server_config),
            role,
            client_config,
            identity: identity.clone(),
            refusal,
            connected: false,
            last_error: None,
        })
    }

    /// Sends the ClientHello if we are the client and have not yet.
    pub(crate) fn start(&mut self, now: Instant) -> Result<(), String> {
        if let Some(config) = self.client_config.take() {
            self.endpoint
                .connect(now, TUNNEL, config, None)
                .map_err(|error| format!("DTLS start: {error}"))?;
        }
        Ok(())
    }

    pub(crate) fn handle_datagram(
        &mut self,
        now: Instant,
        datagram: &[u8],
    ) -> Result<Option<DtlsEvent>, DtlsFailure> {
        if self.role == DtlsRole::Client && self.client_config.is_some() {
            // Not started: nothing can be for us yet.
            return Ok(None);
        }
        if !well_framed(datagram) {
            return Err(DtlsFailure::Discarded);
        }
        let events = self
            .endpoint
            .read(now, TUNNEL, None, BytesMut::from(datagram))
            .map_err(|error| self.classify(error))?;
        let mut outcome = None;
        for event in events {
            match event {
                EndpointEvent::HandshakeComplete => {
                    let state = self.endpoint.get_connection_state(TUNNEL).ok_or_else(|| {
                        DtlsFailure::Fatal("DTLS association vanished".to_owned())
                    })?;
                    let srtp = SrtpSession::from_dtls(state, self.identity.crypto())
                        .map_err(DtlsFailure::Fatal)?;
                    self.connected = true;
                    outcome = Some(DtlsEvent::Connected(Box::new(srtp)));
                }
                EndpointEvent::PeerClosed => return Ok(Some(DtlsEvent::PeerClosed)),
                // WebRTC audio carries no data channel; stray application data is dropped.
                _ => {}
            }
        }
        Ok(outcome)
    }

    fn classify(&mut self, error: rtc_shared::error::Error) -> DtlsFailure {
        if let Some(refusal) = self.refusal.lock().ok().and_then(|refusal| refusal.clone()) {
            return DtlsFailure::Fatal(refusal);
        }
        if matches!(error, rtc_shared::error::Error::ErrAlertFatalOrClose) {
            // Either the peer's fatal alert, or ours in answer to a record rtc-dtls
            // could not take; the handshake is over either way.
            return DtlsFailure::Fatal("DTLS handshake aborted by a fatal alert".to_owned());
        }
        if self.connected {
            // Established: rtc-dtls reports stray or forged records, which change nothing.
            return DtlsFailure::Discarded;
        }
        self.last_error = Some(error.to_string());
        DtlsFailure::Discarded
    }

    pub(crate) fn poll_transmit(&mut self) -> Option<BytesMut> {
        self.endpoint
            .poll_transmit()
            .map(|transmit| transmit.message)
    }

    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.endpoint.poll_timeout(&TUNNEL)
    }

    pub(crate) fn handle_timeout(&mut self, now: Instant) -> Result<(), String> {
        match self.endpoint.handle_timeout(TUNNEL, now) {
            Ok(()) => Ok(()),
            // No association yet (a server waiting for its ClientHello): nothing to do.
            Err(rtc_shared::error::Error::InvalidRemoteAddress(_)) => Ok(()),
            Err(error) => Err(match &self.last_error {
                Some(earlier) => format!("DTLS handshake: {error} (after: {earlier})"),
                None => format!("DTLS handshake: {error}"),
            }),
        }
    }

    /// Queues close_notify when the association is up; drops it either way.
    pub(crate) fn close(&mut self, now: Instant) {
        if self.connected {
            let _ = self.endpoint.close(now);
        }
        self.connected = false;
    }
}

/// Whether a datagram is a sequence of whole DTLS 1.0/1.2 records (RFC 6347 §4.1).
/// rtc-dtls answers a record it cannot decode with a fatal alert, which would end a
/// handshake in progress; a datagram that is not even framed is discarded before it
/// gets there, as RFC 6347 §4.1.2.7 asks.
fn well_framed(mut datagram: &[u8]) -> bool {
    const HEADER: usize = 13;
    if datagram.is_empty() {
        return false;
    }
    while !datagram.is_empty() {
        if datagram.len() < HEADER
            || !(20..=23).contains(&datagram[0])
            || datagram[1] != 0xFE
            || !matches!(datagram[2], 0xFD | 0xFF)
        {
            return false;
        }
        let length = usize::from(u16::from_be_bytes([datagram[11], datagram[12]]));
        let Some(rest) = datagram.get(HEADER + length..) else {
            return false;
        };
        datagram = rest;
    }
    true
}

fn handshake_config(
    identity: &DtlsIdentity,
    role: DtlsRole,
    remote_fingerprint: Fingerprint,
    refusal: Arc<Mutex<Option<String>>>,
) -> Result<HandshakeConfig, String> {
    let crypto = identity.crypto().clone();
    let verify_crypto = crypto.clone();
    // The certificate is self-signed: what authenticates it is the fingerprint the
    // signalling carried (RFC 8122 §5), so chain checks are off and this is the check.
    let verify = Arc::new(
        move |certificates: &[Vec<u8>],
              _chains: &[rustls_pki_types::CertificateDer<'static>]|
              -> Result<(), rtc_shared::error::Error> {
            let matches = certificates
                .first()
                .is_some_and(|der| remote_fingerprint.matches(der, verify_crypto.as_ref()));
            if matches {
                return Ok(());
            }
            let reason =
                format!("peer certificate does not match a=fingerprint:{remote_fingerprint}");
            if let Ok(mut slot) = refusal.lock() {
                *slot = Some(reason.clone());
            }
            Err(rtc_shared::error::Error::Other(reason))
        },
    );
    ConfigBuilder::default()
        .with_crypto_provider(crypto)
        .with_certificates(vec![identity.certificate().clone()])
        .with_srtp_protection_profiles(SRTP_PROFILES.to_vec())
        .with_client_auth(ClientAuthType::RequireAnyClientCert)
        .with_insecure_skip_verify(true)
        .with_verify_peer_certificate(Some(verify))
        .with_extended_master_secret(ExtendedMasterSecretType::Require)
        .build(role == DtlsRole::Client, None)
        .map_err(|error| format!("DTLS configuration: {error}"))
}
