//! The recorded prompts the caller hears, loaded once at start.
//!
//! The Mandarin prompts in `sip-gateway/prompts/` are built into the binary and written
//! to the prompts directory on first start; a centre replaces them with its own
//! recordings (same file names, 8 kHz mono 16-bit WAV) and restarts.

use std::path::Path;

use hotline_media::prompt::{Prompt, PromptError};
use thiserror::Error;

use crate::ivr;

macro_rules! builtin {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_bytes!(concat!("../prompts/", $name)))),*]
    };
}

/// Every prompt file and its built-in content.
pub const BUILTIN: &[(&str, &[u8])] = builtin![
    "greeting.wav",
    "menu.wav",
    "invalid.wav",
    "no_input.wav",
    "please_hold.wav",
    "position_before.wav",
    "position_after.wav",
    "digit_0.wav",
    "digit_1.wav",
    "digit_2.wav",
    "digit_3.wav",
    "digit_4.wav",
    "digit_5.wav",
    "digit_6.wav",
    "digit_7.wav",
    "digit_8.wav",
    "digit_9.wav",
    "transfer_lawyer.wav",
    "goodbye.wav",
    "hold_music.wav",
];

#[derive(Debug, Error)]
pub enum PromptLibraryError {
    #[error("prompts directory {path}: {error}")]
    Io {
        path: std::path::PathBuf,
        error: std::io::Error,
    },
    #[error(transparent)]
    Prompt(#[from] PromptError),
}

#[derive(Debug, Clone)]
pub struct PromptLibrary {
    pub greeting: Prompt,
    pub menu: Prompt,
    pub invalid: Prompt,
    pub no_input: Prompt,
    pub please_hold: Prompt,
    pub position_before: Prompt,
    pub position_after: Prompt,
    pub digits: Vec<Prompt>,
    pub transfer_lawyer: Prompt,
    pub goodbye: Prompt,
    pub hold_music: Prompt,
}

impl PromptLibrary {
    /// Writes the built-in prompts that are missing from `dir` (an operator's own
    /// recordings are never overwritten), then loads them all.
    pub fn install_and_load(dir: &Path) -> Result<PromptLibrary, PromptLibraryError> {
        std::fs::create_dir_all(dir).map_err(|error| PromptLibraryError::Io {
            path: dir.to_owned(),
            error,
        })?;
        for (name, bytes) in BUILTIN {
            let path = dir.join(name);
            if !path.exists() {
                std::fs::write(&path, bytes).map_err(|error| PromptLibraryError::Io {
                    path: path.clone(),
                    error,
                })?;
            }
        }
        Ok(Self::load(dir)?)
    }

    pub fn load(dir: &Path) -> Result<PromptLibrary, PromptError> {
        let load = |name: &str| Prompt::load_wav(dir.join(name));
        Ok(PromptLibrary {
            greeting: load("greeting.wav")?,
            menu: load("menu.wav")?,
            invalid: load("invalid.wav")?,
            no_input: load("no_input.wav")?,
            please_hold: load("please_hold.wav")?,
            position_before: load("position_before.wav")?,
            position_after: load("position_after.wav")?,
            digits: (0..10)
                .map(|digit| load(&format!("digit_{digit}.wav")))
                .collect::<Result<_, _>>()?,
            transfer_lawyer: load("transfer_lawyer.wav")?,
            goodbye: load("goodbye.wav")?,
            hold_music: load("hold_music.wav")?,
        })
    }

    pub fn ivr(&self, prompt: ivr::Prompt) -> Prompt {
        match prompt {
            ivr::Prompt::Greeting => self.greeting.clone(),
            ivr::Prompt::Menu => self.menu.clone(),
            ivr::Prompt::Invalid => self.invalid.clone(),
            ivr::Prompt::NoInput => self.no_input.clone(),
            ivr::Prompt::PleaseHold => self.please_hold.clone(),
            ivr::Prompt::TransferLawyer => self.transfer_lawyer.clone(),
            ivr::Prompt::Goodbye => self.goodbye.clone(),
        }
    }

    /// For a caller at `position` (1 = next): "您前面还有 N 位来电在等候" for 1 to 9
    /// callers ahead; otherwise only "please hold", since a worker told "nineteen"
    /// gains nothing over "please hold", and the next in line has nobody ahead.
    pub fn position(&self, position: usize) -> Vec<Prompt> {
        let ahead = position.saturating_sub(1);
        match ahead {
            1..=9 => vec![
                self.position_before.clone(),
                self.digits[ahead].clone(),
                self.position_after.clone(),
            ],
            _ => vec![self.please_hold.clone()],
        }
    }
}
