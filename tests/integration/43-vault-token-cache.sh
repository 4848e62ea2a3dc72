#!/bin/bash
# 43-vault-token-cache.sh — the login token cache (DESIGN §5, §12): 20 containers in a row cost
# one AppRole login; a cached token that Vault no longer accepts (revoked) is replaced by one
# new login and the container starts; an expired one likewise; 50 brokers at once and 10
# containers started together each cost one login between them.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-vault.sh"
# The token cache's files are the hook's own fetch child's: the agent keeps its logins in
# memory (74-agent).
AGENT_JSON='{"enabled": false}'

S=$(new_secret)
SID=$(new_secret)
start_vault_fake "{
 \"kv\": {\"secret/app/db\": {\"pw\": \"$S\"}},
 \"policies\": {\"app\": [\"secret/data/app/*\"]},
 \"approle\": {\"roles\": {\"app\": {\"role_id\": \"rid-app\", \"policies\": [\"app\"], \"token_ttl\": \"1h\"}},
             \"secret_ids\": [{\"role\": \"app\", \"secret_id\": \"$SID\"}]}}"
write_vault_config "$(auth_approle rid-app "$SID")"

logins() {
    vault_counter 'c["logins"].get("approle", 0)'
}
cache_file() {
    local f
    for f in "$STATE"/tokens/vault.*; do
        case $f in *.lock) ;; *) echo "$f" ;; esac
    done
}

# 20 in a row.
ok=0
for i in $(seq 1 20); do
    VAULT_HOOK_OPTS='' vault_run "row$i" db=vault:secret/app/db#pw
    [ "$RC" = 0 ] && [ "$(out_value "row$i" fd.3)" = "$S" ] && ok=$((ok + 1))
done
assert_eq "20 containers in a row all got the secret" 20 "$ok"
assert_eq "20 containers in a row: one login" 1 "$(logins)"
assert_eq "one cache file" 1 "$(cache_file | wc -l)"

# The cached token is revoked behind our back: one 403, one new login, the container starts.
tok=$(sed -n 's/^token //p' "$(cache_file)")
vault_api POST auth/token/revoke "{\"token\": \"$tok\"}" >/dev/null || die "cannot revoke the token"
vault_run revoked db=vault:secret/app/db#pw
assert_eq "revoked token: runc run exits 0" 0 "$RC"
assert_eq "revoked token: the value" "$S" "$(out_value revoked fd.3)"
assert_eq "revoked token: one more login" 2 "$(logins)"
assert_contains "revoked token: the broker says why at -v" "$(cat "$T/broker.err")" \
    "cached token refused, logging in again"
assert_true "revoked token: the cache holds the new token" \
    test "$(sed -n 's/^token //p' "$(cache_file)")" != "$tok"

# A 403 beside a read the cached token was allowed: the policy's answer for that secret, not a
# stale token's. The container fails with its line; no new login, the other secret read once.
reads() {
    vault_counter 'c["requests"].get("GET secret/data/app/db", 0)'
}
before=$(reads)
VAULT_HOOK_OPTS='' vault_run denied db=vault:secret/app/db#pw no=vault:secret/other/x#pw
assert_true "denied beside allowed: the container did not start" test "$RC" != 0
assert_match "denied beside allowed: the broker's line names the denied one" \
    "$(hook_error denied)" "secret 'no' \(vault:secret/other/x#pw\)"
assert_eq "denied beside allowed: no new login" 2 "$(logins)"
assert_eq "denied beside allowed: the allowed secret read once" $((before + 1)) "$(reads)"

# Expired (or within its margin): a new login before the first request.
sed -i 's/^expires .*/expires 1/' "$(cache_file)"
vault_run expired db=vault:secret/app/db#pw
assert_eq "expired token: runc run exits 0" 0 "$RC"
assert_eq "expired token: one more login" 3 "$(logins)"

# 50 brokers at once, empty cache: they wait on the login lock, then read the cache.
rm -f "$(cache_file)"
pids=()
for i in $(seq 1 50); do
    broker check >"$T/out/check$i" 2>&1 &
    pids+=($!)
done
failed=0
for p in "${pids[@]}"; do
    wait "$p" || failed=$((failed + 1))
done
assert_eq "50 concurrent checks all succeed" 0 "$failed"
assert_eq "50 concurrent checks: one login" 4 "$(logins)"

# 10 containers started together.
rm -f "$(cache_file)"
for i in $(seq 1 10); do
    make_bundle "par$i" /lockbox-shim -- /bin/lbx-testapp read-fd:3
    annotate "par$i" io.lockbox.secret.db=vault:secret/app/db#pw
    add_hooks "par$i"
done
pids=()
for i in $(seq 1 10); do
    run_container "par$i" &
    pids+=($!)
done
for p in "${pids[@]}"; do
    wait "$p" || true
done
ok=0
for i in $(seq 1 10); do
    [ "$(out_value "par$i" fd.3)" = "$S" ] && ok=$((ok + 1))
done
assert_eq "10 containers at once all got the secret" 10 "$ok"
assert_eq "10 containers at once: one login" 5 "$(logins)"
for i in $(seq 1 10); do
    assert_clean "par$i" >/dev/null
done
assert_eq "nothing left by any of them" "" "$(tmpfs_under "$T")$(ls "$STATE/containers" 2>/dev/null)"
assert_no_secret_anywhere "$S" "the value"
assert_no_secret_anywhere "$SID" "the secret id"
assert_no_secret_anywhere "$tok" "the revoked token"
finish
