//! The [`Acd`] state machine: agents, queues, the calls in them, and the timers.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Instant;

use super::{AcdAction, AcdConfig, AcdError, AgentState, CallKey, NO_ANSWER};

/// Queues, agents and calls of one gateway. See the [module docs](super) for the rules.
#[derive(Debug)]
pub struct Acd {
    pub(super) config: AcdConfig,
    // Ordered maps, so that the actions of one step come out in the same order on
    // every run: the tests and the driver's logs can be compared line by line.
    pub(super) agents: BTreeMap<String, Agent>,
    pub(super) queues: BTreeMap<String, Queue>,
    pub(super) calls: BTreeMap<CallKey, Call>,
    actions: VecDeque<AcdAction>,
}

#[derive(Debug)]
pub(super) struct Agent {
    pub(super) state: AgentState,
    pub(super) since: Instant,
    /// Orders Ready agents, earliest first. Not reset by a ring that ended through no
    /// fault of the agent (caller hung up, another leg answered).
    pub(super) idle_since: Instant,
    pub(super) queues: BTreeSet<String>,
    pub(super) wrap_up_until: Option<Instant>,
    /// A pause asked for during a call, applied when its wrap-up ends.
    pub(super) pause_after_call: Option<String>,
}

#[derive(Debug, Default)]
pub(super) struct Queue {
    /// Waiting calls in service order, ringing ones included: a ringing call keeps
    /// its place in case nobody answers.
    pub(super) waiting: VecDeque<CallKey>,
    pub(super) counters: QueueCounters,
}

/// Totals since the gateway started, for the live wall; the durable figures are
/// computed by ticket-core from the call events.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct QueueCounters {
    pub(super) offered: u64,
    pub(super) answered: u64,
    pub(super) abandoned: u64,
    pub(super) timed_out: u64,
}

#[derive(Debug)]
pub(super) struct Call {
    /// When the call first entered any queue; orders calls across queues.
    pub(super) arrived_at: Instant,
    /// Agents rung for this call whose leg may still send a 200 OK.
    pub(super) offered_to: BTreeSet<String>,
    pub(super) stage: Stage,
}

#[derive(Debug)]
pub(super) enum Stage {
    Waiting(Waiting),
    Connected { agent: String },
}

#[derive(Debug)]
pub(super) struct Waiting {
    pub(super) queue: String,
    /// When the call entered this queue: the wait shown on the wall and limited by
    /// `max_queue_wait`.
    pub(super) queued_at: Instant,
    /// Transferred calls go ahead of ordinary ones.
    pub(super) priority: bool,
    pub(super) ring: Option<Ring>,
    pub(super) next_announce: Option<Instant>,
}

#[derive(Debug)]
pub(super) struct Ring {
    pub(super) agent: String,
    pub(super) until: Instant,
}

impl Acd {
    /// A queue named twice in `config.queues` is one queue.
    pub fn new(mut config: AcdConfig) -> Self {
        let mut seen = BTreeSet::new();
        config.queues.retain(|name| seen.insert(name.clone()));
        let queues = config
            .queues
            .iter()
            .map(|name| (name.clone(), Queue::default()))
            .collect();
        Acd {
            config,
            agents: BTreeMap::new(),
            queues,
            calls: BTreeMap::new(),
            actions: VecDeque::new(),
        }
    }

    pub fn config(&self) -> &AcdConfig {
        &self.config
    }

    /// Queues a new call at the end of `queue` and returns its place on arrival
    /// (1 = next). If no agent rings for it at once, its position is announced now and
    /// then every [`AcdConfig::position_announce_every`].
    pub fn enqueue(&mut self, call: CallKey, queue: &str, now: Instant) -> Result<usize, AcdError> {
        self.check_queue(queue)?;
        if self.calls.contains_key(&call) {
            return Err(AcdError::DuplicateCall { call });
        }
        self.calls.insert(
            call,
            Call {
                arrived_at: now,
                offered_to: BTreeSet::new(),
                stage: Stage::Waiting(Waiting {
                    queue: queue.to_owned(),
                    queued_at: now,
                    priority: false,
                    ring: None,
                    next_announce: None,
                }),
            },
        );
        let position = self.insert_waiting(call);
        self.after_placing(call, now);
        Ok(position)
    }

