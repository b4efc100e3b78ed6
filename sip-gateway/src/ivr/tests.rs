//! Every way through the menu, on a virtual clock.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;

fn drain(session: &mut IvrSession) -> Vec<IvrAction> {
    let mut actions = Vec::new();
    while let Some(action) = session.poll_action() {
        actions.push(action);
    }
    actions
}

fn play(prompts: &[Prompt]) -> IvrAction {
    IvrAction::Play(prompts.to_vec())
}

fn route(queue: &str, service: &'static str) -> IvrAction {
    IvrAction::Route {
        queue: queue.to_owned(),
        service,
    }
}

fn start(config: IvrConfig) -> (IvrSession, Instant) {
    let t0 = Instant::now();
    let mut session = IvrSession::start(Arc::new(config), t0);
    assert_eq!(
        drain(&mut session),
        [play(&[Prompt::Greeting, Prompt::Menu])]
    );
    (session, t0)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[test]
fn each_menu_key_routes_to_its_queue_and_service() {
    let cases = [
        ('1', "agents", "rights_consultation", Prompt::PleaseHold),
        ('2', "lawyers", "legal_aid", Prompt::TransferLawyer),
        ('3', "hardship", "hardship", Prompt::PleaseHold),
        ('0', "agents", "agent", Prompt::PleaseHold),
    ];
    for (key, queue, service, prompt) in cases {
        let (mut session, t0) = start(IvrConfig::default());
        session.prompts_finished(t0 + secs(20));
        session.digit(key, t0 + secs(22));
        assert_eq!(
            drain(&mut session),
            [play(&[prompt]), route(queue, service)],
            "key {key}"
        );
        assert!(session.is_finished());
        assert_eq!(
            session.outcome(),
            Some(&IvrOutcome::Routed {
                queue: queue.into(),
                service,
                digit: Some(key),
            })
        );
        assert_eq!(session.poll_timeout(), None);
    }
}

#[test]
fn a_key_during_the_greeting_barges_in() {
    let (mut session, t0) = start(IvrConfig::default());
    assert_eq!(session.poll_timeout(), None, "no timer while prompts play");
    session.digit('2', t0 + secs(1));
    assert_eq!(
        drain(&mut session),
        [
            play(&[Prompt::TransferLawyer]),
            route("lawyers", SERVICE_LEGAL_AID)
        ]
    );
}

#[test]
fn the_digit_timer_starts_when_the_menu_has_played() {
    let (mut session, t0) = start(IvrConfig::default());
    session.handle_timeout(t0 + secs(10));
    assert_eq!(drain(&mut session), [], "the menu is still playing");
    session.prompts_finished(t0 + secs(20));
    assert_eq!(session.poll_timeout(), Some(t0 + secs(28)));
    session.handle_timeout(t0 + secs(27));
    assert_eq!(drain(&mut session), []);
    assert_eq!(session.failed_attempts(), 0);
}

#[test]
fn an_invalid_key_replays_the_menu_and_counts_an_attempt() {
    let (mut session, t0) = start(IvrConfig::default());
    session.prompts_finished(t0 + secs(20));
    session.digit('9', t0 + secs(21));
    assert_eq!(
        drain(&mut session),
        [play(&[Prompt::Invalid, Prompt::Menu])]
    );
    assert_eq!(session.failed_attempts(), 1);
    assert_eq!(session.poll_timeout(), None, "the menu plays again");
    // A barge-in during the replay is accepted.
    session.digit('*', t0 + secs(22));
    assert_eq!(
        drain(&mut session),
        [play(&[Prompt::Invalid, Prompt::Menu])]
    );
    session.digit('3', t0 + secs(23));
    assert_eq!(
        drain(&mut session),
        [
            play(&[Prompt::PleaseHold]),
            route("hardship", SERVICE_HARDSHIP)
        ]
    );
    assert_eq!(session.failed_attempts(), 2);
}

#[test]
fn silence_replays_the_menu_and_counts_an_attempt() {
    let (mut session, t0) = start(IvrConfig::default());
    session.prompts_finished(t0 + secs(20));
    session.handle_timeout(t0 + secs(28));
    assert_eq!(
        drain(&mut session),
        [play(&[Prompt::NoInput, Prompt::Menu])]
    );
    assert_eq!(session.failed_attempts(), 1);
    assert_eq!(session.poll_timeout(), None);
    session.prompts_finished(t0 + secs(40));
    assert_eq!(session.poll_timeout(), Some(t0 + secs(48)));
}

#[test]
fn a_key_pressed_before_an_overdue_timer_is_handled_wins() {
    let (mut session, t0) = start(IvrConfig::default());
    session.prompts_finished(t0 + secs(20));
    session.digit('1', t0 + secs(29));
    session.handle_timeout(t0 + secs(29));
    assert_eq!(
        drain(&mut session),
        [
            play(&[Prompt::PleaseHold]),
            route("agents", SERVICE_RIGHTS_CONSULTATION)
        ]
    );
}

#[test]
fn after_three_failures_the_caller_still_reaches_an_agent() {
    let (mut session, t0) = start(IvrConfig::default());
    session.prompts_finished(t0 + secs(20));
    session.digit('7', t0 + secs(21));
    session.prompts_finished(t0 + secs(35));
    session.handle_timeout(t0 + secs(43));
    assert_eq!(
        drain(&mut session),
        [
            play(&[Prompt::Invalid, Prompt::Menu]),
            play(&[Prompt::NoInput, Prompt::Menu])
        ]
    );
    session.prompts_finished(t0 + secs(58));
    session.handle_timeout(t0 + secs(66));
    assert_eq!(
        drain(&mut session),
        [
            play(&[Prompt::NoInput, Prompt::PleaseHold]),
            route("agents", SERVICE_NO_SELECTION)
        ]
    );
    assert_eq!(session.failed_attempts(), 3);
    assert_eq!(
        session.outcome(),
        Some(&IvrOutcome::Routed {
            queue: "agents".into(),
            service: SERVICE_NO_SELECTION,
            digit: None,
        })
    );
}

#[test]
fn without_a_fallback_queue_the_caller_hears_goodbye_and_the_call_ends() {
    let (mut session, t0) = start(IvrConfig {
        max_attempts: 2,
        after_attempts: None,
        ..IvrConfig::default()
    });
    session.digit('#', t0 + secs(1));
    session.digit('#', t0 + secs(2));
    assert_eq!(
        drain(&mut session),
        [
            play(&[Prompt::Invalid, Prompt::Menu]),
            play(&[Prompt::Invalid, Prompt::Goodbye])
        ]
    );
    assert!(!session.is_finished(), "the goodbye is still playing");
    session.digit('1', t0 + secs(3));
    assert_eq!(drain(&mut session), [], "keys during goodbye are ignored");
    session.prompts_finished(t0 + secs(5));
    assert_eq!(drain(&mut session), [IvrAction::HangUp]);
    assert_eq!(session.outcome(), Some(&IvrOutcome::HungUp));
    assert!(session.is_finished());
}

#[test]
fn once_routed_further_input_is_ignored() {
    let (mut session, t0) = start(IvrConfig::default());
    session.digit('0', t0 + secs(1));
    drain(&mut session);
    session.digit('2', t0 + secs(2));
    session.digit('x', t0 + secs(2));
    session.prompts_finished(t0 + secs(3));
    session.handle_timeout(t0 + secs(100));
    assert_eq!(drain(&mut session), []);
    assert_eq!(session.poll_timeout(), None);
    assert_eq!(
        session.outcome(),
        Some(&IvrOutcome::Routed {
            queue: "agents".into(),
            service: SERVICE_AGENT,
            digit: Some('0'),
        })
    );
}

#[test]
fn a_configured_key_outside_the_standard_four_is_service_other() {
    let mut config = IvrConfig::default();
    config.routes.push(('9', "hardship".into()));
    let (mut session, t0) = start(config);
    session.digit('9', t0);
    assert_eq!(
        drain(&mut session),
        [
            play(&[Prompt::PleaseHold]),
            route("hardship", SERVICE_OTHER)
        ]
    );
}

#[test]
fn prompt_files_are_snake_case_wavs() {
    let names: Vec<&str> = Prompt::ALL.iter().map(|p| p.file_name()).collect();
    assert_eq!(
        names,
        [
            "greeting.wav",
            "menu.wav",
            "invalid.wav",
            "no_input.wav",
            "please_hold.wav",
            "transfer_lawyer.wav",
            "goodbye.wav"
        ]
    );
}

#[test]
fn config_validation_names_the_problem() {
    assert_eq!(IvrConfig::default().validate(), Ok(()));
    let with = |change: fn(&mut IvrConfig)| {
        let mut config = IvrConfig::default();
        change(&mut config);
        config.validate().unwrap_err().to_string()
    };
    assert_eq!(
        with(|c| c.routes.push(('1', "lawyers".into()))),
        "menu key '1' is configured twice"
    );
    assert_eq!(
        with(|c| c.routes.push(('x', "lawyers".into()))),
        "menu key 'x' is not a DTMF key (0-9, *, #, A-D)"
    );
    assert_eq!(
        with(|c| c.routes.push(('5', " ".into()))),
        "menu key '5' has an empty queue name"
    );
    assert_eq!(
        with(|c| c.max_attempts = 0),
        "max_attempts must be at least 1"
    );
    assert_eq!(
        with(|c| c.digit_timeout = Duration::ZERO),
        "digit_timeout must be longer than zero"
    );
    assert_eq!(
        with(|c| c.after_attempts = Some(String::new())),
        "the fallback queue after failed attempts is empty"
    );
}
