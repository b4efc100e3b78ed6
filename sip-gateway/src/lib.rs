//! SIP gateway.
