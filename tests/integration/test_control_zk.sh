#!/usr/bin/env bash
# dpcache-ctld with ZooKeeper: two instances elect one leader; the follower
# serves reads and refuses changes; kill -9 the leader and the other takes
# over (health probing included, with the meta protocol's `mn` as the probe);
# the published config never goes backwards.
# ZooKeeper (Debian's zookeeperd) runs on loopback with its own port and data
# directory under $DP_TMP, and is killed by PID at the end.
. "$(dirname "$0")/control_harness.sh"

ZK_SESSION=2000
# Takeover budget: the dead leader's session must expire first.
TAKEOVER_MS=$((ZK_SESSION * 2 + 2000))

if ! command -v java >/dev/null || [ ! -r "$ZK_JAR" ]; then
    echo "1..0 # SKIP zookeeperd is not installed (scripts/setup.sh installs it)"
    exit 0
fi

zk_port=$(ct_free_port)
zk_start "$zk_port"
CT_PIDS+=("$ZK_PID")
zk_ok() { "$PYTHON" - "$zk_port" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1)
s.sendall(b"ruok")
sys.exit(0 if s.recv(10) == b"imok" else 1)
EOF
}
ct_wait 30 zk_ok && t_ok "ZooKeeper runs on 127.0.0.1:$zk_port" || { t_fail "ZooKeeper starts" "$(cat "$DP_TMP/zk/out.log")"; t_done; }

ports=()
for i in 1 2 3; do ports+=("$(ct_free_port)"); done
mc_pids=()
for p in "${ports[@]}"; do
    mc_start "$p" || { t_fail "memcached starts"; t_done; }
    mc_pids+=("$MC_PID")
done
S1=127.0.0.1:${ports[0]} S2=127.0.0.1:${ports[1]} G=127.0.0.1:${ports[2]}

zk_args=(--zk "127.0.0.1:$zk_port" --zk-root "/dpcache-it/$$" --zk-session $ZK_SESSION
    --probe mn --probe-interval 100 --probe-timeout 200 --tko-after 3 --recover-after 2 --backoff-max 400)
role() { ctl "$1" --json status | jq_py 'j["role"]'; }
version() { ctl "$1" --json config get | jq_py 'j["version"]'; }

ctld_start a "${zk_args[@]}" --id ctld-a --config-out "$DP_TMP/a-config.json" || { t_fail "ctld a starts"; t_done; }
CTLD_A=$CTLD_PID
a_leads() { [ "$(role a)" = leader ]; }
ct_wait 15 a_leads
[ "$(role a)" = leader ] && t_ok "first ctld leads" || t_fail "first ctld leads" "$(ctl a status 2>&1)"
ctld_start b "${zk_args[@]}" --id ctld-b --config-out "$DP_TMP/b-config.json" || { t_fail "ctld b starts"; t_done; }
CTLD_B=$CTLD_PID
[ "$(role b)" = follower ] && t_ok "second ctld follows" || t_fail "second ctld follows" "$(ctl b status 2>&1)"
ctl b status | grep -q "leader: ctld-a" && t_ok "follower names the leader" || t_fail "follower names the leader" "$(ctl b status 2>&1)"

out=$( (ctl a region add r1 && ctl a cluster add c1 region=r1 && ctl a pool add main cluster=c1 &&
    ctl a pool add gut cluster=c1 kind=gutter && ctl a server add "$S1" pool=main &&
    ctl a server add "$S2" pool=main && ctl a server add "$G" pool=gut) 2>&1)
[ "$(echo "$out" | tail -n 1)" = "OK version 7" ] && t_ok "leader takes 7 changes" || t_fail "leader takes 7 changes" "$out"
b_has_7() { [ "$(version b)" = 7 ]; }
ct_wait 15 b_has_7 && t_ok "follower serves the same version (watch)" || t_fail "follower serves the same version" "b: $(version b)"
cmp -s <(ctl a --json config get) <(ctl b --json config get) && t_ok "leader and follower publish identical configs" ||
    t_fail "leader and follower publish identical configs"
out=$(ctl b region add r2 2>&1)
[ $? -ne 0 ] && echo "$out" | grep -q "^dpcachectl: not the leader: follower ctld-b" &&
    t_ok "follower refuses changes, naming the leader" || t_fail "follower refuses changes" "$out"

