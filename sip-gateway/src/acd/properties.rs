//! Invariants under random sequences of driver inputs, including inputs a real driver
//! would only send in a race (answers for calls that moved on, failures for legs
//! already cancelled, reports for unknown agents).
//!
//! The model follows only the actions, as the driver would: it never looks inside the
//! ACD, so it checks what the outside world would see.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::distributor::{Stage, Waiting};
use super::*;

const AGENTS: [&str; 4] = ["agent01", "agent02", "agent03", "lawyer01"];
const QUEUES: [&str; 3] = ["agents", "lawyers", "hardship"];
const CALLS: u64 = 6;

#[derive(Debug, Clone)]
enum Op {
    Login {
        agent: usize,
        queues: u8,
    },
    SetReady {
        agent: usize,
    },
    Pause {
        agent: usize,
    },
    Logout {
        agent: usize,
    },
    Enqueue {
        call: CallKey,
        queue: usize,
    },
    CallerHungUp {
        call: CallKey,
    },
    Answered {
        call: CallKey,
        agent: usize,
    },
    /// The agent picks up whatever their phone is ringing for, as most answers go.
    PickUp {
        agent: usize,
    },
    RingFailed {
        call: CallKey,
        agent: usize,
    },
    CallEnded {
        agent: usize,
    },
    Transfer {
        call: CallKey,
        agent: usize,
        queue: usize,
    },
    Advance {
        millis: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let agent = 0..AGENTS.len();
    let queue = 0..QUEUES.len();
    let call = 0..CALLS;
    prop_oneof![
        2 => (agent.clone(), 1u8..8).prop_map(|(agent, queues)| Op::Login { agent, queues }),
        2 => agent.clone().prop_map(|agent| Op::SetReady { agent }),
        1 => agent.clone().prop_map(|agent| Op::Pause { agent }),
        1 => agent.clone().prop_map(|agent| Op::Logout { agent }),
        3 => (call.clone(), queue.clone()).prop_map(|(call, queue)| Op::Enqueue { call, queue }),
        1 => call.clone().prop_map(|call| Op::CallerHungUp { call }),
        4 => (call.clone(), agent.clone()).prop_map(|(call, agent)| Op::Answered { call, agent }),
        4 => agent.clone().prop_map(|agent| Op::PickUp { agent }),
        2 => (call.clone(), agent.clone()).prop_map(|(call, agent)| Op::RingFailed { call, agent }),
        2 => agent.clone().prop_map(|agent| Op::CallEnded { agent }),
        1 => (call, agent, queue).prop_map(|(call, agent, queue)| Op::Transfer { call, agent, queue }),
        3 => (0u64..40_000).prop_map(|millis| Op::Advance { millis }),
    ]
}

/// What the driver knows from the actions alone.
#[derive(Default)]
struct Model {
    states: BTreeMap<String, AgentState>,
    /// The agent each call is bridged to.
    connected: BTreeMap<CallKey, String>,
    /// Agents rung for each call since it last entered a queue.
    rung: BTreeMap<CallKey, BTreeSet<String>>,
}

impl Model {
    fn state(&self, agent: &str) -> AgentState {
        self.states
            .get(agent)
            .cloned()
            .unwrap_or(AgentState::LoggedOut)
    }