    /// The caller hung up. A waiting call is abandoned: it leaves its queue and the
    /// agent ringing for it is cancelled and Ready again, keeping their place in the
    /// idle order. A connected call ends as with [`Self::call_ended`]. Unknown calls
    /// are ignored, so the driver may report every hang-up.
    pub fn caller_hung_up(&mut self, call: CallKey, now: Instant) {
        let Some(record) = self.calls.get(&call) else {
            return;
        };
        match &record.stage {
            Stage::Connected { agent } => {
                let agent = agent.clone();
                self.end_talk(&agent, now);
            }
            Stage::Waiting(_) => {
                if let Some(agent) = self.cancel_ring(call) {
                    self.set_state(&agent, AgentState::Ready, now);
                }
                if let Some(queue) = self.remove_waiting(call) {
                    queue.counters.abandoned += 1;
                }
                self.calls.remove(&call);
            }
        }
        self.settle(now);
    }

    /// `agent`'s leg for `call` answered (200 OK). The first answer from a leg that was
    /// offered the call and whose agent is free wins: the ring in progress, if it is
    /// another agent's, is cancelled, and [`AcdAction::Connect`] is emitted. Any error
    /// means the leg lost and must be hung up; [`AcdError::CallTaken`] is the late leg
    /// of a call someone else took or that has gone. A repeated answer from the winner
    /// is `Ok` and emits nothing.
    pub fn answered(&mut self, call: CallKey, agent: &str, now: Instant) -> Result<(), AcdError> {
        let Some(record) = self.calls.get(&call) else {
            return Err(AcdError::CallTaken {
                call,
                agent: agent.to_owned(),
                by: None,
            });
        };
        if let Stage::Connected { agent: by } = &record.stage {
            if by == agent {
                return Ok(());
            }
            return Err(AcdError::CallTaken {
                call,
                agent: agent.to_owned(),
                by: Some(by.clone()),
            });
        }
        if !record.offered_to.contains(agent) {
            return Err(AcdError::NotOffered {
                call,
                agent: agent.to_owned(),
            });
        }
        // A Ready or paused agent is answering a leg whose ring was cancelled or timed
        // out: the 200 OK crossed the CANCEL and the person is on the line.
        match &self.logged_in(agent)?.state {
            AgentState::Ringing { call: ringing } if *ringing == call => {}
            AgentState::Ready | AgentState::Paused { .. } => {}
            state => {
                return Err(AcdError::AgentBusy {
                    agent: agent.to_owned(),
                    state: state.clone(),
                    action: "take another call",
                });
            }
        }
        match self.take_ring(call) {
            Some(other) if other != agent => {
                self.push(AcdAction::CancelRing {
                    call,
                    agent: other.clone(),
                });
                self.set_state(&other, AgentState::Ready, now);
            }
            _ => {}
        }
        if let Some(queue) = self.remove_waiting(call) {
            queue.counters.answered += 1;
        }
        if let Some(record) = self.calls.get_mut(&call) {
            record.offered_to.clear();
            record.stage = Stage::Connected {
                agent: agent.to_owned(),
            };
        }
        self.push(AcdAction::Connect {
            call,
            agent: agent.to_owned(),
        });
        self.set_state(agent, AgentState::Talking { call }, now);
        self.settle(now);
        Ok(())
    }

    /// `agent`'s leg for `call` failed (486, 603, 408, unreachable). If that agent was
    /// the one ringing, they are paused with [`NO_ANSWER`] and the next agent rings.
    /// A failure of a leg already cancelled (such as the 487 answering our CANCEL)
    /// only forgets the leg.
    pub fn ring_failed(&mut self, call: CallKey, agent: &str, now: Instant) {
        let Some(record) = self.calls.get_mut(&call) else {
            return;
        };
        record.offered_to.remove(agent);
        let Stage::Waiting(waiting) = &mut record.stage else {
            return;
        };
        if waiting
            .ring
            .as_ref()
            .is_some_and(|ring| ring.agent == agent)
        {
            waiting.ring = None;
            self.enter_pause(agent, NO_ANSWER, now);
            self.settle(now);
        }
    }

