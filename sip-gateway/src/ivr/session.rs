//! One call's way through the menu.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;

use super::{
    IvrAction, IvrConfig, Prompt, SERVICE_LEGAL_AID, SERVICE_NO_SELECTION, service_for_digit,
};

/// How the menu ended for this call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IvrOutcome {
    /// Handed to `queue`; `digit` is `None` when the caller reached it by the fallback.
    Routed {
        queue: String,
        service: &'static str,
        digit: Option<char>,
    },
    /// No fallback queue: the caller heard goodbye and the call was hung up.
    HungUp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Greeting or menu prompts are playing; a digit barges in.
    Prompting,
    /// The menu has played; the caller has until `deadline` to press a key.
    AwaitingDigit {
        deadline: Instant,
    },
    /// The goodbye is playing; the call is hung up when it ends.
    SayingGoodbye,
    Finished,
}

/// The menu state of one call. See the [module docs](super).
#[derive(Debug)]
pub struct IvrSession {
    config: Arc<IvrConfig>,
    phase: Phase,
    failed_attempts: u32,
    outcome: Option<IvrOutcome>,
    actions: VecDeque<IvrAction>,
}

impl IvrSession {
    /// Answers the menu for a new call: plays the greeting and the menu.
    pub fn start(config: Arc<IvrConfig>, _now: Instant) -> Self {
        IvrSession {
            config,
            phase: Phase::Prompting,
            failed_attempts: 0,
            outcome: None,
            actions: VecDeque::from([IvrAction::Play(vec![Prompt::Greeting, Prompt::Menu])]),
        }
    }

    /// The caller pressed `digit`. Accepted while prompts play (barge-in) and while
    /// waiting for a key, even if the digit timer is overdue but has not been handled
    /// yet: a key the caller pressed beats a timer. Ignored once the menu is over.
    pub fn digit(&mut self, digit: char, _now: Instant) {
        match self.phase {
            Phase::Prompting | Phase::AwaitingDigit { .. } => {}
            Phase::SayingGoodbye | Phase::Finished => return,
        }
        match self.config.route(digit) {
            Some(queue) => {
                let queue = queue.to_owned();
                self.route(queue, service_for_digit(digit), Some(digit), None);
            }
            None => self.fail(Prompt::Invalid),
        }
    }

    /// The player finished the last [`IvrAction::Play`]. Report only the end of the
    /// most recent one: a list that was cut off by a newer one did not finish.
    pub fn prompts_finished(&mut self, now: Instant) {
        match self.phase {
            Phase::Prompting => {
                self.phase = Phase::AwaitingDigit {
                    deadline: now + self.config.digit_timeout,
                };
            }
            Phase::SayingGoodbye => {
                self.phase = Phase::Finished;
                self.outcome = Some(IvrOutcome::HungUp);
                self.actions.push_back(IvrAction::HangUp);
            }
            Phase::AwaitingDigit { .. } | Phase::Finished => {}
        }
    }

    /// Runs the digit timer if it is due.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Phase::AwaitingDigit { deadline } = self.phase
            && deadline <= now
        {
            self.fail(Prompt::NoInput);
        }
    }

    /// When [`Self::handle_timeout`] must run next: only while waiting for a key.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match self.phase {
            Phase::AwaitingDigit { deadline } => Some(deadline),
            _ => None,
        }
    }

    /// The next action for the driver.
    pub fn poll_action(&mut self) -> Option<IvrAction> {
        self.actions.pop_front()
    }

    /// How the menu ended, once it has.
    pub fn outcome(&self) -> Option<&IvrOutcome> {
        self.outcome.as_ref()
    }

    /// True once the call has been routed or hung up; the session can then be dropped
    /// after its actions are drained.
    pub fn is_finished(&self) -> bool {
        self.phase == Phase::Finished
    }

    /// Invalid keys and silences so far.
    pub fn failed_attempts(&self) -> u32 {
        self.failed_attempts
    }

    /// An invalid key or a silence. The caller always hears why (`why`) before what
    /// comes next: the menu again, the hold prompt of the fallback, or goodbye.
    fn fail(&mut self, why: Prompt) {
        self.failed_attempts += 1;
        if self.failed_attempts < self.config.max_attempts {
            self.phase = Phase::Prompting;
            self.actions
                .push_back(IvrAction::Play(vec![why, Prompt::Menu]));
            return;
        }
        match self.config.after_attempts.clone() {
            Some(queue) => self.route(queue, SERVICE_NO_SELECTION, None, Some(why)),
            None => {
                self.phase = Phase::SayingGoodbye;
                self.actions
                    .push_back(IvrAction::Play(vec![why, Prompt::Goodbye]));
            }
        }
    }

    fn route(
        &mut self,
        queue: String,
        service: &'static str,
        digit: Option<char>,
        why: Option<Prompt>,
    ) {
        let hold = if service == SERVICE_LEGAL_AID {
            Prompt::TransferLawyer
        } else {
            Prompt::PleaseHold
        };
        self.phase = Phase::Finished;
        self.outcome = Some(IvrOutcome::Routed {
            queue: queue.clone(),
            service,
            digit,
        });
        self.actions
            .push_back(IvrAction::Play(why.into_iter().chain([hold]).collect()));
        self.actions.push_back(IvrAction::Route { queue, service });
    }
}
