#!/bin/bash
# 36-status-revoke.sh — `status` (a short table, one container in full, --json) lists a running
# container's secrets by name and ref, never a value (DESIGN §3); `revoke ID` does by hand what
# poststop does: the state and the watcher are gone and the audit log says so. Issue 14: status,
# rotate and revoke take the container's name as the runtime recorded it (Kubernetes through
# containerd's CRI plugin and CRI-O: annotations in config.json, written here as they write them;
# Podman: 21-podman.sh) or a unique id prefix; an ambiguous prefix lists the matches (exit 2).
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
printf -v want '%-12s  %-4s  %7s  %-7s  %-10s  %3s  %-8s  %s\n%-12s  %-4s  %7s  %-7s  %-10s  %3s  %-8s  %s' \
    ID NAME PID STATE ROLE GEN CONSUMED SECRETS c1 - "$pid" running default 1 no api,db
assert_eq "status: a short table, one line a container, the secrets by name" "$want" "$text"
assert_not_contains "status shows no value (db)" "$text" "$S"
assert_not_contains "status shows no value (api)" "$text" "$A"
one=$(broker status c1)
assert_contains "status c1: the container in full" "$one" "c1 pid=$pid running role=default"
assert_contains "status c1 lists db by its ref" "$one" "  db store:db mode=0400"
assert_contains "status c1 lists api by its ref" "$one" "  api store:api mode=0400"
assert_not_contains "status c1 shows no value" "$one" "$S"

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
assert_eq "with one line" \
    "lockbox-broker: container nope: unknown (no record in $STATE has that id, name or id prefix: not placed by lockbox, or stopped and cleaned up)" \
    "$err"
rc=0
err=$(broker status ../c1 2>&1) || rc=$?
assert_eq "status of something that is no id or name: exit 2" 2 "$rc"
assert_eq "with one line" "lockbox-broker: status: '../c1' is not a container id or name" "$err"

# ---- names and id prefixes ------------------------------------------------------------------
# start_named ID ANNOTATION...: a container holding store:db, whose config.json carries the
# runtime's annotations. It runs the shim: a pod's container without it gets nothing (issue 12).
start_named() {
    make_bundle "$1" /lockbox-shim -- /bin/lbx-testapp sleep:30
    annotate "$1" io.lockbox.secret.db=store:db "${@:2}"
    add_hooks "$1"
    start_container "$1"
    assert_eq "$1: runc run -d exits 0" 0 "$RC"
}
K1=a1b2c3d4e5f60000000000000000000000000000000000000000000000000001
K2=a1b2ffff00000000000000000000000000000000000000000000000000000002
K3=b0b0000000000000000000000000000000000000000000000000000000000003
K4=c0c0000000000000000000000000000000000000000000000000000000000004
start_named "$K1" io.kubernetes.cri.container-type=container \
    io.kubernetes.cri.sandbox-name=web-1 io.kubernetes.cri.container-name=app \
    io.kubernetes.cri.sandbox-namespace=prod
start_named "$K2" io.kubernetes.cri.container-type=container \
    io.kubernetes.cri.sandbox-name=web-2 io.kubernetes.cri.container-name=app
start_named "$K3" io.kubernetes.pod.name=db-0 io.kubernetes.container.name=postgres
start_named "$K4" io.kubernetes.cri.container-type=sandbox io.kubernetes.cri.sandbox-name=web-3 \
    io.kubernetes.cri.container-name=ignored-for-a-sandbox
names=$(broker status --json | "$PY" -c '
import json, sys
print(" ".join("%s=%s" % (c["id"][:4], c["name"]) for c in json.load(sys.stdin)))')
assert_eq "the names recorded: CRI (pod/container), CRI-O, none for runc; a pod's sandbox holds nothing" \
    "a1b2=web-1/app a1b2=web-2/app b0b0=db-0/postgres c1=None" "$names"
table=$(broker status)
assert_contains "the table shows 12 characters of the id and the name" "$table" "a1b2c3d4e5f6  web-1/app "
assert_contains "status NAME: that container" "$(broker status web-1/app)" "$K1 name=web-1/app pid="
assert_contains "status NAME (CRI-O)" "$(broker status db-0/postgres)" "$K3 name=db-0/postgres pid="
assert_contains "status PREFIX (unique)" "$(broker status a1b2c)" "$K1 name=web-1/app pid="
assert_eq "status --json PREFIX: the one object" "$K2" \
    "$(broker status --json a1b2f | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["id"])')"
rc=0
err=$(broker status a1b2 2>&1) || rc=$?
assert_eq "an ambiguous prefix: exit 2" 2 "$rc"
assert_eq "one line that lists the matches" \
    "lockbox-broker: status: 'a1b2' matches 2 containers: $K1 (web-1/app), $K2 (web-2/app) (give more of the id)" \
    "$err"
rc=0
err=$(broker rotate a1b2 2>&1) || rc=$?
assert_eq "rotate of an ambiguous prefix: exit 2" 2 "$rc"
assert_eq "one line, and nothing rotated" \
    "lockbox-broker: rotate: 'a1b2' matches 2 containers: $K1 (web-1/app), $K2 (web-2/app) (give more of the id)" \
    "$err"
rc=0
out=$(broker rotate web-1/app 2>&1) || rc=$?
assert_eq "rotate NAME: exit 0" 0 "$rc"
assert_eq "rotate NAME: that container's line, by its id" "$K1 db: unchanged" "$out"
rc=0
out=$(broker rotate b0b 2>&1) || rc=$?
assert_eq "rotate PREFIX: that container's line" "0 $K3 db: unchanged" "$rc $out"
rc=0
err=$(broker revoke a1b2 2>&1) || rc=$?
assert_eq "revoke of an ambiguous prefix: exit 2, nothing revoked" "2 yes yes" \
    "$rc $(test -e "$STATE/containers/$K1.json" && echo yes) $(test -e "$STATE/containers/$K2.json" && echo yes)"
assert_eq "revoke NAME: revokes that one" "revoked $K2" "$(broker revoke web-2/app)"
assert_true "its record is gone" test ! -e "$STATE/containers/$K2.json"
assert_eq "revoke PREFIX" "revoked $K1" "$(broker revoke a1b)"
assert_eq "revoke NAME (CRI-O)" "revoked $K3" "$(broker revoke db-0/postgres)"
for k in "$K1" "$K2" "$K3" "$K4"; do
    runc --root "$RUNC_ROOT" kill "$k" KILL 2>/dev/null || true # the sandbox has stopped
    wait_stopped "$k" || true
    delete_container "$k"
done

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
