//! Tones: generating test signals and hold music, and finding which tone is where.
//!
//! End-to-end tests put a different sine on each side of a call (440 Hz for the
//! caller, 1000 Hz for the agent) and check the recording's channels with
//! [`dominant_tone`]. Goertzel's algorithm measures the power at one frequency
//! without a full FFT and survives G.711 quantisation and a little loss easily.

use std::f64::consts::PI;

/// Power below which [`dominant_tone`] reports no tone: -60 dBFS, well below any
/// speech or test tone yet well above G.711's idle-channel noise.
const SILENCE_POWER: f64 = 1e-6;

/// `samples` samples of a sine starting at phase zero. `amplitude` is a fraction of
/// full scale, clamped to 0.0..=1.0 (0.5 is -6 dBFS).
pub fn sine(freq_hz: f64, amplitude: f64, samples: usize, sample_rate: u32) -> Vec<i16> {
    let peak = amplitude.clamp(0.0, 1.0) * f64::from(i16::MAX);
    let step = 2.0 * PI * freq_hz / f64::from(sample_rate);
    (0..samples)
        .map(|n| (peak * (step * n as f64).sin()).round() as i16)
        .collect()
}

/// Power of the signal at `freq_hz`, relative to full scale: a sine of amplitude
/// `a` (as in [`sine`]) at exactly that frequency gives about `a² / 2`, so a
/// full-scale sine is 0.5 (-3 dBFS) and silence is 0. Frequencies need not fall on
/// an FFT bin (the generalised Goertzel form), but the fewer the samples the wider
/// the band that counts as the same tone: about `sample_rate / samples.len()`.
pub fn goertzel_power(samples: &[i16], freq_hz: f64, sample_rate: u32) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let omega = 2.0 * PI * freq_hz / f64::from(sample_rate);
    let coefficient = 2.0 * omega.cos();
    let (mut previous, mut before_previous) = (0.0f64, 0.0f64);
    for &sample in samples {
        let current = f64::from(sample) / 32768.0 + coefficient * previous - before_previous;
        before_previous = previous;
        previous = current;
    }
    let magnitude_squared = previous * previous + before_previous * before_previous
        - coefficient * previous * before_previous;
    let n = samples.len() as f64;
    2.0 * magnitude_squared / (n * n)
}

/// The candidate frequency with the most power in `samples`, or `None` when the
/// samples are silent (every candidate below -60 dBFS) or there are no candidates.
pub fn dominant_tone(samples: &[i16], candidates: &[f64], sample_rate: u32) -> Option<f64> {
    candidates
        .iter()
        .map(|&freq| (freq, goertzel_power(samples, freq, sample_rate)))
        .filter(|&(_, power)| power >= SILENCE_POWER)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(freq, _)| freq)
}

/// Length of one beat of [`hold_music`] in seconds.
const BEAT_SECONDS: f64 = 0.5;

/// The melody: MIDI note and length in beats. Two four-bar phrases on the C major
/// pentatonic scale (宫商角徵羽), rising to the octave in the second and resolving to
/// the tonic so the loop joins smoothly. Pitched from C5 up so the fundamental sits
/// inside the 300-3400 Hz telephone band.
const MELODY: [(u8, f64); 18] = [
    (76, 1.0),
    (79, 0.5),
    (81, 0.5),
    (79, 1.0),
    (76, 1.0),
    (74, 1.0),
    (76, 0.5),
    (74, 0.5),
    (72, 2.0),
    (76, 0.5),
    (79, 0.5),
    (81, 1.0),
    (84, 1.0),
    (81, 1.0),
    (79, 1.0),
    (76, 0.5),
    (74, 0.5),
    (72, 2.0),
];

/// A soft two-note pad under each four-beat bar: C, G, A minor, C.
const PADS: [[u8; 2]; 4] = [[64, 67], [62, 67], [64, 69], [64, 67]];

fn midi_to_hz(note: u8) -> f64 {
    440.0 * 2f64.powf((f64::from(note) - 69.0) / 12.0)
}

/// How an instrument sounds: level, envelope and harmonic content.
struct Voice {
    amplitude: f64,
    attack_seconds: f64,
    /// Time constant of the exponential decay after the attack.
    decay_seconds: f64,
    /// (multiple of the fundamental, relative level).
    partials: &'static [(f64, f64)],
}

/// The tune: a mellow struck sound, the fundamental with a little second and third
/// harmonic.
const MELODY_VOICE: Voice = Voice {
    amplitude: 0.16,
    attack_seconds: 0.015,
    decay_seconds: 0.6,
    partials: &[(1.0, 1.0), (2.0, 0.25), (3.0, 0.08)],
};

/// The pads: quiet, slow to swell, barely decaying.
const PAD_VOICE: Voice = Voice {
    amplitude: 0.035,
    attack_seconds: 0.25,
    decay_seconds: 2.5,
    partials: &[(1.0, 1.0), (2.0, 0.5)],
};

/// Release time at the end of every note, so that no note ever ends with a click.
const RELEASE_SECONDS: f64 = 0.06;

