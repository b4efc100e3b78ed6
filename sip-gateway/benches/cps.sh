#!/usr/bin/env bash
# Calls per second through the gateway's B2BUA, beside two references measured in the
# same run on the same machine, all driven by the same SIPp scenarios:
#   sipp      SIPp UAC talking straight to a SIPp UAS (the load generator's ceiling);
#   kamailio  Kamailio as a stateful proxy (tm, record-route) between the same two;
#   gateway   SIPp UAC as the carrier trunk -> `hotline serve` (menu off on this trunk,
#             ACD, two legs, a media task and a WAV recording per call, call events to
#             ticket-core) -> SIPp UAS as AGENTS static agents.
# A call is tests/sipp/bench_cps_caller.xml: INVITE (SDP, no media sent), ACK, HOLD_MS
# of talk, BYE; the callee is tests/sipp/bench_agent.xml. Through the gateway a call is
# complete when both of its legs were: the UAS's count must match the UAC's.
#
# Each target runs at rising rates, SECONDS_PER_RATE seconds per rate, with a fresh UAS
# per step. A rate "holds" when every call succeeds on both sides and SIPp sent the
# INVITEs at no less than 95 % of the rate (from its -trace_rtt: answer time minus
# answer delay, per call). Answer delays (INVITE to 200, ms) are reported as p50/p99. After the first rate that fails, two
# bisection steps narrow the figure. The figure is the highest rate that held. Every
# sweep runs ROUNDS times, the three targets taking turns, so drift in the machine's
# load falls on all of them.
#
#     bash sip-gateway/benches/cps.sh
#
# Needs sipp (Debian sip-tester), kamailio, /usr/bin/time (Debian time) and a release
# build of `hotline` (built here; CARGO_TARGET_DIR is honoured, or set HOTLINE_BIN).
# Environment: RATES="250 500 ..." SECONDS_PER_RATE=5 HOLD_MS=200 AGENTS=600 ROUNDS=2
# TARGETS="sipp kamailio gateway" KAMAILIO_CHILDREN=8 GATEWAY_RECORD=true (false: no
# recordings, to see what they cost) KEEP_WORK=1 (keep the logs).
#
# For the gateway each step also reports how many call events were still waiting in its
# outbox when the last call ended, how long they took to reach ticket-core, and the
# gateway's CPU until then (cpu_s_target_with_events), not only during the calls.
set -euo pipefail

workspace="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$workspace"
rates=${RATES:-"250 500 1000 1500 2000 3000 4000 5000 6000 8000"}
seconds=${SECONDS_PER_RATE:-5}
hold_ms=${HOLD_MS:-200}
agents=${AGENTS:-600}
rounds=${ROUNDS:-2}
targets=${TARGETS:-"sipp kamailio gateway"}
children=${KAMAILIO_CHILDREN:-8}
record=${GATEWAY_RECORD:-true}
benchstat="$workspace/sip-gateway/benches/benchstat.py"
outbox=
caller_xml="$workspace/tests/sipp/bench_cps_caller.xml"
agent_xml="$workspace/tests/sipp/bench_agent.xml"

for tool in sipp kamailio /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "$tool is missing (apt-get install sip-tester kamailio time)"; exit 1; }
done

