#!/bin/bash
# 13-two-secrets.sh — several secrets arrive at fd 3, 4, ... in name order (the manifest's
# order, DESIGN §7), whatever order the annotations are written in; `--fd NAME=N` moves one.
. "$(dirname "$0")/lib.sh"

A=$(new_secret)
Z=$(new_secret)
put_secret zeta "$Z"
put_secret alpha "$A"

# Annotations written zeta first: the order must come from the names.
make_bundle c1 /lockbox-shim -- /bin/lbx-testapp read-fd:3 read-fd:4 fds env
annotate c1 io.lockbox.secret.zeta=store:zeta io.lockbox.secret.alpha=store:alpha
add_hooks c1
run_container c1
assert_eq "runc run exits 0" 0 "$RC"
assert_eq "alpha on fd 3" "$A" "$(out_value c1 fd.3)"
assert_eq "zeta on fd 4" "$Z" "$(out_value c1 fd.4)"
assert_eq "fds 0-2, 3, 4 and nothing else" "0,1,2,3,4" "$(out_value c1 fds)"
assert_contains "LOCKBOX_FDS in name order" "$(out_values c1 env)" "LOCKBOX_FDS=alpha=3,zeta=4"

make_bundle c2 /lockbox-shim --fd zeta=7 -- /bin/lbx-testapp read-fd:7 read-fd:3 fds env
annotate c2 io.lockbox.secret.zeta=store:zeta io.lockbox.secret.alpha=store:alpha
add_hooks c2
run_container c2
assert_eq "--fd: runc run exits 0" 0 "$RC"
assert_eq "--fd zeta=7: zeta on fd 7" "$Z" "$(out_value c2 fd.7)"
assert_eq "--fd zeta=7: alpha still on fd 3" "$A" "$(out_value c2 fd.3)"
assert_eq "--fd zeta=7: fds" "0,1,2,3,7" "$(out_value c2 fds)"
assert_match "--fd zeta=7: LOCKBOX_FDS says so" "$(out_values c2 env)" \
    "LOCKBOX_FDS=(alpha=3,zeta=7|zeta=7,alpha=3)"

assert_clean c1
assert_clean c2
assert_no_secret_anywhere "$A" alpha
assert_no_secret_anywhere "$Z" zeta
finish
