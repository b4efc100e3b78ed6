//! gRPC clients of ticket-core, carrying the dispatcher's service token.

use hotline_api::BearerToken;
use hotline_api::ticket::v1 as pb;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

type Authed = InterceptedService<Channel, BearerToken>;

/// One lazily connecting channel to ticket-core, shared by all clients: it reconnects
/// by itself when ticket-core restarts.
#[derive(Clone)]
pub struct CoreClients {
    channel: Channel,
    bearer: BearerToken,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("ticket-core address {0:?} is not a valid URL")]
    Url(String),
    #[error("the service token is not valid header text")]
    Token,
}

impl CoreClients {
    pub fn new(url: &str, token: &str) -> Result<Self, ClientError> {
        let channel = Endpoint::from_shared(url.to_owned())
            .map_err(|_| ClientError::Url(url.to_owned()))?
            .connect_lazy();
        let bearer = BearerToken::new(token).map_err(|_| ClientError::Token)?;
        Ok(Self { channel, bearer })
    }

    pub fn tickets(&self) -> pb::ticket_service_client::TicketServiceClient<Authed> {
        pb::ticket_service_client::TicketServiceClient::with_interceptor(
            self.channel.clone(),
            self.bearer.clone(),
        )
    }

    pub fn work_orders(&self) -> pb::work_order_service_client::WorkOrderServiceClient<Authed> {
        pb::work_order_service_client::WorkOrderServiceClient::with_interceptor(
            self.channel.clone(),
            self.bearer.clone(),
        )
    }

    pub fn events(&self) -> pb::event_service_client::EventServiceClient<Authed> {
        pb::event_service_client::EventServiceClient::with_interceptor(
            self.channel.clone(),
            self.bearer.clone(),
        )
    }

    pub fn alerts(&self) -> pb::alert_service_client::AlertServiceClient<Authed> {
        pb::alert_service_client::AlertServiceClient::with_interceptor(
            self.channel.clone(),
            self.bearer.clone(),
        )
    }

    pub fn directory(&self) -> pb::directory_service_client::DirectoryServiceClient<Authed> {
        pb::directory_service_client::DirectoryServiceClient::with_interceptor(
            self.channel.clone(),
            self.bearer.clone(),
        )
    }
}
