//! The work-order lifecycle as a pure state machine.
//!
//! `dispatched → signed → replied → approved → called_back → closed`, with the side
//! paths of `DOMAIN.md`: return (terminal for this work order; the ticket is
//! re-dispatched as a new one), extension request and decision, rework after review,
//! reopen after an unsatisfied callback or after closing, and urges, which are events
//! that change no state. Deadlines come from the dispatcher's working-day clock and are
//! passed in; this module only checks that they make sense.

use serde::{Deserialize, Serialize};

/// Unix milliseconds, UTC.
pub type Millis = i64;

const DAY_MS: Millis = 24 * 60 * 60 * 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkOrderState {
    Dispatched,
    Signed,
    Replied,
    Approved,
    CalledBack,
    Closed,
    Returned,
}

impl WorkOrderState {
    pub const ALL: [WorkOrderState; 7] = [
        Self::Dispatched,
        Self::Signed,
        Self::Replied,
        Self::Approved,
        Self::CalledBack,
        Self::Closed,
        Self::Returned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dispatched => "dispatched",
            Self::Signed => "signed",
            Self::Replied => "replied",
            Self::Approved => "approved",
            Self::CalledBack => "called_back",
            Self::Closed => "closed",
            Self::Returned => "returned",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|state| state.as_str() == text)
    }

    /// Still with the handling union or the reviewers: counts towards workload and
    /// blocks a second dispatch of the same ticket.
    pub fn is_open(self) -> bool {
        !matches!(self, Self::Closed | Self::Returned)
    }
}

impl std::fmt::Display for WorkOrderState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyOutcome {
    Resolved,
    PartlyResolved,
    NotResolved,
    Explained,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallbackResult {
    Satisfied,
    BasicallySatisfied,
    Unsatisfied,
    Unreachable,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UrgeLevel {
    Reminder,
    Urge,
    Escalation,
}

impl UrgeLevel {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "reminder" => Some(Self::Reminder),
            "urge" | "" => Some(Self::Urge),
            "escalation" => Some(Self::Escalation),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyRecord {
    pub outcome: ReplyOutcome,
    pub text: String,
    pub amount_recovered_fen: i64,
    pub workers_helped: i32,
}

/// The current state of one work order, as stored beside its events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkOrder {
    pub state: WorkOrderState,
    pub dispatched_at: Millis,
    pub sign_due_at: Option<Millis>,
    pub signed_at: Option<Millis>,
    pub reply_due_at: Option<Millis>,
    /// The reply deadline before any extension: the extension cap counts from here.
    pub original_reply_due_at: Option<Millis>,
    pub replied_at: Option<Millis>,
    pub reply: Option<ReplyRecord>,
    pub extension_requested_until: Option<Millis>,
    pub return_reason: Option<String>,
    pub approved_at: Option<Millis>,
    pub callback_result: Option<CallbackResult>,
    pub closed_at: Option<Millis>,
    pub rework_count: u32,
    pub reopen_count: u32,
    pub urge_count: u32,
}

impl WorkOrder {
    /// A freshly dispatched work order.
    pub fn dispatched(
        now: Millis,
        sign_due_at: Option<Millis>,
        reply_due_at: Option<Millis>,
    ) -> Result<Self, TransitionError> {
        check_future("sign_due_at_ms", sign_due_at, now)?;
        check_future("reply_due_at_ms", reply_due_at, now)?;
        if let (Some(sign), Some(reply)) = (sign_due_at, reply_due_at)
            && reply < sign
        {
            return Err(TransitionError::invalid(
                "reply_due_at_ms",
                "must not be before sign_due_at_ms",
            ));
        }
        Ok(Self {
            state: WorkOrderState::Dispatched,
            dispatched_at: now,
            sign_due_at,
            signed_at: None,
            reply_due_at,
            original_reply_due_at: reply_due_at,
            replied_at: None,
            reply: None,
            extension_requested_until: None,
            return_reason: None,
            approved_at: None,
            callback_result: None,
            closed_at: None,
            rework_count: 0,
            reopen_count: 0,
            urge_count: 0,
        })
    }
}

/// One step of the lifecycle, as asked for by a user or the dispatcher.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    Sign,
    Reply(ReplyRecord),
    Return,
    RequestExtension {
        until: Millis,
    },
    DecideExtension {
        approve: bool,
    },
    Review {
        approve: bool,
        rework_reply_due_at: Option<Millis>,
    },
    Callback {
        result: CallbackResult,
        reopen_reply_due_at: Option<Millis>,
    },
    Reopen {
        reply_due_at: Millis,
    },
    Close,
    Urge {
        level: UrgeLevel,
    },
}

impl Action {
    /// The event name written to the log, e.g. `work_order.signed`.
    pub fn event_name(&self) -> &'static str {
        match self {
            Self::Sign => "work_order.signed",
            Self::Reply(_) => "work_order.replied",
            Self::Return => "work_order.returned",
            Self::RequestExtension { .. } => "work_order.extension_requested",
            Self::DecideExtension { approve: true } => "work_order.extension_approved",
            Self::DecideExtension { approve: false } => "work_order.extension_denied",
            Self::Review { approve: true, .. } => "work_order.approved",
            Self::Review { approve: false, .. } => "work_order.rework",
            Self::Callback { .. } => "work_order.called_back",
            Self::Reopen { .. } => "work_order.reopened",
            Self::Close => "work_order.closed",
            Self::Urge {
                level: UrgeLevel::Reminder,
            } => "work_order.reminded",
            Self::Urge {
                level: UrgeLevel::Urge,
            } => "work_order.urged",
            Self::Urge {
                level: UrgeLevel::Escalation,
            } => "work_order.escalated",
        }
    }

