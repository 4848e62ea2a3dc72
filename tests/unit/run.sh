#!/bin/sh
# Run each Check suite binary; print Check's own summary per suite and one total line.
# A test that cannot run here is not registered and prints "unit: skip NAME: WHY" (unit.h):
# counted as skipped, never as passed. LOCKBOX_RUNNER runs each binary through a command
# (make cross: qemu-aarch64 -L SYSROOT).
set -u
pass=0 fail=0 skip=0
for t in "$@"; do
    # shellcheck disable=SC2086 # the runner is a command and its arguments
    out=$(CK_FORK=yes ${LOCKBOX_RUNNER:-} "$t" 2>&1)
    rc=$?
    printf '%s\n' "$out" | grep -E '^[0-9]+%: Checks|:[EF]:|^unit: skip ' || true
    skip=$((skip + $(printf '%s\n' "$out" | grep -c '^unit: skip ')))
    checks=$(printf '%s\n' "$out" | sed -n 's/.*Checks: \([0-9]*\), Failures: \([0-9]*\), Errors: \([0-9]*\).*/\1 \2 \3/p' | tail -n1)
    if [ -z "$checks" ]; then
        echo "unit: $t: no summary (rc=$rc)"
        fail=$((fail + 1))
        continue
    fi
    # shellcheck disable=SC2086 # three numbers, split on purpose
    set -- $checks "$@"
    n=$1 f=$2 e=$3
    shift 3
    pass=$((pass + n - f - e))
    fail=$((fail + f + e))
    [ "$rc" -ne 0 ] && [ $((f + e)) -eq 0 ] && fail=$((fail + 1)) && echo "unit: $t exited $rc"
done
echo "unit: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
