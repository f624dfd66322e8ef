#!/usr/bin/env bash
# Tests for scripts/bind-nic.sh: argument errors, refusals, bind and unbind.
#
# Nothing here touches the host's NICs or drivers. The script runs against a
# fake sysfs tree (DPCACHE_SYSFS) in a temporary directory, a fake
# dpdk-devbind.py that logs its arguments and moves the fake driver symlink,
# a fake modprobe and a temporary state directory. The kernel interfaces the
# fake devices name are veth (or dummy) interfaces in a network namespace the
# test creates, with addresses from 198.18.0.0/15 and 2001:2::/48, and the
# script runs inside it (ip netns exec), so its `ip` sees only them. As a
# second fence, PATH starts with stand-ins for dpdk-devbind.py and modprobe
# that only record that they were reached; the last test checks they were not.
# The namespace and the temporary directory are removed on any exit.
#
# Output is TAP; the exit status is non-zero if any test failed.
#
# Conditions are shell snippets in single quotes, expanded when check runs:
# shellcheck disable=SC2016,SC2034

set -u

SRC=${DPCACHE_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BN=$SRC/scripts/bind-nic.sh
NS=dpbn-$$
T=$(mktemp -d /tmp/dpcache-bindnic.XXXXXX)

cleanup() {
    ip netns del "$NS" 2>/dev/null
    rm -rf "$T"
    return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP PIPE

t_n=0
t_failed=0

# ---------------------------------------------------------------- fakes

mkdir -p "$T/bin" "$T/guard"
for tool in dpdk-devbind.py modprobe; do
    cat > "$T/guard/$tool" <<EOF
#!/bin/sh
echo "$tool \$*" >> "$T/guard.log"
echo "test guard: the real $tool was about to run" >&2
exit 99
EOF
done
export PATH="$T/guard:$PATH"

# dpdk-devbind.py: log the arguments; --bind=DRV / --unbind move the fake
# device's driver symlink. FAKE_DEVBIND=noop exits 0 without binding (as the
# real one does after some failures), FAKE_DEVBIND=fail exits 1.
cat > "$T/bin/devbind" <<'EOF'
#!/bin/sh
echo "$*" >> "$FAKE_LOG/devbind.log"
if [ "$1" = --status ]; then
    echo "Network devices using kernel driver (fake)"
    exit 0
fi
case "${FAKE_DEVBIND:-}" in noop) exit 0 ;; fail) exit 1 ;; esac
drv= pci=
for a in "$@"; do
    case "$a" in
    --bind=*) drv=${a#--bind=} ;;
    --unbind|-u) drv= ;;
    --force) ;;
    *) pci=$a ;;
    esac
done
d=$DPCACHE_SYSFS/bus/pci/devices/$pci
[ -d "$d" ] || { echo "fake devbind: no $pci" >&2; exit 1; }
rm -f "$d/driver"
[ -z "$drv" ] || ln -s "$DPCACHE_SYSFS/bus/pci/drivers/$drv" "$d/driver"
EOF

# modprobe: log; loading vfio makes its no-IOMMU parameter appear (unless
# FAKE_NO_NOIOMMU), loading vfio-pci makes its driver appear; FAKE_MODPROBE=fail.
cat > "$T/bin/modprobe" <<'EOF'
#!/bin/sh
echo "$*" >> "$FAKE_LOG/modprobe.log"
[ "${FAKE_MODPROBE:-}" = fail ] && exit 1
case "$1" in
vfio)
    if [ -z "${FAKE_NO_NOIOMMU:-}" ] && [ ! -e "$DPCACHE_SYSFS/module/vfio/parameters/enable_unsafe_noiommu_mode" ]; then
        mkdir -p "$DPCACHE_SYSFS/module/vfio/parameters"
        echo N > "$DPCACHE_SYSFS/module/vfio/parameters/enable_unsafe_noiommu_mode"
    fi ;;
