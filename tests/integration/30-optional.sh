#!/bin/bash
# 20-optional.sh — io.lockbox.optional.NAME=true: a missing secret is skipped, not fatal
# (DESIGN §4); the others arrive as usual, and the skipped one is not announced to the
# application. Without the flag the same request fails (19-missing).
. "$(dirname "$0")/lib.sh"

S=$(new_secret)
put_secret db "$S"

make_bundle c1 /lockbox-shim -- /bin/lbx-testapp read-fd:3 fds env
annotate c1 io.lockbox.secret.db=store:db io.lockbox.secret.extra=store:nope \
    io.lockbox.optional.extra=true
add_hooks c1
run_container c1
assert_eq "runc run exits 0" 0 "$RC"
assert_eq "the present secret on fd 3" "$S" "$(out_value c1 fd.3)"
assert_eq "no fd for the missing one" 0,1,2,3 "$(out_value c1 fds)"
assert_contains "LOCKBOX_FDS names only the present one" "$(out_values c1 env)" \
    "LOCKBOX_FDS=db=3"
assert_not_contains "LOCKBOX_FDS does not name the skipped one" "$(out_values c1 env)" "extra="
assert_clean c1

# The same, asked for by environment variables (Docker's way).
make_bundle c2 /lockbox-shim -- /bin/lbx-testapp read-fd:3 fds
add_env c2 LOCKBOX_SECRET_db=store:db LOCKBOX_SECRET_extra=store:nope LOCKBOX_OPTIONAL_extra=true
add_hooks c2
run_container c2
assert_eq "env request: runc run exits 0" 0 "$RC"
assert_eq "env request: the present secret on fd 3" "$S" "$(out_value c2 fd.3)"
assert_clean c2

# Control: optional=false is not optional.
make_bundle c3 /lockbox-shim -- /bin/lbx-testapp read-fd:3
annotate c3 io.lockbox.secret.db=store:db io.lockbox.secret.extra=store:nope \
    io.lockbox.optional.extra=false
add_hooks c3
run_container c3
assert_true "optional=false: runc run fails" test "$RC" -ne 0
assert_clean c3
assert_no_secret_anywhere "$S"
finish
