#!/bin/bash
# tests/demo.sh BUILD_DIR — `make demo`: lockbox end to end on this machine, as root, with no
# configuration of its own and nothing touched outside a temporary directory (not /etc, not
# /var/lib/lockbox, not /run/lockbox). A throwaway sealed store gets a demo secret; a busybox
# container whose entrypoint is lockbox-shim runs under runc with lockbox-broker as its hooks;
# then each claim is checked, not assumed, and printed. Exit 1 when a check fails.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-build}" 2>/dev/null && pwd) || {
    echo "demo: no build directory '${1:-build}' (make)" >&2
    exit 1
}
BROKER=$build/lockbox-broker
for x in "$BROKER" "$build/lockbox-shim" "$build/lbx-testapp"; do
    [ -x "$x" ] || {
        echo "demo: $x is missing (make)" >&2
        exit 1
    }
done
[ "$(id -u)" = 0 ] || {
    echo "demo: run as root (runc, mounts)" >&2
    exit 1
}
command -v runc >/dev/null 2>&1 || {
    echo "demo: runc is missing (make deps)" >&2
    exit 1
}

W=$(mktemp -d /tmp/lockbox-demo.XXXXXX)
chmod 0755 "$W"
ID=demo-${W##*.}
CFG=$W/etc/broker.json
STATE=$W/state
BUNDLE=$W/bundle
RUNC_ROOT=$W/runc

cleanup() {
    local rc=$?
    set +e
    runc --root "$RUNC_ROOT" delete -f "$ID" >/dev/null 2>&1
    [ -e "$STATE/containers/$ID.json" ] &&
        "$BROKER" --config "$CFG" --state-dir "$STATE" revoke "$ID" >/dev/null 2>&1
    awk -v p="$W/" 'index($5, p) == 1 {print $5}' /proc/self/mountinfo | sort -r |
        while read -r m; do umount -l "$m"; done
    rm -rf "$W"
    [ "$rc" -eq 0 ] || echo "demo: FAILED (everything it made is removed)"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

fail() {
    echo "demo: check failed: $*"
    exit 1
}

broker() {
    "$BROKER" --config "$CFG" --state-dir "$STATE" "$@"
}

echo "lockbox demo: a secret from a sealed store into a runc container, and nothing left behind"
echo "   (everything lives in $W and is removed at the end)"

# A configuration of the demo's own: the embedded default would use /var/lib/lockbox and
# /etc/lockbox/store.key.
mkdir -p "$W/etc" "$W/log"
cat >"$CFG" <<EOF
{"state_dir": "$STATE",
 "audit_log": "$W/log/audit.log",
 "backends": {"store": {"type": "store", "dir": "$W/store", "key_file": "$W/etc/store.key"}},
 "roles": [{"name": "default", "allow": ["store:*"]}]}
EOF
chmod 0600 "$CFG"
broker store init >/dev/null
SECRET="demo-$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"
# From stdin, never from argv (printf is a shell builtin: no process shows the value).
printf '%s' "$SECRET" | broker store put demo-password >/dev/null
echo "   store: $(broker store ls | tr '\n' ' ')(sealed in $W/store)"

# The container: busybox, the shim as entrypoint, the request as an annotation, the broker as
# createRuntime and poststop hooks.
# shellcheck source=tests/integration/rootfs.sh
. "$here/integration/rootfs.sh"
lbx_make_rootfs "$BUNDLE/rootfs" "$build"
runc spec --bundle "$BUNDLE"
# shellcheck disable=SC2016 # expanded by the container's shell
APP='echo "fd3=$(cat <&3)"; env | sed "s/^/env:/"; cat /proc/self/mountinfo | sed "s/^/mnt:/"'
/usr/bin/python3 - "$BUNDLE/config.json" "$BROKER" "$CFG" "$STATE" "$APP" <<'EOF'
import json, sys
path, broker, cfg, state, app = sys.argv[1:]
c = json.load(open(path))
c["process"]["terminal"] = False
c["process"]["args"] = ["/lockbox-shim", "--", "/bin/sh", "-c", app]
c["root"]["readonly"] = False
c["annotations"] = {"io.lockbox.secret.demo-password": "store:demo-password"}
hook = lambda stage: {"path": broker,
                      "args": [broker, "--config", cfg, "--state-dir", state, "hook", stage]}
c["hooks"] = {"createRuntime": [hook("createRuntime")], "poststop": [hook("poststop")]}
json.dump(c, open(path, "w"), indent=1)
EOF
echo "   container: busybox, entrypoint /lockbox-shim -- /bin/sh -c '...';" \
    "io.lockbox.secret.demo-password=store:demo-password"
rc=0
runc --root "$RUNC_ROOT" run --bundle "$BUNDLE" "$ID" >"$W/out" 2>"$W/err" </dev/null || rc=$?
if [ "$rc" -ne 0 ]; then
    cat "$W/err"
    fail "runc run exited $rc"
fi
echo

# 1. The application read it from fd 3.
got=$(sed -n 's/^fd3=//p' "$W/out")
[ "$got" = "$SECRET" ] || fail "fd 3 held [$got], not the stored secret"
echo "1. the application read the secret through fd 3: $got"

# 2. Its environment says where, and holds no value.
fds=$(sed -n 's/^env:\(LOCKBOX_FDS=.*\)/\1/p' "$W/out")
[ "$fds" = "LOCKBOX_FDS=demo-password=3" ] || fail "LOCKBOX_FDS is [$fds]"
! grep '^env:' "$W/out" | grep -qF -- "$SECRET" || fail "the secret is in the environment"
! grep -q '^env:LOCKBOX_SECRET_' "$W/out" || fail "a LOCKBOX_SECRET_ variable reached the app"
echo "2. not in its environment: $fds (no secret)"

# 3. The application's own mount table has no /run/secrets.
grep -q '^mnt:' "$W/out" || fail "the application printed no mount table"
! grep '^mnt:' "$W/out" | awk '{print $5}' | grep -qx /run/secrets ||
    fail "/run/secrets is still mounted in the container"
echo "3. /run/secrets is no longer mounted in the container"

# 4. After the container: no byte of the secret in the rootfs, the bundle (config.json), the
# host's mount table, the state directory or the audit log; no state, no watcher, no tmpfs.
needle=$W/needle
printf '%s\n' "$SECRET" >"$needle" # grep -f: an argument would put it in grep's cmdline
hits=$(grep -rlaF -f "$needle" -- "$BUNDLE" /proc/self/mountinfo "$STATE" "$W/log" \
    2>/dev/null || true)
rm -f "$needle"
[ -z "$hits" ] || fail "the secret's bytes are in: $hits"
[ ! -e "$STATE/containers/$ID.json" ] || fail "the container's state is still there"
[ -z "$(awk -v p="$W/" 'index($5, p) == 1' /proc/self/mountinfo)" ] ||
    fail "something is still mounted under $W"
for c in /proc/[0-9]*/comm; do
    read -r comm 2>/dev/null <"$c" || continue
    [ "$comm" = lockbox-watch ] || continue
    ! tr '\0' ' ' 2>/dev/null <"${c%/comm}/cmdline" | grep -qF "$W/" ||
        fail "a watcher is still running (pid ${c//[^0-9]/})"
done
[ -s "$W/log/audit.log" ] || fail "the audit log is empty"
echo "4. nothing of it in the rootfs / bundle / mount table / state" \
    "(the audit log names it: $(grep -c '"demo-password"' "$W/log/audit.log") lines, no value)"
echo
echo "demo: ok"
