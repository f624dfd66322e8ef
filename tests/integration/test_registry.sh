#!/usr/bin/env bash
# dpcached --zk: while it runs, an ephemeral node ROOT/servers/IP:PORT (what
# dpcache-ctld watches) exists in ZooKeeper; after a clean shutdown it is gone.
# ZooKeeper (Debian's zookeeperd) runs inside the test's namespace on its
# loopback, with its own data directory, and is killed by PID at the end.
. "$(dirname "$0")/harness.sh"

if ! command -v java >/dev/null || [ ! -r "$ZK_JAR" ]; then
    echo "1..0 # SKIP zookeeperd is not installed (scripts/setup.sh installs it)"
    exit 0
fi
ZK_PID=
trap '[ -n "$ZK_PID" ] && kill "$ZK_PID" 2>/dev/null && wait "$ZK_PID" 2>/dev/null; dp_cleanup' EXIT
ROOT=/dpt-registry
NODE=$ROOT/servers/$DP_IP:11211

zkcli() {
    ip netns exec "$DP_NS" java -cp "$DP_TMP/zk:$ZK_JAR" org.apache.zookeeper.ZooKeeperMain \
        -server 127.0.0.1:2181 -timeout 5000 "$@" 2>&1
}

if ! dp_start --zk 127.0.0.1:2181 --zk-root "$ROOT" 2> "$DP_TMP/start.err"; then
    t_fail "dpcached starts with --zk" "$(cat "$DP_TMP/start.err")"
    t_done
fi
t_ok "dpcached starts before ZooKeeper is up (it keeps trying)"

zk_start 2181 "$DP_NS"

for _ in $(seq 300); do grep -q "zk: registered $NODE" "$DP_LOG" && break; sleep 0.1; done
grep -q "zk: registered $NODE" "$DP_LOG" && t_ok "dpcached registers $NODE" ||
    t_fail "dpcached registers $NODE" "$(tail -5 "$DP_LOG")" "$(tail -5 "$DP_TMP/zk/out.log")"
out=$(zkcli ls "$ROOT/servers")
echo "$out" | grep -q "\[$DP_IP:11211\]" && t_ok "the node is in ZooKeeper" || t_fail "the node is in ZooKeeper" "$out"
out=$(zkcli stat "$NODE")
echo "$out" | grep -Eq "ephemeralOwner = 0x[0-9a-f]*[1-9a-f]" && t_ok "the node is ephemeral" ||
    t_fail "the node is ephemeral" "$out"
out=$(zkcli get "$NODE")
echo "$out" | grep -q "\"admin\":\"$DP_SOCK\"" && t_ok "its data names the admin socket" ||
    t_fail "its data names the admin socket" "$out"

dp_ctl shutdown > /dev/null
dp_wait_exit 20
[ "$DP_RC" = 0 ] && t_ok "dpcached exits 0" || t_fail "dpcached exits 0" "exit $DP_RC" "$(tail -5 "$DP_LOG")"
out=$(zkcli ls "$ROOT/servers")
echo "$out" | grep -q "^\[\]" && t_ok "after a clean shutdown the node is gone at once" ||
    t_fail "after a clean shutdown the node is gone at once" "$out"
t_done
