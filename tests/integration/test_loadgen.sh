#!/usr/bin/env bash
# dpcache-loadgen against dpcached over net_memif (the throughput benchmark's
# set-up, scripts/bench.sh udp|tcp), briefly, so the tool cannot rot: UDP
# gets (uniform and Zipf) and TCP sets and a 90/10 mix, every reply checked
# byte for byte by the loadgen; a loadgen that expects other values must
# report bad replies and fail; the kernel-socket mode against a stock
# memcached on loopback. dpcached's worker runs on lcore 1, the loadgen on
# lcore 0. Each loadgen run gets a dpcached of its own, and dpcached shuts
# down before the loadgen leaves: DPDK 22.11's net_memif unmaps a departed
# peer's memory under the other side's polling worker, which can crash it
# (docs/BENCHMARKS.md).
# Every process is stopped by PID and the memif socket, EAL runtime
# directories and hugepage files are removed, pass or fail.
. "$(dirname "$0")/harness.sh"

LOADGEN=$DPCACHE_BUILD/tests/bench/loadgen/dpcache-loadgen
MEMIF_SOCK=$DP_TMP/memif.sock
LG_ID=${DP_ID}lg
LG_PID=
MC_PID=

stop_pid() {
    local pid=$1 i
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

cleanup() {
    stop_pid "$LG_PID"
    stop_pid "$MC_PID"
    rm -rf "/var/run/dpdk/$LG_ID" /dev/hugepages/"$LG_ID"*
    dp_cleanup # dpcached, its runtime dir and hugepage files, $DP_TMP (the memif socket)
}
trap cleanup EXIT

# dpcached on a memif server port, one worker on lcore 1; sets DP_PID.
memif_start() {
    local i
    "$DPCACHED" -l 0,1 --no-pci --file-prefix "$DP_ID" \
        --vdev="net_memif0,role=server,socket=$MEMIF_SOCK,socket-abstract=no" -- \
        --ip "$DP_IP/24" --mac 02:00:00:00:00:02 --admin-socket "$DP_SOCK" \
        --idle-sleep 100 -m 32 "$@" > "$DP_LOG" 2>&1 &
    DP_PID=$!
    for i in $(seq 200); do
        kill -0 "$DP_PID" 2>/dev/null || break
        dp_ctl version >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    cat "$DP_LOG"
    return 1
}

# lg OPTIONS...: the loadgen as memif client on lcore 0; output in $DP_TMP/lg.out.
# Returns once it has reported (its last line is run_status), 0 if the run
# was sound. It then lingers until dpcached shuts down (fresh does that), so
# that neither side polls memif memory the other's departure unmaps.
lg() {
    local i
    rm -f "$DP_TMP/lg.out"
    timeout 90 "$LOADGEN" -l 0 --no-pci --in-memory --file-prefix "$LG_ID" \
        --vdev="net_memif0,role=client,socket=$MEMIF_SOCK,socket-abstract=no" -- \
        --server "$DP_IP:11211" --ip "$DP_PEER_IP" --keys 2000 --warmup 0.2 --linger 30 "$@" \
        > "$DP_TMP/lg.out" 2> "$DP_TMP/lg.err" &
    LG_PID=$!
    for i in $(seq 600); do
        grep -q '^run_status ' "$DP_TMP/lg.out" 2>/dev/null && break
        kill -0 "$LG_PID" 2>/dev/null || break
        sleep 0.1
    done
    grep -q '^run_status ok$' "$DP_TMP/lg.out"
}

# lg_reap: after dpcached is gone, the lingering loadgen closes and exits.
lg_reap() {
    local i
    [ -n "$LG_PID" ] || return 0
    for i in $(seq 50); do kill -0 "$LG_PID" 2>/dev/null || break; sleep 0.1; done
    stop_pid "$LG_PID"
    LG_PID=
}

# fig NAME: one figure of the last loadgen run.
fig() { awk -v n="$1" '$1 == n { print $2 }' "$DP_TMP/lg.out"; }
lg_report() { cat "$DP_TMP/lg.out" "$DP_TMP/lg.err"; }

# check_run DESCRIPTION CONDITION: CONDITION is an awk expression over the figures.
check_run() {
    local desc=$1 cond=$2
    if awk "{ f[\$1] = \$2 } END { exit !($cond) }" "$DP_TMP/lg.out"; then
        t_ok "$desc"
    else
        t_fail "$desc" "$(lg_report)"
    fi
}

# fresh [dpcached options]: stop the last dpcached (checking it exits 0 and
# leaves nothing behind) and start a new one.
n_dp=0
fresh() {
    local left
    if [ -n "$DP_PID" ]; then
        dp_ctl shutdown > /dev/null
        dp_wait_exit 20
        lg_reap
        [ "$DP_RC" = 0 ] || t_fail "dpcached $n_dp exits 0" "exit $DP_RC" "$(cat "$DP_LOG")"
        left=$(dp_leftovers; [ -e "$MEMIF_SOCK" ] && echo "memif socket $MEMIF_SOCK"
               [ -e "/var/run/dpdk/$LG_ID" ] && echo "runtime dir /var/run/dpdk/$LG_ID")
        [ -z "$left" ] || t_fail "dpcached $n_dp and the loadgen leave nothing behind" "$left"
    fi
    [ $# -gt 0 ] || return 0
    n_dp=$((n_dp + 1))
    if ! memif_start "$@" > "$DP_TMP/start.err" 2>&1; then
        t_fail "dpcached starts on net_memif" "$(cat "$DP_TMP/start.err")"
        t_done
    fi
}

# UDP: the preload sets every key over UDP, then gets are checked byte for byte.
fresh --udp-writes 1
t_ok "dpcached starts on net_memif (server)"
if lg --duration 1 --window 64; then t_ok "UDP uniform run exits 0"; else t_fail "UDP uniform run exits 0" "$(lg_report)"; fi
check_run "UDP uniform: every get answered with its key's value ($(fig hits) hits)" \
    'f["replies"] > 1000 && f["hits"] == f["replies"] && f["bad_replies"] == 0 && f["misses"] == 0'
check_run "UDP uniform: latency percentiles measured ($(fig latency_p50_us) / $(fig latency_p99_us) us)" \
    'f["latency_p50_us"] > 0 && f["latency_p99_us"] >= f["latency_p50_us"]'
hits=$(dp_stat get_hits)
[ "${hits:-0}" -ge "$(fig hits)" ] && t_ok "dpcached counted the gets (get_hits $hits)" ||
    t_fail "dpcached counted the gets" "get_hits ${hits:-none}, loadgen hits $(fig hits)"

fresh --udp-writes 1
if lg --duration 1 --zipf 0.99; then t_ok "UDP Zipf run exits 0"; else t_fail "UDP Zipf run exits 0" "$(lg_report)"; fi
check_run "UDP Zipf(0.99): all hits, no bad replies ($(fig gets_per_sec) gets/s)" \
    'f["hits"] > 1000 && f["hit_ratio"] == 1 && f["bad_replies"] == 0'

# Items whose values are not the loadgen's (set through the admin socket):
# every reply must count as bad and the run must fail.
fresh --udp-writes 0
"$PYTHON" - "$DP_SOCK" <<'EOP'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
s.connect(sys.argv[1])
buf = b""
def until(end):
    global buf
    while end not in buf:
        chunk = s.recv(65536)
        if not chunk:
            raise SystemExit("admin socket closed")
        buf += chunk
    i = buf.index(end) + len(end)
    line, buf = buf[:i], buf[i:]
    return line
s.sendall(b"memcache\r\n")
until(b"OK\r\n")
for k in range(20):
    s.sendall(b"set lg:%029d 0 0 100\r\n%s\r\n" % (k, b"Z" * 100))
    if until(b"\r\n") != b"STORED\r\n":
        raise SystemExit("set failed")
EOP
if lg --keys 20 --preload 0 --duration 0.3; then
    t_fail "wrong values are reported as bad replies" "$(lg_report)"
else
    check_run "wrong values are reported as bad replies ($(fig bad_replies)) and fail the run" \
        'f["bad_replies"] > 0 && f["hits"] == 0'
fi

# TCP: preload by sets over 4 connections, then sets only; then a 90/10 mix.
fresh --udp-writes 0
if lg --proto tcp --conns 4 --window 16 --set-ratio 1 --duration 1; then
    t_ok "TCP sets run exits 0"
else
    t_fail "TCP sets run exits 0" "$(lg_report)"
fi
check_run "TCP sets: every set STORED ($(fig sets_per_sec) sets/s), no stream gap" \
    'f["stored"] > 1000 && f["stored"] == f["replies"] && f["bad_replies"] == 0 && f["tcp_gaps"] == 0'
conns=
for _ in $(seq 30); do
    conns=$(dp_stat curr_connections)
    [ "$conns" = 0 ] && break
    sleep 0.1
done
[ "$conns" = 0 ] && t_ok "the loadgen's connections are reset at its end" ||
    t_fail "the loadgen's connections are reset at its end" "curr_connections $conns"

fresh --udp-writes 0
if lg --proto tcp --conns 4 --window 16 --set-ratio 0.1 --zipf 0.99 --duration 1; then
    t_ok "TCP 90/10 mix exits 0"
else
    t_fail "TCP 90/10 mix exits 0" "$(lg_report)"
fi
check_run "TCP mix: gets hit with the right values, sets stored ($(fig ops_per_sec) ops/s)" \
    'f["hits"] > 500 && f["stored"] > 0 && f["misses"] == 0 && f["bad_replies"] == 0 && f["tcp_gaps"] == 0'
fresh
t_ok "every dpcached exited 0 and left nothing behind (else reported above)"

# Kernel sockets against a stock memcached on loopback (the benchmark's other side).
if command -v memcached > /dev/null; then
    port=$("$PYTHON" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    memcached -u "$(id -un)" -l 127.0.0.1 -p "$port" -U "$port" -t 1 -m 32 > "$DP_TMP/mc.log" 2>&1 &
    MC_PID=$!
    for _ in $(seq 50); do
        "$PYTHON" -c "import socket; socket.create_connection(('127.0.0.1', $port))" 2>/dev/null && break
        sleep 0.1
    done
    if timeout 30 "$LOADGEN" --transport kernel --server "127.0.0.1:$port" --keys 2000 \
        --duration 0.5 --warmup 0.1 > "$DP_TMP/lg.out" 2> "$DP_TMP/lg.err"; then
        check_run "kernel UDP against memcached: all hits ($(fig gets_per_sec) gets/s)" \
            'f["hits"] > 100 && f["hit_ratio"] == 1 && f["bad_replies"] == 0'
    else
        t_fail "kernel UDP against memcached" "$(lg_report)"
    fi
    if timeout 30 "$LOADGEN" --transport kernel --proto tcp --server "127.0.0.1:$port" --keys 2000 \
        --conns 4 --window 16 --set-ratio 0.1 --preload 0 --duration 0.5 --warmup 0.1 \
        > "$DP_TMP/lg.out" 2> "$DP_TMP/lg.err"; then
        check_run "kernel TCP mix against memcached: hits and sets ($(fig ops_per_sec) ops/s)" \
            'f["hits"] > 100 && f["stored"] > 0 && f["bad_replies"] == 0'
    else
        t_fail "kernel TCP mix against memcached" "$(lg_report)"
    fi
    stop_pid "$MC_PID"
    MC_PID=
fi
t_done
