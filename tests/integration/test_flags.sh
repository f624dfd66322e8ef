#!/usr/bin/env bash
# Bad flags: dpcached and dpcachectl exit non-zero with one line naming the problem.
. "$(dirname "$0")/harness.sh"

# expect_error DESCRIPTION PATTERN COMMAND...: fails with a last line matching PATTERN.
expect_error() {
    local desc=$1 pattern=$2 out rc
    shift 2
    out=$("$@" 2>&1)
    rc=$?
    last=$(printf '%s\n' "$out" | tail -n 1)
    if [ "$rc" -ne 0 ] && printf '%s\n' "$last" | grep -Eq "$pattern"; then
        t_ok "$desc"
    else
        t_fail "$desc" "exit $rc" "$out"
    fi
}

eal=(-l 0,1 --no-pci --file-prefix "$DP_ID" --no-huge -m 256)

expect_error "--ip 300.1.1.1/24 is refused" "^dpcached: --ip: '300.1.1.1/24' is not" \
    "$DPCACHED" "${eal[@]}" -- --ip 300.1.1.1/24
expect_error "--ip without prefix is refused" "^dpcached: --ip: '198.18.0.2' is not" \
    "$DPCACHED" "${eal[@]}" -- --ip 198.18.0.2
expect_error "missing --ip is refused" "^dpcached: --ip is required" \
    "$DPCACHED" "${eal[@]}" --
expect_error "unknown option is refused" "^dpcached: unknown option '--frobnicate'" \
    "$DPCACHED" "${eal[@]}" -- --ip 198.18.0.2/24 --frobnicate
expect_error "bad --mac is refused" "^dpcached: --mac: 'ff:ff:ff:ff:ff:ff' is not" \
    "$DPCACHED" "${eal[@]}" -- --ip 198.18.0.2/24 --mac ff:ff:ff:ff:ff:ff
expect_error "bad --idle-sleep is refused" "^dpcached: --idle-sleep: 'soon' is not" \
    "$DPCACHED" "${eal[@]}" -- --ip 198.18.0.2/24 --idle-sleep soon
expect_error "no worker lcores is refused" "^dpcached: no worker lcores" \
    "$DPCACHED" -l 0 --no-pci --file-prefix "$DP_ID" --no-huge -m 64 -- --ip 198.18.0.2/24
expect_error "no port is refused" "^dpcached: --port: no DPDK port 0" \
    "$DPCACHED" "${eal[@]}" -- --ip 198.18.0.2/24 --admin-socket "$DP_SOCK"
expect_error "bad EAL option is refused" "^dpcached: EAL initialisation failed" \
    "$DPCACHED" --no-pci --file-prefix "$DP_ID" --no-huge --bogus-eal -- --ip 198.18.0.2/24
echo "not a socket" > "$DP_TMP/file"
expect_error "admin socket path that is a file is refused" "^dpcached: --admin-socket: .* not a socket" \
    "$DPCACHED" "${eal[@]}" --vdev=net_null0 -- --ip 198.18.0.2/24 --admin-socket "$DP_TMP/file"
out=$("$DPCACHED" -- --help 2>&1)
if echo "$out" | grep -q -- '--ip ADDR/PREFIX' && echo "$out" | grep -q -- '--admin-socket PATH'; then
    t_ok "--help lists the options"
else
    t_fail "--help lists the options" "$out"
fi

expect_error "dpcachectl without a command" "^dpcachectl: no command given" "$DPCACHECTL"
expect_error "dpcachectl with an unknown command" "^dpcachectl: unknown command 'explode'" \
    "$DPCACHECTL" explode
expect_error "dpcachectl with a missing socket" "^dpcachectl: cannot connect to $DP_TMP/none.sock" \
    "$DPCACHECTL" --socket "$DP_TMP/none.sock" stats
expect_error "dpcachectl with a bad timeout" "^dpcachectl: --timeout: 'x' is not" \
    "$DPCACHECTL" --timeout x stats
left=$(ls /dev/hugepages/ /var/run/dpdk/ 2>/dev/null | grep "^$DP_ID")
[ -z "$left" ] && t_ok "failed starts leave nothing behind" || t_fail "failed starts leave nothing behind" "$left"
t_done