    fn observe(&mut self, action: AcdAction) -> Result<(), TestCaseError> {
        match action {
            AcdAction::Ring { call, agent } => {
                prop_assert_eq!(
                    self.state(&agent),
                    AgentState::Ready,
                    "rang {} for call {}",
                    agent,
                    call
                );
                let others_ringing = self
                    .states
                    .values()
                    .any(|state| *state == AgentState::Ringing { call });
                prop_assert!(!others_ringing, "call {} rings two agents", call);
                prop_assert!(!self.connected.contains_key(&call));
                self.rung.entry(call).or_default().insert(agent);
            }
            AcdAction::CancelRing { call, agent } => {
                prop_assert!(
                    self.rung
                        .get(&call)
                        .is_some_and(|rung| rung.contains(&agent))
                );
            }
            AcdAction::Connect { call, agent } => {
                prop_assert!(
                    !self.connected.contains_key(&call),
                    "second Connect for call {} (to {}) while connected to {:?}",
                    call,
                    agent,
                    self.connected.get(&call)
                );
                prop_assert!(
                    self.rung
                        .get(&call)
                        .is_some_and(|rung| rung.contains(&agent)),
                    "call {} connected to {}, who was never rung for it",
                    call,
                    agent
                );
                self.rung.remove(&call);
                self.connected.insert(call, agent);
            }
            AcdAction::AgentStateChanged { agent, state, .. } => {
                if let AgentState::Talking { call } = self.state(&agent) {
                    prop_assert_ne!(&state, &AgentState::Talking { call });
                    self.connected.remove(&call);
                }
                if let AgentState::Talking { call } = &state {
                    prop_assert_eq!(self.connected.get(call), Some(&agent));
                }
                self.states.insert(agent, state);
            }
            AcdAction::AnnouncePosition { call, position } => {
                prop_assert!(position >= 1, "call {} announced at 0", call);
                prop_assert!(!self.connected.contains_key(&call));
            }
            AcdAction::QueueTimeout { call } => {
                prop_assert!(!self.connected.contains_key(&call));
                self.rung.remove(&call);
            }
        }
        Ok(())
    }
}

fn apply(
    acd: &mut Acd,
    op: &Op,
    now: &mut Instant,
    model: &mut Model,
) -> Result<(), TestCaseError> {
    let at = *now;
    match *op {
        Op::Login { agent, queues } => {
            let queues: Vec<&str> = (0..QUEUES.len())
                .filter(|bit| queues & (1 << bit) != 0)
                .map(|bit| QUEUES[bit])
                .collect();
            let _ = acd.login(AGENTS[agent], &queues, at);
        }
        Op::SetReady { agent } => {
            let _ = acd.set_ready(AGENTS[agent], at);
        }
        Op::Pause { agent } => {
            let _ = acd.pause(AGENTS[agent], "break", at);
        }
        Op::Logout { agent } => {
            let _ = acd.logout(AGENTS[agent], at);
        }
        Op::Enqueue { call, queue } => {
            let _ = acd.enqueue(call, QUEUES[queue], at);
        }
        Op::CallerHungUp { call } => acd.caller_hung_up(call, at),
        Op::Answered { call, agent } => {
            let _ = acd.answered(call, AGENTS[agent], at);
        }
        Op::PickUp { agent } => {
            if let Some(AgentState::Ringing { call }) = acd.agent_state(AGENTS[agent]) {
                let call = *call;
                prop_assert_eq!(acd.answered(call, AGENTS[agent], at), Ok(()));
            }
        }
        Op::RingFailed { call, agent } => acd.ring_failed(call, AGENTS[agent], at),
        Op::CallEnded { agent } => acd.call_ended(AGENTS[agent], at),
        Op::Transfer { call, agent, queue } => {
            if acd.transfer(call, AGENTS[agent], QUEUES[queue], at).is_ok() {
                // A new queue visit: only agents rung from now on may win it.
                model.rung.remove(&call);
            }
        }
        Op::Advance { millis } => {
            let target = at + Duration::from_millis(millis);
            // The driver's timer loop; every wake-up must make progress.
            let mut wakeups = 0;
            while let Some(due) = acd.poll_timeout().filter(|due| *due <= target) {
                *now = (*now).max(due);
                acd.handle_timeout(*now);
                drain_into(acd, model)?;
                check_invariants(acd);
                wakeups += 1;
                prop_assert!(wakeups < 1_000, "timers do not advance");
            }
            *now = target;
        }
    }
    drain_into(acd, model)?;
    check_invariants(acd);
    Ok(())
}

fn drain_into(acd: &mut Acd, model: &mut Model) -> Result<(), TestCaseError> {
    while let Some(action) = acd.poll_action() {
        model.observe(action)?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn never_two_agents_on_one_call_and_never_a_ring_for_a_busy_agent(
        ops in proptest::collection::vec(op(), 1..120),
    ) {
        let mut acd = Acd::new(AcdConfig::default());
        let mut now = Instant::now();
        let mut model = Model::default();
        for op in &ops {
            apply(&mut acd, op, &mut now, &mut model)?;
            // The model, built from actions only, agrees with the ACD's own view.
            for (agent, state) in acd.agents() {
                prop_assert_eq!(&model.state(agent), state);
            }
        }
    }

    #[test]
    fn the_same_holds_with_zero_wrap_up_and_a_maximum_wait(
        ops in proptest::collection::vec(op(), 1..120),
    ) {
        let mut acd = Acd::new(AcdConfig {
            wrap_up: Duration::ZERO,
            max_queue_wait: Some(Duration::from_secs(45)),
            position_announce_every: Duration::ZERO,
            ..AcdConfig::default()
        });
        let mut now = Instant::now();
        let mut model = Model::default();
        for op in &ops {
            apply(&mut acd, op, &mut now, &mut model)?;
        }
    }
}

/// Cross-checks the ACD's redundant bookkeeping: agent states against calls, calls
/// against queues.
fn check_invariants(acd: &Acd) {
    for (name, record) in &acd.agents {
        match &record.state {
            AgentState::Ringing { call } => {
                let stage = &acd.calls.get(call).expect("ringing for a known call").stage;
                assert!(
                    matches!(stage, Stage::Waiting(Waiting { ring: Some(ring), .. }) if ring.agent == *name),
                    "{name} rings for call {call}, which does not ring {name}"
                );
            }
            AgentState::Talking { call } => {
                let stage = &acd.calls.get(call).expect("talking on a known call").stage;
                assert!(
                    matches!(stage, Stage::Connected { agent } if agent == name),
                    "{name} talks on call {call}, which is not connected to {name}"
                );
            }
            _ => {}
        }
    }
    for (key, call) in &acd.calls {
        match &call.stage {
            Stage::Waiting(waiting) => {
                let queue = &acd.queues[&waiting.queue];
                assert_eq!(
                    queue.waiting.iter().filter(|k| *k == key).count(),
                    1,
                    "call {key} once in queue {}",
                    waiting.queue
                );
                if let Some(ring) = &waiting.ring {
                    assert_eq!(
                        acd.agents[&ring.agent].state,
                        AgentState::Ringing { call: *key }
                    );
                }
            }
            Stage::Connected { agent } => {
                assert_eq!(acd.agents[agent].state, AgentState::Talking { call: *key });
            }
        }
    }
    for (name, queue) in &acd.queues {
        for key in &queue.waiting {
            assert!(
                matches!(&acd.calls[key].stage, Stage::Waiting(waiting) if waiting.queue == *name),
                "queue {name} holds call {key}, which is not waiting there"
            );
        }
    }
}