# The registry: a server's ephemeral node under ROOT/servers. When it vanishes
# the leader probes that server at once; the probe (good here) decides.
mkfifo "$DP_TMP/zkcli.in"
java -cp "$DP_TMP/zk:$ZK_JAR" org.apache.zookeeper.ZooKeeperMain \
    -server "127.0.0.1:$zk_port" -timeout 2000 <"$DP_TMP/zkcli.in" >"$DP_TMP/zkcli.log" 2>&1 &
ZKCLI_PID=$!
CT_PIDS+=("$ZKCLI_PID")
exec 3>"$DP_TMP/zkcli.in"
echo "create -e /dpcache-it/$$/servers/$S1 ''" >&3
registered() { ctl a --json status | jq_py "[s.get('registered') for s in j['servers'] if s['addr'] == '$S1'][0]" | grep -q True; }
ct_wait 15 registered && t_ok "a registered server shows in status" || t_fail "a registered server shows in status" "$(cat "$DP_TMP/zkcli.log")"
ct_kill "$ZKCLI_PID"
exec 3>&-
unreg_seen() { grep -q "registry: $S1 unregistered; probing it now" "$DP_TMP/a.log"; }
ct_wait 10 unreg_seen && t_ok "its node vanishing makes the leader probe it at once" || t_fail "unregistration triggers a probe" "$(tail -5 "$DP_TMP/a.log")"
# Judge the state once a probe has finished since: a probe, not a pause.
probes_ok() { ctl a --json status | jq_py "[s['counters']['probes_ok'] for s in j['servers'] if s['addr'] == '$S1'][0]"; }
ok0=$(probes_ok)
probed() { [ "$(probes_ok)" -gt "$ok0" ]; }
ct_wait 10 probed
up=$(ctl a --json status | jq_py "[s['state'] for s in j['servers'] if s['addr'] == '$S1'][0]")
[ "$up" = up ] && t_ok "the probe, not the registry, decides: it stays up" || t_fail "a live unregistered server stays up" "state $up"

ctl b --json config watch >"$DP_TMP/watch-b" 2>/dev/null &
CT_PIDS+=("$!")
ct_wait 15 test -s "$DP_TMP/watch-b" # connected: it has the current version

# kill -9 the leader: b takes over once a's session expires. Measured from
# the kill to b's own log line, so our polling does not count.
v_before=$(version b)
t0=$(now_ms)
ct_kill "$CTLD_A"
b_leads() { [ "$(role b)" = leader ]; }
if ct_wait 20 b_leads && at=$(ct_log_ms "$DP_TMP/b.log" "store: leader ctld-b"); then
    took=$((at - t0))
    [ "$took" -le "$TAKEOVER_MS" ] && t_ok "follower takes over in $took ms (budget $TAKEOVER_MS ms)" ||
        t_fail "follower takes over within $TAKEOVER_MS ms" "took $took ms"
else
    t_fail "follower takes over" "$(ctl b status 2>&1)" "$(tail -5 "$DP_TMP/b.log")"
fi
v_after=$(version b)
[ "$v_after" -ge "$v_before" ] && t_ok "version after takeover $v_after >= $v_before" || t_fail "version never goes back" "$v_before -> $v_after"
out=$(ctl b region add r2 2>&1)
[ "$out" = "OK version $((v_after + 1))" ] && t_ok "new leader takes changes: $out" || t_fail "new leader takes changes" "$out"

# The new leader probes: stop S2, it goes TKO.
ct_kill "${mc_pids[1]}"
is_tko() { ctl b --json config get | jq_py "'$S2' in j['config']['tko']" | grep -q True; }
ct_wait 15 is_tko && t_ok "new leader marks a stopped server TKO" || t_fail "new leader marks a stopped server TKO" "$(ctl b status 2>&1)"
n=$(ctl b route $(seq -f 'k%g' 1 100) | awk -v g="$G" '$3 == g && $4 == "gutter"' | wc -l)
[ "$n" -gt 0 ] && t_ok "its keys go to the gutter ($n of 100)" || t_fail "its keys go to the gutter"

