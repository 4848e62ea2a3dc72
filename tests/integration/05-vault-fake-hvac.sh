#!/bin/sh
# 05-vault-fake-hvac.sh — the Vault test server is only worth testing against if it answers as a
# real Vault does: run Debian's python3-hvac (a client written by others) against it.
#
# Usage: tests/integration/05-vault-fake-hvac.sh [BUILD_DIR]   (BUILD_DIR is accepted, unused)
# Prints the checks' output (one line each, then "N passed, M failed"); exit 0 if all passed, 1
# otherwise. The test picks free ports, works in its own mktemp directory and stops the fake on
# exit; this wrapper also gives it a deadline and kills it (and the fake) on a signal.
set -u

here=$(cd "$(dirname "$0")" && pwd)
fakes="$here/../fakes"
py=/usr/bin/python3

if [ ! -x "$py" ] || ! "$py" -c 'import hvac' 2>/dev/null; then
    echo "05-vault-fake-hvac: /usr/bin/python3 with python3-hvac is required (make deps)"
    echo "0 passed, 1 failed"
    exit 1
fi
if ! command -v openssl >/dev/null 2>&1; then
    echo "05-vault-fake-hvac: openssl is required (make deps)"
    echo "0 passed, 1 failed"
    exit 1
fi

out=$(mktemp "${TMPDIR:-/tmp}/vault-fake-hvac.XXXXXX") || exit 1
pid=
cleanup() {
    if [ -n "$pid" ]; then
        kill -TERM "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    fi
    rm -f "$out"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

# The Python test stops its fake when it gets SIGTERM (timeout's signal) or finishes.
timeout -k 10 180 "$py" "$fakes/test_vault_hvac.py" >"$out" 2>&1 &
pid=$!
wait "$pid"
rc=$?
pid=
cat "$out"
if [ "$rc" -eq 124 ]; then
    echo "05-vault-fake-hvac: timed out after 180 s"
fi
[ "$rc" -eq 0 ] && exit 0
exit 1