    fn verb(&self) -> &'static str {
        match self {
            Self::Sign => "sign for",
            Self::Reply(_) => "reply to",
            Self::Return => "return",
            Self::RequestExtension { .. } => "request an extension of",
            Self::DecideExtension { .. } => "decide an extension of",
            Self::Review { .. } => "review",
            Self::Callback { .. } => "record a callback on",
            Self::Reopen { .. } => "reopen",
            Self::Close => "close",
            Self::Urge { .. } => "urge",
        }
    }

    /// Steps whose reason is part of the record and may not be left out.
    fn needs_reason(&self) -> bool {
        matches!(
            self,
            Self::Return
                | Self::RequestExtension { .. }
                | Self::DecideExtension { approve: false }
                | Self::Review { approve: false, .. }
                | Self::Reopen { .. }
        )
    }
}

/// Limits that are configuration, not law of nature.
#[derive(Clone, Debug)]
pub struct Policy {
    /// Total extension allowed beyond the original reply deadline (default 30 calendar days).
    pub extension_cap_ms: Millis,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            extension_cap_ms: 30 * DAY_MS,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// The step does not apply to the work order as it is now.
    #[error("cannot {verb} a work order that is {state}{detail}")]
    NotAllowed {
        verb: &'static str,
        state: WorkOrderState,
        detail: &'static str,
    },
    /// A field of the request breaks a rule.
    #[error("{field}: {rule}")]
    Invalid { field: &'static str, rule: String },
}

impl TransitionError {
    fn invalid(field: &'static str, rule: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            rule: rule.into(),
        }
    }
}

fn check_future(
    field: &'static str,
    at: Option<Millis>,
    now: Millis,
) -> Result<(), TransitionError> {
    match at {
        Some(at) if at <= now => Err(TransitionError::invalid(field, "must be in the future")),
        _ => Ok(()),
    }
}

fn required_future(
    field: &'static str,
    at: Option<Millis>,
    now: Millis,
) -> Result<Millis, TransitionError> {
    match at {
        None | Some(0) => Err(TransitionError::invalid(field, "is required for this step")),
        Some(at) if at <= now => Err(TransitionError::invalid(field, "must be in the future")),
        Some(at) => Ok(at),
    }
}

