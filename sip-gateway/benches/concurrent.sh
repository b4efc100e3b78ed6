#!/usr/bin/env bash
# Concurrent bridged G.711 calls with recording on, and the loss, CPU and memory they
# cost, beside rtpengine (userspace) relaying the same load in the same run.
#
# One step holds N calls open at once. SIPp plays the carrier trunk
# (tests/sipp/bench_caller.xml): it sets up calls at RAMP_RATE calls/s and streams a
# u-law tone on each, 20 ms packets, 50 per second, until every call ends together
# after the measured window. SIPp plays the agents' phones (tests/sipp/bench_agent.xml
# with -rtp_echo): every packet the relay sends towards an agent comes straight back.
# So each call puts 50 packets/s each way through the relay, 100 in and 100 out.
# The agents are spread over UAS_COUNT SIPp processes, each echoing on its own socket:
# one echo socket for all calls overflows whenever its one thread waits for a core.
#
#   gateway    `hotline serve` answers on a trunk with the menu off, queues each call
#              to one of N+50 static agents (the UAS), bridges the two legs in its
#              media task and records the call as a stereo WAV.
#   rtpengine  Kamailio (kamailio-rtpengine.cfg) proxies the same calls and has
#              rtpengine, userspace only (--table=-1), relay their media. With
#              RTPENGINE_RECORD=1 rtpengine also records every call (pcap files).
#
# Once all N calls are bridged and SETTLE_SECONDS have passed, the window of
# HOLD_SECONDS is measured:
#   - the relay's own counters: packets received, sent, failed sends (the gateway's
#     GetSnapshot as supervisor01; rtpengine's ng `statistics`);
#   - receive-buffer drops of every UDP socket, per process (/proc/net/udp, matched to
#     processes by inode), and the kernel's Udp counters (/proc/net/snmp);
#   - CPU of every process, by thread name, and of the whole machine; RSS.
# Loss inside the relay = (its sockets' drops + failed sends + received - sent) / what
# arrived at its sockets. "offered" = what arrived / N x 100 x seconds: below 1, the
# load generators did not deliver the load (their CPU and their sockets' drops say why).
# Calls are counted up when the relay has them bridged (the gateway's agents talking,
# rtpengine's sessions), before and after the window; a step counts only if all N
# were up throughout.
# The caller's RTP socket is never read by SIPp, so everything sent back to the caller
# is dropped there by design; those drops are reported apart and excluded.
# Memory per call = (relay RSS with N calls up - RSS idle before the step) / N; every
# step starts fresh processes.
#
# Steps go up CALLS and stop for a relay once its loss exceeds 0.1 %, or once the load
# generators cannot deliver the load (offered < 0.99), or calls fail to come up.
#
#     bash sip-gateway/benches/concurrent.sh
#
# Needs sipp, kamailio, rtpengine, python3 with grpcio and grpcio-tools
# (`python3 -m pip install grpcio grpcio-tools`), and a release build of `hotline`
# (built here; CARGO_TARGET_DIR is honoured, or set HOTLINE_BIN).
# Environment: CALLS="250 500 1000 1500 2000" RAMP_RATE=100 SETTLE_SECONDS=5
# HOLD_SECONDS=20 TARGETS="gateway rtpengine" RTPENGINE_RECORD=0 UAS_COUNT=4 KEEP_WORK=1
set -euo pipefail

workspace="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$workspace"
steps=${CALLS:-"250 500 1000 1500 2000"}
ramp=${RAMP_RATE:-100}
settle_seconds=${SETTLE_SECONDS:-5}
hold=${HOLD_SECONDS:-20}
targets=${TARGETS:-"gateway rtpengine"}
record_rtpengine=${RTPENGINE_RECORD:-0}
uas_count=${UAS_COUNT:-4}
benchstat="python3 $workspace/sip-gateway/benches/benchstat.py"

for tool in sipp kamailio rtpengine python3; do
    command -v "$tool" >/dev/null || { echo "$tool is missing (apt-get install sip-tester kamailio rtpengine)"; exit 1; }
done
python3 -c 'import grpc, grpc_tools' 2>/dev/null ||
    { echo "python3 needs grpcio and grpcio-tools: python3 -m pip install grpcio grpcio-tools"; exit 1; }

work=$(mktemp -d /tmp/hotline-concurrent.XXXXXX)
export BENCH_WORK=$work
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]+"${pids[@]}"}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]+"${pids[@]}"}"; do wait "$pid" 2>/dev/null || true; done
    if [[ ${KEEP_WORK:-0} == 1 ]]; then echo "logs kept in $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ -n ${HOTLINE_BIN:-} ]]; then
    hotline=$HOTLINE_BIN
else
    cargo build --release -q -p hotline
    hotline="${CARGO_TARGET_DIR:-$workspace/target}/release/hotline"
fi

uas_port=25070
uas_media_port=25100
uac_port=25083
uac_media_port=25200
gateway_port=25060
kamailio_port=25091
ng_port=25223
max_calls=0
for n in $steps; do ((n > max_calls)) && max_calls=$n; done

