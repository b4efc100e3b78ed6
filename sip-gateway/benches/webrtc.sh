#!/usr/bin/env bash
# Browser (WebRTC) agents under load, beside plain SIP agents measured in the same run.
#
#     bash sip-gateway/benches/webrtc.sh soak
#     bash sip-gateway/benches/webrtc.sh concurrent
#
# The trunk side is SIPp (tests/sipp/bench_caller.xml) streaming a u-law tone, 20 ms
# packets, 50 per second, on every call, as in concurrent.sh. The gateway (`hotline
# serve`, release build) answers on a trunk with the menu off, queues each call to an
# agent, bridges the legs in its media task and records every call (as in production).
# Two kinds of agent take the calls:
#   webrtc  browser seats played by `webrtc-agents` (tests/src/webrtc_agents): each
#           signs in on the page's API, registers over SIP over WebSocket with
#           `+sip.ice`, goes Ready, answers with ICE + DTLS-SRTP (PCMU) and echoes
#           every decrypted packet back, encrypted again;
#   sip     the reference: static agents played by SIPp UAS (tests/sipp/bench_agent.xml
#           with -rtp_echo), plain RTP, as in concurrent.sh.
#
# soak: SOAK_CALLS calls one after another (SIPp -l 1) to one agent of each kind; the
#   two targets run side by side, each with its own gateway and SIPp. The gateway's
#   VmRSS is sampled every SAMPLE_EVERY completed calls (SIPp's own count); reported:
#   the series and (RSS at the end - RSS after SAMPLE_EVERY calls) / the calls between.
# concurrent: for each N in CALLS, N calls held open at once, each bridged to an
#   echoing agent: 50 packets/s each way on each leg. After all N are bridged and
#   SETTLE_SECONDS have passed, a window of HOLD_SECONDS is measured with concurrent.sh's
#   method (benchstat.py): the gateway's CPU (utime+stime) -> cores, its relay loss
#   (media counters of GetSnapshot plus its sockets' drops), memory per call; for webrtc
#   also the loss the browsers saw (RTP decrypted vs 50/s per call expected) and the
#   generator's own CPU. Calls per core = N / the gateway's cores, valid at < 0.1 % loss.
#   With PERF=1 the gateway is profiled during each webrtc window (perf record -g).
#   Both kinds run on the same 2 cores as the gateway: the generators compete with it.
#
# Needs sipp, python3 with grpcio and grpcio-tools, perf for PERF=1; builds `hotline`
# and `webrtc-agents` (release; CARGO_TARGET_DIR is honoured), or takes both from
# HOTLINE_BIN and AGENTS_BIN.
# Environment: SOAK_CALLS=1000 SOAK_HOLD_MS=2000 SAMPLE_EVERY=100
# CALLS="200 400 600 800 1000" RAMP_RATE=50 SETTLE_SECONDS=5 HOLD_SECONDS=20
# TARGETS="webrtc sip" UAS_COUNT=4 AGENT_THREADS=1 PERF=0 KEEP_WORK=1
set -euo pipefail

workspace="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$workspace"
mode=${1:-}
[[ $mode == soak || $mode == concurrent ]] || { sed -n '2,40p' "$0"; exit 64; }
targets=${TARGETS:-"webrtc sip"}
uas_count=${UAS_COUNT:-4}
benchstat="python3 $workspace/sip-gateway/benches/benchstat.py"
password="webrtc-bench-$RANDOM$RANDOM"

command -v sipp >/dev/null || { echo "sipp is missing (apt-get install sip-tester)"; exit 1; }
python3 -c 'import grpc, grpc_tools' 2>/dev/null ||
    { echo "python3 needs grpcio and grpcio-tools: python3 -m pip install grpcio grpcio-tools"; exit 1; }

