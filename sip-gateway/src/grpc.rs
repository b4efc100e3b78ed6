//! `AgentService`: a thin adapter between gRPC and the signalling core.
//!
//! Tokens are ticket-core's: the gateway asks ticket-core's `WhoAmI` who a token
//! belongs to (remembered for a minute), so there is one user directory. Agents and
//! lawyers act on themselves; supervisors and admins on anyone.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hotline_api::BearerToken;
use hotline_api::gateway::v1 as pb;
use hotline_api::gateway::v1::agent_service_server::AgentService;
use hotline_api::ticket::v1::WhoAmIRequest;
use hotline_api::ticket::v1::directory_service_client::DirectoryServiceClient;
use parking_lot::Mutex;
use tokio::sync::{mpsc, oneshot};
use tokio_stream::Stream;
use tonic::transport::Channel;
use tonic::{Request, Response, Status};

use crate::acd::{AcdError, AgentState};
use crate::agent_feed::{self, CallerHistory, FeedNotice};
use crate::core::{AgentCommand, AgentStatusView, CommandError, CommandReply, CoreStats, Input};

const TOKEN_CACHE: Duration = Duration::from_secs(60);

#[derive(Clone, Debug)]
struct Caller {
    name: String,
    role: String,
}

/// The gRPC face of the gateway. Cheap to clone: every clone talks to the same core.
#[derive(Clone)]
pub struct AgentApi {
    core: mpsc::Sender<Input>,
    ticket_core: Channel,
    history: CallerHistory,
    tokens: Arc<Mutex<HashMap<String, (Caller, Instant)>>>,
    stats: Arc<Mutex<CoreStats>>,
}

impl AgentApi {
    /// `ticket_core` is a lazy channel; `service_token` is the gateway's own token,
    /// used to read callers' histories.
    pub fn new(
        core: mpsc::Sender<Input>,
        ticket_core: Channel,
        service_token: String,
        stats: Arc<Mutex<CoreStats>>,
    ) -> Self {
        AgentApi {
            core,
            history: CallerHistory::new(ticket_core.clone(), service_token),
            ticket_core,
            tokens: Arc::new(Mutex::new(HashMap::new())),
            stats,
        }
    }

    async fn caller<T>(&self, request: &Request<T>) -> Result<Caller, Status> {
        let token = request
            .metadata()
            .get("authorization")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .ok_or_else(|| Status::unauthenticated("authorization: a Bearer token is required"))?
            .to_owned();
        if let Some((caller, at)) = self.tokens.lock().get(&token)
            && at.elapsed() < TOKEN_CACHE
        {
            return Ok(caller.clone());
        }
        let interceptor = BearerToken::new(&token).map_err(|_| {
            Status::unauthenticated("authorization: the token has invalid characters")
        })?;
        let mut directory =
            DirectoryServiceClient::with_interceptor(self.ticket_core.clone(), interceptor);
        let user = directory
            .who_am_i(WhoAmIRequest {})
            .await
            .map_err(|status| match status.code() {
                tonic::Code::Unauthenticated | tonic::Code::PermissionDenied => status,
                _ => Status::unavailable(format!(
                    "cannot check the token with ticket-core: {}",
                    status.message()
                )),
            })?
            .into_inner();
        let caller = Caller {
            name: user.name,
            role: user.role,
        };
        self.tokens
            .lock()
            .insert(token, (caller.clone(), Instant::now()));
        Ok(caller)
    }

    /// Whom the request is about: the caller, or (for supervisors) anyone.
    async fn subject<T>(
        &self,
        request: &Request<T>,
        agent: &str,
    ) -> Result<(Caller, String), Status> {
        let caller = self.caller(request).await?;
        let subject = if agent.is_empty() {
            caller.name.clone()
        } else {
            agent.to_owned()
        };
        let allowed =
            subject == caller.name || matches!(caller.role.as_str(), "supervisor" | "admin");
        if !allowed {
            return Err(Status::permission_denied(format!(
                "agent: {} may act only on themselves, not on {subject}",
                caller.name
            )));
        }
        Ok((caller, subject))
    }

    async fn command(&self, command: AgentCommand) -> Result<CommandReply, Status> {
        let (reply, answer) = oneshot::channel();
        self.core
            .send(Input::Command(command, reply))
            .await
            .map_err(|_| Status::unavailable("the gateway is shutting down"))?;
        answer
            .await
            .map_err(|_| Status::unavailable("the gateway is shutting down"))?
            .map_err(command_status)
    }

