//! Scenarios on a virtual clock: `t(n)` is `n` seconds after the start.

use std::time::{Duration, Instant};

use super::*;

struct Clock(Instant);

impl Clock {
    fn at(&self, secs: u64) -> Instant {
        self.0 + Duration::from_secs(secs)
    }
}

fn setup() -> (Acd, Clock) {
    (Acd::new(AcdConfig::default()), Clock(Instant::now()))
}

fn drain(acd: &mut Acd) -> Vec<AcdAction> {
    let mut actions = Vec::new();
    while let Some(action) = acd.poll_action() {
        actions.push(action);
    }
    actions
}

/// The actions without the state changes, which most tests check through
/// `agent_state` instead.
fn calls_only(actions: Vec<AcdAction>) -> Vec<AcdAction> {
    actions
        .into_iter()
        .filter(|action| !matches!(action, AcdAction::AgentStateChanged { .. }))
        .collect()
}

fn ring(call: CallKey, agent: &str) -> AcdAction {
    AcdAction::Ring {
        call,
        agent: agent.to_owned(),
    }
}

fn cancel(call: CallKey, agent: &str) -> AcdAction {
    AcdAction::CancelRing {
        call,
        agent: agent.to_owned(),
    }
}

fn connect(call: CallKey, agent: &str) -> AcdAction {
    AcdAction::Connect {
        call,
        agent: agent.to_owned(),
    }
}

fn announce(call: CallKey, position: usize) -> AcdAction {
    AcdAction::AnnouncePosition { call, position }
}

fn paused(reason: &str) -> AgentState {
    AgentState::Paused {
        reason: reason.to_owned(),
    }
}

/// Logs the agents in to `agents`, one second apart, so the first is the longest idle.
fn login_agents(acd: &mut Acd, clock: &Clock, names: &[&str]) {
    for (secs, name) in (0..).zip(names) {
        acd.login(name, &["agents"], clock.at(secs)).unwrap();
    }
    drain(acd);
}

#[test]
fn login_makes_the_agent_ready_and_reports_it() {
    let (mut acd, clock) = setup();
    acd.login("agent01", &["agents"], clock.at(0)).unwrap();
    assert_eq!(
        drain(&mut acd),
        [AcdAction::AgentStateChanged {
            agent: "agent01".into(),
            state: AgentState::Ready,
            at: clock.at(0),
        }]
    );
    assert_eq!(acd.agent_state("agent01"), Some(&AgentState::Ready));
    assert_eq!(
        acd.agents().collect::<Vec<_>>(),
        [("agent01", &AgentState::Ready)]
    );
}

#[test]
fn the_longest_idle_ready_agent_rings_first() {
    let (mut acd, clock) = setup();
    login_agents(&mut acd, &clock, &["agent03", "agent01", "agent02"]);

    acd.enqueue(1, "agents", clock.at(10)).unwrap();
    acd.enqueue(2, "agents", clock.at(11)).unwrap();
    assert_eq!(
        calls_only(drain(&mut acd)),
        [ring(1, "agent03"), ring(2, "agent01")]
    );

    // agent03 is Ready again from 30 s, but agent02 has been idle since 2 s.
    acd.answered(1, "agent03", clock.at(12)).unwrap();
    acd.answered(2, "agent01", clock.at(12)).unwrap();
    acd.call_ended("agent03", clock.at(20));
    acd.handle_timeout(clock.at(30));
    drain(&mut acd);
    assert_eq!(acd.agent_state("agent03"), Some(&AgentState::Ready));
    acd.enqueue(3, "agents", clock.at(31)).unwrap();
    assert_eq!(calls_only(drain(&mut acd)), [ring(3, "agent02")]);

    // Now agent03 is the only Ready agent.
    acd.enqueue(4, "agents", clock.at(32)).unwrap();
    assert_eq!(calls_only(drain(&mut acd)), [ring(4, "agent03")]);
}

