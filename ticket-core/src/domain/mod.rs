//! The domain of ticket-core: who may do what, to which records, and with what checks.
//! It never sees tonic or protobuf types; the `grpc` module adapts to it.

pub mod actor;
pub mod alerts;
pub mod calls;
pub mod directory;
pub mod dispatch_queue;
pub mod events;
pub mod metrics;
pub mod notices;
pub mod records;
pub mod search;
pub mod text;
pub mod tickets;
pub mod work_orders;

use std::sync::Arc;

use hotline_workflow::validate::FieldViolation;

pub use actor::{Actor, Role};

use crate::config::CoreConfig;
use crate::store::Db;

#[derive(Debug, Clone, thiserror::Error)]
pub enum CoreError {
    /// One or more fields break a rule; nothing was stored.
    #[error("invalid request: {}", violations.iter().map(|v| format!("{}: {}", v.field, v.rule)).collect::<Vec<_>>().join("; "))]
    Invalid { violations: Vec<FieldViolation> },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    PermissionDenied(String),
    /// The step does not apply to the record as it is now (an illegal transition).
    #[error("{0}")]
    FailedPrecondition(String),
    /// Someone else changed the record first (optimistic version check).
    #[error("{0}")]
    Conflict(String),
    #[error("storage: {0}")]
    Storage(String),
}

impl CoreError {
    pub fn invalid(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Self::Invalid {
            violations: vec![FieldViolation {
                field: field.into(),
                rule: rule.into(),
            }],
        }
    }
}

impl From<FieldViolation> for CoreError {
    fn from(violation: FieldViolation) -> Self {
        Self::Invalid {
            violations: vec![violation],
        }
    }
}

impl From<hotline_workflow::work_order::TransitionError> for CoreError {
    fn from(e: hotline_workflow::work_order::TransitionError) -> Self {
        use hotline_workflow::work_order::TransitionError as T;
        match e {
            T::NotAllowed { .. } => Self::FailedPrecondition(e.to_string()),
            T::Invalid { field, rule } => Self::invalid(field, rule),
        }
    }
}

impl From<hotline_workflow::ticket::TicketTransitionError> for CoreError {
    fn from(e: hotline_workflow::ticket::TicketTransitionError) -> Self {
        Self::FailedPrecondition(e.to_string())
    }
}

/// Collects field violations so a request with several bad fields hears of all of them.
#[derive(Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    pub fn check<T>(&mut self, result: Result<T, FieldViolation>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(v) => {
                self.0.push(v);
                None
            }
        }
    }

    pub fn push(&mut self, field: impl Into<String>, rule: impl Into<String>) {
        self.0.push(FieldViolation {
            field: field.into(),
            rule: rule.into(),
        });
    }

    pub fn into_result(self) -> Result<(), CoreError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(CoreError::Invalid { violations: self.0 })
        }
    }
}

/// Source of the current time, injected so deadlines and windows are testable.
pub trait Clock: Send + Sync {
    fn now_ms(&self) -> i64;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        chrono::Utc::now().timestamp_millis()
    }
}

/// The ticket core's domain service: one per process, cheap to clone.
#[derive(Clone)]
pub struct TicketCore {
    pub(crate) db: Db,
    pub(crate) config: Arc<CoreConfig>,
    pub(crate) clock: Arc<dyn Clock>,
}

impl TicketCore {
    pub fn new(db: Db, config: CoreConfig, clock: Arc<dyn Clock>) -> Self {
        Self {
            db,
            config: Arc::new(config),
            clock,
        }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub(crate) fn now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// The injected clock's time, for adapters that report durations.
    pub fn clock_now(&self) -> i64 {
        self.clock.now_ms()
    }
}