    async fn status(&self, command: AgentCommand) -> Result<Response<pb::AgentStatus>, Status> {
        match self.command(command).await? {
            CommandReply::Status(view) => Ok(Response::new(status_message(&view))),
            _ => Err(Status::internal("unexpected reply")),
        }
    }

    async fn transfer(
        &self,
        command: AgentCommand,
    ) -> Result<Response<pb::TransferResponse>, Status> {
        match self.command(command).await? {
            CommandReply::Transferred {
                call_uuid,
                position,
            } => Ok(Response::new(pb::TransferResponse {
                call_uuid,
                position: position as i32,
            })),
            _ => Err(Status::internal("unexpected reply")),
        }
    }
}

fn command_status(error: CommandError) -> Status {
    match &error {
        CommandError::Acd(AcdError::NotLoggedIn { .. }) => {
            Status::failed_precondition(error.to_string())
        }
        CommandError::Acd(AcdError::UnknownQueue { .. }) => {
            Status::invalid_argument(error.to_string())
        }
        CommandError::UnknownQueue(_) => Status::invalid_argument(error.to_string()),
        _ => Status::failed_precondition(error.to_string()),
    }
}

fn state_kind(state: &AgentState) -> (pb::AgentStateKind, String) {
    match state {
        AgentState::LoggedOut => (pb::AgentStateKind::LoggedOut, String::new()),
        AgentState::Ready => (pb::AgentStateKind::Ready, String::new()),
        AgentState::Paused { reason } => (pb::AgentStateKind::Paused, reason.clone()),
        AgentState::Ringing { .. } => (pb::AgentStateKind::Ringing, String::new()),
        AgentState::Talking { .. } => (pb::AgentStateKind::Talking, String::new()),
        AgentState::WrapUp => (pb::AgentStateKind::WrapUp, String::new()),
    }
}

fn status_message(view: &AgentStatusView) -> pb::AgentStatus {
    let (kind, pause_reason) = state_kind(&view.state);
    pb::AgentStatus {
        agent: view.agent.clone(),
        state: kind as i32,
        pause_reason,
        call_uuid: view.call_uuid.clone(),
        since_ms: 0,
        queues: view.queues.clone(),
        registered: view.registered,
    }
}

type NotificationStream = Pin<Box<dyn Stream<Item = Result<pb::AgentNotification, Status>> + Send>>;

#[tonic::async_trait]
impl AgentService for AgentApi {
    async fn login(
        &self,
        request: Request<pb::LoginRequest>,
    ) -> Result<Response<pb::AgentStatus>, Status> {
        let (caller, agent) = self.subject(&request, &request.get_ref().agent).await?;
        let mut queues = request.into_inner().queues;
        if queues.is_empty() {
            queues = agent_feed::default_queues(&caller.role);
        }
        self.status(AgentCommand::Login { agent, queues }).await
    }

    async fn set_ready(
        &self,
        request: Request<pb::AgentRequest>,
    ) -> Result<Response<pb::AgentStatus>, Status> {
        let (_, agent) = self.subject(&request, &request.get_ref().agent).await?;
        self.status(AgentCommand::Ready { agent }).await
    }

    async fn pause(
        &self,
        request: Request<pb::PauseRequest>,
    ) -> Result<Response<pb::AgentStatus>, Status> {
        let (_, agent) = self.subject(&request, &request.get_ref().agent).await?;
        let reason = request.into_inner().reason;
        if reason.trim().is_empty() {
            return Err(Status::invalid_argument(
                "reason: required (break, training, …)",
            ));
        }
        self.status(AgentCommand::Pause { agent, reason }).await
    }

    async fn logout(
        &self,
        request: Request<pb::AgentRequest>,
    ) -> Result<Response<pb::AgentStatus>, Status> {
        let (_, agent) = self.subject(&request, &request.get_ref().agent).await?;
        self.status(AgentCommand::Logout { agent }).await
    }

    async fn get_agent(
        &self,
        request: Request<pb::AgentRequest>,
    ) -> Result<Response<pb::AgentStatus>, Status> {
        let (_, agent) = self.subject(&request, &request.get_ref().agent).await?;
        self.status(AgentCommand::Status { agent }).await
    }

    type WatchAgentStream = NotificationStream;

