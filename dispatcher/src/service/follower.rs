//! Following ticket-core's event log and acting on it.

use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hotline_api::ticket::v1 as pb;
use hotline_calendar::Calendar;
use serde_json::Value;
use tokio::sync::Notify;
use tonic::Code;

use super::client::{ClientError, CoreClients};
use super::mail::{Contacts, dispatch_email};
use super::notices;
use super::routes::Routes;
use super::state::{State, StateError};
use crate::clock::{self, ClockError, Kind, Policy, Priority};
use crate::notify::Outbox;
use crate::routing::{ConfigError, Target};

pub(super) const DAY_MS: i64 = 86_400_000;
const RETRY_FIRST: Duration = Duration::from_millis(100);
const RETRY_CAP: Duration = Duration::from_secs(5);
/// The deadline clock looks at least this often, in milliseconds.
const RETRY_CLOCK_MS: i64 = 60_000;

pub struct DispatcherSettings {
    /// ticket-core's gRPC address, e.g. `http://127.0.0.1:50051`.
    pub core_url: String,
    /// A token of a `service` user.
    pub token: String,
    /// The dispatcher's own SQLite file (cursor, returns, employer window).
    pub state_path: PathBuf,
    /// The routing rules (see deploy/routing.example.toml).
    pub rules_toml: String,
    pub policy: Policy,
    pub calendar: Calendar,
    /// Early warning: this many tickets about one employer…
    pub cluster_threshold: usize,
    /// …within this many days.
    pub cluster_window_days: i64,
    /// Where emails wait to be sent (see `notify::Outbox`); `None`: no emails.
    pub outbox: Option<Arc<Outbox>>,
    /// Signs the emails, e.g. 广东省12351职工服务热线.
    pub hotline_name: String,
}

