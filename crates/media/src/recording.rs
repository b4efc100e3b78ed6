//! Stereo call recordings: caller on the left, agent or lawyer on the right.
//!
//! Recordings are evidence in labour disputes, so three properties matter more than
//! anything else here:
//!
//! - **Alignment.** The two sides arrive as independent RTP streams with their own
//!   jitter and loss. The driver's 20 ms timer, not packet arrival, decides what is
//!   written: each [`StereoRecorder::tick`] writes exactly one frame's worth of audio
//!   per channel, filling with silence where a side sent nothing. An hour of call is
//!   an hour of WAV, and both channels stay in step however the networks behave.
//! - **Bounded memory.** A side that delivers a burst (a phone flushing its jitter
//!   buffer) cannot make a buffer grow: beyond [`MAX_BUFFERED_SAMPLES`] the oldest
//!   samples are dropped and counted.
//! - **No half files under the final name.** Audio goes to `<name>.wav.part`; only
//!   [`StereoRecorder::finish`] completes the header, flushes to disk and renames.
//!   After a crash, `.part` files show which recordings were interrupted.
//!
//! `tick` and `finish` write to the file system (a few hundred bytes per tick through
//! a buffer). The gateway drives a recorder from a blocking thread or
//! `spawn_blocking`, never directly on the async runtime.

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::prompt::{FRAME_SAMPLES, SAMPLE_RATE};

/// Per-channel buffer limit: 200 ms at 8 kHz. Beyond it a side is so far ahead of
/// the timer that its audio would be out of step with the other side anyway.
pub const MAX_BUFFERED_SAMPLES: usize = 1600;

/// Which side of the call a sample belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// The worker who called in: the left channel.
    Caller,
    /// The agent or duty lawyer who answered: the right channel.
    Agent,
}

/// What the ticket store keeps about a finished recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingSummary {
    /// The final path of the WAV file.
    pub path: PathBuf,
    /// SHA-256 of the complete file as stored, lower-case hex: proves later that
    /// the evidence was not altered.
    pub sha256_hex: String,
    /// Stereo sample frames written (one sample per channel each).
    pub frames: u64,
    pub duration: Duration,
}

/// A recording that could not be created, written or completed.
#[derive(Debug, Error)]
pub enum RecordingError {
    #[error("recording {path}: already exists, recordings are never overwritten")]
    AlreadyExists { path: PathBuf },
    #[error("recording {path}: {action}: {source}")]
    Io {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("recording {path}: {action}: {source}")]
    Wav {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: hound::Error,
    },
}

#[derive(Debug, Default)]
struct ChannelBuffer {
    samples: VecDeque<i16>,
    dropped: u64,
}

impl ChannelBuffer {
    fn push(&mut self, samples: &[i16]) {
        // Keep only the newest samples; what a burst pushes out is the oldest.
        let keep = samples.len().min(MAX_BUFFERED_SAMPLES);
        let incoming_dropped = samples.len() - keep;
        let overflow = (self.samples.len() + keep).saturating_sub(MAX_BUFFERED_SAMPLES);
        self.samples.drain(..overflow);
        self.samples.extend(&samples[incoming_dropped..]);
        self.dropped += (incoming_dropped + overflow) as u64;
    }

    fn next_sample(&mut self) -> i16 {
        self.samples.pop_front().unwrap_or(0)
    }
}

/// Writes a 16-bit 8 kHz stereo WAV, one frame per [`StereoRecorder::tick`].
pub struct StereoRecorder {
    path: PathBuf,
    part_path: PathBuf,
    writer: hound::WavWriter<BufWriter<File>>,
    caller: ChannelBuffer,
    agent: ChannelBuffer,
    frames: u64,
}

impl std::fmt::Debug for StereoRecorder {
    // hound's writer has no Debug; the state worth logging is the rest.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StereoRecorder")
            .field("path", &self.path)
            .field("frames", &self.frames)
            .field("caller_buffered", &self.caller.samples.len())
            .field("agent_buffered", &self.agent.samples.len())
            .field("caller_dropped", &self.caller.dropped)
            .field("agent_dropped", &self.agent.dropped)
            .finish_non_exhaustive()
    }
}

