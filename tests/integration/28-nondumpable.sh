#!/bin/bash
# 28-nondumpable.sh — every lockbox process that holds a secret is non-dumpable
# (PR_SET_DUMPABLE 0: no core file, no ptrace or /proc/PID/mem by another process of its uid),
# each looked at while it holds one (issue 13: removing PR_SET_DUMPABLE went unnoticed):
#   - the broker, paused (pause.h) with every value fetched into its memory;
#   - the watcher that hook left running, which holds the tmpfs's mount fd;
#   - the fetcher, uid 65534, waiting for a slow Vault while it holds the token and a value;
#   - the shim as uid 1000, supervising the application it handed the memfds to.
# A process's dumpable flag is read by gdb calling prctl(PR_GET_DUMPABLE) in it (root's
# processes), or from the owner of /proc/PID/status, which the kernel makes root for a
# non-dumpable process of any other uid (proc(5); /proc/PID itself keeps the process's uid). Each case also checks the process does hold what it is
# said to hold, so that none passes by looking at the wrong process or the wrong moment.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-sec.sh"
. "$(dirname "$0")/lib-vault.sh"
# The fetch child is looked at here; the warm fetch agent's own checks are 74-agent's.
AGENT_JSON='{"enabled": false}'
command -v gdb >/dev/null 2>&1 || skip "gdb is not installed (make deps)"

S=$(new_secret)
put_secret db "$S"
NEEDLE=$T/.needle

# dumpable PID: 0 or 1, as prctl(PR_GET_DUMPABLE) answers inside PID (gdb calls it there).
dumpable() {
    # shellcheck disable=SC2016 # gdb's $1, not the shell's
    timeout 60 gdb -batch -nx -q -p "$1" -ex 'print (int)prctl(3, 0, 0, 0, 0)' 2>/dev/null |
        sed -n 's/^\$1 = \([0-9-]*\)$/\1/p'
}

# holds PID VALUE: VALUE's bytes are in PID's readable memory.
holds() {
    printf '%s' "$2" >"$NEEDLE"
    "$PY" - "$1" "$NEEDLE" <<'EOF'
import sys
pid, needle = sys.argv[1], open(sys.argv[2], "rb").read()
with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
    for line in maps:
        parts = line.split(None, 5)
        lo, hi = (int(x, 16) for x in parts[0].split("-"))
        if "r" not in parts[1]:
            continue
        try:
            mem.seek(lo)
            if needle in mem.read(hi - lo):
                sys.exit(0)
        except OSError:
            pass
sys.exit(1)
EOF
}

# 1. The broker, paused with the value fetched.
bundle=$T/fake
fake_bundle "$bundle" '{"io.lockbox.secret.db": "store:db"}'
mkdir -p "$bundle/rootfs/run"
fake_container "$bundle/rootfs"
mkdir -p "$STATE" && chmod 0700 "$STATE" && mkdir -m 0700 "$STATE/pause"
touch "$STATE/pause/fetched"
hook_run c1 "$CPID" "$bundle" &
hook=$!
for ((i = 0; i < 600; i++)); do
    [ -s "$STATE/pause/fetched.reached" ] && break
    sleep 0.05
done
bpid=$(cat "$STATE/pause/fetched.reached" 2>/dev/null || true)
if [ -z "$bpid" ]; then
    fail "broker: did not pause at fetched: $(cat "$T/hook.out")"
else
    assert_true "broker: it holds the value (paused after the fetch)" holds "$bpid" "$S"
    assert_eq "broker: not dumpable while it does" 0 "$(dumpable "$bpid")"
fi
rm -f "$STATE/pause/fetched"
wait "$hook" || true
rmdir "$STATE/pause" 2>/dev/null || true
assert_true "broker: the hook placed the secret" test -e "$STATE/containers/c1.json"

# 2. The watcher it left: it holds the tmpfs (its mount fd), where the value is.
w=$(our_watchers | head -n 1)
if [ -z "$w" ]; then
    fail "watcher: none running"
else
    # Its mount fd: the root of the tmpfs, where db is.
    mfd=/nonexistent
    for f in "/proc/$w/fd/"*; do
        [ -f "$f/db" ] && mfd=$f
    done
    assert_true "watcher: it holds the tmpfs with the value" grep -qF "$S" "$mfd/db"
    assert_eq "watcher: not dumpable" 0 "$(dumpable "$w")"
fi
broker revoke c1 >/dev/null 2>&1 || true
fake_stop

# 3. The fetcher: uid 65534, waiting for Vault to answer its second request.
V=$(new_secret)
start_vault_fake "{\"kv\": {\"secret/app/a\": {\"pw\": \"$V\"}, \"secret/app/b\": {\"pw\": \"$V\"}}}"
write_vault_config "$(auth_token "$(cat "$T/etc/vault-root-token")")"
vault_fault '{"type": "delay", "delay_ms": 20000, "path": "secret/data/app/b", "count": -1}'
fake_bundle "$T/fv" '{"io.lockbox.secret.a": "vault:secret/app/a#pw", "io.lockbox.secret.b": "vault:secret/app/b#pw"}'
mkdir -p "$T/fv/rootfs/run"
fake_container "$T/fv/rootfs"
hook_run v1 "$CPID" "$T/fv" &
hook=$!
fetcher=
for ((i = 0; i < 400; i++)); do
    for p in $(pgrep -f -- "--state-dir $STATE hook createRuntime" || true); do
        if [ "$(awk '/^Uid:/ {print $2}' "/proc/$p/status" 2>/dev/null)" = 65534 ] &&
            holds "$p" "$V"; then
            fetcher=$p
        fi
    done
    [ -z "$fetcher" ] || break
    sleep 0.05
done
if [ -z "$fetcher" ]; then
    fail "fetcher: no uid 65534 child holding the first value found"
else
    pass "fetcher: pid $fetcher runs as uid 65534 and holds the first value"
    assert_eq "fetcher: not dumpable (its /proc/PID/status is root's, not 65534's)" 0:0 \
        "$(stat -c %u:%g "/proc/$fetcher/status")"
fi
vault_ctl DELETE /faults >/dev/null
kill "$hook" 2>/dev/null || true
wait "$hook" 2>/dev/null || true
broker revoke v1 >/dev/null 2>&1 || true
fake_stop
write_config "$DEFAULT_ROLES"

# 4. The shim as uid 1000, supervising: the application has its memfd, the shim keeps one for a
# restart on rotation.
make_bundle c2 /lockbox-shim -- /bin/lbx-testapp read-fd:3 sleep:20
set_user c2 1000 1000
annotate c2 io.lockbox.secret.db=store:db
add_hooks c2
start_container c2
shim=$(container_field c2 pid)
for ((i = 0; i < 200; i++)); do
    [ -n "$(out_value c2 fd.3)" ] && break
    sleep 0.05
done
assert_eq "shim: the application got the value" "$S" "$(out_value c2 fd.3)"
assert_eq "shim: it runs as 1000" 1000 "$(awk '/^Uid:/ {print $2}' "/proc/$shim/status")"
assert_true "shim: it holds the secret's memfd" grep -q memfd: <<<"$(ls -l "/proc/$shim/fd/")"
assert_eq "shim: not dumpable (its /proc/PID/status is root's, not 1000's)" 0:0 \
    "$(stat -c %u:%g "/proc/$shim/status")"
runc --root "$RUNC_ROOT" kill c2 KILL 2>/dev/null || true
wait_stopped c2 || true
delete_container c2
assert_clean c2
assert_no_secret_anywhere "$S"
finish
