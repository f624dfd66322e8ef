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
DP_PIDS=()                          # dp_spawn_n: instance N's PID at index N

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

# dp_stop_pids PID...: SIGTERM (and SIGCONT, for a test that stopped one), up
# to 5 s for all of them together, then SIGKILL; reaps them.
dp_stop_pids() {
    local p i alive
    for p in "$@"; do kill -TERM "$p" 2>/dev/null; kill -CONT "$p" 2>/dev/null; done
    for i in $(seq 50); do
        alive=0
        for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
        [ "$alive" -eq 0 ] && break
        sleep 0.1
    done
    for p in "$@"; do
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    return 0
}

dp_cleanup() {
    local n
    [ -n "$DP_PID" ] && dp_stop_pids "$DP_PID"
    # shellcheck disable=SC2046
    dp_stop_pids $(printf '%s\n' "${DP_PIDS[@]}" | grep -v '^$')
    ip netns del "$DP_NS" 2>/dev/null
    rm -rf "/var/run/dpdk/$DP_ID" /dev/hugepages/"$DP_ID"* "$DP_TMP"
    for n in "${!DP_PIDS[@]}"; do rm -rf "/var/run/dpdk/$(dp_n_id "$n")"; done
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

# Several dpcached at once, all in the test's namespace. Instance N (1..99)
# has its own TAP (named like its EAL file prefix, dp_n_id N) and its own /24:
# dpcached is 198.18.N.2, the kernel side 198.18.N.1; admin socket
# $DP_TMP/admin-N.sock, log $DP_TMP/dpcached-N.log. dp_spawn_n starts one
# without waiting (so that several start in parallel), dp_ready_n waits for it
# and brings its TAP up. A stopped instance starts again with the same address.
# PIDs are in DP_PIDS[N]; dp_cleanup stops them all.
dp_n_id() { echo "${DP_ID}n$1"; }
dp_n_ip() { echo "198.18.$1.2"; }
dp_n_sock() { echo "$DP_TMP/admin-$1.sock"; }
dp_n_log() { echo "$DP_TMP/dpcached-$1.log"; }
dp_n_ctl() {
    local n=$1
    shift
    "$DPCACHECTL" --socket "$(dp_n_sock "$n")" --timeout 3000 "$@"
}

# dp_spawn_n N [dpcached options after --]. Call it in this shell, not in $().
dp_spawn_n() {
    local n=$1 id i
    shift
    id=$(dp_n_id "$n")
    if [ ! -e "/var/run/netns/$DP_NS" ]; then
        ip netns add "$DP_NS" || return 1
        ip -n "$DP_NS" link set lo up
    fi
    # A stopped instance's TAP goes with its process: wait until it has.
    for i in $(seq 100); do
        ip -n "$DP_NS" link show "$id" >/dev/null 2>&1 || break
        sleep 0.1
    done
    # shellcheck disable=SC2086
    ip netns exec "$DP_NS" "$DPCACHED" ${DP_CORES:--l 0,1} --no-pci --file-prefix "$id" \
        --vdev="net_tap0,iface=$id" -- \
        --ip "$(dp_n_ip "$n")/24" --admin-socket "$(dp_n_sock "$n")" --idle-sleep 100 "$@" \
        >> "$(dp_n_log "$n")" 2>&1 &
    DP_PIDS[n]=$!
}

# dp_ready_n N: wait (30 s at most) until instance N answers on its admin
# socket, then give its TAP's kernel side 198.18.N.1/24 and bring it up.
dp_ready_n() {
    local n=$1 id pid i
    id=$(dp_n_id "$n")
    pid=${DP_PIDS[n]}
    for i in $(seq 300); do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "dpcached $n exited during start-up:" >&2; tail -n 20 "$(dp_n_log "$n")" >&2
            return 1
        fi
        if ip -n "$DP_NS" link show "$id" >/dev/null 2>&1 &&
           dp_n_ctl "$n" version >/dev/null 2>&1; then
            ip -n "$DP_NS" addr add "198.18.$n.1/24" dev "$id" &&
            ip -n "$DP_NS" link set "$id" up
            return $?
        fi
        sleep 0.1
    done
    echo "dpcached $n did not become ready in 30 s:" >&2; tail -n 20 "$(dp_n_log "$n")" >&2
    return 1
}

dp_start_n() { dp_spawn_n "$@" && dp_ready_n "$1"; }

# dp_kill_n N: SIGKILL instance N (a crash: nothing is cleaned up) and reap it.
dp_kill_n() {
    local pid=${DP_PIDS[$1]}
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    DP_PIDS[$1]=
    return 0
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
