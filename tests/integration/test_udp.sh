#!/usr/bin/env bash
# memcache over UDP from the test namespace: items loaded through the admin
# socket, gets and multigets of 0 B to 1 MB checked byte for byte, bad frames
# dropped and counted, writes refused unless --udp-writes 1 (then memcaslap
# runs with verification), and a restart on the same --memory-file that keeps
# every item.
. "$(dirname "$0")/harness.sh"

CLIENT=$(dirname "$0")/udp_client.py
CACHE_FILE=$DP_TMP/cache

start() {
    if dp_start "$@" 2> "$DP_TMP/start.err"; then
        return 0
    fi
    t_fail "dpcached starts ($*)" "$(cat "$DP_TMP/start.err")"
    t_done
}

# counter_delta NAME COMMAND...: how much a stats counter grew while COMMAND ran.
counter_delta() {
    local name=$1 before
    shift
    before=$(dp_stat "$name")
    "$@" > "$DP_TMP/out" 2>&1
    sleep 0.2
    echo $(($(dp_stat "$name") - before))
}

start --memory-file "$CACHE_FILE"
t_check "items of 0 B to 1 MB loaded through the admin socket" \
    "$PYTHON" "$CLIENT" load "$DP_SOCK"
t_check "UDP gets and multigets return every value byte for byte" \
    ns "$PYTHON" "$CLIENT" check "$DP_IP" 11211
hits=$(dp_stat get_hits)
[ "$hits" -ge 30 ] && t_ok "get_hits counts the UDP gets ($hits)" || t_fail "get_hits counts the UDP gets" "$hits"

# A set over UDP is refused (the default: reads only).
out=$(ns "$PYTHON" "$CLIENT" frame "$DP_IP" 11211 \
      "0005000000010000$(printf 'set k 0 0 1\r\nx\r\n' | od -An -tx1 | tr -d ' \n')")
echo "$out" | grep -q "CLIENT_ERROR command not allowed over UDP" &&
    t_ok "set over UDP refused with CLIENT_ERROR" || t_fail "set over UDP refused with CLIENT_ERROR" "$out"

# Broken frames: no reply, counted, and the worker keeps serving.
d=$(counter_delta drop_udp_frame ns "$PYTHON" "$CLIENT" frame "$DP_IP" 11211 00010000)
grep -q "no reply" "$DP_TMP/out" && [ "$d" = 1 ] && t_ok "truncated frame header dropped and counted" ||
    t_fail "truncated frame header dropped and counted" "delta $d" "$(cat "$DP_TMP/out")"
d=$(counter_delta drop_udp_frame ns "$PYTHON" "$CLIENT" frame "$DP_IP" 11211 \
    "000200010002000067657420763130300d0a")
grep -q "no reply" "$DP_TMP/out" && [ "$d" = 1 ] && t_ok "multi-datagram request dropped and counted" ||
    t_fail "multi-datagram request dropped and counted" "delta $d" "$(cat "$DP_TMP/out")"
out=$(ns "$PYTHON" "$CLIENT" get "$DP_IP" 11211 v100)
echo "$out" | grep -q "VALUE v100 100 100" && t_ok "still serving after bad frames" ||
    t_fail "still serving after bad frames" "$out"

# Hot restart: a clean shutdown, then a new dpcached on the same memory file.
dp_ctl shutdown > /dev/null
dp_wait_exit 20
[ "$DP_RC" = 0 ] && t_ok "clean shutdown with a memory file" || t_fail "clean shutdown with a memory file" "exit $DP_RC" "$(cat "$DP_LOG")"
ip netns del "$DP_NS"
start --memory-file "$CACHE_FILE"
grep -q "re-attached" "$DP_LOG" && t_ok "restart re-attaches to the memory file" ||
    t_fail "restart re-attaches to the memory file" "$(cat "$DP_LOG")"
items=$(dp_stat curr_items)
[ "$items" -ge 15 ] && t_ok "curr_items survives the restart ($items)" || t_fail "curr_items survives the restart" "$items"
t_check "every value readable byte for byte after the restart" \
    ns "$PYTHON" "$CLIENT" check "$DP_IP" 11211
dp_ctl shutdown > /dev/null
dp_wait_exit 20
ip netns del "$DP_NS"

# With --udp-writes 1, memcaslap's sets and verified gets all go over UDP.
start --udp-writes 1
out=$(cd "$DP_TMP" && ns timeout 30 memcaslap -s "$DP_IP:11211" -U -t 3s -T 1 -c 4 -X 100 -v 0.2 2>&1)
gets=$(echo "$out" | awk '/^cmd_get:/ {print $2}')
bad=$(echo "$out" | awk '/^verify_failed:/ {print $2}')
if [ "${gets:-0}" -gt 100 ] && [ "$bad" = 0 ]; then
    t_ok "memcaslap --udp: $gets verified gets, 0 verify failures"
else
    t_fail "memcaslap --udp: gets verified" "$out"
fi
dp_ctl shutdown > /dev/null
dp_wait_exit 20
ip netns del "$DP_NS"

# --udp-reply-ratio: "get v100" is 9 bytes plus the frame header; its reply
# fits 20 times that, v1400's does not (an error line instead); at ratio 2 not
# even the error line fits (no reply). Each refusal is counted.
start --udp-reply-ratio 20
"$PYTHON" "$CLIENT" load "$DP_SOCK" > /dev/null
out=$(ns "$PYTHON" "$CLIENT" get "$DP_IP" 11211 v100)
echo "$out" | grep -q "VALUE v100 100 100" && t_ok "ratio 20: a 100-byte value is served" ||
    t_fail "ratio 20: a 100-byte value is served" "$out"
d=$(counter_delta udp_ratio_refused ns "$PYTHON" "$CLIENT" get "$DP_IP" 11211 v1400)
grep -q "SERVER_ERROR reply exceeds the UDP reply ratio" "$DP_TMP/out" && [ "$d" = 1 ] &&
    t_ok "ratio 20: a 1400-byte value refused with SERVER_ERROR, counted" ||
    t_fail "ratio 20: a 1400-byte value refused with SERVER_ERROR, counted" "delta $d" "$(cat "$DP_TMP/out")"
dp_ctl shutdown > /dev/null
dp_wait_exit 20
ip netns del "$DP_NS"
start --udp-reply-ratio 2
"$PYTHON" "$CLIENT" load "$DP_SOCK" > /dev/null
d=$(counter_delta udp_ratio_refused ns "$PYTHON" "$CLIENT" frame "$DP_IP" 11211 \
    "0009000000010000$(printf 'get v100\r\n' | od -An -tx1 | tr -d ' \n')")
grep -q "no reply" "$DP_TMP/out" && [ "$d" = 1 ] &&
    t_ok "ratio 2: not even the error line fits: no reply, counted" ||
    t_fail "ratio 2: not even the error line fits: no reply, counted" "delta $d" "$(cat "$DP_TMP/out")"
dp_ctl shutdown > /dev/null
dp_wait_exit 20
[ "$DP_RC" = 0 ] && t_ok "dpcached exits 0" || t_fail "dpcached exits 0" "exit $DP_RC"
left=$(dp_leftovers)
[ -z "$left" ] && t_ok "nothing left behind" || t_fail "nothing left behind" "$left"
t_done
