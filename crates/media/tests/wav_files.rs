//! Prompt files and recordings on a real file system.

use std::fs;
use std::path::{Path, PathBuf};

use hotline_media::{
    Channel, FRAME_SAMPLES, Prompt, PromptError, RecordingError, StereoRecorder, dominant_tone,
    goertzel_power, sine,
};
use sha2::{Digest, Sha256};

fn write_wav(path: &Path, spec: hound::WavSpec, frames: usize) {
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..frames * usize::from(spec.channels) {
        match (spec.sample_format, spec.bits_per_sample) {
            (hound::SampleFormat::Float, _) => writer.write_sample(i as f32 / 1e4).unwrap(),
            (_, 8) => writer.write_sample((i % 100) as i8).unwrap(),
            (_, 16) => writer.write_sample((i % 1000) as i16).unwrap(),
            _ => writer.write_sample((i % 1000) as i32).unwrap(),
        }
    }
    writer.finalize().unwrap();
}

fn spec(channels: u16, sample_rate: u32, bits: u16, format: hound::SampleFormat) -> hound::WavSpec {
    hound::WavSpec {
        channels,
        sample_rate,
        bits_per_sample: bits,
        sample_format: format,
    }
}

const PCM: hound::SampleFormat = hound::SampleFormat::Int;

#[test]
fn loads_a_prompt_in_the_right_format() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("greeting.wav");
    write_wav(&path, spec(1, 8000, 16, PCM), 4000);
    let prompt = Prompt::load_wav(&path).unwrap();
    assert_eq!(prompt.name(), "greeting");
    assert_eq!(prompt.samples().len(), 4000);
    assert_eq!(prompt.samples()[999], 999);
    assert_eq!(prompt.duration().as_millis(), 500);
}

fn load_error(file: &str, spec: hound::WavSpec, frames: usize) -> (PathBuf, PromptError) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(file);
    write_wav(&path, spec, frames);
    (path.clone(), Prompt::load_wav(&path).unwrap_err())
}

#[test]
fn refuses_other_sample_rates_naming_the_file_and_the_rule() {
    let (path, error) = load_error("greeting.wav", spec(1, 22_050, 16, PCM), 100);
    assert!(matches!(
        error,
        PromptError::SampleRate {
            sample_rate: 22_050,
            ..
        }
    ));
    assert_eq!(
        error.to_string(),
        format!(
            "prompt {}: sample rate 22050 Hz, must be 8000 Hz",
            path.display()
        )
    );
}

#[test]
fn refuses_stereo() {
    let (_, error) = load_error("menu.wav", spec(2, 8000, 16, PCM), 100);
    assert!(matches!(error, PromptError::Channels { channels: 2, .. }));
    assert!(
        error
            .to_string()
            .ends_with("menu.wav: 2 channels, must be 1 (mono)"),
        "{error}"
    );
}

#[test]
fn refuses_other_sample_formats() {
    let (_, error) = load_error("a.wav", spec(1, 8000, 8, PCM), 100);
    assert!(matches!(error, PromptError::SampleFormat { bits: 8, .. }));
    assert!(
        error
            .to_string()
            .contains("8-bit integer PCM, must be 16-bit integer PCM"),
        "{error}"
    );

    let (_, error) = load_error("b.wav", spec(1, 8000, 24, PCM), 100);
    assert!(
        matches!(error, PromptError::SampleFormat { bits: 24, .. }),
        "{error}"
    );

    let (_, error) = load_error("c.wav", spec(1, 8000, 32, hound::SampleFormat::Float), 100);
    assert!(
        error.to_string().contains("32-bit float, must be 16-bit"),
        "{error}"
    );
}

#[test]
fn refuses_empty_missing_and_broken_files() {
    let (_, error) = load_error("silence.wav", spec(1, 8000, 16, PCM), 0);
    assert!(matches!(error, PromptError::Empty { .. }), "{error}");

    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.wav");
    let error = Prompt::load_wav(&missing).unwrap_err();
    assert!(matches!(error, PromptError::Read { .. }));
    assert!(
        error.to_string().contains("missing.wav: cannot read WAV"),
        "{error}"
    );

    let text = dir.path().join("notes.wav");
    fs::write(&text, "请按1").unwrap();
    assert!(matches!(
        Prompt::load_wav(&text),
        Err(PromptError::Read { .. })
    ));

    // A header promising more audio than the file holds: a truncated copy.
    let good = dir.path().join("good.wav");
    write_wav(&good, spec(1, 8000, 16, PCM), 1000);
    let bytes = fs::read(&good).unwrap();
    let truncated = dir.path().join("truncated.wav");
    fs::write(&truncated, &bytes[..bytes.len() - 501]).unwrap();
    assert!(matches!(
        Prompt::load_wav(&truncated),
        Err(PromptError::Read { .. })
    ));
}

fn read_channels(path: &Path) -> (hound::WavSpec, Vec<i16>, Vec<i16>) {
    let mut reader = hound::WavReader::open(path).unwrap();
    let spec = reader.spec();
    let samples: Vec<i16> = reader.samples::<i16>().map(Result::unwrap).collect();
    let left = samples.iter().step_by(2).copied().collect();
    let right = samples.iter().skip(1).step_by(2).copied().collect();
    (spec, left, right)
}

