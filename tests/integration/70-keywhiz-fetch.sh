#!/bin/bash
# 70-keywhiz-fetch.sh — secrets from Keywhiz under real runc (DESIGN §4, issue 7): one secret
# (GET /secret/{name}), several in one POST /batchsecret, a batch endpoint that is refused
# (single reads instead), 5xx retried, an unpadded base64 value, the same Keywhiz secret under
# two names, one PEM for certificate and key with server_name and a pinned key, `check`; the
# values in no log line at -v.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-keywhiz.sh"

A=$(new_secret)
B=$(new_secret)
C=$(new_secret)
U=$(new_secret)x # 29 bytes: its base64 needs padding, and the fake sends it without
start_keywhiz_fake "{\"secrets\": {\"db\": {\"content\": \"$A\"}, \"api\": {\"content\": \"$B\"},
                                   \"tls-key\": {\"content\": \"$C\"},
                                   \"legacy\": {\"content\": \"$U\", \"encoding\": \"unpadded\"}},
                     \"groups\": {\"web\": [\"api\", \"tls-key\"]},
                     \"clients\": {\"lockbox-client\": {\"secrets\": [\"db\", \"legacy\"],
                                                        \"groups\": [\"web\"]}}}"
write_keywhiz_config client

# One secret: one GET, no batch.
keywhiz_run one db=keywhiz:db
assert_eq "one: runc run exits 0" 0 "$RC"
assert_eq "one: the value from Keywhiz" "$A" "$(out_value one fd.3)"
assert_eq "one: one GET /secret/db" 1 "$(kw_counter 'c["requests"].get("GET /secret/db", 0)')"
assert_eq "one: no batch" 0 "$(kw_counter 'c["requests"].get("POST /batchsecret", 0)')"
assert_eq "one: the client is the certificate's CN" 1 "$(kw_counter 'c["clients"]["lockbox-client"]')"
assert_clean one

# Three secrets: one batch request, no single read.
kw_reset
keywhiz_run three api=keywhiz:api db=keywhiz:db key=keywhiz:tls-key
assert_eq "batch: runc run exits 0" 0 "$RC"
assert_eq "batch: api (fd 3)" "$B" "$(out_value three fd.3)"
assert_eq "batch: db (fd 4)" "$A" "$(out_value three fd.4)"
assert_eq "batch: key (fd 5)" "$C" "$(out_value three fd.5)"
assert_eq "batch: one POST /batchsecret" 1 "$(kw_counter 'c["requests"].get("POST /batchsecret", 0)')"
assert_eq "batch: it carried the three" 3 "$(kw_counter 'c["batch_secrets"]')"
assert_eq "batch: no single read" 1 "$(kw_counter 'c["requests_total"]')"
assert_clean three

# A Keywhiz without the batch endpoint (405): each secret read alone, in parallel.
kw_reset
kw_fault '{"type": "status", "status": 405, "path": "batchsecret", "count": -1}'
keywhiz_run nobatch api=keywhiz:api db=keywhiz:db
assert_eq "no batch endpoint: runc run exits 0" 0 "$RC"
assert_eq "no batch endpoint: api" "$B" "$(out_value nobatch fd.3)"
assert_eq "no batch endpoint: db" "$A" "$(out_value nobatch fd.4)"
assert_eq "no batch endpoint: one GET each" "1 1" \
    "$(kw_counter '"%d %d" % (c["requests"]["GET /secret/api"], c["requests"]["GET /secret/db"])')"
assert_clean nobatch

# An old Keywhiz answers 404 for the endpoint itself: the same.
kw_reset
kw_ctl POST /seed '{"batch": false}' >/dev/null
keywhiz_run old api=keywhiz:api db=keywhiz:db
assert_eq "batch 404: runc run exits 0" 0 "$RC"
assert_eq "batch 404: db" "$A" "$(out_value old fd.4)"
kw_ctl POST /seed '{"batch": true}' >/dev/null
assert_clean old

# 5xx is retried: twice 503, then the value.
kw_reset
kw_fault '{"type": "status", "status": 503, "path": "secret/db", "count": 2}'
keywhiz_run retry db=keywhiz:db
assert_eq "503 twice: runc run exits 0" 0 "$RC"
assert_eq "503 twice: the value" "$A" "$(out_value retry fd.3)"
assert_eq "503 twice: three GETs" 3 "$(kw_counter 'c["requests"]["GET /secret/db"]')"
assert_clean retry

# Unpadded base64 (keysync padded it before decoding): the exact bytes.
kw_reset
keywhiz_run unpadded legacy=keywhiz:legacy
assert_eq "unpadded: runc run exits 0" 0 "$RC"
assert_eq "unpadded: the exact value" "$U" "$(out_value unpadded fd.3)"
assert_clean unpadded

# One Keywhiz secret under two names: fetched once, placed twice.
kw_reset
keywhiz_run twice a=keywhiz:db b=keywhiz:db
assert_eq "two names: runc run exits 0" 0 "$RC"
assert_eq "two names: both hold the value" "$A $A" "$(out_value twice fd.3) $(out_value twice fd.4)"
assert_eq "two names: one request" 1 "$(kw_counter 'c["requests_total"]')"
assert_clean twice

# check: GET /secrets, the number the client may read (db, legacy, api, tls-key).
out=$(broker check 2>&1) || true
assert_match "check: the number of secrets visible to the client" "$out" \
    "backend keywhiz \\(keywhiz https://localhost:[0-9]+\\): ok, 4 secret\\(s\\) visible"

# keysync's client files: one PEM holding certificate and key, given as both; an address with
# server_name and the server's pinned public key.
cat "$T/pki/client.pem" "$T/pki/client.key" >"$T/pki/both.pem"
cp "$T/pki/both.pem" "$T/pki/both.key"
write_keywhiz_config both
sed -i "s|\"cert_file\"|\"server_name\": \"localhost\", \"pinned_pubkey\": \"$(cat "$T/pki/server.pin")\", \"cert_file\"|; s|https://localhost|https://127.0.0.1|" "$CFG"
kw_reset
keywhiz_run pem db=keywhiz:db
assert_eq "one PEM, server_name, pinned key: runc run exits 0" 0 "$RC"
assert_eq "one PEM, server_name, pinned key: the value" "$A" "$(out_value pem fd.3)"
assert_clean pem

for v in "$A" "$B" "$C" "$U"; do
    assert_no_secret_anywhere "$v"
done
finish