#[test]
fn pressing_ready_again_moves_the_agent_to_the_back_of_the_idle_order() {
    let (mut acd, clock) = setup();
    login_agents(&mut acd, &clock, &["agent01", "agent02"]);
    acd.pause("agent01", "toilet", clock.at(5)).unwrap();
    acd.set_ready("agent01", clock.at(6)).unwrap();
    drain(&mut acd);
    acd.enqueue(1, "agents", clock.at(7)).unwrap();
    assert_eq!(calls_only(drain(&mut acd)), [ring(1, "agent02")]);
}

#[test]
fn ring_timeout_cancels_pauses_the_agent_and_rings_the_next() {
    let (mut acd, clock) = setup();
    login_agents(&mut acd, &clock, &["agent01", "agent02"]);
    acd.enqueue(1, "agents", clock.at(10)).unwrap();
    assert_eq!(calls_only(drain(&mut acd)), [ring(1, "agent01")]);
    assert_eq!(acd.poll_timeout(), Some(clock.at(25)));

    acd.handle_timeout(clock.at(24));
    assert_eq!(drain(&mut acd), []);

    // The driver wakes a little late; the pause is dated when the ring ran out.
    let late = clock.at(25) + Duration::from_millis(3);
    acd.handle_timeout(late);
    assert_eq!(
        drain(&mut acd),
        [
            cancel(1, "agent01"),
            AcdAction::AgentStateChanged {
                agent: "agent01".into(),
                state: paused(NO_ANSWER),
                at: clock.at(25),
            },
            ring(1, "agent02"),
            AcdAction::AgentStateChanged {
                agent: "agent02".into(),
                state: AgentState::Ringing { call: 1 },
                at: late,
            },
        ]
    );
    assert_eq!(acd.agent_state("agent01"), Some(&paused("no answer")));
    assert_eq!(acd.position(1), Some(1));
}

#[test]
fn a_failed_ring_pauses_the_agent_and_rings_the_next() {
    let (mut acd, clock) = setup();
    login_agents(&mut acd, &clock, &["agent01", "agent02"]);
    acd.enqueue(1, "agents", clock.at(10)).unwrap();
    drain(&mut acd);
    acd.ring_failed(1, "agent01", clock.at(12));
    assert_eq!(calls_only(drain(&mut acd)), [ring(1, "agent02")]);
    assert_eq!(acd.agent_state("agent01"), Some(&paused(NO_ANSWER)));
}

#[test]
fn a_call_nobody_answers_waits_and_hears_its_position() {
    let (mut acd, clock) = setup();
    login_agents(&mut acd, &clock, &["agent01"]);
    acd.enqueue(1, "agents", clock.at(10)).unwrap();
    acd.handle_timeout(clock.at(25));
    assert_eq!(
        calls_only(drain(&mut acd)),
        [ring(1, "agent01"), cancel(1, "agent01")]
    );
    // The call stays; the position timer set at enqueue (10 s + 30 s) still runs.
    assert_eq!(acd.position(1), Some(1));
    assert_eq!(acd.poll_timeout(), Some(clock.at(40)));
    acd.handle_timeout(clock.at(40));
    assert_eq!(drain(&mut acd), [announce(1, 1)]);
}

#[test]
fn a_caller_hanging_up_cancels_the_ring_and_the_agent_keeps_their_place() {
    let (mut acd, clock) = setup();
    login_agents(&mut acd, &clock, &["agent01", "agent02"]);
    acd.enqueue(1, "agents", clock.at(10)).unwrap();
    drain(&mut acd);

    acd.caller_hung_up(1, clock.at(13));
    assert_eq!(
        drain(&mut acd),
        [
            cancel(1, "agent01"),
            AcdAction::AgentStateChanged {
                agent: "agent01".into(),
                state: AgentState::Ready,
                at: clock.at(13),
            },
        ]
    );
    assert_eq!(acd.queue_len("agents"), 0);
    assert_eq!(acd.position(1), None);
    assert_eq!(acd.poll_timeout(), None);

    // The 487 for the cancelled INVITE changes nothing.
    acd.ring_failed(1, "agent01", clock.at(13));
    assert_eq!(acd.agent_state("agent01"), Some(&AgentState::Ready));

    acd.enqueue(2, "agents", clock.at(14)).unwrap();
    assert_eq!(calls_only(drain(&mut acd)), [ring(2, "agent01")]);
    assert_eq!(acd.snapshot(clock.at(14)).queues[0].abandoned, 1);
}

