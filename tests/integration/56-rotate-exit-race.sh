#!/bin/bash
# 56-rotate-exit-race.sh — rotations racing with the container's exit (DESIGN §8, §10.2): a
# loop of rotations runs while the container is killed at a random moment, then deleted
# (poststop). Whatever the interleaving, once poststop has run nothing is left: no tmpfs, no
# record, no lock, no socket, no watcher — with the shim (fresh tmpfs, signal) and without it
# (replacement in place), several times each.
. "$(dirname "$0")/lib.sh"
. "$LBX_IT_DIR/lib-rotate.sh"

ROUNDS=${ROUNDS:-5}
put_secret db "$(new_secret)"

# rotate_loop ID: change the value and rotate, 40 times, ignoring failures (the container goes).
rotate_loop() {
    local j
    for ((j = 0; j < 40; j++)); do
        put_secret db "$(new_secret)"
        broker rotate "$1" >/dev/null 2>&1 || true
    done
}

for kind in shim kept; do
    for ((i = 1; i <= ROUNDS; i++)); do
        id=$kind$i
        if [ "$kind" = shim ]; then
            make_bundle "$id" /lockbox-shim -- /bin/lbx-testapp watch-fd:3:USR2:1000
        else
            make_bundle "$id" /bin/lbx-testapp sleep:300
        fi
        annotate "$id" io.lockbox.secret.db=store:db
        add_hooks "$id"
        start_container "$id"
        [ "$RC" = 0 ] || die "$id did not start"
        [ "$kind" = kept ] || wait_record "$id" consumed true || die "$id: never consumed"
        rotate_loop "$id" &
        loop=$!
        sleep "0.$((RANDOM % 4))$((RANDOM % 10))"
        runc --root "$RUNC_ROOT" kill "$id" KILL
        wait_stopped "$id" || true
        delete_container "$id"
        wait "$loop" || true
        # A rotation that started after poststop finds no record: still nothing is made.
        broker rotate "$id" >/dev/null 2>&1 || true
        assert_clean "$id"
        assert_true "$id: no lock file" test ! -e "$STATE/containers/$id.lock"
    done
done

# The interleavings that could leave something behind are a few microseconds wide (a rotation
# between reading the record and writing it back while poststop removes it); the random kills
# above rarely hit them. What closes them is that poststop waits for the record's lock, which
# a rotation holds over that window: hold it here as a rotation would, and poststop must wait.
make_bundle held /bin/lbx-testapp sleep:300
annotate held io.lockbox.secret.db=store:db
add_hooks held
start_container held
runc --root "$RUNC_ROOT" kill held KILL
wait_stopped held || true
exec {lockfd}>"$STATE/containers/held.lock"
flock "$lockfd"
# (bash's fds are inherited: the lock must not go with runc to the hook.)
{
    exec {lockfd}>&-
    delete_container held
} &
deleting=$!
sleep 1
assert_true "poststop waits while a rotation holds the record's lock" test -e "$STATE/containers/held.json"
exec {lockfd}>&-
wait "$deleting" || true
assert_clean held
assert_true "held: no lock file" test ! -e "$STATE/containers/held.lock"

assert_eq "no socket left in the state directory" "" "$(ls -A "$STATE/watch")"
assert_eq "no record or lock left" "" "$(ls -A "$STATE/containers")"
assert_eq "no broker left running" "" "$(pgrep -f -- "--state-dir $STATE" || true)"
finish
