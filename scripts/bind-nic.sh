#!/usr/bin/env bash
# Bind a NIC to vfio-pci for dpcached, and give it back to the kernel after.
#
#   bind-nic.sh --status                      list NICs (dpdk-devbind.py --status)
#   bind-nic.sh [--force] [--noiommu] DEVICE  bind DEVICE to vfio-pci
#   bind-nic.sh --unbind [--driver NAME] PCI  rebind PCI to its old kernel driver
#   bind-nic.sh --help
#
# DEVICE is a PCI address (0000:00:05.0, or 00:05.0 for domain 0) or a kernel
# interface name (eth1). Before binding, the device's kernel interfaces are
# checked; binding is refused, unless --force, when one of them
#   - carries a default route (IPv4 or IPv6, any routing table),
#   - has an IPv4 address, or an IPv6 address other than link-local (fe80::/10),
#   - has any other route (link-local and the kernel's local/multicast entries
#     aside), or is enslaved to a bridge/bond (has a master),
#   - is not visible in this network namespace (so it cannot be checked).
# A link-local IPv6 address alone does not block: the kernel puts one on every
# interface that is up. The driver the device had is remembered in the state
# directory and --unbind restores it (or --driver NAME). Binding a device that
# is already on vfio-pci succeeds without doing anything.
#
# vfio-pci needs an IOMMU (/sys/kernel/iommu_groups non-empty: intel_iommu=on or
# amd_iommu=on on the kernel command line). Without one, --noiommu turns on
# vfio's unsafe no-IOMMU mode: the device can then DMA anywhere in memory.
#
# Exit status: 0 done (or nothing to do), 1 refused or failed, 2 usage error.
#
# Test hooks (environment; the defaults are the real system):
#   DPCACHE_SYSFS       sysfs root                          (/sys)
#   DPCACHE_DEVBIND     dpdk-devbind.py to run              (dpdk-devbind.py)
#   DPCACHE_MODPROBE    modprobe to run                     (modprobe)
#   DPCACHE_BIND_STATE  where the old drivers are kept      (/run/dpcache/bind-nic)
# `ip` always runs for real: tests run the script in a network namespace.
set -euo pipefail

SYSFS=${DPCACHE_SYSFS:-/sys}
DEVBIND=${DPCACHE_DEVBIND:-dpdk-devbind.py}
MODPROBE=${DPCACHE_MODPROBE:-modprobe}
STATE=${DPCACHE_BIND_STATE:-/run/dpcache/bind-nic}
DPDK_DRIVER=vfio-pci

PROG=bind-nic
PCI_RE='^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$'
PCI_SHORT_RE='^[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$'
IFNAME_RE='^[A-Za-z0-9_.@-]{1,15}$'

usage() { sed -n '2,/^set -euo/{/^set -euo/d; s/^# \{0,1\}//p}' "$0"; }
die() { echo "$PROG: $*" >&2; exit 1; }
usage_error() { echo "$PROG: $* (see --help)" >&2; exit 2; }
warn() { echo "$PROG: warning: $*" >&2; }
note() { echo "$PROG: $*"; }

need_tool() {
    command -v "$1" >/dev/null 2>&1 || die "$1 not found ($2)"
}

# resolve_device ARG: print the full PCI address ARG names, a PCI address or a
# kernel interface name. Usage error for what is neither.
resolve_device() {
    local arg=$1 lower link pci
    lower=${arg,,}
    if [[ $lower =~ $PCI_RE ]]; then
        echo "$lower"
    elif [[ $lower =~ $PCI_SHORT_RE ]]; then
        echo "0000:$lower"
    elif [[ $arg == *:* ]]; then
        usage_error "'$arg' is not a PCI address (DDDD:BB:DD.F or BB:DD.F)"
    elif [[ $arg =~ $IFNAME_RE ]]; then
        [ -e "$SYSFS/class/net/$arg" ] || die "no network interface '$arg'"
        link=$SYSFS/class/net/$arg/device
        [ -e "$link" ] || die "$arg is not a PCI device (a virtual interface?)"
        pci=$(readlink -f "$link")
        pci=${pci##*/}
        [[ $pci =~ $PCI_RE ]] || die "$arg is not a PCI device (its device is $pci)"
        echo "$pci"
    else
        usage_error "'$arg' is neither a PCI address nor an interface name"
    fi
}

# current_driver DEV_DIR: the bound driver's name, or "none".
current_driver() {
    local drv
    if [ -e "$1/driver" ]; then
        drv=$(readlink -f "$1/driver")
        echo "${drv##*/}"
    else
        echo none
    fi
}

# device_interfaces DEV_DIR: the kernel interfaces of a PCI device, one a line.
device_interfaces() {
    local n
    [ -d "$1/net" ] || return 0
    for n in "$1"/net/*; do
        [ -e "$n" ] && echo "${n##*/}"
    done
    return 0
}

