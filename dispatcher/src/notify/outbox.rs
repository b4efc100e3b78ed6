//! The durable outbox: every email is written to the dispatcher's own SQLite file before
//! any attempt to send it, and stays there, with its attempts and last error, until the
//! SMTP server has accepted it. Nothing is ever dropped: a message that keeps failing is
//! retried at the backoff cap for as long as it takes, and an operator can see why in
//! `last_error`.
//!
//! Every method blocks on SQLite; async code calls them through `spawn_blocking` (see
//! [`super::sender`]).
//!
//! Delivery is at least once: if the process dies after the SMTP server accepted a
//! message but before [`Outbox::mark_sent`] committed, the message goes out again after a
//! restart. Replayed events, by contrast, are absorbed by the unique `dedup_key`.

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use lettre::Address;
use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::{Notify, watch};

use super::messages::Email;

/// The longest `last_error` kept: SMTP servers can answer with pages of text.
const MAX_ERROR_CHARS: usize = 2000;

const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    dedup_key       TEXT    NOT NULL UNIQUE,
    recipients      TEXT    NOT NULL,          -- JSON array of addresses
    subject         TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    created_at      INTEGER NOT NULL,          -- Unix milliseconds, UTC
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,          -- Unix milliseconds, UTC
    last_error      TEXT,
    sent_at         INTEGER                    -- Unix milliseconds, UTC; NULL while pending
);
CREATE INDEX IF NOT EXISTS outbox_pending_by_due_time
    ON outbox (next_attempt_at, id) WHERE sent_at IS NULL;
";

/// How long to wait before the next attempt after a failure: `initial`, doubling with
/// each failed attempt, never more than `cap`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub initial: Duration,
    pub cap: Duration,
}

impl Default for Backoff {
    /// 30 s, 1 min, 2 min, … up to 30 min.
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(30),
            cap: Duration::from_secs(30 * 60),
        }
    }
}

impl Backoff {
    /// The wait after the `attempts`-th failed attempt (1 for the first failure).
    pub fn delay_after(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(31);
        self.initial
            .checked_mul(1u32 << doublings)
            .map_or(self.cap, |delay| delay.min(self.cap))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("outbox database: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("outbox: an email needs at least one recipient (dedup key {dedup_key})")]
    NoRecipients { dedup_key: String },
    #[error("outbox: recipient {address:?} is not an email address: {reason}")]
    InvalidRecipient { address: String, reason: String },
    #[error("outbox: the dedup key must not be empty")]
    EmptyDedupKey,
    #[error("outbox: row {id} is unreadable: {reason}")]
    CorruptRow { id: i64, reason: String },
    #[error("outbox: no message with id {id}")]
    UnknownId { id: i64 },
}

/// A message whose time has come.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingEmail {
    pub id: i64,
    pub dedup_key: String,
    pub email: Email,
    /// Failed attempts so far.
    pub attempts: u32,
}

/// Everything the outbox knows about one message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxEntry {
    pub id: i64,
    pub dedup_key: String,
    pub email: Email,
    pub created_at: DateTime<Utc>,
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
}

/// Running totals since the outbox was opened, published on every change so tests and
/// health checks can wait for an event instead of polling the database.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutboxProgress {
    pub enqueued: u64,
    pub sent: u64,
    pub failed_attempts: u64,
}

/// The outbox file. Share it as `Arc<Outbox>`: one [`super::sender::run_sender`] drains
/// it, any number of producers enqueue into it.
pub struct Outbox {
    connection: Mutex<Connection>,
    backoff: Backoff,
    /// Wakes the sender when a message is enqueued; `notify_one` keeps a permit when the
    /// sender is busy, so an enqueue between its check and its wait is never missed.
    wake: Notify,
    progress: watch::Sender<OutboxProgress>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("backoff", &self.backoff)
            .field("progress", &*self.progress.borrow())
            .finish_non_exhaustive()
    }
}

fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

fn from_millis(id: i64, ms: i64) -> Result<DateTime<Utc>, OutboxError> {
    DateTime::from_timestamp_millis(ms).ok_or_else(|| OutboxError::CorruptRow {
        id,
        reason: format!("timestamp {ms} out of range"),
    })
}

fn truncated(error: &str) -> String {
    error.chars().take(MAX_ERROR_CHARS).collect()
}

