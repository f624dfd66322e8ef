#!/usr/bin/env bash
# dpcache-ctld with the local state file: three memcached servers in one pool
# plus a gutter. Stop one: within the probe budget it is TKO and the published
# config sends its keys (and only its keys) to the gutter; restart it: it comes
# back. Also the control socket's refusals, drain, kill -9 and restart.
. "$(dirname "$0")/control_harness.sh"

INTERVAL=100 TIMEOUT=200 K=3 M=2 BACKOFF_MAX=400
# Detection budget: K probes of INTERVAL each, the last one timing out, plus
# scheduling slack for a loaded machine. Measured from the kill to the TKO
# event's timestamp in ctld's log, so the test's own polling does not count.
BUDGET_MS=$((K * INTERVAL + TIMEOUT + 500))

ports=()
for i in 1 2 3 4; do ports+=("$(ct_free_port)"); done
mc_pids=()
for p in "${ports[@]}"; do
    mc_start "$p" || { t_fail "memcached starts"; t_done; }
    mc_pids+=("$MC_PID")
done
S1=127.0.0.1:${ports[0]} S2=127.0.0.1:${ports[1]} S3=127.0.0.1:${ports[2]} G=127.0.0.1:${ports[3]}

ctld_args=(--state-file "$DP_TMP/state.json" --config-out "$DP_TMP/config.json"
    --probe-interval $INTERVAL --probe-timeout $TIMEOUT --tko-after $K --recover-after $M
    --backoff-max $BACKOFF_MAX)
ctld_start a "${ctld_args[@]}" || { t_fail "dpcache-ctld starts"; t_done; }
CTLD_A=$CTLD_PID
t_ok "dpcache-ctld starts and answers"

mode=$(stat -c %a "$DP_TMP/a.sock")
[ "$mode" = 660 ] && t_ok "control socket is mode 0660" || t_fail "control socket is mode 0660" "mode $mode"

# The model, step by step: each change is one new version.
out=$( (ctl a region add r1 && ctl a cluster add c1 region=r1 &&
    ctl a pool add main cluster=c1 && ctl a pool add gut cluster=c1 kind=gutter ttl=10 &&
    ctl a server add "$S1" pool=main && ctl a server add "$S2" pool=main &&
    ctl a server add "$S3" pool=main weight=1 && ctl a server add "$G" pool=gut) 2>&1)
expected=$(printf 'OK version %s\n' 1 2 3 4 5 6 7 8)
[ "$out" = "$expected" ] && t_ok "8 changes give versions 1..8" || t_fail "8 changes give versions 1..8" "$out"

# expect_fail DESC PATTERN ARGS...: dpcachectl exits non-zero with one line matching.
expect_fail() {
    local desc=$1 pattern=$2 out rc
    shift 2
    out=$(ctl a "$@" 2>&1)
    rc=$?
    if [ "$rc" -ne 0 ] && [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] &&
        printf '%s\n' "$out" | grep -Eq "$pattern"; then
        t_ok "$desc"
    else
        t_fail "$desc" "exit $rc" "$out"
    fi
}
expect_fail "duplicate region is refused" "^dpcachectl: region 'r1' exists$" region add r1
expect_fail "region with clusters cannot be removed" "^dpcachectl: region 'r1' still has cluster 'c1'$" region remove r1
expect_fail "second gutter in a cluster is refused" "already has gutter pool 'gut'" pool add g2 cluster=c1 kind=gutter
expect_fail "unknown pool kind is refused" "^dpcachectl: kind: 'huge' is not" pool add x cluster=c1 kind=huge
expect_fail "server in two pools is refused" "is already in pool 'main'" server add "$S1" pool=gut
expect_fail "bad server address is refused" "is not host:port" server add nohost pool=main
expect_fail "unknown argument is refused" "unknown argument 'colour='" server add 127.0.0.1:1 pool=main colour=red
expect_fail "unknown verb is refused" "^dpcachectl: unknown command 'pool explode'$" pool explode
expect_fail "unknown command is refused (CLI)" "^dpcachectl: unknown command 'frobnicate'" frobnicate
out=$("$DPCACHECTL" --ctl-socket "$DP_TMP/none.sock" status 2>&1)
[ $? -ne 0 ] && echo "$out" | grep -q "^dpcachectl: cannot connect to $DP_TMP/none.sock" &&
    t_ok "missing control socket: one clear line" || t_fail "missing control socket: one clear line" "$out"
v=$(ctl a --json config get | jq_py 'j["version"]')
[ "$v" = 8 ] && t_ok "refused changes publish nothing (version still 8)" || t_fail "refused changes publish nothing" "version $v"

