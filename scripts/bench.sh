#!/usr/bin/env bash
# Benchmarks. Each subcommand prints its figures as `name value` lines, the
# headline figures last.
#
#   scripts/bench.sh store [--limit-mb N] [--keys N] [--seconds S]
#   scripts/bench.sh udp [--requests N] [--runs N] [--seconds S] [--only instructions|throughput]
#   scripts/bench.sh tcp [--runs N] [--seconds S] [--only instructions|throughput]
#
#   store   the store alone, one thread: set and get ops/s (1M keys, 32-byte
#           values), then items held at the first eviction by the store and
#           by stock memcached (same -m, -f 1.25, -n 48, one thread) filled
#           with the same keys and value-size mix; prints
#           `store_get_mops N` and `items_ratio_vs_memcached R` last.
#
#   udp     throughput: dpcached with one worker (lcore 1) served by
#           dpcache-loadgen over net_memif (lcore 0), and stock memcached
#           -t 1 (pinned to CPU 1) by the same loadgen over kernel UDP on
#           loopback (CPU 0), both -m 64: 100,000 keys of 32 B, 100 B values,
#           gets at a uniform and a Zipf(0.99) popularity, 128 outstanding;
#           --runs (5) alternating pairs of --seconds (2) runs, a fresh
#           dpcached for each of its runs; medians. Then instructions per UDP
#           get (hit, 1 key of 32 B, 100 B value) on the server's own path,
#           counted by callgrind through worker_handle and worker_udp_drain
#           (the requests a burst leaves in the UDP pipeline): dpcached replays a
#           capture of N gets with net_pcap under --no-huge, and a baseline
#           run replays it with UDP off (-U 0, the frames still parsed and
#           dropped). Prints `instructions_per_get N` (served minus
#           baseline, per request) and `udp_get_ratio_vs_memcached R` (the
#           median ratio of the pairs, the lower of uniform and Zipf) last.
#
#   tcp     the same two set-ups over TCP: 8 connections, 32 requests
#           pipelined on each; sets/s, and ops/s of a 90/10 get/set mix
#           (Zipf 0.99, keys preloaded); medians of --runs runs. Then
#           instructions per TCP set on the server's own path, counted by
#           callgrind in tests/bench/bench_tcp_set (the engine, the service,
#           the executor and the store in-process; the same connections,
#           requests and segments, 51,200 sets after a preload), printed as
#           the comment `# instructions_per_tcp_set N`; then
#           `tcp_set_ratio_vs_memcached R` and `tcp_mixed_ratio_vs_memcached R`
#           last. --only instructions|throughput runs one part.
#
# Builds into build-bench/ (release, link-time optimisation, -march=native);
# callgrind counts use build-callgrind/ (release, link-time optimisation,
# baseline x86-64).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=build-bench
# callgrind runs a baseline x86-64 build: valgrind does not know every
# instruction -march=native may pick (AVX-512).
BUILD_CG=build-callgrind

# The benchmark builds are release builds with link-time optimisation (the
# UDP get path crosses files: worker, net, service, store); an older build
# directory is brought to that.
lto_on() {
    grep -q '^b_lto = true' "$1/meson-private/cmd_line.txt" 2>/dev/null ||
        meson configure "$1" -Db_lto=true >/dev/null
}

build() {
    if [ ! -f "$BUILD/build.ninja" ]; then
        meson setup "$BUILD" -Dbuildtype=release -Db_lto=true -Dnative=true >/dev/null
    fi
    lto_on "$BUILD"
    ninja -C "$BUILD" "$@" >/dev/null
}

