//! Why the ACD refused an operation.

use thiserror::Error;

use super::{AgentState, CallKey};

/// A refused ACD operation. A refused operation changes nothing.
///
/// Every error from [`super::Acd::answered`] means the same thing to the driver: that
/// leg did not get the call and must be hung up with BYE.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AcdError {
    #[error("agent {agent} is not logged in")]
    NotLoggedIn { agent: String },
    #[error("agent {agent} is already logged in")]
    AlreadyLoggedIn { agent: String },
    #[error("agent {agent} must join at least one queue to log in")]
    NoQueues { agent: String },
    #[error("unknown queue {queue:?} (configured queues: {configured})")]
    UnknownQueue { queue: String, configured: String },
    #[error("agent {agent} is {state}; cannot {action}")]
    AgentBusy {
        agent: String,
        state: AgentState,
        action: &'static str,
    },
    #[error("call {call} is already in the ACD")]
    DuplicateCall { call: CallKey },
    #[error("{}; the answer of agent {agent} comes too late", taken_by(*.call, .by.as_deref()))]
    CallTaken {
        call: CallKey,
        agent: String,
        /// The agent who has the call, or `None` when the call has left the ACD
        /// (abandoned, timed out, ended).
        by: Option<String>,
    },
    #[error("agent {agent} was never offered call {call}")]
    NotOffered { call: CallKey, agent: String },
    #[error("agent {agent} is not talking on call {call}")]
    NotOnCall { call: CallKey, agent: String },
}

fn taken_by(call: CallKey, by: Option<&str>) -> String {
    match by {
        Some(agent) => format!("call {call} is already connected to agent {agent}"),
        None => format!("call {call} is no longer waiting"),
    }
}