# The raw socket: unknown commands and oversized lines are refused.
raw=$("$PYTHON" - "$DP_TMP/a.sock" <<'EOF'
import socket, sys
def talk(data):
    s = socket.socket(socket.AF_UNIX); s.settimeout(3); s.connect(sys.argv[1])
    s.sendall(data); out = b""
    while True:
        try:
            b = s.recv(65536)
        except (socket.timeout, ConnectionResetError):
            break
        if not b: break
        out += b
        if not data.startswith(b"xxx") and out.endswith(b"\n"): break
    return out.decode()
print(talk(b"explode now\n").strip())
print(talk(b"x" * 5000 + b"\n").strip())
print(talk(b"server list " + b" ".join(b"k%d=v" % i for i in range(13)) + b"\n").strip())
print(talk(b"explode " + b" ".join(b"w%d" % i for i in range(20)) + b"\n").strip())
EOF
)
echo "$raw" | sed -n 1p | grep -q '"ok":false,"error":"unknown command' &&
    t_ok "socket refuses an unknown command" || t_fail "socket refuses an unknown command" "$raw"
echo "$raw" | sed -n 2p | grep -q '"error":"line longer than 4096 bytes"' &&
    t_ok "socket refuses an oversized line and closes" || t_fail "socket refuses an oversized line" "$raw"
echo "$raw" | sed -n 3p | grep -q '"error":"more than 12 key=value arguments"' &&
    echo "$raw" | sed -n 4p | grep -q '"error":"too many words"' &&
    t_ok "socket refuses too many arguments" || t_fail "socket refuses too many arguments" "$raw"

all_up() { ctl a --json status | jq_py 'all(s["state"] == "up" and s["counters"]["probes_ok"] > 0 for s in j["servers"])' | grep -q True; }
ct_wait 15 all_up && t_ok "all four servers probed healthy" || t_fail "all four servers probed healthy" "$(ctl a status 2>&1)"

keys=$(seq -f 'key:%g' 1 300)
# shellcheck disable=SC2086
ctl a route $keys >"$DP_TMP/route0" 2>&1
owners=$(awk '{print $3}' "$DP_TMP/route0" | sort | uniq -c | awk '{print $2}' | sort | tr '\n' ' ')
want=$(printf '%s\n' "$S1" "$S2" "$S3" | sort | tr '\n' ' ')
[ "$owners" = "$want" ] && t_ok "300 keys spread over the three servers, none to the gutter" ||
    t_fail "300 keys spread over the three servers" "$(awk '{print $3}' "$DP_TMP/route0" | sort | uniq -c)"

ctl a config watch >"$DP_TMP/watch" 2>"$DP_TMP/watch.err" &
WATCH_PID=$!
CT_PIDS+=("$WATCH_PID")

# Stop S2: TKO within the budget, its keys to the gutter, nobody else's move.
v_before=$(ctl a --json config get | jq_py 'j["version"]')
t0=$(now_ms)
ct_kill "${mc_pids[1]}"
is_tko() { ctl a --json config get | jq_py "'$1' in j['config']['tko']" | grep -q True; }
if ct_wait 10 is_tko "$S2" && at=$(ct_log_ms "$DP_TMP/a.log" "health: $S2 is TKO"); then
    took=$((at - t0))
    [ "$took" -le "$BUDGET_MS" ] && t_ok "stopped server is TKO in ${took} ms (budget ${BUDGET_MS} ms)" ||
        t_fail "stopped server is TKO within ${BUDGET_MS} ms" "took ${took} ms"
else
    t_fail "stopped server becomes TKO" "$(ctl a status 2>&1)"
