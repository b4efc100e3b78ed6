//! The hotline's gRPC API, generated from `proto/` at build time.
//!
//! Only generated code lives here; conversions to domain types sit beside the
//! domain (ticket-core's `grpc` module), so the domain never sees tonic.

pub mod ticket {
    pub mod v1 {
        tonic::include_proto!("hotline.ticket.v1");
    }
}

/// Encoded descriptors of every service, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("hotline_descriptor");
