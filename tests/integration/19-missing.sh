#!/bin/bash
# 19-missing.sh — a reference to a secret the store does not hold stops the container (fail
# closed, DESIGN §10.2) with one line that names it, and leaves nothing behind, even when the
# other secrets of the container were fetched already.
. "$(dirname "$0")/lib.sh"

S=$(new_secret)
put_secret db "$S"

hook_stderr() {
    sed -n 's/.*error running hook[^"]*stderr: \(.*\)"$/\1/p' "$T/out/$1.err"
}

make_bundle c1 /lockbox-shim -- /bin/lbx-testapp read-fd:3
annotate c1 io.lockbox.secret.db=store:db io.lockbox.secret.nope=store:nope
add_hooks c1
run_container c1
assert_true "runc run fails" test "$RC" -ne 0
assert_contains "the hook exited 1 (failed)" "$(errors c1)" "exit status 1"
err=$(hook_stderr c1)
assert_match "one line from the broker naming the secret and the ref" "$err" \
    "^lockbox-broker: [^\\]*'nope'[^\\]*store:nope[^\\]*\\\\n$"
assert_match "which says there is no such secret" "$err" "[Nn]o (such )?secret"
assert_eq "the application never ran" "" "$(output c1)"
assert_true "no /run/secrets directory left with files in the rootfs" \
    test -z "$(ls -A "$(bundle_of c1)/rootfs/run/secrets" 2>/dev/null || true)"
assert_clean c1
assert_no_secret_anywhere "$S" "the secret fetched before the failure"
finish
