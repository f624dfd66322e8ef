#!/usr/bin/env bash
# Prepare this machine for building, testing and running dpcache (Debian 12, as root).
# Idempotent: installs only the Debian packages that are missing, reserves 2 MB
# hugepages only up to the number asked for, mounts hugetlbfs only if it is not
# mounted. Prints what it did.
#
#   scripts/setup.sh [--hugepages N] [--no-packages]
#
# DPCACHE_HUGEPAGES=N does the same as --hugepages N (default 512 = 1 GiB,
# enough for the test suites and the demo).
set -euo pipefail

hugepages=${DPCACHE_HUGEPAGES:-512}
packages=1

usage() {
    sed -n '2,10s/^# \{0,1\}//p' "$0"
}

while [ $# -gt 0 ]; do
    case "$1" in
    --hugepages)
        [ $# -ge 2 ] || { echo "setup: --hugepages needs a number" >&2; exit 2; }
        hugepages=$2; shift 2 ;;
    --hugepages=*) hugepages=${1#*=}; shift ;;
    --no-packages) packages=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "setup: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
done
case "$hugepages" in
''|*[!0-9]*) echo "setup: --hugepages: '$hugepages' is not a number of 2 MB pages" >&2; exit 2 ;;
esac
if [ "$(id -u)" -ne 0 ]; then
    echo "setup: must run as root (it installs packages and reserves hugepages)" >&2
    exit 1
fi

# What the build, the tests and the demo need, by purpose.
build_pkgs="gcc pkg-config meson ninja-build libdpdk-dev dpdk libnuma-dev libxxhash-dev
    libjansson-dev libcunit1-dev libzookeeper-mt-dev"
test_pkgs="iproute2 iputils-ping arping memcached libmemcached-tools python3
    python3-pymemcache python3-xxhash clang procps kmod dpdk-dev zookeeperd nftables hping3"

missing=()
for p in $build_pkgs $test_pkgs; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    [ "$status" = "install ok installed" ] || missing+=("$p")
done
if [ "$packages" -eq 0 ]; then
    echo "setup: packages: not checked (--no-packages)"
elif [ ${#missing[@]} -eq 0 ]; then
    echo "setup: packages: all present"
else
    echo "setup: packages: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
    echo "setup: packages: installed ${#missing[@]}"
fi

# 2 MB hugepages: raise the reservation to the number asked for, never lower it
# (another program may be using what is already reserved).
nr=/proc/sys/vm/nr_hugepages
have=$(cat "$nr")
if [ "$have" -lt "$hugepages" ]; then
    echo "$hugepages" > "$nr"
    got=$(cat "$nr")
    if [ "$got" -lt "$hugepages" ]; then
        echo "setup: hugepages: asked for $hugepages, the kernel gave $got (memory too fragmented?)" >&2
    fi
    echo "setup: hugepages: reserved $got x 2 MB (was $have)"
else
    echo "setup: hugepages: $have x 2 MB already reserved (wanted $hugepages)"
fi

if mount -t hugetlbfs | grep -q ' on /dev/hugepages '; then
    echo "setup: hugetlbfs: mounted at /dev/hugepages"
else
    mkdir -p /dev/hugepages
    mount -t hugetlbfs -o pagesize=2M nodev /dev/hugepages
    echo "setup: hugetlbfs: mounted at /dev/hugepages (now)"
fi
