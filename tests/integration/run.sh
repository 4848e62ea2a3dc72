#!/bin/bash
# tests/integration/run.sh BUILD_DIR — run every tests/integration/NN-*.sh in order, each in a
# process of its own with LOCKBOX_BUILD (absolute) in its environment and BUILD_DIR as its
# argument. Prints "ok NAME", "skip NAME: REASON" (a test that exits 77) or "FAIL NAME" with the
# last 40 lines of its output, then exactly one line
#   integration: N passed, N failed, N skipped
# and exits 1 when a test failed. TESTS="10 23" (name prefixes) runs a subset.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
LOCKBOX_BUILD=$(cd "$build" 2>/dev/null && pwd) || {
    echo "integration: no build directory '$build' (make)" >&2
    echo "integration: 0 passed, 1 failed, 0 skipped"
    exit 1
}
export LOCKBOX_BUILD

work=$(mktemp -d /tmp/lbx-it-run.XXXXXX)
chmod 0755 "$work"
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM HUP

# One template rootfs for the whole run; each bundle copies it.
# shellcheck source=tests/integration/rootfs.sh
. "$here/rootfs.sh"
if [ "$(id -u)" = 0 ] && lbx_make_rootfs "$work/rootfs" "$LOCKBOX_BUILD" 2>"$work/rootfs.err"; then
    export LOCKBOX_IT_ROOTFS=$work/rootfs
fi

passed=0 failed=0 skipped=0
for t in "$here"/[0-9][0-9]-*.sh; do
    [ -e "$t" ] || continue
    name=$(basename "$t" .sh)
    if [ -n "${TESTS:-}" ]; then
        want=no
        for p in $TESTS; do
            case $name in "$p"*) want=yes ;; esac
        done
        [ "$want" = yes ] || continue
    fi
    log=$work/$name.log
    start=$(date +%s%N)
    # A test written for sh keeps its interpreter; everything else runs under bash.
    if [ -x "$t" ]; then
        timeout -k 10 300 "$t" "$LOCKBOX_BUILD" >"$log" 2>&1 </dev/null
    else
        timeout -k 10 300 bash "$t" "$LOCKBOX_BUILD" >"$log" 2>&1 </dev/null
    fi
    rc=$?
    ms=$((($(date +%s%N) - start) / 1000000))
    case $rc in
    0)
        passed=$((passed + 1))
        echo "ok $name (${ms} ms)"
        ;;
    77)
        skipped=$((skipped + 1))
        echo "skip $name: $(grep -v '^$' "$log" | tail -n 1)"
        ;;
    *)
        failed=$((failed + 1))
        [ "$rc" -eq 124 ] && echo "timeout after 300 s" >>"$log"
        echo "FAIL $name (exit $rc, ${ms} ms)"
        tail -n 40 "$log" | sed 's/^/    /'
        ;;
    esac
done

echo "integration: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
