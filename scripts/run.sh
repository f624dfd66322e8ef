#!/usr/bin/env bash
# Set up, build and start dpcache's main job on this machine: dpcached on a
# TAP device whose kernel side lives in the network namespace dpcache0
# (dpcached 198.18.0.2/24, the namespace 198.18.0.1/24), and dpcache-ctld with
# a cluster whose pool holds that dpcached and whose gutter pool holds a stock
# memcached (198.18.0.1:11311). Prints how to reach them.
#
#   scripts/run.sh [start]      set up, build, (re)start, show ping and stats
#   scripts/run.sh stop         stop dpcached cleanly, remove the namespace
#   scripts/run.sh status       is it running? (dpcachectl stats)
#
# Options for start:
#   --busy-poll    poll the NIC without pause (a real host's setting; on a
#                  small VM this takes a whole core, so the default here is
#                  --idle-sleep 100)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

NS=dpcache0
IFACE=dpc0
IP=198.18.0.2
PEER_IP=198.18.0.1
RUN_DIR=/run/dpcache
SOCK=$RUN_DIR/dpcached.sock
PIDFILE=$RUN_DIR/dpcached.pid
LOG=$RUN_DIR/dpcached.log
CTL_SOCK=$RUN_DIR/ctld.sock
CTLD_PIDFILE=$RUN_DIR/ctld.pid
GUTTER_PIDFILE=$RUN_DIR/gutter.pid
CTLD=$root/build/control/dpcache-ctld
DPCACHED=$root/build/dataplane/dpcached
DPCACHECTL=$root/build/control/dpcachectl

running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

# stop_pid NAME PIDFILE: SIGTERM the process the file names, then wait for it.
stop_pid() {
    local pid
    [ -f "$2" ] || return 0
    pid=$(cat "$2")
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        echo "run: $1 (pid $pid) stopped"
    fi
    rm -f "$2"
}

stop() {
    stop_pid dpcache-ctld "$CTLD_PIDFILE"
    stop_pid "gutter memcached" "$GUTTER_PIDFILE"
    if running; then
        pid=$(cat "$PIDFILE")
        "$DPCACHECTL" --socket "$SOCK" shutdown >/dev/null 2>&1 || kill -TERM "$pid"
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then
            echo "run: dpcached (pid $pid) did not stop in 10 s; sending SIGKILL" >&2
            kill -KILL "$pid"
        fi
        echo "run: dpcached (pid $pid) stopped"
    fi
    rm -f "$PIDFILE"
    if ip netns list | grep -qw "$NS"; then
        ip netns del "$NS"
        echo "run: namespace $NS removed"
    fi
}

