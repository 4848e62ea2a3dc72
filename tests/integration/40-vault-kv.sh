#!/bin/bash
# 40-vault-kv.sh — secrets from Vault's KV engines under real runc (DESIGN §4): KV v1, KV v2
# latest, a pinned version, a field, the whole object; a namespace; the values in no log line at
# -v. 49-vault-real.sh runs the same KV checks against a real Vault.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-vault.sh"

NS=$(new_secret)
start_vault_fake "{\"namespaces\": {\"ns1/\": {\"root_token\": \"ns1-root\",
                                                \"kv\": {\"secret/app/db\": {\"pw\": \"$NS\"}}}}}"
vault_kv_suite

# A namespace: X-Vault-Namespace on every request, the token is the namespace's.
write_vault_config "$(auth_token ns1-root)" ', "namespace": "ns1"'
vault_run ns db=vault:secret/app/db#pw
assert_eq "namespace: runc run exits 0" 0 "$RC"
assert_eq "namespace: the value from ns1's KV" "$NS" "$(out_value ns fd.3)"
assert_match "namespace: the reads went to ns1" "$(vault_counter 'c["requests"]')" 'ns1/secret/data/app/db'
assert_clean ns
assert_no_secret_anywhere "$NS" "the namespaced value"
finish
