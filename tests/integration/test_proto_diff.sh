#!/bin/sh
# Differential test of the protocol executor against stock memcached.
#
#   test_proto_diff.sh PROTO_DIFF_BINARY SESSION_FILE
#
# Starts memcached on a free loopback port (no UDP), runs the session through
# it and through dpcache's executor in-process (proto_diff.c), and stops
# memcached. TAP on stdout; skips when memcached is not installed.
set -u

bin=${1:?usage: test_proto_diff.sh PROTO_DIFF SESSION}
session=${2:?usage: test_proto_diff.sh PROTO_DIFF SESSION}

if ! command -v memcached >/dev/null 2>&1; then
	echo "1..0 # SKIP memcached not installed (apt-get install memcached)"
	exit 0
fi

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
user=""
[ "$(id -u)" = 0 ] && user="-u root"
# No LRU maintainer or crawler: their threads take item references at random
# instants, and memcached pads a shortened incr/decr result in place only
# while nobody else holds the item, so replies would depend on timing.
# shellcheck disable=SC2086
memcached -U 0 -l 127.0.0.1 -p "$port" $user -o no_lru_maintainer,no_lru_crawler &
mc=$!
trap 'kill "$mc" 2>/dev/null; wait "$mc" 2>/dev/null' EXIT INT TERM

i=0
until python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 1)" 2>/dev/null; do
	i=$((i + 1))
	if [ "$i" -gt 50 ]; then
		echo "1..0 # SKIP memcached did not start"
		exit 0
	fi
	sleep 0.1
done

"$bin" "$port" "$session"