vfio-pci) mkdir -p "$DPCACHE_SYSFS/bus/pci/drivers/vfio-pci" ;;
esac
exit 0
EOF
chmod +x "$T/bin/devbind" "$T/bin/modprobe" "$T/guard/"*

# fresh [noiommu]: a new, empty world for one test: S (sysfs), ST (state
# directory), L (log directory).
world=0
ngroups=100
fresh() {
    world=$((world + 1))
    S=$T/w$world/sys ST=$T/w$world/state L=$T/w$world/log
    mkdir -p "$S/devices/pci0000:00" "$S/devices/virtual/net" "$S/bus/pci/devices" \
        "$S/class/net" "$S/kernel/iommu_groups" "$S/module" "$L"
    for d in e1000e ixgbe virtio-pci; do mkdir -p "$S/bus/pci/drivers/$d"; done
    : > "$L/devbind.log"
    : > "$L/modprobe.log"
    IOMMU=1
    [ "${1:-}" = noiommu ] && IOMMU=0
    return 0
}

# add_dev PCI DRIVER|none [IFNAME|-] [IOMMU_GROUP]: a PCI device in the fake sysfs.
add_dev() {
    ngroups=$((ngroups + 1))
    local pci=$1 drv=$2 ifname=${3:--} group=${4:-$ngroups}
    local d=$S/devices/pci0000:00/$pci
    mkdir -p "$d"
    ln -s "../../../devices/pci0000:00/$pci" "$S/bus/pci/devices/$pci"
    [ "$drv" = none ] || mkdir -p "$S/bus/pci/drivers/$drv"
    [ "$drv" = none ] || ln -s "../../../bus/pci/drivers/$drv" "$d/driver"
    if [ "$ifname" != - ]; then
        mkdir -p "$d/net/$ifname"
        ln -s "../../../$pci" "$d/net/$ifname/device"
        ln -s "../../devices/pci0000:00/$pci/net/$ifname" "$S/class/net/$ifname"
    fi
    if [ "$IOMMU" -eq 1 ]; then
        mkdir -p "$S/kernel/iommu_groups/$group/devices"
        ln -s "../../../../devices/pci0000:00/$pci" "$S/kernel/iommu_groups/$group/devices/$pci"
        ln -s "../../../kernel/iommu_groups/$group" "$d/iommu_group"
    fi
}

# bn ARGS...: run bind-nic.sh in the namespace against the current world.
# Sets rc, out (stdout) and err (stderr).
bn() {
    ip netns exec "$NS" env \
        DPCACHE_SYSFS="$S" DPCACHE_DEVBIND="$T/bin/devbind" \
        DPCACHE_MODPROBE="$T/bin/modprobe" DPCACHE_BIND_STATE="$ST" \
        FAKE_LOG="$L" "$BN" "$@" > "$T/out" 2> "$T/err"
    rc=$?
    out=$(cat "$T/out")
    err=$(cat "$T/err")
}

# ---------------------------------------------------------------- checks

rc_is() { [ "$rc" -eq "$1" ]; }
out_has() { grep -qE -- "$1" <<< "$out"; }
err_has() { grep -qE -- "$1" <<< "$err"; }
err_lines() { [ "$(grep -c . <<< "$err")" -eq "$1" ]; }
devbind_log_is() { [ "$(cat "$L/devbind.log")" = "$1" ]; }
devbind_not_called() { [ ! -s "$L/devbind.log" ]; }
modprobe_log_is() { [ "$(cat "$L/modprobe.log")" = "$1" ]; }
modprobe_not_called() { [ ! -s "$L/modprobe.log" ]; }
state_is() { [ "$(cat "$ST/$1.driver" 2>/dev/null)" = "$2" ]; }
no_state() { [ ! -e "$ST/$1.driver" ]; }
driver_is() {
    local have=none
    [ -e "$S/bus/pci/devices/$1/driver" ] &&
        have=$(basename "$(readlink -f "$S/bus/pci/devices/$1/driver")")
    [ "$have" = "$2" ]
}