# cg_build TARGETS...: the callgrind build (with the tests/bench programs).
cg_build() {
    if [ ! -f "$BUILD_CG/build.ninja" ]; then
        meson setup "$BUILD_CG" -Dbuildtype=release -Db_lto=true >/dev/null
    elif grep -q '^tests = false' "$BUILD_CG/meson-private/cmd_line.txt" 2>/dev/null; then
        meson configure "$BUILD_CG" -Dtests=true >/dev/null
    fi
    lto_on "$BUILD_CG"
    ninja -C "$BUILD_CG" "$@" >/dev/null
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

bench_store() {
    local limit_mb=64 args=()
    while [ $# -gt 0 ]; do
        case "$1" in
        --limit-mb) limit_mb=$2; args+=("$1" "$2"); shift 2 ;;
        --keys|--seconds) args+=("$1" "$2"); shift 2 ;;
        *) echo "bench: store: unknown option '$1'" >&2; exit 2 ;;
        esac
    done
    command -v memcached >/dev/null || { echo "bench: memcached is not installed (apt-get install memcached)" >&2; exit 1; }
    build tests/bench/bench_store
    local port pid
    port=$(free_port)
    memcached -u "$(id -un)" -l 127.0.0.1 -p "$port" -U 0 -t 1 -m "$limit_mb" -f 1.25 -n 48 &
    pid=$!
    trap 'kill "$pid" 2>/dev/null || true' EXIT
    for _ in $(seq 50); do
        python3 -c "import socket; socket.create_connection(('127.0.0.1', $port))" 2>/dev/null && break
        sleep 0.1
    done
    echo "# memcached $(memcached -V | cut -d' ' -f2) -m $limit_mb -t 1 -f 1.25 -n 48 on port $port"
    "$BUILD/tests/bench/bench_store" --memcached "$port" "${args[@]}"
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    trap - EXIT
}

# callgrind_run PCAP N DPCACHED_OPTIONS...: instructions through worker_handle
# and worker_udp_drain while dpcached replays PCAP (N+1 frames), printed as
# one number. --fair-sched=yes: otherwise the polling worker can keep the
# admin thread from running, and the stats below never come.
callgrind_run() {
    local pcap=$1 frames=$(($2 + 1)) dir pid rx=0
    shift 2
    dir=$(mktemp -d /tmp/dpcache-bench.XXXXXX)
    valgrind --tool=callgrind --fair-sched=yes --toggle-collect=worker_handle \
        --toggle-collect=worker_udp_drain \
        --callgrind-out-file="$dir/cg.out" "$BUILD_CG/dataplane/dpcached" -l 0,1 --no-pci \
        --no-huge -m 256 --file-prefix "dpbench$$" \
        --vdev="net_pcap0,rx_pcap=$pcap,tx_pcap=$dir/tx.pcap" -- --ip 198.18.0.2/24 \
        --mac 02:00:00:00:00:02 --admin-socket "$dir/admin.sock" "$@" > "$dir/log" 2>&1 &
    pid=$!
    for _ in $(seq 600); do
        rx=$("$BUILD_CG/control/dpcachectl" --socket "$dir/admin.sock" stats 2>/dev/null |
             awk '$2 == "rx_packets" { print $3 }')
        [ "${rx:-0}" -ge "$frames" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.5
    done
    "$BUILD_CG/control/dpcachectl" --socket "$dir/admin.sock" shutdown >/dev/null 2>&1 || kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null || true
    if [ "${rx:-0}" -lt "$frames" ]; then
        rm -rf "/var/run/dpdk/dpbench$$"
        echo "bench: dpcached saw ${rx:-0} of $frames frames (log: $dir/log)" >&2
        exit 1
    fi
    callgrind_annotate "$dir/cg.out" | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }'
    rm -rf "$dir" "/var/run/dpdk/dpbench$$"
}

# --- Throughput: dpcached over net_memif against memcached over loopback ---
#
# Two cores: dpcached's main lcore and the loadgen share CPU 0, dpcached's one
# worker has CPU 1; memcached (every thread) is pinned to CPU 1 and the
# loadgen in kernel mode to CPU 0. Runs alternate (dpcached, memcached,
# dpcached, ...), so a burst of load from other work on this shared machine
# hits both alike, and each pair gives a ratio; medians are printed.
# memcached stays up (idle between its runs); dpcached is started for each
# run (and preloads its keys) and stopped after it, before the loadgen
# leaves: its polling worker never competes with memcached, and no datapath
# polls memif memory while a departing peer's is unmapped (DPDK 22.11's
# net_memif can crash the side that stays; docs/BENCHMARKS.md).

LG=$BUILD/tests/bench/loadgen/dpcache-loadgen
TP_DIR=
TP_DP_PID=
TP_MC_PID=
TP_LG_PID=
TP_PREFIX=dpbench-tp$$
TP_MC_PORT=
TP_DP_OPTS=()

