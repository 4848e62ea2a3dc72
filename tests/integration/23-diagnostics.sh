#!/bin/bash
# 23-diagnostics.sh — issue 14: each failure names the real cause. A ref naming a backend the
# configuration lacks is exit 2 naming the configured ones (not "denied"); a refused file or
# directory is one line with its path, mode and owner, what is expected and the command that
# makes it so; the state directory, lockbox's own, is made right when that is safe, and said
# so; `check` reports the state directory, the store key and every credential file that way
# before any container runs. Each line is compared whole.
. "$(dirname "$0")/lib.sh"

S=$(new_secret)
put_secret db "$S"

# hook_stderr ID: what the createRuntime hook printed (runc's first hook error).
hook_stderr() {
    sed -n 's/.*error running hook[^"]*stderr: \(.*\)"$/\1/p' "$T/out/$1.err" | head -n 1
}
# check_out: `broker check`, stdout and stderr in order into $T/check.out, its status in RC.
check_out() {
    RC=0
    broker check >"$T/check.out" 2>&1 || RC=$?
}

# ---- unknown backend: exit 2, the configured backends named ---------------------------------
make_bundle c1 /lockbox-shim -- /bin/lbx-testapp read-fd:3
annotate c1 io.lockbox.secret.db=stor:db
add_hooks c1
run_container c1
assert_true "stor:db: runc run fails" test "$RC" -ne 0
assert_eq "the hook's line names the unknown backend and the configured ones" \
    "lockbox-broker: secret 'db' (stor:db): unknown backend 'stor' (configured: store)\\n" \
    "$(hook_stderr c1)"
assert_contains "the hook exited 2 (invalid request), not 3 (denied)" "$(errors c1)" \
    "exit status 2"
assert_clean c1

# ---- the state directory: 0755 is made 0700 and said so; writable by others is refused ------
chmod 0755 "$STATE"
check_out
out=$(cat "$T/check.out")
assert_eq "check with the state directory 0755: exit 0" 0 "$RC"
assert_contains "check says it fixed it" "$out" \
    "lockbox-broker: state directory $STATE: was mode 0755, now 0700 (fixed: lockbox's own directory, no access for group or others)"
assert_contains "then reports it" "$out" "state directory $STATE: ok (mode 0700, owner root)"
assert_eq "it is 0700 now" 700 "$(stat -c %a "$STATE")"
chmod 0755 "$STATE"
make_bundle c2 /lockbox-shim -- /bin/lbx-testapp read-fd:3
annotate c2 io.lockbox.secret.db=store:db
add_hooks c2
run_container c2
assert_eq "a container started with the state directory 0755: runs" "0 $S" "$RC $(out_value c2 fd.3)"
assert_eq "and the hook made it 0700" 700 "$(stat -c %a "$STATE")"
assert_clean c2

chmod 0777 "$STATE"
want_state="lockbox-broker: state directory $STATE: refusing: mode 0777, owner root; expected owner root, no access for group or others (chmod go-rwx $STATE)"
check_out
out=$(cat "$T/check.out")
assert_eq "check with the state directory 0777: exit 1" 1 "$RC"
assert_contains "one line: path, mode, owner, what is expected, the fix" "$out" "$want_state"
make_bundle c3 /lockbox-shim -- /bin/lbx-testapp read-fd:3
annotate c3 io.lockbox.secret.db=store:db
add_hooks c3
run_container c3
assert_true "a container with the state directory 0777: runc run fails" test "$RC" -ne 0
assert_eq "the hook's one line is the same" "$want_state\\n" "$(hook_stderr c3)"
rc=0
err=$(broker status 2>&1) || rc=$?
assert_eq "status says the same, once" "1 $want_state" "$rc $err"
chmod 0700 "$STATE"
assert_clean c3

# ---- the store key: world-readable is refused, naming it -----------------------------------
chmod 0644 "$KEY"
want_key="lockbox-broker: store key $KEY: refusing: mode 0644, owner root; expected owner root, no access for group or others (chmod go-rwx $KEY)"
make_bundle c4 /lockbox-shim -- /bin/lbx-testapp read-fd:3
annotate c4 io.lockbox.secret.db=store:db
add_hooks c4
run_container c4
assert_true "a container with the store key 0644: runc run fails" test "$RC" -ne 0
assert_eq "the hook's one line names the key, its mode and the fix" "$want_key\\n" \
    "$(hook_stderr c4)"
