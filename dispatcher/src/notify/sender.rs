//! The task that drains the outbox into SMTP.
//!
//! It sends whatever is due, then waits for whichever comes first: the next message's
//! `next_attempt_at`, a new enqueue (a [`tokio::sync::Notify`] inside the outbox), or
//! shutdown. It never polls on a fixed period. The time it compares against comes from
//! an injected [`TimeSource`], so tests can move past a backoff without waiting for it.

use std::fmt::Display;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures::FutureExt as _;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::messages::Email;
use super::outbox::{Outbox, OutboxError, PendingEmail};
use super::smtp::{SmtpSettings, SmtpSettingsError};

/// How many due messages are read from SQLite at a time.
const BATCH_SIZE: usize = 32;

/// Where "now" comes from: the system clock in production, a hand-moved clock in tests.
pub trait TimeSource: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The real wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemTimeSource;

impl TimeSource for SystemTimeSource {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A transport and the sender address every message carries.
#[derive(Clone, Debug)]
pub struct Mailer<T> {
    transport: T,
    from: Mailbox,
}

impl<T> Mailer<T> {
    pub fn new(transport: T, from: Mailbox) -> Self {
        Self { transport, from }
    }

    pub fn from_mailbox(&self) -> &Mailbox {
        &self.from
    }
}

impl Mailer<AsyncSmtpTransport<Tokio1Executor>> {
    /// The production mailer. Must be called inside a tokio runtime (lettre's pool).
    pub fn from_settings(settings: &SmtpSettings) -> Result<Self, SmtpSettingsError> {
        Ok(Self::new(settings.transport()?, settings.from_mailbox()?))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SenderError {
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    #[error("outbox worker thread failed: {0}")]
    Worker(#[from] tokio::task::JoinError),
}

/// Why one message could not be handed to the SMTP server.
#[derive(Debug, thiserror::Error)]
pub enum SendFailure {
    #[error("invalid recipient {address:?}: {reason}")]
    Recipient { address: String, reason: String },
    #[error("cannot build the message: {0}")]
    Build(#[from] lettre::error::Error),
    #[error("SMTP: {0}")]
    Transport(String),
}

/// Turns an outbox email into a UTF-8 plain-text MIME message. lettre encodes the
/// subject and display names per RFC 2047 and picks base64 or quoted-printable for the
/// body, so any SMTP server, 8BITMIME or not, carries the Chinese intact.
pub fn build_message(from: &Mailbox, email: &Email) -> Result<Message, SendFailure> {
    let mut builder = Message::builder()
        .from(from.clone())
        .subject(email.subject.as_str())
        .header(ContentType::TEXT_PLAIN);
    for address in &email.to {
        let mailbox =
            address
                .trim()
                .parse::<Mailbox>()
                .map_err(|error| SendFailure::Recipient {
                    address: address.clone(),
                    reason: error.to_string(),
                })?;
        builder = builder.to(mailbox);
    }
    Ok(builder.body(email.body.clone())?)
}

/// Runs a blocking outbox call on tokio's blocking pool.
async fn on_outbox<R, F>(outbox: &Arc<Outbox>, call: F) -> Result<R, SenderError>
where
    R: Send + 'static,
    F: FnOnce(&Outbox) -> Result<R, OutboxError> + Send + 'static,
{
    let outbox = Arc::clone(outbox);
    Ok(tokio::task::spawn_blocking(move || call(&outbox)).await??)
}

/// Enqueues from async code without blocking the runtime; the sender wakes at once.
pub async fn enqueue(
    outbox: &Arc<Outbox>,
    email: Email,
    dedup_key: String,
    now: DateTime<Utc>,
) -> Result<bool, SenderError> {
    on_outbox(outbox, move |outbox| {
        outbox.enqueue(&email, &dedup_key, now)
    })
    .await
}

async fn send_one<T>(mailer: &Mailer<T>, pending: &PendingEmail) -> Result<(), SendFailure>
where
    T: AsyncTransport + Send + Sync,
    T::Error: Display,
{
    let message = build_message(&mailer.from, &pending.email)?;
    mailer
        .transport
        .send(message)
        .await
        .map(|_| ())
        .map_err(|error| SendFailure::Transport(error.to_string()))
}

/// Sends due messages until shutdown resolves. Returns early only if the outbox file
/// itself fails (the caller should treat that as fatal: mail can no longer be kept).
///
/// A message being handed to the server when shutdown arrives is finished first (the
/// transport's timeout bounds it), so it is not sent twice after a restart.
pub async fn run_sender<T>(
    outbox: Arc<Outbox>,
    mailer: Mailer<T>,
    clock: Arc<dyn TimeSource>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), SenderError>
where
    T: AsyncTransport + Send + Sync,
    T::Error: Display,
{
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // Send everything due now, a batch at a time.
        loop {
            let now = clock.now();
            let batch = on_outbox(&outbox, move |outbox| outbox.due(now, BATCH_SIZE)).await?;
            for pending in &batch {
                if shutdown.as_mut().now_or_never().is_some() {
                    return Ok(());
                }
                let result = send_one(&mailer, pending).await;
                let now = clock.now();
                let id = pending.id;
                match result {
                    Ok(()) => {
                        on_outbox(&outbox, move |outbox| outbox.mark_sent(id, now)).await?;
                        tracing::info!(id, dedup_key = %pending.dedup_key, "email sent");
                    }
                    Err(failure) => {
                        let error = failure.to_string();
                        let next =
                            on_outbox(&outbox, move |outbox| outbox.mark_failed(id, &error, now))
                                .await?;
                        tracing::warn!(
                            id,
                            dedup_key = %pending.dedup_key,
                            attempts = pending.attempts + 1,
                            next_attempt_at = %next,
                            error = %failure,
                            "email not sent; will retry",
                        );
                    }
                }
            }
            if batch.len() < BATCH_SIZE {
                break;
            }
        }

        let next_due = on_outbox(&outbox, Outbox::next_attempt_at).await?;
        let wait = next_due.map(|at| (at - clock.now()).to_std().unwrap_or(Duration::ZERO));
        tokio::select! {
            () = shutdown.as_mut() => return Ok(()),
            () = outbox.wake_signal().notified() => {}
            () = sleep_or_forever(wait) => {}
        }
    }
}

async fn sleep_or_forever(wait: Option<Duration>) {
    match wait {
        Some(wait) => tokio::time::sleep(wait).await,
        None => std::future::pending().await,
    }
}