impl StereoRecorder {
    /// Starts a recording that will end up at `path`. Refuses a path that already
    /// exists, and a leftover `.part` file of it, rather than overwrite evidence.
    pub fn create(path: impl Into<PathBuf>) -> Result<StereoRecorder, RecordingError> {
        let path = path.into();
        let part_path = path.with_extension("wav.part");
        if path.exists() {
            return Err(RecordingError::AlreadyExists { path });
        }
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&part_path)
            .map_err(|source| match source.kind() {
                io::ErrorKind::AlreadyExists => RecordingError::AlreadyExists {
                    path: part_path.clone(),
                },
                _ => RecordingError::Io {
                    path: part_path.clone(),
                    action: "creating the file",
                    source,
                },
            })?;
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: SAMPLE_RATE,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let writer = hound::WavWriter::new(BufWriter::new(file), spec).map_err(|source| {
            RecordingError::Wav {
                path: part_path.clone(),
                action: "writing the WAV header",
                source,
            }
        })?;
        Ok(StereoRecorder {
            path,
            part_path,
            writer,
            caller: ChannelBuffer::default(),
            agent: ChannelBuffer::default(),
            frames: 0,
        })
    }

    /// The final path, valid once [`StereoRecorder::finish`] succeeded.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the audio is written until then.
    pub fn part_path(&self) -> &Path {
        &self.part_path
    }

    /// Queues decoded audio of one side, to be written by the next ticks.
    pub fn push(&mut self, channel: Channel, samples: &[i16]) {
        self.buffer_mut(channel).push(samples);
    }

    /// Writes one 20 ms frame: up to 160 queued samples per channel, silence for the
    /// rest. The driver calls it every 20 ms of its own clock.
    pub fn tick(&mut self) -> Result<(), RecordingError> {
        for _ in 0..FRAME_SAMPLES {
            let left = self.caller.next_sample();
            let right = self.agent.next_sample();
            for sample in [left, right] {
                self.writer
                    .write_sample(sample)
                    .map_err(|source| RecordingError::Wav {
                        path: self.part_path.clone(),
                        action: "writing audio",
                        source,
                    })?;
            }
        }
        self.frames += FRAME_SAMPLES as u64;
        Ok(())
    }

    /// Stereo frames written so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Samples of one side waiting for the next ticks.
    pub fn buffered(&self, channel: Channel) -> usize {
        self.buffer(channel).samples.len()
    }

    /// Samples of one side dropped because its buffer was full: a sign that the
    /// driver's timer fell behind or the side sends faster than real time.
    pub fn dropped(&self, channel: Channel) -> u64 {
        self.buffer(channel).dropped
    }

    /// Completes the WAV header, flushes the file to disk, hashes it and moves it
    /// to its final name. Audio still queued is not written: for the recording, the
    /// call ended at the last tick, and the driver ticks once more first if it wants
    /// the tail.
    pub fn finish(self) -> Result<RecordingSummary, RecordingError> {
        let StereoRecorder {
            path,
            part_path,
            writer,
            frames,
            ..
        } = self;
        let io_error = |action: &'static str| {
            let path = part_path.clone();
            move |source| RecordingError::Io {
                path,
                action,
                source,
            }
        };
        writer.finalize().map_err(|source| RecordingError::Wav {
            path: part_path.clone(),
            action: "completing the WAV header",
            source,
        })?;
        // Write access, because some platforms cannot sync a read-only handle.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&part_path)
            .map_err(io_error("reopening to sync and hash"))?;
        file.sync_all().map_err(io_error("syncing to disk"))?;
        let sha256_hex = sha256_hex(&mut file).map_err(io_error("hashing"))?;
        drop(file);
        fs::rename(&part_path, &path).map_err(io_error("renaming to the final name"))?;
        sync_parent_directory(&path)?;
        Ok(RecordingSummary {
            path,
            sha256_hex,
            frames,
            duration: Duration::from_secs_f64(frames as f64 / f64::from(SAMPLE_RATE)),
        })
    }

    fn buffer(&self, channel: Channel) -> &ChannelBuffer {
        match channel {
            Channel::Caller => &self.caller,
            Channel::Agent => &self.agent,
        }
    }

    fn buffer_mut(&mut self, channel: Channel) -> &mut ChannelBuffer {
        match channel {
            Channel::Caller => &mut self.caller,
            Channel::Agent => &mut self.agent,
        }
    }
}

fn sha256_hex(reader: &mut impl Read) -> io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buffer = [0u8; 64 * 1024];
    loop {
        let read = reader.read(&mut buffer)?;
        if read == 0 {
            return Ok(hex::encode(hasher.finalize()));
        }
        hasher.update(&buffer[..read]);
    }
}

/// Makes the rename itself durable: on Unix a rename lives in the directory, which
/// has to be synced separately. Other platforms do not allow opening a directory.
fn sync_parent_directory(path: &Path) -> Result<(), RecordingError> {
    if cfg!(unix) {
        let parent = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        File::open(parent)
            .and_then(|directory| directory.sync_all())
            .map_err(|source| RecordingError::Io {
                path: parent.to_owned(),
                action: "syncing the directory after the rename",
                source,
            })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_keeps_the_newest_samples_up_to_its_limit() {
        let mut buffer = ChannelBuffer::default();
        buffer.push(&[1; 1000]);
        buffer.push(&[2; 1000]);
        assert_eq!(buffer.samples.len(), MAX_BUFFERED_SAMPLES);
        assert_eq!(buffer.dropped, 400);
        assert_eq!(
            buffer.next_sample(),
            1,
            "600 of the first push remain, oldest first"
        );

        let mut buffer = ChannelBuffer::default();
        buffer.push(&[5; 10]);
        let burst: Vec<i16> = (0..5000).map(|i| i as i16).collect();
        buffer.push(&burst);
        assert_eq!(buffer.samples.len(), MAX_BUFFERED_SAMPLES);
        assert_eq!(buffer.dropped, 10 + 5000 - MAX_BUFFERED_SAMPLES as u64);
        assert_eq!(buffer.next_sample(), 5000 - MAX_BUFFERED_SAMPLES as i16);
    }

    #[test]
    fn an_empty_buffer_gives_silence() {
        let mut buffer = ChannelBuffer::default();
        assert_eq!(buffer.next_sample(), 0);
        assert_eq!(buffer.dropped, 0);
    }

    #[test]
    fn hashes_known_input() {
        let mut input: &[u8] = b"abc";
        assert_eq!(
            sha256_hex(&mut input).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