#[test]
fn a_late_answer_after_the_ring_timeout_wins_and_the_second_answer_is_refused() {
    let (mut acd, clock) = setup();
    login_agents(&mut acd, &clock, &["agent01", "agent02"]);
    acd.enqueue(1, "agents", clock.at(10)).unwrap();
    acd.handle_timeout(clock.at(25));
    assert_eq!(
        calls_only(drain(&mut acd)),
        [ring(1, "agent01"), cancel(1, "agent01"), ring(1, "agent02")]
    );

    // agent01's 200 OK crossed the CANCEL: agent01 is on the line, so they keep the
    // caller and agent02's ring is cancelled.
    acd.answered(1, "agent01", clock.at(25)).unwrap();
    assert_eq!(
        calls_only(drain(&mut acd)),
        [cancel(1, "agent02"), connect(1, "agent01")]
    );
    assert_eq!(
        acd.agent_state("agent01"),
        Some(&AgentState::Talking { call: 1 })
    );
    assert_eq!(acd.agent_state("agent02"), Some(&AgentState::Ready));

    // agent02's answer crossed our CANCEL too: refused, the driver sends BYE.
    let error = acd.answered(1, "agent02", clock.at(26)).unwrap_err();
    assert_eq!(
        error,
        AcdError::CallTaken {
            call: 1,
            agent: "agent02".into(),
            by: Some("agent01".into()),
        }
    );
    assert_eq!(
        error.to_string(),
        "call 1 is already connected to agent agent01; the answer of agent agent02 comes too late"
    );
    assert_eq!(drain(&mut acd), []);
    assert_eq!(acd.agent_state("agent02"), Some(&AgentState::Ready));
    assert_eq!(acd.connected_agent(1), Some("agent01"));
}

#[test]
fn the_second_ringing_agent_answering_first_keeps_the_call() {
    let (mut acd, clock) = setup();
    login_agents(&mut acd, &clock, &["agent01", "agent02"]);
    acd.enqueue(1, "agents", clock.at(10)).unwrap();
    acd.handle_timeout(clock.at(25));
    drain(&mut acd);
    acd.answered(1, "agent02", clock.at(27)).unwrap();
    assert_eq!(calls_only(drain(&mut acd)), [connect(1, "agent02")]);
    assert!(matches!(
        acd.answered(1, "agent01", clock.at(28)),
        Err(AcdError::CallTaken { by: Some(by), .. }) if by == "agent02"
    ));
    // A retransmitted 200 from the winner changes nothing.
    acd.answered(1, "agent02", clock.at(28)).unwrap();
    assert_eq!(drain(&mut acd), []);
    assert_eq!(acd.agent_state("agent01"), Some(&paused(NO_ANSWER)));
}

#[test]
fn answers_for_calls_that_are_gone_or_were_never_offered_are_refused() {
    let (mut acd, clock) = setup();
    login_agents(&mut acd, &clock, &["agent01", "agent02"]);
    acd.enqueue(1, "agents", clock.at(10)).unwrap();
    drain(&mut acd);
    assert_eq!(
        acd.answered(1, "agent02", clock.at(11)),
        Err(AcdError::NotOffered {
            call: 1,
            agent: "agent02".into()
        })
    );
    acd.caller_hung_up(1, clock.at(12));
    let error = acd.answered(1, "agent01", clock.at(12)).unwrap_err();
    assert_eq!(
        error.to_string(),
        "call 1 is no longer waiting; the answer of agent agent01 comes too late"
    );
    assert!(
        calls_only(drain(&mut acd))
            .iter()
            .all(|a| !matches!(a, AcdAction::Connect { .. }))
    );
}