/// Mixes one note into `out`: attack, exponential decay, release to zero at its end.
fn add_note(
    out: &mut [f64],
    sample_rate: u32,
    (start_seconds, length_seconds): (f64, f64),
    note: u8,
    voice: &Voice,
) {
    let rate = f64::from(sample_rate);
    let start = (start_seconds * rate).round() as usize;
    let length = (length_seconds * rate).round() as usize;
    let release = RELEASE_SECONDS * rate;
    let frequency = midi_to_hz(note);
    for (offset, sample) in out.iter_mut().skip(start).take(length).enumerate() {
        let t = offset as f64 / rate;
        let attack = (t / voice.attack_seconds).min(1.0);
        let decay = (-t / voice.decay_seconds).exp();
        let release_gain = ((length - offset) as f64 / release).min(1.0);
        let tone: f64 = voice
            .partials
            .iter()
            // Partials above Nyquist would fold back as inharmonic noise.
            .filter(|&&(multiple, _)| frequency * multiple < rate / 2.0)
            .map(|&(multiple, gain)| gain * (2.0 * PI * frequency * multiple * t).sin())
            .sum();
        *sample += voice.amplitude * attack * decay * release_gain * tone;
    }
}

/// About eight seconds of original, gentle hold music, synthesised note by note, to
/// be looped. It starts and ends in silence so the loop point is seamless. Its level
/// (about -21 dBFS RMS, peaks near -12 dBFS) sits a little under the spoken prompts,
/// so a position announcement between two loops is not drowned out.
pub fn hold_music(sample_rate: u32) -> Vec<i16> {
    let beats: f64 = MELODY.iter().map(|&(_, length)| length).sum();
    let total_seconds = beats * BEAT_SECONDS;
    let mut mix = vec![0.0f64; (total_seconds * f64::from(sample_rate)).round() as usize];

    let mut position = 0.0;
    for &(note, length) in &MELODY {
        let seconds = length * BEAT_SECONDS;
        add_note(
            &mut mix,
            sample_rate,
            (position, seconds),
            note,
            &MELODY_VOICE,
        );
        position += seconds;
    }
    let bar_seconds = total_seconds / PADS.len() as f64;
    for (bar, pad) in PADS.iter().enumerate() {
        for &note in pad {
            let span = (bar as f64 * bar_seconds, bar_seconds);
            add_note(&mut mix, sample_rate, span, note, &PAD_VOICE);
        }
    }

    mix.iter()
        .map(|&x| (x * f64::from(i16::MAX)).round().clamp(-32768.0, 32767.0) as i16)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sine_has_the_requested_shape() {
        let tone = sine(1000.0, 0.5, 8, 8000);
        // A quarter of the sample rate: 0, peak, 0, -peak, ...
        assert_eq!(tone, [0, 11585, 16384, 11585, 0, -11585, -16384, -11585]);
        assert_eq!(
            sine(1000.0, 3.0, 8, 8000)[2],
            i16::MAX,
            "amplitude is clamped"
        );
        assert!(sine(440.0, -1.0, 100, 8000).iter().all(|&s| s == 0));
    }

    #[test]
    fn goertzel_measures_the_power_of_a_sine() {
        let tone = sine(440.0, 0.5, 8000, 8000);
        let power = goertzel_power(&tone, 440.0, 8000);
        assert!((power - 0.125).abs() < 0.002, "{power}");
        let elsewhere = goertzel_power(&tone, 1000.0, 8000);
        assert!(elsewhere < 1e-6, "{elsewhere}");
        assert_eq!(goertzel_power(&[], 440.0, 8000), 0.0);
    }

    #[test]
    fn dominant_tone_picks_the_strongest_candidate_or_none() {
        let mut mix = sine(1000.0, 0.4, 1600, 8000);
        for (sample, quiet) in mix.iter_mut().zip(sine(440.0, 0.1, 1600, 8000)) {
            *sample += quiet;
        }
        assert_eq!(dominant_tone(&mix, &[440.0, 1000.0], 8000), Some(1000.0));
        assert_eq!(dominant_tone(&mix, &[440.0], 8000), Some(440.0));
        assert_eq!(dominant_tone(&mix, &[], 8000), None);
        assert_eq!(dominant_tone(&[0; 1600], &[440.0, 1000.0], 8000), None);
        assert_eq!(dominant_tone(&[], &[440.0], 8000), None);
    }

    #[test]
    fn hold_music_is_about_eight_gentle_seconds_that_loop_cleanly() {
        let music = hold_music(8000);
        assert_eq!(music.len(), 8 * 8000);
        let peak = music.iter().map(|s| s.unsigned_abs()).max().unwrap();
        assert!(peak > 5000 && peak < 16000, "peak {peak}");
        let rms =
            (music.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / music.len() as f64).sqrt();
        let rms_dbfs = 20.0 * (rms / 32768.0).log10();
        assert!((-24.0..-18.0).contains(&rms_dbfs), "RMS {rms_dbfs:.1} dBFS");
        // Silent at both ends, so looping does not click.
        assert!(music[..4].iter().all(|s| s.unsigned_abs() < 300));
        assert!(
            music[music.len() - 4..]
                .iter()
                .all(|s| s.unsigned_abs() < 300)
        );
        // The first note is E5 and the last is C5.
        let first_note = &music[800..3200];
        let last_note = &music[music.len() - 8000..music.len() - 4000];
        let notes = [midi_to_hz(72), midi_to_hz(76)];
        assert_eq!(dominant_tone(first_note, &notes, 8000), Some(notes[1]));
        assert_eq!(dominant_tone(last_note, &notes, 8000), Some(notes[0]));
        assert_eq!(music, hold_music(8000), "deterministic");
    }

    #[test]
    fn hold_music_scales_with_the_sample_rate() {
        assert_eq!(hold_music(16_000).len(), 16 * 8000);
    }
}
