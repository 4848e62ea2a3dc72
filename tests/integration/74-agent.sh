#!/bin/bash
# 74-agent.sh — the warm fetch agent (broker/fetch/agent.h): started on demand by the first hook
# that needs Vault, one agent for a burst of concurrent hooks, which then costs one login, the
# connections of one HTTP client (the fake is HTTP/1.1: at most 6), and one mount lookup (the
# agent remembers the mount, and looks it up again when a read under it fails: a mount remade
# as KV v1); no token file while it runs;
# confined as the fetch child is (uid 65534, no capability, no_new_privs, its seccomp filter),
# non-dumpable, its secrets in locked memory, none of the hook's pipes held; status shows it; a
# non-root process is refused even where it can reach the socket; killed mid-fetch, the hook falls
# back to its own child and nothing is lost or left; a stale socket (nobody listening, or a listener
# that is not an agent) is replaced or fallen back from; a changed fetcher uid makes the agent exit
# and the next one runs as the new uid; it idles out; "enabled": false starts none; a socket passed
# as systemd passes one (LISTEN_FDS) is served. No value or credential in its log at -v -v.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-vault.sh"
command -v setpriv >/dev/null 2>&1 || skip "setpriv is not installed (util-linux)"

V=$(new_secret)
SID=$(new_secret)
V3=$(new_secret)
V4=$(new_secret)
start_vault_fake "{
 \"mounts\": {\"kvs\": {\"type\": \"kv\", \"version\": 2}},
 \"policies\": {\"app\": [\"secret/data/app/*\", \"kvs/data/app/*\", \"kvs/app/*\"]},
 \"kv\": {\"secret/app/db\": {\"pw\": \"$V\"}, \"kvs/app/db\": {\"pw\": \"$V3\"}},
 \"approle\": {\"roles\": {\"app\": {\"role_id\": \"rid\", \"policies\": [\"app\"], \"token_ttl\": \"1h\"}},
             \"secret_ids\": [{\"role\": \"app\", \"secret_id\": \"$SID\", \"num_uses\": 0}]}}"
AGENT_JSON='{"enabled": true, "idle_s": 60}'
write_vault_config "$(auth_approle rid "$SID")"
VAULT_HOOK_OPTS="-v -v"
SOCK=$STATE/agent/agent.sock
AGENT_LOG=$STATE/agent/agent.log

# agent_pid: the pid the agent wrote, when that process is an agent of ours.
agent_pid() {
    local p
    p=$(cat "$STATE/agent/agent.pid" 2>/dev/null) || return 0
    if [ "$(cat "/proc/$p/comm" 2>/dev/null)" = lockbox-agent ]; then echo "$p"; fi
}

# wait_gone PID SECONDS: until PID has exited.
wait_gone() {
    local i
    for ((i = 0; i < $2 * 20; i++)); do
        [ -d "/proc/$1" ] || return 0
        sleep 0.05
    done
    return 1
}

# field PID NAME: a field of /proc/PID/status, its whitespace squeezed.
field() {
    awk -v k="$2:" '$1 == k {$1 = ""; sub(/^ /, ""); print}' "/proc/$1/status" 2>/dev/null
}

# bundle ID: a container asking for db=vault:secret/app/db#pw, printing fd 3; hooks at -v -v.
bundle() {
    make_bundle "$1" /lockbox-shim -- /bin/lbx-testapp read-fd:3
    annotate "$1" io.lockbox.secret.db=vault:secret/app/db#pw
    # shellcheck disable=SC2086 # options, split on purpose
    add_hooks "$1" $VAULT_HOOK_OPTS
}

# run_one ID: a container of bundle's, run to its end and deleted; RC its status.
run_one() {
    bundle "$1"
    run_container "$1"
    delete_container "$1"
}

# kvs_one ID: the same for db=vault:kvs/app/db#pw.
kvs_one() {
    make_bundle "$1" /lockbox-shim -- /bin/lbx-testapp read-fd:3
    annotate "$1" io.lockbox.secret.db=vault:kvs/app/db#pw
    # shellcheck disable=SC2086 # options, split on purpose
    add_hooks "$1" $VAULT_HOOK_OPTS
    run_container "$1"
    delete_container "$1"
}

# lookups PATH: the mount lookups the fake answered for PATH since its counters were reset.
lookups() {
    vault_counter "c[\"requests\"].get(\"GET sys/internal/ui/mounts/$1\", 0)"
}

