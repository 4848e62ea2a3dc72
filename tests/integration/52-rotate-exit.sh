#!/bin/bash
# 52-rotate-exit.sh — --on-rotate exit (DESIGN §8): the shim consumes and checks the new
# generation, stops the command and exits 75 (EX_TEMPFAIL), so that the orchestrator starts the
# container again; the next container gets the new value from the hook. Nothing is left of the
# first one after its poststop.
. "$(dirname "$0")/lib.sh"
. "$LBX_IT_DIR/lib-rotate.sh"

D1=$(new_secret)
put_secret db "$D1"

make_bundle c1 /lockbox-shim --on-rotate exit -- /bin/lbx-testapp watch-fd:3:USR2:1000
annotate c1 io.lockbox.secret.db=store:db
add_hooks c1
# `runc run` in the foreground, in the background: its exit status is the shim's.
(
    rc=0
    timeout -k 5 60 runc --root "$RUNC_ROOT" run --bundle "$(bundle_of c1)" c1 \
        >"$T/out/c1.out" 2>"$T/out/c1.err" </dev/null || rc=$?
    echo "$rc" >"$T/c1.rc"
) &
BG_PIDS+=($!)
assert_true "the application holds db generation 1" wait_out c1 "watch.3=$D1"
assert_true "the record says consumed" wait_record c1 consumed true

D2=$(new_secret)
put_secret db "$D2"
rc=0
out=$(broker rotate c1) || rc=$?
assert_eq "rotate exits 0" 0 "$rc"
assert_eq "rotate reports db rotated" "c1 db: rotated" "$out"
wait "${BG_PIDS[0]}" || true
assert_eq "the container exited with the shim's 75" 75 "$(cat "$T/c1.rc" 2>/dev/null)"
assert_contains "the shim says why it exits" "$(errors c1)" "secrets rotated; stopping"
assert_not_contains "the application never saw generation 2" "$(output c1)" "$D2"
# runc run deletes the container when it exits: poststop ran.
assert_clean c1

# The orchestrator starts it again: the hook places the current value.
set_args c1 /lockbox-shim --on-rotate exit -- /bin/lbx-testapp watch-fd:3:USR2:0
run_container c1
assert_eq "the next container exits as its command did" 0 "$RC"
assert_true "and its application holds generation 2" has_out c1 "watch.3=$D2"
assert_no_secret_anywhere "$D1"
assert_no_secret_anywhere "$D2"
finish
