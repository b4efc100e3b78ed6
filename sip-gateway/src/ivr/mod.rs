//! The IVR menu a worker hears after dialling 12351: greeting, menu, one key.
//!
//! [`IvrSession`] is one call's menu as a sans-io state machine. The driver feeds it
//! DTMF digits ([`IvrSession::digit`]), the player's "prompts done" signal
//! ([`IvrSession::prompts_finished`]) and timer wake-ups, each with `now`, then drains
//! [`IvrSession::poll_action`]. It neither plays audio nor reads a clock, so every path
//! through the menu is tested on a virtual clock.
//!
//! # Why the shapes are what they are
//!
//! * **[`IvrAction::Play`] carries a list and replaces what is playing.** The menu's
//!   answers are sequences ("that key is not valid" then the menu again), and a
//!   worker who presses a key mid-prompt must not sit through the rest of it: the
//!   new list cuts the old one off. The player needs no other command.
//! * **The digit timer starts when the prompts end, not when they start.** Prompts
//!   differ in length and a caller who listens to the whole menu must still get the
//!   full [`IvrConfig::digit_timeout`] to choose; only the player knows when audio
//!   ends, hence [`IvrSession::prompts_finished`].
//! * **Barge-in.** A digit pressed during the greeting or the menu is acted on at
//!   once; regular callers know the keys.
//! * **A worker who cannot use the menu still reaches a person.** After
//!   [`IvrConfig::max_attempts`] invalid keys or silences the call is routed to
//!   [`IvrConfig::after_attempts`] (the agents) with the service
//!   [`SERVICE_NO_SELECTION`], so reports can count callers the menu failed; only
//!   when no fallback queue is configured does the IVR say goodbye and hang up.
//! * **The service name is fixed per key, the queue is configuration.** Keys 1 and 0
//!   both go to the agents, but what the worker asked for ("rights consultation" or
//!   "just a person") is what ticket-core records, so [`IvrAction::Route`] carries
//!   both. Keys outside the standard four get [`SERVICE_OTHER`].
//! * **Once routed, the session is finished** and ignores further input: the queue
//!   owns the call from then on.

mod session;

#[cfg(test)]
mod tests;

use std::time::Duration;

use thiserror::Error;

pub use session::{IvrOutcome, IvrSession};

/// Service of key 1: rights consultation (维权咨询).
pub const SERVICE_RIGHTS_CONSULTATION: &str = "rights_consultation";
/// Service of key 2: legal aid, answered by the duty lawyers (法律援助).
pub const SERVICE_LEGAL_AID: &str = "legal_aid";
/// Service of key 3: hardship assistance (困难帮扶).
pub const SERVICE_HARDSHIP: &str = "hardship";
/// Service of key 0: "put me through to a person".
pub const SERVICE_AGENT: &str = "agent";
/// The caller made no valid choice within the allowed attempts.
pub const SERVICE_NO_SELECTION: &str = "no_selection";
/// A configured key outside the standard four.
pub const SERVICE_OTHER: &str = "other";

/// The service a menu key stands for.
pub fn service_for_digit(digit: char) -> &'static str {
    match digit {
        '1' => SERVICE_RIGHTS_CONSULTATION,
        '2' => SERVICE_LEGAL_AID,
        '3' => SERVICE_HARDSHIP,
        '0' => SERVICE_AGENT,
        _ => SERVICE_OTHER,
    }
}

/// A recorded prompt; the player finds it as [`Prompt::file_name`] in its prompt
/// directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Prompt {
    /// "Welcome to the 12351 trade-union worker hotline."
    Greeting,
    /// "For rights consultation press 1, legal aid 2, hardship assistance 3, an agent 0."
    Menu,
    /// "That key is not valid."
    Invalid,
    /// "We did not receive your choice."
    NoInput,
    /// "Please hold; you will be connected."
    PleaseHold,
    /// "You are being transferred to a duty lawyer."
    TransferLawyer,
    /// "Thank you for calling; goodbye."
    Goodbye,
}

impl Prompt {
    pub const ALL: [Prompt; 7] = [
        Prompt::Greeting,
        Prompt::Menu,
        Prompt::Invalid,
        Prompt::NoInput,
        Prompt::PleaseHold,
        Prompt::TransferLawyer,
        Prompt::Goodbye,
    ];

