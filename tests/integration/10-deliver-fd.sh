#!/bin/bash
# 10-deliver-fd.sh — the whole path under real runc: a secret in the sealed store, asked for by
# an annotation, placed by the createRuntime hook, read by the shim and handed to the
# application as fd 3 (DESIGN §2, §7). The application finds it through LOCKBOX_FDS; no
# LOCKBOX_SECRET_* request variable and no value reaches its environment.
. "$(dirname "$0")/lib.sh"

S=$(new_secret)
put_secret db "$S"

make_bundle c1 /lockbox-shim -- /bin/lbx-testapp read-fd:3 env fds
annotate c1 io.lockbox.secret.db=store:db
# A request by environment variable too (Docker's way, §4): it must not reach the application.
add_env c1 LOCKBOX_SECRET_db=store:db
add_hooks c1
run_container c1

assert_eq "runc run exits 0" 0 "$RC"
assert_eq "the application read the secret from fd 3" "$S" "$(out_value c1 fd.3)"
env=$(out_values c1 env)
assert_contains "LOCKBOX_FDS tells it where" "$env" "LOCKBOX_FDS=db=3"
assert_not_contains "no LOCKBOX_SECRET_* request variable in its environment" "$env" LOCKBOX_SECRET_
assert_not_contains "no value in its environment" "$env" "$S"
assert_eq "fds: 0-2 and the secret's" "0,1,2,3" "$(out_value c1 fds)"
assert_clean c1
assert_no_secret_anywhere "$S"
finish
