#!/bin/bash
# 58-rotate-userns.sh — rotation of a container in a user namespace (ids 0-65535 mapped to
# 100000...): the fresh tmpfs for the shim and the files replaced in place are owned by the
# mapped host ids, as at placement, so that the container's root can read and remove them.
. "$(dirname "$0")/lib.sh"
. "$LBX_IT_DIR/lib-rotate.sh"

D1=$(new_secret)
put_secret db "$D1"

make_bundle u1 /lockbox-shim -- /bin/lbx-testapp watch-fd:3:USR2:100
annotate u1 io.lockbox.secret.db=store:db
use_userns u1 100000
add_hooks u1
start_container u1
assert_eq "with the shim: runc run -d exits 0" 0 "$RC"
assert_true "with the shim: the application holds generation 1" wait_out u1 "watch.3=$D1"
assert_true "with the shim: consumed" wait_record u1 consumed true
D2=$(new_secret)
put_secret db "$D2"
assert_eq "with the shim: rotated" "u1 db: rotated" "$(broker rotate u1)"
assert_true "with the shim: the restarted application holds generation 2" wait_out u1 "watch.3=$D2"
assert_true "with the shim: consumed again" wait_record u1 consumed true

make_bundle u2 /bin/lbx-testapp sleep:60
annotate u2 io.lockbox.secret.db=store:db
use_userns u2 100000
add_hooks u2
start_container u2
assert_eq "in place: runc run -d exits 0" 0 "$RC"
pid=$(container_field u2 pid)
D3=$(new_secret)
put_secret db "$D3"
assert_eq "in place: rotated" "u2 db: rotated" "$(broker rotate u2)"
assert_eq "in place: the new file belongs to the mapped root, mode 0400" "100000:100000:400" \
    "$(stat -c '%u:%g:%a' "/proc/$pid/root/run/secrets/db")"
assert_eq "in place: it holds generation 2" "$D3" "$(cat "/proc/$pid/root/run/secrets/db")"

for id in u1 u2; do
    runc --root "$RUNC_ROOT" kill "$id" KILL
    wait_stopped "$id" || true
    delete_container "$id"
done
assert_clean u1
assert_clean u2
for v in "$D1" "$D2" "$D3"; do
    assert_no_secret_anywhere "$v"
done
finish
