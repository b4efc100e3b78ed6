//! A picture of the ACD for the supervisor wall.
//!
//! Plain strings and integers only, with durations measured back from the `now` the
//! snapshot was taken at: an [`Instant`] means nothing outside this process, while
//! "talking for 95 000 ms" can go over gRPC or into JSON as it is.

use std::time::Instant;

use serde::Serialize;

use super::distributor::Stage;
use super::{Acd, AgentState};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AcdSnapshot {
    /// By agent name.
    pub agents: Vec<AgentSnapshot>,
    /// In configuration order.
    pub queues: Vec<QueueSnapshot>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentSnapshot {
    pub agent: String,
    /// [`AgentState::name`]: `logged_out`, `ready`, `paused`, `ringing`, `talking`,
    /// `wrap_up`.
    pub state: String,
    /// The pause reason while paused.
    pub reason: Option<String>,
    /// The call while ringing or talking.
    pub call: Option<u64>,
    /// Time in the current state.
    pub in_state_ms: u64,
    /// While Ready: time since the agent last became free (the longest-idle order).
    pub idle_ms: Option<u64>,
    /// A pause the agent asked for during the call, applied after wrap-up.
    pub pause_after_call: Option<String>,
    pub queues: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueueSnapshot {
    pub queue: String,
    /// Calls waiting, including those ringing an agent right now.
    pub waiting: usize,
    /// Of the waiting calls, those ringing an agent.
    pub ringing: usize,
    /// How long the longest-waiting call has been in this queue; 0 when empty.
    pub longest_wait_ms: u64,
    /// Logged-in members, and those of them Ready.
    pub agents_logged_in: usize,
    pub agents_ready: usize,
    /// Totals since the gateway started: calls that entered the queue (transfers
    /// included), were answered, were abandoned by the caller, left on timeout.
    pub offered: u64,
    pub answered: u64,
    pub abandoned: u64,
    pub timed_out: u64,
}

fn millis_between(earlier: Instant, now: Instant) -> u64 {
    u64::try_from(now.saturating_duration_since(earlier).as_millis()).unwrap_or(u64::MAX)
}

impl Acd {
    /// The state of every agent and queue as seen at `now`.
    pub fn snapshot(&self, now: Instant) -> AcdSnapshot {
        let agents = self
            .agents
            .iter()
            .map(|(name, record)| {
                let (reason, call) = match &record.state {
                    AgentState::Paused { reason } => (Some(reason.clone()), None),
                    AgentState::Ringing { call } | AgentState::Talking { call } => {
                        (None, Some(*call))
                    }
                    _ => (None, None),
                };
                AgentSnapshot {
                    agent: name.clone(),
                    state: record.state.name().to_owned(),
                    reason,
                    call,
                    in_state_ms: millis_between(record.since, now),
                    idle_ms: (record.state == AgentState::Ready)
                        .then(|| millis_between(record.idle_since, now)),
                    pause_after_call: record.pause_after_call.clone(),
                    queues: record.queues.iter().cloned().collect(),
                }
            })
            .collect();
        let queues = self
            .config
            .queues
            .iter()
            .filter_map(|name| Some((name, self.queues.get(name)?)))
            .map(|(name, queue)| {
                let waiting: Vec<_> = queue
                    .waiting
                    .iter()
                    .filter_map(|key| match &self.calls.get(key)?.stage {
                        Stage::Waiting(waiting) => Some(waiting),
                        Stage::Connected { .. } => None,
                    })
                    .collect();
                let members = || {
                    self.agents.values().filter(|record| {
                        record.queues.contains(name) && record.state != AgentState::LoggedOut
                    })
                };
                QueueSnapshot {
                    queue: name.clone(),
                    waiting: waiting.len(),
                    ringing: waiting.iter().filter(|w| w.ring.is_some()).count(),
                    longest_wait_ms: waiting
                        .iter()
                        .map(|w| millis_between(w.queued_at, now))
                        .max()
                        .unwrap_or(0),
                    agents_logged_in: members().count(),
                    agents_ready: members()
                        .filter(|record| record.state == AgentState::Ready)
                        .count(),
                    offered: queue.counters.offered,
                    answered: queue.counters.answered,
                    abandoned: queue.counters.abandoned,
                    timed_out: queue.counters.timed_out,
                }
            })
            .collect();
        AcdSnapshot { agents, queues }
    }
}
