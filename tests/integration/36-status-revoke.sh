#!/bin/bash
# 36-status-revoke.sh — `status` (text and --json, all or one container) lists a running
# container's secrets by name and ref, never a value (DESIGN §3); `revoke ID` does by hand what
# poststop does: the state and the watcher are gone and the audit log says so.
. "$(dirname "$0")/lib.sh"

S=$(new_secret)
A=$(new_secret)
put_secret db "$S"
put_secret api "$A"

# No shim: the tmpfs stays mounted and the watcher waits, as for an application that reads
# /run/secrets itself.
make_bundle c1 /bin/lbx-testapp sleep:30
annotate c1 io.lockbox.secret.db=store:db io.lockbox.secret.api=store:api
add_hooks c1
start_container c1
assert_eq "runc run -d exits 0" 0 "$RC"
pid=$(container_field c1 pid)

text=$(broker status)
assert_contains "status names the container" "$text" c1
assert_contains "status names the container's pid" "$text" "$pid"
assert_contains "status lists db by its ref" "$text" store:db
assert_contains "status lists api by its ref" "$text" store:api
assert_not_contains "status shows no value (db)" "$text" "$S"
assert_not_contains "status shows no value (api)" "$text" "$A"
assert_eq "status c1 is status of the one container" "$text" "$(broker status c1)"

json=$(broker status --json)
summary=$(printf '%s' "$json" | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
for c in d:
    print(c["id"], ",".join("%s=%s" % (s["name"], s["ref"]) for s in c["secrets"]))')
assert_eq "status --json: an array with c1, its names and refs" "c1 api=store:api,db=store:db" \
    "$summary"
one=$(broker status --json c1 | "$PY" -c '
import json, sys
c = json.load(sys.stdin)
print(c["id"], sorted(s["name"] for s in c["secrets"]))')
assert_eq "status --json c1: the one object" "c1 ['api', 'db']" "$one"
assert_not_contains "status --json shows no value (db)" "$json" "$S"
assert_not_contains "status --json shows no value (api)" "$json" "$A"

rc=0
err=$(broker status nope 2>&1) || rc=$?
assert_eq "status of an unknown container: exit 1" 1 "$rc"
assert_match "with one line" "$err" "^lockbox-broker: [^"$'\n'"]*nope[^"$'\n'"]*$"

assert_true "a watcher runs for c1" test -n "$(our_watchers)"
rc=0
broker revoke c1 >/dev/null || rc=$?
assert_eq "revoke c1 exits 0" 0 "$rc"
assert_true "revoke removed the state" test ! -e "$STATE/containers/c1.json"
assert_eq "status after revoke lists no container" "[]" \
    "$(broker status --json | "$PY" -c 'import json, sys; print(json.load(sys.stdin))')"
assert_contains "the audit log records the revoke" "$(cat "$AUDIT")" '"revoke"'
rc=0
broker revoke c1 >/dev/null 2>&1 || rc=$?
assert_eq "revoke of an unknown container: exit 1" 1 "$rc"

runc --root "$RUNC_ROOT" kill c1 KILL
wait_stopped c1 || true
delete_container c1
assert_clean c1
assert_no_secret_anywhere "$S"
assert_no_secret_anywhere "$A"
finish
