#!/bin/bash
# 51-rotate-signal.sh — --on-rotate signal:SIG (DESIGN §8): the shim consumes the new
# generation, rewrites the memfds the running command holds and sends it SIG; the command is
# not restarted and reads the new value from the fd it has. Under this mode the memfds carry
# only F_SEAL_SEAL (they must stay writable for the shim).
. "$(dirname "$0")/lib.sh"
. "$LBX_IT_DIR/lib-rotate.sh"

A=$(new_secret)
D1=$(new_secret)
put_secret api "$A"
put_secret db "$D1"

make_bundle c1 /lockbox-shim --on-rotate signal:USR2 -- \
    /bin/lbx-testapp fds fdstat:4 read-fd:3 watch-fd:4:USR2:1000
annotate c1 io.lockbox.secret.db=store:db io.lockbox.secret.api=store:api
add_hooks c1
start_container c1
assert_eq "runc run -d exits 0" 0 "$RC"
pid=$(container_field c1 pid)
assert_true "the application holds db generation 1" wait_out c1 "watch.4=$D1"
assert_eq "db's memfd carries F_SEAL_SEAL only" "0:0:0400:1" "$(out_value c1 fdstat.4)"
assert_true "the record says consumed" wait_record c1 consumed true

# A longer value, then a shorter one: the rewrite must grow and shrink the memfd.
for D in "$(new_secret)-and-some-more-bytes" "$(new_secret | cut -c1-10)"; do
    put_secret db "$D"
    rc=0
    out=$(broker rotate c1) || rc=$?
    assert_eq "rotate exits 0" 0 "$rc"
    assert_eq "rotate reports db rotated" "c1 api: unchanged"$'\n'"c1 db: rotated" "$out"
    assert_true "the running application read the new value after SIGUSR2" wait_out c1 "watch.4=$D"
    assert_true "the tmpfs is gone again" wait_unmounted "$pid" /run/secrets
    assert_true "the record says consumed" wait_record c1 consumed true
    assert_no_secret_anywhere "$D"
done
assert_eq "it was never restarted" 1 "$(count_out c1 "fds=0,1,2,3,4")"
assert_eq "the record is at generation 3" 3 "$(record c1 generation)"
assert_eq "the container runs on" running "$(container_field c1 status)"

runc --root "$RUNC_ROOT" kill c1 KILL
wait_stopped c1 || true
delete_container c1
assert_clean c1
assert_no_secret_anywhere "$A"
assert_no_secret_anywhere "$D1"
finish