# client UID CAPS: a python client that connects to the agent's socket as UID (with ambient
# CAPS, e.g. "+dac_override") and asks for its status: prints "connect ERRNO", "closed" (the
# agent closed the connection: the send or the receive failed, or nothing came) or "answer N"
# (bytes).
client() {
    setpriv --reuid="$1" --regid="$1" --clear-groups ${2:+--inh-caps=$2 --ambient-caps=$2} \
        "$PY" - "$SOCK" <<'EOF'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.settimeout(10)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print("connect", e.errno)
    sys.exit(0)
try:
    s.send(struct.pack("<IIII32sHH", 0x41584C42, 1, 2, 0, bytes(32), 0, 0))
    d = s.recv(65536)
except (BrokenPipeError, ConnectionResetError):
    d = b""
print("answer %d" % len(d) if d else "closed")
EOF
}

# 1. On demand, and shared by a burst: 8 hooks at once, one agent, one login, its connections
# kept. The fake speaks HTTP/1.1: hooks the agent takes in one batch are read in parallel, over
# at most 6 connections (libcurl's limit a host; over HTTP/2, as `make bench`'s front, one).
assert_eq "no agent before the first hook" "" "$(our_agents)"
assert_true "no socket before the first hook" test ! -e "$SOCK"
for i in 1 2 3 4 5 6 7 8; do
    bundle "b$i"
done
vault_ctl POST /counters/reset >/dev/null
pids=()
for i in 1 2 3 4 5 6 7 8; do
    run_container "b$i" &
    pids+=($!)
done
for p in "${pids[@]}"; do
    wait "$p" || true
done
got=0
for i in 1 2 3 4 5 6 7 8; do
    [ "$(out_value "b$i" fd.3)" = "$V" ] && got=$((got + 1))
    delete_container "b$i"
done
assert_eq "burst: 8 containers got the value" 8 "$got"
assert_eq "burst: one AppRole login" 1 "$(vault_counter 'c["logins"]["approle"]')"
conns=$(vault_counter 'c["connections"]')
assert_true "burst: 1 to 6 TLS connections to Vault ($conns)" test "$conns" -ge 1 -a "$conns" -le 6
assert_eq "burst: one mount lookup (the agent remembers the mount)" 1 "$(lookups secret/app/db)"
A=$(agent_pid)
assert_true "burst: an agent runs" test -n "$A"
assert_eq "burst: exactly one agent" "$A" "$(our_agents)"
assert_match "burst: each hook says the agent fetched" \
    "$(grep -c "agent pid $A fetched 1 secret" "$T/broker.err")" '^8$'
assert_eq "no token file while the agent runs" "" "$(ls -A "$STATE/tokens" 2>/dev/null)"

# 2. What it is: confined as the fetch child, non-dumpable, locked memory, no hook's pipe.
assert_eq "agent: uid 65534" "65534 65534 65534 65534" "$(field "$A" Uid)"
assert_eq "agent: gid 65534" "65534 65534 65534 65534" "$(field "$A" Gid)"
for c in CapInh CapPrm CapEff CapBnd CapAmb; do
    assert_eq "agent: $c empty" 0000000000000000 "$(field "$A" "$c")"
done
assert_eq "agent: no_new_privs" 1 "$(field "$A" NoNewPrivs)"
assert_eq "agent: under a seccomp filter" 2 "$(field "$A" Seccomp)"
assert_eq "agent: not dumpable (its /proc/PID/status is root's)" root \
    "$(stat -c %U "/proc/$A/status")"
lck=$(field "$A" VmLck | awk '{print $1}')
assert_true "agent: its secrets in locked memory (VmLck $lck kB)" test "${lck:-0}" -gt 0
assert_eq "agent: no pipe among its fds" "" \
    "$(find "/proc/$A/fd" -lname 'pipe:*' 2>/dev/null)"
assert_eq "agent: stdin and stdout on /dev/null" "/dev/null /dev/null" \
    "$(readlink "/proc/$A/fd/0") $(readlink "/proc/$A/fd/1")"
assert_true "agent: a session of its own" test "$(ps -o sid= -p "$A")" != "$(ps -o sid= -p $$)"

# 3. status shows it: pid, uptime, the backend's connections.
json=$(broker status --agent --json)
assert_eq "status --agent --json: pid, running, logins, its connections to vault, all kept" \
    "$A True 1 vault $conns $conns" "$(printf '%s' "$json" | "$PY" -c '