# check DESCRIPTION CONDITION...: ok if every condition (a shell snippet)
# holds; otherwise not ok, naming the first that did not, with the run's
# exit status, output and logs as TAP comments.
check() {
    local desc=$1 c
    shift
    t_n=$((t_n + 1))
    for c in "$@"; do
        if ! eval "$c"; then
            t_failed=$((t_failed + 1))
            echo "not ok $t_n - $desc"
            {
                echo "failed: $c"
                echo "rc=${rc:-}"
                echo "stdout: ${out:-}"
                echo "stderr: ${err:-}"
                [ -n "${L:-}" ] && echo "devbind.log: $(cat "$L/devbind.log" 2>/dev/null)"
                [ -n "${L:-}" ] && echo "modprobe.log: $(cat "$L/modprobe.log" 2>/dev/null)"
            } | sed 's/^/# /'
            return 0
        fi
    done
    echo "ok $t_n - $desc"
}
skip() { t_n=$((t_n + 1)); echo "ok $t_n - $1 # SKIP $2"; }

# ---------------------------------------------------------------- namespace

if ! ip netns add "$NS" 2>/dev/null; then
    echo "1..0 # SKIP cannot create a network namespace (needs root)"
    exit 0
fi
nsip() { ip netns exec "$NS" ip "$@"; }
# mk_if NAME: an interface that is up, in the namespace (dummy, or a veth
# pair whose peer is NAMEp when the kernel has no dummy driver).
mk_if() {
    if ! nsip link add "$1" type dummy 2>/dev/null; then
        nsip link add "$1" type veth peer name "${1}p" || return 1
        nsip link set "${1}p" up || return 1
    fi
    nsip link set "$1" up
}
setup_ns() {
    nsip link set lo up &&
    mk_if dpbnrt0 && nsip route add default dev dpbnrt0 &&
    mk_if dpbnr60 && nsip -6 route add default dev dpbnr60 &&
    mk_if dpbnad0 && nsip addr add 198.18.0.1/24 dev dpbnad0 &&
    mk_if dpbnad6 && nsip -6 addr add 2001:2::1/64 dev dpbnad6 nodad &&
    mk_if dpbnrr0 && nsip route add 198.19.0.0/16 dev dpbnrr0 &&
    mk_if dpbnll0 && nsip -6 addr add fe80::1/64 dev dpbnll0 nodad &&
    mk_if dpbncl0
}
if ! setup_ns; then
    echo "Bail out! cannot set up interfaces in namespace $NS"
    exit 1
fi
have_bridge=0
mk_if dpbnsl0 && nsip link add dpbnbr0 type bridge 2>/dev/null &&
    nsip link set dpbnsl0 master dpbnbr0 && have_bridge=1

P=0000:00:05.0

# ---------------------------------------------------------------- usage errors

fresh
bn
check "no arguments: usage error" 'rc_is 2' 'err_has "no arguments"' 'err_has -- "--help"'

fresh
bn --bogus $P
check "unknown option: usage error naming it" 'rc_is 2' "err_has \"unknown option '--bogus'\""

fresh
bad=0
for a in 00:5.0 0000:00:05 zz:00.0 0000:00:05.8 00:05.0x; do
    bn "$a"
    if ! rc_is 2 || ! err_has "not a PCI address"; then bad=1; fi
done
check "malformed PCI addresses: usage error" '[ $bad -eq 0 ]'

fresh
bn 'eth/1'
check "neither an address nor an interface name: usage error" 'rc_is 2' 'err_has "neither a PCI address nor an interface"'

fresh
bn $P 0000:00:06.0
check "two devices: usage error" 'rc_is 2' 'err_has "one device at a time"'

fresh
bn --driver ixgbe $P
check "--driver without --unbind: usage error" 'rc_is 2' 'err_has "--driver goes with --unbind"'

fresh
bn --status $P
check "--status with a device: usage error" 'rc_is 2' 'devbind_not_called'

