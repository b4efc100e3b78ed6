//! The signalling core: one task that owns every piece of call state.
//!
//! Everything that changes a call goes through this task's mailbox ([`Input`]): SIP
//! messages from the transports, media events (DTMF, prompt finished, recording
//! ready), and commands from the agents' gRPC API. The sans-io machines — the SIP
//! transaction layer, the registrar, the ACD and one IVR per call — are driven here
//! with `Instant::now()`, and the loop sleeps until the earliest of their timers. One
//! owner means no locks around call state and a single order of events per call, so
//! "never two agents on one call" is decided in one place.
//!
//! Media runs elsewhere (one task per call, [`crate::relay`]); this task only tells it
//! what each leg hears. Call events for ticket-core leave through the durable outbox.

mod agents;
mod browser;
mod caller;
mod commands;
mod requests;
pub mod sip_util;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sip_proto::dialog::Dialog;
use sip_proto::transaction::{SuccessRetransmitter, TimerConfig, TransactionKey, TransactionLayer};
use sip_proto::{Message, Request};
use tokio::sync::{mpsc, oneshot};

use crate::acd::{Acd, AcdConfig, CallKey};
use crate::call_events::{CallEvent, CallEventKind};
use crate::config::{GatewayConfig, QUEUES};
use crate::ivr::{IvrConfig, IvrSession};
use crate::limits::TokenBucket;
use crate::prompts::PromptLibrary;
use crate::registrar::{Credential, PasswordCheck, Registrar, RegistrarConfig};
use crate::relay::{MediaEvent, MediaHandle};
use crate::transport::{Inbound, Peer, TransportHandle};

pub use commands::{
    AgentCommand, AgentNotice, AgentStatusView, CommandError, CommandReply, QueueView,
};

/// What the core's mailbox carries.
pub enum Input {
    Sip(Inbound),
    Media(CallKey, MediaEvent),
    Command(
        AgentCommand,
        oneshot::Sender<Result<CommandReply, CommandError>>,
    ),
    Watch(String, mpsc::Sender<AgentNotice>),
    /// A password sign-in (the browser page's), checked by the registrar so it
    /// shares the failed-auth throttle with REGISTER.
    CheckPassword {
        source: std::net::SocketAddr,
        username: String,
        password: String,
        reply: oneshot::Sender<PasswordCheck>,
    },
}

/// Where call events go: a durable outbox in production, anything in tests.
pub type EventSink = Arc<dyn Fn(CallEvent) + Send + Sync>;

/// Looks up SIP credentials (blocking is fine: an in-memory cache in front of SQLite).
pub type CredentialLookup = Arc<dyn Fn(&str) -> Option<Credential> + Send + Sync>;

/// Who a leg belongs to inside a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum LegRef {
    Caller,
    Agent(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallPhase {
    Ivr,
    Queued,
    Talking,
    Ended,
}

/// The trunk side of a call: we are the UAS.
pub(crate) struct CallerLeg {
    peer: Peer,
    dialog: Dialog,
    success: Option<SuccessRetransmitter>,
    answer_sdp: Vec<u8>,
    /// The codec the trunk leg negotiated: offered first to agents, so that the
    /// bridge can pass packets through untouched.
    codec: sip_proto::sdp::AudioCodec,
}

/// Why an agent leg exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LegPurpose {
    /// Rung by the ACD to take the call.
    Answer,
    /// Rung during an attended transfer, to talk to the agent first.
    Consult,
}

/// An agent's or lawyer's softphone leg: we are the UAC.
pub(crate) struct AgentLeg {
    agent: String,
    purpose: LegPurpose,
    slot: usize,
    peer: Peer,
    invite: Request,
    offer: sip_proto::sdp::SessionDescription,
    /// A browser's leg: its WebRTC signalling state.
    browser: Option<browser::BrowserMedia>,
    dialog: Option<Dialog>,
    ack: Option<Request>,
    /// The ACD chose this leg; a leg that lost the race is hung up when it answers.
    connected: bool,
    cancelled: bool,
}

pub(crate) struct Call {
    uuid: String,
    caller_phone: String,
    trunk: usize,
    phase: CallPhase,
    caller: CallerLeg,
    ivr: Option<IvrSession>,
    queue: Option<String>,
    service: &'static str,
    legs: HashMap<u32, AgentLeg>,
    next_leg: u32,
    /// The leg the caller talks to, and the consultation leg of an attended transfer.
    talking: Option<u32>,
    consulting: Option<u32>,
    media: MediaHandle,
    event_seq: u32,
    answered: bool,
    /// This call's entries in the core's dialog and INVITE indexes, removed with it.
    index_keys: Vec<(String, String)>,
    invite_keys: Vec<TransactionKey>,
}

/// The counters a benchmark or the supervisor wall reads.
#[derive(Debug, Default, Clone, Copy)]
pub struct CoreStats {
    pub calls_in_progress: usize,
    pub calls_offered: u64,
    pub refused_for_load: u64,
    pub refused_not_trunk: u64,
}

