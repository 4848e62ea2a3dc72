#!/bin/bash
# 42-vault-lease.sh — a dynamic secret (database/creds/app) under real runc: its lease is
# recorded in the container's state and revoked (sys/leases/revoke) when the container stops
# (poststop), or by `lockbox-broker revoke ID` (DESIGN §8). A container that does not start has
# its lease revoked at once, as no record names it: one of its other secrets denied (by the
# agent that read them, or by the hook's own fetch child), or its tmpfs refused a place.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-vault.sh"

TOK=hvs.$(new_secret)
start_vault_fake "{
 \"policies\": {\"app\": [{\"path\": \"database/creds/app\", \"capabilities\": [\"read\"]},
                         {\"path\": \"sys/leases/revoke\", \"capabilities\": [\"update\"]}]},
 \"tokens\": [{\"id\": \"$TOK\", \"policies\": [\"app\"], \"ttl\": \"1h\"}],
 \"database\": {\"roles\": {\"app\": {\"default_ttl\": \"1h\", \"max_ttl\": \"24h\"}}}}"
write_vault_config "$(auth_token "$TOK")"

leases() {
    vault_ctl GET /leases | "$PY" -c '
import json, sys
d = json.load(sys.stdin)
d = d.get("leases", d) if isinstance(d, dict) else d
print(" ".join("%s:%s" % (l["lease_id"].split("/")[-1][:6], "revoked" if l["revoked"] else "live") for l in d))'
}

# Stopped: poststop revokes.
vault_run db pw=vault:database/creds/app#password user=vault:database/creds/app#username
assert_eq "dynamic: runc run exits 0" 0 "$RC"
assert_match "dynamic: a password" "$(out_value db fd.3)" '^.{8,}$'
assert_match "dynamic: a user name" "$(out_value db fd.4)" '^v-'
assert_eq "dynamic: user name and password from one read, one lease" 1 \
    "$(vault_counter 'c["leases_issued"]')"
assert_eq "dynamic: the lease is revoked after the container stopped" 1 \
    "$(vault_counter 'c["leases_revoked"]')"
assert_match "dynamic: the fake agrees" "$(leases)" '^[^ ]*:revoked$'
assert_contains "the broker says so at -v" "$(cat "$T/broker.err")" "revoked"
assert_clean db
assert_no_secret_anywhere "$(out_value db fd.3)" "the database password"

# Running: the lease is in the state (and in status); revoke by hand.
make_bundle run /lockbox-shim -- /bin/lbx-testapp read-fd:3 sleep:30
annotate run io.lockbox.secret.pw=vault:database/creds/app#password
add_hooks run -v
start_container run
assert_eq "running: runc run -d exits 0" 0 "$RC"
assert_match "running: the state records the lease" "$(cat "$STATE/containers/run.json")" \
    '"lease_id":"database/creds/app/[^"]+"'
assert_match "running: status shows it" "$(broker status run 2>&1)" 'lease=database/creds/app/'
assert_eq "running: not revoked yet" 1 "$(vault_counter 'c["leases_revoked"]')"
broker revoke run >/dev/null 2>&1 && rc=0 || rc=$?
assert_eq "revoke: exit 0" 0 "$rc"
assert_eq "revoke: the lease is revoked" 2 "$(vault_counter 'c["leases_revoked"]')"
runc --root "$RUNC_ROOT" kill run KILL 2>/dev/null || true
wait_stopped run || true
delete_container run
assert_eq "after delete: nothing more to revoke" 2 "$(vault_counter 'c["leases_revoked"]')"
assert_clean run

# counted LABEL ISSUED REVOKED: the fake's lease counters since the last call, as expected.
ISSUED=$(vault_counter 'c["leases_issued"]')
REVOKED=$(vault_counter 'c["leases_revoked"]')
counted() {
    local i r
    i=$(vault_counter 'c["leases_issued"]')
    r=$(vault_counter 'c["leases_revoked"]')
    assert_eq "$1: leases issued and revoked" "$2 $3" "$((i - ISSUED)) $((r - REVOKED))"
    ISSUED=$i REVOKED=$r
}

# One secret denied: the container fails, and the dynamic secret read beside it is revoked by
# the agent that read it, once the hook has its answer (no record names that lease).
mark=$(wc -l <"$T/broker.err")
vault_run denied pw=vault:database/creds/app#password no=vault:secret/app/db#pw
assert_true "denied: runc run fails" test "$RC" -ne 0
assert_match "denied: the hook names the denied secret" \
    "$(tail -n +$((mark + 1)) "$T/broker.err")" "secret 'no' \\(vault:secret/app/db#pw\\)"
vault_until 'c["leases_revoked"]' $((REVOKED + 1)) || true
counted "denied, through the agent" 1 1
assert_match "denied: the agent says so" "$(cat "$STATE/agent/agent.log")" \
    "1 lease\\(s\\) taken for secrets that will not be placed: revoking them"
delete_container denied
assert_clean denied

# The same in the hook's own fetch child.
AGENT_JSON='{"enabled": false}'
write_vault_config "$(auth_token "$TOK")"
mark=$(wc -l <"$T/broker.err")
vault_run denied2 pw=vault:database/creds/app#password no=vault:secret/app/db#pw
assert_true "denied, no agent: runc run fails" test "$RC" -ne 0
counted "denied, in the hook's fetch child" 1 1
assert_match "denied, no agent: the fetch child says so" \
    "$(tail -n +$((mark + 1)) "$T/broker.err")" "lease\\(s\\) taken for secrets that will not be placed"
delete_container denied2
assert_clean denied2

# Fetched, then refused a place (a read-only rootfs whose /run is a symlink: the mount point
# cannot be made): the hook revokes what it fetched, as poststop would have.
vault_bundle placed pw=vault:database/creds/app#password
set_readonly placed true
rm -rf "$(bundle_of placed)/rootfs/run"
ln -s "$T" "$(bundle_of placed)/rootfs/run"
mark=$(wc -l <"$T/broker.err")
run_container placed
assert_true "not placed: runc run fails" test "$RC" -ne 0
assert_match "not placed: the hook says why, and that it revokes" \
    "$(tail -n +$((mark + 1)) "$T/broker.err")" "symlink.*refused.*container placed: not placed; revoking the 1 lease"
counted "fetched, not placed" 1 1
delete_container placed
counted "after delete: nothing more" 0 0
assert_clean placed
finish
