use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WebRtcError {
    /// A WebRTC attribute the SDP must carry is absent (named without `a=`).
    #[error("a={0}: missing")]
    MissingAttribute(&'static str),
    #[error("a={attribute}: {reason}: {value:?}")]
    BadAttribute {
        attribute: &'static str,
        reason: &'static str,
        value: String,
    },
    #[error("SDP has no audio m= line")]
    NoAudioStream,
    #[error("DTLS certificate: {0}")]
    Certificate(String),
    #[error("DTLS: {0}")]
    Dtls(String),
    #[error("transport is {0}")]
    InvalidState(&'static str),
}