tp_kill() {
    local pid=$1 i
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

tp_cleanup() {
    tp_kill "$TP_DP_PID"
    tp_kill "$TP_LG_PID"
    tp_kill "$TP_MC_PID"
    TP_DP_PID= TP_LG_PID= TP_MC_PID=
    rm -rf "/var/run/dpdk/$TP_PREFIX-s" "/var/run/dpdk/$TP_PREFIX-c"
    [ -n "$TP_DIR" ] && rm -rf "$TP_DIR"
    TP_DIR=
}

# tp_start [dpcached options]: memcached up and ready; the options kept for
# every dpcached run; the loadgen built.
tp_start() {
    command -v memcached >/dev/null || { echo "bench: memcached is not installed" >&2; exit 1; }
    build dataplane/dpcached control/dpcachectl tests/bench/loadgen/dpcache-loadgen
    TP_DIR=$(mktemp -d /tmp/dpcache-bench.XXXXXX)
    trap 'tp_cleanup' EXIT
    TP_DP_OPTS=("$@")
    TP_MC_PORT=$(free_port)
    taskset -c 1 memcached -u "$(id -un)" -l 127.0.0.1 -t 1 -m 64 -p "$TP_MC_PORT" \
        -U "$TP_MC_PORT" > "$TP_DIR/memcached.log" 2>&1 &
    TP_MC_PID=$!
    for _ in $(seq 50); do
        python3 -c "import socket; socket.create_connection(('127.0.0.1', $TP_MC_PORT))" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "bench: memcached did not start:" >&2
    cat "$TP_DIR/memcached.log" >&2
    exit 1
}

tp_stop() {
    tp_cleanup
    trap - EXIT
}

# dpcached with one worker on lcore 1, a memif server port; ready when this returns.
tp_dpcached_start() {
    rm -f "$TP_DIR/admin.sock" "$TP_DIR/memif.sock"
    "$BUILD/dataplane/dpcached" -l 0,1 --no-pci --file-prefix "$TP_PREFIX-s" \
        --vdev="net_memif0,role=server,socket=$TP_DIR/memif.sock,socket-abstract=no" -- \
        --ip 198.18.0.2/24 --mac 02:00:00:00:00:02 --admin-socket "$TP_DIR/admin.sock" \
        -m 64 "${TP_DP_OPTS[@]}" > "$TP_DIR/dpcached.log" 2>&1 &
    TP_DP_PID=$!
    for _ in $(seq 200); do
        "$BUILD/control/dpcachectl" --socket "$TP_DIR/admin.sock" stats > "$TP_DIR/dp.stats0" 2>/dev/null &&
            return 0
        kill -0 "$TP_DP_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "bench: dpcached did not start:" >&2
    cat "$TP_DIR/dpcached.log" >&2
    exit 1
}

# Stops dpcached. If it died of SIGSEGV, says so: net_memif can crash the
# worker when the loadgen disconnects (docs/BENCHMARKS.md); the run's figures
# were taken before.
tp_dpcached_stop() {
    local rc=0
    "$BUILD/control/dpcachectl" --socket "$TP_DIR/admin.sock" shutdown >/dev/null 2>&1 || true
    for _ in $(seq 100); do kill -0 "$TP_DP_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$TP_DP_PID" 2>/dev/null || true
    wait "$TP_DP_PID" 2>/dev/null || rc=$?
    TP_DP_PID=
    [ "$rc" = 139 ] && echo "bench: note: dpcached crashed (SIGSEGV) as the loadgen left (net_memif)" >&2
    return 0
}

# lg_memif OPTIONS: the loadgen on lcore 0 as the memif client; prints its output.
#
# The loadgen lingers after its report until dpcached has shut down (workers
# first, then the port), so neither side's datapath polls memif memory that
# the other's departure unmaps: this prints the report once its last line
# (run_status) is there, stops dpcached, then reaps the loadgen.
lg_memif() {
    local i
    rm -f "$TP_DIR/lg.out"
    "$LG" -l 0 --no-pci --in-memory --file-prefix "$TP_PREFIX-c" \
        --vdev="net_memif0,role=client,socket=$TP_DIR/memif.sock,socket-abstract=no" -- \
        --server 198.18.0.2:11211 --ip 198.18.0.1 --linger 30 "$@" \
        > "$TP_DIR/lg.out" 2> "$TP_DIR/lg.err" &
    TP_LG_PID=$!
    for i in $(seq 1800); do
        grep -q '^run_status ' "$TP_DIR/lg.out" 2>/dev/null && break
        kill -0 "$TP_LG_PID" 2>/dev/null || break
        sleep 0.1
    done
    "$BUILD/control/dpcachectl" --socket "$TP_DIR/admin.sock" stats > "$TP_DIR/dp.stats1" 2>/dev/null || true
    tp_dpcached_stop
    for i in $(seq 50); do kill -0 "$TP_LG_PID" 2>/dev/null || break; sleep 0.1; done
    tp_kill "$TP_LG_PID"
    TP_LG_PID=
    cat "$TP_DIR/lg.out"
}

lg_kernel() {
    taskset -c 0 "$LG" --transport kernel --server "127.0.0.1:$TP_MC_PORT" "$@" 2> "$TP_DIR/lg.err"
}

# lg_figure NAME OUTPUT: one figure of a loadgen run; a failed run ends the bench.
lg_figure() {
    local v
    v=$(echo "$2" | awk -v n="$1" '$1 == n { print $2 }')
    if [ -z "$v" ] || ! echo "$2" | grep -q '^bad_replies 0$' ||
       ! echo "$2" | grep -Eq '^(exit_status 0|run_status ok)$'; then
        echo "bench: the load generator failed:" >&2
        echo "$2" | sed 's/^/  /' >&2
        sed 's/^/  /' "$TP_DIR/lg.err" >&2
        exit 1
    fi
    echo "$v"
}

# The share of the last dpcached run's worker loop time (from its start to the
# loadgen's report) spent on loops that received frames, in percent.
dp_busy() {
    awk '$2 ~ /^worker[0-9]+_(busy|idle)_cycles$/ {
             v = (FILENAME ~ /stats1$/) ? $3 : -$3
             if ($2 ~ /busy/) b += v; else i += v
         }
         END { printf "%.0f\n", (b + i > 0 ? 100 * b / (b + i) : 0) }' \
        "$TP_DIR/dp.stats0" "$TP_DIR/dp.stats1" 2>/dev/null || echo "?"
}

