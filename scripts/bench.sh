#!/usr/bin/env bash
# Benchmarks. Each subcommand prints its figures as `name value` lines, the
# headline figures last.
#
#   scripts/bench.sh store [--limit-mb N] [--keys N] [--seconds S]
#
#   store   the store alone, one thread: set and get ops/s (1M keys, 32-byte
#           values), then items held at the first eviction by the store and
#           by stock memcached (same -m, -f 1.25, -n 48, one thread) filled
#           with the same keys and value-size mix; prints
#           `store_get_mops N` and `items_ratio_vs_memcached R` last.
#
# Builds into build-bench/ (release, -march=native).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=build-bench

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

usage() { sed -n '2,14s/^# \{0,1\}//p' "$0"; }

what=${1:-}
[ $# -gt 0 ] && shift
case "$what" in
store) bench_store "$@" ;;
-h|--help|"") usage ;;
*) echo "bench: unknown benchmark '$what' (see --help)" >&2; exit 2 ;;
esac