assert_clean c4
check_out
out=$(cat "$T/check.out")
assert_eq "check: exit 1" 1 "$RC"
assert_contains "check: the same line" "$out" "$want_key"
rc=0
err=$(printf x | broker store put other 2>&1) || rc=$?
assert_eq "store put: the same line" "1 $want_key" "$rc $err"
chmod 0400 "$KEY"
chmod 0777 "$STORE"
rc=0
err=$(broker store ls 2>&1) || rc=$?
assert_eq "store ls with the store directory 0777" \
    "1 lockbox-broker: store $STORE: refusing: mode 0777, owner root; expected owner root, no access for group or others (chmod go-rwx $STORE)" \
    "$rc $err"
chmod 0700 "$STORE"

# ---- check before any container: every credential file, the same way ------------------------
printf 'role\n' >"$T/etc/role-id"
printf 'secret\n' >"$T/etc/secret-id"
printf 'ca\n' >"$T/etc/ca.pem"
chmod 0644 "$T/etc/role-id" "$T/etc/ca.pem"
chmod 0600 "$T/etc/secret-id"
cat >"$CFG" <<EOF
{"state_dir": "$STATE",
 "backends": {"store": {"type": "store", "dir": "$STORE", "key_file": "$KEY"},
              "vault": {"type": "vault", "address": "https://127.0.0.1:9", "ca_file": "$T/etc/ca.pem",
                        "timeout_ms": 500,
                        "auth": {"method": "approle", "role_id_file": "$T/etc/role-id",
                                 "secret_id_file": "$T/etc/secret-id"}}},
 "roles": [{"name": "default", "allow": ["store:*"]}]}
EOF
chmod 0600 "$CFG"
check_out
out=$(cat "$T/check.out")
assert_eq "check with a world-readable role id: exit 1" 1 "$RC"
assert_contains "the state directory" "$out" "state directory $STATE: ok (mode 0700, owner root)"
assert_contains "the store key" "$out" "store key $KEY: ok (mode 0400, owner root)"
assert_contains "the refused credential: path, mode, what is expected, the fix" "$out" \
    "lockbox-broker: credential (backends.vault.auth.role_id_file) $T/etc/role-id: refusing: mode 0644, owner root; expected owner root, not readable by others (chmod o-r $T/etc/role-id)"
assert_contains "a good one" "$out" \
    "credential (backends.vault.auth.secret_id_file) $T/etc/secret-id: ok (mode 0600, owner root)"
assert_contains "a CA may be readable" "$out" \
    "credential (backends.vault.ca_file) $T/etc/ca.pem: ok (mode 0644, owner root)"
assert_match "the order: state directory, store, then each backend's files" \
    "$(tr '\n' '|' <"$T/check.out")" \
    "^config [^|]*\\|state directory [^|]*\\|(fetcher: [^|]*\\|)?store key [^|]*\\|backend store [^|]*\\|.*credential \\(backends\\.vault\\.auth\\.role_id_file\\)"
rm -f "$T/etc/secret-id"
check_out
out=$(cat "$T/check.out")
assert_contains "a missing credential file" "$out" \
    "lockbox-broker: credential (backends.vault.auth.secret_id_file) $T/etc/secret-id: cannot open: No such file or directory"

# ---- the config file itself (the unit tests have every case) ---------------------------------
write_config "$DEFAULT_ROLES"
chmod 0664 "$CFG"
rc=0
err=$(broker check 2>&1) || rc=$?
assert_eq "check with the config 0664: exit 2, one line" \
    "2 lockbox-broker: config $CFG: refusing: writable by group or others (mode 0664, owner root); expected owner root, not writable by group or others (chmod go-w $CFG)" \
    "$rc $err"
chmod 0600 "$CFG"
assert_no_secret_anywhere "$S"
finish