#[test]
fn a_late_answer_from_an_agent_now_ringing_for_another_call_is_refused() {
    let (mut acd, clock) = setup();
    login_agents(&mut acd, &clock, &["agent01", "agent02"]);
    acd.enqueue(1, "agents", clock.at(10)).unwrap();
    acd.handle_timeout(clock.at(25));
    acd.set_ready("agent01", clock.at(26)).unwrap();
    acd.enqueue(2, "agents", clock.at(26)).unwrap();
    assert_eq!(
        calls_only(drain(&mut acd)),
        [
            ring(1, "agent01"),
            cancel(1, "agent01"),
            ring(1, "agent02"),
            ring(2, "agent01")
        ]
    );
    let error = acd.answered(1, "agent01", clock.at(27)).unwrap_err();
    assert_eq!(
        error.to_string(),
        "agent agent01 is ringing for call 2; cannot take another call"
    );
    assert_eq!(drain(&mut acd), []);
    assert_eq!(
        acd.agent_state("agent02"),
        Some(&AgentState::Ringing { call: 1 })
    );
}

#[test]
fn wrap_up_returns_the_agent_to_ready_after_exactly_ten_seconds() {
    let (mut acd, clock) = setup();
    login_agents(&mut acd, &clock, &["agent01"]);
    acd.enqueue(1, "agents", clock.at(10)).unwrap();
    acd.answered(1, "agent01", clock.at(12)).unwrap();
    acd.call_ended("agent01", clock.at(100));
    drain(&mut acd);
    assert_eq!(acd.agent_state("agent01"), Some(&AgentState::WrapUp));
    assert_eq!(acd.poll_timeout(), Some(clock.at(110)));

    acd.handle_timeout(clock.at(110) - Duration::from_millis(1));
    assert_eq!(acd.agent_state("agent01"), Some(&AgentState::WrapUp));
    acd.handle_timeout(clock.at(110));
    assert_eq!(
        drain(&mut acd),
        [AcdAction::AgentStateChanged {
            agent: "agent01".into(),
            state: AgentState::Ready,
            at: clock.at(110),
        }]
    );
    assert_eq!(acd.poll_timeout(), None);
    // Both sides' BYE may be reported: the second report changes nothing.
    acd.call_ended("agent01", clock.at(111));
    assert_eq!(drain(&mut acd), []);
}

#[test]
fn a_waiting_call_rings_an_agent_as_wrap_up_ends() {
    let (mut acd, clock) = setup();
    login_agents(&mut acd, &clock, &["agent01"]);
    acd.enqueue(1, "agents", clock.at(10)).unwrap();
    acd.answered(1, "agent01", clock.at(11)).unwrap();
    acd.enqueue(2, "agents", clock.at(20)).unwrap();
    acd.caller_hung_up(1, clock.at(50));
    drain(&mut acd);
    assert_eq!(acd.agent_state("agent01"), Some(&AgentState::WrapUp));
    acd.handle_timeout(clock.at(60));
    assert_eq!(calls_only(drain(&mut acd)), [ring(2, "agent01")]);
}

#[test]
fn a_pause_asked_for_during_a_call_starts_after_wrap_up() {
    let (mut acd, clock) = setup();
    login_agents(&mut acd, &clock, &["agent01"]);
    acd.enqueue(1, "agents", clock.at(10)).unwrap();
    acd.answered(1, "agent01", clock.at(11)).unwrap();
    acd.pause("agent01", "lunch", clock.at(20)).unwrap();
    assert_eq!(
        acd.agent_state("agent01"),
        Some(&AgentState::Talking { call: 1 })
    );
    acd.call_ended("agent01", clock.at(30));
    acd.enqueue(2, "agents", clock.at(31)).unwrap();
    acd.handle_timeout(clock.at(40));
    assert_eq!(acd.agent_state("agent01"), Some(&paused("lunch")));
    assert_eq!(acd.position(2), Some(1));
    assert!(
        calls_only(drain(&mut acd))
            .iter()
            .all(|a| !matches!(a, AcdAction::Ring { call: 2, .. }))
    );
}

#[test]
fn pausing_while_ringing_hands_the_call_to_the_next_agent() {
    let (mut acd, clock) = setup();
    login_agents(&mut acd, &clock, &["agent01", "agent02"]);
    acd.enqueue(1, "agents", clock.at(10)).unwrap();
    drain(&mut acd);
    acd.pause("agent01", "meeting", clock.at(11)).unwrap();
    assert_eq!(
        calls_only(drain(&mut acd)),
        [cancel(1, "agent01"), ring(1, "agent02")]
    );
    assert_eq!(acd.agent_state("agent01"), Some(&paused("meeting")));
}

