#!/usr/bin/env bash
# dpcache-ctld against real dpcached (issue 7): three dpcached (--idle-sleep,
# each on its own TAP and /24 in the test's namespace, 198.18.N.2) in one
# pool, a stock memcached in the namespace as the gutter; ctld and dpcachectl
# run in the namespace too. Checks: the probes mark all healthy; `status`
# shows each dpcached's own counters from its admin socket after sets and
# gets over TCP; a killed dpcached is TKO within the probe budget and the
# published config (socket and file) sends its keys, and only its keys, to
# the gutter; restarted on the same address it returns; a hung one (SIGSTOP)
# goes TKO by timeouts and returns on SIGCONT with its cache intact; the
# config version only grows; no probe connection stays behind in a dpcached;
# all of them stop cleanly. About 7 s.
#
# Memory: each dpcached takes about 27 hugepages of 2 MB (its mbuf pool:
# 16384 mbufs for its one worker); the store (-m 16) is ordinary memory.
. "$(dirname "$0")/control_harness.sh"
ct_in=(ip netns exec "$DP_NS")
MC_KEYS=$(dirname "$0")/mc_keys.py
ct_in_keys() { "${ct_in[@]}" "$PYTHON" "$MC_KEYS" "$@"; }

INTERVAL=200 TIMEOUT=200 K=3 M=2 BACKOFF_MAX=800
# Detection budget (timeout <= interval), measured from the kill (or stop) to
# the TKO event's timestamp in ctld's log, plus slack for a loaded machine. A
# dead dpcached's TAP goes with it, so its probes fail at once (no route); a
# hung one's time out, and the next starts an interval after the last began.
BUDGET_MS=$((K * INTERVAL + TIMEOUT + 500))
DP_ARGS=(-m 16)

t0=$(now_ms)
for n in 1 2 3; do dp_spawn_n "$n" "${DP_ARGS[@]}" || { t_fail "dpcached $n starts"; t_done; }; done
for n in 1 2 3; do
    dp_ready_n "$n" 2>"$DP_TMP/start.err" || { t_fail "dpcached $n starts" "$(cat "$DP_TMP/start.err")"; t_done; }
done
t_ok "three dpcached start, each on its own TAP ($(($(now_ms) - t0)) ms)"
S1=$(dp_n_ip 1):11211 S2=$(dp_n_ip 2):11211 S3=$(dp_n_ip 3):11211
modes=$(for n in 1 2 3; do dp_n_ctl "$n" stats | awk '$2 == "idle_mode" { print $3 }'; done | tr '\n' ' ')
[ "$modes" = "interrupt interrupt interrupt " ] && t_ok "each idles on RX interrupts (no busy poll)" ||
    t_fail "each idles on RX interrupts" "idle_mode: $modes"

mc_start 11211 || { t_fail "memcached (the gutter) starts in the namespace"; t_done; }
G=127.0.0.1:11211

ctld_args=(--state-file "$DP_TMP/state.json" --config-out "$DP_TMP/config.json"
    --probe-interval $INTERVAL --probe-timeout $TIMEOUT --tko-after $K --recover-after $M
    --backoff-max $BACKOFF_MAX)
ctld_start a "${ctld_args[@]}" || { t_fail "dpcache-ctld starts"; t_done; }
CTLD_A=$CTLD_PID
out=$( (ctl a region add r1 && ctl a cluster add c1 region=r1 &&
    ctl a pool add main cluster=c1 && ctl a pool add gut cluster=c1 kind=gutter ttl=10 &&
    ctl a server add "$S1" pool=main admin="$(dp_n_sock 1)" &&
    ctl a server add "$S2" pool=main admin="$(dp_n_sock 2)" &&
    ctl a server add "$S3" pool=main admin="$(dp_n_sock 3)" &&
    ctl a server add "$G" pool=gut) 2>&1)
[ "$out" = "$(printf 'OK version %s\n' 1 2 3 4 5 6 7 8)" ] &&
    t_ok "ctld in the namespace: a cluster with the three dpcached and a gutter (versions 1..8)" ||
    t_fail "the cluster is set up" "$out"