work=$(mktemp -d /tmp/hotline-cps.XXXXXX)
pids=()
step_line=
cleanup() {
    local pid child
    # SIPp runs under time(1), which does not pass signals on: stop its child too.
    for pid in "${pids[@]+"${pids[@]}"}"; do
        for child in $(pgrep -P "$pid" 2>/dev/null); do kill "$child" 2>/dev/null || true; done
        kill "$pid" 2>/dev/null || true
    done
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
uac_media_port=25200
kamailio_port=25090
gateway_port=25060

# Drops a process that has ended from the list cleanup() stops (its id may be reused).
forget() {
    local kept=() pid
    for pid in "${pids[@]+"${pids[@]}"}"; do [[ $pid == "$1" ]] || kept+=("$pid"); done
    pids=("${kept[@]+"${kept[@]}"}")
}

# A sleep that a signal interrupts at once (bash runs traps only between commands).
pause() {
    sleep "$1" &
    wait $! || true
}

# The last value of a named column of a SIPp -trace_stat CSV.
stat_field() {
    awk -F';' -v name="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) col = i }
        { last = $0 } END { split(last, f, ";"); print (col ? f[col] : "?") }' "$1"
}

# CPU ticks of a set of processes (all threads), from /proc.
ticks() {
    local total=0 pid
    for pid in "$@"; do
        [[ -r /proc/$pid/stat ]] || continue
        total=$((total + $(sed 's/.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13 }')))
    done
    echo "$total"
}
hz=$(getconf CLK_TCK)

# One step: `rate` calls/s for `seconds` s from the UAC on `local_port` to `target`,
# with a fresh UAS. Leaves one line of key=value figures in $step_line.
step() {
    local target=$1 rate=$2 local_port=$3; shift 3
    local watched=("$@")
    local calls=$((rate * seconds))
    local dir="$work/step-$local_port-$rate-$RANDOM"
    mkdir -p "$dir"
    local limit=$((rate * (hold_ms + 2000) / 1000 + 100))
    /usr/bin/time -f "%U %S" -o "$dir/uas.time" \
        sipp -sf "$agent_xml" -i 127.0.0.1 -p "$uas_port" -mp "$uas_media_port" -m "$calls" \
        -nostdin -trace_stat -stf "$dir/uas.csv" -fd 3600 -trace_err -error_file "$dir/uas-errors.log" \
        >"$dir/uas.out" 2>&1 &
    local uas=$!
    pids+=("$uas")
    sleep 0.3
    local before status=0
    before=$(ticks "${watched[@]}")
    (cd "$dir" && exec /usr/bin/time -f "%U %S" -o "$dir/uac.time" \
        sipp "$target" -sf "$caller_xml" -s 12351 -i 127.0.0.1 -p "$local_port" \
        -mp "$uac_media_port" -r "$rate" -rp 1000 -m "$calls" -l "$limit" -d "$hold_ms" \
        -nostdin -timeout $((seconds * 3 + 20))s -timeout_error \
        -trace_stat -stf "$dir/uac.csv" -fd 3600 -trace_rtt -rtt_freq "$rate" \
        -trace_err -error_file "$dir/uac-errors.log" \
        >"$dir/uac.out" 2>&1) &
    local uac=$!
    pids+=("$uac")
    wait "$uac" || status=$?
    forget "$uac"
    # The UAS ends once it has seen as many calls as were sent; if some never reached
    # it, stop it (SIPp writes its statistics on SIGTERM too).
    local deadline=$((SECONDS + hold_ms / 1000 + 10)) child
    while kill -0 "$uas" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
    # $uas is time(1); the UAS is its child.
    for child in $(pgrep -P "$uas" 2>/dev/null); do kill "$child" 2>/dev/null || true; done
    wait "$uas" 2>/dev/null || true
    forget "$uas"
    local after
    after=$(ticks "${watched[@]}")
    # The gateway hands every call's events (5 per call) to ticket-core through its
    # durable outbox, behind the calls: time how long it takes to deliver them all
    # after the last call, and count the CPU until then too.
    local drain=""
    if [[ -n $outbox ]]; then
        local pending_at_end drained_at=$SECONDS waited=0
        pending_at_end=$(python3 "$benchstat" pending "$outbox" 2>/dev/null || echo "?")
        while [[ $(python3 "$benchstat" pending "$outbox" 2>/dev/null || echo 0) != 0 ]] && ((waited < 300)); do
            pause 1
            waited=$((waited + 1))
        done
        local drained
        drained=$(ticks "${watched[@]}")
        drain=$(awk -v p="$pending_at_end" -v w="$((SECONDS - drained_at))" -v d="$drained" -v b="$before" -v hz="$hz" \
            'BEGIN { printf "events_pending_at_end=%s drained_in_s=%s cpu_s_target_with_events=%.2f", p, w, (d - b) / hz }')
    fi
    local ok failed retrans uas_ok uas_failed
    ok=$(stat_field "$dir/uac.csv" 'SuccessfulCall(C)')
    failed=$(stat_field "$dir/uac.csv" 'FailedCall(C)')
    retrans=$(stat_field "$dir/uac.csv" 'Retransmissions(C)')
    uas_ok=$(stat_field "$dir/uas.csv" 'SuccessfulCall(C)')
    uas_failed=$(stat_field "$dir/uas.csv" 'FailedCall(C)')
    # Answer times (ms) of every call: the span of answers gives the achieved rate.
    local rtt
    rtt=$(rtt_stats "$dir")
    local uac_cpu uas_cpu
    # time(1) writes "Command exited with non-zero status N" first when it did.
    uac_cpu=$(tail -n 1 "$dir/uac.time" 2>/dev/null | awk '{ printf "%.2f", $1 + $2 }')
    uas_cpu=$(tail -n 1 "$dir/uas.time" 2>/dev/null | awk '{ printf "%.2f", $1 + $2 }')
    local target_cpu
    target_cpu=$(awk -v a="$after" -v b="$before" -v hz="$hz" 'BEGIN { printf "%.2f", (a - b) / hz }')
    step_line="calls=$calls ok=${ok:-?} failed=${failed:-?} uas_ok=${uas_ok:-?} uas_failed=${uas_failed:-?}"
    step_line+=" retrans=${retrans:-?} $rtt sipp_exit=$status cpu_s_uac=$uac_cpu cpu_s_uas=$uas_cpu cpu_s_target=$target_cpu"
    [[ -z $drain ]] || step_line+=" $drain"
}

# From a SIPp -trace_rtt file (per call: when the answer came, ms since start, and the
# answer time, ms): the rate the INVITEs went out at (the span of answer time minus
# answer time), then the percentiles of the answer time.
rtt_stats() {
    local rows n first last
    rows=$(cat "$1"/*_rtt.csv 2>/dev/null | awk -F';' '$1 ~ /^[0-9.]+$/ { print $1 - $2, $2 }')
    n=$(grep -c . <<<"$rows" || true)
    if ((n < 2)); then echo "achieved=0 p50_ms=? p99_ms=? max_ms=?"; return; fi
    first=$(sort -n -k1,1 <<<"$rows" | head -n 1 | cut -d' ' -f1)
    last=$(sort -n -k1,1 <<<"$rows" | tail -n 1 | cut -d' ' -f1)
    cut -d' ' -f2 <<<"$rows" | sort -n | awk -v n="$n" -v first="$first" -v last="$last" '
        { r[NR] = $1 }
        END {
            p50 = int(n * 0.50); if (p50 < 1) p50 = 1
            p99 = int(n * 0.99); if (p99 < 1) p99 = 1
            printf "achieved=%.0f p50_ms=%d p99_ms=%d max_ms=%d\n", (n - 1) * 1000 / (last - first), r[p50], r[p99], r[n]
        }'
}

value() { tr ' ' '\n' <<<"$1" | awk -F= -v k="$2" '$1 == k { print $2 }'; }

holds() {
    local line=$1 rate=$2 calls
    calls=$(value "$line" calls)
    [[ $(value "$line" sipp_exit) == 0 && $(value "$line" failed) == 0 && $(value "$line" ok) == "$calls" &&
        $(value "$line" uas_ok) == "$calls" && $(value "$line" uas_failed) == 0 ]] &&
        (($(value "$line" achieved) * 100 >= rate * 95))
}

# After an overloaded step the target may still be retransmitting to the UAS port for
# up to 32 s (RFC 3261 timers B and F): wait that out, so that no stray message of one
# step reaches the next step's UAS, then wait until the target's CPU is quiet.
settle() {
    local quiet=0 before after
    pause "${1:-0}"
    for _ in $(seq 60); do
        before=$(ticks "${@:2}")
        pause 1
        after=$(ticks "${@:2}")
        if ((after - before <= hz / 20)); then quiet=$((quiet + 1)); else quiet=0; fi
        ((quiet >= 2)) && return
    done
}

sweep() {
    local name=$1 target=$2 local_port=$3; shift 3
    local best=0 failed_at=0 rate line
    try() {
        step "$target" "$1" "$local_port" "${@:2}"
        line=$step_line
        local verdict=fails
        if holds "$line" "$1"; then verdict=holds; fi
        printf '%-8s %5s/s %-5s %s\n' "$name" "$1" "$verdict" "$line"
        if [[ $verdict == holds ]]; then settle 0 "${@:2}"; return 0; fi
        settle 35 "${@:2}"
        return 1
    }
    for rate in $rates; do
        if try "$rate" "$@"; then best=$rate; else failed_at=$rate; break; fi
    done
    if ((failed_at > 0)); then
        for _ in 1 2; do
            rate=$(((best + failed_at) / 2 / 50 * 50))
            ((rate > best && rate < failed_at)) || break
            if try "$rate" "$@"; then best=$rate; else failed_at=$rate; fi
        done
    fi
    echo "RESULT $name $best calls/s"
    results+=("$name $best")
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), Linux $(uname -r)"
echo "settings: rates [$rates], ${seconds} s per rate, calls of ${hold_ms} ms, $agents agents, $rounds rounds, kamailio children $children, gateway recording $record"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
results=()

kamailio_pids=()
if [[ $targets == *kamailio* ]]; then
    sed -e "s/LISTEN_ADDR/127.0.0.1:$kamailio_port/" -e "s/UAS_ADDR/127.0.0.1:$uas_port/" \
        -e "s/CHILDREN/$children/" sip-gateway/benches/kamailio-proxy.cfg >"$work/kamailio.cfg"
    # 1 GB of shared memory: with the default 64 MB, tm runs out of memory for
    # transactions at about 500 calls/s.
    kamailio -f "$work/kamailio.cfg" -P "$work/kamailio.pid" -w "$work" -m 1024 -M 32 -DD -E \
        >"$work/kamailio.log" 2>&1 &
    pids+=($!)
    kamailio_main=$!
    for _ in $(seq 100); do ss -uln | grep -q ":$kamailio_port " && break; sleep 0.1; done
    ss -uln | grep -q ":$kamailio_port " || { cat "$work/kamailio.log"; exit 1; }
    sleep 0.5
    mapfile -t kamailio_pids < <(echo "$kamailio_main"; pgrep -P "$kamailio_main")
fi

gateway_pid=
if [[ $targets == *gateway* ]]; then
    {
        cat <<EOF
agent_api_listen = "127.0.0.1:0"
[gateway]
sip_listen = "127.0.0.1:$gateway_port"
total_calls_per_second = 1000000
wrap_up_seconds = 0
record = $record
[[gateway.trunks]]
name = "bench"
addresses = ["127.0.0.1"]
max_calls = 1000000
calls_per_second = 1000000
ivr = false
EOF
        for i in $(seq 1 "$agents"); do
            printf '[[gateway.static_agents]]\nuser = "bench%04d"\ncontact = "sip:bench%04d@127.0.0.1:%s"\n' "$i" "$i" "$uas_port"
        done
    } >"$work/hotline.toml"
    RUST_LOG=${RUST_LOG:-warn} "$hotline" serve --data-dir "$work/data" --listen 127.0.0.1:0 \
        --config "$work/hotline.toml" >"$work/hotline.log" 2>&1 &
    gateway_pid=$!
    pids+=("$gateway_pid")
    for _ in $(seq 600); do grep -q "SIP gateway on" "$work/hotline.log" && break; sleep 0.1; done
    grep -q "SIP gateway on" "$work/hotline.log" || { cat "$work/hotline.log"; exit 1; }
fi

for round in $(seq 1 "$rounds"); do
    echo "--- round $round, load $(cut -d' ' -f1-3 /proc/loadavg)"
    for target in $targets; do
        case $target in
            sipp) sweep sipp "127.0.0.1:$uas_port" 25081 ;;
            kamailio) sweep kamailio "127.0.0.1:$kamailio_port" 25082 "${kamailio_pids[@]}" ;;
            gateway)
                outbox="$work/data/gateway/call_events.sqlite3"
                sweep gateway "127.0.0.1:$gateway_port" 25083 "$gateway_pid"
                outbox=
                ;;
        esac
        pause 2
    done
done

if [[ -n $gateway_pid ]]; then
    echo "gateway process: peak RSS $(awk '/VmHWM/ { print $2 }' "/proc/$gateway_pid/status") kB;" \
        "recordings: $(find "$work/data/gateway/recordings" -name '*.wav' 2>/dev/null | wc -l) files"
fi
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "summary (highest rate that held, calls/s):"
printf '  %s\n' "${results[@]}"