#[test]
fn transfer_queues_the_call_for_the_lawyers_ahead_of_ordinary_callers() {
    let (mut acd, clock) = setup();
    acd.login("agent01", &["agents"], clock.at(0)).unwrap();
    acd.login("lawyer01", &["lawyers"], clock.at(0)).unwrap();
    acd.pause("lawyer01", "consultation", clock.at(0)).unwrap();
    acd.enqueue(1, "agents", clock.at(10)).unwrap();
    acd.answered(1, "agent01", clock.at(11)).unwrap();
    // Two callers chose "legal aid" in the menu and wait for the lawyer.
    acd.enqueue(2, "lawyers", clock.at(20)).unwrap();
    acd.enqueue(3, "lawyers", clock.at(21)).unwrap();
    drain(&mut acd);

    assert_eq!(acd.transfer(1, "agent01", "lawyers", clock.at(60)), Ok(1));
    assert_eq!(
        calls_only(drain(&mut acd)),
        [announce(1, 1)],
        "no lawyer is Ready, so the caller hears the position"
    );
    assert_eq!(acd.agent_state("agent01"), Some(&AgentState::WrapUp));
    assert_eq!(acd.position(2), Some(2));
    assert_eq!(acd.position(3), Some(3));

    acd.set_ready("lawyer01", clock.at(61)).unwrap();
    assert_eq!(calls_only(drain(&mut acd)), [ring(1, "lawyer01")]);
    acd.answered(1, "lawyer01", clock.at(63)).unwrap();
    assert_eq!(calls_only(drain(&mut acd)), [connect(1, "lawyer01")]);
    assert_eq!(acd.connected_agent(1), Some("lawyer01"));
}

#[test]
fn later_transfers_queue_behind_earlier_ones() {
    let (mut acd, clock) = setup();
    login_agents(&mut acd, &clock, &["agent01", "agent02"]);
    acd.enqueue(1, "agents", clock.at(10)).unwrap();
    acd.enqueue(2, "agents", clock.at(10)).unwrap();
    acd.answered(1, "agent01", clock.at(11)).unwrap();
    acd.answered(2, "agent02", clock.at(11)).unwrap();
    acd.enqueue(3, "lawyers", clock.at(12)).unwrap();
    assert_eq!(acd.transfer(1, "agent01", "lawyers", clock.at(20)), Ok(1));
    assert_eq!(acd.transfer(2, "agent02", "lawyers", clock.at(21)), Ok(2));
    assert_eq!(
        [acd.position(1), acd.position(2), acd.position(3)],
        [Some(1), Some(2), Some(3)]
    );
}

#[test]
fn transfer_needs_the_agent_on_that_call_and_a_known_queue() {
    let (mut acd, clock) = setup();
    login_agents(&mut acd, &clock, &["agent01"]);
    acd.enqueue(1, "agents", clock.at(10)).unwrap();
    assert_eq!(
        acd.transfer(1, "agent01", "lawyers", clock.at(11)),
        Err(AcdError::NotOnCall {
            call: 1,
            agent: "agent01".into()
        })
    );
    acd.answered(1, "agent01", clock.at(11)).unwrap();
    assert!(matches!(
        acd.transfer(1, "agent01", "judges", clock.at(12)),
        Err(AcdError::UnknownQueue { .. })
    ));
    assert_eq!(
        acd.agent_state("agent01"),
        Some(&AgentState::Talking { call: 1 })
    );
}

#[test]
fn a_queue_without_agents_keeps_the_call_and_announces_its_position() {
    let (mut acd, clock) = setup();
    assert_eq!(acd.enqueue(1, "hardship", clock.at(0)), Ok(1));
    assert_eq!(acd.enqueue(2, "hardship", clock.at(5)), Ok(2));
    assert_eq!(drain(&mut acd), [announce(1, 1), announce(2, 2)]);
    assert_eq!(acd.poll_timeout(), Some(clock.at(30)));

    acd.handle_timeout(clock.at(30));
    assert_eq!(drain(&mut acd), [announce(1, 1)]);
    acd.caller_hung_up(1, clock.at(31));
    acd.handle_timeout(clock.at(35));
    assert_eq!(drain(&mut acd), [announce(2, 1)]);
    assert_eq!(acd.poll_timeout(), Some(clock.at(65)));
    assert_eq!(acd.queue_len("hardship"), 1);
}

