#!/usr/bin/env bash
# memcache over dpcached's own TCP, from the test namespace with stock clients:
# libmemcached's memccapable -a and tools, pymemcache from 0 B to 1 MB and 20
# pipelining clients, then the same under tc netem loss, reordering and
# duplication (retransmissions must happen, no value may differ).
. "$(dirname "$0")/harness.sh"

ROUNDTRIP=$(dirname "$0")/tcp_roundtrip.py

if ! dp_start 2> "$DP_TMP/start.err"; then
    t_fail "dpcached starts" "$(cat "$DP_TMP/start.err")"
    t_done
fi

out=$(cd "$DP_TMP" && ns timeout 120 memccapable -h "$DP_IP" -p 11211 -a 2>&1)
echo "$out" | grep -q "All tests passed" && t_ok "memccapable -a: every ASCII test passes" ||
    t_fail "memccapable -a: every ASCII test passes" "$out"

t_check "pymemcache: 0 B to 1 MB, a 20 x 1 MB multiget, cas, incr, delete, 20 pipelining clients" \
    ns "$PYTHON" "$ROUNDTRIP" "$DP_IP" 11211 200 --big

# stats subcommands over TCP, as memcached answers them.
stats_of() {
    ns "$PYTHON" -c "
import socket, sys
s = socket.create_connection(('$DP_IP', 11211), 5)
s.sendall(b'stats $1\r\n'); b = b''
while not b.endswith(b'END\r\n'):
    d = s.recv(65536)
    if not d: break
    b += d
sys.stdout.write(b.decode())"
}
out=$(stats_of settings)
echo "$out" | grep -q "^STAT maxbytes 67108864" && echo "$out" | grep -q "^STAT tcpport 11211" &&
    echo "$out" | grep -q "^STAT item_size_max 1048576" &&
    t_ok "stats settings: maxbytes, tcpport, item_size_max" || t_fail "stats settings" "$out"
out=$(stats_of slabs)
echo "$out" | grep -Eq "^STAT [0-9]+:chunk_size [0-9]+" && echo "$out" | grep -Eq "^STAT active_slabs [1-9]" &&
    t_ok "stats slabs: per-class lines and active_slabs" || t_fail "stats slabs" "$out"
out=$(stats_of items)
echo "$out" | grep -Eq "^STAT items:[0-9]+:number [1-9]" &&
    t_ok "stats items: per-class item counts" || t_fail "stats items" "$out"

# stats conns: memcached's lines for each connection, shaped as memcached's own.
CONNS=$(dirname "$0")/stats_conns.py
ip netns exec "$DP_NS" memcached -u root -l 127.0.0.1 -p 11311 -U 11311 > "$DP_TMP/memcached.log" 2>&1 &
MC_PID=$!
trap 'kill "$MC_PID" 2>/dev/null; dp_cleanup' EXIT
ns "$PYTHON" "$CONNS" "$DP_IP" 11211 > "$DP_TMP/conns.dp" 2> "$DP_TMP/conns.dp.raw"
rc=$?
[ "$rc" = 0 ] && t_ok "stats conns lists this connection (conn_parse_cmd) and an idle one" ||
    t_fail "stats conns lists this connection and an idle one" "$(cat "$DP_TMP/conns.dp.raw")"
for _ in $(seq 50); do ns "$PYTHON" -c "import socket; socket.create_connection(('127.0.0.1', 11311), 1)" 2>/dev/null && break; sleep 0.1; done
ns "$PYTHON" "$CONNS" 127.0.0.1 11311 > "$DP_TMP/conns.mc" 2> "$DP_TMP/conns.mc.raw"
kill "$MC_PID" 2>/dev/null; wait "$MC_PID" 2>/dev/null
out=$(diff "$DP_TMP/conns.mc" "$DP_TMP/conns.dp")
[ -z "$out" ] && t_ok "stats conns: the same kinds of lines as memcached $(memcached -V | cut -d' ' -f2)" ||
    t_fail "stats conns: the same kinds of lines as memcached" "$out" "$(cat "$DP_TMP/conns.dp.raw")"

