#!/bin/bash
# 38-install.sh — issue 2, Done when: `make install DESTDIR=D PREFIX=/usr` gives
# D/usr/bin/lockbox-broker and a static D/usr/bin/lockbox-shim, and a runc bundle whose
# config.json has the installed broker as its hook (--config, --state-dir of a test
# configuration), io.lockbox.secret.NAME=store:NAME and `/lockbox-shim -- CMD` as its process
# gets the secret as described, with no residue anywhere.
# Issue 14: one prefix. For two PREFIXes, make install puts the programs, the man pages, the
# Docker runtime snippet, the hooks.d file, the systemd units and the AppArmor profile where
# each belongs, and every installed file names only that PREFIX's paths.
. "$(dirname "$0")/lib.sh"

command -v make >/dev/null 2>&1 || skip "make is not installed"
command -v readelf >/dev/null 2>&1 || skip "readelf (binutils) is not installed"
command -v scdoc >/dev/null 2>&1 || skip "scdoc is not installed (make deps)"
REPO=$(cd "$LBX_IT_DIR/../.." && pwd)

# install_to D PREFIX: make install, its log in $T/install.log.
install_to() {
    local rc=0
    make -s -C "$REPO" O="$LOCKBOX_BUILD" DESTDIR="$1" PREFIX="$2" install >"$T/install.log" 2>&1 ||
        rc=$?
    [ "$rc" -eq 0 ] || tail -n 20 "$T/install.log"
    assert_eq "make install PREFIX=$2 exits 0" 0 "$rc"
}

# Paths that name a lockbox program or lockbox's data, anywhere in the installed files (the
# programs too); each must be under PREFIX.
foreign_paths() {
    local d=$1 p=$2
    grep -rahoE "(/[A-Za-z0-9._-]+)*/(s?bin/lockbox-(broker|runtime|shim)|share/lockbox|share/man/man[158])" \
        "$d" | sort -u | grep -vE "^$p/(bin/lockbox-|share/lockbox|share/man/)" || true
}

check_prefix() {
    local d=$1 p=$2 hooks=$3 units=$4 aa=$5 f
    install_to "$d" "$p"
    for f in "$p/bin/lockbox-broker" "$p/bin/lockbox-shim" "$p/bin/lockbox-runtime" \
        "$p/share/man/man8/lockbox-broker.8" "$p/share/man/man8/lockbox-runtime.8" \
        "$p/share/man/man1/lockbox-shim.1" "$p/share/man/man5/lockbox-broker.json.5" \
        "$p/share/lockbox/docker-daemon.json" "$hooks/lockbox.json" \
        "$units/lockbox-rotate.service" "$units/lockbox-rotate.timer" \
        "$units/lockbox-agent.service" "$units/lockbox-agent.socket" "/etc/apparmor.d/$aa"; do
        assert_true "PREFIX=$p: $f is installed" test -e "$d$f"
    done
    assert_eq "PREFIX=$p: every installed file names only $p" "" "$(foreign_paths "$d" "$p")"
    assert_eq "PREFIX=$p: no template placeholder left" "" \
        "$(grep -rlE '@(BINDIR|DATADIR|APPARMOR_NAME)@' "$d" --exclude=lockbox-broker --exclude=lockbox-shim || true)"
    assert_eq "PREFIX=$p: the Docker snippet runs $p/bin/lockbox-runtime" "$p/bin/lockbox-runtime" \
        "$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["runtimes"]["lockbox"]["path"])' \
            "$d$p/share/lockbox/docker-daemon.json")"
    assert_eq "PREFIX=$p: the hooks.d file runs $p/bin/lockbox-broker" "$p/bin/lockbox-broker" \
        "$("$PY" -c 'import json, sys; print(json.load(open(sys.argv[1]))["hook"]["path"])' \
            "$d$hooks/lockbox.json")"
    assert_eq "PREFIX=$p: the unit runs $p/bin/lockbox-broker" \
        "ExecStart=$p/bin/lockbox-broker rotate --all" \
        "$(grep '^ExecStart=' "$d$units/lockbox-rotate.service")"
    assert_eq "PREFIX=$p: the agent's unit runs $p/bin/lockbox-broker" \
        "ExecStart=$p/bin/lockbox-broker agent" \
        "$(grep '^ExecStart=' "$d$units/lockbox-agent.service")"
    assert_contains "PREFIX=$p: the AppArmor profile attaches to $p/bin" \
        "$(cat "$d/etc/apparmor.d/$aa")" "profile lockbox-broker $p/bin/lockbox-{broker,runtime} "
    if command -v apparmor_parser >/dev/null 2>&1; then
        assert_eq "PREFIX=$p: the installed AppArmor profile compiles" "" \
            "$(apparmor_parser -Q -K -T "$d/etc/apparmor.d/$aa" 2>&1 | grep -v '^Cache read/write disabled' || true)"
    fi
    assert_contains "PREFIX=$p: lockbox-runtime(8) names the snippet where it is" \
        "$(MANWIDTH=200 man -l "$d$p/share/man/man8/lockbox-runtime.8" 2>/dev/null)" \
        "$p/share/lockbox/docker-daemon.json"
}

check_prefix "$T/o" /opt/lbx /etc/containers/oci/hooks.d /opt/lbx/lib/systemd/system \
    opt.lbx.bin.lockbox-broker
D=$T/d
check_prefix "$D" /usr /usr/share/containers/oci/hooks.d /usr/lib/systemd/system \
    usr.bin.lockbox-broker
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
shim_help_in_chroot() { chroot --userspec=65534:65534 "$D/usr/bin" /lockbox-shim --help >/dev/null; }
assert_true "the installed shim runs where no library is (--help in a chroot of D/usr/bin)" \
    shim_help_in_chroot

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
