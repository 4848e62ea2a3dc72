#!/bin/bash
# 11-deliver-path.sh — an argument holding {secret:NAME} is rewritten by the shim to
# /proc/self/fd/N (DESIGN §7), so that a program that only takes file names reads the secret
# there; its argv shows the path, never the value.
. "$(dirname "$0")/lib.sh"

S=$(new_secret)
put_secret db "$S"

make_bundle c1 /lockbox-shim -- /bin/lbx-testapp 'cat:{secret:db}' argv
annotate c1 io.lockbox.secret.db=store:db
add_hooks c1
run_container c1

assert_eq "runc run exits 0" 0 "$RC"
assert_eq "cat:{secret:db} reads the secret through /proc/self/fd/3" "$S" \
    "$(out_value c1 file./proc/self/fd/3)"
argv=$(out_values c1 argv)
assert_contains "argv holds the path" "$argv" "cat:/proc/self/fd/3"
assert_not_contains "argv holds no {secret:...} placeholder" "$argv" "{secret:"
assert_not_contains "argv holds no value" "$argv" "$S"
assert_clean c1
assert_no_secret_anywhere "$S"
finish
