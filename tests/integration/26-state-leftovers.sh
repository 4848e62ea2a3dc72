#!/bin/bash
# 26-state-leftovers.sh — what a broker killed in the middle of a write leaves in the state
# directory is cleaned up by the next broker that looks (issue 13, item 4): the temporary files
# of its atomic writes (containers/.#ID.json.PID: names, references, the bundle path, digests;
# tokens/.#...: a Vault token) and the hand-over socket of a watcher that was killed. `status`,
# a hook (placement) and poststop each remove them. One is removed once it is older than a
# minute and its writer is gone, or older than an hour whatever the pid says; a younger one,
# or one whose writer still runs, is a write under way and stays.
#
# A kill -9 lands inside the few microseconds of a write only by luck, so the leftovers are made
# here as such a kill leaves them: same names, same places, root's, backdated.
. "$(dirname "$0")/lib.sh"

S=$(new_secret)
put_secret db "$S"
GONE=2147483646 # a pid no process has (pid_max is at most 4194304)

# leftovers: one of each kind; sets the names the checks look at.
leftovers() {
    mkdir -p "$STATE/containers" "$STATE/tokens" "$STATE/watch"
    chmod 0700 "$STATE" "$STATE/containers" "$STATE/watch"
    printf '{"id":"crashed","bundle":"/b","secrets":[{"name":"db","ref":"store:db"}]}' \
        >"$STATE/containers/.#crashed.json.$GONE"
    printf 'token' >"$STATE/tokens/.#vault.abc.$GONE"
    printf 'k' >"$STATE/.#digest.key.$GONE.12345678"
    printf '{}' >"$STATE/containers/.#young.json.$GONE"
    printf '{}' >"$STATE/containers/.#alive.json.$$"
    printf '{}' >"$STATE/containers/.#ancient.json.$$"
    "$PY" -c 'import socket, sys; socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET).bind(sys.argv[1])' \
        "$STATE/watch/00000000000000000000000000000000.sock"
    touch -d '-2 minutes' "$STATE/containers/.#crashed.json.$GONE" "$STATE/tokens/.#vault.abc.$GONE" \
        "$STATE/.#digest.key.$GONE.12345678" "$STATE/containers/.#alive.json.$$" \
        "$STATE/watch/00000000000000000000000000000000.sock"
    touch -d '-2 hours' "$STATE/containers/.#ancient.json.$$"
}

# swept WHAT: the stale ones are gone, the others still there.
swept() {
    local what=$1
    assert_true "$what: a record's temporary file of a dead writer is removed" \
        test ! -e "$STATE/containers/.#crashed.json.$GONE"
    assert_true "$what: a token's temporary file of a dead writer is removed" \
        test ! -e "$STATE/tokens/.#vault.abc.$GONE"
    assert_true "$what: the digest key's temporary file of a dead writer is removed" \
        test ! -e "$STATE/.#digest.key.$GONE.12345678"
    assert_true "$what: one older than the hour is removed, whatever its pid" \
        test ! -e "$STATE/containers/.#ancient.json.$$"
    assert_true "$what: the socket of a killed watcher is removed" \
        test ! -e "$STATE/watch/00000000000000000000000000000000.sock"
    assert_true "$what: a young temporary file stays (a write may be under way)" \
        test -e "$STATE/containers/.#young.json.$GONE"
    assert_true "$what: one whose writer runs stays" test -e "$STATE/containers/.#alive.json.$$"
    rm -f "$STATE/containers/.#young.json.$GONE" "$STATE/containers/.#alive.json.$$"
}

# 1. status.
leftovers
broker status >/dev/null
swept "status"

# 2. A hook that places a container. Its watcher's socket is in use and stays, also once old.
leftovers
make_bundle c1 /bin/lbx-testapp sleep:30
annotate c1 io.lockbox.secret.db=store:db
add_hooks c1
start_container c1
assert_eq "hook: the container runs" 0 "$RC"
swept "a hook"
live=$(find "$STATE/watch" -name '*.sock' | head -n 1)
assert_true "hook: its watcher's socket is there" test -S "$live"
touch -d '-2 hours' "$live"
broker status >/dev/null
assert_true "a live watcher's socket stays, however old" test -S "$live"

# 3. poststop.
leftovers
delete_container c1
swept "poststop"
assert_true "poststop: the container's own socket is gone" test ! -e "$live"

assert_clean c1
assert_no_secret_anywhere "$S"
finish
