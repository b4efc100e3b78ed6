//! IVR prompts: audio loaded once from WAV files and played out in 20 ms frames.
//!
//! Prompts must already be 8 kHz mono 16-bit PCM, the format the gateway sends after
//! G.711 encoding. Resampling at load time would hide a wrong file behind a quality
//! loss nobody listens for; refusing it with the rule in the message gets the file
//! fixed instead (see `sip-gateway/prompts/README.md` for how to produce one).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;

/// Sample rate of prompts, recordings and every G.711 stream.
pub const SAMPLE_RATE: u32 = 8000;

/// Samples in one 20 ms frame at [`SAMPLE_RATE`], the packetisation of every stream
/// the gateway sends.
pub const FRAME_SAMPLES: usize = 160;

/// A prompt file that cannot be used, naming the file and the rule it breaks.
#[derive(Debug, Error)]
pub enum PromptError {
    #[error("prompt {path}: cannot read WAV: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: hound::Error,
    },
    #[error("prompt {path}: sample rate {sample_rate} Hz, must be {SAMPLE_RATE} Hz")]
    SampleRate { path: PathBuf, sample_rate: u32 },
    #[error("prompt {path}: {channels} channels, must be 1 (mono)")]
    Channels { path: PathBuf, channels: u16 },
    #[error("prompt {path}: {bits}-bit {format}, must be 16-bit integer PCM")]
    SampleFormat {
        path: PathBuf,
        bits: u16,
        format: &'static str,
    },
    #[error("prompt {path}: contains no samples, must contain audio")]
    Empty { path: PathBuf },
}

/// Audio to play: 8 kHz mono samples shared between all calls playing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    name: Arc<str>,
    samples: Arc<[i16]>,
}

impl Prompt {
    /// Loads a WAV file, accepting only 16-bit integer PCM, mono, 8000 Hz. The
    /// prompt's name is the file stem (`greeting` for `greeting.wav`).
    pub fn load_wav(path: impl AsRef<Path>) -> Result<Prompt, PromptError> {
        let path = path.as_ref();
        let read_error = |source| PromptError::Read {
            path: path.to_owned(),
            source,
        };
        let mut reader = hound::WavReader::open(path).map_err(read_error)?;
        let spec = reader.spec();
        if spec.sample_format != hound::SampleFormat::Int || spec.bits_per_sample != 16 {
            return Err(PromptError::SampleFormat {
                path: path.to_owned(),
                bits: spec.bits_per_sample,
                format: match spec.sample_format {
                    hound::SampleFormat::Int => "integer PCM",
                    hound::SampleFormat::Float => "float",
                },
            });
        }
        if spec.channels != 1 {
            return Err(PromptError::Channels {
                path: path.to_owned(),
                channels: spec.channels,
            });
        }
        if spec.sample_rate != SAMPLE_RATE {
            return Err(PromptError::SampleRate {
                path: path.to_owned(),
                sample_rate: spec.sample_rate,
            });
        }
        let samples = reader
            .samples::<i16>()
            .collect::<Result<Vec<i16>, _>>()
            .map_err(read_error)?;
        if samples.is_empty() {
            return Err(PromptError::Empty {
                path: path.to_owned(),
            });
        }
        let name = path
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        Ok(Prompt::from_samples(name, samples))
    }

    /// A prompt from samples already at 8 kHz (synthesised tones, tests).
    pub fn from_samples(name: impl Into<String>, samples: Vec<i16>) -> Prompt {
        Prompt {
            name: Arc::from(name.into()),
            samples: Arc::from(samples),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn samples(&self) -> &[i16] {
        &self.samples
    }

    pub fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.samples.len() as f64 / f64::from(SAMPLE_RATE))
    }
}

/// Plays one prompt or a sequence, optionally looping, as 20 ms frames.
///
/// A sequence plays gaplessly: a frame may end one prompt and begin the next, so
/// "您前面还有" + "三" + "位来电在等候" sounds like one sentence. Only the last frame
/// of a non-looping player is padded with silence.
#[derive(Debug, Clone)]
pub struct PromptPlayer {
    prompts: Vec<Prompt>,
    looping: bool,
    /// Index of the prompt being played and the next sample in it.
    prompt_index: usize,
    position: usize,
}

impl PromptPlayer {
    /// Plays one prompt once.
    pub fn new(prompt: Prompt) -> Self {
        PromptPlayer::sequence(vec![prompt])
    }

    /// Plays the prompts one after the other, once.
    pub fn sequence(prompts: Vec<Prompt>) -> Self {
        PromptPlayer {
            prompts,
            looping: false,
            prompt_index: 0,
            position: 0,
        }
    }

    /// Starts again from the first prompt after the last one, forever (hold music).
    /// A player whose prompts are all empty still finishes, rather than spinning.
    pub fn looping(mut self, looping: bool) -> Self {
        self.looping = looping;
        self
    }