pub struct Core {
    config: Arc<GatewayConfig>,
    transport: TransportHandle,
    layer: TransactionLayer<Peer>,
    registrar: Registrar,
    credentials: CredentialLookup,
    acd: Acd,
    ivr_config: Arc<IvrConfig>,
    prompts: Arc<PromptLibrary>,
    calls: HashMap<CallKey, Call>,
    next_call: CallKey,
    /// In-dialog requests find their call by Call-ID and our tag.
    dialogs: HashMap<(String, String), (CallKey, LegRef)>,
    /// Responses to our INVITEs find their leg by transaction.
    invites: HashMap<TransactionKey, (CallKey, u32)>,
    /// CANCELs we sent, so their final responses can be ignored.
    trunk_buckets: Vec<TokenBucket>,
    trunk_calls: Vec<usize>,
    total_bucket: TokenBucket,
    events: EventSink,
    media_events: mpsc::UnboundedSender<(CallKey, MediaEvent)>,
    watchers: HashMap<String, Vec<mpsc::Sender<AgentNotice>>>,
    /// REGISTER answers held back for a source that keeps failing authentication.
    delayed: Vec<(Instant, TransactionKey, sip_proto::Response)>,
    /// TCP and WebSocket connections by remote address, so requests reach a
    /// softphone (or a browser, which cannot be reached any other way) on the
    /// connection it registered over.
    tcp_peers: HashMap<std::net::SocketAddr, Peer>,
    static_agents: HashMap<String, sip_proto::Uri>,
    stats: CoreStats,
    /// Calls that ended but stay in `calls` until their recording is finished.
    ended_calls: usize,
    stats_out: Arc<parking_lot::Mutex<CoreStats>>,
    /// The certificate whose fingerprint browsers check in DTLS.
    webrtc_identity: hotline_webrtc::DtlsIdentity,
}

/// Everything the core needs from outside.
pub struct CoreParts {
    pub config: Arc<GatewayConfig>,
    pub transport: TransportHandle,
    pub credentials: CredentialLookup,
    pub prompts: Arc<PromptLibrary>,
    pub events: EventSink,
    pub nonce_secret: Vec<u8>,
    pub stats: Arc<parking_lot::Mutex<CoreStats>>,
    pub webrtc_identity: hotline_webrtc::DtlsIdentity,
}

impl Core {
    pub fn new(
        parts: CoreParts,
        media_events: mpsc::UnboundedSender<(CallKey, MediaEvent)>,
    ) -> Core {
        let now = Instant::now();
        let config = parts.config;
        let acd = Acd::new(AcdConfig {
            ring_timeout: config.ring_timeout(),
            wrap_up: Duration::from_secs(config.wrap_up_seconds),
            position_announce_every: Duration::from_secs(config.position_announce_seconds),
            max_queue_wait: None,
            queues: QUEUES.iter().map(|q| (*q).to_owned()).collect(),
        });
        let static_agents = config
            .static_agents
            .iter()
            .filter_map(|agent| {
                sip_proto::Uri::parse(&agent.contact)
                    .ok()
                    .map(|uri| (agent.user.clone(), uri))
            })
            .collect();
        let trunk_buckets = config
            .trunks
            .iter()
            .map(|trunk| TokenBucket::new(trunk.calls_per_second, now))
            .collect();
        let mut core = Core {
            transport: parts.transport,
            layer: TransactionLayer::new(TimerConfig::default()),
            registrar: Registrar::with_config(
                &config.realm,
                &parts.nonce_secret,
                RegistrarConfig {
                    digest_algorithms: config.digest_algorithms(),
                    ..RegistrarConfig::default()
                },
                now,
            ),
            credentials: parts.credentials,
            acd,
            ivr_config: Arc::new(IvrConfig::default()),
            prompts: parts.prompts,
            calls: HashMap::new(),
            next_call: 1,
            dialogs: HashMap::new(),
            invites: HashMap::new(),
            trunk_buckets,
            trunk_calls: vec![0; config.trunks.len()],
            total_bucket: TokenBucket::new(config.total_calls_per_second, now),
            events: parts.events,
            media_events,
            watchers: HashMap::new(),
            delayed: Vec::new(),
            tcp_peers: HashMap::new(),
            static_agents,
            stats: CoreStats::default(),
            ended_calls: 0,
            stats_out: parts.stats,
            webrtc_identity: parts.webrtc_identity,
            config,
        };
        // Desk phones at fixed addresses are logged in and ready from the start.
        let static_agents: Vec<_> = core.config.static_agents.clone();
        for agent in static_agents {
            let queues: Vec<&str> = agent.queues.iter().map(String::as_str).collect();
            if let Err(error) = core.acd.login(&agent.user, &queues, now) {
                tracing::warn!(agent = %agent.user, %error, "static agent not logged in");
            }
        }
        core.drain_acd(now);
        core
    }