median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f\n", (b > 0 ? a / b : 0) }'; }
lower() { awk -v a="$1" -v b="$2" 'BEGIN { print (a < b ? a : b) }'; }

# tp_pairs FIGURE RUNS OPTIONS...: RUNS alternating runs of the loadgen against
# a fresh dpcached (which it preloads) and memcached (preloaded once)
# with the same options; sets TP_DP, TP_MC, TP_RATIO, TP_BUSY
# (space-separated lists) and TP_LAST_DP, TP_LAST_MC (the last outputs).
tp_pairs() {
    local figure=$1 runs=$2 r out dp mc
    shift 2
    TP_DP= TP_MC= TP_RATIO= TP_BUSY=
    for r in $(seq "$runs"); do
        tp_dpcached_start
        lg_memif "$@" --preload 1 > "$TP_DIR/dp.out"
        out=$(cat "$TP_DIR/dp.out")
        dp=$(lg_figure "$figure" "$out")
        TP_BUSY+=" $(dp_busy)%"
        TP_LAST_DP=$out
        out=$(lg_kernel "$@" --preload 0; echo "exit_status $?")
        mc=$(lg_figure "$figure" "$out")
        TP_LAST_MC=$out
        TP_DP+=" $dp" TP_MC+=" $mc" TP_RATIO+=" $(ratio "$dp" "$mc")"
    done
}

# tp_summary LABEL: the runs of the last tp_pairs as comment lines.
tp_summary() {
    echo "# $1: dpcached:$TP_DP"
    echo "# $1: memcached:$TP_MC"
    echo "# $1: ratios:$TP_RATIO"
    echo "# $1: dpcached worker busy (loops that received frames, preload and warm-up included):$TP_BUSY"
    echo "$TP_LAST_DP" | awk -v l="$1" '/^(hit_ratio|latency_p50_us|latency_p99_us|lost) / { print "#   " l ", last dpcached run: " $0 }'
    echo "$TP_LAST_MC" | awk -v l="$1" '/^(hit_ratio|latency_p50_us|latency_p99_us|lost) / { print "#   " l ", last memcached run: " $0 }'
}

