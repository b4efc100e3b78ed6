//! ticket-core: the hotline's system of record.
//!
//! - `domain`: who may do what, validation, the lifecycle rules applied to records;
//!   knows nothing of gRPC.
//! - `store`: SQLite (WAL) behind one group-committing writer thread and a reader pool.
//! - `grpc`: thin adapters from the protobuf API to the domain, and the one mapping of
//!   domain errors to status codes.
//! - `admin`: organisation import, users and tokens, the sample province.
//! - `app`: opens the data directory, binds the socket, serves.

pub mod admin;
pub mod app;
pub mod config;
pub mod domain;
pub mod grpc;
pub mod store;
