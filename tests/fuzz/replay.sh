#!/bin/sh
# Replay every fuzz target's seed corpus once (no fuzzing), built with clang,
# ASan and UBSan by run.sh: keeps the targets building and their seeds clean.
# TAP, one test per target. Registered with meson as suite `fuzz`.
#
#   tests/fuzz/replay.sh [TARGET...]
set -u
here=$(cd "$(dirname "$0")" && pwd)
out=${FUZZ_OUT:-${DPCACHE_BUILD:-$here/../../build}/fuzz-replay}
targets=${*:-proto udp_frame udp_get process net}
n=0
failed=0
mkdir -p "$out"
for t in $targets; do
    n=$((n + 1))
    if FUZZ_OUT=$out "$here/run.sh" "$t" replay "$here"/corpus/"$t"/* > "$out/$t.log" 2>&1; then
        echo "ok $n - $t: $(ls "$here/corpus/$t" | wc -l) seeds replay clean"
    else
        failed=$((failed + 1))
        echo "not ok $n - $t: seeds replay clean"
        tail -20 "$out/$t.log" | sed 's/^/# /'
    fi
done
echo "1..$n"
[ "$failed" -eq 0 ]