/// Applies `action` to `current` at `now`; returns the new state or why not.
/// `reason` is the human explanation kept with the event.
pub fn apply(
    current: &WorkOrder,
    action: &Action,
    reason: &str,
    now: Millis,
    policy: &Policy,
) -> Result<WorkOrder, TransitionError> {
    use WorkOrderState as S;
    let not_allowed = |detail: &'static str| TransitionError::NotAllowed {
        verb: action.verb(),
        state: current.state,
        detail,
    };
    if action.needs_reason() && reason.trim().is_empty() {
        return Err(TransitionError::invalid(
            "reason",
            "is required for this step",
        ));
    }
    let mut next = current.clone();
    match action {
        Action::Sign => {
            if current.state != S::Dispatched {
                return Err(not_allowed(""));
            }
            next.state = S::Signed;
            next.signed_at = Some(now);
        }
        Action::Return => {
            if !matches!(current.state, S::Dispatched | S::Signed) {
                return Err(not_allowed(""));
            }
            next.state = S::Returned;
            next.return_reason = Some(reason.trim().to_owned());
            next.extension_requested_until = None;
        }
        Action::Reply(reply) => {
            if current.state != S::Signed {
                return Err(not_allowed(""));
            }
            if reply.text.trim().is_empty() {
                return Err(TransitionError::invalid("reply.text", "must not be empty"));
            }
            if reply.amount_recovered_fen < 0 {
                return Err(TransitionError::invalid(
                    "reply.amount_recovered_fen",
                    "must not be negative",
                ));
            }
            if reply.workers_helped < 0 {
                return Err(TransitionError::invalid(
                    "reply.workers_helped",
                    "must not be negative",
                ));
            }
            next.state = S::Replied;
            next.replied_at = Some(now);
            next.reply = Some(reply.clone());
            // A reply answers the case; an extension still pending is moot.
            next.extension_requested_until = None;
        }
        Action::RequestExtension { until } => {
            if current.state != S::Signed {
                return Err(not_allowed(""));
            }
            if current.extension_requested_until.is_some() {
                return Err(not_allowed(" with an extension request already pending"));
            }
            let (Some(due), Some(original)) = (current.reply_due_at, current.original_reply_due_at)
            else {
                return Err(not_allowed(" without a reply deadline"));
            };
            if *until <= due {
                return Err(TransitionError::invalid(
                    "request_extension.until_ms",
                    "must be after the current reply deadline",
                ));
            }
            if *until - original > policy.extension_cap_ms {
                return Err(TransitionError::invalid(
                    "request_extension.until_ms",
                    format!(
                        "total extension may not exceed {} days beyond the original deadline",
                        policy.extension_cap_ms / DAY_MS
                    ),
                ));
            }
            next.extension_requested_until = Some(*until);
        }
        Action::DecideExtension { approve } => {
            let Some(until) = current.extension_requested_until else {
                return Err(not_allowed(" with no extension request pending"));
            };
            if *approve {
                next.reply_due_at = Some(until);
            }
            next.extension_requested_until = None;
        }
        Action::Review {
            approve,
            rework_reply_due_at,
        } => {
            if current.state != S::Replied {
                return Err(not_allowed(""));
            }
            if *approve {
                next.state = S::Approved;
                next.approved_at = Some(now);
            } else {
                let due =
                    required_future("review.rework_reply_due_at_ms", *rework_reply_due_at, now)?;
                next.state = S::Signed;
                next.rework_count += 1;
                next.reply_due_at = Some(due);
                next.original_reply_due_at = Some(due);
                next.replied_at = None;
                next.reply = None;
            }
        }
        Action::Callback {
            result,
            reopen_reply_due_at,
        } => {
            if current.state != S::Approved {
                return Err(not_allowed(""));
            }
            next.callback_result = Some(*result);
            if *result == CallbackResult::Unsatisfied {
                // An unsatisfied worker reopens the case with the same union.
                let due =
                    required_future("callback.reopen_reply_due_at_ms", *reopen_reply_due_at, now)?;
                reopen(&mut next, due);
            } else {
                next.state = S::CalledBack;
            }
        }
        Action::Reopen { reply_due_at } => {
            if !matches!(current.state, S::CalledBack | S::Closed) {
                return Err(not_allowed(""));
            }
            let due = required_future("reopen.reply_due_at_ms", Some(*reply_due_at), now)?;
            reopen(&mut next, due);
        }
        Action::Close => {
            if current.state != S::CalledBack {
                return Err(not_allowed(""));
            }
            next.state = S::Closed;
            next.closed_at = Some(now);
        }
        Action::Urge { .. } => {
            if !matches!(current.state, S::Dispatched | S::Signed | S::Replied) {
                return Err(not_allowed(""));
            }
            next.urge_count += 1;
        }
    }
    Ok(next)
}

fn reopen(next: &mut WorkOrder, reply_due_at: Millis) {
    next.state = WorkOrderState::Signed;
    next.reopen_count += 1;
    next.reply_due_at = Some(reply_due_at);
    next.original_reply_due_at = Some(reply_due_at);
    next.replied_at = None;
    next.reply = None;
    next.approved_at = None;
    next.closed_at = None;
}

#[cfg(test)]
#[path = "work_order_tests.rs"]
mod tests;
