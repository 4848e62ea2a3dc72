#!/bin/bash
# 50-rotate-restart.sh — rotation with the shim and --on-rotate restart (the default, DESIGN §8):
# the shim consumed the tmpfs, so `rotate` mounts a fresh one holding what changed and signals
# the shim; the shim consumes it, stops the command and starts it again with the new value at
# the same fd, the unchanged secret as before, and no other fd. Twice, to see generation 3.
. "$(dirname "$0")/lib.sh"
. "$LBX_IT_DIR/lib-rotate.sh"

A=$(new_secret)
D1=$(new_secret)
put_secret api "$A"
put_secret db "$D1"

# api is fd 3, db fd 4 (name order). Each start prints its fds, db's seals, api, and db.
make_bundle c1 /lockbox-shim -- /bin/lbx-testapp fds fdstat:4 read-fd:3 watch-fd:4:USR2:1000
annotate c1 io.lockbox.secret.db=store:db io.lockbox.secret.api=store:api
add_hooks c1
start_container c1
assert_eq "runc run -d exits 0" 0 "$RC"
pid=$(container_field c1 pid)
assert_true "the application holds db generation 1" wait_out c1 "watch.4=$D1"
assert_true "the record says consumed" wait_record c1 consumed true

out=$(broker rotate c1)
assert_eq "rotate with nothing changed says so for each secret" \
    "c1 api: unchanged"$'\n'"c1 db: unchanged" "$out"
assert_eq "and leaves the generation at 1" 1 "$(record c1 generation)"

D2=$(new_secret)
put_secret db "$D2"
rc=0
out=$(broker rotate c1) || rc=$?
assert_eq "rotate exits 0" 0 "$rc"
assert_eq "rotate reports db rotated, api unchanged" \
    "c1 api: unchanged"$'\n'"c1 db: rotated" "$out"
assert_true "the restarted application holds db generation 2 at fd 4" wait_out c1 "watch.4=$D2"
assert_eq "it was started twice" 2 "$(count_out c1 "fds=0,1,2,3,4")"
assert_eq "with api unchanged at fd 3 both times" 2 "$(count_out c1 "fd.3=$A")"
# F_SEAL_SEAL|SHRINK|GROW|WRITE = 15: restart gives new memfds, sealed as at start.
assert_eq "db's new memfd is sealed against any change, as at start" 2 \
    "$(count_out c1 "fdstat.4=0:0:0400:15")"
assert_true "the new tmpfs was unmounted after the shim consumed it" wait_unmounted "$pid" /run/secrets
assert_true "the record says generation 2, consumed" wait_record c1 consumed true
assert_eq "generation 2" 2 "$(record c1 generation)"
assert_match "last_rotation is recorded" "$(record c1 last_rotation)" '^[0-9-]+T[0-9:]+Z$'
assert_match "status shows generation 2, consumed, and when it rotated" "$(broker status c1)" \
    "^c1 pid=$pid running role=default generation=2 dir=/run/secrets consumed=yes rotated=[0-9-]+T[0-9:]+Z"
json=$(broker status --json c1 | "$PY" -c '
import json, sys
c = json.load(sys.stdin)
print(c["generation"], c["consumed"], bool(c["last_rotation"]),
      [sorted(k for k in s if k == "digest") for s in c["secrets"]])')
assert_eq "status --json: generation, consumed, last_rotation, and no digest" \
    "2 True True [[], []]" "$json"

D3=$(new_secret)
A3=$(new_secret)
put_secret db "$D3"
put_secret api "$A3"
out=$(broker rotate c1 --secret db)
assert_eq "--secret db rotates db only" "c1 db: rotated" "$out"
assert_true "the application holds db generation 3" wait_out c1 "watch.4=$D3"
assert_eq "api still the old value (not asked for)" 3 "$(count_out c1 "fd.3=$A")"
assert_true "generation 3, consumed" wait_record c1 consumed true
assert_eq "generation 3" 3 "$(record c1 generation)"
assert_eq "the container runs on" running "$(container_field c1 status)"
assert_contains "the audit log has the rotation" "$(cat "$AUDIT")" '"event":"rotate"'

runc --root "$RUNC_ROOT" kill c1 KILL
wait_stopped c1 || true
delete_container c1
assert_clean c1
for v in "$A" "$A3" "$D1" "$D2" "$D3"; do
    assert_no_secret_anywhere "$v"
done
finish
