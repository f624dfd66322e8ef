#!/usr/bin/env bash
# The protocol differential test over the wire: the same scripted session
# (tests/integration/proto_session.txt) to stock memcached and to dpcached over
# its own TCP, from inside the test namespace; replies diffed with only CAS
# values, versions and timing stats normalised.
. "$(dirname "$0")/harness.sh"

DIFF=$DPCACHE_BUILD/tests/integration/proto_diff
SESSION=$DPCACHE_SRC/tests/integration/proto_session.txt
MC_PID=

stop_memcached() { [ -n "$MC_PID" ] && kill "$MC_PID" 2>/dev/null && wait "$MC_PID" 2>/dev/null; MC_PID=; }
trap 'stop_memcached; dp_cleanup' EXIT

if ! dp_start 2> "$DP_TMP/start.err"; then
    t_fail "dpcached starts" "$(cat "$DP_TMP/start.err")"
    t_done
fi
# memcached inside the namespace too, so that one client reaches both.
# (ip netns exec execs memcached: $! is memcached's own PID.)
# No LRU maintainer or crawler, as in test_proto_diff.sh (incr padding would depend on timing).
ip netns exec "$DP_NS" memcached -u root -l 127.0.0.1 -p 11311 -U 0 -o no_lru_maintainer,no_lru_crawler > "$DP_TMP/memcached.log" 2>&1 &
MC_PID=$!
for _ in $(seq 50); do
    ns "$PYTHON" -c "import socket; socket.create_connection(('127.0.0.1', 11311), 1)" 2>/dev/null && break
    sleep 0.1
done
# proto_diff prints the TAP lines itself; it owns the numbering.
ns "$DIFF" 11311 "$SESSION" "$DP_IP:11211"
rc=$?
stop_memcached
exit $rc
