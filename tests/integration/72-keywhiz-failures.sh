#!/bin/bash
# 72-keywhiz-failures.sh — what must stop a container, each with one clear line from the
# broker and nothing left behind (DESIGN §10.2, issue 7): a client certificate from another
# CA, a server key that is not the pinned one, no ACL (403), an unknown secret (404), a
# forbidden secret inside a batch, a value whose length is not secretLength, a value that is
# not base64, a filename with '/', a reply over the size cap, a malformed reply, a server that
# keeps failing, a disabled client (401).
# An optional secret that Keywhiz does not have is skipped.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-keywhiz.sh"

A=$(new_secret)
X=$(new_secret)
start_keywhiz_fake "{\"secrets\": {
    \"db\": {\"content\": \"$A\"},
    \"hidden\": {\"content\": \"$X\"},
    \"short\": {\"content\": \"$X\", \"secret_length\": 5},
    \"junk\": {\"secret\": \"not*base64!\", \"secret_length\": 8},
    \"escape\": {\"content\": \"$X\", \"metadata\": {\"filename\": \"../../etc/passwd\"}}},
  \"clients\": {\"lockbox-client\": {\"secrets\": [\"db\", \"short\", \"junk\", \"escape\"]}}}"
write_keywhiz_config client

# A client certificate from an unrelated CA (same CN): the server refuses the handshake.
write_keywhiz_config client2
keywhiz_fail_run ca2 db=keywhiz:db
assert_fails_cleanly ca2 "another CA" \
    "^lockbox-broker: secret 'db' \\(keywhiz:db\\): (TLS handshake failed|connection lost).*is cert_file signed by a CA the Keywhiz server trusts"
assert_true "another CA: the fake refused the handshake" \
    test "$(kw_counter 'c["tls_handshake_failures"]')" -ge 1
assert_eq "another CA: no request was answered" 0 "$(kw_counter 'c["requests_total"]')"
write_keywhiz_config client

# The server's key is not the pinned one.
sed -i "s|\"cert_file\"|\"pinned_pubkey\": \"sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\", \"cert_file\"|" "$CFG"
keywhiz_fail_run pin s=keywhiz:db
assert_fails_cleanly pin "pinned key" \
    "^lockbox-broker: secret 's' \\(keywhiz:db\\): TLS: the server's public key does not match pinned_pubkey$"
write_keywhiz_config client

# 403: the secret exists, the client has no ACL on it; not retried.
kw_reset
keywhiz_fail_run noacl s=keywhiz:hidden
assert_fails_cleanly noacl "403" \
    "^lockbox-broker: secret 's' \\(keywhiz:hidden\\): permission denied: the client has no access to it \\(403\\)$"
assert_eq "403: asked once" 1 "$(kw_counter 'c["requests_total"]')"

# 404: no such secret; distinct from 403.
keywhiz_fail_run unknown s=keywhiz:nosuch
assert_fails_cleanly unknown "404" \
    "^lockbox-broker: secret 's' \\(keywhiz:nosuch\\): no such secret \\(404\\)$"

# In a batch, Keywhiz refuses the whole (403) without naming the secret: the single reads do.
kw_reset
keywhiz_fail_run batch403 a=keywhiz:db b=keywhiz:hidden
assert_fails_cleanly batch403 "403 in a batch" \
    "^lockbox-broker: secret 'b' \\(keywhiz:hidden\\): permission denied.*\\(403\\)"
assert_eq "403 in a batch: one batch, then one read each" "1 1 1" \
    "$(kw_counter '"%d %d %d" % (c["requests"]["POST /batchsecret"], c["requests"]["GET /secret/db"], c["requests"]["GET /secret/hidden"])')"

# An optional secret Keywhiz does not have is skipped (the batch 404s, the reads tell).
keywhiz_run optional db=keywhiz:db gone=keywhiz:nosuch
assert_eq "optional: without the annotation the container does not start" 1 \
    "$([ "$RC" -ne 0 ] && echo 1 || echo 0)"
assert_clean optional
make_bundle opt2 /lockbox-shim -- /bin/lbx-testapp read-fd:3 fds
annotate opt2 io.lockbox.secret.db=keywhiz:db io.lockbox.secret.gone=keywhiz:nosuch \
    io.lockbox.optional.gone=true
add_hooks opt2
run_container opt2
assert_eq "optional: runc run exits 0" 0 "$RC"
assert_eq "optional: db is there" "$A" "$(out_value opt2 fd.3)"
assert_eq "optional: gone is not (one secret fd)" "0,1,2,3" "$(out_value opt2 fds)"
assert_clean opt2

# The value is not secretLength bytes: refused, not truncated or padded.
keywhiz_fail_run short s=keywhiz:short
assert_fails_cleanly short "length mismatch" \
    "^lockbox-broker: secret 's' \\(keywhiz:short\\): the value does not have the secretLength"

keywhiz_fail_run junk s=keywhiz:junk
assert_fails_cleanly junk "not base64" \
    "^lockbox-broker: secret 's' \\(keywhiz:junk\\): malformed response \\(secret is not base64\\)"

# keysync refused a filename with '/'; so does lockbox (nothing is written anywhere).
keywhiz_fail_run escape s=keywhiz:escape
assert_fails_cleanly escape "filename with '/'" \
    "^lockbox-broker: secret 's' \\(keywhiz:escape\\): metadata 'filename' is not a valid file name"

# A reply over the cap (2 x tmpfs_size + 64 KiB): the transfer stops.
kw_reset
kw_fault '{"type": "oversize", "bytes": 8388608, "path": "secret/db"}'
keywhiz_fail_run big s=keywhiz:db
assert_fails_cleanly big "oversized reply" \
    "^lockbox-broker: secret 's' \\(keywhiz:db\\): response too large"

kw_reset
kw_fault '{"type": "malformed", "path": "secret/db"}'
keywhiz_fail_run malformed s=keywhiz:db
assert_fails_cleanly malformed "malformed reply" \
    "^lockbox-broker: secret 's' \\(keywhiz:db\\): malformed response \\(not JSON\\)"

# 503 every time: retried, then one line that says so.
kw_reset
kw_fault '{"type": "status", "status": 503, "path": "secret/db", "count": -1}'
keywhiz_fail_run down s=keywhiz:db
assert_fails_cleanly down "503 until the deadline" \
    "^lockbox-broker: secret 's' \\(keywhiz:db\\): service unavailable \\(503\\) after [0-9]+ attempts"
assert_true "503: retried" test "$(kw_counter 'c["requests"]["GET /secret/db"]')" -ge 2

# A disabled client (401).
kw_reset
kw_ctl POST /seed '{"clients": {"lockbox-client": {"secrets": ["db"], "enabled": false}}}' >/dev/null
keywhiz_fail_run disabled s=keywhiz:db
assert_fails_cleanly disabled "401" \
    "^lockbox-broker: secret 's' \\(keywhiz:db\\): the client certificate is not accepted as a Keywhiz client \\(401\\)"

for v in "$A" "$X"; do
    assert_no_secret_anywhere "$v"
done
finish
