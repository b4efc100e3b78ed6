//! Emails, worker notices, and the durable outbox.
//!
//! - [`smtp`]: the `[smtp]` settings and the lettre transport built from them.
//! - [`messages`]: Chinese emails to unions and supervisors (交办, 临期提醒, 催办, 督办, 预警).
//! - [`notices`]: the five 告知书 to the worker.
//! - [`outbox`]: every email is stored in SQLite before it is sent; retried with backoff,
//!   never dropped, deduplicated by key.
//! - [`sender`]: the task that drains the outbox into SMTP.
//!
//! The renderers are pure and know nothing of tickets: callers fill plain structs.

pub mod messages;
pub mod notices;
pub mod outbox;
pub mod sender;
pub mod smtp;

pub use messages::{
    DeadlineKind, DeadlineReminder, DispatchNotice, EarlyWarning, Email, EmployerCluster,
    EscalationNotice, Priority, TicketFacts, UrgeNotice, WarningCause, render_dispatch,
    render_early_warning, render_escalation, render_reminder, render_urge,
};
pub use notices::{
    NoticeDetails, NoticeError, NoticeKind, NoticeRequest, RenderedNotice, chinese_date,
    notice_email, render_notice,
};
pub use outbox::{Backoff, Outbox, OutboxEntry, OutboxError, OutboxProgress, PendingEmail};
pub use sender::{
    Mailer, SendFailure, SenderError, SystemTimeSource, TimeSource, build_message, enqueue,
    run_sender,
};
pub use smtp::{SmtpSecurity, SmtpSettings, SmtpSettingsError};
