#!/bin/sh
# Run each Check suite binary; print Check's own summary per suite, each test it did not register
# because it cannot run here ("skip: NAME: WHY", see unit.h), and one total line
#   unit: N passed, N failed, N skipped
set -u
pass=0 fail=0 skipped=0
for t in "$@"; do
    out=$(CK_FORK=yes "$t" 2>&1)
    rc=$?
    printf '%s\n' "$out" | grep -E '^[0-9]+%: Checks|:[EF]:|^skip: ' || true
    s=$(printf '%s\n' "$out" | sed -n 's/^Skipped: \([0-9]*\)$/\1/p' | tail -n1)
    skipped=$((skipped + ${s:-0}))
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
echo "unit: $pass passed, $fail failed, $skipped skipped"
[ "$fail" -eq 0 ]
