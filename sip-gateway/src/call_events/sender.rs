//! The task that drains the outbox into ticket-core's `CallService.RecordCallEvents`.
//!
//! Events go strictly in the order they were recorded, in batches of what has piled
//! up (`RecordCallEvents`, one durable commit on each side per batch): an ANSWERED
//! never overtakes the OFFERED of its call. When ticket-core cannot be reached the sender
//! stops at that event and retries it with backoff (200 ms doubling to 10 s); only
//! an event ticket-core refuses as invalid (`InvalidArgument`, which no retry can fix)
//! is set aside as rejected so the queue behind it moves on. Everything else, a wrong
//! token included, is retried: those failures need an operator, not lost events.
//!
//! The sender never polls: it waits for a record ([`tokio::sync::Notify`]), the end of
//! a backoff, or shutdown. The connection is made lazily and remade by tonic after a
//! failure, so the gateway may start before ticket-core and survive its restarts.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use hotline_api::BearerToken;
use hotline_api::ticket::v1 as pb;
use pb::call_service_client::CallServiceClient;
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

use super::outbox::{CallEventOutbox, OutboxError, PendingEvent};
use super::{CallEvent, CallEventKind};

/// Events read from SQLite and sent at a time.
const BATCH_SIZE: usize = 256;

/// How long the sender waits after the first new event before sending.
const SEND_WINDOW: Duration = Duration::from_millis(20);

/// How long to wait before retrying after failures: `initial`, doubling with each
/// failure in a row, never more than `cap`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub initial: Duration,
    pub cap: Duration,
}

impl Default for Backoff {
    /// 200 ms, 400 ms, … up to 10 s: call events matter to agents' screens within
    /// seconds, and one small RPC every 10 s costs a down ticket-core nothing.
    fn default() -> Self {
        Backoff {
            initial: Duration::from_millis(200),
            cap: Duration::from_secs(10),
        }
    }
}

