//! The gateway's shipped prompts load with the same rules the gateway applies.

use std::path::PathBuf;
use std::time::Duration;

use hotline_media::Prompt;

fn prompts_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../sip-gateway/prompts")
}

#[test]
fn every_shipped_prompt_loads_and_is_short() {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(prompts_dir()).expect("sip-gateway/prompts exists") {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|ext| ext != "wav") {
            continue;
        }
        let prompt = Prompt::load_wav(&path).unwrap_or_else(|e| panic!("{e}"));
        assert!(!prompt.samples().is_empty(), "{}", path.display());
        assert!(
            prompt.duration() < Duration::from_secs(30),
            "{}: {:?}",
            path.display(),
            prompt.duration()
        );
        // A prompt that is nearly all silence was synthesised or cut wrongly.
        let peak = prompt.samples().iter().map(|s| s.unsigned_abs()).max();
        assert!(peak > Some(3000), "{}: peak {peak:?}", path.display());
        names.push(prompt.name().to_owned());
    }
    names.sort();

    // The IVR refers to these by name.
    let mut expected: Vec<String> = [
        "greeting",
        "menu",
        "invalid",
        "no_input",
        "please_hold",
        "position_before",
        "position_after",
        "transfer_lawyer",
        "goodbye",
        "hold_music",
    ]
    .iter()
    .map(|name| name.to_string())
    .chain((0..10).map(|digit| format!("digit_{digit}")))
    .collect();
    expected.sort();
    assert_eq!(names, expected);
}