work=$(mktemp -d /tmp/hotline-webrtc.XXXXXX)
export BENCH_WORK=$work
pids=()
cleanup() {
    local pid
    for pid in "${pids[@]+"${pids[@]}"}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]+"${pids[@]}"}"; do wait "$pid" 2>/dev/null || true; done
    if [[ ${KEEP_WORK:-0} == 1 ]]; then
        find "$work" -path '*/recordings/*' -delete 2>/dev/null || true
        echo "logs kept in $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ -n ${HOTLINE_BIN:-} && -n ${AGENTS_BIN:-} ]]; then
    hotline=$HOTLINE_BIN
    agents_bin=$AGENTS_BIN
else
    cargo build --release -q -p hotline -p hotline-tests --bin hotline --bin webrtc-agents
    bin_dir="${CARGO_TARGET_DIR:-$workspace/target}/release"
    hotline=$bin_dir/hotline
    agents_bin=$bin_dir/webrtc-agents
fi
$benchstat tone "$work/tone.ulaw" 10

# pause, stop
source "$workspace/sip-gateway/benches/process.sh"

# Seat credentials, made once: one `hotline admin set-sip-password` per seat, eight at a
# time, into a seed data directory each gateway starts from a copy of.
seed_seats() {
    local seats=$1 started=$SECONDS
    mkdir -p "$work/seed"
    seq 1 "$seats" | HOTLINE_SIP_PASSWORD=$password xargs -P 8 -I{} sh -c \
        'exec "$1" admin set-sip-password --data-dir "$2" --role agent --user "$(printf "webrtc%04d" "$3")" >/dev/null' \
        _ "$hotline" "$work/seed" {}
    echo "seats: $seats SIP passwords set in $((SECONDS - started)) s"
}

# Config of one gateway: ports from `base`; webrtc: ws_listen on; sip: static agents.
gateway_config() {
    local target=$1 base=$2 agents=$3 i
    cat <<EOF
agent_api_listen = "127.0.0.1:0"
[gateway]
sip_listen = "127.0.0.1:$base"
total_calls_per_second = 1000
wrap_up_seconds = 0
record = true
EOF
    [[ $target == webrtc ]] && echo "ws_listen = \"127.0.0.1:$((base + 20))\""
    cat <<EOF
[[gateway.trunks]]
name = "bench"
addresses = ["127.0.0.1"]
max_calls = 100000
calls_per_second = 1000
ivr = false
EOF
    if [[ $target == sip ]]; then
        for i in $(seq 1 "$agents"); do
            printf '[[gateway.static_agents]]\nuser = "bench%04d"\ncontact = "sip:bench%04d@127.0.0.1:%s"\n' \
                "$i" "$i" $((base + 10 + i % uas_count))
        done
    fi
}

# Starts a gateway and its agents for one target. Ports: SIP `base`, SIPp UAS base+10..,
# ws base+20, the UAS's media base+100.., the trunk's SIP base+30 and media base+200.
# Sets gw_pid, gw_api, gw_token, agent_pids, agent_names.
start_target() {
    local target=$1 base=$2 agents=$3 dir=$4 i
    mkdir -p "$dir"
    cp "$work/tone.ulaw" "$dir/"
    [[ $target == webrtc ]] && cp -r "$work/seed" "$dir/data"
    gateway_config "$target" "$base" "$agents" >"$dir/hotline.toml"
    RUST_LOG=${RUST_LOG:-warn} "$hotline" serve --data-dir "$dir/data" --listen 127.0.0.1:0 \
        --config "$dir/hotline.toml" >"$dir/hotline.log" 2>&1 &
    gw_pid=$!
    pids+=("$gw_pid")
    for _ in $(seq 600); do grep -q "SIP gateway on" "$dir/hotline.log" && break; sleep 0.1; done
    grep -q "SIP gateway on" "$dir/hotline.log" || { cat "$dir/hotline.log"; exit 1; }
    gw_api=$(sed -n 's/.*agent API on \([0-9.:]*\).*/\1/p' "$dir/hotline.log")
    gw_token=$(awk '$1 == "supervisor01" { print $3 }' "$dir/hotline.log")
    agent_pids=()
    agent_names=()
    if [[ $target == webrtc ]]; then
        HOTLINE_SIP_PASSWORD=$password "$agents_bin" --web "127.0.0.1:$((base + 20))" --seats "$agents" \
            --threads "${AGENT_THREADS:-1}" --report-every 1 ${PER_CALL:+--per-call} \
            >"$dir/agents.jsonl" 2>"$dir/agents.err" &
        agent_pids=($!)
        agent_names=(agents)
        pids+=("${agent_pids[0]}")
        local registered=0
        for _ in $(seq 1200); do
            registered=$(last_totals "$dir" registered)
            ((registered >= agents)) && break
            kill -0 "${agent_pids[0]}" 2>/dev/null || break
            pause 0.5
        done
        ((registered >= agents)) || { echo "only $registered of $agents seats ready"; cat "$dir/agents.err"; exit 1; }
    else
        for ((i = 0; i < uas_count; i++)); do
            sipp -sf "$workspace/tests/sipp/bench_agent.xml" -i 127.0.0.1 -p $((base + 10 + i)) -mi 127.0.0.1 \
                -mp $((base + 100 + 4 * i)) -rtp_echo -nostdin -trace_stat -stf "$dir/uas$i.csv" -fd 3600 \
                >"$dir/uas$i.out" 2>&1 &
            agent_pids+=($!)
            agent_names+=("uas$i")
            pids+=($!)
        done
        sleep 0.3
    fi
}

# A field of the load generator's latest totals line (0 before the first).
last_totals() {
    local line
    line=$(grep '"event":"totals"' "$1/agents.jsonl" 2>/dev/null | tail -n 1)
    [[ -n $line ]] || { echo 0; return; }
    python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$line" "$2"
}

# The trunk: `calls` calls at `rate`/s, at most `limit` at once, each held `hold_ms`.
start_trunk() {
    local base=$1 dir=$2 calls=$3 rate=$4 limit=$5 hold_ms=$6 stat_every=$7
    (cd "$dir" && exec sipp "127.0.0.1:$base" -sf "$workspace/tests/sipp/bench_caller.xml" -i 127.0.0.1 \
        -p $((base + 30)) -mi 127.0.0.1 -mp $((base + 200)) -r "$rate" -rp 1000 -m "$calls" -l "$limit" \
        -d "$hold_ms" -nostdin -trace_stat -stf "$dir/uac.csv" -fd "$stat_every") >"$dir/uac.out" 2>&1 &
    uac_pid=$!
    pids+=("$uac_pid")
}

# A column of the last line of SIPp's statistics file (0 before the first).
sipp_stat() {
    local file=$1 column=$2
    [[ -s $file ]] || { echo 0; return; }
    awk -F';' -v want="$column" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == want) c = i; next }
        { v = $c } END { print (v == "" ? 0 : v) }' "$file"
}

