//! SIP gateway: trunk, registrar, IVR, queues, bridge, recording.

pub mod acd;
pub mod call_events;
pub mod ivr;
pub mod registrar;
