#!/bin/bash
# 12-deliver-stdin.sh — `lockbox-shim --stdin NAME` feeds the secret to the application on its
# standard input (a pipe), for programs that read a password from stdin (DESIGN §7). The other
# secret of the container still arrives on its fd.
. "$(dirname "$0")/lib.sh"

S=$(new_secret)
K=$(new_secret)
put_secret db "$S"
put_secret key "$K"

make_bundle c1 /lockbox-shim --stdin db -- /bin/lbx-testapp stdin read-fd:3 env
annotate c1 io.lockbox.secret.db=store:db io.lockbox.secret.key=store:key
add_hooks c1
run_container c1

assert_eq "runc run exits 0" 0 "$RC"
assert_eq "stdin carries the secret named by --stdin" "$S" "$(out_value c1 stdin)"
assert_eq "the other secret is on fd 3" "$K" "$(out_value c1 fd.3)"
env=$(out_values c1 env)
assert_contains "LOCKBOX_FDS names the fd secret" "$env" "LOCKBOX_FDS=key=3"
assert_not_contains "no value in the environment" "$env" "$S"
assert_clean c1
assert_no_secret_anywhere "$S" "the stdin secret"
assert_no_secret_anywhere "$K" "the fd secret"
finish
