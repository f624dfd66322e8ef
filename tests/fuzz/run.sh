#!/bin/sh
# Build and run a protocol fuzz target with libFuzzer, ASan and UBSan.
#
#   tests/fuzz/run.sh TARGET [SECONDS] [libFuzzer options...]
#   tests/fuzz/run.sh proto 600
#   tests/fuzz/run.sh udp_frame 600 -jobs=1
#   tests/fuzz/run.sh proto replay crash-XXXX     # run inputs once, no fuzzing
#
# TARGET is proto, udp_frame, udp_get, process or net (tests/fuzz/fuzz_TARGET.c). Seeds are read from
# tests/fuzz/corpus/TARGET; what the fuzzer finds goes to $FUZZ_OUT/corpus-TARGET
# (default build-fuzz/), crashes to $FUZZ_OUT/. Needs clang (libFuzzer ships with it).
set -eu

target=${1:?usage: run.sh TARGET [SECONDS|replay FILES...] [libFuzzer options...]}
shift
secs=${1:-60}
[ $# -gt 0 ] && shift

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${FUZZ_OUT:-$root/build-fuzz}
cc=${CC_FUZZ:-clang}
src="$here/fuzz_$target.c"
[ -f "$src" ] || { echo "run.sh: no target $src" >&2; exit 2; }

extra=""
ldlibs=""
[ "$target" = proto ] && extra="$root/tests/unit/test_proto_util.c"
if [ "$target" = process ]; then
	# the executor over a real store (needs libxxhash-dev and libnuma-dev)
	extra="$root/dataplane/process/process.c $(ls "$root"/dataplane/store/*.c | tr '\n' ' ')"
	ldlibs="-lxxhash -lnuma -lpthread"
fi

if [ "$target" = net ]; then
	# the dataplane's network stack: DPDK's headers and inline checksums
	extra="-include rte_config.h $(pkg-config --cflags libdpdk)"
	for f in eth arp ipv4 icmp udp; do extra="$extra $root/dataplane/net/$f.c"; done
	ldlibs="$(pkg-config --libs libdpdk)"
fi

mkdir -p "$out/corpus-$target"
flags="-g -O1 -std=gnu11 -D_GNU_SOURCE -DDPCACHE_VERSION=\"fuzz\" -fno-omit-frame-pointer -I$root/include -I$root -I$root/dataplane -I$root/tests/unit"
flags="$flags -fsanitize=address,undefined -fno-sanitize-recover=undefined"
libs="$root/lib/proto/base64.c $root/lib/proto/compose.c $root/lib/proto/meta_parse.c"
libs="$libs $root/lib/proto/text_parse.c $root/lib/proto/udp_frame.c $root/lib/proto/udp_get.c"

if [ "$secs" = replay ]; then
	# shellcheck disable=SC2086
	$cc $flags -o "$out/replay_$target" "$src" "$here/fuzz_main.c" $extra $libs $ldlibs
	exec "$out/replay_$target" "$@"
fi

# shellcheck disable=SC2086
$cc $flags -fsanitize=fuzzer -o "$out/fuzz_$target" "$src" $extra $libs $ldlibs
cd "$out"
exec "./fuzz_$target" -max_total_time="$secs" -print_final_stats=1 -max_len=8192 \
	-artifact_prefix="$out/" "$@" "$out/corpus-$target" "$here/corpus/$target"
