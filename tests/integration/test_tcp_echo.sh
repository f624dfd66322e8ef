#!/usr/bin/env bash
# The TCP engine (dataplane/tcp) against the Linux TCP: tcp_echo runs on a
# TAP whose kernel side is in a namespace; Python clients there send and read
# back. Byte-exact echoes of 1 MB, 20 connections at once, the same under
# loss/reordering/duplication (retransmits counted), all-SYN-cookie
# handshakes, a SYN flood while clients are served, an idle timeout, a client that never reads (bounded mbufs,
# others still served), a refused port.
#
#   test_tcp_echo.sh TCP_ECHO_BINARY
#
# Namespace, TAP, EAL prefix and cleanup follow harness.sh (which this sources).
. "$(dirname "$0")/harness.sh"

ECHO_BIN=${1:?usage: test_tcp_echo.sh TCP_ECHO_BINARY}
CLIENT=$(dirname "$0")/tcp_client.py
STATS=$DP_TMP/tcp.stats

# echo_start [tcp_echo options]: (re)start tcp_echo in the namespace.
echo_start() {
    local i
    echo_stop
    ip netns list | grep -qw "$DP_NS" || ip netns add "$DP_NS" || return 1
    ip -n "$DP_NS" link set lo up
    rm -f "$STATS"
    ip netns exec "$DP_NS" "$ECHO_BIN" -l 0 --no-pci --no-huge -m 256 --no-shconf \
        --no-telemetry --file-prefix "$DP_ID" --vdev="net_tap0,iface=$DP_IF" --log-level=error -- \
        --ip "$DP_IP/24" --stats "$STATS" "$@" > "$DP_LOG" 2>&1 &
    DP_PID=$!
    for i in $(seq 200); do
        if ! kill -0 "$DP_PID" 2>/dev/null; then
            echo "tcp_echo exited during start-up:" >&2; cat "$DP_LOG" >&2
            return 1
        fi
        if [ -e "$STATS" ] && ip -n "$DP_NS" link show "$DP_IF" >/dev/null 2>&1; then
            ip -n "$DP_NS" addr add "$DP_PEER_IP/24" dev "$DP_IF" &&
            ip -n "$DP_NS" link set "$DP_IF" up
            return $?
        fi
        sleep 0.1
    done
    echo "tcp_echo did not start in 20 s" >&2; cat "$DP_LOG" >&2
    return 1
}

echo_stop() {
    local i
    [ -n "$DP_PID" ] || return 0
    kill -TERM "$DP_PID" 2>/dev/null
    for i in $(seq 50); do kill -0 "$DP_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$DP_PID" 2>/dev/null
    wait "$DP_PID" 2>/dev/null
    DP_PID=
}

stat() { awk -v n="$1" '$1 == n { print $2 }' "$STATS"; }

# The stats file is rewritten every 100 ms: let it catch up before reading.
settle() { sleep 0.3; }

# wait_stat NAME VALUE: until the counter equals VALUE (5 s at most).
wait_stat() {
    local i
    for i in $(seq 50); do [ "$(stat "$1")" = "$2" ] && return 0; sleep 0.1; done
    return 1
}

client() { ns "$PYTHON" "$CLIENT" "$@"; }

if ! echo_start 2> "$DP_TMP/start.err"; then
    t_fail "tcp_echo starts on net_tap0 in namespace $DP_NS" "$(cat "$DP_TMP/start.err")"
    t_done
fi
t_ok "tcp_echo starts on net_tap0 in namespace $DP_NS"

t_check "one connection: 1 MB echoed byte-exact" client echo --conns 1 --bytes 1048576
t_check "20 connections at once: 256 KB each, byte-exact" client echo --conns 20 --bytes 262144
t_check "empty connection: open and close" client echo --conns 1 --bytes 0
t_check "closed port refused with RST" client refused --port 80
if wait_stat curr_connections 0; then
    t_ok "every connection closed (curr_connections 0)"
else
    t_fail "every connection closed (curr_connections 0)" "$(cat "$STATS")"
fi
settle
[ "$(stat total_connections)" -ge 22 ] && t_ok "total_connections counted" ||
    t_fail "total_connections counted" "$(stat total_connections)"
[ "$(stat drop_bad_checksum)" = 0 ] && t_ok "no checksum failures with the Linux peer" ||
    t_fail "no checksum failures with the Linux peer" "$(stat drop_bad_checksum)"

