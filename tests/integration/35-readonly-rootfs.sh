#!/bin/bash
# 35-readonly-rootfs.sh — a read-only rootfs without the target directory cannot receive the
# tmpfs (the broker does not create directories in it): a clear error and nothing left behind
# (issue 2). Where the image has /run/secrets, a read-only rootfs works as any other.
. "$(dirname "$0")/lib.sh"

S=$(new_secret)
put_secret db "$S"

hook_stderr() {
    sed -n 's/.*error running hook[^"]*stderr: \(.*\)"$/\1/p' "$T/out/$1.err"
}

# root.readonly in config.json, no /run/secrets in the image.
make_bundle c1 /lockbox-shim -- /bin/lbx-testapp read-fd:3
set_readonly c1 true
annotate c1 io.lockbox.secret.db=store:db
add_hooks c1
run_container c1
assert_true "readonly, no /run/secrets: runc run fails" test "$RC" -ne 0
err=$(hook_stderr c1)
assert_match "one line from the broker naming the target and the cause" "$err" \
    "^lockbox-broker: [^\\]*/run/secrets[^\\]*read-only[^\\]*\\\\n$"
assert_eq "the application never ran" "" "$(output c1)"
assert_true "nothing created in the rootfs" test ! -e "$(bundle_of c1)/rootfs/run/secrets"
assert_clean c1

# The rootfs itself on a read-only mount (config.json does not say so): the same answer.
make_bundle c2 /lockbox-shim -- /bin/lbx-testapp read-fd:3
annotate c2 io.lockbox.secret.db=store:db
add_hooks c2
r=$(bundle_of c2)/rootfs
mount --bind "$r" "$r"
mount -o remount,bind,ro "$r"
run_container c2
assert_true "read-only mount, no /run/secrets: runc run fails" test "$RC" -ne 0
assert_match "one line from the broker naming the cause" "$(hook_stderr c2)" \
    "^lockbox-broker: [^\\]*/run/secrets[^\\]*read-only[^\\]*\\\\n$"
assert_clean c2
umount "$r"

# Control: a read-only rootfs that has /run/secrets gets its secret.
make_bundle c3 /lockbox-shim -- /bin/lbx-testapp read-fd:3 mounted:/run/secrets
mkdir "$(bundle_of c3)/rootfs/run/secrets"
set_readonly c3 true
annotate c3 io.lockbox.secret.db=store:db
add_hooks c3
run_container c3
assert_eq "readonly with /run/secrets: runc run exits 0" 0 "$RC"
assert_eq "the secret on fd 3" "$S" "$(out_value c3 fd.3)"
assert_eq "/run/secrets unmounted" no "$(out_value c3 mounted./run/secrets)"
assert_clean c3
assert_no_secret_anywhere "$S"
finish
