//! Commands from the agents' API (login, pause, transfers) and what agents are told.

use std::time::Instant;

use thiserror::Error;
use tokio::sync::mpsc;

use super::{CallPhase, Core, LegPurpose};
use crate::acd::{AcdError, AgentState, CallKey};
use crate::call_events::CallEventKind;
use crate::relay::{CALLER, MediaCommand};

/// The ACD sees a consultation as a call of its own, so the lawyer is chosen by the
/// same rules (longest idle, ring timeout) while the agent stays on the caller's call.
const CONSULT_BIT: CallKey = 1 << 62;

pub(super) fn consult_key(call: CallKey) -> CallKey {
    call | CONSULT_BIT
}
pub(super) fn is_consult(call: CallKey) -> bool {
    call & CONSULT_BIT != 0
}
pub(super) fn main_call(call: CallKey) -> CallKey {
    call & !CONSULT_BIT
}

#[derive(Debug, Clone)]
pub enum AgentCommand {
    Login { agent: String, queues: Vec<String> },
    Ready { agent: String },
    Pause { agent: String, reason: String },
    Logout { agent: String },
    Status { agent: String },
    TransferToQueue { agent: String, queue: String },
    StartConsultation { agent: String, queue: String },
    CompleteConsultation { agent: String },
    CancelConsultation { agent: String },
    Snapshot,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentStatusView {
    pub agent: String,
    pub state: AgentState,
    pub call_uuid: String,
    pub queues: Vec<String>,
    pub registered: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueView {
    pub queue: String,
    pub waiting: usize,
    pub longest_wait_ms: u64,
    pub ready_agents: usize,
}

#[derive(Debug, Clone)]
pub enum CommandReply {
    Status(AgentStatusView),
    Transferred {
        call_uuid: String,
        position: usize,
    },
    Snapshot {
        agents: Vec<AgentStatusView>,
        queues: Vec<QueueView>,
        calls_in_progress: usize,
    },
}

#[derive(Debug, Error)]
pub enum CommandError {
    #[error(transparent)]
    Acd(#[from] AcdError),
    #[error("agent {0} has no call in progress")]
    NoCall(String),
    #[error("queue: {0:?} is not one of agents, lawyers, hardship")]
    UnknownQueue(String),
    #[error("agent {0} is not consulting anyone")]
    NoConsultation(String),
    #[error("agent {0} is already consulting")]
    AlreadyConsulting(String),
    #[error("the consulted lawyer has not answered yet")]
    ConsultationNotAnswered,
}

/// What an agent's screen is told, in the order it happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentNotice {
    Status(AgentStatusView),
    Ringing {
        call_uuid: String,
        caller_phone: String,
        queue: String,
        service: &'static str,
    },
    Connected {
        call_uuid: String,
    },
    Ended {
        call_uuid: String,
        reason: String,
    },
}

impl Core {
    pub(super) fn handle_command(
        &mut self,
        command: AgentCommand,
        now: Instant,
    ) -> Result<CommandReply, CommandError> {
        let result = match command {
            AgentCommand::Login { agent, queues } => {
                for queue in &queues {
                    check_queue(queue)?;
                }
                let queues: Vec<&str> = queues.iter().map(String::as_str).collect();
                self.acd.login(&agent, &queues, now)?;
                Ok(CommandReply::Status(self.status_view(&agent, now)))
            }
            AgentCommand::Ready { agent } => {
                self.acd.set_ready(&agent, now)?;
                Ok(CommandReply::Status(self.status_view(&agent, now)))
            }
            AgentCommand::Pause { agent, reason } => {
                self.acd.pause(&agent, &reason, now)?;
                Ok(CommandReply::Status(self.status_view(&agent, now)))
            }
            AgentCommand::Logout { agent } => {
                self.acd.logout(&agent, now)?;
                Ok(CommandReply::Status(self.status_view(&agent, now)))
            }
            AgentCommand::Status { agent } => {
                Ok(CommandReply::Status(self.status_view(&agent, now)))
            }
            AgentCommand::TransferToQueue { agent, queue } => {
                check_queue(&queue)?;
                let call = self
                    .current_call(&agent)
                    .ok_or_else(|| CommandError::NoCall(agent.clone()))?;
                self.blind_transfer(call, &agent, &queue, now)
            }
            AgentCommand::StartConsultation { agent, queue } => {
                check_queue(&queue)?;
                self.start_consultation(&agent, &queue, now)
            }
            AgentCommand::CompleteConsultation { agent } => self.complete_consultation(&agent, now),
            AgentCommand::CancelConsultation { agent } => self.cancel_consultation(&agent, now),
            AgentCommand::Snapshot => Ok(self.snapshot(now)),
        };
        self.drain_acd(now);
        result
    }

    /// The call `agent` is talking on (as the answering leg).
    fn current_call(&self, agent: &str) -> Option<CallKey> {
        self.calls.iter().find_map(|(key, state)| {
            let talking = state.talking.and_then(|leg| state.legs.get(&leg))?;
            (talking.agent == agent && state.phase != CallPhase::Ended).then_some(*key)
        })
    }

    pub(super) fn blind_transfer(
        &mut self,
        call: CallKey,
        agent: &str,
        queue: &str,
        now: Instant,
    ) -> Result<CommandReply, CommandError> {
        if self
            .calls
            .get(&call)
            .is_some_and(|state| state.consulting.is_some())
        {
            return Err(CommandError::AlreadyConsulting(agent.to_owned()));
        }
        let position = self.acd.transfer(call, agent, queue, now)?;
        let Some(state) = self.calls.get_mut(&call) else {
            return Err(CommandError::NoCall(agent.to_owned()));
        };
        let leg = state.talking.take();
        state.phase = CallPhase::Queued;
        state.queue = Some(queue.to_owned());
        let prompt = if queue == "lawyers" {
            self.prompts.transfer_lawyer.clone()
        } else {
            self.prompts.please_hold.clone()
        };
        state.media.send(MediaCommand::Play {
            prompts: vec![prompt],
            then_music: true,
        });
        let uuid = state.uuid.clone();
        if let Some(leg) = leg {
            self.release_leg(call, leg, now);
        }
        let (agent_name, queue_name) = (agent.to_owned(), queue.to_owned());
        self.call_event(call, CallEventKind::Transferred, |event| {
            event.agent = agent_name;
            event.queue = queue_name;
        });
        self.notify(
            agent,
            AgentNotice::Ended {
                call_uuid: uuid.clone(),
                reason: format!("transferred to {queue}"),
            },
        );
        Ok(CommandReply::Transferred {
            call_uuid: uuid,
            position,
        })
    }

    fn start_consultation(
        &mut self,
        agent: &str,
        queue: &str,
        now: Instant,
    ) -> Result<CommandReply, CommandError> {
        let call = self
            .current_call(agent)
            .ok_or_else(|| CommandError::NoCall(agent.to_owned()))?;
        let state = &self.calls[&call];
        if state.consulting.is_some()
            || state
                .legs
                .values()
                .any(|leg| leg.purpose == LegPurpose::Consult && !leg.cancelled)
        {
            return Err(CommandError::AlreadyConsulting(agent.to_owned()));
        }
        let position = self.acd.enqueue(consult_key(call), queue, now)?;
        let state = &self.calls[&call];
        // The caller waits with music; the agent hears the lawyer ring (silence) until
        // the lawyer answers.
        state.media.send(MediaCommand::Hold { slot: CALLER });
        Ok(CommandReply::Transferred {
            call_uuid: state.uuid.clone(),
            position,
        })
    }

    fn complete_consultation(
        &mut self,
        agent: &str,
        now: Instant,
    ) -> Result<CommandReply, CommandError> {
        let call = self
            .current_call(agent)
            .ok_or_else(|| CommandError::NoCall(agent.to_owned()))?;
        let state = self.calls.get_mut(&call).expect("current_call found it");
        let Some(lawyer_leg) = state.consulting else {
            return Err(
                if state
                    .legs
                    .values()
                    .any(|l| l.purpose == LegPurpose::Consult && !l.cancelled)
                {
                    CommandError::ConsultationNotAnswered
                } else {
                    CommandError::NoConsultation(agent.to_owned())
                },
            );
        };
        let agent_leg = state.talking.take();
        state.talking = Some(lawyer_leg);
        state.consulting = None;
        let lawyer = state.legs[&lawyer_leg].agent.clone();
        let lawyer_slot = state.legs[&lawyer_leg].slot;
        state.media.send(MediaCommand::Bridge {
            a: CALLER,
            b: lawyer_slot,
        });
        let uuid = state.uuid.clone();
        if let Some(leg) = agent_leg {
            self.release_leg(call, leg, now);
        }
        self.acd.call_ended(agent, now);
        let (agent_name, lawyer_name) = (agent.to_owned(), lawyer.clone());
        self.call_event(call, CallEventKind::Transferred, |event| {
            event.agent = agent_name;
            event.queue = "lawyers".into();
        });
        self.call_event(call, CallEventKind::Answered, |event| {
            event.agent = lawyer_name
        });
        self.notify(
            agent,
            AgentNotice::Ended {
                call_uuid: uuid.clone(),
                reason: format!("transferred to {lawyer}"),
            },
        );
        Ok(CommandReply::Transferred {
            call_uuid: uuid,
            position: 0,
        })
    }

    fn cancel_consultation(
        &mut self,
        agent: &str,
        now: Instant,
    ) -> Result<CommandReply, CommandError> {
        let call = self
            .current_call(agent)
            .ok_or_else(|| CommandError::NoCall(agent.to_owned()))?;
        let state = &self.calls[&call];
        let pending: Vec<(u32, String, bool)> = state
            .legs
            .iter()
            .filter(|(_, leg)| leg.purpose == LegPurpose::Consult && !leg.cancelled)
            .map(|(id, leg)| (*id, leg.agent.clone(), leg.connected))
            .collect();
        if pending.is_empty() {
            // Still waiting in the lawyers queue: just leave it.
            if self.acd.position(consult_key(call)).is_none() {
                return Err(CommandError::NoConsultation(agent.to_owned()));
            }
        }
        self.acd.caller_hung_up(consult_key(call), now);
        for (leg, lawyer, connected) in pending {
            self.release_leg(call, leg, now);
            if connected {
                self.acd.call_ended(&lawyer, now);
            }
        }
        let state = self.calls.get_mut(&call).expect("current_call found it");
        state.consulting = None;
        if let Some(talking) = state.talking.and_then(|t| state.legs.get(&t)) {
            state.media.send(MediaCommand::Bridge {
                a: CALLER,
                b: talking.slot,
            });
        }
        Ok(CommandReply::Transferred {
            call_uuid: state.uuid.clone(),
            position: 0,
        })
    }

    fn status_view(&self, agent: &str, now: Instant) -> AgentStatusView {
        let snapshot = self.acd.snapshot(now);
        let queues = snapshot
            .agents
            .iter()
            .find(|entry| entry.agent == agent)
            .map(|entry| entry.queues.clone())
            .unwrap_or_default();
        self.view_of(agent, queues, now)
    }

    fn view_of(&self, agent: &str, queues: Vec<String>, now: Instant) -> AgentStatusView {
        let state = self
            .acd
            .agent_state(agent)
            .cloned()
            .unwrap_or(AgentState::LoggedOut);
        let call_uuid = match &state {
            AgentState::Ringing { call } | AgentState::Talking { call } => self
                .calls
                .get(&main_call(*call))
                .map(|c| c.uuid.clone())
                .unwrap_or_default(),
            _ => String::new(),
        };
        AgentStatusView {
            agent: agent.to_owned(),
            call_uuid,
            queues,
            registered: self.static_agents.contains_key(agent)
                || !self.registrar.lookup(agent, now).is_empty(),
            state,
        }
    }

    fn snapshot(&self, now: Instant) -> CommandReply {
        let snapshot = self.acd.snapshot(now);
        let agents = snapshot
            .agents
            .into_iter()
            .map(|entry| self.view_of(&entry.agent, entry.queues, now))
            .collect();
        let queues = snapshot
            .queues
            .into_iter()
            .map(|queue| QueueView {
                queue: queue.queue,
                waiting: queue.waiting,
                longest_wait_ms: queue.longest_wait_ms,
                ready_agents: queue.agents_ready,
            })
            .collect();
        CommandReply::Snapshot {
            agents,
            queues,
            calls_in_progress: self
                .calls
                .values()
                .filter(|c| c.phase != CallPhase::Ended)
                .count(),
        }
    }

    pub(super) fn add_watcher(
        &mut self,
        agent: String,
        sender: mpsc::Sender<AgentNotice>,
        now: Instant,
    ) {
        let _ = sender.try_send(AgentNotice::Status(self.status_view(&agent, now)));
        self.watchers.entry(agent).or_default().push(sender);
    }

    /// Tells every screen of `agent`; screens that went away are forgotten. A screen
    /// too slow to keep up loses notices rather than slowing the core.
    pub(super) fn notify(&mut self, agent: &str, notice: AgentNotice) {
        if let Some(watchers) = self.watchers.get_mut(agent) {
            watchers.retain(|watcher| match watcher.try_send(notice.clone()) {
                Ok(()) | Err(mpsc::error::TrySendError::Full(_)) => true,
                Err(mpsc::error::TrySendError::Closed(_)) => false,
            });
        }
    }

    pub(super) fn notify_status(&mut self, agent: &str) {
        if self.watchers.contains_key(agent) {
            let view = self.status_view(agent, Instant::now());
            self.notify(agent, AgentNotice::Status(view));
        }
    }
}

fn check_queue(queue: &str) -> Result<(), CommandError> {
    if crate::config::QUEUES.contains(&queue) {
        Ok(())
    } else {
        Err(CommandError::UnknownQueue(queue.to_owned()))
    }
}
