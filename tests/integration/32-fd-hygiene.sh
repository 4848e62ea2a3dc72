#!/bin/bash
# 32-fd-hygiene.sh — the application starts with fds 0, 1, 2 and its secrets' fds, nothing else
# (DESIGN §7, §10.4), even when the shim's own parent leaked fds into it, including one at 3
# where a secret goes; supervised (the default) and with --exec.
. "$(dirname "$0")/lib.sh"

S=$(new_secret)
K=$(new_secret)
put_secret db "$S"
put_secret key "$K"

# An entrypoint that opens fds without close-on-exec before starting the shim.
leaky='exec 3</etc/passwd 5</etc/group 9</etc/passwd 200</etc/group; exec /lockbox-shim "$@"'

make_bundle c1 /bin/sh -c "$leaky" sh -- /bin/lbx-testapp fds read-fd:3
annotate c1 io.lockbox.secret.db=store:db
add_hooks c1
run_container c1
assert_eq "supervised: runc run exits 0" 0 "$RC"
assert_eq "supervised: fds 0-2 and the secret's only" 0,1,2,3 "$(out_value c1 fds)"
assert_eq "supervised: fd 3 is the secret, not the leaked file" "$S" "$(out_value c1 fd.3)"

make_bundle c2 /bin/sh -c "$leaky" sh --exec -- /bin/lbx-testapp fds read-fd:3 read-fd:4
annotate c2 io.lockbox.secret.db=store:db io.lockbox.secret.key=store:key
add_hooks c2
run_container c2
assert_eq "--exec: runc run exits 0" 0 "$RC"
assert_eq "--exec: fds 0-2 and the two secrets' only" 0,1,2,3,4 "$(out_value c2 fds)"
assert_eq "--exec: fd 3" "$S" "$(out_value c2 fd.3)"
assert_eq "--exec: fd 4" "$K" "$(out_value c2 fd.4)"

# Without leaks, straight from runc.
make_bundle c3 /lockbox-shim -- /bin/lbx-testapp fds
annotate c3 io.lockbox.secret.db=store:db io.lockbox.secret.key=store:key
add_hooks c3
run_container c3
assert_eq "runc's own: fds 0-2, 3, 4" 0,1,2,3,4 "$(out_value c3 fds)"

for id in c1 c2 c3; do assert_clean "$id"; done
assert_no_secret_anywhere "$S"
assert_no_secret_anywhere "$K"
finish
