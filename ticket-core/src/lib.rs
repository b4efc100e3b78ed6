//! ticket-core