start() {
    local idle=(--idle-sleep 100)
    while [ $# -gt 0 ]; do
        case "$1" in
        --busy-poll) idle=(); shift ;;
        *) echo "run: unknown option '$1' (see --help)" >&2; exit 2 ;;
        esac
    done
    scripts/setup.sh
    scripts/build.sh build
    stop >/dev/null
    mkdir -p "$RUN_DIR"
    ip netns add "$NS"
    ip -n "$NS" link set lo up
    # dpcached runs inside the namespace so that the TAP's kernel side is born there.
    setsid ip netns exec "$NS" "$DPCACHED" -l 0,1 --no-pci --file-prefix dpcache0 \
        --vdev="net_tap0,iface=$IFACE" -- \
        --ip "$IP/24" --admin-socket "$SOCK" "${idle[@]}" > "$LOG" 2>&1 < /dev/null &
    echo $! > "$PIDFILE"
    for _ in $(seq 200); do
        running || { cat "$LOG" >&2; echo "run: dpcached failed to start (log above)" >&2; exit 1; }
        "$DPCACHECTL" --socket "$SOCK" version >/dev/null 2>&1 && break
        sleep 0.1
    done
    ip -n "$NS" addr add "$PEER_IP/24" dev "$IFACE"
    ip -n "$NS" link set "$IFACE" up
    echo "run: dpcached (pid $(cat "$PIDFILE")) is up on $IP, log in $LOG"

    # The control plane, inside the namespace so that it reaches the servers.
    ip netns exec "$NS" memcached -u root -l "$PEER_IP" -p 11311 -U 0 -m 16 \
        > "$RUN_DIR/gutter.log" 2>&1 < /dev/null &
    echo $! > "$GUTTER_PIDFILE"
    rm -f "$RUN_DIR/ctld-state.json"
    setsid ip netns exec "$NS" "$CTLD" --ctl-socket "$CTL_SOCK" \
        --state-file "$RUN_DIR/ctld-state.json" --config-out "$RUN_DIR/config.json" \
        > "$RUN_DIR/ctld.log" 2>&1 < /dev/null &
    echo $! > "$CTLD_PIDFILE"
    for _ in $(seq 100); do [ -S "$CTL_SOCK" ] && break; sleep 0.1; done
    ctl() { "$DPCACHECTL" --ctl-socket "$CTL_SOCK" "$@" >/dev/null; }
    ctl region add demo && ctl cluster add c1 region=demo &&
        ctl pool add main cluster=c1 && ctl pool add gutter cluster=c1 kind=gutter &&
        ctl server add "$IP:11211" pool=main admin="$SOCK" &&
        ctl server add "$PEER_IP:11311" pool=gutter ||
        { cat "$RUN_DIR/ctld.log" >&2; echo "run: dpcache-ctld set-up failed" >&2; exit 1; }
    sleep 1.5 # one probe round
    echo "run: dpcache-ctld (pid $(cat "$CTLD_PIDFILE")) runs cluster c1, log in $RUN_DIR/ctld.log"
    echo
    echo "\$ ip netns exec $NS ping -c 3 $IP"
    ip netns exec "$NS" ping -c 3 -i 0.3 "$IP" || true
    echo
    echo "\$ python3 tests/integration/udp_client.py load $SOCK      # items through the admin socket"
    /usr/bin/python3 tests/integration/udp_client.py load "$SOCK"
    echo "\$ ip netns exec $NS python3 tests/integration/udp_client.py get $IP 11211 v100   # a UDP get"
    ip netns exec "$NS" /usr/bin/python3 tests/integration/udp_client.py get "$IP" 11211 v100 | cut -c1-100
    echo
    echo "\$ ip netns exec $NS memcstat --servers=$IP:11211 | head -5   # a stock client over TCP"
    ip netns exec "$NS" memcstat --servers="$IP:11211" | head -5
    echo
    echo "\$ build/control/dpcachectl --ctl-socket $CTL_SOCK status"
    "$DPCACHECTL" --ctl-socket "$CTL_SOCK" status
    echo
    echo "\$ build/control/dpcachectl --socket $SOCK stats | head"
    "$DPCACHECTL" --socket "$SOCK" stats | head -12
    cat <<EOT

How to reach it:
  ip netns exec $NS ping $IP                    # ICMP echo from the namespace
  ip netns exec $NS arping -I $IFACE $IP          # ARP
  ip netns exec $NS python3 tests/integration/udp_client.py get $IP 11211 v1400  # memcache over UDP
  memcaslap over UDP needs writes over UDP: start with --udp-writes 1
  ip netns exec $NS memccapable -h $IP -p 11211 -a # any memcached client, over TCP
  build/control/dpcachectl --socket $SOCK stats   # counters (also: version, shutdown)
  build/control/dpcachectl --ctl-socket $CTL_SOCK status        # the control plane
  build/control/dpcachectl --ctl-socket $CTL_SOCK route user:42 # where a key goes
  scripts/run.sh stop                             # stop it and remove the namespace
EOT
}

case "${1:-start}" in
start) [ $# -gt 0 ] && shift; start "$@" ;;
stop) stop ;;
status)
    if running; then "$DPCACHECTL" --socket "$SOCK" stats; else echo "run: dpcached is not running"; exit 1; fi ;;
-h|--help) sed -n '2,14s/^# \{0,1\}//p' "$0" ;;
*) echo "run: unknown command '$1' (see --help)" >&2; exit 2 ;;
esac