$benchstat tone "$work/tone.ulaw" 10

# pause, stop
source "$workspace/sip-gateway/benches/process.sh"

gateway_config() {
    cat <<EOF
agent_api_listen = "127.0.0.1:0"
[gateway]
sip_listen = "127.0.0.1:$gateway_port"
total_calls_per_second = 1000
wrap_up_seconds = 0
record = true
[[gateway.trunks]]
name = "bench"
addresses = ["127.0.0.1"]
max_calls = 100000
calls_per_second = 1000
ivr = false
EOF
    for i in $(seq 1 $((max_calls + 50))); do
        printf '[[gateway.static_agents]]\nuser = "bench%04d"\ncontact = "sip:bench%04d@127.0.0.1:%s"\n' \
            "$i" "$i" $((uas_port + i % uas_count))
    done
}
gateway_config >"$work/hotline.toml"

# Starts the relay of `target` for one step; sets relay_pids (name=pid for sampling),
# counters (arguments of `benchstat counters`) and sip_target.
start_relay() {
    local target=$1 dir=$2
    case $target in
        gateway)
            RUST_LOG=${RUST_LOG:-warn} "$hotline" serve --data-dir "$dir/data" --listen 127.0.0.1:0 \
                --config "$work/hotline.toml" >"$dir/hotline.log" 2>&1 &
            local pid=$!
            pids+=("$pid")
            relay_stop=("$pid")
            for _ in $(seq 600); do grep -q "SIP gateway on" "$dir/hotline.log" && break; sleep 0.1; done
            grep -q "SIP gateway on" "$dir/hotline.log" || { cat "$dir/hotline.log"; exit 1; }
            local api token
            api=$(sed -n 's/.*agent API on \([0-9.:]*\).*/\1/p' "$dir/hotline.log")
            token=$(awk '$1 == "supervisor01" { print $3 }' "$dir/hotline.log")
            relay_pids=("gateway=$pid")
            counters=(gateway "$api" "$token")
            sip_target="127.0.0.1:$gateway_port"
            ;;
        rtpengine)
            local flags="replace-origin replace-session-connection" record=()
            if [[ $record_rtpengine == 1 ]]; then
                mkdir -p "$dir/recordings"
                record=(--recording-dir="$dir/recordings" --recording-method=pcap)
                flags="$flags record-call=on"
            fi
            rtpengine --interface=127.0.0.1 --listen-ng=127.0.0.1:$ng_port --foreground --table=-1 \
                --port-min=10000 --port-max=19999 --log-stderr --log-level=4 "${record[@]}" \
                >"$dir/rtpengine.log" 2>&1 &
            local rtpengine_pid=$!
            pids+=("$rtpengine_pid")
            sed -e "s/LISTEN_ADDR/127.0.0.1:$kamailio_port/" -e "s/UAS_IP/127.0.0.1/" \
                -e "s/UAS_PORT/$uas_port/" -e "s/UAS_COUNT/$uas_count/" \
                -e "s/NG_ADDR/127.0.0.1:$ng_port/" -e "s/OFFER_FLAGS/$flags/" \
                sip-gateway/benches/kamailio-rtpengine.cfg >"$dir/kamailio.cfg"
            kamailio -f "$dir/kamailio.cfg" -P "$dir/kamailio.pid" -w "$dir" -m 1024 -M 32 -DD -E \
                >"$dir/kamailio.log" 2>&1 &
            local kamailio_pid=$!
            pids+=("$kamailio_pid")
            relay_stop=("$kamailio_pid" "$rtpengine_pid")
            for _ in $(seq 100); do ss -uln | grep -q ":$kamailio_port " && break; sleep 0.1; done
            for _ in $(seq 100); do $benchstat ng 127.0.0.1:$ng_port ping >/dev/null 2>&1 && break; sleep 0.1; done
            relay_pids=("rtpengine=$rtpengine_pid" "kamailio=$kamailio_pid")
            counters=(rtpengine "127.0.0.1:$ng_port")
            sip_target="127.0.0.1:$kamailio_port"
            ;;
    esac
}