fresh
bn --unbind --force $P
check "--unbind --force: usage error" 'rc_is 2' 'devbind_not_called'

fresh
bn --unbind --driver 'ix;gbe' $P
check "--driver with a bad name: usage error" 'rc_is 2' 'devbind_not_called'

fresh
bn --help
check "--help prints usage, exit 0" 'rc_is 0' 'out_has -- "--unbind"' 'out_has DPCACHE_SYSFS' 'out_has DPCACHE_BIND_STATE'

# ---------------------------------------------------------------- missing things

fresh
add_dev $P ixgbe dpbncl0
bn 0000:00:09.0
check "missing PCI device: error, nothing run" 'rc_is 1' 'err_has "no PCI device 0000:00:09.0"' \
    'devbind_not_called' 'modprobe_not_called'

fresh
bn dpbnzz0
check "unknown interface name: error" 'rc_is 1' "err_has \"no network interface 'dpbnzz0'\"" 'devbind_not_called'

fresh
mkdir -p "$S/devices/virtual/net/dpbnvt0"
ln -s ../../devices/virtual/net/dpbnvt0 "$S/class/net/dpbnvt0"
bn dpbnvt0
check "virtual interface (no PCI device): error" 'rc_is 1' 'err_has "dpbnvt0 is not a PCI device"' 'devbind_not_called'

# ---------------------------------------------------------------- status

fresh
mkdir -p "$ST" && echo ixgbe > "$ST/0000:00:07.0.driver"
bn --status
check "--status runs dpdk-devbind.py --status and lists remembered drivers" 'rc_is 0' \
    'devbind_log_is --status' 'out_has "fake"' 'out_has "0000:00:07.0 remembered for --unbind: ixgbe"'

# ---------------------------------------------------------------- refusals

fresh
add_dev $P ixgbe dpbnrt0
bn $P
check "interface with the IPv4 default route: refused in one line naming it and --force" \
    'rc_is 1' 'err_lines 1' 'err_has "dpbnrt0 carries the default route"' 'err_has -- "--force"' \
    'devbind_not_called' 'modprobe_not_called' "no_state $P" "driver_is $P ixgbe"

fresh
add_dev $P ixgbe dpbnr60
bn $P
check "interface with the IPv6 default route: refused" \
    'rc_is 1' 'err_has "dpbnr60 carries the default route"' 'devbind_not_called'

fresh
add_dev $P ixgbe dpbnad0
bn $P
check "interface with an IPv4 address: refused in one line naming it and --force" \
    'rc_is 1' 'err_lines 1' 'err_has "dpbnad0 has the address 198.18.0.1/24"' 'err_has -- "--force"' \
    'devbind_not_called' "no_state $P"

fresh
add_dev $P ixgbe dpbnad6
bn $P
check "interface with a global IPv6 address: refused" \
    'rc_is 1' 'err_has "dpbnad6 has the address 2001:2::1/64"' 'devbind_not_called'

fresh
add_dev $P ixgbe dpbnrr0
bn $P
check "interface with a (non-default) route: refused" \
    'rc_is 1' 'err_has "dpbnrr0 has a route \(198.19.0.0/16"' 'devbind_not_called'

fresh
if [ $have_bridge -eq 1 ]; then
    add_dev $P ixgbe dpbnsl0
    bn $P
    check "interface enslaved to a bridge: refused" \
        'rc_is 1' 'err_has "dpbnsl0 is enslaved to dpbnbr0"' 'devbind_not_called'
else
    skip "interface enslaved to a bridge: refused" "no bridge support"
fi

fresh
add_dev $P ixgbe dpbnno0
bn $P
check "interface outside this namespace: refused (cannot be checked)" \
    'rc_is 1' 'err_has "dpbnno0 is not in this network namespace"' 'devbind_not_called'

