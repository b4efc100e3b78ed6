# Process helpers shared by the gateway benchmarks (concurrent.sh, webrtc.sh), sourced
# after the script's `pids` array exists: every process a script starts goes into it, and
# its cleanup stops whatever is left.

# A sleep that a signal interrupts at once (bash runs traps only between commands).
pause() {
    sleep "$1" &
    wait $! || true
}

# Stops one of our processes and waits for it (SIGKILL after 10 s), then drops it from
# the list cleanup() stops (its id may be reused).
stop() {
    local pid=$1 kept=() other
    if kill "$pid" 2>/dev/null; then
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    for other in "${pids[@]+"${pids[@]}"}"; do [[ $other == "$pid" ]] || kept+=("$other"); done
    pids=("${kept[@]+"${kept[@]}"}")
}