impl Outbox {
    /// Opens (creating if needed) the outbox file with the default backoff.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, OutboxError> {
        Self::open_with_backoff(path, Backoff::default())
    }

    pub fn open_with_backoff(
        path: impl AsRef<Path>,
        backoff: Backoff,
    ) -> Result<Self, OutboxError> {
        let connection = Connection::open(path)?;
        // WAL lets readers (reports, health checks) run beside the sender; FULL sync makes
        // an enqueue survive a power cut, which is the point of an outbox.
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "FULL")?;
        connection.busy_timeout(Duration::from_secs(5))?;
        connection.execute_batch(SCHEMA)?;
        let version: i64 = connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
        if version == 0 {
            connection.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        }
        let (progress, _) = watch::channel(OutboxProgress::default());
        Ok(Self {
            connection: Mutex::new(connection),
            backoff,
            wake: Notify::new(),
            progress,
        })
    }

    fn connection(&self) -> MutexGuard<'_, Connection> {
        // A panic while the lock was held cannot leave SQLite half-written (statements are
        // atomic), so the connection stays usable.
        self.connection
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    pub fn backoff(&self) -> Backoff {
        self.backoff
    }

    /// Stores a message for sending. Returns `false`, changing nothing, when a message with
    /// the same `dedup_key` was ever enqueued (pending or sent): events may be replayed.
    /// Recipients are checked here, so a malformed address is refused at once instead of
    /// being retried forever.
    pub fn enqueue(
        &self,
        email: &Email,
        dedup_key: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, OutboxError> {
        if dedup_key.trim().is_empty() {
            return Err(OutboxError::EmptyDedupKey);
        }
        if email.to.is_empty() {
            return Err(OutboxError::NoRecipients {
                dedup_key: dedup_key.to_owned(),
            });
        }
        let recipients: Vec<String> = email.to.iter().map(|to| to.trim().to_owned()).collect();
        for address in &recipients {
            address
                .parse::<Address>()
                .map_err(|error| OutboxError::InvalidRecipient {
                    address: address.clone(),
                    reason: error.to_string(),
                })?;
        }
        let recipients_json =
            serde_json::to_string(&recipients).map_err(|error| OutboxError::CorruptRow {
                id: 0,
                reason: error.to_string(),
            })?;
        let inserted = self.connection().execute(
            "INSERT INTO outbox (dedup_key, recipients, subject, body, created_at, next_attempt_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?5)
             ON CONFLICT (dedup_key) DO NOTHING",
            params![
                dedup_key,
                recipients_json,
                email.subject,
                email.body,
                millis(now)
            ],
        )?;
        if inserted == 1 {
            self.progress.send_modify(|progress| progress.enqueued += 1);
            self.wake.notify_one();
        }
        Ok(inserted == 1)
    }

    /// Unsent messages whose next attempt is due at `now`, oldest due first.
    pub fn due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<PendingEmail>, OutboxError> {
        let connection = self.connection();
        let mut statement = connection.prepare_cached(
            "SELECT id, dedup_key, recipients, subject, body, attempts FROM outbox
             WHERE sent_at IS NULL AND next_attempt_at <= ?1
             ORDER BY next_attempt_at, id LIMIT ?2",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = statement.query_map(params![millis(now), limit], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, String>(4)?,
                row.get::<_, u32>(5)?,
            ))
        })?;
        let mut pending = Vec::new();
        for row in rows {
            let (id, dedup_key, recipients, subject, body, attempts) = row?;
            pending.push(PendingEmail {
                id,
                dedup_key,
                email: Email {
                    to: parse_recipients(id, &recipients)?,
                    subject,
                    body,
                },
                attempts,
            });
        }
        Ok(pending)
    }

    /// When the earliest unsent message is due, if any.
    pub fn next_attempt_at(&self) -> Result<Option<DateTime<Utc>>, OutboxError> {
        let next: Option<i64> = self.connection().query_row(
            "SELECT MIN(next_attempt_at) FROM outbox WHERE sent_at IS NULL",
            [],
            |row| row.get(0),
        )?;
        next.map(|ms| from_millis(0, ms)).transpose()
    }

    /// Records that the SMTP server accepted the message.
    pub fn mark_sent(&self, id: i64, now: DateTime<Utc>) -> Result<(), OutboxError> {
        let updated = self.connection().execute(
            "UPDATE outbox SET sent_at = ?2, last_error = NULL WHERE id = ?1 AND sent_at IS NULL",
            params![id, millis(now)],
        )?;
        if updated == 0 {
            self.ensure_exists(id)?;
        } else {
            self.progress.send_modify(|progress| progress.sent += 1);
        }
        Ok(())
    }

    /// Records a failed attempt and schedules the next one with backoff. Returns when the
    /// next attempt is due (times are stored to the millisecond).
    pub fn mark_failed(
        &self,
        id: i64,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, OutboxError> {
        let mut connection = self.connection();
        let transaction = connection.transaction()?;
        let attempts: Option<u32> = transaction
            .query_row(
                "SELECT attempts FROM outbox WHERE id = ?1 AND sent_at IS NULL",
                params![id],
                |row| row.get(0),
            )
            .optional()?;
        let Some(attempts) = attempts else {
            drop(transaction);
            drop(connection);
            self.ensure_exists(id)?;
            // Already sent: a late failure report changes nothing.
            return Ok(now);
        };
        let attempts = attempts.saturating_add(1);
        let delay = chrono::Duration::from_std(self.backoff.delay_after(attempts))
            .unwrap_or(chrono::Duration::MAX);
        let next_attempt_at = now
            .checked_add_signed(delay)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        transaction.execute(
            "UPDATE outbox SET attempts = ?2, last_error = ?3, next_attempt_at = ?4 WHERE id = ?1",
            params![id, attempts, truncated(error), millis(next_attempt_at)],
        )?;
        transaction.commit()?;
        self.progress
            .send_modify(|progress| progress.failed_attempts += 1);
        // Report what was stored, at the table's millisecond precision.
        from_millis(id, millis(next_attempt_at))
    }

    fn ensure_exists(&self, id: i64) -> Result<(), OutboxError> {
        let exists: bool = self.connection().query_row(
            "SELECT EXISTS (SELECT 1 FROM outbox WHERE id = ?1)",
            params![id],
            |row| row.get(0),
        )?;
        if exists {
            Ok(())
        } else {
            Err(OutboxError::UnknownId { id })
        }
    }

    /// The message stored under `dedup_key`, sent or not.
    pub fn find(&self, dedup_key: &str) -> Result<Option<OutboxEntry>, OutboxError> {
        let connection = self.connection();
        let row = connection
            .query_row(
                "SELECT id, dedup_key, recipients, subject, body, created_at, attempts,
                        next_attempt_at, last_error, sent_at
                 FROM outbox WHERE dedup_key = ?1",
                params![dedup_key],
                |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, String>(3)?,
                        row.get::<_, String>(4)?,
                        row.get::<_, i64>(5)?,
                        row.get::<_, u32>(6)?,
                        row.get::<_, i64>(7)?,
                        row.get::<_, Option<String>>(8)?,
                        row.get::<_, Option<i64>>(9)?,
                    ))
                },
            )
            .optional()?;
        let Some((
            id,
            dedup_key,
            recipients,
            subject,
            body,
            created,
            attempts,
            next,
            last_error,
            sent,
        )) = row
        else {
            return Ok(None);
        };
        Ok(Some(OutboxEntry {
            id,
            dedup_key,
            email: Email {
                to: parse_recipients(id, &recipients)?,
                subject,
                body,
            },
            created_at: from_millis(id, created)?,
            attempts,
            next_attempt_at: from_millis(id, next)?,
            last_error,
            sent_at: sent.map(|ms| from_millis(id, ms)).transpose()?,
        }))
    }

    /// How many messages wait to be sent (for health checks).
    pub fn pending_count(&self) -> Result<u64, OutboxError> {
        let count: i64 = self.connection().query_row(
            "SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL",
            [],
            |row| row.get(0),
        )?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// Running totals, updated on every enqueue, send and failure.
    pub fn watch_progress(&self) -> watch::Receiver<OutboxProgress> {
        self.progress.subscribe()
    }

    /// Makes the sender look at the outbox now, e.g. after a test clock moved forward.
    pub fn wake_sender(&self) {
        self.wake.notify_one();
    }

    pub(super) fn wake_signal(&self) -> &Notify {
        &self.wake
    }
}