# libmemcached's tools.
S="--servers=$DP_IP:11211"
head -c 300000 /dev/urandom > "$DP_TMP/blob"
(cd "$DP_TMP" && ns memccp "$S" blob) > "$DP_TMP/out" 2>&1
ns memccat "$S" blob > "$DP_TMP/blob.back" 2>> "$DP_TMP/out"
# memccat ends the value with a newline of its own.
head -c 300000 "$DP_TMP/blob.back" | cmp -s "$DP_TMP/blob" - &&
    [ "$(stat -c %s "$DP_TMP/blob.back")" = 300001 ] && t_ok "memccp then memccat: 300 KB byte for byte" ||
    t_fail "memccp then memccat: 300 KB byte for byte" "$(cat "$DP_TMP/out")"
out=$(ns memcstat "$S" 2>&1)
echo "$out" | grep -q "curr_items" && t_ok "memcstat shows the server's stats" || t_fail "memcstat shows the server's stats" "$out"
ns memcrm "$S" blob > "$DP_TMP/out" 2>&1
out=$(ns memccat "$S" blob 2>&1)
[ -z "$(ns memccat "$S" blob 2>/dev/null)" ] && t_ok "memcrm removes the item" || t_fail "memcrm removes the item" "$out"
ns memcflush "$S" > "$DP_TMP/out" 2>&1 && [ "$(dp_stat curr_items)" -ge 0 ] &&
    out=$(ns "$PYTHON" -c "
from pymemcache.client.base import Client
print(Client(('$DP_IP', 11211)).get('t100'))")
[ "$out" = None ] && t_ok "memcflush empties the cache" || t_fail "memcflush empties the cache" "$out" "$(cat "$DP_TMP/out")"

# The lossy link (5% loss, 5% reordering, 1% duplication) is test_tcp_netem.sh.
# A client that pipelines 10 MB of gets and never reads: memory stays bounded.
ABUSE=$(dirname "$0")/tcp_abuse.py
ip netns exec "$DP_NS" timeout 60 "$PYTHON" "$ABUSE" nonreader "$DP_IP" 11211 10 4 \
    > "$DP_TMP/nonreader" 2>&1 &
nonreader=$!
for _ in $(seq 200); do grep -q "nonreader:" "$DP_TMP/nonreader" && break; sleep 0.1; done
# Sampled while the peer still holds its unread replies.
in_use=$(dp_stat mbuf_pool_in_use)
size=$(dp_stat mbuf_pool_size)
wait "$nonreader"
rc=$?
[ "$rc" = 0 ] && t_ok "a peer that never reads: $(cat "$DP_TMP/nonreader")" ||
    t_fail "a peer that never reads its replies: other clients still served" "$(cat "$DP_TMP/nonreader")"
[ "$in_use" -lt $((size * 3 / 4)) ] && t_ok "mbufs in use stay bounded meanwhile ($in_use of $size)" ||
    t_fail "mbufs in use stay bounded meanwhile" "$in_use of $size"

# A SYN flood from the namespace while an established client keeps working.
if command -v hping3 >/dev/null; then
    ip netns exec "$DP_NS" timeout 30 "$PYTHON" "$ABUSE" steady "$DP_IP" 11211 6 \
        > "$DP_TMP/steady" 2>&1 &
    steady=$!
    sleep 0.5
    ns timeout 20 hping3 -q -S -p 11211 -i u100 -c 20000 --rand-source "$DP_IP" \
        > "$DP_TMP/hping" 2>&1
    wait "$steady"
    rc=$?
    [ "$rc" = 0 ] && t_ok "during a SYN flood: $(cat "$DP_TMP/steady")" ||
        t_fail "an established client works during a SYN flood" "$(cat "$DP_TMP/steady")"
    cookies=$(dp_stat tcp_syn_cookies_sent)
    [ "$cookies" -gt 0 ] && t_ok "SYN cookies sent under the flood ($cookies)" ||
        t_fail "SYN cookies sent under the flood" "$cookies" "$(cat "$DP_TMP/hping")"
else
    t_fail "SYN flood test" "hping3 missing (scripts/setup.sh installs it)"
fi

resets=$(dp_stat tcp_resets_sent)
echo "# tcp_resets_sent $resets, tcp_fast_retransmits $(dp_stat tcp_fast_retransmits), tcp_ooo_segments $(dp_stat tcp_ooo_segments)"

dp_ctl shutdown > /dev/null
dp_wait_exit 20
[ "$DP_RC" = 0 ] && t_ok "dpcached exits 0" || t_fail "dpcached exits 0" "exit $DP_RC" "$(tail -20 "$DP_LOG")"
left=$(dp_leftovers)
[ -z "$left" ] && t_ok "nothing left behind" || t_fail "nothing left behind" "$left"
t_done
