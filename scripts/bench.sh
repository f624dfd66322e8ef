#!/usr/bin/env bash
# Benchmarks. Each subcommand prints its figures as `name value` lines, the
# headline figures last.
#
#   scripts/bench.sh store [--limit-mb N] [--keys N] [--seconds S]
#   scripts/bench.sh udp [--requests N]
#
#   store   the store alone, one thread: set and get ops/s (1M keys, 32-byte
#           values), then items held at the first eviction by the store and
#           by stock memcached (same -m, -f 1.25, -n 48, one thread) filled
#           with the same keys and value-size mix; prints
#           `store_get_mops N` and `items_ratio_vs_memcached R` last.
#
#   udp     instructions per UDP get (hit, 1 key of 32 B, 100 B value) on the
#           server's own path, counted by callgrind through worker_handle:
#           dpcached replays a capture of N gets with net_pcap under
#           --no-huge, and a baseline run replays it with UDP off (-U 0, the
#           frames still parsed and dropped); prints `instructions_per_get N`
#           (served minus baseline, per request) last.
#
# Builds into build-bench/ (release, -march=native).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=build-bench
# callgrind runs a baseline x86-64 build: valgrind does not know every
# instruction -march=native may pick (AVX-512).
BUILD_CG=build-callgrind

build() {
    if [ ! -f "$BUILD/build.ninja" ]; then
        meson setup "$BUILD" -Dbuildtype=release -Dnative=true >/dev/null
    fi
    ninja -C "$BUILD" "$@" >/dev/null
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
# while dpcached replays PCAP (N+1 frames), printed as one number.
callgrind_run() {
    local pcap=$1 frames=$(($2 + 1)) dir pid rx=0
    shift 2
    dir=$(mktemp -d /tmp/dpcache-bench.XXXXXX)
    valgrind --tool=callgrind --toggle-collect=worker_handle \
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

bench_udp() {
    local n=20000
    while [ $# -gt 0 ]; do
        case "$1" in
        --requests) n=$2; shift 2 ;;
        *) echo "bench: udp: unknown option '$1'" >&2; exit 2 ;;
        esac
    done
    command -v valgrind >/dev/null || { echo "bench: valgrind is not installed" >&2; exit 1; }
    if [ ! -f "$BUILD_CG/build.ninja" ]; then
        meson setup "$BUILD_CG" -Dbuildtype=release -Dtests=false >/dev/null
    fi
    ninja -C "$BUILD_CG" dataplane/dpcached control/dpcachectl >/dev/null
    local pcap served baseline
    pcap=$(mktemp /tmp/dpcache-bench.XXXXXX.pcap)
    trap 'rm -f "$pcap"' EXIT
    /usr/bin/python3 tests/bench/gen_udp_pcap.py "$pcap" "$n" --key-len 32 --value-len 100
    served=$(callgrind_run "$pcap" "$n" --udp-writes 1)
    baseline=$(callgrind_run "$pcap" "$n" -U 0)
    rm -f "$pcap"
    echo "# $n gets of one 32-byte key (100-byte value) replayed by net_pcap, one worker"
    echo "instructions_served_total $served"
    echo "instructions_baseline_total $baseline"
    echo "instructions_per_frame_served $((served / (n + 1)))"
    echo "instructions_per_frame_baseline $((baseline / (n + 1)))"
    echo "instructions_per_get $(((served - baseline) / (n + 1)))"
}

usage() { sed -n '2,21s/^# \{0,1\}//p' "$0"; }

what=${1:-}
[ $# -gt 0 ] && shift
case "$what" in
store) bench_store "$@" ;;
udp) bench_udp "$@" ;;
-h|--help|"") usage ;;
*) echo "bench: unknown benchmark '$what' (see --help)" >&2; exit 2 ;;
esac
