//! The outbox file. Every method blocks on SQLite; async code uses
//! [`CallEventOutbox::record_async`] or `spawn_blocking` (as [`super::sender`] does).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use rusqlite::{Connection, params};
use tokio::sync::{Notify, watch};

use super::{CallEvent, CallEventKind};

/// The file name the gateway uses under its data directory.
pub const CALL_EVENTS_FILE: &str = "call_events.sqlite3";

/// The longest `last_error` kept: a status message can carry pages of detail.
const MAX_ERROR_CHARS: usize = 2000;
/// ticket-core's limit for `event_id` and `call_uuid`.
const MAX_ID_CHARS: usize = 200;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS call_events (
    seq                INTEGER PRIMARY KEY AUTOINCREMENT,  -- delivery order
    event_id           TEXT    NOT NULL UNIQUE,
    call_uuid          TEXT    NOT NULL,
    kind               TEXT    NOT NULL CHECK (kind IN ('offered', 'queued', 'answered',
                           'transferred', 'ended', 'abandoned', 'recording_ready')),
    at_ms              INTEGER NOT NULL,
    caller_phone       TEXT    NOT NULL,
    queue              TEXT    NOT NULL,
    agent              TEXT    NOT NULL,
    recording_path     TEXT    NOT NULL,
    recording_sha256   TEXT    NOT NULL,
    end_reason         TEXT    NOT NULL,
    recorded_at_ms     INTEGER NOT NULL,          -- Unix milliseconds, when record() ran
    state              TEXT    NOT NULL DEFAULT 'pending'
                           CHECK (state IN ('pending', 'delivered', 'rejected')),
    attempts           INTEGER NOT NULL DEFAULT 0,
    next_attempt_at_ms INTEGER,
    last_error         TEXT,
    finished_at_ms     INTEGER                    -- when delivered or rejected
);
CREATE INDEX IF NOT EXISTS call_events_pending ON call_events (seq) WHERE state = 'pending';
";

const EVENT_COLUMNS: &str = "seq, event_id, call_uuid, kind, at_ms, caller_phone, queue, agent,
    recording_path, recording_sha256, end_reason, state, attempts, last_error, recorded_at_ms,
    next_attempt_at_ms, finished_at_ms";

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("call event outbox {path}: {source}")]
    Database {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("call event {field}: {rule}")]
    Invalid {
        field: &'static str,
        rule: &'static str,
    },
    #[error(
        "call event event_id {event_id:?} was already recorded with other content: every event needs its own id"
    )]
    EventIdReused { event_id: String },
    #[error("call event outbox: row {id} is unreadable: {reason}")]
    CorruptRow { id: i64, reason: String },
    #[error("call event outbox: no event with id {id}")]
    UnknownId { id: i64 },
    #[error("call event outbox: the blocking task failed: {0}")]
    Worker(#[from] tokio::task::JoinError),
}

/// Where an event stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    Pending,
    /// ticket-core stored it (or had stored it before: a duplicate).
    Delivered,
    /// ticket-core refused it as invalid; it will never be sent again on its own.
    Rejected,
}

impl DeliveryState {
    fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Delivered => "delivered",
            DeliveryState::Rejected => "rejected",
        }
    }

    fn parse(text: &str) -> Option<DeliveryState> {
        [
            DeliveryState::Pending,
            DeliveryState::Delivered,
            DeliveryState::Rejected,
        ]
        .into_iter()
        .find(|state| state.as_str() == text)
    }
}

/// An event waiting for delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingEvent {
    /// The outbox's id (its delivery order), for the `mark_*` methods.
    pub id: i64,
    pub event: CallEvent,
    /// Failed attempts so far.
    pub attempts: u32,
}

/// Everything the outbox knows about one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub id: i64,
    pub event: CallEvent,
    pub state: DeliveryState,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub recorded_at_ms: i64,
    pub next_attempt_at_ms: Option<i64>,
    pub finished_at_ms: Option<i64>,
}

