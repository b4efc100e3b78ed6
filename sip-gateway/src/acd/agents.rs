//! Agent-side operations of the [`Acd`]: login, Ready, pause, logout, and the state
//! changes every other operation goes through.

use std::time::Instant;

use super::distributor::Agent;
use super::{Acd, AcdAction, AcdError, AgentState};

impl Acd {
    /// Logs `agent` in to `queues` and makes them Ready. A logged-out agent may log in
    /// again, with other queues.
    pub fn login(&mut self, agent: &str, queues: &[&str], now: Instant) -> Result<(), AcdError> {
        if queues.is_empty() {
            return Err(AcdError::NoQueues {
                agent: agent.to_owned(),
            });
        }
        for queue in queues {
            self.check_queue(queue)?;
        }
        if self
            .agents
            .get(agent)
            .is_some_and(|record| record.state != AgentState::LoggedOut)
        {
            return Err(AcdError::AlreadyLoggedIn {
                agent: agent.to_owned(),
            });
        }
        self.agents.insert(
            agent.to_owned(),
            Agent {
                state: AgentState::LoggedOut,
                since: now,
                idle_since: now,
                queues: queues.iter().map(|queue| (*queue).to_owned()).collect(),
                wrap_up_until: None,
                pause_after_call: None,
            },
        );
        self.become_ready(agent, now);
        self.settle(now);
        Ok(())
    }

    /// Makes a paused agent, or one in wrap-up, Ready. Ready or ringing agents stay as
    /// they are; during a call it withdraws a pause asked for after the call.
    pub fn set_ready(&mut self, agent: &str, now: Instant) -> Result<(), AcdError> {
        let record = self.logged_in_mut(agent)?;
        match record.state {
            AgentState::Paused { .. } | AgentState::WrapUp => {
                self.become_ready(agent, now);
                self.settle(now);
            }
            AgentState::Talking { .. } => record.pause_after_call = None,
            AgentState::Ready | AgentState::Ringing { .. } | AgentState::LoggedOut => {}
        }
        Ok(())
    }

    /// Stops calls to `agent`. A ring in progress is cancelled and the call offered to
    /// the next agent; during a call the pause starts when the wrap-up ends.
    pub fn pause(&mut self, agent: &str, reason: &str, now: Instant) -> Result<(), AcdError> {
        let record = self.logged_in_mut(agent)?;
        match record.state {
            AgentState::Talking { .. } => {
                record.pause_after_call = Some(reason.to_owned());
                return Ok(());
            }
            AgentState::Ringing { call } => {
                self.cancel_ring(call);
            }
            _ => {}
        }
        self.enter_pause(agent, reason, now);
        self.settle(now);
        Ok(())
    }

    /// Logs `agent` out, cancelling a ring in progress. Refused during a call: the
    /// agent must finish (or transfer) it first, or the caller would be left alone.
    pub fn logout(&mut self, agent: &str, now: Instant) -> Result<(), AcdError> {
        let record = self.logged_in_mut(agent)?;
        match record.state {
            AgentState::Talking { .. } => {
                return Err(AcdError::AgentBusy {
                    agent: agent.to_owned(),
                    state: record.state.clone(),
                    action: "log out",
                });
            }
            AgentState::Ringing { call } => {
                self.cancel_ring(call);
            }
            _ => {}
        }
        if let Some(record) = self.agents.get_mut(agent) {
            record.wrap_up_until = None;
            record.pause_after_call = None;
        }
        self.set_state(agent, AgentState::LoggedOut, now);
        self.settle(now);
        Ok(())
    }

    pub(super) fn logged_in(&self, agent: &str) -> Result<&Agent, AcdError> {
        self.agents
            .get(agent)
            .filter(|record| record.state != AgentState::LoggedOut)
            .ok_or_else(|| AcdError::NotLoggedIn {
                agent: agent.to_owned(),
            })
    }

    pub(super) fn logged_in_mut(&mut self, agent: &str) -> Result<&mut Agent, AcdError> {
        self.agents
            .get_mut(agent)
            .filter(|record| record.state != AgentState::LoggedOut)
            .ok_or_else(|| AcdError::NotLoggedIn {
                agent: agent.to_owned(),
            })
    }

    pub(super) fn set_state(&mut self, agent: &str, state: AgentState, at: Instant) {
        let Some(record) = self.agents.get_mut(agent) else {
            debug_assert!(false, "state change for unknown agent {agent}");
            return;
        };
        record.state = state.clone();
        record.since = at;
        self.push(AcdAction::AgentStateChanged {
            agent: agent.to_owned(),
            state,
            at,
        });
    }

    /// Ready with a fresh idle time: login, the Ready button, the end of wrap-up.
    pub(super) fn become_ready(&mut self, agent: &str, at: Instant) {
        if let Some(record) = self.agents.get_mut(agent) {
            record.idle_since = at;
            record.wrap_up_until = None;
            record.pause_after_call = None;
        }
        self.set_state(agent, AgentState::Ready, at);
    }

    pub(super) fn enter_pause(&mut self, agent: &str, reason: &str, at: Instant) {
        if let Some(record) = self.agents.get_mut(agent) {
            record.wrap_up_until = None;
        }
        let reason = reason.to_owned();
        self.set_state(agent, AgentState::Paused { reason }, at);
    }

    /// The agent's call is over (ended or transferred away): the call record goes
    /// unless it was transferred, and the agent starts wrap-up.
    pub(super) fn end_talk(&mut self, agent: &str, now: Instant) {
        if let Some(AgentState::Talking { call }) = self.agent_state(agent) {
            let call = *call;
            self.calls.remove(&call);
        }
        self.start_wrap_up(agent, now);
    }

    pub(super) fn start_wrap_up(&mut self, agent: &str, now: Instant) {
        if self.config.wrap_up.is_zero() {
            self.finish_wrap_up(agent, now);
            return;
        }
        if let Some(record) = self.agents.get_mut(agent) {
            record.wrap_up_until = Some(now + self.config.wrap_up);
        }
        self.set_state(agent, AgentState::WrapUp, now);
    }

    pub(super) fn finish_wrap_up(&mut self, agent: &str, at: Instant) {
        let pause = self
            .agents
            .get_mut(agent)
            .and_then(|record| record.pause_after_call.take());
        match pause {
            Some(reason) => self.enter_pause(agent, &reason, at),
            None => self.become_ready(agent, at),
        }
    }
}
