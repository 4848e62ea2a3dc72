#!/bin/bash
# 63-fd-leaks.sh — DESIGN §7 and §10.4: the application starts with only 0-2 and the fds of its
# secrets, however many fds its entrypoint leaked into the shim (a non-close-on-exec fd at 3,
# where a secret goes, one at 7, one at 1000), supervised or with --exec, with --fd and
# --stdin. Each secret fd is a sealed memfd holding the value. Real runc containers with the
# broker as their hooks.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-sec.sh"

S=$(new_secret)
put_secret db "$S"
put_secret api "api-$S"
put_secret tls "tls-$S"
ONE=(io.lockbox.secret.db=store:db)
THREE=(io.lockbox.secret.db=store:db io.lockbox.secret.api=store:api io.lockbox.secret.tls=store:tls)
# The entrypoint leaks fds into the shim: at 3 (a secret's place), 7 and 1000.
LEAK='exec 3</bin/busybox 7</bin/busybox 1000</bin/busybox;'

# run ID SCRIPT ANNOTATION...: the container runs /bin/sh -c SCRIPT.
run() {
    local id=$1 script=$2
    shift 2
    make_bundle "$id" /bin/sh -c "$script"
    edit_config "$id" 'c["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}]'
    annotate "$id" "$@"
    add_hooks "$id"
    run_container "$id"
    delete_container "$id"
    assert_eq "$id: exit status" 0 "$RC"
}

run plain "exec /lockbox-shim -- /bin/lbx-testapp fds read-fd:3 fdstat:3" "${ONE[@]}"
assert_eq "plain: fds" 0,1,2,3 "$(out_value plain fds)"
assert_eq "plain: fd 3 holds the value" "$S" "$(out_value plain fd.3)"
# seals: F_SEAL_SEAL|SHRINK|GROW|WRITE = 15; owner and mode of the file the broker wrote.
assert_eq "plain: fd 3 is a sealed memfd" 0:0:0400:15 "$(out_value plain fdstat.3)"

run leaked "$LEAK exec /lockbox-shim -- /bin/lbx-testapp fds read-fd:3 fdstat:3" "${ONE[@]}"
assert_eq "leaked: fds" 0,1,2,3 "$(out_value leaked fds)"
assert_eq "leaked: fd 3 is the secret, not the leaked file" "$S" "$(out_value leaked fd.3)"

run leaked-exec "$LEAK exec /lockbox-shim --exec -- /bin/lbx-testapp fds read-fd:3" "${ONE[@]}"
assert_eq "leaked-exec: fds" 0,1,2,3 "$(out_value leaked-exec fds)"
assert_eq "leaked-exec: fd 3" "$S" "$(out_value leaked-exec fd.3)"

run three "$LEAK exec /lockbox-shim -- /bin/lbx-testapp fds read-fd:3 read-fd:4 read-fd:5" \
    "${THREE[@]}"
assert_eq "three: fds" 0,1,2,3,4,5 "$(out_value three fds)"
# Manifest order is name order: api, db, tls.
assert_eq "three: fd 3, 4, 5" "api-$S $S tls-$S" \
    "$(out_value three fd.3) $(out_value three fd.4) $(out_value three fd.5)"

run fd-option "$LEAK exec /lockbox-shim --fd db=9 -- /bin/lbx-testapp fds read-fd:9" "${THREE[@]}"
assert_eq "fd-option: fds" 0,1,2,3,4,9 "$(out_value fd-option fds)"
assert_eq "fd-option: fd 9" "$S" "$(out_value fd-option fd.9)"

run stdin "$LEAK exec /lockbox-shim --stdin db -- /bin/lbx-testapp fds stdin" "${ONE[@]}"
assert_eq "stdin: fds" 0,1,2 "$(out_value stdin fds)"
assert_eq "stdin: the value on stdin" "$S" "$(out_value stdin stdin)"

# From outside: once the command runs, the supervising shim (PID 1) keeps one memfd per secret
# and nothing else of them — for a rotation (DESIGN §8: a restart starts the command again with
# the values that did not change, signal:SIG rewrites them in place) — each close-on-exec.
make_bundle sup /lockbox-shim -- /bin/lbx-testapp sleep:3
annotate sup "${ONE[@]}"
add_hooks sup
start_container sup
for ((i = 0; i < 100; i++)); do
    pid=$(container_field sup pid)
    [ -n "$pid" ] && [ -n "$(cat "/proc/$pid/task/$pid/children" 2>/dev/null || true)" ] && break
    sleep 0.02
done
shim_fds=$(for f in /proc/"$pid"/fd/*; do readlink "$f"; done | sort | tr '\n' ' ')
assert_true "supervising shim: its fds were read" test -n "$shim_fds"
assert_eq "supervising shim: one memfd, its secret's, is all it keeps of them" "memfd:db (deleted)" \
    "$(for f in /proc/"$pid"/fd/*; do readlink "$f"; done | grep '^/memfd:' | sed 's|^/||')"
cloexec=yes
for f in /proc/"$pid"/fd/*; do
    [[ $(readlink "$f") == /memfd:* ]] || continue
    # fdinfo's flags are octal; O_CLOEXEC is 02000000.
    flags=$(awk '/^flags:/ {print $2}' "/proc/$pid/fdinfo/${f##*/}")
    (((8#$flags & 8#2000000) != 0)) || cloexec=no
done
assert_eq "supervising shim: that memfd is close-on-exec" yes "$cloexec"
delete_container sup
assert_no_secret_anywhere "$S"
finish
