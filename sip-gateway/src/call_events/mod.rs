//! Call events to ticket-core through a durable outbox.
//!
//! Whatever happens to a call (offered, queued, answered, transferred, ended,
//! abandoned, recording ready) is first written to the gateway's own SQLite file
//! `call_events.sqlite3` by [`CallEventOutbox::record`], and only then sent. Once
//! `record` has returned, the event survives a killed process or a power cut, and a
//! [`CallEventSender`] delivers it to ticket-core's `CallService.RecordCallEvent`
//! whenever ticket-core is reachable, in the order the events were recorded.
//!
//! Delivery is at least once: if the gateway dies after ticket-core stored an event
//! but before the outbox marked it delivered, it is sent again after a restart.
//! ticket-core recognises the event's `event_id` and answers `duplicate = true`
//! without counting it twice, so every event counts exactly once.
//!
//! The gRPC types stay inside [`sender`]; producers (the call state machines) build
//! the plain [`CallEvent`] below.

pub mod outbox;
pub mod sender;

use std::fmt;

pub use outbox::{
    CALL_EVENTS_FILE, CallEventOutbox, DeliveryState, OutboxError, OutboxProgress, OutboxStats,
    PendingEvent, StoredEvent,
};
pub use sender::{Backoff, CallEventSender, SenderError, to_request};

/// What happened to a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallEventKind {
    Offered,
    Queued,
    Answered,
    Transferred,
    Ended,
    Abandoned,
    RecordingReady,
}

impl CallEventKind {
    pub const ALL: [CallEventKind; 7] = [
        CallEventKind::Offered,
        CallEventKind::Queued,
        CallEventKind::Answered,
        CallEventKind::Transferred,
        CallEventKind::Ended,
        CallEventKind::Abandoned,
        CallEventKind::RecordingReady,
    ];

    /// The name stored in the outbox file.
    pub fn as_str(self) -> &'static str {
        match self {
            CallEventKind::Offered => "offered",
            CallEventKind::Queued => "queued",
            CallEventKind::Answered => "answered",
            CallEventKind::Transferred => "transferred",
            CallEventKind::Ended => "ended",
            CallEventKind::Abandoned => "abandoned",
            CallEventKind::RecordingReady => "recording_ready",
        }
    }

    pub fn parse(text: &str) -> Option<CallEventKind> {
        CallEventKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }
}

impl fmt::Display for CallEventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One call event, as `RecordCallEventRequest` carries it. Text fields that do not
/// apply to the kind stay empty, as in the protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallEvent {
    /// Unique per event and stable across retries: ticket-core deduplicates by it.
    pub event_id: String,
    /// The gateway's id of the call.
    pub call_uuid: String,
    pub kind: CallEventKind,
    /// When it happened, in Unix milliseconds.
    pub at_ms: i64,
    /// On `Offered`: the caller's number as the trunk sent it.
    pub caller_phone: String,
    /// On `Queued` / `Transferred`: "agents", "lawyers", …
    pub queue: String,
    /// On `Answered` / `Transferred`: the user name of who took the call.
    pub agent: String,
    /// On `RecordingReady`.
    pub recording_path: String,
    /// On `RecordingReady`: 64 hex digits.
    pub recording_sha256: String,
    pub end_reason: String,
}

impl CallEvent {
    /// An event whose id is `{call_uuid}:{seq}`, `seq` counting the call's events from
    /// 1: unique, and the same if the producer records it again after a restart.
    pub fn new(call_uuid: &str, seq: u32, kind: CallEventKind, at_ms: i64) -> Self {
        CallEvent {
            event_id: format!("{call_uuid}:{seq}"),
            call_uuid: call_uuid.to_owned(),
            kind,
            at_ms,
            caller_phone: String::new(),
            queue: String::new(),
            agent: String::new(),
            recording_path: String::new(),
            recording_sha256: String::new(),
            end_reason: String::new(),
        }
    }
}

/// Hands call events from the signalling core to the outbox on a thread of their own,
/// so the core never waits for a disk sync. Events that arrive while a batch is being
/// written go into the next batch, one transaction each: under load the batches grow
/// and the syncs per second stay flat. An event the outbox refuses is logged; the
/// outbox's own checks only refuse ids the gateway never makes.
/// How long the recorder gathers events before committing them together.
const GROUP_COMMIT_WINDOW: std::time::Duration = std::time::Duration::from_millis(5);

pub fn spawn_recorder(outbox: std::sync::Arc<CallEventOutbox>) -> crate::core::EventSink {
    let (sender, receiver) = std::sync::mpsc::channel::<CallEvent>();
    std::thread::Builder::new()
        .name("call-event-recorder".into())
        .spawn(move || {
            while let Ok(first) = receiver.recv() {
                let mut batch = vec![first];
                // Group commit: whatever arrives within a few milliseconds shares one
                // synced commit. A busy gateway records thousands of events a second,
                // and one fsync each was the largest cost of a call.
                let window_ends = std::time::Instant::now() + GROUP_COMMIT_WINDOW;
                while batch.len() < 1000 {
                    let left = window_ends.saturating_duration_since(std::time::Instant::now());
                    match receiver.recv_timeout(left) {
                        Ok(event) => batch.push(event),
                        Err(_) => break,
                    }
                }
                if let Err(error) = outbox.record_many(batch) {
                    tracing::error!(%error, "call events could not be recorded");
                }
            }
        })
        .expect("the recorder thread starts");
    let sender = parking_lot::Mutex::new(sender);
    std::sync::Arc::new(move |event| {
        let _ = sender.lock().send(event);
    })
}
