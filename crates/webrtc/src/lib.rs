//! A sans-io WebRTC media transport for one call leg: ICE (lite for the gateway,
//! controlling for clients), DTLS-SRTP keying and SRTP/SRTCP protection, over one UDP
//! socket with RTCP multiplexed on the RTP port.
//!
//! The DTLS handshake, the SRTP contexts and the STUN message codec are webrtc-rs's
//! sans-io crates (`rtc-dtls`, `rtc-srtp`, `rtc-stun`); the ICE agent here is our own,
//! because a lite agent with one component and a fixed local candidate needs a fraction
//! of a full agent and we want nothing per call that outlives the call.
//!
//! Like the rest of the protocol code, nothing here reads a clock or touches a socket:
//! the caller feeds datagrams and `now`, sends what [`WebRtcTransport::poll_transmit`]
//! returns and wakes at [`WebRtcTransport::poll_timeout`].

mod dtls;
mod error;
mod ice;
mod identity;
mod sdp;
mod srtp;
mod transport;

pub use error::WebRtcError;
pub use identity::{DtlsIdentity, Fingerprint, IceCredentials};
pub use sdp::{
    DtlsSetup, LocalParameters, RemoteParameters, add_local_parameters, is_webrtc,
    remote_parameters,
};
pub use transport::{Received, Role, TransportState, WebRtcTransport};