# A restarted a follows and catches up; nothing went backwards anywhere.
ctld_start a "${zk_args[@]}" --id ctld-a2 --config-out "$DP_TMP/a-config.json" || t_fail "ctld a restarts"
CTLD_A=$CTLD_PID
same() { [ "$(version a)" = "$(version b)" ]; }
[ "$(role a)" = follower ] && ct_wait 15 same && t_ok "restarted ctld follows at version $(version a)" ||
    t_fail "restarted ctld follows and catches up" "a: $(role a) $(version a), b: $(version b)"

# A leader that stalls (SIGSTOP) past its session is replaced; when it wakes
# up it must not write (its session is gone, and writes are conditional on
# the znode version), must not blame the servers for its own pause, and must
# come back as a follower at the newest version.
t0=$(now_ms)
kill -STOP "$CTLD_B"
a_leads() { [ "$(role a)" = leader ]; }
ct_wait 20 a_leads && t_ok "a stalled leader is replaced in $(($(now_ms) - t0)) ms" ||
    t_fail "a stalled leader is replaced" "$(ctl a status 2>&1)"
out=$(ctl a region add r3 2>&1)
v_new=${out#OK version }
[[ $out =~ ^OK\ version\ [0-9]+$ ]] || t_fail "the new leader takes a change" "$out"
sleep_left=$((4500 - ($(now_ms) - t0)))
[ "$sleep_left" -gt 0 ] && sleep "$(awk -v ms="$sleep_left" 'BEGIN { print ms / 1000 }')"
kill -CONT "$CTLD_B"
b_caught_up() { [ "$(role b)" = follower ] && [ "$(version b)" = "$v_new" ]; }
ct_wait 15 b_caught_up && t_ok "the woken ex-leader follows at version $v_new" ||
    t_fail "the woken ex-leader follows at the new version" "b: $(role b) $(version b), want $v_new" "$(tail -5 "$DP_TMP/b.log")"
grep -q "stalled for" "$DP_TMP/b.log" && t_ok "it noticed its own stall" || t_fail "it noticed its own stall" "$(tail -5 "$DP_TMP/b.log")"
s1=$(ctl a --json config get | jq_py "'$S1' in j['config']['tko']")
[ "$s1" = False ] && t_ok "no healthy server was blamed for the stall" || t_fail "no healthy server was blamed for the stall"

# The watcher and the config files are written by other processes: wait
# (bounded) until they have the current version.
last=$(version b)
watch_has() { [ "$(tail -n 1 "$DP_TMP/watch-b" | jq_py 'j["version"]')" = "$1" ]; }
ct_wait 10 watch_has "$last"
files_have() {
    [ "$(jq_py 'j["version"]' <"$DP_TMP/a-config.json")" = "$1" ] &&
        [ "$(jq_py 'j["version"]' <"$DP_TMP/b-config.json")" = "$1" ]
}
ct_wait 10 files_have "$last"
res=$("$PYTHON" - "$DP_TMP/watch-b" "$last" <<'EOF'
import json, sys
v = [json.loads(l)["version"] for l in open(sys.argv[1]) if l.strip()]
ok = v and all(b > a for a, b in zip(v, v[1:])) and v[-1] == int(sys.argv[2])
print(("yes " if ok else "no ") + " ".join(map(str, v)))
EOF
)
case $res in
yes*) t_ok "b's config watch: versions only grow (${res#yes })" ;;
*) t_fail "b's config watch: versions only grow" "$res" "last $last" ;;
esac
fa=$(jq_py 'j["version"]' <"$DP_TMP/a-config.json")
fb=$(jq_py 'j["version"]' <"$DP_TMP/b-config.json")
[ "$fa" = "$last" ] && [ "$fb" = "$last" ] && t_ok "both config files at version $last" || t_fail "both config files at the last version" "a $fa, b $fb, want $last"
ct_stop "$CTLD_A"; rc_a=$?
ct_stop "$CTLD_B"; rc_b=$?
[ "$rc_a" -eq 0 ] && [ "$rc_b" -eq 0 ] && t_ok "both ctlds stop cleanly on SIGTERM" || t_fail "both ctlds stop cleanly" "a: $rc_a, b: $rc_b"
ct_sanitizer_check "$DP_TMP/a.log" "$DP_TMP/b.log"
t_done
