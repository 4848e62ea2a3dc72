#!/bin/bash
# 33-no-residue.sh — DESIGN §10.1: with the broker at its most verbose (-v -v, stderr kept in
# $T/broker.err), three secrets delivered three ways (fd, --stdin, {secret:NAME}), no secret's
# bytes appear in a log line, the audit log, a state file, the bundle (config.json, rootfs),
# the host's mount table, or any process's environment or command line: while the container
# runs (state recorded, shim and application alive) and after it is gone.
. "$(dirname "$0")/lib.sh"

DB=$(new_secret)
KEY=$(new_secret)
CERT=$(new_secret)
put_secret db "$DB"
put_secret key "$KEY"
put_secret cert "$CERT"

make_bundle c1 /lockbox-shim --stdin key -- /bin/lbx-testapp read-fd:4 stdin 'cat:{secret:cert}' \
    env sleep:30
annotate c1 io.lockbox.secret.db=store:db io.lockbox.secret.key=store:key \
    io.lockbox.secret.cert=store:cert
add_hooks c1 -v -v
start_container c1
assert_eq "runc run -d exits 0" 0 "$RC"
for _ in $(seq 100); do
    grep -q '^env=' "$T/out/c1.out" && break
    sleep 0.05
done

# The values did arrive: the checks below are not vacuous.
# Name order: cert at fd 3, db at fd 4; key goes to stdin.
assert_eq "fd 4 holds db" "$DB" "$(out_value c1 fd.4)"
assert_eq "stdin holds key" "$KEY" "$(out_value c1 stdin)"
assert_eq "{secret:cert} reads cert" "$CERT" "$(out_value c1 file./proc/self/fd/3)"
assert_true "the broker logged at -v -v" test -s "$T/broker.err"
assert_contains "its log names the container" "$(cat "$T/broker.err")" c1
assert_true "the container's state is recorded while it runs" test -s "$STATE/containers/c1.json"
cp "$STATE/containers/c1.json" "$T/state-c1.json"
assert_true "the application is alive" test "$(container_field c1 status)" = running
status=$(broker status 2>&1)
assert_contains "status lists the secret" "$status" cert
env=$(out_values c1 env)
for name in DB KEY CERT; do
    assert_not_contains "while running: $name is not in the application's environment" "$env" \
        "${!name}"
    assert_not_contains "while running: $name is not in status" "$status" "${!name}"
    assert_no_secret_anywhere "${!name}" "while running: $name"
done

runc --root "$RUNC_ROOT" kill c1 TERM
wait_stopped c1 || die "the container did not stop"
delete_container c1
assert_clean c1
audit=$(cat "$AUDIT")
assert_contains "the audit log has the inject" "$audit" '"inject"'
assert_contains "with the refs" "$audit" store:cert
assert_contains "and the revoke" "$audit" '"event":"revoke"'
# The state keeps a keyed digest of each value for rotation; derived from the value, it would
# tell a reader of the log when two containers got the same value or when one changed.
assert_true "the state had digests (the check below is not vacuous)" \
    grep -q '"digest"' "$T/state-c1.json"
assert_not_contains "no value-derived digest in the audit log" "$audit" '"digest"'
assert_true "the rootfs's /run/secrets is an empty directory" \
    test -d "$(bundle_of c1)/rootfs/run/secrets" -a -z "$(ls -A "$(bundle_of c1)/rootfs/run/secrets")"
for name in DB KEY CERT; do
    assert_no_secret_anywhere "${!name}" "after the run: $name"
done
finish