UDP_RATIO=
UDP_LG_OPTS=(--keys 100000 --key-len 32 --value-len 100 --window 128 --warmup 0.5)

bench_udp_throughput() {
    local runs=$1 secs=$2 out ru rz
    tp_start --udp-writes 1
    echo "# dpcached 1 worker (net_memif, lcore 1), memcached $(memcached -V | cut -d' ' -f2) -t 1 (kernel UDP, loopback, CPU 1); loadgen on CPU 0"
    out=$(lg_kernel "${UDP_LG_OPTS[@]}" --preload 1 --duration 0.2; echo "exit_status $?")
    lg_figure replies "$out" > /dev/null

    tp_pairs gets_per_sec "$runs" "${UDP_LG_OPTS[@]}" --duration "$secs"
    tp_summary "uniform gets/s"
    echo "udp_gets_per_sec_dpcached_uniform $(echo "$TP_DP" | median)"
    echo "udp_gets_per_sec_memcached_uniform $(echo "$TP_MC" | median)"
    ru=$(echo "$TP_RATIO" | median)
    tp_pairs gets_per_sec "$runs" "${UDP_LG_OPTS[@]}" --duration "$secs" --zipf 0.99
    tp_summary "zipf(0.99) gets/s"
    echo "udp_gets_per_sec_dpcached_zipf $(echo "$TP_DP" | median)"
    echo "udp_gets_per_sec_memcached_zipf $(echo "$TP_MC" | median)"
    rz=$(echo "$TP_RATIO" | median)
    tp_stop
    echo "udp_get_ratio_vs_memcached_uniform $ru"
    echo "udp_get_ratio_vs_memcached_zipf $rz"
    UDP_RATIO=$(lower "$ru" "$rz")
}

TCP_LG_OPTS=(--proto tcp --keys 100000 --key-len 32 --value-len 100 --conns 8 --window 32 --warmup 0.5)

# Instructions per TCP set through bench_measured() in bench_tcp_set (see
# its header): callgrind's total over the sets it ran, printed as one number.
tcp_set_instructions() {
    local dir total sets
    command -v valgrind >/dev/null || { echo "bench: valgrind is not installed" >&2; exit 1; }
    cg_build tests/bench/bench_tcp_set
    dir=$(mktemp -d /tmp/dpcache-bench.XXXXXX)
    if ! valgrind --tool=callgrind --toggle-collect=bench_measured \
        --callgrind-out-file="$dir/cg.out" "$BUILD_CG/tests/bench/bench_tcp_set" \
        > "$dir/out" 2> "$dir/err"; then
        echo "bench: bench_tcp_set failed:" >&2
        grep -v '^==' "$dir/err" >&2
        rm -rf "$dir"
        exit 1
    fi
    sets=$(awk '$1 == "sets" { print $2 }' "$dir/out")
    total=$(callgrind_annotate "$dir/cg.out" | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
    rm -rf "$dir"
    echo $((total / sets))
}

bench_tcp() {
    local runs=5 secs=2 only= insns
    while [ $# -gt 0 ]; do
        case "$1" in
        --runs) runs=$2; shift 2 ;;
        --seconds) secs=$2; shift 2 ;;
        --only) only=$2; shift 2 ;;
        *) echo "bench: tcp: unknown option '$1'" >&2; exit 2 ;;
        esac
    done
    case "$only" in
    ""|instructions|throughput) ;;
    *) echo "bench: tcp: --only instructions|throughput" >&2; exit 2 ;;
    esac
    [ "$only" != instructions ] && bench_tcp_throughput "$runs" "$secs"
    if [ "$only" != throughput ]; then
        insns=$(tcp_set_instructions)
        echo "# instructions_per_tcp_set $insns"
    fi
    [ "$only" = instructions ] && return 0
    echo "tcp_set_ratio_vs_memcached $TCP_SET_RATIO"
    echo "tcp_mixed_ratio_vs_memcached $TCP_MIXED_RATIO"
}