    /// Runs until every sender of `inputs` is gone.
    pub async fn run(mut self, mut inputs: mpsc::Receiver<Input>) {
        loop {
            let wake = self.next_wake();
            let input = match wake {
                Some(at) => {
                    tokio::select! {
                        input = inputs.recv() => input,
                        () = tokio::time::sleep_until(at.into()) => {
                            self.handle_timeout(Instant::now());
                            continue;
                        }
                    }
                }
                None => inputs.recv().await,
            };
            let Some(input) = input else {
                break;
            };
            let now = Instant::now();
            self.handle_input(input, now);
            // Drain whatever else is already waiting before computing timers again.
            while let Ok(input) = inputs.try_recv() {
                self.handle_input(input, Instant::now());
            }
            self.flush();
            self.publish_stats();
        }
    }

    fn handle_input(&mut self, input: Input, now: Instant) {
        match input {
            Input::Sip(inbound) => self.handle_sip(inbound, now),
            Input::Media(call, event) => self.handle_media(call, event, now),
            Input::Command(command, reply) => {
                let result = self.handle_command(command, now);
                let _ = reply.send(result);
            }
            Input::Watch(agent, sender) => self.add_watcher(agent, sender, now),
            Input::CheckPassword {
                source,
                username,
                password,
                reply,
            } => {
                let lookup = self.credentials.clone();
                let outcome = self.registrar.check_password(
                    source,
                    &username,
                    &password,
                    |name| lookup(name),
                    now,
                );
                self.drain_registrar(now);
                let _ = reply.send(outcome);
            }
        }
        self.flush();
    }

    fn next_wake(&self) -> Option<Instant> {
        let mut wake = [
            self.layer.poll_timeout(),
            self.acd.poll_timeout(),
            self.registrar.poll_timeout(),
            self.delayed.iter().map(|(at, _, _)| *at).min(),
        ]
        .into_iter()
        .flatten()
        .min();
        for call in self.calls.values() {
            let call_wake = [
                call.ivr.as_ref().and_then(IvrSession::poll_timeout),
                call.caller
                    .success
                    .as_ref()
                    .and_then(SuccessRetransmitter::poll_timeout),
            ];
            for at in call_wake.into_iter().flatten() {
                wake = Some(wake.map_or(at, |w: Instant| w.min(at)));
            }
        }
        wake
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.layer.handle_timeout(now);
        self.acd.handle_timeout(now);
        self.registrar.handle_timeout(now);
        let due: Vec<_> = {
            let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.delayed)
                .into_iter()
                .partition(|(at, _, _)| *at <= now);
            self.delayed = later;
            due
        };
        for (_, key, response) in due {
            let _ = self.layer.send_response(&key, response, now);
        }
        let keys: Vec<CallKey> = self.calls.keys().copied().collect();
        for key in keys {
            self.call_timers(key, now);
        }
        self.drain_acd(now);
        self.flush();
        self.publish_stats();
    }

    fn handle_sip(&mut self, inbound: Inbound, now: Instant) {
        let Inbound { message, peer } = inbound;
        if peer.connection().is_some() {
            self.tcp_peers.insert(peer.address(), peer);
        }
        if let Message::Request(request) = &message
            && let Err(error) = request.validate()
        {
            // Answer statelessly: a request we cannot trust cannot open a transaction.
            let response = sip_util::respond_with_warning(request, 400, &error.to_string());
            self.layer.send_stateless(peer, response);
            return;
        }
        let incoming = match self
            .layer
            .handle_message(message, peer, peer.is_reliable(), now)
        {
            Ok(incoming) => incoming,
            Err(error) => {
                tracing::debug!(peer = %peer.address(), %error, "message without a usable transaction key");
                return;
            }
        };
        match incoming {
            None => {}
            Some(sip_proto::transaction::Incoming::Request { key, request }) => {
                self.handle_request(key, request, peer, now);
            }
            Some(sip_proto::transaction::Incoming::Ack(ack)) => self.handle_ack(&ack, now),
            Some(sip_proto::transaction::Incoming::StrayResponse(response)) => {
                self.handle_stray_response(&response, peer);
            }
        }
        self.drain_transaction_events(now);
        self.drain_acd(now);
    }

    /// Sends whatever the transaction layer queued.
    fn flush(&mut self) {
        while let Some((peer, message)) = self.layer.poll_transmit() {
            if !self.transport.send(peer, message.to_bytes()) {
                tracing::debug!(peer = %peer.address(), "transport could not send");
            }
        }
    }

    fn publish_stats(&mut self) {
        self.stats.calls_in_progress = self.calls.len() - self.ended_calls;
        *self.stats_out.lock() = self.stats;
    }

    /// Records a call event for ticket-core; its id makes redelivery idempotent.
    fn call_event(
        &mut self,
        call: CallKey,
        kind: CallEventKind,
        fill: impl FnOnce(&mut CallEvent),
    ) {
        let Some(state) = self.calls.get_mut(&call) else {
            return;
        };
        state.event_seq += 1;
        let mut event = CallEvent::new(&state.uuid, state.event_seq, kind, now_ms());
        fill(&mut event);
        (self.events)(event);
    }
}

/// Wall-clock milliseconds for event timestamps (the monotonic clock drives timers).
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis() as i64)
}