    /// `agent`'s call ended (either side hung up): wrap-up, then Ready (or the pause
    /// asked for during the call). Ignored unless the agent is talking, so the driver
    /// may report both sides' BYE.
    pub fn call_ended(&mut self, agent: &str, now: Instant) {
        if matches!(
            self.agents.get(agent).map(|record| &record.state),
            Some(AgentState::Talking { .. })
        ) {
            self.end_talk(agent, now);
            self.settle(now);
        }
    }

    /// Blind transfer: `from_agent` leaves `call` for wrap-up and the call is queued on
    /// `to_queue` ahead of every ordinary caller there (behind earlier transfers).
    /// Returns the call's place in that queue.
    pub fn transfer(
        &mut self,
        call: CallKey,
        from_agent: &str,
        to_queue: &str,
        now: Instant,
    ) -> Result<usize, AcdError> {
        self.check_queue(to_queue)?;
        let talking_on_call = self.logged_in(from_agent)?.state == AgentState::Talking { call };
        let record = self.calls.get_mut(&call).filter(|_| talking_on_call);
        let Some(record) = record else {
            return Err(AcdError::NotOnCall {
                call,
                agent: from_agent.to_owned(),
            });
        };
        record.offered_to.clear();
        record.stage = Stage::Waiting(Waiting {
            queue: to_queue.to_owned(),
            queued_at: now,
            priority: true,
            ring: None,
            next_announce: None,
        });
        self.start_wrap_up(from_agent, now);
        let position = self.insert_waiting(call);
        self.after_placing(call, now);
        Ok(position)
    }

    pub fn agent_state(&self, agent: &str) -> Option<&AgentState> {
        self.agents.get(agent).map(|record| &record.state)
    }

    /// Every agent seen since start, logged out ones included, by name.
    pub fn agents(&self) -> impl Iterator<Item = (&str, &AgentState)> {
        self.agents
            .iter()
            .map(|(name, record)| (name.as_str(), &record.state))
    }

    /// Calls waiting in `queue`, ringing ones included; 0 for an unknown queue.
    pub fn queue_len(&self, queue: &str) -> usize {
        self.queues
            .get(queue)
            .map_or(0, |queue| queue.waiting.len())
    }

    /// The place of a waiting call in its queue, 1 = next; `None` once connected or gone.
    pub fn position(&self, call: CallKey) -> Option<usize> {
        let Stage::Waiting(waiting) = &self.calls.get(&call)?.stage else {
            return None;
        };
        let queue = self.queues.get(&waiting.queue)?;
        queue
            .waiting
            .iter()
            .position(|key| *key == call)
            .map(|index| index + 1)
    }

    /// The agent connected to `call`, if any.
    pub fn connected_agent(&self, call: CallKey) -> Option<&str> {
        match &self.calls.get(&call)?.stage {
            Stage::Connected { agent } => Some(agent),
            Stage::Waiting(_) => None,
        }
    }

    /// Runs every timer that is due: ring timeouts, ends of wrap-up, queue timeouts and
    /// position announcements.
    pub fn handle_timeout(&mut self, now: Instant) {
        let unanswered: Vec<(CallKey, Instant)> = self
            .calls
            .iter()
            .filter_map(|(key, call)| match &call.stage {
                Stage::Waiting(Waiting {
                    ring: Some(ring), ..
                }) if ring.until <= now => Some((*key, ring.until)),
                _ => None,
            })
            .collect();
        for (call, due) in unanswered {
            // The leg stays in `offered_to`: its 200 OK may still cross the CANCEL.
            if let Some(agent) = self.cancel_ring(call) {
                self.enter_pause(&agent, NO_ANSWER, due);
            }
        }
        let wrapped_up: Vec<(String, Instant)> = self
            .agents
            .iter()
            .filter(|(_, record)| record.state == AgentState::WrapUp)
            .filter_map(|(name, record)| {
                let due = record.wrap_up_until?;
                (due <= now).then(|| (name.clone(), due))
            })
            .collect();
        for (agent, due) in wrapped_up {
            self.finish_wrap_up(&agent, due);
        }
        self.settle(now);
        self.announce_positions(now);
    }

