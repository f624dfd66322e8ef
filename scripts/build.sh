#!/usr/bin/env bash
# Configure (once) and build dpcache.
#
#   scripts/build.sh [BUILD_DIR] [meson options...]
#
# BUILD_DIR defaults to build/. Options are passed to `meson setup` the first
# time and to `meson configure` after, e.g. scripts/build.sh build-asan
# -Db_sanitize=address,undefined -Db_lundef=false
set -euo pipefail
cd "$(dirname "$0")/.."

dir=${1:-build}
[ $# -gt 0 ] && shift
if [ ! -f "$dir/build.ninja" ]; then
    mkdir -p "$dir"
    if ! meson setup "$dir" "$@" > "$dir.setup.log" 2>&1; then
        cat "$dir.setup.log" >&2
        exit 1
    fi
    rm -f "$dir.setup.log"
elif [ $# -gt 0 ]; then
    meson configure "$dir" "$@" >/dev/null
fi
if ! ninja -C "$dir" > "$dir/last-build.log" 2>&1; then
    cat "$dir/last-build.log" >&2
    echo "build: $dir failed" >&2
    exit 1
fi
echo "build: $dir is up to date"
