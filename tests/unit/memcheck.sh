#!/bin/sh
# make memcheck: every unit test binary under valgrind's memcheck. Any invalid read or write,
# use of uninitialised memory, bad free or definite leak fails the test it happens in.
#   tests/unit/memcheck.sh BINARY...
# Each test runs in its own forked process (CK_FORK=yes), as in make unit: the shim's tests
# rely on it (captured logs, signal helpers, exact fd lists), and valgrind follows fork(), so
# every test still runs under memcheck with its own leak check at exit. Excluded: the tests
# tagged "openat2" (valgrind 3.19 answers ENOSYS to openat2; unit-asan runs them).
set -u
here=$(dirname "$0")
pass=0 fail=0
for t in "$@"; do
    log=$(mktemp)
    CK_FORK=yes CK_EXCLUDE_TAGS=openat2 valgrind -q --error-exitcode=99 --leak-check=full \
        --errors-for-leak-kinds=definite --show-leak-kinds=definite \
        --suppressions="$here/valgrind.supp" "$t" >"$log" 2>&1
    rc=$?
    summary=$(grep -E '^[0-9]+%: Checks' "$log" | tail -n1)
    if [ "$rc" -eq 0 ] && [ -n "$summary" ] && ! grep -q '^==[0-9]*== ' "$log"; then
        pass=$((pass + 1))
        echo "memcheck: ${t##*/}: $summary"
    else
        fail=$((fail + 1))
        echo "memcheck: ${t##*/}: FAILED (exit $rc)"
        grep -E ':[EF]:|^==[0-9]*== ' "$log" | head -n 60
    fi
    rm -f "$log"
done
echo "memcheck: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