# route_use IF: why IF carries routed traffic, or nothing: "default ..." for
# a default route (IPv4 or IPv6, any table), else "route ..." for any other.
# Link-local destinations and the kernel's own local/broadcast/multicast
# entries (they come with addresses, checked apart) do not count.
route_use() {
    { ip -o -4 route show table all; ip -o -6 route show table all; } 2>/dev/null |
    awk -v ifn="$1" '
        {
            found = 0
            for (i = 1; i < NF; i++)
                if ($i == "dev" && $(i + 1) == ifn) found = 1
            if (!found) next
            type = $1; dst = $1
            if (type ~ /^(local|broadcast|multicast|anycast|nat|throw)$/) next
            if (type ~ /^(unicast|unreachable|blackhole|prohibit)$/) dst = $2
            if (dst ~ /^(fe[89ab][0-9a-f]:|ff[0-9a-f][0-9a-f]:)/) next
            sub(/[ \t]+$/, "")
            if (dst == "default") { if (def == "") def = $0 } else if (other == "") { other = $0 }
        }
        END {
            if (def != "") print "default " def
            else if (other != "") print "route " other
        }'
}

# busy_reason IF: why binding IF's device would cut live traffic, or nothing.
busy_reason() {
    local ifname=$1 link addr route
    if ! link=$(ip -o link show dev "$ifname" 2>/dev/null); then
        echo "is not in this network namespace, so its routes and addresses cannot be checked"
        return
    fi
    route=$(route_use "$ifname")
    if [[ $route == default* ]]; then
        echo "carries the default route (${route#default })"
        return
    fi
    addr=$(ip -o addr show dev "$ifname" | awk '
        $3 == "inet" { print $4; exit }
        $3 == "inet6" && $4 !~ /^fe[89ab][0-9a-f]:/ && $0 !~ / scope link / { print $4; exit }')
    if [ -n "$addr" ]; then
        echo "has the address $addr"
    elif [ -n "$route" ]; then
        echo "has a route (${route#route })"
    elif [[ $link =~ \ master\ ([^ ]+) ]]; then
        echo "is enslaved to ${BASH_REMATCH[1]}"
    fi
}

# check_iommu NOIOMMU DEV_DIR: refuse without an IOMMU unless NOIOMMU=1, in
# which case vfio's unsafe no-IOMMU mode is turned on.
check_iommu() {
    local noiommu=$1 dev=$2 groups group param mate
    groups=$SYSFS/kernel/iommu_groups
    if [ -d "$groups" ] && [ -n "$(ls -A "$groups" 2>/dev/null)" ]; then
        [ "$noiommu" -eq 1 ] && note "an IOMMU is present; --noiommu is not needed and is ignored"
        if [ -d "$dev/iommu_group/devices" ]; then
            for mate in "$dev"/iommu_group/devices/*; do
                [ "${mate##*/}" = "${dev##*/}" ] && continue
                [ -e "$mate/driver" ] || continue
                group=$(readlink -f "$dev/iommu_group")
                warn "${mate##*/} shares IOMMU group ${group##*/} and is bound to $(current_driver "$mate"); vfio needs every device of the group on vfio-pci or on no driver"
            done
        fi
        return 0
    fi
    [ "$noiommu" -eq 1 ] || die "no IOMMU ($groups is empty): boot with intel_iommu=on or amd_iommu=on, or use --noiommu on a host without one (unsafe)"

    "$MODPROBE" vfio || die "$MODPROBE vfio failed"
    param=$SYSFS/module/vfio/parameters/enable_unsafe_noiommu_mode
    [ -e "$param" ] || die "vfio has no no-IOMMU mode ($param missing: kernel without CONFIG_VFIO_NOIOMMU)"
    echo Y > "$param" || die "cannot write $param"
    [ "$(cat "$param")" = Y ] || die "$param did not take Y"
    warn "vfio no-IOMMU mode is on: the device can DMA to any memory and the kernel is tainted; use it only where there is no IOMMU (e.g. a VM without vIOMMU)"
}

# bound_check PCI DEV_DIR WANT: fail unless the device's driver is WANT.
# dpdk-devbind.py prints some failures and still exits 0, so look.
bound_check() {
    local have
    have=$(current_driver "$2")
    [ "$have" = "$3" ] || die "$1 is still on driver $have, not $3 (see dpdk-devbind.py's messages above)"
}

cmd_status() {
    local f
    need_tool "$DEVBIND" "install the dpdk package, or set DPCACHE_DEVBIND"
    "$DEVBIND" --status
    for f in "$STATE"/*.driver; do
        [ -e "$f" ] || continue
        printf '%s: %s remembered for --unbind: %s\n' "$PROG" \
            "$(basename "$f" .driver)" "$(head -n 1 "$f")"
    done
}

cmd_bind() {
    local arg=$1 force=$2 noiommu=$3 pci dev drv ifname why state_file
    pci=$(resolve_device "$arg")
    dev=$SYSFS/bus/pci/devices/$pci
    [ -d "$dev" ] || die "no PCI device $pci ($dev missing)"
    drv=$(current_driver "$dev")
    if [ "$drv" = "$DPDK_DRIVER" ]; then
        note "$pci is already bound to $DPDK_DRIVER; nothing to do"
        return 0
    fi

    need_tool ip "install iproute2"
    for ifname in $(device_interfaces "$dev"); do
        why=$(busy_reason "$ifname")
        [ -n "$why" ] || continue
        if [ "$force" -eq 1 ]; then
            warn "$ifname ($pci) $why; binding anyway (--force)"
        else
            die "refusing to bind $pci: its interface $ifname $why; use --force to bind anyway"
        fi
    done

    need_tool "$DEVBIND" "install the dpdk package, or set DPCACHE_DEVBIND"
    need_tool "$MODPROBE" "install kmod, or set DPCACHE_MODPROBE"
    check_iommu "$noiommu" "$dev"
    "$MODPROBE" "$DPDK_DRIVER" || die "$MODPROBE $DPDK_DRIVER failed"
    [ -d "$SYSFS/bus/pci/drivers/$DPDK_DRIVER" ] ||
        die "$DPDK_DRIVER is not loaded ($SYSFS/bus/pci/drivers/$DPDK_DRIVER missing)"

    # Remember the driver before touching anything, so --unbind can undo
    # even a bind that fails half-way.
    mkdir -p "$STATE" || die "cannot create $STATE"
    state_file=$STATE/$pci.driver
    if ! { echo "$drv" > "$state_file.tmp" && mv -f "$state_file.tmp" "$state_file"; }; then
        die "cannot write $state_file"
    fi

    local opts=(--bind="$DPDK_DRIVER")
    [ "$force" -eq 1 ] && opts+=(--force)
    "$DEVBIND" "${opts[@]}" "$pci" || die "dpdk-devbind.py failed to bind $pci to $DPDK_DRIVER (its old driver $drv is in $state_file)"
    bound_check "$pci" "$dev" "$DPDK_DRIVER"
    note "$pci bound to $DPDK_DRIVER (was $drv; --unbind $pci restores it)"
}

cmd_unbind() {
    local arg=$1 driver=$2 pci dev drv state_file
    pci=$(resolve_device "$arg")
    dev=$SYSFS/bus/pci/devices/$pci
    [ -d "$dev" ] || die "no PCI device $pci ($dev missing)"
    state_file=$STATE/$pci.driver
    if [ -z "$driver" ]; then
        [ -f "$state_file" ] ||
            die "no driver remembered for $pci ($state_file missing); give one with --driver NAME"
        driver=$(head -n 1 "$state_file")
        [[ $driver =~ ^[A-Za-z0-9_-]+$ ]] || die "$state_file does not hold a driver name"
    fi
    drv=$(current_driver "$dev")
    if [ "$drv" = "$driver" ]; then
        note "$pci is already on $driver; nothing to do"
        rm -f "$state_file"
        return 0
    fi

    need_tool "$DEVBIND" "install the dpdk package, or set DPCACHE_DEVBIND"
    if [ "$driver" = none ]; then
        "$DEVBIND" --unbind "$pci" || die "dpdk-devbind.py failed to unbind $pci"
    else
        "$DEVBIND" --bind="$driver" "$pci" || die "dpdk-devbind.py failed to bind $pci to $driver"
    fi
    bound_check "$pci" "$dev" "$driver"
    rm -f "$state_file"
    note "$pci back on $driver (was $drv)"
}

main() {
    local mode=bind force=0 noiommu=0 driver="" device="" seen_mode=""
    [ $# -gt 0 ] || usage_error "no arguments"
    while [ $# -gt 0 ]; do
        case "$1" in
        -h|--help) usage; exit 0 ;;
        --status|--unbind)
            [ -z "$seen_mode" ] || usage_error "$seen_mode and $1 do not go together"
            seen_mode=$1; mode=${1#--}; shift ;;
        --force) force=1; shift ;;
        --noiommu) noiommu=1; shift ;;
        --driver)
            [ $# -ge 2 ] || usage_error "--driver needs a driver name"
            driver=$2; shift 2 ;;
        --driver=*) driver=${1#--driver=}; shift ;;
        --) shift; break ;;
        -*) usage_error "unknown option '$1'" ;;
        *)
            [ -z "$device" ] || usage_error "one device at a time ('$device' and '$1')"
            device=$1; shift ;;
        esac
    done
    if [ $# -gt 0 ]; then
        if [ -n "$device" ] || [ $# -ne 1 ]; then usage_error "one device at a time"; fi
        device=$1
    fi

    if [ -n "$driver" ] && ! [[ $driver =~ ^[A-Za-z0-9_-]+$ ]]; then
        usage_error "'$driver' is not a driver name"
    fi
    case "$mode" in
    status)
        if [ -n "$device$driver" ] || [ $force -eq 1 ] || [ $noiommu -eq 1 ]; then
            usage_error "--status takes no device or other options"
        fi
        cmd_status ;;
    unbind)
        [ -n "$device" ] || usage_error "--unbind needs a PCI address"
        if [ $force -eq 1 ] || [ $noiommu -eq 1 ]; then
            usage_error "--force and --noiommu are for binding, not --unbind"
        fi
        cmd_unbind "$device" "$driver" ;;
    bind)
        [ -n "$device" ] || usage_error "no device given"
        [ -z "$driver" ] || usage_error "--driver goes with --unbind"
        cmd_bind "$device" "$force" "$noiommu" ;;
    esac
}

main "$@"