all_up() { ctl a --json status | jq_py 'all(s["state"] == "up" and s["counters"]["probes_ok"] > 0 for s in j["servers"])' | grep -q True; }
ct_wait 15 all_up && t_ok "ctld's probes mark all four servers healthy" ||
    t_fail "ctld's probes mark all four healthy" "$(ctl a status 2>&1)"

ctl a config watch >"$DP_TMP/watch" 2>"$DP_TMP/watch.err" &
CT_PIDS+=("$!")

# 300 keys where the published config puts them, stored and read back over
# TCP; each dpcached's own counters must then match what the config gave it.
keys=$(seq -f 'key:%g' 1 300)
# shellcheck disable=SC2086
ctl a route $keys >"$DP_TMP/route0" 2>&1
owners=$(awk '{print $3}' "$DP_TMP/route0" | sort -u | tr '\n' ' ')
[ "$owners" = "$(printf '%s\n' "$S1" "$S2" "$S3" | sort | tr '\n' ' ')" ] &&
    t_ok "300 keys spread over the three dpcached, none to the gutter" ||
    t_fail "300 keys spread over the three dpcached" "$(awk '{print $3}' "$DP_TMP/route0" | sort | uniq -c)"
C=()
for n in 1 2 3; do C[n]=$(awk -v s="$(dp_n_ip "$n"):11211" '$3 == s' "$DP_TMP/route0" | wc -l); done
C1=${C[1]} C2=${C[2]} C3=${C[3]}
t_check "each key is set at its dpcached over TCP" ct_in_keys set "$DP_TMP/route0"
out=$(ct_in_keys get "$DP_TMP/route0" 2>&1)
want=$(printf '%s\n' "$S1 $C1 0" "$S2 $C2 0" "$S3 $C3 0" | sort)
[ "$out" = "$want" ] && t_ok "each key is read back from its dpcached ($C1/$C2/$C3 hits)" ||
    t_fail "each key is read back from its dpcached" "$out" "want: $want"
# stat_is LINE NAME VALUE
stat_is() { echo "$1" | grep -Eq "(\| | )$2=$3( |$)"; }
status_counts() {
    local n c line
    out=$(ctl a status 2>&1)
    for n in 1 2 3; do
        c=${C[n]}
        line=$(echo "$out" | grep "^$(dp_n_ip "$n"):11211 ")
        stat_is "$line" curr_items "$c" && stat_is "$line" get_hits "$c" &&
            stat_is "$line" get_misses 0 && stat_is "$line" workers 1 &&
            echo "$line" | grep -q " rx_packets=[1-9]" || return 1
    done
    echo "$out" | grep "^$G " | grep -q " curr_items=0"
}
ct_wait 10 status_counts &&
    t_ok "status: each dpcached's curr_items, get_hits and rx_packets from its admin socket" ||
    t_fail "status shows each dpcached's own counters" "$out"

# Kill S2 (a crash): TKO within the budget, its keys and only its keys to the
# gutter, in the socket's config and in the file.
is_tko() { ctl a --json config get | jq_py "'$1' in j['config']['tko']" | grep -q True; }
not_tko() { ! is_tko "$1"; }
version() { ctl a --json config get | jq_py 'j["version"]'; }
v_before=$(version)
t0=$(now_ms)
dp_kill_n 2
if ct_wait 10 is_tko "$S2" && at=$(ct_log_ms "$DP_TMP/a.log" "health: $S2 is TKO"); then
    took=$((at - t0))
    [ "$took" -le "$BUDGET_MS" ] && t_ok "killed dpcached is TKO in ${took} ms (budget ${BUDGET_MS} ms)" ||
        t_fail "killed dpcached is TKO within ${BUDGET_MS} ms" "took ${took} ms"
else
    t_fail "killed dpcached becomes TKO" "$(ctl a status 2>&1)"
fi
v_tko=$(version)
[ "$v_tko" -gt "$v_before" ] && t_ok "TKO is a new config version ($v_before -> $v_tko)" ||
    t_fail "TKO is a new config version" "$v_before -> $v_tko"