/// For health checks: how far behind delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutboxStats {
    pub pending: u64,
    /// How long the oldest pending event has waited since it was recorded.
    pub oldest_pending_age: Option<Duration>,
    pub delivered: u64,
    pub rejected: u64,
}

/// Running totals since the outbox was opened, published on every change so tests
/// and health checks wait for an event instead of polling the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutboxProgress {
    pub recorded: u64,
    pub delivered: u64,
    pub rejected: u64,
    pub failed_attempts: u64,
}

/// The outbox file. Share it as `Arc<CallEventOutbox>`: producers record into it, one
/// [`super::CallEventSender`] drains it.
pub struct CallEventOutbox {
    path: PathBuf,
    connection: Mutex<Connection>,
    /// Wakes the sender on a new event. `notify_one` keeps a permit while the sender is
    /// busy, so an event recorded between its last look and its wait is not missed.
    wake: Notify,
    progress: watch::Sender<OutboxProgress>,
}

impl std::fmt::Debug for CallEventOutbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallEventOutbox")
            .field("path", &self.path)
            .field("progress", &*self.progress.borrow())
            .finish_non_exhaustive()
    }
}

impl CallEventOutbox {
    /// Opens (creating if needed) the outbox file. Blocks.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, OutboxError> {
        let path = path.as_ref().to_owned();
        let database = |source| OutboxError::Database {
            path: path.clone(),
            source,
        };
        let connection = Connection::open(&path).map_err(database)?;
        // WAL lets health checks read beside the sender; FULL makes a committed event
        // survive a power cut, not only a killed process: the point of an outbox.
        connection
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(database)?;
        connection
            .pragma_update(None, "synchronous", "FULL")
            .map_err(database)?;
        connection
            .busy_timeout(Duration::from_secs(5))
            .map_err(database)?;
        connection.execute_batch(SCHEMA).map_err(database)?;
        let (progress, _) = watch::channel(OutboxProgress::default());
        Ok(CallEventOutbox {
            path,
            connection: Mutex::new(connection),
            wake: Notify::new(),
            progress,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn database_error(&self, source: rusqlite::Error) -> OutboxError {
        OutboxError::Database {
            path: self.path.clone(),
            source,
        }
    }

    /// Stores the event durably and wakes the sender; when this returns `Ok`, the event
    /// will be delivered even if the process is killed right after. Recording the same
    /// event again (same id, same content) changes nothing; the same id with other
    /// content is an error. Blocks.
    ///
    /// Only what the outbox itself relies on is checked here; ticket-core validates the
    /// rest and the sender sets aside what it refuses.
    pub fn record(&self, event: CallEvent) -> Result<(), OutboxError> {
        self.record_many(vec![event])
    }

    /// Records several events in one transaction: one disk sync for all of them, which
    /// is what lets a busy gateway keep up (five events per call at hundreds of calls
    /// per second). All or nothing: on error none of them is stored.
    pub fn record_many(&self, events: Vec<CallEvent>) -> Result<(), OutboxError> {
        for event in &events {
            check_id("event_id", &event.event_id)?;
            check_id("call_uuid", &event.call_uuid)?;
        }
        let mut connection = self.connection.lock();
        let transaction = connection
            .transaction()
            .map_err(|source| self.database_error(source))?;
        let mut inserted_count = 0;
        for event in events {
            let inserted = transaction
                .prepare_cached(
                    "INSERT INTO call_events (event_id, call_uuid, kind, at_ms, caller_phone, queue,
                         agent, recording_path, recording_sha256, end_reason, recorded_at_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                     ON CONFLICT (event_id) DO NOTHING",
                )
                .and_then(|mut insert| {
                    insert.execute(params![
                        event.event_id,
                        event.call_uuid,
                        event.kind.as_str(),
                        event.at_ms,
                        event.caller_phone,
                        event.queue,
                        event.agent,
                        event.recording_path,
                        event.recording_sha256,
                        event.end_reason,
                        unix_millis(SystemTime::now()),
                    ])
                })
                .map_err(|source| self.database_error(source))?;
            if inserted == 0 {
                let stored = transaction
                    .prepare_cached(&format!(
                        "SELECT {EVENT_COLUMNS} FROM call_events WHERE event_id = ?1"
                    ))
                    .and_then(|mut statement| {
                        statement
                            .query_map(params![event.event_id], RawEvent::read)?
                            .collect::<Result<Vec<_>, _>>()
                    })
                    .map_err(|source| self.database_error(source))?
                    .into_iter()
                    .next()
                    .map(RawEvent::into_stored)
                    .transpose()?;
                if stored.map(|stored| stored.event).as_ref() != Some(&event) {
                    return Err(OutboxError::EventIdReused {
                        event_id: event.event_id,
                    });
                }
            }
            inserted_count += inserted;
        }
        transaction
            .commit()
            .map_err(|source| self.database_error(source))?;
        drop(connection);
        if inserted_count > 0 {
            self.progress
                .send_modify(|progress| progress.recorded += inserted_count as u64);
            self.wake.notify_one();
        }
        Ok(())
    }

    /// [`CallEventOutbox::record`] from async code, on the blocking pool.
    pub async fn record_async(self: &Arc<Self>, event: CallEvent) -> Result<(), OutboxError> {
        let outbox = Arc::clone(self);
        tokio::task::spawn_blocking(move || outbox.record(event)).await?
    }

    /// Up to `limit` pending events, in the order they were recorded. Blocks.
    pub fn pending(&self, limit: usize) -> Result<Vec<PendingEvent>, OutboxError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self.query(
            &format!(
                "SELECT {EVENT_COLUMNS} FROM call_events WHERE state = 'pending' ORDER BY seq LIMIT ?1"
            ),
            params![limit],
        )?;
        Ok(rows
            .into_iter()
            .map(|stored| PendingEvent {
                id: stored.id,
                event: stored.event,
                attempts: stored.attempts,
            })
            .collect())
    }

    /// ticket-core has the event. Marking an event already finished changes nothing.
    /// Blocks.
    pub fn mark_delivered(&self, id: i64) -> Result<(), OutboxError> {
        let finished = self.finish(id, DeliveryState::Delivered, None)?;
        if finished {
            self.progress
                .send_modify(|progress| progress.delivered += 1);
        }
        Ok(())
    }

    /// ticket-core refused the event as invalid: it is set aside with the reason, so
    /// the events behind it go on. Blocks.
    pub fn mark_rejected(&self, id: i64, error: &str) -> Result<(), OutboxError> {
        let finished = self.finish(id, DeliveryState::Rejected, Some(error))?;
        if finished {
            self.progress.send_modify(|progress| progress.rejected += 1);
        }
        Ok(())
    }

    /// The outcome of a batch delivered in one request: `None` delivered, `Some(error)`
    /// refused by ticket-core as invalid. One transaction, so a batch costs one sync.
    /// Blocks.
    pub fn settle(&self, outcomes: &[(i64, Option<String>)]) -> Result<(), OutboxError> {
        let mut connection = self.connection.lock();
        let transaction = connection
            .transaction()
            .map_err(|source| self.database_error(source))?;
        let finished_at = unix_millis(SystemTime::now());
        let (mut delivered, mut rejected) = (0u64, 0u64);
        {
            let mut update = transaction
                .prepare_cached(
                    "UPDATE call_events SET state = ?2, finished_at_ms = ?3,
                         last_error = COALESCE(?4, last_error), next_attempt_at_ms = NULL
                     WHERE seq = ?1 AND state = 'pending'",
                )
                .map_err(|source| self.database_error(source))?;
            for (id, error) in outcomes {
                let state = match error {
                    None => DeliveryState::Delivered,
                    Some(_) => DeliveryState::Rejected,
                };
                let updated = update
                    .execute(params![
                        id,
                        state.as_str(),
                        finished_at,
                        error.as_deref().map(truncated)
                    ])
                    .map_err(|source| self.database_error(source))?;
                // 0: finished already (a delivery raced a restart); not counted twice.
                if updated == 1 {
                    match error {
                        None => delivered += 1,
                        Some(_) => rejected += 1,
                    }
                }
            }
        }
        transaction
            .commit()
            .map_err(|source| self.database_error(source))?;
        drop(connection);
        self.progress.send_modify(|progress| {
            progress.delivered += delivered;
            progress.rejected += rejected;
        });
        Ok(())
    }

    /// An attempt failed and will be retried; kept for operators to see why and when.
    /// Blocks.
    pub fn mark_failed(
        &self,
        id: i64,
        error: &str,
        next_attempt_at: SystemTime,
    ) -> Result<(), OutboxError> {
        let updated = self
            .connection
            .lock()
            .execute(
                "UPDATE call_events SET attempts = attempts + 1, last_error = ?2,
                     next_attempt_at_ms = ?3
                 WHERE seq = ?1 AND state = 'pending'",
                params![id, truncated(error), unix_millis(next_attempt_at)],
            )
            .map_err(|source| self.database_error(source))?;
        if updated == 0 {
            self.ensure_exists(id)?;
        } else {
            self.progress
                .send_modify(|progress| progress.failed_attempts += 1);
        }
        Ok(())
    }

    fn finish(
        &self,
        id: i64,
        state: DeliveryState,
        error: Option<&str>,
    ) -> Result<bool, OutboxError> {
        let updated = self
            .connection
            .lock()
            .execute(
                "UPDATE call_events SET state = ?2, finished_at_ms = ?3,
                     last_error = COALESCE(?4, last_error), next_attempt_at_ms = NULL
                 WHERE seq = ?1 AND state = 'pending'",
                params![
                    id,
                    state.as_str(),
                    unix_millis(SystemTime::now()),
                    error.map(truncated)
                ],
            )
            .map_err(|source| self.database_error(source))?;
        if updated == 0 {
            self.ensure_exists(id)?;
        }
        Ok(updated == 1)
    }

    /// Counts for health checks. Blocks.
    pub fn stats(&self) -> Result<OutboxStats, OutboxError> {
        let connection = self.connection.lock();
        let (pending, oldest, delivered, rejected) = connection
            .query_row(
                "SELECT COUNT(*) FILTER (WHERE state = 'pending'),
                        MIN(recorded_at_ms) FILTER (WHERE state = 'pending'),
                        COUNT(*) FILTER (WHERE state = 'delivered'),
                        COUNT(*) FILTER (WHERE state = 'rejected')
                 FROM call_events",
                [],
                |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, Option<i64>>(1)?,
                        row.get::<_, i64>(2)?,
                        row.get::<_, i64>(3)?,
                    ))
                },
            )
            .map_err(|source| self.database_error(source))?;
        let now = unix_millis(SystemTime::now());
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        Ok(OutboxStats {
            pending: count(pending),
            oldest_pending_age: oldest
                .map(|at| Duration::from_millis(u64::try_from(now - at).unwrap_or(0))),
            delivered: count(delivered),
            rejected: count(rejected),
        })
    }

    /// The event stored under `event_id`, in whatever state. Blocks.
    pub fn find(&self, event_id: &str) -> Result<Option<StoredEvent>, OutboxError> {
        let rows = self.query(
            &format!("SELECT {EVENT_COLUMNS} FROM call_events WHERE event_id = ?1"),
            params![event_id],
        )?;
        Ok(rows.into_iter().next())
    }

    /// Deletes delivered events finished before `before`, keeping the file small;
    /// rejected ones stay for an operator to look at. Returns how many went. Blocks.
    pub fn purge_delivered(&self, before: SystemTime) -> Result<usize, OutboxError> {
        self.connection
            .lock()
            .execute(
                "DELETE FROM call_events WHERE state = 'delivered' AND finished_at_ms < ?1",
                params![unix_millis(before)],
            )
            .map_err(|source| self.database_error(source))
    }

    /// Running totals, updated on every record, delivery, rejection and failure.
    pub fn watch_progress(&self) -> watch::Receiver<OutboxProgress> {
        self.progress.subscribe()
    }

    /// Makes the sender look at the outbox now (after an operator edited the file).
    pub fn wake_sender(&self) {
        self.wake.notify_one();
    }

    pub(super) fn wake_signal(&self) -> &Notify {
        &self.wake
    }

    fn ensure_exists(&self, id: i64) -> Result<(), OutboxError> {
        let exists: bool = self
            .connection
            .lock()
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM call_events WHERE seq = ?1)",
                params![id],
                |row| row.get(0),
            )
            .map_err(|source| self.database_error(source))?;
        if exists {
            Ok(())
        } else {
            Err(OutboxError::UnknownId { id })
        }
    }

    fn query(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<StoredEvent>, OutboxError> {
        let connection = self.connection.lock();
        let raw = connection
            .prepare_cached(sql)
            .and_then(|mut statement| {
                statement
                    .query_map(params, RawEvent::read)?
                    .collect::<Result<Vec<_>, _>>()
            })
            .map_err(|source| self.database_error(source))?;
        raw.into_iter().map(RawEvent::into_stored).collect()
    }
}

