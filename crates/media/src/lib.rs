//! Sans-io media for the SIP gateway.
