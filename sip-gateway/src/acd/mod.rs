//! Automatic call distribution: which agent's softphone rings for which waiting call.
//!
//! [`Acd`] is a sans-io state machine in the style of the SIP transaction layer. The
//! driver tells it what happened (an agent logged in, a call entered a queue, a leg
//! answered or failed, the caller hung up) together with `now`, then drains
//! [`Acd::poll_action`] until it returns `None` and arms one timer at
//! [`Acd::poll_timeout`] that calls [`Acd::handle_timeout`]. Nothing here reads a
//! clock, opens a socket or spawns a task, so every rule below is tested on a virtual
//! clock and the driver stays a thin translation between SIP and these calls.
//!
//! # Why the shapes are what they are
//!
//! * **One agent rings per call.** A call is offered to the longest-idle Ready agent
//!   of its queue for [`AcdConfig::ring_timeout`]; on timeout or failure that agent is
//!   paused with reason `"no answer"` (so an absent agent stops swallowing calls) and
//!   the next agent rings. Ringing several phones at once would make "never two
//!   agents on one call" depend on CANCEL racing 200 OK for every call; with one ring
//!   at a time the race only exists for a leg whose ring timed out.
//! * **The race is settled here, not in the driver.** A 200 OK may cross our CANCEL.
//!   [`Acd::answered`] accepts the first answer from any leg offered this call that is
//!   still free (a person has picked up; the caller is better served by them than by
//!   another ring) and cancels the ring in progress; every later answer gets
//!   [`AcdError::CallTaken`], which tells the driver to send BYE on that leg. Exactly
//!   one [`AcdAction::Connect`] is emitted per call per queue visit.
//! * **Idle time survives a ring that is not the agent's fault.** An agent whose ring
//!   is cancelled because the caller hung up or another leg answered keeps their
//!   place in the longest-idle order; idle time restarts only when they become Ready
//!   by login, by pressing Ready, or at the end of wrap-up.
//! * **Calls are FIFO per queue; across queues the caller who arrived first wins.**
//!   An agent can belong to several queues (agents and duty lawyers are separated by
//!   queue membership only), so when one agent could take calls from two queues the
//!   call that first reached the hotline goes first.
//! * **Transferred calls jump the queue.** [`Acd::transfer`] puts the call ahead of
//!   every ordinary caller of the target queue, behind earlier transfers: the worker
//!   has already waited once and has already explained the matter to an agent.
//! * **A ringing call is never cut off by [`AcdConfig::max_queue_wait`].** When the
//!   wait runs out during a ring, the ring is allowed to finish; if nobody answers,
//!   the call leaves with [`AcdAction::QueueTimeout`] instead of ringing the next agent.
//! * **Login makes an agent Ready.** Agents log in to take calls; a login that should
//!   not take calls yet is followed by [`Acd::pause`] in the same batch, before the
//!   driver drains any action.
//! * **Pausing while talking is remembered.** [`Acd::pause`] during a call takes
//!   effect when the wrap-up after that call ends, so an agent can plan a break
//!   without being handed one more call; [`Acd::set_ready`] during the call undoes it.
//!
//! Timer-driven transitions (ring timeout, end of wrap-up) are stamped with the
//! instant the timer was due, not with the possibly later `now` at which the driver
//! woke up, so the supervisor wall and the longest-idle order do not depend on
//! scheduling jitter.

mod agents;
mod distributor;
mod error;
mod snapshot;

#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;

use std::fmt;
use std::time::{Duration, Instant};

pub use distributor::Acd;
pub use error::AcdError;
pub use snapshot::{AcdSnapshot, AgentSnapshot, QueueSnapshot};

/// The gateway's number for one worker's call, stable across queues and transfers.
pub type CallKey = u64;

/// The reason given to an agent paused because a ring went unanswered or failed.
pub const NO_ANSWER: &str = "no answer";

/// Queue and timer settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcdConfig {
    /// How long one agent's phone rings before the call moves to the next agent.
    pub ring_timeout: Duration,
    /// Time after a call for the agent to finish the ticket before the next call.
    /// Zero returns the agent to Ready at once.
    pub wrap_up: Duration,
    /// Interval between position announcements to a waiting caller. Zero announces
    /// only once, on entering the queue.
    pub position_announce_every: Duration,
    /// Longest time a call waits in one queue before [`AcdAction::QueueTimeout`];
    /// `None` waits for ever.
    pub max_queue_wait: Option<Duration>,
    /// The queue names, e.g. `agents`, `lawyers`, `hardship`.
    pub queues: Vec<String>,
}

impl Default for AcdConfig {
    fn default() -> Self {
        AcdConfig {
            ring_timeout: Duration::from_secs(15),
            wrap_up: Duration::from_secs(10),
            position_announce_every: Duration::from_secs(30),
            max_queue_wait: None,
            queues: ["agents", "lawyers", "hardship"].map(String::from).to_vec(),
        }
    }
}

/// What an agent (hotline agent or duty lawyer) is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentState {
    LoggedOut,
    /// Waiting for a call.
    Ready,
    /// Logged in but not taking calls; `reason` is shown on the supervisor wall
    /// ([`NO_ANSWER`] when the ACD paused the agent itself).
    Paused {
        reason: String,
    },
    /// The agent's softphone is ringing for `call`.
    Ringing {
        call: CallKey,
    },
    Talking {
        call: CallKey,
    },
    /// Finishing the ticket of the last call; Ready again after [`AcdConfig::wrap_up`].
    WrapUp,
}

impl AgentState {
    /// A stable lower-case name for reports and the supervisor wall.
    pub fn name(&self) -> &'static str {
        match self {
            AgentState::LoggedOut => "logged_out",
            AgentState::Ready => "ready",
            AgentState::Paused { .. } => "paused",
            AgentState::Ringing { .. } => "ringing",
            AgentState::Talking { .. } => "talking",
            AgentState::WrapUp => "wrap_up",
        }
    }
}

impl fmt::Display for AgentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AgentState::LoggedOut => f.write_str("logged out"),
            AgentState::Ready => f.write_str("ready"),
            AgentState::Paused { reason } => write!(f, "paused ({reason})"),
            AgentState::Ringing { call } => write!(f, "ringing for call {call}"),
            AgentState::Talking { call } => write!(f, "talking on call {call}"),
            AgentState::WrapUp => f.write_str("in wrap-up"),
        }
    }
}

/// What the driver must do. Within one batch the actions are in causal order: a
/// `CancelRing` for a leg comes before the `Connect` of the leg that won.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcdAction {
    /// Send an INVITE for `call` to the agent's registered softphone.
    Ring { call: CallKey, agent: String },
    /// CANCEL the INVITE leg of `call` to `agent` (its 200 OK may still cross the
    /// CANCEL; report it with [`Acd::answered`], which settles who keeps the call).
    CancelRing { call: CallKey, agent: String },
    /// `agent` answered and won `call`: bridge the caller to that leg.
    Connect { call: CallKey, agent: String },
    /// Tell the waiting caller their place; 1 means next.
    AnnouncePosition { call: CallKey, position: usize },
    /// The call waited longer than [`AcdConfig::max_queue_wait`] and has left the
    /// queue; the driver decides what the caller hears next.
    QueueTimeout { call: CallKey },
    /// For the supervisor wall and the call events sent to ticket-core.
    AgentStateChanged {
        agent: String,
        state: AgentState,
        at: Instant,
    },
}