#[test]
fn a_call_that_rings_at_once_hears_no_position() {
    let (mut acd, clock) = setup();
    login_agents(&mut acd, &clock, &["agent01"]);
    assert_eq!(acd.enqueue(1, "agents", clock.at(10)), Ok(1));
    assert_eq!(calls_only(drain(&mut acd)), [ring(1, "agent01")]);
}

#[test]
fn a_call_leaves_after_the_maximum_wait_but_never_during_a_ring() {
    let config = AcdConfig {
        max_queue_wait: Some(Duration::from_secs(60)),
        ..AcdConfig::default()
    };
    let mut acd = Acd::new(config);
    let clock = Clock(Instant::now());
    assert_eq!(acd.enqueue(1, "agents", clock.at(0)), Ok(1));
    // An agent arrives and the call rings across its deadline.
    acd.login("agent01", &["agents"], clock.at(50)).unwrap();
    drain(&mut acd);
    assert_eq!(acd.poll_timeout(), Some(clock.at(65)));
    acd.handle_timeout(clock.at(65));
    assert_eq!(
        calls_only(drain(&mut acd)),
        [cancel(1, "agent01"), AcdAction::QueueTimeout { call: 1 }]
    );
    assert_eq!(acd.queue_len("agents"), 0);
    assert_eq!(acd.snapshot(clock.at(65)).queues[0].timed_out, 1);
}

#[test]
fn agents_and_lawyers_only_take_calls_from_their_own_queues() {
    let (mut acd, clock) = setup();
    acd.login("lawyer01", &["lawyers"], clock.at(0)).unwrap();
    acd.enqueue(1, "agents", clock.at(10)).unwrap();
    assert_eq!(calls_only(drain(&mut acd)), [announce(1, 1)]);
    acd.login("agent01", &["agents", "hardship"], clock.at(11))
        .unwrap();
    assert_eq!(calls_only(drain(&mut acd)), [ring(1, "agent01")]);
    acd.enqueue(2, "lawyers", clock.at(12)).unwrap();
    assert_eq!(calls_only(drain(&mut acd)), [ring(2, "lawyer01")]);
}

#[test]
fn an_agent_in_several_queues_takes_the_caller_who_arrived_first() {
    let (mut acd, clock) = setup();
    acd.enqueue(1, "hardship", clock.at(10)).unwrap();
    acd.enqueue(2, "agents", clock.at(11)).unwrap();
    acd.enqueue(3, "hardship", clock.at(12)).unwrap();
    drain(&mut acd);
    acd.login("agent01", &["agents", "hardship"], clock.at(20))
        .unwrap();
    acd.login("agent02", &["agents", "hardship"], clock.at(20))
        .unwrap();
    acd.login("agent03", &["agents", "hardship"], clock.at(20))
        .unwrap();
    assert_eq!(
        calls_only(drain(&mut acd)),
        [ring(1, "agent01"), ring(2, "agent02"), ring(3, "agent03")]
    );
}

#[test]
fn unknown_agents_queues_and_calls_are_named_in_the_errors() {
    let (mut acd, clock) = setup();
    let error = acd.set_ready("agent07", clock.at(0)).unwrap_err();
    assert_eq!(error.to_string(), "agent agent07 is not logged in");
    assert!(matches!(
        acd.pause("agent07", "x", clock.at(0)),
        Err(AcdError::NotLoggedIn { .. })
    ));
    assert!(matches!(
        acd.logout("agent07", clock.at(0)),
        Err(AcdError::NotLoggedIn { .. })
    ));
    let error = acd.enqueue(1, "judges", clock.at(0)).unwrap_err();
    assert_eq!(
        error.to_string(),
        "unknown queue \"judges\" (configured queues: agents, lawyers, hardship)"
    );
    assert_eq!(acd.queue_len("judges"), 0);
    assert!(matches!(
        acd.login("agent01", &["agents", "judges"], clock.at(0)),
        Err(AcdError::UnknownQueue { .. })
    ));
    assert_eq!(acd.agent_state("agent01"), None);
    assert_eq!(
        acd.login("agent01", &[], clock.at(0)),
        Err(AcdError::NoQueues {
            agent: "agent01".into()
        })
    );
    acd.login("agent01", &["agents"], clock.at(0)).unwrap();
    assert_eq!(
        acd.login("agent01", &["lawyers"], clock.at(1)),
        Err(AcdError::AlreadyLoggedIn {
            agent: "agent01".into()
        })
    );
    acd.enqueue(1, "agents", clock.at(2)).unwrap();
    assert_eq!(
        acd.enqueue(1, "lawyers", clock.at(3)),
        Err(AcdError::DuplicateCall { call: 1 })
    );
}

