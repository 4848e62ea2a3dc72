#!/bin/bash
# 18-denied.sh — a reference that the container's role does not allow (deny by default,
# DESIGN §5) stops the container: the hook exits 3, runc does not start the process, the broker
# says so in exactly one line, and nothing is left behind (§10.2): no tmpfs, no state, no
# watcher. The audit log records the denial without a value.
. "$(dirname "$0")/lib.sh"

S=$(new_secret)
A=$(new_secret)
put_secret db "$S"
put_secret allowed-db "$A"

# hook_stderr ID: the broker's stderr, as runc quotes it in its error ("... stderr: ...\n").
hook_stderr() {
    sed -n 's/.*error running hook[^"]*stderr: \(.*\)"$/\1/p' "$T/out/$1.err"
}

# The restricted role allows store:allowed* only.
make_bundle c1 /lockbox-shim -- /bin/lbx-testapp read-fd:3
annotate c1 io.lockbox.secret.db=store:db io.lockbox.role=restricted
add_hooks c1
run_container c1
assert_true "runc run fails" test "$RC" -ne 0
assert_contains "the hook exited 3 (denied)" "$(errors c1)" "exit status 3"
err=$(hook_stderr c1)
assert_match "the broker printed one line naming the secret, the ref and the denial" "$err" \
    "^lockbox-broker: [^\\]*'db'[^\\]*store:db[^\\]*denied[^\\]*\\\\n$"
assert_eq "the application never ran" "" "$(output c1)"
assert_clean c1
assert_contains "the audit log records the denial" "$(cat "$AUDIT")" '"deny"'

# An unknown role is denied as well (no role, no allow-list).
make_bundle c2 /lockbox-shim -- /bin/lbx-testapp read-fd:3
annotate c2 io.lockbox.secret.db=store:db io.lockbox.role=nosuchrole
add_hooks c2
run_container c2
assert_true "unknown role: runc run fails" test "$RC" -ne 0
assert_match "unknown role: one line from the broker" "$(hook_stderr c2)" \
    "^lockbox-broker: [^\\]*nosuchrole[^\\]*\\\\n$"
assert_eq "unknown role: the application never ran" "" "$(output c2)"
assert_clean c2

# One denied reference among allowed ones: all or nothing.
make_bundle c3 /lockbox-shim -- /bin/lbx-testapp read-fd:3
annotate c3 io.lockbox.secret.a=store:allowed-db io.lockbox.secret.db=store:db \
    io.lockbox.role=restricted
add_hooks c3
run_container c3
assert_true "one denied of two: runc run fails" test "$RC" -ne 0
assert_eq "one denied of two: the application never ran" "" "$(output c3)"
assert_clean c3

# Control: the same role gets what it allows, so the failures above are the policy's.
make_bundle c4 /lockbox-shim -- /bin/lbx-testapp read-fd:3
annotate c4 io.lockbox.secret.a=store:allowed-db io.lockbox.role=restricted
add_hooks c4
run_container c4
assert_eq "control: an allowed ref runs" 0 "$RC"
assert_eq "control: and is delivered" "$A" "$(out_value c4 fd.3)"
assert_clean c4

assert_no_secret_anywhere "$S" "the denied secret"
assert_no_secret_anywhere "$A" "the allowed secret"
finish