fresh
add_dev $P ixgbe dpbnrt0
bn dpbnrt0
check "refusal also when the device is named by its interface" \
    'rc_is 1' 'err_has "refusing to bind 0000:00:05.0: its interface dpbnrt0"' 'devbind_not_called'

# ---------------------------------------------------------------- binding

fresh
add_dev $P ixgbe dpbnll0
bn $P
check "link-local IPv6 only: binds (devbind --bind=vfio-pci, modprobe vfio-pci)" \
    'rc_is 0' "devbind_log_is '--bind=vfio-pci $P'" 'modprobe_log_is vfio-pci' \
    "driver_is $P vfio-pci" 'out_has "bound to vfio-pci \(was ixgbe"'

fresh
add_dev $P ixgbe dpbnrt0
bn --force $P
check "--force binds despite the default route, passing --force on, with a warning" \
    'rc_is 0' "devbind_log_is '--bind=vfio-pci --force $P'" "driver_is $P vfio-pci" \
    'err_has "warning: dpbnrt0 .* carries the default route \(default dev dpbnrt0.*\); binding anyway \(--force\)"'

fresh
add_dev $P e1000e dpbnad0
bn $P --force
check "--force after the device binds despite an address" \
    'rc_is 0' "devbind_log_is '--bind=vfio-pci --force $P'" "state_is $P e1000e"

fresh
add_dev $P ixgbe dpbncl0
bn $P
check "the state file remembers the old driver" 'rc_is 0' "state_is $P ixgbe"

fresh
add_dev $P virtio-pci dpbncl0
bn dpbncl0
check "an interface name resolves to its PCI address" \
    'rc_is 0' "devbind_log_is '--bind=vfio-pci $P'" "state_is $P virtio-pci"

fresh
add_dev 0000:00:0a.0 ixgbe -
bn 00:0A.0
check "short, upper-case address resolves to 0000:00:0a.0" \
    'rc_is 0' "devbind_log_is '--bind=vfio-pci 0000:00:0a.0'" 'state_is 0000:00:0a.0 ixgbe'

fresh
add_dev $P vfio-pci -
bn $P
check "already on vfio-pci: success, nothing done, no state written" \
    'rc_is 0' 'out_has "already bound to vfio-pci"' 'devbind_not_called' 'modprobe_not_called' "no_state $P"

fresh
add_dev $P ixgbe dpbncl0
bn $P
: > "$L/devbind.log"
bn $P
check "binding twice: the second run does nothing and keeps the remembered driver" \
    'rc_is 0' 'out_has "already bound"' 'devbind_not_called' "state_is $P ixgbe"

fresh
add_dev $P ixgbe -
export FAKE_DEVBIND=noop
bn $P
unset FAKE_DEVBIND
check "devbind exits 0 without binding: detected, error" \
    'rc_is 1' 'err_has "still on driver ixgbe, not vfio-pci"'

fresh
add_dev $P ixgbe -
export FAKE_DEVBIND=fail
bn $P
unset FAKE_DEVBIND
check "devbind fails: error, old driver kept in the state file" \
    'rc_is 1' 'err_has "failed to bind 0000:00:05.0"' "state_is $P ixgbe"

fresh
add_dev $P ixgbe -
export FAKE_MODPROBE=fail
bn $P
unset FAKE_MODPROBE
check "modprobe fails: error, devbind not run" 'rc_is 1' 'err_has "modprobe.* vfio-pci failed"' 'devbind_not_called'

# ---------------------------------------------------------------- IOMMU

fresh noiommu
add_dev $P ixgbe dpbncl0
bn $P
check "no IOMMU: refused, pointing at --noiommu; nothing loaded or bound" \
    'rc_is 1' 'err_has "no IOMMU"' 'err_has -- "--noiommu"' 'devbind_not_called' 'modprobe_not_called' \
    "no_state $P"