import json, sys
a = json.load(sys.stdin)
b = [x for x in a["backends"] if x["name"] == "vault"][0]
print(a["pid"], a["running"], a["logins"], b["name"], b["connections"], b["connections_opened"])')"
assert_match "status: the agent's line" "$(broker status)" \
    "^agent pid=$A uid=65534 uptime=[0-9]+s idle=[0-9]+s requests=8 logins=1 mounts=1"

# 4. Root only: a uid that cannot reach the socket, and one that can (CAP_DAC_OVERRIDE).
assert_eq "uid 65534: the socket is out of reach" "connect 13" "$(client 65534 "")"
assert_eq "uid 1000 with CAP_DAC_OVERRIDE: connected, refused unanswered" closed \
    "$(client 1000 +dac_override)"
assert_match "the agent says whom it refused" "$(cat "$AGENT_LOG")" \
    "agent: refused a connection from pid [0-9]+ uid 1000: only root may ask"
assert_eq "root's status still answered" "$A" \
    "$(broker status --agent --json | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["pid"])')"

# 5. A remembered mount remade as KV v1: the read under the remembered KV v2 path fails, the
# agent forgets it, looks it up again and reads the new mount; the container gets the value.
vault_ctl POST /counters/reset >/dev/null
kvs_one m1
assert_eq "kv v2 mount: the value" "$V3" "$(out_value m1 fd.3)"
kvs_one m2
assert_eq "kv v2 mount again: the value" "$V3" "$(out_value m2 fd.3)"
assert_eq "kv v2 mount: looked up once for two containers" 1 "$(lookups kvs/app/db)"
vault_api DELETE sys/mounts/kvs >/dev/null || die "cannot unmount kvs/"
vault_api POST sys/mounts/kvs '{"type": "kv", "options": {"version": "1"}}' >/dev/null ||
    die "cannot mount kvs/ as KV v1"
vault_api POST kvs/app/db "{\"pw\": \"$V4\"}" >/dev/null || die "cannot write kvs/app/db"
mark=$(wc -l <"$T/broker.err")
kvs_one m3
assert_eq "remade as kv v1: the new value" "$V4" "$(out_value m3 fd.3)"
assert_match "remade as kv v1: the agent served it" "$(tail -n +$((mark + 1)) "$T/broker.err")" \
    "agent pid $A fetched 1 secret"
assert_contains "remade as kv v1: the agent said why it looked again" "$(cat "$AGENT_LOG")" \
    "vault vault: read under remembered mount kvs/ failed, looking it up again"
assert_eq "remade as kv v1: looked up again, once" 2 "$(lookups kvs/app/db)"
reads="$(vault_counter 'c["requests"].get("GET kvs/data/app/db", 0)')"
reads="$reads $(vault_counter 'c["requests"].get("GET kvs/app/db", 0)')"
assert_eq "reads: the KV v2 path twice and once stale, then the KV v1 path once" "3 1" "$reads"

# 6. Killed mid-fetch: the read waits 3 s at the fake; the agent dies; the hook falls back.
vault_fault '{"type": "delay", "delay_ms": 3000, "path": "secret/data/app/db", "count": 1}'
bundle k1
run_container k1 &
runner=$!
vault_fault_fired || true
kill -KILL "$A"
wait "$runner" || true
assert_eq "killed mid-fetch: the container got the value" "$V" "$(out_value k1 fd.3)"
assert_match "killed mid-fetch: the hook fell back to its own child" "$(cat "$T/broker.err")" \
    "agent: malformed or incomplete reply: .*fetching in this hook's own child"
assert_true "killed mid-fetch: the agent is gone" wait_gone "$A" 5
delete_container k1
assert_clean k1
assert_eq "killed mid-fetch: no agent left" "" "$(our_agents)"

# 7. A stale socket: nobody listens on it; the next hook starts a new agent.
assert_true "the dead agent's socket is still there" test -S "$SOCK"
run_one s1
assert_eq "stale socket: the container got the value" "$V" "$(out_value s1 fd.3)"
B=$(agent_pid)
assert_true "stale socket: a new agent" test -n "$B" -a "$B" != "$A"
assert_match "stale socket: it served the hook" "$(cat "$T/broker.err")" "agent pid $B fetched"

# 8. Not an agent at the socket: root's listener that answers garbage; the hook falls back.
kill -KILL "$B"
wait_gone "$B" 5 || true
"$PY" - "$SOCK" "$T/fake-agent.ready" <<'EOF' &
import os, socket, sys
os.unlink(sys.argv[1])
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.bind(sys.argv[1])
s.listen(8)
open(sys.argv[2], "w").close()
s.settimeout(30)
try:
    while True:
        c, _ = s.accept()
        c.recv(65536)
        c.send(b"not an agent answer")
        c.close()
