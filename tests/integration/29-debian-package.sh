#!/bin/bash
# 29-debian-package.sh — issue 14: debian/ builds the package `lockbox` from the tree with
# `dpkg-buildpackage -b -us -uc`, in a copy of the tree under $T (never in the source tree);
# DEB_BUILD_OPTIONS=nocheck skips its tests (a package build never runs make check). Depends
# names libcurl4 (loaded with dlopen: the shlibs cannot see it); installed with dpkg into a
# scratch root, the programs, man pages, units, hooks.d file and AppArmor profile (a conffile)
# are where Debian expects them and name /usr; lintian reports no error or warning that is not
# overridden with a reason (debian/lockbox.lintian-overrides). The build time is printed.
. "$(dirname "$0")/lib.sh"

REPO=$(cd "$LBX_IT_DIR/../.." && pwd)
[ -f "$REPO/debian/control" ] || skip "no debian/ in $REPO"
for c in dpkg-buildpackage dh lintian scdoc dh_apparmor; do
    command -v "$c" >/dev/null 2>&1 && continue
    "$LBX_IT_DIR/../deps.sh" dpkg-dev debhelper fakeroot lintian scdoc dh-apparmor \
        >"$T/deps.log" 2>&1 || skip "cannot install the packaging tools: $(tail -n 1 "$T/deps.log")"
    break
done

# The copy: what git tracks plus new files it does not ignore (a clone's content), or, outside
# a git checkout, the tree without build directories.
SRC=$T/src/lockbox
mkdir -p "$SRC"
if git -C "$REPO" rev-parse --git-dir >/dev/null 2>&1; then
    git -C "$REPO" ls-files -z -co --exclude-standard |
        (cd "$REPO" && tar --null -T - -cf - 2>/dev/null) | tar -C "$SRC" -xf - ||
        die "cannot copy the tree"
else
    tar -C "$REPO" --exclude=./build --exclude='./build-*' --exclude=./debian/build -cf - . |
        tar -C "$SRC" -xf - || die "cannot copy the tree"
fi
# What a build in the source tree would leave there, and in its parent.
tree_residue() {
    local f
    for f in "$REPO"/debian/files "$REPO"/debian/lockbox "$REPO"/debian/build \
        "$REPO"/debian/.debhelper "$REPO"/debian/debhelper-build-stamp; do
        [ ! -e "$f" ] || echo "$f"
    done
    find "$(dirname "$REPO")" -maxdepth 1 -name 'lockbox*_*.deb' -newer "$SRC" 2>/dev/null
}

start=$(date +%s%N)
rc=0
(cd "$SRC" && DEB_BUILD_OPTIONS="nocheck parallel=2" dpkg-buildpackage -b -us -uc) \
    >"$T/build.log" 2>&1 || rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
[ "$rc" -eq 0 ] || tail -n 30 "$T/build.log"
assert_eq "dpkg-buildpackage -b -us -uc in a copy of the tree: exit 0 ($ms ms)" 0 "$rc"
echo "package build: $((ms / 1000)).$((ms % 1000 / 100)) s"
DEB=$(find "$T/src" -maxdepth 1 -name "lockbox_*_*.deb" | head -n 1)
[ -n "$DEB" ] || finish
assert_eq "nothing of the build is in the source tree or next to it" "" "$(tree_residue)"
assert_true "nocheck: the unit tests did not run" \
    test -z "$(grep -E '^unit: [0-9]+ passed' "$T/build.log" || true)"
assert_true "nor the integration suite" \
    test -z "$(grep -E '^integration: ' "$T/build.log" || true)"

assert_eq "the package is lockbox" lockbox "$(dpkg-deb -f "$DEB" Package)"
depends=$(dpkg-deb -f "$DEB" Depends)
assert_match "Depends names libcurl4 (dlopen'd), and what the shlibs found" "$depends" \
    "(^|, )libcurl4(,|$).*libjansson4.*libsodium23"
assert_match "Built-Using names what the static shim links" "$(dpkg-deb -f "$DEB" Built-Using)" \
    "jansson \\(= .*libsodium \\(= "

# Installed with dpkg into a scratch root. The maintainer scripts run outside the root
# (--force-script-chrootless, DPKG_ROOT set); dh_apparmor's postinst looks at the host's
# /etc/apparmor.d, so configure only where the host has no profile of that name.
R=$T/root
mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates" "$R/var/lib/dpkg/triggers"
: >"$R/var/lib/dpkg/status"
action=-i
[ ! -e /etc/apparmor.d/usr.bin.lockbox-broker ] || action=--unpack
rc=0
dpkg --root="$R" --force-script-chrootless --force-depends --log=/dev/null "$action" "$DEB" \
    >"$T/dpkg.log" 2>&1 || rc=$?
[ "$rc" -eq 0 ] || cat "$T/dpkg.log"
assert_eq "dpkg $action into a scratch root: exit 0" 0 "$rc"
for f in /usr/bin/lockbox-broker /usr/bin/lockbox-shim /usr/bin/lockbox-runtime \
    /usr/share/man/man8/lockbox-broker.8.gz /usr/share/man/man8/lockbox-runtime.8.gz \
    /usr/share/man/man1/lockbox-shim.1.gz /usr/share/man/man5/lockbox-broker.json.5.gz \
    /lib/systemd/system/lockbox-rotate.service /lib/systemd/system/lockbox-rotate.timer \
    /lib/systemd/system/lockbox-agent.service /lib/systemd/system/lockbox-agent.socket \
    /usr/share/containers/oci/hooks.d/lockbox.json /etc/apparmor.d/usr.bin.lockbox-broker \
    /usr/share/lockbox/docker-daemon.json /usr/share/doc/lockbox/copyright; do
    assert_true "installed: $f" test -e "$R$f"
done
assert_eq "lockbox-runtime is the broker" lockbox-broker "$(readlink "$R/usr/bin/lockbox-runtime")"
assert_eq "dpkg knows it installed" "install ok $([ "$action" = -i ] && echo installed || echo unpacked)" \
    "$(dpkg-query --admindir="$R/var/lib/dpkg" -W -f '${Status}' lockbox)"
assert_contains "the AppArmor profile is a conffile" "$(cat "$R/var/lib/dpkg/info/lockbox.conffiles")" \
    /etc/apparmor.d/usr.bin.lockbox-broker
assert_contains "the hooks.d file runs /usr/bin/lockbox-broker" \
    "$(cat "$R/usr/share/containers/oci/hooks.d/lockbox.json")" '"path": "/usr/bin/lockbox-broker"'
assert_contains "the unit runs /usr/bin/lockbox-broker" \
    "$(cat "$R/lib/systemd/system/lockbox-rotate.service")" "ExecStart=/usr/bin/lockbox-broker rotate --all"
assert_eq "the man pages render without a warning" "" \
    "$(for m in "$R"/usr/share/man/man*/lockbox*; do
        LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$m" 2>&1 >/dev/null
    done)"
assert_true "the installed broker runs (--help)" "$R/usr/bin/lockbox-broker" --help
assert_eq "the timer and the agent's socket are installed, not enabled" "" \
    "$(find "$R/etc/systemd" -name 'lockbox-rotate.timer' -o -name 'lockbox-agent.socket' 2>/dev/null)"

out=$(cd "$T/src" && lintian --fail-on error,warning --suppress-tags-from-file /dev/null \
    lockbox_*_*.changes 2>&1) && rc=0 || rc=$?
assert_eq "lintian: no error or warning (each left is overridden with a reason)" \
    "0 " "$rc $(grep -E '^[EW]: ' <<<"$out" || true)"
finish
