#!/bin/sh
# The one place that installs what lockbox's build, tests and demo need (Debian 12): scdoc and
# man-db for the man pages (make man, man-check), debhelper, dpkg-dev, lintian and dh-apparmor
# for the Debian package (make deb, tests/integration/80-deb.sh).
# Idempotent and quick when everything is there: apt runs only for what is missing.
# With arguments, installs those packages instead (make fuzz: clang, which only it needs).
set -eu

PACKAGES="
gcc make pkg-config libc6-dev clang-format
libcurl4-openssl-dev libjansson-dev libsodium-dev check libsubunit-dev
runc crun podman docker.io busybox-static openssl python3 python3-hvac util-linux procps gdb
cppcheck shellcheck valgrind strace apparmor
scdoc man-db groff-base
debhelper dpkg-dev fakeroot lintian dh-apparmor
"
if [ $# -gt 0 ]; then PACKAGES="$*"; fi

missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
    echo "deps: missing packages:$missing (run as root to install them)" >&2
    exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
