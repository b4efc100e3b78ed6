#!/usr/bin/env bash
# Regenerates the IVR prompts in this directory: synthesised Mandarin placeholders
# (espeak-ng) and the synthesised hold music. Safe to run again: the same tool
# versions give byte-identical files.
#
# Needs: espeak-ng 1.51+ with its Mandarin voice, sox, cargo.
# Run from anywhere:  bash sip-gateway/prompts/make-prompts.sh
#
# Every file is 8000 Hz, mono, 16-bit signed PCM WAV, peak-normalised to -3 dBFS:
# the format the gateway plays without conversion (see README.md).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

for tool in espeak-ng sox cargo; do
    command -v "$tool" >/dev/null || { echo "make-prompts: $tool not found" >&2; exit 69; }
done

# espeak-ng's "cmn" voice reads the pinyin of its own dictionary as English
# ("nin2" comes out as "nin two") in 1.51; its variant that reads Latin script as
# pinyin is the same Mandarin voice without that fault, and it lets a word whose
# reading the dictionary gets wrong be spelled in pinyin (重新 → chong2xin1).
voice="cmn-latn-pinyin"
espeak-ng --voices=cmn | grep -q " $voice " \
    || { echo "make-prompts: espeak-ng voice $voice not installed" >&2; exit 69; }

# espeak-ng's default rate. Its Mandarin is already unhurried (about three and a
# half syllables a second); slower drags the menu out for every caller.
speed=175

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# say NAME LEAD_SECONDS TAIL_SECONDS TEXT
#   Synthesises TEXT, trims the synthesiser's own leading and trailing silence,
#   resamples to 8 kHz with sox's high-quality resampler (after 6 dB of headroom,
#   because espeak-ng output peaks at full scale and the resampler's filter would
#   clip), normalises the peak to -3 dBFS and pads LEAD/TAIL seconds of silence.
#   -R makes sox's dither repeatable.
say() {
    local name="$1" lead="$2" tail="$3" text="$4"
    espeak-ng -v "$voice" -s "$speed" -w "$work/$name.raw.wav" "$text"
    sox -R "$work/$name.raw.wav" -e signed-integer -b 16 -c 1 "$here/$name.wav" \
        silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse \
        gain -6 rate -v 8000 norm -3 pad "$lead" "$tail"
    echo "$name.wav  $(soxi -D "$here/$name.wav") s"
}

# The hotline number is read digit by digit, with 幺 for 1 as Chinese phone
# numbers are read.
say greeting        0.2 0.3 "您好，这里是幺二三五幺职工服务热线。为保证服务质量，您的通话将被录音。"
say menu            0.1 0.5 "权益咨询请按1，法律援助请按2，困难帮扶请按3，人工服务请按0。"
say invalid         0.1 0.3 "您的输入有误，请chong2xin1选择。"
say no_input        0.1 0.3 "我们没有收到您的选择。"
say please_hold     0.1 0.3 "坐席正忙，请您稍候，我们将尽快为您服务。"
say transfer_lawyer 0.1 0.3 "正在为您转接值班律师，请稍候。"
say goodbye         0.1 0.5 "感谢您的来电，再见。"

# "您前面还有 三 位来电在等候": played back to back as one sentence, so only
# short pauses between the pieces.
say position_before 0.1 0.05 "您前面还有"
say position_after  0.05 0.3 "位来电在等候。"
digits=(零 一 二 三 四 五 六 七 八 九)
for n in "${!digits[@]}"; do
    say "digit_$n" 0.05 0.05 "${digits[$n]}"
done

# Hold music is synthesised by the media crate, so it is ours to ship.
(cd "$repo" && cargo run --quiet -p hotline-media --example render_hold_music -- "$here/hold_music.wav")
echo "hold_music.wav  $(soxi -D "$here/hold_music.wav") s"