# A client that never reads, while others are served.
base=$(stat mbufs_in_use)
client noread --bytes $((10 << 20)) --secs 4 > "$DP_TMP/noread.out" 2>&1 &
noread=$!
sleep 1
t_check "others are served while a client never reads" client echo --conns 4 --bytes 65536
settle
peak=$(stat mbufs_in_use)
wait "$noread"
accepted=$(head -1 "$DP_TMP/noread.out")
if [ "${accepted:-0}" -lt $((10 << 20)) ] && [ $((peak - base)) -lt 600 ]; then
    t_ok "a client that never reads is held back (sent $accepted of 10 MB; $((peak - base)) more mbufs in use)"
else
    t_fail "a client that never reads is held back" "accepted $accepted, mbufs $peak"
fi

# A SYN flood from an address nobody answers for, while clients keep working.
client flood --count 3000 --pace 0.01 > "$DP_TMP/flood.out" 2>&1 &
flood=$!
sleep 0.5
t_check "echo works during a SYN flood (4 connections x 64 KB)" client echo --conns 4 --bytes 65536
wait "$flood"
settle
if [ "$(stat syn_cookies_sent)" -gt 0 ] && [ "$(stat half_open)" -le 256 ]; then
    t_ok "SYN flood: syn_cookies_sent $(stat syn_cookies_sent), half_open $(stat half_open) (backlog 256)"
else
    t_fail "SYN flood answered with cookies" "$(cat "$DP_TMP/flood.out" "$STATS")"
fi

# Loss, reordering and duplication in both directions (tcp_echo does it:
# this kernel may lack netem).
ip netns del "$DP_NS" 2>/dev/null
if echo_start --loss 5 --reorder 5 --dup 1 2> "$DP_TMP/start.err"; then
    t_check "5% loss, 5% reordering, 1% duplication: 20 connections x 128 KB byte-exact" \
        client echo --conns 20 --bytes 131072 --timeout 120
    settle
    [ "$(stat retransmits)" -gt 0 ] && [ "$(stat rto_expired)" -ge 0 ] &&
        t_ok "retransmits $(stat retransmits) (fast $(stat fast_retransmits), RTO $(stat rto_expired))" ||
        t_fail "retransmits counted under loss" "$(cat "$STATS")"
    [ "$(stat ooo_segments)" -gt 0 ] && t_ok "out-of-order segments held: $(stat ooo_segments)" ||
        t_fail "out-of-order segments held" "$(cat "$STATS")"
    [ "$(stat dup_segments)" -gt 0 ] && t_ok "duplicates recognised: $(stat dup_segments)" ||
        t_fail "duplicates recognised" "$(cat "$STATS")"
    [ "$(stat timeouts)" = 0 ] && [ "$(stat resets_received)" = 0 ] &&
        t_ok "no connection reset or timed out under loss" ||
        t_fail "no connection reset or timed out under loss" "$(cat "$STATS")"
else
    t_fail "tcp_echo restarts with --loss" "$(cat "$DP_TMP/start.err")"
fi

# Every handshake through SYN cookies; payload copied into single mbufs.
ip netns del "$DP_NS" 2>/dev/null
if echo_start --syn-backlog 0 --copy 2> "$DP_TMP/start.err"; then
    t_check "SYN cookies only: 8 connections x 256 KB byte-exact" \
        client echo --conns 8 --bytes 262144
    settle
    [ "$(stat syn_cookies_ok)" -ge 8 ] && [ "$(stat half_open)" = 0 ] &&
        t_ok "syn_cookies_sent $(stat syn_cookies_sent), syn_cookies_ok $(stat syn_cookies_ok)" ||
        t_fail "connections made from cookies" "$(cat "$STATS")"
else
    t_fail "tcp_echo restarts with --syn-backlog 0" "$(cat "$DP_TMP/start.err")"
fi

# Idle timeout.
ip netns del "$DP_NS" 2>/dev/null
if echo_start --idle-ms 1000 2> "$DP_TMP/start.err"; then
    t_check "an idle connection is closed by the server" client idle --wait 5
    wait_stat idle_timeouts 1 && t_ok "idle_timeouts 1" ||
        t_fail "idle_timeouts 1" "$(stat idle_timeouts)"
else
    t_fail "tcp_echo restarts with --idle-ms" "$(cat "$DP_TMP/start.err")"
fi

echo_stop
[ -z "$(dp_leftovers)" ] && t_ok "nothing left behind" || t_fail "nothing left behind" "$(dp_leftovers)"
t_done
