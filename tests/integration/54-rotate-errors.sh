#!/bin/bash
# 54-rotate-errors.sh — what rotate says when there is nothing to rotate (DESIGN §3, §8): an
# unknown container and a stopped one are one clear line and exit 1; --all skips a stopped one
# and says so; a --secret the container does not have fails its own line; usage errors exit 2.
# Nothing is placed, recorded or audited for any of them.
. "$(dirname "$0")/lib.sh"
. "$LBX_IT_DIR/lib-rotate.sh"

D=$(new_secret)
put_secret db "$D"

# rotate_rc ARG...: run rotate, keep stdout in OUT, stderr in ERR, status in RC.
rotate_rc() {
    RC=0
    OUT=$(broker rotate "$@" 2>"$T/rotate.err") || RC=$?
    ERR=$(cat "$T/rotate.err")
}

rotate_rc nope
assert_eq "unknown container: exit 1" 1 "$RC"
assert_match "one line naming it, saying it is unknown" "$ERR" \
    "^lockbox-broker: container nope: unknown [^"$'\n'"]*$"
assert_eq "and nothing on stdout" "" "$OUT"

rotate_rc
assert_eq "no container named: exit 2" 2 "$RC"
rotate_rc --all c1
assert_eq "--all and an id: exit 2" 2 "$RC"
rotate_rc c1 --secret 'bad/name'
assert_eq "an invalid --secret: exit 2" 2 "$RC"
rotate_rc '../c1'
assert_eq "an invalid container id: exit 2" 2 "$RC"
rotate_rc --help
assert_eq "--help: exit 0" 0 "$RC"
assert_contains "--help shows the usage" "$OUT" "rotate (--all | CONTAINER...)"

rotate_rc --all
assert_eq "--all with no container: exit 0" 0 "$RC"
assert_eq "and says so" "no containers hold secrets" "$OUT"

make_bundle c1 /lockbox-shim -- /bin/lbx-testapp watch-fd:3:USR2:1000
annotate c1 io.lockbox.secret.db=store:db
add_hooks c1
start_container c1
assert_true "the application holds db" wait_out c1 "watch.3=$D"

rotate_rc c1 --secret nope
assert_eq "a --secret the container does not have: exit 1" 1 "$RC"
assert_eq "its own line" "c1 nope: failed: the container has no such secret" "$OUT"

# Stopped, but not yet deleted (no poststop yet): the record is there, the init is not.
runc --root "$RUNC_ROOT" kill c1 KILL
wait_stopped c1 || true
audit_before=$(wc -l <"$AUDIT")
rotate_rc c1
assert_eq "a stopped container: exit 1" 1 "$RC"
assert_match "one line saying it is not running" "$ERR" \
    "^lockbox-broker: container c1: not running [^"$'\n'"]*$"
rotate_rc --all
assert_eq "--all with only a stopped container: exit 0" 0 "$RC"
assert_match "says it skipped it" "$OUT" "^c1: skipped: not running"
assert_eq "the record is still generation 1" 1 "$(record c1 generation)"
assert_eq "no audit line for any of these" "$audit_before" "$(wc -l <"$AUDIT")"

delete_container c1
rotate_rc c1
assert_eq "after poststop the container is unknown: exit 1" 1 "$RC"
assert_contains "and said so" "$ERR" "container c1: unknown"
assert_clean c1
assert_true "no socket left in the state directory" test -z "$(ls -A "$STATE/watch")"
assert_no_secret_anywhere "$D"
finish
