#!/bin/bash
# 35-readonly-rootfs.sh — issue 14: a read-only rootfs (`runc spec`'s default, docker and
# podman --read-only, every Kubernetes pause container) whose image has no /run/secrets gets
# its secrets: the broker creates the mount point as runc creates its own (at createRuntime the
# rootfs is not read-only yet; runc and crun remount it after the hooks), resolved inside the
# rootfs with no symlink followed. What is left in the image directory is the empty directory,
# as runc leaves its own mount points. Where it truly cannot be created (the rootfs itself on a
# read-only filesystem), one line says so and what to do, and nothing is left behind.
# (Podman --read-only: 21-podman.sh; crun: 22-crun.sh.)
. "$(dirname "$0")/lib.sh"

S=$(new_secret)
put_secret db "$S"

hook_stderr() {
    sed -n 's/.*error running hook[^"]*stderr: \(.*\)"$/\1/p' "$T/out/$1.err"
}

# root.readonly in config.json, no /run/secrets in the image. busybox sh runs the test app
# after proving the rootfs is read-only by then (the shim hands fd 3 on to sh's children).
make_bundle c1 /lockbox-shim -- /bin/sh -c \
    'if mkdir /probe 2>/dev/null; then echo rootfs=rw; else echo rootfs=ro; fi;
     exec /bin/lbx-testapp read-fd:3 mounted:/run/secrets'
set_readonly c1 true
annotate c1 io.lockbox.secret.db=store:db
add_hooks c1
assert_true "the image has no /run/secrets" test ! -e "$(bundle_of c1)/rootfs/run/secrets"
run_container c1
assert_eq "readonly, no /run/secrets: runc run exits 0" 0 "$RC"
assert_eq "the container's rootfs is read-only" ro "$(out_value c1 rootfs)"
assert_eq "the secret on fd 3" "$S" "$(out_value c1 fd.3)"
assert_eq "/run/secrets unmounted before the application started" no \
    "$(out_value c1 mounted./run/secrets)"
assert_eq "left in the image directory: /run/secrets, empty, root's, 0755" "0:0:755:" \
    "$(stat -c '%u:%g:%a:' "$(bundle_of c1)/rootfs/run/secrets")$(ls -A "$(bundle_of c1)/rootfs/run/secrets")"
assert_clean c1

# The same with a symlink on the way: the mount point is not created through it.
make_bundle c4 /lockbox-shim -- /bin/lbx-testapp read-fd:3
set_readonly c4 true
mkdir -p "$T/outside"
rm -rf "$(bundle_of c4)/rootfs/run"
ln -s "$T/outside" "$(bundle_of c4)/rootfs/run"
annotate c4 io.lockbox.secret.db=store:db
add_hooks c4
run_container c4
assert_true "readonly, /run a symlink: runc run fails" test "$RC" -ne 0
assert_eq "the broker refuses the symlink" \
    "lockbox-broker: container c4: target /run/secrets: a component is a symlink or not a directory (refused)\\n" \
    "$(hook_stderr c4)"
assert_eq "nothing was created where the symlink points" "" "$(ls -A "$T/outside")"
assert_clean c4

# The rootfs itself on a read-only mount (config.json does not say so): the directory truly
# cannot be created. One line that says so and what to do.
make_bundle c2 /lockbox-shim -- /bin/lbx-testapp read-fd:3
annotate c2 io.lockbox.secret.db=store:db
add_hooks c2
r=$(bundle_of c2)/rootfs
mount --bind "$r" "$r"
mount -o remount,bind,ro "$r"
run_container c2
assert_true "read-only mount, no /run/secrets: runc run fails" test "$RC" -ne 0
assert_eq "one line from the broker naming the target, the cause and the fix" \
    "lockbox-broker: container c2: target /run/secrets: does not exist and cannot be created (read-only file system): add it to the image (RUN mkdir -p /run/secrets) or choose a directory that exists (io.lockbox.dir, inject --dir)\\n" \
    "$(hook_stderr c2)"
assert_eq "the application never ran" "" "$(output c2)"
umount "$r"
assert_true "nothing created in the rootfs" test ! -e "$r/run/secrets"
assert_clean c2

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
