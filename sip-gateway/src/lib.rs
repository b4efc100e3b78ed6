//! SIP gateway: trunk, registrar, IVR, queues, bridge, recording.

pub mod acd;
pub mod ivr;
