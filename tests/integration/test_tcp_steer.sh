#!/usr/bin/env bash
# Software spreading of TCP connections: two workers on a TAP of which only
# one worker polls the RX queues (--rx-queues 1, as on a port without RSS).
# stats says so, connections land on both workers (frames handed over through
# the owner's inbox) and stock clients work, 20 x 1 MB multiget included.
. "$(dirname "$0")/harness.sh"

ROUNDTRIP=$(dirname "$0")/tcp_roundtrip.py
DP_CORES="--lcores 0@0,1@1,2@1"

if ! dp_start --rx-queues 1 2> "$DP_TMP/start.err"; then
    t_fail "dpcached starts with two workers and one polling" "$(cat "$DP_TMP/start.err")"
    t_done
fi
[ "$(dp_stat rx_steering)" = software ] && [ "$(dp_stat rx_polling_workers)" = 1 ] &&
    t_ok "stats: rx_steering software, one polling worker" ||
    t_fail "stats: rx_steering software" "$(dp_ctl stats | grep -E 'rx_|rss')"

t_check "pymemcache over software-spread connections: 0 B to 1 MB, 20 x 1 MB get, 20 clients" \
    ns "$PYTHON" "$ROUNDTRIP" "$DP_IP" 11211 100 --big

w=($(dp_ctl stats | awk '$2 ~ /^worker[0-9]+_tcp_total_connections$/ { print $3 }'))
[ "${#w[@]}" = 2 ] && [ "${w[0]}" -gt 0 ] && [ "${w[1]}" -gt 0 ] &&
    t_ok "connections on both workers (${w[0]} and ${w[1]})" ||
    t_fail "connections on both workers" "${w[*]}"
out=$(dp_ctl stats | awk '$2 ~ /_tcp_handoff_(out|in|dropped)$/ { print $2, $3 }')
handed=$(echo "$out" | awk '$1 ~ /_out$/ { s += $2 } END { print s + 0 }')
took=$(echo "$out" | awk '$1 ~ /_in$/ { s += $2 } END { print s + 0 }')
[ "$handed" -gt 0 ] && [ "$handed" = "$took" ] &&
    t_ok "frames handed to their owner: $handed sent, $took taken" ||
    t_fail "frames handed to their owner" "$out"
out=$(ns memcstat --servers="$DP_IP:11211" 2>&1)
echo "$out" | grep -q curr_items && t_ok "memcstat" || t_fail "memcstat" "$out"

dp_ctl shutdown > /dev/null
dp_wait_exit 20
[ "$DP_RC" = 0 ] && t_ok "dpcached exits 0" || t_fail "dpcached exits 0" "exit $DP_RC" "$(tail -20 "$DP_LOG")"

# The same two workers with every worker polling: the TAP spreads flows itself.
ip netns del "$DP_NS" 2>/dev/null
if dp_start 2> "$DP_TMP/start.err"; then
    [ "$(dp_stat rx_steering)" = rss ] && t_ok "without --rx-queues: rx_steering rss" ||
        t_fail "without --rx-queues: rx_steering rss" "$(dp_ctl stats | grep -E 'rx_|rss')"
    dp_ctl shutdown > /dev/null
    dp_wait_exit 20
else
    t_fail "dpcached starts with two polling workers" "$(cat "$DP_TMP/start.err")"
fi
left=$(dp_leftovers)
[ -z "$left" ] && t_ok "nothing left behind" || t_fail "nothing left behind" "$left"
t_done
