#!/bin/bash
# 38-install.sh — issue 2, Done when: `make install DESTDIR=D PREFIX=/usr` gives
# D/usr/bin/lockbox-broker and a static D/usr/bin/lockbox-shim, and a runc bundle whose
# config.json has the installed broker as its hook (--config, --state-dir of a test
# configuration), io.lockbox.secret.NAME=store:NAME and `/lockbox-shim -- CMD` as its process
# gets the secret as described, with no residue anywhere.
. "$(dirname "$0")/lib.sh"

command -v make >/dev/null 2>&1 || skip "make is not installed"
command -v readelf >/dev/null 2>&1 || skip "readelf (binutils) is not installed"
REPO=$(cd "$LBX_IT_DIR/../.." && pwd)
D=$T/d
rc=0
make -s -C "$REPO" O="$LOCKBOX_BUILD" DESTDIR="$D" PREFIX=/usr install >"$T/install.log" 2>&1 ||
    rc=$?
[ "$rc" -eq 0 ] || tail -n 20 "$T/install.log"
assert_eq "make install exits 0" 0 "$rc"
assert_true "D/usr/bin/lockbox-broker is installed, executable" test -x "$D/usr/bin/lockbox-broker"
assert_true "D/usr/bin/lockbox-shim is installed, executable" test -x "$D/usr/bin/lockbox-shim"
if [ ! -x "$D/usr/bin/lockbox-broker" ] || [ ! -x "$D/usr/bin/lockbox-shim" ]; then
    finish
fi

# Static: no program interpreter, no shared library (a static PIE keeps a dynamic section for
# its own relocations, but needs nothing).
assert_eq "the shim has no program interpreter" "" \
    "$(readelf -lW "$D/usr/bin/lockbox-shim" | grep -i 'interp' || true)"
assert_eq "the shim needs no shared library" "" \
    "$(readelf -dW "$D/usr/bin/lockbox-shim" | grep NEEDED || true)"
if command -v file >/dev/null 2>&1; then
    assert_match "file(1) calls the shim static" "$(file -b "$D/usr/bin/lockbox-shim")" \
        "static(-pie)? linked"
fi
assert_true "the installed shim runs where no library is (--help in a chroot of D/usr/bin)" \
    chroot --userspec=65534:65534 "$D/usr/bin" /lockbox-shim --help >/dev/null

# The installed programs, end to end.
BROKER=$D/usr/bin/lockbox-broker
S=$(new_secret)
put_secret db "$S"
make_bundle c1 /lockbox-shim -- /bin/lbx-testapp read-fd:3 env fds mounted:/run/secrets
cp "$D/usr/bin/lockbox-shim" "$(bundle_of c1)/rootfs/lockbox-shim"
annotate c1 io.lockbox.secret.db=store:db
add_hooks c1 -v
assert_contains "config.json's hook is the installed broker" \
    "$(cat "$(bundle_of c1)/config.json" "$T/hook-logged")" "$D/usr/bin/lockbox-broker"
run_container c1
assert_eq "runc run exits 0" 0 "$RC"
assert_eq "the application read the secret on fd 3" "$S" "$(out_value c1 fd.3)"
assert_contains "LOCKBOX_FDS" "$(out_values c1 env)" LOCKBOX_FDS=db=3
assert_eq "fds" 0,1,2,3 "$(out_value c1 fds)"
assert_eq "/run/secrets no longer mounted" no "$(out_value c1 mounted./run/secrets)"
assert_clean c1
assert_no_secret_anywhere "$S"
finish
