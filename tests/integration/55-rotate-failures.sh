#!/bin/bash
# 55-rotate-failures.sh — a rotation that fails leaves the application running with what it
# has (DESIGN §8): a secret removed from the store, a sealed store file tampered with, each
# fails its own line with the reason and exit 1, while another secret that changed still
# rotates; a generation the shim refuses (a new secret under --on-rotate signal, which a
# running command has no fd for) is consumed and refused in one line, the command untouched; a
# new watcher that cannot listen fails the rotation and leaves nothing mounted or running.
. "$(dirname "$0")/lib.sh"
. "$LBX_IT_DIR/lib-rotate.sh"

A1=$(new_secret)
D1=$(new_secret)
put_secret api "$A1"
put_secret db "$D1"

make_bundle c1 /lockbox-shim -- /bin/lbx-testapp fds read-fd:3 watch-fd:4:USR2:1000
annotate c1 io.lockbox.secret.db=store:db io.lockbox.secret.api=store:api
add_hooks c1
start_container c1
pid=$(container_field c1 pid)
assert_true "the application holds db generation 1" wait_out c1 "watch.4=$D1"
assert_true "the record says consumed" wait_record c1 consumed true

# rotate_rc ARG...: OUT, ERR, RC as for 54.
rotate_rc() {
    RC=0
    OUT=$(broker rotate "$@" 2>"$T/rotate.err") || RC=$?
    ERR=$(cat "$T/rotate.err")
}

broker store rm db >/dev/null
rotate_rc c1
assert_eq "db gone from the store: exit 1" 1 "$RC"
assert_eq "db fails with the store's reason, api unchanged" \
    "c1 api: unchanged"$'\n'"c1 db: failed: no such secret in the store: No such file or directory" "$OUT"
assert_eq "nothing else on stderr" "" "$ERR"
assert_eq "the generation stays 1" 1 "$(record c1 generation)"
assert_contains "the audit log records the failure" "$(tail -n 1 "$AUDIT")" '"result":"failed"'
sleep 0.3
assert_eq "the application was not restarted" 1 "$(count_out c1 "fds=0,1,2,3,4")"
assert_eq "and runs on" running "$(container_field c1 status)"
assert_eq "nothing is mounted at /run/secrets" "" "$(mounts_in "$pid" /run/secrets)"

# A store file that fails authentication (a flipped byte), while api did change.
D2=$(new_secret)
A2=$(new_secret)
put_secret db "$D2"
put_secret api "$A2"
"$PY" - "$STORE/db.sealed" <<'PYEOF'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[-1] ^= 1
open(p, "wb").write(bytes(b))
PYEOF
rotate_rc c1
assert_eq "a tampered store file: exit 1" 1 "$RC"
assert_eq "api rotates, db fails with the reason" \
    "c1 api: rotated"$'\n'"c1 db: failed: store file fails authentication (tampered, renamed or another key): Bad message" "$OUT"
assert_true "the application restarted with the new api" wait_out c1 "fd.3=$A2"
assert_eq "and its db as it was" 2 "$(count_out c1 "watch.4=$D1")"
assert_true "generation 2, consumed" wait_record c1 consumed true
assert_eq "generation 2" 2 "$(record c1 generation)"

# Repaired: db rotates now.
put_secret db "$D2"
rotate_rc c1
assert_eq "repaired: exit 0" 0 "$RC"
assert_eq "db rotates" "c1 api: unchanged"$'\n'"c1 db: rotated" "$OUT"
assert_true "the application holds db generation 2" wait_out c1 "watch.4=$D2"

# A new watcher that cannot listen (its socket directory is a file here): the rotation fails
# in one line that says so, nothing is mounted in the container, the record stays at its
# generation, no watcher is left, and the next rotation works.
assert_true "the last generation consumed" wait_record c1 consumed true
gen=$(record c1 generation)
A3=$(new_secret)
put_secret api "$A3"
mv "$STATE/watch" "$STATE/watch.saved"
: >"$STATE/watch"
rotate_rc c1
rm -f "$STATE/watch"
mv "$STATE/watch.saved" "$STATE/watch"
assert_eq "a watcher that cannot listen: exit 1" 1 "$RC"
assert_eq "api fails saying why, db unchanged" \
    "c1 api: failed: container c1: cannot start the watcher: Not a directory"$'\n'"c1 db: unchanged" "$OUT"
assert_eq "nothing else on stderr" "" "$ERR"
assert_eq "nothing stays mounted at /run/secrets" "" "$(mounts_in "$pid" /run/secrets)"
assert_eq "the generation stays" "$gen" "$(record c1 generation)"
for ((i = 0; i < 40; i++)); do
    [ -z "$(our_watchers)" ] && break
    sleep 0.05
done
assert_eq "no watcher left for it" "" "$(our_watchers)"
assert_eq "the application was not restarted for it" 0 "$(count_out c1 "fd.3=$A3")"
rotate_rc c1
assert_eq "with the directory back: exit 0" 0 "$RC"
assert_true "the application restarted with that api" wait_out c1 "fd.3=$A3"

# A generation the shim refuses: an optional secret missing at the start, then added, under
# --on-rotate signal, where the running command cannot get another fd.
make_bundle c2 /lockbox-shim --on-rotate signal:USR2 -- /bin/lbx-testapp watch-fd:3:USR2:1000
annotate c2 io.lockbox.secret.db=store:db io.lockbox.secret.extra=store:extra \
    io.lockbox.optional.extra=true
add_hooks c2
start_container c2
pid2=$(container_field c2 pid)
assert_true "c2 holds db" wait_out c2 "watch.3=$D2"
assert_true "c2's record says consumed" wait_record c2 consumed true
X=$(new_secret)
put_secret extra "$X"
rotate_rc c2
assert_eq "the broker places the added secret: exit 0" 0 "$RC"
assert_eq "and says so" "c2 db: unchanged"$'\n'"c2 extra: added" "$OUT"
assert_true "the shim consumed the new tmpfs (the watcher unmounted it)" wait_unmounted "$pid2" /run/secrets
for ((i = 0; i < 100; i++)); do
    grep -q "rotation failed" "$T/out/c2.err" && break
    sleep 0.05
done
failure=$(grep "rotation failed" "$T/out/c2.err" || true)
assert_match "the shim refuses it in one line that says why" "$failure" \
    "^lockbox-shim: rotation failed, '/bin/lbx-testapp' keeps running with its current secrets: secret 'extra' is new: .*restart$"
assert_eq "the command did not get the signal" 1 "$(count_out c2 "watch.3=$D2")"
assert_eq "and runs on" running "$(container_field c2 status)"

for id in c1 c2; do
    runc --root "$RUNC_ROOT" kill "$id" KILL
    wait_stopped "$id" || true
    delete_container "$id"
    assert_clean "$id"
done
for v in "$A1" "$A2" "$A3" "$D1" "$D2" "$X"; do
    assert_no_secret_anywhere "$v"
done
finish