    async fn watch_agent(
        &self,
        request: Request<pb::AgentRequest>,
    ) -> Result<Response<Self::WatchAgentStream>, Status> {
        let (_, agent) = self.subject(&request, &request.get_ref().agent).await?;
        let mut feed = agent_feed::watch(&self.core, self.history.clone(), agent)
            .await
            .map_err(|error| Status::unavailable(error.to_string()))?;
        let (out, stream) = mpsc::channel(64);
        tokio::spawn(async move {
            while let Some(notice) = feed.recv().await {
                let kind = match notice {
                    FeedNotice::Status(view) => {
                        pb::agent_notification::Kind::Status(status_message(&view))
                    }
                    FeedNotice::Ringing {
                        call_uuid,
                        caller_phone,
                        queue,
                        service,
                        history,
                        history_error,
                    } => pb::agent_notification::Kind::Ringing(pb::Ringing {
                        call_uuid,
                        caller_phone,
                        queue,
                        service: service.to_owned(),
                        history,
                        history_error,
                    }),
                    FeedNotice::Connected { call_uuid } => {
                        pb::agent_notification::Kind::Connected(pb::Connected { call_uuid })
                    }
                    FeedNotice::Ended { call_uuid, reason } => {
                        pb::agent_notification::Kind::Ended(pb::Ended { call_uuid, reason })
                    }
                };
                let message = pb::AgentNotification { kind: Some(kind) };
                if out.send(Ok(message)).await.is_err() {
                    break;
                }
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(stream),
        )))
    }

    async fn transfer_to_queue(
        &self,
        request: Request<pb::TransferRequest>,
    ) -> Result<Response<pb::TransferResponse>, Status> {
        let (_, agent) = self.subject(&request, &request.get_ref().agent).await?;
        let queue = default_lawyers(request.into_inner().queue);
        self.transfer(AgentCommand::TransferToQueue { agent, queue })
            .await
    }

    async fn start_consultation(
        &self,
        request: Request<pb::TransferRequest>,
    ) -> Result<Response<pb::TransferResponse>, Status> {
        let (_, agent) = self.subject(&request, &request.get_ref().agent).await?;
        let queue = default_lawyers(request.into_inner().queue);
        self.transfer(AgentCommand::StartConsultation { agent, queue })
            .await
    }

    async fn complete_consultation(
        &self,
        request: Request<pb::CallRequest>,
    ) -> Result<Response<pb::TransferResponse>, Status> {
        let (_, agent) = self.subject(&request, &request.get_ref().agent).await?;
        self.transfer(AgentCommand::CompleteConsultation { agent })
            .await
    }

    async fn cancel_consultation(
        &self,
        request: Request<pb::CallRequest>,
    ) -> Result<Response<pb::TransferResponse>, Status> {
        let (_, agent) = self.subject(&request, &request.get_ref().agent).await?;
        self.transfer(AgentCommand::CancelConsultation { agent })
            .await
    }

    async fn get_snapshot(
        &self,
        request: Request<pb::SnapshotRequest>,
    ) -> Result<Response<pb::Snapshot>, Status> {
        let caller = self.caller(&request).await?;
        if !matches!(caller.role.as_str(), "supervisor" | "admin" | "service") {
            return Err(Status::permission_denied(format!(
                "role: {} may not see the supervisor wall",
                caller.role
            )));
        }
        match self.command(AgentCommand::Snapshot).await? {
            CommandReply::Snapshot {
                agents,
                queues,
                calls_in_progress,
            } => {
                let stats = *self.stats.lock();
                let media = &crate::relay::COUNTERS;
                let load = |counter: &std::sync::atomic::AtomicU64| {
                    counter.load(std::sync::atomic::Ordering::Relaxed) as i64
                };
                Ok(Response::new(pb::Snapshot {
                    agents: agents.iter().map(status_message).collect(),
                    queues: queues
                        .into_iter()
                        .map(|q| pb::QueueStatus {
                            queue: q.queue,
                            waiting: q.waiting as i32,
                            longest_wait_ms: q.longest_wait_ms as i64,
                            ready_agents: q.ready_agents as i32,
                        })
                        .collect(),
                    calls_in_progress: calls_in_progress as i32,
                    calls_offered: stats.calls_offered as i64,
                    calls_refused_for_load: stats.refused_for_load as i64,
                    calls_refused_not_trunk: stats.refused_not_trunk as i64,
                    media_packets_received: load(&media.received),
                    media_packets_sent: load(&media.sent),
                    media_send_failures: load(&media.send_failed),
                    media_sessions: load(&media.active_calls),
                }))
            }
            _ => Err(Status::internal("unexpected reply")),
        }
    }
}

fn default_lawyers(queue: String) -> String {
    if queue.is_empty() {
        "lawyers".into()
    } else {
        queue
    }
}
