#!/bin/bash
# 44-vault-failures.sh — every way a Vault fetch can fail stops the container (fail closed,
# DESIGN §10.2) with one line that names the secret, its ref and the cause, leaves nothing
# behind, and quotes no value: 403, 404, a deleted and a destroyed version, a missing field, a
# version on KV v1, a refused login, a wrong CA, a wrong server name, a pinned-key mismatch, a
# server that stays sealed, a body over the cap, a malformed body, a server slower than the
# deadline. An optional secret that is missing is skipped.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-vault.sh"

S=$(new_secret)
SID=$(new_secret)
VAULT_TIMEOUT_MS=2000
start_vault_fake "{
 \"kv\": {\"secret/app/db\": {\"pw\": \"$S\"}, \"secret/other/x\": {\"pw\": \"$S\"},
        \"kv1/app/api\": {\"key\": \"$S\"}},
 \"kv_versions\": {\"secret/app/multi\": [{\"data\": {\"v\": \"$S\"}},
                                         {\"data\": {\"v\": \"$S\"}, \"deleted\": true},
                                         {\"data\": {\"v\": \"$S\"}, \"destroyed\": true},
                                         {\"data\": {\"v\": \"$S\"}}]},
 \"policies\": {\"app\": [\"secret/data/app/*\", \"kv1/app/*\"]},
 \"approle\": {\"roles\": {\"app\": {\"role_id\": \"rid-app\", \"policies\": [\"app\"]}},
             \"secret_ids\": [{\"role\": \"app\", \"secret_id\": \"$SID\"}]}}"
APPROLE=$(auth_approle rid-app "$SID")
write_vault_config "$APPROLE"

# fails ID DESCRIPTION ERE REF: a container asking for db=REF fails cleanly with a line
# matching ERE.
n=0
fails() {
    n=$((n + 1))
    VAULT_HOOK_OPTS='' vault_run "f$n" "db=$4"
    assert_fails_cleanly "f$n" "$2" "$3"
}

fails f "403" "^lockbox-broker: secret 'db' \\(vault:secret/other/x#pw\\): permission denied \\(403\\)$" \
    vault:secret/other/x#pw
fails f "404" "^lockbox-broker: secret 'db' \\(vault:secret/app/nope#pw\\): no such secret \\(404\\)$" \
    vault:secret/app/nope#pw
fails f "deleted version" "^lockbox-broker: secret 'db' \\(vault:secret/app/multi#v@2\\): version 2 deleted$" \
    vault:secret/app/multi#v@2
fails f "destroyed version" "^lockbox-broker: secret 'db' \\(vault:secret/app/multi#v@3\\): version 3 destroyed$" \
    vault:secret/app/multi#v@3
fails f "no such field" "^lockbox-broker: secret 'db' \\(vault:secret/app/db#user\\): no field 'user' in the secret$" \
    vault:secret/app/db#user
fails f "a version on KV v1" "a version \\(@N\\) needs a KV v2 mount$" vault:kv1/app/api#key@1
fails f "a mount that does not exist" "^lockbox-broker: secret 'db' \\(vault:nomount/x\\): " vault:nomount/x

# An optional secret that is missing is skipped; the others arrive.
make_bundle opt /lockbox-shim -- /bin/lbx-testapp read-fd:3 fds
annotate opt io.lockbox.secret.db=vault:secret/app/db#pw io.lockbox.secret.gone=vault:secret/app/gone \
    io.lockbox.optional.gone=true
add_hooks opt -v
run_container opt
assert_eq "optional missing: runc run exits 0" 0 "$RC"
assert_eq "optional missing: the other secret arrives" "$S" "$(out_value opt fd.3)"
assert_eq "optional missing: only one secret" "0,1,2,3" "$(out_value opt fds)"
assert_clean opt

# A refused login (the cache would serve the token of the earlier logins: empty it).
rm -f "$STATE"/tokens/vault.*
write_vault_config "$(auth_approle rid-app wrong-secret-id)"
fails f "refused login" \
    "^lockbox-broker: secret 'db' \\(vault:secret/app/db#pw\\): vault login \\(approle\\): invalid role or secret ID \\(400\\)$" \
    vault:secret/app/db#pw

# TLS: a CA that did not sign the server's certificate; a server name it is not for; a pin of
# another key. And the right name and pin, which work.
APPROLE=$(auth_approle rid-app "$SID")
VAULT_CA=$T/pki/ca2.pem write_vault_config "$APPROLE"
fails f "wrong CA" "^lockbox-broker: secret 'db' \\(vault:secret/app/db#pw\\): .*TLS: the server's certificate is not trusted" \
    vault:secret/app/db#pw
write_vault_config "$APPROLE" ', "server_name": "vault.example"'
fails f "wrong server name" "TLS: the server's certificate is not trusted \\(ca_file\\) or not for this name \\(server_name\\)$" \
    vault:secret/app/db#pw
write_vault_config "$APPROLE" ', "pinned_pubkey": "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="'
fails f "pinned key mismatch" "TLS: the server's public key does not match pinned_pubkey$" \
    vault:secret/app/db#pw
write_vault_config "$APPROLE" ", \"server_name\": \"localhost\", \"pinned_pubkey\": \"$(cat "$T/pki/server.pin")\""
vault_run tlsok db=vault:secret/app/db#pw
assert_eq "server_name localhost and the right pin: runc run exits 0" 0 "$RC"
assert_eq "server_name localhost and the right pin: the value" "$S" "$(out_value tlsok fd.3)"
assert_clean tlsok
write_vault_config "$APPROLE"

# A server that stays sealed: retried a bounded number of times, then one line (no time is
# measured: on a loaded machine the deadline may leave room for one attempt only, and a broker
# that never gave up would be killed by runc's hook timeout and say something else).
vault_fault '{"type": "sealed", "count": -1}'
vault_ctl POST /counters/reset >/dev/null
fails f "sealed" "^lockbox-broker: secret 'db' \\(vault:secret/app/db#pw\\): .*Vault is sealed \\(503\\)$" \
    vault:secret/app/db#pw
sealed_replies=$(vault_counter 'c["faults_fired"]')
assert_true "sealed: asked, then gave up after at most 4 attempts ($sealed_replies)" \
    test "$sealed_replies" -ge 1 -a "$sealed_replies" -le 4
vault_ctl DELETE /faults >/dev/null

# A body over the cap (1 MiB), a malformed one.
vault_fault '{"type": "oversize", "bytes": 2000000, "path": "secret/data/app/", "count": -1}'
fails f "body over the cap" "^lockbox-broker: secret 'db' \\(vault:secret/app/db#pw\\): response too large$" \
    vault:secret/app/db#pw
vault_ctl DELETE /faults >/dev/null
vault_fault '{"type": "malformed", "path": "secret/data/app/", "count": -1}'
fails f "malformed body" "^lockbox-broker: secret 'db' \\(vault:secret/app/db#pw\\): malformed response" \
    vault:secret/app/db#pw
vault_ctl DELETE /faults >/dev/null

# Slower than the deadline: a broker that waited for the answer would get it (the fault only
# delays) and start the container; one that never gave up would be killed by runc's hook timeout.
vault_fault "{\"type\": \"delay\", \"delay_ms\": $((VAULT_TIMEOUT_MS + 2000)), \"path\": \"secret/data/app/\", \"count\": -1}"
fails f "slower than timeout_ms" "^lockbox-broker: secret 'db' \\(vault:secret/app/db#pw\\): timed out \\(timeout_ms\\)$" \
    vault:secret/app/db#pw
vault_ctl DELETE /faults >/dev/null

assert_no_secret_anywhere "$S" "the value"
assert_no_secret_anywhere "$SID" "the secret id"
finish