fn parse_recipients(id: i64, json: &str) -> Result<Vec<String>, OutboxError> {
    serde_json::from_str(json).map_err(|error| OutboxError::CorruptRow {
        id,
        reason: format!("recipients: {error}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_795_000_000 + seconds, 0).expect("in range")
    }

    fn email(subject: &str) -> Email {
        Email {
            to: vec!["union@example.cn".into()],
            subject: subject.into(),
            body: "正文".into(),
        }
    }

    fn open() -> (tempfile::TempDir, Outbox) {
        let dir = tempfile::tempdir().expect("temp dir");
        let outbox = Outbox::open(dir.path().join("outbox.sqlite")).expect("open");
        (dir, outbox)
    }

    #[test]
    fn backoff_doubles_to_the_cap() {
        let backoff = Backoff::default();
        let seconds: Vec<u64> = (1..=9).map(|n| backoff.delay_after(n).as_secs()).collect();
        assert_eq!(seconds, [30, 60, 120, 240, 480, 960, 1800, 1800, 1800]);
        assert_eq!(backoff.delay_after(u32::MAX).as_secs(), 1800);
    }

    #[test]
    fn the_same_dedup_key_is_stored_once_even_after_sending() {
        let (_dir, outbox) = open();
        assert!(
            outbox
                .enqueue(&email("一"), "dispatch:1", at(0))
                .expect("enqueue")
        );
        assert!(
            !outbox
                .enqueue(&email("二"), "dispatch:1", at(1))
                .expect("enqueue")
        );
        let due = outbox.due(at(1), 10).expect("due");
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].email.subject, "一");
        outbox.mark_sent(due[0].id, at(2)).expect("sent");
        assert!(
            !outbox
                .enqueue(&email("三"), "dispatch:1", at(3))
                .expect("enqueue")
        );
        assert!(outbox.due(at(100), 10).expect("due").is_empty());
        assert_eq!(outbox.pending_count().expect("count"), 0);
    }

    #[test]
    fn failures_back_off_and_keep_the_message() {
        let (_dir, outbox) = open();
        outbox.enqueue(&email("一"), "k", at(0)).expect("enqueue");
        let id = outbox.due(at(0), 1).expect("due")[0].id;
        assert_eq!(
            outbox
                .mark_failed(id, "connection refused", at(0))
                .expect("failed"),
            at(30)
        );
        assert!(outbox.due(at(29), 10).expect("due").is_empty());
        assert_eq!(outbox.due(at(30), 10).expect("due")[0].attempts, 1);
        assert_eq!(
            outbox.mark_failed(id, "again", at(30)).expect("failed"),
            at(90)
        );
        let entry = outbox.find("k").expect("find").expect("present");
        assert_eq!(entry.attempts, 2);
        assert_eq!(entry.last_error.as_deref(), Some("again"));
        assert_eq!(entry.next_attempt_at, at(90));
        assert_eq!(outbox.next_attempt_at().expect("next"), Some(at(90)));
        assert!(entry.sent_at.is_none());
    }

    #[test]
    fn bad_input_is_refused_at_enqueue() {
        let (_dir, outbox) = open();
        let mut no_one = email("x");
        no_one.to.clear();
        assert!(matches!(
            outbox.enqueue(&no_one, "a", at(0)),
            Err(OutboxError::NoRecipients { .. })
        ));
        let mut bad = email("x");
        bad.to = vec!["not an address".into()];
        assert!(matches!(
            outbox.enqueue(&bad, "b", at(0)),
            Err(OutboxError::InvalidRecipient { .. })
        ));
        assert!(matches!(
            outbox.enqueue(&email("x"), " ", at(0)),
            Err(OutboxError::EmptyDedupKey)
        ));
        assert!(matches!(
            outbox.mark_sent(42, at(0)),
            Err(OutboxError::UnknownId { id: 42 })
        ));
    }

    #[test]
    fn messages_survive_reopening() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("outbox.sqlite");
        {
            let outbox = Outbox::open(&path).expect("open");
            outbox.enqueue(&email("留存"), "k", at(0)).expect("enqueue");
        }
        let reopened = Outbox::open(&path).expect("reopen");
        let due = reopened.due(at(0), 10).expect("due");
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].email, email("留存"));
    }
}