    /// When [`Self::handle_timeout`] must run next. A linear scan: a provincial centre
    /// has tens of agents and at most hundreds of waiting calls.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut earliest: Option<Instant> = None;
        let mut consider = |at: Option<Instant>| {
            if let Some(at) = at {
                earliest = Some(earliest.map_or(at, |current| current.min(at)));
            }
        };
        for call in self.calls.values() {
            let Stage::Waiting(waiting) = &call.stage else {
                continue;
            };
            match &waiting.ring {
                Some(ring) => consider(Some(ring.until)),
                None => {
                    consider(waiting.next_announce);
                    consider(
                        self.config
                            .max_queue_wait
                            .map(|max| waiting.queued_at + max),
                    );
                }
            }
        }
        for record in self.agents.values() {
            if record.state == AgentState::WrapUp {
                consider(record.wrap_up_until);
            }
        }
        earliest
    }

    /// The next action for the driver.
    pub fn poll_action(&mut self) -> Option<AcdAction> {
        self.actions.pop_front()
    }

    pub(super) fn push(&mut self, action: AcdAction) {
        self.actions.push_back(action);
    }

    pub(super) fn check_queue(&self, queue: &str) -> Result<(), AcdError> {
        if self.queues.contains_key(queue) {
            Ok(())
        } else {
            Err(AcdError::UnknownQueue {
                queue: queue.to_owned(),
                configured: self.config.queues.join(", "),
            })
        }
    }

    /// Takes the ring off a waiting call without telling the driver.
    fn take_ring(&mut self, call: CallKey) -> Option<String> {
        match &mut self.calls.get_mut(&call)?.stage {
            Stage::Waiting(waiting) => waiting.ring.take().map(|ring| ring.agent),
            Stage::Connected { .. } => None,
        }
    }

    /// Takes the ring off a waiting call and cancels that leg. The agent's new state
    /// is the caller's choice.
    pub(super) fn cancel_ring(&mut self, call: CallKey) -> Option<String> {
        let agent = self.take_ring(call)?;
        self.push(AcdAction::CancelRing {
            call,
            agent: agent.clone(),
        });
        Some(agent)
    }

    /// Puts a call whose stage is already `Waiting` into its queue's deque and returns
    /// its place.
    fn insert_waiting(&mut self, call: CallKey) -> usize {
        let Some(Stage::Waiting(waiting)) = self.calls.get(&call).map(|record| &record.stage)
        else {
            return 0;
        };
        let priority = waiting.priority;
        let Some(queue) = self.queues.get_mut(&waiting.queue) else {
            return 0;
        };
        let calls = &self.calls;
        let index = if priority {
            queue
                .waiting
                .iter()
                .take_while(|key| {
                    matches!(calls.get(key).map(|c| &c.stage),
                        Some(Stage::Waiting(other)) if other.priority)
                })
                .count()
        } else {
            queue.waiting.len()
        };
        queue.waiting.insert(index, call);
        queue.counters.offered += 1;
        index + 1
    }

    /// After a call joined a queue: ring an agent if one is free, otherwise tell the
    /// caller where they stand.
    fn after_placing(&mut self, call: CallKey, now: Instant) {
        self.settle(now);
        let position = self.position(call);
        let next_announce = self.next_announce(now);
        let Some(Stage::Waiting(waiting)) =
            self.calls.get_mut(&call).map(|record| &mut record.stage)
        else {
            return;
        };
        waiting.next_announce = next_announce;
        if waiting.ring.is_none()
            && let Some(position) = position
        {
            self.actions
                .push_back(AcdAction::AnnouncePosition { call, position });
        }
    }

    fn next_announce(&self, now: Instant) -> Option<Instant> {
        let every = self.config.position_announce_every;
        (!every.is_zero()).then(|| now + every)
    }

    /// Removes a waiting call from its queue's deque (the call record stays).
    fn remove_waiting(&mut self, call: CallKey) -> Option<&mut Queue> {
        let Stage::Waiting(waiting) = &self.calls.get(&call)?.stage else {
            return None;
        };
        let queue = self.queues.get_mut(&waiting.queue)?;
        queue.waiting.retain(|key| *key != call);
        Some(queue)
    }

    /// Brings the machine to rest after any input: calls past their maximum wait
    /// leave, then free agents are matched with waiting calls.
    pub(super) fn settle(&mut self, now: Instant) {
        self.expire_waits(now);
        self.distribute(now);
    }

    fn expire_waits(&mut self, now: Instant) {
        let Some(max) = self.config.max_queue_wait else {
            return;
        };
        let overdue: Vec<CallKey> = self
            .calls
            .iter()
            .filter_map(|(key, call)| match &call.stage {
                Stage::Waiting(waiting)
                    if waiting.ring.is_none() && waiting.queued_at + max <= now =>
                {
                    Some(*key)
                }
                _ => None,
            })
            .collect();
        for call in overdue {
            if let Some(queue) = self.remove_waiting(call) {
                queue.counters.timed_out += 1;
            }
            self.calls.remove(&call);
            self.push(AcdAction::QueueTimeout { call });
        }
    }

    /// Offers waiting calls to Ready agents: the call that arrived first among the
    /// heads of all queues goes to the longest-idle Ready member of its queue, until
    /// no call can be matched. A queue with no Ready member is skipped for the rest of
    /// the pass, since ringing only ever takes agents away.
    fn distribute(&mut self, now: Instant) {
        let mut blocked: BTreeSet<String> = BTreeSet::new();
        loop {
            let calls = &self.calls;
            let candidate = self
                .queues
                .iter()
                .filter(|(name, _)| !blocked.contains(*name))
                .filter_map(|(name, queue)| {
                    let head = queue.waiting.iter().copied().find(|key| {
                        matches!(calls.get(key).map(|c| &c.stage),
                            Some(Stage::Waiting(waiting)) if waiting.ring.is_none())
                    })?;
                    Some((name, head, calls.get(&head)?.arrived_at))
                })
                .min_by_key(|(_, key, arrived_at)| (*arrived_at, *key))
                .map(|(name, key, _)| (name.clone(), key));
            let Some((queue, call)) = candidate else {
                break;
            };
            match self.longest_idle_ready(&queue) {
                Some(agent) => self.ring(call, agent, now),
                None => {
                    blocked.insert(queue);
                }
            }
        }
    }

    fn longest_idle_ready(&self, queue: &str) -> Option<String> {
        self.agents
            .iter()
            .filter(|(_, record)| {
                record.state == AgentState::Ready && record.queues.contains(queue)
            })
            // `min_by_key` keeps the first of equals: ties go by name.
            .min_by_key(|(_, record)| record.idle_since)
            .map(|(name, _)| name.clone())
    }

    fn ring(&mut self, call: CallKey, agent: String, now: Instant) {
        let until = now + self.config.ring_timeout;
        if let Some(record) = self.calls.get_mut(&call)
            && let Stage::Waiting(waiting) = &mut record.stage
        {
            waiting.ring = Some(Ring {
                agent: agent.clone(),
                until,
            });
            record.offered_to.insert(agent.clone());
        }
        self.push(AcdAction::Ring {
            call,
            agent: agent.clone(),
        });
        self.set_state(&agent, AgentState::Ringing { call }, now);
    }

    fn announce_positions(&mut self, now: Instant) {
        let next_announce = self.next_announce(now);
        for queue in self.queues.values() {
            for (index, key) in queue.waiting.iter().enumerate() {
                let Some(Stage::Waiting(waiting)) =
                    self.calls.get_mut(key).map(|record| &mut record.stage)
                else {
                    continue;
                };
                if waiting.ring.is_none() && waiting.next_announce.is_some_and(|at| at <= now) {
                    waiting.next_announce = next_announce;
                    self.actions.push_back(AcdAction::AnnouncePosition {
                        call: *key,
                        position: index + 1,
                    });
                }
            }
        }
    }
}