#[test]
fn each_side_ends_up_in_its_own_channel_and_the_hash_matches_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("call-20250301-0001.wav");
    let mut recorder = StereoRecorder::create(&path).unwrap();
    assert_eq!(
        recorder.part_path(),
        dir.path().join("call-20250301-0001.wav.part")
    );
    assert!(recorder.part_path().exists());
    assert!(
        !path.exists(),
        "nothing under the final name while recording"
    );

    let caller = sine(440.0, 0.5, 8000, 8000);
    let agent = sine(1000.0, 0.5, 8000, 8000);
    for (left, right) in caller
        .chunks(FRAME_SAMPLES)
        .zip(agent.chunks(FRAME_SAMPLES))
    {
        // Arrival order differs frame to frame, as from two networks.
        recorder.push(Channel::Agent, right);
        recorder.push(Channel::Caller, left);
        recorder.tick().unwrap();
    }
    assert_eq!(recorder.frames(), 8000);
    let part_path = recorder.part_path().to_owned();
    let summary = recorder.finish().unwrap();

    assert_eq!(summary.path, path);
    assert!(!part_path.exists());
    assert_eq!(summary.frames, 8000);
    assert_eq!(summary.duration.as_millis(), 1000);
    let bytes = fs::read(&path).unwrap();
    assert_eq!(summary.sha256_hex, hex::encode(Sha256::digest(&bytes)));
    assert_eq!(
        bytes.len(),
        44 + 8000 * 4,
        "a plain PCM header and 16-bit stereo"
    );

    let (spec, left, right) = read_channels(&path);
    assert_eq!(
        (spec.channels, spec.sample_rate, spec.bits_per_sample),
        (2, 8000, 16)
    );
    assert_eq!(left, caller, "the caller's samples are written unchanged");
    assert_eq!(dominant_tone(&left, &[440.0, 1000.0], 8000), Some(440.0));
    assert_eq!(dominant_tone(&right, &[440.0, 1000.0], 8000), Some(1000.0));
    assert!(goertzel_power(&left, 1000.0, 8000) < 1e-6);
    assert!(goertzel_power(&right, 440.0, 8000) < 1e-6);
}

#[test]
fn missing_audio_becomes_silence_and_every_tick_is_one_frame() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hold.wav");
    let mut recorder = StereoRecorder::create(&path).unwrap();
    // Caller talks for half a frame; the agent is not connected yet.
    recorder.push(Channel::Caller, &[1000; 80]);
    recorder.tick().unwrap();
    // Nobody sends anything for two ticks.
    recorder.tick().unwrap();
    recorder.tick().unwrap();
    // Then only the agent, with more than one frame at once.
    recorder.push(Channel::Agent, &[-2000; 200]);
    recorder.tick().unwrap();
    assert_eq!(recorder.buffered(Channel::Agent), 40);
    recorder.tick().unwrap();
    let summary = recorder.finish().unwrap();
    assert_eq!(summary.frames, 5 * 160);

    let (_, left, right) = read_channels(&path);
    assert_eq!(left.len(), 800);
    assert!(left[..80].iter().all(|&s| s == 1000));
    assert!(left[80..].iter().all(|&s| s == 0));
    assert!(right[..480].iter().all(|&s| s == 0));
    assert!(right[480..680].iter().all(|&s| s == -2000));
    assert!(right[680..].iter().all(|&s| s == 0));
}

#[test]
fn a_burst_cannot_grow_the_buffer_beyond_200_ms() {
    let dir = tempfile::tempdir().unwrap();
    let mut recorder = StereoRecorder::create(dir.path().join("burst.wav")).unwrap();
    let burst: Vec<i16> = (0..10_000).map(|i| (i % 3000) as i16).collect();
    recorder.push(Channel::Caller, &burst);
    assert_eq!(recorder.buffered(Channel::Caller), 1600);
    assert_eq!(recorder.dropped(Channel::Caller), 8400);
    assert_eq!(recorder.dropped(Channel::Agent), 0);
    for _ in 0..10 {
        recorder.push(Channel::Caller, &[0; 160]);
    }
    assert_eq!(recorder.buffered(Channel::Caller), 1600);
    assert_eq!(recorder.dropped(Channel::Caller), 10_000);
    recorder.tick().unwrap();
    assert_eq!(recorder.buffered(Channel::Caller), 1440);
    let summary = recorder.finish().unwrap();
    assert_eq!(summary.frames, 160);
}

#[test]
fn never_overwrites_a_recording_or_an_interrupted_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("evidence.wav");
    fs::write(&path, b"existing").unwrap();
    let error = StereoRecorder::create(&path).unwrap_err();
    assert!(matches!(error, RecordingError::AlreadyExists { .. }));
    assert!(
        error.to_string().contains("evidence.wav: already exists"),
        "{error}"
    );
    assert_eq!(fs::read(&path).unwrap(), b"existing");

    // A recording that was never finished leaves its .part file behind.
    let interrupted = dir.path().join("interrupted.wav");
    let mut recorder = StereoRecorder::create(&interrupted).unwrap();
    recorder.tick().unwrap();
    drop(recorder);
    assert!(!interrupted.exists());
    assert!(dir.path().join("interrupted.wav.part").exists());
    let error = StereoRecorder::create(&interrupted).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("interrupted.wav.part: already exists"),
        "{error}"
    );
}

#[test]
fn reports_a_directory_that_does_not_exist() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-day").join("call.wav");
    let error = StereoRecorder::create(&path).unwrap_err();
    assert!(matches!(error, RecordingError::Io { .. }));
    assert!(
        error
            .to_string()
            .contains("call.wav.part: creating the file"),
        "{error}"
    );
}
