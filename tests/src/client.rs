//! gRPC clients for the server under test, with a user's bearer token on every call.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

/// How long a connection attempt to loopback may take before the test gives up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Every call is bounded, so a hung server fails the test instead of hanging it.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// A channel whose calls carry `authorization: Bearer <token>`.
pub type AuthedChannel = InterceptedService<Channel, BearerToken>;

pub use hotline_api::BearerToken;

/// Opens one HTTP/2 connection to `addr` (plaintext, as the server listens on loopback).
pub async fn connect(addr: SocketAddr) -> anyhow::Result<Channel> {
    Endpoint::from_shared(format!("http://{addr}"))
        .context("the address makes a URI")?
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(CALL_TIMEOUT)
        .connect()
        .await
        .with_context(|| format!("cannot connect to {addr}"))
}
