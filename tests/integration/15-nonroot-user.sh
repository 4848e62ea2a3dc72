#!/bin/bash
# 15-nonroot-user.sh — a container whose process runs as 1000:1000 without any capability: the
# shim reads its secret (0400, owned by 1000), unlinks it, cannot unmount the tmpfs (no
# CAP_SYS_ADMIN), and the broker's watcher unmounts it from the host side before the
# application starts (DESIGN §2.5, §7). The application then sees no /run/secrets mount.
. "$(dirname "$0")/lib.sh"

S=$(new_secret)
put_secret db "$S"

make_bundle c1 /lockbox-shim -- /bin/lbx-testapp id read-fd:3 fdstat:3 mounted:/run/secrets \
    ls:/run/secrets cat:/proc/self/status
set_user c1 1000 1000
annotate c1 io.lockbox.secret.db=store:db
add_hooks c1
run_container c1

assert_eq "runc run exits 0" 0 "$RC"
assert_eq "runs as 1000:1000" 1000:1000 "$(out_value c1 id)"
assert_match "without CAP_SYS_ADMIN (no capability at all)" "$(output c1)" \
    $'\nCapEff:[[:space:]]+0+\n'
assert_eq "read the secret from fd 3" "$S" "$(out_value c1 fd.3)"
# F_SEAL_SEAL|F_SEAL_SHRINK|F_SEAL_GROW|F_SEAL_WRITE = 15 (F_SEAL_FUTURE_WRITE allowed too).
assert_match "fd 3 is a sealed memfd" "$(out_value c1 fdstat.3)" ':(15|31)$'
assert_eq "/run/secrets is no longer a mount point (the watcher unmounted it)" no \
    "$(out_value c1 mounted./run/secrets)"
assert_eq "and the directory is empty" "" "$(out_value c1 ls./run/secrets)"
assert_clean c1
assert_no_secret_anywhere "$S"
finish