    /// The snake_case WAV file name, e.g. `no_input.wav`.
    pub fn file_name(self) -> &'static str {
        match self {
            Prompt::Greeting => "greeting.wav",
            Prompt::Menu => "menu.wav",
            Prompt::Invalid => "invalid.wav",
            Prompt::NoInput => "no_input.wav",
            Prompt::PleaseHold => "please_hold.wav",
            Prompt::TransferLawyer => "transfer_lawyer.wav",
            Prompt::Goodbye => "goodbye.wav",
        }
    }
}

/// What the driver must do for the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IvrAction {
    /// Stop whatever plays and play these prompts in order; report the end with
    /// [`IvrSession::prompts_finished`].
    Play(Vec<Prompt>),
    /// Hand the call to the ACD queue `queue`, telling ticket-core the `service`
    /// chosen. Any prompt emitted just before keeps playing while the call queues.
    Route {
        queue: String,
        service: &'static str,
    },
    /// Hang up the call (after the goodbye has played).
    HangUp,
}

/// The menu, shared by every call's session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IvrConfig {
    /// How long to wait for a key after the menu has finished playing.
    pub digit_timeout: Duration,
    /// Failed attempts (invalid key or silence) before the fallback.
    pub max_attempts: u32,
    /// Menu keys and the ACD queue each leads to.
    pub routes: Vec<(char, String)>,
    /// Where a caller goes after `max_attempts` failures; `None` says goodbye and
    /// hangs up.
    pub after_attempts: Option<String>,
}

impl Default for IvrConfig {
    fn default() -> Self {
        IvrConfig {
            digit_timeout: Duration::from_secs(8),
            max_attempts: 3,
            routes: vec![
                ('1', "agents".to_owned()),
                ('2', "lawyers".to_owned()),
                ('3', "hardship".to_owned()),
                ('0', "agents".to_owned()),
            ],
            after_attempts: Some("agents".to_owned()),
        }
    }
}

/// A menu configuration that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IvrConfigError {
    #[error("menu key {0:?} is not a DTMF key (0-9, *, #, A-D)")]
    NotDtmf(char),
    #[error("menu key {0:?} is configured twice")]
    DuplicateKey(char),
    #[error("menu key {0:?} has an empty queue name")]
    EmptyQueue(char),
    #[error("the fallback queue after failed attempts is empty")]
    EmptyFallbackQueue,
    #[error("max_attempts must be at least 1")]
    NoAttempts,
    #[error("digit_timeout must be longer than zero")]
    ZeroDigitTimeout,
}

impl IvrConfig {
    /// Checks the menu once, when the configuration is loaded. Whether the queues
    /// exist is for the caller to check against the ACD's configuration.
    pub fn validate(&self) -> Result<(), IvrConfigError> {
        if self.max_attempts == 0 {
            return Err(IvrConfigError::NoAttempts);
        }
        if self.digit_timeout.is_zero() {
            return Err(IvrConfigError::ZeroDigitTimeout);
        }
        for (index, (key, queue)) in self.routes.iter().enumerate() {
            if !is_dtmf(*key) {
                return Err(IvrConfigError::NotDtmf(*key));
            }
            if self.routes[..index].iter().any(|(other, _)| other == key) {
                return Err(IvrConfigError::DuplicateKey(*key));
            }
            if queue.trim().is_empty() {
                return Err(IvrConfigError::EmptyQueue(*key));
            }
        }
        if self
            .after_attempts
            .as_ref()
            .is_some_and(|queue| queue.trim().is_empty())
        {
            return Err(IvrConfigError::EmptyFallbackQueue);
        }
        Ok(())
    }

    /// The queue behind menu key `digit`; the first entry wins if a key is listed twice.
    pub fn route(&self, digit: char) -> Option<&str> {
        self.routes
            .iter()
            .find(|(key, _)| *key == digit)
            .map(|(_, queue)| queue.as_str())
    }
}

/// The sixteen keys RFC 4733 telephone events carry.
pub fn is_dtmf(key: char) -> bool {
    matches!(key, '0'..='9' | '*' | '#' | 'A'..='D')
}