# only_to_gutter ROUTES_BEFORE ROUTES_AFTER SERVER: prints what is wrong.
only_to_gutter() {
    paste -d' ' "$1" "$2" | awk -v s="$3" -v g="$G" '
        $3 == s { if (!($6 == g && $7 == "gutter")) print "not to the gutter: " $0; n++ }
        $3 != s { if ($6 != $3 || $7 != "") print "moved: " $0 }
        END { if (n == 0) print "no key was on " s }'
}
# shellcheck disable=SC2086
ctl a route $keys >"$DP_TMP/route1" 2>&1
bad=$(only_to_gutter "$DP_TMP/route0" "$DP_TMP/route1" "$S2")
[ -z "$bad" ] && t_ok "config get: its $C2 keys go to the gutter, no other key moves" ||
    t_fail "config get: its keys go to the gutter, no other key moves" "$bad"
same_doc() {
    "$PYTHON" -c '
import json, sys
f = json.load(open(sys.argv[1]))
s = json.loads(sys.argv[2])["config"]
sys.exit(0 if f == s and sys.argv[3] in f["tko"] else 1)' "$DP_TMP/config.json" "$(ctl a --json config get)" "$1"
}
same_doc "$S2" && t_ok "the config file is the same document (version $v_tko, $S2 in tko)" ||
    t_fail "the config file is the published document" "$(cat "$DP_TMP/config.json")"
status_tko() {
    out=$(ctl a status 2>&1)
    echo "$out" | grep "^$S2 " | grep -q "state=tko .*| stats unavailable" &&
        echo "$out" | grep -q "^cluster c1 (region r1): 3 servers, 1 TKO, gutter gut with 1$"
}
ct_wait 10 status_tko && t_ok "status shows it TKO, without stats" || t_fail "status shows it TKO" "$out"
out=$(ct_in_keys get "$DP_TMP/route1" 2>&1)
want=$(printf '%s\n' "$S1 $C1 0" "$S3 $C3 0" "$G 0 $C2" | sort)
[ "$out" = "$want" ] && t_ok "gets by the new config: the others still hit, its keys miss at the gutter" ||
    t_fail "gets by the new config" "$out" "want: $want"

# Restart it on the same address: after M good probes it returns.
t0=$(now_ms)
dp_start_n 2 "${DP_ARGS[@]}" 2>"$DP_TMP/start.err" || t_fail "dpcached 2 restarts" "$(cat "$DP_TMP/start.err")"
if ct_wait 10 not_tko "$S2"; then
    t_ok "restarted dpcached returns in $(($(now_ms) - t0)) ms (start-up included)"
else
    t_fail "restarted dpcached returns" "$(ctl a status 2>&1)"
fi
grep -q "health: $S2 recovered, its keys come back ($M consecutive good probes)" "$DP_TMP/a.log" &&
    t_ok "recovery logged after $M good probes" || t_fail "recovery logged after $M good probes" "$(grep health: "$DP_TMP/a.log")"
# shellcheck disable=SC2086
ctl a route $keys >"$DP_TMP/route2" 2>&1
cmp -s "$DP_TMP/route0" "$DP_TMP/route2" && t_ok "every key is back on its dpcached" ||
    t_fail "every key is back on its dpcached" "$(diff "$DP_TMP/route0" "$DP_TMP/route2" | head)"

# Hang S3 (SIGSTOP: its TAP stays, nothing answers): TKO by timeouts.
t0=$(now_ms)
kill -STOP "${DP_PIDS[3]}"
if ct_wait 10 is_tko "$S3" && at=$(ct_log_ms "$DP_TMP/a.log" "health: $S3 is TKO"); then
    took=$((at - t0))
    [ "$took" -le "$BUDGET_MS" ] && t_ok "hung dpcached is TKO in ${took} ms (budget ${BUDGET_MS} ms)" ||
        t_fail "hung dpcached is TKO within ${BUDGET_MS} ms" "took ${took} ms"
else
    t_fail "hung dpcached becomes TKO" "$(ctl a status 2>&1)"
fi
timed_out=$(ctl a --json status | jq_py "[s['counters']['probes_timed_out'] for s in j['servers'] if s['addr'] == '$S3'][0]")
[ "$timed_out" -ge "$K" ] && t_ok "its probes timed out ($timed_out)" || t_fail "its probes timed out" "probes_timed_out=$timed_out"
# shellcheck disable=SC2086
ctl a route $keys >"$DP_TMP/route3" 2>&1
bad=$(only_to_gutter "$DP_TMP/route0" "$DP_TMP/route3" "$S3")
[ -z "$bad" ] && same_doc "$S3" && t_ok "its keys, and only its keys, go to the gutter (socket and file)" ||
    t_fail "its keys, and only its keys, go to the gutter" "$bad"