# One step: N calls through `target`. Prints the report line; returns 1 when the
# relay lost more than 0.1 % or the step could not be measured at full load.
step() {
    local target=$1 calls=$2
    local dir="$work/$target-$calls"
    mkdir -p "$dir"
    cp "$work/tone.ulaw" "$dir/"
    start_relay "$target" "$dir"
    sleep 2
    $benchstat sample "${relay_pids[@]}" >"$dir/idle.json"
    local ramp_seconds=$(((calls + ramp - 1) / ramp))
    local call_ms=$(((2 * ramp_seconds + settle_seconds + hold + 30) * 1000))
    local uas=() i
    for ((i = 0; i < uas_count; i++)); do
        sipp -sf "$workspace/tests/sipp/bench_agent.xml" -i 127.0.0.1 -p $((uas_port + i)) -mi 127.0.0.1 \
            -mp $((uas_media_port + 4 * i)) -rtp_echo -nostdin -trace_stat -stf "$dir/uas$i.csv" -fd 3600 \
            >"$dir/uas$i.out" 2>&1 &
        uas+=($!)
        pids+=($!)
    done
    sleep 0.3
    (cd "$dir" && exec sipp "$sip_target" -sf "$workspace/tests/sipp/bench_caller.xml" -i 127.0.0.1 \
        -p "$uac_port" -mi 127.0.0.1 -mp "$uac_media_port" -r "$ramp" -rp 1000 -m "$calls" -l "$calls" \
        -d "$call_ms" -nostdin -trace_stat -stf "$dir/uac.csv" -fd 3600) >"$dir/uac.out" 2>&1 &
    local uac=$!
    pids+=("$uac")
    # Wait until every call is bridged (or give up after the ramp and 30 s more).
    local up=0 deadline=$((SECONDS + ramp_seconds + 30))
    while ((SECONDS < deadline)); do
        up=$($benchstat counters "${counters[@]}" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["bridged"])' || echo 0)
        ((up >= calls)) && break
        pause 1
    done
    pause "$settle_seconds"
    local watched=("${relay_pids[@]}" "uac=$uac")
    for ((i = 0; i < uas_count; i++)); do watched+=("uas$i=${uas[i]}"); done
    $benchstat counters "${counters[@]}" >"$dir/counters-before.json"
    $benchstat sample "${watched[@]}" >"$dir/before.json"
    pause "$hold"
    $benchstat sample "${watched[@]}" >"$dir/after.json"
    $benchstat counters "${counters[@]}" >"$dir/counters-after.json"
    $benchstat concurrent "$calls" "${relay_pids[0]%%=*}" "$dir/idle.json" "$dir/before.json" "$dir/after.json" \
        "$dir/counters-before.json" "$dir/counters-after.json" uac $(seq -f 'uas%g' 0 $((uas_count - 1))) \
        >"$dir/report.json"
    # Measured: stop everything (the calls would all end together later).
    stop "$uac"
    for pid in "${uas[@]}"; do stop "$pid"; done
    for pid in "${relay_stop[@]}"; do stop "$pid"; done
    local recorded
    recorded=$(find "$dir/data/gateway/recordings" "$dir/recordings" -type f 2>/dev/null |
        xargs -r du -cb 2>/dev/null | awk '$2 == "total" { b += $1 } END { printf "%.0f", b / 1048576 }')
    local files
    files=$(find "$dir/data/gateway/recordings" "$dir/recordings" -type f 2>/dev/null | wc -l)
    echo "recordings: $files files, ${recorded:-0} MB" >"$dir/recordings.txt"
    rm -rf "$dir/data/gateway/recordings" "$dir/recordings"
    python3 - "$dir/report.json" "$target" "$(cat "$dir/recordings.txt")" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
target = sys.argv[2]
cores = " ".join(f"{k}={v:.2f}" for k, v in r["cores"].items())
print(f"{target:<9} {r['calls']:>5} calls: up {r['calls_up_before']}/{r['calls_up_after']}, "
      f"{r['packets_per_second_in']} pkt/s in, offered {r['offered_ratio']}, "
      f"relay loss {r['relay_loss_percent']} % (drops {r['relay_socket_drops']}, failed sends {r['relay_send_failed']}, "
      f"received-sent {r['relay_received'] - r['relay_sent']}), generator drops {r['generator_socket_drops']}, "
      f"kernel RcvbufErrors not at the caller {r['kernel_udp_rcvbuf_errors_not_uac']}; "
      f"RSS {r['rss_idle_kb']} -> {r['rss_loaded_kb']} kB = {r['kb_per_call']} kB/call; "
      f"cores: {cores}, machine {r['machine_busy_cores']}; load {' '.join(r['loadavg_after'])}; {sys.argv[3]}")
top = r["threads"].get(target, {})
print("          threads of the relay (cores):", ", ".join(f"{k} {v}" for k, v in list(top.items())[:8]))
full = r["calls_up_before"] >= r["calls"] and r["calls_up_after"] >= r["calls"]
good = full and r["offered_ratio"] is not None and r["offered_ratio"] >= 0.99 \
    and r["relay_loss_percent"] is not None and r["relay_loss_percent"] <= 0.1
sys.exit(0 if good else 1)
EOF
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), Linux $(uname -r)"
echo "settings: steps [$steps] calls, ramp $ramp calls/s, settle ${settle_seconds} s, window ${hold} s, rtpengine recording $record_rtpengine"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A best stopped
for target in $targets; do best[$target]=0; stopped[$target]=0; done
for calls in $steps; do
    for target in $targets; do
        ((stopped[$target])) && continue
        if step "$target" "$calls"; then best[$target]=$calls; else stopped[$target]=1; fi
        pause 3
    done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "summary (most concurrent calls with relay loss <= 0.1 % and offered load >= 0.99):"
for target in $targets; do echo "  $target ${best[$target]}"; done
