#!/bin/bash
# 14-mode-owner.sh — the files on the tmpfs have the requested mode and owner
# (io.lockbox.mode.NAME, io.lockbox.uid/gid), default 0400 and process.user (DESIGN §4, §6);
# the directory and the manifest belong to root with that user's group, so that nothing in the
# container but its root (without a user namespace) can replace or add a file there. The application runs
# without the shim here, so the tmpfs is still there for it to look at. runc's default
# capabilities hold no CAP_DAC_OVERRIDE: the modes are enforced on the container's root too.
. "$(dirname "$0")/lib.sh"

S=$(new_secret)
put_secret db "$S"
put_secret other "$S-other"

ops=(stat:/run/secrets stat:/run/secrets/db stat:/run/secrets/other stat:/run/secrets/.lockbox.json
    cat:/run/secrets/db
    cat:/run/secrets/other mounted:/run/secrets)

# Files for 1000:1000; the process runs as 1001 in group 1000: the group bit decides.
make_bundle c1 /bin/lbx-testapp "${ops[@]}"
set_user c1 1001 1000
annotate c1 io.lockbox.secret.db=store:db io.lockbox.secret.other=store:other \
    io.lockbox.mode.db=0440 io.lockbox.uid=1000 io.lockbox.gid=1000
add_hooks c1
run_container c1
assert_eq "runc run exits 0" 0 "$RC"
assert_eq "mounted at /run/secrets" yes "$(out_value c1 mounted./run/secrets)"
assert_eq "db: owner 1000:1000, mode 0440 as requested" 1000:1000:0440 \
    "$(out_value c1 stat./run/secrets/db)"
assert_eq "other: owner 1000:1000, default mode 0400" 1000:1000:0400 \
    "$(out_value c1 stat./run/secrets/other)"
assert_eq "the directory belongs to root, group 1000, mode 0750" 0:1000:0750 \
    "$(out_value c1 stat./run/secrets)"
assert_eq "the manifest belongs to root, group 1000, mode 0440" 0:1000:0440 \
    "$(out_value c1 stat./run/secrets/.lockbox.json)"
assert_eq "0440: a member of the group reads db" "$S" "$(out_value c1 file./run/secrets/db)"
assert_eq "0400: a member of the group cannot read other" "<error: Permission denied>" \
    "$(out_value c1 file./run/secrets/other)"

# Defaults: the owner is process.user.
make_bundle c2 /bin/lbx-testapp "${ops[@]}"
set_user c2 1000 1001
annotate c2 io.lockbox.secret.db=store:db io.lockbox.secret.other=store:other
add_hooks c2
run_container c2
assert_eq "defaults: runc run exits 0" 0 "$RC"
assert_eq "defaults: owner is process.user, mode 0400" 1000:1001:0400 \
    "$(out_value c2 stat./run/secrets/db)"
assert_eq "defaults: the container user reads it" "$S" "$(out_value c2 file./run/secrets/db)"

# Another directory.
make_bundle c3 /bin/lbx-testapp stat:/etc/app/creds/db mounted:/etc/app/creds
annotate c3 io.lockbox.secret.db=store:db io.lockbox.dir=/etc/app/creds
add_hooks c3
run_container c3
assert_eq "io.lockbox.dir: runc run exits 0" 0 "$RC"
assert_eq "io.lockbox.dir: mounted there" yes "$(out_value c3 mounted./etc/app/creds)"
assert_eq "io.lockbox.dir: the file is there" 0:0:0400 "$(out_value c3 stat./etc/app/creds/db)"

for id in c1 c2 c3; do assert_clean "$id"; done
assert_no_secret_anywhere "$S"
finish