kill -CONT "${DP_PIDS[3]}"
t0=$(now_ms)
ct_wait 10 not_tko "$S3" && t_ok "resumed dpcached returns in $(($(now_ms) - t0)) ms" ||
    t_fail "resumed dpcached returns" "$(ctl a status 2>&1)"
out=$(ct_in_keys get "$DP_TMP/route0" 2>&1)
want=$(printf '%s\n' "$S1 $C1 0" "$S2 0 $C2" "$S3 $C3 0" | sort)
[ "$out" = "$want" ] && t_ok "the resumed one still has its keys; the restarted one is empty" ||
    t_fail "gets after the recoveries" "$out" "want: $want"

# Every version, in order, each one more than the last.
last=$(version)
watch_has() { [ "$(tail -n 1 "$DP_TMP/watch" | jq_py 'j["version"]')" = "$1" ]; }
ct_wait 10 watch_has "$last"
seen=$("$PYTHON" -c '
import json, sys
print(" ".join(str(json.loads(l)["version"]) for l in open(sys.argv[1]) if l.strip()))' "$DP_TMP/watch")
ok=$("$PYTHON" -c '
import sys
v = [int(x) for x in sys.argv[1].split()]
print("yes" if v and all(b == a + 1 for a, b in zip(v, v[1:])) and v[-1] == int(sys.argv[2]) else "no")' "$seen" "$last")
[ "$ok" = yes ] && [ "$last" -eq $((v_tko + 3)) ] &&
    t_ok "config watch: versions $(echo "$seen" | awk '{print $1 ".." $NF}'), one per event, only growing" ||
    t_fail "config watch: the version only grows" "seen: $seen" "last: $last"
n=$(ctl a --json status | jq_py '"%d %d" % (j["health"]["tko_events"], j["health"]["recoveries"])')
[ "$n" = "2 2" ] && t_ok "health counters: 2 TKO events, 2 recoveries" || t_fail "health counters" "$n"

# Nothing of ctld's probes stays behind in the dpcached: each closed, and the
# ones that gave up while S3 was stopped answered its late SYN-ACKs with RSTs,
# which must free those half-open connections (they once stayed counted).
no_leftovers() {
    local n st
    out=
    for n in 1 2 3; do
        st=$(dp_n_ctl "$n" stats | awk '$2 ~ /^tcp_(curr_connections|half_open)$/ { printf " %s=%s", $2, $3 }')
        out+="$n:$st"$'\n'
        [ "$st" = " tcp_curr_connections=0 tcp_half_open=0" ] || return 1
    done
}
if ct_wait 10 no_leftovers; then
    n=$(dp_n_ctl 3 stats | awk '$2 == "tcp_resets_received" { print $3 }')
    t_ok "no TCP connection or half-open one left in any dpcached (the hung one got $n RSTs)"
else
    t_fail "no TCP connection or half-open one left in any dpcached" "$out"
fi
# Clean stops: ctld, then each dpcached (the hung-and-resumed and the restarted
# one included) exits 0 on SIGTERM.
ct_stop "$CTLD_A"
rc=$?
[ "$rc" -eq 0 ] && [ ! -e "$DP_TMP/a.sock" ] && t_ok "ctld: SIGTERM, exit 0, socket removed" ||
    t_fail "ctld: SIGTERM, exit 0" "exit $rc"
rcs=
for n in 1 2 3; do
    ct_stop "${DP_PIDS[n]}"
    rcs+="$? "
    DP_PIDS[n]=
done
[ "$rcs" = "0 0 0 " ] && t_ok "the three dpcached exit 0 on SIGTERM" ||
    t_fail "the three dpcached exit 0 on SIGTERM" "exit: $rcs" "$(tail -n 5 "$DP_TMP"/dpcached-*.log)"
ct_sanitizer_check "$DP_TMP/a.log" "$DP_TMP"/dpcached-*.log
t_done