TCP_SET_RATIO=
TCP_MIXED_RATIO=

bench_tcp_throughput() {
    local runs=$1 secs=$2 out
    tp_start
    echo "# dpcached 1 worker (TCP over net_memif, lcore 1), memcached $(memcached -V | cut -d' ' -f2) -t 1 (kernel TCP, loopback, CPU 1); loadgen on CPU 0"
    out=$(lg_kernel "${TCP_LG_OPTS[@]}" --preload 1 --duration 0.2; echo "exit_status $?")
    lg_figure replies "$out" > /dev/null

    tp_pairs sets_per_sec "$runs" "${TCP_LG_OPTS[@]}" --duration "$secs" --set-ratio 1
    tp_summary "sets/s"
    echo "tcp_sets_per_sec_dpcached $(echo "$TP_DP" | median)"
    echo "tcp_sets_per_sec_memcached $(echo "$TP_MC" | median)"
    TCP_SET_RATIO=$(echo "$TP_RATIO" | median)
    tp_pairs ops_per_sec "$runs" "${TCP_LG_OPTS[@]}" --duration "$secs" \
        --set-ratio 0.1 --zipf 0.99
    tp_summary "90/10 mix ops/s"
    echo "tcp_mixed_ops_per_sec_dpcached $(echo "$TP_DP" | median)"
    echo "tcp_mixed_ops_per_sec_memcached $(echo "$TP_MC" | median)"
    TCP_MIXED_RATIO=$(echo "$TP_RATIO" | median)
    tp_stop
}

bench_udp() {
    local n=20000 runs=5 secs=2 only=
    while [ $# -gt 0 ]; do
        case "$1" in
        --requests) n=$2; shift 2 ;;
        --runs) runs=$2; shift 2 ;;
        --seconds) secs=$2; shift 2 ;;
        --only) only=$2; shift 2 ;;
        *) echo "bench: udp: unknown option '$1'" >&2; exit 2 ;;
        esac
    done
    case "$only" in
    ""|instructions|throughput) ;;
    *) echo "bench: udp: --only instructions|throughput" >&2; exit 2 ;;
    esac
    [ "$only" != instructions ] && bench_udp_throughput "$runs" "$secs"
    if [ "$only" = throughput ]; then
        echo "udp_get_ratio_vs_memcached $UDP_RATIO"
        return 0
    fi
    command -v valgrind >/dev/null || { echo "bench: valgrind is not installed" >&2; exit 1; }
    cg_build dataplane/dpcached control/dpcachectl
    local pcap served baseline
    pcap=$(mktemp /tmp/dpcache-bench.XXXXXX.pcap)
    # shellcheck disable=SC2064 # the name now: $pcap is local, gone when the trap runs
    trap "rm -f '$pcap'" EXIT
    /usr/bin/python3 tests/bench/gen_udp_pcap.py "$pcap" "$n" --key-len 32 --value-len 100
    served=$(callgrind_run "$pcap" "$n" --udp-writes 1)
    baseline=$(callgrind_run "$pcap" "$n" -U 0)
    rm -f "$pcap"
    trap - EXIT
    echo "# $n gets of one 32-byte key (100-byte value) replayed by net_pcap, one worker"
    echo "instructions_served_total $served"
    echo "instructions_baseline_total $baseline"
    echo "instructions_per_frame_served $((served / (n + 1)))"
    echo "instructions_per_frame_baseline $((baseline / (n + 1)))"
    echo "instructions_per_get $(((served - baseline) / (n + 1)))"
    [ -n "$UDP_RATIO" ] && echo "udp_get_ratio_vs_memcached $UDP_RATIO"
    return 0
}

usage() { sed -n '2,42s/^# \{0,1\}//p' "$0"; }

what=${1:-}
[ $# -gt 0 ] && shift
case "$what" in
store) bench_store "$@" ;;
udp) bench_udp "$@" ;;
tcp) bench_tcp "$@" ;;
-h|--help|"") usage ;;
*) echo "bench: unknown benchmark '$what' (see --help)" >&2; exit 2 ;;
esac