impl Backoff {
    /// The wait after the `failures`-th failure in a row (1 for the first).
    pub fn delay_after(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(31);
        self.initial
            .checked_mul(1u32 << doublings)
            .map_or(self.cap, |delay| delay.min(self.cap))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SenderError {
    #[error("ticket-core address {url:?} is not a valid URL: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("the service token cannot be sent in a header (it must be visible ASCII)")]
    InvalidToken,
    #[error(transparent)]
    Outbox(#[from] OutboxError),
}

/// The gRPC form of an event: the only place the gateway's events meet tonic types.
pub fn to_request(event: &CallEvent) -> pb::RecordCallEventRequest {
    let kind = match event.kind {
        CallEventKind::Offered => pb::CallEventKind::Offered,
        CallEventKind::Queued => pb::CallEventKind::Queued,
        CallEventKind::Answered => pb::CallEventKind::Answered,
        CallEventKind::Transferred => pb::CallEventKind::Transferred,
        CallEventKind::Ended => pb::CallEventKind::Ended,
        CallEventKind::Abandoned => pb::CallEventKind::Abandoned,
        CallEventKind::RecordingReady => pb::CallEventKind::RecordingReady,
    };
    pb::RecordCallEventRequest {
        event_id: event.event_id.clone(),
        call_uuid: event.call_uuid.clone(),
        kind: kind.into(),
        at_ms: event.at_ms,
        caller_phone: event.caller_phone.clone(),
        queue: event.queue.clone(),
        agent: event.agent.clone(),
        recording_path: event.recording_path.clone(),
        recording_sha256: event.recording_sha256.clone(),
        end_reason: event.end_reason.clone(),
    }
}

type Client = CallServiceClient<InterceptedService<Channel, BearerToken>>;

/// Delivers the outbox to ticket-core; see the module documentation.
pub struct CallEventSender {
    outbox: Arc<CallEventOutbox>,
    endpoint: Endpoint,
    bearer: BearerToken,
    backoff: Backoff,
}

impl std::fmt::Debug for CallEventSender {
    /// Without the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallEventSender")
            .field("outbox", &self.outbox)
            .field("endpoint", &self.endpoint.uri())
            .field("backoff", &self.backoff)
            .finish_non_exhaustive()
    }
}

impl CallEventSender {
    /// `core_url` is ticket-core's gRPC address (`http://host:port`), `token` the
    /// gateway's service token. Nothing is connected until [`CallEventSender::run`].
    pub fn new(
        outbox: Arc<CallEventOutbox>,
        core_url: &str,
        token: &str,
    ) -> Result<Self, SenderError> {
        let endpoint = Endpoint::from_shared(core_url.to_owned())
            .map_err(|error| SenderError::InvalidUrl {
                url: core_url.to_owned(),
                reason: error.to_string(),
            })?
            .connect_timeout(Duration::from_secs(5))
            // Bounds an RPC to a ticket-core that accepted the connection but hangs.
            .timeout(Duration::from_secs(10));
        let bearer = BearerToken::new(token).map_err(|_| SenderError::InvalidToken)?;
        Ok(CallEventSender {
            outbox,
            endpoint,
            bearer,
            backoff: Backoff::default(),
        })
    }

    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Delivers until `shutdown` resolves. Returns early only if the outbox file fails
    /// (fatal for the gateway: call events could no longer be kept).
    ///
    /// An RPC in flight when shutdown arrives is abandoned: the event stays pending, and
    /// if ticket-core had stored it, the next delivery is answered as a duplicate.
    pub async fn run(self, shutdown: impl Future<Output = ()>) -> Result<(), SenderError> {
        let mut shutdown = std::pin::pin!(shutdown);
        let mut client: Client =
            CallServiceClient::with_interceptor(self.endpoint.connect_lazy(), self.bearer.clone());
        let mut failures_in_a_row: u32 = 0;
        loop {
            let batch = self.on_outbox(|outbox| outbox.pending(BATCH_SIZE)).await?;
            if batch.is_empty() {
                tokio::select! {
                    () = shutdown.as_mut() => return Ok(()),
                    () = self.outbox.wake_signal().notified() => {
                        // Let a few more events pile up: one request and one settling
                        // commit for many events, at the price of milliseconds.
                        tokio::time::sleep(SEND_WINDOW).await;
                        continue;
                    }
                }
            }
            let request = pb::RecordCallEventsRequest {
                events: batch
                    .iter()
                    .map(|pending| to_request(&pending.event))
                    .collect(),
            };
            let answer = tokio::select! {
                () = shutdown.as_mut() => return Ok(()),
                answer = client.record_call_events(request) => answer,
            };
            let failure = match answer {
                Ok(response) => {
                    let results = response.into_inner().results;
                    if results.len() == batch.len() {
                        failures_in_a_row = 0;
                        let outcomes = settle_outcomes(&batch, results);
                        self.on_outbox(move |outbox| outbox.settle(&outcomes))
                            .await?;
                        continue;
                    }
                    tonic::Status::internal(format!(
                        "ticket-core answered {} results for {} events",
                        results.len(),
                        batch.len()
                    ))
                }
                Err(status) => status,
            };
            // Nothing of the batch is known to be stored: all of it is retried, in order,
            // from the oldest event (ticket-core acknowledges repeats as duplicates).
            failures_in_a_row = failures_in_a_row.saturating_add(1);
            let delay = self.backoff.delay_after(failures_in_a_row);
            self.record_failure(&batch[0], &failure, delay).await?;
            tokio::select! {
                () = shutdown.as_mut() => return Ok(()),
                // A new record does not cut the wait short: events keep coming while
                // ticket-core is down.
                () = tokio::time::sleep(delay) => {}
            }
        }
    }

    async fn record_failure(
        &self,
        pending: &PendingEvent,
        status: &tonic::Status,
        delay: Duration,
    ) -> Result<(), SenderError> {
        let error = describe(status);
        let needs_operator = matches!(
            status.code(),
            Code::Unauthenticated | Code::PermissionDenied | Code::Unimplemented
        );
        if needs_operator {
            tracing::error!(
                event_id = %pending.event.event_id,
                attempts = pending.attempts + 1,
                retry_in_ms = delay.as_millis(),
                error = %error,
                "ticket-core refuses the gateway (check its token and address); call events wait",
            );
        } else {
            tracing::warn!(
                event_id = %pending.event.event_id,
                attempts = pending.attempts + 1,
                retry_in_ms = delay.as_millis(),
                error = %error,
                "call event not delivered; will retry",
            );
        }
        let id = pending.id;
        let next_attempt_at = SystemTime::now() + delay;
        self.on_outbox(move |outbox| outbox.mark_failed(id, &error, next_attempt_at))
            .await
    }

    /// Runs a blocking outbox call on tokio's blocking pool.
    async fn on_outbox<R, F>(&self, call: F) -> Result<R, SenderError>
    where
        R: Send + 'static,
        F: FnOnce(&CallEventOutbox) -> Result<R, OutboxError> + Send + 'static,
    {
        let outbox = Arc::clone(&self.outbox);
        let result = tokio::task::spawn_blocking(move || call(&outbox))
            .await
            .map_err(OutboxError::from)?;
        Ok(result?)
    }
}

/// What ticket-core said of each event of a batch, for the outbox: delivered (a
/// duplicate too: it was stored before), or refused as invalid, which no retry can fix,
/// so it is set aside and the events behind it go on.
fn settle_outcomes(
    batch: &[PendingEvent],
    results: Vec<pb::RecordCallEventResult>,
) -> Vec<(i64, Option<String>)> {
    batch
        .iter()
        .zip(results)
        .map(|(pending, result)| {
            if result.error.is_empty() {
                tracing::debug!(
                    event_id = %pending.event.event_id,
                    duplicate = result.duplicate,
                    "call event delivered"
                );
                (pending.id, None)
            } else {
                tracing::error!(
                    event_id = %pending.event.event_id,
                    call_uuid = %pending.event.call_uuid,
                    kind = %pending.event.kind,
                    error = %result.error,
                    "ticket-core refused a call event; it is set aside as rejected",
                );
                (pending.id, Some(result.error))
            }
        })
        .collect()
}

fn describe(status: &tonic::Status) -> String {
    format!("{:?}: {}", status.code(), status.message())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_200_ms_to_the_10_s_cap() {
        let backoff = Backoff::default();
        let millis: Vec<u128> = (1..=9)
            .map(|n| backoff.delay_after(n).as_millis())
            .collect();
        assert_eq!(
            millis,
            [200, 400, 800, 1600, 3200, 6400, 10_000, 10_000, 10_000]
        );
        assert_eq!(backoff.delay_after(u32::MAX), Duration::from_secs(10));
    }

    #[test]
    fn every_kind_maps_to_its_protocol_value() {
        for kind in CallEventKind::ALL {
            let request = to_request(&CallEvent::new("c", 1, kind, 1));
            let name = pb::CallEventKind::try_from(request.kind)
                .expect("known kind")
                .as_str_name()
                .trim_start_matches("CALL_EVENT_KIND_")
                .to_ascii_lowercase();
            assert_eq!(name, kind.as_str());
        }
    }

    #[test]
    fn bad_address_and_token_are_refused_up_front() {
        let dir = tempfile::tempdir().expect("temp dir");
        let outbox = Arc::new(CallEventOutbox::open(dir.path().join("o.sqlite3")).expect("open"));
        assert!(matches!(
            CallEventSender::new(outbox.clone(), "not a url", "hl_x"),
            Err(SenderError::InvalidUrl { .. })
        ));
        assert!(matches!(
            CallEventSender::new(outbox, "http://127.0.0.1:1", "bad\ntoken"),
            Err(SenderError::InvalidToken)
        ));
    }
}