# VmRSS and, after a slash, its anonymous part (RssAnon: the heap; the rest is mostly
# SQLite's database files mapped into memory, which grow with every call stored).
rss_kb() { awk '/^VmRSS:/ { r = $2 } /^RssAnon:/ { a = $2 } END { print r "/" a }' "/proc/$1/status" 2>/dev/null || echo 0/0; }

# --- soak ---------------------------------------------------------------------------

soak_target() {
    local target=$1 base=$2 dir="$work/soak-$1"
    local calls=${SOAK_CALLS:-1000} hold_ms=${SOAK_HOLD_MS:-2000} every=${SAMPLE_EVERY:-100}
    start_target "$target" "$base" 1 "$dir"
    sleep 1
    local series="0:$(rss_kb "$gw_pid")" next=$every done_calls=0 failed=0 started=$SECONDS
    start_trunk "$base" "$dir" "$calls" 10 1 "$hold_ms" 1
    while kill -0 "$uac_pid" 2>/dev/null; do
        done_calls=$(sipp_stat "$dir/uac.csv" "SuccessfulCall(C)")
        failed=$(sipp_stat "$dir/uac.csv" "FailedCall(C)")
        if ((done_calls + failed >= next)); then
            series="$series $next:$(rss_kb "$gw_pid")"
            next=$((next + every))
        fi
        # Recordings are not what is measured here: keep the disk free.
        find "$dir/data/gateway/recordings" -type f -mmin +1 -delete 2>/dev/null || true
        pause 0.5
    done
    wait "$uac_pid" 2>/dev/null || true
    done_calls=$(sipp_stat "$dir/uac.csv" "SuccessfulCall(C)")
    failed=$(sipp_stat "$dir/uac.csv" "FailedCall(C)")
    ((next <= calls)) && series="$series $calls:$(rss_kb "$gw_pid")"
    local extra=""
    if [[ $target == webrtc ]]; then
        extra=$(python3 - "$dir/agents.jsonl" <<'EOF'
import json, sys
totals = [json.loads(l) for l in open(sys.argv[1]) if '"event":"totals"' in l][-1]
lost = totals["expected_ended"] - totals["received"]
print(f"browser: {totals['answered']} answered, {totals['failed']} transports failed, "
      f"{totals['received']} RTP received of ~{totals['expected_ended']} expected, "
      f"{totals['dropped']} dropped, {totals['sent']} echoed")
EOF
)
    fi
    stop "$uac_pid"
    for pid in "${agent_pids[@]}"; do stop "$pid"; done
    stop "$gw_pid"
    python3 - "$target" "$series" "$done_calls" "$failed" "$((SECONDS - started))" "$every" "$extra" <<'EOF'
import sys
target, series, done, failed, seconds, every, extra = sys.argv[1:]
points = []
for p in series.split():
    calls, kb = p.split(":")
    rss, anon = kb.split("/")
    points.append((int(calls), int(rss), int(anon)))
print(f"{target:<6} {done} calls ok, {failed} failed, {seconds} s; VmRSS/RssAnon kB by calls: "
      + " ".join(f"{c}={r}/{a}" for c, r, a in points))
start = next((p for p in points if p[0] == int(every)), None)
end = points[-1]
if start and end[0] > start[0]:
    calls = end[0] - start[0]
    print(f"{target:<6} growth from call {start[0]} to {end[0]}: VmRSS {(end[1] - start[1]) / calls:.2f} kB/call "
          f"({end[1] - start[1]:+d} kB), RssAnon {(end[2] - start[2]) / calls:.2f} kB/call ({end[2] - start[2]:+d} kB)")
if extra:
    print(f"{target:<6} {extra}")
EOF
    rm -rf "$dir/data/gateway/recordings"
}