#[test]
fn logout_is_refused_during_a_call_and_cancels_a_ring() {
    let (mut acd, clock) = setup();
    login_agents(&mut acd, &clock, &["agent01", "agent02"]);
    acd.enqueue(1, "agents", clock.at(10)).unwrap();
    acd.answered(1, "agent01", clock.at(11)).unwrap();
    let error = acd.logout("agent01", clock.at(12)).unwrap_err();
    assert_eq!(
        error.to_string(),
        "agent agent01 is talking on call 1; cannot log out"
    );
    assert_eq!(
        acd.agent_state("agent01"),
        Some(&AgentState::Talking { call: 1 })
    );

    acd.enqueue(2, "agents", clock.at(13)).unwrap();
    drain(&mut acd);
    acd.logout("agent02", clock.at(14)).unwrap();
    assert_eq!(
        drain(&mut acd),
        [
            cancel(2, "agent02"),
            AcdAction::AgentStateChanged {
                agent: "agent02".into(),
                state: AgentState::LoggedOut,
                at: clock.at(14),
            },
        ]
    );
    assert_eq!(acd.position(2), Some(1));
    // A logged-out agent's late 200 is refused; so is logging out twice.
    assert!(acd.answered(2, "agent02", clock.at(15)).is_err());
    assert!(matches!(
        acd.logout("agent02", clock.at(15)),
        Err(AcdError::NotLoggedIn { .. })
    ));
    // Logged out agents may come back, with other queues.
    acd.login("agent02", &["lawyers"], clock.at(16)).unwrap();
    assert_eq!(acd.agent_state("agent02"), Some(&AgentState::Ready));
}

#[test]
fn snapshot_shows_states_waits_and_counters() {
    let (mut acd, clock) = setup();
    login_agents(&mut acd, &clock, &["agent01", "agent02"]);
    acd.pause("agent02", "training", clock.at(5)).unwrap();
    acd.enqueue(1, "agents", clock.at(10)).unwrap();
    acd.enqueue(2, "agents", clock.at(12)).unwrap();
    acd.answered(1, "agent01", clock.at(14)).unwrap();

    let snapshot = acd.snapshot(clock.at(20));
    assert_eq!(
        snapshot.agents,
        [
            AgentSnapshot {
                agent: "agent01".into(),
                state: "talking".into(),
                reason: None,
                call: Some(1),
                in_state_ms: 6_000,
                idle_ms: None,
                pause_after_call: None,
                queues: vec!["agents".into()],
            },
            AgentSnapshot {
                agent: "agent02".into(),
                state: "paused".into(),
                reason: Some("training".into()),
                call: None,
                in_state_ms: 15_000,
                idle_ms: None,
                pause_after_call: None,
                queues: vec!["agents".into()],
            },
        ]
    );
    assert_eq!(
        snapshot.queues[0],
        QueueSnapshot {
            queue: "agents".into(),
            waiting: 1,
            ringing: 0,
            longest_wait_ms: 8_000,
            agents_logged_in: 2,
            agents_ready: 0,
            offered: 2,
            answered: 1,
            abandoned: 0,
            timed_out: 0,
        }
    );
    assert_eq!(
        snapshot
            .queues
            .iter()
            .map(|q| q.queue.as_str())
            .collect::<Vec<_>>(),
        ["agents", "lawyers", "hardship"]
    );
}
