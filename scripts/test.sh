#!/usr/bin/env bash
# Set up this machine, build dpcache twice (optimised, and with ASan+UBSan) and
# run every test suite on both. The last line is `N passed, N failed`, counting
# individual tests; the exit status is non-zero on any failure.
#
#   scripts/test.sh [--quick] [--suite NAME]...
#
#   --quick        only the optimised build (skip the ASan/UBSan run)
#   --suite NAME   only this meson test suite (repeatable): net, dataplane,
#                  store, proto, tcp, control, scripts, integration
set -uo pipefail
cd "$(dirname "$0")/.."

quick=0
suites=()
while [ $# -gt 0 ]; do
    case "$1" in
    --quick) quick=1; shift ;;
    --suite) [ $# -ge 2 ] || { echo "test: --suite needs a name" >&2; exit 2; }
        suites+=(--suite "$2"); shift 2 ;;
    -h|--help) sed -n '2,11s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "test: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
done

scripts/setup.sh || { echo "0 passed, 1 failed"; exit 1; }

builds=(build)
[ "$quick" -eq 1 ] || builds+=(build-asan)

logs=()
rc=0
for b in "${builds[@]}"; do
    opts=()
    # ASan with DPDK's shared libraries: they are not instrumented, so allow
    # their undefined references to resolve at run time.
    [ "$b" = build-asan ] && opts=(-Db_sanitize=address,undefined -Db_lundef=false
                                   -Dbuildtype=debug)
    if ! scripts/build.sh "$b" "${opts[@]}"; then
        echo "test: $b does not build"
        rc=1
        continue
    fi
    rm -f "$b/meson-logs/testlog.json"
    echo "test: running the suites on $b"
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
        meson test -C "$b" --no-rebuild --print-errorlogs "${suites[@]}" || rc=1
    [ -f "$b/meson-logs/testlog.json" ] && logs+=("$b/meson-logs/testlog.json")
done

read -r passed failed skipped < <(/usr/bin/python3 scripts/count-tests.py "${logs[@]}")
[ "$rc" -ne 0 ] && [ "$failed" -eq 0 ] && failed=1
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
[ "$failed" -eq 0 ] && [ "$rc" -eq 0 ]
