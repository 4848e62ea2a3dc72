#!/bin/bash
# 45-vault-retry.sh — transient failures are retried with backoff within the deadline (DESIGN
# §12): a 429, a dropped connection, a 412, a 502 and a 503 followed by success start the container;
# a 501 is not retried; a rate limit that lasts fails with one line.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-vault.sh"

S=$(new_secret)
start_vault_fake "{\"kv\": {\"secret/app/db\": {\"pw\": \"$S\"}}}"
write_vault_config "$(auth_token "$(cat "$T/etc/vault-root-token")")"

# starts ID DESCRIPTION FAULT...: the faults armed, the container starts with its secret.
starts() {
    local id=$1 what=$2 f
    shift 2
    vault_ctl DELETE /faults >/dev/null
    vault_ctl POST /counters/reset >/dev/null
    for f in "$@"; do
        vault_fault "$f"
    done
    vault_run "$id" db=vault:secret/app/db#pw
    assert_eq "$what: runc run exits 0" 0 "$RC"
    assert_eq "$what: the value" "$S" "$(out_value "$id" fd.3)"
    assert_eq "$what: every fault fired" "$#" "$(vault_counter 'c["faults_fired"]')"
    assert_clean "$id"
}

# First, while the agent has no mount remembered (README, "The agent"): the lookup is made.
starts rmix "a 412 on the mount lookup, a 502 and a 503 on the read" \
    '{"type": "status", "status": 412, "path": "sys/internal/ui/mounts/"}' \
    '{"type": "status", "status": 502, "path": "secret/data/app/db"}' \
    '{"type": "status", "status": 503, "path": "secret/data/app/db"}'
starts r429 "a 429 then success" '{"type": "status", "status": 429, "path": "secret/data/app/db"}'
assert_eq "429: answered once" 1 "$(vault_counter 'c["status"].get("429", 0)')"
starts rdrop "a dropped connection then success" '{"type": "drop", "path": "secret/data/app/db"}'
assert_eq "drop: dropped once" 1 "$(vault_counter 'c["dropped"]')"
starts rrst "a reset connection then success" '{"type": "drop", "rst": true, "path": "secret/data/app/db"}'

vault_ctl DELETE /faults >/dev/null
vault_ctl POST /counters/reset >/dev/null
vault_fault '{"type": "status", "status": 501, "path": "secret/data/app/db"}'
VAULT_HOOK_OPTS='' vault_run r501 db=vault:secret/app/db#pw
assert_fails_cleanly r501 "501" "^lockbox-broker: secret 'db' \\(vault:secret/app/db#pw\\): not implemented \\(501\\)$"
assert_eq "501: not retried" 1 "$(vault_counter 'c["requests"].get("GET secret/data/app/db", 0)')"

vault_ctl DELETE /faults >/dev/null
vault_ctl POST /counters/reset >/dev/null
vault_fault '{"type": "status", "status": 429, "path": "secret/data/app/db", "count": -1}'
VAULT_HOOK_OPTS='' vault_run rlim db=vault:secret/app/db#pw
assert_fails_cleanly rlim "lasting rate limit" \
    "^lockbox-broker: secret 'db' \\(vault:secret/app/db#pw\\): rate limit quota exceeded \\(429\\)$"
assert_eq "lasting rate limit: tried 4 times" 4 "$(vault_counter 'c["requests"].get("GET secret/data/app/db", 0)')"
vault_ctl DELETE /faults >/dev/null
assert_no_secret_anywhere "$S" "the value"
finish