except OSError:
    pass
EOF
liar=$!
BG_PIDS+=("$liar")
for ((i = 0; i < 100; i++)); do
    [ -e "$T/fake-agent.ready" ] && break
    sleep 0.05
done
run_one w1
assert_eq "a liar at the socket: the container got the value" "$V" "$(out_value w1 fd.3)"
assert_match "a liar at the socket: the hook fell back" "$(cat "$T/broker.err")" \
    "agent: not reachable: Bad message; fetching in this hook's own child"
kill -KILL "$liar" 2>/dev/null
wait "$liar" 2>/dev/null || true

# 9. The fetcher's uid changed: the agent serves another configuration, says so and exits; the
# hook falls back; the next hook's agent runs as the new uid.
run_one u0
C=$(agent_pid)
assert_true "an agent again" test -n "$C"
sed -i 's|^{"state_dir": |{"fetcher": {"uid": 61000, "gid": 61000}, "state_dir": |' "$CFG"
run_one u1
assert_eq "uid changed: the container got the value" "$V" "$(out_value u1 fd.3)"
assert_match "uid changed: the hook was told and fell back" "$(cat "$T/broker.err")" \
    "agent: it served another configuration \\(it exits\\); fetching in this hook's own child"
assert_true "uid changed: the old agent exited" wait_gone "$C" 5
run_one u2
D=$(agent_pid)
assert_eq "uid changed: the new agent runs as 61000" "61000 61000 61000 61000" "$(field "$D" Uid)"

# 10. It idles out.
AGENT_JSON='{"idle_s": 1}'
write_vault_config "$(auth_approle rid "$SID")"
run_one i1 # the old agent: another configuration; it exits
run_one i2
E=$(agent_pid)
assert_true "idle: a new agent" test -n "$E" -a "$E" != "$D"
assert_true "idle: it exits after idle_s" wait_gone "$E" 10
assert_contains "idle: it says why" "$(cat "$AGENT_LOG")" "agent: 1 s without a request, exiting"

# 11. "enabled": false: no agent, the hook's own child fetches.
AGENT_JSON='{"enabled": false}'
write_vault_config "$(auth_approle rid "$SID")"
mark=$(wc -l <"$T/broker.err")
run_one d1
assert_eq "disabled: the container got the value" "$V" "$(out_value d1 fd.3)"
assert_eq "disabled: no agent" "" "$(our_agents)"
assert_eq "disabled: the hook did not even try one" "" \
    "$(tail -n +$((mark + 1)) "$T/broker.err" | grep 'secret fetcher: agent' || true)"

# 12. A socket passed as systemd passes one (contrib/systemd/lockbox-agent.socket).
AGENT_JSON='{"idle_s": 30}'
write_vault_config "$(auth_approle rid "$SID")"
"$PY" - "$SOCK" "$BROKER" "$CFG" "$STATE" "$T/activated.ino" <<'EOF' &
import os, socket, sys
path, broker, cfg, state, ino = sys.argv[1:]
if os.path.exists(path):
    os.unlink(path)
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.bind(path)
s.listen(16)
with open(ino, "w") as f:
    f.write("%d\n" % os.stat(path).st_ino)
os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
env = {"LISTEN_FDS": "1", "LISTEN_PID": str(os.getpid())}
os.execve(broker, [broker, "--config", cfg, "--state-dir", state, "-v", "agent"], env)
EOF
activated=$!
BG_PIDS+=("$activated")
for ((i = 0; i < 100; i++)); do
    [ "$(agent_pid)" = "$activated" ] && break
    sleep 0.05
done
run_one a1
assert_eq "socket-activated: the container got the value" "$V" "$(out_value a1 fd.3)"
assert_match "socket-activated: that agent served it" "$(cat "$T/broker.err")" \
    "agent pid $activated fetched"
assert_eq "socket-activated: on the socket it was given, not one of its own" \
    "$(cat "$T/activated.ino")" "$(stat -c %i "$SOCK")"

# Never a value or a credential in the agent's log (at -v -v), nor anywhere else.
assert_true "the agent logged at -v -v" grep -q "GET /v1/secret/data/app/db" "$AGENT_LOG"
assert_no_secret_anywhere "$V" "the value"
assert_no_secret_anywhere "$V3" "the kvs/ value"
assert_no_secret_anywhere "$V4" "the remade kvs/ value"
assert_no_secret_anywhere "$SID" "the secret id"
finish
