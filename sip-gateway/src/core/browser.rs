//! Browser softphones' side of the signalling: agents and lawyers registered over
//! SIP over WebSocket get a WebRTC offer (ICE-lite, DTLS-SRTP, the same G.711 codecs
//! as any softphone), and their ICE restarts are answered.
//!
//! The media task does the ICE, DTLS and SRTP work on the leg's socket; the core only
//! puts parameters into SDP and hands the browser's to the media task. Everything else
//! about the leg (ringing, answer, transfer, hang-up) is the same as for a desk phone.

use std::net::SocketAddr;
use std::time::Instant;

use hotline_webrtc::{
    DtlsSetup, IceCredentials, LocalParameters, RemoteParameters, Role, WebRtcError,
    WebRtcTransport, add_local_parameters, is_webrtc, remote_parameters,
};
use sip_proto::sdp::{AudioCodec, AudioConfig, SessionDescription, create_answer, create_offer};

use super::{CallKey, Core};
use crate::relay::MediaCommand;
use crate::transport::Peer;

/// What the core keeps about a browser leg's WebRTC signalling.
pub(crate) struct BrowserMedia {
    /// The audio part of our SDP, to answer re-INVITEs with.
    audio: AudioConfig,
    /// Our ICE credentials and certificate fingerprint as last sent.
    local: LocalParameters,
    /// The browser's ICE username fragment: a new one in a re-INVITE is an ICE restart.
    remote_ufrag: Option<String>,
    /// Our DTLS role once the browser answered: it says active, we are passive.
    our_setup: DtlsSetup,
    /// The codec the browser chose from our offer.
    codec: Option<AudioCodec>,
}

/// Whether a softphone is a browser, to be offered WebRTC: it reaches us over
/// WebSocket and registered with the `+sip.ice` feature tag, as JsSIP and SIP.js do.
/// A WebSocket phone without it gets plain RTP, like any softphone.
pub(super) fn is_browser(peer: Peer, registered_with_ice: bool) -> bool {
    matches!(peer, Peer::Ws { .. }) && registered_with_ice
}

impl Core {
    /// Our offer to a browser and the transport whose parameters it carries (for the
    /// media task). `audio` is the plain offer's configuration (codecs, port).
    pub(super) fn browser_offer(
        &self,
        audio: AudioConfig,
        now: Instant,
    ) -> (SessionDescription, Box<WebRtcTransport>, BrowserMedia) {
        let transport = WebRtcTransport::new(&self.webrtc_identity, Role::IceLite, now);
        // We offer actpass: browsers then choose active, and we are the DTLS server.
        let local = transport.local_parameters(DtlsSetup::ActPass);
        let mut offer = create_offer(&audio);
        add_local_parameters(&mut offer, &local, media_address(&audio));
        let browser = BrowserMedia {
            audio,
            local,
            remote_ufrag: None,
            our_setup: DtlsSetup::Passive,
            codec: None,
        };
        (offer, Box::new(transport), browser)
    }
}

impl BrowserMedia {
    /// The browser's answer: its ICE and DTLS parameters, for the media task.
    pub(super) fn answered(
        &mut self,
        answer: &SessionDescription,
        codec: AudioCodec,
    ) -> Result<RemoteParameters, WebRtcError> {
        let remote = remote_parameters(answer)?;
        self.our_setup = match remote.setup {
            DtlsSetup::Passive => DtlsSetup::Active,
            DtlsSetup::Active | DtlsSetup::ActPass => DtlsSetup::Passive,
        };
        self.remote_ufrag = Some(remote.ice.ufrag.clone());
        self.codec = Some(codec);
        Ok(remote)
    }
}

impl Core {
    /// A re-INVITE from a browser leg. A new ICE username fragment is an ICE restart
    /// (the browser's network dropped or changed): new credentials of ours go into the
    /// answer and to the media task, while DTLS and SRTP carry on. Otherwise (a session
    /// refresh) the answer repeats our parameters. `None`: the offer is unusable (488).
    pub(super) fn browser_reinvite(
        &mut self,
        call: CallKey,
        leg: u32,
        body: &[u8],
    ) -> Option<Vec<u8>> {
        let offer = SessionDescription::parse(body).ok()?;
        let state = self.calls.get_mut(&call)?;
        let agent_leg = state.legs.get_mut(&leg)?;
        let slot = agent_leg.slot;
        let browser = agent_leg.browser.as_mut()?;
        if !is_webrtc(&offer) {
            return None;
        }
        let remote = remote_parameters(&offer).ok()?;
        let restart = browser.remote_ufrag.as_deref() != Some(remote.ice.ufrag.as_str());
        if restart {
            let local = IceCredentials::random();
            tracing::info!(call, leg, "browser restarted ICE");
            state.media.send(MediaCommand::RestartIce {
                slot,
                local: local.clone(),
                remote: remote.ice.clone(),
                candidates: remote.candidates.clone(),
            });
            browser.local.ice = local;
            browser.remote_ufrag = Some(remote.ice.ufrag.clone());
        }
        browser.audio.session_version += 1;
        let mut audio = browser.audio.clone();
        if let Some(codec) = browser.codec {
            audio.codecs = vec![codec];
        }
        // sip-proto answers plain RTP offers only (it must never answer a secure offer
        // with RTP/AVP); the profile becomes WebRTC's again in add_local_parameters.
        let mut plain_offer = offer.clone();
        for media in &mut plain_offer.media {
            media.protocol = "RTP/AVP".to_owned();
        }
        let (mut answer, _) = create_answer(&plain_offer, &audio).ok()?;
        let mut local = browser.local.clone();
        local.setup = browser.our_setup;
        add_local_parameters(&mut answer, &local, media_address(&audio));
        Some(answer.to_bytes())
    }
}

fn media_address(audio: &AudioConfig) -> SocketAddr {
    SocketAddr::new(audio.address, audio.port)
}
