#!/usr/bin/env bash
# Per-partition UDP ports (--udp-port-base): two workers, one port per
# partition; the client computes a key's partition as the store does (checked
# against the per-partition item counts), every key is served on its owner's
# port and on the other one (lock-free reads), `stats` says which steering is
# in force, and bad ranges are refused naming the flag.
. "$(dirname "$0")/harness.sh"

HELPER=$(dirname "$0")/udp_ports.py
BASE=12000
KEYS=200
export PYTHONPATH=$(dirname "$0")
DP_CORES="--lcores 0@0,1@1,2@1"   # two workers on a 2-core machine (they idle-sleep)

if ! dp_start --udp-port-base $BASE 2> "$DP_TMP/start.err"; then
    t_fail "dpcached starts with two workers and --udp-port-base" "$(cat "$DP_TMP/start.err")"
    t_done
fi
t_ok "dpcached starts with two workers and --udp-port-base"
[ "$(dp_stat udp_port_base)" = $BASE ] && [ "$(dp_stat udp_partition_ports)" = 2 ] &&
    t_ok "stats: udp_port_base $BASE, udp_partition_ports 2" ||
    t_fail "stats: udp_port_base and udp_partition_ports" "$(dp_ctl stats | grep udp_)"
steer=$(dp_stat udp_steering)
case $steer in
flow | none) t_ok "stats: udp_steering $steer (the port decides)" ;;
*) t_fail "stats: udp_steering is flow or none" "$steer" ;;
esac

t_check "$KEYS keys set through the admin socket" "$PYTHON" "$HELPER" load "$DP_SOCK" $KEYS
want=$("$PYTHON" - "$KEYS" <<'PYEOF'
import sys
from udp_ports import partition
n = int(sys.argv[1])
c = [0, 0]
for i in range(n):
    c[partition(b"p%d" % i, 2)] += 1
print(*c)
PYEOF
)
got="$(dp_stat partition0_curr_items) $(dp_stat partition1_curr_items)"
[ "$want" = "$got" ] && t_ok "the client's partition function matches the store's ($got)" ||
    t_fail "the client's partition function matches the store's" "client $want, store $got"
t_check "every key served byte for byte on its owner's port and on the other" \
    ns "$PYTHON" "$HELPER" check "$DP_IP" $BASE 2 $KEYS
t_check "port 11211 still serves" ns "$PYTHON" "$HELPER" check "$DP_IP" 11211 1 20

# With rte_flow, port BASE+i reaches worker i's queue: the owner's RX counter
# grows by the flood, the other worker's does not.
if [ "$steer" = flow ]; then
    w=($(dp_ctl stats | awk '$2 ~ /^worker[0-9]+_rx_packets$/ { print $2 }'))
    a0=$(dp_stat "${w[0]}"); b0=$(dp_stat "${w[1]}")
    ns "$PYTHON" "$HELPER" flood "$DP_IP" $((BASE + 1)) 300 > /dev/null
    a1=$(dp_stat "${w[0]}"); b1=$(dp_stat "${w[1]}")
    [ $((b1 - b0)) -ge 300 ] && [ $((a1 - a0)) -lt 50 ] &&
        t_ok "rte_flow steers port $((BASE + 1)) to the second worker" ||
        t_fail "rte_flow steers port $((BASE + 1)) to the second worker" \
            "first +$((a1 - a0)), second +$((b1 - b0))"
fi
dp_ctl shutdown > /dev/null
dp_wait_exit 20
[ "$DP_RC" = 0 ] && t_ok "clean shutdown (steering rules removed)" ||
    t_fail "clean shutdown" "exit $DP_RC" "$(cat "$DP_LOG")"
ip netns del "$DP_NS"

# One worker: the partition port is the owner's by construction.
DP_CORES="-l 0,1"
if dp_start --udp-port-base $BASE 2> "$DP_TMP/start.err"; then
    [ "$(dp_stat udp_steering)" = single ] && t_ok "one worker: udp_steering single" ||
        t_fail "one worker: udp_steering single" "$(dp_stat udp_steering)"
    "$PYTHON" "$HELPER" load "$DP_SOCK" 20 > /dev/null
    t_check "one worker: its partition port serves" \
        ns "$PYTHON" "$HELPER" check "$DP_IP" $BASE 1 20
    dp_ctl shutdown > /dev/null
    dp_wait_exit 20
else
    t_fail "dpcached starts with one worker and --udp-port-base" "$(cat "$DP_TMP/start.err")"
fi
ip netns del "$DP_NS" 2>/dev/null

# Ranges that cannot work are refused, naming the flag.
eal=(--lcores 0@0,1@1,2@1 --no-pci --file-prefix "$DP_ID" --no-huge -m 256 --vdev=net_null0)
for bad in "65535:do not fit below 65536" "11210:include the -U port"; do
    out=$("$DPCACHED" "${eal[@]}" -- --ip 198.18.0.2/24 --admin-socket "$DP_TMP/x.sock" \
          --udp-port-base "${bad%%:*}" 2>&1)
    rc=$?
    [ $rc = 1 ] && echo "$out" | grep -q -- "--udp-port-base: .*${bad#*:}" &&
        t_ok "--udp-port-base ${bad%%:*} refused: ${bad#*:}" ||
        t_fail "--udp-port-base ${bad%%:*} refused: ${bad#*:}" "rc $rc" "$out"
done
t_done
