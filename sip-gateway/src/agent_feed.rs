//! What an agent's screen is fed, whichever API it uses: the signalling core's
//! notices, with the caller's history from ticket-core added to each ring.
//!
//! Both faces of the gateway (gRPC `WatchAgent` and the browser page's event stream)
//! take their notices from [`watch`], so the two see the same events in the same order
//! and the history is fetched in one place.

use std::time::Duration;

use hotline_api::BearerToken;
use hotline_api::ticket::v1::ticket_service_client::TicketServiceClient;
use hotline_api::ticket::v1::{LookupCallerRequest, LookupCallerResponse};
use tokio::sync::mpsc;
use tonic::transport::Channel;

use crate::core::{AgentNotice, AgentStatusView, Input};

/// How long a ringing phone waits for the caller's history.
const HISTORY_WAIT: Duration = Duration::from_secs(2);

/// Past tickets shown with a ring.
const HISTORY_TICKETS: i32 = 20;

/// Reads callers' histories from ticket-core with the gateway's own token.
#[derive(Clone)]
pub struct CallerHistory {
    ticket_core: Channel,
    service_token: String,
}

impl CallerHistory {
    /// `ticket_core` may be a lazy channel; `service_token` is the gateway's token.
    pub fn new(ticket_core: Channel, service_token: String) -> Self {
        CallerHistory {
            ticket_core,
            service_token,
        }
    }

    /// The caller's history, or why it is missing. A ringing phone does not wait long
    /// for it.
    pub async fn lookup(&self, phone: &str) -> (Option<LookupCallerResponse>, String) {
        if phone.is_empty() {
            return (None, "the caller's number is withheld".into());
        }
        let Ok(interceptor) = BearerToken::new(&self.service_token) else {
            return (None, "the gateway's token is unusable".into());
        };
        let mut tickets =
            TicketServiceClient::with_interceptor(self.ticket_core.clone(), interceptor);
        let lookup = tickets.lookup_caller(LookupCallerRequest {
            phone: phone.to_owned(),
            limit: HISTORY_TICKETS,
        });
        match tokio::time::timeout(HISTORY_WAIT, lookup).await {
            Ok(Ok(response)) => (Some(response.into_inner()), String::new()),
            Ok(Err(status)) => (None, status.message().to_owned()),
            Err(_) => (None, "ticket-core did not answer within 2 s".into()),
        }
    }
}

/// One notice for an agent's screen.
#[derive(Debug, Clone)]
pub enum FeedNotice {
    Status(AgentStatusView),
    Ringing {
        call_uuid: String,
        caller_phone: String,
        queue: String,
        service: &'static str,
        /// From ticket-core; `None` with `history_error` set when it could not be read.
        history: Option<LookupCallerResponse>,
        history_error: String,
    },
    Connected {
        call_uuid: String,
    },
    Ended {
        call_uuid: String,
        reason: String,
    },
}

/// The core has stopped: the gateway is shutting down.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the gateway is shutting down")]
pub struct ShuttingDown;

/// Starts watching `agent`: the current state first, then every change. The feed ends
/// when the receiver is dropped or the gateway stops.
pub async fn watch(
    core: &mpsc::Sender<Input>,
    history: CallerHistory,
    agent: String,
) -> Result<mpsc::Receiver<FeedNotice>, ShuttingDown> {
    let (sender, mut notices) = mpsc::channel(64);
    core.send(Input::Watch(agent, sender))
        .await
        .map_err(|_| ShuttingDown)?;
    let (out, feed) = mpsc::channel(64);
    tokio::spawn(async move {
        while let Some(notice) = notices.recv().await {
            let notice = match notice {
                AgentNotice::Status(view) => FeedNotice::Status(view),
                AgentNotice::Ringing {
                    call_uuid,
                    caller_phone,
                    queue,
                    service,
                } => {
                    let (history, history_error) = history.lookup(&caller_phone).await;
                    FeedNotice::Ringing {
                        call_uuid,
                        caller_phone,
                        queue,
                        service,
                        history,
                        history_error,
                    }
                }
                AgentNotice::Connected { call_uuid } => FeedNotice::Connected { call_uuid },
                AgentNotice::Ended { call_uuid, reason } => FeedNotice::Ended { call_uuid, reason },
            };
            if out.send(notice).await.is_err() {
                break;
            }
        }
    });
    Ok(feed)
}

/// The queues an agent joins when logging in without naming any: lawyers take the
/// lawyers queue, everyone else the agents' and hardship queues.
pub fn default_queues(role: &str) -> Vec<String> {
    match role {
        "lawyer" => vec!["lawyers".into()],
        _ => vec!["agents".into(), "hardship".into()],
    }
}
