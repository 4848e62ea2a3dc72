#!/bin/sh
# The one place that installs what lockbox's build, tests and demo need (Debian 12): scdoc and
# man-db for the man pages (make man, man-check), debhelper, dpkg-dev, lintian and dh-apparmor
# for the Debian package (make deb, tests/integration/29-debian-package.sh).
# Idempotent and quick when everything is there: apt runs only for what is missing.
# With arguments, installs those packages instead (make fuzz: clang, which only it needs).
# DEPS_ARCH=arm64 (make deps ARCH=arm64) adds what `make cross ARCH=arm64` needs: the arm64
# libraries through Debian's multiarch, the cross compiler and qemu-user to run the tests.
set -eu

PACKAGES="
gcc make pkg-config libc6-dev clang-format
libcurl4-openssl-dev libjansson-dev libsodium-dev libseccomp-dev libcap-ng-dev
check libsubunit-dev
runc crun podman docker.io busybox-static openssl python3 python3-hvac util-linux procps iproute2 gdb
cppcheck shellcheck valgrind strace apparmor
containerd python3-grpcio python3-grpc-tools python3-cryptography
scdoc man-db groff-base
debhelper dpkg-dev fakeroot lintian dh-apparmor
"
if [ $# -gt 0 ]; then PACKAGES="$*"; fi

foreign=""
case "${DEPS_ARCH:-}" in
"") ;;
arm64)
    foreign=arm64
    PACKAGES="$PACKAGES gcc-aarch64-linux-gnu qemu-user file
libsodium-dev:arm64 libcurl4-openssl-dev:arm64 libjansson-dev:arm64 libseccomp-dev:arm64
libcap-ng-dev:arm64 check:arm64 libsubunit-dev:arm64"
    ;;
*)
    echo "deps: DEPS_ARCH=$DEPS_ARCH: only arm64 is supported" >&2
    exit 2
    ;;
esac

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
# Before the one update, so that it fetches the foreign architecture's package lists too.
if [ -n "$foreign" ] && ! dpkg --print-foreign-architectures | grep -qx "$foreign"; then
    dpkg --add-architecture "$foreign"
fi
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
