//! The hotline's gRPC API, generated from `proto/` at build time.
//!
//! Only generated code lives here; conversions to domain types sit beside the
//! domain (ticket-core's `grpc` module), so the domain never sees tonic.

pub mod ticket {
    pub mod v1 {
        tonic::include_proto!("hotline.ticket.v1");
    }
}

pub mod gateway {
    pub mod v1 {
        tonic::include_proto!("hotline.gateway.v1");
    }
}

/// Encoded descriptors of every service, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("hotline_descriptor");

/// A client-side interceptor that sends `authorization: Bearer <token>` with every call,
/// as every hotline RPC requires.
#[derive(Clone)]
pub struct BearerToken(tonic::metadata::MetadataValue<tonic::metadata::Ascii>);

impl BearerToken {
    /// Fails when the token holds characters a header cannot carry.
    pub fn new(token: &str) -> Result<Self, tonic::metadata::errors::InvalidMetadataValue> {
        Ok(Self(format!("Bearer {token}").parse()?))
    }
}

impl tonic::service::Interceptor for BearerToken {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        request
            .metadata_mut()
            .insert("authorization", self.0.clone());
        Ok(request)
    }
}
