#!/usr/bin/env bash
# dpcached on a TAP in a namespace: ping, arping, drop counters for bad frames
# sent from the namespace, and clean shutdown by dpcachectl and by SIGTERM.
. "$(dirname "$0")/harness.sh"

if ! dp_start 2> "$DP_TMP/start.err"; then
    t_fail "dpcached starts on net_tap0 in namespace $DP_NS" "$(cat "$DP_TMP/start.err")"
    t_done
fi
t_ok "dpcached starts on net_tap0 in namespace $DP_NS"

out=$(ns ping -c 3 -i 0.2 -W 2 "$DP_IP" 2>&1)
if echo "$out" | grep -q '3 packets transmitted, 3 received'; then
    t_ok "ping -c 3 $DP_IP gets 3 replies"
else
    t_fail "ping -c 3 $DP_IP gets 3 replies" "$out"
fi
replies=$(dp_stat icmp_echo_replies)
[ "$replies" = 3 ] && t_ok "icmp_echo_replies is 3" || t_fail "icmp_echo_replies is 3" "got $replies"

mac=$(dp_stat mac | tr 'A-F' 'a-f')
out=$(ns arping -c 1 -w 3 -I "$DP_IF" "$DP_IP" 2>&1)
if echo "$out" | tr 'A-F' 'a-f' | grep -q "from $mac"; then
    t_ok "arping resolves $DP_IP to dpcached's MAC $mac"
else
    t_fail "arping resolves $DP_IP to dpcached's MAC $mac" "$out"
fi
[ "$(dp_stat arp_replies)" -ge 1 ] && t_ok "arp_replies counted" || t_fail "arp_replies counted"

# send KIND COUNTER: a crafted frame from the namespace is dropped under COUNTER.
send_and_expect_drop() {
    local kind=$1 counter=$2 src=${3:-$DP_PEER_IP} before after out
    before=$(dp_stat "$counter")
    tx_before=$(dp_stat tx_packets)
    out=$(ns "$PYTHON" "$(dirname "$0")/send_frame.py" --iface "$DP_IF" --dst-mac "$mac" \
          --src "$src" --dst "$DP_IP" --count 2 "$kind" 2>&1)
    for _ in $(seq 30); do
        after=$(dp_stat "$counter")
        [ "$after" -ge $((before + 2)) ] && break
        sleep 0.1
    done
    if [ "$after" -eq $((before + 2)) ] && [ "$(dp_stat tx_packets)" = "$tx_before" ]; then
        t_ok "$kind frames from $src dropped without reply, counted in $counter"
    else
        t_fail "$kind frames from $src dropped without reply, counted in $counter" \
            "$counter $before -> $after" "$out"
    fi
}
send_and_expect_drop udp-bad-ip-checksum drop_bad_checksum
send_and_expect_drop ip-options drop_ip_options
send_and_expect_drop fragment drop_ip_fragment
send_and_expect_drop truncated-udp drop_truncated
send_and_expect_drop gre drop_unknown_protocol
send_and_expect_drop udp-unserved-port drop_no_service
send_and_expect_drop udp drop_udp_refused 198.19.7.7
send_and_expect_drop udp-bad-length drop_bad_udp_length

# The kernel ARPs for .3: dpcached must stay quiet and count it.
before=$(dp_stat drop_not_for_us)
out=$(ns ping -c 1 -W 2 198.18.0.3 2>&1)
after=$(dp_stat drop_not_for_us)
if echo "$out" | grep -q '0 received' && [ "$after" -gt "$before" ]; then
    t_ok "no answer for another address in the subnet, counted in drop_not_for_us"
else
    t_fail "no answer for another address in the subnet, counted in drop_not_for_us" \
        "drop_not_for_us $before -> $after" "$out"
fi

out=$(dp_ctl stats)
missing=""
for s in pid uptime version workers port0_ipackets port0_opackets rx_packets tx_packets \
         drop_bad_checksum drop_not_for_us drop_truncated drop_ip_options drop_ip_fragment \
         drop_unknown_protocol worker1_rx_packets; do
    echo "$out" | grep -q "^STAT $s " || missing="$missing $s"
done
[ -z "$missing" ] && t_ok "stats has server, port, summed and per-worker counters" ||
    t_fail "stats has server, port, summed and per-worker counters" "missing:$missing"
[ "$(dp_stat pid)" = "$DP_PID" ] && t_ok "stats pid is dpcached's" || t_fail "stats pid is dpcached's"
v=$(dp_ctl version)
[ "$v" = "VERSION $("$DPCACHED" -- --version | awk '{print $2}')" ] &&
    t_ok "version answers VERSION x.y.z" || t_fail "version answers VERSION x.y.z" "$v"
if command -v dpdk-telemetry.py >/dev/null; then
    out=$(echo /dpcache/stats | dpdk-telemetry.py -f "$DP_ID" 2>&1)
    if echo "$out" | grep -q "\"icmp_echo_replies\": 3" && echo "$out" | grep -q '"drop_bad_checksum": 2'; then
        t_ok "dpdk-telemetry.py shows /dpcache/stats"
    else
        t_fail "dpdk-telemetry.py shows /dpcache/stats" "$out"
    fi
else
    t_fail "dpdk-telemetry.py shows /dpcache/stats" "dpdk-telemetry.py missing (package dpdk-dev)"
fi
mode=$(stat -c %a "$DP_SOCK")
[ "$mode" = 660 ] && t_ok "admin socket mode is 0660" || t_fail "admin socket mode is 0660" "$mode"

out=$(dp_ctl shutdown)
[ "$out" = OK ] && t_ok "dpcachectl shutdown answers OK" || t_fail "dpcachectl shutdown answers OK" "$out"
dp_wait_exit 10
[ "$DP_RC" = 0 ] && t_ok "dpcached exits 0 after shutdown" ||
    t_fail "dpcached exits 0 after shutdown" "exit: $DP_RC" "$(cat "$DP_LOG")"
left=$(dp_leftovers)
[ -z "$left" ] && t_ok "nothing left behind after shutdown" || t_fail "nothing left behind after shutdown" "$left"
ip netns del "$DP_NS"

# Again, stopped by SIGTERM this time.
if ! dp_start 2> "$DP_TMP/start.err"; then
    t_fail "dpcached restarts" "$(cat "$DP_TMP/start.err")"
    t_done
fi
kill -TERM "$DP_PID"
dp_wait_exit 10
[ "$DP_RC" = 0 ] && t_ok "dpcached exits 0 on SIGTERM" ||
    t_fail "dpcached exits 0 on SIGTERM" "exit: $DP_RC" "$(cat "$DP_LOG")"
left=$(dp_leftovers)
[ -z "$left" ] && t_ok "nothing left behind after SIGTERM" || t_fail "nothing left behind after SIGTERM" "$left"
t_done
