# Helpers for the control plane's integration tests (sourced after harness.sh's
# TAP helpers). Everything here runs on 127.0.0.1 with free ports: stock
# memcached instances as the servers, dpcache-ctld, and for the ZooKeeper test
# a ZooKeeper of its own. Every process is started in this shell, recorded by
# PID and killed on exit, pass or fail; every file lives in $DP_TMP, which
# harness.sh removes.

. "$(dirname "$0")/harness.sh"

CTLD=$DPCACHE_BUILD/control/dpcache-ctld
CT_PIDS=()
# The command prefix for ctld, dpcachectl and memcached. A test whose servers
# are dpcached on TAPs runs them in its namespace: ct_in=(ip netns exec
# "$DP_NS"). `ip netns exec` execs the program, so the PIDs recorded are still
# theirs (a prefix, not a function, so that `... &` leaves that PID in $!).
ct_in=()

ct_cleanup() {
    local p i
    for p in "${CT_PIDS[@]}"; do
        kill -TERM "$p" 2>/dev/null
    done
    for i in $(seq 30); do
        local alive=0
        for p in "${CT_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
        [ "$alive" -eq 0 ] && break
        sleep 0.1
    done
    for p in "${CT_PIDS[@]}"; do
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    CT_PIDS=()
    return 0
}
trap 'ct_cleanup; dp_cleanup' EXIT

# ct_free_port: a TCP port nobody listens on right now.
ct_free_port() {
    "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# mc_start PORT: a stock memcached on 127.0.0.1:PORT; its PID in MC_PID.
mc_start() {
    local user=() i
    [ "$(id -u)" -eq 0 ] && user=(-u root)
    "${ct_in[@]}" memcached "${user[@]}" -l 127.0.0.1 -p "$1" -U 0 -m 16 -t 1 >"$DP_TMP/memcached-$1.log" 2>&1 &
    MC_PID=$!
    CT_PIDS+=("$MC_PID")
    for i in $(seq 100); do
        "${ct_in[@]}" "$PYTHON" - "$1" <<'EOF' 2>/dev/null && return 0
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1)
s.sendall(b"version\r\n")
sys.exit(0 if s.recv(100).startswith(b"VERSION") else 1)
EOF
        sleep 0.1
    done
    echo "memcached on port $1 did not start in 10 s" >&2
    return 1
}

# ct_kill PID: kill -9 one process we started and reap it.
ct_kill() {
    kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    return 0
}

# ctld_start NAME ARGS...: dpcache-ctld with control socket $DP_TMP/NAME.sock,
# log $DP_TMP/NAME.log; PID in CTLD_PID. Waits until the socket answers.
ctld_start() {
    local name=$1 i
    shift
    "${ct_in[@]}" "$CTLD" --ctl-socket "$DP_TMP/$name.sock" "$@" >>"$DP_TMP/$name.log" 2>&1 &
    CTLD_PID=$!
    CT_PIDS+=("$CTLD_PID")
    for i in $(seq 200); do
        if ! kill -0 "$CTLD_PID" 2>/dev/null; then
            echo "dpcache-ctld $name exited during start-up:" >&2
            cat "$DP_TMP/$name.log" >&2
            return 1
        fi
        [ -S "$DP_TMP/$name.sock" ] && ctl "$name" --json status >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "dpcache-ctld $name did not answer in 20 s" >&2
    return 1
}

# ctl NAME ARGS...: dpcachectl against ctld NAME.
ctl() {
    local name=$1
    shift
    "${ct_in[@]}" "$DPCACHECTL" --ctl-socket "$DP_TMP/$name.sock" --timeout 5000 "$@"
}

# jq_py EXPR: evaluate a Python expression over the JSON on stdin (as `j`).
jq_py() {
    "$PYTHON" -c "import json, sys; j = json.load(sys.stdin); print($1)"
}

# The bounds of these waits are generous on purpose: they only matter when
# something is broken, and a loaded machine (two builds' suites in parallel on
# two cores, under ASan) is slow. Budgets that are part of a feature (TKO,
# takeover) are checked separately, from ctld's own log timestamps.

# ct_wait SECONDS COMMAND...: retry COMMAND every 50 ms until it succeeds.
ct_wait() {
    local deadline i
    deadline=$(($(date +%s%N) + $1 * 1000000000))
    while [ "$(date +%s%N)" -lt "$deadline" ]; do
        "${@:2}" >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    return 1
}

# now_ms: monotonic enough for measuring a few seconds.
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# ct_log_ms LOG PATTERN: when ctld logged the last line matching PATTERN, in
# ms since the epoch (the line's own timestamp, not when we looked).
ct_log_ms() {
    local at
    at=$(grep -- "$2" "$1" | tail -n 1 | cut -d' ' -f1)
    [ -n "$at" ] && date -u -d "$at" +%s%3N
}

# ct_stop PID: SIGTERM, wait up to 15 s; returns the exit status (or 124).
ct_stop() {
    local i
    kill -TERM "$1" 2>/dev/null
    for i in $(seq 150); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$1" 2>/dev/null && return 124
    wait "$1"
}

# ct_sanitizer_check LOG...: t_ok unless a sanitizer complained in the logs.
ct_sanitizer_check() {
    local bad
    bad=$(grep -lE "ERROR: (Address|Leak)Sanitizer|runtime error:" "$@" 2>/dev/null)
    [ -z "$bad" ] && t_ok "no sanitizer reports in the logs" ||
        t_fail "no sanitizer reports in the logs" "$(cat $bad | head -30)"
}