fi
v_tko=$(ctl a --json config get | jq_py 'j["version"]')
[ "$v_tko" -gt "$v_before" ] && t_ok "TKO is a new config version ($v_before -> $v_tko)" || t_fail "TKO is a new version" "$v_before -> $v_tko"
# shellcheck disable=SC2086
ctl a route $keys >"$DP_TMP/route1" 2>&1
bad=$(paste -d' ' "$DP_TMP/route0" "$DP_TMP/route1" | awk -v s2="$S2" -v g="$G" '
    $3 == s2 { if (!($6 == g && $7 == "gutter")) print "not to gutter: " $0; n++ }
    $3 != s2 { if ($6 != $3 || $7 != "") print "moved: " $0 }
    END { if (n == 0) print "no key was on the stopped server" }')
[ -z "$bad" ] && t_ok "its keys go to the gutter; no other key moves" || t_fail "its keys go to the gutter; no other key moves" "$bad"
grep -q "health: $S2 is TKO" "$DP_TMP/a.log" && t_ok "TKO event logged" || t_fail "TKO event logged" "$(cat "$DP_TMP/a.log")"
tko_events=$(ctl a --json status | jq_py 'j["health"]["tko_events"]')
[ "$tko_events" = 1 ] && t_ok "TKO event counted" || t_fail "TKO event counted" "tko_events=$tko_events"
file_v=$(jq_py 'j["version"]' <"$DP_TMP/config.json")
[ "$file_v" = "$v_tko" ] && t_ok "config file carries the TKO version" || t_fail "config file carries the TKO version" "file $file_v, socket $v_tko"
# status reads each server's stats with a 1 s cap; a loaded machine may miss
# it once, so ask again (bounded) rather than judge one attempt.
status_tko() {
    out=$(ctl a status 2>&1)
    echo "$out" | grep "$S2" | grep -q "state=tko" && echo "$out" | grep "$S1" | grep -q "curr_items=" &&
        echo "$out" | grep -q "^cluster c1 (region r1): 3 servers, 1 TKO, gutter gut with 1$"
}
ct_wait 10 status_tko && t_ok "status shows the cluster, TKO and each server's own stats" || t_fail "status shows TKO and stats" "$out"

# Restart S2 on its port: after M good probes (with backoff) it returns.
mc_start "${ports[1]}" || t_fail "memcached restarts"
t0=$(now_ms)
not_tko() { ! is_tko "$1"; }
if ct_wait 10 not_tko "$S2"; then
    t_ok "restarted server recovers in $(($(now_ms) - t0)) ms"
else
    t_fail "restarted server recovers" "$(ctl a status 2>&1)"
fi
# shellcheck disable=SC2086
ctl a route $keys >"$DP_TMP/route2" 2>&1
cmp -s "$DP_TMP/route0" "$DP_TMP/route2" && t_ok "every key is back on its server" ||
    t_fail "every key is back on its server" "$(diff "$DP_TMP/route0" "$DP_TMP/route2" | head)"
grep -q "health: $S2 recovered" "$DP_TMP/a.log" && t_ok "recovery logged" || t_fail "recovery logged"

# A hung server (SIGSTOP: connects succeed, no reply) fails by timeouts.
t0=$(now_ms)
kill -STOP "${mc_pids[2]}"
if ct_wait 10 is_tko "$S3"; then
    t_ok "hung server is TKO after timeouts in $(($(now_ms) - t0)) ms"
else
    t_fail "hung server becomes TKO" "$(ctl a status 2>&1)"
fi
timed_out=$(ctl a --json status | jq_py "[s['counters']['probes_timed_out'] for s in j['servers'] if s['addr'] == '$S3'][0]")
[ "$timed_out" -ge "$K" ] && t_ok "its probes timed out ($timed_out)" || t_fail "its probes timed out" "probes_timed_out=$timed_out"
kill -CONT "${mc_pids[2]}"
ct_wait 10 not_tko "$S3" && t_ok "resumed server recovers" || t_fail "resumed server recovers" "$(ctl a status 2>&1)"

# Drain: keys go to the gutter without an alarm; undrain brings them back.
out=$(ctl a server drain "$S3" 2>&1) || t_fail "server drain" "$out"
# shellcheck disable=SC2086
n=$(ctl a route $keys | awk -v s="$S3" -v g="$G" '$3 == g && $4 == "gutter"' | wc -l)
s3=$(awk -v s="$S3" '$3 == s' "$DP_TMP/route0" | wc -l)
[ "$n" -eq "$s3" ] && [ "$n" -gt 0 ] && t_ok "drained server's $n keys go to the gutter" || t_fail "drained server's keys go to the gutter" "$n of $s3"
out=$(ctl a server undrain "$S3" 2>&1) || t_fail "server undrain" "$out"

# The watcher saw every version, in order, never going back. It is another
# process: wait (bounded) until it has written the current version.
last=$(ctl a --json config get | jq_py 'j["version"]')
watch_has() { [ "$(tail -n 1 "$DP_TMP/watch" | jq_py 'j["version"]')" = "$1" ]; }
ct_wait 10 watch_has "$last"
seen=$("$PYTHON" -c '
import json, sys
print(" ".join(str(json.loads(l)["version"]) for l in open(sys.argv[1]) if l.strip()))' "$DP_TMP/watch")
ok=$("$PYTHON" -c '
import sys
v = [int(x) for x in sys.argv[1].split()]
print("yes" if v and all(b == a + 1 for a, b in zip(v, v[1:])) and v[-1] == int(sys.argv[2]) else "no")' "$seen" "$last")
[ "$ok" = yes ] && t_ok "config watch streamed versions $(echo "$seen" | awk '{print $1 ".." $NF}') in order" ||
    t_fail "config watch streams every version in order" "seen: $seen" "last: $last"

# kill -9 and restart: the state file brings everything back, versions go on.
ct_kill "$CTLD_A"
ctld_start a "${ctld_args[@]}" || t_fail "dpcache-ctld restarts after kill -9"
CTLD_A=$CTLD_PID
v_after=$(ctl a --json config get | jq_py 'j["version"]')
n_srv=$(ctl a --json server list | jq_py 'len(j["items"])')
[ "$v_after" = "$last" ] && [ "$n_srv" = 4 ] && t_ok "after kill -9: version $v_after and 4 servers" ||
    t_fail "after kill -9 the state is back" "version $v_after (want $last), $n_srv servers"
out=$(ctl a server remove "$S3")
[ "$out" = "OK version $((last + 1))" ] && t_ok "changes go on from the restored version" || t_fail "changes go on from the restored version" "$out"
out=$(ctl a pool list)
echo "$out" | grep -q "^main .*servers=2" && t_ok "pool list shows the change" || t_fail "pool list shows the change" "$out"

# status reads a dpcached's counters from its admin socket (admin=PATH); a
# stand-in answers `stats` the way dpcached's admin socket does.
"$PYTHON" - "$DP_TMP/fake-admin.sock" <<'EOF' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1]); s.listen(4)
while True:
    c, _ = s.accept()
    if c.recv(100).startswith(b"stats"):
        c.sendall(b"STAT uptime 42\r\nSTAT workers 1\r\nSTAT rx_packets 1234\r\nEND\r\n")
    c.close()
EOF
CT_PIDS+=("$!")
# The socket file appears at bind(), before listen(): wait for an answer.
ct_wait 15 "$DPCACHECTL" --socket "$DP_TMP/fake-admin.sock" --timeout 2000 stats ||
    t_fail "the stand-in admin socket answers"
# Servers added from here on are real memcached, so that the probes keep them
# up: a dead address goes TKO within K probes, and what the checks below see
# would depend on how fast they run.
mc_start_free() {
    local p
    p=$(ct_free_port) && mc_start "$p" && MC_ADDR=127.0.0.1:$p
}
mc_start_free || t_fail "memcached starts"
S5=$MC_ADDR
out=$(ctl a server add "$S5" pool=gut admin="$DP_TMP/fake-admin.sock" 2>&1)
[[ $out =~ ^OK\ version\ [0-9]+$ ]] || t_fail "server add with admin=" "$out"
# status reads each server's stats with a 1 s cap: ask again (bounded) rather
# than judge one attempt on a loaded machine.
status_admin() {
    out=$(ctl a status 2>&1)
    echo "$out" | grep "^$S5 " | grep -q "rx_packets=1234"
}
ct_wait 10 status_admin && t_ok "status pulls a server's stats from its admin socket" ||
    t_fail "status pulls stats from the admin socket" "$out"

# A replicated pool: route names every owner (where sets and deletes go).
mc_start_free && S6=$MC_ADDR && mc_start_free && S7=$MC_ADDR || t_fail "memcached starts"
out=$( (ctl a pool add hot cluster=c1 kind=replicated prefix=hot: replicas=2 &&
    ctl a server add "$S6" pool=hot && ctl a server add "$S7" pool=hot) 2>&1) ||
    t_fail "replicated pool and its servers are added" "$out"
out=$(ctl a route hot:1 2>&1)
owners=$(echo "$out" | sed -n 's/.* owners=//p' | tr ',' '\n' | sort | tr '\n' ' ')
[ "$owners" = "$(printf '%s\n' "$S6" "$S7" | sort | tr '\n' ' ')" ] && echo "$out" | grep -q "^hot:1 hot " &&
    t_ok "a replicated key has both replicas as owners" || t_fail "a replicated key has both replicas as owners" "$out"

# A clean stop removes the socket.
ct_stop "$CTLD_A"
rc=$?
[ "$rc" -eq 0 ] && [ ! -e "$DP_TMP/a.sock" ] && t_ok "SIGTERM: exit 0, socket removed" || t_fail "SIGTERM: exit 0, socket removed" "exit $rc"
ct_sanitizer_check "$DP_TMP/a.log"
t_done