# --- concurrent -----------------------------------------------------------------------

# One step: N calls for `target`. Prints the report; returns 1 when the step failed
# (loss > 0.1 %, offered load < 0.99, or calls not all up).
concurrent_step() {
    local target=$1 calls=$2 base=28060 dir="$work/$1-$2"
    local ramp=${RAMP_RATE:-50} settle=${SETTLE_SECONDS:-5} hold=${HOLD_SECONDS:-20}
    start_target "$target" "$base" $((calls + 20)) "$dir"
    sleep 2
    $benchstat sample "gateway=$gw_pid" >"$dir/idle.json"
    local ramp_seconds=$(((calls + ramp - 1) / ramp))
    start_trunk "$base" "$dir" "$calls" "$ramp" "$calls" $(((2 * ramp_seconds + settle + hold + 30) * 1000)) 3600
    local up=0 deadline=$((SECONDS + ramp_seconds + 30))
    while ((SECONDS < deadline)); do
        up=$($benchstat counters gateway "$gw_api" "$gw_token" 2>/dev/null |
            python3 -c 'import json,sys; print(json.load(sys.stdin)["bridged"])' || echo 0)
        ((up >= calls)) && break
        pause 1
    done
    pause "$settle"
    local watched=("gateway=$gw_pid" "uac=$uac_pid") i
    for i in "${!agent_pids[@]}"; do watched+=("${agent_names[i]}=${agent_pids[i]}"); done
    $benchstat counters gateway "$gw_api" "$gw_token" >"$dir/counters-before.json"
    $benchstat sample "${watched[@]}" >"$dir/before.json"
    [[ $target == webrtc ]] && grep '"event":"totals"' "$dir/agents.jsonl" | tail -n 1 >"$dir/agents-before.json"
    local perf_pid=""
    if [[ ${PERF:-0} == 1 && $target == webrtc ]]; then
        perf record -g -e cpu-clock -p "$gw_pid" -o "$dir/perf.data" -- sleep "$hold" >/dev/null 2>&1 &
        perf_pid=$!
    fi
    pause "$hold"
    $benchstat sample "${watched[@]}" >"$dir/after.json"
    $benchstat counters gateway "$gw_api" "$gw_token" >"$dir/counters-after.json"
    [[ $target == webrtc ]] && grep '"event":"totals"' "$dir/agents.jsonl" | tail -n 1 >"$dir/agents-after.json"
    [[ -n $perf_pid ]] && wait "$perf_pid" 2>/dev/null
    $benchstat concurrent "$calls" gateway "$dir/idle.json" "$dir/before.json" "$dir/after.json" \
        "$dir/counters-before.json" "$dir/counters-after.json" uac "${agent_names[@]}" >"$dir/report.json"
    stop "$uac_pid"
    for pid in "${agent_pids[@]}"; do stop "$pid"; done
    stop "$gw_pid"
    rm -rf "$dir/data/gateway/recordings"
    if [[ -n $perf_pid ]]; then
        perf report -i "$dir/perf.data" --no-children --stdio --percent-limit 1.5 2>/dev/null |
            grep -E '^ +[0-9.]+%' | head -n 25 >"$dir/perf.txt" || true
        echo "          gateway profile (perf, self time, top entries):"
        sed 's/^/          /' "$dir/perf.txt"
        rm -f "$dir/perf.data"
    fi
    python3 - "$dir" "$target" <<'EOF'
import json, os, sys
d, target = sys.argv[1], sys.argv[2]
r = json.load(open(f"{d}/report.json"))
calls = r["calls"]
gw = r["cores"].get("gateway", 0)
generators = {k: v for k, v in r["cores"].items() if k != "gateway"}
e2e = ""
ok_e2e = True
if os.path.exists(f"{d}/agents-before.json"):
    a = json.load(open(f"{d}/agents-before.json"))
    b = json.load(open(f"{d}/agents-after.json"))
    seconds = b["t"] - a["t"]
    got = b["received"] - a["received"]
    expected = calls * 50 * seconds
    loss = 100 * (1 - got / expected) if expected else None
    cpu = (b["cpu_seconds"] - a["cpu_seconds"]) / seconds if seconds else None
    ok_e2e = loss is not None and loss < 0.1
    e2e = (f"; browsers: {got} RTP in {seconds:.1f} s = {loss:.3f} % below 50/s per call, "
           f"dropped {b['dropped'] - a['dropped']}, failed transports {b['failed']}, "
           f"connected {b['connected']}, own CPU {cpu:.2f} cores")
loss = r["relay_loss_percent"]
full = r["calls_up_before"] >= calls and r["calls_up_after"] >= calls
good = full and (r["offered_ratio"] or 0) >= 0.99 and loss is not None and loss < 0.1 and ok_e2e
per_core = f"{calls / gw:.0f}" if gw else "n/a"
print(f"{target:<6} {calls:>5} calls: up {r['calls_up_before']}/{r['calls_up_after']}, "
      f"{r['packets_per_second_in']} pkt/s in, offered {r['offered_ratio']}, gateway loss {loss} % "
      f"(drops {r['relay_socket_drops']}, failed sends {r['relay_send_failed']}, "
      f"received-sent {r['relay_received'] - r['relay_sent']}); gateway {gw:.2f} cores = "
      f"{per_core} calls/core{'' if good else ' (not valid)'}; "
      f"generators {' '.join(f'{k}={v:.2f}' for k, v in generators.items())}; "
      f"machine {r['machine_busy_cores']} cores busy, load {' '.join(r['loadavg_after'])}; "
      f"RSS {r['rss_idle_kb']} -> {r['rss_loaded_kb']} kB = {r['kb_per_call']} kB/call{e2e}")
top = r["threads"].get("gateway", {})
print("       gateway threads (cores):", ", ".join(f"{k} {v}" for k, v in list(top.items())[:6]))
sys.exit(0 if good else 1)
EOF
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), Linux $(uname -r)"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
case $mode in
    soak)
        echo "settings: ${SOAK_CALLS:-1000} calls one after another, held ${SOAK_HOLD_MS:-2000} ms," \
            "RSS every ${SAMPLE_EVERY:-100} calls; targets [$targets] side by side"
        [[ " $targets " == *" webrtc "* ]] && seed_seats 1
        base=26060
        for target in $targets; do
            # Each target in its own subshell, which stops its processes if it is stopped.
            (
                pids=()
                trap 'for pid in "${pids[@]+"${pids[@]}"}"; do kill "$pid" 2>/dev/null || true; done' EXIT
                trap 'exit 130' INT TERM
                soak_target "$target" "$base"
            ) >"$work/soak-$target.txt" &
            pids+=($!)
            base=$((base + 1000))
        done
        for target in $targets; do wait "${pids[0]}"; pids=("${pids[@]:1}"); done
        cat "$work"/soak-*.txt
        ;;
    concurrent)
        steps=${CALLS:-"200 400 600 800 1000"}
        max=0
        for n in $steps; do ((n > max)) && max=$n; done
        echo "settings: steps [$steps] calls, ramp ${RAMP_RATE:-50}/s, settle ${SETTLE_SECONDS:-5} s," \
            "window ${HOLD_SECONDS:-20} s, generator threads ${AGENT_THREADS:-1}"
        [[ " $targets " == *" webrtc "* ]] && seed_seats $((max + 20))
        declare -A stopped
        for calls in $steps; do
            for target in $targets; do
                ((${stopped[$target]:-0})) && continue
                concurrent_step "$target" "$calls" || stopped[$target]=1
                pause 3
            done
        done
        ;;
esac
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
