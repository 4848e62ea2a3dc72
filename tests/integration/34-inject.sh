#!/bin/bash
# 34-inject.sh — `lockbox-broker inject --pid` places secrets into a running container started
# without them, whose entrypoint waits for them (`lockbox-shim --wait`, DESIGN §3, §7); the same
# policy applies as for the hook, and nothing is left once the container is gone.
. "$(dirname "$0")/lib.sh"

S=$(new_secret)
put_secret db "$S"

# runc's hooks are there (an operator's usual bundle) but the container asks for nothing: the
# secret comes later, by hand. poststop cleans up after inject as after the hook.
make_bundle c1 /lockbox-shim --wait 10 -- /bin/lbx-testapp read-fd:3 mounted:/run/secrets fds env
add_hooks c1
start_container c1
assert_eq "runc run -d exits 0" 0 "$RC"
pid=$(container_field c1 pid)
assert_match "the container runs" "$pid" '^[1-9][0-9]*$'
rc=0
err=$(broker inject --pid "$pid" --id c1 db=store:db 2>&1) || rc=$?
assert_eq "inject exits 0" 0 "$rc"
assert_not_contains "inject prints no value" "$err" "$S"
wait_stopped c1 || die "the container did not stop"
assert_eq "the waiting shim handed the secret to the application on fd 3" "$S" \
    "$(out_value c1 fd.3)"
assert_eq "/run/secrets is no longer mounted" no "$(out_value c1 mounted./run/secrets)"
assert_eq "fds" 0,1,2,3 "$(out_value c1 fds)"
assert_contains "LOCKBOX_FDS" "$(out_values c1 env)" LOCKBOX_FDS=db=3
delete_container c1
assert_clean c1

# A denied ref is denied here as well: exit 3, one line, nothing placed; the shim gives up.
make_bundle c2 /lockbox-shim --wait 2 -- /bin/lbx-testapp read-fd:3
add_hooks c2
start_container c2
pid=$(container_field c2 pid)
rc=0
err=$(broker inject --pid "$pid" --id c2 --role restricted db=store:db 2>&1) || rc=$?
assert_eq "denied inject exits 3" 3 "$rc"
assert_match "one line naming the denial" "$err" "^lockbox-broker: [^"$'\n'"]*denied[^"$'\n'"]*$"
assert_true "no state for it" test ! -e "$STATE/containers/c2.json"
wait_stopped c2 || die "c2 did not stop"
assert_eq "the shim gave up without running the application" "" "$(output c2)"
delete_container c2
assert_clean c2

# Usage: no --pid, a pid that is not running.
rc=0
broker inject db=store:db >/dev/null 2>&1 || rc=$?
assert_eq "inject without --pid: exit 2" 2 "$rc"
rc=0
err=$(broker inject --pid 999999999 --id gone db=store:db 2>&1) || rc=$?
assert_true "inject into no process fails" test "$rc" -ne 0
assert_match "with one line" "$err" "^lockbox-broker: [^"$'\n'"]*$"
assert_clean gone
assert_no_secret_anywhere "$S"
finish
