#!/usr/bin/env bash
# --idle-sleep: an idle worker waits for its queue's RX interrupt where the
# port has them (net_tap), so a long sleep costs no latency and no CPU; where
# the port has none (net_null) it sleeps between polls; without the flag it
# busy-polls. `stats` names the mode.
. "$(dirname "$0")/harness.sh"

# cpu_ticks PID: user + system time so far, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

if ! dp_start --idle-sleep 100000 2> "$DP_TMP/start.err"; then
    t_fail "dpcached starts with --idle-sleep 100000" "$(cat "$DP_TMP/start.err")"
    t_done
fi
t_ok "dpcached starts with --idle-sleep 100000 (100 ms)"
mode=$(dp_stat idle_mode)
[ "$mode" = interrupt ] && t_ok "stats: idle_mode interrupt on net_tap" ||
    t_fail "stats: idle_mode interrupt on net_tap" "$mode"

# Sleeping 100 ms between polls would delay about half of these pings by
# more than 25 ms; waiting for the interrupt answers each at once. Up to 3
# slow ones are allowed: a machine loaded by other work delays a few pings
# on its own (seen: 2 of 15 over 25 ms at load average 6).
ns ping -c 1 -W 2 "$DP_IP" > /dev/null 2>&1   # ARP settled
sleep 0.3
out=$(ns ping -c 15 -i 0.23 -W 2 "$DP_IP" 2>&1)
slow=$(echo "$out" | grep -o 'time=[0-9.]*' | cut -d= -f2 | awk '$1 > 25 { n++ } END { print n + 0 }')
got=$(echo "$out" | grep -c 'time=')
[ "$got" = 15 ] && [ "$slow" -le 3 ] && t_ok "15 pings answered, $slow over 25 ms (interrupt wakes the worker)" ||
    t_fail "15 pings answered, at most 3 over 25 ms" "$out"
t_check "UDP gets served while idle-waiting" \
    bash -c "'$PYTHON' '$(dirname "$0")/udp_client.py' load '$DP_SOCK' > /dev/null &&
             ip netns exec '$DP_NS' '$PYTHON' '$(dirname "$0")/udp_client.py' check '$DP_IP' 11211"
a=$(cpu_ticks "$DP_PID"); sleep 3; b=$(cpu_ticks "$DP_PID")
hz=$(getconf CLK_TCK)
[ $((b - a)) -le $((hz * 3 / 10)) ] && t_ok "idle for 3 s: $((b - a)) ticks of CPU (at most 10%)" ||
    t_fail "idle for 3 s costs at most 10% CPU" "$((b - a)) ticks at $hz/s"
dp_ctl shutdown > /dev/null
dp_wait_exit 20
[ "$DP_RC" = 0 ] && t_ok "clean shutdown" || t_fail "clean shutdown" "exit $DP_RC"

# A port without RX interrupts sleeps; no --idle-sleep busy-polls.
for case in "sleep:--idle-sleep 1000" "busy:"; do
    want=${case%%:*}
    sock=$DP_TMP/null-$want.sock
    # shellcheck disable=SC2086
    "$DPCACHED" -l 0,1 --no-pci --file-prefix "$DP_ID" --no-huge -m 256 --vdev=net_null0 -- \
        --ip 198.18.0.2/24 --admin-socket "$sock" ${case#*:} > "$DP_TMP/null.log" 2>&1 &
    DP_PID=$!
    for _ in $(seq 100); do
        "$DPCACHECTL" --socket "$sock" version > /dev/null 2>&1 && break
        sleep 0.1
    done
    mode=$("$DPCACHECTL" --socket "$sock" stats 2>&1 | awk '$2 == "idle_mode" { print $3 }')
    [ "$mode" = "$want" ] && t_ok "net_null ${case#*:}: idle_mode $want" ||
        t_fail "net_null ${case#*:}: idle_mode $want" "$mode" "$(cat "$DP_TMP/null.log")"
    "$DPCACHECTL" --socket "$sock" shutdown > /dev/null 2>&1
    dp_wait_exit 20
done
t_done
