#!/bin/bash
# 41-vault-auth.sh — each Vault auth method under real runc (DESIGN §5): a token file, AppRole,
# AppRole with a response-wrapped secret id (unwrapped once, the secret id kept for later
# logins), cert (mTLS), Kubernetes (a JWT file); a role that overrides the backend's auth; and
# `check`, which logs in and reads the mounts' types without printing a value.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-vault.sh"
# Logins through the token cache's files (expired by editing them): the hook's own fetch child.
# The agent keeps its logins in memory (74-agent).
AGENT_JSON='{"enabled": false}'

S=$(new_secret)
SID=$(new_secret)
JWT=$(k8s_jwt apps app)
start_vault_fake "{
 \"kv\": {\"secret/app/db\": {\"pw\": \"$S\"}},
 \"policies\": {\"app\": [\"secret/data/app/*\", \"kv1/*\"]},
 \"approle\": {\"roles\": {\"app\": {\"role_id\": \"rid-app\", \"policies\": [\"app\"], \"token_ttl\": \"20m\"}},
             \"secret_ids\": [{\"role\": \"app\", \"secret_id\": \"$SID\"}]},
 \"cert\": {\"roles\": {\"web\": {\"certificate\": \"@$T/pki/ca.pem\", \"allowed_common_names\": [\"lockbox-client\"],
                               \"policies\": [\"app\"], \"ttl\": \"30m\"}}},
 \"kubernetes\": {\"tokenreview\": {\"public_keys\": [$("$PY" -c 'import json, sys; print(json.dumps(open(sys.argv[1]).read()))' "$T/k8s/sa.pub")]},
                \"roles\": {\"app\": {\"bound_service_account_names\": [\"app\"], \"bound_service_account_namespaces\": [\"apps\"],
                                      \"policies\": [\"app\"], \"ttl\": \"15m\"}}}}"

logins() {
    vault_counter "c[\"logins\"].get(\"$1\", 0)"
}

# A token file.
write_vault_config "$(auth_token "$(cat "$T/etc/vault-root-token")")"
vault_run tok db=vault:secret/app/db#pw
assert_eq "token: runc run exits 0" 0 "$RC"
assert_eq "token: the value" "$S" "$(out_value tok fd.3)"
assert_clean tok

# AppRole.
write_vault_config "$(auth_approle rid-app "$SID")"
vault_run ar db=vault:secret/app/db#pw
assert_eq "approle: runc run exits 0" 0 "$RC"
assert_eq "approle: the value" "$S" "$(out_value ar fd.3)"
assert_eq "approle: one login" 1 "$(logins approle)"
assert_true "approle: the token is cached in the state directory (0600)" \
    test "$(stat -c %a "$STATE"/tokens/vault.* | sort -u | head -n 1)" = 600
assert_clean ar

# AppRole, the secret id response-wrapped: unwrapped once, then kept. (The same file paths as
# above: the cache key must tell the two apart.)
WRAP=$(vault_wrapped_secret_id app)
write_vault_config "$(auth_approle rid-app "$WRAP" true)"
vault_run wr db=vault:secret/app/db#pw
assert_eq "wrapped approle: runc run exits 0" 0 "$RC"
assert_eq "wrapped approle: the value" "$S" "$(out_value wr fd.3)"
assert_eq "wrapped approle: unwrapped once" 1 "$(vault_counter 'c["unwraps"]')"
assert_eq "wrapped approle: a second login" 2 "$(logins approle)"
# The cached token expires: the next login uses the unwrapped secret id, not the spent
# wrapping token.
for f in "$STATE"/tokens/vault.*; do
    case $f in *.lock) continue ;; esac
    grep -q '^secret_id ' "$f" && sed -i 's/^expires .*/expires 1/' "$f"
done
vault_run wr2 db=vault:secret/app/db#pw
assert_eq "wrapped approle, token expired: runc run exits 0" 0 "$RC"
assert_eq "wrapped approle, token expired: a third login" 3 "$(logins approle)"
assert_eq "wrapped approle, token expired: no second unwrap" 1 "$(vault_counter 'c["unwraps"]')"
assert_clean wr
assert_clean wr2

# cert: the client certificate in the TLS handshake, the role by name.
write_vault_config '{"method": "cert", "name": "web"}' \
    ", \"cert_file\": \"$T/pki/client.pem\", \"key_file\": \"$T/pki/client.key\""
vault_run ce db=vault:secret/app/db#pw
assert_eq "cert: runc run exits 0" 0 "$RC"
assert_eq "cert: the value" "$S" "$(out_value ce fd.3)"
assert_eq "cert: one login" 1 "$(logins cert)"
assert_clean ce

# Kubernetes: a service account's JWT from a file.
write_vault_config "{\"method\": \"kubernetes\", \"role\": \"app\", \"jwt_file\": \"$(cred jwt "$JWT")\"}"
vault_run k8 db=vault:secret/app/db#pw
assert_eq "kubernetes: runc run exits 0" 0 "$RC"
assert_eq "kubernetes: the value" "$S" "$(out_value k8 fd.3)"
assert_eq "kubernetes: one login" 1 "$(logins kubernetes)"
assert_clean k8

# A role that brings its own auth for the backend: the backend's token file is wrong, the
# role's AppRole is right.
write_vault_config "$(auth_token not-a-token)" "" "[{\"name\": \"default\", \"allow\": [\"vault:*\"]},
  {\"name\": \"web\", \"allow\": [\"vault:secret/app/*\"], \"auth\": {\"vault\": $(auth_approle rid-app "$SID")}}]"
vault_run ro db=vault:secret/app/db#pw
annotate ro io.lockbox.role=web
run_container ro
assert_eq "role override: runc run exits 0" 0 "$RC"
assert_eq "role override: the value" "$S" "$(out_value ro fd.3)"
assert_eq "role override: an AppRole login of its own (cached per role)" 4 "$(logins approle)"
assert_clean ro

# check: logs in as the backend and as the role, reads the allowed mounts' types.
write_vault_config "$(auth_approle rid-app "$SID")" "" "[{\"name\": \"default\", \"allow\": [\"vault:secret/app/*\"]},
  {\"name\": \"k8\", \"allow\": [\"vault:kv1/*\"], \"auth\": {\"vault\": {\"method\": \"kubernetes\", \"role\": \"app\", \"jwt_file\": \"$T/etc/jwt\"}}}]"
out=$(broker check 2>&1 | grep "^backend vault") && rc=0 || rc=$?
assert_eq "check: exit 0" 0 "$rc"
assert_match "check: one line for the backend, with the mounts' types" "$out" \
    "^backend vault \\(vault https://[^)]*\\): ok, approle login[^,]*, mounts: secret/ \\(kv v2\\); role k8: kubernetes login[^,]*, mounts: kv1/ \\(kv v1\\)$"
assert_no_secret_anywhere "$S" "the value"
assert_no_secret_anywhere "$SID" "the secret id"
assert_no_secret_anywhere "$JWT" "the JWT"
assert_no_secret_anywhere "$WRAP" "the wrapping token"
finish