#[derive(Debug, thiserror::Error)]
pub enum DispatcherError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error("routing rules: {0}")]
    Routing(#[from] ConfigError),
    #[error("ticket-core: {0}")]
    Core(#[from] tonic::Status),
}

/// What went wrong while handling one event: worth retrying, or not.
pub(super) enum Failure {
    /// ticket-core unreachable or overloaded: retry the same event, never skip it.
    Transient(String),
    /// The event cannot be acted on (a bug or bad data): log it and move on.
    Permanent(String),
}

impl From<tonic::Status> for Failure {
    fn from(status: tonic::Status) -> Self {
        match status.code() {
            Code::Unavailable
            | Code::DeadlineExceeded
            | Code::Cancelled
            | Code::Unknown
            | Code::ResourceExhausted => Failure::Transient(status.to_string()),
            _ => Failure::Permanent(status.to_string()),
        }
    }
}

impl From<StateError> for Failure {
    fn from(error: StateError) -> Self {
        Failure::Transient(error.to_string())
    }
}

pub struct Dispatcher {
    pub(super) clients: CoreClients,
    pub(super) state: Arc<Mutex<State>>,
    pub(super) routes: Routes,
    pub(super) policy: Policy,
    pub(super) calendar: Calendar,
    pub(super) cluster_threshold: usize,
    pub(super) cluster_window_ms: i64,
    pub(super) outbox: Option<Arc<Outbox>>,
    pub(super) contacts: Contacts,
    pub(super) hotline_name: String,
    /// The hotline centre and the province: who hears of the province's own deadlines and
    /// of escalations.
    pub(super) centre_code: String,
    pub(super) province_code: String,
    /// Wakes the deadline clock: a work order changed, or (in tests) the clock moved.
    pub(super) wake: Arc<Notify>,
    pub(super) now: Arc<dyn Fn() -> i64 + Send + Sync>,
}

impl Dispatcher {
    /// Connects to ticket-core, reads the organisation tree and checks the rules against it.
    pub async fn start(
        settings: DispatcherSettings,
        now: Arc<dyn Fn() -> i64 + Send + Sync>,
    ) -> Result<Self, DispatcherError> {
        let clients = CoreClients::new(&settings.core_url, &settings.token)?;
        let organisations = clients
            .directory()
            .list_organisations(pb::ListOrganisationsRequest::default())
            .await?
            .into_inner()
            .organisations;
        let routes = Routes::build(&organisations, &settings.rules_toml)?;
        let contacts = Contacts::new(&organisations);
        let code_of_kind = |kind: &str| {
            organisations
                .iter()
                .find(|o| o.kind == kind)
                .map(|o| o.code.clone())
                .unwrap_or_default()
        };
        let (centre_code, province_code) = (code_of_kind("centre"), code_of_kind("province"));
        let path = settings.state_path.clone();
        let state = tokio::task::spawn_blocking(move || State::open(&path))
            .await
            .map_err(|e| StateError::Task(e.to_string()))??;
        Ok(Self {
            clients,
            state: Arc::new(Mutex::new(state)),
            routes,
            policy: settings.policy,
            calendar: settings.calendar,
            cluster_threshold: settings.cluster_threshold,
            cluster_window_ms: settings.cluster_window_days * DAY_MS,
            outbox: settings.outbox,
            contacts,
            hotline_name: settings.hotline_name,
            centre_code,
            province_code,
            wake: Arc::new(Notify::new()),
            now,
        })
    }

    /// Makes the deadline clock look at its work orders now (after the clock moved, in tests).
    pub fn wake_handle(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    pub(super) async fn with_state<R: Send + 'static>(
        &self,
        work: impl FnOnce(&State) -> Result<R, StateError> + Send + 'static,
    ) -> Result<R, StateError> {
        let state = self.state.clone();
        tokio::task::spawn_blocking(move || {
            work(&state.lock().expect("state lock is never poisoned"))
        })
        .await
        .map_err(|e| StateError::Task(e.to_string()))?
    }

    /// Follows the event log and runs the deadline clock until `shutdown` resolves.
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|stop| *stop).await;
        };
        let this = Arc::new(self);
        tokio::join!(
            async {
                shutdown.await;
                let _ = stop_tx.send(true);
            },
            this.follow(stopped(stop_rx.clone())),
            this.run_clock(stopped(stop_rx)),
        );
    }

    /// The deadline clock: looks at watched work orders when one is due or something changed.
    async fn run_clock(&self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            let next = match self.urge_due().await {
                Ok(next) => next,
                Err(Failure::Transient(why) | Failure::Permanent(why)) => {
                    tracing::warn!("deadline clock: {why}");
                    Some((self.now)() + RETRY_CLOCK_MS)
                }
            };
            // Sleep until the next moment something falls due (checked at least once a
            // minute, as the wall clock may jump), or until a work order changes.
            let wait_ms = next.map_or(RETRY_CLOCK_MS, |at| {
                (at - (self.now)()).clamp(0, RETRY_CLOCK_MS)
            });
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(wait_ms as u64)) => {}
                _ = &mut shutdown => return,
            }
        }
    }

    /// Follows the event log until `shutdown` resolves; reconnects when ticket-core goes away.
    async fn follow(&self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut backoff = RETRY_FIRST;
        loop {
            let cursor = match self.with_state(|s| s.cursor()).await {
                Ok(cursor) => cursor,
                Err(e) => {
                    tracing::error!("cannot read the dispatcher's cursor: {e}");
                    return;
                }
            };
            let mut events = self.clients.events();
            let subscribed = tokio::select! {
                result = events.subscribe(pb::SubscribeRequest { after_seq: cursor }) => result,
                _ = &mut shutdown => return,
            };
            let mut stream = match subscribed {
                Ok(response) => response.into_inner(),
                Err(status) => {
                    tracing::warn!(
                        "cannot follow ticket-core's events ({status}); retrying in {backoff:?}"
                    );
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = &mut shutdown => return,
                    }
                    backoff = (backoff * 2).min(RETRY_CAP);
                    continue;
                }
            };
            backoff = RETRY_FIRST;
            loop {
                let next = tokio::select! {
                    next = stream.message() => next,
                    _ = &mut shutdown => return,
                };
                let event = match next {
                    Ok(Some(event)) => event,
                    Ok(None) | Err(_) => break,
                };
                if !self.handle_until_done(&event, &mut shutdown).await {
                    return;
                }
                let seq = event.seq;
                if let Err(e) = self.with_state(move |s| s.save_cursor(seq)).await {
                    tracing::error!("cannot save the dispatcher's cursor: {e}");
                    return;
                }
            }
        }
    }

    /// Handles one event, retrying transient failures; false if shut down meanwhile.
    async fn handle_until_done(
        &self,
        event: &pb::Event,
        shutdown: &mut (impl Future<Output = ()> + Unpin),
    ) -> bool {
        let mut backoff = RETRY_FIRST;
        loop {
            match self.handle(event).await {
                Ok(()) => return true,
                Err(Failure::Permanent(why)) => {
                    tracing::error!(seq = event.seq, action = %event.action, "event skipped: {why}");
                    return true;
                }
                Err(Failure::Transient(why)) => {
                    tracing::warn!(seq = event.seq, "retrying in {backoff:?}: {why}");
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = &mut *shutdown => return false,
                    }
                    backoff = (backoff * 2).min(RETRY_CAP);
                }
            }
        }
    }

    async fn handle(&self, event: &pb::Event) -> Result<(), Failure> {
        match event.action.as_str() {
            "ticket.created" => self.early_warning(event).await?,
            "ticket.submitted" => self.route(event.ticket_id).await?,
            "work_order.dispatched" => self.announce_dispatch(event).await?,
            "work_order.returned" => {
                let after: Value = serde_json::from_str(&event.after_json).unwrap_or_default();
                let org = after["org_code"].as_str().unwrap_or_default().to_owned();
                let (ticket_id, work_order_id) = (event.ticket_id, event.entity_id);
                self.with_state(move |s| s.record_return(ticket_id, work_order_id, &org))
                    .await?;
                self.route(event.ticket_id).await?
            }
            "ticket.not_accepted"
            | "ticket.no_longer_accepted"
            | "ticket.duplicate"
            | "ticket.forwarded"
            | "work_order.closed" => self.notify_worker(event).await?,
            _ => {}
        }
        if event.entity == "work_order" {
            self.track(event).await?;
        }
        Ok(())
    }

    /// Routes a ticket and dispatches it, or queues it for a person. Safe to repeat: a
    /// ticket with an open work order is left alone.
    async fn route(&self, ticket_id: i64) -> Result<(), Failure> {
        let ticket = match self
            .clients
            .tickets()
            .get_ticket(pb::GetTicketRequest {
                ticket_id,
                ..Default::default()
            })
            .await
        {
            Ok(response) => response.into_inner(),
            Err(status) if status.code() == Code::NotFound => return Ok(()),
            Err(status) => return Err(status.into()),
        };
        let open = ticket
            .work_orders
            .iter()
            .any(|w| w.state != "closed" && w.state != "returned");
        if open || !matches!(ticket.state.as_str(), "registered" | "dispatched") {
            return Ok(());
        }
        let returned = self.with_state(move |s| s.returned_by(ticket_id)).await?;
        let decision = self.routes.route(&ticket, &returned);
        let Target::Union(org) = decision.target else {
            return self.queue_for_a_person(ticket_id, decision.reason).await;
        };
        let org_code = self.routes.code_of(org).unwrap_or_default().to_owned();
        let now = (self.now)();
        let deadlines = match clock::deadlines_at_dispatch(
            &self.policy,
            &self.calendar,
            kind_of(&ticket),
            priority_of(&ticket),
            now,
        ) {
            Ok(deadlines) => deadlines,
            Err(ClockError::CalendarGap { year }) => {
                self.raise(
                    format!("calendar_gap:{year}"),
                    "calendar_gap",
                    format!("工作日历缺少{year}年节假日安排，无法计算期限；请管理员补充后重新交办"),
                    vec![ticket_id],
                    String::new(),
                )
                .await?;
                return self
                    .queue_for_a_person(
                        ticket_id,
                        format!("no working-day calendar for {year}: deadlines unknown"),
                    )
                    .await;
            }
            Err(other) => return Err(Failure::Permanent(other.to_string())),
        };
        let dispatched = self
            .clients
            .work_orders()
            .dispatch(pb::DispatchRequest {
                ticket_id,
                org_code,
                rule: decision.reason,
                reason: deadlines.explanation,
                sign_due_at_ms: deadlines.sign_due_at_ms,
                reply_due_at_ms: deadlines.reply_due_at_ms,
            })
            .await;
        match dispatched {
            Ok(_) => Ok(()),
            // Dispatched meanwhile (a replayed event, or a person was quicker).
            Err(status) if status.code() == Code::FailedPrecondition => Ok(()),
            Err(status) => Err(status.into()),
        }
    }

    async fn announce_dispatch(&self, event: &pb::Event) -> Result<(), Failure> {
        let Some(outbox) = &self.outbox else {
            return Ok(());
        };
        let work_order: Value = serde_json::from_str(&event.after_json).unwrap_or_default();
        let ticket = self
            .clients
            .tickets()
            .get_ticket(pb::GetTicketRequest {
                ticket_id: event.ticket_id,
                ..Default::default()
            })
            .await?
            .into_inner();
        let Some(email) = dispatch_email(&self.contacts, &self.hotline_name, &work_order, &ticket)
        else {
            tracing::warn!(
                work_order = event.entity_id,
                "the handling union has no contact address: no email"
            );
            return Ok(());
        };
        let now = chrono::DateTime::<chrono::Utc>::from_timestamp_millis((self.now)())
            .unwrap_or_default();
        crate::notify::enqueue(outbox, email, format!("dispatch:{}", event.entity_id), now)
            .await
            .map_err(|e| Failure::Transient(e.to_string()))?;
        Ok(())
    }

    pub(super) async fn get_ticket(&self, ticket_id: i64) -> Result<pb::Ticket, Failure> {
        Ok(self
            .clients
            .tickets()
            .get_ticket(pb::GetTicketRequest {
                ticket_id,
                ..Default::default()
            })
            .await?
            .into_inner())
    }

    /// Renders the notice the outcome calls for, stores it with the ticket (once, however
    /// often the event is replayed) and emails it where the worker gave an address.
    async fn notify_worker(&self, event: &pb::Event) -> Result<(), Failure> {
        let ticket = self.get_ticket(event.ticket_id).await?;
        let earlier = match ticket.duplicate_of {
            0 => None,
            id => Some(self.get_ticket(id).await?),
        };
        let now = (self.now)();
        let notice =
            match notices::notice_for(event, &ticket, earlier.as_ref(), &self.hotline_name, now) {
                None => return Ok(()),
                Some(Err(why)) => {
                    return Err(Failure::Permanent(format!(
                        "notice for ticket {}: {why}",
                        ticket.number
                    )));
                }
                Some(Ok(notice)) => notice,
            };
        let worker_email = ticket.caller.clone().unwrap_or_default().email;
        let key = format!("notice:{}:{}", event.entity, event.entity_id);
        self.clients
            .tickets()
            .add_notice(pb::AddNoticeRequest {
                ticket_id: ticket.id,
                kind: notices::notice_kind(notice.kind) as i32,
                title: notice.title.clone(),
                body: notice.text.clone(),
                emailed_to: worker_email.clone(),
                dedup_key: key.clone(),
            })
            .await?;
        if let (Some(outbox), false) = (&self.outbox, worker_email.is_empty()) {
            let email = crate::notify::notice_email(&notice, &worker_email);
            let at =
                chrono::DateTime::<chrono::Utc>::from_timestamp_millis(now).unwrap_or_default();
            crate::notify::enqueue(outbox, email, key, at)
                .await
                .map_err(|e| Failure::Transient(e.to_string()))?;
        }
        Ok(())
    }

    async fn queue_for_a_person(&self, ticket_id: i64, reason: String) -> Result<(), Failure> {
        let queued = self
            .clients
            .tickets()
            .request_manual_dispatch(pb::RequestManualDispatchRequest { ticket_id, reason })
            .await;
        match queued {
            Ok(_) => Ok(()),
            Err(status) if status.code() == Code::FailedPrecondition => Ok(()),
            Err(status) => Err(status.into()),
        }
    }

    pub(super) async fn raise(
        &self,
        key: String,
        kind: &str,
        message: String,
        ticket_ids: Vec<i64>,
        region_code: String,
    ) -> Result<(), Failure> {
        self.clients
            .alerts()
            .raise_alert(pb::RaiseAlertRequest {
                key,
                kind: kind.into(),
                message,
                ticket_ids,
                region_code,
            })
            .await?;
        Ok(())
    }
}

pub(super) fn kind_of(ticket: &pb::Ticket) -> Kind {
    match pb::TicketKind::try_from(ticket.kind) {
        Ok(pb::TicketKind::Complaint) => Kind::Complaint,
        Ok(pb::TicketKind::LegalAid) => Kind::LegalAid,
        Ok(pb::TicketKind::Hardship) => Kind::Hardship,
        Ok(pb::TicketKind::Suggestion) => Kind::Suggestion,
        Ok(pb::TicketKind::Consultation) => Kind::Consultation,
        _ => Kind::Request,
    }
}

pub(super) fn priority_of(ticket: &pb::Ticket) -> Priority {
    match pb::Priority::try_from(ticket.priority) {
        Ok(pb::Priority::Urgent) => Priority::Urgent,
        Ok(pb::Priority::Collective) => Priority::Collective,
        _ => Priority::Normal,
    }
}
