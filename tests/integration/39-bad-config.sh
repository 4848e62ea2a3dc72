#!/bin/bash
# 39-bad-config.sh — the broker refuses a configuration file that someone other than root could
# have written (DESIGN §5) or that does not parse: exit 2, one line naming the file and the
# reason; as a hook, the container does not start.
. "$(dirname "$0")/lib.sh"

put_secret db "$(new_secret)"

# try DESCRIPTION PATTERN: `status` with the current $CFG must exit 2 with one line matching.
try() {
    local rc=0 out
    out=$(broker status 2>&1) || rc=$?
    assert_eq "$1: exit 2" 2 "$rc"
    assert_match "$1: one line naming the file and the reason" "$out" \
        "^lockbox-broker: [^"$'\n'"]*${CFG}[^"$'\n'"]*$2[^"$'\n'"]*$"
}

rc=0
broker status >/dev/null || rc=$?
assert_eq "control: the test's configuration (0600, root) is accepted" 0 "$rc"

chmod 0620 "$CFG"
try "group-writable" "writ"
chmod 0602 "$CFG"
try "world-writable" "writ"
chmod 0600 "$CFG"
chown 1000:1000 "$CFG"
try "owned by uid 1000" "own"
chown 0:0 "$CFG"

# As a hook: the container does not start.
chmod 0660 "$CFG"
make_bundle c1 /lockbox-shim -- /bin/lbx-testapp read-fd:3
annotate c1 io.lockbox.secret.db=store:db
add_hooks c1
run_container c1
assert_true "hook with a group-writable config: runc run fails" test "$RC" -ne 0
assert_contains "hook: the broker exited 2" "$(errors c1)" "exit status 2"
assert_eq "hook: the application never ran" "" "$(output c1)"
chmod 0600 "$CFG"
assert_clean c1

# Its directory, as ssh checks authorized_keys' parents: world-writable without the sticky bit
# is refused (anyone could rename another file over it), with the sticky bit accepted.
chmod 0777 "$T/etc"
try "a world-writable directory above it" "directory $T/etc is writable by group or others \\(mode 0777, owner 0\\); make it root's"
chmod 1777 "$T/etc"
rc=0
broker status >/dev/null || rc=$?
assert_eq "a sticky world-writable directory above it: accepted" 0 "$rc"
chmod 0755 "$T/etc"

# The store a hook reads: the rules of `store put` (0700: whoever lists it learns the secrets'
# names), one line that names the store and the fix, the container does not start.
chmod 0755 "$STORE"
make_bundle c2 /lockbox-shim -- /bin/lbx-testapp read-fd:3
annotate c2 io.lockbox.secret.db=store:db
add_hooks c2
run_container c2
assert_true "hook with a 0755 store: runc run fails" test "$RC" -ne 0
assert_contains "hook with a 0755 store: the line names the store and the fix" "$(errors c2)" \
    "store $STORE: refusing: mode 0755, owner root; expected owner root, no access for group or others (chmod go-rwx $STORE)"
assert_eq "hook with a 0755 store: the application never ran" "" "$(output c2)"
rc=0
printf 'x' | broker store put other >"$T/put.out" 2>&1 || rc=$?
assert_eq "store put into a 0755 store: refused as well" 1 "$rc"
chmod 0700 "$STORE"
assert_clean c2

# Content: not JSON, an unknown backend type, a role without allow.
good=$(cat "$CFG")
printf '{"state_dir": "%s", ' "$STATE" >"$CFG"
try "truncated JSON" "."
printf '%s' "$good" | sed 's/"type": "store"/"type": "nosuch"/' >"$CFG"
try "unknown backend type" "type"
printf '%s' "$good" >"$CFG"
rc=0
broker status >/dev/null || rc=$?
assert_eq "control: restored, accepted again" 0 "$rc"
finish