fn check_id(field: &'static str, value: &str) -> Result<(), OutboxError> {
    if value.trim().is_empty() || value.chars().count() > MAX_ID_CHARS {
        return Err(OutboxError::Invalid {
            field,
            rule: "is required, at most 200 characters",
        });
    }
    Ok(())
}

/// A row before its text columns are checked.
struct RawEvent {
    stored: StoredEvent,
    kind: String,
    state: String,
}

impl RawEvent {
    fn read(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawEvent> {
        Ok(RawEvent {
            stored: StoredEvent {
                id: row.get(0)?,
                event: CallEvent {
                    event_id: row.get(1)?,
                    call_uuid: row.get(2)?,
                    // Filled in by `into_stored` once the text is checked.
                    kind: CallEventKind::Offered,
                    at_ms: row.get(4)?,
                    caller_phone: row.get(5)?,
                    queue: row.get(6)?,
                    agent: row.get(7)?,
                    recording_path: row.get(8)?,
                    recording_sha256: row.get(9)?,
                    end_reason: row.get(10)?,
                },
                state: DeliveryState::Pending,
                attempts: row.get(12)?,
                last_error: row.get(13)?,
                recorded_at_ms: row.get(14)?,
                next_attempt_at_ms: row.get(15)?,
                finished_at_ms: row.get(16)?,
            },
            kind: row.get(3)?,
            state: row.get(11)?,
        })
    }

    fn into_stored(self) -> Result<StoredEvent, OutboxError> {
        let RawEvent {
            mut stored,
            kind,
            state,
        } = self;
        let corrupt = |reason: String| OutboxError::CorruptRow {
            id: stored.id,
            reason,
        };
        stored.event.kind =
            CallEventKind::parse(&kind).ok_or_else(|| corrupt(format!("kind {kind:?}")))?;
        stored.state =
            DeliveryState::parse(&state).ok_or_else(|| corrupt(format!("state {state:?}")))?;
        Ok(stored)
    }
}

fn unix_millis(at: SystemTime) -> i64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |elapsed| {
        i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
    })
}

fn truncated(error: &str) -> String {
    error.chars().take(MAX_ERROR_CHARS).collect()
}

#[cfg(test)]
mod tests;
