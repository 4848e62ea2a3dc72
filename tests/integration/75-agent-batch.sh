#!/bin/bash
# 75-agent-batch.sh — the warm fetch agent serves the hooks that wait for it together
# (broker/fetch/agent.c, backend_fetch_hooks): while it reads for one hook (held 3 s at the
# fake), three more connect and wait in its backlog; it then takes the three in one batch of
# reads. Yet each container gets only its own: a dynamic secret that all three ask for is read
# once a hook (three leases, three passwords), its two fields within one hook from one read; the
# hook whose secret is missing fails alone, with its own line, and the other two start; the lease
# its other secret took is revoked by the agent. A batch that fails as a whole (its login) is
# fetched again hook by hook, each failing with its own line; a hook killed while the agent reads
# for it has its lease revoked by the agent. No value in any log at -v -v.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-vault.sh"
command -v ss >/dev/null 2>&1 || skip "ss is not installed (iproute2)"

TOK=hvs.$(new_secret)
V=$(new_secret)
SLOW=$(new_secret)
SID=$(new_secret)
start_vault_fake "{
 \"policies\": {\"app\": [\"secret/data/app/*\",
                         {\"path\": \"database/creds/app\", \"capabilities\": [\"read\"]},
                         {\"path\": \"sys/leases/revoke\", \"capabilities\": [\"update\"]}]},
 \"tokens\": [{\"id\": \"$TOK\", \"policies\": [\"app\"], \"ttl\": \"1h\"}],
 \"approle\": {\"roles\": {\"app\": {\"role_id\": \"rid-app\", \"policies\": [\"app\"], \"token_ttl\": \"1h\"}},
             \"secret_ids\": [{\"role\": \"app\", \"secret_id\": \"$SID\"}]},
 \"kv\": {\"secret/app/db\": {\"pw\": \"$V\"}, \"secret/app/slow\": {\"pw\": \"$SLOW\"}},
 \"database\": {\"roles\": {\"app\": {\"default_ttl\": \"1h\", \"max_ttl\": \"24h\"}}}}"
AGENT_JSON='{"enabled": true, "idle_s": 60}'
write_vault_config "$(auth_token "$TOK")"
VAULT_HOOK_OPTS="-v -v"
AGENT_LOG=$STATE/agent/agent.log

# backlog: how many connections wait in the agent's listen queue (ss: a listener's Recv-Q; the
# agent bound its socket through /proc/self/fd, so it is found by its pid, not by its path).
backlog() {
    ss -xlHp 2>/dev/null | awk -v p="pid=$(cat "$STATE/agent/agent.pid")," 'index($0, p) {print $3; exit}'
}

# held_batch SLOW FAULTS ID...: SLOW's hook holds the agent in a read the fake delays 3 s while
# the others connect and wait in its backlog, FAULTS (a JSON fault list, or "") armed once it is
# held; returns when all are done. HELD: faults fired by then (1: held); SEEN: the backlog seen.
held_batch() {
    local slow=$1 faults=$2 ps p i id pids=()
    shift 2
    vault_fault '{"type": "delay", "delay_ms": 3000, "path": "secret/data/app/slow", "count": 1}'
    run_container "$slow" &
    ps=$!
    vault_fault_fired || true
    HELD=$(vault_counter 'c["faults_fired"]')
    [ -z "$faults" ] || vault_fault "$faults"
    for id in "$@"; do
        run_container "$id" &
        pids+=($!)
    done
    for ((i = 0; i < 200; i++)); do
        [ "$(backlog)" = $# ] && break
        sleep 0.02
    done
    SEEN=$(backlog)
    wait "$ps" || true
    for p in "${pids[@]}"; do
        wait "$p" || true
    done
}

# hook_pids: this test's hook processes (the broker as runc runs it; not the agent, no watcher).
hook_pids() {
    local c pid comm agent
    agent=$(cat "$STATE/agent/agent.pid")
    for c in /proc/[0-9]*/cmdline; do
        pid=${c#/proc/}
        pid=${pid%/cmdline}
        read -r comm 2>/dev/null <"/proc/$pid/comm" || continue
        if [ "$pid" = "$agent" ] || [ "$comm" = lockbox-watch ]; then
            continue
        fi
        tr '\0' ' ' 2>/dev/null <"$c" | grep -q -F -- "--state-dir $STATE" && echo "$pid"
    done
    return 0
}

# The agent, warm: started by this hook, its connection open.
vault_bundle w db=vault:secret/app/db#pw
run_container w
delete_container w
assert_eq "warm-up: the value, through the agent" "$V" "$(out_value w fd.3)"
assert_match "warm-up: the agent fetched it" "$(cat "$T/broker.err")" "agent pid [0-9]+ fetched 1 secret"

vault_bundle s slow=vault:secret/app/slow#pw
vault_bundle b db=vault:secret/app/db#pw pw=vault:database/creds/app#password
vault_bundle c gone=vault:secret/app/missing#pw pw=vault:database/creds/app#password
vault_bundle d pw=vault:database/creds/app#password user=vault:database/creds/app#username
vault_ctl POST /counters/reset >/dev/null
mark=$(wc -l <"$AGENT_LOG")
held_batch s "" b c d
assert_eq "the agent is held in the slow read" 1 "$HELD"
assert_eq "three hooks wait in the agent's backlog meanwhile" 3 "$SEEN"
log=$(tail -n +$((mark + 1)) "$AGENT_LOG")
assert_contains "the agent took the three in one batch" "$log" \
    "agent: 3 hooks' requests, 6 secret(s), fetched in one batch"
assert_eq "the slow one: its value" "$SLOW" "$(out_value s fd.3)"

# Each its own: the dynamic secret read once a hook.
assert_eq "b: its static value" "$V" "$(out_value b fd.3)"
pwb=$(out_value b fd.4)
pwd=$(out_value d fd.3)
assert_match "b: a password" "$pwb" '^.{8,}$'
assert_match "d: a password" "$pwd" '^.{8,}$'
assert_match "d: a user name" "$(out_value d fd.4)" '^v-'
assert_true "b and d: not the same password (a lease each)" test "$pwb" != "$pwd"
assert_eq "three leases, one a hook (d's two fields from one read)" 3 \
    "$(vault_counter 'c["leases_issued"]')"
assert_eq "one read of database/creds/app a hook" 3 \
    "$(vault_counter 'c["requests"].get("GET database/creds/app", 0)')"
vault_until 'c["leases_revoked"]' 3 || true
assert_eq "three revoked: c's by the agent at once (c did not start), b's and d's at their poststop" \
    3 "$(vault_counter 'c["leases_revoked"]')"
assert_match "the agent revoked c's lease" "$(tail -n +$((mark + 1)) "$AGENT_LOG")" \
    "1 lease\\(s\\) taken for secrets that will not be placed"

# c alone fails, with its own line.
assert_eq "c: no output (it did not start)" "" "$(cat "$T/out/c.out")"
assert_match "c: the hook names its missing secret" "$(grep -h "secret 'gone'" "$T/broker.err")" \
    "vault:secret/app/missing#pw"
assert_eq "c's failure: no other container's secret named in a failing line" "" \
    "$(grep -h -e "secret 'db'" -e "secret 'user'" "$T/broker.err" | grep -i -e error -e fail)"
assert_match "the agent: the slow hook's 1 secret fetched on its own, before the batch" "$log" \
    "agent: pid [0-9]+: 1 secret\(s\) fetched in"
assert_eq "the agent: one failure, two fetches of this batch" "1 2" \
    "$(grep -c '2 secret(s) failed' <<<"$log") $(grep -c '2 secret(s) fetched' <<<"$log")"
assert_eq "no hook fell back to its own child" "" \
    "$(grep -h "fetching in this hook's own child" "$T/broker.err")"

# A batch that fails as a whole (AppRole: every read refused, as a revoked token's are, and the
# login that follows refused too): the agent fetches each hook's secrets again on its own, so
# that each fails with a line of its own that names its own secret, never another container's.
write_vault_config "$(auth_approle rid-app "$SID")"
vault_bundle w2 db=vault:secret/app/db#pw
vault_bundle w3 db=vault:secret/app/db#pw
run_container w2
run_container w3
assert_eq "AppRole: the value" "$V" "$(out_value w3 fd.3)"
assert_match "AppRole: the agent, warm, fetched it" "$(tail -n 3 "$T/broker.err")" \
    "agent pid [0-9]+ fetched 1 secret"
vault_bundle s2 slow=vault:secret/app/slow#pw
for id in e f g; do
    vault_bundle "$id" "${id}name=vault:secret/app/db#pw"
done
vault_ctl POST /counters/reset >/dev/null
mark=$(wc -l <"$AGENT_LOG")
emark=$(wc -l <"$T/broker.err")
held_batch s2 '[{"type": "status", "status": 403, "path": "secret/data/app/db", "count": -1},
                {"type": "status", "status": 400, "path": "auth/approle/login", "count": -1}]' e f g
assert_eq "whole batch: three hooks wait in the backlog" 3 "$SEEN"
vault_ctl DELETE /faults >/dev/null
log=$(tail -n +$((mark + 1)) "$AGENT_LOG")
assert_contains "whole batch: the three in one batch" "$log" \
    "agent: 3 hooks' requests, 3 secret(s), fetched in one batch"
assert_eq "whole batch: the slow one started" "$SLOW" "$(out_value s2 fd.3)"
errs=$(tail -n +$((emark + 1)) "$T/broker.err")
for id in e f g; do
    assert_eq "whole batch: $id did not start" "" "$(cat "$T/out/$id.out")"
    assert_eq "whole batch: one line names $id's secret, with the login's cause" 1 \
        "$(grep -c "secret '${id}name' (vault:secret/app/db#pw): vault login (approle" <<<"$errs")"
done
assert_eq "whole batch: three hooks failed, none fell back" "3 0" \
    "$(grep -c '1 secret(s) failed' <<<"$log") $(grep -c "fetching in this hook's own child" <<<"$errs")"
assert_eq "whole batch: each hook fetched again on its own (logins: the batch's, then one a hook)" 4 \
    "$(vault_counter 'sum(v for k, v in c["requests"].items() if k.endswith("auth/approle/login"))')"

# A hook killed while the agent reads for it: nobody will place what the agent read, so the
# agent revokes the lease when its answer finds the hook gone.
vault_bundle h pw=vault:database/creds/app#password
vault_ctl POST /counters/reset >/dev/null
vault_fault '{"type": "delay", "delay_ms": 3000, "path": "database/creds/app", "count": 1}'
mark=$(wc -l <"$AGENT_LOG")
run_container h &
ph=$!
vault_fault_fired || true
hooks=$(hook_pids)
assert_true "gone: its hook is there to kill" test -n "$hooks"
# shellcheck disable=SC2086 # one pid a word
kill -KILL $hooks
wait "$ph" || true
vault_until 'c["leases_revoked"]' 1 || true
log=$(tail -n +$((mark + 1)) "$AGENT_LOG")
assert_match "gone: the agent's answer found the hook gone" "$log" \
    "1 secret\\(s\\) fetched in [0-9]+ ms \\(the hook went away\\)"
assert_eq "gone: its lease, issued and revoked by the agent" "1 1" \
    "$(vault_counter 'c["leases_issued"]') $(vault_counter 'c["leases_revoked"]')"
assert_eq "gone: the container did not start" "" "$(cat "$T/out/h.out")"

for id in s b c d w2 w3 s2 e f g h; do
    delete_container "$id"
done
assert_clean b
assert_clean d
for v in "$V" "$SLOW" "$pwb" "$pwd"; do
    assert_eq "no value in the agent's log" 0 "$(grep -c -F -- "$v" "$AGENT_LOG")"
    assert_eq "no value in the hooks' log" 0 "$(grep -c -F -- "$v" "$T/broker.err")"
done
finish
