//! Renders the synthesised hold music as a prompt file: 8 kHz mono 16-bit PCM.
//!
//! ```text
//! cargo run -p hotline-media --example render_hold_music -- sip-gateway/prompts/hold_music.wav
//! ```

use std::process::ExitCode;

use hotline_media::{SAMPLE_RATE, hold_music};

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(path), None) = (args.next(), args.next()) else {
        eprintln!("usage: render_hold_music <output.wav>");
        return ExitCode::from(64);
    };
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: SAMPLE_RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let result = hound::WavWriter::create(&path, spec).and_then(|mut writer| {
        for sample in hold_music(SAMPLE_RATE) {
            writer.write_sample(sample)?;
        }
        writer.finalize()
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("render_hold_music: {}: {error}", path.to_string_lossy());
            ExitCode::FAILURE
        }
    }
}