    /// Fills `out` with the next frame. Returns `false`, with `out` silent, once
    /// everything has been played.
    pub fn next_frame(&mut self, out: &mut [i16; FRAME_SAMPLES]) -> bool {
        let mut filled = 0;
        while filled < FRAME_SAMPLES {
            let Some(prompt) = self.prompts.get(self.prompt_index) else {
                // Without any audio, wrapping around would never fill the frame.
                let has_audio = self.prompts.iter().any(|p| !p.samples.is_empty());
                if !self.looping || !has_audio {
                    break;
                }
                self.prompt_index = 0;
                self.position = 0;
                continue;
            };
            let remaining = &prompt.samples[self.position..];
            let count = remaining.len().min(FRAME_SAMPLES - filled);
            out[filled..filled + count].copy_from_slice(&remaining[..count]);
            filled += count;
            self.position += count;
            if self.position == prompt.samples.len() {
                self.prompt_index += 1;
                self.position = 0;
            }
        }
        out[filled..].fill(0);
        filled > 0
    }

    /// Whether [`PromptPlayer::next_frame`] has nothing more to give.
    pub fn is_finished(&self) -> bool {
        let rest_has_audio = self
            .prompts
            .iter()
            .skip(self.prompt_index)
            .any(|p| !p.samples.is_empty());
        let any_audio = self.prompts.iter().any(|p| !p.samples.is_empty());
        !(rest_has_audio || self.looping && any_audio)
    }

    /// The prompt the next frame starts in, for logs ("playing menu").
    pub fn current(&self) -> Option<&Prompt> {
        self.prompts.get(self.prompt_index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(name: &str, len: usize, start: i16) -> Prompt {
        Prompt::from_samples(name, (0..len).map(|i| start + i as i16).collect())
    }

    fn frames(player: &mut PromptPlayer, limit: usize) -> Vec<[i16; FRAME_SAMPLES]> {
        let mut frames = Vec::new();
        let mut frame = [7i16; FRAME_SAMPLES];
        while frames.len() < limit && player.next_frame(&mut frame) {
            frames.push(frame);
        }
        frames
    }

    #[test]
    fn plays_one_prompt_and_pads_the_last_frame() {
        let mut player = PromptPlayer::new(ramp("greeting", 400, 1));
        let frames = frames(&mut player, 10);
        assert_eq!(frames.len(), 3);
        assert_eq!(frames[0][0], 1);
        assert_eq!(frames[1][0], 161);
        assert_eq!(frames[2][79], 400);
        assert!(frames[2][80..].iter().all(|&s| s == 0));
        assert!(player.is_finished());
        let mut frame = [7i16; FRAME_SAMPLES];
        assert!(!player.next_frame(&mut frame));
        assert!(
            frame.iter().all(|&s| s == 0),
            "a finished player writes silence"
        );
    }

    #[test]
    fn an_exact_multiple_of_a_frame_needs_no_padding() {
        let mut player = PromptPlayer::new(ramp("digit_3", 320, 1));
        assert_eq!(frames(&mut player, 10).len(), 2);
    }

    #[test]
    fn a_sequence_plays_without_gaps() {
        let mut player = PromptPlayer::sequence(vec![
            ramp("position_before", 100, 1),
            ramp("digit_3", 30, 101),
            ramp("position_after", 100, 131),
        ]);
        assert_eq!(player.current().map(Prompt::name), Some("position_before"));
        let frames = frames(&mut player, 10);
        assert_eq!(frames.len(), 2);
        let first: Vec<i16> = (1..=160).collect();
        assert_eq!(frames[0].as_slice(), first.as_slice());
        assert_eq!(frames[1][69], 230);
        assert!(frames[1][70..].iter().all(|&s| s == 0));
    }

    #[test]
    fn a_looping_player_wraps_without_gaps_and_never_finishes() {
        let mut player = PromptPlayer::new(ramp("hold_music", 100, 1)).looping(true);
        let frames = frames(&mut player, 5);
        assert_eq!(frames.len(), 5);
        assert_eq!(frames[0][99], 100);
        assert_eq!(frames[0][100], 1, "the loop starts again within the frame");
        assert!(!player.is_finished());
    }

    #[test]
    fn empty_prompts_finish_even_when_looping() {
        let mut player = PromptPlayer::sequence(vec![
            Prompt::from_samples("silence", Vec::new()),
            Prompt::from_samples("nothing", Vec::new()),
        ])
        .looping(true);
        assert!(player.is_finished());
        assert!(frames(&mut player, 3).is_empty());
        assert!(PromptPlayer::sequence(Vec::new()).is_finished());
    }

    #[test]
    fn empty_prompts_inside_a_sequence_are_skipped() {
        let mut player = PromptPlayer::sequence(vec![
            Prompt::from_samples("none", Vec::new()),
            ramp("beep", 10, 5),
        ]);
        let frames = frames(&mut player, 3);
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0][0], 5);
    }

    #[test]
    fn prompt_duration_follows_the_sample_count() {
        let prompt = Prompt::from_samples("menu", vec![0; 12_000]);
        assert_eq!(prompt.duration(), Duration::from_millis(1500));
        assert_eq!(prompt.name(), "menu");
    }
}
