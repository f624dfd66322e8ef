# Integration test harness (sourced by tests/integration/test_*.sh).
#
# dp_start creates a network namespace, starts dpcached inside it on
# --vdev=net_tap0 (so the TAP's kernel side lives in the namespace), gives the
# kernel side 198.18.0.1/24 (dpcached is 198.18.0.2/24) and waits until the
# admin socket answers. Everything the test made is removed on exit, pass or
# fail: the process (by PID), the namespace, the socket, EAL's runtime
# directory and any hugepage file with the test's prefix.
#
# Results are TAP: t_ok / t_fail / t_check print `ok N - ...` lines and t_done
# prints the plan and exits non-zero if anything failed.

set -u

: "${DPCACHE_BUILD:?DPCACHE_BUILD must name the build directory (meson sets it)}"
DPCACHED=$DPCACHE_BUILD/dataplane/dpcached
DPCACHECTL=$DPCACHE_BUILD/control/dpcachectl
PYTHON=/usr/bin/python3

DP_ID=dpt$$                         # namespace, TAP, EAL file prefix
DP_NS=$DP_ID
DP_IF=$DP_ID
DP_IP=198.18.0.2
DP_PEER_IP=198.18.0.1
DP_TMP=$(mktemp -d /tmp/dpcache-it.XXXXXX)
DP_SOCK=$DP_TMP/admin.sock
DP_LOG=$DP_TMP/dpcached.log
DP_PID=

t_n=0
t_failed=0

t_ok() { t_n=$((t_n + 1)); echo "ok $t_n - $*"; }
t_fail() {
    t_n=$((t_n + 1)); t_failed=$((t_failed + 1))
    echo "not ok $t_n - $1"
    shift
    [ $# -gt 0 ] && printf '%s\n' "$@" | sed 's/^/# /'
    return 0
}
# t_check DESCRIPTION COMMAND...: ok if the command succeeds.
t_check() {
    local desc=$1 out
    shift
    if out=$("$@" 2>&1); then t_ok "$desc"; else t_fail "$desc" "$out"; fi
}
t_done() {
    echo "1..$t_n"
    [ "$t_failed" -eq 0 ]
    exit $?
}

# In the namespace, as the peer of dpcached.
ns() { ip netns exec "$DP_NS" "$@"; }

dp_ctl() { "$DPCACHECTL" --socket "$DP_SOCK" --timeout 3000 "$@"; }

# dp_stat NAME: one value from `dpcachectl stats`.
dp_stat() { dp_ctl stats | awk -v n="$1" '$1 == "STAT" && $2 == n { print $3; found = 1 } END { exit !found }'; }

dp_cleanup() {
    local i
    if [ -n "$DP_PID" ] && kill -0 "$DP_PID" 2>/dev/null; then
        kill -TERM "$DP_PID" 2>/dev/null
        for i in $(seq 50); do kill -0 "$DP_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$DP_PID" 2>/dev/null
        wait "$DP_PID" 2>/dev/null
    fi
    ip netns del "$DP_NS" 2>/dev/null
    rm -rf "/var/run/dpdk/$DP_ID" /dev/hugepages/"$DP_ID"* "$DP_TMP"
    return 0
}
trap 'dp_cleanup' EXIT
trap 'exit 130' INT TERM

# dp_start [dpcached options after --]: returns non-zero (log on stderr) on
# failure. Call it in this shell, not in $(): it sets DP_PID.
dp_start() {
    local i
    ip netns add "$DP_NS" || return 1
    ip -n "$DP_NS" link set lo up
    # DP_CORES: the EAL's lcore option (default one worker; e.g.
    # DP_CORES="--lcores 0@0,1@1,2@1" for two workers on this 2-core machine).
    # shellcheck disable=SC2086
    ip netns exec "$DP_NS" "$DPCACHED" ${DP_CORES:--l 0,1} --no-pci --file-prefix "$DP_ID" \
        --vdev="net_tap0,iface=$DP_IF" -- \
        --ip "$DP_IP/24" --admin-socket "$DP_SOCK" --idle-sleep 100 "$@" \
        > "$DP_LOG" 2>&1 &
    DP_PID=$!
    for i in $(seq 200); do
        if ! kill -0 "$DP_PID" 2>/dev/null; then
            echo "dpcached exited during start-up:" >&2; cat "$DP_LOG" >&2
            return 1
        fi
        if ip -n "$DP_NS" link show "$DP_IF" >/dev/null 2>&1 &&
           dp_ctl version >/dev/null 2>&1; then
            ip -n "$DP_NS" addr add "$DP_PEER_IP/24" dev "$DP_IF" &&
            ip -n "$DP_NS" link set "$DP_IF" up
            return $?
        fi
        sleep 0.1
    done
    echo "dpcached did not become ready in 20 s:" >&2; cat "$DP_LOG" >&2
    return 1
}

# dp_wait_exit SECONDS: wait for dpcached to exit; its exit status goes to
# DP_RC ("timeout" if it is still running). Call it in this shell, not in $().
dp_wait_exit() {
    local i
    DP_RC=timeout
    for i in $(seq $(($1 * 10))); do
        kill -0 "$DP_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$DP_PID" 2>/dev/null && return 1
    wait "$DP_PID"
    DP_RC=$?
    DP_PID=
}

# dp_leftovers: prints whatever the stopped dpcached left behind.
dp_leftovers() {
    [ -e "$DP_SOCK" ] && echo "admin socket $DP_SOCK"
    [ -e "/var/run/dpdk/$DP_ID" ] && echo "runtime dir /var/run/dpdk/$DP_ID"
    ls /dev/hugepages/ 2>/dev/null | grep "^$DP_ID" | sed 's/^/hugepage file /'
    return 0
}

# zk_start PORT [NETNS]: a ZooKeeper of the test's own on 127.0.0.1:PORT (in
# NETNS if given), data in $DP_TMP/zk; sets ZK_PID (java's own PID: ip netns
# exec execs it). The caller kills it by that PID.
ZK_JAR=/usr/share/java/zookeeper.jar
zk_start() {
    local port=$1 wrap=()
    [ $# -gt 1 ] && wrap=(ip netns exec "$2")
    mkdir -p "$DP_TMP/zk/data"
    cat > "$DP_TMP/zk/zoo.cfg" <<EOT
tickTime=500
initLimit=10
syncLimit=5
dataDir=$DP_TMP/zk/data
clientPort=$port
clientPortAddress=127.0.0.1
maxSessionTimeout=60000
admin.enableServer=false
4lw.commands.whitelist=ruok
EOT
    cp /etc/zookeeper/conf/log4j.properties "$DP_TMP/zk/" 2>/dev/null
    "${wrap[@]}" java -Xmx256m -Dzookeeper.log.dir="$DP_TMP/zk" \
        -Dzookeeper.root.logger=WARN,CONSOLE -cp "$DP_TMP/zk:$ZK_JAR" \
        org.apache.zookeeper.server.quorum.QuorumPeerMain "$DP_TMP/zk/zoo.cfg" \
        > "$DP_TMP/zk/out.log" 2>&1 &
    ZK_PID=$!
}
