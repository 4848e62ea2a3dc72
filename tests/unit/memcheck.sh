#!/bin/sh
# make memcheck: every unit test binary under valgrind's memcheck.
#   tests/unit/memcheck.sh BINARY...
# Each test runs in its own forked process (CK_FORK=yes), as in make unit: the shim's tests
# rely on it (captured logs, signal helpers, exact fd lists), and valgrind follows fork(), so
# every test still runs under memcheck. Fails a binary:
#   - any memory error (invalid read or write, uninitialised value, bad free) in any process:
#     valgrind's exit status 99 fails the test it happened in;
#   - a definite leak in the test process or a test's own process. A process that the code
#     under test forks and that _exit()s (the shim's stdin writer, the broker's helpers) ends
#     with its parent's allocations still in its copy of the heap: not a leak, not counted.
# Excluded: the tests tagged "openat2" and "seccomp" (valgrind 3.19 answers ENOSYS to openat2
# and to seccomp()) and "spawn" (valgrind runs a CLONE_VM|CLONE_VFORK clone as a plain fork);
# unit-asan runs them.
set -u
here=$(dirname "$0")
pass=0 fail=0
for t in "$@"; do
    logs=$(mktemp -d)
    CK_FORK=yes CK_EXCLUDE_TAGS="openat2 seccomp spawn" valgrind --error-exitcode=99 --leak-check=full \
        --errors-for-leak-kinds=none --show-leak-kinds=definite --log-file="$logs/vg.%p" \
        --suppressions="$here/valgrind.supp" "$t" >"$logs/out" 2>&1
    rc=$?
    top=$(grep -l 'Parent PID:' "$logs"/vg.* 2>/dev/null | while read -r f; do
        p=$(sed -n 's/^==[0-9]*== Parent PID: \([0-9]*\)$/\1/p' "$f")
        [ -e "$logs/vg.$p" ] || echo "${f##*/vg.}"
    done)
    leaks=""
    for f in "$logs"/vg.*; do
        pid=${f##*/vg.}
        parent=$(sed -n 's/^==[0-9]*== Parent PID: \([0-9]*\)$/\1/p' "$f")
        # The test binary itself, or a test (a child of it): its leaks count.
        if [ "$pid" = "$top" ] || [ "$parent" = "$top" ]; then
            grep -q 'definitely lost in' "$f" && leaks="$leaks $f"
        fi
    done
    summary=$(grep -E '^[0-9]+%: Checks' "$logs/out" | tail -n1)
    if [ "$rc" -eq 0 ] && [ -n "$summary" ] && [ -z "$leaks" ]; then
        pass=$((pass + 1))
        echo "memcheck: ${t##*/}: $summary"
    else
        fail=$((fail + 1))
        echo "memcheck: ${t##*/}: FAILED (exit $rc)"
        grep -E ':[EF]:' "$logs/out" | head -n 10
        for f in $leaks; do
            grep -A8 'definitely lost in' "$f" | head -n 20
        done
        grep -lE 'Invalid (read|write|free)|uninitialised|Mismatched free' "$logs"/vg.* |
            head -n 3 | while read -r f; do
            grep -A10 -E 'Invalid (read|write|free)|uninitialised|Mismatched free' "$f" | head -n 24
        done
    fi
    rm -rf "$logs"
done
echo "memcheck: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
