#!/usr/bin/env bash
# Calls per second through the gateway's B2BUA, beside two references measured in the
# same run on the same machine:
#   1. SIPp UAC talking straight to a SIPp UAS (the ceiling of the load generator),
#   2. Kamailio as a stateful proxy (tm, record-route) between the same two.
#   3. The gateway: SIPp UAC as the carrier trunk -> `hotline serve` (menu off on this
#      trunk, ACD, two legs, media tasks, recording on, call events to ticket-core)
#      -> SIPp UAS as 500 static agents.
# For each target, the load runs at rising rates for SECONDS seconds each; a rate
# "holds" when every call succeeds and the achieved rate is at least 95 % of it. The
# figure is the highest rate that holds.
#
#     bash sip-gateway/benches/cps.sh            # needs sipp and kamailio (tests/run.sh installs sipp)
#
# Environment: RATES="500 1000 ..." SECONDS_PER_RATE=5
set -euo pipefail

workspace="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$workspace"
rates=${RATES:-"250 500 1000 1500 2000 3000 4000 6000"}
seconds=${SECONDS_PER_RATE:-5}
work=$(mktemp -d /tmp/hotline-cps.XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT

command -v sipp >/dev/null || { echo "sipp is missing (apt-get install sip-tester)"; exit 1; }
command -v kamailio >/dev/null || { echo "kamailio is missing (apt-get install kamailio)"; exit 1; }

cargo build --release -q -p hotline
hotline="${CARGO_TARGET_DIR:-$workspace/target}/release/hotline"

uas_port=25070
kamailio_port=25090
gateway_port=25060

sipp -sn uas -i 127.0.0.1 -p "$uas_port" -nostdin -bg -trace_err -error_file "$work/uas-errors.log" >/dev/null
uas_pid=$(pgrep -n -f "sipp -sn uas -i 127.0.0.1 -p $uas_port")
pids+=("$uas_pid")

# One run of the UAC at `rate` against `target`; prints "achieved failed".
run_rate() {
    local target=$1 rate=$2 service=$3 local_port=$4
    local calls=$((rate * seconds))
    local start end status failed
    start=$(date +%s.%N)
    status=0
    sipp -sn uac "$target" -s "$service" -i 127.0.0.1 -p "$local_port" -r "$rate" -rp 1000 \
        -m "$calls" -nostdin -timeout $((seconds * 4 + 20))s -timeout_error \
        -trace_stat -stf "$work/stat-$local_port-$rate.csv" >/dev/null 2>&1 || status=$?
    end=$(date +%s.%N)
    failed=$(tail -n 1 "$work/stat-$local_port-$rate.csv" | awk -F';' '{print $16}')
    awk -v c="$calls" -v s="$start" -v e="$end" -v f="${failed:-?}" -v st="$status" \
        'BEGIN { printf "%.0f %s %s\n", c / (e - s), f, st }'
}

sweep() {
    local name=$1 target=$2 service=$3 local_port=$4 best=0
    for rate in $rates; do
        read -r achieved failed status < <(run_rate "$target" "$rate" "$service" "$local_port")
        printf '%-9s rate %5s/s: achieved %5s/s, failed %s, sipp exit %s\n' "$name" "$rate" "$achieved" "$failed" "$status"
        if [[ $status == 0 && $failed == 0 ]] && (( achieved * 100 >= rate * 95 )); then
            best=$rate
        else
            break
        fi
    done
    echo "RESULT $name $best"
}

echo "machine: $(nproc) cores, $(uname -r); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
sweep sipp "127.0.0.1:$uas_port" service 25081

sed -e "s/LISTEN_ADDR/127.0.0.1:$kamailio_port/" -e "s/UAS_ADDR/127.0.0.1:$uas_port/" \
    sip-gateway/benches/kamailio-proxy.cfg >"$work/kamailio.cfg"
kamailio -f "$work/kamailio.cfg" -P "$work/kamailio.pid" -w "$work" -DD -E >"$work/kamailio.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do ss -uln | grep -q ":$kamailio_port " && break; sleep 0.1; done
sweep kamailio "127.0.0.1:$kamailio_port" service 25082
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true

{
    cat <<EOF
agent_api_listen = "127.0.0.1:0"
[gateway]
sip_listen = "127.0.0.1:$gateway_port"
total_calls_per_second = 20000
wrap_up_seconds = 0
[[gateway.trunks]]
name = "bench"
addresses = ["127.0.0.1"]
max_calls = 20000
calls_per_second = 20000
ivr = false
EOF
    for i in $(seq 1 500); do
        printf '[[gateway.static_agents]]\nuser = "bench%03d"\ncontact = "sip:bench%03d@127.0.0.1:%s"\n' "$i" "$i" "$uas_port"
    done
} >"$work/hotline.toml"
"$hotline" serve --data-dir "$work/data" --listen 127.0.0.1:0 --config "$work/hotline.toml" \
    >"$work/hotline.log" 2>&1 &
pids+=($!)
for _ in $(seq 300); do grep -q "SIP gateway on" "$work/hotline.log" && break; sleep 0.1; done
grep -q "SIP gateway on" "$work/hotline.log" || { cat "$work/hotline.log"; exit 1; }
sweep gateway "127.0.0.1:$gateway_port" 12351 25083
rss=$(awk '/VmHWM/ {print $2}' "/proc/${pids[-1]}/status")
echo "gateway process peak RSS: ${rss} kB; recordings: $(find "$work/data/gateway/recordings" -name '*.wav' | wc -l) files"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