fresh noiommu
add_dev $P ixgbe dpbncl0
bn --noiommu $P
check "no IOMMU, --noiommu: loads vfio, writes Y, warns, binds" \
    'rc_is 0' '[ "$(cat "$S/module/vfio/parameters/enable_unsafe_noiommu_mode")" = Y ]' \
    "modprobe_log_is \$'vfio\nvfio-pci'" 'err_has "warning: vfio no-IOMMU mode is on"' \
    "devbind_log_is '--bind=vfio-pci $P'" "driver_is $P vfio-pci"

fresh noiommu
add_dev $P ixgbe -
export FAKE_NO_NOIOMMU=1
bn --noiommu $P
unset FAKE_NO_NOIOMMU
check "--noiommu on a kernel without no-IOMMU mode: error, nothing bound" \
    'rc_is 1' 'err_has "CONFIG_VFIO_NOIOMMU"' 'devbind_not_called'

fresh
add_dev $P ixgbe -
bn --noiommu $P
check "--noiommu with an IOMMU present: ignored, unsafe mode left off" \
    'rc_is 0' 'out_has "not needed"' '[ ! -e "$S/module/vfio/parameters/enable_unsafe_noiommu_mode" ]' \
    'modprobe_log_is vfio-pci'

fresh
add_dev $P ixgbe - 42
add_dev 0000:00:05.1 ixgbe - 42
bn $P
check "another bound device in the IOMMU group: warned about" \
    'rc_is 0' 'err_has "0000:00:05.1 shares IOMMU group 42 and is bound to ixgbe"'

# ---------------------------------------------------------------- unbind

fresh
add_dev $P ixgbe dpbncl0
bn $P
: > "$L/devbind.log"
bn --unbind $P
check "--unbind restores the remembered driver and forgets it" \
    'rc_is 0' "devbind_log_is '--bind=ixgbe $P'" "driver_is $P ixgbe" "no_state $P"

fresh
add_dev $P none -
bn $P
first_state=$(cat "$ST/$P.driver" 2>/dev/null)
: > "$L/devbind.log"
bn --unbind $P
check "a device that had no driver: remembered as none, --unbind leaves it driverless" \
    '[ "$first_state" = none ]' 'rc_is 0' "devbind_log_is '--unbind $P'" "driver_is $P none"

fresh
add_dev $P vfio-pci -
bn --unbind $P
check "--unbind without a remembered driver: error naming --driver" \
    'rc_is 1' 'err_has "no driver remembered for 0000:00:05.0"' 'err_has -- "--driver NAME"' 'devbind_not_called'

fresh
add_dev $P vfio-pci -
bn --unbind --driver e1000e 00:05.0
check "--unbind --driver NAME without state binds to NAME" \
    'rc_is 0' "devbind_log_is '--bind=e1000e $P'" "driver_is $P e1000e"

fresh
add_dev $P ixgbe -
mkdir -p "$ST" && echo ixgbe > "$ST/$P.driver"
bn --unbind $P
check "--unbind when already on the remembered driver: nothing to do, state cleared" \
    'rc_is 0' 'devbind_not_called' "no_state $P"

fresh
add_dev $P vfio-pci -
mkdir -p "$ST" && echo ixgbe > "$ST/$P.driver"
export FAKE_DEVBIND=noop
bn --unbind $P
unset FAKE_DEVBIND
check "--unbind that devbind did not carry out: error, state kept" \
    'rc_is 1' 'err_has "still on driver vfio-pci, not ixgbe"' "state_is $P ixgbe"

# ---------------------------------------------------------------- hygiene

if command -v shellcheck >/dev/null 2>&1; then
    rc=0
    out=$(shellcheck "$BN" 2>&1) || rc=1
    err=
    check "bind-nic.sh is shellcheck-clean" 'rc_is 0'
else
    skip "bind-nic.sh is shellcheck-clean" "shellcheck not installed"
fi

rc=0 out='' err=''
check "the real dpdk-devbind.py and modprobe were never reached" '[ ! -e "$T/guard.log" ]'

echo "1..$t_n"
[ "$t_failed" -eq 0 ]
